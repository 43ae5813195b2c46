"""Seasonal ARIMA with differencing chosen by tests and a small order search by AICc."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from amtools.forecast.models import (
    ModelForecast,
    finite_ok,
    float_series,
    naive,
    normal_bounds,
)

__all__ = ["arima"]


def _seasonal_strength(y: np.ndarray, m: int) -> float:
    """Seasonal strength 1 - var(remainder) / var(detrended) of a classical decomposition."""
    n = len(y)
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, weights, mode="valid")
    offset = (n - len(trend)) // 2
    detrended = y[offset : offset + len(trend)] - trend
    positions = (np.arange(len(detrended)) + offset) % m
    means = np.array(
        [detrended[positions == p].mean() if np.any(positions == p) else 0.0 for p in range(m)]
    )
    remainder = detrended - means[positions]
    var_detrended = float(np.var(detrended))
    if var_detrended <= 0:
        return 0.0
    return max(0.0, 1.0 - float(np.var(remainder)) / var_detrended)


def _needs_difference(x: np.ndarray) -> bool:
    from statsmodels.tsa.stattools import kpss  # heavy: on first use

    if len(x) < 8 or np.ptp(x) == 0:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pvalue = kpss(x, regression="c", nlags="auto")[1]
        except Exception:  # noqa: BLE001
            return False
    return bool(pvalue < 0.05)


def _orders(y: np.ndarray, m: int, spec: Any) -> tuple[int, int, list[tuple[int, int, int]], Any]:
    """Differencing, candidate (p, q, seasonal q) orders and start parameters of a fit.

    With ``spec`` (a backtest fold) the full-history choice and its parameters; without,
    differencing by tests and the small candidate set.
    """
    n = len(y)
    if spec is not None:
        d, seasonal_d, candidates = spec[0], spec[1], [spec[2]]
        start = spec[3] if len(spec) > 3 else None
        if seasonal_d and n < 2 * m + 2:
            seasonal_d, candidates, start = 0, [(spec[2][0], spec[2][1], 0)], None
        return d, seasonal_d, candidates, start
    seasonal_d = int(m > 1 and n >= 2 * m + 2 and _seasonal_strength(y, m) > 0.64)
    x = y[m:] - y[:-m] if seasonal_d else y
    d = int(_needs_difference(x))
    if seasonal_d:
        # A seasonal MA term makes the state 13+ wide and each fit ~4x slower: only the
        # airline-type (0,d,1)(0,1,1) model gets one, and only with 4+ seasons of data.
        candidates = [(0, 0, 0), (1, 0, 0), (0, 1, 0)]
        if n >= 4 * m:
            candidates.append((0, 1, 1))
    else:
        candidates = [(p, q, 0) for p, q in ((0, 0), (1, 0), (0, 1))]
    return d, seasonal_d, candidates, None


def arima(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """Seasonal ARIMA (statsmodels ``SARIMAX``) with a small automatic order search.

    Differencing is chosen by tests (a seasonal difference when the seasonal strength of a
    classical decomposition exceeds 0.64 and two seasons exist; a first difference when KPSS
    rejects stationarity), then (p, q) in {(0,0), (1,0), (0,1)} by AICc, plus the airline-type
    seasonal MA model when seasonally differenced with four or more seasons of data.
    With ``spec`` (a backtest fold) the chosen order is filtered with the full-history
    parameters ``spec[3]`` instead of being re-estimated.

    Example
    -------
    >>> out = arima(10 + np.arange(30.0) + np.sin(np.arange(30.0)), 3)  # doctest: +SKIP
    >>> out.note  # doctest: +SKIP
    'ARIMA(0,1,1) with drift by AICc of 4'
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX  # heavy: imported when first used

    y = np.asarray(y, dtype="float64")
    n = len(y)
    m = season_length
    if n < 6:
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"ARIMA needs >= 6 months, has {n}: naive instead", True
        return out
    d, seasonal_d, candidates, start = _orders(y, m, spec)
    trend = "c" if d + seasonal_d <= 1 else "n"
    fits = []
    errors = []
    for p, q, sq in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = SARIMAX(
                    float_series(y),
                    order=(p, d, q),
                    seasonal_order=(0, seasonal_d, sq, m) if seasonal_d else (0, 0, 0, 0),
                    trend=trend,
                    simple_differencing=True,
                    concentrate_scale=True,
                )
                # Backtest folds reuse the full-history estimates: the fold's data are only
                # filtered (no optimisation), which cut ARIMA's CPU by about half with the
                # same holdout accuracy (benchmarks/results_forecast.md). Only the winner
                # gets a results object (building one costs ~6 ms).
                if start is not None and len(start) == len(model.start_params):
                    params = np.asarray(start, dtype="float64")
                else:
                    params = np.asarray(
                        model.fit(disp=False, maxiter=50, return_params=True), dtype="float64"
                    )
                loglik = float(model.loglike(params)) if len(candidates) > 1 else 0.0
            k = len(params) + 1  # + the concentrated-out variance
            nobs = int(model.nobs)
            aicc = (
                -2 * loglik
                + 2 * k
                + (2 * k * (k + 1) / (nobs - k - 1) if nobs - k - 1 > 0 else np.inf)
            )
            if not math.isfinite(aicc) or not np.all(np.isfinite(params)):
                errors.append(f"({p},{d},{q}): non-finite fit")
                continue
            fits.append((aicc, (p, q, sq), (model, params)))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"({p},{d},{q}): {type(exc).__name__}")
    fits.sort(key=lambda f: f[0])
    for _aicc, (p, q, sq), (model, params) in fits:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # No parameter covariance (a numerical Hessian): only forecasts are needed.
                res = model.filter(params, cov_type="none")
                fc = res.get_forecast(h)
                diffed = np.asarray(fc.predicted_mean, dtype="float64")
                sd_diffed = np.sqrt(np.asarray(fc.var_pred_mean, dtype="float64"))
            mean, sd = _undifference(y, diffed, sd_diffed, d, seasonal_d, m, res)
            if not finite_ok(mean, y) or not np.all(np.isfinite(sd)):
                errors.append(f"({p},{d},{q}): forecast explodes")
                continue
        except Exception as exc:  # noqa: BLE001
            errors.append(f"({p},{d},{q}): {type(exc).__name__}")
            continue
        lower, upper = normal_bounds(mean, sd, levels)
        seas = f"(0,{seasonal_d},{sq})[{m}]" if seasonal_d else ""
        how = "refit" if spec is not None else f"by AICc of {len(candidates)}"
        return ModelForecast(
            mean,
            lower,
            upper,
            spec=(d, seasonal_d, (p, q, sq), params),
            note=f"ARIMA({p},{d},{q}){seas} {how}",
        )
    out = naive(y, h, levels=levels)
    out.note = "ARIMA failed (" + "; ".join(errors[:3]) + "): naive instead"
    out.fallback = True
    return out


def _undifference(
    y: np.ndarray,
    diffed: np.ndarray,
    sd_diffed: np.ndarray,
    d: int,
    seasonal_d: int,
    m: int,
    res: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate a forecast made on differenced data back to levels, with psi-weight variances."""
    h = len(diffed)
    if d == 0 and seasonal_d == 0:
        return diffed, sd_diffed
    # Undo the differences on the point forecast.
    hist = list(y)
    base = np.asarray(y, dtype="float64")
    x_hist = base
    if seasonal_d:
        x_hist = base[m:] - base[:-m]
    out_x = np.asarray(diffed, dtype="float64")
    if d:
        prev = x_hist[-1]
        out_x = prev + np.cumsum(out_x)
    if seasonal_d:
        ext = list(hist)
        for i in range(h):
            ext.append(ext[-m] + out_x[i])
        mean = np.asarray(ext[len(hist) :])
    else:
        mean = out_x
    # Variance: psi weights of the integrated process from the ARMA psi weights.
    from statsmodels.tsa.arima_process import arma2ma  # heavy: on first use

    params = res.params
    ar = np.r_[1, -np.asarray([params[k] for k in params.index if str(k).startswith("ar.L")])]
    ma = np.r_[1, np.asarray([params[k] for k in params.index if str(k).startswith("ma.L")])]
    sma = [params[k] for k in params.index if str(k).startswith("ma.S.L")]
    if sma:
        seasonal_ma = np.zeros(m + 1)
        seasonal_ma[0] = 1
        seasonal_ma[m] = sma[0]
        ma = np.convolve(ma, seasonal_ma)
    integ = np.array([1.0])
    for _ in range(d):
        integ = np.convolve(integ, [1.0, -1.0])
    if seasonal_d:
        sdiff = np.zeros(m + 1)
        sdiff[0], sdiff[m] = 1.0, -1.0
        integ = np.convolve(integ, sdiff)
    psi = arma2ma(np.convolve(ar, integ), ma, lags=h)
    sigma2 = float(res.scale) if hasattr(res, "scale") else float(sd_diffed[0] ** 2)
    sd = np.sqrt(sigma2 * np.cumsum(psi**2))
    return mean, sd
