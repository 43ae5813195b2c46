"""Activity KPIs (registry group ``activity``): meetings, proposals, response to requests, sales cycle, contact frequency, discounts."""

from __future__ import annotations

import numpy as np

from amtools.kpi.engine import Context, Result
from amtools.kpi.prep import NAT_I, KpiFunction, Prep, equals

__all__ = ["FUNCS"]


def _activity_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = ctx.ds["activities"]
    per, ok = ctx.periods_of("activities", "date")
    mgr = ctx.mgr_codes(a, "activities")
    return mgr, per, ok


def _meetings(ctx: Context, p: Prep) -> Result:
    mgr, per, ok = _activity_parts(ctx)
    types = ctx.ds["activities"]["type"]
    wanted = [str(t) for t in ctx.settings.meeting_types]
    ok &= types.isin(wanted).to_numpy(dtype=bool, na_value=False)
    return ctx.count_result(ctx.total(ctx.keys(mgr[ok], per[ok])))


def _proposal_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pr = ctx.ds["proposals"]
    per, ok = ctx.periods_of("proposals", "sent_date")
    mgr = ctx.mgr_codes(pr, "proposals")
    return mgr, per, ok


def _proposals(ctx: Context, p: Prep) -> Result:
    mgr, per, ok = _proposal_parts(ctx)
    return ctx.count_result(ctx.total(ctx.keys(mgr[ok], per[ok])))


def _proposal_conversion(ctx: Context, p: Prep) -> Result:
    mgr, per, ok = _proposal_parts(ctx)
    outcome = ctx.ds["proposals"]["outcome"]
    won, lost = equals(outcome, "won"), equals(outcome, "lost")
    sel = ok & (won | lost)
    keys = ctx.keys(mgr[sel], per[sel])
    return ctx.ratio_result(
        ctx.total(keys, won[sel].astype(np.float64)),
        ctx.total(keys),
        "no_decided_proposals",
        wilson=True,
    )


def _request_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rq = ctx.ds["requests"]
    opened = ctx.dates("requests", "opened_at")
    per, ok = ctx.periods_of("requests", "opened_at")
    mgr = ctx.mgr_codes(rq, "requests")
    resp = ctx.dates("requests", "first_response_at")
    hours = (resp - opened) / np.timedelta64(1, "h")
    return ctx.keys(mgr[ok], per[ok]), hours[ok], ok


def _response_time(ctx: Context, p: Prep) -> Result:
    keys, hours, _ = _request_parts(ctx)
    answered = ~np.isnan(hours)
    med = ctx.median(keys[answered], hours[answered])
    n = ctx.total(keys[answered])
    r = ctx.empty()
    r.value, r.n = med, n
    r.reason[n == 0] = "no_answered_requests"
    return r


def _response_sla_rate(ctx: Context, p: Prep) -> Result:
    keys, hours, _ = _request_parts(ctx)
    within = ~np.isnan(hours) & (hours <= float(ctx.settings.sla_hours))
    return ctx.ratio_result(
        ctx.total(keys, within.astype(np.float64)),
        ctx.total(keys),
        "no_requests",
        wilson=True,
    )


def _sales_cycle_days(ctx: Context, p: Prep) -> Result:
    created = ctx.dates("deals", "created_date").view(np.int64)[p.w]
    sel = np.flatnonzero(p.w_ok & (created != NAT_I))
    days = (p.w_closed[sel] - created[sel]) / (86400 * 10**9)
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    n = ctx.total(keys)
    r = ctx.empty()
    r.value, r.n = ctx.median(keys, days), n
    r.reason[n == 0] = "no_won_deals_with_created_date"
    return r


def _contact_frequency(ctx: Context, p: Prep) -> Result:
    mgr, per, ok = _activity_parts(ctx)
    touches = ctx.total(ctx.keys(mgr[ok], per[ok]))
    active = np.zeros(ctx.size)
    grp = ctx.grp[p.cl_mgr]
    for i in range(ctx.n_per):
        during = p.active_during(ctx.start[i], ctx.start[i + 1])
        active += np.bincount(grp[during] * ctx.n_per + i, minlength=ctx.size)
    return ctx.ratio_result(touches, active * ctx.k, "no_active_clients", n=active)


def _average_discount(ctx: Context, p: Prep) -> Result:
    disc = p.won_column("discount")
    sel = np.flatnonzero(p.w_ok & ~np.isnan(disc))
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    return ctx.mean_result(
        keys, disc[sel], "no_won_deals_with_discount", t_interval=True, bounds=(0.0, 1.0)
    )


FUNCS: dict[str, KpiFunction] = {
    "meetings": _meetings,
    "proposals": _proposals,
    "proposal_conversion": _proposal_conversion,
    "response_time": _response_time,
    "response_sla_rate": _response_sla_rate,
    "sales_cycle_days": _sales_cycle_days,
    "contact_frequency": _contact_frequency,
    "average_discount": _average_discount,
}
"""KPI id -> its definition (:mod:`amtools.kpi.computation` runs them in registry order)."""
