"""A notebook is a function: read its parameters cell and check values before it runs."""

from __future__ import annotations

import amtools.render.notebooks.nbimports  # noqa: F401 - before nbformat (see there)

# isort: split
import ast
import io
import math
import tokenize
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from amtools.core.errors import ParameterError
from amtools.core.i18n import LANGS
from amtools.render.notebooks.kinds import REPORTS

__all__ = [
    "PARAMETER_RANGES",
    "ParamRange",
    "check_range",
    "check_run_options",
    "NotebookParameter",
    "notebook_parameters",
    "parameters_cell_index",
    "validate_parameters",
]

_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "None": type(None),
    "Any": typing.Any,
}


@dataclass(frozen=True)
class ParamRange:
    """The allowed values of one notebook parameter: a closed number range or a set of words.

    Attributes
    ----------
    low, high : inclusive bounds (``None``: unbounded on that side).
    choices : the allowed values of a text parameter (empty: any).
    integer : whether the value must be a whole number.
    """

    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    integer: bool = False

    def describe(self) -> str:
        """The allowed values as a phrase (``"4 to 8"``, ``"one of: a, b"``, ``">= 1"``)."""
        if self.choices:
            return "one of: " + ", ".join(self.choices)
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        if self.low is not None:
            return f">= {self.low:g}"
        if self.high is not None:
            return f"<= {self.high:g}"
        return "any value"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is in the range (non-numbers are left to the type check)."""
        if self.choices:
            return not isinstance(value, str) or value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        if value != value or value in (float("inf"), float("-inf")):
            return False
        if self.integer and float(value) != int(value):
            return False
        if self.low is not None and value < self.low:
            return False
        return not (self.high is not None and value > self.high)


PARAMETER_RANGES: dict[str, ParamRange] = {
    # notebooks/manager_review.ipynb, params/reports/manager_review.yaml: "quarters shown in the trends, 4 to 8"
    "trend_quarters": ParamRange(4, 8, integer=True),
    # notebooks/team_review.ipynb, params/reports/team_review.yaml
    "heatmap_value": ParamRange(choices=("percentile", "attainment")),
    "alert_drop": ParamRange(0, 100),  # points of the 0-100 score
    "alert_below": ParamRange(0, 1),  # a share of the target
    "detail_max_managers": ParamRange(1, None, integer=True),  # managers listed one by one
    "per_team_above": ParamRange(0, None, integer=True),  # managers; None: only --per-team
    "movers_n": ParamRange(1, 50, integer=True),
    "alert_worst": ParamRange(1, 10, integer=True),
    "team_pages": ParamRange(choices=("", "auto", "forced")),  # set by the runner
    # notebooks/forecast.ipynb, params/reports/forecast.yaml
    "max_managers": ParamRange(1, None, integer=True),
    "history_months": ParamRange(1, None, integer=True),
    # every notebook
    "lang": ParamRange(choices=LANGS),
}
"""Allowed values of notebook parameters, by parameter name: declared once, checked by
:func:`validate_parameters` before any kernel starts (the parameters cells and params/*.yaml
comments state the same ranges)."""


def check_range(name: str, value: Any, *, where: str = "") -> None:
    """Raise :class:`ParameterError` if ``value`` is outside :data:`PARAMETER_RANGES` [name].

    Example
    -------
    >>> check_range("trend_quarters", 6)
    >>> check_range("trend_quarters", 100)
    Traceback (most recent call last):
    ...
    amtools.core.errors.ParameterError: parameter 'trend_quarters' must be 4 to 8 (a whole number), got 100
    """
    rng = PARAMETER_RANGES.get(name)
    if rng is None or rng.accepts(value):
        return
    whole = " (a whole number)" if rng.integer else ""
    prefix = f"{where}: " if where else ""
    raise ParameterError(
        f"{prefix}parameter {name!r} must be {rng.describe()}{whole}, got {value!r}"
    )


def check_run_options(
    *,
    timeout: float | None = None,
    workers: int | None = None,
    reports: Any = None,
) -> None:
    """Check ``amtools run`` options before anything runs.

    ``timeout`` must be > 0 (or None: no limit), ``workers`` >= 0 (0: one kernel in this
    process), ``reports`` (when given) a non-empty list of known report kinds.

    Example
    -------
    >>> check_run_options(timeout=0)
    Traceback (most recent call last):
    ...
    amtools.core.errors.ParameterError: --timeout must be a number of seconds > 0, got 0
    """
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ParameterError(f"--timeout must be a number of seconds > 0, got {timeout!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 0
    ):
        raise ParameterError(
            f"--workers must be a whole number >= 1 (or 0: one kernel in this process), "
            f"got {workers!r}"
        )
    if reports is not None:
        names = [str(r).strip() for r in reports]
        if not names or not all(names):
            raise ParameterError(f"--reports is empty; name at least one of: {', '.join(REPORTS)}")
        unknown = [n for n in names if n not in REPORTS]
        if unknown:
            what = "report" if len(unknown) == 1 else "reports"
            raise ParameterError(
                f"unknown {what} {', '.join(map(repr, unknown))}; choose from: {', '.join(REPORTS)}"
            )


@dataclass(frozen=True)
class NotebookParameter:
    """One name declared in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : the variable name.
    types : allowed Python types (empty tuple: any value).
    type_name : the annotation or inferred type as written (``"str"``, ``"list[str]"``).
    default : the default value when it is a literal, else ``None``.
    help : the trailing comment of the line (``a: float = 2.25  # Variable a``).
    """

    name: str
    types: tuple[type, ...]
    type_name: str
    default: Any
    help: str = ""

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of a type this parameter allows (ints pass for floats)."""
        if not self.types:
            return True
        if isinstance(value, bool):
            return bool in self.types
        if isinstance(value, int) and float in self.types:
            return True
        if isinstance(value, tuple) and list in self.types:
            return True
        return isinstance(value, self.types)


def parameters_cell_index(nb: nbformat.NotebookNode) -> int:
    """Index of the first cell tagged ``parameters`` (-1 if none)."""
    for index, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return index
    return -1


def _annotation_types(node: ast.expr | None, source: str) -> tuple[tuple[type, ...], str]:
    if node is None:
        return (), ""
    text = ast.get_source_segment(source, node) or ""
    found: list[type] = []

    def walk(n: ast.expr) -> bool:
        if isinstance(n, ast.Constant) and n.value is None:
            found.append(type(None))
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str):  # "str" written as string
            return walk(ast.parse(n.value, mode="eval").body)
        if isinstance(n, ast.Name) and n.id in _TYPES:
            kind = _TYPES[n.id]
            if kind is typing.Any:
                return False
            found.append(kind)
            return True
        if isinstance(n, ast.Attribute) and n.attr in _TYPES:  # typing.Optional etc.
            return walk(ast.Name(id=n.attr))
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            return walk(n.left) and walk(n.right)
        if isinstance(n, ast.Subscript):
            base = (
                n.value.attr if isinstance(n.value, ast.Attribute) else getattr(n.value, "id", "")
            )
            if base == "Optional":
                found.append(type(None))
                return walk(n.slice)
            if base == "Union":
                parts = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
                return all(walk(p) for p in parts)
            if base.lower() in _TYPES:
                found.append(_TYPES[base.lower()])
                return True
        return False

    if not walk(node):
        return (), text
    return tuple(dict.fromkeys(found)), text


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return out


def _literal(node: ast.expr | None) -> tuple[bool, Any]:
    if node is None:
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def notebook_parameters(
    notebook: str | Path | nbformat.NotebookNode,
) -> dict[str, NotebookParameter]:
    """The names, types, defaults and help of a notebook's ``parameters`` cell.

    Types come from annotations (``manager_id: str = ""``) or, without one, from the literal
    default (``n = 3`` -> int).

    Raises
    ------
    ParameterError
        If the notebook has no cell tagged ``parameters`` or it is not valid Python.

    Example
    -------
    >>> params = notebook_parameters("notebooks/manager_review.ipynb")  # doctest: +SKIP
    >>> params["lang"].type_name  # doctest: +SKIP
    'str'
    """
    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(notebook, 4)
    name = getattr(notebook, "name", "notebook") if isinstance(notebook, Path) else str(notebook)
    index = parameters_cell_index(nb)
    if index < 0:
        raise ParameterError(f"{name}: no cell tagged 'parameters'; tag the first code cell")
    source = nb.cells[index].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"{name}: the parameters cell is not valid Python: {exc}") from None
    comments = _comments(source)
    found: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            kinds, text = _annotation_types(node.annotation, source)
            ok, default = _literal(node.value)
            target = node.target.id
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            ok, default = _literal(node.value)
            kinds = (type(default),) if ok and default is not None else ()
            text = type(default).__name__ if kinds else ""
            target = node.targets[0].id
        else:
            continue
        found[target] = NotebookParameter(
            name=target,
            types=kinds,
            type_name=text,
            default=default if ok else None,
            help=comments.get(node.end_lineno or node.lineno, ""),
        )
    return found


def _type_label(param: NotebookParameter) -> str:
    return param.type_name or " | ".join(t.__name__ for t in param.types) or "any"


def validate_parameters(
    declared: Mapping[str, NotebookParameter],
    values: Mapping[str, Any],
    *,
    notebook: str = "notebook",
) -> dict[str, Any]:
    """Check ``values`` against a notebook's declared parameters; return them unchanged.

    Raises
    ------
    ParameterError
        Naming every unknown parameter (with the declared ones), every value of the
        wrong type (with the expected type) and every value outside its
        :data:`PARAMETER_RANGES` range (with the allowed range).

    Example
    -------
    >>> declared = notebook_parameters(nb)  # doctest: +SKIP
    >>> validate_parameters(declared, {"lang": 1}, notebook="x")  # doctest: +SKIP
    Traceback (most recent call last):
    ParameterError: x: parameter 'lang' must be str, got int 1
    """
    problems: list[str] = []
    unknown = [k for k in values if k not in declared]
    if unknown:
        problems.append(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}; the parameters cell "
            f"declares: {', '.join(declared) or 'nothing'}"
        )
    for key, value in values.items():
        param = declared.get(key)
        if param is not None and not param.accepts(value):
            problems.append(
                f"parameter {key!r} must be {_type_label(param)}, "
                f"got {type(value).__name__} {value!r}"
            )
        elif param is not None:
            try:
                check_range(key, value)
            except ParameterError as exc:
                problems.append(str(exc))
    if problems:
        raise ParameterError(f"{notebook}: " + "; ".join(problems))
    return dict(values)
