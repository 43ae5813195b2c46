"""Project paths and defaults, derived from one root so notebooks and the CLI agree."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "PROJECT_ROOT",
    "PARAMS_DIR",
    "NOTEBOOKS_DIR",
    "DATA_DIR",
    "REPORTS_DIR",
    "DEMO_DB",
    "DEFAULT_CURRENCY",
]

PACKAGE_DIR = Path(__file__).resolve().parent
# In a source checkout the project root holds params/ and notebooks/; AMTOOLS_ROOT overrides.
PROJECT_ROOT = Path(os.environ.get("AMTOOLS_ROOT", PACKAGE_DIR.parent)).resolve()
PARAMS_DIR = PROJECT_ROOT / "params"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DATA_DIR = Path(os.environ.get("AMTOOLS_DATA", PROJECT_ROOT / "data"))
REPORTS_DIR = PROJECT_ROOT / "reports"
DEMO_DB = DATA_DIR / "demo.duckdb"
DEFAULT_CURRENCY = "RUB"
