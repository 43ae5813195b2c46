"""Professional KPIs (registry group ``professional``): skills mastered, training hours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.kpi.engine import Context, Result
from amtools.kpi.prep import KpiFunction, Prep, bools

__all__ = ["FUNCS"]


def _completed_trainings(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    tr = ctx.ds["trainings"]
    date = ctx.dates("trainings", "date")
    done = bools(tr, "completed") if "completed" in tr else np.ones(len(tr), dtype=bool)
    mgr = ctx.mgr_codes(tr, "trainings")
    return tr, date, done, mgr


def _skills_mastered(ctx: Context, p: Prep) -> Result:
    tr, date, done, mgr = _completed_trainings(ctx)
    skill_codes, _ = pd.factorize(tr["skill"].astype("string").str.strip().str.lower())
    sel = done & (skill_codes >= 0) & ~np.isnat(date)
    idx = np.flatnonzero(sel)
    pair = mgr[idx] * (int(skill_codes.max()) + 1) + skill_codes[idx]
    d = date[idx].astype("datetime64[ns]").astype(np.int64)
    first = pd.Series(d).groupby(pair).transform("min").to_numpy()
    cand = idx[d == first]
    cand_pair = mgr[cand] * (int(skill_codes.max()) + 1) + skill_codes[cand]
    _, pos = np.unique(cand_pair, return_index=True)
    chosen = cand[pos]
    per, ok = ctx.rel_codes(date[chosen])
    keys = ctx.keys(mgr[chosen][ok], per[ok])
    return ctx.count_result(ctx.total(keys))


def _training_hours(ctx: Context, p: Prep) -> Result:
    tr, date, done, mgr = _completed_trainings(ctx)
    hours = tr["hours"].to_numpy(dtype=np.float64, na_value=np.nan)
    per, ok = ctx.rel_codes(date)
    sel = ok & done & ~np.isnan(hours)
    keys = ctx.keys(mgr[sel], per[sel])
    return ctx.count_result(ctx.total(keys, hours[sel]), n=ctx.total(keys))


FUNCS: dict[str, KpiFunction] = {
    "skills_mastered": _skills_mastered,
    "training_hours": _training_hours,
}
"""KPI id -> its definition (:mod:`amtools.kpi.computation` runs them in registry order)."""
