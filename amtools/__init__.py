"""amtools: account-manager performance analytics.

Load a CRM export, compute every KPI of the role for all managers and periods,
forecast sales, plan budgets and render quarterly review packs.

Public entry points are imported lazily so that ``import amtools`` stays fast
inside report kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Dataset",
    "loading",
    "make_demo",
    "AmtoolsError",
    "DataValidationError",
]

_LAZY = {
    "Dataset": ("amtools.core.dataset", "Dataset"),
    "load": ("amtools.loading", "load"),
    "make_demo": ("amtools.demo.generator", "make_demo"),
    "AmtoolsError": ("amtools.core.errors", "AmtoolsError"),
    "DataValidationError": ("amtools.core.problems", "DataValidationError"),
}
_SUBMODULES = {
    "core",
    "loading",
    "validate",
    "kpi",
    "forecast",
    "budget",
    "pipeline",
    "render",
    "demo",
}

if TYPE_CHECKING:
    from amtools.core.dataset import Dataset
    from amtools.core.errors import AmtoolsError
    from amtools.core.problems import DataValidationError
    from amtools.demo.generator import make_demo
    from amtools.loading import load  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"amtools.{name}")
    raise AttributeError(f"module 'amtools' has no attribute {name!r}")
