"""The demo company's people: managers in B2B and B2C teams, with hires, a leaver and traits.

Example
-------
>>> import datetime as dt
>>> from amtools.demo.world import World
>>> w = World(0, 6, dt.date(2026, 11, 26), 1, 0.2)
>>> managers(w)["segment"].tolist()
['B2B', 'B2B', 'B2B', 'B2C', 'B2C', 'B2C']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.catalog import B2B, B2C, REGIONS, TEAM_NAMES, TRAITS
from amtools.demo.frames import Labels, build_frame, make_ids
from amtools.demo.names import person_names
from amtools.demo.world import World

__all__ = ["managers"]


def managers(w: World) -> pd.DataFrame:
    """The ``managers`` table; sets the managers' segment, team, traits, hire/leave days and successor on ``w``.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.world import World
    >>> managers(World(0, 4, dt.date(2026, 11, 26), 1, 0.2))["manager_id"].tolist()
    ['M001', 'M002', 'M003', 'M004']
    """
    rng, n = w.rng, w.n
    n_b2b = n // 2
    w.b2b = np.arange(n) < n_b2b
    seg = np.where(w.b2b, B2B, B2C)
    team = np.empty(n, dtype=object)
    region = np.empty(n, dtype=object)
    w.team_of = np.zeros(n, dtype=np.int64)
    team_no = 0
    for s, idx in ((B2B, np.arange(n_b2b)), (B2C, np.arange(n_b2b, n))):
        n_teams = 1 if len(idx) < 6 else max(2, round(len(idx) / 8))
        names = TEAM_NAMES[s]
        for k, block in enumerate(np.array_split(idx, n_teams)):
            team[block] = names[k] if k < len(names) else f"{s} Team {k + 1}"
            home = REGIONS[(k + (0 if s == B2B else 1)) % len(REGIONS)]
            other = np.array(REGIONS)[rng.integers(0, len(REGIONS), len(block))]
            region[block] = np.where(rng.random(len(block)) < 0.85, home, other)
            w.team_of[block] = team_no
            team_no += 1
    # Latent strengths: a general factor plus specific ones, so profiles differ visibly.
    general = rng.normal(size=(n, 1))
    w.z = np.clip(0.25 * general + 0.97 * rng.normal(size=(n, len(TRAITS))), -2.5, 2.5)
    hire = w.s0 - np.floor(rng.uniform(120, 8 * 365, n))
    leave = np.full(n, np.nan)
    successor = np.arange(n)
    if n >= 4:
        n_hires = max(1, round(0.06 * n))
        n_leavers = max(1, round(0.03 * n))
        order = rng.permutation(n)
        hires = []
        for k in range(n_hires):  # alternate segments
            want = k % 2 == 1
            pick = next(i for i in order if w.b2b[i] == want and i not in hires)
            hires.append(pick)
        span = w.pe - w.s0
        hire[hires] = w.s0 + np.floor(rng.uniform(0.2, 0.7, len(hires)) * span)
        candidates = [i for i in order if i not in hires and (w.team_of == w.team_of[i]).sum() >= 2]
        leavers = candidates[:n_leavers]
        for i in leavers:
            day = w.pe - np.floor(rng.uniform(100, 300))
            # the successor is a teammate who stays and was already there on that day
            mates = [
                j
                for j in np.flatnonzero(w.team_of == w.team_of[i])
                if j not in leavers and hire[j] < day
            ]
            if mates:
                leave[i] = day
                successor[i] = mates[int(rng.integers(0, len(mates)))]
    w.hire, w.leave, w.successor = hire, leave, successor
    ability = w.z.mean(axis=1)
    salary = w.seg_param("salary", w.b2b) * np.exp(0.12 * rng.normal(size=n) + 0.15 * ability)
    salary = np.round(salary / 1000) * 1000
    w.m_region = region.astype(str)
    w.mid = Labels(make_ids("M", n, 3))
    w.names = person_names(rng, n, unique=True)
    # employment by month: employed at any time in the month
    w.employed = (w.bounds[1:][None, :] > hire[:, None]) & (
        w.mstart[None, :] < np.nan_to_num(leave, nan=np.inf)[:, None]
    )
    return build_frame(
        "managers",
        {
            "manager_id": w.mid.column(),
            "name": w.names,
            "segment": seg,
            "team": team,
            "region": region,
            "hire_date": hire,
            "base_salary": salary,
            "active": np.where(np.isnan(leave), 1.0, 0.0),
        },
    )
