"""Reading parameter files (YAML): the one place config is read from disk.

Parameter files are grouped: ``policy/`` holds the rules of the business (KPI settings,
scoring profiles, targets, training catalogue, budget policy, forecast models), ``reports/``
the display parameters of each report notebook, ``mappings/`` the column mappings of CRM
exports. Each stage's typed, frozen settings are built in this package (``settings.kpi``,
``settings.forecast``, ``settings.budget`` …) from these files, and nowhere else: the YAML
shipped with amtools is the one source of the defaults.

A parameter file is looked up by name in these folders, highest priority first, file by
file (a project may override only ``policy/targets.yaml`` and keep every other default):

1. ``AMTOOLS_PARAMS`` (``amtools run --params DIR`` sets it; :func:`use_params_dir`);
2. ``params/`` in the current working directory (a project folder);
3. ``$AMTOOLS_ROOT/params``;
4. the defaults shipped with amtools (:data:`amtools.core.paths.DEFAULT_PARAMS_DIR`: the
   checkout's ``params/`` or, installed, the package's copy).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from amtools.core.errors import ParameterError
from amtools.core.paths import DEFAULT_PARAMS_DIR

__all__ = ["MOVED", "check_keys", "params_dirs", "params_path", "read_params", "use_params_dir"]

ENV_VAR = "AMTOOLS_PARAMS"

MOVED: dict[str, str] = {
    "kpi": "policy/kpi",
    "kpi_profiles": "policy/kpi_profiles",
    "targets": "policy/targets",
    "training_catalog": "policy/training_catalog",
    "budget": "policy/budget",
    "forecast_models": "policy/forecast",
    "team_review": "reports/team_review",
    "manager_review": "reports/manager_review",
    "forecast": "reports/forecast",
    "budget_plan": "reports/budget_plan",
    "explore": "reports/explore",
}
"""Where each parameter file of amtools 0.1 (flat ``params/``) lives now."""


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
    _refuse_old_layout(str(name))
    for folder in params_dirs():
        candidate = folder / relative
        if candidate.is_file():
            return candidate
    return DEFAULT_PARAMS_DIR / relative


def _refuse_old_layout(name: str) -> None:
    """A project folder that still holds ``name``'s file under its 0.1 name gets told to move it
    (silently using the shipped default instead would ignore the user's settings)."""
    old = next((o for o, new in MOVED.items() if new == name), None)
    if old is None:
        return
    for folder in params_dirs()[:-1]:
        stale, current = folder / f"{old}.yaml", folder / f"{name}.yaml"
        if stale.is_file() and not current.is_file():
            raise ParameterError(
                f"{stale}: parameter files are grouped now; move it to {current} "
                f"(policy/ holds the business rules, reports/ each report's display parameters)"
            )


def check_keys(
    raw: Mapping[str, Any],
    *,
    source: str,
    required: Iterable[str],
    optional: Iterable[str] = (),
    where: str = "",
) -> None:
    """Refuse a settings mapping with a missing or an unknown key, naming the file and the fix.

    Parameters
    ----------
    raw : the mapping read from the file (or one section of it).
    source : the file, as the user should look for it (``"params/policy/kpi.yaml"``).
    required, optional : the keys the section must have, and may have.
    where : the section's path inside the file (``"scoring"``), empty for the top level.

    Raises
    ------
    ParameterError
        Naming the file, the section, the keys and what to do.

    Example
    -------
    >>> check_keys({"a": 1}, source="params/policy/x.yaml", required=["a"], optional=["b"])
    >>> check_keys({"a": 1, "c": 2}, source="params/policy/x.yaml", required=["a", "b"])
    Traceback (most recent call last):
    ...
    amtools.core.errors.ParameterError: params/policy/x.yaml: missing key b; unknown key c (known: a, b). Add the missing key (the shipped file has every key with a comment) and remove or rename the unknown one.
    """
    required, optional = list(required), list(optional)
    known = [*required, *optional]
    missing = [k for k in required if k not in raw]
    unknown = [str(k) for k in raw if k not in known]
    if not missing and not unknown:
        return
    at = f"{source}{' ' + where if where else ''}"
    parts = []
    if missing:
        parts.append(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        parts.append(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(known: {', '.join(known)})"
        )
    fixes = []
    if missing:
        fixes.append("add the missing key (the shipped file has every key with a comment)")
    if unknown:
        fixes.append("remove or rename the unknown one")
    fix = " and ".join(fixes)
    raise ParameterError(f"{at}: {'; '.join(parts)}. {fix[0].upper()}{fix[1:]}.")


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
