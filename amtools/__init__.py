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
    "load",
    "make_demo",
    "AmtoolsError",
    "DataValidationError",
]

_LAZY = {
    "Dataset": ("amtools.dataset", "Dataset"),
    "load": ("amtools.io", "load"),
    "make_demo": ("amtools.datasets", "make_demo"),
    "AmtoolsError": ("amtools.errors", "AmtoolsError"),
    "DataValidationError": ("amtools.errors", "DataValidationError"),
}
_SUBMODULES = {
    "kpi",
    "forecast",
    "budget",
    "datasets",
    "io",
    "schema",
    "periods",
    "plotting",
    "report",
    "validate",
    "mapping",
    "i18n",
}

if TYPE_CHECKING:
    from .dataset import Dataset
    from .datasets import make_demo
    from .errors import AmtoolsError, DataValidationError
    from .io import load


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"amtools.{name}")
    raise AttributeError(f"module 'amtools' has no attribute {name!r}")
