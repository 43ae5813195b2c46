"""The demo's sales: deals (new business, win-back, repeat business), proposals, projects.

:func:`deals` must run after :func:`amtools.demo.clients.clients_frame` (it needs the client
ids); it keeps the deals' columns on the world (``w.d``, ``w.did``) for :func:`proposals` and
:func:`projects`.

Example
-------
>>> import datetime as dt
>>> from amtools.demo.clients import clients_frame, draw_clients
>>> from amtools.demo.company import managers
>>> w = World(0, 4, dt.date(2026, 11, 26), 1, 0.2)
>>> _ = managers(w)
>>> draw_clients(w)
>>> _ = clients_frame(w)
>>> sorted(deals(w)["stage"].unique())
['lost', 'open', 'won']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.demo.catalog import (
    B2B,
    B2C,
    COMPETITOR_REASONS,
    COMPETITORS,
    LOST_MIX,
    LOST_REASONS,
    PRODUCTS,
    PROJECT_PRODUCTS,
    SEG,
)
from amtools.demo.frames import Labels, build_frame, make_ids, str_or_na
from amtools.demo.world import World, choice_rows, logit, sigmoid

__all__ = ["deals", "proposals", "projects"]


def deals(w: World) -> pd.DataFrame:
    """The ``deals`` table: every lead, win-back and repeat-business opportunity, by creation day.

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
    >>> sorted(deals(w)["stage"].unique())
    ['lost', 'open', 'won']
    """
    ec, e_close, e_created, e_won = _repeat_business(w)
    wc, w_close, w_created = _win_backs(w)
    lead = w.lead
    client = np.concatenate([lead["client"], wc, ec])
    n_new = len(lead["client"]) + len(wc)
    is_lead = np.arange(len(client)) < n_new
    close = np.concatenate([lead["close"], w_close, e_close])
    created = np.concatenate([lead["created"], w_created, e_created])
    won = np.concatenate([lead["won"], np.ones(len(wc), bool), e_won])
    order = np.lexsort((close, created))
    client, is_lead, close, created, won = (
        a[order] for a in (client, is_lead, close, created, won)
    )
    nd = len(client)
    b2b = w.c_b2b[client]
    closed = close <= w.pe
    stage = np.where(closed, np.where(won, "won", "lost"), "open")
    mgr = w.owner(w.c_mgr[client], np.minimum(close, w.pe))
    product, list_price, discount, amount, cost = _prices(w, client, is_lead, close, mgr)
    lost, reason, has_comp, comp_i = _lost_outcomes(w, stage, b2b, close)

    # Open pipeline: probability informed by the eventual outcome, expected close within 6 months.
    rng = w.rng
    is_open = stage == "open"
    prob = np.where(won, rng.beta(4.5, 2.5, nd), rng.beta(2.0, 4.0, nd))
    prob = np.clip(np.round(prob * 20) / 20, 0.05, 0.95)
    jitter = np.round(rng.normal(0, np.where(b2b, 20, 7), nd))
    expected = np.clip(close + jitter, w.pe + 7, w.pe + 183)

    w.d = {
        "client": client,
        "mgr": mgr,
        "b2b": b2b,
        "created": created,
        "close": close,
        "stage": stage,
        "amount": amount,
        "list": list_price,
        "discount": discount,
        "cost": cost,
        "product": product,
        "is_lead": is_lead,
    }
    w.did = Labels(make_ids("D", nd, 7))
    return build_frame(
        "deals",
        {
            "deal_id": w.did.column(),
            "client_id": w.cid[client],
            "manager_id": w.mid[mgr],
            "stage": stage,
            "amount": amount,
            "created_date": created,
            "closed_date": np.where(closed, close, np.nan),
            "product": np.array(list(PRODUCTS))[product],
            "cost": cost,
            "discount": discount,
            "probability": np.where(is_open, prob, np.nan),
            "expected_close_date": np.where(is_open, expected, np.nan),
            "lost_reason": str_or_na(reason, lost),
            "competitor": str_or_na(np.array(COMPETITORS)[comp_i], has_comp),
        },
    )


def _repeat_business(w: World) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deals with existing clients, month by month while they are customers: (client, close, created, won)."""
    rng = w.rng
    rate = w.seg_param("deal_rate", w.c_b2b) * np.exp(0.15 * w.trait("upsell")[w.c_mgr])
    rate = rate * w.c_size**0.25
    # Good up-sellers grow their accounts over time (revenue growth from existing clients).
    t_years = np.arange(w.n_months)[None, :] / 12.0
    upsell = w.trait("upsell")[w.c_mgr[w.customers]][:, None]
    factor = w.intensity[None, :] * np.exp(0.04 * upsell * t_years)
    ec, et = w.customer_events(rate, w.n_months, factor)
    e_close = w.day_in_month(et)
    ok = ~w.in_gap(ec, e_close)
    ec, e_close = ec[ok], e_close[ok]
    e_b2b = w.c_b2b[ec]
    sigma = w.seg_param("cycle_sigma", e_b2b)
    cycle = np.floor(
        np.exp(np.log(w.seg_param("exist_cycle", e_b2b)) + sigma * rng.normal(size=len(ec)))
    )
    e_created = np.maximum(e_close - cycle, np.where(w.c_acq[ec] < w.s0, -np.inf, w.c_acq[ec]))
    keep = e_created <= w.pe
    ec, e_close, e_created = ec[keep], e_close[keep], e_created[keep]
    mgr_e = w.c_mgr[ec]
    p_exist = sigmoid(
        np.where(w.c_b2b[ec], logit(SEG[B2B]["exist_win"]), logit(SEG[B2C]["exist_win"]))
        + 0.45 * w.trait("closing")[mgr_e]
        + 0.15 * w.trait("negotiation")[mgr_e]
    )
    e_won = rng.random(len(ec)) < p_exist
    return ec, e_close, e_created, e_won


def _win_backs(w: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Win-back deals: won when the lost client returns (open if that is still ahead)."""
    wc = np.flatnonzero(np.isfinite(w.c_return))
    w_close = w.c_return[wc]
    w_b2b = w.c_b2b[wc]
    sigma = w.seg_param("cycle_sigma", w_b2b)
    cycle = np.floor(
        np.exp(np.log(w.seg_param("lead_cycle", w_b2b)) + sigma * w.rng.normal(size=len(wc)))
    )
    w_created = np.maximum(w_close - cycle, w.c_churn[wc])
    keep = w_created <= w.pe
    return wc[keep], w_close[keep], w_created[keep]


def _prices(
    w: World, client: np.ndarray, is_lead: np.ndarray, close: np.ndarray, mgr: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Each deal's product, list price, discount, amount and cost of goods."""
    rng, nd = w.rng, len(client)
    b2b = w.c_b2b[client]
    neg = w.trait("negotiation")
    # Product: a new client's first line, else one of the client's preferred lines.
    pick = np.where(is_lead, 0, np.floor(rng.random(nd) * w.c_breadth[client]).astype(np.int64))
    product = w.c_pref[client, pick]
    price = np.array([p["price"] for p in PRODUCTS.values()])
    cost_ratio = np.array([p["cost"] for p in PRODUCTS.values()])
    years = (np.minimum(close, w.pe) - w.s0) / 365.25
    list_price = (
        w.seg_param("base_amount", b2b)
        * price[product]
        * w.c_size[client]
        * np.exp(w.seg_param("noise_sigma", b2b) * rng.normal(size=nd))
        * 1.04**years
    )
    # B2C sells from a fixed price list (tariffs ending in 90); B2B prices are negotiated.
    tariff = np.maximum(np.round(list_price / 500) * 500 - 10, 490)
    list_price = np.where(b2b, np.round(list_price, -2), tariff)
    d_b2b = rng.beta(2.2, 16, nd) * np.exp(-0.35 * neg[mgr]) * (1 + 0.25 * np.log(w.c_size[client]))
    d_b2b = np.where(rng.random(nd) < SEG[B2B]["disc_share"], np.clip(d_b2b, 0, 0.35), 0.0)
    d_b2c = np.where(
        rng.random(nd) < SEG[B2C]["disc_share"],
        rng.choice([0.05, 0.10, 0.15], size=nd, p=[0.5, 0.35, 0.15]),
        0.0,
    )
    discount = np.round(np.where(b2b, d_b2b, d_b2c) / 0.005) * 0.005
    amount = np.where(
        b2b,
        np.round(list_price * (1 - discount), -2),
        np.round(list_price * (1 - discount), -1),
    )
    cost = np.round(list_price * cost_ratio[product] * np.exp(0.08 * rng.normal(size=nd)), -1)
    return product, list_price, discount, amount, cost


def _lost_outcomes(
    w: World, stage: np.ndarray, b2b: np.ndarray, close: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lost deals: a reason, and the competitor that won where one did (lost, reason, named, which)."""
    rng, nd = w.rng, len(stage)
    lost = stage == "lost"
    reason_i = np.where(
        b2b,
        rng.choice(len(LOST_REASONS), size=nd, p=LOST_MIX[B2B]),
        rng.choice(len(LOST_REASONS), size=nd, p=LOST_MIX[B2C]),
    )
    reason = np.array(LOST_REASONS)[reason_i]
    has_comp = lost & np.isin(reason, COMPETITOR_REASONS)
    frac = np.clip((close[has_comp] - w.s0) / max(w.pe - w.s0, 1), 0, 1)
    comp_w = np.tile(np.array([0.28, 0.24, 0.12, 0.20, 0.16]), (len(frac), 1))
    comp_w[:, 2] *= 1 + 2.5 * frac  # Polaris Networks is gaining share
    comp_i = np.zeros(nd, dtype=np.int64)
    comp_i[has_comp] = choice_rows(rng, comp_w)
    return lost, reason, has_comp, comp_i


def proposals(w: World) -> pd.DataFrame:
    """Commercial proposals: most B2B and some B2C deals get one, sent while the deal is open.

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
    >>> from amtools.demo.deals import deals
    >>> _ = deals(w)
    >>> bool(proposals(w)["outcome"].isin(["won", "lost", "pending"]).all())
    True
    """
    rng, d = w.rng, w.d
    nd = len(d["client"])
    has = rng.random(nd) < np.where(d["b2b"], 0.9, 0.3)
    span = np.minimum(d["close"], w.pe) - d["created"]
    sent = d["created"] + np.floor(rng.random(nd) * 0.7 * np.maximum(span, 0))
    has &= sent <= w.pe
    idx = np.flatnonzero(has)
    outcome = np.where(d["stage"] == "open", "pending", d["stage"])[idx]
    offered = np.round(d["list"] * (1 - d["discount"] / 2), -1)[idx]
    return build_frame(
        "proposals",
        {
            "proposal_id": make_ids("P", len(idx), 7),
            "manager_id": w.mid[w.owner(d["mgr"][idx], sent[idx])],
            "client_id": w.cid[d["client"][idx]],
            "sent_date": sent[idx],
            "amount": offered,
            "outcome": outcome,
            "deal_id": w.did[idx],
        },
    )


def projects(w: World) -> pd.DataFrame:
    """Implementation projects of won project-type deals; on time and on budget with ``delivery``.

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
    >>> from amtools.demo.deals import deals
    >>> _ = deals(w)
    >>> projects(w).columns[:3].tolist()
    ['project_id', 'client_id', 'manager_id']
    """
    rng, d = w.rng, w.d
    names = np.array(list(PRODUCTS))
    candidate = (d["stage"] == "won") & np.isin(names[d["product"]], PROJECT_PRODUCTS)
    candidate &= rng.random(len(candidate)) < w.seg_param("project_share", d["b2b"])
    idx = np.flatnonzero(candidate)
    n = len(idx)
    mgr = d["mgr"][idx]
    delivery = w.trait("delivery")[mgr]
    b2b = d["b2b"][idx]
    planned = d["close"][idx] + np.ceil(
        np.exp(np.log(w.seg_param("project_days", b2b)) + 0.4 * rng.normal(size=n))
    )
    on_time = rng.random(n) < sigmoid(0.9 + 0.9 * delivery)
    delay = np.where(
        on_time,
        -np.floor(rng.uniform(0, 6, n)),
        np.ceil(np.exp(np.log(12) + 0.7 * rng.normal(size=n))),
    )
    actual = planned + delay
    budget = np.round(d["amount"][idx] * rng.uniform(0.2, 0.35, n), -2)
    overrun = rng.normal(0.03 - 0.06 * delivery, 0.07)
    actual_cost = np.round(budget * np.maximum(0.5, 1 + overrun), -2)
    quality = np.clip(np.round(3.8 + 0.55 * delivery + 0.7 * rng.normal(size=n)), 1, 5)
    done = actual <= w.pe
    # a leaver's running projects pass to the successor with the client
    owner = w.owner(mgr, np.minimum(actual, w.pe))
    return build_frame(
        "projects",
        {
            "project_id": make_ids("PRJ", n, 5),
            "client_id": w.cid[d["client"][idx]],
            "manager_id": w.mid[owner],
            "planned_end": planned,
            "actual_end": np.where(done, actual, np.nan),
            "budget": budget,
            "actual_cost": np.where(done, actual_cost, np.nan),
            "quality": np.where(done, quality, np.nan),
        },
    )
