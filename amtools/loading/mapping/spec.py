"""Mapping specifications: the YAML layout of a mapping, checked into a :class:`MappingSpec`.

A mapping says how a CRM export's files and columns become the tables of the data model
(see ``docs/loading.md``). Every malformed entry is a :class:`~amtools.core.errors.MappingError`
naming the key and the fix.
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core.errors import MappingError
from amtools.core.schema import TABLES

__all__ = [
    "TableMapping",
    "MappingSpec",
    "parse_mapping",
    "friendly_date_format",
    "mapping_error",
    "suggest",
    "lookup_order",
    "parse_expression",
    "evaluate",
    "AGGREGATIONS",
    "ID_METHODS",
    "PICKS",
    "DEFAULT_KEY",
]

TOP_KEYS = ("name", "description", "read", "currency", "ids", "dates", "targets", "tables")
TABLE_KEYS = (
    "from",
    "join",
    "compute",
    "group_by",
    "aggregate",
    "columns",
    "values",
    "constants",
    "dates",
    "ids",
    "lookup",
)
READ_KEYS = ("encoding", "sep", "decimal", "skip_rows")
AGGREGATIONS = ("sum", "mean", "min", "max", "first", "last", "most_common", "count", "nunique")
PICKS = ("most_common", "first", "last", "min", "max", "sum")
ID_METHODS = ("slug", "hash", "keep")
DEFAULT_KEY = "*"
"""The key that means every other value (``values:``) or every date column (``dates:``)."""


# --------------------------------------------------------------------------------------
# Specification
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableMapping:
    """How one data-model table is built from the source (one ``tables:`` entry)."""

    table: str
    source: str
    join: tuple[tuple[str, str, str], ...] = ()  # (source table, left column, right column)
    compute: dict[str, str] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    aggregate: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    lookup: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class MappingSpec:
    """A parsed, checked mapping (see ``docs/loading.md`` for the YAML layout)."""

    name: str
    tables: dict[str, TableMapping]
    description: str = ""
    read: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    ids: dict[str, str] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    targets: str | None = None
    """Absolute path of this source's KPI targets file (``targets:`` key), recorded by
    :func:`amtools.load` as ``dataset.meta["targets_file"]``; the loader does not read it."""


def mapping_error(name: str, where: str, problem: str, fix: str) -> MappingError:
    return MappingError(f"mapping {name!r}, {where}: {problem}. Fix: {fix}")


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _check_keys(name: str, where: str, given: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in given:
        if key not in allowed:
            raise mapping_error(
                name,
                where,
                f"unknown key {key!r}",
                f"{suggest(key, list(allowed))}allowed keys: {', '.join(allowed)}",
            )


def _as_dict(name: str, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise mapping_error(
            name,
            where,
            f"expected a mapping, got {type(value).__name__} {value!r}",
            "write it as `key: value` lines",
        )
    # YAML 1.1 reads an unquoted `on:` key as the boolean True.
    return {("on" if k is True else str(k)): v for k, v in value.items()}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def parse_mapping(
    data: Mapping[str, Any], *, name: str = "custom", base: Path | None = None
) -> MappingSpec:
    """Check a mapping dict (as read from YAML) and return a :class:`MappingSpec`.

    Top-level keys: ``name``, ``description``, ``read`` (``encoding``, ``sep``, ``decimal``,
    ``skip_rows``), ``currency``, ``ids``, ``dates``, ``tables`` (see ``docs/loading.md``)
    and ``targets``: the path of this source's KPI targets file, relative to the mapping
    file (``base``; the working directory for a dict). It is resolved to an absolute path
    and recorded as ``dataset.meta["targets_file"]`` by :func:`amtools.load` — the loader
    does not read it; the KPI targets code does.

    Raises
    ------
    MappingError
        Unknown keys, unknown tables or data-model columns, malformed entries; the message
        names the key and the fix.

    Example
    -------
    >>> spec = parse_mapping({"tables": {"deals": {"from": "opportunities",
    ...                                             "columns": {"deal_id": "Id"}}}})
    >>> spec.tables["deals"].columns
    {'deal_id': 'Id'}
    """
    data = _as_dict(name, "top level", data)
    _check_keys(name, "top level", data, TOP_KEYS)
    read = {k: str(v) for k, v in _as_dict(name, "read", data.get("read")).items()}
    _check_keys(name, "read", read, READ_KEYS)
    if not read.get("skip_rows", "0").isdigit():
        raise mapping_error(
            name,
            "read.skip_rows",
            f"expected a whole number, got {read['skip_rows']!r}",
            "give the number of lines above the header row, e.g. skip_rows: 3",
        )
    ids = {k: str(v) for k, v in _as_dict(name, "ids", data.get("ids")).items()}
    _check_ids(name, "ids", ids, None)
    dates = {
        k: friendly_date_format(str(v))
        for k, v in _as_dict(name, "dates", data.get("dates")).items()
    }
    _check_dates(name, "dates", dates, None)
    tables_raw = _as_dict(name, "tables", data.get("tables"))
    if not tables_raw:
        raise mapping_error(
            name,
            "tables",
            "no tables defined",
            "add `tables:` with at least deals, managers and clients",
        )
    tables = {}
    for table, entry in tables_raw.items():
        if table not in TABLES:
            raise mapping_error(
                name,
                f"tables.{table}",
                f"unknown data-model table {table!r}",
                f"{suggest(table, list(TABLES))}tables: {', '.join(TABLES)}",
            )
        tables[table] = _parse_table(name, table, _as_dict(name, f"tables.{table}", entry))
    for table, tm in tables.items():
        for column, rule in tm.lookup.items():
            if rule["from"] not in tables:
                raise mapping_error(
                    name,
                    f"tables.{table}.lookup.{column}.from",
                    f"{rule['from']!r} is not a table of this mapping",
                    f"lookups read another table built by the mapping: {', '.join(tables)}",
                )
    lookup_order(name, tables)
    targets = data.get("targets")
    if targets is not None:
        if not isinstance(targets, str | Path) or not str(targets).strip():
            raise mapping_error(
                name,
                "targets",
                f"expected a file path, got {targets!r}",
                "give the targets file relative to the mapping file, e.g. targets: targets.yaml",
            )
        target_path = Path(str(targets)).expanduser()
        if not target_path.is_absolute():
            target_path = (base or Path.cwd()) / target_path
        targets = str(target_path.resolve())
    return MappingSpec(
        name=name,
        tables=tables,
        description=str(data.get("description", "")),
        read=read,
        currency=None if data.get("currency") is None else str(data["currency"]),
        ids=ids,
        dates=dates,
        targets=targets,
    )


def _check_ids(name: str, where: str, ids: Mapping[str, str], table: str | None) -> None:
    for column, method in ids.items():
        if method not in ID_METHODS:
            raise mapping_error(
                name,
                f"{where}.{column}",
                f"unknown id method {method!r}",
                f"use one of {', '.join(ID_METHODS)}",
            )
        known = TABLES[table].column_names if table else _all_columns()
        if column not in known:
            raise mapping_error(
                name,
                f"{where}.{column}",
                f"{column!r} is not a data-model column",
                f"{suggest(column, known)}ids apply to id columns such as manager_id",
            )


def _check_dates(name: str, where: str, dates: Mapping[str, str], table: str | None) -> None:
    known = (
        [c.name for c in TABLES[table].columns if c.kind in ("date", "datetime")]
        if table
        else [c.name for t in TABLES.values() for c in t.columns if c.kind in ("date", "datetime")]
    )
    for column in dates:
        if column != DEFAULT_KEY and column not in known:
            raise mapping_error(
                name,
                f"{where}.{column}",
                f"{column!r} is not a date column",
                f"{suggest(column, known)}date columns: {', '.join(sorted(set(known)))}; "
                "or '*' for all of them",
            )


def _all_columns() -> list[str]:
    return sorted({c.name for t in TABLES.values() for c in t.columns})


def _parse_table(name: str, table: str, entry: dict[str, Any]) -> TableMapping:
    where = f"tables.{table}"
    _check_keys(name, where, entry, TABLE_KEYS)
    model = TABLES[table].column_names
    columns = {
        str(k): str(v) for k, v in _as_dict(name, f"{where}.columns", entry.get("columns")).items()
    }
    constants = _as_dict(name, f"{where}.constants", entry.get("constants"))
    values = _as_dict(name, f"{where}.values", entry.get("values"))
    for key, group in (("columns", columns), ("constants", constants), ("values", values)):
        for column in group:
            if column not in model:
                raise mapping_error(
                    name,
                    f"{where}.{key}.{column}",
                    f"{column!r} is not a column of {table}",
                    f"{suggest(column, model)}{table} columns: {', '.join(model)}",
                )
    both = sorted(set(columns) & set(constants))
    if both:
        raise mapping_error(
            name,
            f"{where}.constants.{both[0]}",
            f"{both[0]!r} is set both by columns and by constants",
            "keep only one of them",
        )
    for column, rule in values.items():
        if not isinstance(rule, Mapping):
            raise mapping_error(
                name,
                f"{where}.values.{column}",
                "expected `source value: amtools value` pairs",
                f"write e.g. values: {{{column}: {{Won: won}}}}",
            )
    ids = {k: str(v) for k, v in _as_dict(name, f"{where}.ids", entry.get("ids")).items()}
    _check_ids(name, f"{where}.ids", ids, table)
    dates = {
        k: friendly_date_format(str(v))
        for k, v in _as_dict(name, f"{where}.dates", entry.get("dates")).items()
    }
    _check_dates(name, f"{where}.dates", dates, table)
    joins = _parse_joins(name, where, entry.get("join"))
    compute = {
        str(k): str(v) for k, v in _as_dict(name, f"{where}.compute", entry.get("compute")).items()
    }
    for column, expr in compute.items():
        parse_expression(name, f"{where}.compute.{column}", expr)
    group_by = tuple(str(c) for c in _as_list(entry.get("group_by")))
    aggregate = _as_dict(name, f"{where}.aggregate", entry.get("aggregate"))
    if aggregate and not group_by:
        raise mapping_error(
            name,
            f"{where}.aggregate",
            "aggregate needs group_by",
            "add group_by: <source column(s) identifying one output row>",
        )
    for column, how in aggregate.items():
        _check_aggregation(name, f"{where}.aggregate.{column}", how)
    lookup = _parse_lookups(name, table, entry.get("lookup"))
    return TableMapping(
        table=table,
        source=str(entry.get("from", table)),
        join=tuple(joins),
        compute=compute,
        group_by=group_by,
        aggregate=aggregate,
        columns=columns,
        values={k: dict(v) for k, v in values.items()},
        constants=constants,
        dates=dates,
        ids=ids,
        lookup=lookup,
    )


def _parse_joins(name: str, where: str, raw: Any) -> list[tuple[str, str, str]]:
    """The ``join:`` entries of one table as (source table, left column, right column)."""
    joins = []
    for i, join in enumerate(_as_list(raw)):
        jw = f"{where}.join[{i}]"
        join = _as_dict(name, jw, join)
        _check_keys(name, jw, join, ("table", "on"))
        if "table" not in join or "on" not in join:
            raise mapping_error(
                name,
                jw,
                "a join needs `table` and `on`",
                "write join: [{table: people, on: Region}]",
            )
        on = join["on"]
        if isinstance(on, Mapping):
            _check_keys(name, f"{jw}.on", on, ("left", "right"))
            left, right = str(on.get("left")), str(on.get("right"))
        else:
            left = right = str(on)
        joins.append((str(join["table"]), left, right))
    return joins


def _parse_lookups(name: str, table: str, raw: Any) -> dict[str, dict[str, str]]:
    """The ``lookup:`` entries of one table: column -> {from, on, value, pick}."""
    where = f"tables.{table}"
    model = TABLES[table].column_names
    lookup: dict[str, dict[str, str]] = {}
    for column, rule in _as_dict(name, f"{where}.lookup", raw).items():
        lw = f"{where}.lookup.{column}"
        if column not in model:
            raise mapping_error(
                name,
                lw,
                f"{column!r} is not a column of {table}",
                f"{suggest(column, model)}{table} columns: {', '.join(model)}",
            )
        rule = _as_dict(name, lw, rule)
        _check_keys(name, lw, rule, ("from", "on", "value", "pick"))
        if "from" not in rule or "on" not in rule:
            raise mapping_error(
                name,
                lw,
                "a lookup needs `from` and `on`",
                f"write e.g. {column}: {{from: deals, on: client_id, pick: most_common}}",
            )
        pick = str(rule.get("pick", "most_common"))
        if pick not in PICKS:
            raise mapping_error(
                name, f"{lw}.pick", f"unknown pick {pick!r}", f"use one of {', '.join(PICKS)}"
            )
        lookup[column] = {
            "from": str(rule["from"]),
            "on": str(rule["on"]),
            "value": str(rule.get("value", column)),
            "pick": pick,
        }
    return lookup


def _check_aggregation(name: str, where: str, how: Any) -> None:
    if isinstance(how, Mapping):
        if set(how) != {"weighted_mean"}:
            raise mapping_error(
                name,
                where,
                f"unknown aggregation {dict(how)!r}",
                "use {weighted_mean: <weight column>} or one of " + ", ".join(AGGREGATIONS),
            )
        return
    if str(how) not in AGGREGATIONS:
        raise mapping_error(
            name,
            where,
            f"unknown aggregation {how!r}",
            f"{suggest(str(how), list(AGGREGATIONS))}use one of {', '.join(AGGREGATIONS)} "
            "or {weighted_mean: <weight column>}",
        )


def lookup_order(name: str, tables: Mapping[str, TableMapping]) -> list[str]:
    order: list[str] = []
    visiting: set[str] = set()

    def visit(table: str) -> None:
        if table in order:
            return
        if table in visiting:
            raise mapping_error(
                name,
                f"tables.{table}.lookup",
                "lookups form a cycle",
                "make one of the tables take the column from the source instead",
            )
        visiting.add(table)
        for rule in tables[table].lookup.values():
            visit(rule["from"])
        visiting.discard(table)
        order.append(table)

    for table in tables:
        visit(table)
    return order


# --------------------------------------------------------------------------------------
# Helpers: date formats, ids, expressions
# --------------------------------------------------------------------------------------
_TOKENS = {
    "YYYY": "%Y",
    "YY": "%y",
    "DD": "%d",
    "HH": "%H",
    "hh": "%I",
    "mm": "%M",
    "SS": "%S",
    "ss": "%S",
    "AM": "%p",
    "PM": "%p",
}


def friendly_date_format(fmt: str) -> str:
    """Convert ``DD.MM.YYYY HH:MM``-style layouts to ``strftime`` (``%d.%m.%Y %H:%M``).

    ``MM`` is the month, except right after ``HH:`` where it means minutes. Formats that
    already contain ``%`` are returned unchanged.

    Example
    -------
    >>> friendly_date_format("DD.MM.YYYY HH:MM")
    '%d.%m.%Y %H:%M'
    """
    if "%" in fmt:
        return fmt
    tokens = re.findall(r"YYYY|YY|MM|DD|HH|hh|mm|SS|ss|AM|PM|.", fmt, flags=re.S)
    out = []
    for i, token in enumerate(tokens):
        if token == "MM":
            minutes = i >= 2 and tokens[i - 1] == ":" and tokens[i - 2] in ("HH", "hh")
            out.append("%M" if minutes else "%m")
        else:
            out.append(_TOKENS.get(token, token))
    return "".join(out)


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def parse_expression(name: str, where: str, expr: str) -> tuple[ast.expr, dict[str, str]]:
    """Parse ``Sales - Profit`` / ```Unit Price` * Qty``: column names, numbers, + - * / ( )."""
    names: dict[str, str] = {}

    def quote(match: re.Match[str]) -> str:
        key = f"__c{len(names)}"
        names[key] = match.group(1)
        return key

    code = re.sub(r"`([^`]+)`", quote, expr)
    try:
        tree = ast.parse(code, mode="eval").body
    except SyntaxError:
        raise mapping_error(
            name,
            where,
            f"cannot parse expression {expr!r}",
            "use column names, numbers and + - * / ( ); quote names with spaces in "
            "backticks: `Unit Price` * Quantity",
        ) from None
    for node in ast.walk(tree):
        ok = isinstance(
            node,
            ast.BinOp
            | ast.UnaryOp
            | ast.Name
            | ast.Constant
            | ast.Load
            | ast.Add
            | ast.Sub
            | ast.Mult
            | ast.Div
            | ast.USub,
        )
        if not ok or (isinstance(node, ast.Constant) and not isinstance(node.value, int | float)):
            raise mapping_error(
                name,
                where,
                f"expression {expr!r} uses something other than arithmetic",
                "use column names, numbers and + - * / ( ) only",
            )
        if isinstance(node, ast.Name) and node.id not in names:
            names[node.id] = node.id
    return tree, names


def evaluate(node: ast.expr, data: Mapping[str, pd.Series], names: Mapping[str, str]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return data[names[node.id]]
    if isinstance(node, ast.UnaryOp):
        return -evaluate(node.operand, data, names)
    assert isinstance(node, ast.BinOp)
    op = _BINOPS[type(node.op)]
    return op(evaluate(node.left, data, names), evaluate(node.right, data, names))
