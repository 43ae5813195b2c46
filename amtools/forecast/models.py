"""Forecast models: the forecast type, baselines, exponential smoothing (ETS) and Theta.

ARIMA lives in :mod:`amtools.forecast.arima`, the Dynamic Optimised Theta Model and the
classical seasonal adjustment in :mod:`amtools.forecast.dotm`; the registry that names every
model (and the combinations of models) in :mod:`amtools.forecast.registry`; the guard that
rejects implausible forecasts in :mod:`amtools.forecast.backtest`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "ModelForecast",
    "ModelFn",
    "normal_bounds",
    "finite_ok",
    "float_series",
    "seasonal_naive",
    "naive",
    "ets",
    "theta",
    "croston",
    "zero",
]


@dataclass
class ModelForecast:
    """What every model returns: point forecast, intervals and how it got there.

    Attributes
    ----------
    mean : point forecast, length ``h``.
    lower, upper : interval bounds per coverage level (e.g. ``{80: array, 95: array}``).
    spec : the configuration the model chose (refit with ``spec=`` in backtest folds).
    note : human-readable description (chosen configuration or fallback reason).
    fallback : True when the model could not run as asked and a simpler one was used.
    """

    mean: np.ndarray
    lower: dict[int, np.ndarray]
    upper: dict[int, np.ndarray]
    spec: Any = None
    note: str = ""
    fallback: bool = False


class ModelFn(Protocol):
    """Signature of a registered model."""

    def __call__(
        self,
        y: np.ndarray,
        h: int,
        *,
        season_length: int = 12,
        levels: Sequence[int] = (80, 95),
        spec: Any = None,
    ) -> ModelForecast: ...


# ---------------------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=64)
def _z(level: int) -> float:
    return float(stats.norm.ppf(0.5 + level / 200.0))


def normal_bounds(
    mean: np.ndarray, sd: np.ndarray, levels: Sequence[int]
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    lower = {lv: mean - _z(lv) * sd for lv in levels}
    upper = {lv: mean + _z(lv) * sd for lv in levels}
    return lower, upper


def finite_ok(mean: np.ndarray, y: np.ndarray, factor: float = 10.0) -> bool:
    """Reject forecasts that are non-finite or explode beyond ``factor`` x the history's range."""
    if not np.all(np.isfinite(mean)):
        return False
    scale = max(float(np.max(np.abs(y))), 1e-9)
    return bool(np.max(np.abs(mean)) <= factor * scale)


def float_series(y: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(y, dtype="float64"))


# ---------------------------------------------------------------------------- baselines
def naive(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """Random walk: the last value, intervals widening with sqrt(horizon).

    Example
    -------
    >>> naive(np.array([1.0, 2.0, 3.0]), 2).mean.tolist()
    [3.0, 3.0]
    """
    y = np.asarray(y, dtype="float64")
    mean = np.full(h, y[-1])
    diffs = np.diff(y)
    sigma = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else float(np.abs(y[-1]) * 0.5)
    sd = sigma * np.sqrt(np.arange(1, h + 1))
    lower, upper = normal_bounds(mean, sd, levels)
    return ModelForecast(mean, lower, upper, note="last value")


def seasonal_naive(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """Same month last year (the baseline); falls back to :func:`naive` below one season.

    Example
    -------
    >>> seasonal_naive(np.arange(1.0, 9.0), 3, season_length=4).mean.tolist()
    [5.0, 6.0, 7.0]
    """
    y = np.asarray(y, dtype="float64")
    m = season_length
    if m <= 1 or len(y) < m + 1:
        out = naive(y, h, levels=levels)
        out.note = f"history of {len(y)} months < one season + 1: naive instead"
        out.fallback = True
        return out
    last = y[-m:]
    mean = np.array([last[i % m] for i in range(h)])
    resid = y[m:] - y[:-m]
    sigma = float(np.sqrt(np.mean(resid**2)))
    k = np.floor(np.arange(h) / m) + 1
    sd = sigma * np.sqrt(k)
    lower, upper = normal_bounds(mean, sd, levels)
    return ModelForecast(mean, lower, upper, note=f"same month one season ({m}) ago")


def zero(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """Forecast zero with zero-width intervals (for all-zero histories).

    Example
    -------
    >>> zero(np.zeros(5), 2).mean.tolist()
    [0.0, 0.0]
    """
    mean = np.zeros(h)
    return ModelForecast(
        mean,
        {lv: mean.copy() for lv in levels},
        {lv: mean.copy() for lv in levels},
        note="all-zero history",
    )


def croston(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """Croston's method with the Syntetos-Boylan correction, for intermittent series.

    The point forecast is the expected monthly amount (size / interval, SBA-corrected);
    intervals are empirical quantiles of the recent months (mean-based, not per-horizon).

    Example
    -------
    >>> round(float(croston(np.array([0, 0, 10, 0, 0, 10, 0, 0, 10.0]), 2).mean[0]), 2)
    3.17
    """
    y = np.asarray(y, dtype="float64")
    alpha = 0.1 if spec is None else float(spec)
    nz = np.flatnonzero(y != 0)
    if len(nz) == 0:
        return zero(y, h, levels=levels)
    sizes = y[nz]
    intervals = np.diff(np.concatenate([[-1], nz])).astype("float64")
    z, p = sizes[0], intervals[0]
    for s, q in zip(sizes[1:], intervals[1:], strict=True):
        z += alpha * (s - z)
        p += alpha * (q - p)
    rate = (1 - alpha / 2) * z / p
    mean = np.full(h, rate)
    recent = y[-min(len(y), 24) :]
    lower = {lv: np.full(h, np.quantile(recent, 0.5 - lv / 200.0)) for lv in levels}
    upper = {lv: np.full(h, np.quantile(recent, 0.5 + lv / 200.0)) for lv in levels}
    for lv in levels:
        lower[lv] = np.minimum(lower[lv], mean)
        upper[lv] = np.maximum(upper[lv], mean)
    return ModelForecast(mean, lower, upper, spec=alpha, note=f"Croston-SBA (alpha={alpha})")


# ---------------------------------------------------------------------------- ETS
ETS_GRID_SEASONAL: list[tuple[str, str | None, bool, str | None]] = [
    ("add", None, False, None),
    ("add", "add", True, None),
    ("add", None, False, "add"),
    ("add", "add", True, "add"),
]
ETS_GRID_NONSEASONAL: list[tuple[str, str | None, bool, str | None]] = [
    ("add", None, False, None),
    ("add", "add", True, None),
]
ETS_MULTIPLICATIVE: list[tuple[str, str | None, bool, str | None]] = [
    ("mul", None, False, "mul"),
    ("mul", "add", True, "mul"),
]


def _ets_name(cfg: tuple[str, str | None, bool, str | None]) -> str:
    err, trend, damped, season = cfg
    code = {"add": "A", "mul": "M", None: "N"}
    t = code[trend] + ("d" if damped else "")
    return f"ETS({code[err]},{t},{code[season]})"


def _ets_model(y: np.ndarray, cfg: tuple[str, str | None, bool, str | None], m: int) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import (
        ETSModel,
    )  # heavy: on first use

    err, trend, damped, season = cfg
    n = len(y)
    # Heuristic initial states (from the first seasons) leave 1-4 parameters to optimise
    # instead of up to 18: ~20x faster, and AICc below still counts the states.
    heuristic = n >= 2 * m + 2 if season else n >= 10
    return ETSModel(
        float_series(y),
        error=err,
        trend=trend,
        damped_trend=damped,
        seasonal=season,
        seasonal_periods=m if season else None,
        initialization_method="heuristic" if heuristic else "estimated",
    )


def _ets_states(
    cfg: tuple[str, str | None, bool, str | None], m: int, model: Any, params: np.ndarray
) -> tuple[float, float, float, float, float, float, list[float]]:
    """Smoothing weights and initial states of a fitted ``ETSModel``.

    Returns ``(alpha, beta, gamma, phi, level, slope, seasonals)`` with the seasonals oldest
    first (the last ``m`` months before the data start).
    """
    _err, trend, damped, season = cfg
    d = dict(zip(model.param_names, np.asarray(params, dtype="float64"), strict=True))
    alpha = d["smoothing_level"]
    beta = d.get("smoothing_trend", 0.0) if trend else 0.0
    gamma = d.get("smoothing_seasonal", 0.0) if season else 0.0
    phi = d.get("damping_trend", 1.0) if damped else 1.0
    if "initial_level" in d:
        level = d["initial_level"]
        slope = d.get("initial_trend", 0.0) if trend else 0.0
        seasonals = [d[f"initial_seasonal.{i}"] for i in range(m)][::-1] if season else []
    else:
        level = float(model.initial_level)
        slope = float(model.initial_trend) if trend else 0.0
        seasonals = list(np.asarray(model.initial_seasonal, dtype="float64")) if season else []
    return alpha, beta, gamma, phi, level, slope, seasonals


def _aicc(loglik: float, n: int, k: int) -> float:
    """AICc with ``k`` smoothing parameters and initial states, plus the error variance."""
    kk = k + 1
    penalty = 2 * kk * (kk + 1) / (n - kk - 1) if n - kk - 1 > 0 else np.inf
    return float(-2 * loglik + 2 * kk + penalty)


def _ets_k(cfg: tuple[str, str | None, bool, str | None], m: int) -> int:
    _err, trend, damped, season = cfg
    k = 1 + (trend is not None) + (season is not None) + bool(damped)  # smoothing + damping
    return k + 1 + (trend is not None) + ((m - 1) if season else 0)  # initial states


def _ets_additive(
    y: np.ndarray,
    cfg: tuple[str, str | None, bool, str | None],
    m: int,
    model: Any,
    params: np.ndarray,
    h: int,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Filter an additive-error ETS with fitted ``params``: (AICc, forecast mean, forecast sd).

    Reimplements the state recursions of Hyndman et al. (2008) so results need no
    statsmodels results object (whose construction computes a numerical Hessian).
    """
    _err, trend, damped, season = cfg
    alpha, beta, gamma, phi, level, slope, seasonals = _ets_states(cfg, m, model, params)
    sse = 0.0
    for value in y:
        s_old = seasonals[-m] if season else 0.0
        error = value - (level + phi * slope + s_old)
        sse += error * error
        level, slope = level + phi * slope + alpha * error, phi * slope + beta * error
        if season:
            seasonals.append(s_old + gamma * error)
    n = len(y)
    k = _ets_k(cfg, m)
    sigma2_mle = max(sse / n, 1e-12)
    aicc = _aicc(-0.5 * n * (np.log(2 * np.pi * sigma2_mle) + 1), n, k)
    steps = np.arange(1, h + 1)
    if trend is None:
        damp_sum = np.zeros(h)
    elif damped:
        damp_sum = np.cumsum(phi**steps)
    else:
        damp_sum = steps.astype("float64")
    seas = np.array([seasonals[-m + (j - 1) % m] for j in steps]) if season else np.zeros(h)
    mean = level + damp_sum * slope + seas
    # h-step variance of class-1 ETS: sigma^2 (1 + sum_{j<h} c_j^2), c_j = alpha + beta phi_j + gamma [j % m == 0]
    c = alpha + beta * damp_sum[:-1] if h > 1 else np.zeros(0)
    if season and h > 1:
        c = c + gamma * (steps[:-1] % m == 0)
    var_factor = 1 + np.concatenate([[0.0], np.cumsum(c**2)])
    sigma2 = sse / max(n - k, n / 2)  # degrees-of-freedom corrected for the intervals
    return aicc, mean, np.sqrt(sigma2 * var_factor)


ETS_PATHS = 1000
"""Simulated sample paths for the intervals of multiplicative ETS (as statsmodels and R's
``forecast`` do: these models have no closed-form forecast distribution)."""


def _ets_multiplicative(
    y: np.ndarray,
    cfg: tuple[str, str | None, bool, str | None],
    m: int,
    model: Any,
    params: np.ndarray,
    h: int,
    levels: Sequence[int],
) -> tuple[float, np.ndarray, dict[int, np.ndarray], dict[int, np.ndarray]] | None:
    """Filter a multiplicative-error ETS (additive, damped or no trend; multiplicative or no
    season) with fitted ``params``: (AICc, forecast mean, lower, upper), or None when a
    fitted value is not positive.

    The recursions are statsmodels' ``ETSModel`` ones (Holt-Winters form, so the fit and
    this filter agree); the likelihood is Hyndman et al. (2008)'s for relative errors. The
    intervals are quantiles of :data:`ETS_PATHS` simulated paths with a fixed seed, so a
    forecast is reproducible.
    """
    season = cfg[3]
    alpha, beta, gamma, phi, level, slope, seasonals = _ets_states(cfg, m, model, params)
    beta_star = beta / alpha if alpha > 0 else 0.0
    gamma_star = gamma / (1 - alpha) if alpha < 1 else 0.0
    sse = 0.0
    log_fit = 0.0
    for value in y:
        s_old = seasonals[-m] if season else 1.0
        base = level + phi * slope
        fitted = base * s_old
        if not fitted > 0:
            return None
        error = (value - fitted) / fitted
        log_fit += math.log(fitted)
        sse += error * error
        new_level = alpha * value / s_old + (1 - alpha) * base
        slope = beta_star * (new_level - level) + (1 - beta_star) * phi * slope
        level = new_level
        if season:
            seasonals.append(gamma_star * value / level + (1 - gamma_star) * s_old)
    n = len(y)
    k = _ets_k(cfg, m)
    sigma2_mle = max(sse / n, 1e-12)
    aicc = _aicc(-0.5 * n * (np.log(2 * np.pi * sigma2_mle) + 1) - log_fit, n, k)
    sigma = math.sqrt(sse / max(n - k, n / 2))
    rng = np.random.default_rng(20080101)
    noise = rng.standard_normal((h, ETS_PATHS)) * sigma
    lv = np.full(ETS_PATHS, level)
    sl = np.full(ETS_PATHS, slope)
    seas = [np.full(ETS_PATHS, s) for s in seasonals[-m:]] if season else []
    mean = np.empty(h)
    paths = np.empty((h, ETS_PATHS))
    s_point = list(seasonals[-m:]) if season else []
    point_level, point_slope = level, slope
    for j in range(h):
        # the point forecast: the recursion with zero errors
        s_p = s_point[j % m] if season else 1.0
        mean[j] = (point_level + phi * point_slope) * s_p
        point_level, point_slope = point_level + phi * point_slope, phi * point_slope
        p_season = seas[j % m] if season else np.ones(ETS_PATHS)
        p_base = lv + phi * sl
        p_value = p_base * p_season * (1 + noise[j])
        paths[j] = p_value
        p_level = alpha * p_value / p_season + (1 - alpha) * p_base
        sl = beta_star * (p_level - lv) + (1 - beta_star) * phi * sl
        lv = p_level
        if season:
            safe = np.where(lv != 0, lv, 1e-32)
            seas[j % m] = gamma_star * p_value / safe + (1 - gamma_star) * p_season
    qs = [q for lvl in levels for q in (0.5 - lvl / 200.0, 0.5 + lvl / 200.0)]
    quant = np.quantile(paths, qs, axis=1)
    lower = {lvl: np.minimum(quant[2 * i], mean) for i, lvl in enumerate(levels)}
    upper = {lvl: np.maximum(quant[2 * i + 1], mean) for i, lvl in enumerate(levels)}
    return aicc, mean, lower, upper


def ets(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
    multiplicative: bool = True,
) -> ModelForecast:
    """Exponential smoothing (statsmodels ``ETSModel``), configuration chosen by AICc.

    The grid covers additive error with none/damped trend and none/additive season, and,
    when ``multiplicative`` (the default) and the series is positive, multiplicative error
    with none/damped trend and multiplicative season: a season that scales with the level,
    as sales seasons usually do (Hyndman et al. 2008; on all of M3 monthly it lowered the
    default combination's sMAPE from 13.61 to 13.55 (benchmarks/results_forecast.md).
    Season terms need two full seasons. Parameters are estimated by statsmodels; AICc counts
    smoothing parameters and initial states; additive models get closed-form intervals,
    multiplicative ones simulated paths (:data:`ETS_PATHS`). Fits with non-finite parameters or forecasts
    that explode beyond 10x the history's maximum are rejected; when every fit fails the
    forecast falls back to :func:`naive` with the reason in ``note``. ``spec`` is
    ``(error, trend, damped, season, parameters)``: a backtest fold filters its data with
    the full-history parameters instead of re-estimating them.

    Example
    -------
    >>> y = 10 + np.sin(np.arange(36) * np.pi / 6)
    >>> ets(y, 3).note
    'ETS(A,N,A) by AICc of 6'
    >>> ets(y - 10, 3).note  # not positive: additive configurations only
    'ETS(A,N,A) by AICc of 4'
    """
    y = np.asarray(y, dtype="float64")
    m = season_length
    n = len(y)
    if n < 4:
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"ETS needs >= 4 months, has {n}: naive instead", True
        return out
    start = None
    if spec is not None:
        # spec = (error, trend, damped, season[, full-history parameters])
        grid = [tuple(spec[:4])]
        start = spec[4] if len(spec) > 4 else None
        if spec[3] and n < 2 * m:
            grid, start = [(spec[0], spec[1], spec[2], None)], None
    else:
        seasonal_ok = m > 1 and n >= 2 * m
        grid = list(ETS_GRID_SEASONAL if seasonal_ok else ETS_GRID_NONSEASONAL)
        if multiplicative and np.all(y > 0):
            grid += [c if seasonal_ok else (c[0], c[1], c[2], None) for c in ETS_MULTIPLICATIVE]
    if n < 10:
        grid = [c for c in grid if not c[1]] or [("add", None, False, None)]
    fits = []
    errors = []
    for cfg in grid:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = _ets_model(y, cfg, m)
                if start is not None and len(start) == len(model.start_params):
                    # Backtest folds filter with the full-history parameters (no refit).
                    params = np.asarray(start, dtype="float64")
                else:
                    params = np.asarray(
                        model.fit(disp=False, maxiter=200, return_params=True), dtype="float64"
                    )
                if not np.all(np.isfinite(params)):
                    errors.append(f"{_ets_name(cfg)}: non-finite parameters")
                    continue
                if cfg[0] == "add":
                    aicc, mean, sd = _ets_additive(y, cfg, m, model, params, h)
                    lower, upper = normal_bounds(mean, sd, levels)
                else:
                    filtered = _ets_multiplicative(y, cfg, m, model, params, h, levels)
                    if filtered is None:
                        errors.append(f"{_ets_name(cfg)}: a fitted value is not positive")
                        continue
                    aicc, mean, lower, upper = filtered
        except Exception as exc:  # noqa: BLE001 - any statsmodels failure means "try the next"
            errors.append(f"{_ets_name(cfg)}: {type(exc).__name__}")
            continue
        bounds = (*lower.values(), *upper.values())
        if not math.isfinite(aicc) or not all(np.all(np.isfinite(b)) for b in bounds):
            errors.append(f"{_ets_name(cfg)}: non-finite fit")
        elif not finite_ok(mean, y):
            errors.append(f"{_ets_name(cfg)}: forecast explodes")
        else:
            fits.append((aicc, cfg, mean, lower, upper, params))
    if fits:
        aicc, cfg, mean, lower, upper, params = min(fits, key=lambda f: f[0])
        how = "refit" if spec is not None else f"by AICc of {len(grid)}"
        return ModelForecast(
            mean, lower, upper, spec=(*cfg, params), note=f"{_ets_name(cfg)} {how}"
        )
    out = naive(y, h, levels=levels)
    out.note = "ETS failed (" + "; ".join(errors[:3]) + "): naive instead"
    out.fallback = True
    return out


# ---------------------------------------------------------------------------- Theta
def _ses_sigma2(x: np.ndarray, alpha: float) -> float:
    """Variance of the one-step errors of simple exponential smoothing with drift removed."""
    level = x[0]
    errors = []
    for value in x[1:]:
        errors.append(value - level)
        level += alpha * (value - level)
    e = np.asarray(errors)
    return float(np.var(e)) if len(e) > 1 else float(np.var(x))


def _ses_sse(y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """SSE of simple exponential smoothing started at ``y[0]``, for each smoothing weight."""
    from scipy import signal  # light, but only needed here

    out = np.empty(len(alphas))
    for i, a in enumerate(alphas):
        # l_t = a y_t + (1 - a) l_{t-1}, l_0 = y_0; the one-step forecast of y_t is l_{t-1}
        level = signal.lfilter([a], [1.0, -(1.0 - a)], y, zi=[(1.0 - a) * y[0]])[0]
        err = y[1:] - level[:-1]
        out[i] = float(np.dot(err, err))
    return out


def _ses_alpha(y: np.ndarray) -> float:
    """The SES smoothing weight in [0, 1] with the least in-sample SSE (grid, then Brent)."""
    from scipy import optimize

    grid = np.linspace(0.0, 1.0, 11)
    sse = _ses_sse(y, grid)
    i = int(np.argmin(sse))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    found = optimize.minimize_scalar(
        lambda a: float(_ses_sse(y, np.array([a]))[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(found.x) if found.fun <= sse[i] else float(grid[i])


def _theta_season(y: np.ndarray, m: int) -> tuple[str, np.ndarray] | None:
    """The season the Theta method removes: ``(kind, m indices)``, or ``None``.

    As statsmodels' ``ThetaModel`` (``use_test=True``): seasonal when
    ``n r_m^2 / sum_{k<m} r_k^2`` exceeds the 90 % chi-squared(1) value 2.7055; a classical
    decomposition, multiplicative for a positive series unless an index is not positive.
    """
    from amtools.forecast.dotm import autocorrelations, seasonal_indices

    r = autocorrelations(y, m)
    if r is None or not len(y) * r[m] ** 2 / float(np.sum(r[:m] ** 2)) > 2.705543454095404:
        return None
    kind = "multiplicative" if float(np.min(y)) > 0 else "additive"
    idx = seasonal_indices(y, m, kind)
    if kind == "multiplicative" and float(np.min(idx)) <= 0:
        kind, idx = "additive", seasonal_indices(y, m, "additive")
    return kind, idx


def theta(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """The Theta method (Assimakopoulos and Nikolopoulos 2000), deseasonalised when seasonal.

    The standard theta = 2 method in the two-step form of Hyndman and Billah (2003), as
    statsmodels' ``ThetaModel(method="auto")`` computes it: with a season found by the
    90 % autocorrelation test (two seasons of data needed), a classical decomposition
    removes it; then the forecast is simple exponential smoothing (started at the first
    value, weight by least squares) plus half the OLS trend slope, extrapolated with the
    SES correction ``h - 1 + 1/alpha - (1 - alpha)^n / alpha``; intervals use the one-step
    errors of that SES. With ``spec = (seasonal_ok, alpha)`` (a backtest fold) the weight is
    reused instead of re-estimated.

    Example
    -------
    >>> out = theta(10 + np.arange(30.0), 2)
    >>> bool(out.mean[1] > out.mean[0])
    True
    """
    y = np.asarray(y, dtype="float64")
    n = len(y)
    m = season_length
    if n < 4:
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"Theta needs >= 4 months, has {n}: naive instead", True
        return out
    seasonal_ok = m > 1 and n >= 2 * m
    try:
        season = _theta_season(y, m) if seasonal_ok else None
        pos = np.arange(n + h) % m
        if season is None:
            adj = y
        elif season[0] == "multiplicative":
            adj = y / season[1][pos[:n]]
        else:
            adj = y - season[1][pos[:n]]
        t = np.arange(n, dtype="float64")
        slope = float(np.polyfit(t, adj, 1)[0]) if np.ptp(adj) > 0 else 0.0
        given = spec[1] if isinstance(spec, tuple) and len(spec) > 1 else None
        alpha = _ses_alpha(adj) if given is None else float(given)
        level = adj[0]
        for value in adj:
            level = alpha * value + (1.0 - alpha) * level
        steps = np.arange(h, dtype="float64")
        if alpha > 0:
            steps = steps + 1 / alpha - (1 - alpha) ** n / alpha
        mean = level + 0.5 * slope * steps
        if season is not None:
            future = season[1][pos[n:]]
            mean = mean * future if season[0] == "multiplicative" else mean + future
        sigma2 = _ses_sigma2(y, alpha)
        sd = np.sqrt((1 + np.arange(h) * (1 + (alpha - 1) ** 2)) * sigma2)
        lower, upper = normal_bounds(mean, sd, levels)
        if not finite_ok(mean, y):
            raise FloatingPointError("forecast explodes")
    except Exception as exc:  # noqa: BLE001
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"Theta failed ({type(exc).__name__}: {exc}): naive instead", True
        return out
    label = "deseasonalised" if seasonal_ok else "no season"
    return ModelForecast(mean, lower, upper, spec=(seasonal_ok, alpha), note=f"Theta ({label})")
