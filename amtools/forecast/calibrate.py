"""Interval calibration: widen under-covering intervals per hierarchy level (conformal-style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from amtools.forecast.backtest import SeriesBacktest
from amtools.forecast.models import ModelForecast
from amtools.forecast.selection import Choice

__all__ = ["MAX_WIDENING", "CALIBRATION_COLUMNS", "Calibration", "calibrate", "widen"]

MAX_WIDENING = 10.0
"""Largest factor by which calibration widens intervals (a guard against freak backtests)."""

CALIBRATION_COLUMNS = [
    "level",
    "interval",
    "points",
    "coverage_raw",
    "factor",
    "coverage_calibrated",
]
"""Columns of ``ForecastResult.calibration``."""


@dataclass(frozen=True)
class Calibration:
    """The calibration table (``ForecastResult.calibration``) and the widening factors.

    Attributes
    ----------
    table : one row per hierarchy level and interval, :data:`CALIBRATION_COLUMNS`.
    factors : ``(hierarchy level, interval)`` -> widening factor (1.0 = none).
    """

    table: pd.DataFrame
    factors: Mapping[tuple[str, int], float]

    def factors_for(self, level: str, levels: Sequence[int]) -> dict[int, float]:
        """The factor of each interval for series of hierarchy ``level`` (1.0 when unknown).

        Example
        -------
        >>> Calibration(pd.DataFrame(), {("team", 80): 1.5}).factors_for("team", (80, 95))
        {80: 1.5, 95: 1.0}
        """
        return {lv: self.factors.get((level, lv), 1.0) for lv in levels}


def _scores(res: SeriesBacktest, model: str, lv: int) -> np.ndarray | None:
    """|error| / half-width of the chosen model's ``lv`` interval on the valid folds."""
    p = res.preds.get(model)
    if p is None or not res.valid.any():
        return None
    ks = np.flatnonzero(res.valid)
    a = res.actual[ks].ravel()
    mu = p.mean[ks].ravel()
    lo = p.lower[lv][ks].ravel()
    hi = p.upper[lv][ks].ravel()
    half = np.where(a >= mu, hi - mu, mu - lo)
    err = np.abs(a - mu)
    # Zero-width intervals (e.g. an all-constant history) cannot be widened by a factor;
    # they are left out of the calibration pool.
    ok = half > 0
    return np.asarray(err[ok] / half[ok])


def calibrate(
    results: Mapping[str, SeriesBacktest],
    choices: Mapping[str, Choice],
    level_of: Mapping[str, str],
    levels: Sequence[int],
    enabled: bool,
    slack: float = 0.0,
) -> Calibration:
    """Conformal-style widening per hierarchy level when backtest coverage falls short.

    Where the chosen models' backtest coverage of an interval at a hierarchy level is more
    than ``slack`` below nominal (default 0: split-conformal calibration to nominal; on all
    of M3 monthly a 5-point slack left the 95 % interval at 0.92 held out), that level's
    intervals are widened by the backtest quantile of |error| / half-width (at most
    :data:`MAX_WIDENING`); ``enabled=False`` only measures.

    Example
    -------
    >>> calibrate({}, {}, {}, (80,), True).table.columns.tolist() == CALIBRATION_COLUMNS
    True
    """
    rows = []
    factors: dict[tuple[str, int], float] = {}
    for level in sorted(set(level_of.values())):
        uids = [u for u in results if level_of[u] == level]
        for lv in levels:
            scores = [
                s
                for s in (_scores(results[uid], choices[uid].model, lv) for uid in uids)
                if s is not None
            ]
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
    return Calibration(pd.DataFrame(rows, columns=CALIBRATION_COLUMNS), factors)


def widen(fc: ModelForecast, factors: Mapping[int, float]) -> ModelForecast:
    """``fc`` with each interval's half-widths multiplied by its factor (a new forecast).

    Example
    -------
    >>> fc = ModelForecast(np.array([10.0]), {80: np.array([8.0])}, {80: np.array([11.0])})
    >>> w = widen(fc, {80: 2.0})
    >>> w.lower[80].tolist(), w.upper[80].tolist()
    ([6.0], [12.0])
    """
    lower = {lv: fc.mean - factors.get(lv, 1.0) * (fc.mean - lo) for lv, lo in fc.lower.items()}
    upper = {lv: fc.mean + factors.get(lv, 1.0) * (hi - fc.mean) for lv, hi in fc.upper.items()}
    return ModelForecast(fc.mean, lower, upper, fc.spec, fc.note, fc.fallback)
