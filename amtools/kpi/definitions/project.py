"""Project KPIs (registry group ``project``): on time, within budget, implementation quality."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.kpi.engine import Context, Result
from amtools.kpi.prep import KpiFunction, Prep

__all__ = ["FUNCS"]


def _project_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    pj = ctx.ds["projects"]
    per, ok = ctx.periods_of("projects", "actual_end")
    mgr = ctx.mgr_codes(pj, "projects")
    return pj, mgr, per, ok


def _on_time_rate(ctx: Context, p: Prep) -> Result:
    pj, mgr, per, ok = _project_parts(ctx)
    actual = ctx.dates("projects", "actual_end")
    planned = ctx.dates("projects", "planned_end")
    sel = ok & ~np.isnat(planned)
    keys = ctx.keys(mgr[sel], per[sel])
    on_time = (actual[sel] <= planned[sel]).astype(np.float64)
    return ctx.ratio_result(
        ctx.total(keys, on_time),
        ctx.total(keys),
        "no_projects_with_planned_end",
        wilson=True,
    )


def _budget_adherence(ctx: Context, p: Prep) -> Result:
    pj, mgr, per, ok = _project_parts(ctx)
    budget = pj["budget"].to_numpy(dtype=np.float64, na_value=np.nan)
    cost = pj["actual_cost"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = ok & ~np.isnan(budget) & ~np.isnan(cost)
    keys = ctx.keys(mgr[sel], per[sel])
    within = cost[sel] <= budget[sel] * (1 + float(ctx.settings.budget_tolerance))
    return ctx.ratio_result(
        ctx.total(keys, within.astype(np.float64)),
        ctx.total(keys),
        "no_projects_with_budget",
        wilson=True,
    )


def _implementation_quality(ctx: Context, p: Prep) -> Result:
    pj, mgr, per, ok = _project_parts(ctx)
    q = pj["quality"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = ok & ~np.isnan(q)
    return ctx.mean_result(
        ctx.keys(mgr[sel], per[sel]),
        q[sel],
        "no_projects_with_quality",
        t_interval=True,
        bounds=(1.0, 5.0),
    )


FUNCS: dict[str, KpiFunction] = {
    "on_time_rate": _on_time_rate,
    "budget_adherence": _budget_adherence,
    "implementation_quality": _implementation_quality,
}
"""KPI id -> its definition (:mod:`amtools.kpi.computation` runs them in registry order)."""
