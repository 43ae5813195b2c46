"""Period labels, fiscal years and the last complete quarter."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from amtools.core.periods import (
    last_complete_period,
    last_complete_quarter,
    parse_period,
    period_freq,
    period_label,
)


@pytest.mark.parametrize("label", ["2026Q3", "2026-07", "2026"])
def test_round_trip(label: str) -> None:
    assert period_label(parse_period(label)) == label


def test_last_complete_quarter() -> None:
    assert period_label(last_complete_quarter(dt.date(2026, 11, 26))) == "2026Q3"
    # On the first day of a quarter the previous one has just completed.
    assert period_label(last_complete_quarter(dt.date(2026, 10, 1))) == "2026Q3"
    assert period_label(last_complete_quarter(dt.date(2026, 1, 15))) == "2025Q4"
    assert period_label(last_complete_period("M", dt.date(2026, 3, 1))) == "2026-02"


def test_fiscal_year_starting_in_april() -> None:
    assert period_freq("Q", 4) == "Q-MAR"
    q1 = parse_period("2026Q1", fiscal_year_start=4)
    # pandas names fiscal years by the calendar year they end in: FY2026 runs Apr 2025..Mar 2026.
    assert q1.start_time == pd.Timestamp("2025-04-01")
    assert period_label(q1) == "2026Q1"


def test_bad_labels_explain_the_format() -> None:
    with pytest.raises(ValueError, match="2026Q3"):
        parse_period("Q3-2026")
    with pytest.raises(ValueError, match="1..12"):
        period_freq("Q", 13)
