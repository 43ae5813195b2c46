"""Incremental reruns end to end on a tiny demo: what a second `amtools run` into the same out
folder renders, what it reuses, and that it starts no kernel when nothing changed."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from amtools.core.dataset import Dataset
from amtools.core.paths import DEFAULT_PARAMS_DIR
from amtools.core.settings import use_params_dir
from amtools.render.notebooks import runner as runner_module
from amtools.render.notebooks.kinds import REPORTS, ReportKind, register_report
from amtools.render.notebooks.reuse import MANIFEST_FILE, REUSED_FROM
from amtools.render.notebooks.runner import RunInterrupted, RunResult, run

pytestmark = pytest.mark.notebook

TEAM_PARAMS = (
    'context: str = ""\nperiod: str = ""\nlang: str = "en"\nteam: str = ""\nword: str = ""\n'
)
MANAGER_PARAMS = (
    'context: str = ""\nperiod: str = ""\nlang: str = "en"\nmanager_id: str = ""\nword: str = ""\n'
)
BODY = (
    "from IPython.display import Markdown, display\n"
    "from amtools.render.notebooks import open_context\n"
    "ctx = open_context(context, period=period, lang=lang)\n"
    "display(Markdown(f'{word} {ctx.period}'))"
)
FAIL = "if manager_id == 'M002':\n    raise ValueError('M002 fails on purpose')"
MANAGERS = ["M001", "M002", "M003"]


def _notebook(path: Path, params: str, *body: str) -> None:
    nb = new_notebook()
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, *(new_code_cell(b) for b in body)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    from amtools.demo import make_demo

    return make_demo(seed=4, n_managers=3, years=1, scale=0.2, end="2026-11-26")


@pytest.fixture(scope="module", autouse=True)
def kinds():
    register_report(ReportKind("rr_team", "rr_team.ipynb", "report.team_review.title"))
    register_report(
        ReportKind(
            "rr_manager",
            "rr_manager.ipynb",
            "report.manager_review.title",
            per="manager",
            entity_param="manager_id",
            section="manager",
        )
    )
    yield
    REPORTS.pop("rr_team", None)
    REPORTS.pop("rr_manager", None)


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    notebooks, params = tmp_path / "nb", tmp_path / "params"
    notebooks.mkdir()
    (params / "reports").mkdir(parents=True)
    _notebook(notebooks / "rr_team.ipynb", TEAM_PARAMS, BODY)
    _notebook(notebooks / "rr_manager.ipynb", MANAGER_PARAMS, BODY, FAIL)
    (params / "reports" / "rr_team.yaml").write_text("word: team-word\n")
    (params / "reports" / "rr_manager.yaml").write_text("word: manager-word\n")
    return {"notebooks": notebooks, "params": params, "out": tmp_path / "out"}


@pytest.fixture
def pools(monkeypatch) -> list[object]:
    """Every KernelPool the runner makes (a run that makes none starts no kernel)."""
    made: list[object] = []
    real = runner_module.KernelPool

    def counting(*args, **kwargs):
        pool = real(*args, **kwargs)
        made.append(pool)
        return pool

    monkeypatch.setattr(runner_module, "KernelPool", counting)
    return made


def _run(dataset, project, **kw) -> RunResult:
    options = dict(
        reports=["rr_team", "rr_manager"],
        notebooks_dir=project["notebooks"],
        params_dir=project["params"],
        out=project["out"],
        workers=0,
        progress=False,
        forecast_horizon=0,
    )
    options.update(kw)
    return run(dataset, **options)


def _names(results) -> set[str]:
    return {r.name for r in results}


ALL = {"rr_team", *(f"rr_manager/{m}" for m in MANAGERS)}
OK = ALL - {"rr_manager/M002"}


def test_second_run_reuses_every_unchanged_page_and_starts_no_kernel(
    dataset, project, pools, capsys, monkeypatch
) -> None:
    first = _run(dataset, project)
    assert _names(first.rendered) == OK and not first.reused
    assert _names(first.failed) == {"rr_manager/M002"}
    assert len(pools) == 1
    folder = first.folder
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert set(manifest["pages"]) == OK  # a failed page is never recorded
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.html")}
    capsys.readouterr()

    second = _run(dataset, project)
    # M002 failed last time: it is rendered again (and fails again), so one kernel starts.
    assert _names(second.reused) == OK and not second.rendered
    assert _names(second.failed) == {"rr_manager/M002"}
    assert "4 reports: 1 to render, 3 reused (unchanged inputs; --force to re-render)" in (
        capsys.readouterr().err
    )
    for res in second.reused:
        assert res.extra[REUSED_FROM] == manifest["pages"][res.name]["rendered_at"]
        assert res.html_path is not None and res.html_path.parent == second.folder
        name = res.html_path.name
        assert res.html_path.read_bytes() == before[name][0]  # the published page as it was
        assert res.html_path.stat().st_mtime_ns == before[name][1]
        assert res.ipynb_path is None  # executed notebooks are kept only with keep_notebooks
    assert (second.folder / "_context").is_dir()

    # Asked to keep the executed notebooks, pages published without one are rendered again,
    # and a rerun after that reuses them with their notebooks.
    kept = _run(dataset, project, keep_notebooks=True)
    assert _names(kept.rendered) == OK and not kept.reused
    again = _run(dataset, project, keep_notebooks=True)
    assert _names(again.reused) == OK
    assert all(r.ipynb_path is not None and r.ipynb_path.is_file() for r in again.reused)
    capsys.readouterr()

    # With every page rendered, a rerun starts no kernel at all.
    _notebook(project["notebooks"] / "rr_manager.ipynb", MANAGER_PARAMS, BODY)
    third = _run(dataset, project)
    assert _names(third.rendered) == {f"rr_manager/{m}" for m in MANAGERS}  # the notebook changed
    assert _names(third.reused) == {"rr_team"}
    made = len(pools)
    built: list[int] = []
    real_build = runner_module.build_context

    def counting_build(*args, **kwargs):
        built.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(runner_module, "build_context", counting_build)
    fourth = _run(dataset, project)
    assert fourth.ok and _names(fourth.reused) == ALL and not fourth.rendered
    assert len(pools) == made  # no pool, no kernel
    assert not built  # the context saved with the pages is read, not computed again
    saved = sorted(p.name for p in (fourth.folder / "_context").iterdir())
    assert saved and fourth.index.read_text().count("reused from ") == len(ALL)
    # A saved context that cannot be read is built again; the pages are still reused.
    for path in (fourth.folder / "_context").rglob("*"):
        if path.is_file():
            path.write_bytes(b"not a context")
    fifth = _run(dataset, project)
    assert built and _names(fifth.reused) == ALL and len(pools) == made
    assert sorted(p.name for p in (fifth.folder / "_context").iterdir()) == saved


def test_a_params_file_rerenders_only_the_pages_that_read_it(dataset, project) -> None:
    _notebook(project["notebooks"] / "rr_manager.ipynb", MANAGER_PARAMS, BODY)
    first = _run(dataset, project)
    assert first.ok and _names(first.rendered) == ALL
    (project["params"] / "reports" / "rr_team.yaml").write_text("word: another-word\n")
    second = _run(dataset, project)
    assert _names(second.rendered) == {"rr_team"}
    assert "another-word" in (second.folder / "rr_team.html").read_text()
    assert _names(second.reused) == ALL - {"rr_team"}
    # A comment is not a change; a policy file every page's context reads re-renders all.
    (project["params"] / "reports" / "rr_team.yaml").write_text("# note\nword: another-word\n")
    assert _names(_run(dataset, project).reused) == ALL
    policy = project["params"] / "policy"
    policy.mkdir()
    shipped = (DEFAULT_PARAMS_DIR / "policy" / "forecast.yaml").read_text()
    assert "\nfolds: 3\n" in shipped
    (policy / "forecast.yaml").write_text(shipped.replace("\nfolds: 3\n", "\nfolds: 4\n"))
    with use_params_dir(project["params"]):
        assert _names(_run(dataset, project).rendered) == ALL
        assert _names(_run(dataset, project).reused) == ALL
    # Another data set (one more deal row changes the fingerprint): every page is rendered.
    deals = dataset.deals
    changed = dataset.replace(deals=deals.iloc[:-1])
    assert changed.fingerprint() != dataset.fingerprint()
    assert _names(_run(changed, project).rendered) == ALL


def test_deleted_or_edited_pages_are_rendered_again_and_force_renders_all(
    dataset, project, capsys, monkeypatch
) -> None:
    from amtools.cli import main

    _notebook(project["notebooks"] / "rr_manager.ipynb", MANAGER_PARAMS, BODY)
    first = _run(dataset, project)
    assert first.ok
    (first.folder / "rr_manager-M001.html").unlink()
    with open(first.folder / "rr_manager-M003.html", "a", encoding="utf-8") as fh:
        fh.write("<!-- edited by hand -->")
    second = _run(dataset, project)
    assert _names(second.rendered) == {"rr_manager/M001", "rr_manager/M003"}
    assert "edited by hand" not in (second.folder / "rr_manager-M003.html").read_text()
    # Another language is another input: everything is rendered.
    assert _names(_run(dataset, project, lang="ru").rendered) == ALL

    argv = [
        "run", "--reports", "rr_team,rr_manager", "--lang", "ru", "--out", str(project["out"]),
        "--notebooks", str(project["notebooks"]), "--params", str(project["params"]),
        "--workers", "0", "--no-progress",
    ]  # fmt: skip
    monkeypatch.setattr(runner_module, "load_source", lambda *a, **k: dataset)  # as --source
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*argv, "--force"]) == 0
    assert "4 of 4 reports rendered" in out.getvalue()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    assert "4 reports: 0 rendered, 4 reused (unchanged inputs; --force to re-render)" in (
        out.getvalue()
    )
    assert "4 reports: all rendered (--force)" in capsys.readouterr().err


def test_an_interrupted_rerun_leaves_the_pack_and_manifest_as_they_were(
    dataset, project, monkeypatch
) -> None:
    _notebook(project["notebooks"] / "rr_manager.ipynb", MANAGER_PARAMS, BODY)
    first = _run(dataset, project)
    files = {p.relative_to(first.folder): p.read_bytes() for p in first.folder.rglob("*.*")}
    (project["params"] / "reports" / "rr_team.yaml").write_text("word: changed\n")

    def interrupted(*args, **kwargs):
        raise RunInterrupted(15)

    monkeypatch.setattr(runner_module, "write_index", interrupted)
    with pytest.raises(RunInterrupted):
        _run(dataset, project)
    after = {p.relative_to(first.folder): p.read_bytes() for p in first.folder.rglob("*.*")}
    assert after == files
    assert not list(project["out"].glob(".staging-*"))
    monkeypatch.undo()
    again = _run(dataset, project)
    assert _names(again.rendered) == {"rr_team"} and _names(again.reused) == ALL - {"rr_team"}


@pytest.mark.parametrize(
    "lang, marker, summary",
    [
        ("en", "reused from ", "3 of them reused unchanged from an earlier run"),
        ("ru", "взят из запуска от ", "Из них без изменений взято из прошлого запуска: 3"),
    ],
)
def test_the_index_marks_reused_pages(dataset, project, lang, marker, summary) -> None:
    first = _run(dataset, project, lang=lang)
    page = first.index.read_text()
    assert marker not in page and summary not in page
    second = _run(dataset, project, lang=lang)
    page = second.index.read_text()
    assert page.count(marker) == 3 and summary in page  # the failed M002 is not reused
    stamp = second.reused[0].extra[REUSED_FROM]
    assert stamp[11:16] in page  # the time the page was rendered (HH:MM UTC)
