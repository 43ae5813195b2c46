"""The budget of one fiscal year: :func:`plan` (forecast -> quotas, scenarios, costs, margin)
and its result, :class:`BudgetPlan`.

:func:`plan` runs named steps: read and check the inputs (policy, forecast, managers), move
inactive managers' forecasts to their team, set annual and monthly quotas, derive the revenue
scenarios, cost them, sum up the margin and record the assumptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from amtools.budget.calendar import fiscal_year_months, month_label, next_fiscal_year
from amtools.budget.costs import (
    COST_CATEGORIES,
    cost_of_sales_ratios,
    cost_ratio_map,
    count_active_clients,
    foreign_amounts,
    plan_costs,
    salaries,
    summarise,
)
from amtools.budget.inputs import (
    check_coverage,
    data_error,
    forecast_frame,
    history_end,
    latest_scores,
    manager_matrix,
    managers_frame,
)
from amtools.budget.policy import PLAN_SCENARIO, BudgetPolicy
from amtools.budget.quotas import (
    annual_quotas,
    monthly_quotas,
    reallocate_inactive,
    revenue_scenarios,
)
from amtools.core.dataset import Dataset
from amtools.core.errors import PolicyError
from amtools.core.messages import Message
from amtools.core.vocab import DEFAULT_CURRENCY

__all__ = ["BudgetPlan", "plan"]


LEVEL_KEYS: dict[str, list[str]] = {
    "manager": ["segment", "team", "manager_id"],
    "team": ["segment", "team"],
    "segment": ["segment"],
    "company": [],
}
"""The key columns of each level of :func:`~amtools.budget.actuals.plan_vs_actual` and :meth:`BudgetPlan.quota_rollup`."""


@dataclass
class BudgetPlan:
    """A budget for one fiscal year: revenue plan, quotas, scenario costs and margin.

    Attributes
    ----------
    revenue : month, segment, team, manager_id, scenario, revenue — one row per active
        manager, month and scenario (``"plan"`` = the quotas, then the forecast scenarios).
    quotas : manager_id, segment, team, month, quota — monthly quota per active manager.
    costs : scenario, month, segment, category, amount (segment empty for unallocated costs).
    summary : one row per scenario: scenario, revenue, cost_of_sales, payroll, payroll_tax,
        bonus, marketing, other, costs, margin, margin_pct. Without cost data (no won deal
        with a ``deals.cost`` and no ``cost_of_sales.default_ratio``) cost_of_sales, costs,
        margin and margin_pct are NaN: not available, never a margin on part of the costs.
    assumptions : everything the numbers rest on (policy, ratios, salaries, notes); ``notes``
        are :class:`~amtools.core.messages.Message` objects (``budget.note.*`` strings) that the
        reports render in their language.
    annual_quotas : manager_id, segment, team, forecast (base, after reallocation),
        quota, share (of the company total), uplift (quota / forecast - 1).
    managers : manager_id, segment, team, salary (monthly, indexed), score — the active
        headcount the costs are built from.
    bonuses : scenario, manager_id, attainment, score, bonus (annual) — the bonus pool detail.
    fiscal_year : the fiscal-year label (pandas convention: the year the fiscal year ends in).
    months : the fiscal year's month starts.
    unavailable : what could not be planned and why: ``{"cost_of_sales": Message, "margin":
        Message}`` when the data has no cost of sales; empty when everything was planned.
    """

    revenue: pd.DataFrame
    quotas: pd.DataFrame
    costs: pd.DataFrame
    summary: pd.DataFrame
    assumptions: dict[str, Any]
    annual_quotas: pd.DataFrame = field(default_factory=pd.DataFrame)
    managers: pd.DataFrame = field(default_factory=pd.DataFrame)
    bonuses: pd.DataFrame = field(default_factory=pd.DataFrame)
    fiscal_year: int = 0
    months: list[pd.Timestamp] = field(default_factory=list)
    unavailable: dict[str, Message] = field(default_factory=dict)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names in summary order."""
        return [str(s) for s in self.summary["scenario"]]

    def segment_summary(self) -> pd.DataFrame:
        """Summary per scenario and segment (B2B vs B2C), same columns as :attr:`summary`.

        Costs not tied to a segment (``other.fixed_month``) form a row with an empty segment,
        so each scenario's rows add up to its line in :attr:`summary`.

        Example
        -------
        >>> budget.segment_summary().query("scenario == 'base'")  # doctest: +SKIP
        """
        keys = ["scenario", "segment"]
        rev = self.revenue.groupby(keys, dropna=False)["revenue"].sum()
        cats = self.costs.pivot_table(
            index=keys, columns="category", values="amount", aggfunc="sum", dropna=False
        )
        out = cats.reindex(columns=list(COST_CATEGORIES)).join(rev, how="outer").fillna(0.0)
        out = out.reset_index()
        order = {name: i for i, name in enumerate(self.scenarios)}
        out = out.sort_values(
            ["scenario", "segment"],
            key=lambda c: c.map(order) if c.name == "scenario" else c,
            na_position="last",
        ).reset_index(drop=True)
        out["costs"] = out[list(COST_CATEGORIES)].sum(axis=1)
        unknown = out["segment"].isin(self.assumptions.get("cost_of_sales_unavailable", []))
        out.loc[unknown, ["cost_of_sales", "costs"]] = np.nan
        foreign = list(self.assumptions.get("categories_unavailable", []))
        if foreign:
            out[[*foreign, "costs"]] = np.nan
        out["margin"] = out["revenue"] - out["costs"]
        out["margin_pct"] = (out["margin"] / out["revenue"]).where(out["revenue"] > 0)
        cols = ["scenario", "segment", "revenue", *COST_CATEGORIES, "costs", "margin", "margin_pct"]
        return out[cols]

    def quota_rollup(self, level: str = "team") -> pd.DataFrame:
        """Monthly quotas summed to ``level`` (manager, team, segment or company).

        Example
        -------
        >>> budget.quota_rollup("segment").columns.tolist()  # doctest: +SKIP
        ['segment', 'month', 'quota']
        """
        if level not in LEVEL_KEYS:
            raise ValueError(f"level must be one of {list(LEVEL_KEYS)}, got {level!r}")
        by = LEVEL_KEYS[level] + ["month"]
        return self.quotas.groupby(by, sort=True)["quota"].sum().reset_index()


@dataclass
class _Inputs:
    """What :func:`plan` reads and checks before it sets any number."""

    fc: pd.DataFrame
    fiscal_year: int
    months: list[pd.Timestamp]
    managers: pd.DataFrame
    active: pd.DataFrame
    base: pd.DataFrame
    moves: list[dict[str, Any]]
    no_forecast: list[str]
    notes: list[Message]


@dataclass
class _Costed:
    """The costing step's results."""

    costs: pd.DataFrame
    bonuses: pd.DataFrame
    ratios: pd.DataFrame
    ratio_map: dict[str, float]
    no_cost: list[str]
    salary: pd.Series
    score: pd.Series
    n_scored: int
    clients: dict[str, int]
    currency: str
    foreign: list[str]
    hist_end: pd.Timestamp


def plan(
    forecast: Any,
    dataset: Dataset,
    *,
    policy: Mapping[str, Any] | None = None,
    scores: pd.DataFrame | None = None,
    fiscal_year: int | None = None,
) -> BudgetPlan:
    """Build next fiscal year's budget from a reconciled forecast.

    Steps: take the managers' monthly forecasts for the fiscal year (floored at 0); move
    inactive managers' forecasts to the active managers of their team (see below); set
    quotas by the policy's method; derive low/base/high (and named) revenue scenarios from
    the forecast intervals; cost each scenario (cost of sales, payroll, payroll tax, bonus,
    marketing, other) and compute the margin.

    - ``bottom_up``: annual quota = manager's forecast x (1 + uplift) (uplift: one number or
      one per segment).
    - ``top_down``: ``company_target`` (or one target per segment) allocated by each active
      manager's share of the forecast.
    - Monthly quotas: the annual quota phased by the forecast's seasonality at the ``phasing``
      level (the segment's by default; ``manager`` follows each manager's own forecast and
      falls back to team, segment, company where a forecast is all zero).
    - Inactive managers (``managers.active`` false) get no quota; their forecast is shared
      among their team's active managers in proportion to those managers' forecasts (team
      without active managers: segment; then company). Team, segment and company totals of the
      forecast are therefore preserved.
    - Bonus (annual, accrued evenly by month): base salary x 12 x ``bonus.share`` x
      f(attainment) x score / 100, where f(a) = 0 below ``bonus.threshold`` and
      min(a, ``bonus.cap``) above; attainment = scenario revenue / quota for the year; score = the manager's latest
      KPI score from ``scores`` (``bonus.default_score`` when absent or ``use_score`` is false).
      Managers without a quota are budgeted at target (attainment 1).
    - Scenarios: each is a forecast column (x (1 + its uplift)); bounds are taken at the
      ``scenario_basis`` level (company by default, since intervals do not add up across
      series) and spread to managers by their base forecast; ``interval_aggregation`` says
      how monthly bounds make the year: ``correlated`` (default; month errors correlated
      ``interval_correlation``), all months at their bound together (``sum``) or
      independent months. The
      ``plan`` scenario is the quotas themselves.
    - Cost of sales: revenue x the segment's trailing cost ratio of won deals
      (:func:`cost_of_sales_ratios`). Payroll: active managers' base salary (``default_salary``
      where empty) plus planned ``hires`` from their start month; payroll tax on salary and
      bonus. Marketing per segment: share of revenue, per active client or fixed. Other: per
      head, fixed and share of revenue.

    Parameters
    ----------
    forecast : ForecastResult or its ``.forecast`` frame
        [unique_id, level, ds, yhat, lo_80, hi_80, lo_95, hi_95].
    dataset : the Dataset (managers required; deals for cost of sales; clients for
        per-client marketing).
    policy : mapping of policy keys (see ``params/policy/budget.yaml``); ``None`` reads that file.
    scores : optional frame [manager_id, period, score 0..100] (``amtools.kpi.scoring.scores``).
    fiscal_year : fiscal-year label (the calendar year it ends in); default the first fiscal
        year that starts on or after the first forecast month.

    Raises
    ------
    PolicyError
        Bad policy, or a forecast that does not cover the fiscal year (the message names the
        missing months and the horizon needed).
    DataValidationError
        Bad managers data (negative salaries, unknown segments, ...) or a malformed forecast.

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> from amtools.forecast import monthly_series, forecast  # doctest: +SKIP
    >>> ds = make_demo(n_managers=6)  # doctest: +SKIP
    >>> h = required_horizon(ds.meta["period_end"])  # doctest: +SKIP
    >>> fc = forecast(monthly_series(ds), h=h)  # doctest: +SKIP
    >>> budget = plan(fc, ds)  # doctest: +SKIP
    >>> budget.summary.set_index("scenario").loc["base", "margin"]  # doctest: +SKIP
    """
    pol = BudgetPolicy.resolve(policy)
    inputs = _read_inputs(forecast, dataset, pol, fiscal_year)
    annual = annual_quotas(inputs.base, pol)
    quotas = monthly_quotas(inputs.base, annual, inputs.active, pol.phasing)
    revenue = revenue_scenarios(inputs.base, inputs.fc, inputs.active, quotas, pol)
    costed = _cost(inputs, annual, revenue, dataset, pol, scores)
    scenario_names = [PLAN_SCENARIO, *pol.scenarios]
    summary = summarise(
        revenue,
        costed.costs,
        scenario_names,
        cost_known=not costed.no_cost,
        unknown=tuple(costed.foreign),
    )
    margins = summary.set_index("scenario").loc[["low", "base", "high"], "margin"]
    if margins.notna().all() and not margins.is_monotonic_increasing:
        inputs.notes.append(Message("budget.note.margin_not_rising"))
    mgr_table = inputs.active[["manager_id", "segment", "team"]].copy()
    mgr_table["salary"] = costed.salary.reindex(mgr_table["manager_id"]).to_numpy()
    mgr_table["score"] = costed.score.reindex(mgr_table["manager_id"]).to_numpy()
    return BudgetPlan(
        revenue=revenue.reset_index(drop=True),
        quotas=quotas.reset_index(drop=True),
        costs=costed.costs,
        summary=summary,
        assumptions=_assumptions(inputs, costed, pol),
        annual_quotas=annual[
            ["manager_id", "segment", "team", "forecast", "quota", "share", "uplift"]
        ],
        managers=mgr_table.reset_index(drop=True),
        bonuses=costed.bonuses,
        fiscal_year=inputs.fiscal_year,
        months=inputs.months,
        unavailable=_unavailable(costed, pol),
    )


def _read_inputs(
    forecast: Any, dataset: Dataset, pol: BudgetPolicy, fiscal_year: int | None
) -> _Inputs:
    """Step 1: the forecast and managers checked, the fiscal year's months, the base forecast
    of the active managers (inactive managers' forecasts reallocated)."""
    fys = pol.fiscal_year_start
    used = tuple(dict.fromkeys(spec["column"] for spec in pol.scenarios.values()))
    fc = forecast_frame(forecast, used)
    if fc.empty or not (fc["level"] == "manager").any():
        raise PolicyError(
            "the forecast has no manager-level rows (level 'manager', unique_id 'manager/<id>'); "
            "forecast the full hierarchy from amtools.forecast.monthly_series(dataset)."
        )
    first = fc["ds"].min()
    if fiscal_year is None:
        fiscal_year = next_fiscal_year(first - pd.Timedelta(days=1), fys)
    months = fiscal_year_months(int(fiscal_year), fys)
    check_coverage(fc, months, int(fiscal_year), fys)

    managers = managers_frame(dataset)
    notes: list[Message] = []
    values = manager_matrix(fc, months, used)
    unknown = sorted(set(values["manager_id"]) - set(managers["manager_id"]))
    if unknown:
        raise data_error(
            "forecast",
            "unique_id",
            "unknown_manager",
            "forecast series for managers missing from the managers table",
            len(unknown),
            tuple(unknown[:5]),
            fix="forecast the same dataset you plan with",
        )
    no_forecast = sorted(
        set(managers.loc[managers["active"], "manager_id"]) - set(values["manager_id"])
    )
    if no_forecast:
        notes.append(
            Message(
                "budget.note.no_forecast",
                {"n": len(no_forecast), "ids": ", ".join(no_forecast[:10])},
            )
        )
    base, moves = reallocate_inactive(values, managers, months, notes)
    active = managers[managers["active"]].reset_index(drop=True)
    base = base.merge(active[["manager_id", "segment", "team"]], on="manager_id")
    base = base.sort_values(["segment", "team", "manager_id", "month"]).reset_index(drop=True)
    return _Inputs(
        fc=fc,
        fiscal_year=int(fiscal_year),
        months=months,
        managers=managers,
        active=active,
        base=base,
        moves=moves,
        no_forecast=no_forecast,
        notes=notes,
    )


def _cost(
    inputs: _Inputs,
    annual: pd.DataFrame,
    revenue: pd.DataFrame,
    dataset: Dataset,
    pol: BudgetPolicy,
    scores: pd.DataFrame | None,
) -> _Costed:
    """Step 4: cost-of-sales ratios, salaries, scores, active clients, then every cost line."""
    notes, active = inputs.notes, inputs.active
    hist_end = history_end(inputs.fc)
    ratios = cost_of_sales_ratios(
        dataset, hist_end, window_months=pol.cost_of_sales["window_months"]
    )
    ratio_map, no_cost = cost_ratio_map(ratios, active, pol, hist_end, notes)
    salary = salaries(inputs.managers, pol, notes)
    score, n_scored = latest_scores(
        scores, active["manager_id"].tolist(), pol.bonus["default_score"]
    )
    if not pol.bonus["use_score"]:
        score = pd.Series(pol.bonus["default_score"], index=score.index)
    clients = count_active_clients(dataset, inputs.managers, hist_end)
    per_client = [seg for seg, spec in pol.marketing.items() if spec["kind"] == "per_client"]
    if per_client and dataset.get("clients") is None:
        notes.append(Message("budget.note.no_clients", {"segments": ", ".join(per_client)}))
    currency = pol.currency or dataset.meta.get("currency") or DEFAULT_CURRENCY
    foreign = foreign_amounts(pol, active, currency)
    if "payroll" in foreign:  # the default salary is not used after all: say why instead
        notes[:] = [n for n in notes if n.key != "budget.note.default_salary"]
    costs, bonuses = plan_costs(
        revenue,
        annual.set_index("manager_id")["quota"],
        active,
        salary,
        score,
        ratio_map,
        clients,
        pol,
        [PLAN_SCENARIO, *pol.scenarios],
        inputs.months,
    )
    if foreign:
        # amounts of another currency are not this company's costs: left out, not converted
        costs = costs[~costs["category"].astype(str).isin(foreign)].reset_index(drop=True)
    return _Costed(
        costs=costs,
        bonuses=bonuses,
        ratios=ratios,
        ratio_map=ratio_map,
        no_cost=no_cost,
        salary=salary,
        score=score,
        n_scored=n_scored,
        clients=clients,
        currency=currency,
        foreign=foreign,
        hist_end=hist_end,
    )


def _unavailable(costed: _Costed, pol: BudgetPolicy) -> dict[str, Message]:
    """What could not be planned and why (no cost data; amounts in another currency)."""
    unavailable: dict[str, Message] = {}
    if costed.no_cost:
        args = {"segments": ", ".join(costed.no_cost), "column": "deals.cost"}
        unavailable = {
            "cost_of_sales": Message("budget.unavailable.cost_of_sales", args),
            "margin": Message("budget.unavailable.margin", args),
        }
    if costed.foreign:
        why = Message(
            "budget.unavailable.amounts_currency",
            {"policy": pol.amounts_currency, "data": costed.currency},
        )
        unavailable.update({category: why for category in costed.foreign})
        unavailable.setdefault("margin", why)
    return unavailable


def _assumptions(inputs: _Inputs, costed: _Costed, pol: BudgetPolicy) -> dict[str, Any]:
    """Everything the numbers rest on, as :attr:`BudgetPlan.assumptions`."""
    active, managers = inputs.active, inputs.managers
    heads = active.groupby("segment")["manager_id"].size()
    return {
        "fiscal_year": inputs.fiscal_year,
        "fiscal_year_start": pol.fiscal_year_start,
        "months": [month_label(m) for m in inputs.months],
        "history_end": costed.hist_end.date().isoformat(),
        "currency": costed.currency,
        "method": pol.method,
        "policy": pol.as_dict(),
        "headcount": {str(k): int(v) for k, v in heads.items()},
        "hires": pol.hires,
        "inactive_managers": sorted(managers.loc[~managers["active"], "manager_id"].astype(str)),
        "reallocations": inputs.moves,
        "managers_without_forecast": inputs.no_forecast,
        "salary_from_data": int(active["base_salary"].notna().sum()),
        "salary_from_default": int(active["base_salary"].isna().sum()),
        "scored_managers": costed.n_scored,
        "cost_of_sales": costed.ratios.to_dict("records"),
        "cost_of_sales_ratio": {k: v for k, v in costed.ratio_map.items() if np.isfinite(v)},
        "cost_of_sales_unavailable": costed.no_cost,
        "categories_unavailable": list(costed.foreign),
        "active_clients": costed.clients,
        "bonus_formula": (
            "bonus = base_salary x 12 x share x f(attainment) x score/100; f(a) = 0 if a < threshold "
            "else min(a, cap); attainment = scenario revenue / annual quota"
        ),
        "scenario_basis": pol.scenario_basis,
        "interval_aggregation": pol.interval_aggregation,
        "interval_correlation": pol.interval_correlation,
        "notes": inputs.notes,
    }
