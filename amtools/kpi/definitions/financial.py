"""Financial KPIs (registry group ``financial``): sales, growth, profitability, conversion, cross-sales."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.kpi.engine import Context, Result
from amtools.kpi.prep import NAT_I, KpiFunction, Prep, min_at
from amtools.kpi.reasons import reason_code

__all__ = ["FUNCS"]


def _sales_volume(ctx: Context, p: Prep) -> Result:
    keys = p.won_keys
    return ctx.count_result(ctx.total(keys, p.won_amt), n=ctx.total(keys))


def _revenue_growth_existing(ctx: Context, p: Prep) -> Result:
    lag = {"M": 12, "Q": 4, "Y": 1}[ctx.freq] if ctx.settings.comparison == "year_ago" else 1
    sel = p.w_cl >= 0
    cl = p.w_cl[sel]
    per = p.w_per[sel]  # relative code: -1 before the range, n_per after it
    amt = p.w_amt[sel]
    acq = p.cl_acq.view(np.int64)[cl]
    grp = ctx.grp[p.cl_mgr[cl]]
    n_per = ctx.n_per
    starts = ctx.start.view(np.int64)  # start[i] for i in 0..n_per
    known = acq != NAT_I
    # current period: deals in period q from clients acquired before q's start
    cur_ok = known & (per >= 0) & (per < n_per)
    cur_ok[cur_ok] &= acq[cur_ok] < starts[per[cur_ok]]
    cur = np.bincount(grp[cur_ok] * n_per + per[cur_ok], weights=amt[cur_ok], minlength=ctx.size)
    # comparison: deals in period q count for period q + lag when the client was acquired
    # before the start of q + lag (the "existing clients" of that later period)
    tgt = per + lag
    cmp_ok = known & (per >= 0) & (tgt < n_per)
    cmp_ok[cmp_ok] &= acq[cmp_ok] < starts[tgt[cmp_ok]]
    cmp_keys = grp[cmp_ok] * n_per + tgt[cmp_ok]
    base = np.bincount(cmp_keys, weights=amt[cmp_ok], minlength=ctx.size)
    n_clients = ctx.distinct(cmp_keys, cl[cmp_ok], len(p.cl_index))
    r = ctx.empty()
    ok = base > 0
    r.value[ok] = cur[ok] / base[ok] - 1
    r.n = n_clients
    labels = np.array(ctx.labels, dtype=object)
    period_idx = np.tile(np.arange(n_per), ctx.n_grp)
    before = period_idx - lag < 0
    cmp_label = np.where(before, "", labels[np.maximum(period_idx - lag, 0)])
    r.reason[~ok & before] = "comparison_before_data"
    rest = ~ok & ~before
    r.reason[rest] = [reason_code("no_existing_revenue", period=c) for c in cmp_label[rest]]
    return r


def _profit_parts(p: Prep) -> tuple[np.ndarray, np.ndarray]:
    """Positions (within the won arrays) of in-range won deals with a cost, and the costs."""
    cost = p.won_column("cost")
    sel = np.flatnonzero(p.w_ok & ~np.isnan(cost))
    return sel, cost[sel]


def _client_profitability(ctx: Context, p: Prep) -> Result:
    sel, cost = _profit_parts(p)
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    amt = p.w_amt[sel]
    return ctx.ratio_result(
        ctx.total(keys, amt - cost),
        ctx.total(keys, amt),
        "no_won_deals_with_cost",
        n=ctx.total(keys),
    )


def _margin_per_client(ctx: Context, p: Prep) -> Result:
    sel, cost = _profit_parts(p)
    has_client = p.w_client[sel] >= 0
    sel, cost = sel[has_client], cost[has_client]
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    margin = ctx.total(keys, p.w_amt[sel] - cost)
    n_clients = ctx.distinct(keys, p.w_client[sel], p.n_dc)
    return ctx.ratio_result(margin, n_clients, "no_won_deals_with_cost")


def _average_check(ctx: Context, p: Prep) -> Result:
    return ctx.mean_result(
        p.won_keys, p.won_amt, "no_won_deals", t_interval=True, bounds=(0.0, np.inf)
    )


def _conversion_rate(ctx: Context, p: Prep) -> Result:
    won = ctx.total(p.won_keys)
    lost = ctx.total(p.lost_keys)
    return ctx.ratio_result(won, won + lost, "no_closed_deals", wilson=True)


def _cross_sales(ctx: Context, p: Prep) -> Result:
    has_client = np.flatnonzero(p.w_client >= 0)
    prod_codes, prods = pd.factorize(p.deals["product"].take(p.w[has_client]))
    cl = p.w_client[has_client]
    closed = p.w_closed[has_client]
    prod = prod_codes.astype(np.int64, copy=False)
    width = len(prods) + 1
    if p.n_dc * width <= 5e7:
        pair = cl * width + (prod + 1)
        n_pairs = p.n_dc * width
    else:  # very many clients x products: factorise the pairs instead
        pair, uniq_pairs = pd.factorize(cl * width + (prod + 1))
        n_pairs = len(uniq_pairs)
    first_pair = min_at(n_pairs, pair, closed)[pair]
    # a cross-sale: the client's first purchase of this product, after an earlier purchase
    cross = (prod >= 0) & (closed == first_pair) & (closed > p.first_won_dc[cl])
    in_range = p.w_ok[has_client]
    keys = ctx.keys(p.w_mgr[has_client][in_range], p.w_per[has_client][in_range])
    amt = p.w_amt[has_client][in_range]
    num = ctx.total(keys, np.where(cross[in_range], amt, 0.0))
    den_all = ctx.total(p.won_keys, p.won_amt)
    return ctx.ratio_result(num, den_all, "no_won_deals", n=ctx.total(p.won_keys))


FUNCS: dict[str, KpiFunction] = {
    "sales_volume": _sales_volume,
    "revenue_growth_existing": _revenue_growth_existing,
    "client_profitability": _client_profitability,
    "margin_per_client": _margin_per_client,
    "average_check": _average_check,
    "conversion_rate": _conversion_rate,
    "cross_sales": _cross_sales,
}
"""KPI id -> its definition (:mod:`amtools.kpi.computation` runs them in registry order)."""
