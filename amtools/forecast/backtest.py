"""Rolling-origin backtests: fit every model on a series' full history, then on each fold.

:func:`backtest_plan` says where the folds start; :func:`run_series` fits the models of one
series and scores them on the folds (a :class:`SeriesBacktest`); :func:`run_all` does that for
every series, in worker processes when asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from amtools.core.errors import ParameterError
from amtools.forecast._threads import single_thread_blas
from amtools.forecast.metrics import coverage, mase, mase_scale, smape
from amtools.forecast.models import ModelForecast
from amtools.forecast.registry import Combination, get_model

__all__ = [
    "INTERMITTENT_SHARE",
    "GUARD_MASE_RATIO",
    "envelope",
    "implausible",
    "BacktestPlan",
    "BacktestTask",
    "FoldPredictions",
    "SeriesBacktest",
    "backtest_plan",
    "expand_models",
    "run_series",
    "run_all",
]

INTERMITTENT_SHARE = 0.4
"""Series with more than this share of zero months are treated as intermittent."""

GUARD_MASE_RATIO = 3.0
"""A model whose backtest MASE exceeds this multiple of seasonal naive's is not chosen."""


# ---------------------------------------------------------------------------- guard
def envelope(y: np.ndarray, h: int, season_length: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """The plausible range of a forecast of ``y`` per horizon: a widening band around its range.

    With ``R`` the history's range (max - min; 10 % of the largest absolute value, or 1, for
    a constant history), month ``j`` ahead must lie within
    ``[min - R (1 + j / m), max + R (1 + j / m)]``: one range beyond the history at once and
    one more per season ahead. A trend that crossed the history's range in ``n`` months
    extends it by only ``R j / n``, so honest extrapolations stay well inside; exploding fits
    (statsmodels ETS is known to produce forecasts of 1e7 x the data on a few series) do not.

    Example
    -------
    >>> lo, hi = envelope(np.array([10.0, 20.0]), 2, season_length=12)
    >>> lo.round(2).tolist(), hi.round(2).tolist()
    ([-0.83, -1.67], [30.83, 31.67])
    """
    y = np.asarray(y, dtype="float64")
    top, bottom = float(np.max(y)), float(np.min(y))
    spread = top - bottom
    if not spread > 0:
        spread = max(0.1 * float(np.max(np.abs(y))), 1.0)
    widen = spread * (1 + np.arange(1, h + 1) / max(season_length, 1))
    return bottom - widen, top + widen


def implausible(fc: ModelForecast, y: np.ndarray, season_length: int = 12) -> str:
    """Why forecast ``fc`` of history ``y`` is not to be used, or ``""`` when it is plausible.

    Rejected: a non-finite point forecast or bound, or a point forecast leaving
    :func:`envelope`.

    Example
    -------
    >>> fc = ModelForecast(np.array([5.0, 1e12]), {80: np.zeros(2)}, {80: np.ones(2)})
    >>> implausible(fc, np.array([1.0, 9.0]))
    'forecast leaves the plausible range of the history at month 2 (1e+12 outside [-8.33, 18.3])'
    """
    mean = np.asarray(fc.mean, dtype="float64")
    if not np.all(np.isfinite(mean)):
        return "non-finite forecast"
    bounds = (*fc.lower.values(), *fc.upper.values())
    if not all(np.all(np.isfinite(b)) for b in bounds):
        return "non-finite interval"
    lo, hi = envelope(y, len(mean), season_length)
    outside = np.flatnonzero((mean < lo) | (mean > hi))
    if len(outside):
        j = int(outside[0])
        return (
            f"forecast leaves the plausible range of the history at month {j + 1} "
            f"({mean[j]:.3g} outside [{lo[j]:.3g}, {hi[j]:.3g}])"
        )
    return ""


# ---------------------------------------------------------------------------- planning
def backtest_plan(
    n: int, h: int, folds: int, *, season_length: int = 12, step: int = 1
) -> tuple[list[int], int]:
    """Rolling-origin plan for a series of length ``n``: months-before-end per fold and horizon.

    Training windows keep at least two seasons when the data allows (else half the data);
    the backtest horizon is ``h`` shortened to fit. Returns ``([], 0)`` when too short.

    Example
    -------
    >>> backtest_plan(36, 12, 3)
    ([12, 11, 10], 10)
    """
    if folds < 1 or n < 6:
        return [], 0
    min_train = 2 * season_length if n - 2 * season_length >= folds + 2 else max(4, n // 2)
    avail = n - min_train
    if avail < 1:
        return [], 0
    horizon = max(1, min(h, avail - (folds - 1) * step))
    n_folds = max(1, min(folds, (avail - horizon) // step + 1))
    backs = [horizon + k * step for k in range(n_folds)]
    return sorted(backs, reverse=True), horizon


@dataclass(frozen=True)
class BacktestPlan:
    """Where the folds of a run start and how far they look ahead (one plan for all series).

    Attributes
    ----------
    backs : months before the end of the history at which each fold's training stops.
    horizon : months each fold forecasts (``h`` shortened to fit the data).

    Example
    -------
    >>> BacktestPlan.for_length(36, 12, 3)
    BacktestPlan(backs=(12, 11, 10), horizon=10)
    """

    backs: tuple[int, ...]
    horizon: int

    @classmethod
    def for_length(
        cls, n: int, h: int, folds: int, *, season_length: int = 12, step: int = 1
    ) -> BacktestPlan:
        """The plan of :func:`backtest_plan` for the longest series (``n`` months)."""
        backs, horizon = backtest_plan(n, h, folds, season_length=season_length, step=step)
        return cls(tuple(backs), horizon)

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        return len(self.backs)


@dataclass(frozen=True)
class BacktestTask:
    """What every series of a run is fitted and backtested with (sent to worker processes).

    Attributes
    ----------
    h : forecast horizon of the full-history fits.
    models : the requested registry names.
    plan : the rolling-origin folds.
    season_length : months per season.
    levels : interval coverages in percent.
    """

    h: int
    models: tuple[str, ...]
    plan: BacktestPlan
    season_length: int
    levels: tuple[int, ...]


@dataclass(frozen=True)
class FoldPredictions:
    """One model's forecasts on every fold: arrays of shape ``(folds, horizon)``.

    ``lower`` and ``upper`` hold one such array per interval coverage.
    """

    mean: np.ndarray
    lower: Mapping[int, np.ndarray]
    upper: Mapping[int, np.ndarray]


@dataclass(frozen=True)
class SeriesBacktest:
    """The fits and backtest of one series (what selection, calibration and reconciliation read).

    Attributes
    ----------
    full : model name -> its forecast from the full history (the models that ran).
    failures : model name -> why it failed.
    preds : model name -> its forecasts on the folds.
    actual : the actual values of each fold, ``(folds, horizon)`` (months before the series
        started count as 0).
    valid : per fold, whether it had enough training data (>= 4 months) to be scored.
    scales : per fold, the MASE scale of its training data.
    metrics : model name -> ``mase``, ``smape``, ``folds`` and ``coverage_<level>``.
    requested : the models this series asked for (simpler ones for short, all-zero or
        intermittent series).
    condition : why the requested models differ from the run's, empty when they do not.
    guarded : model name -> why its forecast was rejected by the guard (an implausible
        full-history forecast, see :func:`implausible`, or a backtest MASE above
        :data:`GUARD_MASE_RATIO` x seasonal naive's); selection skips these models.
    """

    full: Mapping[str, ModelForecast]
    failures: Mapping[str, str]
    preds: Mapping[str, FoldPredictions]
    actual: np.ndarray
    valid: np.ndarray
    scales: np.ndarray
    metrics: Mapping[str, Mapping[str, float]]
    requested: tuple[str, ...]
    condition: str
    guarded: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------- per series
def expand_models(models: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split requested models into base models to fit and combinations to derive.

    Example
    -------
    >>> expand_models(["naive", "combo"])
    (['naive', 'ets', 'arima', 'theta', 'dotm'], ['combo'])
    """
    base: list[str] = []
    combos: list[str] = []
    for name in models:
        fn = get_model(name)
        if isinstance(fn, Combination):
            combos.append(name)
            base.extend(m for m in fn.members if m not in base)
        elif name not in base:
            base.append(name)
    return base, combos


def _combination(name: str) -> Combination:
    model = get_model(name)
    if not isinstance(model, Combination):
        raise ParameterError(f"model {name!r} is not a combination")
    return model


def _safe(
    name: str, y: np.ndarray, h: int, m: int, levels: Sequence[int], spec: Any
) -> ModelForecast | str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = get_model(name)(y, h, season_length=m, levels=levels, spec=spec)
        reason = implausible(out, y, m)
        return f"guard: {reason}" if reason else out
    except Exception as exc:  # noqa: BLE001 - one model failing must not stop the run
        return f"{type(exc).__name__}: {exc}"


def _requested(y: np.ndarray, models: Sequence[str], m: int) -> tuple[list[str], str]:
    """The models a series can use and, when they differ from ``models``, why."""
    n = len(y)
    if n == 0 or np.all(y == 0):
        return ["zero"], "all-zero history: forecast 0"
    if n < 4:
        months = "month" if n == 1 else "months"
        return ["naive"], f"only {n} {months} of history: naive"
    if float(np.mean(y == 0)) > INTERMITTENT_SHARE:
        share = float(np.mean(y == 0))
        return ["croston", "naive"], (
            f"intermittent ({share:.0%} zero months): Croston-SBA or naive"
        )
    if n < 2 * m:
        return list(models), f"short series ({n} months < 2 seasons): non-seasonal variants"
    return list(models), ""


def _fit_full(
    y: np.ndarray, base: Sequence[str], combos: Sequence[str], task: BacktestTask
) -> tuple[dict[str, ModelForecast], dict[str, str]]:
    """Fit every base model on the full history and derive the combinations."""
    full: dict[str, ModelForecast] = {}
    failures: dict[str, str] = {}
    for name in base:
        out = _safe(name, y, task.h, task.season_length, task.levels, None)
        if isinstance(out, str):
            failures[name] = out
        else:
            full[name] = out
    for name in combos:
        combination = _members_ok(_combination(name), full)
        if combination is None:
            failures[name] = "fewer than two member models ran"
        else:
            full[name] = combination.combine([full[mm] for mm in combination.members])
    return full, failures


def _members_ok(combination: Combination, full: Mapping[str, ModelForecast]) -> Combination | None:
    """The combination of the members that ran (at least two), else ``None``."""
    members = tuple(mm for mm in combination.members if mm in full)
    if len(members) < min(2, len(combination.members)):
        return None
    if members == combination.members:
        return combination
    return replace(combination, members=members)  # the same aggregates, fewer members


def _fold_forecasts(
    train: np.ndarray,
    full: Mapping[str, ModelForecast],
    combos: Sequence[str],
    task: BacktestTask,
) -> dict[str, ModelForecast]:
    """Every model's forecast from one fold's training data, with its full-history spec."""
    horizon, m, levels = task.plan.horizon, task.season_length, task.levels
    fold: dict[str, ModelForecast] = {}
    for name in full:
        if name in combos:
            continue
        if len(train) == 0:
            fold[name] = get_model("zero")(np.zeros(1), horizon, levels=levels)
            continue
        spec = full[name].spec if not full[name].fallback else None
        fc = _safe(name, train, horizon, m, levels, spec)
        fold[name] = (
            get_model("naive")(train, horizon, levels=levels) if isinstance(fc, str) else fc
        )
    for name in combos:
        if name in full:
            combination = _members_ok(_combination(name), full)
            if combination is not None:
                fold[name] = combination.combine([fold[mm] for mm in combination.members])
    return fold


def _score(
    preds: Mapping[str, FoldPredictions],
    actual: np.ndarray,
    valid: np.ndarray,
    scales: np.ndarray,
    levels: Sequence[int],
) -> dict[str, dict[str, float]]:
    """MASE (mean over folds), sMAPE and coverage of each model over the valid folds."""
    metrics: dict[str, dict[str, float]] = {}
    if not valid.any():
        return metrics
    n_folds = len(valid)
    ks = [k for k in range(n_folds) if valid[k]]
    a = actual[ks].ravel()
    for name, p in preds.items():
        fold_mase = [mase(actual[k], p.mean[k], scales[k]) for k in ks]
        fold_mase = [v for v in fold_mase if np.isfinite(v)]
        row = {
            "mase": float(np.mean(fold_mase)) if fold_mase else float("nan"),
            "smape": smape(a, p.mean[ks].ravel()),
            "folds": float(len(ks)),
        }
        for lv in levels:
            row[f"coverage_{lv}"] = coverage(a, p.lower[lv][ks].ravel(), p.upper[lv][ks].ravel())
        metrics[name] = row
    return metrics


def run_series(y: np.ndarray, task: BacktestTask) -> SeriesBacktest:
    """Fit the task's models on one series and backtest them on the plan's folds.

    Example
    -------
    >>> plan = BacktestPlan.for_length(24, 3, 2)
    >>> task = BacktestTask(3, ("naive",), plan, 12, (80,))
    >>> run = run_series(np.arange(1.0, 25.0), task)
    >>> round(run.metrics["naive"]["mase"], 3), run.requested
    (0.167, ('naive',))
    """
    n = len(y)
    m, levels, plan = task.season_length, task.levels, task.plan
    requested, condition = _requested(y, task.models, m)
    base, combos = expand_models(requested)
    full, failures = _fit_full(y, base, combos, task)

    n_folds, horizon = plan.n_folds, plan.horizon
    actual = np.full((n_folds, horizon), np.nan)
    scales = np.full(n_folds, np.nan)
    valid = np.zeros(n_folds, dtype=bool)
    preds = {
        name: FoldPredictions(
            np.full((n_folds, horizon), np.nan),
            {lv: np.full((n_folds, horizon), np.nan) for lv in levels},
            {lv: np.full((n_folds, horizon), np.nan) for lv in levels},
        )
        for name in full
    }
    for k, back in enumerate(plan.backs):
        cut = n - back
        # Months before the series starts count as 0 (the manager was not there yet).
        window = np.zeros(horizon)
        for j in range(horizon):
            if 0 <= cut + j < n:
                window[j] = y[cut + j]
        actual[k] = window
        train = y[: max(cut, 0)]
        valid[k] = len(train) >= 4
        scales[k] = mase_scale(train, m) if len(train) else np.nan
        for name, fc in _fold_forecasts(train, full, combos, task).items():
            preds[name].mean[k] = fc.mean
            for lv in levels:
                preds[name].lower[lv][k] = fc.lower[lv]
                preds[name].upper[lv][k] = fc.upper[lv]

    metrics = _score(preds, actual, valid, scales, levels)
    guarded = {k: v for k, v in failures.items() if v.startswith("guard: ")}
    guarded.update(_mase_guard(metrics))
    return SeriesBacktest(
        full=full,
        failures=failures,
        preds=preds,
        actual=actual,
        valid=valid,
        scales=scales,
        metrics=metrics,
        requested=tuple(requested),
        condition=condition,
        guarded=guarded,
    )


def _mase_guard(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, str]:
    """Models whose backtest MASE is more than :data:`GUARD_MASE_RATIO` x seasonal naive's."""
    base = metrics.get("seasonal_naive", {}).get("mase", float("nan"))
    if not np.isfinite(base):
        return {}
    limit = GUARD_MASE_RATIO * max(base, 1e-9)
    return {
        name: (
            f"guard: backtest MASE {row['mase']:.3g} > {GUARD_MASE_RATIO:g} x seasonal naive's "
            f"{base:.3g}"
        )
        for name, row in metrics.items()
        if name != "seasonal_naive" and np.isfinite(row["mase"]) and row["mase"] > limit
    }


# ---------------------------------------------------------------------------- many series
def _preload_statsmodels() -> None:
    # statsmodels is heavy: imported here, once, only before forking workers.
    import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401
    import statsmodels.tsa.stattools  # noqa: F401


def _run_chunk(
    args: tuple[list[tuple[str, np.ndarray]], BacktestTask],
) -> dict[str, SeriesBacktest]:
    chunk, task = args
    with single_thread_blas():
        return {uid: run_series(y, task) for uid, y in chunk}


def run_all(
    items: Sequence[tuple[str, np.ndarray]], task: BacktestTask, *, n_jobs: int = 1
) -> dict[str, SeriesBacktest]:
    """:func:`run_series` for every ``(unique_id, values)``; ``n_jobs`` worker processes.

    Example
    -------
    >>> task = BacktestTask(2, ("naive",), BacktestPlan((), 0), 12, (80,))
    >>> list(run_all([("a", np.ones(3)), ("b", np.zeros(3))], task))
    ['a', 'b']
    """
    if n_jobs > 1 and len(items) > 1:
        _preload_statsmodels()  # forked workers then share the imports instead of each paying ~1 s
        chunks = [list(items[i :: n_jobs * 4]) for i in range(n_jobs * 4)]
        results: dict[str, SeriesBacktest] = {}
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            for part in pool.map(_run_chunk, [(c, task) for c in chunks if c]):
                results.update(part)
        return results
    return _run_chunk((list(items), task))
