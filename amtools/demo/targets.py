"""The demo's sales targets: quarterly ``sales_volume`` quotas from the second year on.

Example
-------
>>> import datetime as dt
>>> from amtools.demo import make_demo
>>> ds = make_demo(seed=1, n_managers=4, end=dt.date(2026, 11, 26), years=2, scale=0.2)
>>> ds.targets["kpi"].unique().tolist()
['sales_volume']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.frames import build_frame
from amtools.demo.world import World

__all__ = ["targets"]


def targets(w: World, deals: pd.DataFrame, managers: pd.DataFrame) -> pd.DataFrame:
    """Quarterly sales quotas: 10 % above the same quarter of the previous year.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.clients import clients_frame, draw_clients
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.deals import deals
    >>> w = World(0, 4, dt.date(2026, 11, 26), 2, 0.2)
    >>> m = managers(w)
    >>> draw_clients(w)
    >>> _ = clients_frame(w)
    >>> targets(w, deals(w), m).columns.tolist()
    ['manager_id', 'period', 'kpi', 'target']
    """
    won = deals[deals["stage"] == "won"]
    quarter = won["closed_date"].dt.to_period("Q")
    actual = won.groupby([won["manager_id"], quarter])["amount"].sum()
    last = pd.Period(w.period_end, freq="Q")
    first = pd.Period(pd.Timestamp(w.mstart[0], unit="D"), freq="Q")
    quarters = pd.period_range(first + 4, last + 1, freq="Q")
    seg = dict(zip(managers["manager_id"], managers["segment"], strict=True))
    rows = []
    for q in quarters:
        q_start = q.start_time.value // 86_400_000_000_000
        for m in range(w.n):
            if w.hire[m] > q_start or (not np.isnan(w.leave[m]) and w.leave[m] <= q_start):
                continue
            base = actual.get((w.mid.list[m], q - 4), np.nan)
            rows.append((w.mid.list[m], q, base))
    frame = pd.DataFrame(rows, columns=["manager_id", "q", "base"])
    frame["segment"] = frame["manager_id"].map(seg)
    median = frame.groupby(["segment", "q"])["base"].transform("median")
    base = frame["base"].where(frame["base"] > 0, median)
    target = np.round(1.10 * base.to_numpy(dtype=float), -4)
    ok = np.isfinite(target)
    return build_frame(
        "targets",
        {
            "manager_id": frame["manager_id"].to_numpy()[ok],
            "period": np.array([f"{q.qyear}Q{q.quarter}" for q in frame["q"]])[ok],
            "kpi": np.full(ok.sum(), "sales_volume"),
            "target": target[ok],
        },
    )
