"""Tests of the one active-client rule (amtools.kpi.clients) and of the KPI engine using it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amtools.core.dataset import Dataset
from amtools.kpi.clients import acquisition_dates, active_clients
from amtools.kpi.computation import compute_levels, kpi_settings
from amtools.kpi.engine import Context
from amtools.kpi.prep import Prep

AT = "2026-06-30 23:59:59"


def _ds(clients: dict, deals: dict | None = None) -> Dataset:
    cl = pd.DataFrame(clients)
    cl["manager_id"] = "m1"
    for col in ("acquired_date", "churned_date"):
        if col in cl:
            cl[col] = pd.to_datetime(cl[col], format="ISO8601")
    tables = {"clients": cl}
    if deals is not None:
        d = pd.DataFrame(deals)
        d["closed_date"] = pd.to_datetime(d["closed_date"], format="ISO8601")
        tables["deals"] = d
    return Dataset(tables)


def _active(ds: Dataset, at: str = AT, **kw: object) -> list[bool]:
    return active_clients(ds, at, **kw).tolist()  # type: ignore[arg-type]


def test_acquired_date_wins_over_the_first_won_deal() -> None:
    ds = _ds(
        {"client_id": ["a", "b", "c", "d"], "acquired_date": ["2026-07-15", None, None, None]},
        {
            "client_id": ["a", "b", "c", "c"],
            "stage": ["won", "won", "lost", "won"],
            "closed_date": ["2026-01-10", "2026-02-01", "2026-01-01", "2026-08-01"],
        },
    )
    acq = acquisition_dates(ds).dt.strftime("%Y-%m-%d").fillna("-").tolist()
    # a: its acquired_date (after its won deal); b: first won deal; c: a lost deal does not
    # acquire, its won deal does; d: neither
    assert acq == ["2026-07-15", "2026-02-01", "2026-08-01", "-"]
    assert _active(ds) == [False, True, False, False]
    assert _active(ds, "2026-09-30") == [True, True, True, False]


def test_churn_date_ends_activity_from_that_instant() -> None:
    ds = _ds(
        {
            "client_id": ["a", "b", "c"],
            "acquired_date": ["2026-01-01"] * 3,
            "churned_date": ["2026-03-01", "2026-06-30 23:59:59", None],
        }
    )
    # churned before the instant: lost; churned at the instant itself: still active
    assert _active(ds) == [False, True, True]
    assert _active(ds, "2026-02-28") == [True, True, True]


def test_a_won_deal_after_the_churn_date_wins_the_client_back() -> None:
    ds = _ds(
        {
            "client_id": ["a", "b", "c"],
            "acquired_date": ["2025-01-01"] * 3,
            "churned_date": ["2026-01-01"] * 3,
        },
        {
            "client_id": ["a", "b", "c"],
            "stage": ["won", "won", "won"],
            # a: won back before the instant; b: after it; c: a deal before the churn
            "closed_date": ["2026-04-01", "2026-08-01", "2025-12-01"],
        },
    )
    assert _active(ds) == [True, False, False]
    assert _active(ds, "2026-09-30") == [True, True, False]


def test_inferred_rule_uses_the_last_won_deal_or_acquisition() -> None:
    clients = {
        "client_id": ["a", "b", "c", "d"],
        "acquired_date": ["2024-01-01", "2024-01-01", "2026-03-10", None],
    }
    deals = {
        "client_id": ["a", "b", "b", "d"],
        "stage": ["won", "won", "lost", "won"],
        # a: won 2026-02 (within 6 months of June); b: won 2025-10, lost since (a lost deal
        # is no sign of a client); c: acquired in March; d: its only won deal after the instant
        "closed_date": ["2026-02-15", "2025-10-01", "2026-05-01", "2026-07-02"],
    }
    ds = _ds(clients, deals)
    # at the end of 2026-06-30 the window starts 2026-01-01 (July 1 minus 6 months)
    assert _active(ds, churn_inactive_months=6) == [True, False, True, False]
    assert _active(ds, churn_inactive_months=9) == [True, True, True, False]
    # churn dates recorded: the inferred rule does not apply
    with_churn = _ds({**clients, "churned_date": [None, None, None, "2026-01-01"]}, deals)
    assert _active(with_churn, churn_inactive_months=6) == [True, True, True, False]


# -- the KPI engine applies the same rule -----------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Dataset:
    from amtools.demo import make_demo

    return make_demo(seed=0, n_managers=10)


def _prep(ds: Dataset, **params: object) -> Prep:
    ctx = Context(ds, "Q", None, 1, "manager", kpi_settings(params))
    return Prep(ctx)


def test_engine_active_clients_match_the_rule_at_a_quarter_end(demo: Dataset) -> None:
    end = pd.Period("2026Q3", "Q").end_time
    expected = active_clients(demo, end)
    assert int(expected.sum()) == 1888
    engine = _prep(demo).active_at(np.datetime64("2026-10-01", "ns"))  # exclusive end of Q3
    assert engine.tolist() == expected.tolist()


def test_engine_retention_inputs_agree_with_active_clients(demo: Dataset) -> None:
    q2_end = pd.Period("2026Q2", "Q").end_time
    q3_end = pd.Period("2026Q3", "Q").end_time
    at_start, at_end = active_clients(demo, q2_end), active_clients(demo, q3_end)
    tables = compute_levels(demo, "Q", ["2026Q3"], levels=("manager", "company"))
    company = tables["company"].set_index("kpi")
    # base: clients active at the period start; kept: still active at its end
    assert company.loc["retention_rate", "n"] == int(at_start.sum())
    kept = int((at_start & at_end).sum())
    assert company.loc["retention_rate", "value"] * int(at_start.sum()) == pytest.approx(kept)
    per_manager = at_start.groupby(demo.clients["manager_id"].astype("string")).sum()
    managers = tables["manager"][tables["manager"]["kpi"] == "retention_rate"]
    got = managers.set_index("manager_id")["n"].astype(int)
    assert got.to_dict() == {m: int(per_manager.get(m, 0)) for m in got.index}


def test_engine_inferred_rule_matches_active_clients(demo: Dataset) -> None:
    ds = demo.replace(clients=demo.clients.assign(churned_date=pd.NaT))
    prep = _prep(ds, churn_inactive_months=6)
    assert prep.lapse_months == 6
    for period in ("2026Q1", "2026Q3"):
        end = pd.Period(period, "Q").end_time
        expected = active_clients(ds, end, churn_inactive_months=6)
        instant = np.datetime64((pd.Period(period, "Q") + 1).start_time, "ns")
        assert prep.active_at(instant).tolist() == expected.tolist()
