"""The KPI engine's typed settings, built from ``params/policy/kpi.yaml``.

The shipped file is the one source of the defaults: every key must be there (a missing,
unknown or ill-typed key is a :class:`~amtools.core.errors.ParameterError` naming the file,
the key and the fix). ``amtools.kpi.compute(params=...)`` merges a mapping of overrides
over the file with :meth:`KpiSettings.with_overrides`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from amtools.core.errors import ParameterError
from amtools.core.settings.reader import check_keys, params_path, read_params

__all__ = ["KpiSettings", "COMPARISONS"]

COMPARISONS = ("year_ago", "previous")
"""Comparison periods of ``revenue_growth_existing``."""

_KEYS = (
    "sla_hours",
    "budget_tolerance",
    "comparison",
    "nps_min_responses",
    "meeting_types",
    "promoter_min",
    "detractor_max",
    "confidence",
    "min_samples",
    "churn_inactive_months",
    "history_growth",
)
_SOURCE = "params/policy/kpi.yaml"


def _fail(source: str, key: str, value: Any, want: str) -> ParameterError:
    return ParameterError(f"{source}: {key} = {value!r} must be {want}; fix the value of {key}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(raw: Mapping[str, Any], key: str, source: str, want: str, ok: Any) -> float:
    value = raw[key]
    if not _is_number(value) or not ok(value):
        raise _fail(source, key, value, want)
    return float(value)


def _whole(raw: Mapping[str, Any], key: str, source: str, minimum: int) -> int:
    value = raw[key]
    if not _is_number(value) or int(value) != value or value < minimum:
        raise _fail(source, key, value, f"a whole number >= {minimum}")
    return int(value)


@dataclass(frozen=True)
class KpiSettings:
    """The KPI engine's settings (``params/policy/kpi.yaml``; each key is documented there).

    Attributes
    ----------
    sla_hours : hours within which a request must get a first response.
    budget_tolerance : a project is within budget when cost <= budget * (1 + tolerance).
    comparison : comparison period of revenue growth, ``"year_ago"`` or ``"previous"``.
    nps_min_responses : survey responses an NPS value needs to be status "ok".
    meeting_types : activity types counted as meetings.
    promoter_min, detractor_max : NPS bands (inclusive).
    confidence : confidence level of the intervals, in (0, 1).
    min_samples : KPI id -> minimum sample, overriding the registry's.
    churn_inactive_months : N of the inferred churn rule, or None (no inferred rule).
    history_growth : growth applied by the history-based default targets, in (-1, 10).

    Example
    -------
    >>> s = KpiSettings.load()
    >>> s.sla_hours, s.comparison
    (24.0, 'year_ago')
    >>> s.with_overrides({"sla_hours": 8}).sla_hours
    8.0
    """

    sla_hours: float
    budget_tolerance: float
    comparison: str
    nps_min_responses: int
    meeting_types: tuple[str, ...]
    promoter_min: float
    detractor_max: float
    confidence: float
    min_samples: Mapping[str, int]
    churn_inactive_months: int | None
    history_growth: float

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = _SOURCE) -> KpiSettings:
        """Check ``raw`` (the whole file's mapping) and build the settings.

        Raises
        ------
        ParameterError
            On a missing or unknown key, or a value of the wrong type or range.

        Example
        -------
        >>> KpiSettings.from_mapping({"sla_hours": 8})
        Traceback (most recent call last):
        ...
        amtools.core.errors.ParameterError: params/policy/kpi.yaml: missing keys budget_tolerance, comparison, nps_min_responses, meeting_types, promoter_min, detractor_max, confidence, min_samples, churn_inactive_months, history_growth. Add the missing key (the shipped file has every key with a comment).
        """
        if not isinstance(raw, Mapping):
            raise ParameterError(f"{source}: must hold a mapping of settings, got {raw!r}")
        check_keys(raw, source=source, required=_KEYS)
        comparison = raw["comparison"]
        if comparison not in COMPARISONS:
            raise _fail(source, "comparison", comparison, f"one of {', '.join(COMPARISONS)}")
        types = raw["meeting_types"]
        if not isinstance(types, list | tuple) or not all(isinstance(t, str) for t in types):
            raise _fail(source, "meeting_types", types, "a list of activity types (text)")
        months = raw["churn_inactive_months"]
        if months is not None:
            months = _whole(raw, "churn_inactive_months", source, 1)
        promoter = _number(
            raw, "promoter_min", source, "a number in [0, 10]", lambda v: 0 <= v <= 10
        )
        detractor = _number(
            raw,
            "detractor_max",
            source,
            f"a number in [0, promoter_min = {promoter:g})",
            lambda v: 0 <= v < promoter,
        )
        return cls(
            sla_hours=_number(raw, "sla_hours", source, "a number of hours > 0", lambda v: v > 0),
            budget_tolerance=_number(
                raw, "budget_tolerance", source, "a number >= 0", lambda v: v >= 0
            ),
            comparison=str(comparison),
            nps_min_responses=_whole(raw, "nps_min_responses", source, 0),
            meeting_types=tuple(types),
            promoter_min=promoter,
            detractor_max=detractor,
            confidence=_number(
                raw, "confidence", source, "a number in (0, 1)", lambda v: 0 < v < 1
            ),
            min_samples=MappingProxyType(_min_samples(raw["min_samples"], source)),
            churn_inactive_months=months,
            history_growth=_number(
                raw, "history_growth", source, "a number in (-1, 10)", lambda v: -1 < v < 10
            ),
        )

    @classmethod
    def load(cls) -> KpiSettings:
        """The settings of ``params/policy/kpi.yaml`` (a project's file, else the shipped one)."""
        return cls.from_mapping(read_params("policy/kpi"), source=str(params_path("policy/kpi")))

    def with_overrides(
        self, overrides: Mapping[str, Any] | None, *, source: str = "params="
    ) -> KpiSettings:
        """These settings with ``overrides`` merged over them, checked like the file.

        ``min_samples`` merges per KPI id; every other key replaces the value.

        Example
        -------
        >>> base = KpiSettings.load()
        >>> dict(base.with_overrides({"min_samples": {"nps": 5}}).min_samples)
        {'conversion_rate': 10, 'nps': 5}
        """
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise ParameterError(f"{source}: KPI overrides must be a mapping, got {overrides!r}")
        check_keys(overrides, source=source, required=(), optional=_KEYS)
        merged = self.as_dict()
        for key, value in overrides.items():
            if key == "min_samples":
                value = {**merged["min_samples"], **_min_samples(value, source)}
            merged[key] = value
        return type(self).from_mapping(merged, source=source)

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain mapping in the file's format (lists, a plain dict).

        Example
        -------
        >>> KpiSettings.load().as_dict()["meeting_types"]
        ['meeting', 'visit']
        """
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["meeting_types"] = list(self.meeting_types)
        out["min_samples"] = dict(self.min_samples)
        return out


def _min_samples(value: Any, source: str) -> dict[str, int]:
    """``min_samples``: KPI id -> a whole number >= 0 (empty means no overrides)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(source, "min_samples", value, "a mapping of KPI ids to whole numbers")
    out = {}
    for kpi_id, n in value.items():
        if not _is_number(n) or int(n) != n or n < 0:
            raise _fail(source, f"min_samples.{kpi_id}", n, "a whole number >= 0")
        out[str(kpi_id)] = int(n)
    return out
