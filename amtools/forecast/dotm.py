"""Classical seasonal adjustment and the Dynamic Optimised Theta Model (DOTM).

DOTM is the theta method written as a state-space model whose theta line is re-estimated at
every step (Fiorucci, Pellegrini, Louzada, Petropoulos and Koehler 2016, "Models for
optimising the theta method and their relationship to state space models", International
Journal of Forecasting 32(4)); on M3 monthly it improved on the original Theta method
(sMAPE 13.74 vs 13.85). The recursions follow that paper and statsforecast's
implementation (``src/theta.cpp``, Apache-2.0, Nixtla); here they are vectorised with NumPy:
with ``y`` given, the running OLS line ``A_t, B_t`` does not depend on the parameters, and
the smoothed level is a first-order linear filter (:func:`scipy.signal.lfilter`), so one
evaluation of the objective costs a few array operations.

The seasonal adjustment is the one of the M3/M4 theta benchmarks: a 90 % autocorrelation
test at the seasonal lag decides whether the series is seasonal, and a classical
(centred moving average) multiplicative decomposition removes the season; additive when
the series is not positive or a multiplicative index would be below 0.01.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, signal

from amtools.forecast.models import ModelForecast, naive, normal_bounds

__all__ = ["autocorrelations", "seasonal_test", "seasonal_indices", "deseasonalise", "dotm"]

_Z90 = 1.6448536269514722  # the M4 benchmarks' 90 % (two-sided) normal quantile


def autocorrelations(y: np.ndarray, lags: int) -> np.ndarray | None:
    """Sample autocorrelations ``r_0 .. r_lags`` of ``y`` (``None`` for a constant series).

    Example
    -------
    >>> autocorrelations(np.array([1.0, 2.0, 1.0, 2.0]), 2).round(2).tolist()
    [1.0, -0.75, 0.5]
    """
    x = np.asarray(y, dtype="float64")
    x = x - x.mean()
    denom = float(np.dot(x, x))
    if denom <= 0:
        return None
    n = len(x)
    return np.array([np.dot(x[: n - k], x[k:]) / denom for k in range(lags + 1)])


def seasonal_test(y: np.ndarray, m: int) -> bool:
    """Whether the lag-``m`` autocorrelation is significant (90 %, Bartlett's variance).

    The test of the M4 competition's benchmarks and statsforecast's AutoTheta:
    ``|r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)``; needs two seasons of data.

    Example
    -------
    >>> t = np.arange(60.0)
    >>> seasonal_test(10 + np.sin(t * np.pi / 6), 12), seasonal_test(t, 12)
    (True, False)
    """
    y = np.asarray(y, dtype="float64")
    n = len(y)
    if m < 4 or n < 2 * m:
        return False
    acf = autocorrelations(y, m)
    if acf is None:
        return False
    r = acf[1:]
    limit = np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / n)
    return bool(abs(r[-1]) / limit > _Z90)


def seasonal_indices(y: np.ndarray, m: int, kind: str) -> np.ndarray:
    """Classical decomposition's ``m`` seasonal indices (position 0 = the first month of ``y``).

    The trend is the centred 2 x ``m`` moving average; the indices are the mean ratio
    (``kind="multiplicative"``) or difference (``"additive"``) per position, normalised to
    mean 1 (or 0).

    Example
    -------
    >>> y = np.tile([1.0, 2.0, 3.0, 2.0], 4)
    >>> seasonal_indices(y, 4, "multiplicative").round(2).tolist()
    [0.5, 1.0, 1.5, 1.0]
    """
    y = np.asarray(y, dtype="float64")
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, weights, mode="valid")
    offset = (len(weights) - 1) // 2
    core = y[offset : offset + len(trend)]
    detr = core / trend if kind == "multiplicative" else core - trend
    pos = (np.arange(len(detr)) + offset) % m
    sums = np.bincount(pos, weights=detr, minlength=m)
    counts = np.bincount(pos, minlength=m)
    idx = sums / np.maximum(counts, 1)
    return idx / idx.mean() if kind == "multiplicative" else idx - idx.mean()


def deseasonalise(y: np.ndarray, m: int, kind: str | None = None) -> tuple[np.ndarray, Any]:
    """``y`` without its season and the season as ``(kind, indices, n)`` (``None``: no season).

    ``kind=None`` decides: no season unless :func:`seasonal_test` finds one; then
    multiplicative for a positive series whose indices are all >= 0.01, else additive.
    ``kind="none"`` returns ``y`` unchanged.

    Example
    -------
    >>> adj, season = deseasonalise(np.tile([1.0, 2.0, 3.0, 2.0], 8), 4)
    >>> season[0], adj.round(2).tolist()[:4]
    ('multiplicative', [2.0, 2.0, 2.0, 2.0])
    """
    y = np.asarray(y, dtype="float64")
    if kind is None:
        if not seasonal_test(y, m):
            return y, None
        kind = "multiplicative" if np.all(y > 0) else "additive"
    if kind == "none" or m < 2 or len(y) < 2 * m:
        return y, None
    if kind == "multiplicative" and not np.all(y > 0):
        kind = "additive"
    idx = seasonal_indices(y, m, kind)
    if kind == "multiplicative" and np.any(idx < 0.01):
        kind, idx = "additive", seasonal_indices(y, m, "additive")
    pos = np.arange(len(y)) % m
    adj = y / idx[pos] if kind == "multiplicative" else y - idx[pos]
    return adj, (kind, idx, len(y))


def reseasonalise(values: np.ndarray, season: Any, start: int, scale: bool = False) -> np.ndarray:
    """Put the season of :func:`deseasonalise` back on ``values`` for months ``start, start+1, ...``.

    ``scale=True`` treats ``values`` as a spread (multiplied, never shifted).
    """
    if season is None:
        return values
    kind, idx, _n = season
    pos = (start + np.arange(len(values))) % len(idx)
    if kind == "multiplicative":
        return values * idx[pos]
    return values if scale else values + idx[pos]


# ---------------------------------------------------------------------------- DOTM
def _running_line(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The OLS intercept ``A_t`` and slope ``B_t`` of ``y[0..t]`` on time, updated each step."""
    n = len(y)
    t = np.arange(n, dtype="float64")
    meany = np.cumsum(y) / (t + 1)
    b = np.zeros(n)
    # B_i = ((i - 1) B_{i-1} + 6 (y_i - meany_{i-1}) / (i + 1)) / (i + 2), B_0 = 0.
    for i in range(1, n):
        b[i] = ((i - 1) * b[i - 1] + 6 * (y[i] - meany[i - 1]) / (i + 1)) / (i + 2)
    a = meany - b * (t + 2) / 2
    a[0] = y[0]
    return a, b


def _one_step(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, level0: float, alpha: float, theta: float
) -> tuple[np.ndarray, np.ndarray]:
    """One-step forecasts ``mu_1..mu_{n-1}`` and the smoothed levels ``l_0..l_{n-1}``."""
    n = len(y)
    # l_0 = alpha y_0 + (1 - alpha) level0; l_i = alpha y_i + (1 - alpha) l_{i-1}
    levels, _ = signal.lfilter([alpha], [1.0, alpha - 1.0], y, zi=[(1 - alpha) * level0])
    i = np.arange(1, n, dtype="float64")
    decay = (1 - alpha) ** i
    mu = levels[:-1] + (1 - 1 / theta) * (
        a[:-1] * decay + b[:-1] * (1 - decay * (1 - alpha)) / alpha
    )
    return mu, levels


def _profile(
    alpha: float, y: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[float, float, float]:
    """Least squares over the initial level and ``w = 1 - 1/theta`` for a given ``alpha``.

    The one-step forecast is linear in both: ``mu_i = L_i + level0 (1 - alpha)^i + w G_i``
    with ``L`` the level filtered from 0 and ``G`` the theta line's drift term, so they have
    a closed form (``w`` kept in ``[0, 0.999]``, i.e. ``1 <= theta <= 1000``). Returns
    (sum of squared errors after the first three, level0, w).
    """
    n = len(y)
    base, _ = signal.lfilter([alpha], [1.0, alpha - 1.0], y, zi=[0.0])
    i = np.arange(1, n, dtype="float64")
    decay = (1 - alpha) ** i
    drift = a[:-1] * decay + b[:-1] * (1 - decay * (1 - alpha)) / alpha
    target = (y[1:] - base[:-1])[2:]
    x = np.column_stack([decay[2:], drift[2:]])
    try:
        level0, w = np.linalg.lstsq(x, target, rcond=None)[0]
    except np.linalg.LinAlgError:
        level0, w = float(y[0]), 0.5
    if not 0.0 <= w <= 0.999:
        w = min(max(w, 0.0), 0.999)
        rest = target - w * x[:, 1]
        d2 = float(np.dot(x[:, 0], x[:, 0]))
        level0 = float(np.dot(x[:, 0], rest) / d2) if d2 > 1e-300 else float(y[0])
    e = target - level0 * x[:, 0] - w * x[:, 1]
    sse = float(np.dot(e, e))
    return (sse if np.isfinite(sse) else np.inf), float(level0), float(w)


def _fit(y: np.ndarray) -> tuple[float, float, float]:
    """Level0, alpha, theta minimising the one-step squared errors (bounds as statsforecast).

    ``alpha`` in [0.1, 0.99] by a grid then a bounded scalar search around the best grid
    point; the initial level and theta in closed form for each ``alpha`` (:func:`_profile`).
    """
    a, b = _running_line(y)
    grid = np.linspace(0.1, 0.99, 9)
    values = [_profile(float(al), y, a, b)[0] for al in grid]
    k = int(np.argmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(
        lambda al: _profile(float(al), y, a, b)[0],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-3},
    )
    alpha = float(res.x) if res.fun <= values[k] else float(grid[k])
    _sse, level0, w = _profile(alpha, y, a, b)
    return level0, alpha, 1.0 / (1.0 - w)


def _forecast(
    y: np.ndarray, level0: float, alpha: float, theta: float, h: int
) -> tuple[np.ndarray, float]:
    """The h-step point forecast (future values replaced by their forecasts) and sigma^2."""
    a, b = _running_line(y)
    mu, levels = _one_step(y, a, b, level0, alpha, theta)
    e = y[1:] - mu
    tail = e[2:] if len(e) > 3 else e
    sigma2 = float(np.var(tail, ddof=1)) if len(tail) > 1 else float(np.var(y))
    n = len(y)
    level, meany, an, bn = levels[-1], float(np.mean(y)), a[-1], b[-1]
    out = np.empty(h)
    for j in range(h):
        i = n + j
        f = level + (1 - 1 / theta) * (
            an * (1 - alpha) ** i + bn * (1 - (1 - alpha) ** (i + 1)) / alpha
        )
        out[j] = f
        level = alpha * f + (1 - alpha) * level
        new_mean = (i * meany + f) / (i + 1)
        bn = ((i - 1) * bn + 6 * (f - meany) / (i + 1)) / (i + 2)
        meany = new_mean
        an = meany - bn * (i + 2) / 2
    return out, sigma2


def dotm(
    y: np.ndarray,
    h: int,
    *,
    season_length: int = 12,
    levels: Sequence[int] = (80, 95),
    spec: Any = None,
) -> ModelForecast:
    """Dynamic Optimised Theta Model (Fiorucci et al. 2016) on the seasonally adjusted series.

    The season is removed by :func:`deseasonalise` (test, then classical multiplicative or
    additive decomposition) and put back on the forecast; the initial level, the smoothing
    ``alpha`` (0.1..0.99) and ``theta`` (1..1000) minimise the one-step squared errors (the
    first three left out, as in statsforecast); level and theta enter linearly and are
    solved in closed form for each ``alpha``.
    Intervals are those of simple exponential smoothing, ``sigma^2 (1 + (j - 1) alpha^2)``,
    times the seasonal index. ``spec`` is ``(season kind, level0, alpha, theta)``: a backtest
    fold filters with the full-history parameters.

    Example
    -------
    >>> out = dotm(100 + 2 * np.arange(48.0) + np.sin(np.arange(48.0)), 3)
    >>> bool(out.mean[2] > out.mean[0] > 190), out.note
    (True, 'DOTM (no season)')
    """
    y = np.asarray(y, dtype="float64")
    n = len(y)
    m = season_length
    if n < 6:
        out = naive(y, h, levels=levels)
        out.note, out.fallback = f"DOTM needs >= 6 months, has {n}: naive instead", True
        return out
    kind = spec[0] if spec is not None else None
    adj, season = deseasonalise(y, m, kind)
    if spec is not None:
        level0, alpha, theta = float(spec[1]), float(spec[2]), float(spec[3])
    else:
        level0, alpha, theta = _fit(adj)
    mean_adj, sigma2 = _forecast(adj, level0, alpha, theta, h)
    sd_adj = np.sqrt(sigma2 * (1 + np.arange(h) * alpha**2))
    mean = reseasonalise(mean_adj, season, n)
    sd = reseasonalise(sd_adj, season, n, scale=True)
    lower, upper = normal_bounds(mean, sd, levels)
    label = "no season" if season is None else f"{season[0]} season"
    return ModelForecast(
        mean,
        lower,
        upper,
        spec=("none" if season is None else season[0], level0, alpha, theta),
        note=f"DOTM ({label})",
    )
