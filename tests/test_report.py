"""Tests for amtools.render.notebooks without kernels: context, parameters, HTML pieces, index."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.files import write_atomic
from amtools.core.paths import NOTEBOOKS_DIR, PARAMS_DIR
from amtools.core.settings import read_params
from amtools.render.export import add_toc, display_source
from amtools.render.index import render_index
from amtools.render.notebooks.context import (
    RunContext,
    build_context,
    default_period,
    load_context,
    open_context,
    save_context,
)
from amtools.render.notebooks.jobs import JobResult
from amtools.render.notebooks.kinds import REPORTS
from amtools.render.notebooks.paramcheck import notebook_parameters, validate_parameters

EVIL = "<script>alert(1)</script>"
EXTERNAL = re.compile(r"""(?:src|href|action|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def _notebook(params_source: str, *cells: str) -> nbformat.NotebookNode:
    nb = new_notebook()
    param_cell = new_code_cell(params_source)
    param_cell.metadata["tags"] = ["parameters"]
    nb.cells = [param_cell, *[new_code_cell(c) for c in cells]]
    return nb


# -- parameters ---------------------------------------------------------------------------


def test_notebook_parameters_reads_names_types_defaults_and_help():
    nb = _notebook(
        'context: str = ""  # run context folder\n'
        "n: int = 3  # how many\n"
        "ratio: float = 0.5\n"
        "flag = True\n"
        "names: list[str] = []  # some names\n"
        "maybe: str | None = None\n"
        "x = y = 2  # chained assignments are not parameters\n"
    )
    params = notebook_parameters(nb)
    assert list(params) == ["context", "n", "ratio", "flag", "names", "maybe"]
    assert params["context"].types == (str,) and params["context"].help == "run context folder"
    assert params["n"].default == 3 and params["n"].types == (int,)
    assert params["flag"].types == (bool,)  # inferred from the literal
    assert params["names"].types == (list,)
    assert set(params["maybe"].types) == {str, type(None)}


def test_validate_parameters_rejects_unknown_names_and_wrong_types():
    params = notebook_parameters(
        _notebook('lang: str = "en"\nn: int = 3\nratio: float = 0.5\nok: bool = False')
    )
    # ints are accepted for floats; the values come back unchanged
    assert validate_parameters(params, {"lang": "ru", "ratio": 1}) == {"lang": "ru", "ratio": 1}
    with pytest.raises(
        ParameterError, match=r"unknown parameter\(s\) 'colour'.*declares: lang, n, ratio, ok"
    ):
        validate_parameters(params, {"colour": "red"}, notebook="nb.ipynb")
    with pytest.raises(ParameterError, match="parameter 'n' must be int, got str '3'"):
        validate_parameters(params, {"n": "3"})
    with pytest.raises(ParameterError, match="parameter 'ok' must be bool, got int 1"):
        validate_parameters(params, {"ok": 1})
    with pytest.raises(ParameterError, match="parameter 'n' must be int, got bool"):
        validate_parameters(params, {"n": True})


def test_notebook_without_parameters_cell_is_an_error():
    nb = new_notebook()
    nb.cells = [new_code_cell("x = 1")]
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        notebook_parameters(nb)


def _notebook_param_files() -> list[tuple[Path, Path]]:
    pairs = []
    for notebook in sorted(Path(NOTEBOOKS_DIR).glob("*.ipynb")):
        yaml_path = Path(PARAMS_DIR) / f"{notebook.stem}.yaml"
        if yaml_path.is_file():
            pairs.append((notebook, yaml_path))
    return pairs


@pytest.mark.parametrize("notebook,yaml_path", _notebook_param_files(), ids=lambda p: Path(p).name)
def test_params_files_set_only_what_their_notebook_declares(notebook, yaml_path):
    # A notebook is a function: params/<notebook>.yaml may set only its declared parameters,
    # with values of the declared types (papermill itself would only warn).
    declared = notebook_parameters(notebook)
    validate_parameters(declared, read_params(yaml_path), notebook=notebook.name)


@pytest.mark.parametrize(
    "kind",
    [k for k in REPORTS.values() if (Path(NOTEBOOKS_DIR) / k.notebook).is_file()],
    ids=lambda k: k.name,
)
def test_report_notebooks_declare_the_runner_parameters(kind):
    declared = notebook_parameters(Path(NOTEBOOKS_DIR) / kind.notebook)
    for name in ("context", "period", "lang") + ((kind.entity_param,) if kind.entity_param else ()):
        assert name in declared and declared[name].accepts(""), f"{kind.notebook} lacks {name}: str"


# -- context ----------------------------------------------------------------------------


def test_default_period_from_meta_or_data():
    assert (
        str(default_period(Dataset({}, meta={"period_end": pd.Timestamp("2026-09-30")})))
        == "2026Q3"
    )
    # a data end in the middle of a quarter: the previous quarter is the last complete one
    deals = pd.DataFrame({"closed_date": pd.to_datetime(["2026-01-05", "2026-08-15"])})
    ds = Dataset({"deals": deals})
    assert str(default_period(ds)) == "2026Q2"
    # ... and on the quarter's last day that quarter is complete
    ds = Dataset({"deals": pd.DataFrame({"closed_date": pd.to_datetime(["2026-09-30"])})})
    assert str(default_period(ds)) == "2026Q3"
    with pytest.raises(ParameterError, match="cannot tell the reporting period"):
        default_period(Dataset({}))


def test_an_invalid_policy_file_fails_the_build_not_silently(tmp_path):
    # a broken params/policy/kpi.yaml used to become "no parameters" (silent defaults)
    from amtools import pipeline
    from amtools.core.settings import use_params_dir

    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "kpi.yaml").write_text("sla_hours: [unclosed\n", encoding="utf-8")
    ds = Dataset({}, meta={"period_end": pd.Timestamp("2026-09-30")})
    with use_params_dir(tmp_path):
        with pytest.raises(ParameterError, match="kpi"):
            pipeline.build(ds, forecast_horizon=0)
        with pytest.raises(ParameterError, match="kpi"):
            build_context(ds, forecast_horizon=0)
        # a dict override is used as given, the file is not read
        assert pipeline._policy("kpi", {"kpi": {"sla_hours": 4}}) == {"sla_hours": 4}


@pytest.fixture(scope="module")
def demo_context():
    import amtools.demo as datasets

    ds = datasets.make_demo(seed=1, n_managers=3, years=1, scale=0.2, end="2026-11-26")
    return build_context(ds, forecast_horizon=0, lang="ru")


def test_build_context_computes_everything_once(demo_context):
    ctx = demo_context
    assert ctx.period == "2026Q3" and ctx.lang == "ru" and ctx.currency == "RUB"
    assert set(ctx.kpis["period"]) <= set(ctx.periods)
    assert ctx.periods[-1] == "2026Q3" and len(ctx.periods) <= 8
    assert set(ctx.kpis["manager_id"]) == set(ctx.managers["manager_id"])
    assert {"team", "kpi", "value"} <= set(ctx.kpis_team.columns)
    assert set(ctx.kpis_company["company"]) == {"all"}
    assert {"manager_id", "period", "score"} <= set(ctx.scores.columns)
    assert ctx.forecast is None and ctx.budget is None  # forecast_horizon=0 skips them
    assert ctx.fingerprint == ctx.dataset.fingerprint()
    assert ctx.meta()["period"] == "2026Q3"


def test_context_forecast_covers_the_budget_year_with_model_options():
    # The defaults open_context("") uses (forecast_horizon=12): history ends 2026-09-30, the
    # budget's fiscal year is 2027, so the horizon grows to 15 months and a budget is built.
    import amtools.demo as datasets

    ds = datasets.make_demo(seed=1, n_managers=3, years=2, scale=0.2, end="2026-11-26")
    fast = {"models": ["seasonal_naive", "naive"], "folds": 1}
    ctx = build_context(ds, params={"forecast_models": fast})
    assert ctx.forecast is not None and ctx.budget is not None, ctx.notes
    assert ctx.params["forecast_horizon"] == 15
    assert ctx.forecast.forecast["ds"].max() == pd.Timestamp("2027-12-01")
    assert ctx.budget.fiscal_year == 2027
    # Model options come from params/policy/forecast.yaml overridden key by key; the
    # reconciliation is "auto" (the file's, and the default).
    options = ctx.params["forecast_models"]
    assert options["models"] == ["seasonal_naive", "naive"] and options["folds"] == 1
    assert options["reconcile"] == read_params("policy/forecast")["reconcile"] == "auto"
    assert ctx.forecast.settings["reconcile"] == "auto"
    assert "forecast" not in ctx.params  # the notebook's params/reports/forecast.yaml is not read


def test_unknown_forecast_model_option_is_an_error():
    import amtools.demo as datasets

    ds = datasets.make_demo(seed=1, n_managers=2, years=1, scale=0.2, end="2026-11-26")
    with pytest.raises(ParameterError, match="unknown option.*horizon"):
        build_context(ds, params={"forecast_models": {"horizon": 6}})


def test_build_context_rejects_bad_periods_and_languages(demo_context):
    ds = demo_context.dataset
    with pytest.raises(ParameterError, match="after the last complete period"):
        build_context(ds, "2027Q1", forecast_horizon=0)
    with pytest.raises(ParameterError, match="cannot parse period"):
        build_context(ds, "Q3-2026", forecast_horizon=0)
    with pytest.raises(ParameterError, match="unknown language"):
        build_context(ds, lang="de", forecast_horizon=0)


def test_save_load_and_open_context(demo_context, tmp_path):
    folder = save_context(demo_context, tmp_path / "ctx")
    assert not list(folder.glob("*.tmp"))
    loaded = load_context(folder)
    pd.testing.assert_frame_equal(loaded.kpis, demo_context.kpis)
    assert loaded.period == demo_context.period

    first = open_context(str(folder), lang="en")
    assert first.lang == "en"  # language is a display choice: nothing recomputed
    first.kpis["value"] = -1.0  # a notebook scribbling on its copy ...
    first.dataset.managers.loc[:, "name"] = "changed"
    second = open_context(str(folder), period="2026Q3")
    assert (second.kpis["value"] != -1.0).any()  # ... never reaches the next notebook
    assert "changed" not in set(second.managers["name"])

    with pytest.raises(ParameterError, match="built for 2026Q3, not 2026Q2"):
        open_context(str(folder), period="2026Q2")
    with pytest.raises(ParameterError, match="no saved run context"):
        open_context(str(tmp_path / "missing"))


# -- HTML pieces -------------------------------------------------------------------------------


def test_toc_is_built_from_headings_and_escaped():
    page = (
        "<!--amtools:toc--><main><!--amtools:content-->"
        '<h2 id="Scores">Scores<a class="anchor-link" href="#Scores">¶</a></h2>'
        "<h3>&lt;script&gt;alert(1)&lt;/script&gt;</h3>"
        '<h2 id="Plan">Training <em>plan</em></h2>'
        "<!--amtools:content-end--></main>"
    )
    out = add_toc(page, "en", min_headings=3)
    assert out.startswith('<nav class="am-toc"><h2>Contents</h2>')
    assert '<a href="#Scores">Scores</a>' in out
    assert '<a href="#Plan">Training plan</a>' in out
    assert '<h3 id="am-section-2">' in out  # a heading without id gets one
    assert "<script>" not in out
    assert add_toc(page, "en", min_headings=4).startswith("<main>")  # short reports: no TOC


def test_source_passwords_are_masked():
    assert (
        display_source("postgresql+psycopg://crm:p@ss:w0rd@db:5432/crm")
        == "postgresql+psycopg://crm:***@db:5432/crm"
    )
    assert display_source("data/crm.duckdb") == "data/crm.duckdb"
    assert display_source("sqlite:///data/crm.db") == "sqlite:///data/crm.db"


def test_write_atomic_replaces_whole_files_only(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "r.html"
    write_atomic(target, "old")
    assert target.read_text() == "old"

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new and longer")
    assert target.read_text() == "old"  # the reader never sees half a page
    assert [p.name for p in target.parent.iterdir()] == ["r.html"]  # no temp file left


# -- index ---------------------------------------------------------------------------------------


def _tiny_context(tmp_path: Path) -> RunContext:
    managers = pd.DataFrame(
        {
            "manager_id": pd.array(["M1", "M2"], dtype="string"),
            "name": pd.array([EVIL, "Ann <b>Lee</b>"], dtype="string"),
            "segment": pd.array(["B2B", "B2C"], dtype="string"),
            "team": pd.array(["North & South", "West"], dtype="string"),
        }
    )
    empty = pd.DataFrame()
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M2"],
            "period": ["2026Q3"] * 2,
            "score": [71.25, 40.0],
            "rank": [1, 1],
        }
    )
    ds = Dataset(
        {"managers": managers},
        source=f"crm {EVIL}",
        meta={
            "problems": [
                {"table": "deals", "column": "amount", "message": EVIL, "count": 2, "fix": "check"}
            ]
        },
    )
    return RunContext(
        dataset=ds, period="2026Q3", freq="Q", lang="en", currency="RUB", source=ds.source,
        fingerprint="abc123", kpis=empty, kpis_team=empty, kpis_segment=empty, kpis_company=empty,
        scorecard=empty, scores=scores, training=empty, forecast=None, pipeline=empty, budget=None,
        params={}, generated_at=pd.Timestamp("2026-11-26 10:00", tz="UTC"), version="0.1.0",
        notes=[f"Forecast not computed: {EVIL}"],
    )  # fmt: skip


def test_index_lists_reports_failures_and_problems_escaped(tmp_path):
    ctx = _tiny_context(tmp_path)
    folder = tmp_path / "2026Q3"
    results = [
        JobResult("team_review", "team_review", None, "Team quarterly review", True, 3.0,
                  folder / "team_review.html", folder / "_executed" / "team_review.ipynb"),
        JobResult("manager_review/M1", "manager_review", "M1", f"Manager review: {EVIL}", True, 1.0,
                  folder / "manager_review-M1.html", folder / "_executed" / "manager_review-M1.ipynb"),
        JobResult("manager_review/M2", "manager_review", "M2", "Manager review: Ann", False, 1.0,
                  None, folder / "_executed" / "manager_review-M2.ipynb",
                  error=f"ValueError: bad {EVIL}", cell_source=f"raise ValueError('{EVIL}')", execution_count=4),
    ]  # fmt: skip
    page = render_index(ctx, results, folder)
    assert "<script>" not in page and "<b>Lee</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="team_review.html"' in page and 'href="manager_review-M1.html"' in page
    assert 'href="manager_review-M2.html"' not in page  # no link to a report that failed
    assert 'href="_executed/manager_review-M2.ipynb"' in page
    assert "Failing cell (In [4])" in page and "raise ValueError(" in page
    assert "2 of 3 reports rendered" in page
    assert "North &amp; South" in page and "71.2" in page
    assert "For leadership" in page  # the page says who may read the names on it
    assert not EXTERNAL.search(page)


def test_index_in_russian(tmp_path):
    ctx = _tiny_context(tmp_path).with_lang("ru")
    page = render_index(ctx, [], tmp_path)
    assert "Квартальный пакет отчётов 3 кв. 2026" in page
    assert 'lang="ru"' in page


def test_a_budget_policy_nested_under_policy_builds_the_budget(tmp_path: Path) -> None:
    # BudgetSettings accepts a budget.yaml that nests the policy under `policy:`; the run
    # context reads it the same way (it once merged the raw file, `policy:` key and all).
    import yaml

    import amtools.demo as datasets
    from amtools.core.settings import use_params_dir

    folder = tmp_path / "params" / "policy"
    folder.mkdir(parents=True)
    policy = read_params("policy/budget")
    policy["fiscal_year_start"] = 4
    (folder / "budget.yaml").write_text(yaml.safe_dump({"policy": policy}), encoding="utf-8")
    ds = datasets.make_demo(seed=1, n_managers=3, years=2, scale=0.2, end="2026-11-26")
    fast = {"models": ["seasonal_naive", "naive"], "folds": 1}
    with use_params_dir(tmp_path / "params"):
        ctx = build_context(ds, params={"forecast_models": fast})
    assert ctx.budget is not None, ctx.notes
    assert ctx.params["budget"]["fiscal_year_start"] == 4
    assert ctx.budget.months[0].month == 4  # the fiscal year starts in April, as the file says
