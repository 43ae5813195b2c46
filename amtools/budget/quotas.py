"""Quotas and revenue scenarios: from the managers' forecasts to annual and monthly quotas.

Inactive managers' forecasts go to the active managers of their team; quotas are set
bottom-up (forecast x (1 + uplift)) or top-down (a target shared by the forecast), phased
by the forecast's seasonality; scenarios scale the base forecast by the interval bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from amtools.budget.policy import PLAN_SCENARIO, SOURCE, BudgetPolicy
from amtools.core.errors import PolicyError
from amtools.core.messages import Message

__all__ = [
    "annual_quotas",
    "monthly_quotas",
    "phasing_profile",
    "reallocate_inactive",
    "revenue_scenarios",
    "scenario_values",
]


def reallocate_inactive(
    values: pd.DataFrame, managers: pd.DataFrame, months: list[pd.Timestamp], notes: list[Message]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Move inactive managers' forecasts to active managers of the same team.

    Each inactive manager's monthly forecast (every column) goes to the active managers of
    their team in proportion to those managers' annual base forecast (equally if that is 0);
    a team without active managers hands over to its segment, a segment without any to the
    whole company. Totals are preserved.

    Example
    -------
    >>> base, moves = reallocate_inactive(values, managers, months, notes)  # doctest: +SKIP
    """
    active_ids = managers.loc[managers["active"], "manager_id"].tolist()
    if not active_ids:
        raise PolicyError(
            "no active managers: every manager is marked inactive (managers.active), so nobody "
            "can carry a quota. Mark current managers active=true."
        )
    full = pd.MultiIndex.from_product(
        [managers["manager_id"].tolist(), months], names=["manager_id", "month"]
    )
    cube = values.set_index(["manager_id", "month"]).reindex(full, fill_value=0.0)
    annual = cube["yhat"].groupby(level="manager_id").sum()
    active = managers[managers["active"]]
    by_team = active.groupby(["segment", "team"])["manager_id"].apply(list).to_dict()
    by_segment = active.groupby("segment")["manager_id"].apply(list).to_dict()
    position = {mid: k for k, mid in enumerate(active_ids)}
    inactive = managers.loc[~managers["active"], ["manager_id", "segment", "team"]]
    # transfer[r, i]: share of inactive manager i's forecast that active manager r takes over
    transfer = np.zeros((len(active_ids), len(inactive)))
    moves: list[dict[str, Any]] = []
    for k, (mid, seg, team) in enumerate(inactive.itertuples(index=False)):
        if float(np.nansum(cube.loc[mid].to_numpy())) == 0.0:
            continue
        if (seg, team) in by_team:
            scope, recipients = "team", by_team[(seg, team)]
        elif seg in by_segment:
            scope, recipients = "segment", by_segment[seg]
        else:
            scope, recipients = "company", active_ids
        weights = annual.reindex(recipients).to_numpy()
        total = weights.sum()
        weights = weights / total if total > 0 else np.full(len(recipients), 1.0 / len(recipients))
        transfer[[position[r] for r in recipients], k] = weights
        moves.append(
            {
                "from": str(mid),
                "scope": scope,
                "to": [str(r) for r in recipients],
                "forecast": float(annual[mid]),
            }
        )
        if scope != "team":
            notes.append(
                Message(f"budget.note.reallocated_{scope}", {"manager": str(mid), "team": team})
            )
    n_months = len(months)
    result = cube.loc[active_ids].copy()
    if len(inactive):
        donors = cube.loc[inactive["manager_id"].tolist()]
        for col in cube.columns:
            given = donors[col].to_numpy().reshape(len(inactive), n_months)
            kept = result[col].to_numpy().reshape(len(active_ids), n_months)
            # NaN bounds (columns no scenario uses) stay NaN rather than poisoning sums
            moved = transfer @ np.nan_to_num(given)
            result[col] = (kept + moved).ravel()
    return result.reset_index(), moves


def phasing_profile(values: pd.DataFrame, managers: pd.DataFrame, phasing: str) -> pd.Series:
    """Monthly phasing weights per manager (sum to 1 over the year), indexed by manager, month.

    Example
    -------
    >>> phasing_profile(base[["manager_id", "month", "yhat"]], active, "segment")  # doctest: +SKIP
    """
    frame = values.merge(managers[["manager_id", "segment", "team"]], on="manager_id")
    frame["company"] = "all"
    chain = {
        "manager": ["manager_id", "team", "segment", "company"],
        "team": ["team", "segment", "company"],
        "segment": ["segment", "company"],
        "company": ["company"],
    }[phasing]
    weights = pd.Series(np.nan, index=frame.index)
    for level in chain:
        keys = ["segment", "team"] if level == "team" else [level]
        monthly = frame.groupby(keys + ["month"])["yhat"].transform("sum")
        # every manager has every month, so the group's sum over all rows is its annual total
        annual = frame.groupby(keys)["yhat"].transform("sum")
        weights = weights.fillna((monthly / annual).where(annual > 0))
    n_months = frame["month"].nunique()
    weights = weights.fillna(1.0 / n_months)
    return pd.Series(
        weights.to_numpy(), index=pd.MultiIndex.from_frame(frame[["manager_id", "month"]])
    )


def scenario_values(
    base: pd.DataFrame,
    fc: pd.DataFrame,
    managers: pd.DataFrame,
    column: str,
    basis: str,
    aggregation: str = "correlated",
    correlation: float = 0.5,
) -> pd.Series:
    """Manager-month revenue for a forecast column, scaled at the ``basis`` level.

    Interval bounds do not add up across series, so by default (basis ``company``) each
    manager's base forecast is scaled by the company series' ``column / yhat`` ratio; basis
    ``manager`` uses the managers' own bounds (the widest, fully correlated view).

    ``aggregation`` ``sum`` takes every month at its bound (all months low together);
    ``correlated`` (default) gives the year the interval of a sum of months whose errors are
    equally correlated (``correlation`` rho): with monthly deviations d_i = bound_i - yhat_i
    (a bound below 0 counts as 0), the year's deviation is
    sign(sum d) * sqrt((1 - rho) * sum d_i^2 + rho * (sum d_i)^2), applied as one ratio to
    every month (so the scenario is phased like the base forecast); rho = 1 is ``sum``,
    rho = 0 is ``independent`` (root sum of squares).

    Example
    -------
    >>> scenario_values(base, fc, active, "lo_80", "company")  # doctest: +SKIP
    """
    own = base[column]
    if column == "yhat" or (basis == "manager" and aggregation == "sum"):
        return own
    frame = base[["manager_id", "month", "yhat"]].merge(
        managers[["manager_id", "segment", "team"]], on="manager_id", how="left"
    )
    if basis == "manager":
        frame["anc"] = frame["manager_id"]
        frame["anc_yhat"] = frame["yhat"].to_numpy()
        frame["anc_col"] = own.to_numpy()
    else:
        if basis == "company":
            frame["anc"] = "company"
        elif basis == "segment":
            frame["anc"] = "segment/" + frame["segment"]
        else:
            frame["anc"] = "team/" + frame["team"]
        anc = fc[["unique_id", "ds", "yhat", column]].rename(
            columns={"unique_id": "anc", "ds": "month", "yhat": "anc_yhat", column: "anc_col"}
        )
        frame = frame.merge(anc, on=["anc", "month"], how="left")
    if aggregation == "sum":
        ratio = (frame["anc_col"].clip(lower=0.0) / frame["anc_yhat"]).where(frame["anc_yhat"] > 0)
    else:
        # one row per ancestor series and month (managers repeat their ancestor's values)
        series = frame.drop_duplicates(["anc", "month"])
        rho = 0.0 if aggregation == "independent" else float(correlation)
        dev = series["anc_col"].clip(lower=0.0) - series["anc_yhat"]
        by = series["anc"]
        total = series["anc_yhat"].groupby(by).sum()
        dev_sum = dev.groupby(by).sum()
        variance = (1.0 - rho) * (dev**2).groupby(by).sum() + rho * dev_sum**2
        spread = np.sign(dev_sum) * np.sqrt(variance)
        annual_ratio = ((total + spread).clip(lower=0.0) / total).where(total > 0)
        ratio = frame["anc"].map(annual_ratio).astype("float64")
    scaled = frame["yhat"] * ratio
    return scaled.fillna(own.reset_index(drop=True)).set_axis(base.index)


def annual_quotas(base: pd.DataFrame, pol: BudgetPolicy) -> pd.DataFrame:
    """Annual quota per active manager by the policy's method.

    Parameters
    ----------
    base : manager-month base forecast [manager_id, segment, team, month, yhat, ...] of the
        active managers (after :func:`reallocate_inactive`).
    pol : the checked policy (``method``, ``uplift``, ``company_target``).

    Returns
    -------
    DataFrame manager_id, segment, team, forecast (annual), quota, share (of the total),
    uplift (quota / forecast - 1, NaN without forecast).

    Example
    -------
    >>> base = pd.DataFrame({"manager_id": ["M1", "M1"], "segment": ["B2B"] * 2,
    ...     "team": ["A"] * 2, "month": pd.to_datetime(["2027-01-01", "2027-02-01"]),
    ...     "yhat": [100.0, 300.0]})
    >>> annual_quotas(base, BudgetPolicy.resolve({"uplift": 0.1}))["quota"].round(6).tolist()
    [440.0]
    """
    annual = base.groupby(["manager_id", "segment", "team"])["yhat"].sum().reset_index()
    annual = annual.rename(columns={"yhat": "forecast"})
    if pol.method == "bottom_up":
        uplift = pol.uplift
        factor = (
            annual["segment"].map(uplift)
            if isinstance(uplift, dict)
            else pd.Series(uplift, index=annual.index)
        )
        annual["quota"] = annual["forecast"] * (1.0 + factor.fillna(0.0).astype("float64"))
    else:
        annual["quota"] = _top_down(annual, pol.company_target)
    annual["share"] = annual["quota"] / annual["quota"].sum() if annual["quota"].sum() > 0 else 0.0
    annual["uplift"] = (annual["quota"] / annual["forecast"] - 1.0).where(annual["forecast"] > 0)
    return annual


def _top_down(annual: pd.DataFrame, target: Any) -> pd.Series:
    """The company (or per-segment) target shared by each manager's share of the forecast."""
    if isinstance(target, dict):
        missing_seg = sorted(set(annual["segment"]) - set(target))
        if missing_seg:
            raise PolicyError(
                f"{SOURCE}: company_target is given per segment but has no target for "
                f"{', '.join(missing_seg)}; add it or give one company-wide number."
            )
        unstaffed = sorted(set(target) - set(annual["segment"]))
        if unstaffed:
            raise PolicyError(
                f"{SOURCE}: company_target has a target for {', '.join(unstaffed)} but no "
                "active manager serves that segment, so nobody could carry it; remove the "
                "target or mark the segment's managers active."
            )
        scope_total = annual.groupby("segment")["forecast"].transform("sum")
        scope_target = annual["segment"].map(target).astype("float64")
    else:
        scope_total = pd.Series(annual["forecast"].sum(), index=annual.index)
        scope_target = pd.Series(float(target), index=annual.index)
    if (scope_total <= 0).any():
        raise PolicyError(
            "top_down: the forecast for the fiscal year is zero where the target must be "
            "allocated (no revenue to share the target by); use method bottom_up or check "
            "the forecast."
        )
    return scope_target * annual["forecast"] / scope_total


def monthly_quotas(
    base: pd.DataFrame, annual: pd.DataFrame, active: pd.DataFrame, phasing: str
) -> pd.DataFrame:
    """Annual quotas phased by month: manager_id, segment, team, month, quota.

    Example
    -------
    >>> monthly_quotas(base, annual, active, "segment")  # doctest: +SKIP
    """
    profile = phasing_profile(base[["manager_id", "month", "yhat"]], active, phasing)
    quotas = base[["manager_id", "segment", "team", "month"]].copy()
    weights = profile.reindex(pd.MultiIndex.from_frame(quotas[["manager_id", "month"]])).to_numpy()
    quotas["quota"] = (
        quotas["manager_id"].map(annual.set_index("manager_id")["quota"]).to_numpy() * weights
    )
    return quotas


def revenue_scenarios(
    base: pd.DataFrame,
    fc: pd.DataFrame,
    active: pd.DataFrame,
    quotas: pd.DataFrame,
    pol: BudgetPolicy,
) -> pd.DataFrame:
    """Revenue per manager, month and scenario: the quotas (``plan``), then each scenario.

    Returns
    -------
    DataFrame month, segment, team, manager_id, scenario, revenue.

    Example
    -------
    >>> revenue_scenarios(base, fc, active, quotas, pol)  # doctest: +SKIP
    """
    revenue_parts = [quotas.rename(columns={"quota": "revenue"}).assign(scenario=PLAN_SCENARIO)]
    for name, spec in pol.scenarios.items():
        rev = scenario_values(
            base,
            fc,
            active,
            spec["column"],
            pol.scenario_basis,
            pol.interval_aggregation,
            pol.interval_correlation,
        )
        part = base[["manager_id", "segment", "team", "month"]].copy()
        part["revenue"] = rev.to_numpy() * (1.0 + spec["uplift"])
        revenue_parts.append(part.assign(scenario=name))
    revenue = pd.concat(revenue_parts, ignore_index=True)
    revenue["scenario"] = revenue["scenario"].astype("string")
    return revenue[["month", "segment", "team", "manager_id", "scenario", "revenue"]]
