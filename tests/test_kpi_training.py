"""Tests for amtools.kpi.training: catalogue, classification, course choice and plans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amtools.core.errors import ParameterError
from amtools.core.settings import read_params
from amtools.kpi.registry import KPIS
from amtools.kpi.scoring import profile_weights, scorecard
from amtools.kpi.training import (
    TRAINING_COLUMNS,
    classify,
    completed_courses,
    load_catalog,
    training_plan,
)

Q = "2026Q3"


def card_rows(rows: list[tuple]) -> pd.DataFrame:
    """Scorecard rows from tuples.

    (manager_id, segment, kpi, value, target, attainment, quartile, weight, kpi_score[, status])
    """
    records = []
    for manager_id, segment, kpi, value, target, att, quartile, weight, score, *rest in rows:
        records.append(
            {
                "manager_id": manager_id,
                "period": Q,
                "segment": segment,
                "team": "T",
                "kpi": kpi,
                "value": value,
                "status": rest[0] if rest else "ok",
                "target": target,
                "attainment": att,
                "percentile": np.nan,
                "quartile": quartile,
                "weight": weight,
                "kpi_score": score,
            }
        )
    return pd.DataFrame(records).astype(
        {
            "manager_id": "string",
            "period": "string",
            "segment": "string",
            "kpi": "string",
            "status": "string",
            "value": "float64",
            "target": "float64",
            "attainment": "float64",
            "quartile": "Int64",
            "weight": "float64",
            "kpi_score": "float64",
        }
    )


# Two B2C managers with different weaknesses.
#   m1: weak on conversion (weight 0.18, score 40 -> 0.18 * 0.60 = 0.108) and csi (0.05 * 0.70 =
#       0.035) and response_time (0.02 * 0.5 = 0.010); strong on sales volume.
#   m2: weak on sales volume (0.22 * 0.55 = 0.121) and cross_sales (0.05 * 0.8 = 0.04);
#       conversion at target but bottom quartile (0.18 * 0.45 = 0.081); nps insufficient data.
CARD = card_rows(
    [
        ("m1", "B2C", "sales_volume", 3e6, 2.5e6, 1.2, 1, 0.22, 100.0),
        ("m1", "B2C", "conversion_rate", 0.20, 0.25, 0.8, 4, 0.18, 40.0),
        ("m1", "B2C", "csi", 60.0, 80.0, 0.75, 3, 0.05, 30.0),
        ("m1", "B2C", "response_time", 8.0, 4.0, 0.5, 3, 0.02, 50.0),
        ("m2", "B2C", "sales_volume", 2e6, 2.5e6, 0.8, 3, 0.22, 45.0),
        ("m2", "B2C", "conversion_rate", 0.26, 0.25, 1.04, 4, 0.18, 55.0),
        ("m2", "B2C", "cross_sales", 0.02, 0.10, 0.2, 4, 0.05, 20.0),
        ("m2", "B2C", "nps", 10.0, 30.0, np.nan, pd.NA, 0.04, np.nan, "insufficient_data"),
        ("m2", "B2C", "csi", 90.0, 80.0, 1.125, 1, 0.05, 100.0),
    ]
)


def plan_of(plan: pd.DataFrame, manager_id: str, kind: str = "development") -> pd.DataFrame:
    return plan[(plan["manager_id"] == manager_id) & (plan["kind"] == kind)]


# --------------------------------------------------------------------------- catalogue
def test_shipped_catalogue_is_consistent():
    raw = read_params("policy/training_catalog")
    cat = load_catalog(raw)  # checks ids, fields, unique course ids
    # every KPI of the registry maps to at least one skill, for both segments it applies to
    for kpi_id, kpi in KPIS.items():
        for segment in kpi.segments:
            assert cat.skills_for(kpi_id, segment), (kpi_id, segment)
    # every skill used has 2-3 courses with both titles and positive hours
    used = {s for ids in cat.kpi_skills.values() for s in ids}
    assert used == set(cat.skills)
    for skill in cat.skills.values():
        assert 2 <= len(skill.courses) <= 3, skill.id
        for course in skill.courses:
            assert course.title_en and course.title_ru and course.hours > 0
    # the seed's skills, with the segment-specific ones of its B2B/B2C table
    names = {s.name_en.lower() for s in cat.skills.values()}
    assert {
        "communication and negotiation",
        "leadership",
        "analytical and strategic thinking",
    } <= names
    assert cat.skills["fast_sales_objections"].segments == ("B2C",)
    assert cat.skills["strategic_negotiation"].segments == ("B2B",)


def test_every_weighted_kpi_leads_to_a_course():
    cat = load_catalog()
    weights = profile_weights()
    for segment, kpi_id in weights.loc[weights["weight"] > 0, ["segment", "kpi"]].itertuples(
        index=False
    ):
        assert any(s.courses for s in cat.skills_for(kpi_id, segment)), (segment, kpi_id)


def test_segment_specific_skills_preferred_and_other_segment_excluded():
    cat = load_catalog()
    b2c = [s.id for s in cat.skills_for("conversion_rate", "B2C")]
    b2b = [s.id for s in cat.skills_for("conversion_rate", "B2B")]
    assert b2c[0] == "fast_sales_objections" and "strategic_negotiation" not in b2c
    assert b2b[0] == "strategic_negotiation" and "fast_sales_objections" not in b2b
    # sales_volume lists the B2C skill first, yet a B2B manager gets the B2B one
    assert cat.skills_for("sales_volume", "B2B")[0].id == "strategic_negotiation"


def test_bad_catalogue_is_rejected():
    with pytest.raises(ParameterError, match="unknown KPI"):
        load_catalog({"skills": {}, "kpi_skills": {"no_such_kpi": []}})
    with pytest.raises(ParameterError, match="not under skills"):
        load_catalog({"skills": {}, "kpi_skills": {"csi": ["ghost"]}})
    course = {"id": "X", "title_en": "a", "title_ru": "б", "hours": 1, "format": "online"}
    skill = {"name_en": "s", "name_ru": "с", "courses": [course, course]}
    with pytest.raises(ParameterError, match="used twice"):
        load_catalog({"skills": {"s": skill}})
    with pytest.raises(ParameterError, match="courses"):
        load_catalog({"skills": {"s": {"name_en": "s", "name_ru": "с", "courses": []}}})


def test_completed_courses_match_id_or_title_and_respect_dates():
    cat = load_catalog()
    trainings = pd.DataFrame(
        {
            "manager_id": ["m1", "m1", "m1", "m2", "m2"],
            "course": [
                "AM-602",
                "  fast sales TECHNIQUES ",
                "Переговоры по сложным сделкам",
                "AM-101",
                "AM-102",
            ],
            "date": pd.to_datetime(
                ["2026-03-01", "2026-05-01", "2026-06-01", "2026-12-01", "2026-01-01"]
            ),
            "completed": pd.array([True, True, True, True, pd.NA], dtype="boolean"),
        }
    )
    done = completed_courses(trainings, cat, until=pd.Timestamp("2026-09-30"))
    # m2: AM-101 completed after the period end, AM-102 not (yet) completed
    assert done == {"m1": {"AM-602", "AM-601", "AM-702"}}


# --------------------------------------------------------------------------- classify
def test_classify_development_and_strength():
    kinds = dict(
        zip(zip(CARD["manager_id"], CARD["kpi"], strict=True), classify(CARD), strict=True)
    )
    assert kinds[("m1", "sales_volume")] == "strength"  # above target, top quartile
    assert kinds[("m1", "conversion_rate")] == "development"  # below target, bottom quartile
    assert kinds[("m2", "conversion_rate")] == "development"  # at target but bottom quartile
    assert kinds[("m2", "csi")] == "strength"
    assert pd.isna(kinds[("m2", "nps")])  # insufficient data: neither


# --------------------------------------------------------------------------- plan
def test_plan_columns_order_by_priority_and_reasons():
    plan = training_plan(CARD)
    assert list(plan.columns) == TRAINING_COLUMNS
    m1 = plan_of(plan, "m1")
    # weight x gap: conversion 0.108 > csi 0.035 > response_time 0.010
    assert m1["kpi"].tolist() == ["conversion_rate", "csi", "response_time"]
    assert m1["priority"].tolist() == [1, 2, 3]
    first = m1.iloc[0]
    # B2C conversion -> fast sales skill; AM-602 targets conversion so it comes before AM-601
    assert first["skill"] == "Fast sales and objection handling"
    assert first["course_id"] == "AM-602"
    assert first["hours"] == 6.0
    assert first["reason_en"] == (
        "Conversion rate 20.0% is below target 25.0% and in the bottom quartile of B2C peers"
    )
    assert "ниже цели" in first["reason_ru"] and "нижний квартиль" in first["reason_ru"]
    # lower is better: a longer response time is "above" target
    assert m1.iloc[2]["reason_en"].startswith(
        "Response time 8.0 h is above target 4.0 h (50% attainment)"
    )
    strengths = plan_of(plan, "m1", "strength")
    assert strengths["kpi"].tolist() == ["sales_volume"]
    assert strengths["course_id"].isna().all()
    # babel keeps the currency code and amount together with a no-break space
    assert strengths.iloc[0]["reason_en"].replace("\xa0", " ") == (
        "Sales volume RUB 3,000,000 exceeds target RUB 2,500,000 (120% attainment) "
        "and is in the top quartile of B2C peers"
    )
    assert "превышает цель" in strengths.iloc[0]["reason_ru"]


def test_plans_differ_between_managers_with_different_weaknesses():
    plan = training_plan(CARD)
    m1, m2 = plan_of(plan, "m1"), plan_of(plan, "m2")
    # m2: sales 0.121 > conversion (at target, bottom quartile) 0.081 > cross_sales 0.04
    assert m2["kpi"].tolist() == ["sales_volume", "conversion_rate", "cross_sales"]
    assert "meets target" in m2.iloc[1]["reason_en"]
    assert m1["kpi"].tolist() != m2["kpi"].tolist()
    assert "nps" not in set(plan["kpi"])  # insufficient data never enters a plan
    # no course is proposed twice to the same manager
    assert not m2["course_id"].dropna().duplicated().any()
    # sales: general fast-sales course; conversion: the course aimed at it; cross-sales: the
    # B2C skill's course aimed at it (AM-603) before the general-skill one (AM-503)
    assert m2["course_id"].tolist() == ["AM-601", "AM-602", "AM-603"]


def test_completed_courses_are_skipped():
    trainings = pd.DataFrame(
        {
            "manager_id": ["m1", "m1"],
            "course": ["AM-602", "Техники быстрых продаж"],  # by id and by Russian title
            "date": pd.to_datetime(["2026-01-10", "2026-02-10"]),
            "completed": pd.array([True, True], dtype="boolean"),
        }
    )
    plan = training_plan(CARD, trainings=trainings)
    first = plan_of(plan, "m1").iloc[0]
    # AM-602 (aimed at conversion) and AM-601 done; AM-603 aims at other KPIs only, so the next
    # general course of the next skill (communication and negotiation) is proposed
    assert first["course_id"] == "AM-101"
    assert first["skill"] == "Communication and negotiation"
    # m2 is unaffected by m1's trainings
    assert plan_of(plan, "m2").iloc[0]["course_id"] == "AM-601"


def test_all_courses_completed_means_no_course_and_says_so():
    card = CARD[(CARD["manager_id"] == "m1") & (CARD["kpi"] == "response_time")]
    cat = load_catalog()
    every = [c.id for s in cat.skills_for("response_time", "B2C") for c in s.courses]
    trainings = pd.DataFrame({"manager_id": ["m1"] * len(every), "course": every})
    plan = training_plan(card, trainings=trainings)
    assert len(plan) == 1
    assert pd.isna(plan.iloc[0]["course_id"])
    assert "plan coaching" in plan.iloc[0]["reason_en"]


def test_max_items_period_and_determinism():
    plan = training_plan(CARD, max_items=1)
    assert plan.groupby(["manager_id", "kind"]).size().max() == 1
    pd.testing.assert_frame_equal(training_plan(CARD), training_plan(CARD.iloc[::-1]))
    with pytest.raises(ParameterError, match="available: 2026Q3"):
        training_plan(CARD, period="2025Q1")
    with pytest.raises(ParameterError, match="max_items"):
        training_plan(CARD, max_items=0)
    later = CARD.assign(period="2026Q4", kpi_score=CARD["kpi_score"])
    both = pd.concat([CARD, later.iloc[:2]])
    assert set(training_plan(both)["period"]) == {"2026Q4"}  # latest by default


def test_plan_from_scorecard_end_to_end():
    # a real scorecard from a hand-made KPI frame: three B2C managers, conversion only
    kpis = pd.DataFrame(
        {
            "manager_id": ["a", "b", "c"],
            "period": [Q] * 3,
            "kpi": ["conversion_rate"] * 3,
            "value": [0.18, 0.30, 0.40],
            "status": ["ok"] * 3,
        }
    )
    managers = pd.DataFrame({"manager_id": ["a", "b", "c"], "segment": ["B2C"] * 3})
    sc = scorecard(
        kpis,
        managers,
        targets={"defaults": {"B2C": {"conversion_rate": 0.25}}},
        profiles={"B2C": {"weights": {"conversion_rate": 1.0}}},
    )
    plan = training_plan(sc)
    assert plan_of(plan, "a")["kpi"].tolist() == ["conversion_rate"]
    assert plan_of(plan, "c", "strength")["kpi"].tolist() == ["conversion_rate"]
    assert plan_of(plan, "a").iloc[0]["reason_en"] == (
        "Conversion rate 18.0% is below target 25.0% and in the bottom quartile of B2C peers"
    )


# --------------------------------------------------------------------------- demo data
@pytest.fixture(scope="module")
def demo_plan():
    from amtools.demo import make_demo
    from amtools.kpi import compute

    ds = make_demo(seed=1, n_managers=12, years=2, end="2026-10-15")
    kpis = compute(ds, freq="Q")
    sc = scorecard(kpis, ds.managers, targets_table=ds.get("targets"))
    return ds, sc, training_plan(sc, trainings=ds.get("trainings"))


def test_demo_managers_get_visibly_different_plans(demo_plan):
    ds, sc, plan = demo_plan
    dev = plan[plan["kind"] == "development"]
    managers = set(ds.managers["manager_id"])
    assert set(dev["manager_id"]) <= managers
    assert dev["manager_id"].nunique() >= len(managers) // 2
    signatures = dev.groupby("manager_id")["kpi"].apply(tuple)
    # plans differ: many distinct KPI lists and several distinct top priorities
    assert signatures.nunique() >= max(3, len(signatures) // 2)
    assert dev[dev["priority"] == 1]["kpi"].nunique() >= 2
    # a completed course is never proposed again
    trainings = ds.get("trainings")
    if trainings is not None:
        done = completed_courses(
            trainings, load_catalog(), until=pd.Period(plan["period"].iloc[0]).end_time
        )
        for row in dev.dropna(subset=["course_id"]).itertuples():
            assert row.course_id not in done.get(row.manager_id, set())


def test_reasons_for_signed_kpis_give_the_gap_not_an_attainment_ratio() -> None:
    from amtools.kpi.training import _reason

    # NPS +12 against a target of +30: "12/30 = 40 % attainment" would mean nothing for a
    # scale that can be negative; the reader gets the gap, 12 - 30 = -18 points.
    row = {
        "kpi": "nps",
        "segment": "B2B",
        "value": 12.0,
        "target": 30.0,
        "attainment": 0.86,
        "quartile": 3,
    }
    assert _reason(row, "development", "en", "RUB").endswith("(-18.0 pts vs target)")
    assert "attainment" not in _reason(row, "development", "en", "RUB")
    growth = {**row, "kpi": "revenue_growth_existing", "value": -0.05, "target": 0.10}
    assert "(-15.0 pp vs target)" in _reason(growth, "development", "en", "RUB")
    ratio = {**row, "kpi": "conversion_rate", "value": 0.4, "target": 0.5, "attainment": 0.8}
    assert "(80% attainment)" in _reason(ratio, "development", "en", "RUB")
