"""The budget policy: an explicit mapping merged over ``params/policy/budget.yaml``, then checked.

:func:`resolve_policy` returns the checked policy as a plain mapping (what the plan's
assumptions show); :class:`BudgetPolicy` is the same, typed and frozen, as the planner uses
it. Each section of the file has its own check, which names the key, the offending value
and the fix.

Example
-------
>>> BudgetPolicy.resolve({"uplift": {"B2B": 0.08}}).uplift
{'B2B': 0.08}
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import PolicyError
from amtools.core.settings.budget import BudgetSettings
from amtools.core.vocab import LEVELS, SEGMENTS

__all__ = [
    "BudgetPolicy",
    "PLAN_SCENARIO",
    "SCENARIO_COLUMNS",
    "merge_policy",
    "resolve_policy",
]

SCENARIO_COLUMNS = ("yhat", "lo_80", "hi_80", "lo_95", "hi_95")
"""Forecast columns a scenario may be based on."""

PLAN_SCENARIO = "plan"
"""The scenario in which every active manager makes exactly their quota."""

METHODS = ("top_down", "bottom_up")
AGGREGATIONS = ("correlated", "sum", "independent")
MARKETING_KINDS = {
    "share_of_revenue": ("rate",),
    "per_client": ("amount",),
    "fixed": ("amount",),
}
SOURCE = "budget policy (params/policy/budget.yaml)"
"""How errors name the policy (a file or an explicit mapping merged over it)."""


@dataclass(frozen=True)
class BudgetPolicy:
    """The checked budget policy (``params/policy/budget.yaml`` documents every field).

    Build it with :meth:`resolve`; per-segment values (``uplift``, ``company_target``) are a
    number or a mapping B2B/B2C -> number; ``scenarios`` maps a name to ``{column, uplift}``,
    ``marketing`` a segment to ``{kind, rate|amount}``; ``hires`` is a list of
    ``{segment, month, count, salary, team}``.
    """

    method: str
    company_target: float | dict[str, float] | None
    uplift: float | dict[str, float]
    phasing: str
    fiscal_year_start: int
    scenario_basis: str
    interval_aggregation: str
    interval_correlation: float
    scenarios: dict[str, dict[str, Any]]
    default_salary: float | None
    salary_indexation: float
    payroll_tax_rate: float
    bonus: dict[str, Any]
    marketing: dict[str, dict[str, Any]]
    other: dict[str, float]
    cost_of_sales: dict[str, Any]
    hires: list[dict[str, Any]]
    currency: str | None
    amounts_currency: str | None

    @classmethod
    def resolve(cls, policy: Mapping[str, Any] | None = None) -> BudgetPolicy:
        """Merge ``policy`` over the policy file and check every key (see :func:`resolve_policy`).

        Example
        -------
        >>> BudgetPolicy.resolve({"method": "top_down", "company_target": 5e8}).company_target
        500000000.0
        """
        defaults = BudgetSettings.load()
        if policy is None:
            policy = {}
        if not isinstance(policy, Mapping):
            raise PolicyError(f"budget policy must be a mapping, got {type(policy).__name__}")
        pol = merge_policy(defaults.as_dict(), policy)
        for check in _CHECKS:
            check(pol)
        return cls(**pol)

    def as_dict(self) -> dict[str, Any]:
        """The policy as a plain (deep-copied) mapping (the plan's ``assumptions["policy"]``).

        Example
        -------
        >>> BudgetPolicy.resolve({}).as_dict()["phasing"]
        'segment'
        """
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}

    def __getitem__(self, key: str) -> Any:
        """Mapping-style access (``policy["method"]``), as the dict of earlier versions."""
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return getattr(self, key)


def resolve_policy(policy: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge ``policy`` over ``params/policy/budget.yaml`` and validate every key.

    Parameters
    ----------
    policy : a (partial) policy mapping, merged over the policy file (a project's
        ``params/policy/budget.yaml`` first, else the shipped one); ``None`` uses the file
        as it is. Scenarios given here are added to (or replace by name) the file's ones;
        a scenario set to ``null`` removes it; marketing segments replace the file's by
        segment; the other sections merge key by key.

    Raises
    ------
    ParameterError
        The policy file is missing or lacks a key.
    PolicyError
        Naming the key, the offending value and the fix, for unknown keys, wrong types
        and impossible values (top-down target <= 0, uplift < -100 %, ...).

    Example
    -------
    >>> resolve_policy({"method": "top_down", "company_target": 5e8})["method"]
    'top_down'
    """
    return BudgetPolicy.resolve(policy).as_dict()


# -- merging ----------------------------------------------------------------------------------


def unknown_key_error(where: str, key: str, known: list[str]) -> PolicyError:
    """A :class:`PolicyError` for an unknown key, with the closest known one.

    Example
    -------
    >>> str(unknown_key_error("bonus.", "shares", ["share", "cap"]))[:60]
    "budget policy (params/policy/budget.yaml): unknown key 'bonu"
    """
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" — did you mean {close[0]!r}?" if close else ""
    return PolicyError(
        f"{SOURCE}: unknown key '{where}{key}'{hint} Known keys: {', '.join(known)}. "
        "Fix the spelling or remove the key."
    )


def merge_policy(
    base: dict[str, Any], override: Mapping[str, Any], where: str = ""
) -> dict[str, Any]:
    """``override`` merged over ``base`` (a deep copy): unknown keys refused.

    Sections merge key by key; ``scenarios`` by name (``None`` removes one) and ``marketing``
    by segment; any other value replaces the base's.

    Example
    -------
    >>> merge_policy({"a": 1, "bonus": {"cap": 1.5, "share": 0.25}}, {"bonus": {"cap": 2}})
    {'a': 1, 'bonus': {'cap': 2, 'share': 0.25}}
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in base:
            raise unknown_key_error(where, str(key), list(base))
        if key == "scenarios" and not where:
            out["scenarios"] = _merge_scenarios(out["scenarios"], value)
        elif key == "marketing" and not where:
            if not isinstance(value, Mapping):
                raise PolicyError(
                    f"{SOURCE}: 'marketing' must be a mapping segment -> {{kind, rate|amount}}, "
                    f"got {value!r}"
                )
            out["marketing"] = {**out["marketing"], **{str(k): v for k, v in value.items()}}
        elif isinstance(base[key], dict) and isinstance(value, Mapping):
            out[key] = merge_policy(base[key], value, f"{where}{key}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_scenarios(base: dict[str, Any], value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(
            f"{SOURCE}: 'scenarios' must be a mapping name -> {{column, uplift}}, got {value!r}"
        )
    scenarios = dict(base)
    for name, spec in value.items():
        if spec is None:  # null removes a default scenario
            scenarios.pop(str(name), None)
        else:
            scenarios[str(name)] = spec
    return scenarios


# -- value checks -----------------------------------------------------------------------------


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    fix: str = "",
) -> float:
    """``value`` as a float within the bounds, else a :class:`PolicyError` naming ``name``.

    Example
    -------
    >>> check_number(3, "bonus.cap", low=0.0)
    3.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise PolicyError(f"{SOURCE}: '{name}' must be a number, got {value!r}. {fix}".rstrip())
    number = float(value)
    if low is not None and (number <= low if low_open else number < low):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        raise PolicyError(f"{SOURCE}: '{name}' must be {bound}, got {number:g}. {fix}".rstrip())
    if high is not None and number > high:
        raise PolicyError(f"{SOURCE}: '{name}' must be <= {high:g}, got {number:g}. {fix}".rstrip())
    return number


def _per_segment(value: Any, name: str, **bounds: Any) -> dict[str, float] | float:
    if isinstance(value, Mapping):
        out = {}
        for seg, v in value.items():
            if seg not in SEGMENTS:
                raise PolicyError(
                    f"{SOURCE}: '{name}' has unknown segment {seg!r}; use B2B and/or B2C "
                    "or a single number for all segments."
                )
            out[str(seg)] = check_number(v, f"{name}.{seg}", **bounds)
        return out
    return check_number(value, name, **bounds)


def _one_of(pol: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    if pol[key] not in allowed:
        raise PolicyError(
            f"{SOURCE}: '{key}' must be one of {', '.join(allowed)}, got {pol[key]!r}."
        )


# -- per-section checks (each normalises its keys of ``pol`` in place) -------------------------


def _check_quotas(pol: dict[str, Any]) -> None:
    """method, company_target, uplift."""
    _one_of(pol, "method", METHODS)
    if pol["method"] == "top_down":
        if pol["company_target"] is None:
            raise PolicyError(
                f"{SOURCE}: method 'top_down' needs 'company_target' (annual revenue target, "
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


def _check_levels(pol: dict[str, Any]) -> None:
    """phasing, scenario_basis, interval_aggregation, interval_correlation, fiscal_year_start."""
    for key in ("phasing", "scenario_basis"):
        _one_of(pol, key, LEVELS)
    _one_of(pol, "interval_aggregation", AGGREGATIONS)
    pol["interval_correlation"] = check_number(
        pol["interval_correlation"],
        "interval_correlation",
        low=0.0,
        high=1.0,
        fix="It is the correlation of forecast errors between months: 0 = independent, 1 = sum.",
    )
    fys = pol["fiscal_year_start"]
    if isinstance(fys, bool) or not isinstance(fys, int) or not 1 <= fys <= 12:
        raise PolicyError(
            f"{SOURCE}: 'fiscal_year_start' must be a month number 1..12, got {fys!r}."
        )


def _check_scenarios(pol: dict[str, Any]) -> None:
    scenarios: dict[str, dict[str, Any]] = {}
    for name, spec in pol["scenarios"].items():
        if name == PLAN_SCENARIO:
            raise PolicyError(
                f"{SOURCE}: scenario name {PLAN_SCENARIO!r} is reserved (the quotas); rename it."
            )
        if not isinstance(spec, Mapping):
            raise PolicyError(
                f"{SOURCE}: scenario {name!r} must be a mapping with 'column' and optional "
                f"'uplift', got {spec!r}."
            )
        for key in spec:
            if key not in ("column", "uplift"):
                raise unknown_key_error(f"scenarios.{name}.", str(key), ["column", "uplift"])
        column = spec.get("column", "yhat")
        if column not in SCENARIO_COLUMNS:
            raise PolicyError(
                f"{SOURCE}: scenarios.{name}.column must be one of {', '.join(SCENARIO_COLUMNS)}, "
                f"got {column!r}."
            )
        uplift = check_number(
            spec.get("uplift", 0.0),
            f"scenarios.{name}.uplift",
            low=-1.0,
            fix="Uplift is a fraction of the forecast: 0.15 = +15 %.",
        )
        scenarios[str(name)] = {"column": column, "uplift": uplift}
    missing = [s for s in ("low", "base", "high") if s not in scenarios]
    if missing:
        raise PolicyError(
            f"{SOURCE}: scenarios {', '.join(missing)} are required (low/base/high from the "
            "forecast intervals); define them or do not set them to null."
        )
    pol["scenarios"] = scenarios


def _check_payroll(pol: dict[str, Any]) -> None:
    """default_salary, salary_indexation, payroll_tax_rate."""
    if pol["default_salary"] is not None:
        pol["default_salary"] = check_number(
            pol["default_salary"],
            "default_salary",
            low=0.0,
            fix="It is the monthly salary used where managers.base_salary is empty.",
        )
    pol["salary_indexation"] = check_number(pol["salary_indexation"], "salary_indexation", low=-1.0)
    pol["payroll_tax_rate"] = check_number(
        pol["payroll_tax_rate"],
        "payroll_tax_rate",
        low=0.0,
        high=1.0,
        fix="Use a fraction: 0.3 = 30 %.",
    )


def _check_bonus(pol: dict[str, Any]) -> None:
    bonus = pol["bonus"]
    bonus["share"] = check_number(
        bonus["share"],
        "bonus.share",
        low=0.0,
        fix="The target bonus as a fraction of the annual base salary.",
    )
    bonus["cap"] = check_number(bonus["cap"], "bonus.cap", low=0.0)
    bonus["threshold"] = check_number(bonus["threshold"], "bonus.threshold", low=0.0)
    if bonus["threshold"] > bonus["cap"]:
        raise PolicyError(
            f"{SOURCE}: bonus.threshold ({bonus['threshold']:g}) is above bonus.cap "
            f"({bonus['cap']:g}); no attainment could earn a bonus. Lower the threshold."
        )
    if not isinstance(bonus["use_score"], bool):
        raise PolicyError(
            f"{SOURCE}: bonus.use_score must be true or false, got {bonus['use_score']!r}."
        )
    bonus["default_score"] = check_number(
        bonus["default_score"], "bonus.default_score", low=0.0, high=100.0
    )


def _check_marketing(pol: dict[str, Any]) -> None:
    marketing: dict[str, dict[str, Any]] = {}
    for seg, spec in pol["marketing"].items():
        if seg not in SEGMENTS:
            raise unknown_key_error("marketing.", str(seg), list(SEGMENTS))
        if spec is None:
            continue
        if not isinstance(spec, Mapping) or spec.get("kind") not in MARKETING_KINDS:
            raise PolicyError(
                f"{SOURCE}: marketing.{seg} must be a mapping with 'kind' one of "
                f"{', '.join(MARKETING_KINDS)} (got {spec!r}); "
                "e.g. {kind: share_of_revenue, rate: 0.05} "
                "or {kind: per_client, amount: 1500}."
            )
        need = MARKETING_KINDS[spec["kind"]]
        for key in spec:
            if key != "kind" and key not in need:
                raise unknown_key_error(f"marketing.{seg}.", str(key), ["kind", *need])
        value_key = need[0]
        if value_key not in spec:
            raise PolicyError(
                f"{SOURCE}: marketing.{seg} of kind {spec['kind']!r} needs '{value_key}'."
            )
        value = check_number(
            spec[value_key],
            f"marketing.{seg}.{value_key}",
            low=0.0,
            high=1.0 if value_key == "rate" else None,
        )
        marketing[seg] = {"kind": spec["kind"], value_key: value}
    pol["marketing"] = marketing


def _check_other_costs(pol: dict[str, Any]) -> None:
    """other, cost_of_sales."""
    other = pol["other"]
    for key in other:
        other[key] = check_number(
            other[key], f"other.{key}", low=0.0, high=1.0 if key == "share_of_revenue" else None
        )
    cos = pol["cost_of_sales"]
    window = cos["window_months"]
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise PolicyError(
            f"{SOURCE}: cost_of_sales.window_months must be a whole number >= 1, got {window!r}."
        )
    if cos["default_ratio"] is not None:
        cos["default_ratio"] = check_number(
            cos["default_ratio"], "cost_of_sales.default_ratio", low=0.0, high=1.0
        )


def _check_currencies(pol: dict[str, Any]) -> None:
    if pol["currency"] is not None and not isinstance(pol["currency"], str):
        raise PolicyError(
            f"{SOURCE}: 'currency' must be a currency code like RUB, got {pol['currency']!r}."
        )
    if pol["amounts_currency"] is not None and not isinstance(pol["amounts_currency"], str):
        raise PolicyError(
            f"{SOURCE}: 'amounts_currency' must be a currency code like RUB (the currency "
            f"of default_salary, marketing and other amounts), got {pol['amounts_currency']!r}."
        )


def _check_hires(pol: dict[str, Any]) -> None:
    """Validate planned hires: [{segment, month, count, salary, team}, ...]."""
    hires, default_salary = pol["hires"], pol["default_salary"]
    if hires is None:
        pol["hires"] = []
        return
    if not isinstance(hires, list):
        raise PolicyError(
            f"{SOURCE}: 'hires' must be a list of {{segment, month, count, salary, team}}, "
            f"got {hires!r}."
        )
    pol["hires"] = [_check_hire(i, hire, default_salary) for i, hire in enumerate(hires)]


def _check_hire(i: int, hire: Any, default_salary: float | None) -> dict[str, Any]:
    known = ["segment", "month", "count", "salary", "team"]
    where = f"hires[{i}]"
    if not isinstance(hire, Mapping):
        raise PolicyError(
            f"{SOURCE}: {where} must be a mapping like {{segment: B2B, month: 2027-04}}."
        )
    for key in hire:
        if key not in known:
            raise unknown_key_error(f"{where}.", str(key), known)
    if hire.get("segment") not in SEGMENTS:
        raise PolicyError(
            f"{SOURCE}: {where}.segment must be B2B or B2C, got {hire.get('segment')!r}."
        )
    text = str(hire.get("month"))
    try:
        if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
            raise ValueError(text)
        month = pd.Period(text[:7], freq="M")
    except ValueError:
        raise PolicyError(
            f"{SOURCE}: {where}.month must be a month like 2027-04, got {hire.get('month')!r}."
        ) from None
    count = hire.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise PolicyError(f"{SOURCE}: {where}.count must be a whole number >= 1, got {count!r}.")
    salary = hire.get("salary")
    if salary is None:
        if default_salary is None:
            raise PolicyError(
                f"{SOURCE}: {where} has no salary and default_salary is null; give one."
            )
        salary = default_salary
    return {
        "segment": hire["segment"],
        "month": f"{month.year:04d}-{month.month:02d}",
        "count": count,
        "salary": check_number(salary, f"{where}.salary", low=0.0),
        "team": None if hire.get("team") is None else str(hire["team"]),
    }


_CHECKS = (
    _check_quotas,
    _check_levels,
    _check_scenarios,
    _check_payroll,
    _check_bonus,
    _check_marketing,
    _check_other_costs,
    _check_currencies,
    _check_hires,  # after _check_payroll: a hire without salary takes default_salary
)
"""The section checks, in the order the old single function ran them (the first error wins)."""
