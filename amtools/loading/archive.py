"""The forecast archive: a DuckDB file every ``amtools run`` appends its forecasts to.

Forecasts are kept as they were made, so that once their months have happened the report can
show how right they were (as made, beside the backfilled history of
:mod:`amtools.forecast.history`). The file sits beside the data by default
(:func:`archive_location`); docs/forecast-archive.md describes the table and how to query it.

One table, ``forecasts``, one row per run origin, series and target month; the primary key
(fingerprint, origin, unique_id, target) makes appending the same data's forecasts twice a
no-op.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core.errors import AmtoolsError

__all__ = [
    "ARCHIVE_FILE",
    "ARCHIVE_COLUMNS",
    "ArchiveError",
    "archive_location",
    "archive_rows",
    "append_forecasts",
    "read_forecasts",
]

ARCHIVE_FILE = "amtools_forecasts.duckdb"
"""The archive's file name beside the data (a folder source: inside the folder)."""

TABLE = "forecasts"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    run_id      VARCHAR NOT NULL,
    made_at     TIMESTAMP NOT NULL,
    fingerprint VARCHAR NOT NULL,
    source      VARCHAR,
    origin      DATE NOT NULL,
    level       VARCHAR NOT NULL,
    key         VARCHAR NOT NULL,
    unique_id   VARCHAR NOT NULL,
    target      DATE NOT NULL,
    lead        INTEGER NOT NULL,
    point       DOUBLE,
    lo_80       DOUBLE,
    hi_80       DOUBLE,
    lo_95       DOUBLE,
    hi_95       DOUBLE,
    model       VARCHAR,
    PRIMARY KEY (fingerprint, origin, unique_id, target)
)
"""

ARCHIVE_COLUMNS = (
    "run_id",
    "made_at",
    "fingerprint",
    "source",
    "origin",
    "level",
    "key",
    "unique_id",
    "target",
    "lead",
    "point",
    "lo_80",
    "hi_80",
    "lo_95",
    "hi_95",
    "model",
)
"""The columns of the ``forecasts`` table, in order."""


class ArchiveError(AmtoolsError):
    """The archive cannot be written or read (read-only place, locked or not a DuckDB file)."""


def archive_location(source: Any, demo_db: str | Path | None = None) -> Path | None:
    """Where the archive of ``source`` goes by default: beside the data, or None.

    A folder holds it (``<folder>/amtools_forecasts.duckdb``); a file has it beside itself;
    ``None`` (the demo) has it beside ``demo_db``. A database URL, a Dataset or tables in
    memory have no place of their own (pass an explicit path).

    Example
    -------
    >>> archive_location("exports/crm.xlsx").as_posix()
    'exports/amtools_forecasts.duckdb'
    >>> archive_location("postgresql://host/crm") is None
    True
    """
    if source is None:
        return None if demo_db is None else Path(demo_db).parent / ARCHIVE_FILE
    if not isinstance(source, str | os.PathLike):
        return None
    text = os.fspath(source)
    if "://" in text:
        return None
    path = Path(text)
    if path.is_dir():
        return path / ARCHIVE_FILE
    return path.parent / ARCHIVE_FILE


def archive_rows(
    forecasts: pd.DataFrame,
    *,
    run_id: str,
    made_at: pd.Timestamp,
    fingerprint: str,
    origin: pd.Timestamp,
    source: str = "",
) -> pd.DataFrame:
    """The archive rows of one run's forecasts (``ForecastResult.forecast``).

    ``origin`` is the last month of data the forecasts were made from; ``lead`` is the
    number of months from it to the target month.

    Example
    -------
    >>> fc = pd.DataFrame({"unique_id": ["team/North"], "level": ["team"],
    ...                    "ds": [pd.Timestamp("2026-10-01")], "model": ["ets"], "yhat": [5.0],
    ...                    "lo_80": [4.0], "hi_80": [6.0]})
    >>> rows = archive_rows(fc, run_id="r1", made_at=pd.Timestamp("2026-10-02"),
    ...                     fingerprint="abc", origin=pd.Timestamp("2026-09-01"))
    >>> rows[["key", "target", "lead", "point", "lo_95"]].to_dict("records")
    [{'key': 'North', 'target': Timestamp('2026-10-01 00:00:00'), 'lead': 1, 'point': 5.0, 'lo_95': nan}]
    """
    origin = pd.Timestamp(origin).to_period("M").to_timestamp()
    target = pd.Series(pd.to_datetime(forecasts["ds"]).dt.to_period("M").dt.to_timestamp())
    uid = forecasts["unique_id"].astype(str)
    made = pd.Timestamp(made_at)
    made = made.tz_convert("UTC").tz_localize(None) if made.tzinfo is not None else made
    out = pd.DataFrame(
        {
            "run_id": run_id,
            "made_at": made,
            "fingerprint": fingerprint,
            "source": source,
            "origin": origin,
            "level": forecasts["level"].astype(str)
            if "level" in forecasts
            else uid.str.split("/").str[0],
            "key": uid.map(lambda u: u.split("/", 1)[1] if "/" in u else u),
            "unique_id": uid,
            "target": target,
            "lead": ((target.dt.year - origin.year) * 12 + (target.dt.month - origin.month)),
            "point": forecasts["yhat"].astype("float64"),
        }
    )
    for col in ("lo_80", "hi_80", "lo_95", "hi_95"):
        out[col] = forecasts[col].astype("float64") if col in forecasts else float("nan")
    out["model"] = forecasts["model"].astype(str) if "model" in forecasts else None
    out["lead"] = out["lead"].astype("int32")
    return out[list(ARCHIVE_COLUMNS)].reset_index(drop=True)


def _connect(path: Path, *, read_only: bool) -> Any:
    import duckdb  # heavy: only when the archive is used

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except (duckdb.Error, OSError) as exc:
        raise ArchiveError(f"{path}: {str(exc).splitlines()[0]}") from None


def append_forecasts(path: str | Path, rows: pd.DataFrame) -> int:
    """Append ``rows`` (:func:`archive_rows`) to the archive at ``path``; the rows added.

    Rows of a (fingerprint, origin, series, target) already stored are skipped, so
    appending the same run twice adds nothing.

    Raises
    ------
    ArchiveError
        The file cannot be created or written (read-only place, another process holds it,
        not a DuckDB file).

    Example
    -------
    >>> append_forecasts("data/amtools_forecasts.duckdb", rows)  # doctest: +SKIP
    42
    """
    import duckdb

    path = Path(path)
    if not path.parent.is_dir():
        raise ArchiveError(f"{path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ArchiveError(f"{path}: not writable (permission denied or a read-only place)")
    con = _connect(path, read_only=False)
    try:
        con.execute(_SCHEMA).fetchall()
        before = _count(con)
        frame = rows[list(ARCHIVE_COLUMNS)]
        con.register("new_rows", frame)
        names = ", ".join(ARCHIVE_COLUMNS)
        con.execute(
            f"INSERT OR IGNORE INTO {TABLE} ({names}) SELECT {names} FROM new_rows"
        ).fetchall()
        con.unregister("new_rows")
        after = _count(con)
    except (duckdb.Error, OSError) as exc:
        raise ArchiveError(f"{path}: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return after - before


def read_forecasts(path: str | Path, *, due_by: pd.Timestamp | None = None) -> pd.DataFrame:
    """The archived forecasts (every column of :data:`ARCHIVE_COLUMNS`); empty without a file.

    ``due_by``: only forecasts whose target month is on or before it (those that have come
    due).

    Raises
    ------
    ArchiveError
        The file exists but cannot be read as an archive.

    Example
    -------
    >>> read_forecasts("/nonexistent/amtools_forecasts.duckdb").columns.tolist()[:3]
    ['run_id', 'made_at', 'fingerprint']
    """
    import duckdb

    path = Path(path)
    if not path.is_file():
        return _empty_rows()
    con = _connect(path, read_only=True)
    try:
        found = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        tables = {row[0] for row in found}
        if TABLE not in tables:
            return _empty_rows()
        query = f"SELECT {', '.join(ARCHIVE_COLUMNS)} FROM {TABLE}"
        args: Sequence[Any] = ()
        if due_by is not None:
            query += " WHERE target <= ?"
            args = (pd.Timestamp(due_by).date(),)
        frame = con.execute(query + " ORDER BY origin, unique_id, target", args).df()
    except duckdb.Error as exc:
        raise ArchiveError(f"{path}: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    for col in ("made_at", "origin", "target"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


def _count(con: Any) -> int:
    rows = con.execute(f"SELECT count(*) FROM {TABLE}").fetchall()
    return int(rows[0][0]) if rows else 0


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in ARCHIVE_COLUMNS})
