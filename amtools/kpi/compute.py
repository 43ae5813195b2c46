"""Compute every KPI of the registry for all managers (or teams, segments, the company) x periods at once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.settings import read_params
from amtools.kpi.engine import Context, Result, assemble, codes_in
from amtools.kpi.reasons import REASONS, parse_reason, reason_code, reason_text
from amtools.kpi.registry import KPIS

__all__ = [
    "compute",
    "compute_levels",
    "DEFAULT_PARAMS",
    "kpi_params",
    "REASONS",
    "reason_text",
    "parse_reason",
]

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
    "churn_inactive_months": None,
    "history_growth": 0.05,
}
"""Built-in defaults; ``params/policy/kpi.yaml`` and the ``params`` argument override them."""

_COMPARISONS = ("year_ago", "previous")
_PARALLEL_MIN_ROWS = 200_000


def kpi_params(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge built-in defaults, ``params/policy/kpi.yaml`` and ``params`` (user overrides win).

    Example
    -------
    >>> kpi_params({"sla_hours": 8})["sla_hours"]
    8
    """
    merged = {**DEFAULT_PARAMS, "min_samples": {}}
    try:
        from_file = read_params("policy/kpi")
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
    months = merged["churn_inactive_months"]
    if months is not None and (
        isinstance(months, bool)
        or not isinstance(months, int | float)
        or months < 1
        or int(months) != months
    ):
        raise ParameterError(
            f"churn_inactive_months must be empty (no inferred churn) or a whole number of "
            f"months >= 1, got {months!r}"
        )
    growth = merged["history_growth"]
    if isinstance(growth, bool) or not isinstance(growth, int | float) or not -1 < growth < 10:
        raise ParameterError(f"history_growth must be a number in (-1, 10), got {growth!r}")
    if not 0 < float(merged["confidence"]) < 1:
        raise ParameterError(f"confidence must be in (0, 1), got {merged['confidence']!r}")
    return merged


# ---------------------------------------------------------------------------------------
# Shared preparation
# ---------------------------------------------------------------------------------------


_BIG = np.iinfo(np.int64).max
_NAT_I = np.iinfo(np.int64).min


def _min_at(size: int, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Minimum of ``values`` per dense code ``index`` (``_BIG`` where none), via ufunc.at."""
    out = np.full(size, _BIG, dtype=np.int64)
    np.minimum.at(out, index, values)
    return out


def _floats(df: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64 with NaN for missing (a view when it already is)."""
    col = df[column]
    if col.dtype == np.float64:
        return col.to_numpy()
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def _arrow_backed(values: pd.Series) -> bool:
    """Arrow-backed text: hashing it releases the GIL, so a second thread pays off.

    Python-object strings hold the GIL while hashed; threads would only contend.
    """
    dtype = values.dtype
    return getattr(dtype, "storage", None) == "pyarrow" or isinstance(dtype, pd.ArrowDtype)


def _has_values(df: pd.DataFrame | None, column: str) -> bool:
    return df is not None and column in df and bool(df[column].notna().any())


def _equals(values: pd.Series, text: str) -> np.ndarray:
    """Vectorised ``values == text`` as a numpy bool array (missing -> False)."""
    return (values == text).to_numpy(dtype=bool, na_value=False)


def _bool(df: pd.DataFrame, column: str) -> np.ndarray:
    """A nullable boolean column as a numpy bool array (missing -> False)."""
    return df[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


class _Prep:
    """Arrays shared by several KPIs, computed once per call.

    Most deal KPIs read only won deals with a close date, so their columns are extracted
    once into compact ``w_*`` arrays (one pass over the deals table per column).
    """

    lapse_months: int | None

    def __init__(self, ctx: Context, pool: ThreadPoolExecutor | None = None) -> None:
        self.ctx = ctx
        ds = ctx.ds
        deals = ds["deals"]
        self.deals = deals
        # hashing the manager ids is the costliest step: start it first (the hash runs in
        # Arrow/C and releases the GIL, so a second thread does the rest meanwhile)
        f_mgr = pool.submit(ctx.mgr_codes, deals, "deals") if pool is not None else None
        won = _equals(deals["stage"], "won")
        lost = _equals(deals["stage"], "lost")
        if "closed_date" in deals:
            closed = ctx.dates("deals", "closed_date")
            c_per, c_ok = ctx.periods_of("deals", "closed_date")
        else:
            closed = np.full(len(deals), np.datetime64("NaT"), dtype="datetime64[ns]")
            c_per, c_ok = ctx.rel_codes(closed)
        closed_ns = closed.view(np.int64)
        # won deals with a close date (in or out of the reporting range)
        w = np.flatnonzero(won & (closed_ns != _NAT_I))
        self.w = w
        # client codes of the won deals (independent of the clients table); factorising
        # only the won rows halves the cost of hashing the ids
        codes, uniq = pd.factorize(deals["client_id"].take(w))
        self.n_dc = len(uniq)
        self.w_client = codes.astype(np.int64, copy=False)  # -1 where the client is empty
        d_mgr = f_mgr.result() if f_mgr is not None else ctx.mgr_codes(deals, "deals")
        self.w_mgr = d_mgr[w]
        self.w_closed = closed_ns[w]
        self.w_per = c_per[w]
        self.w_ok = c_ok[w]
        self.w_amt = _floats(deals, "amount")[w]
        self.won_amt = self.w_amt[self.w_ok]
        lost_in = np.flatnonzero(lost & c_ok)
        self.lost_mgr, self.lost_per = d_mgr[lost_in], c_per[lost_in]
        self.rekey()
        # first won close per deal client, as int64 ns (_BIG where none)
        has_client = self.w_client >= 0
        self.first_won_dc = _min_at(self.n_dc, self.w_client[has_client], self.w_closed[has_client])

        clients = ds.get("clients")
        self.clients = clients
        self.lapse_months = None
        if clients is not None:
            self.cl_index = pd.Index(clients["client_id"].astype("string"))
            self.cl_mgr = ctx.mgr_codes(clients, "clients")
            n_cl = len(clients)
            # deal client codes -> clients-table positions (-1 when not in the clients table)
            pos_of_code = (
                self.cl_index.get_indexer(pd.Index(uniq).astype("string")).astype(np.int64)
                if len(uniq)
                else np.zeros(0, dtype=np.int64)
            )
            self.w_cl = np.append(pos_of_code, -1)[self.w_client]
            acq = (
                ctx.dates("clients", "acquired_date")
                if "acquired_date" in clients
                else np.full(n_cl, np.datetime64("NaT"), dtype="datetime64[ns]")
            )
            first_won = np.full(n_cl, _BIG, dtype=np.int64)
            known = pos_of_code >= 0
            np.minimum.at(first_won, pos_of_code[known], self.first_won_dc[known])
            first_won_dt = np.where(first_won == _BIG, _NAT_I, first_won).view("datetime64[ns]")
            self.cl_acq = np.where(np.isnat(acq), first_won_dt, acq)
            self.cl_churn = (
                ctx.dates("clients", "churned_date")
                if "churned_date" in clients
                else np.full(n_cl, np.datetime64("NaT"), dtype="datetime64[ns]")
            )
            self.cl_react = self._reactivation(n_cl)
            self.lapse_months = (
                int(ctx.params["churn_inactive_months"]) if inferred_churn(ctx) else None
            )
            if self.lapse_months is not None:
                # events that show a client is a client: won deals and the acquisition date
                sel = self.w_cl >= 0
                acq_ns = self.cl_acq.view(np.int64)
                has_acq = np.flatnonzero(acq_ns != _NAT_I)
                self.ev_cl = np.concatenate([self.w_cl[sel], has_acq])
                self.ev_t = np.concatenate([self.w_closed[sel], acq_ns[has_acq]])

    def rekey(self) -> None:
        """(Re)compute the group x period cells after ``ctx.set_level``."""
        ctx = self.ctx
        self.won_keys = ctx.keys(self.w_mgr[self.w_ok], self.w_per[self.w_ok])
        self.lost_keys = ctx.keys(self.lost_mgr, self.lost_per)
        self.__dict__.pop("retention", None)

    def won_column(self, column: str) -> np.ndarray:
        """A float column of the deals table restricted to the won, dated deals."""
        return _floats(self.deals, column)[self.w]

    def _reactivation(self, n_cl: int) -> np.ndarray:
        """First won deal strictly after the client's churn date (a win-back), else NaT."""
        sel = self.w_cl >= 0
        cl = self.w_cl[sel]
        closed = self.w_closed[sel]
        churn = self.cl_churn.view(np.int64)[cl]
        after = (churn != _NAT_I) & (closed > churn)
        first = _min_at(n_cl, cl[after], closed[after])
        return np.where(first == _BIG, _NAT_I, first).view("datetime64[ns]")

    def last_event_before(self, t: np.datetime64) -> np.ndarray:
        """Per client: the last won deal or acquisition strictly before ``t`` (int64 ns, NaT-min)."""
        out = np.full(len(self.cl_acq), _NAT_I, dtype=np.int64)
        tn = np.asarray(t).astype("datetime64[ns]").astype(np.int64)
        m = self.ev_t < tn
        np.maximum.at(out, self.ev_cl[m], self.ev_t[m])
        return out

    def months_before(self, t: np.datetime64) -> np.int64:
        """``t`` minus ``lapse_months`` months (t is a month start), as int64 ns."""
        months = np.asarray(t).astype("datetime64[M]") - np.timedelta64(
            int(self.lapse_months or 0), "M"
        )
        return np.int64(months.astype("datetime64[ns]").astype(np.int64))

    def active_at(self, t: np.datetime64) -> np.ndarray:
        """Clients active at instant ``t`` (acquired before it, not churned or won back since).

        With the inferred rule (no churn dates, ``churn_inactive_months`` = N): a client is
        active at ``t`` when it won a deal (or was acquired) in the N months before ``t``.
        """
        if self.lapse_months is not None:
            return self.last_event_before(t) >= self.months_before(t)
        acq, churn, react = self.cl_acq, self.cl_churn, self.cl_react
        acquired = ~np.isnat(acq) & (acq < t)
        not_lost = np.isnat(churn) | (churn >= t) | (~np.isnat(react) & (react < t))
        return acquired & not_lost


_CHURN = "clients.churned_date"
_INFERRED_CHURN = ("retention_rate", "churn_rate", "contact_frequency")
"""KPIs that rest on who is still a client: with no ``clients.churned_date`` they use the
inferred rule when ``churn_inactive_months`` is set (then they also need deal close dates)."""


def _has(ctx: Context, tc: str) -> bool:
    key = f"has:{tc}"
    if key not in ctx.cache:
        table, col = tc.split(".")
        ctx.cache[key] = _has_values(ctx.ds.get(table), col)
    return bool(ctx.cache[key])


def inferred_churn(ctx: Context) -> bool:
    """The inferred churn rule is in use: no churn dates and ``churn_inactive_months`` set."""
    return ctx.params.get("churn_inactive_months") is not None and not _has(ctx, _CHURN)


def _needs(ctx: Context, kpi_id: str, prep: _Prep) -> str | None:
    """Reason code the KPI cannot be computed at all (a missing table, column or group).

    A column counts as present when it exists and has at least one value: an empty column
    says nothing (an export that maps ``churned_date`` but never fills it cannot tell
    "nobody left" from "not recorded").
    """
    kpi = KPIS[kpi_id]
    for t in kpi.tables:
        if t not in ctx.ds:
            return reason_code("needs_table", table=t)
    columns = list(kpi.columns)
    if kpi_id in _INFERRED_CHURN and inferred_churn(ctx):
        columns = [c for c in columns if c != _CHURN] + ["deals.closed_date"]
    for tc in columns:
        if not _has(ctx, tc):
            return reason_code("needs_column", column=tc)
    for group in kpi.needs_any:
        if not any(_has(ctx, tc) for tc in group):
            return reason_code("needs_any_column", columns=list(group))
    if kpi_id in _NEEDS_LOST and not _has_lost(ctx):
        # an export of orders (won deals only) would show a 100 % win rate for everyone
        return reason_code("needs_lost_deals")
    return None


_NEEDS_LOST = frozenset({"conversion_rate"})
"""KPIs that compare won with lost deals: meaningless when the source records no lost deal."""


def _has_lost(ctx: Context) -> bool:
    key = "has:lost_deals"
    if key not in ctx.cache:
        deals = ctx.ds.get("deals")
        ctx.cache[key] = deals is not None and bool(_equals(deals["stage"], "lost").any())
    return bool(ctx.cache[key])


# ---------------------------------------------------------------------------------------
# Financial
# ---------------------------------------------------------------------------------------


def _sales_volume(ctx: Context, p: _Prep) -> Result:
    keys = p.won_keys
    return ctx.count_result(ctx.total(keys, p.won_amt), n=ctx.total(keys))


def _revenue_growth_existing(ctx: Context, p: _Prep) -> Result:
    lag = {"M": 12, "Q": 4, "Y": 1}[ctx.freq] if ctx.params["comparison"] == "year_ago" else 1
    sel = p.w_cl >= 0
    cl = p.w_cl[sel]
    per = p.w_per[sel]  # relative code: -1 before the range, n_per after it
    amt = p.w_amt[sel]
    acq = p.cl_acq.view(np.int64)[cl]
    grp = ctx.grp[p.cl_mgr[cl]]
    n_per = ctx.n_per
    starts = ctx.start.view(np.int64)  # start[i] for i in 0..n_per
    known = acq != _NAT_I
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


def _profit_parts(p: _Prep) -> tuple[np.ndarray, np.ndarray]:
    """Positions (within the won arrays) of in-range won deals with a cost, and the costs."""
    cost = p.won_column("cost")
    sel = np.flatnonzero(p.w_ok & ~np.isnan(cost))
    return sel, cost[sel]


def _client_profitability(ctx: Context, p: _Prep) -> Result:
    sel, cost = _profit_parts(p)
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    amt = p.w_amt[sel]
    return ctx.ratio_result(
        ctx.total(keys, amt - cost),
        ctx.total(keys, amt),
        "no_won_deals_with_cost",
        n=ctx.total(keys),
    )


def _margin_per_client(ctx: Context, p: _Prep) -> Result:
    sel, cost = _profit_parts(p)
    has_client = p.w_client[sel] >= 0
    sel, cost = sel[has_client], cost[has_client]
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    margin = ctx.total(keys, p.w_amt[sel] - cost)
    n_clients = ctx.distinct(keys, p.w_client[sel], p.n_dc)
    return ctx.ratio_result(margin, n_clients, "no_won_deals_with_cost")


def _average_check(ctx: Context, p: _Prep) -> Result:
    return ctx.mean_result(
        p.won_keys, p.won_amt, "no_won_deals", t_interval=True, bounds=(0.0, np.inf)
    )


def _conversion_rate(ctx: Context, p: _Prep) -> Result:
    won = ctx.total(p.won_keys)
    lost = ctx.total(p.lost_keys)
    return ctx.ratio_result(won, won + lost, "no_closed_deals", wilson=True)


def _cross_sales(ctx: Context, p: _Prep) -> Result:
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
    first_pair = _min_at(n_pairs, pair, closed)[pair]
    # a cross-sale: the client's first purchase of this product, after an earlier purchase
    cross = (prod >= 0) & (closed == first_pair) & (closed > p.first_won_dc[cl])
    in_range = p.w_ok[has_client]
    keys = ctx.keys(p.w_mgr[has_client][in_range], p.w_per[has_client][in_range])
    amt = p.w_amt[has_client][in_range]
    num = ctx.total(keys, np.where(cross[in_range], amt, 0.0))
    den_all = ctx.total(p.won_keys, p.won_amt)
    return ctx.ratio_result(num, den_all, "no_won_deals", n=ctx.total(p.won_keys))


# ---------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------


def _survey_parts(ctx: Context, column: str) -> tuple[np.ndarray, np.ndarray]:
    s = ctx.ds["surveys"]
    per, ok = ctx.periods_of("surveys", "date")
    mgr = ctx.mgr_codes(s, "surveys")
    x = _floats(s, column)
    ok &= ~np.isnan(x)
    return ctx.keys(mgr[ok], per[ok]), x[ok]


def _csi(ctx: Context, p: _Prep) -> Result:
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
    r.reason[~ok] = "no_nps_responses"
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
        if p.lapse_months is not None:  # inferred: lost = lapsed during the period
            churned = at_start & ~at_end
        else:
            churned = ~np.isnat(p.cl_churn) & (p.cl_churn >= start) & (p.cl_churn < end)
        keys = grp[at_start] * ctx.n_per + i
        base += np.bincount(keys, minlength=ctx.size)
        kept += np.bincount(grp[at_start & at_end] * ctx.n_per + i, minlength=ctx.size)
        lost += np.bincount(grp[at_start & churned] * ctx.n_per + i, minlength=ctx.size)
    return base, kept, lost


def _retention_rate(ctx: Context, p: _Prep) -> Result:
    base, kept, _ = p.retention if hasattr(p, "retention") else _cache_retention(ctx, p)
    return ctx.ratio_result(kept, base, "no_clients_at_start", wilson=True)


def _churn_rate(ctx: Context, p: _Prep) -> Result:
    base, _, lost = p.retention if hasattr(p, "retention") else _cache_retention(ctx, p)
    return ctx.ratio_result(lost, base, "no_clients_at_start", wilson=True)


def _cache_retention(ctx: Context, p: _Prep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p.retention = _retention_parts(ctx, p)  # type: ignore[attr-defined]
    return p.retention  # type: ignore[attr-defined]


def _prolongation_rate(ctx: Context, p: _Prep) -> Result:
    c = ctx.ds["contracts"]
    per, ok = ctx.periods_of("contracts", "end_date")
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
        "no_decided_contracts",
        wilson=True,
    )


def _new_clients(ctx: Context, p: _Prep) -> Result:
    idx = np.flatnonzero(p.w_client >= 0)
    cl = p.w_client[idx]
    cand = p.w_closed[idx] == p.first_won_dc[cl]
    # one deal per client: its first won deal (ties on the day: the first row)
    first_row = _min_at(p.n_dc, cl[cand], idx[cand])
    chosen = first_row[first_row != _BIG]
    chosen = chosen[p.w_ok[chosen]]
    keys = ctx.keys(p.w_mgr[chosen], p.w_per[chosen])
    return ctx.count_result(ctx.total(keys))


def _contact_expansion(ctx: Context, p: _Prep) -> Result:
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


def _referrals(ctx: Context, p: _Prep) -> Result:
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


# ---------------------------------------------------------------------------------------
# Activity
# ---------------------------------------------------------------------------------------


def _activity_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = ctx.ds["activities"]
    per, ok = ctx.periods_of("activities", "date")
    mgr = ctx.mgr_codes(a, "activities")
    return mgr, per, ok


def _meetings(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _activity_parts(ctx)
    types = ctx.ds["activities"]["type"]
    wanted = [str(t) for t in ctx.params["meeting_types"]]
    ok &= types.isin(wanted).to_numpy(dtype=bool, na_value=False)
    return ctx.count_result(ctx.total(ctx.keys(mgr[ok], per[ok])))


def _proposal_parts(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pr = ctx.ds["proposals"]
    per, ok = ctx.periods_of("proposals", "sent_date")
    mgr = ctx.mgr_codes(pr, "proposals")
    return mgr, per, ok


def _proposals(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _proposal_parts(ctx)
    return ctx.count_result(ctx.total(ctx.keys(mgr[ok], per[ok])))


def _proposal_conversion(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _proposal_parts(ctx)
    outcome = ctx.ds["proposals"]["outcome"]
    won, lost = _equals(outcome, "won"), _equals(outcome, "lost")
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


def _response_time(ctx: Context, p: _Prep) -> Result:
    keys, hours, _ = _request_parts(ctx)
    answered = ~np.isnan(hours)
    med = ctx.median(keys[answered], hours[answered])
    n = ctx.total(keys[answered])
    r = ctx.empty()
    r.value, r.n = med, n
    r.reason[n == 0] = "no_answered_requests"
    return r


def _response_sla_rate(ctx: Context, p: _Prep) -> Result:
    keys, hours, _ = _request_parts(ctx)
    within = ~np.isnan(hours) & (hours <= float(ctx.params["sla_hours"]))
    return ctx.ratio_result(
        ctx.total(keys, within.astype(np.float64)),
        ctx.total(keys),
        "no_requests",
        wilson=True,
    )


def _sales_cycle_days(ctx: Context, p: _Prep) -> Result:
    created = ctx.dates("deals", "created_date").view(np.int64)[p.w]
    sel = np.flatnonzero(p.w_ok & (created != _NAT_I))
    days = (p.w_closed[sel] - created[sel]) / (86400 * 10**9)
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    n = ctx.total(keys)
    r = ctx.empty()
    r.value, r.n = ctx.median(keys, days), n
    r.reason[n == 0] = "no_won_deals_with_created_date"
    return r


def _contact_frequency(ctx: Context, p: _Prep) -> Result:
    mgr, per, ok = _activity_parts(ctx)
    touches = ctx.total(ctx.keys(mgr[ok], per[ok]))
    active = np.zeros(ctx.size)
    grp = ctx.grp[p.cl_mgr]
    acq, churn, react = p.cl_acq, p.cl_churn, p.cl_react
    for i in range(ctx.n_per):
        start, end = ctx.start[i], ctx.start[i + 1]
        if p.lapse_months is not None:  # inferred: a won deal or acquisition N months back
            during = p.last_event_before(end) >= p.months_before(start)
        else:
            during = (
                ~np.isnat(acq)
                & (acq < end)
                & (np.isnat(churn) | (churn >= start) | (~np.isnat(react) & (react < end)))
            )
        active += np.bincount(grp[during] * ctx.n_per + i, minlength=ctx.size)
    return ctx.ratio_result(touches, active * ctx.k, "no_active_clients", n=active)


def _average_discount(ctx: Context, p: _Prep) -> Result:
    disc = p.won_column("discount")
    sel = np.flatnonzero(p.w_ok & ~np.isnan(disc))
    keys = ctx.keys(p.w_mgr[sel], p.w_per[sel])
    return ctx.mean_result(
        keys, disc[sel], "no_won_deals_with_discount", t_interval=True, bounds=(0.0, 1.0)
    )


# ---------------------------------------------------------------------------------------
# Project
# ---------------------------------------------------------------------------------------


def _project_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    pj = ctx.ds["projects"]
    per, ok = ctx.periods_of("projects", "actual_end")
    mgr = ctx.mgr_codes(pj, "projects")
    return pj, mgr, per, ok


def _on_time_rate(ctx: Context, p: _Prep) -> Result:
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
        "no_projects_with_budget",
        wilson=True,
    )


def _implementation_quality(ctx: Context, p: _Prep) -> Result:
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


# ---------------------------------------------------------------------------------------
# Internal and professional
# ---------------------------------------------------------------------------------------


def _report_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    ir = ctx.ds["internal_reports"]
    per, ok = ctx.periods_of("internal_reports", "due_date")
    return ir, ctx.mgr_codes(ir, "internal_reports"), per, ok


def _reporting_timeliness(ctx: Context, p: _Prep) -> Result:
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


def _reporting_quality(ctx: Context, p: _Prep) -> Result:
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


def _compliance_violations(ctx: Context, p: _Prep) -> Result:
    c = ctx.ds["compliance"]
    per, ok = ctx.periods_of("compliance", "date")
    mgr = ctx.mgr_codes(c, "compliance")
    keys = ctx.keys(mgr[ok], per[ok])
    viol = _bool(c, "violation")[ok].astype(np.float64)
    return ctx.count_result(ctx.total(keys, viol), n=ctx.total(keys))


def _idea_parts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    ideas = ctx.ds["product_ideas"]
    per, ok = ctx.periods_of("product_ideas", "date")
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
    date = ctx.dates("trainings", "date")
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
    params : overrides of ``params/policy/kpi.yaml`` (sla_hours, budget_tolerance, comparison,
        nps_min_responses, meeting_types, promoter_min, detractor_max, confidence, min_samples).

    Returns
    -------
    DataFrame with one row per group x period x KPI (catalogue order): the group column
    (``manager_id``/``team``/``segment``/``company``), period (label), kpi, value (float),
    n (Int64 sample size), low, high (interval or NaN), status ("ok",
    "insufficient_data", "not_available") and reason (text or NA).

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> k = compute(make_demo(n_managers=5), freq="Q")  # doctest: +SKIP
    >>> k.query("kpi == 'conversion_rate'").head()  # doctest: +SKIP
    """
    return compute_levels(
        dataset, freq, periods, fiscal_year_start=fiscal_year_start, levels=(level,), params=params
    )[level]


def compute_levels(
    dataset: Dataset,
    freq: str = "Q",
    periods: Sequence[str | pd.Period] | str | None = None,
    *,
    fiscal_year_start: int = 1,
    levels: Sequence[str] = ("manager", "team", "segment", "company"),
    params: dict[str, Any] | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`compute` for several levels at once, sharing the expensive preparation.

    Ids are hashed, dates coded and won deals extracted once; each level then only
    re-groups the integer codes. Use it when a report needs manager, team, segment and
    company tables together (4 separate ``compute`` calls would redo the preparation).

    Returns
    -------
    dict level -> the frame :func:`compute` returns for that level.

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> tables = compute_levels(make_demo(n_managers=5), "Q")  # doctest: +SKIP
    >>> tables["company"].query("kpi == 'conversion_rate'")  # doctest: +SKIP
    """
    levels = list(levels)
    if not levels:
        raise ParameterError("levels must name at least one of manager, team, segment, company")
    prm = kpi_params(params)
    ctx = Context(dataset, freq, periods, fiscal_year_start, levels[0], prm)
    min_samples = {k: int(v.min_sample) for k, v in KPIS.items()}
    min_samples["nps"] = int(prm["nps_min_responses"])
    min_samples.update({k: int(v) for k, v in prm["min_samples"].items()})
    # Large inputs use two threads: the heavy steps (Arrow hashing, numpy gathers and
    # ufuncs) release the GIL, and KPIs are independent once the shared arrays exist.
    parallel = (
        len(dataset["deals"]) >= _PARALLEL_MIN_ROWS
        and (os.cpu_count() or 1) > 1
        and _arrow_backed(dataset["deals"]["manager_id"])
    )
    out: dict[str, pd.DataFrame] = {}
    with ThreadPoolExecutor(max_workers=2) if parallel else contextlib.nullcontext() as pool:
        prep = _Prep(ctx, pool)
        for level in levels:
            if level != ctx.level:
                ctx.set_level(level)
                prep.rekey()
            out[level] = _compute_level(ctx, prep, pool, min_samples)
    return out


def _compute_level(
    ctx: Context, prep: _Prep, pool: ThreadPoolExecutor | None, min_samples: dict[str, int]
) -> pd.DataFrame:
    if pool is not None and prep.clients is not None:
        _cache_retention(ctx, prep)  # shared by retention_rate and churn_rate
    todo = {k: f for k, f in _FUNCS.items() if _needs(ctx, k, prep) is None}
    if pool is not None:
        futures = {k: pool.submit(f, ctx, prep) for k, f in todo.items()}
        computed = {k: fut.result() for k, fut in futures.items()}
    else:
        computed = {k: f(ctx, prep) for k, f in todo.items()}
    tenure = _absent_cells(ctx)
    results: dict[str, Result] = {}
    for kpi_id in _FUNCS:
        if kpi_id not in computed:
            results[kpi_id] = ctx.empty(_needs(ctx, kpi_id, prep))
            continue
        res = computed[kpi_id]
        kpi = KPIS[kpi_id]
        res.inferred = kpi_id in _INFERRED_CHURN and prep.lapse_months is not None
        if set(kpi.segments) != {"B2B", "B2C"}:
            in_scope = np.isin(ctx.mgr_segment, kpi.segments)
            outside = ~ctx.group_has(in_scope)
            res.reason[outside] = reason_code("segment_only", segments="/".join(kpi.segments))
        if tenure is not None:
            # outside the manager's tenure an empty cell is "not there", not an honest 0
            off = (tenure != None) & ~(np.nan_to_num(res.n, nan=0.0) > 0)  # noqa: E711
            res.reason[off] = tenure[off]
        results[kpi_id] = res
    return assemble(ctx, results, min_samples)


def _absent_cells(ctx: Context) -> np.ndarray | None:
    """Per group x period cell: why there can be no data, else None.

    A period that ends before the data starts (the first deal created or closed) is
    "before the data": a CRM export that begins in October has no honest 0 for the spring
    before it. At manager level, periods before ``managers.hire_date`` are "not yet hired"
    (:func:`_tenure`). Cells that still have events keep their value.
    """
    out = _tenure(ctx) if ctx.level == "manager" else None
    deals = ctx.ds["deals"]
    firsts = []
    for column in ("created_date", "closed_date"):
        if column in deals:
            values = ctx.dates("deals", column)
            values = values[~np.isnat(values)]
            if len(values):
                firsts.append(values.min())
    if not firsts:
        return out
    first = min(firsts)
    ends = ctx.start.view(np.int64)[1:]
    before = np.flatnonzero(ends <= first.view(np.int64))
    if not len(before):
        return out
    if out is None:
        out = np.full(ctx.size, None, dtype=object)
    day = str(first.astype("datetime64[D]"))
    groups = ctx.size // ctx.n_per
    cells = (np.arange(groups)[:, None] * ctx.n_per + before[None, :]).ravel()
    unset = cells[out[cells] == None]  # noqa: E711 (object array: element-wise)
    out[unset] = reason_code("before_data", date=day)
    return out


def _tenure(ctx: Context) -> np.ndarray | None:
    """Per manager x period cell: why the manager was not there, else None.

    A period that ends before ``managers.hire_date`` is "not yet hired": its empty cells
    are not an honest 0 (sales of a manager who was not there). Cells that still have
    events (a hire date later than the data) keep their value.
    """
    managers = ctx.ds["managers"]
    out = np.full(ctx.size, None, dtype=object)
    starts = ctx.start.view(np.int64)
    if "hire_date" in managers:
        hired = ctx.dates("managers", "hire_date").view(np.int64)
        # only managers hired after the first period ended (NaT is the smallest int64)
        for m in np.flatnonzero(hired >= starts[1]):
            before = np.flatnonzero(starts[1:] <= hired[m])  # period ends before the hire day
            if len(before):
                day = str(np.datetime64(int(hired[m]), "ns").astype("datetime64[D]"))
                out[m * ctx.n_per + before] = reason_code("not_yet_hired", date=day)
    return out if (out != None).any() else None  # noqa: E711
