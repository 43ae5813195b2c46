"""Tests of the KPI registry (amtools.kpi.registry)."""

from __future__ import annotations

import dataclasses

import pytest

from amtools.core.schema import TABLES
from amtools.kpi import GROUPS, KPIS, get_kpi
from amtools.kpi.registry import DIRECTIONS, INTERVALS, KPI, UNITS, kpi_table

DESIGN_IDS = [
    "sales_volume",
    "revenue_growth_existing",
    "client_profitability",
    "average_check",
    "conversion_rate",
    "cross_sales",
    "csi",
    "nps",
    "retention_rate",
    "prolongation_rate",
    "churn_rate",
    "new_clients",
    "contact_expansion",
    "referrals",
    "meetings",
    "proposals",
    "proposal_conversion",
    "response_time",
    "sales_cycle_days",
    "contact_frequency",
    "average_discount",
    "on_time_rate",
    "budget_adherence",
    "implementation_quality",
    "reporting_timeliness",
    "reporting_quality",
    "compliance_violations",
    "product_contribution",
    "skills_mastered",
    "training_hours",
]
COMPANIONS = ["margin_per_client", "response_sla_rate", "product_ideas_accepted"]


def test_every_design_kpi_declared_once() -> None:
    assert set(DESIGN_IDS) | set(COMPANIONS) == set(KPIS)
    assert len(KPIS) == len(DESIGN_IDS) + len(COMPANIONS)
    # catalogue order follows DESIGN order
    order = [k for k in KPIS if k in DESIGN_IDS]
    assert order == DESIGN_IDS


def test_groups_in_seed_order() -> None:
    assert list(GROUPS) == [
        "financial",
        "client",
        "activity",
        "project",
        "internal",
        "professional",
    ]
    groups = [k.group for k in KPIS.values()]
    # each group is contiguous
    assert groups == sorted(groups, key=list(GROUPS).index)
    assert GROUPS["financial"] == ("Financial", "Финансовые")


@pytest.mark.parametrize("kpi", list(KPIS.values()), ids=list(KPIS))
def test_declaration_is_complete(kpi: KPI) -> None:
    assert kpi.unit in UNITS and kpi.direction in DIRECTIONS and kpi.interval in INTERVALS
    assert kpi.name_en and kpi.formula_en and kpi.formula_ru
    # Russian names are in Cyrillic (apart from abbreviations such as CSI/NPS/SLA)
    assert any("а" <= ch.lower() <= "я" or ch.lower() == "ё" for ch in kpi.name_ru)
    assert kpi.tables and set(kpi.tables) <= set(TABLES)
    for tc in kpi.columns:
        table, col = tc.split(".")
        assert col in TABLES[table].column_names, tc
    assert set(kpi.segments) <= {"B2B", "B2C"} and kpi.segments
    assert kpi.min_sample >= 0
    # ratios with a binomial denominator carry Wilson intervals
    if kpi.interval == "wilson":
        assert kpi.unit == "ratio"


def test_specific_declarations() -> None:
    assert get_kpi("conversion_rate").name_ru == "Коэффициент конверсии"
    assert get_kpi("sales_volume").name_ru == "Объём продаж"
    assert get_kpi("contact_expansion").segments == ("B2B",)
    assert get_kpi("churn_rate").direction == "lower"
    assert get_kpi("response_time").direction == "lower"
    assert get_kpi("nps").interval == "nps"
    assert get_kpi("csi").interval == "t"
    assert get_kpi("nps").tables == ("surveys",)


def test_unknown_kpi_and_frozen() -> None:
    with pytest.raises(KeyError, match="known KPIs"):
        get_kpi("nope")
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_kpi("nps").unit = "ratio"  # type: ignore[misc]
    with pytest.raises(ValueError, match="unit"):
        KPI("x", "financial", "X", "Х", "litres", "higher", "f", "ф", ("deals",))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_kpi_table(lang: str) -> None:
    t = kpi_table(lang)
    assert list(t["kpi"]) == list(KPIS)
    assert {"kpi", "group", "group_name", "name", "unit", "direction", "formula", "tables"} <= set(
        t.columns
    )
    sv = t.set_index("kpi").loc["sales_volume"]
    assert sv["name"] == ("Объём продаж" if lang == "ru" else "Sales volume")
    assert sv["group_name"] == ("Финансовые" if lang == "ru" else "Financial")
    with pytest.raises(ValueError):
        kpi_table("de")
