"""Hierarchical reconciliation: make manager forecasts add up to team, segment and company."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError

__all__ = ["RECONCILERS", "summing_matrix", "reconcile_matrix", "shrunk_covariance"]

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
