"""Loading CRM data into a typed :class:`~amtools.core.dataset.Dataset`, and saving it.

:func:`load` reads a folder of CSV/Parquet files, an Excel workbook, a DuckDB or SQLite file,
a SQL URL or tables in memory, applies a column mapping (:mod:`amtools.loading.mapping`),
coerces every table to the data model and validates it; :func:`save_duckdb`,
:func:`export_csv` and :func:`export_excel` write a dataset back out. The loading rules are
described in ``docs/loading.md``.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
