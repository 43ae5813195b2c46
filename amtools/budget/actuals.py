"""Plan vs actual: the quotas against the revenue of deals won, month by month, year to date."""

from __future__ import annotations

import pandas as pd

from amtools.budget.inputs import data_error, managers_frame
from amtools.budget.planner import LEVEL_KEYS, BudgetPlan
from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError

__all__ = ["plan_vs_actual", "won_revenue"]


COLUMNS = [
    "month",
    "plan",
    "actual",
    "variance",
    "variance_pct",
    "plan_ytd",
    "actual_ytd",
    "month_complete",
]


def won_revenue(dataset: Dataset) -> pd.DataFrame:
    """Won deals as [manager_id, closed, actual] (amount, 0 where empty); dated ones only.

    Without deals (or closed dates) the frame is empty with columns [manager_id, month, actual].

    Example
    -------
    >>> deals = pd.DataFrame({"manager_id": ["m1", "m1"], "stage": ["won", "lost"],
    ...     "amount": [100.0, 50.0], "closed_date": pd.to_datetime(["2027-01-05", "2027-01-06"])})
    >>> won_revenue(Dataset({"deals": deals}))["actual"].tolist()
    [100.0]
    """
    deals = dataset.get("deals")
    if deals is None or "closed_date" not in deals.columns:
        return pd.DataFrame(
            {
                "manager_id": pd.Series(dtype="string"),
                "month": pd.Series(dtype="datetime64[ns]"),
                "actual": pd.Series(dtype="float64"),
            }
        )
    is_won = (deals["stage"].astype("string") == "won").fillna(False).to_numpy()
    d = deals[is_won]
    won = pd.DataFrame(
        {
            "manager_id": d["manager_id"].astype("string").to_numpy(),
            "closed": pd.to_datetime(d["closed_date"]).to_numpy(),
            "actual": pd.to_numeric(d["amount"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )
    return won.dropna(subset=["closed"])


def _asof(dataset: Dataset, won: pd.DataFrame, asof: pd.Timestamp | str | None) -> pd.Timestamp:
    """The last date counted: ``asof``, else the data's period end, else the last won deal."""
    if asof is None:
        asof = dataset.meta.get("period_end")
        if asof is None:
            asof = (
                won["closed"].max()
                if "closed" in won.columns and len(won)
                else pd.Timestamp.today()
            )
    return pd.Timestamp(asof).normalize()


def _manager_months(
    quotas: pd.DataFrame, won: pd.DataFrame, months: list[pd.Timestamp], asof_ts: pd.Timestamp
) -> pd.DataFrame:
    """Plan and actual per manager and month, on the full manager x month grid."""
    first = pd.Timestamp(months[0])
    if "closed" in won.columns:
        in_range = (won["closed"] >= first) & (won["closed"] <= asof_ts)
        won = won[in_range]
        won = won.assign(month=won["closed"].dt.to_period("M").dt.start_time)
        actual = won.groupby(["manager_id", "month"])["actual"].sum().reset_index()
    else:
        actual = won
    planned = (
        quotas[quotas["month"].isin(months)]
        .groupby(["manager_id", "month"])["quota"]
        .sum()
        .reset_index()
    )
    planned = planned.rename(columns={"quota": "plan"})
    out = planned.merge(actual, on=["manager_id", "month"], how="outer")
    # Fill the manager x month grid so YTD sums and variances exist for every month.
    grid = pd.MultiIndex.from_product(
        [sorted(out["manager_id"].astype(str).unique()), months], names=["manager_id", "month"]
    ).to_frame(index=False)
    grid["manager_id"] = grid["manager_id"].astype("string")
    out = grid.merge(out, on=["manager_id", "month"], how="left")
    out["plan"] = out["plan"].astype("float64").fillna(0.0)
    out["actual"] = out["actual"].astype("float64").fillna(0.0)
    return out


def plan_vs_actual(
    plan_or_quotas: BudgetPlan | pd.DataFrame,
    dataset: Dataset,
    *,
    asof: pd.Timestamp | str | None = None,
    level: str = "manager",
) -> pd.DataFrame:
    """Plan vs actual won revenue by month and manager (or team, segment, company), year to date.

    The quotas' months up to ``asof`` are compared with the revenue of deals won in each
    month. Managers with actuals but no quota (e.g. left or unplanned) appear with plan 0,
    so the totals equal the company's won revenue.

    Parameters
    ----------
    plan_or_quotas : a :class:`BudgetPlan` or its ``quotas`` frame [manager_id, month, quota, ...].
    dataset : the Dataset with deals (and managers for segment/team).
    asof : last date counted; default ``dataset.meta["period_end"]``, else the last won deal's date.
    level : ``manager`` (default), ``team``, ``segment`` or ``company``: the rows' grain.

    Returns
    -------
    DataFrame month, <level keys: segment, team, manager_id as applicable>, plan, actual,
    variance (actual - plan), variance_pct (variance / plan; NaN where plan is 0), plan_ytd,
    actual_ytd, month_complete. Empty (same columns) when ``asof`` is before the plan's
    first month.

    Example
    -------
    >>> plan_vs_actual(budget, ds, asof="2027-03-31")  # doctest: +SKIP
    """
    if level not in LEVEL_KEYS:
        raise ParameterError(f"level must be one of {', '.join(LEVEL_KEYS)}, got {level!r}")
    keys = LEVEL_KEYS[level]
    quotas = plan_or_quotas.quotas if isinstance(plan_or_quotas, BudgetPlan) else plan_or_quotas
    missing = [c for c in ("manager_id", "month", "quota") if c not in quotas.columns]
    if missing:
        raise data_error(
            "quotas",
            ", ".join(missing),
            "missing_column",
            f"quotas lack {missing}",
            len(quotas),
            fix="pass a BudgetPlan or its .quotas frame",
        )
    managers = managers_frame(dataset)
    won = won_revenue(dataset)
    asof_ts = _asof(dataset, won, asof)
    q = quotas[["manager_id", "month", "quota"]].copy()
    q["manager_id"] = q["manager_id"].astype("string")
    q["month"] = pd.to_datetime(q["month"]).dt.to_period("M").dt.start_time
    months = sorted(m for m in q["month"].unique() if pd.Timestamp(m) <= asof_ts)
    columns = [COLUMNS[0], *keys, *COLUMNS[1:]]
    if not months:
        empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
        dtypes = {"month": "datetime64[ns]", "month_complete": "boolean"}
        return empty.astype(dtypes | dict.fromkeys(keys, "string"))
    out = _manager_months(q, won, months, asof_ts)
    out = out.merge(managers[["manager_id", "segment", "team"]], on="manager_id", how="left")
    if level != "manager":
        by = [*keys, "month"]
        out = out.groupby(by, dropna=False)[["plan", "actual"]].sum().reset_index()
    out["variance"] = out["actual"] - out["plan"]
    out["variance_pct"] = (out["variance"] / out["plan"]).where(out["plan"] > 0)
    out = out.sort_values([*keys, "month"])
    if keys:
        group = out.groupby(keys, dropna=False)
        out["plan_ytd"] = group["plan"].cumsum()
        out["actual_ytd"] = group["actual"].cumsum()
    else:
        out["plan_ytd"] = out["plan"].cumsum()
        out["actual_ytd"] = out["actual"].cumsum()
    last = pd.Timestamp(months[-1])
    month_end = last + pd.offsets.MonthEnd(0)
    out["month_complete"] = pd.array(
        [(m < last) or (asof_ts >= month_end) for m in out["month"]], dtype="boolean"
    )
    out = out.sort_values(["month", *keys], na_position="last")
    return out[columns].reset_index(drop=True)
