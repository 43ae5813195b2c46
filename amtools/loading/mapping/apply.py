"""Applying a mapping to a raw source: join, compute, aggregate, rename, map values, ids, lookups."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.parse import normalize_name, parse_dates, parse_numbers
from amtools.core.problems import Problem
from amtools.core.schema import TABLES
from amtools.loading.mapping.spec import (
    DEFAULT_KEY,
    MappingSpec,
    TableMapping,
    evaluate,
    lookup_order,
    mapping_error,
    parse_expression,
    suggest,
)
from amtools.loading.sources import RawSource, unmatched_problem

__all__ = ["MappedTables", "apply_mapping", "make_id"]


@dataclass
class MappedTables:
    """Result of :func:`apply_mapping`: raw-valued frames with data-model column names."""

    tables: dict[str, pd.DataFrame]
    formats: dict[str, dict[str, str]]
    decimal_hints: dict[str, str | None]
    origins: dict[str, str]
    problems: list[Problem]


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


# --------------------------------------------------------------------------------------
# Applying a mapping
# --------------------------------------------------------------------------------------
class _Context:
    """State shared while one mapping is applied to one source."""

    def __init__(self, spec: MappingSpec, raw: RawSource, decimal: str | None) -> None:
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
        for candidate in names:
            if normalize_name(candidate) == normalize_name(requested):
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
        raise mapping_error(
            ctx.spec.name,
            f"tables.{table}.{where}",
            f"source column {column!r} not found in {origin}",
            f"{suggest(column, available)}columns there: {', '.join(available)}",
        )


def apply_mapping(spec: MappingSpec, raw: RawSource, *, decimal: str | None = None) -> MappedTables:
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
    raw : a :class:`amtools.loading.sources.RawSource`.
    decimal : decimal mark for numbers used in ``compute`` and numeric aggregations.

    Example
    -------
    >>> from amtools.loading import parse_mapping, read_source
    >>> src = read_source({"crm": pd.DataFrame({"Id": ["1"], "Stage": ["Won"]})})
    >>> spec = parse_mapping({"tables": {"deals": {"from": "crm", "columns": {"deal_id": "Id",
    ...     "stage": "Stage"}, "values": {"stage": {"Won": "won", "*": "open"}}}}})
    >>> apply_mapping(spec, src).tables["deals"]["stage"].tolist()
    ['won']
    """
    ctx = _Context(spec, raw, decimal)
    built: dict[str, pd.DataFrame] = {}
    formats: dict[str, dict[str, str]] = {}
    hints: dict[str, str | None] = {}
    origins: dict[str, str] = {}
    for table in lookup_order(spec.name, spec.tables):
        tm = spec.tables[table]
        source = ctx.source_name(tm.source)
        if source is None:
            if TABLES[table].required:
                raise mapping_error(
                    spec.name,
                    f"tables.{table}.from",
                    f"source table {tm.source!r} not found in {raw.description}",
                    f"{suggest(tm.source, list(raw.names))}available: {', '.join(raw.names)}",
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
        target = name if name in TABLES else normalize_name(name)
        if name not in used and target in TABLES and target not in built:
            built[target] = ctx.read(name)
            hints[target] = ctx.hint(name)
            origins[target] = name
            formats[target] = {}
            used.add(name)
    unmatched = [n for n in raw.names if n not in used]
    if unmatched:
        ctx.problems.append(unmatched_problem(unmatched, raw.description))
    return MappedTables(built, formats, hints, origins, ctx.problems)


def _formats_for(spec: MappingSpec, tm: TableMapping) -> dict[str, str]:
    merged = {**spec.dates, **tm.dates}
    dated = [c.name for c in TABLES[tm.table].columns if c.kind in ("date", "datetime")]
    out = {}
    for column in dated:
        fmt = merged.get(column, merged.get(DEFAULT_KEY))
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
            raise mapping_error(
                spec.name,
                f"tables.{tm.table}.join",
                f"source table {other!r} not found",
                f"{suggest(other, list(ctx.raw.names))}available: {', '.join(ctx.raw.names)}",
            )
        right_df = ctx.read(other_name)
        _require(ctx, df, left, tm.table, "join.on", origin)
        _require(ctx, right_df, right, tm.table, "join.on", other_name)
        keys = right_df[right].astype("string").str.strip()
        dupes = keys[keys.duplicated(keep=False) & keys.notna()]
        if not dupes.empty:
            raise mapping_error(
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
            tree, names = parse_expression(spec.name, f"tables.{tm.table}.compute.{column}", expr)
            data = {}
            for src in dict.fromkeys(names.values()):
                _require(ctx, df, src, tm.table, f"compute.{column}", origin)
                data[src] = _numbers(ctx, df, src, tm, source, f"compute {column}")
            df[column] = evaluate(tree, data, names)
    if tm.group_by:
        df = _aggregate(ctx, tm, df, source, origin)
    return _shape(ctx, tm, df, origin)


def _aggregate(
    ctx: _Context, tm: TableMapping, df: pd.DataFrame, source: str, origin: str
) -> pd.DataFrame:
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
        if key == DEFAULT_KEY:
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
    if DEFAULT_KEY in rule:
        fallback = rule[DEFAULT_KEY]
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
                raise mapping_error(
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
