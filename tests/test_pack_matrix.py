"""The pack matrix: the real runner on real, minimal and thinned-out data, in en and ru.

Every Dataset that passes validation must render every report (issue 9): optional columns
and tables change what is shown, never whether it renders. Each case asserts

- exit 0 (``amtools run`` for sources on disk, ``RunResult.ok`` for in-memory datasets);
- every report present: index, team review, forecast, budget, one review per manager
  (the drop variants render one manager's review, see below);
- honesty, read from the saved run context: a KPI whose table or column is absent is
  ``not_available`` with a reason naming it; no 100 % retention / 0 % churn measured
  without ``clients.churned_date``; no demo targets on a foreign source.

Cases
-----
full pack, en and ru : the real-data fixtures of both presets (``maven_crm``,
    ``superstore``), the amoCRM-style fixture, and a minimal dataset (managers, clients
    and deals with only their required columns, from the demo generator).
drop variants, en : each optional column of managers, clients and deals, and each optional
    table, removed in turn from a 3-manager demo (33 variants). Rendering one costs ~20-35 s
    on this 2-core machine (four notebooks), 33 of them ~15 min: too slow for ``make test``.
    By default they therefore run the runner's context build (KPIs, scores, training plans,
    forecast, budget: ~4 s) and the honesty checks on the saved context, without notebooks;
    rendering with every optional column and table absent at once is the minimal case
    above. ``AMTOOLS_MATRIX_RENDER_DROPS=1`` renders each variant through the real runner
    (every report kind, one manager review) for a thorough pass.

Independent cases (``tmp_path`` only), so ``pytest -n 2`` spreads them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from amtools.core.dataset import Dataset
from amtools.core.schema import REQUIRED_TABLES, TABLES
from amtools.kpi.registry import KPIS
from amtools.render.docs import MINIMAL_COLUMNS, kpi_inputs

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

FIXTURES = Path(__file__).parent / "fixtures"
AMOCRM_MAPPING = FIXTURES / "amocrm" / "mapping.yaml"
REPORT_PAGES = ("index.html", "team_review.html", "forecast.html", "budget.html")


# -- data --------------------------------------------------------------------------------


def _demo() -> Dataset:
    from amtools.demo import make_demo

    return make_demo(seed=0, n_managers=3, end="2026-11-26")


def minimal_dataset() -> Dataset:
    """The smallest export that passes validation (:data:`amtools.render.docs.MINIMAL_COLUMNS`:
    required tables and columns, plus ``deals.closed_date``), as a foreign source."""
    demo = _demo()
    tables = {name: demo.get(name)[list(cols)].copy() for name, cols in MINIMAL_COLUMNS.items()}
    return Dataset(tables, source="minimal export (from the demo generator)", meta={})


def _optional_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table].columns if not c.required]


DROP_COLUMNS = [f"{table}.{col}" for table in REQUIRED_TABLES for col in _optional_columns(table)]
DROP_TABLES = [name for name, spec in TABLES.items() if not spec.required]


def dropped(what: str) -> Dataset:
    """The 3-manager demo without one optional column (``table.column``) or table."""
    demo = _demo()
    if "." in what:
        table, column = what.split(".")
        frame = demo.get(table)
        assert column in frame, f"the demo has no {what}: the variant would test nothing"
        return demo.replace(**{table: frame.drop(columns=[column])})
    assert demo.get(what) is not None, f"the demo has no table {what}"
    return demo.replace(**{what: None})


# -- checks ------------------------------------------------------------------------------


def _reason_texts(rows: pd.DataFrame) -> list[str]:
    """The English reason of each KPI row (the frame carries a key and its arguments)."""
    from amtools.kpi import reason_text

    args = rows["reason_args"] if "reason_args" in rows else pd.Series(None, index=rows.index)
    return [
        "" if pd.isna(key) else reason_text(str(key), None if pd.isna(a) else a, "en")
        for key, a in zip(rows["reason"], args, strict=True)
    ]


def _absent_inputs(ds: Dataset) -> dict[str, list[str]]:
    """KPI id -> the tables / ``table.column`` inputs it needs that ``ds`` lacks."""
    missing: dict[str, list[str]] = {}
    for kpi in KPIS.values():
        lacks = [t for t in kpi_inputs(kpi)[0] if ds.get(t) is None]
        for ref in kpi_inputs(kpi)[1]:
            # "a or b": any one of the columns is enough
            alternatives = [alt.split(".") for alt in ref.split(" or ")]
            if all(ds.get(t) is None or c not in ds.get(t) for t, c in alternatives) and any(
                ds.get(t) is not None for t, _ in alternatives
            ):
                lacks.append(ref)
        if lacks:
            missing[kpi.id] = lacks
    return missing


def check_honesty(context_dir: Path, ds: Dataset, *, foreign: bool) -> None:
    """Check the run context saved in ``context_dir`` (as the notebooks read it)."""
    from amtools.render.notebooks.context import load_context

    ctx = load_context(context_dir)
    kpis = ctx.kpis
    assert not kpis.empty, "the KPI frame is empty"
    wrong = []
    for kpi_id, lacks in _absent_inputs(ds).items():
        rows = kpis[kpis["kpi"] == kpi_id]
        if rows.empty:
            continue  # not computed at all: nothing shown, nothing claimed
        measured = rows[(rows["status"] != "not_available") | rows["value"].notna()]
        # an explicit inferred rule (e.g. retention without churn dates) is allowed if labelled
        if "inferred" in measured:
            measured = measured[~measured["inferred"].astype("boolean").fillna(False)]
        if not measured.empty:
            wrong.append(
                f"{kpi_id} without {', '.join(lacks)}: {len(measured)} rows measured "
                f"(status {sorted(measured['status'].astype(str).unique())}, "
                f"values e.g. {measured['value'].dropna().head(3).tolist()})"
            )
            continue
        names = {ref.split(".")[-1] for ref in lacks} | {ref.split(".")[0] for ref in lacks}
        silent = [
            text
            for text in _reason_texts(rows)
            if not any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)
        ]
        if silent:
            wrong.append(
                f"{kpi_id} not_available but its reason does not name {', '.join(lacks)}: "
                f"{silent[0]!r}"
            )
    # never 100 % retention / 0 % churn measured without churn dates
    clients = ds.get("clients")
    if "churned_date" not in clients:
        for kpi_id, sure in (("retention_rate", 1.0), ("churn_rate", 0.0)):
            rows = kpis[(kpis["kpi"] == kpi_id) & (kpis["status"] == "ok")]
            inferred = (
                rows["inferred"].astype("boolean").fillna(False)
                if "inferred" in rows
                else pd.Series(False, index=rows.index)
            )
            flat = rows[(rows["value"] == sure) & ~inferred]
            if not flat.empty:
                wrong.append(
                    f"{kpi_id} = {sure:.0%} without clients.churned_date: {len(flat)} rows"
                )
    if foreign:
        card = ctx.scorecard
        targeted = card[card["target"].notna()]
        if not targeted.empty:
            wrong.append(
                f"targets applied to a foreign source ({ds.source}): {len(targeted)} rows, e.g. "
                f"{targeted[['kpi', 'target']].drop_duplicates().head(3).to_dict('records')}"
            )
    assert not wrong, "dishonest:\n" + "\n".join(wrong)


def check_pages(folder: Path, n_reviews: int) -> None:
    for page in REPORT_PAGES:
        assert (folder / page).is_file(), f"{page} missing in {folder}"
    reviews = sorted(folder.glob("manager_review*.html"))
    assert len(reviews) == n_reviews, [p.name for p in reviews]
    for page in [*(folder / p for p in REPORT_PAGES), *reviews]:
        assert page.stat().st_size > 1000, f"{page.name} is (nearly) empty"


def check_language(folder: Path, ds: Dataset) -> None:
    """Every page of a Russian pack, the index included, has no English sentence.

    Words from the data (names, teams, regions, products, the source path) and the data
    model's table names are not sentences; everything else must be in the pack language.
    """
    from test_present_lang import english_runs

    from amtools.core.schema import TABLES

    words: set[str] = set(TABLES)
    for table, columns in (("managers", ("name", "team", "region")), ("deals", ("product",))):
        frame = ds.get(table)
        for column in columns:
            if frame is not None and column in frame:
                words |= set(" ".join(frame[column].dropna().astype(str)).lower().split())
    words |= set(re.split(r"[\s/]+", str(ds.source).lower()))
    leaks = {
        page.name: runs
        for page in sorted(folder.glob("*.html"))
        if (runs := english_runs(page.read_text(encoding="utf-8"), allowed=words))
    }
    assert leaks == {}, f"English sentences on Russian pages: {leaks}"


def _load_source(source: str) -> tuple[Path, str]:
    if source == "amocrm":
        return FIXTURES / "amocrm", str(AMOCRM_MAPPING)
    return FIXTURES / source, source


# -- (a) real-data fixtures and the amoCRM-style export: `amtools run`, full pack ----------

LANGS = ["en", "ru"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("source", ["maven_crm", "superstore", "amocrm"])
def test_full_pack_on_real_exports(source: str, lang: str, tmp_path: Path) -> None:
    import amtools
    from amtools.cli import main

    folder, mapping = _load_source(source)
    ds = amtools.load(folder, mapping=mapping)
    assert not [p for p in ds.meta.get("problems", []) if p.severity == "error"]
    code = main(
        [
            "run",
            "--source",
            str(folder),
            "--mapping",
            mapping,
            "--lang",
            lang,
            "--out",
            str(tmp_path),
            "--workers",
            "0",
            "--no-progress",
            # the forecast archive goes beside the data by default: not into tests/fixtures
            "--archive",
            str(tmp_path.parent / f"{tmp_path.name}-forecasts.duckdb"),
        ]  # fmt: skip
    )
    assert code == 0, f"amtools run exited {code} on {source} ({lang})"
    (period,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    check_pages(period, n_reviews=len(ds.managers))
    check_honesty(period / "_context", ds, foreign=True)
    if lang == "ru":
        check_language(period, ds)


# -- (b) the minimal dataset: required tables and columns only ---------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_full_pack_on_minimal_dataset(lang: str, tmp_path: Path) -> None:
    from amtools.render.notebooks.runner import run
    from amtools.validate.checks import validate

    ds = minimal_dataset()
    assert not [p for p in validate(ds) if p.severity == "error"]
    result = run(ds, lang=lang, out=tmp_path, workers=0, progress=False)
    assert result.ok, [(r.name, r.error, r.cell_source) for r in result.failed]
    check_pages(result.folder, n_reviews=len(ds.managers))
    check_honesty(result.context_dir, ds, foreign=True)
    if lang == "ru":
        check_language(result.folder, ds)


# -- (c), (d) each optional column, each optional table dropped in turn ------------------


RENDER_DROPS = os.environ.get("AMTOOLS_MATRIX_RENDER_DROPS", "") not in ("", "0")


@pytest.mark.parametrize("what", DROP_COLUMNS + DROP_TABLES)
def test_pack_without(what: str, tmp_path: Path) -> None:
    from amtools.render.notebooks.context import build_context, save_context
    from amtools.render.notebooks.runner import run
    from amtools.validate.checks import validate

    ds = dropped(what)
    errors = [p for p in validate(ds) if p.severity == "error"]
    if what == "deals.closed_date":
        # Not a dataset that passes validation: the error must name the column and the fix.
        assert [p.check for p in errors] == ["closed_without_date"], errors
        assert errors[0].column == "closed_date" and errors[0].fix, errors
        return
    assert not errors, errors
    if RENDER_DROPS:
        # The full path: the real runner, every report kind, one manager's review.
        first = str(ds.managers["manager_id"].iloc[0])
        result = run(ds, managers=[first], lang="en", out=tmp_path, workers=0, progress=False)
        assert result.ok, [(r.name, r.error, r.cell_source) for r in result.failed]
        check_pages(result.folder, n_reviews=1)
        context_dir = result.context_dir
    else:
        # The cheap path (default): the runner's own context build (KPIs, scores, training,
        # forecast, budget) saved and reopened as the notebooks open it; no notebook runs.
        ctx = build_context(ds, lang="en", forecast_horizon=12)
        context_dir = tmp_path / "_context"
        save_context(ctx, context_dir)
    check_honesty(context_dir, ds, foreign=False)


def test_matrix_covers_every_optional_column_and_table() -> None:
    demo = _demo()
    assert len(DROP_COLUMNS) == sum(len(_optional_columns(t)) for t in REQUIRED_TABLES)
    missing = [w for w in DROP_COLUMNS if w.split(".")[1] not in demo.get(w.split(".")[0])]
    missing += [t for t in DROP_TABLES if demo.get(t) is None]
    assert not missing, f"the demo lacks {missing}: those variants would test nothing"


def test_minimal_export_section_of_loading_md_is_current() -> None:
    from amtools.render.docs import BEGIN, END, minimal_export_markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "loading.md").read_text("utf-8")
    assert BEGIN in text and END in text, "docs/loading.md lost its generated section markers"
    section = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert section == minimal_export_markdown(), (
        "docs/loading.md is stale: run `python -m amtools.render.docs docs/loading.md`"
    )


def test_minimal_dataset_is_what_the_docs_call_a_minimal_export() -> None:
    from amtools.render.docs import MINIMAL_COLUMNS

    ds = minimal_dataset()
    assert {n: tuple(ds.get(n).columns) for n in REQUIRED_TABLES} == MINIMAL_COLUMNS
    assert [n for n in TABLES if ds.get(n) is not None] == list(REQUIRED_TABLES)
