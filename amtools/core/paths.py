"""Project paths and defaults, derived from one place so notebooks and the CLI agree.

Two layouts are supported:

- a source checkout (or ``pip install -e .``): ``params/`` and ``notebooks/`` sit at the
  repository root, next to the ``amtools`` package, where analysts find and edit them;
- an installed wheel: the same files ship inside the package as ``amtools/_params`` and
  ``amtools/_notebooks`` (``pyproject.toml`` maps them with ``package-dir``).

The folders found this way are the *defaults*. A project overrides them file by file:
``--params DIR`` / ``AMTOOLS_PARAMS`` first, then a ``params/`` folder in the current
working directory, then ``$AMTOOLS_ROOT/params`` (see :func:`amtools.core.settings.params_dirs`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "PROJECT_ROOT",
    "DEFAULT_PARAMS_DIR",
    "DEFAULT_NOTEBOOKS_DIR",
    "PARAMS_DIR",
    "NOTEBOOKS_DIR",
    "DATA_DIR",
    "REPORTS_DIR",
    "DEMO_DB",
    "in_checkout",
]

PACKAGE_DIR = Path(__file__).resolve().parent.parent
_CHECKOUT = PACKAGE_DIR.parent


def in_checkout() -> bool:
    """True when ``amtools`` is imported from a source checkout (or an editable install).

    Example
    -------
    >>> isinstance(in_checkout(), bool)
    True
    """
    return (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "params").is_dir()


def _shipped(packaged: str, root_name: str) -> Path:
    """The packaged copy inside an installed wheel, else the checkout's root folder."""
    inside = PACKAGE_DIR / packaged
    return inside if inside.is_dir() else _CHECKOUT / root_name


DEFAULT_PARAMS_DIR = _shipped("_params", "params")
"""Default parameter files and mapping presets (``mappings/``) shipped with amtools."""
DEFAULT_NOTEBOOKS_DIR = _shipped("_notebooks", "notebooks")
"""The report notebooks shipped with amtools."""

_ROOT = os.environ.get("AMTOOLS_ROOT")
# Where data/ and reports/ are written: AMTOOLS_ROOT, else the checkout, else the working
# directory (never the site-packages folder of an installed wheel).
PROJECT_ROOT = (Path(_ROOT) if _ROOT else (_CHECKOUT if in_checkout() else Path.cwd())).resolve()
# The default folders (per-file overrides are resolved by amtools.core.settings.params_path).
PARAMS_DIR = DEFAULT_PARAMS_DIR
NOTEBOOKS_DIR = (
    PROJECT_ROOT / "notebooks"
    if _ROOT and (PROJECT_ROOT / "notebooks").is_dir()
    else DEFAULT_NOTEBOOKS_DIR
)
DATA_DIR = Path(os.environ.get("AMTOOLS_DATA", PROJECT_ROOT / "data"))
REPORTS_DIR = PROJECT_ROOT / "reports"
DEMO_DB = DATA_DIR / "demo.duckdb"
