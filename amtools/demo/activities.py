"""The demo's client contact: activities (meetings, calls, emails…) and service requests.

Example
-------
>>> import datetime as dt
>>> from amtools.demo.world import World
>>> from amtools.demo.clients import clients_frame, draw_clients
>>> from amtools.demo.company import managers
>>> from amtools.demo.deals import deals
>>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
>>> _ = managers(w)
>>> draw_clients(w)
>>> _ = clients_frame(w)
>>> _ = deals(w)
>>> sorted(activities(w)["type"].unique())[:2]
['call', 'email']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.catalog import ACTIVITY_MIX, ACTIVITY_TYPES, B2B, B2C
from amtools.demo.frames import build_frame, make_ids
from amtools.demo.world import World

__all__ = ["activities", "requests"]


def activities(w: World) -> pd.DataFrame:
    """Activities: regular touches of active clients, plus touches while a lead is worked on.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> from amtools.demo.clients import clients_frame, draw_clients
    >>> draw_clients(w)
    >>> _ = clients_frame(w)
    >>> from amtools.demo.deals import deals
    >>> _ = deals(w)
    >>> activities(w).columns.tolist()
    ['activity_id', 'manager_id', 'client_id', 'type', 'date']
    """
    rng, d = w.rng, w.d
    boost = np.exp(0.3 * w.trait("activity"))[w.c_mgr]
    c1, day1 = w.client_events("touch_rate", boost=boost)
    # Touches while a new-business deal is worked on.
    leads = np.flatnonzero(d["is_lead"])
    n_touch = rng.poisson(w.seg_param("lead_touches", d["b2b"][leads]))
    lc = np.repeat(leads, n_touch)
    lo, hi = d["created"][lc], np.minimum(d["close"][lc], w.pe)
    day2 = lo + np.floor(rng.random(len(lc)) * (hi - lo + 1))
    c2 = d["client"][lc]
    client = np.concatenate([c1, c2])
    day = np.concatenate([day1, day2])
    keep = day >= w.s0
    client, day = client[keep], day[keep]
    order = np.argsort(day, kind="stable")
    client, day = client[order], day[order]
    b2b = w.c_b2b[client]
    kind_i = np.where(
        b2b,
        rng.choice(len(ACTIVITY_TYPES), size=len(b2b), p=ACTIVITY_MIX[B2B]),
        rng.choice(len(ACTIVITY_TYPES), size=len(b2b), p=ACTIVITY_MIX[B2C]),
    )
    kind = np.array(ACTIVITY_TYPES, dtype=object)[kind_i]
    mgr = w.owner(w.c_mgr[client], day)
    return build_frame(
        "activities",
        {
            "activity_id": make_ids("A", len(client), 8),
            "manager_id": w.mid[mgr],
            "client_id": w.cid[client],
            "type": kind,
            "date": day,
        },
    )


def requests(w: World) -> pd.DataFrame:
    """Service requests with first response and resolution times (the latest still open).

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> from amtools.demo.clients import clients_frame, draw_clients
    >>> draw_clients(w)
    >>> _ = clients_frame(w)
    >>> requests(w).columns[:3].tolist()
    ['request_id', 'client_id', 'manager_id']
    """
    rng = w.rng
    client, day = w.client_events("request_rate")
    order = np.argsort(day, kind="stable")
    client, day = client[order], day[order]
    n = len(client)
    b2b = w.c_b2b[client]
    mgr = w.owner(w.c_mgr[client], day)
    hour = np.where(rng.random(n) < 0.85, rng.uniform(9, 19, n), rng.uniform(0, 24, n))
    opened = np.floor(day * 86400 + hour * 3600)
    median = w.seg_param("response_hours", b2b) * np.exp(-0.55 * w.trait("responsiveness")[mgr])
    first = opened + np.floor(3600 * median * np.exp(1.2 * rng.normal(size=n)))
    resolve_med = w.seg_param("resolve_hours", b2b)
    resolved = first + np.floor(3600 * resolve_med * np.exp(0.9 * rng.normal(size=n)))
    snapshot = (w.pe + 1) * 86400
    never = rng.random(n) < 0.003
    first = np.where((first >= snapshot) | never, np.nan, first)
    resolved = np.where(np.isnan(first) | (resolved >= snapshot), np.nan, resolved)
    return build_frame(
        "requests",
        {
            "request_id": make_ids("R", n, 7),
            "client_id": w.cid[client],
            "manager_id": w.mid[mgr],
            "opened_at": opened,
            "first_response_at": first,
            "resolved_at": resolved,
        },
    )
