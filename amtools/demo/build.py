"""``make_demo``: the seeded demo company, all 15 tables, drawn step by step in a fixed order.

Each table comes from the module named for what it generates (:mod:`~amtools.demo.company`,
:mod:`~amtools.demo.clients`, :mod:`~amtools.demo.deals`, :mod:`~amtools.demo.activities`,
:mod:`~amtools.demo.feedback`, :mod:`~amtools.demo.conduct`, :mod:`~amtools.demo.training`,
:mod:`~amtools.demo.targets`); they share one :class:`~amtools.demo.world.World`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.vocab import DEFAULT_CURRENCY, DEMO_GENERATOR
from amtools.demo.activities import activities, requests
from amtools.demo.catalog import TRAITS
from amtools.demo.clients import clients_frame, contacts, contracts, draw_clients
from amtools.demo.company import managers
from amtools.demo.conduct import compliance, internal_reports, product_ideas
from amtools.demo.deals import deals, projects, proposals
from amtools.demo.feedback import surveys
from amtools.demo.targets import targets
from amtools.demo.training import trainings
from amtools.demo.world import World

__all__ = ["make_demo"]


def _parse_end(end: dt.date | str | pd.Timestamp | None) -> dt.date:
    """The ``end`` argument as a date (today when None)."""
    if end is None:
        return dt.date.today()
    try:
        return pd.Timestamp(end).date()
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"make_demo(end={end!r}): not a date; pass a datetime.date or a 'YYYY-MM-DD' string"
        ) from exc


def _check_args(seed: int, n_managers: int, years: int, scale: float) -> None:
    """Reject arguments ``make_demo`` cannot build from, naming the argument and its range."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ParameterError(f"make_demo(seed={seed!r}): seed must be an integer")
    if not isinstance(n_managers, (int, np.integer)) or n_managers < 2:
        raise ParameterError(
            f"make_demo(n_managers={n_managers!r}): need an integer >= 2 (one B2B and one B2C manager)"
        )
    if not isinstance(years, (int, np.integer)) or not 1 <= years <= 15:
        raise ParameterError(f"make_demo(years={years!r}): years must be an integer from 1 to 15")
    if not isinstance(scale, (int, float)) or not 0 < float(scale) <= 100:
        raise ParameterError(f"make_demo(scale={scale!r}): scale must be a number in (0, 100]")


def make_demo(
    seed: int = 0,
    n_managers: int = 30,
    end: dt.date | str | None = None,
    years: int = 3,
    scale: float = 1.0,
) -> Dataset:
    """Build the seeded demo dataset: a B2B/B2C account-management company, all 15 tables.

    The company sells connectivity, cloud and IT services (8 product lines, :data:`PRODUCTS`)
    to people (B2C) and companies (B2B). Everything is drawn from one NumPy generator, so a
    seed always gives the same tables, and the numbers follow the domain source's B2B/B2C
    comparison table: B2C managers have several times more clients, a much smaller average
    check, sales cycles of days instead of weeks, fewer contacts per client and fixed prices
    (a rare promo discount); B2B managers negotiate discounts on most deals.

    - **Managers** (M001…): about half B2B, half B2C, in teams of ~8 with a home region; Russian
      full names; monthly base salary around 90,000 RUB (B2B higher). A few are hired during
      the history (their portfolio starts empty and leads ramp up) and one has left
      (``active`` false): their accounts and open work passed to a teammate on that day.
      Each has latent strengths and weaknesses (:data:`TRAITS`: closing, prospecting,
      retention, upsell, responsiveness, discipline, delivery, activity, initiative,
      negotiation; ``ds.meta["traits"]``) that drive conversion, portfolio growth, churn,
      CSI/NPS, response times, reporting, projects and trainings, so KPI profiles, reviews and
      training plans differ.
    - **Sales**: grow ~8-15 % a year (more clients plus ~4 % price increases) with a Q4 peak
      and January/summer dips. Every new-business lead is a client record; lost and open
      leads stay prospects (empty ``acquired_date``). Lost deals have a reason from
      :data:`LOST_REASONS` and, where a competitor won, one of :data:`COMPETITORS` (one of
      them gaining share). Open deals at the end carry a probability and an expected close
      1-6 months ahead.
    - **Clients** churn (B2B and contract clients by not renewing, others at a monthly rate);
      some lost clients are won back: a won deal closes after their ``churned_date``. New
      clients are sometimes referred by an existing client of the same manager
      (``referred_by``).
    - **Other tables**: proposals for most B2B and some B2C deals; activities (B2B: meetings,
      calls, emails several times a month per client); requests with first response and
      resolution times (the latest still unanswered); surveys (a handful per manager and
      quarter, some below 10); annual contracts (``renewed`` empty while undecided); contacts
      inside B2B clients; implementation projects (mostly B2B); weekly (B2C) or monthly (B2B)
      internal reports; monthly compliance checks with rare violations; product ideas;
      trainings from the catalogue :data:`COURSES`; quarterly ``sales_volume`` targets from the
      second year on (+10 % on the same quarter a year earlier), including the next quarter.

    Parameters
    ----------
    seed : random seed; the same seed gives identical tables.
    n_managers : number of account managers (about half B2B, half B2C), at least 2.
    end : history ends at the last complete quarter before this date (date or "YYYY-MM-DD";
        default today). Open deals, running projects and contracts reach beyond it.
    years : years of history.
    scale : multiplies the number of clients and deals (1.0 ≈ 30k deals and ~150k activities
        for 30 managers over 3 years).

    Returns
    -------
    Dataset
        All 15 tables of :data:`amtools.core.schema.TABLES` with the data model's dtypes;
        ``source`` is ``"amtools demo (seed=<seed>)"``; ``meta`` holds ``period_end`` (last
        day of the history, a Timestamp), ``currency`` ("RUB"), ``seed``, ``generator`` and
        ``traits``.

    Raises
    ------
    ParameterError
        On a non-integer seed, fewer than 2 managers, years outside 1..15, a scale outside
        (0, 100] or an ``end`` that is not a date.

    Example
    -------
    >>> ds = make_demo(seed=1, n_managers=6, end="2026-11-26", years=1, scale=0.2)
    >>> ds.meta["period_end"]
    Timestamp('2026-09-30 00:00:00')
    >>> sorted(ds.managers["segment"].unique())
    ['B2B', 'B2C']
    """
    _check_args(seed, n_managers, years, scale)
    # The order of the steps is the order of the random draws: keep it, or every seed changes.
    w = World(int(seed), int(n_managers), _parse_end(end), int(years), float(scale))
    managers_table = managers(w)
    draw_clients(w)
    clients_table = clients_frame(w)
    deals_table = deals(w)
    tables = {
        "managers": managers_table,
        "clients": clients_table,
        "deals": deals_table,
        "proposals": proposals(w),
        "activities": activities(w),
        "requests": requests(w),
        "surveys": surveys(w),
        "contracts": contracts(w),
        "contacts": contacts(w),
        "projects": projects(w),
        "internal_reports": internal_reports(w),
        "compliance": compliance(w),
        "product_ideas": product_ideas(w),
        "trainings": trainings(w),
    }
    tables["targets"] = targets(w, deals_table, managers_table)
    traits = {
        w.mid.list[m]: {name: round(float(w.z[m, k]), 2) for k, name in enumerate(TRAITS)}
        for m in range(w.n)
    }
    meta = {
        "period_end": w.period_end,
        "currency": DEFAULT_CURRENCY,
        "seed": int(seed),
        "generator": DEMO_GENERATOR,
        "traits": traits,
    }
    return Dataset(tables, source=f"amtools demo (seed={seed})", meta=meta)
