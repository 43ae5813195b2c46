"""Client KPIs (registry group ``client``): satisfaction, NPS, retention and churn, renewals, new clients, contacts, referrals."""

from __future__ import annotations

import numpy as np
from scipy import stats

from amtools.kpi.engine import Context, Result, codes_in
from amtools.kpi.prep import BIG, KpiFunction, Prep, bools, floats, min_at
from amtools.kpi.registry import KPIS

__all__ = ["FUNCS", "retention"]


def _survey_parts(ctx: Context, column: str) -> tuple[np.ndarray, np.ndarray]:
    s = ctx.ds["surveys"]
    per, ok = ctx.periods_of("surveys", "date")
    mgr = ctx.mgr_codes(s, "surveys")
    x = floats(s, column)
    ok &= ~np.isnan(x)
    return ctx.keys(mgr[ok], per[ok]), x[ok]


def _csi(ctx: Context, p: Prep) -> Result:
    keys, x = _survey_parts(ctx, "csi")
    return ctx.mean_result(
        keys,
        x,
        "no_csi_responses",
        t_interval=True,
        scale=25.0,
        shift=-1.0,
        bounds=(0.0, 100.0),
    )


def _nps(ctx: Context, p: Prep) -> Result:
    keys, x = _survey_parts(ctx, "nps")
    n = ctx.total(keys)
    prom = ctx.total(keys, (x >= ctx.settings.promoter_min).astype(np.float64))
    detr = ctx.total(keys, (x <= ctx.settings.detractor_max).astype(np.float64))
    r = ctx.empty()
    ok = n > 0
    pp, pd_ = prom[ok] / n[ok], detr[ok] / n[ok]
    diff = pp - pd_
    r.value[ok] = 100 * diff
    r.n = n
    r.reason[~ok] = "no_nps_responses"
    se = np.sqrt(np.maximum(pp + pd_ - diff**2, 0.0) / n[ok])
    z = stats.norm.ppf(0.5 + float(ctx.settings.confidence) / 2)
    r.low[ok] = np.clip(100 * (diff - z * se), -100, 100)
    r.high[ok] = np.clip(100 * (diff + z * se), -100, 100)
    return r


def _retention_parts(ctx: Context, p: Prep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = np.zeros(ctx.size)
    kept = np.zeros(ctx.size)
    lost = np.zeros(ctx.size)
    grp = ctx.grp[p.cl_mgr]
    for i in range(ctx.n_per):
        start, end = ctx.start[i], ctx.start[i + 1]
        at_start = p.active_at(start)
        at_end = p.active_at(end)
        if p.lapse_months is not None:  # inferred: lost = lapsed during the period
            churned = at_start & ~at_end
        else:
            churned = ~np.isnat(p.cl_churn) & (p.cl_churn >= start) & (p.cl_churn < end)
        keys = grp[at_start] * ctx.n_per + i
        base += np.bincount(keys, minlength=ctx.size)
        kept += np.bincount(grp[at_start & at_end] * ctx.n_per + i, minlength=ctx.size)
        lost += np.bincount(grp[at_start & churned] * ctx.n_per + i, minlength=ctx.size)
    return base, kept, lost


def _retention_rate(ctx: Context, p: Prep) -> Result:
    base, kept, _ = retention(ctx, p)
    return ctx.ratio_result(kept, base, "no_clients_at_start", wilson=True)


def _churn_rate(ctx: Context, p: Prep) -> Result:
    base, _, lost = retention(ctx, p)
    return ctx.ratio_result(lost, base, "no_clients_at_start", wilson=True)


def retention(ctx: Context, p: Prep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell: clients active at the period start, still active at its end, and lost.

    Computed once per level (``p.retention``) and shared by retention_rate and churn_rate.
    """
    if p.retention is None:
        p.retention = _retention_parts(ctx, p)
    return p.retention


def _prolongation_rate(ctx: Context, p: Prep) -> Result:
    c = ctx.ds["contracts"]
    per, ok = ctx.periods_of("contracts", "end_date")
    mgr = ctx.mgr_codes(c, "contracts")
    if "renewed" in c:
        decided = c["renewed"].notna().to_numpy(dtype=bool)
        renewed = bools(c, "renewed")
    else:
        decided = np.zeros(len(c), dtype=bool)
        renewed = decided
    sel = ok & decided
    keys = ctx.keys(mgr[sel], per[sel])
    return ctx.ratio_result(
        ctx.total(keys, renewed[sel].astype(np.float64)),
        ctx.total(keys),
        "no_decided_contracts",
        wilson=True,
    )


def _new_clients(ctx: Context, p: Prep) -> Result:
    idx = np.flatnonzero(p.w_client >= 0)
    cl = p.w_client[idx]
    cand = p.w_closed[idx] == p.first_won_dc[cl]
    # one deal per client: its first won deal (ties on the day: the first row)
    first_row = min_at(p.n_dc, cl[cand], idx[cand])
    chosen = first_row[first_row != BIG]
    chosen = chosen[p.w_ok[chosen]]
    keys = ctx.keys(p.w_mgr[chosen], p.w_per[chosen])
    return ctx.count_result(ctx.total(keys))


def _contact_expansion(ctx: Context, p: Prep) -> Result:
    contacts = ctx.ds["contacts"]
    per, ok = ctx.periods_of("contacts", "added_date")
    cl = codes_in(p.cl_index, contacts["client_id"])
    ok &= cl >= 0
    cl_ok = cl[ok]
    acq = p.cl_acq[cl_ok]
    existing = ~np.isnat(acq) & (acq < ctx.start[per[ok]])
    mgr = p.cl_mgr[cl_ok][existing]
    in_scope = np.isin(ctx.mgr_segment, KPIS["contact_expansion"].segments)
    keep = in_scope[mgr]
    keys = ctx.keys(mgr[keep], per[ok][existing][keep])
    return ctx.count_result(ctx.total(keys))


def _referrals(ctx: Context, p: Prep) -> Result:
    ref = codes_in(p.cl_index, ctx.ds["clients"]["referred_by"])
    per, ok = ctx.rel_codes(p.cl_acq)
    ok &= ref >= 0
    idx = np.flatnonzero(ok)
    refp = ref[idx]
    ref_acq = p.cl_acq[refp]
    existing = ~np.isnat(ref_acq) & (ref_acq < p.cl_acq[idx])
    idx, refp = idx[existing], refp[existing]
    keys = ctx.keys(p.cl_mgr[refp], per[idx])
    return ctx.count_result(ctx.total(keys))


FUNCS: dict[str, KpiFunction] = {
    "csi": _csi,
    "nps": _nps,
    "retention_rate": _retention_rate,
    "churn_rate": _churn_rate,
    "prolongation_rate": _prolongation_rate,
    "new_clients": _new_clients,
    "contact_expansion": _contact_expansion,
    "referrals": _referrals,
}
"""KPI id -> its definition (:mod:`amtools.kpi.computation` runs them in registry order)."""
