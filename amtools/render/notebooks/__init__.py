"""Rendering report packs: the run context notebooks share, the runner, HTML export and the index.

``from amtools.render.notebooks import open_context`` is the one call every notebook makes after its
parameters cell; it is light to import (the runner's Jupyter machinery loads on first use).
"""

from __future__ import annotations

import importlib
from typing import Any

from amtools.render.notebooks.context import RunContext, build_context, load_context, open_context, save_context

__all__ = [
    "RunContext",
    "build_context",
    "save_context",
    "load_context",
    "open_context",
    "run",
    "RunResult",
    "REPORTS",
    "ReportKind",
    "export_html",
    "notebook_parameters",
    "validate_parameters",
]

_LAZY = {
    "run": ("amtools.render.notebooks.runner", "run"),
    "RunResult": ("amtools.render.notebooks.runner", "RunResult"),
    "REPORTS": ("amtools.render.notebooks.kinds", "REPORTS"),
    "ReportKind": ("amtools.render.notebooks.kinds", "ReportKind"),
    "export_html": ("amtools.render.export", "export_html"),
    "notebook_parameters": ("amtools.render.notebooks.paramcheck", "notebook_parameters"),
    "validate_parameters": ("amtools.render.notebooks.paramcheck", "validate_parameters"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'amtools.render.notebooks' has no attribute {name!r}")
