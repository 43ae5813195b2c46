"""The pack runner on tiny notebooks made here: parameters, HTML, failures, index, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from amtools.core.errors import ParameterError
from amtools.render.notebooks.kinds import REPORTS, ReportKind, register_report
from amtools.render.notebooks.runner import run

EVIL = "<script>alert(1)</script>"
EXTERNAL = re.compile(r"""(?:src|href|action|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)

PARAMS = (
    'context: str = ""  # PARAM-COMMENT folder of the run context\n'
    'period: str = ""  # reporting period\n'
    'lang: str = "en"  # en or ru\n'
    'manager_id: str = ""  # the manager reviewed\n'
    'greeting: str = "hello"  # set by params/reports/tiny.yaml\n'
    'fail_for: str = ""  # a manager whose review fails on purpose\n'
)

BODY = [
    "from IPython.display import Markdown, display\n"
    "from amtools.render.notebooks import open_context\n"
    "ctx = open_context(context, period=period, lang=lang)\n"
    "CODE_MARKER = 'code-is-not-shown'\n"
    "display(Markdown(f'## Section A\\n\\n{greeting} {manager_id} {ctx.period} {ctx.lang}'))",
    "## Section B\n\nSome words.",
    "### Section B.1",
    "import io\nfrom IPython.display import Image\nfrom matplotlib.figure import Figure\n"
    "fig = Figure()\nfig.subplots().plot([1, 2, 3])\nbuf = io.BytesIO()\nfig.savefig(buf, format='png')\n"
    "display(Image(buf.getvalue()))",
    "import sys\nprint('library noise', file=sys.stderr)",
    "if manager_id == fail_for:\n    raise ValueError(f'boom for {manager_id}')",
    "print('after', manager_id)",
]


def _write_notebook(path: Path, params: str, body: list[str]) -> None:
    nb = new_notebook()
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    cells = [
        new_markdown_cell("# Tiny report (hidden title)", metadata={"tags": ["remove-cell"]}),
        cell,
    ]
    for source in body:
        is_md = source.startswith("#")
        cells.append(new_markdown_cell(source) if is_md else new_code_cell(source))
    nb.cells = cells
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def dataset():
    from amtools.demo import make_demo

    ds = make_demo(seed=2, n_managers=3, years=1, scale=0.2, end="2026-11-26")
    managers = ds.managers.copy()
    managers.loc[managers["manager_id"] == "M001", "name"] = EVIL
    return ds.replace(managers=managers)


def _make_project(root: Path) -> dict[str, Path]:
    notebooks = root / "notebooks"
    params = root / "params"
    notebooks.mkdir()
    (params / "reports").mkdir(parents=True)  # a notebook's parameters: params/reports/<name>.yaml
    _write_notebook(notebooks / "tiny.ipynb", PARAMS, BODY)
    _write_notebook(
        notebooks / "tiny_team.ipynb",
        'context: str = ""\nperiod: str = ""\nlang: str = "en"\nteam: str = ""  # team\n',
        [
            "from amtools.render.notebooks import open_context\nctx = open_context(context, period=period, lang=lang)\nprint(len(ctx.managers))"
        ],
    )
    (params / "reports" / "tiny.yaml").write_text("greeting: hi-from-yaml\nfail_for: ''\n")
    return {"notebooks": notebooks, "params": params, "out": root / "out"}


@pytest.fixture(scope="module", autouse=True)
def tiny_kinds():
    register_report(
        ReportKind(
            "tiny",
            "tiny.ipynb",
            "report.manager_review.title",
            per="manager",
            entity_param="manager_id",
            section="manager",
        )
    )
    register_report(
        ReportKind("tiny_team", "tiny_team.ipynb", "report.team_review.title", entity_param="team")
    )
    yield
    REPORTS.pop("tiny", None)
    REPORTS.pop("tiny_team", None)


@pytest.fixture
def project(tmp_path):
    return _make_project(tmp_path)


@pytest.fixture(scope="module")
def pack(dataset, tmp_path_factory):
    """One `amtools run --keep-notebooks` through the CLI: two workers, M002's review fails
    on purpose."""
    from amtools import loading as io
    from amtools.cli import main

    root = tmp_path_factory.mktemp("pack")
    project = _make_project(root)
    source = io.save_duckdb(dataset, root / "crm.duckdb")
    (project["params"] / "reports" / "tiny.yaml").write_text(
        "greeting: hi-from-yaml\nfail_for: M002\n"
    )
    folder = project["out"] / "2026Q3"
    stale = folder / "tiny-M002.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("an old report")
    argv = [
        "run", "--source", str(source), "--reports", "tiny_team,tiny", "--lang", "ru",
        "--notebooks", str(project["notebooks"]), "--params", str(project["params"]),
        "--out", str(project["out"]), "--workers", "2", "--no-progress", "--keep-notebooks",
    ]  # fmt: skip
    import contextlib
    import io as stdio

    out, err = stdio.StringIO(), stdio.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return {
        "code": code,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "folder": folder,
        "source": source,
    }


def _run(dataset, project, **kw):
    options = dict(
        reports=["tiny_team", "tiny"],
        notebooks_dir=project["notebooks"],
        params_dir=project["params"],
        out=project["out"],
        workers=0,
        progress=False,
    )
    options.update(kw)
    return run(dataset, **options)


@pytest.mark.notebook
def test_pack_renders_self_contained_code_free_html(dataset, pack):
    folder = pack["folder"]
    assert sorted(p.name for p in folder.glob("*.html")) == [
        "index.html", "tiny-M001.html", "tiny-M003.html", "tiny_team.html",
    ]  # fmt: skip
    page = (folder / "tiny-M003.html").read_text(encoding="utf-8")
    # parameters reached the notebook: yaml value, entity, period, language
    assert "hi-from-yaml M003 2026Q3 ru" in page
    # no code, no parameters cell, no injected parameters, no stderr noise, no hidden cells
    for absent in (
        "code-is-not-shown",
        "PARAM-COMMENT",
        "fail_for = ",
        "injected",
        "library noise",
        "hidden title",
    ):
        assert absent not in page, absent
    # images embedded, nothing external, no scripts at all
    assert "data:image/png;base64," in page
    assert not EXTERNAL.search(page) and "<script" not in page and "<link" not in page
    # header in the report's language with period, source, fingerprint; a table of contents
    assert "3 кв. 2026" in page and "Период" in page and "Отпечаток данных" in page
    assert str(pack["source"]) in page and dataset.fingerprint() in page
    assert '<nav class="am-toc">' in page and 'href="#Section-B"' in page
    # the manager's own (hostile) name is escaped in the title of their review
    own = (folder / "tiny-M001.html").read_text(encoding="utf-8")
    assert EVIL not in own and "&lt;script&gt;alert(1)&lt;/script&gt;" in own
    # executed notebooks kept (--keep-notebooks); each review received only its own manager's id
    executed = nbformat.read(folder / "_executed" / "tiny-M003.ipynb", 4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'manager_id = "M003"' in injected[0].source
    assert "M001" not in injected[0].source  # (M002 appears only as this test's fail_for)
    assert "library noise" in nbformat.writes(executed)  # kept for analysts
    # the context was saved once and no temporary file is left anywhere
    assert (folder / "_context" / "meta.json").is_file()
    assert not list(folder.rglob("*.tmp"))


@pytest.mark.notebook
def test_failure_is_isolated_listed_and_exits_nonzero(pack):
    assert pack["code"] == 1
    assert pack["stdout"].strip().endswith("index.html") and "FAILED tiny/M002" in pack["stderr"]
    folder = pack["folder"]
    assert (folder / "tiny-M001.html").is_file() and (folder / "tiny-M003.html").is_file()
    assert not (folder / "tiny-M002.html").exists()  # a failed report leaves no stale page
    failed = nbformat.read(folder / "_executed" / "tiny-M002.ipynb", 4)  # kept, with the error
    assert any(o.get("ename") == "ValueError" for c in failed.cells for o in c.get("outputs", []))
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "Отчёты с ошибками" in index and "ValueError: boom for M002" in index
    assert "raise ValueError(f&#39;boom for {manager_id}&#39;)" in index  # failing cell, escaped
    assert 'href="_executed/tiny-M002.ipynb"' in index
    assert "Сформировано отчётов: 3 из 4" in index
    assert EVIL not in index and 'href="tiny-M001.html"' in index


def test_parameters_are_validated_before_anything_runs(dataset, project):
    (project["params"] / "reports" / "tiny.yaml").write_text("greeting: 3\ncolour: red\n")
    with pytest.raises(ParameterError) as info:
        _run(dataset, project, reports=["tiny"])
    message = str(info.value)
    assert (
        "unknown parameter(s) 'colour'" in message and "parameter 'greeting' must be str" in message
    )
    assert not project["out"].exists()  # nothing executed, nothing written


def test_unknown_manager_report_period_or_language_is_rejected(dataset, project):
    with pytest.raises(ParameterError, match=r"unknown manager id\(s\) 'M999'"):
        _run(dataset, project, managers=["M999"])
    with pytest.raises(ParameterError, match="unknown report 'nope'"):
        _run(dataset, project, reports=["nope"])
    with pytest.raises(ParameterError, match="cannot parse period"):
        _run(dataset, project, period="last quarter")
    with pytest.raises(ParameterError, match="unknown language 'de'"):
        _run(dataset, project, lang="de")
    (project["params"] / "reports" / "tiny_team.yaml").write_text("team: Nowhere\n")
    with pytest.raises(ParameterError, match="unknown team 'Nowhere'"):
        _run(dataset, project, reports=["tiny_team"])
    assert not project["out"].exists()


def test_period_after_the_data_is_rejected(dataset, project):
    with pytest.raises(ParameterError, match="after the last complete period"):
        _run(dataset, project, reports=["tiny_team"], period="2027Q2")


def test_managers_option_limits_the_reviews(dataset, project):
    from amtools.render.notebooks.runner import plan_jobs

    jobs = plan_jobs(
        dataset, "2026Q3", reports=["tiny", "tiny_team"], managers=["M003"], lang="en",
        folder=Path("out"), context_dir=Path("ctx"), notebooks_dir=project["notebooks"],
        params_dir=project["params"], per_team=True,
        header={"source": "s", "generated_at": pd.Timestamp("2026-11-26", tz="UTC"), "fingerprint": "f", "version": "v"},
    )  # fmt: skip
    names = [j.name for j in jobs]
    teams = sorted(set(dataset.managers["team"].dropna()))
    assert names == ["tiny/M003", "tiny_team", *[f"tiny_team/{t}" for t in teams]]
    assert (
        jobs[0].parameters["manager_id"] == "M003"
        and jobs[0].parameters["greeting"] == "hi-from-yaml"
    )
    assert jobs[0].header.title.endswith("M003") or "Manager review" in jobs[0].header.title


@pytest.mark.notebook
def test_single_report_runs_in_process(dataset, project):
    # workers=0: no worker processes, the kernel is driven from this process
    result = _run(dataset, project, reports=["tiny_team"], workers=0)
    assert result.ok and [r.name for r in result.results] == ["tiny_team"]
    assert set(result.timings) == {"load", "context", "reports", "index"}
    assert (result.folder / "tiny_team.html").is_file()
    assert "Team quarterly review" in result.index.read_text(encoding="utf-8")
    # without keep_notebooks the executed notebook of a rendered report is not kept
    assert result.results[0].ipynb_path is None
    assert not list(result.folder.rglob("*.ipynb"))


@pytest.mark.notebook
def test_failed_report_notebook_is_kept_without_keep_notebooks(dataset, project):
    (project["params"] / "reports" / "tiny.yaml").write_text(
        "greeting: hi-from-yaml\nfail_for: M002\n"
    )
    result = _run(dataset, project, reports=["tiny"], managers=["M002", "M003"], workers=0)
    by_name = {r.name: r for r in result.results}
    assert not by_name["tiny/M002"].ok and by_name["tiny/M003"].ok
    assert sorted(p.name for p in (result.folder / "_executed").glob("*.ipynb")) == [
        "tiny-M002.ipynb"
    ]  # the failure is linked from the index; the rendered review's notebook is not kept
    assert by_name["tiny/M003"].ipynb_path is None
