"""The managers' own work beside sales: internal reports, compliance checks, product ideas.

Example
-------
>>> import datetime as dt
>>> from amtools.demo.company import managers
>>> from amtools.demo.world import World
>>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
>>> _ = managers(w)
>>> internal_reports(w).columns.tolist()
['manager_id', 'due_date', 'submitted_date', 'quality']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.frames import build_frame
from amtools.demo.world import World, poisson_events, sigmoid

__all__ = ["internal_reports", "compliance", "product_ideas"]


def internal_reports(w: World) -> pd.DataFrame:
    """Internal reports: weekly (B2C) or monthly (B2B), on time and good with ``discipline``.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> internal_reports(w).columns.tolist()
    ['manager_id', 'due_date', 'submitted_date', 'quality']
    """
    rng = w.rng
    rows_m, rows_due = [], []
    for m in range(w.n):
        lo, hi = w.window(m)
        if w.b2b[m]:  # monthly account report, due on the 5th of the next month
            due = w.bounds[1:] + 4
            due = due[(due - 4 > lo) & (due <= hi)]
        else:  # weekly pipeline report, due on Fridays (1970-01-02 was a Friday)
            first = lo + ((1 - lo) % 7)
            due = np.arange(first, hi + 1, 7, dtype=float)
        rows_m.append(np.full(len(due), m))
        rows_due.append(due)
    mgr = np.concatenate(rows_m)
    due = np.concatenate(rows_due)
    n = len(mgr)
    disc = w.trait("discipline")[mgr]
    on_time = rng.random(n) < sigmoid(1.6 + 1.1 * disc)
    late = 1 + rng.geometric(0.35, n)
    submitted = np.where(on_time, due - np.floor(rng.uniform(0, 3, n)), due + late)
    missing = rng.random(n) < 0.015 * np.exp(-disc)
    submitted = np.where(missing | (submitted > w.pe), np.nan, submitted)
    quality = np.clip(np.round(3.7 + 0.5 * disc + 0.6 * rng.normal(size=n)), 1, 5)
    return build_frame(
        "internal_reports",
        {
            "manager_id": w.mid[mgr],
            "due_date": due,
            "submitted_date": submitted,
            "quality": np.where(np.isnan(submitted), np.nan, quality),
        },
    )


def compliance(w: World) -> pd.DataFrame:
    """Monthly compliance checks; violations are rare and rarer with ``discipline``.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> compliance(w).columns.tolist()
    ['manager_id', 'date', 'violation']
    """
    rng = w.rng
    emp = w.employed[:, : w.n_hist]
    mgr, t = np.nonzero(emp)
    day = w.day_in_month(t)
    lo = np.array([w.window(m)[0] for m in range(w.n)])
    hi = np.array([w.window(m)[1] for m in range(w.n)])
    ok = (day >= lo[mgr]) & (day <= hi[mgr])
    mgr, day = mgr[ok], day[ok]
    p = 0.025 * np.exp(-0.9 * w.trait("discipline")[mgr])
    violation = rng.random(len(mgr)) < p
    order = np.lexsort((mgr, day))
    return build_frame(
        "compliance",
        {
            "manager_id": w.mid[mgr[order]],
            "date": day[order],
            "violation": violation[order].astype(float),
        },
    )


def product_ideas(w: World) -> pd.DataFrame:
    """Product ideas, more and more often accepted with ``initiative``; recent ones still under review.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> product_ideas(w).columns.tolist()
    ['manager_id', 'date', 'accepted']
    """
    rng = w.rng
    rate = 0.18 * np.exp(0.6 * w.trait("initiative"))
    mgr, t = poisson_events(rng, rate[:, None] * w.employed[:, : w.n_hist])
    day = w.day_in_month(t)
    lo = np.array([w.window(m)[0] for m in range(w.n)])
    hi = np.array([w.window(m)[1] for m in range(w.n)])
    ok = (day >= lo[mgr]) & (day <= hi[mgr])
    mgr, day = mgr[ok], day[ok]
    accepted = (rng.random(len(mgr)) < sigmoid(-0.9 + 0.5 * w.trait("initiative")[mgr])).astype(
        float
    )
    accepted = np.where(day > w.pe - 30, np.nan, accepted)  # recent ideas still under review
    order = np.lexsort((mgr, day))
    return build_frame(
        "product_ideas",
        {"manager_id": w.mid[mgr[order]], "date": day[order], "accepted": accepted[order]},
    )
