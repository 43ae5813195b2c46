"""Internal KPIs (registry group ``internal``): reporting, compliance, product ideas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.kpi.engine import Context, Result
from amtools.kpi.prep import KpiFunction, Prep, bools

__all__ = ["FUNCS"]


def _report_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    ir = ctx.ds["internal_reports"]
    per, ok = ctx.periods_of("internal_reports", "due_date")
    return ir, ctx.mgr_codes(ir, "internal_reports"), per, ok


def _reporting_timeliness(ctx: Context, p: Prep) -> Result:
    ir, mgr, per, ok = _report_parts(ctx)
    due = ctx.dates("internal_reports", "due_date")
    if "submitted_date" in ir:
        sub = ctx.dates("internal_reports", "submitted_date")
        timely = ~np.isnat(sub) & (sub <= due)
    else:
        timely = np.zeros(len(ir), dtype=bool)
    keys = ctx.keys(mgr[ok], per[ok])
    return ctx.ratio_result(
        ctx.total(keys, timely[ok].astype(np.float64)),
        ctx.total(keys),
        "no_reports_due",
        wilson=True,
    )


def _reporting_quality(ctx: Context, p: Prep) -> Result:
    ir, mgr, per, ok = _report_parts(ctx)
    q = ir["quality"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = ok & ~np.isnan(q)
    return ctx.mean_result(
        ctx.keys(mgr[sel], per[sel]),
        q[sel],
        "no_rated_reports_due",
        t_interval=True,
        bounds=(1.0, 5.0),
    )


def _compliance_violations(ctx: Context, p: Prep) -> Result:
    c = ctx.ds["compliance"]
    per, ok = ctx.periods_of("compliance", "date")
    mgr = ctx.mgr_codes(c, "compliance")
    keys = ctx.keys(mgr[ok], per[ok])
    viol = bools(c, "violation")[ok].astype(np.float64)
    return ctx.count_result(ctx.total(keys, viol), n=ctx.total(keys))


def _idea_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    ideas = ctx.ds["product_ideas"]
    per, ok = ctx.periods_of("product_ideas", "date")
    mgr = ctx.mgr_codes(ideas, "product_ideas")
    return ideas, ctx.keys(mgr[ok], per[ok]), ok


def _product_contribution(ctx: Context, p: Prep) -> Result:
    _, keys, _ = _idea_parts(ctx)
    return ctx.count_result(ctx.total(keys))


def _product_ideas_accepted(ctx: Context, p: Prep) -> Result:
    ideas, keys, ok = _idea_parts(ctx)
    acc = bools(ideas, "accepted")[ok].astype(np.float64)
    return ctx.count_result(ctx.total(keys, acc), n=ctx.total(keys))


FUNCS: dict[str, KpiFunction] = {
    "reporting_timeliness": _reporting_timeliness,
    "reporting_quality": _reporting_quality,
    "compliance_violations": _compliance_violations,
    "product_contribution": _product_contribution,
    "product_ideas_accepted": _product_ideas_accepted,
}
"""KPI id -> its definition (:mod:`amtools.kpi.computation` runs them in registry order)."""
