"""The computed views the report pages show: plain DataFrames, no HTML, no charts, no text.

Each function turns the KPI engine's output (``compute`` levels, ``scoring.scorecard``,
``scoring.scores``) into the frame one table or chart of a report needs. Results carry ids
and keys (KPI ids, segment codes, alert kinds); the sections in
:mod:`amtools.render.sections` translate and format them. See ``docs/kpi.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.i18n import is_missing
from amtools.core.periods import parse_period
from amtools.core.vocab import SEGMENTS
from amtools.kpi.clients import active_clients
from amtools.kpi.registry import KPIS

__all__ = [
    "PROFILE",
    "TOTALS",
    "is_ranked",
    "segment_profile",
    "totals_vs_targets",
    "alerts",
    "manager_trend_frame",
    "heatmap_frame",
    "segment_series",
    "segment_targets",
]


def is_ranked(scores: pd.DataFrame) -> pd.Series:
    """Whether each score row is ranked (``scoring.scores`` column ``ranked``).

    A frame without the column is taken as all ranked. Unranked scores rest on too little
    data to be compared.

    Example
    -------
    >>> is_ranked(pd.DataFrame({"ranked": [True, None]})).tolist()
    [True, False]
    >>> is_ranked(pd.DataFrame({"score": [50.0]})).tolist()
    [True]
    """
    if "ranked" in scores:
        return scores["ranked"].astype("boolean").fillna(False).astype(bool)
    return pd.Series(True, index=scores.index)


PROFILE: tuple[tuple[str, str | None], ...] = (
    # metric, seed's expectation: which segment has the higher value
    ("clients_per_manager", "B2C"),
    ("average_check", "B2B"),
    ("sales_cycle_days", "B2B"),
    ("contact_frequency", "B2B"),
    ("average_discount", "B2B"),
    ("conversion_rate", None),
    ("retention_rate", None),
    ("revenue_growth_existing", None),
)
"""The segment profile's metrics and the segment the seed expects to have the larger value."""


def segment_profile(kpis_segment: pd.DataFrame, dataset: Dataset, period: str) -> pd.DataFrame:
    """The seed's B2B-vs-B2C comparison as measured numbers for ``period``.

    Clients per manager counts the clients active at the end of ``period`` by the one
    active-client rule (:func:`amtools.kpi.clients.active_clients`, the KPI engine's), each
    attributed to its manager's segment, over the segment's active managers.

    Parameters
    ----------
    kpis_segment : ``kpi.compute(..., level="segment")`` output.
    dataset : the Dataset (clients and managers give clients per manager at period end).
    period : period label.

    Returns
    -------
    DataFrame[metric, B2B, B2C, expected_higher, agrees]: ``expected_higher`` is the segment
    the seed says has the larger value (NA where the seed makes no claim), ``agrees`` whether
    the data bear it out.

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["A", "B"], "segment": ["B2B", "B2C"]})
    >>> clients = pd.DataFrame({"client_id": ["c1", "c2", "c3"], "manager_id": ["A", "B", "B"],
    ...     "acquired_date": pd.to_datetime(["2025-01-01"] * 3)})
    >>> seg = pd.DataFrame({"segment": ["B2B", "B2C"], "period": "2026Q3",
    ...     "kpi": "average_check", "value": [9e5, 3e4]})
    >>> prof = segment_profile(seg, Dataset({"managers": managers, "clients": clients}), "2026Q3")
    >>> prof.set_index("metric").loc["clients_per_manager", ["B2B", "B2C"]].tolist()
    [1.0, 2.0]
    """
    now = kpis_segment[kpis_segment["period"].astype(str) == period]
    values: Any = now.pivot_table(index="kpi", columns="segment", values="value", aggfunc="first")
    managers = dataset.managers
    clients = dataset.clients
    active = active_clients(dataset, parse_period(period).end_time).to_numpy(dtype=bool)
    active = active & clients["manager_id"].notna().to_numpy(dtype=bool)
    segment_of = managers.set_index("manager_id")["segment"]
    owners = clients.loc[active, "manager_id"].map(segment_of)
    live = managers
    if "active" in managers:
        live = managers[managers["active"].fillna(True).astype(bool)]
    per_segment_managers = live["segment"].value_counts()
    counts = owners.value_counts()
    rows = []
    for metric, expected in PROFILE:
        row: dict[str, Any] = {"metric": metric}
        for segment in SEGMENTS:
            if metric == "clients_per_manager":
                m = per_segment_managers.get(segment, 0)
                row[segment] = float(counts.get(segment, 0)) / m if m else np.nan
            else:
                row[segment] = (
                    float(values.loc[metric, segment])
                    if metric in values.index
                    and segment in values.columns
                    and not is_missing(values.loc[metric, segment])
                    else np.nan
                )
        row["expected_higher"] = expected if expected else pd.NA
        b2b, b2c = SEGMENTS
        if expected and not (is_missing(row[b2b]) or is_missing(row[b2c])):
            other = b2c if expected == b2b else b2b
            row["agrees"] = bool(row[expected] > row[other])
        else:
            row["agrees"] = pd.NA
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["expected_higher"] = frame["expected_higher"].astype("string")
    frame["agrees"] = frame["agrees"].astype("boolean")
    return frame


TOTALS: tuple[str, ...] = (
    "sales_volume",
    "new_clients",
    "average_check",
    "conversion_rate",
    "retention_rate",
    "churn_rate",
    "csi",
    "nps",
)
"""KPIs of the team review's totals-against-targets table."""


def _direction(kpi_id: str) -> str:
    spec = KPIS.get(kpi_id)
    return spec.direction if spec is not None else "higher"


def _additive(kpi_id: str) -> bool:
    """Whether a team's target for ``kpi_id`` is the sum of its managers' targets."""
    spec = KPIS.get(kpi_id)
    return bool(spec is not None and spec.additive)


def totals_vs_targets(
    scorecard: pd.DataFrame,
    kpis_segment: pd.DataFrame,
    kpis_company: pd.DataFrame,
    period: str,
    *,
    kpis: Sequence[str] = TOTALS,
    segments: bool = True,
) -> pd.DataFrame:
    """Segment and company totals against targets for ``period``.

    The target of an additive KPI (``KPI.additive``: sums and counts) is the sum of the
    managers' targets; of a rate, average or score the mean of the managers' targets.

    Returns
    -------
    DataFrame[scope, kpi, value, target, attainment] with scope "B2B", "B2C" or "all";
    attainment is direction-aware (for "lower is better" KPIs target / value).
    With ``segments=False`` only the "all" scope (e.g. pass one team's KPIs as
    ``kpis_company`` and that team's scorecard rows).

    Example
    -------
    >>> card = pd.DataFrame({"manager_id": ["M1", "M2"], "period": "2026Q3", "segment": "B2B",
    ...     "kpi": "sales_volume", "target": [1e6, 2e6]})
    >>> seg = pd.DataFrame({"segment": ["B2B"], "period": "2026Q3", "kpi": "sales_volume",
    ...     "value": [2.4e6]})
    >>> com = seg.drop(columns="segment")
    >>> totals_vs_targets(card, seg, com, "2026Q3", kpis=["sales_volume"])[["scope", "target", "attainment"]]
      scope     target  attainment
    0   B2B  3000000.0         0.8
    1   all  3000000.0         0.8
    """
    card = scorecard[
        (scorecard["period"].astype(str) == period) & scorecard["kpi"].isin(list(kpis))
    ]
    rows = []
    seg = kpis_segment[kpis_segment["period"].astype(str) == period].set_index(["segment", "kpi"])[
        "value"
    ]
    com = kpis_company[kpis_company["period"].astype(str) == period].set_index("kpi")["value"]
    for scope in (*SEGMENTS, "all") if segments else ("all",):
        part = card if scope == "all" else card[card["segment"].astype(str) == scope]
        if part.empty:
            continue
        for kpi in kpis:
            direction = _direction(kpi)
            targets = part.loc[part["kpi"] == kpi, "target"].astype("float64")
            if targets.notna().sum() == 0:
                target = np.nan
            elif _additive(kpi):
                target = float(targets.sum())
            elif part.loc[part["kpi"] == kpi].groupby("segment")["target"].mean().nunique() > 1:
                # a mean of different segments' rate targets is no one's target
                target = np.nan
            else:
                target = float(targets.mean())
            value = com.get(kpi, np.nan) if scope == "all" else seg.get((scope, kpi), np.nan)
            value = np.nan if is_missing(value) else float(value)
            if np.isnan(value) or np.isnan(target) or target == 0:
                attainment = np.nan
            elif direction == "lower":
                attainment = target / value if value else np.nan
            else:
                attainment = value / target
            rows.append(
                {
                    "scope": scope,
                    "kpi": kpi,
                    "value": value,
                    "target": target,
                    "attainment": attainment,
                }
            )
    return pd.DataFrame(rows, columns=["scope", "kpi", "value", "target", "attainment"])


def alerts(
    scores: pd.DataFrame,
    scorecard: pd.DataFrame,
    period: str,
    previous: str | None,
    *,
    drop: float = 10.0,
    below: float = 0.7,
    limit: int = 10,
) -> pd.DataFrame:
    """Things leadership should look at: large score drops and KPIs far below target.

    Parameters
    ----------
    drop : a score fall of at least this many points vs ``previous`` raises an alert.
    below : attainment under this share of target (status ok, weighted KPIs only) raises one.
    limit : at most this many alerts of each kind (largest first).

    Returns
    -------
    DataFrame[kind, manager_id, kpi, value, reference, actual, ranked]: kind "score_drop"
    (value = score now, reference = score before) or "below_target" (value = attainment,
    reference = target, actual = the KPI value); ``ranked`` False marks a manager whose score is not ranked (too little data:
    ``scores`` column ``ranked``). Such managers raise no score-drop alert.

    Example
    -------
    >>> scores = pd.DataFrame({"manager_id": ["M1", "M1"], "period": ["2026Q2", "2026Q3"],
    ...     "score": [70.0, 55.0]})
    >>> alerts(scores, pd.DataFrame(columns=["period", "status", "weight", "attainment"]),
    ...        "2026Q3", "2026Q2")[["kind", "manager_id", "value", "reference"]]
             kind manager_id  value  reference
    0  score_drop         M1   55.0       70.0
    """
    out = []
    current = scores[scores["period"].astype(str) == period]
    unranked = set(current.loc[~is_ranked(current), "manager_id"].astype(str))
    if previous is not None:
        # a score resting on too little data (not ranked) is no evidence of a fall
        now = current[is_ranked(current)].set_index("manager_id")["score"]
        before = scores[scores["period"].astype(str) == previous].set_index("manager_id")["score"]
        change = (now - before.reindex(now.index)).dropna().sort_values()
        for manager_id in change[change <= -drop].head(limit).index:
            out.append(
                {
                    "kind": "score_drop",
                    "manager_id": manager_id,
                    "kpi": pd.NA,
                    "value": float(now[manager_id]),
                    "reference": float(before[manager_id]),
                }
            )
    card = scorecard[
        (scorecard["period"].astype(str) == period) & (scorecard["status"].astype(str) == "ok")
    ]
    card = card[(card["weight"].fillna(0) > 0) & (card["attainment"] < below)]
    # largest loss of score points first: a big miss on a heavy KPI before a small one
    lost = card["weight"] * (1 - card["attainment"].clip(upper=1))
    card = card.assign(_lost=lost).sort_values("_lost", ascending=False, kind="stable")
    for _, row in card.head(limit).iterrows():
        out.append(
            {
                "kind": "below_target",
                "manager_id": row["manager_id"],
                "kpi": row["kpi"],
                "value": float(row["attainment"]),
                "reference": float(row["target"]),
                "actual": float(row["value"]),
            }
        )
    columns = ["kind", "manager_id", "kpi", "value", "reference", "actual"]
    frame = pd.DataFrame(out, columns=columns)
    frame["ranked"] = ~frame["manager_id"].astype(str).isin(unranked)
    return frame.astype({"kind": "string", "manager_id": "string", "kpi": "string"})


def manager_trend_frame(
    scorecard: pd.DataFrame,
    manager_id: str,
    period: str,
    *,
    periods: int = 8,
    max_kpis: int | None = 12,
) -> pd.DataFrame:
    """One manager's KPI history with the segment median per period (anonymous peers).

    Returns
    -------
    DataFrame[period, kpi, value, target, status, peer_median] for the ``periods`` periods
    ending with ``period``; KPIs without profile weight are left out, and only the
    ``max_kpis`` with the largest weight this period are kept (``None``: all).

    Example
    -------
    >>> manager_review.kpi_trends(manager_trend_frame(ctx.scorecard, "M001", ctx.period), "en")  # doctest: +SKIP
    """
    own = scorecard[scorecard["manager_id"].astype(str) == str(manager_id)]
    if own.empty:
        return pd.DataFrame(columns=["period", "kpi", "value", "target", "status", "peer_median"])
    segment = own["segment"].iloc[0]
    labels = sorted(p for p in own["period"].astype(str).unique() if p <= period)[-periods:]
    peers = scorecard[
        (scorecard["segment"] == segment) & scorecard["period"].astype(str).isin(labels)
    ]
    median = peers.groupby([peers["period"].astype(str), peers["kpi"].astype(str)])[
        "value"
    ].median()
    median.index = median.index.set_names(["period", "kpi"])
    latest = own[own["period"].astype(str) == labels[-1]] if labels else own
    weights = latest.set_index(latest["kpi"].astype(str))["weight"].fillna(0)
    weights = weights[weights > 0].sort_values(ascending=False, kind="stable")
    weighted = list(weights.index[:max_kpis] if max_kpis else weights.index)
    rows = own[own["period"].astype(str).isin(labels) & own["kpi"].astype(str).isin(weighted)]
    rows = rows[["period", "kpi", "value", "target", "status"]].assign(
        period=rows["period"].astype(str), kpi=rows["kpi"].astype(str)
    )
    return rows.merge(median.rename("peer_median").reset_index(), on=["period", "kpi"], how="left")


def heatmap_frame(
    scorecard: pd.DataFrame,
    scores: pd.DataFrame,
    managers: pd.DataFrame,
    period: str,
    *,
    value: str = "percentile",
    max_kpis: int = 16,
) -> pd.DataFrame:
    """Input of :func:`amtools.render.sections.team_review.kpi_heatmap`: label (name), kpi, value; best score first.

    ``value`` is ``"percentile"`` or ``"attainment"``. To keep the chart legible only KPIs
    with profile weight and a value for at least half the managers are kept, at most
    ``max_kpis`` of them (largest mean weight first), in catalogue order. Rows are grouped
    by segment (labels "name · segment" when there are several), best score first; managers
    whose score is not ranked (too little data) come last, their label marked with " *".

    Example
    -------
    >>> heatmap_frame(ctx.scorecard, ctx.scores, ctx.managers, ctx.period).head()  # doctest: +SKIP
    """
    card = scorecard[
        (scorecard["period"].astype(str) == period) & (scorecard["weight"].fillna(0) > 0)
    ]
    current = scores[scores["period"].astype(str) == period]
    # grouped by segment (each segment's profile weights its own KPIs, so blank cells form
    # blocks instead of a scatter), then ranked managers by score, unranked last
    order = (
        current.assign(_ranked=is_ranked(current))
        .sort_values(["segment", "_ranked", "score"], ascending=[True, False, False])["manager_id"]
        .astype(str)
        .tolist()
    )
    segment_of = current.set_index(current["manager_id"].astype(str))["segment"].astype(str)
    n_managers = card["manager_id"].nunique()
    per_kpi = card.groupby(card["kpi"].astype(str)).agg(
        filled=(value, lambda v: v.notna().sum()), weight=("weight", "mean")
    )
    keep = per_kpi[per_kpi["filled"] >= n_managers / 2].nlargest(max_kpis, "weight").index
    card = card[card["kpi"].astype(str).isin(keep)]
    names = managers.set_index(managers["manager_id"].astype(str))["name"].astype(str)
    card = card.assign(
        _rank=card["manager_id"]
        .astype(str)
        .map({m: i for i, m in enumerate(order)})
        .fillna(len(order))
    ).sort_values("_rank", kind="stable")
    label = card["manager_id"].astype(str).map(names).fillna(card["manager_id"].astype(str))
    if segment_of.nunique() > 1:
        seg = card["manager_id"].astype(str).map(segment_of)
        label = label.where(seg.isna(), label + " · " + seg.fillna(""))
    unranked = set(current.loc[~is_ranked(current), "manager_id"].astype(str))
    if unranked:
        # the reader must not take a leaver's partial row for a ranked one
        mark = card["manager_id"].astype(str).isin(unranked).to_numpy()
        label = label.where(~mark, label + " *")
    return pd.DataFrame(
        {
            "label": label.to_numpy(),
            "kpi": card["kpi"].astype(str).to_numpy(),
            "value": card[value].astype("float64").to_numpy(),
        }
    )


def segment_series(
    kpis_segment: pd.DataFrame, kpis_company: pd.DataFrame, kpi: str | Sequence[str]
) -> pd.DataFrame:
    """KPI values per period for each segment plus the total (``segment == "all"``).

    ``kpis_company`` may be one team's rows of ``kpis_team`` (any frame with period, kpi,
    value) and ``kpis_segment`` may be empty.

    Returns
    -------
    DataFrame[period, segment, kpi, value]

    Example
    -------
    >>> seg = pd.DataFrame({"period": "2026Q3", "segment": ["B2B", "B2C"], "kpi": "nps",
    ...     "value": [30.0, 10.0]})
    >>> segment_series(seg, seg.iloc[:1].drop(columns="segment"), "nps")["segment"].tolist()
    ['B2B', 'B2C', 'all']
    """
    wanted = [kpi] if isinstance(kpi, str) else list(kpi)
    seg = kpis_segment[kpis_segment["kpi"].astype(str).isin(wanted)]
    com = kpis_company[kpis_company["kpi"].astype(str).isin(wanted)]
    frames = [
        pd.DataFrame(
            {
                "period": frame["period"].astype(str).to_numpy(),
                "segment": frame["segment"].astype(str).to_numpy() if label is None else label,
                "kpi": frame["kpi"].astype(str).to_numpy(),
                "value": frame["value"].astype("float64").to_numpy(),
            }
        )
        for frame, label in ((seg, None), (com, "all"))
        if len(frame)
    ]
    if not frames:
        return pd.DataFrame(columns=["period", "segment", "kpi", "value"])
    return pd.concat(frames, ignore_index=True)


def segment_targets(scorecard: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """Sum of the managers' targets of an additive KPI per period and segment.

    Example
    -------
    >>> card = pd.DataFrame({"period": "2026Q3", "segment": "B2B", "kpi": "sales_volume",
    ...     "target": [1e6, 2e6]})
    >>> segment_targets(card, "sales_volume")
       period segment     target
    0  2026Q3     B2B  3000000.0
    """
    card = scorecard[scorecard["kpi"].astype(str) == kpi]
    out = card.groupby([card["period"].astype(str), card["segment"].astype(str)])["target"].sum(
        min_count=1
    )
    return (
        out.rename("target")
        .rename_axis(["period", "segment"])
        .reset_index()
        .dropna(subset=["target"])
    )
