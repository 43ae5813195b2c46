"""Measures of a KPI value against its target and its peers: attainment, percentile, quartile."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["attainment", "peer_percentile", "quartile"]


def attainment(
    value: pd.Series,
    target: pd.Series,
    direction: pd.Series,
    cap: float = 2.0,
    offset: pd.Series | float = 0.0,
) -> pd.Series:
    """Direction-aware attainment of a target, clipped to ``[0, cap]``.

    ``value / target`` when higher is better, ``target / value`` when lower is better, both
    shifted by ``offset`` first (1 for growth rates, so that growth g against a target t gives
    (1 + g) / (1 + t); 100 for NPS). A non-positive shifted target (zero violations) cannot be
    divided by, so attainment is then 1.0 when the value equals it, ``cap`` when strictly better
    and 0.0 when worse; likewise a lower-is-better value of 0 against a positive target gets
    ``cap``. NaN where the value or the target is missing.

    Example
    -------
    >>> import pandas as pd
    >>> attainment(pd.Series([50.0, 5.0]), pd.Series([40.0, 4.0]),
    ...            pd.Series(["higher", "lower"])).round(2).tolist()
    [1.25, 0.8]
    >>> growth = attainment(pd.Series([-0.12]), pd.Series([0.10]), pd.Series(["higher"]), offset=1.0)
    >>> growth.round(2).tolist()  # (1 - 0.12) / (1 + 0.10)
    [0.8]
    """
    shift = np.asarray(offset, dtype="float64")
    v = pd.to_numeric(value, errors="coerce").astype("float64").to_numpy() + shift
    t = pd.to_numeric(target, errors="coerce").astype("float64").to_numpy() + shift
    lower = np.asarray(direction.astype(str) == "lower")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lower, t / v, v / t)
        better = np.where(lower, v < t, v > t)
        step = np.where(v == t, 1.0, np.where(better, cap, 0.0))
        use_step = (t <= 0) | (lower & (v <= 0))
        out = np.where(use_step, step, ratio)
    out = np.clip(out, 0.0, cap)
    out[np.isnan(v) | np.isnan(t)] = np.nan
    return pd.Series(out, index=value.index, dtype="float64")


def peer_percentile(frame: pd.DataFrame, by: list[str], *, min_peers: int = 3) -> pd.Series:
    """Direction-aware percentile of ``value`` within groups ``by``, ties sharing the mid-rank.

    ``frame`` needs ``value`` and ``direction`` columns and holds only comparable rows.
    percentile = 100 * (peers worse + half of the other tied peers) / (peers - 1): best 100,
    worst 0, a tie block gets the mean of its places. NaN in groups smaller than ``min_peers``.

    Example
    -------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"g": ["a"] * 4, "value": [1.0, 2.0, 2.0, 3.0],
    ...                   "direction": ["higher"] * 4})
    >>> peer_percentile(f, ["g"]).tolist()
    [0.0, 50.0, 50.0, 100.0]
    """
    if frame.empty:
        return pd.Series(dtype="float64", index=frame.index)
    signed = frame["value"].astype("float64").where(frame["direction"] != "lower", -frame["value"])
    grouped = signed.groupby([frame[c] for c in by], sort=False)
    rank = grouped.rank(method="average", ascending=True)
    size = grouped.transform("size").astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (rank - 1.0) / (size - 1.0)
    return pct.where(size >= min_peers).astype("float64")


def quartile(percentile: pd.Series) -> pd.Series:
    """Quartile of a 0..100 percentile: 1 (>= 75, the best) .. 4; NA where none.

    Example
    -------
    >>> quartile(pd.Series([80.0, 50.0, None])).tolist()
    [1, 2, <NA>]
    """
    q = pd.Series(pd.NA, index=percentile.index, dtype="Int64")
    has = percentile.notna()
    p = percentile[has]
    q[has] = np.select([p >= 75, p >= 50, p >= 25], [1, 2, 3], default=4)
    return q
