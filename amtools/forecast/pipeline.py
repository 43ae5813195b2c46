"""The open-deal pipeline by expected close month, to sit beside the statistical forecast."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.problems import DataValidationError, Problem

__all__ = ["pipeline_view"]


def pipeline_view(dataset: Dataset, *, months: int = 3, asof: object = None) -> pd.DataFrame:
    """Open deals weighted by win probability, per expected close month and segment.

    Covers the ``months`` calendar months after ``asof``. Open deals whose expected close
    date has already passed are counted in the first month (they have slipped, not vanished);
    open deals without ``probability`` use the segment's historical win rate (won / closed);
    open deals without ``expected_close_date`` (or without the column) are left out with a
    warning. Only ``stage`` and ``amount`` are required; ``out.attrs`` tells the reports how
    many open deals were undated (``undated_open_deals``) and which optional columns the
    deals table lacks (``missing_columns``).

    Parameters
    ----------
    dataset : a Dataset with ``deals`` (and ``managers`` for the segment).
    months : how many months ahead (1..24).
    asof : date the pipeline is read at; default ``dataset.meta["period_end"]``, else the
        latest date in ``deals``.

    Returns
    -------
    DataFrame ``ds`` (month start), ``segment``, ``weighted_pipeline`` (sum of amount x
    probability), ``open_amount``, ``n_deals`` (Int64), ``n_overdue`` (Int64) — one row per
    month and segment, zeros included.

    Example
    -------
    >>> pipeline_view(make_demo(seed=0), months=3)  # doctest: +SKIP
    """
    if not 1 <= int(months) <= 24:
        raise ParameterError(f"months must be between 1 and 24, got {months}")
    deals = _deals_table(dataset)
    first = _asof(dataset, deals, asof).to_period("M") + 1
    month_index = pd.period_range(first, periods=int(months), freq="M")
    segment, segments = _segments(dataset, deals)

    stage = deals["stage"].astype("string").str.lower()
    won = (stage == "won").fillna(False).to_numpy(dtype=bool)
    lost = (stage == "lost").fillna(False).to_numpy(dtype=bool)
    is_open = (stage == "open").fillna(False).to_numpy(dtype=bool)

    # Historical win rate per segment stands in for a missing probability.
    win_rate = {}
    for seg in segments:
        seg_mask = (segment == seg).to_numpy()
        closed = int((won & seg_mask).sum() + (lost & seg_mask).sum())
        win_rate[seg] = float((won & seg_mask).sum() / closed) if closed else 0.0

    open_deals = _open_deals(deals, is_open, segment)
    undated = open_deals["expected"].isna()
    n_undated = int(undated.sum())
    if undated.any():
        warnings.warn(
            f"deals: {int(undated.sum())} open deal(s) have no expected_close_date and are left out "
            "of the pipeline view; fill deals.expected_close_date to include them",
            stacklevel=2,
        )
        open_deals = open_deals.loc[~undated]
    open_deals["probability"] = open_deals["probability"].fillna(
        open_deals["segment"].map(win_rate)
    )
    month = pd.PeriodIndex(open_deals["expected"], freq="M")
    overdue = month < first
    open_deals["month"] = pd.Series(month, index=open_deals.index).where(~overdue, first)
    open_deals["overdue"] = overdue
    open_deals["weighted"] = open_deals["amount"] * open_deals["probability"]

    out = _by_month(open_deals, month_index, segments)
    # Why deals are missing from the view, for the reports to say so in one line.
    out.attrs["undated_open_deals"] = n_undated
    out.attrs["missing_columns"] = [
        c for c in ("expected_close_date", "probability") if c not in deals
    ]
    return out


def _deals_table(dataset: Dataset) -> pd.DataFrame:
    """The deals table, refused without its ``stage`` and ``amount`` columns."""
    if "deals" not in dataset:
        raise DataValidationError(
            [
                Problem(
                    "deals",
                    None,
                    "missing_table",
                    "table deals is required",
                    0,
                    fix="load a deals table",
                )
            ]
        )
    deals = dataset["deals"]
    for col in ("stage", "amount"):
        if col not in deals.columns:
            raise DataValidationError(
                [
                    Problem(
                        "deals",
                        col,
                        "missing_column",
                        f"column deals.{col} is required",
                        0,
                        fix=f"map a source column to {col}",
                        args={"columns": col, "first": col},
                    )
                ]
            )
    return deals


def _asof(dataset: Dataset, deals: pd.DataFrame, asof: object) -> pd.Timestamp:
    """The date the pipeline is read at: ``asof``, the period end, else the latest deal date."""
    if asof is None:
        asof = dataset.meta.get("period_end")
    if asof is None:
        dates = [
            pd.to_datetime(deals[c], errors="coerce")
            for c in ("created_date", "closed_date")
            if c in deals
        ]
        asof = max((d.max() for d in dates if d.notna().any()), default=pd.Timestamp.today())
    try:
        return pd.Timestamp(asof)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(f"asof={asof!r} is not a date; pass e.g. '2026-09-30'") from None


def _segments(dataset: Dataset, deals: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Each deal's segment (its manager's, ``"unknown"`` when not known) and all segments."""
    managers = dataset.get("managers")
    segment_of: dict[str, str] = {}
    if managers is not None and "segment" in managers:
        segment_of = dict(
            zip(
                managers["manager_id"].astype(str),
                managers["segment"].astype("string").fillna("unknown").astype(str),
                strict=True,
            )
        )
    segment = (
        deals["manager_id"].astype(str).map(segment_of)
        if "manager_id" in deals
        else pd.Series(np.nan, index=deals.index)
    )
    segment = segment.astype("object").where(segment.notna(), "unknown").astype(str)
    return segment, sorted(set(segment_of.values()) | set(segment.unique()))


def _open_deals(deals: pd.DataFrame, is_open: np.ndarray, segment: pd.Series) -> pd.DataFrame:
    """The open deals' segment, amount, probability and expected close date (NaN/NaT if absent)."""
    n_open = int(is_open.sum())
    open_rows = deals.loc[is_open]

    def _floats(column: str) -> np.ndarray:
        if column not in deals:
            return np.full(n_open, np.nan, dtype="float64")
        values = pd.to_numeric(open_rows[column], errors="coerce")
        return values.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)

    if "expected_close_date" in deals:
        expected = pd.to_datetime(open_rows["expected_close_date"], errors="coerce")
        if isinstance(expected.dtype, pd.DatetimeTZDtype):
            expected = expected.dt.tz_convert("UTC").dt.tz_localize(None)
        expected_values = expected.to_numpy(dtype="datetime64[ns]")
    else:
        expected_values = np.full(n_open, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "segment": segment[is_open].to_numpy(),
            "amount": _floats("amount"),
            "probability": _floats("probability"),
            "expected": pd.to_datetime(pd.Series(expected_values, dtype="datetime64[ns]")),
        }
    )


def _by_month(
    open_deals: pd.DataFrame, month_index: pd.PeriodIndex, segments: list[str]
) -> pd.DataFrame:
    """One row per month and segment: weighted pipeline, open amount, deals, overdue deals."""
    rows = []
    for period in month_index:
        for seg in segments:
            sel = open_deals.loc[(open_deals["month"] == period) & (open_deals["segment"] == seg)]
            rows.append(
                {
                    "ds": period.start_time,
                    "segment": seg,
                    "weighted_pipeline": float(sel["weighted"].sum()),
                    "open_amount": float(sel["amount"].sum()),
                    "n_deals": len(sel),
                    "n_overdue": int(sel["overdue"].sum()),
                }
            )
    out = pd.DataFrame(rows)
    out["ds"] = out["ds"].astype("datetime64[ns]")
    out["segment"] = out["segment"].astype("string")
    out["n_deals"] = out["n_deals"].astype("Int64")
    out["n_overdue"] = out["n_overdue"].astype("Int64")
    return out
