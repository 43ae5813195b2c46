"""Tests for amtools.budget: quotas, scenarios, costs, policy validation, plan vs actual."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import amtools.budget as budget
from amtools.budget import plan, plan_vs_actual, resolve_policy
from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError, PolicyError
from amtools.core.problems import DataValidationError
from amtools.core.settings import read_params

# -- hand-made inputs --------------------------------------------------------------------------
# Four managers: M1, M2, M3 in B2B team A (M3 inactive), M4 in B2C team B.
# Monthly base forecast: M1 100k, M2 300k, M3 100k, M4 200k, flat unless a profile is given.
# Intervals: lo_80 = 0.8 yhat, hi_80 = 1.2 yhat, lo_95 = 0.7 yhat, hi_95 = 1.3 yhat at every
# level. The forecast starts 2026-10 (history ends 2026-09-30), so with a January fiscal
# year the plan year is FY2027 and needs h >= 15.

MONTHLY = {"M1": 100_000.0, "M2": 300_000.0, "M3": 100_000.0, "M4": 200_000.0}


def make_managers(**overrides: list) -> pd.DataFrame:
    data = {
        "manager_id": ["M1", "M2", "M3", "M4"],
        "name": ["Ann", "Bob", "Cid", "Dan"],
        "segment": ["B2B", "B2B", "B2B", "B2C"],
        "team": ["A", "A", "A", "B"],
        "base_salary": [100_000.0, np.nan, 90_000.0, 80_000.0],
        "active": [True, True, False, True],
    }
    data.update(overrides)
    return pd.DataFrame(
        {
            "manager_id": pd.array(data["manager_id"], dtype="string"),
            "name": pd.array(data["name"], dtype="string"),
            "segment": pd.array(data["segment"], dtype="string"),
            "team": pd.array(data["team"], dtype="string"),
            "base_salary": pd.array(data["base_salary"], dtype="float64"),
            "active": pd.array(data["active"], dtype="boolean"),
        }
    )


def make_deals(extra: list[tuple] | None = None) -> pd.DataFrame:
    # Trailing window for cost of sales: 2025-10-01 .. 2026-09-30.
    # B2B: D1 1000 with cost 600 (counts), D2 1000 without cost (left out) -> ratio 0.6;
    #      D4 closed 2025-01 is outside the window.  B2C: D3 500 with cost 200 -> ratio 0.4.
    rows = [
        ("D1", "C1", "M1", "won", 1000.0, "2026-03-10", 600.0),
        ("D2", "C2", "M2", "won", 1000.0, "2026-09-30", np.nan),
        ("D3", "C3", "M4", "won", 500.0, "2026-01-05", 200.0),
        ("D4", "C1", "M1", "won", 9999.0, "2025-01-01", 1.0),
        ("D5", "C1", "M1", "lost", 7777.0, "2026-05-01", np.nan),
    ] + (extra or [])
    frame = pd.DataFrame(
        rows,
        columns=["deal_id", "client_id", "manager_id", "stage", "amount", "closed_date", "cost"],
    )
    for col in ("deal_id", "client_id", "manager_id", "stage"):
        frame[col] = frame[col].astype("string")
    frame["closed_date"] = pd.to_datetime(frame["closed_date"])
    return frame


def make_clients() -> pd.DataFrame:
    # Active at the end of 2026-09-30: C1 (B2B, M1; acquired by deal D4), C2 (B2B, owned by
    # inactive M3: still a client; acquired by D2 that day) -> active B2B clients = 2.
    # C3 (B2C) churned 2026-01-01 but won deal D3 on 2026-01-05: a win-back, so active
    # (the one rule, amtools.kpi.clients) -> B2C = 1.
    return pd.DataFrame(
        {
            "client_id": pd.array(["C1", "C2", "C3"], dtype="string"),
            "manager_id": pd.array(["M1", "M3", "M4"], dtype="string"),
            "churned_date": pd.to_datetime([None, None, "2026-01-01"]),
        }
    )


def make_dataset(
    managers: pd.DataFrame | None = None, deals: pd.DataFrame | None = None
) -> Dataset:
    return Dataset(
        {
            "managers": make_managers() if managers is None else managers,
            "clients": make_clients(),
            "deals": make_deals() if deals is None else deals,
        },
        meta={"currency": "RUB"},
    )


def make_forecast(
    monthly: dict[str, float | list[float]] | None = None,
    managers: pd.DataFrame | None = None,
    *,
    start: str = "2026-10-01",
    h: int = 15,
    ratios: dict[str, float] | None = None,
    company_ratios: dict[str, float] | None = None,
) -> pd.DataFrame:
    """A reconciled forecast frame: manager rows plus their team/segment/company sums."""
    monthly = MONTHLY if monthly is None else monthly
    managers = make_managers() if managers is None else managers
    ratios = ratios or {"lo_80": 0.8, "hi_80": 1.2, "lo_95": 0.7, "hi_95": 1.3}
    months = pd.date_range(start, periods=h, freq="MS")
    info = managers.set_index("manager_id")
    rows = []
    for mid, values in monthly.items():
        series = np.broadcast_to(np.asarray(values, dtype=float), (h,))
        for ds, y in zip(months, series, strict=True):
            rows.append(
                {
                    "mid": mid,
                    "seg": info.at[mid, "segment"],
                    "team": info.at[mid, "team"],
                    "ds": ds,
                    "yhat": y,
                }
            )
    mgr = pd.DataFrame(rows)
    parts = [mgr.assign(unique_id="manager/" + mgr["mid"], level="manager")]
    for level, key, prefix in (("team", "team", "team/"), ("segment", "seg", "segment/")):
        g = mgr.groupby([key, "ds"], as_index=False)["yhat"].sum()
        parts.append(g.assign(unique_id=prefix + g[key], level=level))
    g = mgr.groupby("ds", as_index=False)["yhat"].sum()
    parts.append(g.assign(unique_id="company", level="company"))
    frame = pd.concat(parts, ignore_index=True)[["unique_id", "level", "ds", "yhat"]]
    frame.insert(3, "model", "ets")
    for col, r in ratios.items():
        frame[col] = frame["yhat"] * r
    if company_ratios:
        is_company = frame["level"] == "company"
        for col, r in company_ratios.items():
            frame.loc[is_company, col] = frame.loc[is_company, "yhat"] * r
    return frame


@pytest.fixture
def ds() -> Dataset:
    return make_dataset()


@pytest.fixture
def fc() -> pd.DataFrame:
    return make_forecast()


# -- quotas ------------------------------------------------------------------------------------


def test_bottom_up_quotas_reallocate_inactive_within_team(ds: Dataset, fc: pd.DataFrame) -> None:
    b = plan(fc, ds, policy={"uplift": 0.1})
    assert b.fiscal_year == 2027
    assert [m.strftime("%Y-%m") for m in b.months][0] == "2027-01"
    assert len(b.months) == 12
    # M3 is inactive: no quota; its 100k/month goes to M1 and M2 in proportion 100:300
    # -> M1 125k, M2 375k; x 1.1 uplift -> 137.5k and 412.5k; M4 200k x 1.1 = 220k.
    assert "M3" not in set(b.quotas["manager_id"])
    monthly = b.quotas.groupby("manager_id")["quota"].unique()
    assert monthly["M1"].tolist() == pytest.approx([137_500.0])
    assert monthly["M2"].tolist() == pytest.approx([412_500.0])
    assert monthly["M4"].tolist() == pytest.approx([220_000.0])
    annual = b.annual_quotas.set_index("manager_id")
    assert annual.loc["M1", "forecast"] == pytest.approx(1_500_000.0)
    assert annual.loc["M2", "quota"] == pytest.approx(4_950_000.0)
    assert annual["uplift"].tolist() == pytest.approx([0.1, 0.1, 0.1])
    # The company forecast is preserved by the reallocation: (100+300+100+200)k x 12.
    assert annual["forecast"].sum() == pytest.approx(8_400_000.0)
    assert b.assumptions["reallocations"][0]["to"] == ["M1", "M2"]
    assert b.assumptions["inactive_managers"] == ["M3"]


def test_inactive_manager_alone_in_team_goes_to_segment(fc: pd.DataFrame) -> None:
    # Put M3 in its own team C: nobody active there, so its forecast goes to the B2B
    # segment's active managers M1:M2 = 1:3 -> M1 gets 25k more a month, M2 75k.
    managers = make_managers(team=["A", "A", "C", "B"])
    b = plan(make_forecast(managers=managers), make_dataset(managers), policy={"uplift": 0.0})
    annual = b.annual_quotas.set_index("manager_id")["quota"]
    assert annual["M1"] == pytest.approx(125_000.0 * 12)
    assert annual["M2"] == pytest.approx(375_000.0 * 12)
    assert b.assumptions["reallocations"][0]["scope"] == "segment"
    assert any("within the segment" in str(n) for n in b.assumptions["notes"])


def test_inactive_forecast_split_equally_when_team_has_no_forecast(ds: Dataset) -> None:
    # M1 and M2 forecast nothing: M3's 100k a month is split 50/50, bounds included
    # (lo_80 0.8 x 100k -> 40k each, with the manager scenario basis).
    fc = make_forecast({"M1": 0.0, "M2": 0.0, "M3": 100_000.0, "M4": 200_000.0})
    pol = {"uplift": 0.0, "scenario_basis": "manager", "interval_aggregation": "sum"}
    b = plan(fc, ds, policy=pol)
    annual = b.annual_quotas.set_index("manager_id")["quota"]
    assert annual["M1"] == pytest.approx(600_000.0) and annual["M2"] == pytest.approx(600_000.0)
    low = b.revenue[(b.revenue["scenario"] == "low") & (b.revenue["manager_id"] == "M1")]
    assert low["revenue"].tolist() == pytest.approx([40_000.0] * 12)


def test_quotas_add_up_across_levels(ds: Dataset, fc: pd.DataFrame) -> None:
    b = plan(
        fc, ds, policy={"method": "top_down", "company_target": 12_000_000, "phasing": "manager"}
    )
    q = b.quotas
    team = b.quota_rollup("team").set_index(["segment", "team", "month"])["quota"]
    seg = b.quota_rollup("segment").set_index(["segment", "month"])["quota"]
    company = b.quota_rollup("company").set_index("month")["quota"]
    for month in b.months:
        rows = q[q["month"] == month]
        for (s, t), part in rows.groupby(["segment", "team"]):
            assert part["quota"].sum() == pytest.approx(team[(s, t, month)])
        for s, part in rows.groupby("segment"):
            assert part["quota"].sum() == pytest.approx(seg[(s, month)])
        assert rows["quota"].sum() == pytest.approx(company[month])
    # Annual = sum of months, and the company total is the target.
    by_mgr = q.groupby("manager_id")["quota"].sum()
    annual = b.annual_quotas.set_index("manager_id")["quota"]
    assert by_mgr.sort_index().to_numpy() == pytest.approx(annual.sort_index().to_numpy())
    assert company.sum() == pytest.approx(12_000_000.0)
    plan_revenue = b.revenue[b.revenue["scenario"] == "plan"]["revenue"].sum()
    assert plan_revenue == pytest.approx(12_000_000.0)


def test_top_down_allocates_by_forecast_share(ds: Dataset, fc: pd.DataFrame) -> None:
    # Annual forecasts after reallocation: M1 1.5M, M2 4.5M, M4 2.4M (total 8.4M).
    # Target 12M -> M1 = 12M x 1.5/8.4 = 2,142,857.14.
    b = plan(fc, ds, policy={"method": "top_down", "company_target": 12_000_000})
    annual = b.annual_quotas.set_index("manager_id")
    assert annual.loc["M1", "quota"] == pytest.approx(12e6 * 1.5 / 8.4)
    assert annual.loc["M1", "share"] == pytest.approx(1.5 / 8.4)
    # Per-segment targets: B2B 6M over M1:M2 = 1:3, B2C 3M to M4 alone.
    b = plan(fc, ds, policy={"method": "top_down", "company_target": {"B2B": 6e6, "B2C": 3e6}})
    annual = b.annual_quotas.set_index("manager_id")["quota"]
    assert annual.to_dict() == pytest.approx({"M1": 1.5e6, "M2": 4.5e6, "M4": 3e6})


def test_monthly_phasing_follows_forecast_seasonality(ds: Dataset) -> None:
    # M4's forecast doubles in December 2027 (the 15th forecast month): 12 months, 11 x 200k
    # + 400k = 2.6M. Top-down B2C target 5.2M (twice the forecast) -> every month doubles.
    profile = [200_000.0] * 14 + [400_000.0]
    fc = make_forecast({**MONTHLY, "M4": profile})
    targets = {"B2B": 6e6, "B2C": 5.2e6}
    b = plan(fc, ds, policy={"method": "top_down", "company_target": targets, "phasing": "manager"})
    m4 = b.quotas[b.quotas["manager_id"] == "M4"].set_index("month")["quota"]
    assert m4[pd.Timestamp("2027-12-01")] == pytest.approx(800_000.0)
    assert m4[pd.Timestamp("2027-01-01")] == pytest.approx(400_000.0)
    # Company phasing: company forecast is 700k a month except 900k in December (total
    # 8.6M); M4's 5.2M is spread by that profile: December = 5.2M x 0.9/8.6.
    b = plan(
        fc,
        ds,
        policy={
            "method": "top_down",
            "company_target": {"B2B": 6e6, "B2C": 5.2e6},
            "phasing": "company",
        },
    )
    m4 = b.quotas[b.quotas["manager_id"] == "M4"].set_index("month")["quota"]
    assert m4[pd.Timestamp("2027-12-01")] == pytest.approx(5.2e6 * 0.9 / 8.6)
    assert m4.sum() == pytest.approx(5.2e6)


def test_default_segment_phasing_smooths_manager_quotas(ds: Dataset) -> None:
    # M2's forecast doubles in December 2027 (300k -> 600k); M1 is flat. B2B segment per
    # month: 100 + 300 + 100 (M3, inactive) = 500k, December 800k. With segment phasing M1's
    # quota takes the segment's shape too: December / January = 800 / 500.
    fc = make_forecast({**MONTHLY, "M2": [300_000.0] * 14 + [600_000.0]})
    b = plan(fc, ds, policy={"uplift": 0.0})
    q = b.quotas.set_index(["manager_id", "month"])["quota"]
    dec, jan = pd.Timestamp("2027-12-01"), pd.Timestamp("2027-01-01")
    assert q[("M1", dec)] / q[("M1", jan)] == pytest.approx(800 / 500)
    assert q[("M2", dec)] / q[("M2", jan)] == pytest.approx(800 / 500)
    # Annual quotas are unchanged by phasing, and each segment-month equals its forecast.
    annual = b.annual_quotas.set_index("manager_id")
    assert annual["quota"].to_numpy() == pytest.approx(annual["forecast"].to_numpy())
    b2b = b.quotas[b.quotas["segment"] == "B2B"].groupby("month")["quota"].sum()
    assert b2b[dec] == pytest.approx(800_000.0) and b2b[jan] == pytest.approx(500_000.0)


def test_uplift_per_segment_and_negative_forecasts_floored(ds: Dataset) -> None:
    # M4's yhat is negative in every month: floored at 0 -> quota 0.
    fc = make_forecast({**MONTHLY, "M4": -50_000.0})
    b = plan(fc, ds, policy={"uplift": {"B2B": 0.2, "B2C": 0.5}})
    annual = b.annual_quotas.set_index("manager_id")["quota"]
    assert annual["M1"] == pytest.approx(125_000.0 * 12 * 1.2)
    assert annual["M4"] == 0.0
    assert (b.revenue["revenue"] >= 0).all()


def test_active_manager_without_forecast_gets_zero_quota_and_costs(fc: pd.DataFrame) -> None:
    managers = pd.concat(
        [
            make_managers(),
            make_managers().iloc[[3]].assign(manager_id=pd.array(["M5"], dtype="string")),
        ],
        ignore_index=True,
    )
    b = plan(fc, make_dataset(managers))
    assert b.annual_quotas.set_index("manager_id").loc["M5", "quota"] == 0.0
    assert b.assumptions["managers_without_forecast"] == ["M5"]
    assert b.assumptions["headcount"] == {"B2B": 2, "B2C": 2}


# -- scenarios and costs -----------------------------------------------------------------------


def test_scenarios_ordered_and_from_intervals(ds: Dataset, fc: pd.DataFrame) -> None:
    b = plan(fc, ds)
    s = b.summary.set_index("scenario")
    assert b.scenarios == ["plan", "low", "base", "high", "aggressive"]
    assert s.loc["base", "revenue"] == pytest.approx(8_400_000.0)
    # Default: months correlated 0.5. Company yhat 700k a month, lo_80 = 0.8 x yhat, so
    # d = -140k every month: year deviation = sqrt(0.5 x 12 d^2 + 0.5 x (12 d)^2)
    # = 140k x sqrt(78) = 1.2364M (sum: 1.68M, independent: 0.485M).
    spread = 140_000.0 * np.sqrt(78.0)
    assert s.loc["low", "revenue"] == pytest.approx(8_400_000.0 - spread)
    assert s.loc["high", "revenue"] == pytest.approx(8_400_000.0 + spread)
    assert s.loc["aggressive", "revenue"] == pytest.approx(1.15 * 8_400_000.0)
    assert s.loc["low", "revenue"] <= s.loc["base", "revenue"] <= s.loc["high", "revenue"]
    assert s.loc["low", "margin"] <= s.loc["base", "margin"] <= s.loc["high", "margin"]
    # costs = sum of categories; margin = revenue - costs; margin_pct = margin / revenue
    cats = list(budget.COST_CATEGORIES)
    assert s[cats].sum(axis=1).to_numpy() == pytest.approx(s["costs"].to_numpy())
    assert (s["revenue"] - s["costs"]).to_numpy() == pytest.approx(s["margin"].to_numpy())
    assert (s["margin"] / s["revenue"]).to_numpy() == pytest.approx(s["margin_pct"].to_numpy())
    # The costs frame adds up to the summary.
    by = b.costs.groupby("scenario")["amount"].sum()
    assert by.reindex(s.index).to_numpy() == pytest.approx(s["costs"].to_numpy())


def test_scenario_basis_company_vs_manager(ds: Dataset) -> None:
    # Company lo_80 is 0.9 x yhat while every manager's own lo_80 is 0.8 x yhat: the
    # company basis gives low = 0.9 x base, the manager basis the sum of bounds, 0.8 x base.
    # (Months at their bound together: interval_aggregation "sum".)
    fc = make_forecast(company_ratios={"lo_80": 0.9})
    summed = {"interval_aggregation": "sum"}
    low = plan(fc, ds, policy=summed).summary.set_index("scenario").loc["low", "revenue"]
    assert low == pytest.approx(0.9 * 8_400_000.0)
    low = (
        plan(fc, ds, policy={**summed, "scenario_basis": "manager"})
        .summary.set_index("scenario")
        .loc["low", "revenue"]
    )
    assert low == pytest.approx(0.8 * 8_400_000.0)


def test_independent_months_narrow_the_annual_range(ds: Dataset, fc: pd.DataFrame) -> None:
    # Company yhat 700k a month, lo_80 = 0.8 x yhat: monthly deviation -140k. Summed over
    # 12 months: -1.68M (low = 0.8 x 8.4M); independent months: -140k x sqrt(12), so
    # low = 8.4M x (1 - 0.2 / sqrt(12)) and high = 8.4M x (1 + 0.2 / sqrt(12)).
    b = plan(fc, ds, policy={"interval_aggregation": "independent"})
    s = b.summary.set_index("scenario")["revenue"]
    assert s["low"] == pytest.approx(8_400_000.0 * (1 - 0.2 / np.sqrt(12)))
    assert s["high"] == pytest.approx(8_400_000.0 * (1 + 0.2 / np.sqrt(12)))
    assert s["base"] == pytest.approx(8_400_000.0)
    # The same one ratio for every manager and month; manager basis gives the same here.
    low = b.revenue[b.revenue["scenario"] == "low"]
    base = b.revenue[b.revenue["scenario"] == "base"]
    ratio = low["revenue"].to_numpy() / base["revenue"].to_numpy()
    assert ratio == pytest.approx(np.full(len(ratio), 1 - 0.2 / np.sqrt(12)))
    pol = {"interval_aggregation": "independent", "scenario_basis": "manager"}
    low_m = plan(fc, ds, policy=pol).summary.set_index("scenario").loc["low", "revenue"]
    assert low_m == pytest.approx(s["low"])


def test_interval_correlation_spans_independent_to_sum(ds: Dataset, fc: pd.DataFrame) -> None:
    # rho = 1 is the sum of monthly bounds, rho = 0 independent months; in between the
    # annual range grows with rho (d = -140k a month: deviation 140k x sqrt(12 + 132 rho)).
    def low(**pol: object) -> float:
        return float(plan(fc, ds, policy=pol).summary.set_index("scenario").loc["low", "revenue"])

    assert low(interval_correlation=1.0) == pytest.approx(low(interval_aggregation="sum"))
    assert low(interval_correlation=0.0) == pytest.approx(low(interval_aggregation="independent"))
    assert low(interval_correlation=0.25) == pytest.approx(8_400_000.0 - 140_000.0 * np.sqrt(45))
    lows = [low(interval_correlation=r) for r in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert lows == sorted(lows, reverse=True)
    with pytest.raises(PolicyError, match="interval_correlation"):
        plan(fc, ds, policy={"interval_correlation": 1.5})


def test_low_bound_below_zero_counts_as_zero(ds: Dataset) -> None:
    # Company lo_80 = -0.5 x yhat (a negative bound): months count at 0, d = -700k each;
    # correlated year deviation 700k x sqrt(78) = 6.18M, low = 8.4M - 6.18M = 2.22M >= 0.
    fc = make_forecast(company_ratios={"lo_80": -0.5})
    s = plan(fc, ds).summary.set_index("scenario")["revenue"]
    assert s["low"] == pytest.approx(8_400_000.0 - 700_000.0 * np.sqrt(78.0))


def test_named_scenario_and_removing_one(ds: Dataset, fc: pd.DataFrame) -> None:
    pol = {
        "scenarios": {"aggressive": None, "stress": {"column": "lo_95", "uplift": -0.1}},
        "interval_aggregation": "sum",
    }
    b = plan(fc, ds, policy=pol)
    s = b.summary.set_index("scenario")
    assert "aggressive" not in s.index
    assert s.loc["stress", "revenue"] == pytest.approx(8_400_000.0 * 0.7 * 0.9)


def test_cost_categories_worked_example(ds: Dataset, fc: pd.DataFrame) -> None:
    b = plan(fc, ds, policy={"uplift": 0.1})
    p = b.summary.set_index("scenario").loc["plan"]
    # Plan revenue: B2B (137.5k + 412.5k) x 12 = 6.6M, B2C 220k x 12 = 2.64M -> 9.24M.
    assert p["revenue"] == pytest.approx(9_240_000.0)
    # Cost of sales: 6.6M x 0.6 + 2.64M x 0.4 = 3.96M + 1.056M.
    assert p["cost_of_sales"] == pytest.approx(5_016_000.0)
    # Payroll: active M1 100k + M2 (empty -> default 90k) + M4 80k = 270k a month.
    assert p["payroll"] == pytest.approx(270_000.0 * 12)
    # Bonus at plan (attainment 1, default score 100): 270k x 12 x 0.25.
    assert p["bonus"] == pytest.approx(810_000.0)
    assert p["payroll_tax"] == pytest.approx(0.3 * (3_240_000.0 + 810_000.0))
    # Marketing: B2C 5 % of 2.64M = 132k; B2B 2 active clients x 1500 x 12 = 36k.
    assert p["marketing"] == pytest.approx(168_000.0)
    # Other: 25k per head x 3 active managers x 12.
    assert p["other"] == pytest.approx(900_000.0)
    assert b.assumptions["cost_of_sales_ratio"] == pytest.approx({"B2B": 0.6, "B2C": 0.4})
    assert b.assumptions["salary_from_default"] == 1


def test_bonus_uses_attainment_cap_threshold_and_latest_score(
    ds: Dataset, fc: pd.DataFrame
) -> None:
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M1", "M2"],
            "period": ["2026Q2", "2026Q3", "2026Q3"],
            "score": [90.0, 50.0, 80.0],
        }
    )
    b = plan(fc, ds, policy={"uplift": 0.1}, scores=scores)
    bon = b.bonuses.set_index(["scenario", "manager_id"])
    # M1's latest score is 50 (2026Q3): plan bonus 100k x 12 x 0.25 x 1 x 0.5 = 150k.
    assert bon.loc[("plan", "M1"), "bonus"] == pytest.approx(150_000.0)
    # M4 has no score -> default 100; base attainment 1/1.1: 80k x 12 x 0.25 / 1.1.
    assert bon.loc[("base", "M4"), "attainment"] == pytest.approx(1 / 1.1)
    assert bon.loc[("base", "M4"), "bonus"] == pytest.approx(240_000.0 / 1.1)
    assert b.assumptions["scored_managers"] == 2
    # use_score false: every manager at default_score (100) -> the full target pool.
    b = plan(fc, ds, policy={"uplift": 0.1, "bonus": {"use_score": False}}, scores=scores)
    assert b.summary.set_index("scenario").loc["plan", "bonus"] == pytest.approx(810_000.0)
    # Quotas 3x the forecast: attainment 1/3 in base, below the 0.5 threshold -> no bonus.
    b = plan(fc, ds, policy={"uplift": 2.0})
    assert b.summary.set_index("scenario").loc["base", "bonus"] == 0.0
    # A cap of 1.0 limits the high scenario (attainment 1.2 with zero uplift) to the target bonus.
    b = plan(fc, ds, policy={"uplift": 0.0, "bonus": {"cap": 1.0}})
    assert b.summary.set_index("scenario").loc["high", "bonus"] == pytest.approx(810_000.0)


def test_marketing_kinds_and_other_costs(ds: Dataset, fc: pd.DataFrame) -> None:
    pol = {
        "uplift": 0.0,
        "marketing": {
            "B2B": {"kind": "share_of_revenue", "rate": 0.02},
            "B2C": {"kind": "fixed", "amount": 10_000},
        },
        "other": {"per_head_month": 0, "fixed_month": 50_000, "share_of_revenue": 0.01},
    }
    b = plan(fc, ds, policy=pol)
    base = b.summary.set_index("scenario").loc["base"]
    # B2B revenue 6M x 2 % + B2C 10k x 12.
    assert base["marketing"] == pytest.approx(120_000.0 + 120_000.0)
    # Other: 50k x 12 fixed (no segment) + 1 % of 8.4M.
    assert base["other"] == pytest.approx(600_000.0 + 84_000.0)
    fixed = b.costs[(b.costs["category"] == "other") & b.costs["segment"].isna()]
    assert fixed.groupby("scenario")["amount"].sum().unique().tolist() == pytest.approx([600_000.0])


def test_segment_summary_adds_up_to_summary(ds: Dataset, fc: pd.DataFrame) -> None:
    pol = {"other": {"fixed_month": 10_000}}
    b = plan(fc, ds, policy=pol)
    seg = b.segment_summary()
    # Per scenario: B2B, B2C and the unallocated fixed costs (empty segment).
    assert len(seg) == 3 * len(b.scenarios)
    totals = seg.groupby("scenario", sort=False)[["revenue", "costs", "margin"]].sum()
    expected = b.summary.set_index("scenario")[["revenue", "costs", "margin"]]
    assert totals.loc[expected.index].to_numpy() == pytest.approx(expected.to_numpy())
    base = seg[seg["scenario"] == "base"].set_index("segment", drop=False)
    # base revenue: B2B (125k + 375k) x 12 = 6M, B2C 200k x 12 = 2.4M
    assert base.loc["B2B", "revenue"] == pytest.approx(6_000_000.0)
    assert base.loc["B2C", "revenue"] == pytest.approx(2_400_000.0)
    assert base["segment"].isna().sum() == 1


def test_planned_hires_add_costs_from_their_start_month(ds: Dataset, fc: pd.DataFrame) -> None:
    before = plan(fc, ds).summary.set_index("scenario")
    hires = [
        {"segment": "B2C", "month": "2027-04", "count": 2, "salary": 100_000},
        {"segment": "B2B", "month": "2026-01"},  # before the year: costs all 12 months
    ]
    after = plan(fc, ds, policy={"hires": hires}).summary.set_index("scenario")
    # B2C pair, April..December = 9 months: payroll 2 x 100k x 9 = 1.8M; target bonus
    # 25 % of that = 450k; tax 30 % of 2.25M = 675k; other 2 x 25k x 9 = 450k.
    # B2B hire at the 90k default for 12 months: payroll 1.08M, bonus 270k, tax 405k,
    # other 300k.
    added = after - before
    assert added["payroll"].tolist() == pytest.approx([1_800_000 + 1_080_000] * 5)
    assert added["bonus"].tolist() == pytest.approx([450_000 + 270_000] * 5)
    assert added["payroll_tax"].tolist() == pytest.approx([675_000 + 405_000] * 5)
    assert added["other"].tolist() == pytest.approx([450_000 + 300_000] * 5)
    assert added["revenue"].tolist() == pytest.approx([0.0] * 5)
    b = plan(fc, ds, policy={"hires": hires})
    april = b.costs[(b.costs["scenario"] == "base") & (b.costs["month"] == "2027-04-01")]
    assert not april.duplicated(["segment", "category"]).any()


@pytest.mark.parametrize(
    ("hire", "match"),
    [
        ({"segment": "B2X", "month": "2027-04"}, r"hires\[0\]\.segment"),
        ({"segment": "B2B", "month": "April"}, r"hires\[0\]\.month"),
        ({"segment": "B2B", "month": "2027-04", "count": 0}, r"hires\[0\]\.count"),
        ({"segment": "B2B", "month": "2027-04", "salary": -1}, r"hires\[0\]\.salary"),
        ({"segment": "B2B", "month": "2027-04", "wage": 1}, r"unknown key 'hires\[0\]\.wage'"),
    ],
)
def test_hire_errors(hire: dict, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        resolve_policy({"hires": [hire]})


def test_cost_of_sales_without_cost_data(fc: pd.DataFrame) -> None:
    # Deliberate change: no cost data no longer fails the budget. Revenue plan, quotas and
    # the other costs are planned; cost of sales and margin are "not available".
    deals = make_deals().assign(cost=np.nan)
    b = plan(fc, make_dataset(deals=deals))
    base = b.summary.set_index("scenario").loc["base"]
    assert np.isnan(base["cost_of_sales"]) and np.isnan(base["margin"])
    assert np.isnan(base["costs"]) and np.isnan(base["margin_pct"])
    assert base["revenue"] > 0 and base["payroll"] > 0
    assert b.quotas["quota"].sum() > 0
    assert "cost_of_sales" not in set(b.costs["category"])
    assert set(b.unavailable) == {"cost_of_sales", "margin"}
    assert "deals.cost" in b.unavailable["margin"].text("en")
    assert "deals.cost" in b.unavailable["margin"].text("ru")
    assert any(n.key == "budget.note.no_cost" for n in b.assumptions["notes"])
    b = plan(fc, make_dataset(deals=deals), policy={"cost_of_sales": {"default_ratio": 0.5}})
    assert b.summary.set_index("scenario").loc["base", "cost_of_sales"] == pytest.approx(
        4_200_000.0
    )
    assert b.unavailable == {}
    assert any("default_ratio" in str(n) for n in b.assumptions["notes"])


# -- fiscal years and coverage -----------------------------------------------------------------


def test_forecast_too_short_for_fiscal_year(ds: Dataset) -> None:
    with pytest.raises(PolicyError, match=r"2027-10, 2027-11, 2027-12.*h >= 15"):
        plan(make_forecast(h=12), ds)
    # An explicit earlier fiscal year is partly history: also refused, naming the months.
    with pytest.raises(
        PolicyError, match=r"fiscal year 2026.*starts before the forecast.*fiscal_year=2027"
    ):
        plan(make_forecast(), ds, fiscal_year=2026)


def test_fiscal_year_start_april(ds: Dataset) -> None:
    # With April starts the first fiscal year after 2026-10 is FY2028 (2027-04 .. 2028-03),
    # which a 15-month forecast (to 2027-12) does not cover; 18 months do.
    with pytest.raises(PolicyError, match="h >= 18"):
        plan(make_forecast(), ds, policy={"fiscal_year_start": 4})
    b = plan(make_forecast(h=18), ds, policy={"fiscal_year_start": 4})
    assert b.fiscal_year == 2028
    assert b.months[0] == pd.Timestamp("2027-04-01")
    assert b.months[-1] == pd.Timestamp("2028-03-01")
    assert budget.fiscal_year_months(2027, 4)[0] == pd.Timestamp("2026-04-01")


def test_required_horizon_sizes_the_forecast() -> None:
    # History to Sep 2026: FY2027 (Jan..Dec 2027) needs Oct 2026..Dec 2027 = 15 months;
    # April years: FY2028 (Apr 2027..Mar 2028) needs 18; October years: FY2027 starts next month.
    assert budget.next_fiscal_year("2026-09-30") == 2027
    assert budget.required_horizon("2026-09-30") == 15
    assert budget.required_horizon("2026-09-30", 4) == 18
    assert budget.required_horizon("2026-09-30", 10) == 12
    assert budget.required_horizon("2026-12-31") == 12
    assert budget.required_horizon("2026-09-30", fiscal_year=2028) == 27
    # A forecast of exactly that horizon plans without error.
    b = plan(
        make_forecast(h=budget.required_horizon("2026-09-30", 4)),
        make_dataset(),
        policy={"fiscal_year_start": 4},
    )
    assert b.fiscal_year == 2028


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "match"),
    [
        ({"uplfit": 0.1}, r"unknown key 'uplfit'.*did you mean 'uplift'"),
        ({"bonus": {"shares": 0.2}}, r"unknown key 'bonus\.shares'.*did you mean 'share'"),
        ({"method": "top_down"}, r"needs 'company_target'"),
        ({"method": "top_down", "company_target": 0}, r"'company_target' must be > 0"),
        ({"method": "top_down", "company_target": -5}, r"'company_target' must be > 0"),
        ({"method": "top_down", "company_target": {"B2X": 1.0}}, r"unknown segment 'B2X'"),
        ({"uplift": -1.5}, r"'uplift' must be >= -1"),
        ({"uplift": "ten"}, r"'uplift' must be a number"),
        ({"method": "sideways"}, r"'method' must be one of"),
        ({"fiscal_year_start": 13}, r"fiscal_year_start.*1\.\.12"),
        ({"phasing": "region"}, r"'phasing' must be one of"),
        (
            {"interval_aggregation": "avg"},
            r"'interval_aggregation' must be one of correlated, sum, independent",
        ),
        ({"scenarios": {"low": None}}, r"scenarios low are required"),
        ({"scenarios": {"plan": {"column": "yhat"}}}, r"'plan' is reserved"),
        ({"scenarios": {"wild": {"column": "hi_99"}}}, r"scenarios\.wild\.column"),
        ({"scenarios": {"wild": {"column": "yhat", "uplift": -2}}}, r"scenarios\.wild\.uplift"),
        ({"payroll_tax_rate": 30}, r"'payroll_tax_rate' must be <= 1"),
        ({"default_salary": -1}, r"'default_salary' must be >= 0"),
        ({"marketing": {"B2C": {"kind": "tv"}}}, r"marketing\.B2C must be a mapping with 'kind'"),
        ({"marketing": {"B2B": {"kind": "per_client"}}}, r"needs 'amount'"),
        ({"marketing": {"B2C": {"kind": "share_of_revenue", "rate": 5}}}, r"marketing\.B2C\.rate"),
        ({"bonus": {"threshold": 2.0, "cap": 1.5}}, r"threshold.*above bonus\.cap"),
        ({"cost_of_sales": {"window_months": 0}}, r"window_months"),
    ],
)
def test_policy_errors_name_the_key_and_fix(policy: dict, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        resolve_policy(policy)


def test_shipped_params_file_matches_defaults() -> None:
    assert resolve_policy(read_params("policy/budget")) == resolve_policy({})
    assert resolve_policy(None)["default_salary"] == 90_000.0


def test_per_segment_target_for_unstaffed_segment(fc: pd.DataFrame) -> None:
    managers = make_managers(active=[True, True, False, False])  # no active B2C manager
    pol = {"method": "top_down", "company_target": {"B2B": 6e6, "B2C": 3e6}}
    with pytest.raises(PolicyError, match="target for B2C but no active manager"):
        plan(fc, make_dataset(managers), policy=pol)


def test_bad_scores_are_data_errors(ds: Dataset, fc: pd.DataFrame) -> None:
    bad = pd.DataFrame({"manager_id": ["M1"], "period": ["2026Q3"], "score": [140.0]})
    with pytest.raises(DataValidationError, match=r"scores\.score.*0\.\.100"):
        plan(fc, ds, scores=bad)
    bad = pd.DataFrame({"manager_id": ["M1"], "period": ["Q3 of 2026"], "score": [40.0]})
    with pytest.raises(DataValidationError, match=r"scores\.period"):
        plan(fc, ds, scores=bad)
    with pytest.raises(DataValidationError, match=r"scores\.score"):
        plan(fc, ds, scores=pd.DataFrame({"manager_id": ["M1"], "period": ["2026Q3"]}))


def test_negative_salary_is_a_data_error(fc: pd.DataFrame) -> None:
    managers = make_managers(base_salary=[100_000.0, -5.0, 90_000.0, 80_000.0])
    with pytest.raises(DataValidationError) as err:
        plan(fc, make_dataset(managers))
    text = str(err.value)
    assert "managers.base_salary" in text and "M2" in text and "Fix:" in text


def test_missing_salary_without_default_is_a_data_error(ds: Dataset, fc: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match=r"managers\.base_salary.*M2.*default_salary"):
        plan(fc, ds, policy={"default_salary": None})


def test_bad_segment_and_unknown_forecast_manager(fc: pd.DataFrame) -> None:
    managers = make_managers(segment=["B2B", "B2B", "B2B", "retail"])
    with pytest.raises(DataValidationError, match=r"managers\.segment.*M4"):
        plan(fc, make_dataset(managers))
    extra = make_forecast({"M9": 1.0}, make_managers(manager_id=["M9", "M2", "M3", "M4"]))
    with pytest.raises(DataValidationError, match=r"forecast\.unique_id.*M9"):
        plan(pd.concat([fc, extra[extra["level"] == "manager"]]), make_dataset())


def test_no_active_manager_and_bad_forecast_inputs(fc: pd.DataFrame) -> None:
    managers = make_managers(active=[False, False, False, False])
    with pytest.raises(PolicyError, match="no active managers"):
        plan(fc, make_dataset(managers))
    with pytest.raises(PolicyError, match="ForecastResult"):
        plan([1, 2, 3], make_dataset())
    with pytest.raises(DataValidationError, match=r"forecast\.lo_80"):
        plan(fc.drop(columns="lo_80"), make_dataset())
    with pytest.raises(DataValidationError, match="more than one model"):
        plan(pd.concat([fc, fc]), make_dataset())


def test_forecast_gaps_are_errors_and_unused_bounds_optional(ds: Dataset, fc: pd.DataFrame) -> None:
    # Only the columns the scenarios use are required: without the 95 % bounds all is well.
    b = plan(fc.drop(columns=["lo_95", "hi_95"]), ds)
    assert b.summary.set_index("scenario").loc["base", "revenue"] == pytest.approx(8_400_000.0)
    with pytest.raises(DataValidationError, match=r"forecast\.lo_95"):
        plan(fc.drop(columns=["lo_95"]), ds, policy={"scenarios": {"low": {"column": "lo_95"}}})
    # A manager series that stops early is named, not zero-filled.
    short = fc[~((fc["unique_id"] == "manager/M2") & (fc["ds"] == "2027-06-01"))]
    with pytest.raises(DataValidationError, match=r"forecast\.ds.*manager/M2"):
        plan(short, ds)
    holes = fc.assign(yhat=fc["yhat"].where(fc["unique_id"] != "manager/M4"))
    with pytest.raises(DataValidationError, match=r"forecast\.yhat.*manager/M4"):
        plan(holes, ds)


def test_inputs_not_mutated(ds: Dataset, fc: pd.DataFrame) -> None:
    before_fc = fc.copy()
    before = {name: ds[name].copy() for name in ds}
    plan(fc, ds, policy={"method": "top_down", "company_target": 1e7})
    pd.testing.assert_frame_equal(fc, before_fc)
    for name in ds:
        pd.testing.assert_frame_equal(ds[name], before[name])


def test_forecast_result_object_is_accepted(ds: Dataset, fc: pd.DataFrame) -> None:
    class Result:  # the shape of amtools.forecast.ForecastResult
        forecast = fc

    a = plan(Result(), ds).summary
    b = plan(fc, ds).summary
    pd.testing.assert_frame_equal(a, b)


# -- plan vs actual ----------------------------------------------------------------------------


def test_plan_vs_actual_year_to_date(fc: pd.DataFrame) -> None:
    deals = make_deals(
        [
            ("D10", "C1", "M1", "won", 200_000.0, "2027-01-10", np.nan),
            ("D11", "C2", "M3", "won", 50_000.0, "2027-01-20", np.nan),  # inactive: plan 0
            ("D12", "C2", "M2", "won", 100_000.0, "2027-02-03", np.nan),
            ("D13", "C2", "M2", "lost", 999_999.0, "2027-02-04", np.nan),  # lost: ignored
            ("D14", "C2", "M2", "won", 777_777.0, "2027-02-20", np.nan),  # after asof
        ]
    )
    ds = make_dataset(deals=deals)
    b = plan(fc, ds, policy={"uplift": 0.1})
    pva = plan_vs_actual(b, ds, asof="2027-02-15")
    assert sorted(pva["month"].dt.strftime("%Y-%m").unique()) == ["2027-01", "2027-02"]
    row = pva[(pva["manager_id"] == "M1") & (pva["month"] == "2027-01-01")].iloc[0]
    # M1 January: plan 137.5k, actual 200k -> variance 62.5k, +45.45 %.
    assert row["plan"] == pytest.approx(137_500.0)
    assert row["actual"] == pytest.approx(200_000.0)
    assert row["variance"] == pytest.approx(62_500.0)
    assert row["variance_pct"] == pytest.approx(62_500.0 / 137_500.0)
    m3 = pva[pva["manager_id"] == "M3"]
    assert m3["plan"].sum() == 0.0 and m3["actual"].sum() == pytest.approx(50_000.0)
    assert m3["variance_pct"].isna().all()
    # Totals: actual = all won revenue up to asof in the fiscal year; plan = 2 months of quotas.
    assert pva["actual"].sum() == pytest.approx(350_000.0)
    assert pva["plan"].sum() == pytest.approx(2 * (137_500 + 412_500 + 220_000))
    feb_m2 = pva[(pva["manager_id"] == "M2") & (pva["month"] == "2027-02-01")].iloc[0]
    assert feb_m2["plan_ytd"] == pytest.approx(2 * 412_500.0)
    assert feb_m2["actual_ytd"] == pytest.approx(100_000.0)
    assert not bool(feb_m2["month_complete"])
    assert bool(row["month_complete"])
    # Quotas frame works the same as the plan.
    pd.testing.assert_frame_equal(plan_vs_actual(b.quotas, ds, asof="2027-02-15"), pva)
    # Rolled up: the company row of January = all managers' January; YTD accumulates.
    company = plan_vs_actual(b, ds, asof="2027-02-15", level="company").set_index("month")
    assert list(company.columns[:3]) == ["plan", "actual", "variance"]
    assert company.loc["2027-01-01", "actual"] == pytest.approx(250_000.0)
    assert company.loc["2027-02-01", "actual_ytd"] == pytest.approx(350_000.0)
    assert company.loc["2027-02-01", "plan_ytd"] == pytest.approx(pva["plan"].sum())
    team = plan_vs_actual(b, ds, asof="2027-02-15", level="team")
    assert list(team.columns[:3]) == ["month", "segment", "team"]
    a = team[(team["team"] == "A") & (team["month"] == "2027-01-01")].iloc[0]
    assert a["plan"] == pytest.approx(137_500 + 412_500) and a["actual"] == pytest.approx(250_000)
    with pytest.raises(ParameterError, match="level"):
        plan_vs_actual(b, ds, level="region")
    # Before the fiscal year: nothing to compare yet.
    assert plan_vs_actual(b, ds, asof="2026-12-31").empty


# -- end to end on the demo data ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    from amtools.demo import make_demo
    from amtools.forecast import forecast, monthly_series

    ds = make_demo(seed=0, n_managers=6, end="2026-10-15")  # history to 2026-09-30
    # Fast models only: this tests the budget, not model choice.
    fc = forecast(monthly_series(ds), h=15, models=["seasonal_naive", "naive"], folds=1)
    return ds, fc


def test_plan_on_demo_forecast(demo) -> None:
    ds, fc = demo
    b = plan(fc, ds)
    assert b.fiscal_year == 2027 and b.assumptions["history_end"] == "2026-09-30"
    managers = ds.managers.assign(active=ds.managers["active"].fillna(True))
    active = managers[managers["active"].astype(bool)]
    assert set(b.quotas["manager_id"]) <= set(active["manager_id"])
    assert b.quotas["quota"].ge(0).all()
    # The base forecast keeps the reconciled forecast's company and segment totals.
    fy = fc.forecast[fc.forecast["ds"].isin(b.months)]
    company = fy.loc[fy["unique_id"] == "company", "yhat"].sum()
    assert b.annual_quotas["forecast"].sum() == pytest.approx(company, rel=1e-9)
    for seg, part in b.annual_quotas.groupby("segment"):
        assert part["forecast"].sum() == pytest.approx(
            fy.loc[fy["unique_id"] == f"segment/{seg}", "yhat"].sum(), rel=1e-9
        )
    # Default policy: bottom-up +5 %.
    assert b.quotas["quota"].sum() == pytest.approx(1.05 * company)
    # Scenario ordering and cost sanity.
    s = b.summary.set_index("scenario")
    assert s.loc["low", "revenue"] <= s.loc["base", "revenue"] <= s.loc["high", "revenue"]
    assert s.loc["low", "margin"] <= s.loc["base", "margin"] <= s.loc["high", "margin"]
    assert s.loc["base", "revenue"] == pytest.approx(company)
    # A believable range: the low year is not near zero (the sum of 80 % monthly lower
    # bounds was 39 % of base on a 3-manager demo) and high is not a multiple of base.
    assert 0.5 * s.loc["base", "revenue"] <= s.loc["low", "revenue"]
    assert s.loc["high", "revenue"] <= 1.5 * s.loc["base", "revenue"]
    summed = plan(fc, ds, policy={"interval_aggregation": "sum"}).summary.set_index("scenario")
    assert summed.loc["low", "revenue"] <= s.loc["low", "revenue"]
    assert s.loc["base", "payroll"] == pytest.approx(active["base_salary"].sum() * 12)
    for ratio in b.assumptions["cost_of_sales_ratio"].values():
        assert 0.2 < ratio < 0.8  # the demo's product cost ratios are 0.35..0.65
    assert (s[list(budget.COST_CATEGORIES)] >= 0).all().all()


def test_plan_vs_actual_on_demo(demo) -> None:
    from amtools.forecast import forecast, monthly_series

    ds, _ = demo
    # Plan FY2026 from the history up to 2025-12, then compare with Jan..Sep 2026 actuals.
    series = monthly_series(ds, end="2025-12-31")
    fc = forecast(series, h=12, models=["seasonal_naive"], folds=1)
    b = plan(
        fc, ds, scores=pd.DataFrame({"manager_id": ["M001"], "period": ["2025Q4"], "score": [40.0]})
    )
    assert b.fiscal_year == 2026
    assert b.managers.set_index("manager_id").loc["M001", "score"] == 40.0
    pva = plan_vs_actual(b, ds)  # asof = meta period_end 2026-09-30
    assert pva["month"].max() == pd.Timestamp("2026-09-01") and pva["month_complete"].all()
    deals = ds.deals
    won = deals[
        (deals["stage"] == "won") & deals["closed_date"].between("2026-01-01", "2026-09-30")
    ]
    assert pva["actual"].sum() == pytest.approx(won["amount"].sum())
    assert pva["plan"].sum() == pytest.approx(
        b.quotas.loc[b.quotas["month"] <= "2026-09-01", "quota"].sum()
    )
    assert (pva["variance"] == pva["actual"] - pva["plan"]).all()


def test_plan_with_kpi_scores_on_demo(demo) -> None:
    from amtools.kpi import compute
    from amtools.kpi.scoring import scorecard, scores

    ds, fc = demo
    kpi_scores = scores(scorecard(compute(ds, freq="Q", periods=["2026Q2", "2026Q3"]), ds.managers))
    b = plan(fc, ds, scores=kpi_scores)
    latest = kpi_scores[kpi_scores["period"] == "2026Q3"].set_index("manager_id")["score"]
    mgr = b.managers.set_index("manager_id")
    scored = mgr.index.intersection(latest.dropna().index)
    assert b.assumptions["scored_managers"] == len(scored) > 0
    assert mgr.loc[scored, "score"].to_numpy() == pytest.approx(latest[scored].to_numpy())
    # In the plan scenario everyone attains 1: bonus = salary x 12 x 0.25 x score / 100.
    expected = (mgr["salary"] * 12 * 0.25 * mgr["score"] / 100).sum()
    assert b.summary.set_index("scenario").loc["plan", "bonus"] == pytest.approx(expected)


def test_policy_amounts_of_another_currency_are_not_applied(fc: pd.DataFrame) -> None:
    # The shipped policy's amounts (default salary 90,000, B2B marketing per client, other
    # costs per head) are the demo company's RUB. A USD export must not be charged them.
    usd = make_dataset()
    usd.meta["currency"] = "USD"
    b = plan(fc, usd)
    foreign = {"payroll", "payroll_tax", "bonus", "marketing", "other"}
    assert foreign <= set(b.unavailable) and "margin" in b.unavailable
    assert not foreign & set(b.costs["category"].astype(str))
    base = b.summary.set_index("scenario").loc["base"]
    assert np.isnan(base["payroll"]) and np.isnan(base["costs"]) and np.isnan(base["margin"])
    assert base["revenue"] > 0 and base["cost_of_sales"] > 0  # ratios still apply
    assert b.quotas["quota"].sum() > 0
    for lang in ("en", "ru"):
        assert "USD" in b.unavailable["payroll"].text(lang)
    seg = b.segment_summary().set_index(["scenario", "segment"])
    assert seg["payroll"].isna().all() and seg["margin"].isna().all()
    # salaries from the data are in the data's currency: payroll stands; a per-client
    # marketing amount still does not
    paid = make_dataset(managers=make_managers(base_salary=[1000.0, 1200.0, 900.0, 800.0]))
    paid.meta["currency"] = "USD"
    b2 = plan(fc, paid, policy={"other": {"per_head_month": 0.0}})
    assert {"payroll", "payroll_tax", "bonus"}.isdisjoint(b2.unavailable)
    assert "marketing" in b2.unavailable and "other" not in b2.unavailable
    assert b2.summary.set_index("scenario").loc["base", "payroll"] > 0
    # amounts given in the data's currency apply again
    b3 = plan(fc, usd, policy={"amounts_currency": "USD"})
    assert b3.unavailable == {}
    # the same RUB data as before is unaffected
    assert plan(fc, make_dataset()).unavailable == {}


def test_cost_table_names_unavailable_categories_once(fc: pd.DataFrame) -> None:
    from amtools.render.sections import budget_plan as tables

    usd = make_dataset(deals=make_deals().assign(cost=np.nan))
    usd.meta["currency"] = "USD"
    b = plan(fc, usd, policy={"marketing": {"B2B": {"kind": "share_of_revenue", "rate": 0.01}}})
    out = tables.cost_table(b.costs, "ru", currency="USD", unavailable=b.unavailable).data
    assert out.count("amounts_currency: USD") == 1  # payroll, tax, bonus, other: one line
    assert "deals.cost" in out
    assert "<table" in out  # marketing as a share of revenue is still planned
    none = b.costs.iloc[0:0]
    empty = tables.cost_table(none, "en", currency="USD", unavailable=b.unavailable).data
    assert "<table" not in empty and "amounts_currency" in empty


def test_active_clients_are_the_kpi_rule_per_segment(demo) -> None:
    # Deliberate fix: per-client marketing counts active clients with THE rule
    # (amtools.kpi.clients.active_clients at the end of the history's last day), not with a
    # budget-only rule that also counted prospects without any acquisition date.
    from amtools.kpi.clients import active_clients

    ds, fc = demo
    b = plan(fc, ds)
    at = pd.Timestamp(b.assumptions["history_end"]) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    clients = ds.clients
    seg_of = ds.managers.set_index("manager_id")["segment"].astype("string")
    segment = (
        clients["segment"]
        .astype("string")
        .fillna(clients["manager_id"].astype("string").map(seg_of))
    )
    expected = segment[active_clients(ds, at).to_numpy()].value_counts()
    assert b.assumptions["active_clients"] == {s: int(expected.get(s, 0)) for s in ("B2B", "B2C")}
    # and the B2B per-client marketing is that count x the monthly amount
    b2b = b.costs[(b.costs["category"] == "marketing") & (b.costs["segment"] == "B2B")]
    per_month = b2b[b2b["scenario"] == "plan"]["amount"]
    assert per_month.tolist() == pytest.approx([1500.0 * expected.get("B2B", 0)] * 12)


def test_client_without_acquisition_is_not_counted(ds: Dataset, fc: pd.DataFrame) -> None:
    # A prospect (no acquired_date, no won deal) is not an active client.
    clients = pd.concat(
        [
            make_clients(),
            pd.DataFrame(
                {
                    "client_id": pd.array(["C9"], dtype="string"),
                    "manager_id": pd.array(["M1"], dtype="string"),
                    "churned_date": pd.to_datetime([None]),
                }
            ),
        ],
        ignore_index=True,
    )
    with_prospect = Dataset(
        {"managers": make_managers(), "clients": clients, "deals": make_deals()},
        meta={"currency": "RUB"},
    )
    assert plan(fc, ds).assumptions["active_clients"] == {"B2B": 2, "B2C": 1}
    assert plan(fc, with_prospect).assumptions["active_clients"] == {"B2B": 2, "B2C": 1}


def test_policy_file_is_the_one_source_of_defaults(tmp_path, monkeypatch) -> None:
    from amtools.core.settings import use_params_dir

    (tmp_path / "policy").mkdir()
    # a project file lacking keys is refused (no silent built-in default)
    (tmp_path / "policy" / "budget.yaml").write_text("method: bottom_up\n", encoding="utf-8")
    with use_params_dir(tmp_path), pytest.raises(ParameterError, match="missing keys"):
        resolve_policy({})
    # an explicit mapping is merged over the project's file
    shipped = read_params("policy/budget")
    (tmp_path / "policy" / "budget.yaml").write_text(
        yaml.safe_dump({**shipped, "uplift": 0.2}), encoding="utf-8"
    )
    with use_params_dir(tmp_path):
        assert resolve_policy(None)["uplift"] == 0.2
        assert resolve_policy({"phasing": "team"})["uplift"] == 0.2
    # no policy file at all is an error too
    from amtools.core.settings import budget as settings

    monkeypatch.setattr(settings, "STEM", str(tmp_path / "missing.yaml"))
    with pytest.raises(ParameterError, match="not found"):
        resolve_policy({})
