"""Keeping text that comes from data inert wherever amtools writes it.

One definition of the rule for every export: a spreadsheet or CSV cell whose text starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read as a formula by
Excel, LibreOffice or Google Sheets (CSV/formula injection, OWASP). Such text is written
with a leading apostrophe, which spreadsheet programs show as plain text.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "inert_cell", "inert_frame", "is_formula_like"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet program evaluate a cell (OWASP CSV injection)."""


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet program would evaluate.

    Example
    -------
    >>> is_formula_like("=HYPERLINK(\\"x\\")"), is_formula_like("Sales"), is_formula_like(-5)
    (True, False, False)
    """
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def inert_cell(value: Any) -> Any:
    """``value`` safe to write into a CSV or workbook cell: formula-like text gets a ``'``.

    Numbers, dates and other text are returned unchanged.

    Example
    -------
    >>> inert_cell("=1+1"), inert_cell("@SUM(A1)"), inert_cell("North"), inert_cell(3.5)
    ("'=1+1", "'@SUM(A1)", 'North', 3.5)
    """
    return "'" + value if is_formula_like(value) else value


def inert_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) are made inert with :func:`inert_cell`.

    Example
    -------
    >>> import pandas as pd
    >>> inert_frame(pd.DataFrame({"team": ["=cmd", "East"], "n": [1, 2]}))["team"].tolist()
    ["'=cmd", 'East']
    """
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            mask = series.map(is_formula_like).astype(bool)
            if mask.any():
                out[column] = series.astype(object).where(~mask, series[mask].map(inert_cell))
    out.columns = [inert_cell(c) for c in out.columns]
    return out
