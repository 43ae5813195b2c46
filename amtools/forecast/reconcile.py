"""Hierarchical reconciliation: make manager forecasts add up to team, segment and company.

The matrix methods (:func:`summing_matrix`, :func:`reconcile_matrix`) work on plain arrays;
:func:`reconcile_forecasts` is the engine's step: it picks the method (``"auto"``: the best
backtest MASE, :func:`score_reconcilers`) and reconciles the chosen models' forecasts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError
from amtools.forecast.backtest import SeriesBacktest
from amtools.forecast.metrics import mase
from amtools.forecast.models import ModelForecast
from amtools.forecast.selection import Choice
from amtools.forecast.series import BOTTOM, LEVELS

__all__ = [
    "RECONCILERS",
    "Reconciliation",
    "summing_matrix",
    "reconcile_matrix",
    "shrunk_covariance",
    "residual_matrix",
    "score_reconcilers",
    "reconcile_forecasts",
]

RECONCILERS = ("bottom_up", "ols", "wls_struct", "mint_shrink", "none")
"""Reconciliation methods :func:`reconcile_matrix` knows (``"auto"`` is resolved by the engine)."""


def summing_matrix(
    unique_ids: Sequence[str], hierarchy: pd.DataFrame
) -> tuple[np.ndarray, list[int]]:
    """Build the summing matrix S mapping manager (bottom) series to every series.

    Parameters
    ----------
    unique_ids : all series in the order rows should have (company, segment/..., team/..., manager/...).
    hierarchy : ``unique_id`` (manager series), ``segment``, ``team`` as from
        :func:`amtools.forecast.hierarchy_of`.

    Returns
    -------
    (S, bottom) where ``S[i, j] = 1`` when manager ``j`` counts towards series ``i`` and
    ``bottom`` are the row positions of the manager series (S restricted to them is identity).

    Example
    -------
    >>> h = pd.DataFrame({"unique_id": ["manager/a", "manager/b"], "segment": ["B2B", "B2C"], "team": ["T", "T"]})
    >>> S, bottom = summing_matrix(["company", "segment/B2B", "manager/a", "manager/b"], h)
    >>> S.tolist(), bottom
    ([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [2, 3])
    """
    ids = [str(u) for u in unique_ids]
    managers = [str(u) for u in hierarchy["unique_id"] if str(u) in set(ids)]
    if not managers:
        raise ParameterError(
            "no manager series to reconcile: the hierarchy lists no manager in the series"
        )
    seg = dict(zip(hierarchy["unique_id"].astype(str), hierarchy["segment"], strict=True))
    team = dict(zip(hierarchy["unique_id"].astype(str), hierarchy["team"], strict=True))
    col = {m: j for j, m in enumerate(managers)}
    S = np.zeros((len(ids), len(managers)))
    for i, uid in enumerate(ids):
        level, _, key = uid.partition("/")
        if uid == "company":
            S[i, :] = 1.0
        elif level == "segment":
            S[i, [col[m] for m in managers if str(seg[m]) == key]] = 1.0
        elif level == "team":
            S[i, [col[m] for m in managers if pd.notna(team[m]) and str(team[m]) == key]] = 1.0
        elif uid in col:
            S[i, col[uid]] = 1.0
        else:
            raise ParameterError(
                f"series {uid!r} is not part of the company/segment/team/manager hierarchy; "
                "forecast it separately or pass reconcile='none'"
            )
    bottom = [ids.index(m) for m in managers]
    return S, bottom


def shrunk_covariance(residuals: np.ndarray) -> np.ndarray:
    """Schäfer-Strimmer shrinkage of the residual covariance towards its diagonal (MinT-shrink).

    Example
    -------
    >>> r = np.random.default_rng(0).normal(size=(30, 3))
    >>> shrunk_covariance(r).shape
    (3, 3)
    """
    x = np.asarray(residuals, dtype="float64")
    t = x.shape[0]
    cov = x.T @ x / t
    var = np.diag(cov).copy()
    floor = max(float(np.mean(var)) * 1e-6, 1e-12)
    var = np.maximum(var, floor)
    sd = np.sqrt(var)
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    xs = x / sd
    v = (xs**2).T @ (xs**2) - (xs.T @ xs) ** 2 / t
    v *= 1.0 / (t * (t - 1))
    np.fill_diagonal(v, 0.0)
    off = corr.copy()
    np.fill_diagonal(off, 0.0)
    denom = float(np.sum(off**2))
    lam = 1.0 if denom == 0 else min(max(float(np.sum(v)) / denom, 0.0), 1.0)
    shrunk = lam * np.diag(var) + (1 - lam) * (corr * np.outer(sd, sd))
    np.fill_diagonal(shrunk, var)
    return shrunk


def reconcile_matrix(
    base: np.ndarray,
    S: np.ndarray,
    bottom: Sequence[int],
    method: str = "bottom_up",
    *,
    residuals: np.ndarray | None = None,
    nonnegative: bool = True,
) -> np.ndarray:
    """Reconcile base forecasts (rows = series as in S, columns = horizons) to coherent ones.

    Methods: ``bottom_up`` (sum the managers), ``ols`` (least squares projection),
    ``wls_struct`` (weights = number of managers under a series), ``mint_shrink``
    (weights = shrunk covariance of ``residuals``, rows = time, columns = series), ``none``.
    With ``nonnegative`` the reconciled manager forecasts are floored at 0 and summed again,
    so the result stays exactly additive.

    Example
    -------
    >>> S = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> reconcile_matrix(np.array([[10.0], [3.0], [4.0]]), S, [1, 2]).ravel().tolist()
    [7.0, 3.0, 4.0]
    """
    base = np.asarray(base, dtype="float64")
    if method == "none":
        return base.copy()
    if method == "bottom_up":
        bottom_fc = base[list(bottom)]
    else:
        if method == "ols":
            w_inv = np.eye(S.shape[0])
        elif method == "wls_struct":
            w_inv = np.diag(1.0 / np.maximum(S.sum(axis=1), 1.0))
        elif method == "mint_shrink":
            if residuals is None or residuals.shape[0] < 3:
                raise ParameterError("mint_shrink needs backtest residuals (>= 3 time points)")
            w = shrunk_covariance(residuals)
            w_inv = np.linalg.pinv(w)
        else:
            raise ParameterError(
                f"unknown reconciliation {method!r}; use one of {', '.join(RECONCILERS)} or 'auto'"
            )
        gram = S.T @ w_inv @ S
        projection = np.linalg.solve(gram, S.T @ w_inv)
        bottom_fc = projection @ base
    if nonnegative:
        bottom_fc = np.maximum(bottom_fc, 0.0)
    return S @ bottom_fc


# ---------------------------------------------------------------------------- engine step
@dataclass(frozen=True)
class Reconciliation:
    """What the reconciliation step did.

    Attributes
    ----------
    method : the method used (``"none"`` when nothing was reconciled).
    scores : ``method, mase`` — backtest MASE of each method tried (``"auto"`` only).
    forecasts : unique_id -> forecast, reconciled where the series is in the hierarchy.
    """

    method: str
    scores: pd.DataFrame
    forecasts: Mapping[str, ModelForecast]


def residual_matrix(
    results: Mapping[str, SeriesBacktest], choices: Mapping[str, Choice], uids: Sequence[str]
) -> np.ndarray | None:
    """Backtest errors of the chosen models: rows = (fold, horizon) points, columns = series.

    Example
    -------
    >>> residual_matrix({}, {}, []) is None
    True
    """
    cols = []
    for uid in uids:
        res = results[uid]
        p = res.preds.get(choices[uid].model)
        if p is None:
            return None
        cols.append((res.actual - p.mean).ravel())
    if not cols or len(cols[0]) == 0:
        return None
    mat = np.column_stack(cols)
    mat = mat[np.all(np.isfinite(mat), axis=1)]
    return mat if mat.shape[0] else None


def score_reconcilers(
    results: Mapping[str, SeriesBacktest],
    choices: Mapping[str, Choice],
    uids: Sequence[str],
    S: np.ndarray,
    bottom: Sequence[int],
    nonnegative: bool,
) -> pd.DataFrame:
    """Mean backtest MASE over all series after each reconciliation method (MinT leave-fold-out).

    Example
    -------
    >>> score_reconcilers(results, choices, uids, S, bottom, True)  # doctest: +SKIP
    """
    n_folds, horizon = results[uids[0]].actual.shape
    if n_folds == 0 or horizon == 0:
        return pd.DataFrame(columns=["method", "mase"])
    means = [results[u].preds[choices[u].model].mean for u in uids]
    errors = [results[u].actual - mean for u, mean in zip(uids, means, strict=True)]
    rows = []
    for method in ("none", "bottom_up", "ols", "wls_struct", "mint_shrink"):
        values = []
        for k in range(n_folds):
            base = np.vstack([mean[k] for mean in means])
            if not np.all(np.isfinite(base)):
                continue
            residuals = None
            if method == "mint_shrink":
                other = [
                    np.column_stack([err[j] for err in errors]) for j in range(n_folds) if j != k
                ]
                if not other:
                    continue
                residuals = np.vstack(other)
            rec = reconcile_matrix(
                base, S, bottom, method, residuals=residuals, nonnegative=nonnegative
            )
            for i, uid in enumerate(uids):
                res = results[uid]
                if res.valid[k]:
                    v = mase(res.actual[k], rec[i], res.scales[k])
                    if np.isfinite(v):
                        values.append(v)
        if values:
            rows.append({"method": method, "mase": float(np.mean(values))})
    return pd.DataFrame(rows, columns=["method", "mase"])


def _shifted(fc: ModelForecast, mean: np.ndarray) -> ModelForecast:
    """``fc`` moved to the reconciled ``mean``, each interval keeping its own width."""
    shift = mean - fc.mean
    return ModelForecast(
        mean,
        {lv: lo + shift for lv, lo in fc.lower.items()},
        {lv: hi + shift for lv, hi in fc.upper.items()},
        fc.spec,
        fc.note,
        fc.fallback,
    )


def reconcile_forecasts(
    chosen: Mapping[str, ModelForecast],
    results: Mapping[str, SeriesBacktest],
    choices: Mapping[str, Choice],
    *,
    level_of: Mapping[str, str],
    ends: Mapping[str, pd.Timestamp],
    nonneg: Mapping[str, bool],
    hierarchy: pd.DataFrame | None,
    method: str,
) -> Reconciliation:
    """Reconcile the chosen forecasts over the company/segment/team/manager hierarchy.

    Only series of the hierarchy's levels take part, and only when there are managers and
    at least one aggregate. ``"auto"`` picks the method with the best backtest MASE
    (:func:`score_reconcilers`); ``mint_shrink`` without enough residuals falls back to
    ``bottom_up``. Every series keeps the width of its own interval, shifted to the
    reconciled point forecast.

    Raises
    ------
    ParameterError
        When the series carry no manager -> segment/team map or end in different months.

    Example
    -------
    >>> reconcile_forecasts(chosen, results, choices, level_of=level_of, ends=ends,
    ...                     nonneg=nonneg, hierarchy=h, method="auto").method  # doctest: +SKIP
    'mint_shrink'
    """
    out = dict(chosen)
    scores = pd.DataFrame(columns=["method", "mase"])
    in_hier = [u for u in chosen if level_of[u] in LEVELS]
    managers = [u for u in in_hier if level_of[u] == BOTTOM]
    if method == "none" or not managers or len(in_hier) <= len(managers):
        return Reconciliation("none", scores, out)
    if hierarchy is None or hierarchy.empty:
        raise ParameterError(
            "cannot reconcile: the series carry no manager -> segment/team map; build them "
            "with monthly_series(), pass hierarchy=, or use reconcile='none'"
        )
    if len({ends[u] for u in in_hier}) > 1:
        raise ParameterError(
            "cannot reconcile series that end in different months; align their ends"
        )
    S, bottom = summing_matrix(in_hier, hierarchy)
    nonneg_all = all(nonneg[u] for u in in_hier)
    residuals = residual_matrix(results, choices, in_hier)
    if method == "auto":
        scores = score_reconcilers(results, choices, in_hier, S, bottom, nonneg_all)
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
        out[uid] = _shifted(chosen[uid], rec[i])
    return Reconciliation(method, scores, out)
