"""The demo's trainings: courses of the catalogue, weak skills first, a certified course never twice.

Example
-------
>>> import datetime as dt
>>> from amtools.demo.company import managers
>>> from amtools.demo.world import World
>>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
>>> _ = managers(w)
>>> trainings(w)["course"].str.startswith("AM-").all()
np.True_
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.catalog import B2B, B2C, COURSES, SKILLS
from amtools.demo.frames import build_frame
from amtools.demo.world import World, choice_rows, poisson_events, sigmoid

__all__ = ["trainings"]


def trainings(w: World) -> pd.DataFrame:
    """Trainings from :data:`~amtools.demo.catalog.COURSES`, chosen by the segment's focus and the manager's weak traits.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> trainings(w).columns.tolist()
    ['manager_id', 'course', 'skill', 'date', 'hours', 'completed']
    """
    rng = w.rng
    # Skill -> the trait a course in it is meant to improve (weak managers get sent more).
    skill_trait = {
        SKILLS[0]: "negotiation",
        SKILLS[1]: "initiative",
        SKILLS[2]: "discipline",
        SKILLS[3]: "upsell",
        SKILLS[4]: "delivery",
        SKILLS[5]: "closing",
        SKILLS[6]: "retention",
    }
    seg_focus = {
        B2B: {SKILLS[6]: 2.0, SKILLS[3]: 1.5},
        B2C: {SKILLS[5]: 2.0, SKILLS[0]: 1.5},
    }
    skills = [c[2] for c in COURSES]
    rate = 4.0 / 12 * np.exp(0.3 * w.trait("initiative"))
    mgr, t = poisson_events(rng, rate[:, None] * w.employed[:, : w.n_hist])
    day = w.day_in_month(t)
    lo = np.array([w.window(m)[0] for m in range(w.n)])
    hi = np.array([w.window(m)[1] for m in range(w.n)])
    ok = (day >= lo[mgr]) & (day <= hi[mgr])
    mgr, day = mgr[ok], day[ok]
    weights = np.empty((len(mgr), len(COURSES)))
    for j, skill in enumerate(skills):
        focus = np.where(w.b2b[mgr], seg_focus[B2B].get(skill, 1.0), seg_focus[B2C].get(skill, 1.0))
        weights[:, j] = focus * np.exp(-0.7 * w.trait(skill_trait[skill])[mgr])
    course = choice_rows(rng, weights)
    completed = rng.random(len(mgr)) < sigmoid(1.8 + 0.5 * w.trait("discipline")[mgr])
    hours_full = np.array([c[3] for c in COURSES])[course]
    hours = np.where(completed, hours_full, np.floor(rng.random(len(mgr)) * hours_full))
    # A certified course is not taken again.
    order = np.lexsort((day, course, mgr))
    mgr, day, course, completed, hours = (a[order] for a in (mgr, day, course, completed, hours))
    done_before = np.zeros(len(mgr), bool)
    key = mgr * len(COURSES) + course
    cum_done = np.cumsum(completed)
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    prior = cum_done - completed - np.where(group_start > 0, cum_done[group_start - 1], 0)
    done_before = prior > 0
    keep = ~done_before
    mgr, day, course, completed, hours = (a[keep] for a in (mgr, day, course, completed, hours))
    order = np.lexsort((mgr, day))
    mgr, day, course, completed, hours = (a[order] for a in (mgr, day, course, completed, hours))
    return build_frame(
        "trainings",
        {
            "manager_id": w.mid[mgr],
            "course": np.array([c[0] for c in COURSES])[course],
            "skill": np.array(skills)[course],
            "date": day,
            "hours": hours,
            "completed": completed.astype(float),
        },
    )
