"""The company view at hundreds of managers: one row per team instead of one per manager.

Plain DataFrames (ids, team names, numbers; no HTML, no text) that
:mod:`amtools.render.sections.team_summary` formats: the team table (managers, revenue against
target, median score, alerts), the score distribution by team, the top and bottom movers
against the previous period and the alerts counted per team. Team names are kept as they are
in the data (a manager without a team is under :data:`~amtools.core.vocab.NO_TEAM`).
"""

from __future__ import annotations

import pandas as pd

from amtools.core.vocab import NO_TEAM
from amtools.kpi.views import is_ranked

__all__ = [
    "REVENUE_KPI",
    "team_of",
    "team_table",
    "score_distribution",
    "movers",
    "team_alerts",
]

REVENUE_KPI = "sales_volume"
"""The KPI the team table sums as revenue (won revenue of the period, with its target)."""


def team_of(managers: pd.DataFrame) -> pd.Series:
    """Each manager's team by manager id (text); an empty team is :data:`NO_TEAM`.

    Example
    -------
    >>> team_of(pd.DataFrame({"manager_id": ["M1", "M2"], "team": ["North", None]})).tolist()
    ['North', '(no team)']
    """
    ids = managers["manager_id"].astype(str)
    if "team" not in managers:
        return pd.Series(NO_TEAM, index=ids.to_numpy(), dtype=object)
    # as the runner names the per-team reviews: the text as it is, an empty one is no team
    team = managers["team"].astype("string")
    team = team.mask(team == "").fillna(NO_TEAM)
    return pd.Series(team.astype(str).to_numpy(), index=ids.to_numpy(), dtype=object)


def _current(scores: pd.DataFrame, period: str) -> pd.DataFrame:
    return scores[scores["period"].astype(str) == period]


def team_table(
    scores: pd.DataFrame,
    scorecard: pd.DataFrame,
    managers: pd.DataFrame,
    period: str,
    *,
    alert_frame: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per team: its managers, revenue against target, median score and alerts.

    Parameters
    ----------
    scores : ``scoring.scores`` output (all periods).
    scorecard : ``scoring.scorecard`` output; its :data:`REVENUE_KPI` rows give revenue.
    managers : the managers table (``manager_id, team``, optional ``segment``): who is in
        which team.
    alert_frame : :func:`amtools.kpi.views.alerts` output; counted per team (omitted: 0).

    Returns
    -------
    DataFrame[team, segment, managers, revenue, revenue_target, attainment, score_median,
    ranked, alerts], best median score first (teams without a score last). ``segment`` is the
    team's segments joined with ", "; ``attainment`` is revenue / target (NaN without a
    positive target); ``score_median`` is the median score of the team's ranked managers
    (NaN when none is ranked), ``ranked`` how many they are.

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "team": ["A", "A", "B"],
    ...     "segment": ["B2B", "B2B", "B2C"]})
    >>> scores = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "period": "2026Q3",
    ...     "score": [60.0, 80.0, 50.0], "ranked": True})
    >>> card = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "period": "2026Q3",
    ...     "kpi": "sales_volume", "value": [10.0, 30.0, 5.0], "target": [20.0, 20.0, 10.0]})
    >>> team_table(scores, card, managers, "2026Q3")[["team", "managers", "revenue", "attainment", "score_median"]]
      team  managers  revenue  attainment  score_median
    0    A         2     40.0         1.0          70.0
    1    B         1      5.0         0.5          50.0
    """
    teams = team_of(managers)
    ids = managers["manager_id"].astype(str)
    base = pd.DataFrame({"manager_id": ids.to_numpy(), "team": teams.reindex(ids).to_numpy()})
    if "segment" in managers:
        base["segment"] = managers["segment"].astype("string").fillna("").to_numpy()
    else:
        base["segment"] = ""
    current = _current(scores, period)
    current = current.assign(_ranked=is_ranked(current).to_numpy())
    ranked = current[current["_ranked"]].set_index(
        current.loc[current["_ranked"], "manager_id"].astype(str)
    )
    base["score"] = base["manager_id"].map(ranked["score"].astype("float64"))
    card = scorecard[
        (scorecard["period"].astype(str) == period) & (scorecard["kpi"].astype(str) == REVENUE_KPI)
    ]
    card = card.set_index(card["manager_id"].astype(str))
    base["revenue"] = base["manager_id"].map(card["value"].astype("float64"))
    base["revenue_target"] = base["manager_id"].map(card["target"].astype("float64"))
    if alert_frame is not None and len(alert_frame):
        counts = alert_frame["manager_id"].astype(str).value_counts()
        base["alerts"] = base["manager_id"].map(counts).fillna(0).astype("int64")
    else:
        base["alerts"] = 0
    grouped = base.groupby("team", sort=False)
    out = pd.DataFrame(
        {
            "segment": grouped["segment"].agg(lambda s: ", ".join(sorted({v for v in s if v}))),
            "managers": grouped.size(),
            # min_count=1: a team without any measured revenue has none (NaN), not 0
            "revenue": grouped["revenue"].sum(min_count=1),
            "revenue_target": grouped["revenue_target"].sum(min_count=1),
            "score_median": grouped["score"].median(),
            "ranked": grouped["score"].count(),
            "alerts": grouped["alerts"].sum(),
        }
    )
    target = out["revenue_target"].where(out["revenue_target"] > 0)
    out["attainment"] = out["revenue"] / target
    out = out.rename_axis("team").reset_index()
    out = out.sort_values(
        ["score_median", "team"], ascending=[False, True], na_position="last", kind="stable"
    ).reset_index(drop=True)
    columns = ["team", "segment", "managers", "revenue", "revenue_target", "attainment"]
    return out[[*columns, "score_median", "ranked", "alerts"]]


def score_distribution(scores: pd.DataFrame, managers: pd.DataFrame, period: str) -> pd.DataFrame:
    """The scores of ``period`` with each manager's team: the input of the by-team chart.

    Returns
    -------
    DataFrame[team, manager_id, segment, score, ranked] of managers with a score; teams in
    order of their median ranked score (best first), managers best first within a team.

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "team": ["A", "B", "B"]})
    >>> scores = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "period": "2026Q3",
    ...     "segment": "B2B", "score": [40.0, 70.0, 60.0]})
    >>> score_distribution(scores, managers, "2026Q3")[["team", "manager_id", "score"]]
      team manager_id  score
    0    B         M2   70.0
    1    B         M3   60.0
    2    A         M1   40.0
    """
    current = _current(scores, period)
    current = current[current["score"].astype("float64").notna()]
    teams = team_of(managers)
    frame = pd.DataFrame(
        {
            "team": current["manager_id"].astype(str).map(teams).fillna(NO_TEAM).to_numpy(),
            "manager_id": current["manager_id"].astype(str).to_numpy(),
            "segment": (current["segment"].astype(str).to_numpy() if "segment" in current else ""),
            "score": current["score"].astype("float64").to_numpy(),
            "ranked": is_ranked(current).to_numpy(),
        }
    )
    median = frame[frame["ranked"]].groupby("team")["score"].median()
    frame["_median"] = frame["team"].map(median)
    frame = frame.sort_values(
        ["_median", "team", "score"], ascending=[False, True, False], na_position="last"
    )
    return frame.drop(columns="_median").reset_index(drop=True)


def movers(
    scores: pd.DataFrame,
    managers: pd.DataFrame,
    period: str,
    previous: str | None,
    *,
    n: int = 5,
) -> pd.DataFrame:
    """The ``n`` largest score rises and the ``n`` largest falls against ``previous``.

    Only managers ranked in both periods count: a score resting on too little data is no
    evidence of a change.

    Returns
    -------
    DataFrame[direction, manager_id, team, segment, before, now, change]: ``direction`` "up"
    rows (largest rise first) then "down" rows (largest fall first); a manager whose score did
    not move is in neither. Empty without a previous period.

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "team": ["A", "A", "B"]})
    >>> scores = pd.DataFrame({"manager_id": ["M1", "M2", "M3"] * 2,
    ...     "period": ["2026Q2"] * 3 + ["2026Q3"] * 3,
    ...     "score": [50.0, 50.0, 50.0, 60.0, 45.0, 50.0]})
    >>> movers(scores, managers, "2026Q3", "2026Q2", n=2)[["direction", "manager_id", "change"]]
      direction manager_id  change
    0        up         M1    10.0
    1      down         M2    -5.0
    """
    columns = ["direction", "manager_id", "team", "segment", "before", "now", "change"]
    if previous is None:
        return pd.DataFrame(columns=columns)
    now_rows = _current(scores, period)
    before_rows = _current(scores, previous)
    now_rows = now_rows[is_ranked(now_rows)]
    before_rows = before_rows[is_ranked(before_rows)]
    now = now_rows.set_index(now_rows["manager_id"].astype(str))["score"].astype("float64")
    before = before_rows.set_index(before_rows["manager_id"].astype(str))["score"]
    change = (now - before.astype("float64").reindex(now.index)).dropna()
    segment = (
        now_rows.set_index(now_rows["manager_id"].astype(str))["segment"].astype(str)
        if "segment" in now_rows
        else pd.Series("", index=now.index)
    )
    ups = change[change > 0].sort_values(ascending=False, kind="stable").head(n)
    downs = change[change < 0].sort_values(ascending=True, kind="stable").head(n)
    teams = team_of(managers)
    rows = []
    for direction, picked in (("up", ups), ("down", downs)):
        for key, delta in picked.items():
            manager_id = str(key)
            rows.append(
                {
                    "direction": direction,
                    "manager_id": manager_id,
                    "team": teams.get(manager_id, NO_TEAM),
                    "segment": segment.get(manager_id, ""),
                    "before": float(before[manager_id]),
                    "now": float(now[manager_id]),
                    "change": float(delta),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def team_alerts(
    alert_frame: pd.DataFrame, managers: pd.DataFrame, *, worst: int = 3
) -> pd.DataFrame:
    """:func:`amtools.kpi.views.alerts` counted per team, with the managers who raised most.

    Parameters
    ----------
    alert_frame : the alerts of every manager (call ``alerts`` with a ``limit`` that keeps
        them all).
    worst : how many managers to name per team (most alerts first, then in the alert
        frame's order: the largest fall or miss first).

    Returns
    -------
    DataFrame[team, alerts, score_drop, below_target, managers, worst]: teams with at least
    one alert, most alerts first; ``managers`` counts the team's managers with an alert,
    ``worst`` is a tuple of manager ids.

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "team": ["A", "A", "B"]})
    >>> frame = pd.DataFrame({"kind": ["score_drop", "below_target", "below_target"],
    ...     "manager_id": ["M2", "M2", "M3"]})
    >>> team_alerts(frame, managers, worst=1)[["team", "alerts", "score_drop", "worst"]]
      team  alerts  score_drop  worst
    0    A       2           1  (M2,)
    1    B       1           0  (M3,)
    """
    columns = ["team", "alerts", "score_drop", "below_target", "managers", "worst"]
    if alert_frame.empty:
        return pd.DataFrame(columns=columns)
    teams = team_of(managers)
    frame = pd.DataFrame(
        {
            "manager_id": alert_frame["manager_id"].astype(str).to_numpy(),
            "kind": alert_frame["kind"].astype(str).to_numpy(),
        }
    )
    frame["team"] = frame["manager_id"].map(teams).fillna(NO_TEAM)
    frame["order"] = range(len(frame))
    rows = []
    for team, sub in frame.groupby("team", sort=False):
        per_manager = sub.groupby("manager_id").agg(n=("kind", "size"), first=("order", "min"))
        per_manager = per_manager.sort_values(["n", "first"], ascending=[False, True])
        rows.append(
            {
                "team": team,
                "alerts": len(sub),
                "score_drop": int((sub["kind"] == "score_drop").sum()),
                "below_target": int((sub["kind"] == "below_target").sum()),
                "managers": len(per_manager),
                "worst": tuple(per_manager.index[:worst]),
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["alerts", "team"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )
