"""KPI scorecards: attainment against targets, peer percentiles and the weighted 0-100 score.

:func:`scorecard` scores every manager x period x KPI, :func:`scores` sums a scorecard into one
score per manager and period. The parts live beside it: :mod:`amtools.kpi.profiles` (weights and
scoring settings of ``params/policy/kpi_profiles.yaml``), :mod:`amtools.kpi.target_rows` (each
row's target), :mod:`amtools.kpi.measures` (attainment, percentile, quartile); their public
names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError
from amtools.core.periods import period_label
from amtools.core.problems import DataValidationError, Problem
from amtools.core.settings import read_params
from amtools.kpi.measures import attainment, peer_percentile, quartile
from amtools.kpi.profiles import check_kpi_ids, profile_weights, scoring_settings
from amtools.kpi.registry import KPIS
from amtools.kpi.target_rows import manager_info, resolve_targets
from amtools.kpi.targets import Targets, history_targets

__all__ = [
    "SCORECARD_COLUMNS",
    "SCORES_COLUMNS",
    "SOURCE_REASONS",
    "scoring_settings",
    "profile_weights",
    "resolve_targets",
    "attainment",
    "peer_percentile",
    "scorecard",
    "scores",
]

# How the 0..100 score is built (documented once here, also in docs/kpi.md):
#
#   attainment  = (value + o) / (target + o)   (direction "higher")
#               = (target + o) / (value + o)   (direction "lower")
#                 clipped to [0, attainment_cap]. The offset o is 0 except for KPIs whose scale
#                 has a meaningful negative side (scoring.attainment_offsets): a growth rate
#                 g gets o = 1, so attainment compares revenue levels (1 + g) / (1 + target);
#                 NPS gets o = 100. For a non-positive (shifted) target, such as zero
#                 violations, attainment is 1.0 when the value equals the target,
#                 attainment_cap when strictly better and 0.0 when worse.
#   percentile  = 100 * (peers worse + half of the peers tied) / (peers - 1), among managers of
#                 the same segment and period whose KPI status is "ok" (best = 100, worst = 0;
#                 NaN with fewer than min_peers such managers).
#   quartile    = 1 if percentile >= 75, 2 if >= 50, 3 if >= 25, else 4  (1 = best).
#   kpi_score   = attainment_share * 100 * min(attainment, full_marks_at) / full_marks_at
#               + (1 - attainment_share) * percentile
#                 (only the available part when the target or the percentile is missing).
#   score       = sum over scored KPIs of kpi_score * weight / (sum of weights of scored KPIs),
#                 i.e. weights are renormalised over the KPIs that had data; each term is the
#                 KPI's contribution, so contributions add up to the score.
#                 max_points = 100 * weight / (sum of weights of scored KPIs) is what a KPI
#                 could earn, so contribution = kpi_score / 100 * max_points.
#   coverage    = (sum of weights of measured KPIs, status "ok") / (sum of the segment profile's
#                 weights of the KPIs the source can measure). A measured KPI counts even when
#                 it could not be scored (no target and fewer than min_peers peers): coverage is
#                 about data, not targets. A KPI the source cannot measure at all (its input
#                 table or column is absent: reasons in SOURCE_REASONS) leaves the denominator,
#                 so a three-table export ranks its managers on what it records; a KPI that
#                 is measurable but has no data for this manager and period still counts.
#   rank        = among the managers of the segment and period whose coverage reaches
#                 scoring.min_coverage; the others keep their score but get no rank
#                 (ranked False, status "insufficient_data"): too little data to compare.
#
# KPIs with status "insufficient_data" or "not_available" keep their row (flagged through
# status and reason) but get no attainment, percentile, kpi_score or contribution.

SOURCE_REASONS = (
    "needs_table",
    "needs_column",
    "needs_any_column",
    "needs_lost_deals",
    "segment_only",
)
"""Reason keys meaning the source (not the manager) lacks a KPI's input: out of coverage."""

SCORECARD_COLUMNS = [
    "manager_id",
    "period",
    "segment",
    "team",
    "kpi",
    "group",
    "value",
    "status",
    "n",
    "low",
    "high",
    "target",
    "attainment",
    "percentile",
    "quartile",
    "weight",
    "kpi_score",
    "contribution",
    "reason",
    "target_source",
    "max_points",
    "reason_args",
    "inferred",
    "target_level",
]
"""Columns of :func:`scorecard`: the contract's, then ``reason`` (why a KPI is flagged: a key
of :data:`amtools.kpi.REASONS`, with its arguments in ``reason_args``), ``target_source``
(where the row's target comes from: "data" (the dataset's targets table), "params" (a file
or mapping given to the run), "mapping" (the file named by the data mapping), "demo"
(params/policy/targets.yaml, demo only), "history" (same period a year earlier) or "none"),
``max_points`` (the points a scored KPI could earn after renormalisation:
``contribution / max_points = kpi_score / 100``; they add up to 100 per manager and
period), ``inferred`` (the value rests on the inferred churn rule) and ``target_level``
(which layer gave the target: table/manager/team/segment/history, NA when none)."""

SCORES_COLUMNS = [
    "manager_id",
    "period",
    "segment",
    "team",
    "score",
    "rank",
    "n_kpis",
    "coverage",
    "ranked",
    "status",
]
"""Columns of :func:`scores`: the contract's, then ``ranked`` (boolean: coverage reached
``scoring.min_coverage`` and the score is ranked) and ``status`` ("ok", or
"insufficient_data" when the score rests on too little data to be ranked)."""

_KPI_FRAME_COLUMNS = ("manager_id", "period", "kpi", "value", "status")


def _kpi_meta() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kpi": list(KPIS),
            "group": [k.group for k in KPIS.values()],
            "direction": [k.direction for k in KPIS.values()],
            "unit": [k.unit for k in KPIS.values()],
            "kpi_order": range(len(KPIS)),
        }
    ).astype({"kpi": "string", "group": "string", "direction": "string", "unit": "string"})


def _check_kpi_frame(kpis: pd.DataFrame) -> None:
    missing = [c for c in _KPI_FRAME_COLUMNS if c not in kpis]
    if missing:
        raise ParameterError(
            f"kpis frame lacks column(s) {missing}; pass the manager-level frame of "
            "amtools.kpi.compute(dataset, level='manager')"
        )


def scorecard(
    kpis: pd.DataFrame,
    managers: pd.DataFrame,
    *,
    targets: Mapping[str, Any] | Any | None = None,
    profiles: Mapping[str, Any] | None = None,
    targets_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every manager x period x KPI against targets and segment peers.

    Parameters
    ----------
    kpis : manager-level tidy KPI frame from :func:`amtools.kpi.compute` (manager_id, period,
        kpi, value, n, low, high, status, reason).
    managers : the managers table (manager_id, segment, team).
    targets : the :class:`amtools.kpi.targets.Targets` of
        :func:`amtools.kpi.targets.resolve_targets` (the per-source resolver: use it for any
        dataset that is not the demo), or a mapping in the ``params/policy/targets.yaml`` format
        (labelled "params"), or ``None``: ``params/policy/targets.yaml``, the demo company's
        targets (labelled "demo").
    profiles : mapping of ``params/policy/kpi_profiles.yaml`` (read when ``None``): segment weights and
        the ``scoring`` settings.
    targets_table : the dataset's optional ``targets`` table; its rows win over the YAML.

    Returns
    -------
    DataFrame, one row per input row, columns :data:`SCORECARD_COLUMNS`: target, direction-aware
    attainment (capped), percentile among same-segment peers of the period with status "ok"
    (100 = best), quartile (1 = best), profile weight, kpi_score (0..100) and contribution
    (points of the manager's 0..100 score; they add up to the score). Rows whose status is not
    "ok" are kept but not scored; the remaining weights are renormalised (see module comments).

    Raises
    ------
    ParameterError
        When ``kpis`` lacks columns or names KPIs the registry does not know.
    DataValidationError
        When ``kpis`` refers to managers missing from ``managers`` or ``targets_table`` is bad.

    Example
    -------
    >>> import pandas as pd
    >>> kpis = pd.DataFrame({"manager_id": ["m1", "m2", "m3"], "period": ["2026Q3"] * 3,
    ...     "kpi": ["conversion_rate"] * 3, "value": [0.2, 0.3, 0.4], "status": ["ok"] * 3})
    >>> managers = pd.DataFrame({"manager_id": ["m1", "m2", "m3"], "segment": ["B2C"] * 3})
    >>> sc = scorecard(kpis, managers,
    ...     targets={"defaults": {"B2C": {"conversion_rate": 0.25}}},
    ...     profiles={"B2C": {"weights": {"conversion_rate": 1.0}}})
    >>> sc["kpi_score"].tolist()  # 0.5 * 100 * min(att, 1) + 0.5 * percentile
    [40.0, 75.0, 100.0]
    """
    _check_kpi_frame(kpis)
    profiles = read_params("policy/kpi_profiles") if profiles is None else profiles
    settings = scoring_settings(profiles)
    weights = profile_weights(profiles)

    frame = _kpi_rows(kpis)
    frame, info = _with_managers(frame, managers)
    frame = _with_targets(frame, info, targets, targets_table)
    frame = _with_scores(frame, settings, weights)
    frame = frame.sort_values(["manager_id", "period", "kpi_order"], kind="stable")
    return frame[SCORECARD_COLUMNS].reset_index(drop=True)


def _kpi_rows(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI frame's columns with their contract types (absent optional ones filled)."""
    frame = pd.DataFrame(
        {
            "manager_id": kpis["manager_id"].astype("string"),
            "period": _period_labels(kpis["period"]),
            "kpi": kpis["kpi"].astype("string"),
            "value": pd.to_numeric(kpis["value"], errors="coerce").astype("float64"),
            "status": kpis["status"].astype("string"),
            "n": (kpis["n"] if "n" in kpis else pd.Series(pd.NA, index=kpis.index)).astype("Int64"),
            "low": (kpis["low"] if "low" in kpis else pd.Series(np.nan, index=kpis.index)).astype(
                "float64"
            ),
            "high": (
                kpis["high"] if "high" in kpis else pd.Series(np.nan, index=kpis.index)
            ).astype("float64"),
            "reason": (
                kpis["reason"] if "reason" in kpis else pd.Series(pd.NA, index=kpis.index)
            ).astype("string"),
            "reason_args": (
                kpis["reason_args"] if "reason_args" in kpis else pd.Series(pd.NA, index=kpis.index)
            ).astype("string"),
            "inferred": (
                kpis["inferred"] if "inferred" in kpis else pd.Series(False, index=kpis.index)
            )
            .astype("boolean")
            .fillna(False),
        }
    ).reset_index(drop=True)
    check_kpi_ids(frame["kpi"].dropna().unique(), "the kpis frame")
    dup = frame.duplicated(["manager_id", "period", "kpi"], keep=False)
    if dup.any():
        examples = frame.loc[dup, ["manager_id", "period", "kpi"]].astype(str).agg("/".join, axis=1)
        raise ParameterError(
            f"the kpis frame has {int(dup.sum())} rows that repeat a manager_id, period and kpi "
            f"(e.g. {', '.join(examples.unique()[:3])}); pass one row per manager, period and "
            "KPI, as amtools.kpi.compute(level='manager') returns"
        )
    return frame


def _with_managers(
    frame: pd.DataFrame, managers: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each row's segment and team (every manager must be known) and its KPI's metadata."""
    info = manager_info(managers)
    frame = frame.merge(info, on="manager_id", how="left", validate="many_to_one")
    orphan = frame["segment"].isna()
    if orphan.any():
        ids = sorted(frame.loc[orphan, "manager_id"].astype(str).unique())
        raise DataValidationError(
            [
                Problem(
                    "managers",
                    "manager_id" if frame.loc[orphan, "manager_id"].notna().all() else "segment",
                    "unknown_manager",
                    "KPI rows refer to managers that are missing from the managers table "
                    "or have no segment",
                    int(orphan.sum()),
                    tuple(ids[:5]),
                    fix="add these managers (with a segment) to the managers table, "
                    "or drop their KPI rows",
                )
            ]
        )
    frame = frame.merge(_kpi_meta(), on="kpi", how="left")
    return frame, info


def _with_targets(
    frame: pd.DataFrame,
    info: pd.DataFrame,
    targets: Mapping[str, Any] | Any | None,
    targets_table: pd.DataFrame | None,
) -> pd.DataFrame:
    """Each row's target, the layer it came from (target_level) and its source label."""
    if isinstance(targets, Targets):
        spec = targets
        if spec.table is not None:
            targets_table = spec.table
    else:
        # a plain mapping (or None: params/policy/targets.yaml, the demo company's targets)
        spec = Targets(
            source="params" if targets is not None else "demo",
            mapping=dict(read_params("policy/targets") if targets is None else targets),
            mapping_source="params" if targets is not None else "demo",
        )
    if spec.history:
        table_only = resolve_targets(frame, info, targets={}, targets_table=targets_table)
        from_history = history_targets(frame, spec.growth)
        take = table_only["target"].isna().to_numpy()
        target = table_only["target"].to_numpy(copy=True)
        target[take] = from_history.to_numpy()[take]
        levels = table_only["target_source"].astype(object).to_numpy(copy=True)
        levels[take & ~np.isnan(target)] = "history"
        resolved = pd.DataFrame({"target": target, "target_source": levels})
    else:
        resolved = resolve_targets(
            frame, info, targets=spec.mapping or {}, targets_table=targets_table
        )
    frame["target"] = resolved["target"].to_numpy()
    level = pd.Series(resolved["target_source"].to_numpy(), index=frame.index, dtype="string")
    frame["target_level"] = level
    from_table = (level == "table").fillna(False).to_numpy(dtype=bool)
    source = np.where(
        frame["target"].isna().to_numpy(),
        "none",
        np.where(from_table, "data", spec.fallback_source),
    )
    frame["target_source"] = pd.array(source, dtype="string")
    return frame


def _with_scores(
    frame: pd.DataFrame, settings: Mapping[str, Any], weights: pd.DataFrame
) -> pd.DataFrame:
    """Attainment, percentile, quartile, weight, kpi_score, contribution and max_points."""
    ok = (frame["status"] == "ok").fillna(False) & frame["value"].notna()
    frame["attainment"] = attainment(
        frame["value"],
        frame["target"],
        frame["direction"],
        settings["attainment_cap"],
        offset=frame["kpi"].map(settings["attainment_offsets"]).astype("float64").fillna(0.0),
    ).where(ok)
    pct = peer_percentile(
        frame.loc[ok, ["segment", "period", "kpi", "value", "direction"]],
        ["segment", "period", "kpi"],
        min_peers=int(settings["min_peers"]),
    )
    frame["percentile"] = pct.reindex(frame.index).astype("float64")
    frame["quartile"] = quartile(frame["percentile"])

    weight_map = weights.set_index(["segment", "kpi"])["weight"]
    keys = pd.MultiIndex.from_frame(frame[["segment", "kpi"]].astype(object))
    frame["weight"] = weight_map.reindex(keys).fillna(0.0).to_numpy()

    share = float(settings["attainment_share"])
    full = float(settings["full_marks_at"])
    a_points = 100.0 * frame["attainment"].clip(upper=full) / full
    p_points = frame["percentile"]
    both = a_points.notna() & p_points.notna()
    score = a_points.fillna(p_points)  # one part missing: the other alone
    score[both] = share * a_points[both] + (1 - share) * p_points[both]
    frame["kpi_score"] = score.where(ok).astype("float64")

    scored = frame["kpi_score"].notna()
    scored_weight = frame["weight"].where(scored, 0.0)
    denom = scored_weight.groupby([frame["manager_id"], frame["period"]]).transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        contribution = frame["kpi_score"] * frame["weight"] / denom
    frame["contribution"] = contribution.where(scored & (denom > 0)).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        max_points = 100.0 * frame["weight"] / denom
    frame["max_points"] = max_points.where(scored & (denom > 0)).astype("float64")
    return frame


def _period_labels(period: pd.Series) -> pd.Series:
    if isinstance(period.dtype, pd.PeriodDtype):
        return period.map(period_label).astype("string")
    return period.astype("string")


# --------------------------------------------------------------------------- scores
def scores(scorecard: pd.DataFrame, profiles: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Summarise a scorecard into one 0..100 score per manager and period.

    Parameters
    ----------
    scorecard : output of :func:`scorecard`.
    profiles : optional mapping of ``params/policy/kpi_profiles.yaml`` whose segment weights form the
        coverage denominator; by default the weights of the manager's scorecard rows are used
        (the KPI frame of :func:`amtools.kpi.compute` has a row for every KPI). Its
        ``scoring.min_coverage`` (default 0.5; read from ``params/policy/kpi_profiles.yaml`` when
        ``profiles`` is ``None``) is the coverage a score needs to be ranked.

    Returns
    -------
    DataFrame with columns manager_id, period, segment, team, score (sum of contributions,
    NaN when no weighted KPI had data), rank (within segment and period among the ranked
    managers, 1 = best, ties share the best rank; NA when not ranked), n_kpis (weighted KPIs
    that entered the score), coverage (share of the segment profile's weight whose KPIs had
    data), ranked (False when coverage is below ``min_coverage`` or there is no score; such a
    manager keeps the score value but is not compared) and status ("ok" or
    "insufficient_data"). Sorted by period, segment, rank, manager_id (unranked last).

    Example
    -------
    >>> import pandas as pd
    >>> sc = pd.DataFrame({"manager_id": ["m1", "m1", "m2", "m2"], "period": ["2026Q3"] * 4,
    ...     "segment": ["B2C"] * 4, "team": ["North"] * 4,
    ...     "kpi": ["sales_volume", "conversion_rate"] * 2, "weight": [0.6, 0.4] * 2,
    ...     "kpi_score": [80.0, 50.0, 60.0, None], "contribution": [48.0, 20.0, 60.0, None]})
    >>> prof = {"B2C": {"weights": {"sales_volume": 0.6, "conversion_rate": 0.4}}}
    >>> scores(sc, prof)[["manager_id", "score", "rank", "coverage"]].values.tolist()
    [['m1', 68.0, 1, 1.0], ['m2', 60.0, 2, 0.6]]
    >>> prof["scoring"] = {"min_coverage": 0.8}  # m2 (60 % coverage) is no longer ranked
    >>> scores(sc, prof)[["manager_id", "rank", "ranked", "status"]].values.tolist()
    [['m1', 1, True, 'ok'], ['m2', <NA>, False, 'insufficient_data']]
    """
    need = ["manager_id", "period", "segment", "team", "weight", "contribution"]
    missing = [c for c in need if c not in scorecard]
    if missing:
        raise ParameterError(
            f"scorecard frame lacks column(s) {missing}; pass the output of scorecard()"
        )
    entered = scorecard["contribution"].notna() & (scorecard["weight"] > 0)
    # coverage is about data, not targets: a KPI measured with status "ok" counts even when
    # it could not be scored (no target and too few peers for a percentile)
    measured = (
        ((scorecard["status"].astype("string") == "ok").fillna(False) & (scorecard["weight"] > 0))
        | entered
        if "status" in scorecard
        else entered
    )
    # a KPI whose input the source lacks altogether is not the manager's gap: it leaves the
    # coverage denominator (the reason key says so; older frames without it keep it in)
    if "reason" in scorecard and "status" in scorecard:
        key = scorecard["reason"].astype("string")
        absent = (
            (scorecard["status"].astype("string") == "not_available") & key.isin(SOURCE_REASONS)
        ).fillna(False) & ~measured
    else:
        absent = pd.Series(False, index=scorecard.index)
    work = pd.DataFrame(
        {
            "absent_weight": scorecard["weight"].astype("float64").where(absent, 0.0),
            "manager_id": scorecard["manager_id"].astype("string"),
            "period": scorecard["period"].astype("string"),
            "segment": scorecard["segment"].astype("string"),
            "team": scorecard["team"].astype("string"),
            "contribution": scorecard["contribution"].where(entered),
            "scored_weight": scorecard["weight"].where(measured, 0.0),
            "entered": entered.astype(int),
            "weight": scorecard["weight"].astype("float64"),
        }
    )
    out = (
        work.groupby(["manager_id", "period"], sort=False, dropna=False)
        .agg(
            segment=("segment", "first"),
            team=("team", "first"),
            score=("contribution", lambda s: s.sum(min_count=1)),
            n_kpis=("entered", "sum"),
            scored_weight=("scored_weight", "sum"),
            total_weight=("weight", "sum"),
            absent_weight=("absent_weight", "sum"),
        )
        .reset_index()
    )
    if profiles is None:
        total = out["total_weight"]
    else:
        totals = profile_weights(profiles).groupby("segment")["weight"].sum()
        total = out["segment"].map(totals).astype("float64")
    total = total - out["absent_weight"]
    out["coverage"] = (out["scored_weight"] / total).where(total > 0).astype("float64")
    out["score"] = out["score"].astype("float64")
    min_coverage = float(scoring_settings(profiles)["min_coverage"])
    ranked = out["score"].notna() & (out["coverage"].fillna(0.0) >= min_coverage - 1e-12)
    out["ranked"] = ranked.astype("boolean")
    out["status"] = pd.Series(
        np.where(ranked, "ok", "insufficient_data"), index=out.index, dtype="string"
    )
    out["rank"] = (
        out["score"]
        .where(ranked)
        .groupby([out["segment"], out["period"]])
        .rank(method="min", ascending=False)
        .astype("Int64")
    )
    out["n_kpis"] = out["n_kpis"].astype("Int64")
    out = out.sort_values(["period", "segment", "rank", "manager_id"], na_position="last")
    return out[SCORES_COLUMNS].reset_index(drop=True)
