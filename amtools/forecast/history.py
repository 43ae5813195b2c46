"""How right were we: the accuracy of forecasts made at past quarter ends, per level and lead.

Two sources of past forecasts are scored the same way (:func:`score_forecasts`):

* **backfilled** (:func:`backfill_forecasts`): for each of the last quarter ends with enough
  history before it, :func:`amtools.forecast.forecast` is run (the run's model options, the
  defaults of ``params/policy/forecast.yaml`` unless overridden; the same reconciliation) on
  the data up to that month, as if it had been run then;
* **as made**: the forecasts earlier runs stored in the forecast archive (read by the loading
  layer, :mod:`amtools.loading.archive`) whose target months now have actuals.

Each forecast month is compared with what happened at lead times (months after the origin)
1, 3 and 6: MASE (absolute error over the in-sample seasonal-naive error of the history up to
the origin, as in the backtests), sMAPE in percent and whether the actual fell inside the
80 % and 95 % intervals. Everything here is pure: frames in, frames out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import AmtoolsError
from amtools.core.machine import usable_cpus
from amtools.forecast.engine import forecast
from amtools.forecast.metrics import mase_scale
from amtools.forecast.series import LEVELS, check_series

__all__ = [
    "AccuracyHistory",
    "DETAIL_COLUMNS",
    "SUMMARY_COLUMNS",
    "accuracy_history",
    "backfill_forecasts",
    "lead_of",
    "quarter_origins",
    "score_forecasts",
    "summarise_accuracy",
]

DETAIL_COLUMNS = (
    "origin",
    "level",
    "key",
    "unique_id",
    "lead",
    "mase",
    "smape",
    "coverage_80",
    "coverage_95",
    "n",
)
"""Columns of the scored detail: one row per origin, series and lead."""

SUMMARY_COLUMNS = (
    "level",
    "lead",
    "mase",
    "smape",
    "coverage_80",
    "coverage_95",
    "n",
    "series",
    "origins",
)
"""Columns of the summary: one row per level and lead."""

_FORECAST_COLUMNS = ("origin", "unique_id", "level", "ds", "lead", "model", "yhat")


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True)
class AccuracyHistory:
    """The accuracy history shown in the forecast report.

    Attributes
    ----------
    detail : backfilled accuracy, :data:`DETAIL_COLUMNS` (one row per origin, series, lead).
    summary : backfilled accuracy per level and lead, :data:`SUMMARY_COLUMNS`.
    forecasts : the backfilled forecasts with their actuals (origin, unique_id, level, ds,
        lead, model, yhat, lo_<level>, hi_<level>, actual) — for "forecast vs actual" charts.
    origins : the quarter ends backfilled (month starts of their last month), oldest first.
    leads : the lead times scored.
    as_made : the same detail for the forecasts stored by earlier runs (empty until some of
        their target months have actuals).
    as_made_summary : their summary per level and lead.
    archive : where the forecast archive is (empty when there is none).
    archive_note : why the archive could not be written or read (empty when it could), in
        the words of :mod:`amtools.core.messages` (a Message or text).
    """

    detail: pd.DataFrame
    summary: pd.DataFrame
    forecasts: pd.DataFrame = field(default_factory=pd.DataFrame)
    origins: tuple[pd.Timestamp, ...] = ()
    leads: tuple[int, ...] = ()
    as_made: pd.DataFrame = field(default_factory=lambda: _empty(DETAIL_COLUMNS))
    as_made_summary: pd.DataFrame = field(default_factory=lambda: _empty(SUMMARY_COLUMNS))
    archive: str = ""
    archive_note: Any = ""

    @classmethod
    def empty(cls, leads: Sequence[int] = ()) -> AccuracyHistory:
        """No backfilled history (e.g. it was not computed); as-made parts may be added.

        Example
        -------
        >>> AccuracyHistory.empty((1, 3)).summary.empty
        True
        """
        return cls(
            _empty(DETAIL_COLUMNS), _empty(SUMMARY_COLUMNS), leads=tuple(int(v) for v in leads)
        )


def lead_of(origin: pd.Series | pd.Timestamp, target: pd.Series | pd.Timestamp) -> Any:
    """Months from ``origin`` (the last month of data) to ``target`` (1 = the next month).

    Example
    -------
    >>> lead_of(pd.Timestamp("2026-06-01"), pd.Timestamp("2026-09-01"))
    3
    """
    if isinstance(origin, pd.Series) or isinstance(target, pd.Series):
        o = pd.to_datetime(pd.Series(origin))
        t = pd.to_datetime(pd.Series(target))
        return (t.dt.year - o.dt.year) * 12 + (t.dt.month - o.dt.month)
    return (target.year - origin.year) * 12 + (target.month - origin.month)


def quarter_origins(series: pd.DataFrame, n: int, min_history: int) -> list[pd.Timestamp]:
    """The last ``n`` quarter ends before the series end with ``min_history`` months before.

    An origin is the month start of a quarter's last month (March, June, September,
    December); the series' own last month is not one (nothing after it has happened yet).

    Example
    -------
    >>> ds = pd.date_range("2024-01-01", "2026-09-01", freq="MS")
    >>> s = pd.DataFrame({"unique_id": "company", "ds": ds, "y": 1.0})
    >>> [f"{o:%Y-%m}" for o in quarter_origins(s, 4, 24)]
    ['2025-12', '2026-03', '2026-06']
    """
    ds = pd.to_datetime(series["ds"])
    if ds.empty:
        return []
    first = ds.min().to_period("M")
    last = ds.max().to_period("M")
    found: list[pd.Timestamp] = []
    month = last - 1
    while len(found) < n and (month - first).n + 1 >= min_history:
        if month.month % 3 == 0:
            found.append(month.start_time)
        month -= 1
    return sorted(found)


def _cut(series: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """The series as they stood at ``origin``: months up to it, managers that existed then."""
    cut = series.loc[pd.to_datetime(series["ds"]) <= origin].reset_index(drop=True)
    present = set(cut["unique_id"].astype(str))
    cut.attrs = dict(series.attrs)
    if series.attrs.get("hierarchy"):
        cut.attrs["hierarchy"] = [h for h in series.attrs["hierarchy"] if str(h[0]) in present]
    return cut


def backfill_forecasts(
    series: pd.DataFrame,
    origins: Sequence[pd.Timestamp],
    leads: Sequence[int] = (1, 3, 6),
    *,
    n_jobs: int = 1,
    options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The forecasts :func:`~amtools.forecast.forecast` would have made at each origin.

    For each origin the series are cut after that month (managers who had not started yet
    are left out, the hierarchy with them) and forecast ``max(leads)`` months ahead (fewer
    when the data ends sooner) with ``options`` (keywords of ``forecast``; default: the
    settings of params/policy/forecast.yaml). Only the requested leads whose months are in
    the data are kept.

    Returns
    -------
    DataFrame: origin, unique_id, level, ds, lead, model, yhat, lo_<level>, hi_<level>.

    Example
    -------
    >>> fc = backfill_forecasts(series, [pd.Timestamp("2026-06-01")], (1, 3))  # doctest: +SKIP
    >>> sorted(fc["lead"].unique())  # doctest: +SKIP
    [1, 3]
    """
    frame = check_series(series)
    end = frame["ds"].max()
    wanted = sorted({int(v) for v in leads})
    parts: list[pd.DataFrame] = []
    for origin in origins:
        origin = pd.Timestamp(origin)
        due = [lead for lead in wanted if lead <= lead_of(origin, end)]
        if not due:
            continue
        cut = _cut(series, origin)
        result = forecast(cut, h=max(due), n_jobs=n_jobs, **dict(options or {}))
        fc = result.forecast.copy()
        fc["lead"] = lead_of(pd.Series([origin] * len(fc)), fc["ds"].reset_index(drop=True))
        fc = fc[fc["lead"].isin(due)]
        parts.append(fc.assign(origin=origin))
    if not parts:
        return _empty(_FORECAST_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    rest = [c for c in out.columns if c not in _FORECAST_COLUMNS]
    out["lead"] = out["lead"].astype("int64")
    return out[[*_FORECAST_COLUMNS, *rest]]


def _scales(actuals: pd.DataFrame, pairs: pd.DataFrame, season_length: int) -> pd.Series:
    """MASE scale per (unique_id, origin): seasonal-naive in-sample MAE up to the origin."""
    by_id = {
        uid: (g["ds"].to_numpy(), g["y"].to_numpy(dtype="float64"))
        for uid, g in actuals.sort_values("ds").groupby("unique_id", sort=False)
    }
    values = []
    for uid, origin in zip(pairs["unique_id"], pairs["origin"], strict=True):
        ds, y = by_id.get(uid, (np.array([], dtype="datetime64[ns]"), np.array([])))
        values.append(mase_scale(y[ds <= np.datetime64(origin)], season_length))
    return pd.Series(values, index=pd.MultiIndex.from_frame(pairs), dtype="float64")


def score_forecasts(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
) -> pd.DataFrame:
    """Score past forecasts against what happened, per origin, series and lead.

    Parameters
    ----------
    forecasts : origin, unique_id, ds (target month), lead, yhat, lo_<level>, hi_<level>
        (``level`` optional); several forecasts of one origin/series/lead (archived runs
        of revised data) are pooled.
    actuals : the series now (unique_id, ds, y); months without a row are not scored.
    season_length : the seasonal-naive lag of the MASE scale.
    levels : interval coverages scored (columns ``coverage_<level>``).

    Returns
    -------
    DataFrame with :data:`DETAIL_COLUMNS`: MASE (mean absolute error over the in-sample
    seasonal-naive MAE of the series up to its origin; NaN when that history is constant
    and the forecast missed), sMAPE in percent (0..200), the share of actuals inside each
    interval, and ``n`` forecast months scored.

    Example
    -------
    >>> ds = pd.date_range("2023-01-01", periods=30, freq="MS")
    >>> y = np.tile(np.arange(1.0, 13.0), 3)[:30]
    >>> act = pd.DataFrame({"unique_id": "company", "ds": ds, "y": y})
    >>> fc = pd.DataFrame({"origin": ds[23], "unique_id": "company", "ds": ds[24:27],
    ...                    "lead": [1, 2, 3], "yhat": y[24:27] + 1.0,
    ...                    "lo_80": y[24:27], "hi_80": y[24:27] + 2, "lo_95": 0.0, "hi_95": 0.5})
    >>> out = score_forecasts(fc, act)  # off by 1; scale 1.43 (a seasonal history: naive MAE)
    >>> out[["lead", "mase", "smape", "coverage_80", "coverage_95"]].round(2).to_dict("list")
    {'lead': [1, 2, 3], 'mase': [0.7, 0.7, 0.7], 'smape': [66.67, 40.0, 28.57], 'coverage_80': [1.0, 1.0, 1.0], 'coverage_95': [0.0, 0.0, 0.0]}
    """
    columns = [c for c in DETAIL_COLUMNS if not c.startswith("coverage_") and c != "n"]
    columns += [f"coverage_{lv}" for lv in levels] + ["n"]
    if forecasts.empty:
        return _empty(columns)
    fc = forecasts.copy()
    fc["unique_id"] = fc["unique_id"].astype(str)
    fc["ds"] = pd.to_datetime(fc["ds"]).dt.to_period("M").dt.to_timestamp()
    fc["origin"] = pd.to_datetime(fc["origin"]).dt.to_period("M").dt.to_timestamp()
    act = actuals[["unique_id", "ds", "y"]].copy()
    act["unique_id"] = act["unique_id"].astype(str)
    act["ds"] = pd.to_datetime(act["ds"]).dt.to_period("M").dt.to_timestamp()
    act["y"] = act["y"].astype("float64")
    # only months that have happened (an actual row) are scored
    merged = fc.merge(act.rename(columns={"y": "actual"}), on=["unique_id", "ds"], how="inner")
    if merged.empty:
        return _empty(columns)
    pairs = merged[["unique_id", "origin"]].drop_duplicates().reset_index(drop=True)
    scale = _scales(act, pairs, season_length)
    key = pd.MultiIndex.from_frame(merged[["unique_id", "origin"]])
    merged["scale"] = scale.reindex(key).to_numpy()
    err = (merged["actual"] - merged["yhat"].astype("float64")).abs()
    # MASE per month: |error| / scale; a constant history (no scale) scores 0 when exact
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(
            np.isfinite(merged["scale"]) & (merged["scale"] > 0),
            err / merged["scale"],
            np.where(err == 0, 0.0, np.nan),
        )
    merged["mase"] = scaled
    denom = merged["actual"].abs() + merged["yhat"].astype("float64").abs()
    merged["smape"] = np.where(denom > 0, 200 * err / denom.where(denom > 0, 1.0), 0.0)
    for lv in levels:
        lo, hi = f"lo_{lv}", f"hi_{lv}"
        if lo in merged and hi in merged:
            inside = (merged["actual"] >= merged[lo].astype("float64") - 1e-9) & (
                merged["actual"] <= merged[hi].astype("float64") + 1e-9
            )
            merged[f"coverage_{lv}"] = inside.astype("float64")
        else:
            merged[f"coverage_{lv}"] = np.nan
    if "level" not in merged:
        merged["level"] = merged["unique_id"].map(_level_of)
    merged["level"] = merged["level"].astype(str)
    merged["key"] = merged["unique_id"].map(_key_of)
    metrics = ["mase", "smape", *[f"coverage_{lv}" for lv in levels]]
    grouped = merged.groupby(["origin", "level", "key", "unique_id", "lead"], sort=True)
    out = grouped[metrics].mean()
    out["n"] = grouped.size()
    out = out.reset_index()
    out["lead"] = out["lead"].astype("int64")
    out["n"] = out["n"].astype("int64")
    order = {lv: i for i, lv in enumerate(LEVELS)}
    out = out.sort_values(
        ["origin", "level", "key", "lead"],
        key=lambda s: s.map(order).fillna(len(order)) if s.name == "level" else s,
        kind="stable",
    )
    return out[columns].reset_index(drop=True)


def _level_of(uid: str) -> str:
    level = uid.split("/", 1)[0]
    return level if level in LEVELS else "other"


def _key_of(uid: str) -> str:
    return uid.split("/", 1)[1] if "/" in uid else uid


def summarise_accuracy(detail: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per level and lead over every origin and series of ``detail``.

    Means weighted by the months scored (``n``); MASE ignores series without a scale.

    Example
    -------
    >>> d = pd.DataFrame({"origin": pd.Timestamp("2026-06-01"), "level": "team",
    ...                   "key": ["a", "b"], "unique_id": ["team/a", "team/b"], "lead": 1,
    ...                   "mase": [0.5, 1.5], "smape": [10.0, 30.0], "coverage_80": [1.0, 0.0],
    ...                   "coverage_95": [1.0, 1.0], "n": 1})
    >>> summarise_accuracy(d)[["level", "lead", "mase", "smape", "coverage_80", "series"]].to_dict("records")
    [{'level': 'team', 'lead': 1, 'mase': 1.0, 'smape': 20.0, 'coverage_80': 0.5, 'series': 2}]
    """
    if detail.empty:
        return _empty(SUMMARY_COLUMNS)
    metrics = [c for c in detail.columns if c in ("mase", "smape") or c.startswith("coverage_")]
    rows = []
    for (level, lead), g in detail.groupby(["level", "lead"], sort=False):
        weights = g["n"].astype("float64")
        row: dict[str, Any] = {"level": level, "lead": int(str(lead))}
        for m in metrics:
            ok = g[m].notna() & np.isfinite(g[m].astype("float64"))
            w = weights[ok]
            row[m] = float(np.average(g.loc[ok, m], weights=w)) if w.sum() > 0 else np.nan
        row["n"] = int(weights.sum())
        row["series"] = int(g["unique_id"].nunique())
        row["origins"] = int(g["origin"].nunique())
        rows.append(row)
    out = pd.DataFrame(rows)
    order = {lv: i for i, lv in enumerate(LEVELS)}
    out = out.sort_values(
        ["level", "lead"], key=lambda s: s.map(order) if s.name == "level" else s, kind="stable"
    )
    columns = [c for c in SUMMARY_COLUMNS if c in out.columns] + [
        c for c in out.columns if c not in SUMMARY_COLUMNS
    ]
    return out[columns].reset_index(drop=True)


def accuracy_history(
    series: pd.DataFrame,
    *,
    origins: int = 4,
    leads: Sequence[int] = (1, 3, 6),
    min_history: int = 24,
    n_jobs: int = 1,
    options: Mapping[str, Any] | None = None,
) -> AccuracyHistory:
    """Backfill the last ``origins`` quarter ends and score them (:class:`AccuracyHistory`).

    Parameters
    ----------
    series : the monthly series of the run (:func:`~amtools.forecast.monthly_series`).
    origins : quarter ends to backfill (fewer when the data is shorter).
    leads : lead times in months.
    min_history : months of data an origin needs before it.
    n_jobs : worker processes per forecast (0 = the usable CPUs).
    options : model options passed to :func:`~amtools.forecast.forecast` (the run's).

    Raises
    ------
    AmtoolsError
        When no quarter end has ``min_history`` months before it and a month after it.

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> from amtools.forecast import monthly_series  # doctest: +SKIP
    >>> hist = accuracy_history(monthly_series(make_demo(n_managers=6)))  # doctest: +SKIP
    >>> hist.summary.query("lead == 3")  # doctest: +SKIP
    """
    found = quarter_origins(series, origins, min_history)
    if not found:
        months = pd.to_datetime(series["ds"]).nunique() if len(series) else 0
        raise AmtoolsError(
            f"the sales history has {months} months; backfilling a quarter end needs "
            f"{min_history} months before it and one after it "
            "(params/policy/forecast_history.yaml: min_history)"
        )
    jobs = usable_cpus() if n_jobs == 0 else n_jobs
    opts = dict(options or {})
    made = backfill_forecasts(series, found, leads, n_jobs=jobs, options=opts)
    season = int(opts.get("season_length") or 12)
    levels = tuple(int(v) for v in opts.get("levels") or (80, 95))
    detail = score_forecasts(made, series, season_length=season, levels=levels)
    actual = check_series(series)[["unique_id", "ds", "y"]].rename(columns={"y": "actual"})
    made = made.assign(unique_id=made["unique_id"].astype("string")).merge(
        actual.assign(unique_id=actual["unique_id"].astype("string")),
        on=["unique_id", "ds"],
        how="left",
    )
    return AccuracyHistory(
        detail=detail,
        summary=summarise_accuracy(detail),
        forecasts=made,
        origins=tuple(found),
        leads=tuple(sorted({int(v) for v in leads})),
    )
