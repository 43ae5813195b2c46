"""The forecasting engine: backtest every model per series, choose, calibrate and reconcile.

The steps live in their own modules: :mod:`~amtools.forecast.backtest` (fits and folds),
:mod:`~amtools.forecast.selection` (model choice), :mod:`~amtools.forecast.calibrate`
(interval widening) and :mod:`~amtools.forecast.reconcile` (coherence over the hierarchy);
:func:`forecast` runs them in turn and assembles the :class:`ForecastResult`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError
from amtools.core.settings.forecast import ForecastSettings
from amtools.forecast.backtest import BacktestPlan, BacktestTask, SeriesBacktest, run_all
from amtools.forecast.calibrate import calibrate as calibrate_intervals
from amtools.forecast.calibrate import widen
from amtools.forecast.models import ModelForecast
from amtools.forecast.reconcile import RECONCILERS, reconcile_forecasts
from amtools.forecast.registry import get_model
from amtools.forecast.selection import Selection, select
from amtools.forecast.series import check_series, hierarchy_of

__all__ = ["ForecastResult", "forecast"]


@dataclass(frozen=True)
class ForecastResult:
    """Everything :func:`forecast` produces; every frame is long and tidy, ready to plot.

    Attributes
    ----------
    forecast : unique_id, level, ds, model, yhat, lo_80, hi_80, lo_95, hi_95 — the chosen model
        per series, intervals calibrated where needed, reconciled (managers add up to teams,
        segments and the company for every month).
    backtest : unique_id, level, model, mase, smape, coverage_80, coverage_95, folds, horizon —
        rolling-origin accuracy of every model tried (raw model intervals).
    choice : unique_id, level, model, reason, note, guarded — the model chosen per series, why,
        and the models the guard rejected for it with the reason (empty when none; see
        :func:`amtools.forecast.backtest.implausible`).
    history : the input series (unique_id, level, ds, y).
    candidates : every model's own forecast per series (not reconciled, not calibrated).
    calibration : level, interval, points, coverage_raw, factor, coverage_calibrated — the
        backtest coverage of the chosen models' intervals per hierarchy level and the widening
        factor applied (1.0 = none needed).
    reconciliation : the reconciliation method used.
    reconciliation_scores : method, mase — backtest MASE of each method tried (``"auto"``).
    settings : the arguments the run used.
    """

    forecast: pd.DataFrame
    backtest: pd.DataFrame
    choice: pd.DataFrame
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    reconciliation: str = "none"
    reconciliation_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict[str, Any] = field(default_factory=dict)

    def combined(self) -> pd.DataFrame:
        """History and forecast in one frame (``kind`` = "history" | "forecast") for charts.

        Example
        -------
        >>> result.combined().query("unique_id == 'company'")  # doctest: +SKIP
        """
        hist = self.history.assign(kind="history")
        fc = self.forecast.assign(kind="forecast")
        out = pd.concat([hist, fc], ignore_index=True, sort=False)
        out["kind"] = out["kind"].astype("string")
        return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)

    def accuracy(self) -> pd.DataFrame:
        """Backtest accuracy of the chosen model per series (joined to ``choice``).

        Example
        -------
        >>> result.accuracy()[["unique_id", "model", "mase"]]  # doctest: +SKIP
        """
        return self.choice[["unique_id", "model"]].merge(
            self.backtest, on=["unique_id", "model"], how="left"
        )


# ---------------------------------------------------------------------------- options
def _options(given: Mapping[str, Any], settings: ForecastSettings | None) -> ForecastSettings:
    """The run's options: explicit ones checked, the others from ``settings`` (read when needed)."""
    if any(v is None for v in given.values()):
        defaults = (settings or ForecastSettings.load()).options()
        given = {k: defaults[k] if v is None else v for k, v in given.items()}
    models = given["models"]
    names = [models] if isinstance(models, str) else list(models)
    if not names:
        raise ParameterError("models is empty; pass e.g. ['seasonal_naive', 'ets']")
    for name in names:
        get_model(name)
    levels = tuple(int(lv) for lv in given["levels"])
    if any(not 0 < lv < 100 for lv in levels):
        raise ParameterError(f"levels must be percentages between 0 and 100, got {levels}")
    reconcile, season_length = given["reconcile"], int(given["season_length"])
    margin = float(given["selection_margin"])
    if not 0 <= margin < 1:
        raise ParameterError(f"selection_margin must be a share from 0 to below 1, got {margin}")
    if season_length < 1:
        raise ParameterError(f"season_length must be >= 1, got {season_length}")
    if reconcile not in (*RECONCILERS, "auto"):
        raise ParameterError(
            f"unknown reconcile={reconcile!r}; use one of {', '.join(RECONCILERS)} or 'auto'"
        )
    return ForecastSettings(
        models=tuple(names),
        folds=int(given["folds"]),
        levels=levels,
        reconcile=str(reconcile),
        season_length=season_length,
        selection_margin=margin,
    )


# ---------------------------------------------------------------------------- public entry
def forecast(  # long: the public entry documents every option; the steps are in their modules
    series: pd.DataFrame,
    h: int = 12,
    *,
    models: Iterable[str] | None = None,
    folds: int | None = None,
    levels: Sequence[int] | None = None,
    reconcile: str | None = None,
    season_length: int | None = None,
    step: int = 1,
    hierarchy: pd.DataFrame | None = None,
    calibrate: bool = True,
    tie_tolerance: float = 0.02,
    selection_margin: float | None = None,
    prior: str | None = "combo",
    nonnegative: bool | None = None,
    n_jobs: int = 1,
    settings: ForecastSettings | None = None,
) -> ForecastResult:
    """Forecast every series ``h`` months ahead with the model that backtests best.

    For each series every model in ``models`` is fitted on the full history and, with the
    configuration it chose there, run on ``folds`` rolling origins (ETS and ARIMA reuse their
    full-history parameters and only filter the fold's data; Theta is refitted);
    MASE (seasonal-naive in-sample scale), sMAPE and interval coverage are measured, and the
    model with the lowest mean MASE is chosen (within ``tie_tolerance``, the simpler model) —
    unless it fails to beat the model that backtests best over all series of the run by more
    than ``selection_margin``, in which case that overall best model is kept.
    Short, all-zero and intermittent series fall back to simpler models with the reason in
    ``choice``. Intervals that under-cover in the backtest are widened (conformal-style) per
    hierarchy level. Finally forecasts are reconciled so managers add up to teams, segments
    and the company for every month.

    Intervals: each model's own 80/95 % intervals; where the chosen models' backtest coverage
    at a hierarchy level falls more than 5 points short of nominal, that level's intervals are
    widened by the backtest quantile of |error| / half-width (split-conformal style; the
    ``calibration`` frame shows raw coverage and the factor). After reconciliation every
    series keeps the width of its own (calibrated) interval, shifted to the reconciled point
    forecast: aggregates get their own model's uncertainty rather than a sum of manager
    bounds (which would assume perfectly correlated managers). Bounds are clipped at 0 for
    series without negative history.

    Parameters
    ----------
    series : long frame ``unique_id, ds, y`` (``level`` optional), e.g. from
        :func:`~amtools.forecast.monthly_series`; monthly, no gaps, same end for a hierarchy.
    h : forecast horizon in months.
    models : registry names.
    folds : rolling-origin folds; ``step`` months apart.
    levels : interval coverages in percent; columns ``lo_<level>``/``hi_<level>``.
    reconcile : ``"auto"`` (the method with the best backtest MASE over all series, usually
        MinT-shrink or OLS, which beat bottom-up on the demo and M3 benchmarks),
        ``"bottom_up"``, ``"ols"``, ``"wls_struct"``, ``"mint_shrink"`` or ``"none"``.
    season_length : months per season.
        ``models``, ``folds``, ``levels``, ``reconcile``, ``season_length`` and
        ``selection_margin`` not given are
        taken from ``settings`` (default :meth:`ForecastSettings.load`, i.e.
        ``params/policy/forecast.yaml``, which is read only when one of them is missing).
    hierarchy : manager -> segment/team map (``unique_id, segment, team``); default the one
        :func:`monthly_series` stored in ``series.attrs``.
    calibrate : widen under-covering intervals using backtest errors.
    tie_tolerance : relative MASE margin within which the simpler model wins.
    selection_margin : a series keeps the model that backtests best across the whole run
        unless another model beats it on that series by more than this share (0 = pure
        per-series choice). A few short backtest folds rank close models noisily; strong
        shrinkage towards the combination made M3 holdout accuracy clearly better
        (benchmarks/results_forecast.md). Taken from ``settings`` when not given.
    prior : the model preferred as the run's best (default the combination): it is kept
        unless another model's mean backtest MASE over the run is more than 5 % lower.
    nonnegative : clip forecasts and bounds at 0; default when the history has no negatives.
    n_jobs : worker processes for many series (1 = in process).
    settings : the model options to use for the ones not given
        (:class:`~amtools.core.settings.forecast.ForecastSettings`).

    Returns
    -------
    ForecastResult

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> ds = pd.date_range("2022-01-01", periods=36, freq="MS")
    >>> y = 100 + 10 * np.sin(np.arange(36) * np.pi / 6)
    >>> s = pd.DataFrame({"unique_id": "company", "ds": ds, "y": y})
    >>> res = forecast(s, h=3, models=["seasonal_naive", "naive"], reconcile="none")
    >>> res.choice["model"].tolist()
    ['seasonal_naive']
    """
    if h < 1:
        raise ParameterError(f"h must be a positive number of months, got {h}")
    given = {
        "models": models,
        "folds": folds,
        "levels": levels,
        "reconcile": reconcile,
        "season_length": season_length,
        "selection_margin": selection_margin,
    }
    opts = _options(given, settings)
    frame = check_series(series)
    if frame.empty:
        raise ParameterError("series is empty: no months to forecast from")

    uids = list(dict.fromkeys(frame["unique_id"].tolist()))
    groups = {uid: g for uid, g in frame.groupby("unique_id", sort=False)}
    values = {uid: groups[uid]["y"].to_numpy(dtype="float64") for uid in uids}
    level_of = {uid: str(groups[uid]["level"].iloc[0]) for uid in uids}
    last_ds = {uid: groups[uid]["ds"].iloc[-1] for uid in uids}
    n_max = max(len(v) for v in values.values())
    plan = BacktestPlan.for_length(
        n_max, h, opts.folds, season_length=opts.season_length, step=step
    )
    task = BacktestTask(h, opts.models, plan, opts.season_length, opts.levels)
    results = run_all([(uid, values[uid]) for uid in uids], task, n_jobs=n_jobs)

    if nonnegative is None:
        nonneg = {uid: bool(np.all(values[uid] >= 0)) for uid in uids}
    else:
        nonneg = dict.fromkeys(uids, bool(nonnegative))

    selection = select(
        results,
        list(opts.models),
        prior=prior,
        tie_tolerance=tie_tolerance,
        selection_margin=opts.selection_margin,
    )
    calibration = calibrate_intervals(results, selection.choices, level_of, opts.levels, calibrate)
    chosen: dict[str, ModelForecast] = {}
    for uid in uids:
        fc = results[uid].full.get(selection.choices[uid].model)
        if fc is None:
            fc = get_model("naive")(values[uid], h, levels=opts.levels)
        chosen[uid] = widen(fc, calibration.factors_for(level_of[uid], opts.levels))

    reconciled = reconcile_forecasts(
        chosen,
        results,
        selection.choices,
        level_of=level_of,
        ends=last_ds,
        nonneg=nonneg,
        hierarchy=hierarchy if hierarchy is not None else hierarchy_of(series),
        method=opts.reconcile,
    )
    out_fc, out_cand = _forecast_frames(
        uids, results, selection, reconciled.forecasts, level_of, last_ds, nonneg, h, opts.levels
    )
    backtest, choice = _backtest_frames(uids, results, selection, level_of, plan, opts.levels)
    best = selection.run_best
    return ForecastResult(
        forecast=out_fc,
        backtest=backtest,
        choice=choice,
        history=frame,
        candidates=out_cand,
        calibration=calibration.table,
        reconciliation=reconciled.method,
        reconciliation_scores=reconciled.scores,
        settings={
            "h": h,
            "models": list(opts.models),
            "folds": plan.n_folds,
            "backtest_horizon": plan.horizon,
            "step": step,
            "levels": opts.levels,
            "reconcile": opts.reconcile,
            "season_length": opts.season_length,
            "calibrate": calibrate,
            "tie_tolerance": tie_tolerance,
            "selection_margin": opts.selection_margin,
            "prior": prior,
            "run_best": tuple(best) if best is not None else None,
        },
    )


# ---------------------------------------------------------------------------- output frames
def _forecast_frames(
    uids: Sequence[str],
    results: Mapping[str, SeriesBacktest],
    selection: Selection,
    chosen: Mapping[str, ModelForecast],
    level_of: Mapping[str, str],
    last_ds: Mapping[str, pd.Timestamp],
    nonneg: Mapping[str, bool],
    h: int,
    levels: Sequence[int],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ForecastResult.forecast`` (the chosen models) and ``.candidates`` (every model)."""
    fc_rows = []
    cand_rows = []
    for uid in uids:
        ds = pd.date_range(last_ds[uid] + pd.offsets.MonthBegin(1), periods=h, freq="MS")
        model_name = selection.choices[uid].model
        fc_rows.append(_frame(uid, level_of[uid], ds, model_name, chosen[uid], levels, nonneg[uid]))
        for name, cand in results[uid].full.items():
            cand_rows.append(_frame(uid, level_of[uid], ds, name, cand, levels, nonneg[uid]))
    fc_cols = ["unique_id", "level", "ds", "model", "yhat"] + [
        f"{side}_{lv}" for lv in levels for side in ("lo", "hi")
    ]
    out = _concat(fc_rows, fc_cols), _concat(cand_rows, fc_cols)
    for frame in out:
        for col in ("unique_id", "level", "model"):
            frame[col] = frame[col].astype("string")
    return out


def _backtest_frames(
    uids: Sequence[str],
    results: Mapping[str, SeriesBacktest],
    selection: Selection,
    level_of: Mapping[str, str],
    plan: BacktestPlan,
    levels: Sequence[int],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ForecastResult.backtest`` (every model's accuracy) and ``.choice`` (model and why)."""
    bt_rows = []
    choice_rows = []
    for uid in uids:
        res, pick = results[uid], selection.choices[uid]
        for name, mtr in res.metrics.items():
            bt_rows.append(
                {
                    "unique_id": uid,
                    "level": level_of[uid],
                    "model": name,
                    **mtr,
                    "horizon": plan.horizon,
                }
            )
        note = res.full[pick.model].note if pick.model in res.full else ""
        failed = {k: v for k, v in res.failures.items() if k not in res.guarded}
        if failed:
            note += "; failed: " + "; ".join(f"{k} ({v})" for k, v in failed.items())
        guarded = "; ".join(f"{k} ({v.removeprefix('guard: ')})" for k, v in res.guarded.items())
        if guarded:
            note += "; guard rejected: " + guarded
        choice_rows.append(
            {
                "unique_id": uid,
                "level": level_of[uid],
                "model": pick.model,
                "reason": pick.reason,
                "note": note,
                "guarded": guarded,
            }
        )
    bt_cols = (
        ["unique_id", "level", "model", "mase", "smape"]
        + [f"coverage_{lv}" for lv in levels]
        + ["folds", "horizon"]
    )
    backtest = pd.DataFrame(bt_rows, columns=bt_cols)
    backtest["folds"] = backtest["folds"].astype("Int64")
    backtest["horizon"] = backtest["horizon"].astype("Int64")
    choice = pd.DataFrame(
        choice_rows, columns=["unique_id", "level", "model", "reason", "note", "guarded"]
    )
    for frame in (backtest, choice):
        for col in ("unique_id", "level", "model"):
            frame[col] = frame[col].astype("string")
    choice["reason"] = choice["reason"].astype("string")
    choice["note"] = choice["note"].astype("string")
    choice["guarded"] = choice["guarded"].astype("string")
    return backtest, choice


def _frame(
    uid: str,
    level: str,
    ds: pd.DatetimeIndex,
    model: str,
    fc: ModelForecast,
    levels: Sequence[int],
    nonneg: bool,
) -> dict[str, Any]:
    """Columns of one series' forecast (lists/arrays, concatenated into a frame later)."""
    h = len(ds)
    mean = np.maximum(fc.mean, 0.0) if nonneg else fc.mean
    data: dict[str, Any] = {
        "unique_id": [uid] * h,
        "level": [level] * h,
        "ds": ds.to_numpy(),
        "model": [model] * h,
        "yhat": mean,
    }
    for lv in levels:
        lo, hi = fc.lower[lv], fc.upper[lv]
        if nonneg:
            lo, hi = np.maximum(lo, 0.0), np.maximum(hi, 0.0)
        data[f"lo_{lv}"] = np.minimum(lo, mean)
        data[f"hi_{lv}"] = np.maximum(hi, mean)
    return data


def _concat(parts: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=columns)
    data = {c: np.concatenate([np.asarray(p[c]) for p in parts]) for c in columns}
    out = pd.DataFrame(data, columns=columns)
    out["ds"] = out["ds"].astype("datetime64[ns]")
    return out
