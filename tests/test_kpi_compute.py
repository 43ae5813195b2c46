"""Tests of amtools.kpi.compute against hand-worked arithmetic on tiny hand-made datasets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.problems import DataValidationError
from amtools.kpi import KPIS, compute

D = pd.to_datetime
PERIODS = ["2025Q1", "2025Q2"]


def _frame(cols: dict, strings: tuple[str, ...] = (), dates: tuple[str, ...] = ()) -> pd.DataFrame:
    df = pd.DataFrame(cols)
    for c in strings:
        df[c] = df[c].astype("string")
    for c in dates:
        df[c] = D(df[c]).astype("datetime64[ns]")
    return df


def _tiny() -> Dataset:
    """Two active managers (M1 B2B, M2 B2C) and an idle one (M3 B2C), 2025Q1-Q2."""
    managers = _frame(
        {
            "manager_id": ["M1", "M2", "M3"],
            "name": ["Anna", "Boris", "Vera"],
            "segment": ["B2B", "B2C", "B2C"],
            "team": ["North", "South", "South"],
        },
        strings=("manager_id", "name", "segment", "team"),
    )
    clients = _frame(
        {
            "client_id": ["C1", "C2", "C3", "C4", "C5"],
            "manager_id": ["M1", "M1", "M1", "M2", "M2"],
            "acquired_date": ["2024-06-01", "2024-09-01", "2025-02-01", "2024-12-01", None],
            "churned_date": [None, "2025-02-15", None, None, None],
            "referred_by": [None, None, "C1", None, "C4"],
        },
        strings=("client_id", "manager_id", "referred_by"),
        dates=("acquired_date", "churned_date"),
    )
    deals = _frame(
        {
            "deal_id": [
                "D0",
                "D10",
                "D1",
                "D2",
                "D3",
                "D4",
                "D5",
                "D6",
                "D7",
                "D8",
                "D9",
                "D11",
                "D12",
            ],
            "client_id": [
                "C1",
                "C4",
                "C1",
                "C1",
                "C2",
                "C3",
                "C4",
                "C4",
                "C4",
                "C5",
                "C4",
                "C4",
                "C1",
            ],
            "manager_id": [
                "M1",
                "M2",
                "M1",
                "M1",
                "M1",
                "M1",
                "M2",
                "M2",
                "M2",
                "M2",
                "M2",
                "M2",
                "M1",
            ],
            "stage": [
                "won",
                "won",
                "won",
                "won",
                "lost",
                "won",
                "won",
                "lost",
                "lost",
                "won",
                "open",
                "won",
                "won",
            ],
            "amount": [800.0, 200, 1000, 500, 300, 2000, 100, 80, 90, 300, 500, 150, 400],
            "cost": [400.0, 100, 600, 200, None, 1500, 50, None, None, 100, None, None, 100],
            "product": ["A", "A", "A", "B", "A", "A", "A", "B", "B", "B", "A", "B", "C"],
            "discount": [
                None,
                None,
                0.10,
                0.20,
                None,
                None,
                0.0,
                None,
                None,
                0.05,
                None,
                0.10,
                None,
            ],
            "created_date": [
                "2024-06-01",
                "2024-11-20",
                "2024-12-01",
                "2025-02-01",
                "2025-01-10",
                "2025-01-20",
                "2025-01-01",
                "2025-02-01",
                "2025-03-01",
                "2025-04-01",
                "2025-05-01",
                "2025-04-20",
                "2025-06-01",
            ],
            "closed_date": [
                "2024-06-15",
                "2024-12-01",
                "2025-01-31",
                "2025-03-31",
                "2025-02-10",
                "2025-03-01",
                "2025-01-05",
                "2025-02-20",
                "2025-03-20",
                "2025-04-10",
                None,
                "2025-05-05",
                "2025-06-30",
            ],
        },
        strings=("deal_id", "client_id", "manager_id", "stage", "product"),
        dates=("created_date", "closed_date"),
    )
    deals["discount"] = deals["discount"].astype("float64")
    deals["cost"] = deals["cost"].astype("float64")
    proposals = _frame(
        {
            "proposal_id": ["P1", "P2", "P3", "P4"],
            "manager_id": ["M1", "M1", "M1", "M2"],
            "sent_date": ["2025-01-10", "2025-02-10", "2025-03-10", "2025-04-10"],
            "outcome": ["won", "lost", "pending", "won"],
        },
        strings=("proposal_id", "manager_id", "outcome"),
        dates=("sent_date",),
    )
    activities = _frame(
        {
            "activity_id": ["A1", "A2", "A3", "A4", "A5", "A6"],
            "manager_id": ["M1", "M1", "M1", "M2", "M2", "M1"],
            "client_id": ["C1", "C2", "C1", "C4", "C4", "C3"],
            "type": ["meeting", "call", "visit", "email", "meeting", "meeting"],
            "date": [
                "2025-01-15",
                "2025-02-01",
                "2025-03-31",
                "2025-02-02",
                "2025-05-05",
                "2025-04-01",
            ],
        },
        strings=("activity_id", "manager_id", "client_id", "type"),
        dates=("date",),
    )
    requests = _frame(
        {
            "request_id": ["R1", "R2", "R3", "R4"],
            "manager_id": ["M1", "M1", "M1", "M2"],
            # R2 arrives late on the last day of Q1: it belongs to Q1.
            "opened_at": [
                "2025-01-10 09:00",
                "2025-03-31 23:30",
                "2025-02-01 10:00",
                "2025-04-01 00:00",
            ],
            "first_response_at": ["2025-01-10 13:00", "2025-04-02 01:30", None, "2025-04-01 02:00"],
        },
        strings=("request_id", "manager_id"),
        dates=("opened_at", "first_response_at"),
    )
    surveys = _frame(
        {
            "manager_id": ["M1"] * 3 + ["M2"] * 10,
            "date": ["2025-02-01"] * 3 + ["2025-05-01"] * 10,
            "csi": [5.0, 4, 3] + [5.0] * 10,
            "nps": [10.0, 9, 5] + [10.0, 10, 10, 10, 10, 9, 8, 7, 6, 0],
        },
        strings=("manager_id",),
        dates=("date",),
    )
    contracts = _frame(
        {
            "contract_id": ["K1", "K2", "K3", "K4"],
            "client_id": ["C1", "C2", "C1", "C4"],
            "manager_id": ["M1", "M1", "M1", "M2"],
            "start_date": ["2024-01-01", "2024-01-01", "2024-06-01", "2024-12-01"],
            "end_date": ["2025-03-31", "2025-02-28", "2025-06-30", "2025-05-31"],
            "renewed": pd.array([True, False, None, True], dtype="boolean"),
        },
        strings=("contract_id", "client_id", "manager_id"),
        dates=("start_date", "end_date"),
    )
    contacts = _frame(
        {
            "contact_id": ["CT1", "CT2", "CT3", "CT4"],
            "client_id": ["C1", "C3", "C3", "C4"],
            "added_date": ["2025-02-01", "2025-02-01", "2025-05-01", "2025-02-01"],
        },
        strings=("contact_id", "client_id"),
        dates=("added_date",),
    )
    projects = _frame(
        {
            "project_id": ["PJ1", "PJ2", "PJ3", "PJ4"],
            "manager_id": ["M1", "M1", "M1", "M2"],
            "planned_end": ["2025-03-31", "2025-02-01", "2025-06-01", "2025-05-01"],
            "actual_end": ["2025-03-31", "2025-02-15", None, "2025-04-20"],
            "budget": [100.0, 100, 100, None],
            "actual_cost": [105.0, 120, 10, 50],
            "quality": [4.0, 2, 5, None],
        },
        strings=("project_id", "manager_id"),
        dates=("planned_end", "actual_end"),
    )
    internal_reports = _frame(
        {
            "manager_id": ["M1", "M1", "M1", "M2"],
            "due_date": ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"],
            "submitted_date": ["2025-01-31", "2025-03-02", None, "2025-04-29"],
            "quality": [4.0, 3, None, 5],
        },
        strings=("manager_id",),
        dates=("due_date", "submitted_date"),
    )
    compliance = _frame(
        {
            "manager_id": ["M1", "M1", "M2", "M2"],
            "date": ["2025-01-15", "2025-02-15", "2025-05-15", "2025-06-15"],
            "violation": pd.array([False, True, True, True], dtype="boolean"),
        },
        strings=("manager_id",),
        dates=("date",),
    )
    product_ideas = _frame(
        {
            "manager_id": ["M1", "M1", "M2"],
            "date": ["2025-01-20", "2025-03-20", "2025-04-20"],
            "accepted": pd.array([True, False, None], dtype="boolean"),
        },
        strings=("manager_id",),
        dates=("date",),
    )
    trainings = _frame(
        {
            "manager_id": ["M1", "M1", "M1", "M1", "M2"],
            "course": ["X", "Y", "Z", "W", "Z"],
            "skill": ["negotiation", "Negotiation", "excel", "crm", "excel"],
            "date": ["2024-12-10", "2025-02-10", "2025-03-10", "2025-03-15", "2025-05-10"],
            "hours": [8.0, 4, 6, 10, 6],
            "completed": pd.array([True, True, True, False, True], dtype="boolean"),
        },
        strings=("manager_id", "course", "skill"),
        dates=("date",),
    )
    return Dataset(
        {
            "managers": managers,
            "clients": clients,
            "deals": deals,
            "proposals": proposals,
            "activities": activities,
            "requests": requests,
            "surveys": surveys,
            "contracts": contracts,
            "contacts": contacts,
            "projects": projects,
            "internal_reports": internal_reports,
            "compliance": compliance,
            "product_ideas": product_ideas,
            "trainings": trainings,
        },
        source="tiny",
    )


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    return _tiny()


@pytest.fixture(scope="module")
def kq(tiny: Dataset) -> pd.DataFrame:
    return compute(tiny, "Q", PERIODS)


def row(frame: pd.DataFrame, who: str, period: str, kpi: str) -> pd.Series:
    first = frame.columns[0]
    sel = frame[(frame[first] == who) & (frame["period"] == period) & (frame["kpi"] == kpi)]
    assert len(sel) == 1, (who, period, kpi)
    return sel.iloc[0]


def val(frame: pd.DataFrame, who: str, period: str, kpi: str) -> float:
    r = row(frame, who, period, kpi)
    assert r["status"] != "not_available", (who, period, kpi, r["reason"])
    return float(r["value"])


def assert_na(frame: pd.DataFrame, who: str, period: str, kpi: str, reason: str) -> None:
    r = row(frame, who, period, kpi)
    assert r["status"] == "not_available"
    assert math.isnan(r["value"])
    text = reason_en(r)
    assert reason in text, text


def reason_en(r: pd.Series) -> str:
    """The English text of a KPI row's reason key and arguments."""
    from amtools.kpi import reason_text

    return reason_text(r["reason"], r["reason_args"], "en")


# -- shape of the output -------------------------------------------------------------------


def test_every_manager_period_kpi_row_present(kq: pd.DataFrame) -> None:
    # 3 managers x 2 periods x every KPI of the registry, in catalogue order
    assert len(kq) == 3 * 2 * len(KPIS)
    assert list(kq.columns) == [
        "manager_id",
        "period",
        "kpi",
        "value",
        "n",
        "low",
        "high",
        "status",
        "reason",
        "reason_args",
        "inferred",
    ]
    assert list(kq["kpi"].iloc[: len(KPIS)]) == list(KPIS)
    assert str(kq["n"].dtype) == "Int64"
    assert set(kq["status"]) <= {"ok", "insufficient_data", "not_available"}
    # reason only and always on not_available rows
    assert (kq["reason"].notna() == (kq["status"] == "not_available")).all()


# -- financial ---------------------------------------------------------------------------------


def test_sales_volume_and_average_check(kq: pd.DataFrame) -> None:
    # M1 Q1 won: D1 1000 + D2 500 (closed 03-31, last day) + D4 2000 = 3500 over 3 deals
    assert val(kq, "M1", "2025Q1", "sales_volume") == 3500
    assert row(kq, "M1", "2025Q1", "sales_volume")["n"] == 3
    assert val(kq, "M1", "2025Q1", "average_check") == pytest.approx(3500 / 3)
    # M2 Q2 won: D8 300 + D11 150 = 450; average 225 (D9 is open: ignored)
    assert val(kq, "M2", "2025Q2", "sales_volume") == 450
    assert val(kq, "M2", "2025Q2", "average_check") == 225
    # M1 Q2: D12 400
    assert val(kq, "M1", "2025Q2", "sales_volume") == 400
    # idle manager: sales are an honest 0, the average check is undefined
    assert val(kq, "M3", "2025Q1", "sales_volume") == 0
    assert_na(kq, "M3", "2025Q1", "average_check", "no won deals")


def test_average_check_t_interval(kq: pd.DataFrame) -> None:
    # M1 Q1 amounts 1000, 500, 2000: mean 1166.67, sd = sqrt(((-166.67)^2+(-666.67)^2+833.33^2)/2)
    x = np.array([1000.0, 500, 2000])
    half = 4.302652729911275 * x.std(ddof=1) / math.sqrt(3)  # t(0.975, df=2)
    r = row(kq, "M1", "2025Q1", "average_check")
    assert r["low"] == pytest.approx(max(0.0, x.mean() - half))
    assert r["high"] == pytest.approx(x.mean() + half)


def test_conversion_rate(kq: pd.DataFrame) -> None:
    # M1 Q1 closed: won D1, D2, D4; lost D3 -> 3/4, n=4 < min sample 10 -> insufficient_data
    r = row(kq, "M1", "2025Q1", "conversion_rate")
    assert r["value"] == 0.75 and r["n"] == 4 and r["status"] == "insufficient_data"
    # Wilson 95 %: centre (3 + 1.92)/(4 + 3.84), half-width 1.96*sqrt(3*1/4 + 0.96)/(4 + 3.84)
    z = 1.959963984540054
    centre = (3 + z * z / 2) / (4 + z * z)
    half = z * math.sqrt(3 * 1 / 4 + z * z / 4) / (4 + z * z)
    assert r["low"] == pytest.approx(centre - half)
    assert r["high"] == pytest.approx(centre + half)
    # M2 Q1: won D5, lost D6, D7 -> 1/3
    assert val(kq, "M2", "2025Q1", "conversion_rate") == pytest.approx(1 / 3)


def test_manager_without_closed_deals_has_no_conversion(kq: pd.DataFrame) -> None:
    # M3 never closes a deal: conversion is not available, never 0
    assert_na(kq, "M3", "2025Q1", "conversion_rate", "no closed deals")
    assert pd.isna(row(kq, "M3", "2025Q1", "conversion_rate")["low"])


def test_client_profitability_and_margin_per_client(kq: pd.DataFrame) -> None:
    # M1 Q1: (1000-600) + (500-200) + (2000-1500) = 1200 over 3500 won -> 0.342857
    assert val(kq, "M1", "2025Q1", "client_profitability") == pytest.approx(1200 / 3500)
    # distinct clients C1 (D1, D2) and C3 (D4) -> 1200 / 2 = 600
    assert val(kq, "M1", "2025Q1", "margin_per_client") == pytest.approx(600)
    # M2 Q2: only D8 has a cost: (300-100)/300; one client C5 -> 200 per client
    assert val(kq, "M2", "2025Q2", "client_profitability") == pytest.approx(200 / 300)
    assert row(kq, "M2", "2025Q2", "client_profitability")["n"] == 1
    assert val(kq, "M2", "2025Q2", "margin_per_client") == pytest.approx(200)


def test_cross_sales(kq: pd.DataFrame) -> None:
    # M1 Q1: D1 (C1, A) repeats C1's 2024 product A -> no; D2 (C1, B) new product for an existing
    # buyer -> yes (500); D4 is C3's first purchase -> no. 500 / 3500
    assert val(kq, "M1", "2025Q1", "cross_sales") == pytest.approx(500 / 3500)
    # M1 Q2: D12 (C1, C) new product -> 400 / 400
    assert val(kq, "M1", "2025Q2", "cross_sales") == 1.0
    # M2 Q2: D8 first purchase of C5 -> no; D11 (C4, B): C4's lost B deals are not purchases -> yes
    assert val(kq, "M2", "2025Q2", "cross_sales") == pytest.approx(150 / 450)
    assert val(kq, "M2", "2025Q1", "cross_sales") == 0.0


def test_revenue_growth_existing_year_ago(kq: pd.DataFrame) -> None:
    # Q1 2025 vs 2024Q1: the data starts in 2024Q2
    assert_na(kq, "M1", "2025Q1", "revenue_growth_existing", "precedes the data")
    # M1 Q2 2025: existing clients C1, C2, C3; 2024Q2 revenue D0 800; 2025Q2 D12 400 -> -0.5
    r = row(kq, "M1", "2025Q2", "revenue_growth_existing")
    assert r["value"] == pytest.approx(-0.5) and r["n"] == 1
    # M2: C4 bought nothing in 2024Q2
    assert_na(
        kq, "M2", "2025Q2", "revenue_growth_existing", "no revenue from existing clients in 2024Q2"
    )


def test_revenue_growth_existing_previous_period(tiny: Dataset) -> None:
    k = compute(tiny, "Q", PERIODS, params={"comparison": "previous"})
    # M1 Q2 vs Q1: existing at 04-01 = C1, C2, C3; Q1 revenue 1000+500+2000 = 3500 -> 400/3500 - 1
    assert val(k, "M1", "2025Q2", "revenue_growth_existing") == pytest.approx(400 / 3500 - 1)
    assert row(k, "M1", "2025Q2", "revenue_growth_existing")["n"] == 2  # C1 and C3 had revenue
    # M2 Q2 vs Q1: C4 only (C5 acquired 04-10 via its first deal): 150 / 100 - 1 = 0.5
    assert val(k, "M2", "2025Q2", "revenue_growth_existing") == pytest.approx(0.5)
    # M2 Q1 vs 2024Q4: C4 100 vs D10 200 -> -0.5
    assert val(k, "M2", "2025Q1", "revenue_growth_existing") == pytest.approx(-0.5)
    # M1 Q1 vs 2024Q4: C1, C2 had no revenue then
    assert_na(k, "M1", "2025Q1", "revenue_growth_existing", "2024Q4")


# -- client ------------------------------------------------------------------------------------


def test_csi_with_t_interval(kq: pd.DataFrame) -> None:
    # M1 Q1 csi 5, 4, 3: mean 4 -> (4-1)/4*100 = 75; sd 1; half = t(.975,2)/sqrt(3) = 2.4841
    r = row(kq, "M1", "2025Q1", "csi")
    assert r["value"] == pytest.approx(75) and r["n"] == 3 and r["status"] == "insufficient_data"
    half = 4.302652729911275 / math.sqrt(3)
    assert r["low"] == pytest.approx((4 - half - 1) * 25)
    assert r["high"] == 100.0  # clipped to the scale
    # M2 Q2: ten 5s -> 100, n=10 ok
    assert val(kq, "M2", "2025Q2", "csi") == 100


def test_nps_value_interval_and_small_sample(kq: pd.DataFrame) -> None:
    # M1 Q1 nps 10, 9, 5: 2 promoters, 1 detractor of 3 -> 33.3; n=3 < 10 -> insufficient_data
    r = row(kq, "M1", "2025Q1", "nps")
    assert r["value"] == pytest.approx(100 / 3)
    assert r["status"] == "insufficient_data"
    # M2 Q2: 10,10,10,10,10,9 promoters (6); 8,7 passive; 6,0 detractors (2): (6-2)/10 = 40
    r = row(kq, "M2", "2025Q2", "nps")
    assert r["value"] == pytest.approx(40) and r["status"] == "ok"
    # var = (pP + pD - (pP-pD)^2)/n = (0.6+0.2-0.16)/10 = 0.064; se = 0.25298
    half = 1.959963984540054 * math.sqrt(0.064)
    assert r["low"] == pytest.approx(100 * (0.4 - half))
    assert r["high"] == pytest.approx(100 * (0.4 + half))


def test_nps_min_responses_param(tiny: Dataset) -> None:
    k = compute(tiny, "Q", PERIODS, params={"nps_min_responses": 3})
    assert row(k, "M1", "2025Q1", "nps")["status"] == "ok"
    k = compute(tiny, "Q", PERIODS, params={"nps_min_responses": 11})
    assert row(k, "M2", "2025Q2", "nps")["status"] == "insufficient_data"


def test_retention_and_churn(kq: pd.DataFrame) -> None:
    # M1 Q1: active at 01-01 = C1, C2 (C3 acquired 02-01). C2 churns 02-15 -> retention 1/2, churn 1/2
    assert val(kq, "M1", "2025Q1", "retention_rate") == 0.5
    assert val(kq, "M1", "2025Q1", "churn_rate") == 0.5
    assert row(kq, "M1", "2025Q1", "churn_rate")["n"] == 2
    # M1 Q2: active at 04-01 = C1, C3, both stay
    assert val(kq, "M1", "2025Q2", "retention_rate") == 1.0
    assert val(kq, "M1", "2025Q2", "churn_rate") == 0.0
    # M2 Q2: C4 only (C5 acquired 04-10, via its first won deal: no acquired_date)
    assert row(kq, "M2", "2025Q2", "retention_rate")["n"] == 1
    assert_na(kq, "M3", "2025Q1", "retention_rate", "no clients active at the period start")


def test_prolongation_rate(kq: pd.DataFrame) -> None:
    # M1 Q1: K1 renewed, K2 not -> 1/2. Q2: K3 undecided -> not available
    assert val(kq, "M1", "2025Q1", "prolongation_rate") == 0.5
    assert_na(kq, "M1", "2025Q2", "prolongation_rate", "renewal decision")
    assert val(kq, "M2", "2025Q2", "prolongation_rate") == 1.0


def test_new_clients_and_referrals(kq: pd.DataFrame) -> None:
    # C3's first won deal D4 is in Q1 (M1); C5's first won deal D8 in Q2 (M2); C1, C4 bought in 2024
    assert val(kq, "M1", "2025Q1", "new_clients") == 1
    assert val(kq, "M1", "2025Q2", "new_clients") == 0
    assert val(kq, "M2", "2025Q1", "new_clients") == 0
    assert val(kq, "M2", "2025Q2", "new_clients") == 1
    # C3 (acquired Q1) referred by C1 (M1); C5 (acquired 04-10) referred by C4 (M2)
    assert val(kq, "M1", "2025Q1", "referrals") == 1
    assert val(kq, "M2", "2025Q2", "referrals") == 1
    assert val(kq, "M2", "2025Q1", "referrals") == 0


def test_contact_expansion_b2b_only(kq: pd.DataFrame) -> None:
    # CT1 at C1 (existing) Q1 -> 1; CT2 at C3 added the month C3 was acquired -> not expansion;
    # CT3 at C3 in Q2 (C3 existing by then) -> 1
    assert val(kq, "M1", "2025Q1", "contact_expansion") == 1
    assert val(kq, "M1", "2025Q2", "contact_expansion") == 1
    # M2 is B2C: not applicable
    assert_na(kq, "M2", "2025Q1", "contact_expansion", "B2B managers only")


# -- activity ------------------------------------------------------------------------------------


def test_meetings_proposals_and_conversion(kq: pd.DataFrame) -> None:
    # M1 Q1: A1 meeting + A3 visit (03-31) = 2; Q2: A6 meeting (04-01) = 1
    assert val(kq, "M1", "2025Q1", "meetings") == 2
    assert val(kq, "M1", "2025Q2", "meetings") == 1
    assert val(kq, "M2", "2025Q1", "meetings") == 0
    # proposals: M1 Q1 P1-P3 = 3; M2 Q2 P4 = 1
    assert val(kq, "M1", "2025Q1", "proposals") == 3
    assert val(kq, "M2", "2025Q2", "proposals") == 1
    # proposal conversion: M1 Q1 won P1, lost P2, pending P3 ignored -> 1/2
    assert val(kq, "M1", "2025Q1", "proposal_conversion") == 0.5
    assert_na(kq, "M2", "2025Q1", "proposal_conversion", "no decided proposals")


def test_response_time_and_sla(kq: pd.DataFrame) -> None:
    # M1 Q1: R1 4 h, R2 26 h (opened 23:30 on 03-31: still Q1); R3 unanswered -> median 15 h
    assert val(kq, "M1", "2025Q1", "response_time") == 15
    assert row(kq, "M1", "2025Q1", "response_time")["n"] == 2
    # SLA 24 h: R1 within; R2 late; R3 unanswered counts as late -> 1/3
    assert val(kq, "M1", "2025Q1", "response_sla_rate") == pytest.approx(1 / 3)
    assert val(kq, "M2", "2025Q2", "response_time") == 2
    assert_na(kq, "M2", "2025Q1", "response_time", "no answered requests")


def test_sla_hours_param(tiny: Dataset) -> None:
    k = compute(tiny, "Q", PERIODS, params={"sla_hours": 30})
    # R1 (4 h) and R2 (26 h) now within -> 2/3
    assert val(k, "M1", "2025Q1", "response_sla_rate") == pytest.approx(2 / 3)


def test_sales_cycle_contact_frequency_discount(kq: pd.DataFrame) -> None:
    # M1 Q1 cycles: D1 12-01->01-31 = 61 d, D2 02-01->03-31 = 58 d, D4 01-20->03-01 = 40 d -> 58
    assert val(kq, "M1", "2025Q1", "sales_cycle_days") == 58
    # M2 Q2: D8 9 d, D11 15 d -> 12
    assert val(kq, "M2", "2025Q2", "sales_cycle_days") == 12
    # contact frequency M1 Q1: 3 touches / (3 active clients C1, C2, C3 x 3 months) = 1/3
    assert val(kq, "M1", "2025Q1", "contact_frequency") == pytest.approx(1 / 3)
    # M1 Q2: 1 touch / (C1, C3 x 3) = 1/6; M2 Q2: 1 / (C4, C5 x 3) = 1/6
    assert val(kq, "M1", "2025Q2", "contact_frequency") == pytest.approx(1 / 6)
    assert val(kq, "M2", "2025Q2", "contact_frequency") == pytest.approx(1 / 6)
    assert_na(kq, "M3", "2025Q1", "contact_frequency", "no active clients")
    # average discount M1 Q1: D1 0.10, D2 0.20 (D4 none) -> 0.15; M2 Q2: 0.05, 0.10 -> 0.075
    assert val(kq, "M1", "2025Q1", "average_discount") == pytest.approx(0.15)
    assert val(kq, "M2", "2025Q2", "average_discount") == pytest.approx(0.075)
    assert_na(kq, "M1", "2025Q2", "average_discount", "no won deals with a discount")


# -- project, internal, professional -------------------------------------------------------------


def test_project_kpis(kq: pd.DataFrame) -> None:
    # M1 Q1 finished: PJ1 on time, cost 105 <= 100 * 1.05; PJ2 late, 120 over -> 1/2, 1/2
    assert val(kq, "M1", "2025Q1", "on_time_rate") == 0.5
    assert val(kq, "M1", "2025Q1", "budget_adherence") == 0.5
    # quality (4 + 2) / 2 = 3; PJ3 is still running
    assert val(kq, "M1", "2025Q1", "implementation_quality") == 3
    assert_na(kq, "M1", "2025Q2", "on_time_rate", "no finished projects")
    # M2 Q2: PJ4 early -> 1; no budget -> not available; no quality -> not available
    assert val(kq, "M2", "2025Q2", "on_time_rate") == 1.0
    assert_na(kq, "M2", "2025Q2", "budget_adherence", "budget and cost")
    assert_na(kq, "M2", "2025Q2", "implementation_quality", "quality rating")


def test_budget_tolerance_param(tiny: Dataset) -> None:
    k = compute(tiny, "Q", PERIODS, params={"budget_tolerance": 0.0})
    # PJ1 cost 105 > budget 100 with no tolerance -> 0/2
    assert val(k, "M1", "2025Q1", "budget_adherence") == 0.0


def test_internal_kpis(kq: pd.DataFrame) -> None:
    # M1 Q1 reports: on time, 2 days late, never submitted -> 1/3; quality (4 + 3) / 2 = 3.5
    assert val(kq, "M1", "2025Q1", "reporting_timeliness") == pytest.approx(1 / 3)
    assert val(kq, "M1", "2025Q1", "reporting_quality") == 3.5
    assert val(kq, "M2", "2025Q2", "reporting_timeliness") == 1.0
    # compliance: M1 Q1 one violation in 2 checks; M2 Q2 two
    assert val(kq, "M1", "2025Q1", "compliance_violations") == 1
    assert row(kq, "M1", "2025Q1", "compliance_violations")["n"] == 2
    assert val(kq, "M2", "2025Q2", "compliance_violations") == 2
    assert val(kq, "M2", "2025Q1", "compliance_violations") == 0
    # ideas: M1 Q1 two submitted, one accepted; M2 Q2 one, undecided
    assert val(kq, "M1", "2025Q1", "product_contribution") == 2
    assert val(kq, "M1", "2025Q1", "product_ideas_accepted") == 1
    assert val(kq, "M2", "2025Q2", "product_contribution") == 1
    assert val(kq, "M2", "2025Q2", "product_ideas_accepted") == 0


def test_professional_kpis(kq: pd.DataFrame) -> None:
    # M1 Q1: "Negotiation" was certified in 2024 -> not new; "excel" new; "crm" not completed -> 1
    assert val(kq, "M1", "2025Q1", "skills_mastered") == 1
    # hours of completed trainings in Q1: 4 + 6 = 10 (the 10 h uncompleted course excluded)
    assert val(kq, "M1", "2025Q1", "training_hours") == 10
    assert val(kq, "M2", "2025Q2", "skills_mastered") == 1
    assert val(kq, "M2", "2025Q2", "training_hours") == 6
    assert val(kq, "M3", "2025Q2", "training_hours") == 0


# -- absent tables and columns ---------------------------------------------------------------------


def test_absent_tables_are_not_available_never_zero(tiny: Dataset) -> None:
    core = Dataset({n: tiny[n] for n in ("managers", "clients", "deals")})
    k = compute(core, "Q", PERIODS)
    expected = {
        "csi": "needs table surveys",
        "nps": "needs table surveys",
        "meetings": "needs table activities",
        "proposals": "needs table proposals",
        "response_time": "needs table requests",
        "prolongation_rate": "needs table contracts",
        "contact_expansion": "needs table contacts",
        "on_time_rate": "needs table projects",
        "reporting_timeliness": "needs table internal_reports",
        "compliance_violations": "needs table compliance",
        "product_contribution": "needs table product_ideas",
        "training_hours": "needs table trainings",
    }
    for kpi, reason in expected.items():
        for who in ("M1", "M2", "M3"):
            r = row(k, who, "2025Q1", kpi)
            assert r["status"] == "not_available" and reason_en(r) == reason
            assert math.isnan(r["value"])
    # KPIs from the required tables still compute
    assert val(k, "M1", "2025Q1", "sales_volume") == 3500


def test_absent_optional_column(tiny: Dataset) -> None:
    ds = tiny.replace(deals=tiny["deals"].drop(columns=["cost", "discount"]))
    k = compute(ds, "Q", PERIODS)
    assert_na(k, "M1", "2025Q1", "client_profitability", "needs column deals.cost")
    assert_na(k, "M1", "2025Q1", "average_discount", "needs column deals.discount")


# -- periods -------------------------------------------------------------------------------------


def test_month_boundaries_inclusive(tiny: Dataset) -> None:
    k = compute(tiny, "M", ["2025-01", "2025-03"])
    # D1 closed 01-31 belongs to January; D2 (03-31) and D4 (03-01) to March
    assert val(k, "M1", "2025-01", "sales_volume") == 1000
    assert val(k, "M1", "2025-03", "sales_volume") == 2500
    # R2 opened 23:30 on 03-31 is a March request
    assert row(k, "M1", "2025-03", "response_time")["n"] == 1
    # contact frequency per month: March touches A3 / active clients C1, C3 (C2 churned 02-15) = 1/2
    assert val(k, "M1", "2025-03", "contact_frequency") == pytest.approx(0.5)
    assert set(k["period"]) == {"2025-01", "2025-03"}


def test_fiscal_year_start(tiny: Dataset) -> None:
    # fiscal year starting in April: Apr-Jun 2025 is fiscal 2026Q1, Jan-Mar 2025 is 2025Q4
    k = compute(tiny, "Q", ["2025Q4", "2026Q1"], fiscal_year_start=4)
    assert val(k, "M1", "2025Q4", "sales_volume") == 3500
    assert val(k, "M1", "2026Q1", "sales_volume") == 400
    y = compute(tiny, "Y", ["2025"], fiscal_year_start=4)
    # fiscal 2025 = Apr 2024 - Mar 2025: D0 800 + D1 1000 + D2 500 + D4 2000 = 4300
    assert val(y, "M1", "2025", "sales_volume") == 4300


def test_default_periods_cover_the_data(tiny: Dataset) -> None:
    k = compute(tiny, "Q")
    # data from 2024-06 (D0) to 2025-06 (D12, etc.)
    assert sorted(set(k["period"])) == ["2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert val(k, "M1", "2024Q3", "sales_volume") == 0
    assert_na(k, "M1", "2024Q3", "conversion_rate", "no closed deals")


def test_period_end_meta_caps_the_range(tiny: Dataset) -> None:
    ds = Dataset(tiny.tables, meta={"period_end": pd.Timestamp("2025-03-31")})
    assert sorted(set(compute(ds, "Q")["period"]))[-1] == "2025Q1"


def test_bad_parameters(tiny: Dataset) -> None:
    with pytest.raises(ParameterError):
        compute(tiny, "W")
    with pytest.raises(ParameterError):
        compute(tiny, "Q", ["2025-01"])
    with pytest.raises(ParameterError):
        compute(tiny, level="region")
    with pytest.raises(ParameterError):
        compute(tiny, params={"sla": 3})
    with pytest.raises(ParameterError):
        compute(tiny, params={"comparison": "last_week"})


def test_unknown_manager_is_a_clear_error(tiny: Dataset) -> None:
    deals = tiny["deals"].copy()
    deals.loc[0, "manager_id"] = "M9"
    with pytest.raises(DataValidationError, match="deals.manager_id"):
        compute(tiny.replace(deals=deals))


def test_inputs_not_mutated(tiny: Dataset) -> None:
    before = {n: df.copy() for n, df in tiny.tables.items()}
    compute(tiny, "Q", PERIODS, level="team")
    for n, df in tiny.tables.items():
        pd.testing.assert_frame_equal(df, before[n])


# -- churn and win-back --------------------------------------------------------------------------


def test_client_churns_and_is_won_back() -> None:
    managers = _frame(
        {"manager_id": ["M1"], "name": ["A"], "segment": ["B2B"]},
        strings=("manager_id", "name", "segment"),
    )
    clients = _frame(
        {
            "client_id": ["W", "S"],
            "manager_id": ["M1", "M1"],
            "acquired_date": ["2024-01-10", "2024-01-10"],
            "churned_date": ["2025-02-10", None],
        },
        strings=("client_id", "manager_id"),
        dates=("acquired_date", "churned_date"),
    )
    deals = _frame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "client_id": ["W", "S", "W"],
            "manager_id": ["M1"] * 3,
            "stage": ["won"] * 3,
            "amount": [10.0, 10, 10],
            "closed_date": ["2024-01-10", "2024-01-10", "2025-08-05"],
        },
        strings=("deal_id", "client_id", "manager_id", "stage"),
        dates=("closed_date",),
    )
    k = compute(
        Dataset({"managers": managers, "clients": clients, "deals": deals}),
        "Q",
        ["2025Q1", "2025Q2", "2025Q3", "2025Q4"],
    )
    # Q1: W and S active at start, W churns -> retention 1/2, churn 1/2
    assert val(k, "M1", "2025Q1", "retention_rate") == 0.5
    assert val(k, "M1", "2025Q1", "churn_rate") == 0.5
    # Q2: only S active at start
    assert row(k, "M1", "2025Q2", "retention_rate")["n"] == 1
    assert val(k, "M1", "2025Q2", "churn_rate") == 0.0
    # Q3: W is won back on 08-05 - not active at the start, and NOT a new client (first deal 2024)
    assert row(k, "M1", "2025Q3", "retention_rate")["n"] == 1
    assert val(k, "M1", "2025Q3", "new_clients") == 0
    # Q4: W is active again at the start -> counted, retained
    assert row(k, "M1", "2025Q4", "retention_rate")["n"] == 2
    assert val(k, "M1", "2025Q4", "retention_rate") == 1.0


# -- roll-ups --------------------------------------------------------------------------------------


def test_company_conversion_is_pooled_not_mean(tiny: Dataset, kq: pd.DataFrame) -> None:
    c = compute(tiny, "Q", PERIODS, level="company")
    assert list(c.columns)[0] == "company" and set(c["company"]) == {"all"}
    # Q1: M1 3 won of 4 closed, M2 1 of 3 -> pooled 4/7 (the mean of ratios would be 0.5417)
    assert val(c, "all", "2025Q1", "conversion_rate") == pytest.approx(4 / 7)
    assert row(c, "all", "2025Q1", "conversion_rate")["n"] == 7
    mean_of_ratios = (
        val(kq, "M1", "2025Q1", "conversion_rate") + val(kq, "M2", "2025Q1", "conversion_rate")
    ) / 2
    assert val(c, "all", "2025Q1", "conversion_rate") != pytest.approx(mean_of_ratios)
    # sums add up, medians pool the events: cycles 61, 58, 40 (M1) and 4 (M2) -> 49
    assert val(c, "all", "2025Q1", "sales_volume") == 3600
    assert val(c, "all", "2025Q1", "sales_cycle_days") == 49
    # response time pooled over R1 (4 h) and R2 (26 h) -> 15; Q2 only R4 -> 2
    assert val(c, "all", "2025Q2", "response_time") == 2
    # NPS pooled Q2: M2's 10 responses -> 40
    assert val(c, "all", "2025Q2", "nps") == pytest.approx(40)
    # margin per client pools distinct clients: Q1 margin 1200 + 50 over C1, C3, C4 = 416.67
    assert val(c, "all", "2025Q1", "margin_per_client") == pytest.approx(1250 / 3)
    # contact expansion counts B2B managers only: CT4 (B2C client C4) excluded
    assert val(c, "all", "2025Q1", "contact_expansion") == 1


def test_team_and_segment_rollups(tiny: Dataset) -> None:
    t = compute(tiny, "Q", PERIODS, level="team")
    assert sorted(set(t["team"])) == ["North", "South"]
    # South = M2 + idle M3: retention Q1 pooled C4 -> 1/1; conversion 1/3
    assert val(t, "South", "2025Q1", "conversion_rate") == pytest.approx(1 / 3)
    # company contact frequency pools touches and client-months
    s = compute(tiny, "Q", PERIODS, level="segment")
    assert sorted(set(s["segment"])) == ["B2B", "B2C"]
    assert_na(s, "B2C", "2025Q1", "contact_expansion", "B2B managers only")
    assert val(s, "B2B", "2025Q1", "contact_expansion") == 1
    # retention B2C Q1: C4 active and kept -> 1.0; B2B Q1: 1/2
    assert val(s, "B2C", "2025Q1", "retention_rate") == 1.0
    assert val(s, "B2B", "2025Q1", "retention_rate") == 0.5


def test_rollup_sums_equal_manager_sums(tiny: Dataset, kq: pd.DataFrame) -> None:
    c = compute(tiny, "Q", PERIODS, level="company")
    for kpi in (
        "sales_volume",
        "new_clients",
        "meetings",
        "proposals",
        "training_hours",
        "compliance_violations",
        "referrals",
    ):
        for p in PERIODS:
            total = kq[(kq["kpi"] == kpi) & (kq["period"] == p)]["value"].sum()
            assert val(c, "all", p, kpi) == pytest.approx(total), (kpi, p)


def test_client_shared_by_two_managers_counts_once_each(tiny: Dataset) -> None:
    # D5 (C4, M2, Q1) is re-booked under M1 too: C4 now has Q1 won deals from both managers
    deals = tiny["deals"]
    extra = deals[deals["deal_id"] == "D5"].assign(deal_id="D5b", manager_id="M1")
    ds = tiny.replace(deals=pd.concat([deals, extra], ignore_index=True))
    k = compute(ds, "Q", PERIODS)
    # M1 Q1 margin: 1200 + (100 - 50) = 1250 over clients C1, C3, C4 -> 416.67
    assert val(k, "M1", "2025Q1", "margin_per_client") == pytest.approx(1250 / 3)
    # M2 still counts C4 once: 50 / 1
    assert val(k, "M2", "2025Q1", "margin_per_client") == pytest.approx(50)
    # company: distinct clients C1, C3, C4 -> (1250 + 50) / 3
    c = compute(ds, "Q", PERIODS, level="company")
    assert val(c, "all", "2025Q1", "margin_per_client") == pytest.approx(1300 / 3)


def test_demo_data_every_kpi_has_a_value_or_a_reason() -> None:
    from amtools.demo import make_demo

    ds = make_demo(seed=1, n_managers=6, end="2026-10-01", years=2)
    k = compute(ds, "Q")
    assert k["period"].nunique() == 8
    assert (k["reason"].notna() == (k["status"] == "not_available")).all()
    assert k.loc[k["status"] != "not_available", "value"].notna().all()
    # every KPI is computed for at least one manager-quarter on the demo data
    has_value = k[k["status"] != "not_available"].groupby("kpi").size()
    assert set(has_value.index) == set(KPIS)
    # company roll-up: sums equal manager sums
    c = compute(ds, "Q", level="company")
    sv = k[k["kpi"] == "sales_volume"].groupby("period")["value"].sum()
    csv = c[c["kpi"] == "sales_volume"].set_index("period")["value"]
    pd.testing.assert_series_equal(sv, csv, check_names=False)


def test_parallel_path_gives_the_same_frame(tiny: Dataset, kq: pd.DataFrame, monkeypatch) -> None:
    # large inputs run the KPIs on two threads; force that path on the tiny data
    import sys

    mod = sys.modules["amtools.kpi.computation"]
    monkeypatch.setattr(mod, "_PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(mod, "_arrow_backed", lambda values: True)
    pd.testing.assert_frame_equal(compute(tiny, "Q", PERIODS), kq)
    from amtools.kpi import compute_levels

    tables = compute_levels(tiny, "Q", PERIODS, levels=("manager", "company"))
    pd.testing.assert_frame_equal(tables["manager"], kq)
    # company churn Q1: C2 of the 3 clients active at the start (C1, C2, C4) -> 1/3
    assert val(tables["company"], "all", "2025Q1", "churn_rate") == pytest.approx(1 / 3)


def test_params_file_and_overrides(tiny: Dataset) -> None:
    from amtools.kpi.computation import kpi_params

    prm = kpi_params()
    # params/policy/kpi.yaml: 24 h SLA, year-ago comparison
    assert prm["sla_hours"] == 24 and prm["comparison"] == "year_ago"
    # min_samples merges per KPI: conversion needs 3 closed deals now, M1 Q1 has 4
    k = compute(tiny, "Q", PERIODS, params={"min_samples": {"conversion_rate": 3}})
    assert row(k, "M1", "2025Q1", "conversion_rate")["status"] == "ok"
    with pytest.raises(ParameterError, match="min_samples"):
        kpi_params({"min_samples": {"nope": 1}})


def test_periods_as_period_objects(tiny: Dataset, kq: pd.DataFrame) -> None:
    k = compute(tiny, "Q", [pd.Period("2025Q2", "Q-DEC")])
    assert set(k["period"]) == {"2025Q2"}
    assert val(k, "M2", "2025Q2", "sales_volume") == val(kq, "M2", "2025Q2", "sales_volume")


def test_distinct_fallback_matches_dense_path(tiny: Dataset, monkeypatch) -> None:
    # the sort-based fallback for huge item x period tables gives the same counts
    from amtools.kpi import engine as _engine

    dense = compute(tiny, "M", level="team")
    original = _engine.Context.distinct

    def forced(self, keys, items, n_items):  # type: ignore[no-untyped-def]
        return original(self, keys, items, 10**9)

    monkeypatch.setattr(_engine.Context, "distinct", forced)
    pd.testing.assert_frame_equal(compute(tiny, "M", level="team"), dense)


def test_compute_levels_equals_separate_calls(tiny: Dataset) -> None:
    from amtools.kpi import compute_levels

    tables = compute_levels(tiny, "Q", PERIODS, params={"comparison": "previous"})
    assert list(tables) == ["manager", "team", "segment", "company"]
    for level, frame in tables.items():
        expected = compute(tiny, "Q", PERIODS, level=level, params={"comparison": "previous"})
        pd.testing.assert_frame_equal(frame, expected)
    # order independence: company first, then manager
    again = compute_levels(tiny, "Q", PERIODS, levels=("company", "manager"))
    pd.testing.assert_frame_equal(again["manager"], compute(tiny, "Q", PERIODS))
    with pytest.raises(ParameterError):
        compute_levels(tiny, "Q", PERIODS, levels=("manager", "region"))


# -- plausibility audit: pooled growth and NPS, reasons ---------------------------------------


def _growth_ds() -> Dataset:
    """Two B2B managers of one team; client G2 moved from A to B after its 2025Q3 deal."""
    managers = _frame(
        {"manager_id": ["A", "B"], "name": ["A", "B"], "segment": ["B2B"] * 2, "team": ["T"] * 2},
        strings=("manager_id", "name", "segment", "team"),
    )
    clients = _frame(
        {
            # G1 (A) and G2 (now B) existed a year ago; G3 (B) was acquired in 2026Q1,
            # G4 (A) in 2026Q3 itself (not an existing client of 2026Q3)
            "client_id": ["G1", "G2", "G3", "G4"],
            "manager_id": ["A", "B", "B", "A"],
            "acquired_date": ["2024-01-10", "2024-02-01", "2026-03-01", "2026-08-20"],
        },
        strings=("client_id", "manager_id"),
        dates=("acquired_date",),
    )
    deals = _frame(
        {
            "deal_id": ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"],
            "client_id": ["G1", "G1", "G1", "G2", "G2", "G3", "G3", "G4"],
            # d3 was sold by A before G2 was handed over to B
            "manager_id": ["A", "A", "A", "A", "B", "B", "B", "A"],
            "stage": ["won"] * 8,
            "amount": [10.0, 100, 150, 400, 200, 50, 100, 999],
            "closed_date": [
                "2024-01-10",
                "2025-08-15",
                "2026-08-15",
                "2025-07-10",
                "2026-07-20",
                "2026-03-01",
                "2026-09-01",
                "2026-08-20",
            ],
        },
        strings=("deal_id", "client_id", "manager_id", "stage"),
        dates=("closed_date",),
    )
    return Dataset({"managers": managers, "clients": clients, "deals": deals})


def test_revenue_growth_rollup_pools_revenue_of_current_owners() -> None:
    from amtools.kpi import compute_levels

    t = compute_levels(_growth_ds(), "Q", ["2026Q3"])
    kpi = "revenue_growth_existing"
    # A: G1 2026Q3 150 / 2025Q3 100 - 1 = +0.5 (G4 was acquired in the period: left out)
    assert val(t["manager"], "A", "2026Q3", kpi) == pytest.approx(0.5)
    assert row(t["manager"], "A", "2026Q3", kpi)["n"] == 1
    # B owns G2 now, so G2's 2025Q3 deal sold by A (400) is B's base; G3 (acquired 2026Q1,
    # before the period) adds 100 to the numerator only: (200 + 100) / 400 - 1 = -0.25
    assert val(t["manager"], "B", "2026Q3", kpi) == pytest.approx(-0.25)
    assert row(t["manager"], "B", "2026Q3", kpi)["n"] == 1
    # team, segment, company: revenue pooled, (150 + 300) / (100 + 400) - 1 = -0.10 -- the
    # base-weighted mean of +0.5 (weight 100) and -0.25 (weight 400), never their plain
    # mean +0.125: a big book that shrinks outweighs a small one that grows
    for level, who in (("team", "T"), ("segment", "B2B"), ("company", "all")):
        assert val(t[level], who, "2026Q3", kpi) == pytest.approx(-0.10), level
        assert row(t[level], who, "2026Q3", kpi)["n"] == 2, level


def test_nps_rollup_is_pooled_over_responses() -> None:
    managers = _frame(
        {"manager_id": ["P", "Q"], "name": ["P", "Q"], "segment": ["B2B"] * 2},
        strings=("manager_id", "name", "segment"),
    )
    deals = _frame(
        {
            "deal_id": ["d1"],
            "client_id": ["X"],
            "manager_id": ["P"],
            "stage": ["won"],
            "amount": [1.0],
            "closed_date": ["2026-07-01"],
        },
        strings=("deal_id", "client_id", "manager_id", "stage"),
        dates=("closed_date",),
    )
    # P: 10 responses, 6 promoters (10), 1 detractor (3), 3 passives (8) -> 60 - 10 = +50
    # Q: 40 responses, 8 promoters (9), 16 detractors (5), 16 passives (7) -> 20 - 40 = -20
    scores = [10] * 6 + [3] + [8] * 3 + [9] * 8 + [5] * 16 + [7] * 16
    surveys = _frame(
        {
            "client_id": ["X"] * 50,
            "manager_id": ["P"] * 10 + ["Q"] * 40,
            "date": ["2026-08-01"] * 50,
            "nps": [float(s) for s in scores],
        },
        strings=("client_id", "manager_id"),
        dates=("date",),
    )
    ds = Dataset({"managers": managers, "deals": deals, "surveys": surveys})
    k = compute(ds, "Q", ["2026Q3"])
    assert val(k, "P", "2026Q3", "nps") == pytest.approx(50)
    assert val(k, "Q", "2026Q3", "nps") == pytest.approx(-20)
    # company: (6 + 8) promoters - (1 + 16) detractors over 50 responses = -6, the
    # response-weighted mean (10 x 50 - 40 x 20) / 50, not the managers' mean +15
    c = compute(ds, "Q", ["2026Q3"], level="company")
    assert val(c, "all", "2026Q3", "nps") == pytest.approx(-6)
    assert row(c, "all", "2026Q3", "nps")["n"] == 50


def test_every_reason_is_a_registered_template(tiny: Dataset) -> None:
    from amtools.kpi.reasons import REASONS, parse_reason, reason_text

    assert reason_text("needs_table", table="surveys") == "needs table surveys"
    assert parse_reason("no revenue from existing clients in 2025Q3") == (
        "no_existing_revenue",
        {"period": "2025Q3"},
    )
    assert parse_reason("something else") is None
    # reasons emitted on the tiny data, on it without optional tables and on a tiny
    # dataset without deals columns all parse back to a REASONS key
    frames = [compute(tiny, "Q", PERIODS, level=lv) for lv in ("manager", "segment")]
    bare = tiny.replace(deals=tiny["deals"].drop(columns=["cost", "product"]))
    frames.append(compute(Dataset({k: bare[k] for k in ("managers", "deals")}), "Q", PERIODS))
    seen = set()
    for f in frames:
        for text in f["reason"].dropna().unique():
            parsed = parse_reason(text)
            assert parsed is not None, text
            seen.add(parsed[0])
    assert {"needs_table", "needs_column", "segment_only", "no_closed_deals"} <= seen
    assert seen <= set(REASONS)


def test_periods_before_the_hire_date_are_not_available(tiny: Dataset) -> None:
    # M1 hired long ago; M2 "hired" 2025-02-10 although it has deals in January (the data
    # wins: its Q1 cells keep their values); idle M3 hired 2025-04-15: Q1 ended before,
    # so its Q1 counts are not an honest 0 but "not yet hired"; Q2 (hired mid-quarter) is 0
    managers = tiny["managers"].assign(
        hire_date=D(["2020-01-01", "2025-02-10", "2025-04-15"]).astype("datetime64[ns]")
    )
    k = compute(tiny.replace(managers=managers), "Q", PERIODS)
    m3_q1 = k[(k["manager_id"] == "M3") & (k["period"] == "2025Q1")]
    assert (m3_q1["status"] == "not_available").all()
    assert set(m3_q1["reason"]) == {"not_yet_hired"}
    assert {reason_en(r) for _, r in m3_q1.iterrows()} == {"not yet hired (hire date 2025-04-15)"}
    assert val(k, "M3", "2025Q2", "sales_volume") == 0
    assert row(k, "M3", "2025Q2", "sales_volume")["status"] == "ok"
    base = compute(tiny, "Q", PERIODS)
    for who in ("M1", "M2"):
        pd.testing.assert_frame_equal(
            k[k["manager_id"] == who].reset_index(drop=True),
            base[base["manager_id"] == who].reset_index(drop=True),
        )
    # roll-ups pool events and are unchanged
    pd.testing.assert_frame_equal(
        compute(tiny.replace(managers=managers), "Q", PERIODS, level="team"),
        compute(tiny, "Q", PERIODS, level="team"),
    )
