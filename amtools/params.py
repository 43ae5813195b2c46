"""Reading parameter files from ``params/`` (YAML): the one place config is read from disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .config import PARAMS_DIR
from .errors import ParameterError

__all__ = ["params_path", "read_params"]


def params_path(name: str | Path) -> Path:
    """Resolve ``name`` to a YAML file: a path as given, else ``params/<name>.yaml``.

    Example
    -------
    >>> params_path("targets").name
    'targets.yaml'
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return PARAMS_DIR / f"{name}.yaml"


def read_params(name: str | Path) -> dict[str, Any]:
    """Read a YAML parameter file and return its top-level mapping.

    Parameters
    ----------
    name : a path to a YAML file, or the stem of a file in ``params/`` (``"targets"``).

    Raises
    ------
    ParameterError
        If the file is missing, is not valid YAML, or its top level is not a mapping.

    Example
    -------
    >>> read_params("kpi_profiles")["B2C"]["weights"]["sales_volume"]  # doctest: +SKIP
    0.25
    """
    path = params_path(name)
    if not path.is_file():
        raise ParameterError(f"parameter file {path} not found; create it or pass another path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"parameter file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(
            f"parameter file {path} must hold a mapping at its top level, got {type(data).__name__}"
        )
    return data
