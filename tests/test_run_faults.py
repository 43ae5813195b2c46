"""`amtools run` under faults: context stages that raise, unwritable outs, a held lock,
out-of-range parameters, ids no file system likes, sparse deals."""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from amtools import pipeline as pipeline_module
from amtools.cli import main
from amtools.core.dataset import Dataset
from amtools.core.errors import AmtoolsError, ParameterError, ReportError
from amtools.render.notebooks import runner as runner_module
from amtools.render.notebooks.kinds import REPORTS, ReportKind, register_report
from amtools.render.notebooks.paramcheck import (
    check_run_options,
    notebook_parameters,
    validate_parameters,
)
from amtools.render.notebooks.runner import OutLock, file_slug, run

PARAMS = 'context: str = ""\nperiod: str = ""\nlang: str = "en"\nteam: str = ""\n'
BODY = (
    "from amtools.render.notebooks import open_context\n"
    "ctx = open_context(context, period=period, lang=lang)\nprint(ctx.period)"
)


def _notebook(path: Path) -> None:
    nb = new_notebook()
    cell = new_code_cell(PARAMS)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    from amtools.demo import make_demo

    return make_demo(seed=3, n_managers=3, years=1, scale=0.2, end="2026-11-26")


@pytest.fixture(scope="module", autouse=True)
def kinds():
    register_report(
        ReportKind("f_kpis", "f.ipynb", "report.team_review.title", uses=("kpis", "scores"))
    )
    register_report(ReportKind("f_pipe", "f.ipynb", "report.forecast.title", uses=("pipeline",)))
    yield
    REPORTS.pop("f_kpis", None)
    REPORTS.pop("f_pipe", None)


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "nb").mkdir()
    (tmp_path / "params").mkdir()
    _notebook(tmp_path / "nb" / "f.ipynb")
    return {"notebooks": tmp_path / "nb", "params": tmp_path / "params", "out": tmp_path / "out"}


def _run(dataset, project, **kw):
    options = dict(
        reports=["f_kpis", "f_pipe"],
        notebooks_dir=project["notebooks"],
        params_dir=project["params"],
        out=project["out"],
        workers=0,
        progress=False,
        forecast_horizon=0,
    )
    options.update(kw)
    return run(dataset, **options)


# -- file names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, start",
    [
        ("Иванов Иван", "ivanov-ivan-"),
        ("王小明", "wang-xiao-ming-"),
        ("../x", "x-"),
        ("a/b\\c", "a-b-c-"),
        ("", ""),
        ("ы" * 5000, "y" * 40 + "-"),
    ],
)
def test_file_slug_is_ascii_short_unique_and_safe(text: str, start: str) -> None:
    slug = file_slug(text)
    assert slug.startswith(start)
    assert slug.isascii() and len(slug) <= 47
    assert "/" not in slug and "\\" not in slug and not slug.startswith(".")
    assert file_slug(text + "!") != slug  # the hash keeps different ids apart


def test_plain_ids_keep_their_name() -> None:
    assert file_slug("M001") == "M001"
    assert file_slug("m001") != file_slug("m 001")


# -- stages of the run context ----------------------------------------------------------------


@pytest.mark.notebook
def test_a_failing_stage_fails_only_the_reports_using_it(dataset, project, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise TypeError("datetime64 values must have a unit specified")

    def no_pipeline(*args, **kwargs):
        raise AmtoolsError("deals have no open pipeline")

    monkeypatch.setattr(pipeline_module, "_compute_kpis", broken)
    monkeypatch.setattr("amtools.forecast.pipeline_view", no_pipeline)
    result = _run(dataset, project, lang="ru")
    assert not result.ok
    by_kind = {r.kind: r for r in result.results}
    assert not by_kind["f_kpis"].ok
    assert "KPI" in by_kind["f_kpis"].error and "datetime64" in by_kind["f_kpis"].error
    assert by_kind["f_pipe"].ok and (result.folder / "f_pipe.html").is_file()
    page = result.index.read_text(encoding="utf-8")
    assert "не сформирован" in page  # the failure, in the pack's language
    assert "сформирован — Воронка открытых сделок не построена: deals have no open pipeline" in page
    assert "Traceback" not in page
    assert not list(project["out"].glob(".staging-*"))


@pytest.mark.notebook
def test_cli_exit_1_and_index_when_a_stage_fails(dataset, project, monkeypatch, capsys) -> None:
    from amtools import loading as io

    source = io.save_duckdb(dataset, project["out"].parent / "crm.duckdb")

    def broken(*args, **kwargs):
        raise RuntimeError("kpi engine exploded")

    monkeypatch.setattr(pipeline_module, "_compute_kpis", broken)
    code = main(
        ["run", "--source", str(source), "--reports", "f_kpis", "--notebooks",
         str(project["notebooks"]), "--params", str(project["params"]), "--out",
         str(project["out"]), "--workers", "0", "--no-progress"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "kpi engine exploded" in err
    assert (project["out"] / "2026Q3" / "index.html").is_file()


# -- the out folder --------------------------------------------------------------------------


def test_out_under_a_file_is_one_clear_line(tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["run", "--out", str(blocker / "reports"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "is a file, not a folder" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_read_only_or_full_out_is_refused_before_work(tmp_path, monkeypatch) -> None:
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", full)
    with pytest.raises(ReportError, match="no space left"):
        runner_module.check_out_folder(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_disk_full_mid_run_is_one_line_and_publishes_nothing(
    dataset, project, monkeypatch, capsys
) -> None:
    from amtools import loading as io

    source = io.save_duckdb(dataset, project["out"].parent / "crm.duckdb")

    def full(ctx, folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))

    monkeypatch.setattr(runner_module, "save_context", full)
    code = main(
        ["run", "--source", str(source), "--reports", "f_pipe", "--notebooks",
         str(project["notebooks"]), "--params", str(project["params"]), "--out",
         str(project["out"]), "--workers", "0", "--no-progress"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "no space left on the device" in err and "Traceback" not in err
    assert not (project["out"] / "2026Q3").exists()
    assert not list(project["out"].glob(".staging-*"))


def test_debug_shows_the_traceback(tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--debug", "--out", str(blocker / "r"), "--no-progress"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_second_run_into_a_locked_out_is_refused(dataset, project) -> None:
    project["out"].mkdir()
    with (
        OutLock(project["out"]),
        pytest.raises(ReportError, match=r"another amtools run \(process \d+\)"),
    ):
        _run(dataset, project)


def test_each_run_stages_privately(dataset, project, monkeypatch) -> None:
    seen: list[Path] = []

    def spy(ctx, folder):
        seen.append(Path(folder))
        raise AmtoolsError("stop here")

    monkeypatch.setattr(runner_module, "save_context", spy)
    for _ in range(2):
        with pytest.raises(AmtoolsError):
            _run(dataset, project)
    assert seen[0] != seen[1]
    assert all(p.parent.name.startswith(".staging-2026Q3-") for p in seen)


# -- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-3, 3, 9, 100])
def test_trend_quarters_outside_4_to_8_is_rejected(value: int) -> None:
    declared = notebook_parameters(Path("notebooks/manager_review.ipynb"))
    with pytest.raises(ParameterError, match="'trend_quarters' must be 4 to 8"):
        validate_parameters(declared, {"trend_quarters": value}, notebook="manager_review")
    assert validate_parameters(declared, {"trend_quarters": 6}) == {"trend_quarters": 6}


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"timeout": 0}, "--timeout must be a number of seconds > 0"),
        ({"timeout": -1.0}, "> 0"),
        ({"workers": -1}, "--workers must be a whole number >= 1"),
        ({"reports": []}, "--reports is empty"),
        ({"reports": ["nope", "neither"]}, "unknown reports 'nope', 'neither'"),
    ],
)
def test_run_options_are_checked(kw, match) -> None:
    with pytest.raises(ParameterError, match=match):
        check_run_options(**kw)


def test_cli_reports_comma_is_rejected(capsys) -> None:
    assert main(["run", "--reports", ",", "--no-progress"]) == 1
    assert "--reports is empty" in capsys.readouterr().err


def test_period_before_the_data_names_the_range(dataset, project) -> None:
    with pytest.raises(
        ParameterError, match=r"before the data starts .* covers \d{4}Q\d to 2026Q3"
    ):
        _run(dataset, project, period="1999Q1")
    with pytest.raises(ParameterError, match=r"after the last complete period .* covers .* 2026Q3"):
        _run(dataset, project, period="2027Q2")
    assert not project["out"].exists()


def test_targets_file_and_history_reach_the_context(dataset, project, monkeypatch) -> None:
    seen = []

    def fake(dataset, label, **kw):
        seen.append(kw["params"].get("targets"))
        raise AmtoolsError("enough")

    monkeypatch.setattr(runner_module, "build_context", fake)
    path = project["params"].parent / "t.yaml"
    path.write_text("B2B:\n  revenue: 100\n")
    for targets in (path, "history"):
        with pytest.raises(AmtoolsError, match="enough"):
            _run(dataset, project, targets=targets)
    assert seen == [{"B2B": {"revenue": 100}}, "history"]
    with pytest.raises(ParameterError, match="targets file .* not found"):
        _run(dataset, project, targets=project["out"] / "missing.yaml")


# -- sparse deals ----------------------------------------------------------------------------


def test_pipeline_on_the_minimal_deals_table() -> None:
    from amtools.forecast import pipeline_view

    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "manager_id": ["m1", "m1", "m2"],
            "client_id": ["c1", "c2", "c1"],
            "stage": ["won", "open", "lost"],
            "amount": pd.array([10.0, 20.0, None], dtype="Float64"),
            "created_date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
            "closed_date": pd.to_datetime(["2025-02-01", None, "2025-04-01"]),
        }
    )
    managers = pd.DataFrame({"manager_id": ["m1", "m2"], "name": ["A", "B"]})
    ds = Dataset({"deals": deals, "managers": managers})
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        view = pipeline_view(ds)
    assert len(view) == 3 and view["n_deals"].sum() == 0
    assert view.attrs["undated_open_deals"] == 1
    assert view.attrs["missing_columns"] == ["expected_close_date", "probability"]


def test_cli_targets_option_reaches_the_runner(tmp_path, capsys) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["run", "--targets", str(missing), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert f"targets file {missing} not found" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_index_status_says_what_a_rendered_budget_lacks() -> None:
    # a budget page that rendered without its margin is not plain "ready"
    from types import SimpleNamespace

    from amtools.core.messages import Message
    from amtools.render.index import _status, _status_class
    from amtools.render.notebooks.kinds import get_report

    kind = get_report("budget")
    why = Message("budget.unavailable.margin", {"column": "deals.cost"})
    budget = SimpleNamespace(unavailable={"cost_of_sales": why, "margin": why})
    ready = {True: "ready", False: "failed"}
    for lang, words in (("en", ["cost of sales", "margin"]), ("ru", ["себестоимость", "маржа"])):
        ctx = SimpleNamespace(lang=lang, unavailable={}, budget=budget)
        text = _status(ctx, kind, True, ready)  # type: ignore[arg-type]
        assert text != "ready" and all(w in text for w in words), text
        assert _status_class(ctx, kind, True) == "am-note"  # type: ignore[arg-type]
    whole = SimpleNamespace(lang="en", unavailable={}, budget=SimpleNamespace(unavailable={}))
    assert _status(whole, kind, True, ready) == "ready"  # type: ignore[arg-type]
    assert _status(whole, get_report("team_review"), True, ready) == "ready"  # type: ignore[arg-type]


def test_a_stage_without_result_is_explained_in_the_pack_language() -> None:
    # the forecast stage of a source without won deals: its finding, in Russian
    from amtools.core.messages import Message
    from amtools.core.problems import DataValidationError, Problem
    from amtools.pipeline import stage_reason as _reason
    from amtools.render.notebooks.context import note_text

    exc = DataValidationError(
        [Problem("deals", "closed_date", "no_won_deals", "no won deals closed on or before", 0)]
    )
    note = Message("run.note.forecast", {"reason": _reason(exc)})
    ru = note_text(note, "ru")
    assert "выигранных сделок" in ru and "closed on or before" not in ru
    assert "no won deals" in note_text(note, "en")
    # a placeholder the finding does not fill falls back to its English message, never raises
    odd = Problem("deals", "amount", "missing_column", "column missing", 0)
    assert "column missing" in odd.text("ru")


def test_run_takes_a_config_or_its_fields_as_keywords(tmp_path) -> None:
    from amtools.cli import build_parser, run_config
    from amtools.render.notebooks.runner import RunConfig

    config = RunConfig(lang="de", out=tmp_path / "o")
    with pytest.raises(ParameterError, match="unknown language 'de'"):
        run(config)
    with pytest.raises(ParameterError, match="--workers must be"):
        run(config, lang="en", workers=-1)  # keywords replace the config's fields
    with pytest.raises(TypeError):
        run(None, colour="red")  # not a RunConfig field
    args = build_parser().parse_args(["run", "--per-team", "--reports", "forecast,budget"])
    assert run_config(args) == RunConfig(
        reports=["forecast", "budget"], per_team=True, out=args.out, notebooks_dir=args.notebooks
    )
    assert not (tmp_path / "o").exists()
