"""The precomputation shared by the KPI definitions: won deals, clients and their dates, once.

:class:`Prep` extracts, once per :func:`amtools.kpi.compute_levels` call, the arrays several
KPIs read (the won deals with a close date, each client's acquisition, churn and win-back),
so each KPI definition (``amtools.kpi.definitions``) only gathers and counts. Who is an
active client is :mod:`amtools.kpi.clients`'s rule, applied here to those arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from amtools.kpi.clients import (
    acquired_at,
    active_during_mask,
    active_mask,
    inferred_active_mask,
    is_win_back,
)
from amtools.kpi.engine import Context, Result

__all__ = [
    "BIG",
    "NAT_I",
    "CHURN_COLUMN",
    "KpiFunction",
    "Prep",
    "bools",
    "equals",
    "floats",
    "has_column",
    "has_values",
    "inferred_churn",
    "min_at",
]

BIG = np.iinfo(np.int64).max
"""int64 "no value" of a minimum (:func:`min_at` where a code has no row)."""
NAT_I = np.iinfo(np.int64).min
"""int64 view of NaT."""


def min_at(size: int, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Minimum of ``values`` per dense code ``index`` (``BIG`` where none), via ufunc.at."""
    out = np.full(size, BIG, dtype=np.int64)
    np.minimum.at(out, index, values)
    return out


def floats(df: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64 with NaN for missing (a view when it already is)."""
    col = df[column]
    if col.dtype == np.float64:
        return col.to_numpy()
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def has_values(df: pd.DataFrame | None, column: str) -> bool:
    """``df`` has ``column`` with at least one value (an empty column says nothing)."""
    return df is not None and column in df and bool(df[column].notna().any())


def equals(values: pd.Series, text: str) -> np.ndarray:
    """Vectorised ``values == text`` as a numpy bool array (missing -> False)."""
    return (values == text).to_numpy(dtype=bool, na_value=False)


def bools(df: pd.DataFrame, column: str) -> np.ndarray:
    """A nullable boolean column as a numpy bool array (missing -> False)."""
    return df[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


KpiFunction = Callable[[Context, "Prep"], Result]
"""A KPI definition: the grouping context and the shared arrays -> per-cell results."""


class Prep:
    """Arrays shared by several KPIs, computed once per call.

    Most deal KPIs read only won deals with a close date, so their columns are extracted
    once into compact ``w_*`` arrays (one pass over the deals table per column).
    """

    lapse_months: int | None
    retention: tuple[np.ndarray, np.ndarray, np.ndarray] | None

    def __init__(self, ctx: Context, pool: ThreadPoolExecutor | None = None) -> None:
        self.ctx = ctx
        ds = ctx.ds
        deals = ds["deals"]
        self.deals = deals
        # hashing the manager ids is the costliest step: start it first (the hash runs in
        # Arrow/C and releases the GIL, so a second thread does the rest meanwhile)
        f_mgr = pool.submit(ctx.mgr_codes, deals, "deals") if pool is not None else None
        won = equals(deals["stage"], "won")
        lost = equals(deals["stage"], "lost")
        if "closed_date" in deals:
            closed = ctx.dates("deals", "closed_date")
            c_per, c_ok = ctx.periods_of("deals", "closed_date")
        else:
            closed = np.full(len(deals), np.datetime64("NaT"), dtype="datetime64[ns]")
            c_per, c_ok = ctx.rel_codes(closed)
        closed_ns = closed.view(np.int64)
        # won deals with a close date (in or out of the reporting range)
        w = np.flatnonzero(won & (closed_ns != NAT_I))
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
        self.w_amt = floats(deals, "amount")[w]
        self.won_amt = self.w_amt[self.w_ok]
        lost_in = np.flatnonzero(lost & c_ok)
        self.lost_mgr, self.lost_per = d_mgr[lost_in], c_per[lost_in]
        self.rekey()
        # first won close per deal client, as int64 ns (BIG where none)
        has_client = self.w_client >= 0
        self.first_won_dc = min_at(self.n_dc, self.w_client[has_client], self.w_closed[has_client])

        self.clients = ds.get("clients")
        self.lapse_months = None
        if self.clients is not None:
            self._client_arrays(self.clients, uniq)

    def _client_arrays(self, clients: pd.DataFrame, uniq: pd.Index) -> None:
        """Per client of the clients table: manager, acquisition, churn and win-back."""
        ctx = self.ctx
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
        first_won = np.full(n_cl, BIG, dtype=np.int64)
        known = pos_of_code >= 0
        np.minimum.at(first_won, pos_of_code[known], self.first_won_dc[known])
        first_won_dt = np.where(first_won == BIG, NAT_I, first_won).view("datetime64[ns]")
        self.cl_acq = acquired_at(acq, first_won_dt)
        self.cl_churn = (
            ctx.dates("clients", "churned_date")
            if "churned_date" in clients
            else np.full(n_cl, np.datetime64("NaT"), dtype="datetime64[ns]")
        )
        self.cl_react = self._reactivation(n_cl)
        self.lapse_months = (
            int(ctx.settings.churn_inactive_months or 0) if inferred_churn(ctx) else None
        )
        if self.lapse_months is not None:
            # events that show a client is a client: won deals and the acquisition date
            sel = self.w_cl >= 0
            acq_ns = self.cl_acq.view(np.int64)
            has_acq = np.flatnonzero(acq_ns != NAT_I)
            self.ev_cl = np.concatenate([self.w_cl[sel], has_acq])
            self.ev_t = np.concatenate([self.w_closed[sel], acq_ns[has_acq]])

    def rekey(self) -> None:
        """(Re)compute the group x period cells after ``ctx.set_level``."""
        ctx = self.ctx
        self.won_keys = ctx.keys(self.w_mgr[self.w_ok], self.w_per[self.w_ok])
        self.lost_keys = ctx.keys(self.lost_mgr, self.lost_per)
        self.retention = None  # per level: (clients at start, kept, lost) of the cells

    def won_column(self, column: str) -> np.ndarray:
        """A float column of the deals table restricted to the won, dated deals."""
        return floats(self.deals, column)[self.w]

    def _reactivation(self, n_cl: int) -> np.ndarray:
        """First won deal strictly after the client's churn date (a win-back), else NaT."""
        sel = self.w_cl >= 0
        cl = self.w_cl[sel]
        closed = self.w_closed[sel]
        churn = self.cl_churn[cl]
        after = is_win_back(closed.view("datetime64[ns]"), churn)
        first = min_at(n_cl, cl[after], closed[after])
        return np.where(first == BIG, NAT_I, first).view("datetime64[ns]")

    def last_event_before(self, t: np.datetime64) -> np.ndarray:
        """Per client: the last won deal or acquisition strictly before ``t`` (int64 ns, NaT-min)."""
        out = np.full(len(self.cl_acq), NAT_I, dtype=np.int64)
        tn = np.asarray(t).astype("datetime64[ns]").astype(np.int64)
        m = self.ev_t < tn
        np.maximum.at(out, self.ev_cl[m], self.ev_t[m])
        return out

    def active_at(self, t: np.datetime64) -> np.ndarray:
        """Clients active at instant ``t``: :func:`amtools.kpi.clients.active_mask`, or with
        the inferred rule (no churn dates, ``churn_inactive_months`` = N)
        :func:`amtools.kpi.clients.inferred_active_mask`."""
        if self.lapse_months is not None:
            last = self.last_event_before(t).view("datetime64[ns]")
            return inferred_active_mask(last, t, self.lapse_months)
        return active_mask(self.cl_acq, self.cl_churn, self.cl_react, t)

    def active_during(self, start: np.datetime64, end: np.datetime64) -> np.ndarray:
        """Clients active at some instant of ``[start, end)`` (the same rule over a period)."""
        if self.lapse_months is not None:
            last = self.last_event_before(end).view("datetime64[ns]")
            return inferred_active_mask(last, start, self.lapse_months)  # the window ends at start
        return active_during_mask(self.cl_acq, self.cl_churn, self.cl_react, start, end)


CHURN_COLUMN = "clients.churned_date"
"""The column that says who left; without values in it the inferred rule may stand in."""


def has_column(ctx: Context, tc: str) -> bool:
    """``tc`` (``"table.column"``) exists and has at least one value (cached per call)."""
    key = f"has:{tc}"
    if key not in ctx.cache:
        table, col = tc.split(".")
        ctx.cache[key] = has_values(ctx.ds.get(table), col)
    return bool(ctx.cache[key])


def inferred_churn(ctx: Context) -> bool:
    """The inferred churn rule is in use: no churn dates and ``churn_inactive_months`` set."""
    return ctx.settings.churn_inactive_months is not None and not has_column(ctx, CHURN_COLUMN)
