"""Saving a :class:`Dataset`: a DuckDB file (tables and metadata), CSV files, an Excel workbook.

Every file is written through :func:`amtools.core.files.atomic_path`, so a reader sees the old
file or the complete new one. Exports write formula-like text as text
(:func:`amtools.core.textsafe.inert_frame`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.files import atomic_path
from amtools.core.textsafe import inert_frame
from amtools.loading.meta import META_TABLE, storable_meta

__all__ = ["save_duckdb", "export_csv", "export_excel"]


def save_duckdb(ds: Dataset, path: str | os.PathLike[str]) -> Path:
    """Save every table of ``ds`` into a DuckDB file (replaced atomically), with its metadata.

    Example
    -------
    >>> import tempfile
    >>> from amtools.loading import load
    >>> ds = Dataset({"managers": pd.DataFrame({"manager_id": ["m1"], "name": ["Ann"], "segment": ["B2B"]})})
    >>> path = save_duckdb(ds, Path(tempfile.mkdtemp()) / "crm.duckdb")
    >>> load(path, validate=False).managers.manager_id.tolist()
    ['m1']
    """
    import duckdb  # optional heavy dependency, only for this format

    target = Path(path)
    with atomic_path(target) as tmp:
        try:
            con = duckdb.connect(str(tmp))
            try:
                for name, df in ds.tables.items():
                    con.register("_frame", df)
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
                    con.unregister("_frame")
                meta = storable_meta({"source": ds.source, **ds.meta})
                con.execute(f'CREATE TABLE "{META_TABLE}" (key VARCHAR, value VARCHAR)')
                if meta:
                    con.executemany(f'INSERT INTO "{META_TABLE}" VALUES (?, ?)', list(meta.items()))
            finally:
                con.close()
        finally:
            Path(str(tmp) + ".wal").unlink(missing_ok=True)
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
        with atomic_path(out / f"{name}.csv") as tmp:
            # Text cells like "=1+1" are written as text, never as live formulas (OWASP rule).
            inert_frame(df).to_csv(
                tmp, index=False, encoding="utf-8", date_format="%Y-%m-%d %H:%M:%S"
            )
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
    from openpyxl.styles import Font  # optional heavy dependency, only for this format

    target = Path(path)
    with (
        atomic_path(target) as tmp,
        pd.ExcelWriter(tmp, engine="openpyxl") as writer,
    ):
        for name, df in ds.tables.items():
            inert_frame(df).to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for col, column in zip(sheet.columns, df.columns, strict=False):
                width = max(len(str(column)), 10)
                sheet.column_dimensions[col[0].column_letter].width = min(width + 2, 40)
    return target
