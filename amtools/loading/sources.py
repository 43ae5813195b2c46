"""Opening data sources: a folder of files, one CSV/Parquet/Excel/DuckDB/SQLite file, a SQL URL
or tables in memory, each as a :class:`RawSource` that lists its raw tables and reads them.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import SourceError
from amtools.core.problems import Problem
from amtools.loading.archive import ARCHIVE_FILE
from amtools.loading.csvfile import check_header, drop_blank, read_csv
from amtools.loading.encoding import encoding_trouble, guess_encoding, quick_encoding
from amtools.loading.meta import META_TABLE, decode_meta

__all__ = [
    "CSV_SUFFIXES",
    "PARQUET_SUFFIXES",
    "EXCEL_SUFFIXES",
    "RawSource",
    "read_source",
    "table_stem",
    "unmatched_problem",
]

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


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


def table_stem(path: Path) -> str:
    """The table a file holds: its name without the data suffix (``deals.csv.gz`` -> ``deals``).

    Example
    -------
    >>> table_stem(Path("exports/deals.csv.gz")), table_stem(Path("crm.xlsx"))
    ('deals', 'crm')
    """
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
    names = {table_stem(f): f for f in files}
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
                        head = gzip.GzipFile(fileobj=io.BytesIO(head)).read(200_000)
                    except (EOFError, OSError, zlib.error):
                        continue  # reported when that file itself is read
                if head and quick_encoding(head) is None:
                    trouble = encoding_trouble(head)
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
                guessed.append(guess_encoding(b"\n".join(heads.values()), "x"))
            except SourceError:
                failing = []
                for fname, head in heads.items():
                    try:
                        guess_encoding(head, fname)
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
        df, delimiter, found = read_csv(path, table_stem(path), encoding, sep, legacy, skip_rows)
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
            check_header(
                Path(f"{path} [sheet {name}]"),
                ["" if v is None or v != v else str(v) for v in head.iloc[0].tolist()],
            )
        sheet = pd.read_excel(book, sheet_name=names[name], dtype=object, skiprows=skip_rows)
        return drop_blank(sheet)

    return RawSource(f"Excel workbook {path} ({len(names)} sheets)", names, reader)


def _duckdb_source(path: Path) -> RawSource:
    import duckdb  # optional heavy dependency, only for this format

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
    meta = {key: decode_meta(json.loads(value)) for key, value in stored}

    def reader(name: str) -> pd.DataFrame:
        return con.execute(f'SELECT * FROM "{names[name]}"').df()

    return RawSource(f"DuckDB database {path}", names, reader, meta=meta, closer=con.close)


def _sql_source(url: str) -> RawSource:
    import sqlalchemy as sa  # optional heavy dependency, only for SQL sources

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
            (ignored if table_stem(f) in seen else unique).append(f.name)
            seen.add(table_stem(f))
        ignored += sorted(
            f.name
            for f in path.iterdir()
            if f.is_file()
            and not f.name.startswith(".")
            and f not in files
            # the forecast archive amtools itself keeps beside the data (and its WAL)
            and not f.name.startswith(ARCHIVE_FILE)
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


def unmatched_problem(unmatched: list[str], description: str) -> Problem:
    """The warning for source tables or files that match no data-model table (they are ignored).

    Example
    -------
    >>> unmatched_problem(["notes"], "CSV folder x").check
    'unmatched_table'
    """
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
