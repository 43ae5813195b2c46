"""Data-quality checks of a Dataset at the loading boundary, driven by the schema declarations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from amtools.core.dataset import PANDAS_DTYPES, Dataset
from amtools.core.parse import (
    coerce_column,
    example_ids,
    out_of_bounds_problem,
    unparseable_problem,
)
from amtools.core.periods import parse_period
from amtools.core.problems import Problem
from amtools.core.schema import REQUIRED_TABLES, TABLES, Table
from amtools.kpi.registry import KPIS  # the catalogue (a data table): the sanctioned upward import

__all__ = ["validate", "format_problems", "pandera_schema", "CHECKS"]

CHECKS: dict[str, str] = {
    "missing_table": "error: a required table (managers, clients, deals) is absent",
    "empty_table": "error: a required table has no rows (a header-only file)",
    "missing_column": "error: a required column is absent from a table",
    "wrong_dtype": "error: values that do not parse as the column's kind (dates, numbers, yes/no)",
    "missing_value": "error: empty values in a column that must always be filled",
    "unknown_value": "error: a category outside its allowed values (segment, stage, outcome, type)",
    "out_of_range": "error: numbers outside their bounds (negative amounts, discount/probability "
    "outside 0..1, csi outside 1..5, nps outside 0..10, quality outside 1..5)",
    "number_out_of_bounds": "error: non-finite numbers (inf, -inf, 'nan' as text) or |x| not "
    "below the column's bound (money: 1e15); at load they are not loaded",
    "duplicate_key": "error: the same key (deal_id, client_id, …) on several rows",
    "unknown_reference": "error (warning for optional columns): an id pointing at a manager, client "
    "or deal the dataset does not have",
    "date_order": "error: an end before its start (closed before created, resolved before opened, "
    "contract end before start, churned before acquired)",
    "closed_without_date": "error: won/lost deals without closed_date",
    "won_without_amount": "error: won deals without amount",
    "closed_without_client": "error: won/lost deals without client_id",
    "open_without_client": "warning: open deals without client_id (kept; counted in pipeline only)",
    "open_without_amount": "warning: open or lost deals without amount",
    "open_with_closed_date": "warning: open deals that have a closed_date",
    "future_date": "warning: won deals closed after today",
    "manager_without_deals": "warning: managers with no deals at all",
    "client_without_deals": "warning: clients never dealt with",
    "bad_period": "error: targets with a period label that is not 2026Q3, 2026-07 or 2026",
    "unknown_kpi": "warning: targets naming a KPI id the KPI registry does not have",
}
"""Every check :func:`validate` runs, with its default severity (documented in docs/loading.md)."""

_PANDERA_CHECK = {"unknown_value", "out_of_range"}


def pandera_schema(table: str | Table) -> pa.DataFrameSchema:
    """Build the pandera schema of one data-model table from :mod:`amtools.core.schema`.

    The schema checks presence of required columns, empty values in non-nullable columns,
    allowed category values, numeric bounds and key uniqueness. dtypes are not checked here
    (``validate`` coerces first and reports unparseable values itself).

    Example
    -------
    >>> sorted(pandera_schema("deals").columns)[:3]
    ['amount', 'client_id', 'closed_date']
    """
    spec = TABLES[table] if isinstance(table, str) else table
    columns = {}
    for col in spec.columns:
        checks = []
        if col.allowed:
            checks.append(pa.Check.isin(list(col.allowed), name="unknown_value"))
        if col.min is not None and col.max is not None:
            checks.append(pa.Check.in_range(col.min, col.max, name="out_of_range"))
        elif col.min is not None:
            checks.append(pa.Check.ge(col.min, name="out_of_range"))
        elif col.max is not None:
            checks.append(pa.Check.le(col.max, name="out_of_range"))
        if col.limit is not None:
            limit = col.limit
            checks.append(
                pa.Check(
                    lambda v, limit=limit: np.isfinite(v.astype("float64")) & (v.abs() < limit),
                    name="number_out_of_bounds",
                )
            )
        columns[col.name] = pa.Column(
            checks=checks, nullable=col.nullable, required=col.required, coerce=False
        )
    return pa.DataFrameSchema(
        columns,
        unique=list(spec.key) if spec.key else None,
        report_duplicates="all",
        strict=False,
        name=spec.name,
    )


def validate(ds: Dataset) -> list[Problem]:
    """Check a dataset against the data model and return every problem found.

    Column checks (required columns, empty values, allowed values, bounds, duplicate keys)
    come from pandera schemas generated from :mod:`amtools.core.schema`; cross-table checks
    (references, date order, deal-stage rules, unused managers/clients) are written here.
    Columns that are not yet of the model's dtype are coerced first and unparseable values
    reported. Problems found while loading (``ds.meta["problems"]``) are not repeated.

    Parameters
    ----------
    ds : the dataset to check (not modified).

    Returns
    -------
    list[Problem]
        Errors first, then warnings, each with table, column, check, count, example ids, fix.

    Example
    -------
    >>> ds = Dataset({"managers": pd.DataFrame({"manager_id": ["m1", "m1"], "name": ["A", "B"],
    ...                                         "segment": ["B2B", "b2b"]})})
    >>> sorted(p.check for p in validate(ds))
    ['duplicate_key', 'missing_table', 'missing_table', 'unknown_value']
    """
    problems: list[Problem] = []
    for name in REQUIRED_TABLES:
        if name not in ds:
            problems.append(
                Problem(
                    name,
                    None,
                    "missing_table",
                    f"required table {name!r} is absent",
                    0,
                    fix=f"provide {name}.csv (or a sheet/table named {name}), "
                    f"or build it in the mapping (tables: {{{name}: {{from: …}}}})",
                    args={},
                )
            )
    for name in REQUIRED_TABLES:
        if name in ds and len(ds[name]) == 0:
            problems.append(
                Problem(
                    name,
                    None,
                    "empty_table",
                    f"required table {name!r} has no rows (only a header, or every row "
                    "was rejected)",
                    0,
                    fix=f"export {name} again with its rows; amtools needs at least one",
                )
            )
    typed: dict[str, pd.DataFrame] = {}
    for name, df in ds.tables.items():
        frame, found = _typed(name, df)
        typed[name] = frame
        problems += found
        problems += _column_checks(name, frame)
    problems += _reference_checks(typed)
    problems += _deal_checks(typed)
    problems += _date_order_checks(typed)
    problems += _usage_checks(typed)
    problems += _target_checks(typed)
    return sorted(problems, key=lambda p: p.severity != "error")


def _typed(name: str, df: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    spec = TABLES[name]
    problems: list[Problem] = []
    columns = {}
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        series = df[col.name]
        if str(series.dtype) == PANDAS_DTYPES[col.kind] or (
            col.kind in ("id", "text", "category") and pd.api.types.is_string_dtype(series.dtype)
        ):
            columns[col.name] = series
            continue
        values, bad, _, outside = coerce_column(col, series, None, None, None)
        columns[col.name] = values
        if outside.any():
            problems.append(out_of_bounds_problem(name, col, df, series, outside, ""))
        if bad.any():
            found = unparseable_problem(name, col, df, series, bad, "", None)
            problems.append(
                Problem(
                    found.table,
                    found.column,
                    "wrong_dtype",
                    found.message,
                    found.count,
                    found.examples,
                    found.fix,
                    args=found.args,
                )
            )
    typed = df.assign(**columns) if columns else df
    return typed, problems


def _column_checks(name: str, df: pd.DataFrame) -> list[Problem]:
    spec = TABLES[name]
    try:
        pandera_schema(spec).validate(df, lazy=True)
    except SchemaErrors as exc:
        return _from_pandera(name, df, exc.failure_cases)
    return []


def _from_pandera(name: str, df: pd.DataFrame, cases: pd.DataFrame) -> list[Problem]:
    spec = TABLES[name]
    problems = []
    cases = cases.copy()
    cases["check"] = cases["check"].astype(str).map(_check_name)
    positions = pd.Series(range(len(df)), index=df.index)
    for keys, group in cases.groupby(["column", "check"], dropna=False, sort=False):
        raw_column, raw_check = cast(tuple[Any, Any], keys)
        column = None if raw_column is None or raw_column != raw_column else str(raw_column)
        check = str(raw_check)
        idx = group["index"].dropna()
        mask = pd.Series(False, index=range(len(df)))
        if len(idx):
            mask[positions.reindex(idx.unique()).dropna().astype(int).to_numpy()] = True
        count = int(mask.sum())
        examples = example_ids(df.reset_index(drop=True), mask, name)
        if check == "column_in_dataframe":
            missing = ", ".join(str(v) for v in group["failure_case"])
            problems.append(
                Problem(
                    name,
                    missing,
                    "missing_column",
                    f"required column(s) {missing} absent",
                    len(df),
                    fix="add the column to the source, or map it in the mapping "
                    f"(tables: {{{name}: {{columns: {{{missing.split(',')[0]}: <source column>}}}}}})",
                    args={"columns": missing, "first": missing.split(",")[0]},
                )
            )
        elif check == "not_nullable":
            problems.append(
                Problem(
                    name,
                    column,
                    "missing_value",
                    f"{column} is empty in {count} row(s)",
                    count,
                    examples,
                    f"fill {column} in the source (it must always be set), or drop those rows",
                    args={"n": count},
                )
            )
        elif check == "unknown_value":
            col = spec.column(str(column))
            values = ", ".join(repr(str(v)) for v in group["failure_case"].astype(str).unique()[:6])
            allowed = ", ".join(col.allowed or ())
            problems.append(
                Problem(
                    name,
                    column,
                    "unknown_value",
                    f"{count} value(s) outside the allowed {allowed}: {values}",
                    count,
                    examples,
                    f"map the source values in the mapping (values: {{{column}: "
                    f"{{<source value>: <one of {allowed}>}}}})",
                    args={"n": count, "allowed": allowed, "values": values},
                )
            )
        elif check == "number_out_of_bounds":
            col = spec.column(str(column))
            values = ", ".join(repr(str(v)) for v in group["failure_case"].astype(str).unique()[:3])
            limit = f"{col.limit:g}"
            problems.append(
                Problem(
                    name,
                    column,
                    "number_out_of_bounds",
                    f"{count} value(s) are infinite, 'nan' or not below the bound "
                    f"|x| < {limit}: {values}",
                    count,
                    examples,
                    f"write a real number below {limit} in absolute value, or leave the cell "
                    "empty when it is unknown",
                    args={"values": values, "limit": limit},
                )
            )
        elif check == "out_of_range":
            problems.append(_range_problem(name, str(column), group, count, examples))
        elif "uniqueness" in check or check.startswith("unique"):
            key = "/".join(spec.key)
            problems.append(
                Problem(
                    name,
                    key,
                    "duplicate_key",
                    f"{count} row(s) share a {key} with another row",
                    count,
                    examples,
                    f"make {key} unique: remove duplicate rows or fix the ids in the source",
                    args={"n": count, "key_columns": key},
                )
            )
        else:  # pragma: no cover - defensive: a pandera check we do not name ourselves
            problems.append(
                Problem(
                    name,
                    column,
                    check,
                    f"pandera check {check} failed",
                    count,
                    examples,
                    "inspect the values",
                    args={"check": check},
                )
            )
    return problems


def _check_name(check: str) -> str:
    """Name pandera's failed check the way amtools reports it."""
    if check.startswith("isin("):
        return "unknown_value"
    if check.startswith(("in_range(", "greater_than_or_equal_to(", "less_than_or_equal_to(")):
        return "out_of_range"
    return check


def _range_problem(
    name: str, column: str, group: pd.DataFrame, count: int, examples: tuple[str, ...]
) -> Problem:
    col = TABLES[name].column(column)
    lo = "" if col.min is None else f"{col.min:g}"
    hi = "" if col.max is None else f"{col.max:g}"
    bounds = f"{lo}..{hi}" if lo and hi else (f">= {lo}" if lo else f"<= {hi}")
    values = pd.to_numeric(group["failure_case"], errors="coerce")
    shown = ", ".join(f"{v:g}" for v in values.dropna().unique()[:4])
    fix = f"correct the values so that {column} is {bounds}"
    if col.max == 1 and values.dropna().between(0, 100).all():
        fix = (
            f"{column} must be a fraction 0..1: divide percentages by 100 (or write them as '15%')"
        )
    elif col.min == 0 and (values.dropna() < 0).all():
        fix = (
            f"{column} cannot be negative: refunds/returns belong in a separate lost deal or a cost"
        )
    where = f"outside {bounds}" if lo and hi else (f"below {lo}" if lo else f"above {hi}")
    hint = "fraction" if fix.startswith(f"{column} must be a fraction") else ""
    hint = hint or ("negative" if fix.startswith(f"{column} cannot be negative") else "bounds")
    return Problem(
        name,
        column,
        "out_of_range",
        f"{count} value(s) {where}: {shown}",
        count,
        examples,
        fix,
        args={"n": count, "bounds": bounds, "values": shown, "hint": hint},
    )


def _present(df: pd.DataFrame, *columns: str) -> bool:
    return all(c in df.columns for c in columns)


def _reference_checks(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    problems = []
    for name, df in tables.items():
        for col in TABLES[name].columns:
            if not col.references or col.name not in df.columns:
                continue
            ref_table, ref_col = col.references.split(".")
            ref = tables.get(ref_table)
            if ref is None or ref_col not in ref.columns:
                continue
            values = df[col.name]
            unknown = values.notna() & ~values.isin(ref[ref_col].dropna().unique())
            if not unknown.any():
                continue
            count = int(unknown.sum())
            ids = ", ".join(repr(v) for v in values[unknown].unique()[:5])
            problems.append(
                Problem(
                    name,
                    col.name,
                    "unknown_reference",
                    f"{count} row(s) point at {ref_table} that do not exist: {ids}",
                    count,
                    example_ids(df, unknown, name),
                    f"add the missing rows to {ref_table} or correct {name}.{col.name} "
                    f"(ids must match {ref_table}.{ref_col} exactly, including case)",
                    "error" if col.required else "warning",
                    args={"n": count, "ref_table": ref_table, "ref_column": ref_col, "ids": ids},
                )
            )
    return problems


def _deal_checks(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    deals = tables.get("deals")
    if deals is None or "stage" not in deals.columns:
        return []
    stage = deals["stage"]
    closed = stage.isin(["won", "lost"]).fillna(False).astype(bool)
    is_open = stage.eq("open").fillna(False).astype(bool)
    won = stage.eq("won").fillna(False).astype(bool)
    rules: list[tuple[pd.Series, str, str | None, str, str, str]] = []
    if "closed_date" in deals.columns:
        rules += [
            (
                closed & deals["closed_date"].isna(),
                "closed_without_date",
                "closed_date",
                "won/lost deals without closed_date",
                "fill closed_date: revenue and win rates are assigned to periods by it",
                "error",
            ),
            (
                is_open & deals["closed_date"].notna(),
                "open_with_closed_date",
                "closed_date",
                "open deals with a closed_date",
                "check the stage (won/lost?) or clear closed_date",
                "warning",
            ),
            (
                won
                & (deals["closed_date"] > pd.Timestamp.today().normalize())
                .fillna(False)
                .astype(bool),
                "future_date",
                "closed_date",
                "won deals closed after today",
                "check closed_date (a typo in the year?)",
                "warning",
            ),
        ]
    else:
        rules.append(
            (
                closed,
                "closed_without_date",
                "closed_date",
                "won/lost deals but the table has no closed_date column",
                "add closed_date (map it in the mapping)",
                "error",
            )
        )
    if "client_id" in deals.columns:
        rules += [
            (
                closed & deals["client_id"].isna(),
                "closed_without_client",
                "client_id",
                "won/lost deals without client_id",
                "fill client_id: client KPIs (retention, revenue per client) need it",
                "error",
            ),
            (
                is_open & deals["client_id"].isna(),
                "open_without_client",
                "client_id",
                "open deals without client_id (kept: they count in the pipeline, not per client)",
                "assign a client when the opportunity is qualified",
                "warning",
            ),
        ]
    if "amount" in deals.columns:
        rules += [
            (
                won & deals["amount"].isna(),
                "won_without_amount",
                "amount",
                "won deals without amount",
                "fill amount: it is the booked revenue",
                "error",
            ),
            (
                ~won & deals["amount"].isna(),
                "open_without_amount",
                "amount",
                "open or lost deals without amount (pipeline value counts them as 0)",
                "fill the expected value of open deals if known",
                "warning",
            ),
        ]
    problems = []
    for mask, check, column, message, fix, severity in rules:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            count = int(mask.sum())
            problems.append(
                Problem(
                    "deals",
                    column,
                    check,
                    message,
                    count,
                    example_ids(deals, mask, "deals"),
                    fix,
                    severity,
                    args={"no_column": "no closed_date column" in message},
                )
            )
    return problems


_DATE_ORDER: tuple[tuple[str, str, str], ...] = (
    ("deals", "created_date", "closed_date"),
    ("clients", "acquired_date", "churned_date"),
    ("requests", "opened_at", "first_response_at"),
    ("requests", "opened_at", "resolved_at"),
    ("contracts", "start_date", "end_date"),
)


def _date_order_checks(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    problems = []
    for name, start, end in _DATE_ORDER:
        df = tables.get(name)
        if df is None or not _present(df, start, end):
            continue
        bad = (df[end] < df[start]).fillna(False).astype(bool)
        if bad.any():
            count = int(bad.sum())
            problems.append(
                Problem(
                    name,
                    end,
                    "date_order",
                    f"{end} before {start} in {count} row(s)",
                    count,
                    example_ids(df, bad, name),
                    f"correct the dates (swapped columns or day/month order?); {end} must be "
                    f"on or after {start}",
                    args={"n": count, "start": start, "end": end},
                )
            )
    return problems


def _usage_checks(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    deals = tables.get("deals")
    problems: list[Problem] = []
    if deals is None:
        return problems
    for name, key, check, what in (
        ("managers", "manager_id", "manager_without_deals", "managers have no deals"),
        ("clients", "client_id", "client_without_deals", "clients were never dealt with"),
    ):
        df = tables.get(name)
        if df is None or key not in df.columns or key not in deals.columns:
            continue
        unused = df[key].notna() & ~df[key].isin(deals[key].dropna().unique())
        if unused.any():
            count = int(unused.sum())
            problems.append(
                Problem(
                    name,
                    key,
                    check,
                    f"{count} {what} (kept; their KPIs show no data)",
                    count,
                    example_ids(df, unused, name),
                    "nothing to do if they are new or inactive; otherwise check the ids in deals",
                    "warning",
                    args={"n": count},
                )
            )
    return problems


def _target_checks(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """targets: period labels must parse; KPI ids must exist in the KPI registry."""
    targets = tables.get("targets")
    problems: list[Problem] = []
    if targets is None:
        return problems
    if "period" in targets.columns:
        labels = targets["period"].dropna().unique()
        bad_labels = set()
        for label in labels:
            try:
                parse_period(str(label))
            except ValueError:
                bad_labels.add(label)
        bad = targets["period"].isin(bad_labels).fillna(False).astype(bool)
        if bad.any():
            shown = ", ".join(repr(str(v)) for v in list(bad_labels)[:4])
            problems.append(
                Problem(
                    "targets",
                    "period",
                    "bad_period",
                    f"{int(bad.sum())} period label(s) cannot be read: {shown}",
                    int(bad.sum()),
                    example_ids(targets, bad, "targets"),
                    "write periods as 2026Q3 (quarter), 2026-07 (month) or 2026 (year)",
                    args={"n": int(bad.sum()), "values": shown},
                )
            )
    if "kpi" in targets.columns:
        unknown = targets["kpi"].notna() & ~targets["kpi"].isin(list(KPIS))
        if unknown.any():
            shown = ", ".join(repr(str(v)) for v in targets.loc[unknown, "kpi"].unique()[:4])
            problems.append(
                Problem(
                    "targets",
                    "kpi",
                    "unknown_kpi",
                    f"{int(unknown.sum())} target(s) name KPIs the registry does not have: {shown}",
                    int(unknown.sum()),
                    example_ids(targets, unknown, "targets"),
                    "use KPI ids from amtools.kpi.registry.kpi_table() (e.g. sales_volume)",
                    "warning",
                    args={"n": int(unknown.sum()), "values": shown},
                )
            )
    return problems


def format_problems(problems: Iterable[Problem]) -> str:
    """Format problems as a readable report grouped by table: errors first, then warnings.

    Example
    -------
    >>> print(format_problems([Problem("deals", "stage", "unknown_value", "1 value outside", 1,
    ...                                 ("D1",), "map it")]))
    Data check: 1 error(s), 0 warning(s)
    <BLANKLINE>
    deals: 1 error(s), 0 warning(s)
      ERROR   deals.stage [unknown_value] 1 value outside — 1 row(s), e.g. D1
              fix: map it
    """
    items: Sequence[Problem] = list(problems)
    n_err = sum(p.severity == "error" for p in items)
    lines = [f"Data check: {n_err} error(s), {len(items) - n_err} warning(s)"]
    if not items:
        lines.append("No problems found.")
        return "\n".join(lines)
    by_table: dict[str, list[Problem]] = defaultdict(list)
    for p in items:
        by_table[p.table].append(p)
    order = [t for t in by_table if t not in TABLES] + [t for t in TABLES if t in by_table]
    for table in order:
        group = sorted(by_table[table], key=lambda p: (p.severity != "error", p.column or ""))
        errors = sum(p.severity == "error" for p in group)
        lines += ["", f"{table}: {errors} error(s), {len(group) - errors} warning(s)"]
        for p in group:
            label = "ERROR  " if p.severity == "error" else "warning"
            where = f"{p.table}.{p.column}" if p.column else p.table
            examples = f", e.g. {', '.join(p.examples)}" if p.examples else ""
            rows = f" — {p.count} row(s)" if p.count else ""
            lines.append(f"  {label} {where} [{p.check}] {p.message}{rows}{examples}")
            if p.fix:
                lines.append(f"          fix: {p.fix}")
    return "\n".join(lines)
