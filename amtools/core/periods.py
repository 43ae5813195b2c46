"""Reporting periods: parsing labels, the last complete quarter, fiscal years."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

__all__ = [
    "FREQS",
    "period_freq",
    "parse_period",
    "period_label",
    "last_complete_quarter",
    "last_complete_period",
]

FREQS = ("M", "Q", "Y")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def period_freq(freq: str, fiscal_year_start: int = 1) -> str:
    """Return the pandas Period frequency for ``freq`` ("M", "Q", "Y").

    With ``fiscal_year_start`` = 4 (April), quarters and years end in March ("Q-MAR", "Y-MAR").

    Example
    -------
    >>> period_freq("Q", fiscal_year_start=4)
    'Q-MAR'
    """
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}, got {freq!r}")
    if not 1 <= fiscal_year_start <= 12:
        raise ValueError(f"fiscal_year_start must be a month 1..12, got {fiscal_year_start!r}")
    if freq == "M":
        return "M"
    end = _MONTHS[(fiscal_year_start - 2) % 12]
    return f"{'Q' if freq == 'Q' else 'Y'}-{end}"


def parse_period(label: str | pd.Period, fiscal_year_start: int = 1) -> pd.Period:
    """Parse ``"2026Q3"``, ``"2026-07"`` or ``"2026"`` into a :class:`pandas.Period`.

    Example
    -------
    >>> parse_period("2026Q3")
    Period('2026Q3', 'Q-DEC')
    """
    if isinstance(label, pd.Period):
        return label
    text = str(label).strip().upper()
    if re.fullmatch(r"\d{4}Q[1-4]", text):
        return pd.Period(text, freq=period_freq("Q", fiscal_year_start))
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return pd.Period(text, freq="M")
    if re.fullmatch(r"\d{4}", text):
        return pd.Period(text, freq=period_freq("Y", fiscal_year_start))
    raise ValueError(
        f"cannot parse period {label!r}: use 2026Q3 (quarter), 2026-07 (month) or 2026 (year)"
    )


def period_label(period: pd.Period) -> str:
    """Return the canonical label of a period: ``2026Q3``, ``2026-07`` or ``2026``."""
    base = period.freqstr.split("-")[0]
    if base.startswith("Q"):
        return f"{period.qyear}Q{period.quarter}"
    if base.startswith("M"):
        return f"{period.year:04d}-{period.month:02d}"
    return f"{period.qyear if hasattr(period, 'qyear') else period.year}"


def last_complete_period(
    freq: str = "Q", today: dt.date | None = None, fiscal_year_start: int = 1
) -> pd.Period:
    """The last period of ``freq`` that ended before ``today``.

    Example
    -------
    >>> period_label(last_complete_period("Q", dt.date(2026, 11, 26)))
    '2026Q3'
    """
    today = today or dt.date.today()
    current = pd.Period(pd.Timestamp(today), freq=period_freq(freq, fiscal_year_start))
    return current - 1


def last_complete_quarter(today: dt.date | None = None, fiscal_year_start: int = 1) -> pd.Period:
    """The last quarter that ended before ``today``."""
    return last_complete_period("Q", today, fiscal_year_start)
