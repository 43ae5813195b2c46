"""The string-keyed model registry (YAML and parameters select models by name) and combinations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from amtools.core.errors import ParameterError
from amtools.forecast.arima import arima
from amtools.forecast.dotm import dotm
from amtools.forecast.models import (
    ModelFn,
    ModelForecast,
    croston,
    ets,
    naive,
    seasonal_naive,
    theta,
    zero,
)

__all__ = ["Combination", "MODELS", "COMPLEXITY", "register_model", "get_model"]


_AGGREGATES: dict[str, Any] = {"median": np.median, "mean": np.mean}
"""How a :class:`Combination` may aggregate its members' forecasts."""


@dataclass(frozen=True)
class Combination:
    """A model that combines other models' forecasts.

    ``how`` aggregates the point forecasts (``"median"`` or ``"mean"``), ``bounds`` the
    interval bounds (``None``: the same as ``how``); bounds are kept on either side of the
    combined point. The engine computes the members once and combines them, so a
    combination costs nothing extra in backtests.
    """

    members: tuple[str, ...]
    how: str = "median"
    bounds: str | None = None

    def __post_init__(self) -> None:
        for name in (self.how, self.bounds or self.how):
            if name not in _AGGREGATES:
                raise ParameterError(
                    f"combination aggregate {name!r} is not one of {', '.join(_AGGREGATES)}"
                )

    def combine(self, parts: Sequence[ModelForecast]) -> ModelForecast:
        """The members' forecasts (in ``members`` order) combined into one.

        Example
        -------
        >>> a = naive(np.array([1.0, 2.0]), 1, levels=(80,))
        >>> b = naive(np.array([1.0, 4.0]), 1, levels=(80,))
        >>> Combination(("x", "y"), how="mean").combine([a, b]).mean.tolist()
        [3.0]
        """
        agg, agg_bounds = _AGGREGATES[self.how], _AGGREGATES[self.bounds or self.how]
        mean = agg(np.vstack([p.mean for p in parts]), axis=0)
        levels = set.intersection(*(set(p.lower) for p in parts))
        lower = {
            lv: np.minimum(agg_bounds(np.vstack([p.lower[lv] for p in parts]), axis=0), mean)
            for lv in levels
        }
        upper = {
            lv: np.maximum(agg_bounds(np.vstack([p.upper[lv] for p in parts]), axis=0), mean)
            for lv in levels
        }
        names = "/".join(self.members)
        how = self.how if self.bounds in (None, self.how) else f"{self.how} ({self.bounds} bounds)"
        return ModelForecast(mean, lower, upper, spec=None, note=f"{how} of {names}")

    def __call__(
        self,
        y: np.ndarray,
        h: int,
        *,
        season_length: int = 12,
        levels: Sequence[int] = (80, 95),
        spec: Any = None,
    ) -> ModelForecast:
        parts = [
            get_model(m)(y, h, season_length=season_length, levels=levels) for m in self.members
        ]
        return self.combine(parts)


MODELS: dict[str, ModelFn | Combination] = {}
"""Model name -> callable (or :class:`Combination`). Extend with :func:`register_model`."""

COMPLEXITY: dict[str, int] = {}
"""Model name -> complexity rank; backtest ties go to the simpler (lower) model."""


def register_model(name: str, fn: ModelFn | Combination, *, complexity: int = 50) -> None:
    """Register a forecast model under ``name`` so parameters and YAML can select it.

    Parameters
    ----------
    name : registry key, e.g. ``"my_model"``.
    fn : a callable with the :class:`ModelFn` signature, or a :class:`Combination`.
    complexity : rank used to break backtest ties (lower = simpler, preferred).

    Example
    -------
    >>> register_model("drift_free_naive", naive, complexity=1)
    >>> "drift_free_naive" in MODELS
    True
    >>> _ = MODELS.pop("drift_free_naive"), COMPLEXITY.pop("drift_free_naive")
    """
    if not callable(fn):
        raise ParameterError(f"model {name!r} must be callable, got {type(fn).__name__}")
    MODELS[name] = fn
    COMPLEXITY[name] = complexity


def get_model(name: str) -> ModelFn | Combination:
    """Return the registered model ``name``; unknown names raise a clear ``ParameterError``.

    Example
    -------
    >>> get_model("naive") is naive
    True
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ParameterError(
            f"unknown forecast model {name!r}; registered models: {', '.join(MODELS)} "
            "(add one with amtools.forecast.register_model)"
        ) from None


for _name, _fn, _rank in [
    ("zero", zero, 0),
    ("naive", naive, 1),
    ("seasonal_naive", seasonal_naive, 2),
    ("croston", croston, 3),
    ("theta", theta, 10),
    ("dotm", dotm, 12),
    ("ets", ets, 20),
    ("arima", arima, 30),
]:
    register_model(_name, _fn, complexity=_rank)
# The default combination: the equal-weight mean of ETS, ARIMA, Theta and DOTM (the simple
# average of the M3/M4 "comb" benchmarks; the members are those of SCUM, Petropoulos &
# Svetunkov 2020, with Theta in CES' place), with the median of the members' bounds as its
# interval (SCUM's interval; the mean of the bounds over-covers, Theta's are wide). On all
# of M3 monthly the mean point beat the median (MASE 0.835 vs 0.841) with the same interval
# coverage (benchmarks/results_forecast.md).
register_model(
    "combo",
    Combination(("ets", "arima", "theta", "dotm"), how="mean", bounds="median"),
    complexity=40,
)
