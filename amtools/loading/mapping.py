"""Column mappings: how a CRM export's files and columns become the tables of the data model."""

from __future__ import annotations

import ast
import difflib
import hashlib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import MappingError, ParameterError
from amtools.core.paths import PARAMS_DIR
from amtools.core.problems import Problem
from amtools.core.schema import TABLES
from amtools.core.settings import params_dirs, params_path, read_params

__all__ = [
    "TableMapping",
    "MappingSpec",
    "MappedTables",
    "resolve_mapping",
    "parse_mapping",
    "apply_mapping",
    "presets",
    "friendly_date_format",
    "make_id",
    "MAPPINGS_DIR",
    "AGGREGATIONS",
    "ID_METHODS",
]

MAPPINGS_DIR = PARAMS_DIR / "mappings"
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
_DEFAULT = "*"


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


@dataclass
class MappedTables:
    """Result of :func:`apply_mapping`: raw-valued frames with data-model column names."""

    tables: dict[str, pd.DataFrame]
    formats: dict[str, dict[str, str]]
    decimal_hints: dict[str, str | None]
    origins: dict[str, str]
    problems: list[Problem]


def presets() -> list[str]:
    """Names of the preset mappings: shipped ones and a project's ``params/mappings/*.yaml``.

    Example
    -------
    >>> "superstore" in presets()
    True
    """
    return sorted(
        {p.stem for folder in params_dirs() for p in (folder / "mappings").glob("*.yaml")}
    )


def resolve_mapping(mapping: Any) -> MappingSpec | None:
    """Turn ``None``, a preset name, a YAML path, a dict or a MappingSpec into a MappingSpec.

    Example
    -------
    >>> resolve_mapping("maven_crm").tables["deals"].source
    'sales_pipeline'
    """
    if mapping is None or isinstance(mapping, MappingSpec):
        return mapping
    if isinstance(mapping, Mapping):
        return parse_mapping(mapping, name=str(mapping.get("name", "custom")))
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        if not (path.suffix in (".yaml", ".yml") or path.exists()):
            path = params_path(f"mappings/{mapping}")
            if not path.is_file():
                raise MappingError(
                    f"unknown mapping {str(mapping)!r}: not a file and not a preset; "
                    f"presets: {', '.join(presets()) or 'none'}; or pass a path to a YAML file"
                )
        try:
            data = read_params(path)
        except ParameterError as exc:
            raise MappingError(str(exc)) from None
        return parse_mapping(
            data, name=str(data.get("name", path.stem)), base=path.resolve().parent
        )
    raise MappingError(
        f"mapping must be a preset name, a YAML path or a dict, not {type(mapping).__name__}"
    )


def _fail(name: str, where: str, problem: str, fix: str) -> MappingError:
    return MappingError(f"mapping {name!r}, {where}: {problem}. Fix: {fix}")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _check_keys(name: str, where: str, given: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in given:
        if key not in allowed:
            raise _fail(
                name,
                where,
                f"unknown key {key!r}",
                f"{_suggest(key, list(allowed))}allowed keys: {', '.join(allowed)}",
            )


def _as_dict(name: str, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(
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
        raise _fail(
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
        raise _fail(
            name,
            "tables",
            "no tables defined",
            "add `tables:` with at least deals, managers and clients",
        )
    tables = {}
    for table, entry in tables_raw.items():
        if table not in TABLES:
            raise _fail(
                name,
                f"tables.{table}",
                f"unknown data-model table {table!r}",
                f"{_suggest(table, list(TABLES))}tables: {', '.join(TABLES)}",
            )
        tables[table] = _parse_table(name, table, _as_dict(name, f"tables.{table}", entry))
    for table, tm in tables.items():
        for column, rule in tm.lookup.items():
            if rule["from"] not in tables:
                raise _fail(
                    name,
                    f"tables.{table}.lookup.{column}.from",
                    f"{rule['from']!r} is not a table of this mapping",
                    f"lookups read another table built by the mapping: {', '.join(tables)}",
                )
    _lookup_order(name, tables)
    targets = data.get("targets")
    if targets is not None:
        if not isinstance(targets, str | Path) or not str(targets).strip():
            raise _fail(
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
            raise _fail(
                name,
                f"{where}.{column}",
                f"unknown id method {method!r}",
                f"use one of {', '.join(ID_METHODS)}",
            )
        known = TABLES[table].column_names if table else _all_columns()
        if column not in known:
            raise _fail(
                name,
                f"{where}.{column}",
                f"{column!r} is not a data-model column",
                f"{_suggest(column, known)}ids apply to id columns such as manager_id",
            )


def _check_dates(name: str, where: str, dates: Mapping[str, str], table: str | None) -> None:
    known = (
        [c.name for c in TABLES[table].columns if c.kind in ("date", "datetime")]
        if table
        else [c.name for t in TABLES.values() for c in t.columns if c.kind in ("date", "datetime")]
    )
    for column in dates:
        if column != _DEFAULT and column not in known:
            raise _fail(
                name,
                f"{where}.{column}",
                f"{column!r} is not a date column",
                f"{_suggest(column, known)}date columns: {', '.join(sorted(set(known)))}; "
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
                raise _fail(
                    name,
                    f"{where}.{key}.{column}",
                    f"{column!r} is not a column of {table}",
                    f"{_suggest(column, model)}{table} columns: {', '.join(model)}",
                )
    both = sorted(set(columns) & set(constants))
    if both:
        raise _fail(
            name,
            f"{where}.constants.{both[0]}",
            f"{both[0]!r} is set both by columns and by constants",
            "keep only one of them",
        )
    for column, rule in values.items():
        if not isinstance(rule, Mapping):
            raise _fail(
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
    joins = []
    for i, join in enumerate(_as_list(entry.get("join"))):
        jw = f"{where}.join[{i}]"
        join = _as_dict(name, jw, join)
        _check_keys(name, jw, join, ("table", "on"))
        if "table" not in join or "on" not in join:
            raise _fail(
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
    compute = {
        str(k): str(v) for k, v in _as_dict(name, f"{where}.compute", entry.get("compute")).items()
    }
    for column, expr in compute.items():
        _parse_expression(name, f"{where}.compute.{column}", expr)
    group_by = tuple(str(c) for c in _as_list(entry.get("group_by")))
    aggregate = _as_dict(name, f"{where}.aggregate", entry.get("aggregate"))
    if aggregate and not group_by:
        raise _fail(
            name,
            f"{where}.aggregate",
            "aggregate needs group_by",
            "add group_by: <source column(s) identifying one output row>",
        )
    for column, how in aggregate.items():
        _check_aggregation(name, f"{where}.aggregate.{column}", how)
    lookup = {}
    for column, rule in _as_dict(name, f"{where}.lookup", entry.get("lookup")).items():
        lw = f"{where}.lookup.{column}"
        if column not in model:
            raise _fail(
                name,
                lw,
                f"{column!r} is not a column of {table}",
                f"{_suggest(column, model)}{table} columns: {', '.join(model)}",
            )
        rule = _as_dict(name, lw, rule)
        _check_keys(name, lw, rule, ("from", "on", "value", "pick"))
        if "from" not in rule or "on" not in rule:
            raise _fail(
                name,
                lw,
                "a lookup needs `from` and `on`",
                f"write e.g. {column}: {{from: deals, on: client_id, pick: most_common}}",
            )
        pick = str(rule.get("pick", "most_common"))
        if pick not in PICKS:
            raise _fail(
                name, f"{lw}.pick", f"unknown pick {pick!r}", f"use one of {', '.join(PICKS)}"
            )
        lookup[column] = {
            "from": str(rule["from"]),
            "on": str(rule["on"]),
            "value": str(rule.get("value", column)),
            "pick": pick,
        }
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


def _check_aggregation(name: str, where: str, how: Any) -> None:
    if isinstance(how, Mapping):
        if set(how) != {"weighted_mean"}:
            raise _fail(
                name,
                where,
                f"unknown aggregation {dict(how)!r}",
                "use {weighted_mean: <weight column>} or one of " + ", ".join(AGGREGATIONS),
            )
        return
    if str(how) not in AGGREGATIONS:
        raise _fail(
            name,
            where,
            f"unknown aggregation {how!r}",
            f"{_suggest(str(how), list(AGGREGATIONS))}use one of {', '.join(AGGREGATIONS)} "
            "or {weighted_mean: <weight column>}",
        )


def _lookup_order(name: str, tables: Mapping[str, TableMapping]) -> list[str]:
    order: list[str] = []
    visiting: set[str] = set()

    def visit(table: str) -> None:
        if table in order:
            return
        if table in visiting:
            raise _fail(
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


def make_id(values: pd.Series, method: str) -> pd.Series:
    """Derive stable ids from names.

    ``slug``: lower-case words joined by ``-`` (``"Darcel Schlecht"`` -> ``"darcel-schlecht"``;
    letters of any alphabet are kept). ``hash``: the first 10 hex digits of the SHA-1 of the
    whitespace-normalised, lower-cased name — opaque but stable across exports. ``keep``: as is.
    Empty values stay empty.

    Example
    -------
    >>> make_id(pd.Series(["Darcel  Schlecht", "Иван Петров"]), "slug").tolist()
    ['darcel-schlecht', 'иван-петров']
    """
    if method == "keep":
        return values
    text = values.astype("string").str.strip()
    if method == "slug":
        out = text.str.lower().str.replace(r"[\W_]+", "-", regex=True).str.strip("-")
    else:
        norm = text.str.lower().str.replace(r"\s+", " ", regex=True)
        out = norm.map(
            lambda v: hashlib.sha1(v.encode("utf-8")).hexdigest()[:10] if isinstance(v, str) else v
        ).astype("string")
    return out.mask(out.eq("").fillna(False).astype(bool))


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _parse_expression(name: str, where: str, expr: str) -> tuple[ast.expr, dict[str, str]]:
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
        raise _fail(
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
            raise _fail(
                name,
                where,
                f"expression {expr!r} uses something other than arithmetic",
                "use column names, numbers and + - * / ( ) only",
            )
        if isinstance(node, ast.Name) and node.id not in names:
            names[node.id] = node.id
    return tree, names


def _evaluate(node: ast.expr, data: Mapping[str, pd.Series], names: Mapping[str, str]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return data[names[node.id]]
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand, data, names)
    assert isinstance(node, ast.BinOp)
    op = _BINOPS[type(node.op)]
    return op(_evaluate(node.left, data, names), _evaluate(node.right, data, names))


# --------------------------------------------------------------------------------------
# Applying a mapping
# --------------------------------------------------------------------------------------
class _Context:
    """State shared while one mapping is applied to one source."""

    def __init__(self, spec: MappingSpec, raw: Any, decimal: str | None) -> None:
        self.spec = spec
        self.raw = raw
        self.decimal = decimal
        self.cache: dict[str, pd.DataFrame] = {}
        self.problems: list[Problem] = []
        self.used: set[str] = set()

    def source_name(self, requested: str) -> str | None:
        names = list(self.raw.names)
        if requested in names:
            return requested
        from amtools.loading.io import _norm

        for candidate in names:
            if _norm(candidate) == _norm(requested):
                return candidate
        return None

    def read(self, name: str) -> pd.DataFrame:
        if name not in self.cache:
            frame = self.raw.read(name)
            frame.columns = [str(c).strip() for c in frame.columns]
            self.cache[name] = frame.reset_index(drop=True)
            self.used.add(name)
        return self.cache[name]

    def hint(self, name: str) -> str | None:
        # Reading first fills the hint for CSV files (";" files suggest a decimal comma).
        return self.raw.decimal_hint.get(name)


def _require(
    ctx: _Context, df: pd.DataFrame, column: str, table: str, where: str, origin: str
) -> None:
    if column not in df.columns:
        available = [str(c) for c in df.columns]
        raise _fail(
            ctx.spec.name,
            f"tables.{table}.{where}",
            f"source column {column!r} not found in {origin}",
            f"{_suggest(column, available)}columns there: {', '.join(available)}",
        )


def apply_mapping(spec: MappingSpec, raw: Any, *, decimal: str | None = None) -> MappedTables:
    """Build data-model tables (values still as in the source) from a raw source.

    Steps per table, in order: read ``from`` -> ``join`` -> ``compute`` -> ``group_by`` +
    ``aggregate`` -> rename ``columns`` -> map ``values`` -> ``constants`` -> ``ids``;
    then ``lookup`` fills columns from other mapped tables. Source tables the mapping does
    not use, and that are not named like a data-model table, are reported in a warning.
    Tables named exactly like data-model tables that the mapping does not mention are
    passed through unchanged.

    Parameters
    ----------
    spec : the parsed mapping.
    raw : a :class:`amtools.loading.io.RawSource`.
    decimal : decimal mark for numbers used in ``compute`` and numeric aggregations.

    Example
    -------
    >>> from amtools.loading.io import read_source
    >>> src = read_source({"crm": pd.DataFrame({"Id": ["1"], "Stage": ["Won"]})})
    >>> spec = parse_mapping({"tables": {"deals": {"from": "crm", "columns": {"deal_id": "Id",
    ...     "stage": "Stage"}, "values": {"stage": {"Won": "won", "*": "open"}}}}})
    >>> apply_mapping(spec, src).tables["deals"]["stage"].tolist()
    ['won']
    """
    from amtools.loading.io import _norm, _unmatched_problem

    ctx = _Context(spec, raw, decimal)
    built: dict[str, pd.DataFrame] = {}
    formats: dict[str, dict[str, str]] = {}
    hints: dict[str, str | None] = {}
    origins: dict[str, str] = {}
    for table in _lookup_order(spec.name, spec.tables):
        tm = spec.tables[table]
        source = ctx.source_name(tm.source)
        if source is None:
            if TABLES[table].required:
                raise _fail(
                    spec.name,
                    f"tables.{table}.from",
                    f"source table {tm.source!r} not found in {raw.description}",
                    f"{_suggest(tm.source, list(raw.names))}available: {', '.join(raw.names)}",
                )
            ctx.problems.append(
                Problem(
                    table,
                    None,
                    "missing_source",
                    f"source {tm.source!r} for optional table {table} is not in "
                    f"{raw.description}; the table is absent",
                    0,
                    fix=f"export {tm.source} too if you need {table} KPIs",
                    severity="warning",
                    args={"source": tm.source, "description": raw.description},
                )
            )
            continue
        frame = _build_table(ctx, tm, source)
        frame = _apply_lookups(ctx, tm, frame, built)
        built[table] = frame
        hints[table] = ctx.hint(source)
        origins[table] = f"from {source}"
        formats[table] = _formats_for(spec, tm)
    used = set(ctx.used)
    for name in raw.names:
        target = name if name in TABLES else _norm(name)
        if name not in used and target in TABLES and target not in built:
            built[target] = ctx.read(name)
            hints[target] = ctx.hint(name)
            origins[target] = name
            formats[target] = {}
            used.add(name)
    unmatched = [n for n in raw.names if n not in used]
    if unmatched:
        ctx.problems.append(_unmatched_problem(unmatched, raw.description))
    return MappedTables(built, formats, hints, origins, ctx.problems)


def _formats_for(spec: MappingSpec, tm: TableMapping) -> dict[str, str]:
    merged = {**spec.dates, **tm.dates}
    dated = [c.name for c in TABLES[tm.table].columns if c.kind in ("date", "datetime")]
    out = {}
    for column in dated:
        fmt = merged.get(column, merged.get(_DEFAULT))
        if fmt:
            out[column] = fmt
    return out


def _kind_of_source(tm: TableMapping, source_column: str) -> str | None:
    for target, src in tm.columns.items():
        if src == source_column:
            return TABLES[tm.table].column(target).kind
    if source_column in TABLES[tm.table].column_names:
        return TABLES[tm.table].column(source_column).kind
    return None


def _numbers(
    ctx: _Context, df: pd.DataFrame, column: str, tm: TableMapping, source: str, purpose: str
) -> pd.Series:
    from amtools.loading.io import parse_numbers

    values, bad = parse_numbers(df[column], decimal=ctx.decimal, hint=ctx.hint(source))
    if bad.any():
        samples = ", ".join(repr(str(v)) for v in df.loc[bad, column].unique()[:3])
        rows = tuple(f"row {i + 1}" for i in np.flatnonzero(bad.to_numpy())[:5])
        ctx.problems.append(
            Problem(
                tm.table,
                column,
                "unparseable_number",
                f"{int(bad.sum())} value(s) of {source}.{column} used in {purpose} are not "
                f"numbers: {samples}",
                int(bad.sum()),
                rows,
                "correct the values or set decimal= (rows are 1-based rows of the source)",
                args={
                    "n": int(bad.sum()),
                    "source": source,
                    "source_column": column,
                    "purpose": purpose,
                    "values": samples,
                },
            )
        )
    return values


def _build_table(ctx: _Context, tm: TableMapping, source: str) -> pd.DataFrame:
    spec = ctx.spec
    df = ctx.read(source)
    origin = source
    for other, left, right in tm.join:
        other_name = ctx.source_name(other)
        if other_name is None:
            raise _fail(
                spec.name,
                f"tables.{tm.table}.join",
                f"source table {other!r} not found",
                f"{_suggest(other, list(ctx.raw.names))}available: {', '.join(ctx.raw.names)}",
            )
        right_df = ctx.read(other_name)
        _require(ctx, df, left, tm.table, "join.on", origin)
        _require(ctx, right_df, right, tm.table, "join.on", other_name)
        keys = right_df[right].astype("string").str.strip()
        dupes = keys[keys.duplicated(keep=False) & keys.notna()]
        if not dupes.empty:
            raise _fail(
                spec.name,
                f"tables.{tm.table}.join",
                f"{other_name} has several rows for {right} = {dupes.iloc[0]!r}; a join "
                "must match at most one row or it would duplicate source rows",
                f"remove the duplicates from {other_name} or join on a unique column",
            )
        right_df = right_df.assign(**{right: keys})
        left_keys = df[left].astype("string").str.strip()
        extra = [c for c in right_df.columns if c != right]
        renamed = {c: (c if c not in df.columns else f"{c}.{other_name}") for c in extra}
        lookup = right_df.set_index(right)[extra].rename(columns=renamed)
        joined = lookup.reindex(left_keys.to_numpy())
        joined.index = df.index
        unmatched = left_keys.notna() & joined.isna().all(axis=1)
        if unmatched.any():
            ctx.problems.append(
                Problem(
                    tm.table,
                    None,
                    "join_unmatched",
                    f"{int(unmatched.sum())} row(s) of {origin} have a {left} with no match in "
                    f"{other_name}: {', '.join(map(repr, left_keys[unmatched].unique()[:3]))}",
                    int(unmatched.sum()),
                    tuple(f"row {i + 1}" for i in np.flatnonzero(unmatched.to_numpy())[:5]),
                    f"add the missing rows to {other_name}",
                    "warning",
                    args={
                        "n": int(unmatched.sum()),
                        "origin": origin,
                        "left": left,
                        "other": other_name,
                        "values": ", ".join(map(repr, left_keys[unmatched].unique()[:3])),
                    },
                )
            )
        df = pd.concat([df, joined], axis=1)
        origin = f"{origin} joined with {other_name}"
    if tm.compute:
        df = df.copy()
        for column, expr in tm.compute.items():
            tree, names = _parse_expression(spec.name, f"tables.{tm.table}.compute.{column}", expr)
            data = {}
            for src in dict.fromkeys(names.values()):
                _require(ctx, df, src, tm.table, f"compute.{column}", origin)
                data[src] = _numbers(ctx, df, src, tm, source, f"compute {column}")
            df[column] = _evaluate(tree, data, names)
    if tm.group_by:
        df = _aggregate(ctx, tm, df, source, origin)
    return _shape(ctx, tm, df, origin)


def _aggregate(
    ctx: _Context, tm: TableMapping, df: pd.DataFrame, source: str, origin: str
) -> pd.DataFrame:
    from amtools.loading.io import parse_dates

    for key in tm.group_by:
        _require(ctx, df, key, tm.table, "group_by", origin)
    keys = list(tm.group_by)
    work = df.copy()
    for key in keys:
        stripped = work[key].astype("string").str.strip()
        work[key] = stripped.mask(stripped.eq("").fillna(False).astype(bool))
    # A row without a key value describes no entity (e.g. an open deal without a client):
    # it stays in its own table but does not become a row of the derived one.
    keyless = work[keys].isna().all(axis=1)
    if keyless.any():
        ctx.problems.append(
            Problem(
                tm.table,
                None,
                "group_without_key",
                f"{int(keyless.sum())} row(s) of {origin} have an empty {' / '.join(keys)}; "
                f"they make no {tm.table} row",
                int(keyless.sum()),
                tuple(f"row {i + 1}" for i in np.flatnonzero(keyless.to_numpy())[:5]),
                "nothing to do if those rows really have no "
                f"{' / '.join(keys)}; otherwise fill it in the source",
                "warning",
                args={"n": int(keyless.sum()), "origin": origin, "keys": " / ".join(keys)},
            )
        )
        work = work[~keyless.to_numpy()].reset_index(drop=True)
    grouped_keys = work[keys]
    # Source columns that feed the output: named in columns, auto-matched, or listed.
    wanted = list(dict.fromkeys([*tm.columns.values(), *tm.aggregate]))
    wanted += [c for c in work.columns if c in TABLES[tm.table].column_names and c not in wanted]
    out = grouped_keys.drop_duplicates().reset_index(drop=True)
    index = _key_index(out, keys)
    codes = _key_index(grouped_keys, keys)
    for column in wanted:
        if column in keys:
            continue
        _require(ctx, work, column, tm.table, f"aggregate.{column}", origin)
        how = tm.aggregate.get(column, "first")
        series = work[column]
        kind = _kind_of_source(tm, column)
        if (
            isinstance(how, Mapping)
            or how in ("sum", "mean")
            or (how in ("min", "max") and kind in ("float", "int"))
        ):
            series = _numbers(ctx, work, column, tm, source, f"aggregate {column}")
        elif how in ("min", "max") and kind in ("date", "datetime"):
            fmt = _formats_for(ctx.spec, tm)
            target = next((t for t, s in tm.columns.items() if s == column), column)
            raw_dates = series
            series, bad, _ = parse_dates(series, fmt=fmt.get(target), kind=kind)
            if bad.any():
                samples = ", ".join(repr(str(v)[:40]) for v in raw_dates[bad].unique()[:3])
                ctx.problems.append(
                    Problem(
                        tm.table,
                        target,
                        "unparseable_date",
                        f"{int(bad.sum())} value(s) of {source}.{column} used in aggregate "
                        f"{column} are not valid dates (or lie outside 1900..2100): {samples}",
                        int(bad.sum()),
                        tuple(f"row {i + 1}" for i in np.flatnonzero(bad.to_numpy())[:5]),
                        "correct the values, or give the layout in the mapping "
                        f"(dates: {{{target}: DD.MM.YYYY}})",
                        args={"n": int(bad.sum()), "values": samples},
                    )
                )
        frame = pd.DataFrame({"value": series.to_numpy()}, index=codes)
        grouped = frame.groupby(level=list(range(len(keys))), sort=False, dropna=False)["value"]
        if isinstance(how, Mapping):
            weight_col = str(how["weighted_mean"])
            _require(ctx, work, weight_col, tm.table, f"aggregate.{column}", origin)
            weight = _numbers(ctx, work, weight_col, tm, source, f"aggregate {column}")
            w = pd.DataFrame(
                {"xw": (series * weight).to_numpy(), "w": weight.to_numpy()}, index=codes
            )
            sums = w.groupby(level=list(range(len(keys))), sort=False, dropna=False).sum(
                min_count=1
            )
            result = sums["xw"] / sums["w"].where(sums["w"] != 0)
        elif how == "most_common":
            result = _most_common(frame, len(keys))
        elif how == "sum":
            result = grouped.sum(min_count=1)
        elif how == "count":
            result = grouped.count()
        else:
            result = getattr(grouped, how)()
        out[column] = result.reindex(index).to_numpy()
    return out


def _key_index(frame: pd.DataFrame, keys: list[str]) -> pd.Index:
    if len(keys) == 1:
        return pd.Index(frame[keys[0]], name=keys[0])
    return pd.MultiIndex.from_frame(frame[keys])


def _most_common(frame: pd.DataFrame, n_keys: int) -> pd.Series:
    """Most frequent non-empty value per group; ties go to the value seen first."""
    data = frame.reset_index()
    data.columns = [*(f"k{i}" for i in range(n_keys)), "value"]
    data["order"] = np.arange(len(data))
    data = data[data["value"].notna()]
    keys = [f"k{i}" for i in range(n_keys)]
    stats = (
        data.groupby([*keys, "value"], sort=False, dropna=False)
        .agg(n=("order", "size"), first=("order", "min"))
        .reset_index()
    )
    stats = stats.sort_values([*keys, "n", "first"], ascending=[True] * n_keys + [False, True])
    best = stats.drop_duplicates(keys)
    return best.set_index(keys)["value"]


def _value_text(value: Any) -> str | None:
    """Text of a source value for matching: Excel's 2.0 matches a mapping key 2."""
    if value is None or value is pd.NA or value != value:
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _match_values(series: pd.Series, rule: Mapping[Any, Any]) -> pd.Series:
    table: dict[str, Any] = {}
    for key, value in rule.items():
        if key == _DEFAULT:
            continue
        if isinstance(key, bool):  # YAML 1.1 reads unquoted Yes/No as booleans
            words = ("true", "yes", "on", "y") if key else ("false", "no", "off", "n")
            for word in words:
                table.setdefault(word, value)
            continue
        table[str(key).strip().lower()] = value
    text = series.map(_value_text)
    lowered = text.astype("string").str.strip().str.lower()
    mapped = lowered.map(table)
    known = lowered.isin(list(table)).fillna(False).astype(bool)
    if _DEFAULT in rule:
        fallback = rule[_DEFAULT]
        return (
            series.astype(object)
            .where(~series.notna(), fallback)
            .where(~known, mapped)
            .astype(object)
        )
    return series.astype(object).where(~known, mapped)


def _shape(ctx: _Context, tm: TableMapping, df: pd.DataFrame, origin: str) -> pd.DataFrame:
    spec = ctx.spec
    for target, src in tm.columns.items():
        _require(ctx, df, src, tm.table, f"columns.{target}", origin)
    out = {target: df[src] for target, src in tm.columns.items()}
    model = TABLES[tm.table].column_names
    for column in df.columns:
        if column in out or column in tm.constants or column in tm.columns.values():
            continue
        if column in tm.group_by or column in tm.aggregate or column in tm.compute:
            continue
        if column in model:
            out[column] = df[column]
        elif not any(column == j[2] for j in tm.join):
            out[str(column)] = df[column]  # kept so the loader can list unused columns
    frame = pd.DataFrame(out, index=df.index)
    for column, rule in tm.values.items():
        if column in frame.columns:
            frame[column] = _match_values(frame[column], rule)
    for column, value in tm.constants.items():
        frame[column] = value
    ids = {**spec.ids, **tm.ids}
    for col in TABLES[tm.table].columns:
        method = ids.get(col.name)
        if method is None and col.references:
            method = spec.ids.get(col.references.split(".")[1])
        if method and col.name in frame.columns:
            frame[col.name] = make_id(frame[col.name], method)
    return frame.reset_index(drop=True)


def _apply_lookups(
    ctx: _Context, tm: TableMapping, frame: pd.DataFrame, built: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    if not tm.lookup:
        return frame
    frame = frame.copy()
    for column, rule in tm.lookup.items():
        other = built[rule["from"]]
        where = f"tables.{tm.table}.lookup.{column}"
        for col, df, table in (
            (rule["on"], other, rule["from"]),
            (rule["value"], other, rule["from"]),
            (rule["on"], frame, tm.table),
        ):
            if col not in df.columns:
                raise _fail(
                    ctx.spec.name,
                    where,
                    f"{table} has no column {col!r} after mapping",
                    f"map {col} in tables.{table}.columns",
                )
        pairs = pd.DataFrame(
            {"key": other[rule["on"]].to_numpy(), "value": other[rule["value"]].to_numpy()}
        )
        pairs = pairs[pairs["key"].notna()]
        if rule["pick"] == "most_common":
            picked = _most_common(pairs.set_index("key"), 1)
        else:
            grouped = pairs.groupby("key", sort=False)["value"]
            if rule["pick"] == "sum":
                picked = grouped.sum(min_count=1)
            else:
                picked = getattr(grouped, rule["pick"])()
        found = frame[rule["on"]].map(picked)
        if column in frame.columns:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), found)
        else:
            frame[column] = found
    return frame
