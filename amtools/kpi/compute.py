"""Compute every KPI of the registry for all managers (or teams, segments, the company) x periods at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..dataset import Dataset
from ..errors import ParameterError
from ..params import read_params
from ._engine import Context, Result, as_datetime, assemble
from .registry import KPIS

__all__ = ["compute", "DEFAULT_PARAMS", "kpi_params"]

DEFAULT_PARAMS: dict[str, Any] = {
    "sla_hours": 24.0,
    "budget_tolerance": 0.05,
    "comparison": "year_ago",
    "nps_min_responses": 10,
    "meeting_types": ["meeting", "visit"],
    "promoter_min": 9,
    "detractor_max": 6,
    "confidence": 0.95,
    "min_samples": {},
}
"""Built-in defaults; ``params/kpi.yaml`` and the ``params`` argument override them."""

_COMPARISONS = ("year_ago", "previous")


def kpi_params(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge built-in defaults, ``params/kpi.yaml`` and ``params`` (user overrides win).

    Example
    -------
    >>> kpi_params({"sla_hours": 8})["sla_hours"]
    8
    """
    merged = {**DEFAULT_PARAMS, "min_samples": {}}
    try:
        from_file = read_params("kpi")
    except ParameterError:
        from_file = {}
    for layer in (from_file, params or {}):
        unknown = sorted(set(layer) - set(DEFAULT_PARAMS))
        if unknown:
            raise ParameterError(
                f"unknown KPI parameter(s) {unknown}; known: {', '.join(DEFAULT_PARAMS)}"
            )
        for key, val in layer.items():
            if key == "min_samples":
                if not isinstance(val, dict) or set(val) - set(KPIS):
                    raise ParameterError(
                        f"min_samples must map KPI ids to integers; unknown ids: "
                        f"{sorted(set(val) - set(KPIS)) if isinstance(val, dict) else val!r}"
                    )
                merged["min_samples"] = {**merged["min_samples"], **val}
            else:
                merged[key] = val
    if merged["comparison"] not in _COMPARISONS:
        raise ParameterError(
            f"comparison must be one of {_COMPARISONS}, got {merged['comparison']!r}"
        )
    if not 0 < float(merged["confidence"]) < 1:
        raise ParameterError(f"confidence must be in (0, 1), got {merged['confidence']!r}")
    return merged


# ---------------------------------------------------------------------------------------
# Shared preparation
# ---------------------------------------------------------------------------------------


def _has_values(df: pd.DataFrame | None, column: str) -> bool:
    return df is not None and column in df and bool(df[column].notna().any())


def _bool(df: pd.DataFrame, column: str) -> np.ndarray:
    """A nullable boolean column as a numpy bool array (missing -> False)."""
    return df[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


class _Prep:
    """Arrays shared by several KPIs, computed once per call."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ds = ctx.ds
        deals = ds["deals"]
        self.deals = deals
        stage = deals["stage"].astype("string").to_numpy(dtype=object, na_value="")
        self.won = stage == "won"
        self.lost = stage == "lost"
        self.d_mgr = ctx.mgr_codes(deals, "deals")
        self.amount = deals["amount"].to_numpy(dtype=np.float64, na_value=np.nan)
        self.closed = (
            as_datetime(deals, "deals", "closed_date")
            if "closed_date" in deals
            else np.full(len(deals), np.datetime64("NaT"), dtype="datetime64[ns]")
        )
        self.c_per, self.c_ok = ctx.rel_codes(self.closed)
        # closed in range, won / lost
        self.won_in = self.won & self.c_ok
        self.won_keys = ctx.keys(self.d_mgr[self.won_in], self.c_per[self.won_in])
        # client codes by client_id inside deals (independent of the clients table)
        cid = deals["client_id"].astype("string")
        codes, uniq = pd.factorize(cid)
        self.d_client = codes.astype(np.int64)  # -1 where empty
        self.deal_client_ids = uniq

        clients = ds.get("clients")
        self.clients = clients
        if clients is not None:
            self.cl_index = pd.Index(clients["client_id"].astype("string"))
            self.cl_mgr = ctx.mgr_codes(clients, "clients")
            n_cl = len(clients)
            # map deal client codes onto clients-table positions
            pos_of_code = self.cl_index.get_indexer(pd.Index(uniq))
            self.d_cl = np.where(self.d_client >= 0, pos_of_code[np.maximum(self.d_client, 0)], -1)
            acq = (
                as_datetime(clients, "clients", "acquired_date")
                if "acquired_date" in clients
                else np.full(n_cl, np.datetime64("NaT"), dtype="datetime64[ns]")
            )
            acq = acq.astype("datetime64[ns]")
            first_won = self._first_won_by_client(n_cl)
            self.cl_acq = np.where(np.isnat(acq), first_won, acq)
            churn = (
                as_datetime(clients, "clients", "churned_date")
                if "churned_date" in clients
                else np.full(n_cl, np.datetime64("NaT"), dtype="datetime64[ns]")
            )
            self.cl_churn = churn.astype("datetime64[ns]")
            self.cl_react = self._reactivation(n_cl)

    def _first_won_by_client(self, n_cl: int) -> np.ndarray:
        sel = self.won & (self.d_cl >= 0) & ~np.isnat(self.closed)
        out = np.full(n_cl, np.datetime64("NaT"), dtype="datetime64[ns]")
        if sel.any():
            first = pd.Series(self.closed[sel]).groupby(self.d_cl[sel]).min()
            out[first.index.to_numpy()] = first.to_numpy(dtype="datetime64[ns]")
        return out

    def _reactivation(self, n_cl: int) -> np.ndarray:
        """First won deal strictly after the client's churn date (a win-back), else NaT."""
        out = np.full(n_cl, np.datetime64("NaT"), dtype="datetime64[ns]")
        sel = self.won & (self.d_cl >= 0) & ~np.isnat(self.closed)
        if not sel.any():
            return out
        cl = self.d_cl[sel]
        closed = self.closed[sel].astype("datetime64[ns]")
        churn = self.cl_churn[cl]
        after = ~np.isnat(churn) & (closed > churn)
        if after.any():
            first = pd.Series(closed[after]).groupby(cl[after]).min()
            out[first.index.to_numpy()] = first.to_numpy(dtype="datetime64[ns]")
        return out

    def active_at(self, t: np.datetime64) -> np.ndarray:
        """Clients active at instant ``t`` (acquired before it, not churned or won back since)."""
        acq, churn, react = self.cl_acq, self.cl_churn, self.cl_react
        acquired = ~np.isnat(acq) & (acq < t)
        not_lost = np.isnat(churn) | (churn >= t) | (~np.isnat(react) & (react < t))
        return acquired & not_lost


def _needs(ctx: Context, kpi_id: str, prep: _Prep) -> str | None:
    """Reason the KPI cannot be computed at all from this dataset (missing table/column)."""
    kpi = KPIS[kpi_id]
    for t in kpi.tables:
        if t not in ctx.ds:
            return f"needs table {t}"
    for tc in kpi.columns:
        table, col = tc.split(".")
        if not _has_values(ctx.ds.get(table), col):
            return f"needs column {tc}"
    return None


# ---------------------------------------------------------------------------------------
# Financial
# ---------------------------------------------------------------------------------------


def _sales_volume(ctx: Context, p: _Prep) -> Result:
    keys = p.won_keys
    return ctx.count_result(ctx.total(keys, p.amount[p.won_in]), n=ctx.total(keys))


def _revenue_growth_existing(ctx: Context, p: _Prep) -> Result:
    lag = {"M": 12, "Q": 4, "Y": 1}[ctx.freq] if ctx.params["comparison"] == "year_ago" else 1
    sel = p.won & ~np.isnat(p.closed) & (p.d_cl >= 0)
    cl = p.d_cl[sel]
    per = p.c_per[sel]  # relative code, may be outside range
    amt = p.amount[sel]
    acq = p.cl_acq[cl]
    grp = ctx.grp[p.cl_mgr[cl]]
    n_per = ctx.n_per
    starts = ctx.start  # start[i] for i in 0..n_per
    # current period: deals in period q from clients acquired before q's start
    cur_ok = (per >= 0) & (per < n_per)
    cur_ok[cur_ok] &= ~np.isnat(acq[cur_ok]) & (acq[cur_ok] < starts[per[cur_ok]])
    cur = np.bincount(grp[cur_ok] * n_per + per[cur_ok], weights=amt[cur_ok], minlength=ctx.size)
    # comparison: deals in period q contribute to period q + lag when the client was acquired
    # before the start of q + lag (the "existing clients" of that later period)
    tgt = per + lag
    cmp_ok = (tgt >= 0) & (tgt < n_per) & (per >= 0)
    cmp_ok[cmp_ok] &= ~np.isnat(acq[cmp_ok]) & (acq[cmp_ok] < starts[tgt[cmp_ok]])
    cmp_keys = grp[cmp_ok] * n_per + tgt[cmp_ok]
    base = np.bincount(cmp_keys, weights=amt[cmp_ok], minlength=ctx.size)
    n_clients = ctx.distinct(cmp_keys, cl[cmp_ok])
    r = ctx.empty()
    ok = base > 0
    r.value[ok] = cur[ok] / base[ok] - 1
    r.n = n_clients
    labels = np.array(ctx.labels, dtype=object)
    period_idx = np.tile(np.arange(n_per), ctx.n_grp)
    before = period_idx - lag < 0
    cmp_label = np.where(before, "", labels[np.maximum(period_idx - lag, 0)])
    r.reason[~ok & before] = "comparison period precedes the data"
    rest = ~ok & ~before
    r.reason[rest] = [f"no revenue from existing clients in {c}" for c in cmp_label[rest]]
    return r


def _profit_parts(ctx: Context, p: _Prep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cost = p.deals["cost"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = p.won_in & ~np.isnan(cost)
    keys = ctx.keys(p.d_mgr[sel], p.c_per[sel])
    return keys, p.amount[sel], cost[sel]


def _client_profitability(ctx: Context, p: _Prep) -> Result:
    keys, amt, cost = _profit_parts(ctx, p)
    return ctx.ratio_result(
        ctx.total(keys, amt - cost),
        ctx.total(keys, amt),
        "no won deals with a cost",
        n=ctx.total(keys),
    )


def _margin_per_client(ctx: Context, p: _Prep) -> Result:
    cost = p.deals["cost"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = p.won_in & ~np.isnan(cost) & (p.d_client >= 0)
    keys = ctx.keys(p.d_mgr[sel], p.c_per[sel])
    margin = ctx.total(keys, p.amount[sel] - cost[sel])
    n_clients = ctx.distinct(keys, p.d_client[sel])
    return ctx.ratio_result(margin, n_clients, "no won deals with a cost")


def _average_check(ctx: Context, p: _Prep) -> Result:
    return ctx.mean_result(
        p.won_keys, p.amount[p.won_in], "no won deals", t_interval=True, bounds=(0.0, np.inf)
    )


def _conversion_rate(ctx: Context, p: _Prep) -> Result:
    lost_in = p.lost & p.c_ok
    won = ctx.total(p.won_keys)
    lost = ctx.total(ctx.keys(p.d_mgr[lost_in], p.c_per[lost_in]))
    return ctx.ratio_result(won, won + lost, "no closed deals", wilson=True)


def _cross_sales(ctx: Context, p: _Prep) -> Result:
    prod_codes, _ = pd.factorize(p.deals["product"].astype("string"))
    sel = p.won & ~np.isnat(p.closed) & (p.d_client >= 0)
    cl = p.d_client[sel]
    closed = p.closed[sel].astype("datetime64[ns]").astype(np.int64)
    prod = prod_codes[sel].astype(np.int64)
    first_client = pd.Series(closed).groupby(cl).transform("min").to_numpy()
    has_prod = prod >= 0
    pair = cl * (int(prod.max()) + 2) + prod
    first_pair = pd.Series(closed).groupby(pair).transform("min").to_numpy()
    cross = has_prod & (closed == first_pair) & (closed > first_client)
    in_range = p.c_ok[sel]
    keys = ctx.keys(p.d_mgr[sel][in_range], p.c_per[sel][in_range])
    amt = p.amount[sel][in_range]
    num = ctx.total(keys, np.where(cross[in_range], amt, 0.0))
    den_all = ctx.total(p.won_keys, p.amount[p.won_in])
    n = ctx.total(p.won_keys)
    return ctx.ratio_result(num, den_all, "no won deals", n=n)


# ---------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------


def _survey_parts(ctx: Context, column: str) -> tuple[np.ndarray, np.ndarray]:
    s = ctx.ds["surveys"]
    per, ok = ctx.rel_codes(as_datetime(s, "surveys", "date"))
    mgr = ctx.mgr_codes(s, "surveys")
    x = s[column].to_numpy(dtype=np.float64, na_value=np.nan)
    ok &= ~np.isnan(x)
    return ctx.keys(mgr[ok], per[ok]), x[ok]


def _csi(ctx: Context, p: _Prep) -> Result:
    keys, x = _survey_parts(ctx, "csi")
    return ctx.mean_result(
        keys,
        x,
        "no survey responses with csi",
        t_interval=True,
        scale=25.0,
        shift=-1.0,
        bounds=(0.0, 100.0),
    )


def _nps(ctx: Context, p: _Prep) -> Result:
    keys, x = _survey_parts(ctx, "nps")
    n = ctx.total(keys)
    prom = ctx.total(keys, (x >= ctx.params["promoter_min"]).astype(np.float64))
    detr = ctx.total(keys, (x <= ctx.params["detractor_max"]).astype(np.float64))
    r = ctx.empty()
    ok = n > 0
    pp, pd_ = prom[ok] / n[ok], detr[ok] / n[ok]
    diff = pp - pd_
    r.value[ok] = 100 * diff
    r.n = n
    r.reason[~ok] = "no survey responses with nps"
    se = np.sqrt(np.maximum(pp + pd_ - diff**2, 0.0) / n[ok])
    z = stats.norm.ppf(0.5 + float(ctx.params["confidence"]) / 2)
    r.low[ok] = np.clip(100 * (diff - z * se), -100, 100)
    r.high[ok] = np.clip(100 * (diff + z * se), -100, 100)
    return r


def _retention_parts(ctx: Context, p: _Prep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = np.zeros(ctx.size)
    kept = np.zeros(ctx.size)
    lost = np.zeros(ctx.size)
    grp = ctx.grp[p.cl_mgr]
    for i in range(ctx.n_per):
        start, end = ctx.start[i], ctx.start[i + 1]
        at_start = p.active_at(start)
        at_end = p.active_at(end)
        churned = ~np.isnat(p.cl_churn) & (p.cl_churn >= start) & (p.cl_churn < end)
        keys = grp[at_start] * ctx.n_per + i
        base += np.bincount(keys, minlength=ctx.size)
        kept += np.bincount(grp[at_start & at_end] * ctx.n_per + i, minlength=ctx.size)
        lost += np.bincount(grp[at_start & churned] * ctx.n_per + i, minlength=ctx.size)
    return base, kept, lost


def _retention_rate(ctx: Context, p: _Prep) -> Result:
    base, kept, _ = p.retention if hasattr(p, "retention") else _cache_retention(ctx, p)
    return ctx.ratio_result(kept, base, "no clients active at the period start", wilson=True)


def _churn_rate(ctx: Context, p: _Prep) -> Result:
    base, _, lost = p.retention if hasattr(p, "retention") else _cache_retention(ctx, p)
    return ctx.ratio_result(lost, base, "no clients active at the period start", wilson=True)


def _cache_retention(ctx: Context, p: _Prep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p.retention = _retention_parts(ctx, p)  # type: ignore[attr-defined]
    return p.retention  # type: ignore[attr-defined]


def _prolongation_rate(ctx: Context, p: _Prep) -> Result:
    c = ctx.ds["contracts"]
    per, ok = ctx.rel_codes(as_datetime(c, "contracts", "end_date"))
    mgr = ctx.mgr_codes(c, "contracts")
    if "renewed" in c:
        decided = c["renewed"].notna().to_numpy(dtype=bool)
        renewed = _bool(c, "renewed")
    else:
        decided = np.zeros(len(c), dtype=bool)
        renewed = decided
    sel = ok & decided
    keys = ctx.keys(mgr[sel], per[sel])
    return ctx.ratio_result(
        ctx.total(keys, renewed[sel].astype(np.float64)),
        ctx.total(keys),
        "no contracts ending in the period with a renewal decision",
        wilson=True,
    )


def _new_clients(ctx: Context, p: _Prep) -> Result:
    sel = p.won & ~np.isnat(p.closed) & (p.d_client >= 0)
    idx = np.flatnonzero(sel)
    closed = p.closed[idx].astype("datetime64[ns]").astype(np.int64)
    cl = p.d_client[idx]
    first = pd.Series(closed).groupby(cl).transform("min").to_numpy()
    cand = idx[closed == first]
    # one deal per client: the first won deal (ties on the day broken by row order)
    _, first_pos = np.unique(p.d_client[cand], return_index=True)
    chosen = cand[first_pos]
    chosen = chosen[p.c_ok[chosen]]
    keys = ctx.keys(p.d_mgr[chosen], p.c_per[chosen])
    return ctx.count_result(ctx.total(keys))


def _contact_expansion(ctx: Context, p: _Prep) -> Result:
    contacts = ctx.ds["contacts"]
    added = as_datetime(contacts, "contacts", "added_date")
    per, ok = ctx.rel_codes(added)
    cl = p.cl_index.get_indexer(contacts["client_id"].astype("string"))
    ok &= cl >= 0
    cl_ok = cl[ok]
    acq = p.cl_acq[cl_ok]
    existing = ~np.isnat(acq) & (acq < ctx.start[per[ok]])
    mgr = p.cl_mgr[cl_ok][existing]
    in_scope = np.isin(ctx.mgr_segment, KPIS["contact_expansion"].segments)
    keep = in_scope[mgr]
    keys = ctx.keys(mgr[keep], per[ok][existing][keep])
    return ctx.count_result(ctx.total(keys))


def _referrals(ctx: Context, p: _Prep) -> Result:
    cl = p.clients
    ref = p.cl_index.get_indexer(cl["referred_by"].astype("string"))
    per, ok = ctx.rel_codes(p.cl_acq)
    ok &= ref >= 0
    idx = np.flatnonzero(ok)
    refp = ref[idx]
    ref_acq = p.cl_acq[refp]
    existing = ~np.isnat(ref_acq) & (ref_acq < p.cl_acq[idx])
    idx, refp = idx[existing], refp[existing]
    keys = ctx.keys(p.cl_mgr[refp], per[idx])
    return ctx.count_result(ctx.total(keys))


# ---------------------------------------------------------------------------------------
# Activity
# ---------------------------------------------------------------------------------------


def _activity_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = ctx.ds["activities"]
    per, ok = ctx.rel_codes(as_datetime(a, "activities", "date"))
    mgr = ctx.mgr_codes(a, "activities")
    return mgr, per, ok


def _meetings(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _activity_parts(ctx)
    types = ctx.ds["activities"]["type"].astype("string").str.lower()
    ok &= types.isin([str(t).lower() for t in ctx.params["meeting_types"]]).to_numpy(
        dtype=bool, na_value=False
    )
    return ctx.count_result(ctx.total(ctx.keys(mgr[ok], per[ok])))


def _proposal_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pr = ctx.ds["proposals"]
    per, ok = ctx.rel_codes(as_datetime(pr, "proposals", "sent_date"))
    mgr = ctx.mgr_codes(pr, "proposals")
    return mgr, per, ok


def _proposals(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _proposal_parts(ctx)
    return ctx.count_result(ctx.total(ctx.keys(mgr[ok], per[ok])))


def _proposal_conversion(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _proposal_parts(ctx)
    out = ctx.ds["proposals"]["outcome"].astype("string").to_numpy(dtype=object, na_value="")
    won, lost = out == "won", out == "lost"
    sel = ok & (won | lost)
    keys = ctx.keys(mgr[sel], per[sel])
    return ctx.ratio_result(
        ctx.total(keys, won[sel].astype(np.float64)),
        ctx.total(keys),
        "no decided proposals",
        wilson=True,
    )


def _request_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rq = ctx.ds["requests"]
    opened = as_datetime(rq, "requests", "opened_at")
    per, ok = ctx.rel_codes(opened)
    mgr = ctx.mgr_codes(rq, "requests")
    resp = as_datetime(rq, "requests", "first_response_at")
    hours = (resp - opened) / np.timedelta64(1, "h")
    return ctx.keys(mgr[ok], per[ok]), hours[ok], ok


def _response_time(ctx: Context, p: _Prep) -> Result:
    keys, hours, _ = _request_parts(ctx)
    answered = ~np.isnan(hours)
    med = ctx.median(keys[answered], hours[answered])
    n = ctx.total(keys[answered])
    r = ctx.empty()
    r.value, r.n = med, n
    r.reason[n == 0] = "no answered requests"
    return r


def _response_sla_rate(ctx: Context, p: _Prep) -> Result:
    keys, hours, _ = _request_parts(ctx)
    within = ~np.isnan(hours) & (hours <= float(ctx.params["sla_hours"]))
    return ctx.ratio_result(
        ctx.total(keys, within.astype(np.float64)), ctx.total(keys), "no requests", wilson=True
    )


def _sales_cycle_days(ctx: Context, p: _Prep) -> Result:
    created = as_datetime(p.deals, "deals", "created_date")
    days = (p.closed - created) / np.timedelta64(1, "D")
    sel = p.won_in & ~np.isnan(days)
    keys = ctx.keys(p.d_mgr[sel], p.c_per[sel])
    n = ctx.total(keys)
    r = ctx.empty()
    r.value, r.n = ctx.median(keys, days[sel]), n
    r.reason[n == 0] = "no won deals with a created date"
    return r


def _contact_frequency(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _activity_parts(ctx)
    touches = ctx.total(ctx.keys(mgr[ok], per[ok]))
    active = np.zeros(ctx.size)
    grp = ctx.grp[p.cl_mgr]
    acq, churn, react = p.cl_acq, p.cl_churn, p.cl_react
    for i in range(ctx.n_per):
        start, end = ctx.start[i], ctx.start[i + 1]
        during = (
            ~np.isnat(acq)
            & (acq < end)
            & (np.isnat(churn) | (churn >= start) | (~np.isnat(react) & (react < end)))
        )
        active += np.bincount(grp[during] * ctx.n_per + i, minlength=ctx.size)
    return ctx.ratio_result(touches, active * ctx.k, "no active clients", n=active)


def _average_discount(ctx: Context, p: _Prep) -> Result:
    disc = p.deals["discount"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = p.won_in & ~np.isnan(disc)
    keys = ctx.keys(p.d_mgr[sel], p.c_per[sel])
    return ctx.mean_result(
        keys, disc[sel], "no won deals with a discount", t_interval=True, bounds=(0.0, 1.0)
    )


# ---------------------------------------------------------------------------------------
# Project
# ---------------------------------------------------------------------------------------


def _project_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    pj = ctx.ds["projects"]
    end = as_datetime(pj, "projects", "actual_end")
    per, ok = ctx.rel_codes(end)
    mgr = ctx.mgr_codes(pj, "projects")
    return pj, mgr, per, ok


def _on_time_rate(ctx: Context, p: _Prep) -> Result:
    pj, mgr, per, ok = _project_parts(ctx)
    actual = as_datetime(pj, "projects", "actual_end")
    planned = as_datetime(pj, "projects", "planned_end")
    sel = ok & ~np.isnat(planned)
    keys = ctx.keys(mgr[sel], per[sel])
    on_time = (actual[sel] <= planned[sel]).astype(np.float64)
    return ctx.ratio_result(
        ctx.total(keys, on_time),
        ctx.total(keys),
        "no finished projects with a planned end",
        wilson=True,
    )


def _budget_adherence(ctx: Context, p: _Prep) -> Result:
    pj, mgr, per, ok = _project_parts(ctx)
    budget = pj["budget"].to_numpy(dtype=np.float64, na_value=np.nan)
    cost = pj["actual_cost"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = ok & ~np.isnan(budget) & ~np.isnan(cost)
    keys = ctx.keys(mgr[sel], per[sel])
    within = cost[sel] <= budget[sel] * (1 + float(ctx.params["budget_tolerance"]))
    return ctx.ratio_result(
        ctx.total(keys, within.astype(np.float64)),
        ctx.total(keys),
        "no finished projects with budget and cost",
        wilson=True,
    )


def _implementation_quality(ctx: Context, p: _Prep) -> Result:
    pj, mgr, per, ok = _project_parts(ctx)
    q = pj["quality"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = ok & ~np.isnan(q)
    return ctx.mean_result(
        ctx.keys(mgr[sel], per[sel]),
        q[sel],
        "no finished projects with a quality rating",
        t_interval=True,
        bounds=(1.0, 5.0),
    )


# ---------------------------------------------------------------------------------------
# Internal and professional
# ---------------------------------------------------------------------------------------


def _report_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    ir = ctx.ds["internal_reports"]
    per, ok = ctx.rel_codes(as_datetime(ir, "internal_reports", "due_date"))
    return ir, ctx.mgr_codes(ir, "internal_reports"), per, ok


def _reporting_timeliness(ctx: Context, p: _Prep) -> Result:
    ir, mgr, per, ok = _report_parts(ctx)
    due = as_datetime(ir, "internal_reports", "due_date")
    if "submitted_date" in ir:
        sub = as_datetime(ir, "internal_reports", "submitted_date")
        timely = ~np.isnat(sub) & (sub <= due)
    else:
        timely = np.zeros(len(ir), dtype=bool)
    keys = ctx.keys(mgr[ok], per[ok])
    return ctx.ratio_result(
        ctx.total(keys, timely[ok].astype(np.float64)),
        ctx.total(keys),
        "no reports due",
        wilson=True,
    )


def _reporting_quality(ctx: Context, p: _Prep) -> Result:
    ir, mgr, per, ok = _report_parts(ctx)
    q = ir["quality"].to_numpy(dtype=np.float64, na_value=np.nan)
    sel = ok & ~np.isnan(q)
    return ctx.mean_result(
        ctx.keys(mgr[sel], per[sel]),
        q[sel],
        "no rated reports due",
        t_interval=True,
        bounds=(1.0, 5.0),
    )


def _compliance_violations(ctx: Context, p: _Prep) -> Result:
    c = ctx.ds["compliance"]
    per, ok = ctx.rel_codes(as_datetime(c, "compliance", "date"))
    mgr = ctx.mgr_codes(c, "compliance")
    keys = ctx.keys(mgr[ok], per[ok])
    viol = _bool(c, "violation")[ok].astype(np.float64)
    return ctx.count_result(ctx.total(keys, viol), n=ctx.total(keys))


def _idea_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    ideas = ctx.ds["product_ideas"]
    per, ok = ctx.rel_codes(as_datetime(ideas, "product_ideas", "date"))
    mgr = ctx.mgr_codes(ideas, "product_ideas")
    return ideas, ctx.keys(mgr[ok], per[ok]), ok


def _product_contribution(ctx: Context, p: _Prep) -> Result:
    _, keys, _ = _idea_parts(ctx)
    return ctx.count_result(ctx.total(keys))


def _product_ideas_accepted(ctx: Context, p: _Prep) -> Result:
    ideas, keys, ok = _idea_parts(ctx)
    acc = _bool(ideas, "accepted")[ok].astype(np.float64)
    return ctx.count_result(ctx.total(keys, acc), n=ctx.total(keys))


def _completed_trainings(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    tr = ctx.ds["trainings"]
    date = as_datetime(tr, "trainings", "date")
    done = _bool(tr, "completed") if "completed" in tr else np.ones(len(tr), dtype=bool)
    mgr = ctx.mgr_codes(tr, "trainings")
    return tr, date, done, mgr


def _skills_mastered(ctx: Context, p: _Prep) -> Result:
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


def _training_hours(ctx: Context, p: _Prep) -> Result:
    tr, date, done, mgr = _completed_trainings(ctx)
    hours = tr["hours"].to_numpy(dtype=np.float64, na_value=np.nan)
    per, ok = ctx.rel_codes(date)
    sel = ok & done & ~np.isnan(hours)
    keys = ctx.keys(mgr[sel], per[sel])
    return ctx.count_result(ctx.total(keys, hours[sel]), n=ctx.total(keys))


_FUNCS: dict[str, Callable[[Context, _Prep], Result]] = {
    "sales_volume": _sales_volume,
    "revenue_growth_existing": _revenue_growth_existing,
    "client_profitability": _client_profitability,
    "margin_per_client": _margin_per_client,
    "average_check": _average_check,
    "conversion_rate": _conversion_rate,
    "cross_sales": _cross_sales,
    "csi": _csi,
    "nps": _nps,
    "retention_rate": _retention_rate,
    "prolongation_rate": _prolongation_rate,
    "churn_rate": _churn_rate,
    "new_clients": _new_clients,
    "contact_expansion": _contact_expansion,
    "referrals": _referrals,
    "meetings": _meetings,
    "proposals": _proposals,
    "proposal_conversion": _proposal_conversion,
    "response_time": _response_time,
    "response_sla_rate": _response_sla_rate,
    "sales_cycle_days": _sales_cycle_days,
    "contact_frequency": _contact_frequency,
    "average_discount": _average_discount,
    "on_time_rate": _on_time_rate,
    "budget_adherence": _budget_adherence,
    "implementation_quality": _implementation_quality,
    "reporting_timeliness": _reporting_timeliness,
    "reporting_quality": _reporting_quality,
    "compliance_violations": _compliance_violations,
    "product_contribution": _product_contribution,
    "product_ideas_accepted": _product_ideas_accepted,
    "skills_mastered": _skills_mastered,
    "training_hours": _training_hours,
}

if list(_FUNCS) != list(KPIS):  # pragma: no cover - registry and engine must agree
    raise RuntimeError("KPI registry and compute functions disagree")


def compute(
    dataset: Dataset,
    freq: str = "Q",
    periods: Sequence[str | pd.Period] | str | None = None,
    *,
    fiscal_year_start: int = 1,
    level: str = "manager",
    params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Compute every KPI of the registry for all managers (or a roll-up) x periods.

    Parameters
    ----------
    dataset : the typed CRM tables (``managers``, ``clients`` and ``deals`` required).
    freq : ``"M"``, ``"Q"`` or ``"Y"``.
    periods : labels or Periods to report; ``None`` = every period the data covers
        (capped at ``dataset.meta["period_end"]`` when present).
    fiscal_year_start : first month of the fiscal year (quarters and years shift with it).
    level : ``"manager"``, ``"team"``, ``"segment"`` or ``"company"``. Roll-ups pool the
        underlying events (numerators and denominators are summed, medians taken over
        all pooled values) — never an average of manager ratios.
    params : overrides of ``params/kpi.yaml`` (sla_hours, budget_tolerance, comparison,
        nps_min_responses, meeting_types, promoter_min, detractor_max, confidence, min_samples).

    Returns
    -------
    DataFrame with one row per group x period x KPI (catalogue order): the group column
    (``manager_id``/``team``/``segment``/``company``), period (label), kpi, value (float),
    n (Int64 sample size), low, high (interval or NaN), status ("ok",
    "insufficient_data", "not_available") and reason (text or NA).

    Example
    -------
    >>> from amtools.datasets import make_demo  # doctest: +SKIP
    >>> k = compute(make_demo(n_managers=5), freq="Q")  # doctest: +SKIP
    >>> k.query("kpi == 'conversion_rate'").head()  # doctest: +SKIP
    """
    prm = kpi_params(params)
    ctx = Context(dataset, freq, periods, fiscal_year_start, level, prm)
    prep = _Prep(ctx)
    results: dict[str, Result] = {}
    for kpi_id, func in _FUNCS.items():
        reason = _needs(ctx, kpi_id, prep)
        if reason is not None:
            results[kpi_id] = ctx.empty(reason)
            continue
        res = func(ctx, prep)
        kpi = KPIS[kpi_id]
        if set(kpi.segments) != {"B2B", "B2C"}:
            in_scope = np.isin(ctx.mgr_segment, kpi.segments)
            outside = ~ctx.group_has(in_scope)
            res.reason[outside] = f"applies to {'/'.join(kpi.segments)} managers only"
        results[kpi_id] = res
    min_samples = {k: int(v.min_sample) for k, v in KPIS.items()}
    min_samples["nps"] = int(prm["nps_min_responses"])
    min_samples.update({k: int(v) for k, v in prm["min_samples"].items()})
    return assemble(ctx, results, min_samples)
