"""The :class:`Dataset`: the typed CRM tables of one source, with attribute access."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from amtools.core.schema import TABLES, Kind

__all__ = ["Dataset", "PANDAS_DTYPES"]

PANDAS_DTYPES: dict[Kind, str] = {
    "id": "string",
    "text": "string",
    "category": "string",
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
}
"""The pandas dtype every loader produces for each logical column kind."""


class Dataset:
    """The tables of one data source, keyed by the table names of the data model (docs/data-model.md).

    Tables a source lacks are simply absent: ``"surveys" in ds`` is ``False`` and
    ``ds.get("surveys")`` is ``None``; ``ds.surveys`` raises a clear ``AttributeError``.

    Parameters
    ----------
    tables : mapping of table name to DataFrame. Names must be tables of the data model.
    source : human-readable description of where the data came from.
    meta : free-form metadata (currency, mapping used, load time, …).

    Example
    -------
    >>> import pandas as pd
    >>> ds = Dataset({"managers": pd.DataFrame({"manager_id": ["m1"], "name": ["Ann"], "segment": ["B2B"]})})
    >>> ds.managers.shape
    (1, 3)
    >>> "deals" in ds
    False
    """

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        *,
        source: str = "",
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise KeyError(f"unknown table(s) {unknown}; the data model has: {', '.join(TABLES)}")
        # Keep the data model's order so summaries and exports are stable.
        self._tables: dict[str, pd.DataFrame] = {
            name: tables[name] for name in TABLES if name in tables
        }
        self.source = source
        self.meta: dict[str, Any] = dict(meta or {})

    # -- access -------------------------------------------------------------
    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_"):
            raise AttributeError(name)
        tables = self.__dict__.get("_tables", {})
        if name in tables:
            return tables[name]
        if name in TABLES:
            raise AttributeError(
                f"table {name!r} is absent from this dataset ({self.source or 'no source'}); "
                f"use ds.get({name!r}) or check '{name}' in ds"
            )
        raise AttributeError(f"Dataset has no attribute {name!r}")

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"table {name!r} is absent from this dataset") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._tables))

    def get(self, name: str) -> pd.DataFrame | None:
        """Return table ``name`` or ``None`` when the source lacks it."""
        return self._tables.get(name)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """A shallow copy of the name -> DataFrame mapping."""
        return dict(self._tables)

    @property
    def names(self) -> list[str]:
        return list(self._tables)

    def replace(self, **tables: pd.DataFrame | None) -> Dataset:
        """Return a new Dataset with some tables replaced (``None`` removes one)."""
        new = dict(self._tables)
        for name, df in tables.items():
            if df is None:
                new.pop(name, None)
            else:
                new[name] = df
        return Dataset(new, source=self.source, meta=self.meta)

    # -- description ----------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per data-model table: present, rows, columns, and date range where known."""
        rows = []
        for name, spec in TABLES.items():
            df = self._tables.get(name)
            first: pd.Timestamp | None = None
            last: pd.Timestamp | None = None
            if df is not None:
                dates = [
                    c.name for c in spec.columns if c.kind in ("date", "datetime") and c.name in df
                ]
                if dates:
                    stacked = pd.concat([pd.to_datetime(df[c], errors="coerce") for c in dates])
                    first, last = stacked.min(), stacked.max()
            rows.append(
                {
                    "table": name,
                    "present": df is not None,
                    "rows": 0 if df is None else len(df),
                    "columns": 0 if df is None else df.shape[1],
                    "first_date": first,
                    "last_date": last,
                }
            )
        frame = pd.DataFrame(rows)
        for col in ("first_date", "last_date"):
            frame[col] = pd.to_datetime(frame[col])
        return frame

    def fingerprint(self) -> str:
        """A short stable hash of the data (for reproducibility stamps)."""
        digest = hashlib.sha256()
        for name, df in self._tables.items():
            digest.update(name.encode())
            digest.update(",".join(map(str, df.columns)).encode())
            hashed = pd.util.hash_pandas_object(df, index=False)
            digest.update(hashed.to_numpy().tobytes())
        return digest.hexdigest()[:16]

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={len(df):,}" for n, df in self._tables.items())
        return f"<Dataset {self.source or ''} [{parts}]>"
