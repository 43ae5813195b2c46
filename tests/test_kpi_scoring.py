"""Tests for amtools.kpi.scoring: targets, attainment, percentiles, weights and scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from amtools.core.errors import ParameterError, PolicyError
from amtools.core.problems import DataValidationError
from amtools.core.settings import read_params
from amtools.kpi.registry import GROUPS, KPIS
from amtools.kpi.scoring import (
    SCORECARD_COLUMNS,
    SCORES_COLUMNS,
    attainment,
    peer_percentile,
    profile_weights,
    resolve_targets,
    scorecard,
    scores,
)


def kpi_frame(rows: list[tuple]) -> pd.DataFrame:
    """(manager_id, period, kpi, value, status[, n]) tuples -> a tidy KPI frame per the contract."""
    records = []
    for row in rows:
        manager_id, period, kpi, value, status, *rest = row
        records.append(
            {
                "manager_id": manager_id,
                "period": period,
                "kpi": kpi,
                "value": value,
                "n": rest[0] if rest else 20,
                "low": np.nan,
                "high": np.nan,
                "status": status,
                "reason": pd.NA if status == "ok" else f"{status} for {kpi}",
            }
        )
    return pd.DataFrame(records).astype(
        {
            "manager_id": "string",
            "period": "string",
            "kpi": "string",
            "value": "float64",
            "n": "Int64",
            "status": "string",
            "reason": "string",
        }
    )


MANAGERS = pd.DataFrame(
    {
        "manager_id": ["m1", "m2", "m3", "m4", "m5"],
        "name": ["A", "B", "C", "D", "E"],
        "segment": ["B2C", "B2C", "B2C", "B2C", "B2B"],
        "team": ["North", "North", "South", "South", "Key accounts"],
    }
).astype("string")

PROFILES = {
    "scoring": {
        "attainment_cap": 2.0,
        "full_marks_at": 1.0,
        "attainment_share": 0.5,
        "min_peers": 3,
    },
    "B2C": {"weights": {"sales_volume": 0.5, "conversion_rate": 0.3, "csi": 0.2}},
    "B2B": {"weights": {"sales_volume": 1.0}},
}
TARGETS = {
    "base_freq": "Q",
    "scaling": {"additive": ["sales_volume"]},
    # csi deliberately has no target: its score rests on the percentile alone
    "defaults": {
        "B2C": {"sales_volume": 1000.0, "conversion_rate": 0.25},
        "B2B": {"sales_volume": 50000.0},
    },
}
Q = "2026Q3"
KPIS_SMALL = kpi_frame(
    [
        ("m1", Q, "sales_volume", 1500.0, "ok"),
        ("m2", Q, "sales_volume", 1000.0, "ok"),
        ("m3", Q, "sales_volume", 500.0, "ok"),
        ("m4", Q, "sales_volume", 1000.0, "ok"),
        ("m5", Q, "sales_volume", 100000.0, "ok"),
        ("m1", Q, "conversion_rate", 0.20, "ok"),
        ("m2", Q, "conversion_rate", 0.30, "ok"),
        ("m3", Q, "conversion_rate", 0.40, "ok"),
        ("m4", Q, "conversion_rate", 0.90, "insufficient_data", 2),
        ("m1", Q, "csi", 70.0, "ok"),
        ("m2", Q, "csi", 90.0, "ok"),
        ("m3", Q, "csi", 80.0, "ok"),
        ("m4", Q, "csi", np.nan, "not_available"),
    ]
)


@pytest.fixture
def card() -> pd.DataFrame:
    return scorecard(KPIS_SMALL, MANAGERS, targets=TARGETS, profiles=PROFILES)


def cell(sc: pd.DataFrame, manager_id: str, kpi: str, column: str) -> object:
    row = sc[(sc["manager_id"] == manager_id) & (sc["kpi"] == kpi)]
    assert len(row) == 1
    return row[column].iloc[0]


# --------------------------------------------------------------------------- attainment
def test_attainment_both_directions_and_edges():
    value = pd.Series([50.0, 5.0, 100.0, -0.05, 0.0, 2.0, 0.0, 0.12, np.nan, 3.0])
    target = pd.Series([40.0, 4.0, 10.0, 0.10, 0.0, 0.0, 4.0, 0.0, 1.0, np.nan])
    direction = pd.Series(
        [
            "higher",
            "lower",
            "higher",
            "higher",
            "lower",
            "lower",
            "lower",
            "higher",
            "higher",
            "higher",
        ]
    )
    got = attainment(value, target, direction, cap=2.0)
    expected = [
        1.25,  # 50 / 40
        0.8,  # lower is better: 4 / 5
        2.0,  # 100 / 10 = 10, capped at 2
        0.0,  # negative growth against a +10% target: clipped at 0
        1.0,  # zero violations against a target of zero: met exactly
        0.0,  # two violations against zero: worse than a non-positive target
        2.0,  # response time 0 h against 4 h: strictly better, no division -> cap
        2.0,  # growth 12% against a zero-growth target: strictly better -> cap
        np.nan,  # no value
        np.nan,  # no target
    ]
    np.testing.assert_allclose(got.to_numpy(), expected)


def test_attainment_offsets_for_growth_and_nps():
    # growth -12% against +10%: revenue level 0.88 / 1.10 = 0.8; growth +21% -> 1.21 / 1.10 = 1.1
    got = attainment(
        pd.Series([-0.12, 0.21, -10.0]),
        pd.Series([0.10, 0.10, 10.0]),
        pd.Series(["higher"] * 3),
        offset=pd.Series([1.0, 1.0, 100.0]),
    )
    # NPS -10 against 10 on the shifted 0..200 scale: 90 / 110
    np.testing.assert_allclose(got.to_numpy(), [0.8, 1.1, 90 / 110])
    kpis = kpi_frame([("m1", Q, "revenue_growth_existing", -0.12, "ok")])
    profiles = {
        "scoring": {"attainment_offsets": {"revenue_growth_existing": 1}},
        "B2C": {"weights": {"revenue_growth_existing": 1.0}},
    }
    targets = {"defaults": {"B2C": {"revenue_growth_existing": 0.10}}}
    card = scorecard(kpis, MANAGERS, targets=targets, profiles=profiles)
    assert card["attainment"].item() == pytest.approx(0.8)
    # without the offset, negative growth against a positive target is simply 0
    no_offsets = {"scoring": {"attainment_offsets": {}}, "B2C": profiles["B2C"]}
    card = scorecard(kpis, MANAGERS, targets=targets, profiles=no_offsets)
    assert card["attainment"].item() == 0.0
    # a mapping without a scoring section takes the shipped file's settings (offset 1 for growth)
    card = scorecard(kpis, MANAGERS, targets=targets, profiles={"B2C": profiles["B2C"]})
    assert card["attainment"].item() == pytest.approx(0.8)


# --------------------------------------------------------------------------- percentile
def test_percentile_with_ties_and_direction():
    # values 10, 20, 20, 30, 40; average ranks 1, 2.5, 2.5, 4, 5; percentile = 100 (r - 1) / 4
    frame = pd.DataFrame(
        {
            "g": ["x"] * 5 + ["y"] * 5,
            "value": [10.0, 20.0, 20.0, 30.0, 40.0] * 2,
            "direction": ["higher"] * 5 + ["lower"] * 5,
        }
    )
    got = peer_percentile(frame, ["g"]).tolist()
    assert got[:5] == [0.0, 37.5, 37.5, 75.0, 100.0]
    # lower is better: the ranking flips
    assert got[5:] == [100.0, 62.5, 62.5, 25.0, 0.0]


def test_percentile_needs_min_peers():
    frame = pd.DataFrame({"g": ["x", "x"], "value": [1.0, 2.0], "direction": ["higher"] * 2})
    assert peer_percentile(frame, ["g"], min_peers=3).isna().all()
    assert peer_percentile(frame, ["g"], min_peers=2).tolist() == [0.0, 100.0]


def test_scorecard_percentiles_quartiles_only_ok_peers_same_segment(card):
    # sales_volume B2C: 500 (m3), 1000 (m2, m4 tied), 1500 (m1) -> 0, 50, 50, 100.
    # m5 (B2B, 100000) is not a peer of the B2C managers and is alone in B2B -> no percentile.
    assert cell(card, "m1", "sales_volume", "percentile") == 100.0
    assert cell(card, "m2", "sales_volume", "percentile") == 50.0
    assert cell(card, "m4", "sales_volume", "percentile") == 50.0
    assert cell(card, "m3", "sales_volume", "percentile") == 0.0
    assert pd.isna(cell(card, "m5", "sales_volume", "percentile"))
    # conversion: m4 (0.90, insufficient data) is not a peer: 0.2, 0.3, 0.4 -> 0, 50, 100
    assert cell(card, "m1", "conversion_rate", "percentile") == 0.0
    assert cell(card, "m2", "conversion_rate", "percentile") == 50.0
    assert cell(card, "m3", "conversion_rate", "percentile") == 100.0
    assert pd.isna(cell(card, "m4", "conversion_rate", "percentile"))
    # quartile 1 >= 75, 2 >= 50, 3 >= 25, else 4
    assert cell(card, "m1", "sales_volume", "quartile") == 1
    assert cell(card, "m2", "sales_volume", "quartile") == 2
    assert cell(card, "m3", "sales_volume", "quartile") == 4
    assert pd.isna(cell(card, "m5", "sales_volume", "quartile"))


# --------------------------------------------------------------------------- scorecard
def test_scorecard_columns_and_one_row_per_input(card):
    assert list(card.columns) == SCORECARD_COLUMNS
    dtypes = card.dtypes.astype(str).to_dict()
    for col in (
        "manager_id",
        "period",
        "segment",
        "team",
        "kpi",
        "group",
        "status",
        "target_source",
    ):
        assert dtypes[col] in ("string", "str"), col
    for col in (
        "value",
        "target",
        "attainment",
        "percentile",
        "weight",
        "kpi_score",
        "contribution",
    ):
        assert dtypes[col] == "float64", col
    assert dtypes["quartile"] == dtypes["n"] == "Int64"
    assert len(card) == len(KPIS_SMALL)
    assert not card.duplicated(["manager_id", "period", "kpi"]).any()
    # registry order within a manager
    m1 = card[card["manager_id"] == "m1"]["kpi"].tolist()
    assert m1 == [k for k in KPIS if k in set(m1)]
    assert card["team"].tolist()[0] == "North"
    assert cell(card, "m1", "sales_volume", "group") == "financial"


def test_kpi_scores_by_hand(card):
    # kpi_score = 0.5 * 100 * min(att, 1) + 0.5 * percentile
    # sales_volume: att 1.5, 1.0, 0.5, 1.0 -> 100, 100, 50, 100 points; percentile 100, 50, 0, 50
    assert cell(card, "m1", "sales_volume", "kpi_score") == 100.0
    assert cell(card, "m2", "sales_volume", "kpi_score") == 75.0
    assert cell(card, "m3", "sales_volume", "kpi_score") == 25.0
    assert cell(card, "m4", "sales_volume", "kpi_score") == 75.0
    # conversion: att 0.8, 1.2, 1.6 -> 80, 100, 100; percentile 0, 50, 100 -> 40, 75, 100
    assert cell(card, "m1", "conversion_rate", "attainment") == pytest.approx(0.8)
    assert cell(card, "m1", "conversion_rate", "kpi_score") == pytest.approx(40.0)
    assert cell(card, "m2", "conversion_rate", "kpi_score") == pytest.approx(75.0)
    assert cell(card, "m3", "conversion_rate", "kpi_score") == pytest.approx(100.0)
    # csi has no target: percentile only (70, 90, 80 -> 0, 100, 50)
    assert pd.isna(cell(card, "m1", "csi", "target"))
    assert pd.isna(cell(card, "m1", "csi", "attainment"))
    assert cell(card, "m1", "csi", "kpi_score") == 0.0
    assert cell(card, "m2", "csi", "kpi_score") == 100.0
    # m5 alone in B2B: no percentile, attainment 100000/50000 = 2 (cap) -> 100 points
    assert cell(card, "m5", "sales_volume", "attainment") == 2.0
    assert cell(card, "m5", "sales_volume", "kpi_score") == 100.0


def test_flagged_kpis_excluded_and_weights_renormalised(card):
    # m4: conversion (insufficient data) and csi (not available) keep their rows, unscored
    for kpi in ("conversion_rate", "csi"):
        assert pd.isna(cell(card, "m4", kpi, "kpi_score"))
        assert pd.isna(cell(card, "m4", kpi, "contribution"))
        assert pd.isna(cell(card, "m4", kpi, "attainment"))
    assert cell(card, "m4", "conversion_rate", "status") == "insufficient_data"
    assert cell(card, "m4", "csi", "reason") == "not_available for csi"
    # the profile weight is still shown; only sales_volume (0.5) had data -> renormalised to 1
    assert cell(card, "m4", "conversion_rate", "weight") == 0.3
    assert cell(card, "m4", "sales_volume", "contribution") == pytest.approx(75.0)  # 75 * 0.5 / 0.5
    assert cell(card, "m4", "sales_volume", "max_points") == pytest.approx(100.0)
    assert pd.isna(cell(card, "m4", "csi", "max_points"))
    # m1: everything scored, so max points are the profile weights x 100 and add up to 100
    m1 = card[card["manager_id"] == "m1"].set_index("kpi")
    assert m1["max_points"].to_dict() == pytest.approx(
        {"sales_volume": 50.0, "conversion_rate": 30.0, "csi": 20.0}
    )
    ratio = m1["contribution"] / m1["max_points"]
    assert ratio.tolist() == pytest.approx((m1["kpi_score"] / 100).tolist())


def test_contributions_sum_to_score(card):
    sc = scores(card)
    by_hand = {
        "m1": 0.5 * 100 + 0.3 * 40 + 0.2 * 0,  # 62
        "m2": 0.5 * 75 + 0.3 * 75 + 0.2 * 100,  # 80
        "m3": 0.5 * 25 + 0.3 * 100 + 0.2 * 50,  # 52.5
        "m4": 75.0,  # only sales_volume scored
        "m5": 100.0,
    }
    got = sc.set_index("manager_id")["score"].to_dict()
    assert got == pytest.approx(by_hand)
    sums = card.groupby("manager_id")["contribution"].sum()
    for manager_id, total in sums.items():
        assert total == pytest.approx(got[manager_id])


def test_scores_rank_coverage_columns(card):
    sc = scores(card)
    assert list(sc.columns) == SCORES_COLUMNS
    s = sc.set_index("manager_id")
    # B2C: m2 80 > m4 75 > m1 62 > m3 52.5; B2B: m5 alone
    assert s.loc[["m2", "m4", "m1", "m3", "m5"], "rank"].tolist() == [1, 2, 3, 4, 1]
    assert s.loc["m4", "coverage"] == pytest.approx(0.5)
    assert s.loc["m1", "coverage"] == pytest.approx(1.0)
    assert s.loc["m4", "n_kpis"] == 1
    assert s.loc["m1", "n_kpis"] == 3
    # same figure when coverage is measured against the profile itself
    assert scores(card, PROFILES).set_index("manager_id").loc["m4", "coverage"] == pytest.approx(
        0.5
    )


def test_scores_ties_share_rank_and_nothing_scored_gives_nan():
    kpis = kpi_frame(
        [
            ("m1", Q, "sales_volume", 1000.0, "ok"),
            ("m2", Q, "sales_volume", 1000.0, "ok"),
            ("m3", Q, "sales_volume", np.nan, "insufficient_data", 0),
        ]
    )
    card = scorecard(kpis, MANAGERS, targets=TARGETS, profiles=PROFILES)
    s = scores(card).set_index("manager_id")
    assert s.loc["m1", "rank"] == s.loc["m2", "rank"] == 1
    assert pd.isna(s.loc["m3", "score"])
    assert pd.isna(s.loc["m3", "rank"])
    assert s.loc["m3", "coverage"] == 0.0


def test_low_coverage_keeps_score_but_is_not_ranked(card):
    # card: B2C m2 80 (coverage 1.0) > m4 75 (0.5) > m1 62 (1.0) > m3 52.5; B2B m5 alone.
    # min_coverage 0.6 -> m4 (coverage 0.5) keeps 75 but gets no rank; m1 moves up to 2.
    prof = {**PROFILES, "scoring": {"min_coverage": 0.6}}
    s = scores(card, prof).set_index("manager_id")
    assert s.loc["m4", "score"] == pytest.approx(75.0)
    assert pd.isna(s.loc["m4", "rank"])
    assert not s.loc["m4", "ranked"]
    assert s.loc["m4", "status"] == "insufficient_data"
    assert s.loc[["m2", "m1", "m3", "m5"], "rank"].tolist() == [1, 2, 3, 1]
    assert s.loc[["m2", "m1", "m3", "m5"], "ranked"].tolist() == [True] * 4
    assert set(s.loc[["m2", "m1", "m3", "m5"], "status"]) == {"ok"}
    # unranked rows sort after the ranked ones of their segment
    b2c = scores(card, prof).query("segment == 'B2C'")["manager_id"].tolist()
    assert b2c == ["m2", "m1", "m3", "m4"]
    # the boundary is inclusive: coverage 0.5 with min_coverage 0.5 is ranked
    at_edge = scores(card, {**PROFILES, "scoring": {"min_coverage": 0.5}})
    assert at_edge.set_index("manager_id").loc["m4", "rank"] == 2
    with pytest.raises(ParameterError, match="min_coverage"):
        scores(card, {**PROFILES, "scoring": {"min_coverage": 1.5}})


def test_shipped_min_coverage_unranks_the_demo_leaver():
    # M005 left mid-history in the demo (active False); in its last quarter too few KPIs have
    # data, so it must not be ranked (it used to be ranked last with 23 % coverage).
    profiles = read_params("policy/kpi_profiles")
    assert 0 < profiles["scoring"]["min_coverage"] <= 1
    sc = pd.DataFrame(
        {
            "manager_id": ["a", "a", "b", "b"],
            "period": [Q] * 4,
            "segment": ["B2C"] * 4,
            "team": ["North"] * 4,
            "weight": [0.2, 0.8, 0.2, 0.8],
            # a: only the 0.2-weight KPI scored -> coverage 0.2 < min_coverage
            "contribution": [100.0, np.nan, 10.0, 20.0],
        }
    )
    s = scores(sc).set_index("manager_id")
    assert s.loc["a", "coverage"] == pytest.approx(0.2)
    assert s.loc["a", "score"] == pytest.approx(100.0)
    assert pd.isna(s.loc["a", "rank"]) and s.loc["a", "status"] == "insufficient_data"
    assert s.loc["b", "rank"] == 1 and bool(s.loc["b", "ranked"])


def test_inputs_not_mutated():
    kpis = KPIS_SMALL.copy()
    managers = MANAGERS.copy()
    scorecard(kpis, managers, targets=TARGETS, profiles=PROFILES)
    pd.testing.assert_frame_equal(kpis, KPIS_SMALL)
    pd.testing.assert_frame_equal(managers, MANAGERS)


def test_period_objects_are_accepted():
    kpis = KPIS_SMALL.assign(period=pd.Series([pd.Period(Q, "Q")] * len(KPIS_SMALL)))
    card = scorecard(kpis, MANAGERS, targets=TARGETS, profiles=PROFILES)
    assert set(card["period"]) == {Q}


# --------------------------------------------------------------------------- targets
def test_target_precedence_table_over_manager_over_team_over_segment():
    kpis = kpi_frame([(m, Q, "sales_volume", 1000.0, "ok") for m in ("m1", "m2", "m3", "m4")])
    targets = {
        **TARGETS,
        "teams": {"North": {"sales_volume": 2000.0}},  # m1, m2
        "managers": {"m1": {"sales_volume": 3000.0}},
    }
    table = pd.DataFrame(
        {
            "manager_id": ["m2", "m4"],
            "period": [Q, "2026Q2"],
            "kpi": ["sales_volume"] * 2,
            "target": [4000.0, 9.0],
        }
    )
    got = resolve_targets(kpis, MANAGERS, targets=targets, targets_table=table).set_index(
        "manager_id"
    )
    # m1: manager override beats team; m2: table beats team; m3: segment default;
    # m4: the table row is for another period, so the default applies
    assert got["target"].to_dict() == {"m1": 3000.0, "m2": 4000.0, "m3": 1000.0, "m4": 1000.0}
    assert got["target_source"].to_dict() == {
        "m1": "manager",
        "m2": "table",
        "m3": "segment",
        "m4": "segment",
    }
    card = scorecard(kpis, MANAGERS, targets=targets, profiles=PROFILES, targets_table=table)
    assert cell(card, "m2", "sales_volume", "attainment") == 0.25  # 1000 / 4000


def test_freq_scaling_of_yaml_targets():
    targets = {
        "base_freq": "Q",
        "scaling": {
            "additive": ["sales_volume"],
            "survival": ["retention_rate"],
            "hazard": ["churn_rate"],
        },
        "defaults": {
            "B2C": {
                "sales_volume": 3000.0,
                "conversion_rate": 0.25,
                "retention_rate": 0.9,
                "churn_rate": 0.1,
            }
        },
    }
    rows = []
    for period in ("2026-07", "2026Q3", "2026"):
        for kpi in ("sales_volume", "conversion_rate", "retention_rate", "churn_rate"):
            rows.append(("m1", period, kpi, 1.0, "ok"))
    got = resolve_targets(kpi_frame(rows), MANAGERS, targets=targets)
    t = got.set_index(["period", "kpi"])["target"]
    # additive: x months / 3
    assert t[("2026-07", "sales_volume")] == pytest.approx(1000.0)
    assert t[("2026Q3", "sales_volume")] == pytest.approx(3000.0)
    assert t[("2026", "sales_volume")] == pytest.approx(12000.0)
    # ratios keep their target at every frequency
    assert {t[(p, "conversion_rate")] for p in ("2026-07", "2026Q3", "2026")} == {0.25}
    # survival: 0.9 ** 4 over a year; hazard: 1 - 0.9 ** (1/3) over a month
    assert t[("2026", "retention_rate")] == pytest.approx(0.6561)
    assert t[("2026-07", "churn_rate")] == pytest.approx(1 - 0.9 ** (1 / 3))
    assert t[("2026", "churn_rate")] == pytest.approx(1 - 0.9**4)


def test_additive_targets_prorated_for_new_hires():
    managers = pd.DataFrame(
        {
            "manager_id": ["old", "new", "later"],
            "segment": ["B2C"] * 3,
            # 2026Q3 has 92 days; from 16 August to 30 September are 46 of them
            "hire_date": pd.to_datetime(["2020-01-01", "2026-08-16", "2026-11-01"]),
        }
    )
    rows = [
        (m, Q, kpi, 1.0, "ok")
        for m in ("old", "new", "later")
        for kpi in ("sales_volume", "conversion_rate")
    ]
    rows.append(("new", "2026Q4", "sales_volume", 1.0, "ok"))
    got = resolve_targets(kpi_frame(rows), managers, targets=TARGETS)
    t = got.set_index(["manager_id", "period", "kpi"])["target"]
    assert t[("old", Q, "sales_volume")] == 1000.0
    assert t[("new", Q, "sales_volume")] == pytest.approx(500.0)  # 1000 x 46 / 92
    assert t[("later", Q, "sales_volume")] == 0.0  # hired after the period
    assert t[("new", "2026Q4", "sales_volume")] == 1000.0  # a full quarter later on
    # ratios are not prorated
    assert t[("new", Q, "conversion_rate")] == 0.25
    off = resolve_targets(
        kpi_frame(rows), managers, targets={**TARGETS, "prorate_new_hires": False}
    )
    assert (
        off.set_index(["manager_id", "period", "kpi"])["target"][("new", Q, "sales_volume")]
        == 1000.0
    )


def test_targets_table_not_scaled_and_validated():
    kpis = kpi_frame([("m1", "2026", "sales_volume", 1.0, "ok")])
    table = pd.DataFrame(
        {"manager_id": ["m1"], "period": ["2026"], "kpi": ["sales_volume"], "target": [5.0]}
    )
    got = resolve_targets(kpis, MANAGERS, targets=TARGETS, targets_table=table)
    assert got["target"].item() == 5.0
    bad = pd.DataFrame(
        {
            "manager_id": ["m1", "m1", "m2"],
            "period": [Q, Q, Q],
            "kpi": ["sales_volume", "sales_volume", "no_such_kpi"],
            "target": [1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(DataValidationError) as err:
        resolve_targets(kpis, MANAGERS, targets=TARGETS, targets_table=bad)
    checks = {p.check for p in err.value.problems}
    assert checks == {"unknown_kpi", "duplicate"}
    assert "no_such_kpi" in str(err.value)


# --------------------------------------------------------------------------- errors
def test_unknown_manager_is_a_clear_error():
    kpis = kpi_frame([("ghost", Q, "sales_volume", 1.0, "ok")])
    with pytest.raises(DataValidationError, match="ghost"):
        scorecard(kpis, MANAGERS, targets=TARGETS, profiles=PROFILES)


def test_bad_inputs_raise_amtools_errors():
    with pytest.raises(ParameterError, match="level='manager'"):
        scorecard(
            KPIS_SMALL.drop(columns="manager_id"), MANAGERS, targets=TARGETS, profiles=PROFILES
        )
    with pytest.raises(ParameterError, match="no_such_kpi"):
        scorecard(
            kpi_frame([("m1", Q, "no_such_kpi", 1.0, "ok")]),
            MANAGERS,
            targets=TARGETS,
            profiles=PROFILES,
        )
    with pytest.raises(PolicyError, match="unknown KPI"):
        profile_weights({"B2C": {"weights": {"no_such_kpi": 1.0}}})
    with pytest.raises(PolicyError, match=">= 0"):
        profile_weights({"B2C": {"weights": {"sales_volume": -1}}})
    with pytest.raises(ParameterError, match="unknown KPI"):
        resolve_targets(KPIS_SMALL, MANAGERS, targets={"defaults": {"B2C": {"no_such_kpi": 1}}})
    with pytest.raises(ParameterError, match="unknown KPI"):
        scorecard(
            KPIS_SMALL,
            MANAGERS,
            targets=TARGETS,
            profiles={**PROFILES, "scoring": {"attainment_offsets": {"no_such_kpi": 1}}},
        )
    with pytest.raises(ParameterError, match="repeat a manager_id"):
        scorecard(
            pd.concat([KPIS_SMALL, KPIS_SMALL.head(1)]),
            MANAGERS,
            targets=TARGETS,
            profiles=PROFILES,
        )
    with pytest.raises(ParameterError, match="unknown top-level key"):
        resolve_targets(KPIS_SMALL, MANAGERS, targets={"default": {"B2C": {"csi": 70}}})
    with pytest.raises(ParameterError, match="attainment_share"):
        scorecard(
            KPIS_SMALL,
            MANAGERS,
            targets=TARGETS,
            profiles={**PROFILES, "scoring": {"attainment_share": 2}},
        )


# --------------------------------------------------------------------------- shipped YAML
@pytest.fixture(scope="module")
def shipped_profiles() -> dict:
    return read_params("policy/kpi_profiles")


@pytest.fixture(scope="module")
def shipped_targets() -> dict:
    return read_params("policy/targets")


def test_profiles_sum_to_one_cover_all_groups_and_follow_the_seed(shipped_profiles):
    weights = profile_weights(shipped_profiles)  # also checks every id exists in the registry
    assert set(weights["segment"]) == {"B2B", "B2C"}
    for segment, w in weights.groupby("segment"):
        assert math.isclose(w["weight"].sum(), 1.0, abs_tol=1e-9), segment
        groups = {KPIS[k].group for k in w.loc[w["weight"] > 0, "kpi"]}
        assert groups == set(GROUPS), segment
        assert all(segment in KPIS[k].segments for k in w["kpi"]), segment
    top2 = {seg: set(w.nlargest(2, "weight")["kpi"]) for seg, w in weights.groupby("segment")}
    # the seed: B2C KPIs are sales volume and conversion; B2B retention and revenue growth
    assert top2["B2C"] == {"sales_volume", "conversion_rate"}
    assert top2["B2B"] == {"retention_rate", "revenue_growth_existing"}


def test_shipped_targets_ids_exist_and_cover_weighted_kpis(shipped_targets, shipped_profiles):
    for segment, values in shipped_targets["defaults"].items():
        assert set(values) <= set(KPIS), segment
    for section in ("teams", "managers"):
        for values in (shipped_targets.get(section) or {}).values():
            assert set(values) <= set(KPIS)
    scaled = [k for ids in (shipped_targets.get("scaling") or {}).values() for k in ids]
    assert set(scaled) <= set(KPIS)
    # only sums and counts scale additively; no ratio or average is declared additive
    additive = [k for k, kpi in KPIS.items() if kpi.additive]
    assert {"sales_volume", "meetings", "new_clients"} <= set(additive)
    for kpi_id in additive:
        assert KPIS[kpi_id].unit in ("currency", "count", "hours"), kpi_id
    assert not KPIS["average_check"].additive and not KPIS["margin_per_client"].additive
    weights = profile_weights(shipped_profiles)
    for segment, w in weights.groupby("segment"):
        weighted = set(w.loc[w["weight"] > 0, "kpi"])
        missing = weighted - set(shipped_targets["defaults"][segment])
        assert not missing, (segment, missing)


def test_shipped_targets_are_realistic(shipped_targets):
    b2b, b2c = shipped_targets["defaults"]["B2B"], shipped_targets["defaults"]["B2C"]
    # the seed: B2B checks are larger, cycles longer, contact more frequent, fewer new clients
    assert b2b["average_check"] > 10 * b2c["average_check"]
    assert b2b["sales_cycle_days"] > b2c["sales_cycle_days"]
    assert b2b["contact_frequency"] > b2c["contact_frequency"]
    assert b2b["new_clients"] < b2c["new_clients"]
    for values in (b2b, b2c):
        for kpi_id, target in values.items():
            if KPIS[kpi_id].unit == "ratio":
                assert 0 <= target <= 1, kpi_id


def test_scorecard_with_shipped_params_reads_them_by_default():
    card = scorecard(KPIS_SMALL, MANAGERS)
    # shipped B2C default for conversion is a fraction; sales volume a RUB amount
    assert 0 < cell(card, "m1", "conversion_rate", "target") < 1
    assert cell(card, "m1", "sales_volume", "target") > 100_000
    total = scores(card).set_index("manager_id")["score"]
    assert total.notna().all()


# --------------------------------------------------------------------------- demo data
def test_demo_scores_are_consistent_and_spread():
    from amtools.demo import make_demo
    from amtools.kpi import compute

    ds = make_demo(seed=2, n_managers=12, years=2, end="2026-10-15")
    card = scorecard(compute(ds, freq="Q"), ds.managers, targets_table=ds.get("targets"))
    assert card["kpi"].isin(list(KPIS)).all()
    flagged = card["status"] != "ok"
    assert card.loc[flagged, "contribution"].isna().all()
    assert card["attainment"].dropna().between(0, 2).all()  # capped at 2
    assert card.loc[flagged, ["attainment", "percentile", "kpi_score"]].isna().all().all()
    sc = scores(card)
    sums = card.groupby(["manager_id", "period"])["contribution"].sum(min_count=1)
    merged = sc.set_index(["manager_id", "period"])["score"]
    np.testing.assert_allclose(merged.sort_index(), sums.reindex(merged.index).sort_index())
    last = sc[sc["period"] == sc["period"].max()]
    assert last["score"].between(0, 100).all()
    assert last["score"].std() > 5  # managers are told apart
    assert last["coverage"].between(0, 1).all()
    for _, seg in last.groupby("segment"):
        ranked = seg[seg["ranked"]]
        # ranks 1..n among the ranked managers; the rest have too little data (no rank)
        assert sorted(ranked["rank"]) == list(range(1, len(ranked) + 1))
        assert (ranked["coverage"] >= 0.5).all()
        assert seg.loc[~seg["ranked"], "rank"].isna().all()
    # the demo's targets table wins over the YAML for sales volume
    table_rows = card["target_source"] == "data"
    assert table_rows.any() and (card.loc[table_rows, "kpi"] == "sales_volume").all()
    assert (card.loc[table_rows, "target_level"] == "table").all()
    # targets=None is params/policy/targets.yaml, the demo company's: labelled "demo"
    assert set(card["target_source"]) == {"data", "demo", "none"}
