"""The demo's client feedback: satisfaction surveys (CSI 1-5 and NPS 0-10).

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
>>> surveys(w)["nps"].between(0, 10).all()
np.True_
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.frames import build_frame
from amtools.demo.world import World

__all__ = ["surveys"]


def surveys(w: World) -> pd.DataFrame:
    """Surveys: better service (retention, responsiveness) scores higher; clients about to leave are the detractors.

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
    >>> bool(surveys(w)["csi"].between(1, 5).all())
    True
    """
    rng = w.rng
    client, day = w.client_events("survey_rate")
    order = np.argsort(day, kind="stable")
    client, day = client[order], day[order]
    n = len(client)
    mgr = w.owner(w.c_mgr[client], day)
    # Service quality per manager, centred on the team average: managers differ (about
    # -15..+90 NPS per quarter), while the company's level does not hinge on the seed's
    # trait draws (uncentred, seed 0 gave a company NPS near 0).
    service = 0.55 * w.trait("retention") + 0.25 * w.trait("responsiveness")
    service = (service - service.mean())[mgr]
    leaving = (w.c_churn[client] > day) & (w.c_churn[client] - day < 180)
    mood = service - 0.9 * leaving + 0.6 * rng.normal(size=n)
    csi = np.clip(np.round(4.1 + 0.7 * mood), 1, 5)
    # Scores centred on 8.3 (sd ~1.5): ~45 % promoters, ~10 % detractors, so a decent
    # service's company NPS of about +30 (+20..+45 by quarter); clients about to leave
    # are the detractors.
    nps = np.clip(np.round(8.3 + 1.5 * mood + 0.8 * rng.normal(size=n)), 0, 10)
    return build_frame(
        "surveys",
        {
            "client_id": w.cid[client],
            "manager_id": w.mid[mgr],
            "date": day,
            "csi": csi,
            "nps": nps,
        },
    )
