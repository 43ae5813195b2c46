"""Forecast accuracy measures: MASE, sMAPE and interval coverage."""

from __future__ import annotations

import numpy as np

__all__ = ["mase_scale", "mase", "smape", "coverage"]


def mase_scale(train: np.ndarray, season_length: int = 12) -> float:
    """In-sample mean absolute error of the seasonal-naive forecast (naive below one season).

    Returns NaN when the training data is constant (no scale).

    Example
    -------
    >>> mase_scale(np.array([1.0, 2.0, 4.0]), season_length=12)
    1.5
    """
    train = np.asarray(train, dtype="float64")
    lag = season_length if season_length > 1 and len(train) > season_length else 1
    if len(train) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    if scale == 0 and lag > 1:
        scale = float(np.mean(np.abs(np.diff(train))))
    return scale if scale > 0 else float("nan")


def mase(actual: np.ndarray, predicted: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error: MAE divided by ``scale`` (see :func:`mase_scale`).

    Example
    -------
    >>> mase(np.array([2.0, 4.0]), np.array([1.0, 4.0]), scale=0.5)
    1.0
    """
    mae = float(np.mean(np.abs(np.asarray(actual) - np.asarray(predicted))))
    if not np.isfinite(scale) or scale <= 0:
        return 0.0 if mae == 0 else float("nan")
    return mae / scale


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in percent (0..200); months where both are 0 count as 0 error.

    Example
    -------
    >>> smape(np.array([100.0, 0.0]), np.array([50.0, 0.0]))
    33.33333333333333
    """
    a = np.abs(np.asarray(actual, dtype="float64"))
    p = np.abs(np.asarray(predicted, dtype="float64"))
    denom = a + p
    err = np.abs(np.asarray(actual) - np.asarray(predicted))
    ratio = np.divide(2 * err, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * np.mean(ratio))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside ``[lower, upper]``.

    Example
    -------
    >>> coverage(np.array([1.0, 5.0]), np.array([0.0, 0.0]), np.array([2.0, 2.0]))
    0.5
    """
    a = np.asarray(actual, dtype="float64")
    inside = (a >= np.asarray(lower) - 1e-9) & (a <= np.asarray(upper) + 1e-9)
    return float(np.mean(inside)) if len(a) else float("nan")
