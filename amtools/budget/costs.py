"""The budget's costs: cost of sales, payroll and tax, bonuses, marketing, other, planned hires.

Each scenario's revenue is costed per segment and month; :func:`summarise` adds them up to
the margin. Amounts of the policy in another currency than the data's are left out (never
converted).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from amtools.budget.inputs import data_error, managers_frame
from amtools.budget.policy import BudgetPolicy
from amtools.core.dataset import Dataset
from amtools.core.messages import Message
from amtools.core.vocab import SEGMENTS
from amtools.kpi.clients import active_clients

__all__ = [
    "COST_CATEGORIES",
    "bonus_pool",
    "cost_of_sales_ratios",
    "cost_ratio_map",
    "count_active_clients",
    "foreign_amounts",
    "hire_costs",
    "plan_costs",
    "salaries",
    "summarise",
]

COST_CATEGORIES = ("cost_of_sales", "payroll", "payroll_tax", "bonus", "marketing", "other")
"""Cost categories, in the order the summary and the workbook show them."""


def cost_of_sales_ratios(
    dataset: Dataset, end: pd.Timestamp | str, *, window_months: int = 12
) -> pd.DataFrame:
    """Trailing cost-of-sales ratio per segment: sum(cost) / sum(amount) of won deals.

    Deals closed in the ``window_months`` months up to ``end`` (inclusive) with a known
    ``cost`` count; deals without a cost are left out of both sums and reported in
    ``coverage`` (share of won revenue that had a cost).

    Returns
    -------
    DataFrame with segment, ratio (NaN when no deal had a cost), revenue, cost, coverage, n_deals.

    Example
    -------
    >>> cost_of_sales_ratios(ds, "2026-09-30")  # doctest: +SKIP
    """
    end_ts = pd.Timestamp(end).normalize()
    start = (end_ts.to_period("M") - (window_months - 1)).start_time
    managers = managers_frame(dataset)[["manager_id", "segment"]]
    deals = dataset.get("deals")
    rows = []
    for seg in SEGMENTS:
        rows.append(
            {
                "segment": seg,
                "ratio": np.nan,
                "revenue": 0.0,
                "cost": 0.0,
                "coverage": np.nan,
                "n_deals": 0,
            }
        )
    out = pd.DataFrame(rows)
    if deals is None or "closed_date" not in deals.columns:
        return out
    won = deals[(deals["stage"].astype("string") == "won").fillna(False).to_numpy()]
    closed = pd.to_datetime(won["closed_date"])
    won = won[(closed >= start) & (closed < end_ts + pd.Timedelta(days=1))]
    if won.empty:
        return out
    frame = pd.DataFrame(
        {
            "manager_id": won["manager_id"].astype("string").to_numpy(),
            "amount": pd.to_numeric(won["amount"], errors="coerce").fillna(0.0).to_numpy(),
            "cost": (
                pd.to_numeric(won["cost"], errors="coerce")
                if "cost" in won.columns
                else pd.Series(np.nan, index=won.index)
            ).to_numpy(dtype="float64"),
        }
    ).merge(managers, on="manager_id", how="left")
    for i, seg in enumerate(SEGMENTS):
        part = frame[(frame["segment"] == seg).fillna(False)]
        known = part[part["cost"].notna()]
        revenue = float(part["amount"].sum())
        known_rev = float(known["amount"].sum())
        out.loc[i, "revenue"] = revenue
        out.loc[i, "n_deals"] = len(known)
        out.loc[i, "coverage"] = known_rev / revenue if revenue > 0 else np.nan
        if known_rev > 0:
            out.loc[i, "cost"] = float(known["cost"].sum())
            out.loc[i, "ratio"] = float(known["cost"].sum()) / known_rev
    return out


def cost_ratio_map(
    ratios: pd.DataFrame,
    active: pd.DataFrame,
    pol: BudgetPolicy,
    hist_end: pd.Timestamp,
    notes: list[Message],
) -> tuple[dict[str, float], list[str]]:
    """The cost-of-sales ratio used per segment, and the planned segments without cost data.

    A segment without cost data takes ``cost_of_sales.default_ratio`` when set (noted);
    else, when it has active managers, its ratio is NaN and it is listed (its cost of sales
    and margin are "not available"); a segment nobody serves gets 0.

    Example
    -------
    >>> ratios = pd.DataFrame({"segment": ["B2B", "B2C"], "ratio": [0.6, float("nan")]})
    >>> active = pd.DataFrame({"segment": ["B2B"]})
    >>> cost_ratio_map(ratios, active, BudgetPolicy.resolve({}), pd.Timestamp("2026-09-30"), [])
    ({'B2B': 0.6, 'B2C': 0.0}, [])
    """
    cos = pol.cost_of_sales
    ratio_map: dict[str, float] = {}
    no_cost: list[str] = []  # segments with a plan but no cost data: cost of sales unknown
    for record in ratios.to_dict("records"):
        seg, ratio = str(record["segment"]), float(record["ratio"])
        seg_has_plan = bool((active["segment"] == seg).any())
        if np.isfinite(ratio):
            ratio_map[seg] = ratio
        elif cos["default_ratio"] is not None:
            ratio_map[seg] = float(cos["default_ratio"])
            if seg_has_plan:
                notes.append(
                    Message(
                        "budget.note.default_ratio",
                        {"segment": seg, "ratio": f"{ratio_map[seg]:g}"},
                    )
                )
        elif seg_has_plan:
            # Not a failure: revenue plan, quotas, payroll and the other costs stand; cost of
            # sales and margin are "not available" with what would make them available.
            ratio_map[seg] = np.nan
            no_cost.append(seg)
            notes.append(
                Message(
                    "budget.note.no_cost",
                    {
                        "segment": seg,
                        "months": int(cos["window_months"]),
                        "end": hist_end.date().isoformat(),
                        "column": "deals.cost",
                    },
                )
            )
        else:
            ratio_map[seg] = 0.0
    return ratio_map, no_cost


def count_active_clients(
    dataset: Dataset, managers: pd.DataFrame, asof: pd.Timestamp
) -> dict[str, int]:
    """Active clients per segment at the end of day ``asof`` (for per-client marketing).

    Who is active is the one rule of :func:`amtools.kpi.clients.active_clients` (the KPI
    engine's), taken at the last instant of ``asof``'s day. A client's segment is
    ``clients.segment``, else its manager's (an inactive manager's clients still count).

    Example
    -------
    >>> clients = pd.DataFrame({"client_id": ["c1", "c2"], "manager_id": ["m1", "m1"],
    ...     "acquired_date": pd.to_datetime(["2026-01-05", "2026-10-01"])})
    >>> managers = pd.DataFrame({"manager_id": ["m1"], "segment": ["B2B"], "active": [True]})
    >>> count_active_clients(Dataset({"clients": clients}), managers, pd.Timestamp("2026-09-30"))
    {'B2B': 1, 'B2C': 0}
    """
    clients = dataset.get("clients")
    counts = dict.fromkeys(SEGMENTS, 0)
    if clients is None:
        return counts
    frame = pd.DataFrame({"manager_id": clients["manager_id"].astype("string").to_numpy()})
    seg = (
        clients["segment"].astype("string")
        if "segment" in clients.columns
        else pd.Series(pd.NA, index=clients.index, dtype="string")
    )
    frame["client_segment"] = seg.to_numpy()
    frame = frame.merge(managers[["manager_id", "segment", "active"]], on="manager_id", how="left")
    frame["segment"] = frame["client_segment"].fillna(frame["segment"])
    end_of_day = pd.Timestamp(asof).normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    frame = frame[active_clients(dataset, end_of_day).to_numpy(dtype=bool)]
    for s in SEGMENTS:
        counts[s] = int((frame["segment"] == s).fillna(False).sum())
    return counts


def salaries(managers: pd.DataFrame, pol: BudgetPolicy, notes: list[Message]) -> pd.Series:
    """Monthly salary per active manager: ``base_salary`` (else ``default_salary``, noted), indexed.

    Example
    -------
    >>> salaries(managers, pol, notes)  # doctest: +SKIP
    """
    active = managers[managers["active"]]
    salary = active["base_salary"]
    missing = salary.isna()
    if missing.any():
        if pol.default_salary is None:
            raise data_error(
                "managers",
                "base_salary",
                "missing_value",
                "monthly base salary is empty and no default_salary is set",
                int(missing.sum()),
                tuple(active.loc[missing, "manager_id"].astype(str).head(5)),
                fix="fill managers.base_salary or set default_salary in params/policy/budget.yaml",
            )
        notes.append(
            Message(
                "budget.note.default_salary",
                {"n": int(missing.sum()), "salary": f"{pol['default_salary']:.0f}"},
            )
        )
    salary = salary.fillna(pol.default_salary if pol.default_salary is not None else np.nan)
    return pd.Series(
        (salary * (1.0 + pol.salary_indexation)).to_numpy(),
        index=active["manager_id"].to_numpy(),
    )


def plan_costs(
    revenue: pd.DataFrame,
    annual_quota: pd.Series,
    active: pd.DataFrame,
    salary: pd.Series,
    score: pd.Series,
    ratio_map: Mapping[str, float],
    clients: Mapping[str, int],
    pol: BudgetPolicy,
    scenario_names: list[str],
    months: list[pd.Timestamp],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost lines per scenario x month x segment, and the bonus detail per manager.

    Returns
    -------
    (costs [scenario, month, segment, category, amount], bonuses [scenario, manager_id,
    attainment, score, bonus]).

    Example
    -------
    >>> costs, bonuses = plan_costs(revenue, quota, active, salary, score, ratios, clients,
    ...     pol, ["plan", "low", "base", "high"], months)  # doctest: +SKIP
    """
    bonus, bonuses = bonus_pool(revenue, annual_quota, salary, score, pol, scenario_names)
    wide = _segment_costs(
        revenue, active, salary, bonus, ratio_map, clients, pol, scenario_names, months
    )
    return _cost_lines(wide, pol, scenario_names, months), bonuses


def bonus_pool(
    revenue: pd.DataFrame,
    annual_quota: pd.Series,
    salary: pd.Series,
    score: pd.Series,
    pol: BudgetPolicy,
    scenario_names: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annual bonus per scenario and manager, from the year's attainment of the quota.

    Returns
    -------
    (scenario x manager_id frame of annual bonuses, the long detail [scenario, manager_id,
    attainment, score, bonus]). A manager without a quota is budgeted at target.

    Example
    -------
    >>> bonus_pool(revenue, quota, salary, score, pol, ["plan", "base"])  # doctest: +SKIP
    """
    ids = annual_quota.index
    mgr_rev = (
        revenue.groupby(["scenario", "manager_id"])["revenue"]
        .sum()
        .unstack("manager_id")
        .reindex(index=scenario_names, columns=ids)
        .fillna(0.0)
    )
    quota = annual_quota.where(annual_quota > 0)
    att = mgr_rev.div(quota, axis=1).fillna(1.0)  # no quota: budgeted at target
    bonus_cfg = pol.bonus
    factor = att.clip(upper=bonus_cfg["cap"]).where(att >= bonus_cfg["threshold"], 0.0)
    per_year = (
        salary.reindex(ids) * 12.0 * bonus_cfg["share"] * score.reindex(ids) / 100.0
    ).to_numpy()
    bonus = factor * per_year
    bonuses = pd.DataFrame(
        {
            "scenario": pd.array(np.repeat(scenario_names, len(ids)), dtype="string"),
            "manager_id": pd.array(
                np.tile(ids.to_numpy(dtype=object), len(scenario_names)), dtype="string"
            ),
            "attainment": att.to_numpy().ravel(),
            "score": np.tile(score.reindex(ids).to_numpy(), len(scenario_names)),
            "bonus": bonus.to_numpy().ravel(),
        }
    )
    return bonus, bonuses


def _segment_costs(
    revenue: pd.DataFrame,
    active: pd.DataFrame,
    salary: pd.Series,
    bonus: pd.DataFrame,
    ratio_map: Mapping[str, float],
    clients: Mapping[str, int],
    pol: BudgetPolicy,
    scenario_names: list[str],
    months: list[pd.Timestamp],
) -> pd.DataFrame:
    """Every category but fixed costs and hires, wide: index scenario x segment x month."""
    n_months = len(months)
    seg_of = active.set_index("manager_id")["segment"]
    segments = sorted(active["segment"].unique())
    grid = pd.MultiIndex.from_product(
        [scenario_names, segments, months], names=["scenario", "segment", "month"]
    )
    rev = (
        revenue.groupby(["scenario", "segment", "month"])["revenue"]
        .sum()
        .reindex(grid, fill_value=0.0)
    )
    seg_level = grid.get_level_values("segment")
    heads = active.groupby("segment")["manager_id"].size().reindex(segments).astype("float64")
    payroll = (
        salary.groupby(seg_of.reindex(salary.index).to_numpy()).sum().reindex(segments).fillna(0.0)
    )
    bonus_seg = bonus.T.groupby(seg_of.reindex(bonus.columns).to_numpy()).sum().T
    bonus_by_seg = (
        bonus_seg.reindex(index=scenario_names, columns=segments).fillna(0.0).stack() / n_months
    )
    bonus_month = bonus_by_seg.reindex(grid.droplevel("month")).to_numpy()
    wide = pd.DataFrame(index=grid)
    wide["cost_of_sales"] = rev.to_numpy() * seg_level.map(dict(ratio_map)).to_numpy(
        dtype="float64"
    )
    wide["payroll"] = payroll.reindex(seg_level).to_numpy()
    wide["payroll_tax"] = (wide["payroll"].to_numpy() + bonus_month) * pol.payroll_tax_rate
    wide["bonus"] = bonus_month
    marketing = np.zeros(len(grid))
    for seg, spec in pol.marketing.items():
        mask = np.asarray(seg_level == seg)
        if spec["kind"] == "share_of_revenue":
            marketing[mask] = spec["rate"] * rev.to_numpy()[mask]
        elif spec["kind"] == "per_client":
            marketing[mask] = spec["amount"] * clients.get(seg, 0)
        else:
            marketing[mask] = spec["amount"]
    wide["marketing"] = marketing
    other = pol.other
    wide["other"] = (
        other["per_head_month"] * heads.reindex(seg_level).to_numpy()
        + other["share_of_revenue"] * rev.to_numpy()
    )
    return wide


def _cost_lines(
    wide: pd.DataFrame, pol: BudgetPolicy, scenario_names: list[str], months: list[pd.Timestamp]
) -> pd.DataFrame:
    """The wide costs as lines, with the fixed costs and the hires, in display order."""
    costs = wide.reset_index().melt(
        id_vars=["scenario", "segment", "month"], var_name="category", value_name="amount"
    )
    # a segment without cost data has no cost-of-sales lines (not zero ones)
    costs = costs[costs["amount"].notna()]
    other = pol.other
    if other["fixed_month"] > 0:
        fixed = pd.MultiIndex.from_product([scenario_names, months], names=["scenario", "month"])
        fixed_rows = fixed.to_frame(index=False)
        fixed_rows["segment"] = pd.Series(pd.NA, index=fixed_rows.index, dtype="string")
        fixed_rows["category"] = "other"
        fixed_rows["amount"] = float(other["fixed_month"])
        parts: list[pd.DataFrame] = [costs, fixed_rows]
        costs = pd.concat(parts, ignore_index=True)
    hires = hire_costs(pol, months)
    if len(hires):
        per_scenario = [hires.assign(scenario=name) for name in scenario_names]
        costs = pd.concat([costs, *per_scenario], ignore_index=True)
        costs = (
            costs.groupby(["scenario", "segment", "month", "category"], dropna=False, sort=False)[
                "amount"
            ]
            .sum()
            .reset_index()
        )
    costs = costs.astype(
        {"scenario": "string", "segment": "string", "category": "string", "amount": "float64"}
    )
    order = {c: i for i, c in enumerate(COST_CATEGORIES)}
    return (
        costs.assign(
            _o=costs["category"].map(order),
            _s=costs["scenario"].map({s: i for i, s in enumerate(scenario_names)}),
        )
        .sort_values(["_s", "month", "segment", "_o"], na_position="last")
        .drop(columns=["_o", "_s"])[["scenario", "month", "segment", "category", "amount"]]
        .reset_index(drop=True)
    )


def hire_costs(pol: BudgetPolicy, months: list[pd.Timestamp]) -> pd.DataFrame:
    """Monthly payroll, tax, target bonus and per-head costs of planned hires.

    A hire costs from its start month (or the fiscal year's first month) to the year's end;
    the bonus accrues at target (attainment 1, ``bonus.default_score``). Hires bring no
    revenue or quota: their sales are not in the forecast (raise ``uplift`` for them).

    Example
    -------
    >>> pol = BudgetPolicy.resolve({"hires": [{"segment": "B2C", "month": "2027-12"}]})
    >>> hire_costs(pol, [pd.Timestamp("2027-11-01"), pd.Timestamp("2027-12-01")])["month"].nunique()
    1
    """
    rows = []
    bonus_rate = pol.bonus["share"] * pol.bonus["default_score"] / 100.0
    tax = pol.payroll_tax_rate
    for hire in pol.hires:
        start = pd.Period(hire["month"], freq="M").start_time
        salary = hire["salary"] * (1.0 + pol.salary_indexation) * hire["count"]
        bonus = salary * bonus_rate
        for month in months:
            if month < start:
                continue
            rows += [
                (hire["segment"], month, "payroll", salary),
                (hire["segment"], month, "payroll_tax", (salary + bonus) * tax),
                (hire["segment"], month, "bonus", bonus),
                (hire["segment"], month, "other", pol.other["per_head_month"] * hire["count"]),
            ]
    return pd.DataFrame(rows, columns=["segment", "month", "category", "amount"])


def foreign_amounts(pol: BudgetPolicy, active: pd.DataFrame, currency: str) -> list[str]:
    """Cost categories that would rest on policy amounts of another currency than the data's.

    ``default_salary``, per-client and fixed marketing, ``other`` per head or fixed and the
    salaries of planned hires are amounts in ``amounts_currency`` (the demo company's RUB
    by default). For data in another currency they are not this company's costs: the
    categories they feed are "not available" until the policy gives amounts in the data's
    currency. Shares of revenue and rates (payroll tax, bonus share) apply in any currency.

    Example
    -------
    >>> pol = BudgetPolicy.resolve({})
    >>> active = pd.DataFrame({"base_salary": [None]})
    >>> foreign_amounts(pol, active, "USD")
    ['payroll', 'payroll_tax', 'bonus', 'marketing', 'other']
    >>> foreign_amounts(pol, active, "RUB")
    []
    """
    if pol.amounts_currency is None or currency == pol.amounts_currency:
        return []
    out: list[str] = []
    uses_default = bool(active["base_salary"].isna().any()) and pol.default_salary is not None
    if uses_default or pol.hires:
        out += ["payroll", "payroll_tax", "bonus"]
    if any(spec["kind"] in ("per_client", "fixed") for spec in pol.marketing.values()):
        out.append("marketing")
    other = pol.other
    if other["per_head_month"] or other["fixed_month"] or pol.hires:
        out.append("other")
    return out


def summarise(
    revenue: pd.DataFrame,
    costs: pd.DataFrame,
    scenarios: list[str],
    *,
    cost_known: bool = True,
    unknown: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per scenario: revenue, each cost category, costs, margin and margin_pct.

    ``cost_known`` false (a planned segment has no cost data) makes cost_of_sales, costs and
    margin NaN; so do the categories in ``unknown`` (amounts in another currency).

    Example
    -------
    >>> summarise(revenue, costs, ["plan", "low", "base", "high"])  # doctest: +SKIP
    """
    rev = revenue.groupby("scenario")["revenue"].sum().reindex(scenarios, fill_value=0.0)
    by_cat = costs.pivot_table(
        index="scenario", columns="category", values="amount", aggfunc="sum", fill_value=0.0
    ).reindex(index=scenarios, columns=list(COST_CATEGORIES), fill_value=0.0)
    out = pd.DataFrame({"scenario": pd.array(scenarios, dtype="string")})
    out["revenue"] = rev.to_numpy(dtype="float64")
    for cat in COST_CATEGORIES:
        out[cat] = by_cat[cat].to_numpy(dtype="float64")
    out["costs"] = out[list(COST_CATEGORIES)].sum(axis=1)
    if not cost_known:
        out[["cost_of_sales", "costs"]] = np.nan
    if unknown:
        out[[*unknown, "costs"]] = np.nan
    out["margin"] = out["revenue"] - out["costs"]
    out["margin_pct"] = (out["margin"] / out["revenue"]).where(out["revenue"] > 0)
    return out
