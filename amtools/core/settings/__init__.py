"""Reading parameter files (YAML): the one place config is read from disk.

A parameter file is looked up by name in these folders, highest priority first, file by
file (a project may override only ``targets.yaml`` and keep every other default):

1. ``AMTOOLS_PARAMS`` (``amtools run --params DIR`` sets it; :func:`use_params_dir`);
2. ``params/`` in the current working directory (a project folder);
3. ``$AMTOOLS_ROOT/params``;
4. the defaults shipped with amtools (:data:`amtools.core.paths.DEFAULT_PARAMS_DIR`: the
   checkout's ``params/`` or, installed, the package's copy).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from amtools.core.errors import ParameterError
from amtools.core.paths import DEFAULT_PARAMS_DIR

__all__ = ["params_dirs", "params_path", "read_params", "use_params_dir"]

ENV_VAR = "AMTOOLS_PARAMS"


def params_dirs() -> list[Path]:
    """The folders searched for parameter files, highest priority first.

    Evaluated at each call, so a change of working directory or of ``AMTOOLS_PARAMS``
    takes effect at once (report kernels inherit the environment).

    Example
    -------
    >>> params_dirs()[-1] == DEFAULT_PARAMS_DIR
    True
    """
    candidates: list[Path] = []
    override = os.environ.get(ENV_VAR)
    if override:
        candidates.append(Path(override))
    candidates.append(Path.cwd() / "params")
    root = os.environ.get("AMTOOLS_ROOT")
    if root:
        candidates.append(Path(root) / "params")
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in candidates:
        if not folder.is_dir():
            continue
        key = folder.resolve()
        if key not in seen and key != DEFAULT_PARAMS_DIR.resolve():
            seen.add(key)
            found.append(folder)
    return [*found, DEFAULT_PARAMS_DIR]


def params_path(name: str | Path) -> Path:
    """Resolve ``name`` to a YAML file: a path as given, else ``<folder>/<name>.yaml``.

    ``name`` is a stem (``"targets"``) or a stem under a sub-folder (``"mappings/superstore"``);
    the first folder of :func:`params_dirs` holding the file wins. When none holds it, the
    path in the shipped defaults is returned (so the error names where it was expected).

    Example
    -------
    >>> params_path("targets").name
    'targets.yaml'
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    relative = f"{name}.yaml"
    for folder in params_dirs():
        candidate = folder / relative
        if candidate.is_file():
            return candidate
    return DEFAULT_PARAMS_DIR / relative


@contextlib.contextmanager
def use_params_dir(folder: str | Path | None) -> Iterator[None]:
    """Within the block, parameter files in ``folder`` override every other folder.

    Sets ``AMTOOLS_PARAMS`` (so worker processes and report kernels started inside the block
    see it too) and restores the previous value afterwards. ``None`` changes nothing.

    Example
    -------
    >>> with use_params_dir("my_project/params"):  # doctest: +SKIP
    ...     read_params("targets")  # my_project/params/targets.yaml if it exists
    """
    if folder is None:
        yield
        return
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(Path(folder).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous


def read_params(name: str | Path) -> dict[str, Any]:
    """Read a YAML parameter file and return its top-level mapping.

    Parameters
    ----------
    name : a path to a YAML file, or the stem of a parameter file (``"targets"``), looked up
        in :func:`params_dirs`.

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
        where = ", ".join(str(d) for d in params_dirs())
        hint = "" if Path(name).suffix else f" (searched {where})"
        raise ParameterError(
            f"parameter file {path} not found{hint}; create it or pass another path"
        )
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
