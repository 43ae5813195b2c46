"""Who is a client at a date: the one definition of an *active client*.

The KPI engine (retention, churn, contact frequency), the budget's per-client marketing cost
and the team review's clients per manager all count active clients with this rule:

- a client is acquired on ``clients.acquired_date``, or, where that is empty, on the close
  date of its first won deal; a client with neither has not been acquired yet;
- it is active at instant ``t`` when it was acquired before ``t`` and has not churned by
  then: ``churned_date`` is empty or not before ``t``, or a won deal after the churn date
  (a win-back) came before ``t``;
- with no churn dates at all and ``churn_inactive_months`` = N set in ``params/policy/kpi.yaml``
  (the inferred rule), a client is active at ``t`` when it won a deal, or was acquired, in
  the N months before ``t``.

The rule is written here once, on arrays (:func:`acquired_at`, :func:`is_win_back`,
:func:`active_mask`, :func:`active_during_mask`, :func:`inferred_active_mask`); :func:`active_clients` applies it to a dataset and the KPI
engine (``amtools.kpi.prep``) to its vectorised per-client arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.settings.kpi import KpiSettings

_FROM_SETTINGS: Any = object()
"""Default of ``churn_inactive_months``: take it from the KPI settings."""

__all__ = [
    "acquired_at",
    "acquisition_dates",
    "active_clients",
    "active_during_mask",
    "active_mask",
    "inferred_active_mask",
    "is_win_back",
    "lapse_start",
]


def _dates(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[ns]")


def _won(ds: Dataset) -> pd.DataFrame:
    deals = ds.get("deals")
    if deals is None or "closed_date" not in deals.columns:
        return pd.DataFrame(
            {"client_id": pd.Series(dtype="string"), "closed": pd.Series(dtype="datetime64[ns]")}
        )
    won = deals[(deals["stage"].astype("string") == "won") & deals["closed_date"].notna()]
    return pd.DataFrame(
        {
            "client_id": won["client_id"].astype("string"),
            "closed": pd.to_datetime(won["closed_date"]),
        }
    ).dropna(subset=["client_id"])


def _lookup(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """``values`` (datetimes by client id) for each id, NaT where absent."""
    keyed = pd.Series(pd.to_datetime(values.to_numpy()), index=values.index.astype("string"))
    return keyed.reindex(ids.astype("string").to_numpy()).to_numpy(dtype="datetime64[ns]")


def acquired_at(acquired_date: np.ndarray, first_won: np.ndarray) -> np.ndarray:
    """Acquisition instants: ``acquired_date``, else the first won deal's close (NaT: neither).

    Example
    -------
    >>> a = np.array(["2026-01-05", "NaT"], dtype="datetime64[ns]")
    >>> w = np.array(["2026-02-01", "2026-03-01"], dtype="datetime64[ns]")
    >>> acquired_at(a, w).astype("datetime64[D]").tolist()
    [datetime.date(2026, 1, 5), datetime.date(2026, 3, 1)]
    """
    return np.where(np.isnat(acquired_date), first_won, acquired_date)


def is_win_back(closed: np.ndarray, churned: np.ndarray) -> np.ndarray:
    """Won deals (close instants) that win back a client: closed strictly after its churn date.

    Example
    -------
    >>> c = np.array(["2026-03-01", "2026-03-01"], dtype="datetime64[ns]")
    >>> is_win_back(c, np.array(["2026-02-01", "NaT"], dtype="datetime64[ns]")).tolist()
    [True, False]
    """
    return ~np.isnat(churned) & (closed > churned)


def acquisition_dates(ds: Dataset) -> pd.Series:
    """Each client's acquisition date: ``acquired_date``, else its first won deal's close date.

    Returns a datetime Series aligned with ``ds.clients`` (NaT: not acquired yet).

    Example
    -------
    >>> clients = pd.DataFrame({"client_id": ["c1", "c2"], "acquired_date": [pd.Timestamp("2026-01-05"), pd.NaT]})
    >>> deals = pd.DataFrame({"client_id": ["c2"], "stage": ["won"], "closed_date": [pd.Timestamp("2026-03-01")]})
    >>> acquisition_dates(Dataset({"clients": clients, "deals": deals})).dt.strftime("%Y-%m-%d").tolist()
    ['2026-01-05', '2026-03-01']
    """
    clients = ds.clients
    first = _won(ds).groupby("client_id")["closed"].min()
    fallback = _lookup(first, clients["client_id"])
    return pd.Series(acquired_at(_dates(clients, "acquired_date"), fallback), index=clients.index)


def active_mask(
    acquired: np.ndarray,
    churned: np.ndarray,
    won_back: np.ndarray,
    at: np.datetime64 | pd.Timestamp,
) -> np.ndarray:
    """The rule on arrays (datetime64[ns], NaT where unknown): active at instant ``at``.

    Example
    -------
    >>> nat = np.datetime64("NaT", "ns")
    >>> acq = np.array(["2026-01-01", "2026-01-01", "NaT"], dtype="datetime64[ns]")
    >>> churn = np.array(["NaT", "2026-02-01", "NaT"], dtype="datetime64[ns]")
    >>> active_mask(acq, churn, np.array([nat] * 3), np.datetime64("2026-03-01", "ns")).tolist()
    [True, False, False]
    """
    return active_during_mask(acquired, churned, won_back, at, at)


def active_during_mask(
    acquired: np.ndarray,
    churned: np.ndarray,
    won_back: np.ndarray,
    start: np.datetime64 | pd.Timestamp,
    end: np.datetime64 | pd.Timestamp,
) -> np.ndarray:
    """Active at some instant of ``[start, end)``: acquired before ``end`` and not lost by
    ``start`` (or won back before ``end``). With ``start == end``: :func:`active_mask`.

    Example
    -------
    >>> acq = np.array(["2026-01-01"], dtype="datetime64[ns]")
    >>> churn = np.array(["2026-02-01"], dtype="datetime64[ns]")
    >>> nat = np.array(["NaT"], dtype="datetime64[ns]")
    >>> active_during_mask(acq, churn, nat, np.datetime64("2026-01-15"), np.datetime64("2026-03-01")).tolist()
    [True]
    """
    t0, t1 = pd.Timestamp(start).to_datetime64(), pd.Timestamp(end).to_datetime64()
    acquired_before = ~np.isnat(acquired) & (acquired < t1)
    not_lost = np.isnat(churned) | (churned >= t0) | (~np.isnat(won_back) & (won_back < t1))
    return acquired_before & not_lost


def lapse_start(at: np.datetime64 | pd.Timestamp, months: int) -> np.datetime64:
    """The inferred rule's window start: ``months`` months before the month boundary at or
    after ``at`` (for a period's ``end_time``: before the next period's start, so a period end
    and the next period's start give the same window).

    Example
    -------
    >>> str(lapse_start(pd.Timestamp("2026-09-30 23:59:59"), 6))
    '2026-04-01T00:00:00.000000000'
    >>> str(lapse_start(np.datetime64("2026-10-01"), 6))
    '2026-04-01T00:00:00.000000000'
    """
    t = pd.Timestamp(at).to_datetime64().astype("datetime64[ns]")
    month = t.astype("datetime64[M]")
    if month.astype("datetime64[ns]") < t:
        month = month + np.timedelta64(1, "M")
    return (month - np.timedelta64(int(months), "M")).astype("datetime64[ns]")


def inferred_active_mask(
    last_event: np.ndarray, at: np.datetime64 | pd.Timestamp, months: int
) -> np.ndarray:
    """The inferred rule: active at ``at`` when the client's last won deal or acquisition
    strictly before ``at`` (``last_event``, NaT: none) lies in the ``months`` months before.

    Example
    -------
    >>> last = np.array(["2026-05-10", "2025-12-31", "NaT"], dtype="datetime64[ns]")
    >>> inferred_active_mask(last, np.datetime64("2026-07-01"), 6).tolist()
    [True, False, False]
    """
    return ~np.isnat(last_event) & (last_event >= lapse_start(at, months))


def active_clients(
    ds: Dataset,
    at: pd.Timestamp | str,
    *,
    churn_inactive_months: Any = _FROM_SETTINGS,
) -> pd.Series:
    """Whether each client of ``ds.clients`` is active at instant ``at``.

    Parameters
    ----------
    ds : a dataset with a clients table (deals give acquisition and win-back dates).
    at : the instant; pass ``period.end_time`` for "at the end of the period".
    churn_inactive_months : the inferred rule's N, used only when ``clients.churned_date``
        has no value at all (as the KPI engine does); by default the value of
        ``params/policy/kpi.yaml``, so every caller counts as the KPIs do. ``None``: never infer.

    Returns
    -------
    Boolean Series aligned with ``ds.clients``.

    Example
    -------
    >>> clients = pd.DataFrame({"client_id": ["c1", "c2", "c3"], "manager_id": ["m1"] * 3,
    ...     "acquired_date": pd.to_datetime(["2026-01-05", "2026-01-05", None]),
    ...     "churned_date": pd.to_datetime([None, "2026-02-01", None])})
    >>> active_clients(Dataset({"clients": clients}), "2026-03-31").tolist()
    [True, False, False]
    """
    if churn_inactive_months is _FROM_SETTINGS:
        churn_inactive_months = KpiSettings.load().churn_inactive_months
    clients = ds.clients
    t = pd.Timestamp(at).to_datetime64()
    acq = acquisition_dates(ds).to_numpy(dtype="datetime64[ns]")
    churn = _dates(clients, "churned_date")
    won = _won(ds)
    ids = clients["client_id"].astype("string")
    if churn_inactive_months is not None and np.isnat(churn).all():
        events = pd.concat(
            [won, pd.DataFrame({"client_id": ids, "closed": acq})], ignore_index=True
        ).dropna()
        events = events[events["closed"] < pd.Timestamp(t)]
        last = _lookup(events.groupby("client_id")["closed"].max(), ids)
        active = inferred_active_mask(last, t, int(churn_inactive_months))
        return pd.Series(active, index=clients.index)
    churn_of = pd.Series(churn, index=ids.to_numpy()).groupby(level=0).first()
    after = won.assign(churn=_lookup(churn_of, won["client_id"]))
    after = after[
        is_win_back(
            after["closed"].to_numpy("datetime64[ns]"), after["churn"].to_numpy("datetime64[ns]")
        )
    ]
    won_back = _lookup(after.groupby("client_id")["closed"].min(), ids)
    return pd.Series(active_mask(acq, churn, won_back, t), index=clients.index)
