"""KPIs of the account-manager role: the registry, the compute engine, scoring and training plans."""

from __future__ import annotations

import importlib
from typing import Any

from amtools.kpi.compute import compute, compute_levels
from amtools.kpi.reasons import REASONS, parse_reason, reason_args, reason_text
from amtools.kpi.registry import GROUPS, KPI, KPIS, get_kpi, kpi_table

__all__ = [
    "compute",
    "compute_levels",
    "KPI",
    "KPIS",
    "GROUPS",
    "get_kpi",
    "kpi_table",
    "REASONS",
    "reason_text",
    "reason_args",
    "parse_reason",
    "resolve_targets",
    "scorecard",
    "scores",
    "training_plan",
]

_LAZY = {
    "scorecard": "amtools.kpi.scoring",
    "scores": "amtools.kpi.scoring",
    "training_plan": "amtools.kpi.training",
    "resolve_targets": "amtools.kpi.targets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'amtools.kpi' has no attribute {name!r}")
