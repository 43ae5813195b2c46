"""The demo company's shared state while its tables are drawn: calendar, managers, clients.

:class:`World` holds the one NumPy generator (every draw of every table comes from it, in a
fixed order: see :func:`amtools.demo.build.make_demo`), the monthly calendar, and what earlier
steps decided and later ones read: the managers' traits and employment (set by
:func:`amtools.demo.company.managers`), the clients' life cycle
(:func:`amtools.demo.clients.draw_clients`), their ids (:func:`amtools.demo.clients.clients_frame`)
and the deals (:func:`amtools.demo.deals.deals`).

Example
-------
>>> import datetime as dt
>>> w = World(0, 4, dt.date(2026, 11, 26), 1, 1.0)
>>> w.period_end, w.n_hist
(Timestamp('2026-09-30 00:00:00'), 12)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.periods import last_complete_quarter
from amtools.demo.catalog import B2B, B2C, SEASON, SEG, TRAITS
from amtools.demo.frames import Labels

__all__ = ["World", "sigmoid", "logit", "poisson_events", "choice_rows"]


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """The logistic function, elementwise.

    Example
    -------
    >>> float(sigmoid(0.0))
    0.5
    """
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def logit(p: float) -> float:
    """Log-odds of the probability ``p``.

    Example
    -------
    >>> logit(0.5)
    0.0
    """
    return float(np.log(p / (1.0 - p)))


def poisson_events(rng: np.random.Generator, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events for each (row, column) cell of ``rates``, as one (row, column) per event.

    Equivalent to a Poisson draw per cell, but draws one count per row and places the events
    by the row's cumulative rates (much faster for wide, sparse matrices).

    Example
    -------
    >>> rows, cols = poisson_events(np.random.default_rng(0), np.array([[0.0, 3.0]]))
    >>> set(cols.tolist()) <= {1}
    True
    """
    rates = np.asarray(rates, dtype=float)
    n_cols = rates.shape[1]
    total = rates.sum(axis=1)
    counts = rng.poisson(total)
    hit = np.flatnonzero(counts)
    cum = np.cumsum(rates[hit], axis=1)
    cum /= cum[:, -1:]
    cum += np.arange(len(hit))[:, None]
    local = np.repeat(np.arange(len(hit)), counts[hit])
    cols = np.searchsorted(cum.ravel(), local + rng.random(len(local)), side="right")
    cols -= local * n_cols
    return hit[local], np.clip(cols, 0, n_cols - 1)


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of the (n, k) probability matrix ``probs``.

    Example
    -------
    >>> choice_rows(np.random.default_rng(0), np.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
    [1, 0]
    """
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


class World:
    """Holds the calendar, the managers' latent traits and the clients while tables are built.

    Example
    -------
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 1.0)
    >>> w.n_months, len(w.mstart)
    (18, 18)
    """

    # Managers (set by company.managers): segment, team, traits, hire/leave days, successor.
    b2b: np.ndarray
    team_of: np.ndarray
    z: np.ndarray
    hire: np.ndarray
    leave: np.ndarray
    successor: np.ndarray
    m_region: np.ndarray
    mid: Labels
    names: np.ndarray
    employed: np.ndarray
    # Clients' life cycle (set by clients.draw_clients); ids by clients.clients_frame.
    c_mgr: np.ndarray
    c_b2b: np.ndarray
    c_acq: np.ndarray
    nc: int
    lead: dict[str, np.ndarray]
    c_contract: np.ndarray
    c_k0: np.ndarray
    c_renewals: np.ndarray
    c_churn: np.ndarray
    c_return: np.ndarray
    c_churned: np.ndarray
    c_size: np.ndarray
    c_ref: np.ndarray
    c_pref: np.ndarray
    c_breadth: np.ndarray
    customers: np.ndarray
    active: np.ndarray
    cid: Labels
    # Deals (set by deals.deals): their columns as arrays, and their ids.
    d: dict[str, Any]
    did: Labels

    def __init__(self, seed: int, n_managers: int, end: dt.date, years: int, scale: float) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = n_managers
        self.scale = float(scale)
        quarter = last_complete_quarter(end)
        self.period_end = quarter.end_time.normalize()
        start = (quarter - 4 * years + 1).start_time.normalize()
        self.n_hist = 12 * years
        self.n_months = self.n_hist + 6  # six future months feed the open pipeline
        months = pd.date_range(start, periods=self.n_months + 1, freq="MS")
        bounds = months.values.astype("datetime64[D]").astype(np.int64).astype(float)
        self.mstart = bounds[:-1]
        self.mlen = np.diff(bounds)
        self.bounds = bounds
        self.s0 = bounds[0]
        self.pe = float(np.datetime64(self.period_end.date(), "D").astype(np.int64))
        cal = months.month.to_numpy()[:-1] - 1
        growth = self.rng.uniform(0.05, 0.09)
        t = np.arange(self.n_months) / 12.0
        # Revenue growth = more clients (leads grow at ``growth``) + ~4 % price increases a
        # year; repeat business per client stays about flat (it grows for good up-sellers).
        self.lead_intensity = SEASON[cal] * (1 + growth) ** t
        self.intensity = SEASON[cal] * (1 + growth - 0.10) ** t

    # -- helpers ------------------------------------------------------------------------
    def day_in_month(self, t: np.ndarray) -> np.ndarray:
        """A uniform random day within each month index of ``t``."""
        return self.mstart[t] + np.floor(self.rng.random(len(t)) * self.mlen[t])

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """The month index of each ``day`` (days since 1970-01-01)."""
        return np.searchsorted(self.bounds, day, side="right") - 1

    def owner(self, mgr: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Manager responsible at ``day``: a leaver's accounts pass to the successor."""
        out = mgr.copy()
        left = ~np.isnan(self.leave[mgr]) & (day >= np.nan_to_num(self.leave[mgr], nan=np.inf))
        out[left] = self.successor[mgr[left]]
        return out

    def trait(self, name: str) -> np.ndarray:
        """Every manager's z-score on the trait ``name`` (one of :data:`TRAITS`)."""
        return self.z[:, TRAITS.index(name)]

    def seg_param(self, key: str, b2b: np.ndarray) -> np.ndarray:
        """The segment rate ``key`` of :data:`SEG`, per row (B2B where ``b2b``)."""
        return np.where(b2b, SEG[B2B][key], SEG[B2C][key])

    def customer_events(
        self, rate: np.ndarray, months: int, factor: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Poisson events at ``rate`` (per client) in each active customer-month -> (client, month)."""
        cu = self.customers
        rates = rate[cu, None] * self.active[:, :months]
        if factor is not None:
            rates *= factor[:, :months]
        rows, t = poisson_events(self.rng, rates)
        return cu[rows], t

    def in_gap(self, client: np.ndarray, day: np.ndarray) -> np.ndarray:
        """True where ``day`` falls while the client was lost (after churn, before any win-back)."""
        return (day >= self.c_churn[client]) & (day < self.c_return[client])

    def client_events(
        self, key: str, months: int | None = None, boost: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Events per active client-month at the segment's ``key`` rate; returns (client, day)."""
        months = months or self.n_hist
        rate = self.seg_param(key, self.c_b2b)
        if boost is not None:
            rate = rate * boost
        c, t = self.customer_events(rate, months)
        day = self.day_in_month(t)
        ok = ~self.in_gap(c, day) & (day <= self.pe)
        return c[ok], day[ok]

    def window(self, m: int) -> tuple[float, float]:
        """First and last day manager ``m`` worked within the history."""
        last = self.pe if np.isnan(self.leave[m]) else min(self.pe, self.leave[m] - 1)
        return max(self.s0, self.hire[m]), last
