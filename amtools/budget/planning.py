"""Budget planning: revenue plan and quotas from a reconciled forecast, scenarios, costs, margin."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError, PolicyError
from amtools.core.messages import Message
from amtools.core.periods import period_freq
from amtools.core.problems import DataValidationError, Problem
from amtools.core.settings import params_path, read_params
from amtools.core.vocab import DEFAULT_CURRENCY

__all__ = [
    "BudgetPlan",
    "DEFAULT_POLICY",
    "COST_CATEGORIES",
    "SCENARIO_COLUMNS",
    "PLAN_SCENARIO",
    "resolve_policy",
    "plan",
    "plan_vs_actual",
    "fiscal_year_months",
    "next_fiscal_year",
    "required_horizon",
    "cost_of_sales_ratios",
]

SCENARIO_COLUMNS = ("yhat", "lo_80", "hi_80", "lo_95", "hi_95")
"""Forecast columns a scenario may be based on."""

COST_CATEGORIES = ("cost_of_sales", "payroll", "payroll_tax", "bonus", "marketing", "other")
"""Cost categories, in the order the summary and the workbook show them."""

PLAN_SCENARIO = "plan"
"""The scenario in which every active manager makes exactly their quota."""

NO_TEAM = "(no team)"
"""Team label used for managers whose ``team`` is empty."""

DEFAULT_POLICY: dict[str, Any] = {
    "method": "bottom_up",
    "company_target": None,
    "uplift": 0.05,
    "phasing": "segment",
    "fiscal_year_start": 1,
    "scenario_basis": "company",
    "interval_aggregation": "correlated",
    "interval_correlation": 0.5,
    "scenarios": {
        "low": {"column": "lo_80", "uplift": 0.0},
        "base": {"column": "yhat", "uplift": 0.0},
        "high": {"column": "hi_80", "uplift": 0.0},
        "aggressive": {"column": "yhat", "uplift": 0.15},
    },
    "default_salary": 90000.0,
    "salary_indexation": 0.0,
    "payroll_tax_rate": 0.30,
    "bonus": {
        "share": 0.25,
        "cap": 1.5,
        "threshold": 0.5,
        "use_score": True,
        "default_score": 100.0,
    },
    "marketing": {
        "B2C": {"kind": "share_of_revenue", "rate": 0.05},
        "B2B": {"kind": "per_client", "amount": 1500.0},
    },
    "other": {"per_head_month": 25000.0, "fixed_month": 0.0, "share_of_revenue": 0.0},
    "cost_of_sales": {"window_months": 12, "default_ratio": None},
    "hires": [],
    "currency": None,
    "amounts_currency": "RUB",
}
"""Built-in policy; ``params/policy/budget.yaml`` documents every key and ships the same values."""

_METHODS = ("top_down", "bottom_up")
_LEVELS = ("manager", "team", "segment", "company")
_AGGREGATIONS = ("correlated", "sum", "independent")
_MARKETING_KINDS = {
    "share_of_revenue": ("rate",),
    "per_client": ("amount",),
    "fixed": ("amount",),
}
_SEGMENTS = ("B2B", "B2C")
_SOURCE = "budget policy (params/policy/budget.yaml)"


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
        keys = {
            "manager": ["segment", "team", "manager_id"],
            "team": ["segment", "team"],
            "segment": ["segment"],
            "company": [],
        }
        if level not in keys:
            raise ValueError(f"level must be one of {list(keys)}, got {level!r}")
        by = keys[level] + ["month"]
        return self.quotas.groupby(by, sort=True)["quota"].sum().reset_index()


# -- policy ---------------------------------------------------------------------------------


def _unknown_key_error(where: str, key: str, known: list[str]) -> PolicyError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" — did you mean {close[0]!r}?" if close else ""
    return PolicyError(
        f"{_SOURCE}: unknown key '{where}{key}'{hint} Known keys: {', '.join(known)}. "
        "Fix the spelling or remove the key."
    )


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in base:
            raise _unknown_key_error(where, str(key), list(base))
        if key == "scenarios" and not where:
            if not isinstance(value, Mapping):
                raise PolicyError(
                    f"{_SOURCE}: 'scenarios' must be a mapping name -> {{column, uplift}}, "
                    f"got {value!r}"
                )
            scenarios = dict(out["scenarios"])
            for name, spec in value.items():
                if spec is None:  # null removes a default scenario
                    scenarios.pop(str(name), None)
                else:
                    scenarios[str(name)] = spec
            out["scenarios"] = scenarios
        elif key == "marketing" and not where:
            if not isinstance(value, Mapping):
                raise PolicyError(
                    f"{_SOURCE}: 'marketing' must be a mapping segment -> {{kind, rate|amount}}, "
                    f"got {value!r}"
                )
            out["marketing"] = {**out["marketing"], **{str(k): v for k, v in value.items()}}
        elif isinstance(base[key], dict) and isinstance(value, Mapping):
            out[key] = _merge(base[key], value, f"{where}{key}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    fix: str = "",
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise PolicyError(f"{_SOURCE}: '{name}' must be a number, got {value!r}. {fix}".rstrip())
    number = float(value)
    if low is not None and (number <= low if low_open else number < low):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise PolicyError(f"{_SOURCE}: '{name}' must be {bound}, got {number:g}. {fix}".rstrip())
    if high is not None and number > high:
        raise PolicyError(
            f"{_SOURCE}: '{name}' must be <= {high:g}, got {number:g}. {fix}".rstrip()
        )
    return number


def _per_segment(value: Any, name: str, **bounds: Any) -> dict[str, float] | float:
    if isinstance(value, Mapping):
        out = {}
        for seg, v in value.items():
            if seg not in _SEGMENTS:
                raise PolicyError(
                    f"{_SOURCE}: '{name}' has unknown segment {seg!r}; use B2B and/or B2C "
                    "or a single number for all segments."
                )
            out[str(seg)] = _number(v, f"{name}.{seg}", **bounds)
        return out
    return _number(value, name, **bounds)


def resolve_policy(policy: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge ``policy`` over the defaults and validate every key.

    Parameters
    ----------
    policy : a (partial) policy mapping; ``None`` reads ``params/policy/budget.yaml``
        (or uses :data:`DEFAULT_POLICY` when the project has no params folder); when that
        file nests the policy under a top-level ``policy:`` key, that mapping is used.
        Scenarios given here are added to (or replace by name) the default ones;
        a scenario set to ``null`` removes it.

    Raises
    ------
    PolicyError
        Naming the key, the offending value and the fix, for unknown keys, wrong types
        and impossible values (top-down target <= 0, uplift < -100 %, ...).

    Example
    -------
    >>> resolve_policy({"method": "top_down", "company_target": 5e8})["method"]
    'top_down'
    """
    if policy is None:
        policy = read_params("policy/budget") if params_path("policy/budget").is_file() else {}
        # The file may also carry the budget report's parameters, with the policy nested.
        if isinstance(policy.get("policy"), Mapping):
            policy = policy["policy"]
    if not isinstance(policy, Mapping):
        raise PolicyError(f"budget policy must be a mapping, got {type(policy).__name__}")
    pol = _merge(DEFAULT_POLICY, policy)

    if pol["method"] not in _METHODS:
        raise PolicyError(
            f"{_SOURCE}: 'method' must be one of {', '.join(_METHODS)}, got {pol['method']!r}."
        )
    if pol["method"] == "top_down":
        if pol["company_target"] is None:
            raise PolicyError(
                f"{_SOURCE}: method 'top_down' needs 'company_target' (annual revenue target, "
                "a number or a mapping B2B/B2C -> number). Set it, or use method 'bottom_up'."
            )
        pol["company_target"] = _per_segment(
            pol["company_target"],
            "company_target",
            low=0.0,
            low_open=True,
            fix="A top-down target is the annual revenue to allocate and must be positive.",
        )
    elif pol["company_target"] is not None:
        pol["company_target"] = _per_segment(pol["company_target"], "company_target", low=0.0)
    pol["uplift"] = _per_segment(
        pol["uplift"],
        "uplift",
        low=-1.0,
        fix="Uplift is a fraction: 0.1 = +10 %; it cannot be below -1 (-100 %).",
    )
    for key in ("phasing", "scenario_basis"):
        if pol[key] not in _LEVELS:
            raise PolicyError(
                f"{_SOURCE}: '{key}' must be one of {', '.join(_LEVELS)}, got {pol[key]!r}."
            )
    if pol["interval_aggregation"] not in _AGGREGATIONS:
        raise PolicyError(
            f"{_SOURCE}: 'interval_aggregation' must be one of {', '.join(_AGGREGATIONS)}, "
            f"got {pol['interval_aggregation']!r}."
        )
    pol["interval_correlation"] = _number(
        pol["interval_correlation"],
        "interval_correlation",
        low=0.0,
        high=1.0,
        fix="It is the correlation of forecast errors between months: 0 = independent, 1 = sum.",
    )
    fys = pol["fiscal_year_start"]
    if isinstance(fys, bool) or not isinstance(fys, int) or not 1 <= fys <= 12:
        raise PolicyError(
            f"{_SOURCE}: 'fiscal_year_start' must be a month number 1..12, got {fys!r}."
        )

    scenarios: dict[str, dict[str, Any]] = {}
    for name, spec in pol["scenarios"].items():
        if name == PLAN_SCENARIO:
            raise PolicyError(
                f"{_SOURCE}: scenario name {PLAN_SCENARIO!r} is reserved (the quotas); rename it."
            )
        if not isinstance(spec, Mapping):
            raise PolicyError(
                f"{_SOURCE}: scenario {name!r} must be a mapping with 'column' and optional "
                f"'uplift', got {spec!r}."
            )
        for key in spec:
            if key not in ("column", "uplift"):
                raise _unknown_key_error(f"scenarios.{name}.", str(key), ["column", "uplift"])
        column = spec.get("column", "yhat")
        if column not in SCENARIO_COLUMNS:
            raise PolicyError(
                f"{_SOURCE}: scenarios.{name}.column must be one of {', '.join(SCENARIO_COLUMNS)}, "
                f"got {column!r}."
            )
        uplift = _number(
            spec.get("uplift", 0.0),
            f"scenarios.{name}.uplift",
            low=-1.0,
            fix="Uplift is a fraction of the forecast: 0.15 = +15 %.",
        )
        scenarios[str(name)] = {"column": column, "uplift": uplift}
    missing = [s for s in ("low", "base", "high") if s not in scenarios]
    if missing:
        raise PolicyError(
            f"{_SOURCE}: scenarios {', '.join(missing)} are required (low/base/high from the "
            "forecast intervals); define them or do not set them to null."
        )
    pol["scenarios"] = scenarios

    if pol["default_salary"] is not None:
        pol["default_salary"] = _number(
            pol["default_salary"],
            "default_salary",
            low=0.0,
            fix="It is the monthly salary used where managers.base_salary is empty.",
        )
    pol["salary_indexation"] = _number(pol["salary_indexation"], "salary_indexation", low=-1.0)
    pol["payroll_tax_rate"] = _number(
        pol["payroll_tax_rate"],
        "payroll_tax_rate",
        low=0.0,
        high=1.0,
        fix="Use a fraction: 0.3 = 30 %.",
    )
    bonus = pol["bonus"]
    bonus["share"] = _number(
        bonus["share"],
        "bonus.share",
        low=0.0,
        fix="The target bonus as a fraction of the annual base salary.",
    )
    bonus["cap"] = _number(bonus["cap"], "bonus.cap", low=0.0)
    bonus["threshold"] = _number(bonus["threshold"], "bonus.threshold", low=0.0)
    if bonus["threshold"] > bonus["cap"]:
        raise PolicyError(
            f"{_SOURCE}: bonus.threshold ({bonus['threshold']:g}) is above bonus.cap "
            f"({bonus['cap']:g}); no attainment could earn a bonus. Lower the threshold."
        )
    if not isinstance(bonus["use_score"], bool):
        raise PolicyError(
            f"{_SOURCE}: bonus.use_score must be true or false, got {bonus['use_score']!r}."
        )
    bonus["default_score"] = _number(
        bonus["default_score"], "bonus.default_score", low=0.0, high=100.0
    )

    marketing: dict[str, dict[str, Any]] = {}
    for seg, spec in pol["marketing"].items():
        if seg not in _SEGMENTS:
            raise _unknown_key_error("marketing.", str(seg), list(_SEGMENTS))
        if spec is None:
            continue
        if not isinstance(spec, Mapping) or spec.get("kind") not in _MARKETING_KINDS:
            raise PolicyError(
                f"{_SOURCE}: marketing.{seg} must be a mapping with 'kind' one of "
                f"{', '.join(_MARKETING_KINDS)} (got {spec!r}); "
                "e.g. {kind: share_of_revenue, rate: 0.05} "
                "or {kind: per_client, amount: 1500}."
            )
        need = _MARKETING_KINDS[spec["kind"]]
        for key in spec:
            if key != "kind" and key not in need:
                raise _unknown_key_error(f"marketing.{seg}.", str(key), ["kind", *need])
        value_key = need[0]
        if value_key not in spec:
            raise PolicyError(
                f"{_SOURCE}: marketing.{seg} of kind {spec['kind']!r} needs '{value_key}'."
            )
        value = _number(
            spec[value_key],
            f"marketing.{seg}.{value_key}",
            low=0.0,
            high=1.0 if value_key == "rate" else None,
        )
        marketing[seg] = {"kind": spec["kind"], value_key: value}
    pol["marketing"] = marketing

    other = pol["other"]
    for key in other:
        other[key] = _number(
            other[key], f"other.{key}", low=0.0, high=1.0 if key == "share_of_revenue" else None
        )
    cos = pol["cost_of_sales"]
    window = cos["window_months"]
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise PolicyError(
            f"{_SOURCE}: cost_of_sales.window_months must be a whole number >= 1, got {window!r}."
        )
    if cos["default_ratio"] is not None:
        cos["default_ratio"] = _number(
            cos["default_ratio"], "cost_of_sales.default_ratio", low=0.0, high=1.0
        )
    if pol["currency"] is not None and not isinstance(pol["currency"], str):
        raise PolicyError(
            f"{_SOURCE}: 'currency' must be a currency code like RUB, got {pol['currency']!r}."
        )
    if pol["amounts_currency"] is not None and not isinstance(pol["amounts_currency"], str):
        raise PolicyError(
            f"{_SOURCE}: 'amounts_currency' must be a currency code like RUB (the currency "
            f"of default_salary, marketing and other amounts), got {pol['amounts_currency']!r}."
        )
    pol["hires"] = _check_hires(pol["hires"], pol["default_salary"])
    return pol


def _check_hires(hires: Any, default_salary: float | None) -> list[dict[str, Any]]:
    """Validate planned hires: [{segment, month, count, salary, team}, ...]."""
    if hires is None:
        return []
    if not isinstance(hires, list):
        raise PolicyError(
            f"{_SOURCE}: 'hires' must be a list of {{segment, month, count, salary, team}}, "
            f"got {hires!r}."
        )
    out = []
    known = ["segment", "month", "count", "salary", "team"]
    for i, hire in enumerate(hires):
        where = f"hires[{i}]"
        if not isinstance(hire, Mapping):
            raise PolicyError(
                f"{_SOURCE}: {where} must be a mapping like {{segment: B2B, month: 2027-04}}."
            )
        for key in hire:
            if key not in known:
                raise _unknown_key_error(f"{where}.", str(key), known)
        if hire.get("segment") not in _SEGMENTS:
            raise PolicyError(
                f"{_SOURCE}: {where}.segment must be B2B or B2C, got {hire.get('segment')!r}."
            )
        text = str(hire.get("month"))
        try:
            if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
                raise ValueError(text)
            month = pd.Period(text[:7], freq="M")
        except ValueError:
            raise PolicyError(
                f"{_SOURCE}: {where}.month must be a month like 2027-04, got {hire.get('month')!r}."
            ) from None
        count = hire.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise PolicyError(
                f"{_SOURCE}: {where}.count must be a whole number >= 1, got {count!r}."
            )
        salary = hire.get("salary")
        if salary is None:
            if default_salary is None:
                raise PolicyError(
                    f"{_SOURCE}: {where} has no salary and default_salary is null; give one."
                )
            salary = default_salary
        out.append(
            {
                "segment": hire["segment"],
                "month": f"{month.year:04d}-{month.month:02d}",
                "count": count,
                "salary": _number(salary, f"{where}.salary", low=0.0),
                "team": None if hire.get("team") is None else str(hire["team"]),
            }
        )
    return out


# -- periods --------------------------------------------------------------------------------


def fiscal_year_months(fiscal_year: int, fiscal_year_start: int = 1) -> list[pd.Timestamp]:
    """The 12 month starts of ``fiscal_year``.

    Fiscal years follow :mod:`amtools.core.periods` (pandas): a fiscal year is labelled by the
    calendar year it ends in, so with ``fiscal_year_start=4`` FY2027 runs April 2026 - March 2027.

    Example
    -------
    >>> [m.strftime("%Y-%m") for m in fiscal_year_months(2027, 4)][:2]
    ['2026-04', '2026-05']
    """
    period = pd.Period(str(int(fiscal_year)), freq=period_freq("Y", fiscal_year_start))
    return list(pd.date_range(period.start_time.normalize(), periods=12, freq="MS"))


def next_fiscal_year(history_end: pd.Timestamp | str, fiscal_year_start: int = 1) -> int:
    """The first fiscal year that starts after the month of ``history_end``.

    Example
    -------
    >>> next_fiscal_year("2026-09-30"), next_fiscal_year("2026-09-30", fiscal_year_start=10)
    (2027, 2027)
    """
    first = pd.Timestamp(history_end).to_period("M").start_time + pd.offsets.MonthBegin(1)
    year = _fiscal_year_of(first, fiscal_year_start)
    if fiscal_year_months(year, fiscal_year_start)[0] < first:
        year += 1
    return year


def required_horizon(
    history_end: pd.Timestamp | str,
    fiscal_year_start: int = 1,
    fiscal_year: int | None = None,
) -> int:
    """Forecast months needed after ``history_end`` so :func:`plan` covers the fiscal year.

    Use it to size the forecast: ``forecast(series, h=max(12, required_horizon(end, fys)))``.

    Example
    -------
    >>> required_horizon("2026-09-30"), required_horizon("2026-12-31")
    (15, 12)
    """
    year = next_fiscal_year(history_end, fiscal_year_start) if fiscal_year is None else fiscal_year
    last = fiscal_year_months(int(year), fiscal_year_start)[-1].to_period("M")
    return max(0, (last - pd.Timestamp(history_end).to_period("M")).n)


def _fiscal_year_of(month: pd.Timestamp, fiscal_year_start: int) -> int:
    return int(pd.Period(month, freq=period_freq("Y", fiscal_year_start)).qyear)


def _month_label(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m")


# -- inputs ---------------------------------------------------------------------------------


def _data_error(
    table: str,
    column: str | None,
    check: str,
    message: str,
    count: int,
    examples: tuple[str, ...] = (),
    *,
    fix: str = "",
) -> DataValidationError:
    """One-problem :class:`DataValidationError` (table, column, rows and the fix)."""
    return DataValidationError([Problem(table, column, check, message, count, examples, fix=fix)])


def _forecast_frame(forecast: Any, columns: tuple[str, ...] = SCENARIO_COLUMNS) -> pd.DataFrame:
    """The forecast's rows as [unique_id, level, ds, yhat, <bounds>]; bounds not in ``columns``
    may be absent (then NaN)."""
    frame = getattr(forecast, "forecast", forecast)
    if not isinstance(frame, pd.DataFrame):
        raise PolicyError(
            "plan() needs a ForecastResult (from amtools.forecast.forecast) or its .forecast "
            f"DataFrame, got {type(forecast).__name__}."
        )
    needed = ["unique_id", "level", "ds", *dict.fromkeys(("yhat", *columns))]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise _data_error(
            "forecast",
            ", ".join(missing),
            "missing_column",
            f"the forecast frame lacks column(s) {missing}",
            len(frame),
            fix="pass the ForecastResult of amtools.forecast.forecast(..., levels=(80, 95)) "
            "or base the scenarios (params/policy/budget.yaml scenarios) on columns it has",
        )
    out = frame[needed].copy()
    for col in SCENARIO_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    out = out[["unique_id", "level", "ds", *SCENARIO_COLUMNS]]
    out["unique_id"] = out["unique_id"].astype("string")
    out["level"] = out["level"].astype("string")
    out["ds"] = pd.to_datetime(out["ds"]).dt.to_period("M").dt.start_time
    for col in SCENARIO_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    dup = out.duplicated(["unique_id", "ds"], keep=False)
    if dup.any():
        examples = tuple(
            f"{u} {_month_label(d)}"
            for u, d in out.loc[dup, ["unique_id", "ds"]].head(3).itertuples(index=False)
        )
        raise _data_error(
            "forecast",
            "unique_id",
            "duplicate_rows",
            "several rows per series and month (more than one model?)",
            int(dup.sum()),
            examples,
            fix="keep one (the chosen, reconciled) model per series",
        )
    return out


def _managers_frame(dataset: Dataset) -> pd.DataFrame:
    managers = dataset.get("managers")
    if managers is None:
        raise _data_error(
            "managers",
            None,
            "missing_table",
            "the budget needs the managers table",
            0,
            fix="load a source with a managers table",
        )
    problems = []
    for col in ("manager_id", "segment"):
        if col not in managers.columns:
            problems.append(
                Problem(
                    "managers",
                    col,
                    "missing_column",
                    f"column {col!r} is missing",
                    len(managers),
                    fix=f"map a column to {col!r}",
                    args={"columns": col, "first": col},
                )
            )
    if problems:
        raise DataValidationError(problems)
    out = pd.DataFrame({"manager_id": managers["manager_id"].astype("string")})
    out["segment"] = managers["segment"].astype("string").to_numpy()
    team = (
        managers["team"] if "team" in managers.columns else pd.Series(pd.NA, index=managers.index)
    )
    out["team"] = team.astype("string").fillna(NO_TEAM).to_numpy()
    salary = (
        managers["base_salary"]
        if "base_salary" in managers.columns
        else pd.Series(np.nan, index=managers.index)
    )
    out["base_salary"] = pd.to_numeric(salary, errors="coerce").astype("float64").to_numpy()
    active = (
        managers["active"]
        if "active" in managers.columns
        else pd.Series(pd.NA, index=managers.index)
    )
    out["active"] = active.astype("boolean").fillna(True).astype(bool).to_numpy()
    bad_seg = ~out["segment"].isin(_SEGMENTS).fillna(False)
    if bad_seg.any():
        ex = tuple(out.loc[bad_seg, "manager_id"].astype(str).head(5))
        problems.append(
            Problem(
                "managers",
                "segment",
                "unknown_value",
                "segment must be B2B or B2C",
                int(bad_seg.sum()),
                ex,
                fix="set segment to B2B or B2C",
            )
        )
    neg = out["base_salary"] < 0
    if neg.any():
        ex = tuple(out.loc[neg, "manager_id"].astype(str).head(5))
        problems.append(
            Problem(
                "managers",
                "base_salary",
                "negative",
                "monthly base salary is negative",
                int(neg.sum()),
                ex,
                fix="correct the salary (a monthly amount >= 0)",
            )
        )
    dup = out["manager_id"].duplicated(keep=False)
    if dup.any():
        ex = tuple(out.loc[dup, "manager_id"].astype(str).unique()[:5])
        problems.append(
            Problem(
                "managers",
                "manager_id",
                "duplicate_key",
                "manager_id is not unique",
                int(dup.sum()),
                ex,
                fix="keep one row per manager",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return out


def _history_end(fc: pd.DataFrame) -> pd.Timestamp:
    """Last day of the last history month (the month before the first forecast month)."""
    return fc["ds"].min() - pd.Timedelta(days=1)


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
    managers = _managers_frame(dataset)[["manager_id", "segment"]]
    deals = dataset.get("deals")
    rows = []
    for seg in _SEGMENTS:
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
    for i, seg in enumerate(_SEGMENTS):
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


# -- plan -----------------------------------------------------------------------------------


def _check_coverage(
    fc: pd.DataFrame, months: list[pd.Timestamp], fiscal_year: int, fys: int
) -> None:
    have = set(fc.loc[fc["level"] == "manager", "ds"])
    missing = [m for m in months if m not in have]
    if not missing:
        return
    first, last = fc["ds"].min(), fc["ds"].max()
    what = (
        f"the forecast covers {_month_label(first)}..{_month_label(last)} but fiscal year "
        f"{fiscal_year} (fiscal_year_start={fys}) needs {_month_label(months[0])}.."
        f"{_month_label(months[-1])}; missing months: "
        f"{', '.join(_month_label(m) for m in missing)}."
    )
    if months[0] < first:
        later = next_fiscal_year(first - pd.Timedelta(days=1), fys)
        raise PolicyError(
            f"{what} The fiscal year starts before the forecast (those months are history). "
            f"Fix: plan a fiscal year that starts on or after {_month_label(first)}, "
            f"e.g. fiscal_year={later} (the default)."
        )
    need_h = (months[-1].to_period("M") - first.to_period("M")).n + 1
    raise PolicyError(
        f"{what} Fix: forecast with a longer horizon (h >= {need_h}, e.g. "
        f"forecast(series, h={need_h})) or pass another fiscal_year / fiscal_year_start."
    )


def _manager_matrix(
    fc: pd.DataFrame, months: list[pd.Timestamp], used: tuple[str, ...]
) -> pd.DataFrame:
    """Manager x month forecast values of the fiscal year, checked complete and floored at 0."""
    rows = fc[(fc["level"] == "manager") & fc["ds"].isin(months)].copy()
    rows["manager_id"] = rows["unique_id"].str.removeprefix("manager/")
    rows = rows.rename(columns={"ds": "month"})
    problems = []
    n_months = rows.groupby("manager_id")["month"].nunique()
    short = n_months[n_months < len(months)]
    if len(short):
        problems.append(
            Problem(
                "forecast",
                "ds",
                "incomplete_series",
                f"manager series do not cover all {len(months)} months of the fiscal year",
                len(short),
                tuple(f"manager/{m}" for m in short.index[:5]),
                fix="forecast every series to the same horizon",
            )
        )
    for col in ("yhat", *used):
        empty = rows[col].isna()
        if empty.any():
            problems.append(
                Problem(
                    "forecast",
                    col,
                    "missing_value",
                    f"empty {col} in manager rows of the fiscal year",
                    int(empty.sum()),
                    tuple(rows.loc[empty, "unique_id"].astype(str).unique()[:5]),
                    fix="re-run the forecast; every series needs a value for every month",
                )
            )
    if problems:
        raise DataValidationError(problems)
    for col in SCENARIO_COLUMNS:
        # Revenue cannot be negative: interval bounds (and rarely yhat) are floored at 0.
        rows[col] = rows[col].clip(lower=0.0)
    return rows[["manager_id", "month", *SCENARIO_COLUMNS]].reset_index(drop=True)


def _reallocate_inactive(
    values: pd.DataFrame, managers: pd.DataFrame, months: list[pd.Timestamp], notes: list[Message]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Move inactive managers' forecasts to active managers of the same team.

    Each inactive manager's monthly forecast (every column) goes to the active managers of
    their team in proportion to those managers' annual base forecast (equally if that is 0);
    a team without active managers hands over to its segment, a segment without any to the
    whole company. Totals are preserved.
    """
    active_ids = managers.loc[managers["active"], "manager_id"].tolist()
    if not active_ids:
        raise PolicyError(
            "no active managers: every manager is marked inactive (managers.active), so nobody "
            "can carry a quota. Mark current managers active=true."
        )
    full = pd.MultiIndex.from_product(
        [managers["manager_id"].tolist(), months], names=["manager_id", "month"]
    )
    cube = values.set_index(["manager_id", "month"]).reindex(full, fill_value=0.0)
    annual = cube["yhat"].groupby(level="manager_id").sum()
    active = managers[managers["active"]]
    by_team = active.groupby(["segment", "team"])["manager_id"].apply(list).to_dict()
    by_segment = active.groupby("segment")["manager_id"].apply(list).to_dict()
    position = {mid: k for k, mid in enumerate(active_ids)}
    inactive = managers.loc[~managers["active"], ["manager_id", "segment", "team"]]
    # transfer[r, i]: share of inactive manager i's forecast that active manager r takes over
    transfer = np.zeros((len(active_ids), len(inactive)))
    moves: list[dict[str, Any]] = []
    for k, (mid, seg, team) in enumerate(inactive.itertuples(index=False)):
        if float(np.nansum(cube.loc[mid].to_numpy())) == 0.0:
            continue
        if (seg, team) in by_team:
            scope, recipients = "team", by_team[(seg, team)]
        elif seg in by_segment:
            scope, recipients = "segment", by_segment[seg]
        else:
            scope, recipients = "company", active_ids
        weights = annual.reindex(recipients).to_numpy()
        total = weights.sum()
        weights = weights / total if total > 0 else np.full(len(recipients), 1.0 / len(recipients))
        transfer[[position[r] for r in recipients], k] = weights
        moves.append(
            {
                "from": str(mid),
                "scope": scope,
                "to": [str(r) for r in recipients],
                "forecast": float(annual[mid]),
            }
        )
        if scope != "team":
            notes.append(
                Message(f"budget.note.reallocated_{scope}", {"manager": str(mid), "team": team})
            )
    n_months = len(months)
    result = cube.loc[active_ids].copy()
    if len(inactive):
        donors = cube.loc[inactive["manager_id"].tolist()]
        for col in cube.columns:
            given = donors[col].to_numpy().reshape(len(inactive), n_months)
            kept = result[col].to_numpy().reshape(len(active_ids), n_months)
            # NaN bounds (columns no scenario uses) stay NaN rather than poisoning sums
            moved = transfer @ np.nan_to_num(given)
            result[col] = (kept + moved).ravel()
    return result.reset_index(), moves


def _profile(values: pd.DataFrame, managers: pd.DataFrame, phasing: str) -> pd.Series:
    """Monthly phasing weights per manager (sum to 1 over the year), indexed by manager, month."""
    frame = values.merge(managers[["manager_id", "segment", "team"]], on="manager_id")
    frame["company"] = "all"
    chain = {
        "manager": ["manager_id", "team", "segment", "company"],
        "team": ["team", "segment", "company"],
        "segment": ["segment", "company"],
        "company": ["company"],
    }[phasing]
    weights = pd.Series(np.nan, index=frame.index)
    for level in chain:
        keys = ["segment", "team"] if level == "team" else [level]
        monthly = frame.groupby(keys + ["month"])["yhat"].transform("sum")
        # every manager has every month, so the group's sum over all rows is its annual total
        annual = frame.groupby(keys)["yhat"].transform("sum")
        weights = weights.fillna((monthly / annual).where(annual > 0))
    n_months = frame["month"].nunique()
    weights = weights.fillna(1.0 / n_months)
    return pd.Series(
        weights.to_numpy(), index=pd.MultiIndex.from_frame(frame[["manager_id", "month"]])
    )


def _scenario_values(
    base: pd.DataFrame,
    fc: pd.DataFrame,
    managers: pd.DataFrame,
    column: str,
    basis: str,
    aggregation: str = "correlated",
    correlation: float = 0.5,
) -> pd.Series:
    """Manager-month revenue for a forecast column, scaled at the ``basis`` level.

    Interval bounds do not add up across series, so by default (basis ``company``) each
    manager's base forecast is scaled by the company series' ``column / yhat`` ratio; basis
    ``manager`` uses the managers' own bounds (the widest, fully correlated view).

    ``aggregation`` ``sum`` takes every month at its bound (all months low together);
    ``correlated`` (default) gives the year the interval of a sum of months whose errors are
    equally correlated (``correlation`` rho): with monthly deviations d_i = bound_i - yhat_i
    (a bound below 0 counts as 0), the year's deviation is
    sign(sum d) * sqrt((1 - rho) * sum d_i^2 + rho * (sum d_i)^2), applied as one ratio to
    every month (so the scenario is phased like the base forecast); rho = 1 is ``sum``,
    rho = 0 is ``independent`` (root sum of squares).
    """
    own = base[column]
    if column == "yhat" or (basis == "manager" and aggregation == "sum"):
        return own
    frame = base[["manager_id", "month", "yhat"]].merge(
        managers[["manager_id", "segment", "team"]], on="manager_id", how="left"
    )
    if basis == "manager":
        frame["anc"] = frame["manager_id"]
        frame["anc_yhat"] = frame["yhat"].to_numpy()
        frame["anc_col"] = own.to_numpy()
    else:
        if basis == "company":
            frame["anc"] = "company"
        elif basis == "segment":
            frame["anc"] = "segment/" + frame["segment"]
        else:
            frame["anc"] = "team/" + frame["team"]
        anc = fc[["unique_id", "ds", "yhat", column]].rename(
            columns={"unique_id": "anc", "ds": "month", "yhat": "anc_yhat", column: "anc_col"}
        )
        frame = frame.merge(anc, on=["anc", "month"], how="left")
    if aggregation == "sum":
        ratio = (frame["anc_col"].clip(lower=0.0) / frame["anc_yhat"]).where(frame["anc_yhat"] > 0)
    else:
        # one row per ancestor series and month (managers repeat their ancestor's values)
        series = frame.drop_duplicates(["anc", "month"])
        rho = 0.0 if aggregation == "independent" else float(correlation)
        dev = series["anc_col"].clip(lower=0.0) - series["anc_yhat"]
        by = series["anc"]
        total = series["anc_yhat"].groupby(by).sum()
        dev_sum = dev.groupby(by).sum()
        variance = (1.0 - rho) * (dev**2).groupby(by).sum() + rho * dev_sum**2
        spread = np.sign(dev_sum) * np.sqrt(variance)
        annual_ratio = ((total + spread).clip(lower=0.0) / total).where(total > 0)
        ratio = frame["anc"].map(annual_ratio).astype("float64")
    scaled = frame["yhat"] * ratio
    return scaled.fillna(own.reset_index(drop=True)).set_axis(base.index)


def _salaries(managers: pd.DataFrame, pol: dict[str, Any], notes: list[Message]) -> pd.Series:
    active = managers[managers["active"]]
    salary = active["base_salary"]
    missing = salary.isna()
    if missing.any():
        if pol["default_salary"] is None:
            raise _data_error(
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
    salary = salary.fillna(pol["default_salary"] if pol["default_salary"] is not None else np.nan)
    return pd.Series(
        (salary * (1.0 + pol["salary_indexation"])).to_numpy(),
        index=active["manager_id"].to_numpy(),
    )


def _latest_scores(
    scores: pd.DataFrame | None, ids: list[str], default: float
) -> tuple[pd.Series, int]:
    out = pd.Series(default, index=ids, dtype="float64")
    if scores is None:
        return out, 0
    needed = [c for c in ("manager_id", "period", "score") if c not in scores.columns]
    if needed:
        raise _data_error(
            "scores",
            ", ".join(needed),
            "missing_column",
            f"scores lacks {needed}",
            len(scores),
            fix="pass the frame from amtools.kpi.scoring.scores()",
        )
    frame = scores[["manager_id", "period", "score"]].copy()
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype("float64")
    bad = (frame["score"] < 0) | (frame["score"] > 100)
    if bad.any():
        raise _data_error(
            "scores",
            "score",
            "out_of_range",
            "score must be within 0..100",
            int(bad.sum()),
            tuple(frame.loc[bad, "manager_id"].astype(str).head(5)),
            fix="pass scores on the 0..100 scale from amtools.kpi.scoring.scores()",
        )
    frame = frame.dropna(subset=["score"])
    try:
        frame["end"] = [
            pd.Period(p if isinstance(p, pd.Period) else str(p)).end_time for p in frame["period"]
        ]
    except ValueError:
        raise _data_error(
            "scores",
            "period",
            "bad_value",
            "period labels must look like 2026Q3, 2026-07 or 2026",
            len(frame),
            tuple(frame["period"].astype(str).head(3)),
            fix="pass the frame from amtools.kpi.scoring.scores()",
        ) from None
    latest = frame.sort_values("end").groupby(frame["manager_id"].astype(str))["score"].last()
    found = latest.reindex(ids)
    return found.fillna(default), int(found.notna().sum())


def _active_clients(dataset: Dataset, managers: pd.DataFrame, asof: pd.Timestamp) -> dict[str, int]:
    clients = dataset.get("clients")
    counts = dict.fromkeys(_SEGMENTS, 0)
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
    keep = pd.Series(True, index=frame.index)
    if "acquired_date" in clients.columns:
        acq = pd.to_datetime(clients["acquired_date"]).to_numpy()
        keep &= ~(pd.Series(acq) > asof).to_numpy()
    if "churned_date" in clients.columns:
        churn = pd.Series(pd.to_datetime(clients["churned_date"]).to_numpy())
        keep &= (churn.isna() | (churn > asof)).to_numpy()
    frame = frame[keep.to_numpy()]
    for s in _SEGMENTS:
        counts[s] = int((frame["segment"] == s).fillna(False).sum())
    return counts


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
    pol = resolve_policy(policy)
    fys = pol["fiscal_year_start"]
    used = tuple(dict.fromkeys(spec["column"] for spec in pol["scenarios"].values()))
    fc = _forecast_frame(forecast, used)
    if fc.empty or not (fc["level"] == "manager").any():
        raise PolicyError(
            "the forecast has no manager-level rows (level 'manager', unique_id 'manager/<id>'); "
            "forecast the full hierarchy from amtools.forecast.monthly_series(dataset)."
        )
    first = fc["ds"].min()
    if fiscal_year is None:
        fiscal_year = next_fiscal_year(first - pd.Timedelta(days=1), fys)
    months = fiscal_year_months(int(fiscal_year), fys)
    _check_coverage(fc, months, int(fiscal_year), fys)

    managers = _managers_frame(dataset)
    notes: list[Message] = []
    values = _manager_matrix(fc, months, used)
    unknown = sorted(set(values["manager_id"]) - set(managers["manager_id"]))
    if unknown:
        raise _data_error(
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
    base, moves = _reallocate_inactive(values, managers, months, notes)
    active = managers[managers["active"]].reset_index(drop=True)
    base = base.merge(active[["manager_id", "segment", "team"]], on="manager_id")
    base = base.sort_values(["segment", "team", "manager_id", "month"]).reset_index(drop=True)

    # -- quotas
    annual = base.groupby(["manager_id", "segment", "team"])["yhat"].sum().reset_index()
    annual = annual.rename(columns={"yhat": "forecast"})
    if pol["method"] == "bottom_up":
        uplift = pol["uplift"]
        factor = (
            annual["segment"].map(uplift)
            if isinstance(uplift, dict)
            else pd.Series(uplift, index=annual.index)
        )
        annual["quota"] = annual["forecast"] * (1.0 + factor.fillna(0.0).astype("float64"))
    else:
        target = pol["company_target"]
        if isinstance(target, dict):
            missing_seg = sorted(set(annual["segment"]) - set(target))
            if missing_seg:
                raise PolicyError(
                    f"{_SOURCE}: company_target is given per segment but has no target for "
                    f"{', '.join(missing_seg)}; add it or give one company-wide number."
                )
            unstaffed = sorted(set(target) - set(annual["segment"]))
            if unstaffed:
                raise PolicyError(
                    f"{_SOURCE}: company_target has a target for {', '.join(unstaffed)} but no "
                    "active manager serves that segment, so nobody could carry it; remove the "
                    "target or mark the segment's managers active."
                )
            scope_total = annual.groupby("segment")["forecast"].transform("sum")
            scope_target = annual["segment"].map(target).astype("float64")
        else:
            scope_total = pd.Series(annual["forecast"].sum(), index=annual.index)
            scope_target = pd.Series(float(target), index=annual.index)
        if (scope_total <= 0).any():
            raise PolicyError(
                "top_down: the forecast for the fiscal year is zero where the target must be "
                "allocated (no revenue to share the target by); use method bottom_up or check "
                "the forecast."
            )
        annual["quota"] = scope_target * annual["forecast"] / scope_total
    annual["share"] = annual["quota"] / annual["quota"].sum() if annual["quota"].sum() > 0 else 0.0
    annual["uplift"] = (annual["quota"] / annual["forecast"] - 1.0).where(annual["forecast"] > 0)
    profile = _profile(base[["manager_id", "month", "yhat"]], active, pol["phasing"])
    quotas = base[["manager_id", "segment", "team", "month"]].copy()
    weights = profile.reindex(pd.MultiIndex.from_frame(quotas[["manager_id", "month"]])).to_numpy()
    quotas["quota"] = (
        quotas["manager_id"].map(annual.set_index("manager_id")["quota"]).to_numpy() * weights
    )

    # -- revenue scenarios
    revenue_parts = [quotas.rename(columns={"quota": "revenue"}).assign(scenario=PLAN_SCENARIO)]
    for name, spec in pol["scenarios"].items():
        rev = _scenario_values(
            base,
            fc,
            active,
            spec["column"],
            pol["scenario_basis"],
            pol["interval_aggregation"],
            pol["interval_correlation"],
        )
        part = base[["manager_id", "segment", "team", "month"]].copy()
        part["revenue"] = rev.to_numpy() * (1.0 + spec["uplift"])
        revenue_parts.append(part.assign(scenario=name))
    revenue = pd.concat(revenue_parts, ignore_index=True)
    revenue["scenario"] = revenue["scenario"].astype("string")
    revenue = revenue[["month", "segment", "team", "manager_id", "scenario", "revenue"]]

    # -- costs
    hist_end = _history_end(fc)
    ratios = cost_of_sales_ratios(
        dataset, hist_end, window_months=pol["cost_of_sales"]["window_months"]
    )
    ratio_map: dict[str, float] = {}
    no_cost: list[str] = []  # segments with a plan but no cost data: cost of sales unknown
    for record in ratios.to_dict("records"):
        seg, ratio = str(record["segment"]), float(record["ratio"])
        seg_has_plan = bool((active["segment"] == seg).any())
        if np.isfinite(ratio):
            ratio_map[seg] = ratio
        elif pol["cost_of_sales"]["default_ratio"] is not None:
            ratio_map[seg] = float(pol["cost_of_sales"]["default_ratio"])
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
                        "months": int(pol["cost_of_sales"]["window_months"]),
                        "end": hist_end.date().isoformat(),
                        "column": "deals.cost",
                    },
                )
            )
        else:
            ratio_map[seg] = 0.0

    salary = _salaries(managers, pol, notes)
    score, n_scored = _latest_scores(
        scores, active["manager_id"].tolist(), pol["bonus"]["default_score"]
    )
    if not pol["bonus"]["use_score"]:
        score = pd.Series(pol["bonus"]["default_score"], index=score.index)
    clients = _active_clients(dataset, managers, hist_end)
    per_client = [seg for seg, spec in pol["marketing"].items() if spec["kind"] == "per_client"]
    if per_client and dataset.get("clients") is None:
        notes.append(Message("budget.note.no_clients", {"segments": ", ".join(per_client)}))
    currency = pol["currency"] or dataset.meta.get("currency") or DEFAULT_CURRENCY
    foreign = _foreign_amounts(pol, active, currency)
    if "payroll" in foreign:  # the default salary is not used after all: say why instead
        notes[:] = [n for n in notes if n.key != "budget.note.default_salary"]

    scenario_names = [PLAN_SCENARIO, *pol["scenarios"]]
    costs, bonus_detail = _costs(
        revenue,
        annual.set_index("manager_id")["quota"],
        active,
        salary,
        score,
        ratio_map,
        clients,
        pol,
        scenario_names,
        months,
    )
    heads = active.groupby("segment")["manager_id"].size()
    if foreign:
        # amounts of another currency are not this company's costs: left out, not converted
        costs = costs[~costs["category"].astype(str).isin(foreign)].reset_index(drop=True)

    summary = _summary(
        revenue, costs, scenario_names, cost_known=not no_cost, unknown=tuple(foreign)
    )
    margins = summary.set_index("scenario").loc[["low", "base", "high"], "margin"]
    if margins.notna().all() and not margins.is_monotonic_increasing:
        notes.append(Message("budget.note.margin_not_rising"))
    unavailable: dict[str, Message] = {}
    if no_cost:
        args = {"segments": ", ".join(no_cost), "column": "deals.cost"}
        unavailable = {
            "cost_of_sales": Message("budget.unavailable.cost_of_sales", args),
            "margin": Message("budget.unavailable.margin", args),
        }
    if foreign:
        why = Message(
            "budget.unavailable.amounts_currency",
            {"policy": pol["amounts_currency"], "data": currency},
        )
        unavailable.update({category: why for category in foreign})
        unavailable.setdefault("margin", why)

    mgr_table = active[["manager_id", "segment", "team"]].copy()
    mgr_table["salary"] = salary.reindex(mgr_table["manager_id"]).to_numpy()
    mgr_table["score"] = score.reindex(mgr_table["manager_id"]).to_numpy()
    assumptions = {
        "fiscal_year": int(fiscal_year),
        "fiscal_year_start": fys,
        "months": [_month_label(m) for m in months],
        "history_end": hist_end.date().isoformat(),
        "currency": currency,
        "method": pol["method"],
        "policy": pol,
        "headcount": {str(k): int(v) for k, v in heads.items()},
        "hires": pol["hires"],
        "inactive_managers": sorted(managers.loc[~managers["active"], "manager_id"].astype(str)),
        "reallocations": moves,
        "managers_without_forecast": no_forecast,
        "salary_from_data": int(active["base_salary"].notna().sum()),
        "salary_from_default": int(active["base_salary"].isna().sum()),
        "scored_managers": n_scored,
        "cost_of_sales": ratios.to_dict("records"),
        "cost_of_sales_ratio": {k: v for k, v in ratio_map.items() if np.isfinite(v)},
        "cost_of_sales_unavailable": no_cost,
        "categories_unavailable": list(foreign),
        "active_clients": clients,
        "bonus_formula": (
            "bonus = base_salary x 12 x share x f(attainment) x score/100; f(a) = 0 if a < threshold "
            "else min(a, cap); attainment = scenario revenue / annual quota"
        ),
        "scenario_basis": pol["scenario_basis"],
        "interval_aggregation": pol["interval_aggregation"],
        "interval_correlation": pol["interval_correlation"],
        "notes": notes,
    }
    return BudgetPlan(
        revenue=revenue.reset_index(drop=True),
        quotas=quotas.reset_index(drop=True),
        costs=costs,
        summary=summary,
        assumptions=assumptions,
        annual_quotas=annual[
            ["manager_id", "segment", "team", "forecast", "quota", "share", "uplift"]
        ],
        managers=mgr_table.reset_index(drop=True),
        bonuses=bonus_detail,
        fiscal_year=int(fiscal_year),
        months=months,
        unavailable=unavailable,
    )


def _costs(
    revenue: pd.DataFrame,
    annual_quota: pd.Series,
    active: pd.DataFrame,
    salary: pd.Series,
    score: pd.Series,
    ratio_map: Mapping[str, float],
    clients: Mapping[str, int],
    pol: dict[str, Any],
    scenario_names: list[str],
    months: list[pd.Timestamp],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cost lines per scenario x month x segment, and the bonus detail per manager."""
    n_months = len(months)
    seg_of = active.set_index("manager_id")["segment"]
    ids = annual_quota.index

    # Bonus: annual, per manager and scenario, from the year's attainment.
    mgr_rev = (
        revenue.groupby(["scenario", "manager_id"])["revenue"]
        .sum()
        .unstack("manager_id")
        .reindex(index=scenario_names, columns=ids)
        .fillna(0.0)
    )
    quota = annual_quota.where(annual_quota > 0)
    att = mgr_rev.div(quota, axis=1).fillna(1.0)  # no quota: budgeted at target
    bonus_cfg = pol["bonus"]
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

    # Everything else per scenario x segment x month.
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
    bonus_seg = bonus.T.groupby(seg_of.reindex(ids).to_numpy()).sum().T  # scenario x segment
    bonus_month = (
        bonus_seg.reindex(index=scenario_names, columns=segments).fillna(0.0).stack() / n_months
    )
    bonus_month = bonus_month.reindex(grid.droplevel("month")).to_numpy()
    wide = pd.DataFrame(index=grid)
    wide["cost_of_sales"] = rev.to_numpy() * seg_level.map(dict(ratio_map)).to_numpy(
        dtype="float64"
    )
    wide["payroll"] = payroll.reindex(seg_level).to_numpy()
    wide["payroll_tax"] = (wide["payroll"].to_numpy() + bonus_month) * pol["payroll_tax_rate"]
    wide["bonus"] = bonus_month
    marketing = np.zeros(len(grid))
    for seg, spec in pol["marketing"].items():
        mask = np.asarray(seg_level == seg)
        if spec["kind"] == "share_of_revenue":
            marketing[mask] = spec["rate"] * rev.to_numpy()[mask]
        elif spec["kind"] == "per_client":
            marketing[mask] = spec["amount"] * clients.get(seg, 0)
        else:
            marketing[mask] = spec["amount"]
    wide["marketing"] = marketing
    other = pol["other"]
    wide["other"] = (
        other["per_head_month"] * heads.reindex(seg_level).to_numpy()
        + other["share_of_revenue"] * rev.to_numpy()
    )
    costs = wide.reset_index().melt(
        id_vars=["scenario", "segment", "month"], var_name="category", value_name="amount"
    )
    # a segment without cost data has no cost-of-sales lines (not zero ones)
    costs = costs[costs["amount"].notna()]
    if other["fixed_month"] > 0:
        fixed = pd.MultiIndex.from_product([scenario_names, months], names=["scenario", "month"])
        fixed_rows = fixed.to_frame(index=False)
        fixed_rows["segment"] = pd.Series(pd.NA, index=fixed_rows.index, dtype="string")
        fixed_rows["category"] = "other"
        fixed_rows["amount"] = float(other["fixed_month"])
        parts: list[pd.DataFrame] = [costs, fixed_rows]
        costs = pd.concat(parts, ignore_index=True)
    hires = _hire_costs(pol, months)
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
    costs = (
        costs.assign(
            _o=costs["category"].map(order),
            _s=costs["scenario"].map({s: i for i, s in enumerate(scenario_names)}),
        )
        .sort_values(["_s", "month", "segment", "_o"], na_position="last")
        .drop(columns=["_o", "_s"])[["scenario", "month", "segment", "category", "amount"]]
        .reset_index(drop=True)
    )
    return costs, bonuses


def _hire_costs(pol: dict[str, Any], months: list[pd.Timestamp]) -> pd.DataFrame:
    """Monthly payroll, tax, target bonus and per-head costs of planned hires.

    A hire costs from its start month (or the fiscal year's first month) to the year's end;
    the bonus accrues at target (attainment 1, ``bonus.default_score``). Hires bring no
    revenue or quota: their sales are not in the forecast (raise ``uplift`` for them).
    """
    rows = []
    bonus_rate = pol["bonus"]["share"] * pol["bonus"]["default_score"] / 100.0
    tax = pol["payroll_tax_rate"]
    for hire in pol["hires"]:
        start = pd.Period(hire["month"], freq="M").start_time
        salary = hire["salary"] * (1.0 + pol["salary_indexation"]) * hire["count"]
        bonus = salary * bonus_rate
        for month in months:
            if month < start:
                continue
            rows += [
                (hire["segment"], month, "payroll", salary),
                (hire["segment"], month, "payroll_tax", (salary + bonus) * tax),
                (hire["segment"], month, "bonus", bonus),
                (hire["segment"], month, "other", pol["other"]["per_head_month"] * hire["count"]),
            ]
    return pd.DataFrame(rows, columns=["segment", "month", "category", "amount"])


def _foreign_amounts(pol: dict[str, Any], active: pd.DataFrame, currency: str) -> list[str]:
    """Cost categories that would rest on policy amounts of another currency than the data's.

    ``default_salary``, per-client and fixed marketing, ``other`` per head or fixed and the
    salaries of planned hires are amounts in ``amounts_currency`` (the demo company's RUB
    by default). For data in another currency they are not this company's costs: the
    categories they feed are "not available" until the policy gives amounts in the data's
    currency. Shares of revenue and rates (payroll tax, bonus share) apply in any currency.

    Example
    -------
    >>> pol = resolve_policy({})
    >>> active = pd.DataFrame({"base_salary": [None]})
    >>> _foreign_amounts(pol, active, "USD")
    ['payroll', 'payroll_tax', 'bonus', 'marketing', 'other']
    >>> _foreign_amounts(pol, active, "RUB")
    []
    """
    if pol["amounts_currency"] is None or currency == pol["amounts_currency"]:
        return []
    out: list[str] = []
    uses_default = bool(active["base_salary"].isna().any()) and pol["default_salary"] is not None
    if uses_default or pol["hires"]:
        out += ["payroll", "payroll_tax", "bonus"]
    if any(spec["kind"] in ("per_client", "fixed") for spec in pol["marketing"].values()):
        out.append("marketing")
    other = pol["other"]
    if other["per_head_month"] or other["fixed_month"] or pol["hires"]:
        out.append("other")
    return out


def _summary(
    revenue: pd.DataFrame,
    costs: pd.DataFrame,
    scenarios: list[str],
    *,
    cost_known: bool = True,
    unknown: tuple[str, ...] = (),
) -> pd.DataFrame:
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


# -- plan vs actual -------------------------------------------------------------------------


def plan_vs_actual(
    plan_or_quotas: BudgetPlan | pd.DataFrame,
    dataset: Dataset,
    *,
    asof: pd.Timestamp | str | None = None,
    level: str = "manager",
) -> pd.DataFrame:
    """Plan vs actual won revenue by month and manager (or team, segment, company), year to date.

    The quotas' months up to ``asof`` are compared with the revenue of deals won in each
    month. Managers with actuals but no quota (e.g. left or unplanned) appear with plan 0,
    so the totals equal the company's won revenue.

    Parameters
    ----------
    plan_or_quotas : a :class:`BudgetPlan` or its ``quotas`` frame [manager_id, month, quota, ...].
    dataset : the Dataset with deals (and managers for segment/team).
    asof : last date counted; default ``dataset.meta["period_end"]``, else the last won deal's date.
    level : ``manager`` (default), ``team``, ``segment`` or ``company``: the rows' grain.

    Returns
    -------
    DataFrame month, <level keys: segment, team, manager_id as applicable>, plan, actual,
    variance (actual - plan), variance_pct (variance / plan; NaN where plan is 0), plan_ytd,
    actual_ytd, month_complete. Empty (same columns) when ``asof`` is before the plan's
    first month.

    Example
    -------
    >>> plan_vs_actual(budget, ds, asof="2027-03-31")  # doctest: +SKIP
    """
    level_keys = {
        "manager": ["segment", "team", "manager_id"],
        "team": ["segment", "team"],
        "segment": ["segment"],
        "company": [],
    }
    if level not in level_keys:
        raise ParameterError(f"level must be one of {', '.join(level_keys)}, got {level!r}")
    keys = level_keys[level]
    quotas = plan_or_quotas.quotas if isinstance(plan_or_quotas, BudgetPlan) else plan_or_quotas
    missing = [c for c in ("manager_id", "month", "quota") if c not in quotas.columns]
    if missing:
        raise _data_error(
            "quotas",
            ", ".join(missing),
            "missing_column",
            f"quotas lack {missing}",
            len(quotas),
            fix="pass a BudgetPlan or its .quotas frame",
        )
    managers = _managers_frame(dataset)
    deals = dataset.get("deals")
    won = pd.DataFrame(
        {
            "manager_id": pd.Series(dtype="string"),
            "month": pd.Series(dtype="datetime64[ns]"),
            "actual": pd.Series(dtype="float64"),
        }
    )
    if deals is not None and "closed_date" in deals.columns:
        is_won = (deals["stage"].astype("string") == "won").fillna(False).to_numpy()
        d = deals[is_won]
        won = pd.DataFrame(
            {
                "manager_id": d["manager_id"].astype("string").to_numpy(),
                "closed": pd.to_datetime(d["closed_date"]).to_numpy(),
                "actual": pd.to_numeric(d["amount"], errors="coerce").fillna(0.0).to_numpy(),
            }
        )
        won = won.dropna(subset=["closed"])
    if asof is None:
        asof = dataset.meta.get("period_end")
        if asof is None:
            asof = (
                won["closed"].max()
                if "closed" in won.columns and len(won)
                else pd.Timestamp.today()
            )
    asof_ts = pd.Timestamp(asof).normalize()
    q = quotas[["manager_id", "month", "quota"]].copy()
    q["manager_id"] = q["manager_id"].astype("string")
    q["month"] = pd.to_datetime(q["month"]).dt.to_period("M").dt.start_time
    months = sorted(m for m in q["month"].unique() if pd.Timestamp(m) <= asof_ts)
    columns = [
        "month",
        *keys,
        "plan",
        "actual",
        "variance",
        "variance_pct",
        "plan_ytd",
        "actual_ytd",
        "month_complete",
    ]
    if not months:
        empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
        dtypes = {"month": "datetime64[ns]", "month_complete": "boolean"}
        return empty.astype(dtypes | dict.fromkeys(keys, "string"))
    first, last = pd.Timestamp(months[0]), pd.Timestamp(months[-1])
    if "closed" in won.columns:
        in_range = (won["closed"] >= first) & (won["closed"] <= asof_ts)
        won = won[in_range]
        won = won.assign(month=won["closed"].dt.to_period("M").dt.start_time)
        actual = won.groupby(["manager_id", "month"])["actual"].sum().reset_index()
    else:
        actual = won
    planned = (
        q[q["month"].isin(months)].groupby(["manager_id", "month"])["quota"].sum().reset_index()
    )
    planned = planned.rename(columns={"quota": "plan"})
    out = planned.merge(actual, on=["manager_id", "month"], how="outer")
    # Fill the manager x month grid so YTD sums and variances exist for every month.
    grid = pd.MultiIndex.from_product(
        [sorted(out["manager_id"].astype(str).unique()), months], names=["manager_id", "month"]
    ).to_frame(index=False)
    grid["manager_id"] = grid["manager_id"].astype("string")
    out = grid.merge(out, on=["manager_id", "month"], how="left")
    out["plan"] = out["plan"].astype("float64").fillna(0.0)
    out["actual"] = out["actual"].astype("float64").fillna(0.0)
    out = out.merge(managers[["manager_id", "segment", "team"]], on="manager_id", how="left")
    if level != "manager":
        by = [*keys, "month"]
        out = out.groupby(by, dropna=False)[["plan", "actual"]].sum().reset_index()
    out["variance"] = out["actual"] - out["plan"]
    out["variance_pct"] = (out["variance"] / out["plan"]).where(out["plan"] > 0)
    out = out.sort_values([*keys, "month"])
    if keys:
        group = out.groupby(keys, dropna=False)
        out["plan_ytd"] = group["plan"].cumsum()
        out["actual_ytd"] = group["actual"].cumsum()
    else:
        out["plan_ytd"] = out["plan"].cumsum()
        out["actual_ytd"] = out["actual"].cumsum()
    month_end = last + pd.offsets.MonthEnd(0)
    out["month_complete"] = pd.array(
        [(m < last) or (asof_ts >= month_end) for m in out["month"]], dtype="boolean"
    )
    out = out.sort_values(["month", *keys], na_position="last")
    return out[columns].reset_index(drop=True)
