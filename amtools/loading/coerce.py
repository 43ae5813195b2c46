"""Coercion of one raw table to the data model: model columns only, each of its kind.

Values are parsed by :mod:`amtools.core.parse`; what does not parse, or lies out of bounds,
is an error :class:`~amtools.core.problems.Problem` naming table, column, rows and fix (never a
silent NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pandas as pd

from amtools.core.dataset import PANDAS_DTYPES
from amtools.core.errors import SourceError
from amtools.core.parse import (
    coerce_column,
    normalize_name,
    out_of_bounds_problem,
    unparseable_problem,
)
from amtools.core.problems import Problem
from amtools.core.schema import TABLES

__all__ = ["coerce_table", "fill_defaults"]


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
    renames = _model_renames(table, df, where)
    frame = df.rename(columns=renames)
    model = set(spec.column_names)
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
        values, bad, note, outside = coerce_column(
            column, raw, formats.get(column.name), decimal, decimal_hint
        )
        out[column.name] = values.astype(cast(Any, PANDAS_DTYPES[column.kind]))
        if outside.any():
            problems.append(out_of_bounds_problem(table, column, frame, raw, outside, where))
        if bad.any():
            problems.append(
                unparseable_problem(table, column, frame, raw, bad, where, formats.get(column.name))
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


def _model_renames(table: str, df: pd.DataFrame, where: str) -> dict[Any, str]:
    """Source columns to rename to the model column they mean after normalisation.

    Two source columns meaning one model column are a :class:`SourceError` (see
    :func:`coerce_table`).
    """
    spec = TABLES[table]
    renames: dict[Any, str] = {}
    model = set(spec.column_names)
    taken = {c for c in df.columns if c in model}
    for col in df.columns:
        if col in model:
            continue
        norm = normalize_name(col)
        if norm in model and norm not in taken:
            renames[col] = norm
            taken.add(norm)
    by_target: dict[str, list[str]] = {}
    for col in df.columns:
        target = col if col in model else normalize_name(col)
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
    return renames


def fill_defaults(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Fill documented defaults: a client's segment defaults to its manager's segment.

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["m1"], "segment": ["B2B"]})
    >>> clients = pd.DataFrame({"client_id": ["c1"], "manager_id": ["m1"]})
    >>> fill_defaults({"managers": managers, "clients": clients})["clients"].segment.tolist()
    ['B2B']
    """
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
