"""The forecasting engine: backtest every model per series, choose, calibrate and reconcile."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError
from amtools.forecast._threads import single_thread_blas
from amtools.forecast.metrics import coverage, mase, mase_scale, smape
from amtools.forecast.models import COMPLEXITY, Combination, ModelForecast, get_model
from amtools.forecast.reconcile import RECONCILERS, reconcile_matrix, summing_matrix
from amtools.forecast.series import hierarchy_of, series_level

__all__ = ["DEFAULT_MODELS", "ForecastResult", "forecast", "backtest_plan"]

DEFAULT_MODELS: tuple[str, ...] = ("seasonal_naive", "naive", "ets", "arima", "theta", "combo")
"""Models tried per series when ``models`` is not given (and params/policy/forecast.yaml is absent)."""

INTERMITTENT_SHARE = 0.4
"""Series with more than this share of zero months are treated as intermittent."""

MAX_WIDENING = 10.0
"""Largest factor by which calibration widens intervals (a guard against freak backtests)."""


@dataclass
class ForecastResult:
    """Everything :func:`forecast` produces; every frame is long and tidy, ready to plot.

    Attributes
    ----------
    forecast : unique_id, level, ds, model, yhat, lo_80, hi_80, lo_95, hi_95 — the chosen model
        per series, intervals calibrated where needed, reconciled (managers add up to teams,
        segments and the company for every month).
    backtest : unique_id, level, model, mase, smape, coverage_80, coverage_95, folds, horizon —
        rolling-origin accuracy of every model tried (raw model intervals).
    choice : unique_id, level, model, reason, note — the model chosen per series and why.
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


# ---------------------------------------------------------------------------- per series
def _expand(models: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split requested models into base models to fit and combinations to derive."""
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
        if not np.all(np.isfinite(out.mean)):
            return "non-finite forecast"
        return out
    except Exception as exc:  # noqa: BLE001 - one model failing must not stop the run
        return f"{type(exc).__name__}: {exc}"


def _run_series(
    y: np.ndarray,
    h: int,
    models: Sequence[str],
    backs: Sequence[int],
    horizon: int,
    m: int,
    levels: Sequence[int],
) -> dict[str, Any]:
    n = len(y)
    condition = ""
    requested = list(models)
    if n == 0 or np.all(y == 0):
        requested, condition = ["zero"], "all-zero history: forecast 0"
    elif n < 4:
        months = "month" if n == 1 else "months"
        requested, condition = ["naive"], f"only {n} {months} of history: naive"
    elif float(np.mean(y == 0)) > INTERMITTENT_SHARE:
        share = float(np.mean(y == 0))
        requested = ["croston", "naive"]
        condition = f"intermittent ({share:.0%} zero months): Croston-SBA or naive"
    elif n < 2 * m:
        condition = f"short series ({n} months < 2 seasons): non-seasonal variants"
    base, combos = _expand(requested)

    full: dict[str, ModelForecast] = {}
    failures: dict[str, str] = {}
    for name in base:
        out = _safe(name, y, h, m, levels, None)
        if isinstance(out, str):
            failures[name] = out
        else:
            full[name] = out
    for name in combos:
        combination = _combination(name)
        if all(mm in full for mm in combination.members):
            full[name] = combination.combine([full[mm] for mm in combination.members])
        else:
            failures[name] = "a member model failed"

    n_folds = len(backs)
    actual = np.full((n_folds, horizon), np.nan)
    scales = np.full(n_folds, np.nan)
    valid = np.zeros(n_folds, dtype=bool)
    preds: dict[str, dict[str, Any]] = {
        name: {
            "mean": np.full((n_folds, horizon), np.nan),
            "lo": {lv: np.full((n_folds, horizon), np.nan) for lv in levels},
            "hi": {lv: np.full((n_folds, horizon), np.nan) for lv in levels},
        }
        for name in full
    }
    for k, back in enumerate(backs):
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
        fold: dict[str, ModelForecast] = {}
        for name in full:
            if name in combos:
                continue
            if len(train) == 0:
                fc: ModelForecast | str = get_model("zero")(np.zeros(1), horizon, levels=levels)  # type: ignore[call-arg]
            else:
                spec = full[name].spec if not full[name].fallback else None
                fc = _safe(name, train, horizon, m, levels, spec)
                if isinstance(fc, str):
                    fc = get_model("naive")(train, horizon, levels=levels)  # type: ignore[call-arg]
            fold[name] = fc  # type: ignore[assignment]
        for name in combos:
            if name in full:
                combination = _combination(name)
                fold[name] = combination.combine([fold[mm] for mm in combination.members])
        for name, fc in fold.items():
            preds[name]["mean"][k] = fc.mean
            for lv in levels:
                preds[name]["lo"][lv][k] = fc.lower[lv]
                preds[name]["hi"][lv][k] = fc.upper[lv]

    metrics: dict[str, dict[str, float]] = {}
    for name, p in preds.items():
        if not valid.any():
            break
        fold_mase = [mase(actual[k], p["mean"][k], scales[k]) for k in range(n_folds) if valid[k]]
        fold_mase = [v for v in fold_mase if np.isfinite(v)]
        ks = [k for k in range(n_folds) if valid[k]]
        a = actual[ks].ravel()
        row = {
            "mase": float(np.mean(fold_mase)) if fold_mase else float("nan"),
            "smape": smape(a, p["mean"][ks].ravel()),
            "folds": float(len(ks)),
        }
        for lv in levels:
            row[f"coverage_{lv}"] = coverage(a, p["lo"][lv][ks].ravel(), p["hi"][lv][ks].ravel())
        metrics[name] = row

    return {
        "full": full,
        "failures": failures,
        "preds": preds,
        "actual": actual,
        "valid": valid,
        "scales": scales,
        "metrics": metrics,
        "requested": requested,
        "condition": condition,
    }


def _run_best(
    results: dict[str, dict[str, Any]],
    names: Sequence[str],
    prior: str | None = None,
    prior_margin: float = 0.05,
) -> tuple[str, float, int] | None:
    """The model with the lowest mean backtest MASE over the series where every model scored.

    ``prior`` (the combination by default) stays the run's model unless another model's mean
    MASE is more than ``prior_margin`` lower: combinations are the robust default in the
    forecasting literature, and a few overlapping backtest folds rank close models noisily.
    """
    table = [
        [res["metrics"][nm]["mase"] for nm in names]
        for res in results.values()
        if list(res["requested"]) == list(names)
        and all(nm in res["metrics"] and np.isfinite(res["metrics"][nm]["mase"]) for nm in names)
    ]
    if not table:
        return None
    means = np.mean(np.asarray(table), axis=0)
    order = sorted(range(len(names)), key=lambda i: (means[i], COMPLEXITY.get(names[i], 50)))
    best = order[0]
    if prior is not None and prior in names:
        p = list(names).index(prior)
        if means[best] >= (1 - prior_margin) * means[p]:
            best = p
    return names[best], float(means[best]), len(table)


def _choose(
    res: dict[str, Any],
    tie_tolerance: float,
    run_best: tuple[str, float, int] | None,
    margin: float,
) -> tuple[str, str]:
    requested, full, metrics = res["requested"], res["full"], res["metrics"]
    condition = res["condition"]
    prefix = f"{condition}; " if condition else ""
    scored = [
        (metrics[name]["mase"], name)
        for name in requested
        if name in full and name in metrics and np.isfinite(metrics[name]["mase"])
    ]
    if not scored:
        # No fold had enough history: exponential smoothing (its AICc grid shrinks to the
        # level-only model on short data) when it ran as asked, else the simplest model.
        for name in ("ets", "theta", *requested, "naive"):
            if name in full and name in requested and not full[name].fallback:
                return name, prefix + f"too short to backtest: {name} without a backtest"
        for name in (*requested, "naive"):
            if name in full:
                return name, prefix + "too short to backtest: simplest available model"
        return "naive", prefix + "every model failed: naive"
    best_value = min(v for v, _ in scored)
    tied = [name for v, name in scored if v <= best_value * (1 + tie_tolerance) + 1e-12]
    chosen = min(tied, key=lambda nm: (COMPLEXITY.get(nm, 50), nm))
    value = metrics[chosen]["mase"]
    scored_names = {nm for _, nm in scored}
    if run_best is not None and run_best[0] in scored_names and chosen != run_best[0]:
        overall, overall_mean, n_series = run_best
        here = metrics[overall]["mase"]
        if value >= (1 - margin) * here:
            return overall, prefix + (
                f"{overall} backtests best across the run (mean MASE {overall_mean:.2f} over "
                f"{n_series} series) and no model beats it here by more than {margin:.0%} "
                f"({overall} {here:.2f}, {chosen} {value:.2f})"
            )
        reason = (
            f"lowest backtest MASE {value:.2f}, more than {margin:.0%} below {overall} ({here:.2f})"
        )
    else:
        reason = f"lowest backtest MASE {value:.2f}"
    compared = run_best[0] if run_best is not None and run_best[0] in scored_names else None
    if "seasonal_naive" in metrics and "seasonal_naive" not in (chosen, compared):
        reason += f" (seasonal naive {metrics['seasonal_naive']['mase']:.2f})"
    if len(tied) > 1:
        others = ", ".join(nm for nm in tied if nm != chosen)
        reason += f"; within {tie_tolerance:.0%} of {others}: simpler model kept"
    return chosen, prefix + reason


# ---------------------------------------------------------------------------- helpers
def _check_series(series: pd.DataFrame) -> pd.DataFrame:
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


def _resolve_models(models: Iterable[str] | None) -> list[str]:
    if models is None:
        from amtools.core.settings import params_path, read_params

        # params/policy/forecast.yaml is optional; when present, errors in it are reported.
        if params_path("policy/forecast").is_file():
            names = read_params("policy/forecast").get("models") or list(DEFAULT_MODELS)
        else:
            names = list(DEFAULT_MODELS)
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise ParameterError(
                f"params/policy/forecast.yaml: models must be a list of model names, got {names!r}"
            )
    else:
        names = [models] if isinstance(models, str) else list(models)
    if not names:
        raise ParameterError("models is empty; pass e.g. ['seasonal_naive', 'ets']")
    for name in names:
        get_model(name)
    return names


def _calibrate(
    results: dict[str, dict[str, Any]],
    level_of: dict[str, str],
    levels: Sequence[int],
    enabled: bool,
    slack: float = 0.05,
) -> tuple[pd.DataFrame, dict[tuple[str, int], float]]:
    """Conformal-style widening per hierarchy level when backtest coverage falls short."""
    rows = []
    factors: dict[tuple[str, int], float] = {}
    for level in sorted(set(level_of.values())):
        uids = [u for u in results if level_of[u] == level]
        for lv in levels:
            scores = []
            for uid in uids:
                res = results[uid]
                p = res["preds"].get(res["choice"])
                if p is None or not res["valid"].any():
                    continue
                ks = np.flatnonzero(res["valid"])
                a = res["actual"][ks].ravel()
                mu = p["mean"][ks].ravel()
                lo = p["lo"][lv][ks].ravel()
                hi = p["hi"][lv][ks].ravel()
                half = np.where(a >= mu, hi - mu, mu - lo)
                err = np.abs(a - mu)
                # Zero-width intervals (e.g. an all-constant history) cannot be widened by a
                # factor; they are left out of the calibration pool.
                ok = half > 0
                scores.append(err[ok] / half[ok])
            if not scores:
                continue
            s = np.concatenate(scores)
            if not len(s):
                continue
            raw = float(np.mean(s <= 1 + 1e-9))
            target = lv / 100.0
            q = min(1.0, np.ceil((len(s) + 1) * target) / len(s))
            needed = float(np.quantile(s, q))
            factor = 1.0
            if enabled and raw < target - slack and np.isfinite(needed):
                factor = min(max(1.0, needed), MAX_WIDENING)
            factors[(level, lv)] = factor
            rows.append(
                {
                    "level": level,
                    "interval": lv,
                    "points": len(s),
                    "coverage_raw": raw,
                    "factor": factor,
                    "coverage_calibrated": float(np.mean(s <= factor + 1e-9)),
                }
            )
    cols = ["level", "interval", "points", "coverage_raw", "factor", "coverage_calibrated"]
    return pd.DataFrame(rows, columns=cols), factors


def _widen(fc: ModelForecast, factors: dict[int, float]) -> ModelForecast:
    lower = {lv: fc.mean - factors.get(lv, 1.0) * (fc.mean - lo) for lv, lo in fc.lower.items()}
    upper = {lv: fc.mean + factors.get(lv, 1.0) * (hi - fc.mean) for lv, hi in fc.upper.items()}
    return ModelForecast(fc.mean, lower, upper, fc.spec, fc.note, fc.fallback)


def _preload_statsmodels() -> None:
    import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401
    import statsmodels.tsa.forecasting.theta  # noqa: F401
    import statsmodels.tsa.statespace.sarimax  # noqa: F401
    import statsmodels.tsa.stattools  # noqa: F401


def _run_chunk(
    args: tuple[list[tuple[str, np.ndarray]], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    chunk, kw = args
    with single_thread_blas():
        return {uid: _run_series(y, **kw) for uid, y in chunk}


# ---------------------------------------------------------------------------- public entry
def forecast(
    series: pd.DataFrame,
    h: int = 12,
    *,
    models: Iterable[str] | None = None,
    folds: int = 3,
    levels: Sequence[int] = (80, 95),
    reconcile: str = "auto",
    season_length: int = 12,
    step: int = 1,
    hierarchy: pd.DataFrame | None = None,
    calibrate: bool = True,
    tie_tolerance: float = 0.02,
    selection_margin: float = 0.2,
    prior: str | None = "combo",
    nonnegative: bool | None = None,
    n_jobs: int = 1,
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
    models : registry names (default: ``params/policy/forecast.yaml`` ``models`` or
        :data:`DEFAULT_MODELS`).
    folds : rolling-origin folds; ``step`` months apart.
    levels : interval coverages in percent; columns ``lo_<level>``/``hi_<level>``.
    reconcile : ``"auto"`` (default: the method with the best backtest MASE over all series,
        usually MinT-shrink or OLS, which beat bottom-up on the demo and M3 benchmarks),
        ``"bottom_up"``, ``"ols"``, ``"wls_struct"``, ``"mint_shrink"`` or ``"none"``.
    season_length : months per season.
    hierarchy : manager -> segment/team map (``unique_id, segment, team``); default the one
        :func:`monthly_series` stored in ``series.attrs``.
    calibrate : widen under-covering intervals using backtest errors.
    tie_tolerance : relative MASE margin within which the simpler model wins.
    selection_margin : a series keeps the model that backtests best across the whole run
        unless another model beats it on that series by more than this share (0 = pure
        per-series choice). Three short backtest folds make per-series choice noisy; this
        shrinkage made M3 and demo holdout accuracy clearly better (benchmarks/).
    prior : the model preferred as the run's best (default the combination): it is kept
        unless another model's mean backtest MASE over the run is more than 5 % lower.
    nonnegative : clip forecasts and bounds at 0; default when the history has no negatives.
    n_jobs : worker processes for many series (1 = in process).

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
    if season_length < 1:
        raise ParameterError(f"season_length must be >= 1, got {season_length}")
    levels = tuple(int(lv) for lv in levels)
    if any(not 0 < lv < 100 for lv in levels):
        raise ParameterError(f"levels must be percentages between 0 and 100, got {levels}")
    if reconcile not in (*RECONCILERS, "auto"):
        raise ParameterError(
            f"unknown reconcile={reconcile!r}; use one of {', '.join(RECONCILERS)} or 'auto'"
        )
    names = _resolve_models(models)
    frame = _check_series(series)
    if frame.empty:
        raise ParameterError("series is empty: no months to forecast from")

    uids = list(dict.fromkeys(frame["unique_id"].tolist()))
    groups = {uid: g for uid, g in frame.groupby("unique_id", sort=False)}
    values = {uid: groups[uid]["y"].to_numpy(dtype="float64") for uid in uids}
    level_of = {uid: str(groups[uid]["level"].iloc[0]) for uid in uids}
    last_ds = {uid: groups[uid]["ds"].iloc[-1] for uid in uids}
    n_max = max(len(v) for v in values.values())
    backs, horizon = backtest_plan(n_max, h, folds, season_length=season_length, step=step)
    kw = {
        "h": h,
        "models": names,
        "backs": backs,
        "horizon": horizon,
        "m": season_length,
        "levels": levels,
    }

    items = [(uid, values[uid]) for uid in uids]
    if n_jobs > 1 and len(items) > 1:
        _preload_statsmodels()  # forked workers then share the imports instead of each paying ~1 s
        chunks = [items[i :: n_jobs * 4] for i in range(n_jobs * 4)]
        results: dict[str, dict[str, Any]] = {}
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            for part in pool.map(_run_chunk, [(c, kw) for c in chunks if c]):
                results.update(part)
    else:
        results = _run_chunk((items, kw))

    if nonnegative is None:
        nonneg = {uid: bool(np.all(values[uid] >= 0)) for uid in uids}
    else:
        nonneg = dict.fromkeys(uids, bool(nonnegative))

    run_best = _run_best(results, names, prior)
    for res in results.values():
        res["choice"], res["reason"] = _choose(res, tie_tolerance, run_best, selection_margin)

    calibration, factors = _calibrate(results, level_of, levels, calibrate)
    chosen: dict[str, ModelForecast] = {}
    for uid in uids:
        fc = results[uid]["full"].get(results[uid]["choice"])
        if fc is None:
            fc = get_model("naive")(values[uid], h, levels=levels)  # type: ignore[call-arg]
        chosen[uid] = _widen(fc, {lv: factors.get((level_of[uid], lv), 1.0) for lv in levels})

    # Reconciliation over the company/segment/team/manager hierarchy.
    hier = hierarchy if hierarchy is not None else hierarchy_of(series)
    method, scores = "none", pd.DataFrame(columns=["method", "mase"])
    in_hier = [u for u in uids if level_of[u] in ("company", "segment", "team", "manager")]
    managers = [u for u in in_hier if level_of[u] == "manager"]
    if reconcile != "none" and managers and len(in_hier) > len(managers):
        if hier is None or hier.empty:
            raise ParameterError(
                "cannot reconcile: the series carry no manager -> segment/team map; build them "
                "with monthly_series(), pass hierarchy=, or use reconcile='none'"
            )
        ends = {last_ds[u] for u in in_hier}
        if len(ends) > 1:
            raise ParameterError(
                "cannot reconcile series that end in different months; align their ends"
            )
        S, bottom = summing_matrix(in_hier, hier)
        nonneg_all = all(nonneg[u] for u in in_hier)
        residuals = _residual_matrix(results, in_hier)
        method = reconcile
        if reconcile == "auto":
            scores = _score_reconcilers(results, in_hier, S, bottom, season_length, nonneg_all)
            method = (
                str(scores.sort_values("mase", kind="stable").iloc[0]["method"])
                if not scores.empty
                else "bottom_up"
            )
        if method == "mint_shrink" and (residuals is None or residuals.shape[0] < 3):
            method = "bottom_up"
        base = np.vstack([chosen[u].mean for u in in_hier])
        rec = reconcile_matrix(base, S, bottom, method, residuals=residuals, nonnegative=nonneg_all)
        for i, uid in enumerate(in_hier):
            fc = chosen[uid]
            shift = rec[i] - fc.mean
            chosen[uid] = ModelForecast(
                rec[i],
                {lv: lo + shift for lv, lo in fc.lower.items()},
                {lv: hi + shift for lv, hi in fc.upper.items()},
                fc.spec,
                fc.note,
                fc.fallback,
            )

    fc_rows = []
    cand_rows = []
    for uid in uids:
        ds = pd.date_range(last_ds[uid] + pd.offsets.MonthBegin(1), periods=h, freq="MS")
        model_name = results[uid]["choice"]
        fc_rows.append(_frame(uid, level_of[uid], ds, model_name, chosen[uid], levels, nonneg[uid]))
        for name, cand in results[uid]["full"].items():
            cand_rows.append(_frame(uid, level_of[uid], ds, name, cand, levels, nonneg[uid]))
    fc_cols = ["unique_id", "level", "ds", "model", "yhat"] + [
        f"{side}_{lv}" for lv in levels for side in ("lo", "hi")
    ]
    out_fc = _concat(fc_rows, fc_cols)
    out_cand = _concat(cand_rows, fc_cols)

    bt_rows = []
    choice_rows = []
    for uid in uids:
        res = results[uid]
        for name, mtr in res["metrics"].items():
            bt_rows.append(
                {"unique_id": uid, "level": level_of[uid], "model": name, **mtr, "horizon": horizon}
            )
        note = res["full"][res["choice"]].note if res["choice"] in res["full"] else ""
        if res["failures"]:
            note += "; failed: " + "; ".join(f"{k} ({v})" for k, v in res["failures"].items())
        choice_rows.append(
            {
                "unique_id": uid,
                "level": level_of[uid],
                "model": res["choice"],
                "reason": res["reason"],
                "note": note,
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
    choice = pd.DataFrame(choice_rows, columns=["unique_id", "level", "model", "reason", "note"])
    for frame_ in (out_fc, out_cand, backtest, choice):
        for col in ("unique_id", "level", "model"):
            frame_[col] = frame_[col].astype("string")
    choice["reason"] = choice["reason"].astype("string")
    choice["note"] = choice["note"].astype("string")

    return ForecastResult(
        forecast=out_fc,
        backtest=backtest,
        choice=choice,
        history=frame,
        candidates=out_cand,
        calibration=calibration,
        reconciliation=method,
        reconciliation_scores=scores,
        settings={
            "h": h,
            "models": names,
            "folds": len(backs),
            "backtest_horizon": horizon,
            "step": step,
            "levels": levels,
            "reconcile": reconcile,
            "season_length": season_length,
            "calibrate": calibrate,
            "tie_tolerance": tie_tolerance,
            "selection_margin": selection_margin,
            "prior": prior,
            "run_best": run_best,
        },
    )


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


def _residual_matrix(results: dict[str, dict[str, Any]], uids: Sequence[str]) -> np.ndarray | None:
    """Backtest errors of the chosen models: rows = (fold, horizon) points, columns = series."""
    cols = []
    for uid in uids:
        res = results[uid]
        p = res["preds"].get(res["choice"])
        if p is None:
            return None
        cols.append((res["actual"] - p["mean"]).ravel())
    if not cols or len(cols[0]) == 0:
        return None
    mat = np.column_stack(cols)
    mat = mat[np.all(np.isfinite(mat), axis=1)]
    return mat if mat.shape[0] else None


def _score_reconcilers(
    results: dict[str, dict[str, Any]],
    uids: Sequence[str],
    S: np.ndarray,
    bottom: Sequence[int],
    m: int,
    nonnegative: bool,
) -> pd.DataFrame:
    """Mean backtest MASE over all series after each reconciliation method (MinT leave-fold-out)."""
    first = results[uids[0]]
    n_folds, horizon = first["actual"].shape
    if n_folds == 0 or horizon == 0:
        return pd.DataFrame(columns=["method", "mase"])
    rows = []
    for method in ("none", "bottom_up", "ols", "wls_struct", "mint_shrink"):
        values = []
        for k in range(n_folds):
            base = np.vstack([results[u]["preds"][results[u]["choice"]]["mean"][k] for u in uids])
            if not np.all(np.isfinite(base)):
                continue
            residuals = None
            if method == "mint_shrink":
                other = [
                    np.column_stack(
                        [
                            (
                                results[u]["actual"][j]
                                - results[u]["preds"][results[u]["choice"]]["mean"][j]
                            )
                            for u in uids
                        ]
                    )
                    for j in range(n_folds)
                    if j != k
                ]
                if not other:
                    continue
                residuals = np.vstack(other)
            rec = reconcile_matrix(
                base, S, bottom, method, residuals=residuals, nonnegative=nonnegative
            )
            for i, uid in enumerate(uids):
                res = results[uid]
                if res["valid"][k]:
                    v = mase(res["actual"][k], rec[i], res["scales"][k])
                    if np.isfinite(v):
                        values.append(v)
        if values:
            rows.append({"method": method, "mase": float(np.mean(values))})
    return pd.DataFrame(rows, columns=["method", "mase"])
