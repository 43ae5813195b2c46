"""The budget policy's file, ``params/policy/budget.yaml``: read strictly, the one source of defaults.

:class:`BudgetSettings` holds the file's mapping once every section has every key (the file
documents each one with a comment). The budget stage (:mod:`amtools.budget.policy`) merges an
explicit policy over it and checks the values' types and ranges.

Example
-------
>>> BudgetSettings.load().values["method"]
'bottom_up'
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from amtools.core.errors import ParameterError
from amtools.core.settings.reader import check_keys, params_path, read_params

__all__ = ["BudgetSettings", "POLICY_KEYS", "SECTION_KEYS", "STEM"]

STEM = "policy/budget"
"""The parameter file's stem, for :func:`amtools.core.settings.read_params`."""

POLICY_KEYS: tuple[str, ...] = (
    "method",
    "company_target",
    "uplift",
    "phasing",
    "fiscal_year_start",
    "scenarios",
    "scenario_basis",
    "interval_aggregation",
    "interval_correlation",
    "default_salary",
    "salary_indexation",
    "payroll_tax_rate",
    "bonus",
    "marketing",
    "other",
    "cost_of_sales",
    "hires",
    "currency",
    "amounts_currency",
)
"""The policy's top-level keys, in the file's order."""

SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "bonus": ("share", "cap", "threshold", "use_score", "default_score"),
    "other": ("per_head_month", "fixed_month", "share_of_revenue"),
    "cost_of_sales": ("window_months", "default_ratio"),
}
"""The keys of the fixed-shape sections (``scenarios``, ``marketing`` and ``hires`` are open)."""


@dataclass(frozen=True)
class BudgetSettings:
    """The budget policy file (``params/policy/budget.yaml``) with every key present.

    Attributes
    ----------
    values : the file's policy mapping (read-only view; :meth:`as_dict` gives a mutable copy).
    source : the file it was read from, for error messages.
    """

    values: Mapping[str, Any]
    source: str = "params/policy/budget.yaml"

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, Any], *, source: str = "params/policy/budget.yaml"
    ) -> BudgetSettings:
        """Check that ``raw`` has every key of the policy (and no other) and keep it.

        A file that also carries the budget report's parameters may nest the policy under a
        top-level ``policy:`` key; that mapping is used then.

        Raises
        ------
        ParameterError
            Naming the file, the missing or unknown keys and the fix.

        Example
        -------
        >>> BudgetSettings.from_mapping({"method": "bottom_up"})
        Traceback (most recent call last):
        ...
        amtools.core.errors.ParameterError: params/policy/budget.yaml: missing keys company_target, uplift, phasing, fiscal_year_start, scenarios, scenario_basis, interval_aggregation, interval_correlation, default_salary, salary_indexation, payroll_tax_rate, bonus, marketing, other, cost_of_sales, hires, currency, amounts_currency. Add the missing key (the shipped file has every key with a comment).
        """
        if isinstance(raw.get("policy"), Mapping):
            raw = raw["policy"]
        check_keys(raw, source=source, required=POLICY_KEYS)
        for section, keys in SECTION_KEYS.items():
            value = raw[section]
            if not isinstance(value, Mapping):
                raise ParameterError(
                    f"{source}: '{section}' must be a mapping with keys {', '.join(keys)}, "
                    f"got {value!r}."
                )
            check_keys(value, source=source, required=keys, where=section)
        for section in ("scenarios", "marketing"):
            if not isinstance(raw[section], Mapping):
                raise ParameterError(
                    f"{source}: '{section}' must be a mapping, got {raw[section]!r}."
                )
        return cls(values=MappingProxyType(copy.deepcopy(dict(raw))), source=source)

    @classmethod
    def load(cls) -> BudgetSettings:
        """Read ``params/policy/budget.yaml`` (a project's copy first, see :mod:`amtools.core.settings`).

        Raises
        ------
        ParameterError
            If the file is missing, not valid YAML, or lacks a key.

        Example
        -------
        >>> BudgetSettings.load().values["bonus"]["cap"]
        1.5
        """
        return cls.from_mapping(read_params(STEM), source=str(params_path(STEM)))

    def as_dict(self) -> dict[str, Any]:
        """A deep, mutable copy of the policy mapping.

        Example
        -------
        >>> BudgetSettings.load().as_dict()["uplift"]
        0.05
        """
        return copy.deepcopy(dict(self.values))
