"""Loading CRM data from files, databases and memory into a typed :class:`Dataset`, and saving it.

Rules at the loading boundary (each violation is an :class:`~amtools.core.errors.AmtoolsError`
or an error :class:`~amtools.core.problems.Problem` naming the file or table, column, rows and fix):

- CSV files are read with every field as text and never with a column as the index; a row
  with more or fewer fields than the header is not loaded and reported by line number
  (``field_count``); a header whose field count matches no row, duplicate column names
  (``amount`` twice, or ``amount`` + ``Amount`` for the same table), an empty, binary,
  undecodable or truncated (``.gz``) file are errors naming the file. An Excel-style
  ``sep=;`` first line is taken as the delimiter and skipped.
- Numbers must be finite and below the bound of their column (:attr:`Column.limit
  <amtools.core.schema.Column.limit>`, money ``|x| < 1e15``): ``number_out_of_bounds``.
- Time zones, one rule everywhere dates are parsed: a value with a zone is converted to
  UTC and the zone dropped; a value without one is taken as it is (UTC-naive result;
  aware and naive values may mix). Dates outside 1900-01-01..2100-12-31 are not loaded
  and reported (``date_out_of_range``).
- Exports (:func:`export_csv`, :func:`export_excel`) write formula-like text as text.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
import hashlib
import io as _io
import json
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import pandas as pd

from amtools.core import paths as config
from amtools.core.dataset import PANDAS_DTYPES, Dataset
from amtools.core.errors import SourceError
from amtools.core.problems import DataValidationError, Problem
from amtools.core.schema import DATE_WINDOW, REQUIRED_TABLES, TABLES, Column
from amtools.core.textsafe import inert_frame
from amtools.core.vocab import DEFAULT_CURRENCY

__all__ = [
    "load",
    "load_demo",
    "save_duckdb",
    "export_csv",
    "export_excel",
    "coerce_table",
    "parse_numbers",
    "parse_dates",
    "read_source",
    "RawSource",
]

CSV_SEPARATORS = (",", ";", "\t", "|")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
META_TABLE = "_amtools_meta"

# Tokens that mean "no value" in exports (compared lower-case, after stripping).
_EMPTY_TOKENS = {"", "-", "—", "–", "null", "none", "nan", "nat", "n/a", "#n/a", "na", "<na>"}
_EMPTY_TEXT_TOKENS = {"", "null", "none", "nan", "nat", "#n/a", "<na>"}
# Thousands separators seen in exports: spaces (incl. NBSP U+00A0, narrow NBSP U+202F,
# thin space U+2009, figure space U+2007) and the Swiss apostrophe.
# Plain pattern strings (not compiled) so pandas runs them vectorised in pyarrow.
_GROUPING = "[\\s\u00a0\u202f\u2009\u2007'’]"
_CURRENCY = r"(?i)[₽$€£¥]|руб\.?|р\.|rub|usd|eur"
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "да", "д", "истина", "+", "x", "✓"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "нет", "н", "ложь"}


# --------------------------------------------------------------------------------------
# Value parsing
# --------------------------------------------------------------------------------------
def _split_native(series: pd.Series, kinds: tuple[type, ...]) -> tuple[pd.Series, pd.Series]:
    """Split an object column into values already of ``kinds`` and the rest as stripped text."""
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        # Text columns (every CSV column): nothing native, vectorised string operations.
        text = series.astype("string[pyarrow]").str.strip()
        return pd.Series(False, index=series.index), text
    obj = series.astype(object)
    native = obj.map(lambda v: isinstance(v, kinds) and not isinstance(v, bool | np.bool_))
    text = obj.where(~native).map(lambda v: None if v is None or v is pd.NA else str(v))
    text = text.astype("string[pyarrow]").str.strip()
    return native.astype(bool), text


def _is_empty(text: pd.Series) -> pd.Series:
    return text.isna() | text.str.lower().isin(_EMPTY_TOKENS).fillna(True).astype(bool)


def _infer_decimal(text: pd.Series, hint: str | None) -> str:
    """Guess the decimal mark of a column of number strings (``"."`` or ``","``)."""
    sample = text.dropna()
    if len(sample) > 2000:
        sample = sample.iloc[:2000]
    if sample.empty:
        return hint or "."
    n_comma = sample.str.count(",")
    n_dot = sample.str.count(r"\.")
    both = (n_comma > 0) & (n_dot > 0)
    last_comma = sample.str.rfind(",") > sample.str.rfind(".")
    votes_comma = int((both & last_comma).sum())
    votes_dot = int((both & ~last_comma).sum())
    only_comma = (n_comma > 0) & (n_dot == 0)
    only_dot = (n_dot > 0) & (n_comma == 0)
    three = sample.str.contains(r"[.,]\d{3}$", regex=True)
    # "12,5" -> decimal comma; "1,234,567" -> comma groups thousands; "1,234" is ambiguous.
    votes_comma += int((only_comma & (n_comma == 1) & ~three).sum())
    votes_dot += int((only_comma & (n_comma > 1)).sum())
    votes_dot += int((only_dot & (n_dot == 1) & ~three).sum())
    votes_comma += int((only_dot & (n_dot > 1)).sum())
    if votes_comma > votes_dot:
        return ","
    if votes_dot > votes_comma:
        return "."
    return hint or "."


def parse_numbers(
    series: pd.Series, *, decimal: str | None = None, hint: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse a column of numbers written the way spreadsheets and CRMs export them.

    Handles decimal commas, thousands separators (``,`` ``.`` spaces, NBSP U+00A0,
    narrow NBSP U+202F, apostrophes), currency signs, a trailing ``%`` (divided by 100),
    accounting negatives ``(1 234)`` and the Unicode minus.

    Parameters
    ----------
    series : the raw column (strings, numbers or a mix).
    decimal : the decimal mark, ``"."`` or ``","``; ``None`` infers it from the values.
    hint : decimal mark to assume when the values are ambiguous (e.g. ``","`` for ``;`` files).

    Returns
    -------
    (values, bad) : float64 values, and a boolean mask of non-empty values that could not be
    parsed (their value is NaN — callers must report them, never drop them silently).

    Example
    -------
    >>> values, bad = parse_numbers(pd.Series(["1\u00a0234,50", "7", "", "abc"]))
    >>> values.tolist()[:2], bad.tolist()
    ([1234.5, 7.0], [False, False, False, True])
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("float64")
        return values, pd.Series(False, index=series.index)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = pd.to_numeric(series, errors="coerce").astype("float64")
        return values, pd.Series(False, index=series.index)
    native, text = _split_native(series, (int, float, np.integer, np.floating))
    values = pd.Series(np.nan, index=series.index, dtype="float64")
    if native.any():
        values[native] = pd.to_numeric(series[native].astype(object), errors="coerce").astype(float)
    empty = _is_empty(text) & ~native
    todo = (~native & ~empty).to_numpy(dtype=bool)
    if not todo.any():
        return values, pd.Series(False, index=series.index)
    t = text[todo].str.replace(_GROUPING, "", regex=True).str.replace("\u2212", "-", regex=False)
    t = t.str.replace(_CURRENCY, "", regex=True)
    negative = t.str.match(r"^\(.*\)$").fillna(False).astype(bool)
    t = t.str.strip("()")
    percent = t.str.endswith("%").fillna(False).astype(bool)
    t = t.str.rstrip("%")
    mark = decimal or _infer_decimal(t, hint)
    if mark == ",":
        t = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        t = t.str.replace(",", "", regex=False)
    parsed = pd.to_numeric(t, errors="coerce").astype("float64")
    parsed = parsed.where(~negative, -parsed).where(~percent, parsed / 100)
    values[todo] = parsed.to_numpy(dtype="float64", na_value=np.nan)
    bad = pd.Series(False, index=series.index)
    bad[todo] = parsed.isna().to_numpy(dtype=bool)
    return values, bad


_DATE_FAMILIES: dict[str, tuple[str, ...]] = {
    "iso": ("ISO8601", "%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y%m%d"),
    "dmy": (
        "%d.%m.%Y",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%y",
        "%d.%m.%y %H:%M",
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d-%m-%Y",
        "%d-%m-%Y %H:%M",
        "%d/%m/%y",
    ),
    "mdy": (
        "%m/%d/%Y",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M %p",
        "%m-%d-%Y",
        "%m/%d/%y",
    ),
}


_UNIT: Final = "datetime64[us]"  # wide enough for any year a file may hold; checked, then ns


def _to_naive(values: pd.Series) -> pd.Series:
    """The time-zone rule: aware values are converted to UTC and the zone dropped."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype(_UNIT)


def _parse_family(text: pd.Series, formats: Iterable[str]) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype=_UNIT)
    for fmt in formats:
        missing = out.isna()
        if not missing.any():
            break
        # utc=True: "…Z" / "+03:00" values become UTC, naive ones are taken as they are,
        # so aware and naive values can mix in one column.
        part = pd.to_datetime(text[missing], format=fmt, errors="coerce", utc=True)
        out[missing] = _to_naive(part)
    return out


DATE_MIN = pd.Timestamp(DATE_WINDOW[0])
DATE_MAX = pd.Timestamp(DATE_WINDOW[1]) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
"""The window of plausible dates; values outside it are reported, never loaded."""


def parse_dates(
    series: pd.Series, *, fmt: str | None = None, kind: str = "date"
) -> tuple[pd.Series, pd.Series, str | None]:
    """Parse a column of dates or timestamps.

    Time zones follow one rule everywhere amtools parses dates: a value that carries a zone
    (``2025-01-01T10:00:00Z``, ``…+03:00``, tz-aware datetimes from Excel/Parquet/SQL) is
    converted to UTC and the zone dropped; a value without a zone is taken as it is. The
    result is always time-zone naive, so aware and naive values may mix in one column.
    Dates outside 1900-01-01..2100-12-31 (:data:`DATE_MIN`, :data:`DATE_MAX`) are not
    loaded: they are NaT and flagged in ``bad`` (:func:`load` reports them as
    ``date_out_of_range`` with table, column and rows).

    Parameters
    ----------
    series : raw values (strings, datetimes or a mix).
    fmt : an explicit ``strftime`` format (``"%d.%m.%Y %H:%M"``); ``None`` detects ISO,
        day-first (``31.12.2025``, ``31/12/2025``) and month-first (``12/31/2025``) layouts.
    kind : ``"date"`` normalises to midnight; ``"datetime"`` keeps the time.

    Returns
    -------
    (values, bad, note) : datetime64[ns] values; mask of non-empty values that did not parse
    or fall outside the date window; a note when the layout was ambiguous (day/month
    order), else ``None``.

    Example
    -------
    >>> values, bad, _ = parse_dates(pd.Series(["31.12.2025", "2026-01-05", "", "9999-01-01"]))
    >>> [str(v.date()) for v in values[:2]], bad.tolist()
    (['2025-12-31', '2026-01-05'], [False, False, False, True])
    >>> parse_dates(pd.Series(["2025-01-01T10:00:00Z", "2025-01-01 10:00"]), kind="datetime")[0].tolist()
    [Timestamp('2025-01-01 10:00:00'), Timestamp('2025-01-01 10:00:00')]
    """
    values, bad, outside, note = _parse_dates_full(series, fmt=fmt, kind=kind)
    return values, bad | outside, note


def _parse_dates_full(
    series: pd.Series, *, fmt: str | None = None, kind: str = "date"
) -> tuple[pd.Series, pd.Series, pd.Series, str | None]:
    """:func:`parse_dates` with the out-of-window mask apart from the unparseable one."""
    note = None
    bad = pd.Series(False, index=series.index)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        values = _to_naive(series)
    else:
        native, text = _split_native(series, (dt.date, np.datetime64))
        values = pd.Series(pd.NaT, index=series.index, dtype=_UNIT)
        if native.any():
            nat = pd.to_datetime(series[native].astype(object), errors="coerce", utc=True)
            values[native] = _to_naive(nat)
        empty = _is_empty(text) & ~native
        todo = (~native & ~empty).to_numpy(dtype=bool)
        if todo.any():
            t = text[todo]
            if fmt:
                parsed = _to_naive(pd.to_datetime(t, format=fmt, errors="coerce", utc=True))
            else:
                parsed, note = _detect_and_parse(t)
            values[todo] = parsed.to_numpy(dtype=_UNIT)
        bad[todo] = values[todo].isna().to_numpy(dtype=bool)
    outside = ((values < DATE_MIN) | (values > DATE_MAX)).fillna(False).astype(bool)
    values = values.mask(outside).astype("datetime64[ns]")
    if kind == "date":
        values = values.dt.normalize()
    return values, bad, outside, note


def _detect_and_parse(text: pd.Series) -> tuple[pd.Series, str | None]:
    sample = text.iloc[:500]
    iso = int(_parse_family(sample, _DATE_FAMILIES["iso"]).notna().sum())
    if iso == len(sample):  # the common case: no need to try other layouts
        return _parse_family(text, _DATE_FAMILIES["iso"]), None
    scores = {
        name: int(_parse_family(sample, f).notna().sum()) for name, f in _DATE_FAMILIES.items()
    }
    # ISO is unambiguous and can mix with one local layout (hand-edited cells);
    # day-first wins a tie with month-first.
    local = "dmy" if scores["dmy"] >= scores["mdy"] else "mdy"
    parsed = _parse_family(text, (*_DATE_FAMILIES["iso"], *_DATE_FAMILIES[local]))
    note = None
    if local == "dmy" and scores["mdy"] == scores["dmy"] > 0:
        other = _parse_family(text, (*_DATE_FAMILIES["iso"], *_DATE_FAMILIES["mdy"]))
        if not parsed.equals(other):
            note = (
                "day/month order is ambiguous (every value reads both ways); read as day-first. "
                "Set the format in the mapping (dates: {column: MM/DD/YYYY}) if that is wrong"
            )
    return parsed, note


def _parse_bools(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("boolean"), pd.Series(False, index=series.index)
    if pd.api.types.is_numeric_dtype(series.dtype):
        ok = series.isna() | series.isin([0, 1])
        values = series.where(ok).astype("Float64").astype("boolean")
        return values, ~ok
    obj = series.astype(object)
    native = obj.map(lambda v: isinstance(v, bool | np.bool_))
    key = obj.map(
        lambda v: None if v is None or v is pd.NA or v != v else str(v).strip().lower()
    ).astype("string")
    true = key.isin(_TRUE).fillna(False).astype(bool)
    false = key.isin(_FALSE).fillna(False).astype(bool)
    empty = key.isna() | key.isin(_EMPTY_TOKENS).fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out = out.mask(true, True).mask(false, False)
    if native.any():
        out = out.mask(native, obj.where(native).astype("boolean"))
    bad = ~(true | false | empty | native)
    return out, bad


def _to_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(series.dtype):
        # Ids read from Excel/Parquet as floats: 1001.0 -> "1001".
        whole = series.dropna()
        if (whole == np.floor(whole)).all():
            return series.astype("Int64").astype("string")
    if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        obj = series.astype(object).map(
            lambda v: (
                str(int(v))
                if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer()
                else v
            )
        )
        series = obj
    text = series.astype("string").str.strip()
    return text.mask(text.str.lower().isin(_EMPTY_TEXT_TOKENS).fillna(False).astype(bool))


# --------------------------------------------------------------------------------------
# Coercion of one table to the data model
# --------------------------------------------------------------------------------------
def _norm(name: object) -> str:
    return re.sub(r"[^0-9a-zа-яё]+", "_", str(name).strip().lower()).strip("_")


def example_ids(df: pd.DataFrame, mask: pd.Series, table: str, limit: int = 5) -> tuple[str, ...]:
    """Identify a few rows of ``df`` selected by ``mask``: key values, else 1-based row numbers."""
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))[: limit * 3]
    key = [k for k in (TABLES[table].key if table in TABLES else ()) if k in df.columns]
    out: list[str] = []
    for pos in positions:
        values = [df[k].iloc[pos] for k in key]
        if key and all(pd.notna(v) and str(v) != "" for v in values):
            label = "/".join(str(v) for v in values)
        else:
            label = f"row {pos + 1}"
        if label not in out:
            out.append(label)
    return tuple(out[:limit])


def coerce_table(
    table: str,
    df: pd.DataFrame,
    *,
    formats: Mapping[str, str] | None = None,
    decimal: str | None = None,
    decimal_hint: str | None = None,
    origin: str = "",
) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert a raw table to the data model: model columns only, dtypes per ``PANDAS_DTYPES``.

    Columns whose names match a model column after normalisation (``"Manager ID"`` ->
    ``manager_id``) are renamed; other columns are dropped and listed in a warning.
    Values that do not parse as the column's kind become an error :class:`Problem`
    (never a silent NaN).

    Parameters
    ----------
    table : data-model table name.
    df : the raw frame (not modified).
    formats : date formats per column (``strftime``), from the mapping.
    decimal : decimal mark for number columns; ``None`` infers it per column.
    decimal_hint : mark assumed when inference is ambiguous.
    origin : where the table came from (file, sheet), for messages.

    Example
    -------
    >>> raw = pd.DataFrame({"Manager ID": ["m1"], "name": ["Ann"], "segment": ["B2B"], "x": [1]})
    >>> out, problems = coerce_table("managers", raw)
    >>> list(out.columns), problems[0].check
    (['manager_id', 'name', 'segment'], 'extra_columns')
    """
    spec = TABLES[table]
    formats = dict(formats or {})
    where = f" ({origin})" if origin else ""
    problems: list[Problem] = []
    renames: dict[Any, str] = {}
    model = set(spec.column_names)
    taken = {c for c in df.columns if c in model}
    for col in df.columns:
        if col in model:
            continue
        norm = _norm(col)
        if norm in model and norm not in taken:
            renames[col] = norm
            taken.add(norm)
    by_target: dict[str, list[str]] = {}
    for col in df.columns:
        target = col if col in model else _norm(col)
        if target in model:
            by_target.setdefault(str(target), []).append(str(col))
    clashes = {t: names for t, names in by_target.items() if len(names) > 1}
    if clashes:
        target, names = next(iter(clashes.items()))
        shown = " and ".join(repr(n) for n in names)
        raise SourceError(
            f"table {table}{where}: columns {shown} both mean {target!r} (they differ only in "
            "case, spaces or punctuation); the loader cannot tell which one holds the data. "
            "Fix: rename or delete one of them in the source, or map one explicitly in the "
            f"mapping (tables: {{{table}: {{columns: {{{target}: <source column>}}}}}})"
        )
    frame = df.rename(columns=renames)
    extra = [str(c) for c in frame.columns if c not in model]
    if extra:
        problems.append(
            Problem(
                table,
                None,
                "extra_columns",
                f"{len(extra)} column(s) not in the data model were dropped{where}: "
                + ", ".join(extra[:15])
                + ("…" if len(extra) > 15 else ""),
                0,
                fix="ignore if they are not needed; otherwise rename them to data-model columns "
                "in the mapping (columns: {amtools_name: source_name})",
                severity="warning",
                args={
                    "n": len(extra),
                    "columns": ", ".join(extra[:15]) + ("…" if len(extra) > 15 else ""),
                    "origin": origin,
                },
            )
        )
    frame = frame.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for column in spec.columns:
        if column.name not in frame.columns:
            continue
        raw = frame[column.name]
        if isinstance(raw, pd.DataFrame):  # duplicated header
            raw = raw.iloc[:, 0]
        values, bad, note, outside = _coerce_column(
            column, raw, formats.get(column.name), decimal, decimal_hint
        )
        out[column.name] = values.astype(cast(Any, PANDAS_DTYPES[column.kind]))
        if outside.any():
            problems.append(_out_of_bounds(table, column, frame, raw, outside, where))
        if bad.any():
            problems.append(
                _unparseable(table, column, frame, raw, bad, where, formats.get(column.name))
            )
        if note:
            problems.append(
                Problem(
                    table,
                    column.name,
                    "ambiguous_date",
                    note,
                    int(raw.notna().sum()),
                    fix="give the date format in the mapping",
                    severity="warning",
                    args={"origin": origin},
                )
            )
    result = pd.DataFrame(out, index=frame.index)
    return result, problems


_NON_FINITE = {"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "∞", "-∞"}


def _coerce_column(
    column: Column,
    raw: pd.Series,
    fmt: str | None,
    decimal: str | None,
    hint: str | None,
) -> tuple[pd.Series, pd.Series, str | None, pd.Series]:
    """Coerce one column: (values, unparseable mask, note, out-of-bounds mask).

    Out of bounds: dates outside the window, non-finite numbers and numbers with
    ``|x| >= column.limit``; their values are NaN/NaT, never loaded.
    """
    kind = column.kind
    none = pd.Series(False, index=raw.index)
    if kind in ("id", "text", "category"):
        text = _to_text(raw)
        if column.allowed:
            # "Won", "WON" -> "won", "b2b" -> "B2B": only the case differs, nothing is guessed.
            canonical = {v.lower(): v for v in column.allowed}
            text = text.str.lower().map(canonical).astype("string").fillna(text)
        return text, none, None, none
    if kind in ("float", "int"):
        values, bad = parse_numbers(raw, decimal=decimal, hint=hint)
        if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
            tokens = none
        else:
            key = raw.astype(object).map(
                lambda v: str(v).strip().lower() if isinstance(v, str) else None
            )
            tokens = key.isin(_NON_FINITE).fillna(False).astype(bool)
        limit = column.limit or np.inf
        huge = values.notna() & ~(values.abs() < limit)
        out = (tokens | huge).astype(bool)
        values = values.mask(out)
        bad = bad & ~out
        if kind == "int":
            fractional = values.notna() & (values != np.floor(values))
            return values.where(~fractional).astype("Int64"), bad | fractional, None, out
        return values, bad, None, out
    if kind == "bool":
        values, bad = _parse_bools(raw)
        return values, bad, None, none
    values, bad, outside, note = _parse_dates_full(raw, fmt=fmt, kind=kind)
    return values, bad, note, outside


def _out_of_bounds(
    table: str, column: Column, frame: pd.DataFrame, raw: pd.Series, out: pd.Series, where: str
) -> Problem:
    """The error for values outside the schema's bounds (see :func:`_coerce_column`)."""
    n = int(out.sum())
    shown = [str(v)[:40] for v in raw[out].astype(str).unique()[:3]]
    samples = ", ".join(repr(v) for v in shown)
    examples = example_ids(frame, out, table)
    if column.kind in ("date", "datetime"):
        lo, hi = DATE_WINDOW
        return Problem(
            table,
            column.name,
            "date_out_of_range",
            f"{n} date(s) outside {lo}..{hi}{where}: {samples}; they were not loaded",
            n,
            examples,
            f"correct the year (a typo, or a placeholder such as 9999-12-31 or 0001-01-01); "
            f"leave {column.name} empty when the date is unknown",
            args={"values": samples, "low": lo, "high": hi},
        )
    limit = f"{column.limit:g}"
    return Problem(
        table,
        column.name,
        "number_out_of_bounds",
        f"{n} value(s) are infinite, 'nan' or not below the bound |x| < {limit}{where}: "
        f"{samples}; they were not loaded",
        n,
        examples,
        f"write a real number below {limit} in absolute value, or leave the cell empty "
        "when it is unknown",
        args={"values": samples, "limit": limit},
    )


def _unparseable(
    table: str,
    column: Column,
    frame: pd.DataFrame,
    raw: pd.Series,
    bad: pd.Series,
    where: str,
    fmt: str | None,
) -> Problem:
    samples = ", ".join(repr(str(v)) for v in raw[bad].astype(str).unique()[:3])
    if column.kind in ("date", "datetime"):
        check, what = "unparseable_date", "dates"
        fix = (
            f"correct the values, or give the layout in the mapping "
            f"(dates: {{{column.name}: DD.MM.YYYY}})"
            if not fmt
            else f"correct the values or the format {fmt!r} given in the mapping"
        )
    elif column.kind == "bool":
        check, what = "unparseable_bool", "yes/no values"
        fix = "use true/false, yes/no, 1/0 or да/нет, or map the values in the mapping (values:)"
    else:
        check, what = "unparseable_number", "numbers"
        fix = "correct the values, or set decimal=',' / '.' when the decimal mark was misread"
        if column.kind == "int":
            what = "whole numbers"
    return Problem(
        table,
        column.name,
        check,
        f"{int(bad.sum())} value(s) are not valid {what}{where}: {samples}",
        int(bad.sum()),
        example_ids(frame, bad, table),
        fix,
        args={
            "n": int(bad.sum()),
            "values": samples,
            "origin": where.strip(" ()"),
            "format": fmt or "",
            "kind": column.kind,
        },
    )


# --------------------------------------------------------------------------------------
# Reading raw sources
# --------------------------------------------------------------------------------------
@dataclass
class RawSource:
    """A data source opened for reading: its raw table names and how to read each one.

    Attributes
    ----------
    description : human-readable description (becomes ``Dataset.source``).
    names : raw table name -> opaque locator (file path, sheet, SQL table).
    reader : callable reading one raw table by name (returns a DataFrame, all as found).
    decimal_hint : per raw table, the decimal mark suggested by the file (``","`` for ``;`` CSVs).
    meta : metadata stored in the source itself (DuckDB files written by ``save_duckdb``).
    closer : releases the connection (DuckDB) when loading is done.
    ignored : files of a folder that were not read (other formats, a second file of a table).
    """

    description: str
    names: dict[str, Any]
    reader: Callable[[str], pd.DataFrame]
    decimal_hint: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    closer: Callable[[], None] | None = None
    ignored: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Problems found while reading (rows with a wrong field count), collected by load()."""

    def read(self, name: str) -> pd.DataFrame:
        return self.reader(name)

    def close(self) -> None:
        """Release the connection or file handle, if any (load() calls it when done)."""
        if self.closer is not None:
            self.closer()
            self.closer = None


def _quick_encoding(raw: bytes) -> str | None:
    """BOM or valid UTF-8; ``None`` when a legacy single-byte encoding must be guessed."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample cut inside a multi-byte character is still UTF-8.
        if exc.start < len(raw) - 3 or exc.reason != "unexpected end of data":
            return None
    return "utf-8"


def _looks_cp1251(raw: bytes) -> bool:
    """Russian text saved by Excel/1C: cp1251 decodes it to mostly lower-case Cyrillic."""
    try:
        text = raw.decode("cp1251")
    except UnicodeDecodeError:
        return False
    letters = [ch for ch in text if "\u0400" <= ch <= "\u04ff"]
    typographic = set("\u00a0«»№–—“”„‘’…°±")
    other = [
        ch
        for ch in text
        if ord(ch) > 127 and ch not in typographic and not ("\u0400" <= ch <= "\u04ff")
    ]
    if len(letters) < 2 or len(other) > 0.1 * len(letters):
        return False
    # KOI8-R read as cp1251 also gives Cyrillic, but mostly capitals: with enough text,
    # real Russian is mostly lower case (short id-like files may be all capitals).
    return len(letters) < 200 or sum(ch.islower() for ch in letters) > 0.5 * len(letters)


def _guess_encoding(raw: bytes, what: str) -> str:
    """Guess a legacy encoding (cp1251 first, as Russian exports use it, then charset-normalizer)."""
    if _looks_cp1251(raw):
        return "cp1251"
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:400_000]).best()
    if best is None:
        raise SourceError(
            f"cannot detect the text encoding of {what}; pass encoding= (e.g. 'cp1251' or 'utf-8')"
        )
    return str(best.encoding)


def _sniff_sep(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    if not lines:
        return ","
    best, best_fields, best_consistent = ",", 1, False
    for sep in CSV_SEPARATORS:
        counts = [len(row) for row in csv.reader(lines, delimiter=sep)]
        fields = counts[0]
        consistent = all(c == fields for c in counts)
        if fields < 2:
            continue
        if (consistent, fields) > (best_consistent, best_fields):
            best, best_fields, best_consistent = sep, fields, consistent
    return best


_SEP_LINE = re.compile(r"^\s*\"?sep=(.)\"?\s*$", re.IGNORECASE)
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def _decompress(path: Path, raw: bytes) -> bytes:
    """Gunzip ``raw``; a truncated or corrupt archive is a :class:`SourceError` naming the file."""
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        what = "truncated" if isinstance(exc, EOFError) else "not a valid gzip archive"
        raise SourceError(
            f"{path} cannot be decompressed: the file is {what} ({exc}). Fix: export or "
            "download it again (check it with `gzip -t`), or load the uncompressed .csv"
        ) from None


def _looks_binary(raw: bytes) -> bool:
    """Random bytes, an image or a zip saved as .csv: NULs or many control bytes."""
    head = raw[:65536]
    if not head:
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    return control > 0.01 * len(head)


def _encoding_trouble(raw: bytes) -> str | None:
    """Why a file that is not clean UTF-8 cannot be read as text in one encoding, if so."""
    if _looks_binary(raw):
        return (
            "is not a text (CSV) file: it holds binary data (control or NUL bytes). Fix: "
            "export the table again as CSV, or remove the file from the folder"
        )
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    if valid >= 3 and valid >= 0.5 * bad:
        line = text[: text.index("\ufffd")].count("\n") + 1
        return (
            f"mixes encodings: it is mostly UTF-8, but line {line} is not (text in another "
            "encoding, e.g. cp1251, pasted in). Fix: save the whole file as UTF-8 again"
        )
    return None


def _field_counts(text: str, delimiter: str) -> tuple[list[str], list[tuple[int, int, bool]]]:
    """The header fields and (line number, field count, only-empty extra fields) of every
    non-blank record after it."""
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    reader = csv.reader(_io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    counts: list[tuple[int, int, bool]] = []
    try:
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line (pandas skips it too)
            if header is None:
                header = record
                continue
            n = len(header)
            # extra fields past the header that are all empty: trailing delimiters
            blank_tail = len(record) > n and not any(c.strip() for c in record[n:])
            counts.append((reader.line_num, len(record), blank_tail))
    except csv.Error as exc:
        raise SourceError(
            f"cannot parse line {reader.line_num} as CSV ({exc}); fix the quoting there"
        ) from None
    return header or [], counts


def _lines(numbers: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def _check_header(path: Path, header: list[str]) -> None:
    """Duplicate column names are an error naming both (pandas would rename one ``x.1``)."""
    seen: dict[str, int] = {}
    for pos, name in enumerate(header, 1):
        key = name.strip()
        if key == "":
            continue
        if key in seen:
            raise SourceError(
                f"{path}: columns {seen[key]} and {pos} are both named {key!r}; the loader "
                "cannot tell which one holds the data. Fix: rename or delete one of them"
            )
        seen[key] = pos


def _other_delimiter(text: str, delimiter: str) -> str | None:
    """Another common delimiter that splits the header into several fields, if any."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    best, fields = None, 1
    for other in CSV_SEPARATORS:
        if other == delimiter:
            continue
        n = len(next(csv.reader([first], delimiter=other), []))
        if n > fields:
            best, fields = other, n
    return best


def _read_csv(
    path: Path,
    encoding: str | None,
    sep: str | None,
    legacy: Callable[[], str] | None = None,
    skip_rows: int = 0,
) -> tuple[pd.DataFrame, str, list[Problem]]:
    """Read one CSV file as text columns.

    Returns the frame (short or long rows removed), the delimiter, and a ``field_count``
    problem listing the line numbers of the removed rows. Raises :class:`SourceError` for an
    empty, binary, undecodable or unparseable file, a header whose field count matches
    no row, duplicate column names, and a delimiter that splits the header into one field
    while another one would split it.
    """
    if path.is_dir():
        raise SourceError(
            f"{path} is a directory, not a file; put the exported CSV file at that path "
            "(or rename the folder)"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not raw:
        raise SourceError(
            f"{path} is empty (0 bytes); export the table again, or delete the file "
            "if the table is not needed"
        )
    if path.name.lower().endswith(".gz"):
        raw = _decompress(path, raw)
        if not raw:
            raise SourceError(f"{path} is empty once decompressed; export the table again")
    quick = encoding or _quick_encoding(raw)
    if quick is None and legacy is None:
        trouble = _encoding_trouble(raw)
        if trouble:
            raise SourceError(f"{path} {trouble}")
    enc = quick or (legacy() if legacy else _guess_encoding(raw, str(path)))
    try:
        text = raw.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(
            f"{path} cannot be decoded as {enc!r} ({exc}); pass the right encoding= "
            "(e.g. 'cp1251' for Russian Excel exports, 'utf-8-sig' for UTF-8 with BOM)"
        ) from None
    text = text.lstrip("\ufeff")
    if skip_rows:  # title lines above the header (report-style exports)
        text = "\n".join(text.splitlines()[skip_rows:])
    first, _, rest = text.partition("\n")
    hinted = _SEP_LINE.match(first.rstrip("\r"))
    if hinted:  # Excel's "sep=," line: a delimiter hint, not the header
        text = rest
        sep = sep or hinted.group(1)
    if not text.strip():
        raise SourceError(f"{path} has no header line (the file holds only blank lines)")
    delimiter = sep or ("\t" if ".tsv" in path.suffixes else _sniff_sep(text))
    try:
        header, counts = _field_counts(text, delimiter)
    except SourceError as exc:
        raise SourceError(f"{path}: {exc}") from None
    if len(header) == 1:
        other = _other_delimiter(text, delimiter)
        if other is not None:
            name = _DELIMITER_NAMES.get(other, repr(other))
            raise SourceError(
                f"{path}: the header splits into one field with delimiter {delimiter!r}, "
                f"but looks like {name}-separated; pass sep={other!r} or "
                f"read: {{sep: {other!r}}} in the mapping"
            )
    _check_header(path, header)
    n = len(header)
    # Trailing delimiters are tolerated: empty header names at the end without data, or
    # empty fields past the header's end.
    n_named = n
    while n_named > 1 and not header[n_named - 1].strip():
        n_named -= 1
    fits = [k == n or blank_tail or n_named <= k < n for _, k, blank_tail in counts]
    off = [(line, k) for (line, k, _), ok in zip(counts, fits, strict=True) if not ok]
    ragged = any(ok and k != n for (_, k, _), ok in zip(counts, fits, strict=True))
    if off and len(off) > len(counts) / 2:
        common = max({k for _, k in off}, key=lambda k: sum(1 for _, c in off if c == k))
        raise SourceError(
            f"{path}: the header has {n} column name(s) but {len(off)} of {len(counts)} rows "
            f"have {common} field(s) (lines {_lines([ln for ln, _ in off])}). Fix: "
            + (
                "a header name is missing — add it"
                if common > n
                else "the header has names without data — check the delimiter and quoting"
            )
        )
    if off or ragged:
        # Rare path: keep the rows whose field count fits the header, by csv's own parse
        # (padded or cut to the header when only trailing delimiters differ).
        records = [
            r
            for r in csv.reader(_io.StringIO(text), delimiter=delimiter)
            if r and not (len(r) == 1 and not r[0].strip())
        ]
        rows = [
            (r + [""] * (n - len(r)))[:n] for r, ok in zip(records[1:], fits, strict=True) if ok
        ]
        df = pd.DataFrame(rows, columns=header, dtype=object).astype("string[pyarrow]")
    else:
        try:
            df = pd.read_csv(
                _io.StringIO(text),
                sep=delimiter,
                dtype="string[pyarrow]",  # vectorised text parsing later, on pandas 2 and 3
                keep_default_na=False,
                na_filter=False,
                index_col=False,  # never turn the first field into the index
            )
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            raise SourceError(
                f"cannot parse {path} as CSV with delimiter {delimiter!r}: {exc}; "
                "pass sep= explicitly or fix the quoting"
            ) from None
    problems: list[Problem] = []
    if off:
        problems.append(
            Problem(
                _stem(path),
                None,
                "field_count",
                f"{len(off)} row(s) of {path.name} have a different number of fields than its "
                f"{n}-column header and were not loaded",
                len(off),
                tuple(f"line {ln}" for ln, _ in off[:5]),
                "fix those lines in the source (a cut-off row, an unquoted delimiter inside a "
                "value, or an extra delimiter) and load again",
                args={
                    "n": len(off),
                    "file": path.name,
                    "columns": n,
                    "lines": _lines([ln for ln, _ in off]),
                },
            )
        )
    return _drop_blank(df), delimiter, problems


def _drop_blank(df: pd.DataFrame) -> pd.DataFrame:
    """Drop what carries no data: rows with every cell empty (";;;;" lines, blank sheet rows)
    and unnamed columns with every cell empty (a trailing delimiter)."""
    df = df.rename(columns=lambda c: str(c).strip())
    if df.empty:  # a header-only table: no rows to drop, and no all-empty columns to tell
        return df
    if all(isinstance(t, pd.StringDtype) for t in df.dtypes):
        cells = df.apply(lambda col: col.isna() | col.str.strip().eq("")).fillna(True)
    else:
        cells = df.astype(object).map(lambda v: v is None or v != v or str(v).strip() == "")
    unnamed = [c for c in df.columns if c == "" or re.fullmatch(r"Unnamed: \d+", c)]
    empty_columns = [c for c in unnamed if cells[c].all()]
    keep_rows = ~cells.all(axis=1) if len(df.columns) else pd.Series(True, index=df.index)
    return df.loc[keep_rows.to_numpy(), [c for c in df.columns if c not in empty_columns]]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES, *EXCEL_SUFFIXES):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _file_source(
    files: list[Path],
    description: str,
    encoding: str | None,
    sep: str | None,
    skip_rows: int = 0,
) -> RawSource:
    names = {_stem(f): f for f in files}
    hints: dict[str, str] = {}
    guessed: list[str] = []

    def legacy() -> str:
        # Files of one export share an encoding: guess it once from all non-UTF-8 files,
        # since a short file alone ("К1;М1") is too little text to tell. Files that cannot
        # be text in one encoding are named, each with its problem.
        if not guessed:
            heads: dict[str, bytes] = {}
            troubles: list[str] = []
            for f in files:
                if not f.name.lower().endswith(CSV_SUFFIXES) or not f.is_file():
                    continue
                head = f.read_bytes()[:200_000]
                if f.name.lower().endswith(".gz"):
                    try:
                        head = gzip.GzipFile(fileobj=_io.BytesIO(head)).read(200_000)
                    except (EOFError, OSError, zlib.error):
                        continue  # reported when that file itself is read
                if head and _quick_encoding(head) is None:
                    trouble = _encoding_trouble(head)
                    if trouble:
                        troubles.append(f"{f.name} {trouble.split('. Fix:')[0]}")
                    else:
                        heads[f.name] = head
            if troubles:
                raise SourceError(
                    f"cannot read the CSV files of {description} as text: "
                    + "; ".join(troubles)
                    + ". Fix: export those tables again as UTF-8 CSV, or remove them"
                )
            try:
                guessed.append(_guess_encoding(b"\n".join(heads.values()), "x"))
            except SourceError:
                failing = []
                for fname, head in heads.items():
                    try:
                        _guess_encoding(head, fname)
                    except SourceError:
                        failing.append(fname)
                raise SourceError(
                    f"cannot detect the text encoding of {', '.join(failing or list(heads))} "
                    f"in {description}; pass encoding= (e.g. 'cp1251' or 'utf-8') or save "
                    "every file as UTF-8"
                ) from None
        return guessed[0]

    def reader(name: str) -> pd.DataFrame:
        path = names[name]
        if path.name.lower().endswith(PARQUET_SUFFIXES):
            try:
                return pd.read_parquet(path)
            except Exception as exc:  # pyarrow raises many types
                raise SourceError(f"cannot read Parquet file {path}: {exc}") from None
        df, delimiter, found = _read_csv(path, encoding, sep, legacy, skip_rows)
        if delimiter == ";":
            hints[name] = ","
        source.problems.extend(found)
        return df

    source = RawSource(description, names, reader, hints)
    return source


def _excel_source(path: Path, skip_rows: int = 0) -> RawSource:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:
        raise SourceError(f"cannot open Excel workbook {path}: {exc}") from None
    names = {str(s): s for s in book.sheet_names}

    def reader(name: str) -> pd.DataFrame:
        head = pd.read_excel(
            book, sheet_name=names[name], dtype=object, skiprows=skip_rows, header=None, nrows=1
        )
        if len(head):  # pandas would rename a second "amount" to "amount.1": refuse instead
            _check_header(
                Path(f"{path} [sheet {name}]"),
                ["" if v is None or v != v else str(v) for v in head.iloc[0].tolist()],
            )
        sheet = pd.read_excel(book, sheet_name=names[name], dtype=object, skiprows=skip_rows)
        return _drop_blank(sheet)

    return RawSource(f"Excel workbook {path} ({len(names)} sheets)", names, reader)


def _duckdb_source(path: Path) -> RawSource:
    import duckdb

    # One read-only connection, closed by load() when done: DuckDB caches open databases
    # per path within a process, and a lingering connection would keep serving a file
    # that has been replaced since.
    try:
        con = duckdb.connect(str(path), read_only=True)
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        stored = []
        if any(r[0] == META_TABLE for r in rows):
            stored = con.execute(f'SELECT key, value FROM "{META_TABLE}"').fetchall()
    except duckdb.Error as exc:
        raise SourceError(f"cannot open DuckDB file {path}: {exc}") from None
    names = {r[0]: r[0] for r in rows if r[0] != META_TABLE}
    meta = {key: _meta_decode(json.loads(value)) for key, value in stored}

    def reader(name: str) -> pd.DataFrame:
        return con.execute(f'SELECT * FROM "{names[name]}"').df()

    return RawSource(f"DuckDB database {path}", names, reader, meta=meta, closer=con.close)


def _sql_source(url: str) -> RawSource:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        names = {n: n for n in sa.inspect(engine).get_table_names()}
    except Exception as exc:
        raise SourceError(f"cannot open SQL database {_safe_url(url)}: {exc}") from None

    def reader(name: str) -> pd.DataFrame:
        with engine.connect() as conn:
            return pd.read_sql_table(names[name], conn)

    return RawSource(f"SQL database {_safe_url(url)}", names, reader)


def _safe_url(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _memory_source(tables: Mapping[str, pd.DataFrame], description: str) -> RawSource:
    names = {str(k): k for k in tables}
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame):
            raise SourceError(f"in-memory table {name!r} is a {type(df).__name__}, not a DataFrame")
    return RawSource(description, names, lambda name: tables[names[name]])


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(16)
    except OSError:
        return b""


def read_source(
    source: Any,
    *,
    encoding: str | None = None,
    sep: str | None = None,
    skip_rows: int = 0,
) -> RawSource:
    """Open ``source`` and list its raw tables without reading them yet.

    Parameters
    ----------
    source : a folder of CSV/Parquet files, a CSV/Parquet/Excel/DuckDB/SQLite file,
        a SQLAlchemy URL, a :class:`Dataset` or a dict of DataFrames.
    encoding, sep : CSV reading options (``None`` = detect).
    skip_rows : lines (CSV) or rows (Excel) above the header row, e.g. a report title.

    Example
    -------
    >>> src = read_source({"deals": pd.DataFrame({"deal_id": ["d1"]})})
    >>> list(src.names)
    ['deals']
    """
    if isinstance(source, Dataset):
        return _memory_source(source.tables, source.source or "in-memory Dataset")
    if isinstance(source, Mapping):
        return _memory_source(source, f"in-memory tables ({', '.join(map(str, source))})")
    if isinstance(source, str) and "://" in source and not Path(source).exists():
        return _sql_source(source)
    if not isinstance(source, str | os.PathLike):
        raise SourceError(
            f"cannot load a {type(source).__name__}; pass a folder, a file, a SQLAlchemy URL, "
            "a Dataset or a dict of DataFrames"
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(f"data source {path} does not exist; check the path")
    if path.is_dir():
        folders = sorted(
            f.name
            for f in path.iterdir()
            if f.is_dir()
            and f.name.lower().endswith((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
            and not f.name.lower().endswith(PARQUET_SUFFIXES)  # a Parquet dataset folder
        )
        if folders:
            raise SourceError(
                f"{', '.join(folders)} in {path} is a directory, not a file; put the exported "
                "table file there instead (or rename the directory)"
            )
        files = sorted(
            f
            for f in path.iterdir()
            if f.is_file() and f.name.lower().endswith((*CSV_SUFFIXES, *PARQUET_SUFFIXES))
        )
        if not files:
            raise SourceError(
                f"folder {path} holds no .csv, .tsv or .parquet files; "
                "export one file per table (deals.csv, managers.csv, …)"
            )
        kinds = sorted({"Parquet" if f.suffix in PARQUET_SUFFIXES else "CSV" for f in files})
        # Two files for one table (deals.csv and deals.parquet): the first in name order wins.
        seen: set[str] = set()
        unique: list[str] = []
        ignored: list[str] = []
        for f in files:
            (ignored if _stem(f) in seen else unique).append(f.name)
            seen.add(_stem(f))
        ignored += sorted(
            f.name
            for f in path.iterdir()
            if f.is_file() and not f.name.startswith(".") and f not in files
        )
        source_ = _file_source(
            [f for f in files if f.name in unique],
            f"{'/'.join(kinds)} folder {path} ({len(unique)} files)",
            encoding,
            sep,
            skip_rows,
        )
        source_.ignored = ignored
        return source_
    name = path.name.lower()
    magic = _magic(path)
    if name.endswith(EXCEL_SUFFIXES):
        return _excel_source(path, skip_rows)
    if name.endswith(PARQUET_SUFFIXES):
        return _file_source([path], f"Parquet file {path}", encoding, sep)
    if name.endswith(CSV_SUFFIXES):
        return _file_source([path], f"CSV file {path}", encoding, sep, skip_rows)
    if magic[8:12] == b"DUCK":
        return _duckdb_source(path)
    if magic.startswith(b"SQLite format 3"):
        source_ = _sql_source(f"sqlite:///{path.resolve()}")
        source_.description = f"SQLite database {path}"
        return source_
    if name.endswith(".xls"):
        raise SourceError(f"{path} is an old .xls workbook; save it as .xlsx and load that")
    raise SourceError(
        f"unknown data source format: {path}; use a folder of CSVs, .xlsx, .parquet, "
        ".duckdb, a SQLite file or a SQLAlchemy URL"
    )


# --------------------------------------------------------------------------------------
# load()
# --------------------------------------------------------------------------------------
def load(
    source: Any,
    mapping: Any = None,
    *,
    validate: bool = True,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
) -> Dataset:
    """Load a CRM export into a typed :class:`Dataset`, optionally through a column mapping.

    Parameters
    ----------
    source : a folder of CSV files (one per table; file stem = table name), a single CSV,
        an ``.xlsx`` workbook (one sheet per table), a Parquet file or folder, a DuckDB file,
        a SQLite file, any SQLAlchemy URL, a :class:`Dataset` or a dict of DataFrames.
    mapping : ``None`` (source already uses data-model names), a preset name
        (``"maven_crm"``, ``"superstore"``), a path to a mapping YAML, or a dict
        (see ``docs/loading.md``).
    validate : run :func:`amtools.validate.checks.validate` and raise on errors.
    encoding : CSV encoding; ``None`` detects it (UTF-8, UTF-8 with BOM, cp1251, …).
    sep : CSV delimiter; ``None`` detects ``,`` ``;`` tab or ``|``.
    decimal : decimal mark of numbers; ``None`` infers it per column.

    Returns
    -------
    Dataset
        Tables coerced to the data-model dtypes. ``ds.source`` describes the source;
        ``ds.meta["problems"]`` lists the warnings (with ``validate=False``: every problem
        found while loading, errors included, but not the validation checks).

    Raises
    ------
    SourceError
        The source cannot be opened or read.
    MappingError
        The mapping is malformed or names columns the source lacks.
    DataValidationError
        ``validate=True`` and the data has errors (``exc.problems`` lists them all).

    Example
    -------
    >>> deals = pd.DataFrame({"deal_id": ["d1"], "client_id": ["c1"], "manager_id": ["m1"],
    ...                       "stage": ["won"], "amount": ["1 200,50"], "closed_date": ["01.02.2026"]})
    >>> ds = load({"deals": deals}, validate=False)
    >>> float(ds.deals.amount[0]), str(ds.deals.closed_date[0].date())
    (1200.5, '2026-02-01')
    """
    spec = None
    if mapping is not None:
        from amtools.loading.mapping import resolve_mapping

        spec = resolve_mapping(mapping)
    read_opts = spec.read if spec is not None else {}
    encoding = encoding or read_opts.get("encoding")
    sep = sep or read_opts.get("sep")
    decimal = decimal or read_opts.get("decimal")
    skip_rows = int(read_opts.get("skip_rows", 0))
    raw = read_source(source, encoding=encoding, sep=sep, skip_rows=skip_rows)
    if spec is None:
        found = _default_mapping(source, raw)
        if found is not None:
            # a folder's own mapping.yaml, or the one preset whose files are all there:
            # a user's first `amtools run --source folder` loads without --mapping
            from amtools.loading.mapping import resolve_mapping

            raw.close()
            spec = resolve_mapping(found)
            read_opts = spec.read if spec is not None else {}
            raw = read_source(
                source,
                encoding=encoding or read_opts.get("encoding"),
                sep=sep or read_opts.get("sep"),
                skip_rows=int(read_opts.get("skip_rows", 0)),
            )
            decimal = decimal or read_opts.get("decimal")
    try:
        tables, problems = _read_tables(raw, spec, decimal)
    finally:
        raw.close()
    problems = raw.problems + problems
    if raw.ignored:
        problems.append(
            Problem(
                "(source)",
                None,
                "ignored_files",
                f"{len(raw.ignored)} file(s) in the folder were not read: "
                + ", ".join(raw.ignored[:10]),
                0,
                fix="tables are read from .csv/.tsv/.csv.gz/.parquet files, one per table; "
                "load a workbook by its own path",
                severity="warning",
                args={"n": len(raw.ignored), "files": ", ".join(raw.ignored[:10])},
            )
        )
    tables = _fill_defaults(tables)
    meta: dict[str, Any] = {"currency": DEFAULT_CURRENCY}
    if isinstance(source, Dataset):
        meta.update(source.meta)
    meta.update(raw.meta)
    if spec is not None:
        meta["mapping"] = spec.name
        if spec.targets:
            meta["targets_file"] = spec.targets
        if spec.currency:
            meta["currency"] = spec.currency
    meta["load_problems"] = list(problems)
    meta["problems"] = list(problems)
    description = raw.description + (f", mapping {spec.name}" if spec is not None else "")
    ds = Dataset(tables, source=description, meta=meta)
    if validate:
        from amtools.validate.checks import validate as run_checks

        everything = problems + run_checks(ds)
        if any(p.severity == "error" for p in everything):
            raise DataValidationError(everything)
        ds.meta["problems"] = everything
    return ds


def _read_tables(
    raw: RawSource, spec: Any, decimal: str | None
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read, map and coerce every table of ``raw`` (see :func:`load`)."""
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    if spec is not None:
        from amtools.loading.mapping import apply_mapping

        mapped = apply_mapping(spec, raw, decimal=decimal)
        problems += mapped.problems
        for name, frame in mapped.tables.items():
            coerced, found = coerce_table(
                name,
                frame,
                formats=mapped.formats.get(name),
                decimal=decimal,
                decimal_hint=mapped.decimal_hints.get(name),
                origin=mapped.origins.get(name, ""),
            )
            tables[name] = coerced
            problems += found
    else:
        matched: dict[str, str] = {}
        for raw_name in raw.names:
            target = raw_name if raw_name in TABLES else _norm(raw_name)
            if target in TABLES and target not in matched:
                matched[target] = raw_name
        unmatched = [n for n in raw.names if n not in matched.values()]
        if unmatched:
            problem = _unmatched_problem(unmatched, raw.description)
            preset = _matching_preset(raw)
            if preset:
                problem = dataclasses.replace(
                    problem,
                    args={**problem.args, "preset": preset},
                    fix=f"this looks like the {preset!r} export: load it with "
                    f"mapping={preset!r} (amtools validate SOURCE --mapping {preset})",
                )
            problems.append(problem)
        for name, raw_name in matched.items():
            frame = raw.read(raw_name)
            coerced, found = coerce_table(
                name,
                frame,
                decimal=decimal,
                decimal_hint=raw.decimal_hint.get(raw_name),
                origin=raw_name if raw_name != name else "",
            )
            tables[name] = coerced
            problems += found
    return tables, problems


FOLDER_MAPPING = "mapping.yaml"
"""A mapping kept inside an export folder; used when ``load`` is given no mapping."""


def _default_mapping(source: Any, raw: RawSource) -> str | None:
    """The mapping to use when none is given: ``<folder>/mapping.yaml``, else the preset
    whose source tables are all in ``raw`` — only when the required data-model tables are
    not there under their own names (a source in data-model names loads as it is).

    Example
    -------
    >>> _default_mapping("tests/fixtures/maven_crm", read_source("tests/fixtures/maven_crm"))
    'maven_crm'
    """
    names = {_norm(n) for n in raw.names}
    if all(t in names for t in REQUIRED_TABLES):
        return None
    if isinstance(source, str | os.PathLike) and Path(source).is_dir():
        own = Path(source) / FOLDER_MAPPING
        if own.is_file():
            return str(own)
    return _matching_preset(raw)


def _matching_preset(raw: RawSource) -> str | None:
    """The preset mapping whose source tables are all in ``raw``, if any (a hint only)."""
    from amtools.loading.mapping import presets, resolve_mapping

    names = {_norm(n) for n in raw.names}
    for name in presets():
        try:
            spec = resolve_mapping(name)
        except Exception:  # a broken preset must not break loading
            continue
        if spec is not None and all(_norm(t.source) in names for t in spec.tables.values()):
            return name
    return None


def _unmatched_problem(unmatched: list[str], description: str) -> Problem:
    return Problem(
        "(source)",
        None,
        "unmatched_table",
        f"{len(unmatched)} table(s)/file(s) in {description} match no data-model table and were "
        f"ignored: {', '.join(unmatched)}",
        0,
        (),
        "rename them to data-model table names (deals, managers, clients, …) or map them "
        "with a mapping (tables: {deals: {from: <name>}})",
        severity="warning",
        args={"n": len(unmatched), "tables": ", ".join(unmatched), "source": description},
    )


def _fill_defaults(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Fill documented defaults: a client's segment defaults to its manager's segment."""
    clients, managers = tables.get("clients"), tables.get("managers")
    if clients is None or managers is None or "segment" not in managers:
        return tables
    if "manager_id" not in clients or "manager_id" not in managers:
        return tables
    lookup = managers.drop_duplicates("manager_id").set_index("manager_id")["segment"]
    from_manager = clients["manager_id"].map(lookup).astype("string")
    if "segment" in clients:
        if not clients["segment"].isna().any():
            return tables
        segment = clients["segment"].fillna(from_manager)
    else:
        segment = from_manager
    out = dict(tables)
    out["clients"] = clients.assign(segment=segment)
    ordered = [c for c in TABLES["clients"].column_names if c in out["clients"]]
    out["clients"] = out["clients"][ordered]
    return out


# --------------------------------------------------------------------------------------
# Saving and exporting
# --------------------------------------------------------------------------------------
def _meta_encode(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return {"__timestamp__": pd.Timestamp(value).isoformat()}
    if isinstance(value, Mapping):
        return {str(k): _meta_encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_meta_encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _meta_decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__timestamp__"}:
            return pd.Timestamp(value["__timestamp__"])
        return {k: _meta_decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_meta_decode(v) for v in value]
    return value


def _storable_meta(meta: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in meta.items():
        if key in ("problems", "load_problems"):
            continue
        try:
            out[key] = json.dumps(_meta_encode(value), ensure_ascii=False)
        except (TypeError, ValueError):
            continue  # not JSON-able: not worth persisting
    return out


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def save_duckdb(ds: Dataset, path: str | os.PathLike[str]) -> Path:
    """Save every table of ``ds`` into a DuckDB file (replaced atomically), with its metadata.

    Example
    -------
    >>> import tempfile
    >>> ds = Dataset({"managers": pd.DataFrame({"manager_id": ["m1"], "name": ["Ann"], "segment": ["B2B"]})})
    >>> path = save_duckdb(ds, Path(tempfile.mkdtemp()) / "crm.duckdb")
    >>> load(path, validate=False).managers.manager_id.tolist()
    ['m1']
    """
    import duckdb

    target = Path(path)
    tmp = _atomic_target(target)
    try:
        con = duckdb.connect(str(tmp))
        try:
            for name, df in ds.tables.items():
                con.register("_frame", df)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
                con.unregister("_frame")
            meta = _storable_meta({"source": ds.source, **ds.meta})
            con.execute(f'CREATE TABLE "{META_TABLE}" (key VARCHAR, value VARCHAR)')
            if meta:
                con.executemany(f'INSERT INTO "{META_TABLE}" VALUES (?, ?)', list(meta.items()))
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
        wal = Path(str(tmp) + ".wal")
        if wal.exists():
            wal.unlink()
    return target


def export_csv(ds: Dataset, folder: str | os.PathLike[str]) -> Path:
    """Write one UTF-8 CSV per table (``<table>.csv``, ISO dates, ``.`` decimals) into ``folder``.

    Text cells a spreadsheet would evaluate (starting with ``=``, ``+``, ``-``, ``@``, tab
    or CR) are written with a leading ``'`` (:func:`amtools.core.textsafe.inert_frame`).

    Example
    -------
    >>> import tempfile
    >>> ds = Dataset({"managers": pd.DataFrame({"manager_id": ["m1"], "name": ["Ann"], "segment": ["B2B"]})})
    >>> sorted(p.name for p in export_csv(ds, tempfile.mkdtemp()).iterdir())
    ['managers.csv']
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in ds.tables.items():
        target = out / f"{name}.csv"
        tmp = _atomic_target(target)
        # Text cells like "=1+1" are written as text, never as live formulas (OWASP rule).
        inert_frame(df).to_csv(tmp, index=False, encoding="utf-8", date_format="%Y-%m-%d %H:%M:%S")
        os.replace(tmp, target)
    return out


def export_excel(ds: Dataset, path: str | os.PathLike[str]) -> Path:
    """Write an ``.xlsx`` workbook with one sheet per table, header row frozen and bold.

    Text cells are made inert first (:func:`amtools.core.textsafe.inert_frame`): a team named
    ``=1+1`` is the text ``'=1+1``, never a formula.

    Example
    -------
    >>> import tempfile
    >>> ds = Dataset({"managers": pd.DataFrame({"manager_id": ["m1"], "name": ["Ann"], "segment": ["B2B"]})})
    >>> export_excel(ds, Path(tempfile.mkdtemp()) / "crm.xlsx").suffix
    '.xlsx'
    """
    from openpyxl.styles import Font

    target = Path(path)
    tmp = _atomic_target(target.with_suffix(".xlsx"))
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, df in ds.tables.items():
            inert_frame(df).to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for col, column in zip(sheet.columns, df.columns, strict=False):
                width = max(len(str(column)), 10)
                sheet.column_dimensions[col[0].column_letter].width = min(width + 2, 40)
    os.replace(tmp, target)
    return target


def _demo_current(ds: Dataset, kwargs: Mapping[str, Any]) -> bool:
    """A demo built "up to today" goes stale when a new quarter completes."""
    if kwargs.get("end") is not None or "period_end" not in ds.meta:
        return True
    from amtools.core.periods import last_complete_quarter

    expected = last_complete_quarter().end_time.normalize()
    return pd.Timestamp(ds.meta["period_end"]).normalize() == expected


def _generator_digest() -> str:
    """A short hash of the demo generator's source, so a changed generator rebuilds the file."""
    digest = hashlib.sha256()
    for module in sorted((Path(__file__).resolve().parents[1] / "demo").glob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:12]


def load_demo(
    path: str | os.PathLike[str] = config.DEMO_DB,
    *,
    rebuild: bool = False,
    **make_demo_kwargs: Any,
) -> Dataset:
    """Load the demo dataset from its DuckDB file, building and saving it first if needed.

    The file remembers the ``make_demo`` arguments it was built with and a hash of the
    generator's source; asking for other arguments, a changed generator (or ``rebuild=True``)
    rebuilds it, and so does a new quarter completing when
    no ``end`` is given (the demo history always ends at the last complete quarter).

    Parameters
    ----------
    path : DuckDB file (default ``data/demo.duckdb``).
    rebuild : build it again even if the file exists.
    **make_demo_kwargs : passed to :func:`amtools.demo.generator.make_demo` (seed, n_managers, end, …).

    Example
    -------
    >>> ds = load_demo()  # doctest: +SKIP
    >>> sorted(ds.names)[:3]  # doctest: +SKIP
    ['activities', 'clients', 'compliance']
    """
    target = Path(path)
    # The generator's own source is part of the key: a file built by an older generator is stale.
    wanted = json.dumps(
        {**_meta_encode(make_demo_kwargs), "_generator": _generator_digest()},
        sort_keys=True,
        default=str,
    )
    if target.exists() and not rebuild:
        try:
            ds = load(target, validate=False)
        except SourceError:
            ds = None
        if (
            ds is not None
            and ds.meta.get("demo_kwargs", wanted) == wanted
            and _demo_current(ds, make_demo_kwargs)
        ):
            return ds
    from amtools.demo.generator import make_demo

    built = make_demo(**make_demo_kwargs)
    built.meta["demo_kwargs"] = wanted
    save_duckdb(built, target)
    return load(target, validate=False)
