"""Loading CRM data from files, databases and memory into a typed :class:`Dataset`.

:func:`load` opens the source (:mod:`amtools.loading.sources`), applies the mapping
(:mod:`amtools.loading.mapping`), coerces every table to the data model
(:mod:`amtools.loading.coerce`) and ends by validating (:mod:`amtools.validate`).

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
- Exports (:func:`~amtools.loading.export.export_csv`,
  :func:`~amtools.loading.export.export_excel`) write formula-like text as text.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.parse import normalize_name
from amtools.core.problems import DataValidationError, Problem
from amtools.core.schema import REQUIRED_TABLES, TABLES
from amtools.core.vocab import DEFAULT_CURRENCY
from amtools.loading.coerce import coerce_table, fill_defaults
from amtools.loading.mapping.apply import apply_mapping
from amtools.loading.mapping.resolve import matching_preset, resolve_mapping
from amtools.loading.mapping.spec import MappingSpec
from amtools.loading.sources import RawSource, read_source, unmatched_problem
from amtools.validate.checks import validate as run_checks

__all__ = ["load", "FOLDER_MAPPING"]


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
    validate : run :func:`amtools.validate.validate` and raise on errors.
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
        problems.append(_ignored_problem(raw.ignored))
    tables = fill_defaults(tables)
    meta = _source_meta(source, raw, spec)
    meta["load_problems"] = list(problems)
    meta["problems"] = list(problems)
    description = raw.description + (f", mapping {spec.name}" if spec is not None else "")
    ds = Dataset(tables, source=description, meta=meta)
    if validate:
        everything = problems + run_checks(ds)
        if any(p.severity == "error" for p in everything):
            raise DataValidationError(everything)
        ds.meta["problems"] = everything
    return ds


def _ignored_problem(ignored: list[str]) -> Problem:
    """The warning for files of a folder that were not read (other formats, a table's second file)."""
    return Problem(
        "(source)",
        None,
        "ignored_files",
        f"{len(ignored)} file(s) in the folder were not read: " + ", ".join(ignored[:10]),
        0,
        fix="tables are read from .csv/.tsv/.csv.gz/.parquet files, one per table; "
        "load a workbook by its own path",
        severity="warning",
        args={"n": len(ignored), "files": ", ".join(ignored[:10])},
    )


def _source_meta(source: Any, raw: RawSource, spec: MappingSpec | None) -> dict[str, Any]:
    """The metadata of a loaded dataset: currency, the source's own metadata, the mapping's."""
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
    return meta


def _read_tables(
    raw: RawSource, spec: MappingSpec | None, decimal: str | None
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read, map and coerce every table of ``raw`` (see :func:`load`)."""
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    if spec is not None:
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
            target = raw_name if raw_name in TABLES else normalize_name(raw_name)
            if target in TABLES and target not in matched:
                matched[target] = raw_name
        unmatched = [n for n in raw.names if n not in matched.values()]
        if unmatched:
            problem = unmatched_problem(unmatched, raw.description)
            preset = matching_preset(raw.names)
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
    names = {normalize_name(n) for n in raw.names}
    if all(t in names for t in REQUIRED_TABLES):
        return None
    if isinstance(source, str | os.PathLike) and Path(source).is_dir():
        own = Path(source) / FOLDER_MAPPING
        if own.is_file():
            return str(own)
    return matching_preset(raw.names)
