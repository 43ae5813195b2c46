"""The fiscal calendar of the budget: a fiscal year's months, the next one, the horizon it needs.

Fiscal years follow :mod:`amtools.core.periods` (pandas): a fiscal year is labelled by the
calendar year it ends in.
"""

from __future__ import annotations

import pandas as pd

from amtools.core.periods import period_freq

__all__ = [
    "fiscal_year_months",
    "fiscal_year_of",
    "month_label",
    "next_fiscal_year",
    "required_horizon",
]


def fiscal_year_months(fiscal_year: int, fiscal_year_start: int = 1) -> list[pd.Timestamp]:
    """The 12 month starts of ``fiscal_year``.

    Fiscal years follow :mod:`amtools.core.periods` (pandas): a fiscal year is labelled by the
    calendar year it ends in, so with ``fiscal_year_start=4`` FY2027 runs April 2026 - March 2027.

    Example
    -------
    >>> [m.strftime("%Y-%m") for m in fiscal_year_months(2027, 4)][:2]
    ['2026-04', '2026-05']
    """
    period = pd.Period(str(int(fiscal_year)), freq=period_freq("Y", fiscal_year_start))
    return list(pd.date_range(period.start_time.normalize(), periods=12, freq="MS"))


def next_fiscal_year(history_end: pd.Timestamp | str, fiscal_year_start: int = 1) -> int:
    """The first fiscal year that starts after the month of ``history_end``.

    Example
    -------
    >>> next_fiscal_year("2026-09-30"), next_fiscal_year("2026-09-30", fiscal_year_start=10)
    (2027, 2027)
    """
    first = pd.Timestamp(history_end).to_period("M").start_time + pd.offsets.MonthBegin(1)
    year = fiscal_year_of(first, fiscal_year_start)
    if fiscal_year_months(year, fiscal_year_start)[0] < first:
        year += 1
    return year


def required_horizon(
    history_end: pd.Timestamp | str,
    fiscal_year_start: int = 1,
    fiscal_year: int | None = None,
) -> int:
    """Forecast months needed after ``history_end`` so :func:`plan` covers the fiscal year.

    Use it to size the forecast: ``forecast(series, h=max(12, required_horizon(end, fys)))``.

    Example
    -------
    >>> required_horizon("2026-09-30"), required_horizon("2026-12-31")
    (15, 12)
    """
    year = next_fiscal_year(history_end, fiscal_year_start) if fiscal_year is None else fiscal_year
    last = fiscal_year_months(int(year), fiscal_year_start)[-1].to_period("M")
    return max(0, (last - pd.Timestamp(history_end).to_period("M")).n)


def fiscal_year_of(month: pd.Timestamp, fiscal_year_start: int) -> int:
    """The label of the fiscal year ``month`` falls in.

    Example
    -------
    >>> fiscal_year_of(pd.Timestamp("2026-05-01"), 4)
    2027
    """
    return int(pd.Period(month, freq=period_freq("Y", fiscal_year_start)).qyear)


def month_label(ts: pd.Timestamp) -> str:
    """A month as ``YYYY-MM`` (how the budget's messages and assumptions name months).

    Example
    -------
    >>> month_label(pd.Timestamp("2027-04-01"))
    '2027-04'
    """
    return ts.strftime("%Y-%m")
