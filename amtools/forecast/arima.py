"""Seasonal ARIMA with differencing chosen by tests and a small order search by AICc.

The orders are the small set of the M3/M4 benchmark practice: after the differencing the
tests ask for, an ARMA with at most one AR term, one MA term and one seasonal MA term (the
"airline" model). They are estimated here by conditional sum of squares (CSS; Box, Jenkins
and Reinsel, "Time Series Analysis", ch. 7), the estimator R's ``arima(method = "CSS")``
and the CSS step of ``forecast::auto.arima`` use: with the MA terms fixed, the residuals
are linear in the AR coefficient and the constant, so those are solved exactly (least
squares on :func:`scipy.signal.lfilter`-ed regressors) and only the one or two MA
coefficients are searched numerically. A fit costs about a millisecond instead of the tens
of milliseconds of an exact Kalman-filter likelihood (statsmodels ``SARIMAX``), with the
same held-out accuracy on M3 monthly (``benchmarks/results_forecast.md``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, signal

from amtools.forecast.models import ModelForecast, naive, normal_bounds

__all__ = ["arima", "guerrero_lambda"]

_MA_BOUND = 0.98
"""MA coefficients are searched in (-0.98, 0.98): invertible, and away from the CSS boundary."""

ORDERS: list[tuple[int, int, int]] = [(0, 0, 0), (1, 0, 0), (0, 1, 0)]
"""The (p, q, seasonal q) orders searched; a wider search (p, q <= 2) was less accurate on
M3 monthly, alone and in the combination (``benchmarks/results_forecast.md``)."""
AIRLINE: tuple[int, int, int] = (0, 1, 1)
"""Also searched when seasonally differenced with four or more seasons of data."""


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


def _difference(y: np.ndarray, d: int, seasonal_d: int, m: int) -> np.ndarray:
    x = np.asarray(y, dtype="float64")
    if seasonal_d:
        x = x[m:] - x[:-m]
    for _ in range(d):
        x = np.diff(x)
    return x


def _ma_poly(thetas: np.ndarray, stheta: float, m: int) -> np.ndarray:
    """Coefficients of (1 + theta_1 B + ... + theta_q B^q)(1 + stheta B^m), lowest power first."""
    ma = np.r_[1.0, np.asarray(thetas, dtype="float64")]
    if stheta:
        seasonal = np.zeros(m + 1)
        seasonal[0], seasonal[m] = 1.0, stheta
        ma = np.convolve(ma, seasonal)
    return ma


def _stable(coefs: np.ndarray, sign: float) -> bool:
    """Whether 1 + sign * (c_1 B + ... + c_k B^k) has every root outside the unit circle."""
    if len(coefs) == 0:
        return True
    if len(coefs) == 1:
        return bool(abs(coefs[0]) < 1.0)
    roots = np.roots(np.r_[sign * np.asarray(coefs)[::-1], 1.0])
    return bool(np.all(np.abs(roots) > 1.0 + 1e-6))


def _split(
    params: np.ndarray, order: tuple[int, int, int]
) -> tuple[float, np.ndarray, np.ndarray, float]:
    """``[c, phi_1..phi_p, theta_1..theta_q, stheta]`` as (c, phis, thetas, stheta)."""
    p, q, sq = order
    c = float(params[0])
    phis = np.asarray(params[1 : 1 + p], dtype="float64")
    thetas = np.asarray(params[1 + p : 1 + p + q], dtype="float64")
    stheta = float(params[1 + p + q]) if sq else 0.0
    return c, phis, thetas, stheta


def _solve_linear(
    x: np.ndarray, ma: np.ndarray, p: int, constant: bool, cond: int
) -> tuple[float, float, np.ndarray]:
    """(SSR, c, phis) minimising the CSS for fixed MA terms: least squares on filtered regressors.

    Residuals are counted from ``t = cond`` on, with pre-sample residuals 0; the model
    phi(B) x_t = c + theta(B) e_t is linear in the AR coefficients and ``c`` for fixed MA
    terms, and so is the MA filter, so each regressor is filtered once.
    """
    n = len(x)
    target = signal.lfilter([1.0], ma, x[cond:])
    cols = [signal.lfilter([1.0], ma, x[cond - i : n - i]) for i in range(1, p + 1)]
    if constant:
        cols.append(signal.lfilter([1.0], ma, np.ones(n - cond)))
    if not cols:
        return float(np.dot(target, target)), 0.0, np.zeros(0)
    design = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    c = float(coef[-1]) if constant else 0.0
    return float(np.dot(resid, resid)), c, np.asarray(coef[:p], dtype="float64")


def _fit_css(
    x: np.ndarray, order: tuple[int, int, int], m: int, constant: bool, cond: int
) -> tuple[float, np.ndarray]:
    """CSS fit of one candidate: (SSR, params ``[c, phi_1..phi_p, theta_1..theta_q, stheta]``)."""
    p, q, sq = order
    n_ma = q + sq

    def unpack(v: np.ndarray) -> tuple[np.ndarray, float]:
        return np.asarray(v[:q], dtype="float64"), (float(v[q]) if sq else 0.0)

    def ssr(v: np.ndarray) -> float:
        thetas, stheta = unpack(v)
        if not (_stable(thetas, 1.0) and abs(stheta) < _MA_BOUND):
            return 1e300
        return _solve_linear(x, _ma_poly(thetas, stheta, m), p, constant, cond)[0]

    if n_ma == 0:
        best = np.zeros(0)
    elif n_ma == 1:
        found = optimize.minimize_scalar(
            lambda v: ssr(np.array([v])),
            bounds=(-_MA_BOUND, _MA_BOUND),
            method="bounded",
            options={"xatol": 1e-4},
        )
        best = np.array([float(found.x)])
    else:
        start = np.r_[np.full(q, -0.3 / q), [-0.5] if sq else []]
        found = optimize.minimize(
            ssr,
            x0=start,
            method="Nelder-Mead",
            options={"xatol": 1e-4, "fatol": 1e-10, "maxfev": 400},
        )
        best = np.asarray(found.x, dtype="float64")
    thetas, stheta = unpack(best)
    value, c, phis = _solve_linear(x, _ma_poly(thetas, stheta, m), p, constant, cond)
    return value, np.r_[c, phis, thetas, [stheta] if sq else []]


def _arma_forecast(
    x: np.ndarray, params: np.ndarray, order: tuple[int, int, int], m: int, h: int, cond: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """Differenced forecast, AR coefficients, MA polynomial, residual SSR and count."""
    c, phis, thetas, stheta = _split(params, order)
    ma = _ma_poly(thetas, stheta, m)
    p, n = len(phis), len(x)
    w = x[cond:] - c
    for i in range(1, p + 1):
        w = w - phis[i - 1] * x[cond - i : n - i]
    e = np.r_[np.zeros(cond), signal.lfilter([1.0], ma, w)]
    k = len(ma) - 1
    ext_x = np.r_[x, np.zeros(h)]
    ext_e = np.r_[np.zeros(k), e, np.zeros(h)]  # ext_e[i + k] is e_i
    lags_ma = np.arange(1, k + 1)
    for j in range(h):
        t = n + j
        # x_t = c + sum_i phi_i x_{t-i} + sum_i ma[i] e_{t-i}, future e = 0
        ar_part = float(np.dot(phis, ext_x[t - 1 - np.arange(p)])) if p else 0.0
        ext_x[t] = c + ar_part + float(np.dot(ma[1:], ext_e[t + k - lags_ma]))
    resid = e[cond:]
    return ext_x[n:], phis, ma, float(np.dot(resid, resid)), n - cond


def _orders(y: np.ndarray, m: int, spec: Any) -> tuple[int, int, list[tuple[int, int, int]], Any]:
    """Differencing, candidate (p, q, seasonal q) orders and fixed parameters of a fit.

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
    candidates = list(ORDERS)
    if seasonal_d and n >= 4 * m:
        # A seasonal MA term makes a model 13+ lags deep: only the airline-type model, and
        # only with 4+ seasons of data.
        candidates.append(AIRLINE)
    return d, seasonal_d, candidates, None


def guerrero_lambda(
    y: np.ndarray, season_length: int = 12, lower: float = 0.0, upper: float = 1.0
) -> float:
    """Box-Cox parameter by Guerrero's method (Guerrero 1993; R's ``forecast::BoxCox.lambda``).

    The lambda in [``lower``, ``upper``] that makes sd / mean^(1 - lambda) of the series'
    whole seasons most nearly constant (the smallest coefficient of variation), so the
    transformed series' spread does not grow with its level. 0 is the log, 1 no change.
    Fewer than two seasons or a constant season: 1 (no transform).

    Example
    -------
    >>> t = np.arange(72.0)
    >>> grows = (50 + 5 * t) * (1 + 0.3 * np.sin(t * np.pi / 6))  # spread grows with level
    >>> round(guerrero_lambda(grows), 2)
    0.0
    >>> round(guerrero_lambda(50 + 5 * t + 20 * np.sin(t * np.pi / 6)), 2)
    1.0
    """
    y = np.asarray(y, dtype="float64")
    m = max(int(season_length), 2)
    n = len(y) // m * m
    if n < 2 * m:
        return 1.0
    blocks = y[len(y) - n :].reshape(-1, m)
    mu, sd = blocks.mean(axis=1), blocks.std(axis=1, ddof=1)
    if np.any(mu <= 0) or np.any(sd <= 0):
        return 1.0

    def variation(lam: float) -> float:
        ratio = sd / mu ** (1 - lam)
        return float(np.std(ratio, ddof=1) / np.mean(ratio))

    found = optimize.minimize_scalar(variation, bounds=(lower, upper), method="bounded")
    return float(found.x)


def _box_cox(y: np.ndarray, lam: float) -> np.ndarray:
    return np.log(y) if lam == 0 else (y**lam - 1) / lam


def _inv_box_cox(x: np.ndarray, lam: float) -> np.ndarray:
    """The inverse transform; values below the transform's range (a lower bound far below
    zero) map to 0, the floor of the positive series it came from."""
    if lam == 0:
        return np.exp(x)
    base = np.maximum(lam * np.asarray(x, dtype="float64") + 1, 0.0)
    return np.asarray(base ** (1 / lam))


def arima(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
    box_cox: bool = True,
) -> ModelForecast:
    """Seasonal ARIMA with a small automatic order search, estimated by conditional least squares.

    Differencing is chosen by tests (a seasonal difference when the seasonal strength of a
    classical decomposition exceeds 0.64 and two seasons exist; a first difference when KPSS
    rejects stationarity), then (p, q) in {(0,0), (1,0), (0,1)} by AICc, plus the airline-type
    seasonal MA model when seasonally differenced with four or more seasons of data; a
    constant (mean or drift) when at most one difference is taken. The ARMA on the
    differenced data is fitted by conditional sum of squares; intervals use the psi weights
    of the integrated model. A positive series is modelled on its Box-Cox transform (with
    ``box_cox``; lambda in [0, 1] by :func:`guerrero_lambda`, skipped at 1), so that a
    spread growing with the level is not an ARIMA's constant variance: forecasts and bounds
    are transformed back (the point is the median). On all of M3 monthly this lowered the
    default combination's sMAPE from 13.55 to 13.46 (``benchmarks/results_forecast.md``).
    With ``spec`` (a backtest fold) the chosen order is filtered with the full-history
    lambda and parameters (``spec[3]``, ``spec[4]``) instead of being re-estimated.

    Example
    -------
    >>> t = np.arange(48.0)
    >>> rng = np.random.default_rng(0)
    >>> out = arima(100 + t + 10 * np.sin(t * np.pi / 6) + rng.normal(0, 2, 48), 3)
    >>> out.note
    'ARIMA(0,0,1)(0,1,1)[12] by AICc of 4'
    >>> bool(np.all(out.lower[95] < out.mean) and np.all(out.mean < out.upper[95]))
    True
    """
    y = np.asarray(y, dtype="float64")
    positive = len(y) > 0 and bool(np.all(y > 0))
    if spec is not None:
        lam = spec[3] if len(spec) > 4 else None
        if lam is not None and not positive:  # cannot filter on that scale: search afresh
            spec, lam = None, None
    else:
        lam = guerrero_lambda(y, season_length) if box_cox and positive else None
        lam = None if lam is not None and lam > 0.99 else lam
    inner = None if spec is None else (*spec[:3], spec[-1])  # (d, D, orders, params)
    if lam is None:
        out = _arima_fit(y, h, season_length=season_length, levels=levels, spec=inner)
        if out.spec is not None:
            out.spec = (*out.spec[:3], None, out.spec[3])
        return out
    out = _arima_fit(_box_cox(y, lam), h, season_length=season_length, levels=levels, spec=inner)
    if out.fallback:  # a naive forecast of the transformed series: make it plainly
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"ARIMA on Box-Cox({lam:.2f}) failed: naive instead", True
        return out
    mean = _inv_box_cox(out.mean, lam)
    if not np.all(np.isfinite(mean)) or (lam > 0 and np.any(mean <= 0)):
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"ARIMA on Box-Cox({lam:.2f}) explodes: naive instead", True
        return out
    name, _, how = out.note.partition(" ")
    return ModelForecast(
        mean,
        {lv: np.minimum(_inv_box_cox(b, lam), mean) for lv, b in out.lower.items()},
        {lv: np.maximum(_inv_box_cox(b, lam), mean) for lv, b in out.upper.items()},
        spec=(*out.spec[:3], lam, out.spec[3]),
        note=f"{name} of Box-Cox({lam:.2f}) {how}",
    )


def _arima_fit(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """:func:`arima` on the series as given (no transform); ``spec`` is ``(d, D, orders, params)``."""
    y = np.asarray(y, dtype="float64")
    n = len(y)
    m = season_length
    if n < 6:
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"ARIMA needs >= 6 months, has {n}: naive instead", True
        return out
    d, seasonal_d, candidates, start = _orders(y, m, spec)
    constant = d + seasonal_d <= 1
    x = _difference(y, d, seasonal_d, m)
    if len(x) < 4:
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"ARIMA: {len(x)} months after differencing: naive instead", True
        return out
    # Every candidate's residuals start at the same month, so their AICc compare.
    cond = max(max(o[0] for o in ORDERS), max(o[0] for o in candidates))
    fits = []
    errors = []
    for p, q, sq in candidates:
        order = (p, q, sq)
        try:
            if start is not None and len(start) == 1 + p + q + sq:
                # Backtest folds reuse the full-history estimates: the fold's data are only
                # filtered, with the same holdout accuracy at a fraction of the cost.
                params = np.asarray(start, dtype="float64")
                aicc = 0.0
            else:
                ssr, params = _fit_css(x, order, m, constant, cond)
                nobs = len(x) - cond
                k = p + q + sq + int(constant) + 1  # + the variance
                sigma2 = max(ssr / nobs, 1e-300)
                loglik = -0.5 * nobs * (math.log(2 * math.pi * sigma2) + 1)
                aicc = (
                    -2 * loglik
                    + 2 * k
                    + (2 * k * (k + 1) / (nobs - k - 1) if nobs - k - 1 > 0 else math.inf)
                )
            if not math.isfinite(aicc) or not np.all(np.isfinite(params)):
                errors.append(f"({p},{d},{q}): non-finite fit")
                continue
            if not _stable(params[1 : 1 + p], -1.0):
                errors.append(f"({p},{d},{q}): non-stationary AR")
                continue
            fits.append((aicc, order, params))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"({p},{d},{q}): {type(exc).__name__}")
    fits.sort(key=lambda f: f[0])
    for _aicc, (p, q, sq), params in fits:
        try:
            diffed, phis, ma, ssr, nobs = _arma_forecast(x, params, (p, q, sq), m, h, cond)
            sigma2 = ssr / max(nobs - (p + q + sq + int(constant)), 1)
            mean, sd = _undifference(y, diffed, sigma2, phis, ma, d, seasonal_d, m)
            if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(sd)):
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
    sigma2: float,
    phis: np.ndarray,
    ma: np.ndarray,
    d: int,
    seasonal_d: int,
    m: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate a forecast made on differenced data back to levels, with psi-weight variances."""
    h = len(diffed)
    base = np.asarray(y, dtype="float64")
    out_x = np.asarray(diffed, dtype="float64")
    if d:
        x_hist = base[m:] - base[:-m] if seasonal_d else base
        out_x = x_hist[-1] + np.cumsum(out_x)
    if seasonal_d:
        ext = np.r_[base, np.zeros(h)]
        for i in range(h):
            t = len(base) + i
            ext[t] = ext[t - m] + out_x[i]
        mean = ext[len(base) :]
    else:
        mean = out_x
    # Psi weights of the integrated process phi(B) (1 - B)^d (1 - B^m)^D.
    ar = np.r_[1.0, -np.asarray(phis, dtype="float64")]
    for _ in range(d):
        ar = np.convolve(ar, [1.0, -1.0])
    if seasonal_d:
        sdiff = np.zeros(m + 1)
        sdiff[0], sdiff[m] = 1.0, -1.0
        ar = np.convolve(ar, sdiff)
    impulse = np.zeros(h)
    impulse[0] = 1.0
    psi = signal.lfilter(ma, ar, impulse)
    sd = np.sqrt(sigma2 * np.cumsum(psi**2))
    return mean, sd
