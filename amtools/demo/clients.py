"""The demo's clients and their life cycle: portfolio, leads, churn and win-back, contracts, contacts.

:func:`draw_clients` decides every client's manager, acquisition, churn, return, size,
referrer and product preferences (no table yet); :func:`clients_frame` draws the names and
regions and writes the ``clients`` table; :func:`contracts` follows from the life cycle;
:func:`contacts` adds the people inside B2B clients.

Example
-------
>>> import datetime as dt
>>> from amtools.demo.company import managers
>>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
>>> _ = managers(w)
>>> draw_clients(w)
>>> clients_frame(w).columns[:3].tolist()
['client_id', 'manager_id', 'segment']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.catalog import B2B, B2C, CONTACT_ROLES, INDUSTRIES, PRODUCTS, REGIONS, SEG
from amtools.demo.frames import Labels, build_frame, make_ids, str_or_na
from amtools.demo.names import company_names, person_names
from amtools.demo.world import World, logit, poisson_events, sigmoid

__all__ = ["draw_clients", "clients_frame", "contracts", "contacts"]


def draw_clients(w: World) -> None:
    """Every client record and its life cycle, set on ``w`` (``c_*``, ``lead``, ``customers``).

    Records are the portfolio held when the history starts, then one per new-business lead
    (lost and open leads stay prospects without an acquisition day).

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> draw_clients(w)
    >>> w.nc == len(w.c_mgr) == len(w.c_acq)
    True
    """
    rates = _manager_rates(w)
    lm, close, created, l_b2b, referred, won = _draw_leads(w, rates)
    im, i_b2b, i_acq = _draw_portfolio(w, rates)
    ni, nl = len(im), len(lm)

    # All client records: initial portfolio, then one per lead (prospects stay unacquired).
    w.c_mgr = np.concatenate([im, lm])
    w.c_b2b = np.concatenate([i_b2b, l_b2b])
    w.c_acq = np.concatenate([i_acq, np.where(won & (close <= w.pe), close, np.nan)])
    w.nc = ni + nl
    w.lead = {
        "client": np.arange(ni, w.nc),
        "mgr": lm,
        "close": close,
        "created": created,
        "won": won,
    }
    _draw_churn(w, rates)
    _draw_referrals(w, referred)
    _draw_preferences(w)

    # Months in which each acquired client is a customer (deals, touches, requests, surveys);
    # rows are the acquired clients ``w.customers`` (prospects never are).
    w.customers = np.flatnonzero(~np.isnan(w.c_acq))
    ms = w.mstart[None, :]
    cu = w.customers
    w.active = ((ms > w.c_acq[cu, None]) & (ms < w.c_churn[cu, None])) | (
        ms >= w.c_return[cu, None]
    )


def _manager_rates(w: World) -> dict[str, np.ndarray]:
    """Each manager's new-business win rate, lead rate, churn hazard and renewal rate."""
    b2b, retention = w.b2b, w.trait("retention")
    win_new = sigmoid(
        np.where(b2b, logit(SEG[B2B]["lead_win"]), logit(SEG[B2C]["lead_win"]))
        + 0.4 * w.trait("closing")
        + 0.15 * w.trait("negotiation")
    )
    lead_rate = w.seg_param("leads", b2b) * w.scale * np.exp(0.2 * w.trait("prospecting"))
    hazard = w.seg_param("hazard", b2b) * np.exp(-0.3 * retention)
    renewal = sigmoid(
        np.where(b2b, logit(SEG[B2B]["renewal"]), logit(SEG[B2C]["renewal"])) + 0.3 * retention
    )
    return {
        "win_new": win_new,
        "lead_rate": lead_rate,
        "hazard": hazard,
        "renewal": renewal,
        "monthly_loss": np.where(b2b, -np.log(renewal) / 12, hazard),
    }


def _draw_leads(w: World, rates: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """New-business opportunities, by creation day: (manager, close, created, b2b, referred, won)."""
    rng, lead_rate, win_new = w.rng, rates["lead_rate"], rates["win_new"]
    hire_t = w.month_of(w.hire)
    ramp = np.clip((np.arange(w.n_months)[None, :] - hire_t[:, None] + 1) / 6.0, 0, 1)
    ramp[w.hire <= w.s0] = 1.0
    lm, lt = poisson_events(rng, lead_rate[:, None] * w.lead_intensity[None, :] * w.employed * ramp)
    l_b2b = w.b2b[lm]
    close = np.maximum(w.day_in_month(lt), w.hire[lm])
    sigma = w.seg_param("cycle_sigma", l_b2b)
    cycle = np.floor(
        np.exp(np.log(w.seg_param("lead_cycle", l_b2b)) + sigma * rng.normal(size=len(lm)))
    )
    created = np.maximum(close - cycle, w.hire[lm])
    keep = created <= w.pe
    lm, close, created, l_b2b = lm[keep], close[keep], created[keep], l_b2b[keep]
    order = np.argsort(created, kind="stable")
    lm, close, created, l_b2b = lm[order], close[order], created[order], l_b2b[order]
    nl = len(lm)
    retention = w.trait("retention")
    referred = rng.random(nl) < w.seg_param("referral", l_b2b) * np.exp(0.35 * retention[lm])
    won = rng.random(nl) < sigmoid(np.log(win_new[lm] / (1 - win_new[lm])) + 0.9 * referred)
    return lm, close, created, l_b2b, referred, won


def _draw_portfolio(
    w: World, rates: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clients already held when the history starts (steady-state sized): (manager, b2b, acquired)."""
    rng, b2b = w.rng, w.b2b
    steady = rates["lead_rate"] * rates["win_new"] / rates["monthly_loss"]
    # Portfolios were assigned before the history starts, so they differ less than the
    # managers' own steady states; afterwards they drift towards them (good managers grow).
    typical = (
        np.where(
            b2b,
            SEG[B2B]["leads"] * SEG[B2B]["lead_win"] / (-np.log(SEG[B2B]["renewal"]) / 12),
            SEG[B2C]["leads"] * SEG[B2C]["lead_win"] / SEG[B2C]["hazard"],
        )
        * w.scale
    )
    n0 = rng.poisson(typical * (steady / typical) ** 0.6)
    n0[w.hire > w.s0] = 0
    im = np.repeat(np.arange(w.n), n0)
    i_b2b = b2b[im]
    age = np.minimum(rng.exponential(w.seg_param("acq_age_days", i_b2b)), 10 * 365)
    i_acq = w.s0 - 1 - np.floor(age)
    order = np.argsort(i_acq, kind="stable")
    return im[order], i_b2b[order], i_acq[order]


def _draw_churn(w: World, rates: dict[str, np.ndarray]) -> None:
    """Churn (B2B and some B2C by contract non-renewal, other B2C by a monthly hazard), win-back, size."""
    rng, nc, mgr, acq = w.rng, w.nc, w.c_mgr, w.c_acq
    renewal, hazard = rates["renewal"], rates["hazard"]
    has = ~np.isnan(acq)
    contract = w.c_b2b | (rng.random(nc) < SEG[B2C]["contract_share"])
    contract &= has
    r = sigmoid(np.log(renewal[mgr] / (1 - renewal[mgr])) + 0.3 * rng.normal(size=nc))
    k0 = np.where(acq < w.s0, np.floor(np.maximum(0, w.s0 - acq) / 365), 0)
    renewals = rng.geometric(1 - r) - 1
    churn = np.full(nc, np.inf)
    churn[contract] = (acq + (k0 + 1 + renewals) * 365)[contract]
    h = hazard[mgr] * np.exp(0.3 * rng.normal(size=nc))
    waiting = np.ceil(rng.exponential(30.44 / h))
    plain = has & ~contract
    churn[plain] = (np.maximum(acq, w.s0) + waiting)[plain]
    # Win-back: some lost clients return months later with a won deal closed after their
    # churned_date (which stays: the client was lost in between, then reactivated).
    back = has & (rng.random(nc) < 0.15 * np.exp(0.3 * w.trait("retention")[mgr]))
    ret = np.where(back, churn + 60 + np.floor(rng.uniform(0, 360, nc)), np.inf)
    w.c_contract, w.c_k0, w.c_renewals = contract, k0, renewals
    w.c_churn, w.c_return = churn, ret
    w.c_churned = np.where(has & (churn <= w.pe), churn, np.nan)
    w.c_size = np.exp(w.seg_param("size_sigma", w.c_b2b) * rng.normal(size=nc))


def _draw_referrals(w: World, referred: np.ndarray) -> None:
    """The referrer of each referred lead: an active client of the same manager at its creation."""
    rng, mgr, acq = w.rng, w.c_mgr, w.c_acq
    has = ~np.isnan(acq)
    lm, created, lead_clients = w.lead["mgr"], w.lead["created"], w.lead["client"]
    churn, ret = w.c_churn, w.c_return
    ref = np.full(w.nc, -1, dtype=np.int64)
    for m in np.unique(lm[referred]):
        pool = np.flatnonzero((mgr == m) & has)
        if len(pool) == 0:
            continue
        pool = pool[np.argsort(acq[pool], kind="stable")]
        who = np.flatnonzero(referred & (lm == m))
        avail = np.searchsorted(acq[pool], created[who], side="left")
        pick = pool[np.minimum((rng.random(len(who)) * avail).astype(np.int64), len(pool) - 1)]
        ok = (avail > 0) & ~((churn[pick] <= created[who]) & (ret[pick] > created[who]))
        ref[lead_clients[who[ok]]] = pick[ok]
    w.c_ref = ref


def _draw_preferences(w: World) -> None:
    """Product preferences: a client buys from its top-k product lines (k grows with upsell skill)."""
    rng = w.rng
    weights = np.array([[p["b2b"], p["b2c"]] for p in PRODUCTS.values()])
    pw = np.where(w.c_b2b[:, None], weights[:, 0][None, :], weights[:, 1][None, :])
    with np.errstate(divide="ignore"):
        keys = np.log(pw) + rng.gumbel(size=pw.shape)
    w.c_pref = np.argsort(-keys, axis=1)
    n_avail = (pw > 0).sum(axis=1)
    breadth = w.seg_param("breadth", w.c_b2b)
    p_breadth = sigmoid(np.log(breadth / (1 - breadth)) + 0.7 * w.trait("upsell")[w.c_mgr])
    w.c_breadth = 1 + rng.binomial(n_avail - 1, p_breadth)


def clients_frame(w: World) -> pd.DataFrame:
    """The ``clients`` table: ids (set as ``w.cid``), names, industry, region, life-cycle days.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> draw_clients(w)
    >>> bool(clients_frame(w)["segment"].isin(["B2B", "B2C"]).all())
    True
    """
    rng, nc = w.rng, w.nc
    w.cid = Labels(make_ids("C", nc, 5))
    b2b = w.c_b2b
    names = np.where(b2b, company_names(rng, nc), person_names(rng, nc, unique=False))
    industry = np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), nc)]
    region_m = w.m_region[w.c_mgr]
    other = np.array(REGIONS)[rng.integers(0, len(REGIONS), nc)]
    region = np.where(rng.random(nc) < 0.85, region_m, other)
    owner = w.owner(w.c_mgr, np.full(nc, w.pe))
    return build_frame(
        "clients",
        {
            "client_id": w.cid.column(),
            "manager_id": w.mid[owner],
            "segment": np.where(b2b, B2B, B2C),
            "name": names,
            "industry": str_or_na(industry, b2b),
            "region": region,
            "acquired_date": w.c_acq,
            "churned_date": w.c_churned,
            "referred_by": str_or_na(w.cid[np.maximum(w.c_ref, 0)], w.c_ref >= 0),
        },
    )


def contracts(w: World) -> pd.DataFrame:
    """Annual contracts; fully determined by the life cycle :func:`draw_clients` drew (no draws).

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> from amtools.demo.clients import clients_frame, draw_clients
    >>> draw_clients(w)
    >>> _ = clients_frame(w)
    >>> contracts(w).columns.tolist()
    ['contract_id', 'client_id', 'manager_id', 'start_date', 'end_date', 'renewed']
    """
    cl = np.flatnonzero(w.c_contract)
    acq, k0, ren = w.c_acq[cl], w.c_k0[cl], w.c_renewals[cl]
    # First chain: from the contract running at the history start until the non-renewal.
    last_start = np.minimum(k0 + ren, np.floor((w.pe - acq) / 365))
    n1 = (last_start - k0 + 1).astype(np.int64)
    c1 = np.repeat(cl, n1)
    k = np.repeat(k0, n1) + (np.arange(n1.sum()) - np.repeat(np.cumsum(n1) - n1, n1))
    start1 = w.c_acq[c1] + k * 365
    renewed1 = np.where(k < np.repeat(k0 + ren, n1), 1.0, 0.0)
    # Second chain: won-back clients sign again and keep renewing.
    ret = w.c_return[cl]
    back = ret <= w.pe
    n2 = np.where(back, np.floor((w.pe - np.where(back, ret, 0)) / 365) + 1, 0).astype(np.int64)
    c2 = np.repeat(cl, n2)
    k2 = np.arange(n2.sum()) - np.repeat(np.cumsum(n2) - n2, n2)
    start2 = w.c_return[c2] + k2 * 365
    client = np.concatenate([c1, c2])
    start = np.concatenate([start1, start2])
    renewed = np.concatenate([renewed1, np.ones(len(c2))])
    end = start + 364
    renewed = np.where(end > w.pe, np.nan, renewed)
    order = np.lexsort((client, start))
    client, start, end, renewed = client[order], start[order], end[order], renewed[order]
    return build_frame(
        "contracts",
        {
            "contract_id": make_ids("K", len(client), 6),
            "client_id": w.cid[client],
            # the manager who decides the renewal: the client's owner when the term ends
            "manager_id": w.mid[w.owner(w.c_mgr[client], np.minimum(end, w.pe))],
            "start_date": start,
            "end_date": end,
            "renewed": renewed,
        },
    )


def contacts(w: World) -> pd.DataFrame:
    """Contacts inside B2B clients: a few at acquisition, more added over time.

    Example
    -------
    >>> import datetime as dt
    >>> from amtools.demo.company import managers
    >>> from amtools.demo.world import World
    >>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
    >>> _ = managers(w)
    >>> from amtools.demo.clients import clients_frame, draw_clients
    >>> draw_clients(w)
    >>> _ = clients_frame(w)
    >>> contacts(w).columns.tolist()
    ['contact_id', 'client_id', 'added_date', 'role']
    """
    rng = w.rng
    b2b = np.flatnonzero(w.c_b2b & ~np.isnan(w.c_acq))
    n0 = 1 + rng.poisson(1.2, len(b2b))
    c1 = np.repeat(b2b, n0)
    day1 = w.c_acq[c1]
    boost = np.exp(0.4 * w.trait("upsell"))[w.c_mgr]
    rate = np.where(w.c_b2b, 0.05 * boost, 0.0)
    c2, t2 = w.customer_events(rate, w.n_hist)
    day2 = w.day_in_month(t2)
    ok = ~w.in_gap(c2, day2) & (day2 <= w.pe)
    client = np.concatenate([c1, c2[ok]])
    day = np.concatenate([day1, day2[ok]])
    order = np.lexsort((client, day))
    client, day = client[order], day[order]
    role = np.array(CONTACT_ROLES)[rng.integers(0, len(CONTACT_ROLES), len(client))]
    return build_frame(
        "contacts",
        {
            "contact_id": make_ids("CT", len(client), 6),
            "client_id": w.cid[client],
            "added_date": day,
            "role": role,
        },
    )
