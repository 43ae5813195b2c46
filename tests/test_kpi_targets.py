"""Targets belong to a source: the resolver's order, the history default and scoring without targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.kpi import compute
from amtools.kpi.scoring import SOURCE_REASONS, scorecard, scores
from amtools.kpi.targets import TARGET_SOURCES, history_targets, is_demo, resolve_targets

PERIODS = ["2025Q2", "2025Q3", "2026Q2", "2026Q3"]


@pytest.fixture(scope="module")
def demo() -> Dataset:
    from amtools.demo import make_demo

    return make_demo(n_managers=8, years=2, seed=5, end="2026-10-15")


@pytest.fixture(scope="module")
def foreign(demo: Dataset) -> Dataset:
    """The same tables as a user's export: no demo marker, no targets table."""
    meta = {k: v for k, v in demo.meta.items() if k != "generator"}
    return Dataset({n: demo[n] for n in demo.names if n != "targets"}, source="crm.xlsx", meta=meta)


@pytest.fixture(scope="module")
def kpis(foreign: Dataset) -> pd.DataFrame:
    return compute(foreign, "Q", PERIODS)


def test_demo_is_identified_by_its_generator(demo: Dataset, foreign: Dataset) -> None:
    assert is_demo(demo) and not is_demo(foreign)


def test_demo_targets_apply_to_the_demo_only(demo: Dataset, foreign: Dataset, kpis) -> None:
    spec = resolve_targets(demo)
    assert spec.source == "data" and spec.mapping_source == "demo" and spec.table is not None
    card = scorecard(compute(demo, "Q", PERIODS), demo.managers, targets=spec)
    assert set(card["target_source"]) <= {"data", "demo", "none"}
    assert (card.loc[card["target_source"] == "data", "kpi"] == "sales_volume").all()
    # a foreign source: no targets at all, not the demo company's 3,000,000 RUB
    none = resolve_targets(foreign)
    assert none.source == "none" and none.mapping is None
    card = scorecard(kpis, foreign.managers, targets=none)
    assert (card["target_source"] == "none").all()
    assert card["target"].isna().all() and card["attainment"].isna().all()


def test_without_targets_scores_rest_on_percentiles(foreign: Dataset, kpis) -> None:
    with_targets = scorecard(kpis, foreign.managers)  # params/policy/targets.yaml ("demo")
    without = scorecard(kpis, foreign.managers, targets=resolve_targets(foreign))
    ok = without["status"] == "ok"
    # kpi_score = the percentile alone where there is one
    has_pct = ok & without["percentile"].notna()
    np.testing.assert_allclose(
        without.loc[has_pct, "kpi_score"], without.loc[has_pct, "percentile"]
    )
    s_with, s_without = scores(with_targets), scores(without)
    assert s_without["score"].notna().any()
    # coverage is about data, not targets: identical with and without targets
    key = ["manager_id", "period"]
    a, b = s_with.set_index(key).sort_index(), s_without.set_index(key).sort_index()
    pd.testing.assert_series_equal(a["coverage"], b["coverage"])
    pd.testing.assert_series_equal(a["ranked"], b["ranked"])


def test_resolver_order(tmp_path, demo: Dataset, foreign: Dataset) -> None:
    mapping = {"defaults": {"B2C": {"sales_volume": 1.0}}}
    file = tmp_path / "t.yaml"
    file.write_text("defaults:\n  B2B:\n    sales_volume: 2.0\n", encoding="utf-8")
    # params > mapping file > demo
    assert resolve_targets(foreign, {"targets": mapping}).source == "params"
    spec = resolve_targets(foreign, {"targets": str(file)})
    assert spec.source == "params" and spec.file == str(file)
    assert spec.mapping == {"defaults": {"B2B": {"sales_volume": 2.0}}}
    with_meta = foreign.replace()
    with_meta.meta["targets_file"] = str(file)
    assert resolve_targets(with_meta).source == "mapping"
    assert resolve_targets(with_meta, {"targets": mapping}).mapping_source == "params"
    demo_params = resolve_targets(demo, {"targets": mapping})
    assert demo_params.mapping_source == "params"  # explicit targets beat the demo's
    assert demo_params.source == "data"  # and the data's own table beats both, cell by cell
    for spec in (resolve_targets(foreign), resolve_targets(demo), demo_params):
        assert spec.source in TARGET_SOURCES and spec.fallback_source in TARGET_SOURCES


def test_resolver_errors(tmp_path, foreign: Dataset) -> None:
    with pytest.raises(ParameterError, match="does not exist"):
        resolve_targets(foreign, {"targets": str(tmp_path / "missing.yaml")})
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: someday\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="only be 'history'"):
        resolve_targets(foreign, {"targets": str(bad)})
    with pytest.raises(ParameterError, match="mapping"):
        resolve_targets(foreign, {"targets": 3})


def test_history_targets_by_hand() -> None:
    k = pd.DataFrame(
        {
            "manager_id": ["m1"] * 6 + ["m2"],
            "period": ["2025Q3", "2026Q3", "2025Q3", "2026Q3", "2025Q3", "2026Q3", "2026Q3"],
            "kpi": ["sales_volume"] * 2
            + ["conversion_rate"] * 2
            + ["churn_rate"] * 2
            + ["sales_volume"],
            "value": [1000.0, 900.0, 0.4, 0.5, 0.1, np.nan, 50.0],
            "status": ["ok", "ok", "ok", "ok", "ok", "not_available", "ok"],
        }
    )
    got = history_targets(k, 0.1)
    # volume: last year x 1.1; a rate keeps last year's level; no history -> no target
    assert got.iloc[1] == pytest.approx(1100.0)
    assert got.iloc[3] == pytest.approx(0.4)
    assert got.iloc[5] == pytest.approx(0.1)
    assert got.iloc[[0, 2, 4, 6]].isna().all()
    monthly = k.assign(period=["2025-07", "2026-07"] * 3 + ["2026-07"])
    assert history_targets(monthly, 0.1).iloc[1] == pytest.approx(1100.0)


def test_history_default_in_the_scorecard(tmp_path, foreign: Dataset, kpis) -> None:
    file = tmp_path / "h.yaml"
    file.write_text("targets: history\ngrowth: 0.2\n", encoding="utf-8")
    spec = resolve_targets(foreign, {"targets": str(file)})
    assert spec.history and spec.growth == 0.2 and spec.source == "history"
    card = scorecard(kpis, foreign.managers, targets=spec)
    assert set(card["target_source"]) == {"history", "none"}
    last_year = kpis.set_index(["manager_id", "period", "kpi"])
    row = card[
        (card["kpi"] == "sales_volume") & (card["period"] == "2026Q3") & (card["status"] == "ok")
    ].iloc[0]
    before = last_year.loc[(row["manager_id"], "2025Q3", "sales_volume")]
    assert row["target"] == pytest.approx(before["value"] * 1.2)
    assert row["target_source"] == "history" and row["target_level"] == "history"
    # the first year has no history: no target
    assert (card.loc[card["period"] == "2025Q2", "target_source"] == "none").all()
    # "history" given directly, growth from params/policy/kpi.yaml (history_growth)
    direct = resolve_targets(foreign, {"targets": "history", "kpi": {"history_growth": 0.07}})
    assert direct.history and direct.growth == 0.07


# -- scores only from measured KPIs --------------------------------------------------------


def test_score_has_no_retention_points_without_churn_dates(foreign: Dataset) -> None:
    ds = foreign.replace(clients=foreign["clients"].drop(columns=["churned_date"]))
    k = compute(ds, "Q", PERIODS)
    card = scorecard(k, ds.managers, targets=resolve_targets(ds))
    ret = card[card["kpi"].isin(["retention_rate", "churn_rate", "contact_frequency"])]
    assert (ret["status"] == "not_available").all()
    assert ret[["kpi_score", "contribution", "max_points"]].isna().all().all()
    assert (ret["weight"] > 0).any()  # retention is weighted in both profiles
    # the weights renormalise over the measured KPIs: max points add up to 100
    scored = card[card["contribution"].notna()]
    totals = scored.groupby(["manager_id", "period"])["max_points"].sum()
    np.testing.assert_allclose(totals, 100.0)
    sc = scores(card).set_index(["manager_id", "period"])
    sums = scored.groupby(["manager_id", "period"])["contribution"].sum()
    np.testing.assert_allclose(sc.loc[sums.index, "score"], sums)
    # coverage is measured against what the source can measure: the KPIs whose input
    # column is absent from the export leave the denominator (not the manager's gap)
    absent = (card["status"] == "not_available") & card["reason"].isin(SOURCE_REASONS)
    ok = card["status"] == "ok"
    weights = (
        card.assign(ok=card["weight"].where(ok, 0.0), possible=card["weight"].where(~absent, 0.0))
        .groupby(["manager_id", "period"])[["ok", "possible"]]
        .sum()
    )
    expected = weights["ok"] / weights["possible"]
    np.testing.assert_allclose(sc.loc[expected.index, "coverage"], expected)
    assert absent[card["kpi"] == "retention_rate"].all()
