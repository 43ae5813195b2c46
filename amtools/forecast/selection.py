"""Model choice: the run's overall best model, then the model each series keeps, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from amtools.forecast.backtest import SeriesBacktest
from amtools.forecast.registry import COMPLEXITY

__all__ = ["RunBest", "Choice", "Selection", "run_best", "choose", "select"]


class RunBest(NamedTuple):
    """The model that backtests best across the run (a tuple, as in ``ForecastResult.settings``)."""

    model: str
    mean_mase: float
    n_series: int


@dataclass(frozen=True)
class Choice:
    """The model one series keeps and the reason shown in ``ForecastResult.choice``."""

    model: str
    reason: str


@dataclass(frozen=True)
class Selection:
    """The run's overall best model (``None`` when no series scored every model) and each choice."""

    run_best: RunBest | None
    choices: Mapping[str, Choice]


def _field(res: SeriesBacktest | Mapping[str, Any], name: str) -> Any:
    return res[name] if isinstance(res, Mapping) else getattr(res, name)


def run_best(
    results: Mapping[str, SeriesBacktest] | Mapping[str, Mapping[str, Any]],
    names: Sequence[str],
    prior: str | None = None,
    prior_margin: float = 0.05,
) -> RunBest | None:
    """The model with the lowest mean backtest MASE over the series where every model scored.

    ``prior`` (the combination by default) stays the run's model unless another model's mean
    MASE is more than ``prior_margin`` lower: combinations are the robust default in the
    forecasting literature, and a few overlapping backtest folds rank close models noisily.

    Parameters
    ----------
    results : per series its :class:`~amtools.forecast.backtest.SeriesBacktest`, or a mapping
        with the same ``requested`` and ``metrics`` entries (a hand-built table).
    names : the run's requested models.
    prior, prior_margin : the preferred model and the margin another must beat it by.

    Example
    -------
    >>> row = {"requested": ["ets", "combo"], "metrics": {"ets": {"mase": 0.9}, "combo": {"mase": 1.0}}}
    >>> run_best({"a": row}, ["ets", "combo"], prior="combo")
    RunBest(model='ets', mean_mase=0.9, n_series=1)
    """
    table = []
    for res in results.values():
        requested, metrics = _field(res, "requested"), _field(res, "metrics")
        if list(requested) == list(names) and all(
            nm in metrics and np.isfinite(metrics[nm]["mase"]) for nm in names
        ):
            table.append([metrics[nm]["mase"] for nm in names])
    if not table:
        return None
    means = np.mean(np.asarray(table), axis=0)
    order = sorted(range(len(names)), key=lambda i: (means[i], COMPLEXITY.get(names[i], 50)))
    best = order[0]
    if prior is not None and prior in names:
        p = list(names).index(prior)
        if means[best] >= (1 - prior_margin) * means[p]:
            best = p
    return RunBest(names[best], float(means[best]), len(table))


def _unscored(res: SeriesBacktest, prefix: str) -> Choice:
    """The choice when no fold had enough history to score any model."""
    # Exponential smoothing (its AICc grid shrinks to the level-only model on short data)
    # when it ran as asked, else the simplest model.
    requested, full, guarded = res.requested, res.full, res.guarded
    for name in ("ets", "theta", *requested, "naive"):
        if name in full and name in requested and not full[name].fallback and name not in guarded:
            return Choice(name, prefix + f"too short to backtest: {name} without a backtest")
    for name in (*requested, "naive"):
        if name in full and name not in guarded:
            return Choice(name, prefix + "too short to backtest: simplest available model")
    return Choice("naive", prefix + "every model failed: naive")


def choose(
    res: SeriesBacktest,
    tie_tolerance: float,
    best: RunBest | None,
    margin: float,
) -> Choice:
    """The model a series keeps: its lowest backtest MASE, unless the run's best is close.

    Within ``tie_tolerance`` of the lowest MASE the simpler model wins; the run's best model
    ``best`` is kept unless the series' own best beats it by more than ``margin``. Models the
    guard rejected (``res.guarded``: an implausible forecast or a backtest MASE far above
    seasonal naive's) are skipped, and the reason says so.

    Example
    -------
    >>> choose(res, 0.02, None, 0.2).model  # doctest: +SKIP
    'ets'
    """
    requested, full, metrics = res.requested, res.full, res.metrics
    prefix = f"{res.condition}; " if res.condition else ""
    skipped = [name for name in requested if name in res.guarded]
    if skipped:
        prefix += "guard rejected " + ", ".join(skipped) + "; "
    scored = [
        (metrics[name]["mase"], name)
        for name in requested
        if name in full
        and name in metrics
        and name not in res.guarded
        and np.isfinite(metrics[name]["mase"])
    ]
    if not scored:
        return _unscored(res, prefix)
    best_value = min(v for v, _ in scored)
    tied = [name for v, name in scored if v <= best_value * (1 + tie_tolerance) + 1e-12]
    chosen = min(tied, key=lambda nm: (COMPLEXITY.get(nm, 50), nm))
    value = metrics[chosen]["mase"]
    scored_names = {nm for _, nm in scored}
    if best is not None and best[0] in scored_names and chosen != best[0]:
        overall, overall_mean, n_series = best
        here = metrics[overall]["mase"]
        if value >= (1 - margin) * here:
            return Choice(
                overall,
                prefix
                + (
                    f"{overall} backtests best across the run (mean MASE {overall_mean:.2f} over "
                    f"{n_series} series) and no model beats it here by more than {margin:.0%} "
                    f"({overall} {here:.2f}, {chosen} {value:.2f})"
                ),
            )
        reason = (
            f"lowest backtest MASE {value:.2f}, more than {margin:.0%} below {overall} ({here:.2f})"
        )
    else:
        reason = f"lowest backtest MASE {value:.2f}"
    compared = best[0] if best is not None and best[0] in scored_names else None
    if "seasonal_naive" in metrics and "seasonal_naive" not in (chosen, compared):
        reason += f" (seasonal naive {metrics['seasonal_naive']['mase']:.2f})"
    if len(tied) > 1:
        others = ", ".join(nm for nm in tied if nm != chosen)
        reason += f"; within {tie_tolerance:.0%} of {others}: simpler model kept"
    return Choice(chosen, prefix + reason)


def select(
    results: Mapping[str, SeriesBacktest],
    names: Sequence[str],
    *,
    prior: str | None,
    tie_tolerance: float,
    selection_margin: float,
) -> Selection:
    """The run's best model (:func:`run_best`) and every series' :func:`choose`.

    Example
    -------
    >>> select({}, ["naive"], prior=None, tie_tolerance=0.02, selection_margin=0.2)
    Selection(run_best=None, choices={})
    """
    best = run_best(results, names, prior)
    choices = {
        uid: choose(res, tie_tolerance, best, selection_margin) for uid, res in results.items()
    }
    return Selection(best, choices)
