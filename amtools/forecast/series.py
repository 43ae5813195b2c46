"""Monthly sales series per company, segment, team and manager, as one long frame."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.problems import DataValidationError, Problem
from amtools.core.vocab import LEVELS as FINEST_FIRST
from amtools.core.vocab import NO_TEAM

__all__ = ["LEVELS", "BOTTOM", "monthly_series", "hierarchy_of", "series_level", "check_series"]

LEVELS: tuple[str, ...] = tuple(reversed(FINEST_FIRST))
"""Hierarchy levels, top to bottom (:data:`amtools.core.vocab.LEVELS` reversed);
``unique_id`` is ``"<level>/<key>"`` (``"company"`` alone).

Example
-------
>>> LEVELS
('company', 'segment', 'team', 'manager')
"""

BOTTOM: str = FINEST_FIRST[0]
"""The bottom level of the hierarchy (managers): the series reconciliation adds up."""


def series_level(unique_id: str) -> str:
    """Return the hierarchy level encoded in a ``unique_id``.

    Example
    -------
    >>> series_level("team/North"), series_level("company")
    ('team', 'company')
    """
    level = str(unique_id).split("/", 1)[0]
    return level if level in LEVELS else "other"


def _month_start(values: pd.Series) -> pd.Series:
    return values.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")


def _resolve_end(dataset: Dataset, won: pd.DataFrame, end: object) -> pd.Timestamp:
    if end is None:
        end = dataset.meta.get("period_end")
    if end is None:
        if won.empty:
            raise DataValidationError(
                [
                    Problem(
                        "deals",
                        "stage",
                        "no_won_deals",
                        "there are no won deals with a closed_date, so there is no sales history",
                        0,
                        fix="load deals with stage 'won' and a closed_date, or pass end=",
                    )
                ]
            )
        end = won["closed_date"].max()
    try:
        stamp = pd.Timestamp(end)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(f"end={end!r} is not a date; pass e.g. '2026-09-30'") from None
    return pd.Timestamp(stamp.to_period("M").start_time)


def hierarchy_of(series: pd.DataFrame) -> pd.DataFrame:
    """Return the manager hierarchy stored by :func:`monthly_series` on its result.

    Columns: ``unique_id`` (``"manager/<id>"``), ``segment``, ``team``. Empty when the
    frame carries no hierarchy (e.g. series built by hand).

    Example
    -------
    >>> hierarchy_of(pd.DataFrame(columns=["unique_id", "level", "ds", "y"])).columns.tolist()
    ['unique_id', 'segment', 'team']
    """
    stored = series.attrs.get("hierarchy")
    if not stored:
        return pd.DataFrame(
            {c: pd.Series(dtype="string") for c in ("unique_id", "segment", "team")}
        )
    return pd.DataFrame(stored, columns=["unique_id", "segment", "team"]).astype("string")


def check_series(series: pd.DataFrame) -> pd.DataFrame:
    """The forecast input as ``unique_id, level, ds, y``, sorted; refuses gaps and bad values.

    ``ds`` is moved to month starts; ``level`` is taken from the frame when present, else
    from the ``unique_id`` (:func:`series_level`).

    Raises
    ------
    ParameterError
        Missing columns, non-dates, missing or non-numeric ``y``, duplicate or skipped months.

    Example
    -------
    >>> s = pd.DataFrame({"unique_id": "company", "ds": ["2025-01-15", "2025-02-03"], "y": [1, 2]})
    >>> check_series(s)["ds"].dt.strftime("%Y-%m-%d").tolist()
    ['2025-01-01', '2025-02-01']
    """
    missing = [c for c in ("unique_id", "ds", "y") if c not in series.columns]
    if missing:
        raise ParameterError(
            f"series lacks column(s) {missing}; expected a long frame with unique_id, ds, y "
            "(build one with amtools.forecast.monthly_series)"
        )
    frame = series[["unique_id", "ds", "y"]].copy()
    frame["unique_id"] = frame["unique_id"].astype("string")
    try:
        frame["ds"] = (
            pd.to_datetime(frame["ds"]).dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
        )
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"series.ds must hold dates (monthly); {exc}") from None
    frame["y"] = pd.to_numeric(frame["y"], errors="coerce").astype("float64")
    bad = frame["y"].isna()
    if bad.any():
        rows = frame.loc[bad, ["unique_id", "ds"]].head(5).astype(str).agg(" ".join, axis=1)
        raise ParameterError(
            f"series.y has {int(bad.sum())} missing/non-numeric value(s) (e.g. {', '.join(rows)}); "
            "months without sales must be 0"
        )
    dup = frame.duplicated(["unique_id", "ds"])
    if dup.any():
        rows = frame.loc[dup, ["unique_id", "ds"]].head(5).astype(str).agg(" ".join, axis=1)
        raise ParameterError(
            f"series has duplicate months (e.g. {', '.join(rows)}); aggregate them first"
        )
    frame = frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    months = frame["ds"].dt.year * 12 + frame["ds"].dt.month
    gaps = months.groupby(frame["unique_id"]).diff().fillna(1) != 1
    if gaps.any():
        uids = frame.loc[gaps, "unique_id"].unique()[:5]
        raise ParameterError(
            f"series {', '.join(map(str, uids))} skip months; fill missing months with y = 0"
        )
    if "level" in series.columns:
        levels = series[["unique_id", "level"]].drop_duplicates("unique_id")
        levels = levels.assign(unique_id=levels["unique_id"].astype("string"))
        frame = frame.merge(levels, on="unique_id", how="left")
        frame["level"] = (
            frame["level"].astype("string").fillna(frame["unique_id"].map(series_level))
        )
    else:
        frame["level"] = frame["unique_id"].map(series_level).astype("string")
    return frame[["unique_id", "level", "ds", "y"]]


def monthly_series(
    dataset: Dataset,
    target: Literal["revenue", "deals"] = "revenue",
    *,
    end: object = None,
) -> pd.DataFrame:
    """Monthly won revenue (or won-deal counts) for the company, segments, teams and managers.

    Won deals are placed in the month of their ``closed_date``; a manager's deals count
    for the manager's segment and team (from ``managers``), so every level adds up.
    Months without sales are 0, not missing. Every series runs from the first month with
    a won deal to ``end``; a manager who joined later starts at the month of
    ``hire_date`` (or of their first deal when ``hire_date`` is unknown).

    Parameters
    ----------
    dataset : a :class:`~amtools.core.dataset.Dataset` with ``managers`` and ``deals``.
    target : ``"revenue"`` (sum of won ``amount``) or ``"deals"`` (number of won deals).
    end : last month of the series (any date inside it). Default: ``dataset.meta["period_end"]``
        when present, else the month of the last won deal. Deals closed later are left out.

    Returns
    -------
    DataFrame with columns ``unique_id`` (``"company"``, ``"segment/B2B"``, ``"team/<team>"``,
    ``"manager/<manager_id>"``), ``level``, ``ds`` (month start) and ``y`` (float).
    The manager -> segment/team map is kept in ``frame.attrs["hierarchy"]``
    (see :func:`hierarchy_of`) so :func:`amtools.forecast.forecast` can reconcile.

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> s = monthly_series(make_demo(seed=0), "revenue")  # doctest: +SKIP
    >>> s.query("unique_id == 'company'").tail(3)  # doctest: +SKIP
    """
    if target not in ("revenue", "deals"):
        raise ParameterError(f"target must be 'revenue' or 'deals', got {target!r}")
    managers, deals = _tables(dataset)

    stage = deals["stage"].astype("string").str.lower()
    won_mask = (stage == "won").fillna(False).to_numpy(dtype=bool)
    won = (
        deals.loc[won_mask, ["deal_id", "manager_id", "amount", "closed_date"]].copy()
        if "deal_id" in deals
        else deals.loc[won_mask, ["manager_id", "amount", "closed_date"]].copy()
    )
    won["closed_date"] = pd.to_datetime(won["closed_date"], errors="coerce")
    undated = won["closed_date"].isna()
    problems: list[str] = []
    if undated.any():
        ids = won.loc[undated, "deal_id"].astype(str).head(5).tolist() if "deal_id" in won else []
        msg = (
            f"deals: {int(undated.sum())} won deal(s) have no closed_date and are left out of the "
            f"monthly series (e.g. {', '.join(ids)}); fill deals.closed_date to include them"
        )
        problems.append(msg)
        warnings.warn(msg, stacklevel=2)
        won = won.loc[~undated]

    end_month = _resolve_end(dataset, won, end)
    won = won.loc[won["closed_date"] < end_month + pd.offsets.MonthBegin(1)]
    _check_won(won, managers, end_month)

    won["ds"] = _month_start(won["closed_date"])
    won["value"] = 1.0 if target == "deals" else won["amount"].astype("float64")
    start = won["ds"].min()
    months = pd.date_range(start, end_month, freq="MS").astype("datetime64[ns]")

    info = managers[["manager_id", "segment"]].copy()
    info["manager_id"] = info["manager_id"].astype("string")
    info["segment"] = info["segment"].astype("string")
    info["team"] = (
        managers["team"].astype("string").fillna(NO_TEAM)
        if "team" in managers
        else pd.Series(NO_TEAM, index=managers.index, dtype="string")
    )
    has_team_level = "team" in managers and managers["team"].notna().any()

    won["manager_id"] = won["manager_id"].astype("string")
    per_manager = (
        won.groupby(["manager_id", "ds"], observed=True)["value"].sum().unstack("manager_id")
    )
    per_manager = per_manager.reindex(index=months).fillna(0.0)
    # Managers without any won deal still get a (zero) series: they are part of the team.
    for mid in info["manager_id"]:
        if mid not in per_manager.columns:
            per_manager[mid] = 0.0
    per_manager = per_manager[list(info["manager_id"])]

    first_month = _manager_start(managers, deals, won, start)

    seg_of = dict(zip(info["manager_id"], info["segment"], strict=True))
    team_of = dict(zip(info["manager_id"], info["team"], strict=True))
    blocks = _blocks(
        per_manager, seg_of, team_of if has_team_level else None, first_month, start, end_month
    )
    out = pd.concat(blocks, ignore_index=True)
    out["unique_id"] = out["unique_id"].astype("string")
    out["level"] = out["level"].astype("string")
    out["ds"] = out["ds"].astype("datetime64[ns]")
    out.attrs["hierarchy"] = [
        (f"{BOTTOM}/{m}", seg_of[m], team_of[m] if has_team_level else None)
        for m in per_manager.columns
        if (out["unique_id"] == f"{BOTTOM}/{m}").any()
    ]
    out.attrs["target"] = target
    out.attrs["problems"] = problems
    return out


def _tables(dataset: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The managers and deals tables, refused without the columns the series need."""
    for name in ("managers", "deals"):
        if name not in dataset:
            raise DataValidationError(
                [
                    Problem(
                        name,
                        None,
                        "missing_table",
                        f"table {name} is required",
                        0,
                        fix=f"load a {name} table",
                    )
                ]
            )
    managers = dataset["managers"]
    deals = dataset["deals"]
    for col in ("manager_id", "stage", "amount", "closed_date"):
        if col not in deals.columns:
            raise DataValidationError(
                [
                    Problem(
                        "deals",
                        col,
                        "missing_column",
                        f"column deals.{col} is required for sales series",
                        0,
                        fix=f"map a source column to {col}",
                        args={"columns": col, "first": col},
                    )
                ]
            )
    return managers, deals


def _check_won(won: pd.DataFrame, managers: pd.DataFrame, end_month: pd.Timestamp) -> None:
    """Refuse an empty sales history and won deals of managers the managers table lacks."""
    if won.empty:
        raise DataValidationError(
            [
                Problem(
                    "deals",
                    "closed_date",
                    "no_won_deals",
                    f"no won deals closed on or before {end_month:%Y-%m}",
                    0,
                    fix="check the stage/closed_date columns or pass a later end=",
                )
            ]
        )

    known = set(managers["manager_id"].astype(str))
    unknown = sorted(set(won["manager_id"].astype(str)) - known)
    if unknown:
        raise DataValidationError(
            [
                Problem(
                    "deals",
                    "manager_id",
                    "unknown_reference",
                    "won deals refer to managers absent from the managers table",
                    len(unknown),
                    tuple(unknown[:5]),
                    fix="add these managers to the managers table or correct deals.manager_id",
                    args={
                        "ref_table": "managers",
                        "ref_column": "manager_id",
                        "ids": ", ".join(unknown[:5]),
                    },
                )
            ]
        )


def _blocks(
    per_manager: pd.DataFrame,
    seg_of: dict[str, str],
    team_of: dict[str, str] | None,
    first_month: dict[str, pd.Timestamp],
    start: pd.Timestamp,
    end_month: pd.Timestamp,
) -> list[pd.DataFrame]:
    """One long frame per series: company, segments, teams (when ``team_of``), managers."""
    company, segment_level, team_level, manager = LEVELS
    blocks: list[pd.DataFrame] = []

    def add(uid: str, level: str, values: pd.Series, since: pd.Timestamp = start) -> None:
        values = values.loc[values.index >= since]
        blocks.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "level": level,
                    "ds": values.index,
                    "y": values.to_numpy(dtype="float64"),
                }
            )
        )

    add(company, company, per_manager.sum(axis=1))
    for segment in sorted(set(seg_of.values())):
        cols = [m for m in per_manager.columns if seg_of[m] == segment]
        add(f"{segment_level}/{segment}", segment_level, per_manager[cols].sum(axis=1))
    if team_of is not None:
        for team in sorted(set(team_of.values())):
            cols = [m for m in per_manager.columns if team_of[m] == team]
            add(f"{team_level}/{team}", team_level, per_manager[cols].sum(axis=1))
    for mid in per_manager.columns:
        since = max(start, first_month.get(mid, start))
        # Revenue a manager booked before the recorded start still belongs to their series.
        booked = per_manager.index[per_manager[mid].to_numpy() != 0]
        if len(booked):
            since = min(since, booked.min())
        if since > end_month:
            continue
        add(f"{manager}/{mid}", manager, per_manager[mid], since)
    return blocks


def _manager_start(
    managers: pd.DataFrame, deals: pd.DataFrame, won: pd.DataFrame, start: pd.Timestamp
) -> dict[str, pd.Timestamp]:
    """Month each manager's series starts: hire month, else the month of their first deal."""
    first: dict[str, pd.Timestamp] = {}
    if "created_date" in deals:
        created = pd.to_datetime(deals["created_date"], errors="coerce")
        by_created = created.groupby(deals["manager_id"].astype("string")).min()
        for mid, when in by_created.items():
            if pd.notna(when):
                first[str(mid)] = when
    for mid, when in won.groupby("manager_id")["closed_date"].min().items():
        if pd.notna(when):
            first[str(mid)] = min(first.get(str(mid), when), when)
    if "hire_date" in managers:
        hire = pd.to_datetime(managers["hire_date"], errors="coerce")
        for mid, when in zip(managers["manager_id"].astype("string"), hire, strict=True):
            if pd.notna(when):
                first[str(mid)] = when
    result = {}
    for mid, when in first.items():
        month = pd.Timestamp(pd.Timestamp(when).to_period("M").start_time)
        result[mid] = max(month, start) if not np.isnat(np.datetime64(month)) else start
    return result
