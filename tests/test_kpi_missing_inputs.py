"""Honest KPIs when inputs are missing: absent columns make a KPI not_available, never 0/100 %."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from amtools.core.dataset import Dataset
from amtools.core.schema import TABLES
from amtools.kpi import KPIS, REASONS, compute, reason_text
from amtools.kpi.computation import kpi_params

PERIODS = ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
CORE = ("managers", "clients", "deals")


@pytest.fixture(scope="module")
def demo() -> Dataset:
    from amtools.demo import make_demo

    ds = make_demo(n_managers=6, years=2, seed=3, end="2026-07-15")
    return Dataset({n: ds[n] for n in ds.names if n != "targets"}, source="test")


@pytest.fixture(scope="module")
def full(demo: Dataset) -> pd.DataFrame:
    return compute(demo, "Q", PERIODS)


def _minimal(demo: Dataset, extra: dict[str, list[str]] | None = None) -> Dataset:
    extra = extra or {}
    return Dataset(
        {n: demo[n][TABLES[n].required_columns + extra.get(n, [])] for n in CORE},
        source="minimal",
    )


def _by_kpi(frame: pd.DataFrame) -> dict[str, set[str]]:
    return {k: set(g["status"]) for k, g in frame.groupby("kpi", sort=False)}


def _text(row: pd.Series, lang: str = "en") -> str:
    return reason_text(row["reason"], row["reason_args"], lang)


# -- the minimal dataset ------------------------------------------------------------------


def test_minimal_dataset_measures_nothing_it_cannot_see(demo: Dataset) -> None:
    # only the required columns: deals have no dates, so nothing can be put in a period
    k = compute(_minimal(demo), "Q", PERIODS)
    assert (k["status"] == "not_available").all()
    assert k["value"].isna().all()
    deal_kpis = [i for i, kpi in KPIS.items() if "deals.closed_date" in kpi.columns]
    for kpi_id in deal_kpis:
        rows = k[k["kpi"] == kpi_id]
        texts = {_text(r) for _, r in rows.iterrows()}
        assert len(texts) == 1 and texts.pop().startswith("needs column deals."), kpi_id


MEASURED_WITH_CLOSE_DATES = {
    "sales_volume",
    "revenue_growth_existing",
    "average_check",
    "conversion_rate",
    "new_clients",
}


def test_minimal_dataset_with_close_dates(demo: Dataset) -> None:
    k = compute(_minimal(demo, {"deals": ["closed_date"]}), "Q", PERIODS)
    statuses = _by_kpi(k)
    measured = {kpi for kpi, st in statuses.items() if st != {"not_available"}}
    assert measured == MEASURED_WITH_CLOSE_DATES
    # retention and churn are not 100 % / 0 %: the export records no churn
    for kpi_id in ("retention_rate", "churn_rate"):
        rows = k[k["kpi"] == kpi_id]
        assert (rows["status"] == "not_available").all()
        assert {_text(r) for _, r in rows.iterrows()} == {"needs column clients.churned_date"}
        assert rows["value"].isna().all()


# -- every optional column dropped in turn ------------------------------------------------

OPTIONAL = [
    (t.name, c.name)
    for t in TABLES.values()
    if t.name != "targets"
    for c in t.columns
    if not c.required
]


@pytest.mark.parametrize(("table", "column"), OPTIONAL, ids=[f"{t}.{c}" for t, c in OPTIONAL])
def test_dropping_an_optional_column(
    demo: Dataset, full: pd.DataFrame, table: str, column: str
) -> None:
    if column not in demo[table]:
        pytest.skip(f"the demo has no {table}.{column}")
    tc = f"{table}.{column}"
    ds = demo.replace(**{table: demo[table].drop(columns=[column])})
    k = compute(ds, "Q", PERIODS)
    assert len(k) == len(full)
    for kpi_id, kpi in KPIS.items():
        rows = k[k["kpi"] == kpi_id].reset_index(drop=True)
        before = full[full["kpi"] == kpi_id].reset_index(drop=True)
        if tc in kpi.columns:
            # the KPI reads this column: not available everywhere, naming the column
            assert (rows["status"] == "not_available").all(), (tc, kpi_id)
            assert rows["value"].isna().all()
            assert set(rows["reason"]) == {"needs_column"}
            assert {json.loads(a)["column"] for a in rows["reason_args"]} == {tc}
        elif tc in kpi.inputs:
            # one of alternative columns: the other one still measures it
            assert (rows["status"] != "not_available").any(), (tc, kpi_id)
        elif tc == "managers.hire_date":
            # tenure: only cells that were "not yet hired" change
            keep = before["reason"] != "not_yet_hired"
            keep = keep.fillna(True).to_numpy(dtype=bool)
            pd.testing.assert_frame_equal(rows[keep], before[keep])
        else:
            # the KPI does not read this column: exactly the same values
            pd.testing.assert_frame_equal(rows, before, obj=f"{kpi_id} without {tc}")


def test_dropping_a_column_never_yields_a_computed_100_or_0(demo: Dataset) -> None:
    # the case: an export with no churn recorded showed retention 100 %, churn 0 %
    ds = demo.replace(clients=demo["clients"].drop(columns=["churned_date"]))
    k = compute(ds, "Q", PERIODS)
    for kpi_id in ("retention_rate", "churn_rate", "contact_frequency"):
        rows = k[k["kpi"] == kpi_id]
        assert rows["value"].isna().all() and (rows["status"] == "not_available").all()
    # an empty column says nothing either
    empty = demo.replace(internal_reports=demo["internal_reports"].assign(submitted_date=pd.NaT))
    rows = compute(empty, "Q", PERIODS).query("kpi == 'reporting_timeliness'")
    assert (rows["status"] == "not_available").all()
    assert {_text(r) for _, r in rows.iterrows()} == {
        "needs column internal_reports.submitted_date"
    }


# -- inferred churn ---------------------------------------------------------------------


def _clients_deals() -> Dataset:
    managers = pd.DataFrame({"manager_id": ["M1"], "name": ["A"], "segment": ["B2C"]})
    clients = pd.DataFrame({"client_id": ["C1", "C2", "C3"], "manager_id": ["M1"] * 3})
    # C1 buys every quarter; C2 last bought 2025-01-10; C3 buys once in 2025-02 and 2025-12
    dates = ["2025-01-05", "2025-04-05", "2025-07-05", "2025-10-05", "2025-01-10"]
    dates += ["2025-02-01", "2025-12-01"]
    deals = pd.DataFrame(
        {
            "deal_id": [f"D{i}" for i in range(7)],
            "client_id": ["C1"] * 4 + ["C2", "C3", "C3"],
            "manager_id": ["M1"] * 7,
            "stage": ["won"] * 7,
            "amount": [100.0] * 7,
            "closed_date": pd.to_datetime(dates),
        }
    )
    return Dataset({"managers": managers, "clients": clients, "deals": deals})


def test_inferred_churn_rule_by_hand() -> None:
    ds = _clients_deals()
    plain = compute(ds, "Q", ["2025Q3", "2025Q4"])
    assert (plain.query("kpi == 'retention_rate'")["status"] == "not_available").all()
    k = compute(ds, "Q", ["2025Q3", "2025Q4"], params={"churn_inactive_months": 6})

    def get(period: str, kpi: str) -> pd.Series:
        return k[(k["period"] == period) & (k["kpi"] == kpi)].iloc[0]

    # at 2025-07-01 active (an event in the 6 months before): C1 (04-05), C2 (01-10),
    # C3 (02-01); at 2025-10-01: C1 only (07-05); C2 lapsed 07-10, C3 08-01
    r = get("2025Q3", "retention_rate")
    assert r["value"] == pytest.approx(1 / 3) and r["n"] == 3 and bool(r["inferred"])
    assert get("2025Q3", "churn_rate")["value"] == pytest.approx(2 / 3)
    # at 2025-10-01: C1; at 2026-01-01: C1 (10-05) and C3 (back 12-01, not in the base)
    assert get("2025Q4", "retention_rate")["value"] == 1.0
    assert get("2025Q4", "retention_rate")["n"] == 1
    # the other KPIs are measured, not inferred
    assert not bool(get("2025Q3", "sales_volume")["inferred"])
    # real churn dates win over the rule
    real = ds.replace(clients=ds["clients"].assign(churned_date=pd.to_datetime([None, None, None])))
    real = real.replace(
        clients=real["clients"].assign(churned_date=pd.to_datetime([pd.NaT, "2025-08-01", pd.NaT]))
    )
    kr = compute(real, "Q", ["2025Q3"], params={"churn_inactive_months": 6})
    row = kr[kr["kpi"] == "retention_rate"].iloc[0]
    assert not bool(row["inferred"]) and row["value"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "12", True])
def test_churn_inactive_months_is_checked(bad: object) -> None:
    from amtools.core.errors import ParameterError

    with pytest.raises(ParameterError, match="churn_inactive_months"):
        kpi_params({"churn_inactive_months": bad})


# -- reasons as keys ----------------------------------------------------------------------

_SAMPLE_ARGS = {
    "table": "surveys",
    "column": "clients.churned_date",
    "columns": ["clients.acquired_date", "deals.closed_date"],
    "segments": "B2B",
    "period": "2025Q3",
    "date": "2025-04-15",
}


@pytest.mark.parametrize("key", list(REASONS))
def test_every_reason_renders_in_both_languages(key: str) -> None:
    names = re.findall(r"\{(\w+)\}", REASONS[key])
    args = {n: _SAMPLE_ARGS[n] for n in names}
    en = reason_text(key, args, "en")
    ru = reason_text(key, json.dumps(args), "ru")
    assert en and ru and en != ru
    # the English text is the template (parse_reason maps old frames back to keys)
    assert en.lower() == REASONS[key].format(**{n: _render(args[n], " or ") for n in names}).lower()
    # Russian: no English words except ids, column names and labels from the arguments
    stripped = ru
    for value in args.values():
        stripped = stripped.replace(_render(value, " или "), "")
    words = re.findall(r"[A-Za-z]{2,}", stripped)
    assert words in ([], ["CSI"], ["NPS"]), (key, ru)


def _render(value: object, sep: str) -> str:
    return sep.join(value) if isinstance(value, list) else str(value)


def test_the_two_wrong_russian_texts_are_fixed() -> None:
    from amtools.render.sections.manager_review import translate_reason as _translate_reason

    other = "в периоде нет событий для расчёта"
    assert _translate_reason("not_yet_hired", "ru", '{"date": "2025-04-15"}') == (
        "ещё не работал в компании (дата найма 2025-04-15)"
    )
    assert _translate_reason("comparison_before_data", "ru") != other
    assert _translate_reason("needs_column", "ru", '{"column": "deals.cost"}') == (
        "в источнике данных нет столбца deals.cost"
    )


def test_frame_reasons_are_keys_with_json_arguments(full: pd.DataFrame) -> None:
    na = full["status"] == "not_available"
    assert full.loc[na, "reason"].isin(list(REASONS)).all()
    assert full.loc[~na, "reason"].isna().all() and full.loc[~na, "reason_args"].isna().all()
    for args in full.loc[na, "reason_args"].unique():
        assert isinstance(json.loads(args), dict)
    # parquet/pickle friendly: plain string columns
    assert str(full["reason_args"].dtype) in ("string", "str")
    assert np.all(full["inferred"].to_numpy(dtype=bool) == False)  # noqa: E712


@pytest.mark.parametrize("key", [k for k in REASONS if "{" in REASONS[k]])
def test_a_reason_without_its_arguments_still_reads_well(key: str) -> None:
    for lang in ("en", "ru"):
        text = reason_text(key, None, lang)
        assert text and "{" not in text and "…" not in text


def test_registry_inputs_are_optional_columns_of_the_schema() -> None:
    for kpi in KPIS.values():
        for tc in kpi.inputs:
            table, column = tc.split(".")
            assert table in kpi.tables or table == "deals" or table == "clients", (kpi.id, tc)
            assert not TABLES[table].column(column).required, (kpi.id, tc)


def test_a_frame_without_any_reason(demo: Dataset) -> None:
    # every table and column present: the company level of a recent quarter has no reason
    k = compute(demo, "Q", ["2026Q2"], level="company")
    assert k["reason"].isna().all() and k["reason_args"].isna().all()
    assert (k["status"] != "not_available").all()


def test_win_rate_needs_lost_deals_in_the_source() -> None:
    # an export of orders records won deals only: a 100 % win rate would be a default,
    # not a measurement, and it must not enter the score's coverage either
    ds = _clients_deals()
    k = compute(ds, "Q", ["2025Q3"])
    conv = k[k["kpi"] == "conversion_rate"]
    assert (conv["status"] == "not_available").all() and conv["value"].isna().all()
    assert (conv["reason"] == "needs_lost_deals").all()
    assert "lost" in reason_text("needs_lost_deals", None, "en")
    # one lost deal anywhere in the source makes it measurable
    deals = ds["deals"].copy()
    deals.loc[deals.index[0], "stage"] = "lost"
    k2 = compute(ds.replace(deals=deals), "Q", ["2025Q3"])
    assert (k2[k2["kpi"] == "conversion_rate"]["reason"] != "needs_lost_deals").all()


def test_periods_before_the_data_starts_are_not_zero() -> None:
    # an export that begins in 2025Q3 has no honest 0 for the quarters before it
    ds = _clients_deals()
    first = ds["deals"]["closed_date"].min()
    k = compute(ds, "Q", ["2024Q4", "2025Q1", "2025Q2", "2025Q3"])
    before = k[k["period"].astype(str) < str(pd.Period(first, "Q"))]
    vol = before[before["kpi"] == "sales_volume"]
    assert not vol.empty and vol["value"].isna().all()
    assert (vol["status"] == "not_available").all() and (vol["reason"] == "before_data").all()
    assert str(first.date()) in reason_text("before_data", vol["reason_args"].iloc[0], "en")
    # the same at company level, and the quarters with data keep their values
    from amtools.kpi import compute_levels

    company = compute_levels(ds, "Q", ["2024Q4", str(pd.Period(first, "Q"))], levels=("company",))
    c = company["company"].query("kpi == 'sales_volume'").set_index("period")["value"]
    assert pd.isna(c.iloc[0]) and c.iloc[-1] > 0
