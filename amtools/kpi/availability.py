"""Which KPI cells can have a value: missing inputs of the source, periods before the data
or before a manager's hire date. A cell that cannot have one gets a reason, never 0 or 100 %.
"""

from __future__ import annotations

import numpy as np

from amtools.kpi.engine import Context
from amtools.kpi.prep import CHURN_COLUMN, equals, has_column, inferred_churn
from amtools.kpi.reasons import reason_code
from amtools.kpi.registry import KPIS

__all__ = [
    "INFERRED_CHURN",
    "NEEDS_LOST",
    "absent_cells",
    "has_lost_deals",
    "missing_input",
    "tenure_reasons",
]

INFERRED_CHURN = ("retention_rate", "churn_rate", "contact_frequency")
"""KPIs that rest on who is still a client: with no ``clients.churned_date`` they use the
inferred rule when ``churn_inactive_months`` is set (then they also need deal close dates)."""

NEEDS_LOST = frozenset({"conversion_rate"})
"""KPIs that compare won with lost deals: meaningless when the source records no lost deal."""


def missing_input(ctx: Context, kpi_id: str) -> str | None:
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
    if kpi_id in INFERRED_CHURN and inferred_churn(ctx):
        columns = [c for c in columns if c != CHURN_COLUMN] + ["deals.closed_date"]
    for tc in columns:
        if not has_column(ctx, tc):
            return reason_code("needs_column", column=tc)
    for group in kpi.needs_any:
        if not any(has_column(ctx, tc) for tc in group):
            return reason_code("needs_any_column", columns=list(group))
    if kpi_id in NEEDS_LOST and not has_lost_deals(ctx):
        # an export of orders (won deals only) would show a 100 % win rate for everyone
        return reason_code("needs_lost_deals")
    return None


def has_lost_deals(ctx: Context) -> bool:
    """The source records at least one lost deal (cached per call)."""
    key = "has:lost_deals"
    if key not in ctx.cache:
        deals = ctx.ds.get("deals")
        ctx.cache[key] = deals is not None and bool(equals(deals["stage"], "lost").any())
    return bool(ctx.cache[key])


def absent_cells(ctx: Context) -> np.ndarray | None:
    """Per group x period cell: why there can be no data, else None.

    A period that ends before the data starts (the first deal created or closed) is
    "before the data": a CRM export that begins in October has no honest 0 for the spring
    before it. At manager level, periods before ``managers.hire_date`` are "not yet hired"
    (:func:`_tenure`). Cells that still have events keep their value.
    """
    out = tenure_reasons(ctx) if ctx.level == "manager" else None
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


def tenure_reasons(ctx: Context) -> np.ndarray | None:
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
