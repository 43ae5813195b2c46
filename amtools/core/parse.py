"""Text into typed values per the schema: numbers, dates, yes/no values, ids and names.

Shared by the loader (:mod:`amtools.loading`), the mappings and the checks
(:mod:`amtools.validate`): how a column of one kind is parsed, what is out of its bounds,
and the :class:`~amtools.core.problems.Problem` that reports values that do not parse.

- Numbers may use a decimal comma or point, thousands separators (spaces, NBSP, apostrophes),
  currency signs, a trailing ``%`` and accounting negatives; they must be finite and below the
  bound of their column (:attr:`Column.limit <amtools.core.schema.Column.limit>`, money
  ``|x| < 1e15``).
- Time zones, one rule everywhere dates are parsed: a value with a zone is converted to
  UTC and the zone dropped; a value without one is taken as it is (UTC-naive result;
  aware and naive values may mix). Dates outside 1900-01-01..2100-12-31 are out of bounds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Final

import numpy as np
import pandas as pd

from amtools.core.problems import Problem
from amtools.core.schema import DATE_WINDOW, TABLES, Column

__all__ = [
    "DATE_MIN",
    "DATE_MAX",
    "parse_numbers",
    "parse_dates",
    "parse_bools",
    "normalize_name",
    "example_ids",
    "coerce_column",
    "out_of_bounds_problem",
    "unparseable_problem",
]

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
# Values: numbers, dates, yes/no, text
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
    loaded: they are NaT and flagged in ``bad`` (:func:`amtools.loading.load` reports them as
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


def parse_bools(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of yes/no values (``true``/``false``, ``yes``/``no``, ``1``/``0``, ``да``/``нет``…).

    Returns
    -------
    (values, bad) : nullable booleans, and a mask of non-empty values that are not yes/no.

    Example
    -------
    >>> values, bad = parse_bools(pd.Series(["да", "no", "", "maybe"]))
    >>> values.tolist()[:2], bad.tolist()
    ([True, False], [False, False, False, True])
    """
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
# Names, rows and columns of the data model
# --------------------------------------------------------------------------------------
def normalize_name(name: object) -> str:
    """A table or column name as the data model spells it: lower case, ``_`` between words.

    Example
    -------
    >>> normalize_name(" Manager ID "), normalize_name("Сделки.csv")
    ('manager_id', 'сделки_csv')
    """
    return re.sub(r"[^0-9a-zа-яё]+", "_", str(name).strip().lower()).strip("_")


def example_ids(df: pd.DataFrame, mask: pd.Series, table: str, limit: int = 5) -> tuple[str, ...]:
    """Identify a few rows of ``df`` selected by ``mask``: key values, else 1-based row numbers.

    Example
    -------
    >>> df = pd.DataFrame({"deal_id": ["d1", None, "d3"]})
    >>> example_ids(df, pd.Series([True, True, False]), "deals")
    ('d1', 'row 2')
    """
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


_NON_FINITE = {"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "∞", "-∞"}


def coerce_column(
    column: Column,
    raw: pd.Series,
    fmt: str | None,
    decimal: str | None,
    hint: str | None,
) -> tuple[pd.Series, pd.Series, str | None, pd.Series]:
    """Coerce one column to its kind: (values, unparseable mask, note, out-of-bounds mask).

    Out of bounds: dates outside the window, non-finite numbers and numbers with
    ``|x| >= column.limit``; their values are NaN/NaT, never loaded.

    Parameters
    ----------
    column : the schema column (its kind, allowed values and bound).
    raw : the raw values.
    fmt : a ``strftime`` date format, ``None`` to detect the layout.
    decimal : decimal mark for numbers, ``None`` to infer it.
    hint : decimal mark to assume when the values are ambiguous.

    Example
    -------
    >>> amount = TABLES["deals"].column("amount")
    >>> values, bad, _, out = coerce_column(amount, pd.Series(["1 200,5", "x", "inf"]), None, None, None)
    >>> values.tolist()[0], bad.tolist(), out.tolist()
    (1200.5, [False, True, False], [False, False, True])
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
        values, bad = parse_bools(raw)
        return values, bad, None, none
    values, bad, outside, note = _parse_dates_full(raw, fmt=fmt, kind=kind)
    return values, bad, note, outside


def out_of_bounds_problem(
    table: str, column: Column, frame: pd.DataFrame, raw: pd.Series, out: pd.Series, where: str
) -> Problem:
    """The error for values outside the schema's bounds (see :func:`coerce_column`).

    ``frame`` is the table (for example ids), ``raw`` the column as found, ``out`` the mask
    of values out of bounds, ``where`` a suffix naming the origin (``" (deals.csv)"``).

    Example
    -------
    >>> frame = pd.DataFrame({"deal_id": ["d1"], "amount": ["1e20"]})
    >>> column = TABLES["deals"].column("amount")
    >>> out_of_bounds_problem("deals", column, frame, frame.amount, pd.Series([True]), "").check
    'number_out_of_bounds'
    """
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


def unparseable_problem(
    table: str,
    column: Column,
    frame: pd.DataFrame,
    raw: pd.Series,
    bad: pd.Series,
    where: str,
    fmt: str | None,
) -> Problem:
    """The error for values that do not parse as their column's kind (see :func:`coerce_column`).

    ``fmt`` is the date format given in the mapping, if any (the fix then names it).

    Example
    -------
    >>> frame = pd.DataFrame({"deal_id": ["d1"], "closed_date": ["soon"]})
    >>> column = TABLES["deals"].column("closed_date")
    >>> unparseable_problem("deals", column, frame, frame.closed_date, pd.Series([True]), "", None).message
    "1 value(s) are not valid dates: 'soon'"
    """
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
