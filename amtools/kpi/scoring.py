"""KPI scorecards: attainment against targets, peer percentiles and the weighted 0-100 score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError, PolicyError
from amtools.core.periods import parse_period
from amtools.core.problems import DataValidationError, Problem
from amtools.core.schema import SEGMENTS
from amtools.core.settings import read_params

__all__ = [
    "SCORECARD_COLUMNS",
    "SCORES_COLUMNS",
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
_MONTHS = {"M": 1, "Q": 3, "Y": 12, "A": 12}
_SCALINGS = ("additive", "survival", "hazard")
_TARGET_KEYS = ("base_freq", "scaling", "prorate_new_hires", "defaults", "teams", "managers")


# --------------------------------------------------------------------------- registry
def _registry() -> dict[str, Any]:
    """The KPI registry (``KPIS``), imported lazily so the module loads fast."""
    from amtools.kpi.registry import KPIS

    return KPIS


def _kpi_meta() -> pd.DataFrame:
    registry = _registry()
    return pd.DataFrame(
        {
            "kpi": list(registry),
            "group": [k.group for k in registry.values()],
            "direction": [k.direction for k in registry.values()],
            "unit": [k.unit for k in registry.values()],
            "kpi_order": range(len(registry)),
        }
    ).astype({"kpi": "string", "group": "string", "direction": "string", "unit": "string"})


def _unknown_kpis(ids: object, where: str) -> None:
    registry = _registry()
    unknown = sorted({str(k) for k in ids} - set(registry))  # type: ignore[attr-defined]
    if unknown:
        raise ParameterError(
            f"{where} names unknown KPI id(s) {unknown}; known ids: {', '.join(registry)}. "
            "Fix the id (see amtools.kpi.registry.KPIS)."
        )


# --------------------------------------------------------------------------- settings
_DEFAULT_SETTINGS = {
    "attainment_cap": 2.0,
    "full_marks_at": 1.0,
    "attainment_share": 0.5,
    "min_peers": 3,
    "attainment_offsets": {},
    "min_coverage": 0.5,
}


def scoring_settings(profiles: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the scoring settings of a profiles mapping, defaults filled in and checked.

    Parameters
    ----------
    profiles : the mapping of ``params/policy/kpi_profiles.yaml`` (read when ``None``).

    Example
    -------
    >>> scoring_settings({"scoring": {"attainment_cap": 1.5}})["attainment_cap"]
    1.5
    """
    profiles = read_params("policy/kpi_profiles") if profiles is None else profiles
    raw = profiles.get("scoring") or {}
    unknown = sorted(set(raw) - set(_DEFAULT_SETTINGS))
    if unknown:
        raise ParameterError(
            f"kpi_profiles.yaml: unknown scoring setting(s) {unknown}; "
            f"allowed: {', '.join(_DEFAULT_SETTINGS)}"
        )
    settings = {**_DEFAULT_SETTINGS, **raw}
    checks = [
        ("attainment_cap", settings["attainment_cap"] >= 1, "a number >= 1"),
        (
            "full_marks_at",
            0 < settings["full_marks_at"] <= settings["attainment_cap"],
            "a number in (0, attainment_cap]",
        ),
        ("attainment_share", 0 <= settings["attainment_share"] <= 1, "a number in [0, 1]"),
        ("min_peers", settings["min_peers"] >= 2, "an integer >= 2"),
        ("min_coverage", 0 <= settings["min_coverage"] <= 1, "a number in [0, 1]"),
    ]
    for name, ok, what in checks:
        if not ok:
            raise ParameterError(
                f"kpi_profiles.yaml: scoring.{name} = {settings[name]!r} must be {what}"
            )
    offsets = settings["attainment_offsets"] or {}
    _unknown_kpis(offsets, "kpi_profiles.yaml scoring.attainment_offsets")
    bad = {k: v for k, v in offsets.items() if not isinstance(v, int | float) or v < 0}
    if bad:
        raise ParameterError(
            "kpi_profiles.yaml: scoring.attainment_offsets must map KPI ids to numbers >= 0, "
            f"got {bad}"
        )
    settings["attainment_offsets"] = {k: float(v) for k, v in offsets.items()}
    return settings


def profile_weights(profiles: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Return the KPI weights of every segment profile as a tidy frame.

    Parameters
    ----------
    profiles : the mapping of ``params/policy/kpi_profiles.yaml`` (read when ``None``):
        ``{segment: {"weights": {kpi_id: weight, ...}}, "scoring": {...}}``.

    Returns
    -------
    DataFrame with columns segment, kpi, weight (registry order within a segment).

    Raises
    ------
    PolicyError
        On an unknown segment, unknown KPI id, negative weight or an all-zero profile.

    Example
    -------
    >>> w = profile_weights({"B2C": {"weights": {"sales_volume": 0.6, "conversion_rate": 0.4}}})
    >>> float(w["weight"].sum())
    1.0
    """
    profiles = read_params("policy/kpi_profiles") if profiles is None else profiles
    registry = _registry()
    rows = []
    for segment, spec in profiles.items():
        if segment == "scoring":
            continue
        if segment not in SEGMENTS:
            raise PolicyError(
                f"kpi_profiles.yaml: unknown segment {segment!r}; use one of {', '.join(SEGMENTS)}"
            )
        weights = (spec or {}).get("weights") or {}
        unknown = sorted(set(weights) - set(registry))
        if unknown:
            raise PolicyError(
                f"kpi_profiles.yaml: {segment}.weights names unknown KPI id(s) {unknown}; "
                f"known ids: {', '.join(registry)}"
            )
        bad = {k: w for k, w in weights.items() if not isinstance(w, int | float) or w < 0}
        if bad:
            raise PolicyError(
                f"kpi_profiles.yaml: {segment}.weights must be numbers >= 0, got {bad}"
            )
        if weights and sum(weights.values()) <= 0:
            raise PolicyError(f"kpi_profiles.yaml: {segment}.weights are all zero")
        for kpi_id in registry:
            if kpi_id in weights:
                rows.append((segment, kpi_id, float(weights[kpi_id])))
    return pd.DataFrame(rows, columns=["segment", "kpi", "weight"]).astype(
        {"segment": "string", "kpi": "string", "weight": "float64"}
    )


# --------------------------------------------------------------------------- targets
def _period_months(label: str) -> int:
    try:
        period = parse_period(label)
    except ValueError as exc:
        raise ParameterError(f"kpis.period: {exc}") from None
    return _MONTHS[period.freqstr.split("-")[0][0]]


def _check_target_section(section: Mapping[str, Any], where: str) -> None:
    _unknown_kpis(section, f"targets.yaml {where}")
    bad = {
        k: v for k, v in section.items() if not isinstance(v, int | float) or isinstance(v, bool)
    }
    if bad:
        raise ParameterError(f"targets.yaml {where}: targets must be numbers, got {bad}")


def _scaling_of(targets: Mapping[str, Any]) -> dict[str, str]:
    scaling = targets.get("scaling") or {}
    unknown = sorted(set(scaling) - set(_SCALINGS))
    if unknown:
        raise ParameterError(
            f"targets.yaml: unknown scaling kind(s) {unknown}; allowed: {', '.join(_SCALINGS)}"
        )
    # The registry declares how each KPI scales; targets.yaml `scaling` may override it.
    declared = {
        kpi_id: kpi.scaling for kpi_id, kpi in _registry().items() if kpi.scaling in _SCALINGS
    }
    kinds: dict[str, str] = {}
    for kind in _SCALINGS:
        ids = scaling.get(kind) or []
        _unknown_kpis(ids, f"targets.yaml scaling.{kind}")
        for kpi_id in ids:
            if kpi_id in kinds:
                raise ParameterError(
                    f"targets.yaml: KPI {kpi_id!r} is listed under both scaling.{kinds[kpi_id]} "
                    f"and scaling.{kind}; keep one"
                )
            kinds[kpi_id] = kind
    return {**declared, **kinds}


def _tenure_share(frame: pd.DataFrame) -> pd.Series:
    """Share of each row's period after the manager's hire date (1.0 when unknown)."""
    labels = frame["period"].drop_duplicates()
    bounds = {label: parse_period(label) for label in labels}
    start = (
        frame["period"].map({k: p.start_time for k, p in bounds.items()}).astype("datetime64[ns]")
    )
    end = (
        frame["period"]
        .map({k: p.end_time.normalize() for k, p in bounds.items()})
        .astype("datetime64[ns]")
    )
    hired = pd.to_datetime(frame["hire_date"], errors="coerce").astype("datetime64[ns]")
    first_day = hired.where(hired > start, start)
    days = (end - start).dt.days + 1
    share = ((end - first_day).dt.days + 1).clip(lower=0) / days
    return share.fillna(1.0).clip(0.0, 1.0).astype("float64")


def _scale(target: pd.Series, kind: pd.Series, factor: pd.Series) -> pd.Series:
    """Convert base-frequency targets to the period's length (``factor`` = months / base)."""
    out = target.copy()
    add = kind == "additive"
    out[add] = target[add] * factor[add]
    surv = kind == "survival"
    out[surv] = target[surv] ** factor[surv]
    haz = kind == "hazard"
    out[haz] = 1 - (1 - target[haz]) ** factor[haz]
    return out


def _targets_table(table: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("manager_id", "period", "kpi", "target") if c not in table]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "targets",
                    c,
                    "missing_column",
                    f"column {c!r} is missing",
                    len(table),
                    fix="the targets table needs manager_id, period, kpi, target",
                )
                for c in missing
            ]
        )
    out = table[["manager_id", "period", "kpi", "target"]].astype(
        {"manager_id": "string", "period": "string", "kpi": "string"}
    )
    out["target"] = pd.to_numeric(out["target"], errors="coerce").astype("float64")
    problems = []
    unknown = ~out["kpi"].isin(list(_registry()))
    if unknown.any():
        problems.append(
            Problem(
                "targets",
                "kpi",
                "unknown_kpi",
                "KPI id not in the KPI registry",
                int(unknown.sum()),
                tuple(sorted(out.loc[unknown, "kpi"].unique())[:5]),
                fix="use the ids of amtools.kpi.registry.KPIS",
            )
        )
    empty = out["target"].isna()
    if empty.any():
        rows = out.loc[empty, ["manager_id", "period", "kpi"]].astype(str).agg("/".join, axis=1)
        problems.append(
            Problem(
                "targets",
                "target",
                "not_a_number",
                "target is empty or not a number",
                int(empty.sum()),
                tuple(rows.head(5)),
                fix="give every row a numeric target",
            )
        )
    dup = out.duplicated(["manager_id", "period", "kpi"], keep=False)
    if dup.any():
        rows = out.loc[dup, ["manager_id", "period", "kpi"]].astype(str).agg("/".join, axis=1)
        problems.append(
            Problem(
                "targets",
                "kpi",
                "duplicate",
                "more than one target for a manager, period and KPI",
                int(dup.sum()),
                tuple(rows.unique()[:5]),
                fix="keep one row per manager_id, period, kpi",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return out


def resolve_targets(
    kpis: pd.DataFrame,
    managers: pd.DataFrame,
    *,
    targets: Mapping[str, Any] | None = None,
    targets_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the target of every manager x period x KPI row of a KPI frame.

    Precedence, highest first: a row of ``targets_table`` (manager_id, period, kpi, target;
    taken as given, for that exact period label) > ``targets["managers"][manager_id]`` >
    ``targets["teams"][team]`` > ``targets["defaults"][segment]``. YAML targets are stated for
    ``targets["base_freq"]`` (default "Q") periods and converted to the period's length as
    declared under ``targets["scaling"]``: ``additive`` KPIs (sums and counts) scale with the
    number of months, ``survival`` rates (retention) as ``t ** k`` and ``hazard`` rates (churn)
    as ``1 - (1 - t) ** k``, ``k`` = months / base months; every other KPI (ratios, averages,
    medians, scores) keeps its target. Unless ``targets["prorate_new_hires"]`` is false,
    additive YAML targets of a manager hired during the period are cut to the share of the
    period's days from the hire date on (``managers.hire_date``).

    Parameters
    ----------
    kpis : manager-level KPI frame (manager_id, period, kpi, ...).
    managers : the managers table (manager_id, segment, team).
    targets : mapping of ``params/policy/targets.yaml`` (read when ``None``).
    targets_table : the optional ``targets`` table of the dataset.

    Returns
    -------
    DataFrame with columns manager_id, period, kpi, target, target_source
    (``"table"``, ``"manager"``, ``"team"``, ``"segment"`` or NA when there is no target).

    Example
    -------
    >>> import pandas as pd
    >>> k = pd.DataFrame({"manager_id": ["m1"], "period": ["2026-07"], "kpi": ["sales_volume"]})
    >>> m = pd.DataFrame({"manager_id": ["m1"], "segment": ["B2C"]})
    >>> t = {"base_freq": "Q", "scaling": {"additive": ["sales_volume"]},
    ...      "defaults": {"B2C": {"sales_volume": 3_000_000}}}
    >>> resolve_targets(k, m, targets=t)["target"].item()
    1000000.0
    """
    targets = read_params("policy/targets") if targets is None else targets
    unknown_keys = sorted(set(targets) - set(_TARGET_KEYS))
    if unknown_keys:
        raise ParameterError(
            f"targets.yaml: unknown top-level key(s) {unknown_keys}; "
            f"allowed: {', '.join(_TARGET_KEYS)}"
        )
    base_freq = str(targets.get("base_freq", "Q"))
    if base_freq not in ("M", "Q", "Y"):
        raise ParameterError(f"targets.yaml: base_freq must be M, Q or Y, got {base_freq!r}")
    kinds = _scaling_of(targets)

    frame = kpis[["manager_id", "period", "kpi"]].astype(
        {"manager_id": "string", "period": "string", "kpi": "string"}
    )
    info = _managers(managers)
    frame = frame.merge(info, on="manager_id", how="left")

    def lookup(section: Mapping[str, Any], key_col: str, where: str) -> pd.Series:
        pairs = []
        for key, values in (section or {}).items():
            _check_target_section(values or {}, f"{where}.{key}")
            pairs += [(str(key), kpi_id, float(v)) for kpi_id, v in (values or {}).items()]
        table = pd.DataFrame(pairs, columns=[key_col, "kpi", "t"]).astype(
            {key_col: "string", "kpi": "string", "t": "float64"}
        )
        merged = frame[[key_col, "kpi"]].merge(table, on=[key_col, "kpi"], how="left")
        return pd.Series(merged["t"].to_numpy(), index=frame.index)

    unknown_segments = sorted(set(targets.get("defaults") or {}) - set(SEGMENTS))
    if unknown_segments:
        raise ParameterError(
            f"targets.yaml: defaults has unknown segment(s) {unknown_segments}; "
            f"use {', '.join(SEGMENTS)}"
        )
    layers = [
        ("manager", lookup(targets.get("managers") or {}, "manager_id", "managers")),
        ("team", lookup(targets.get("teams") or {}, "team", "teams")),
        ("segment", lookup(targets.get("defaults") or {}, "segment", "defaults")),
    ]
    target = pd.Series(np.nan, index=frame.index, dtype="float64")
    source = pd.Series(pd.NA, index=frame.index, dtype="string")
    for name, values in layers:
        take = target.isna() & values.notna()
        target[take] = values[take]
        source[take] = name

    labels = frame["period"].drop_duplicates()
    months = {label: _period_months(label) for label in labels}
    factor = frame["period"].map(months).astype("float64") / _MONTHS[base_freq]
    kind = frame["kpi"].map(kinds).astype("string").fillna("")
    target = _scale(target, kind, factor)
    if targets.get("prorate_new_hires", True):
        additive = (kind == "additive").to_numpy()
        target[additive] = target[additive] * _tenure_share(frame)[additive]

    if targets_table is not None and len(targets_table):
        table = _targets_table(targets_table)
        merged = frame[["manager_id", "period", "kpi"]].merge(
            table, on=["manager_id", "period", "kpi"], how="left"
        )
        from_table = pd.Series(merged["target"].to_numpy(), index=frame.index)
        take = from_table.notna()
        target[take] = from_table[take]
        source[take] = "table"

    return pd.DataFrame(
        {
            "manager_id": frame["manager_id"],
            "period": frame["period"],
            "kpi": frame["kpi"],
            "target": target.astype("float64"),
            "target_source": source,
        }
    )


# --------------------------------------------------------------------------- measures
def attainment(
    value: pd.Series,
    target: pd.Series,
    direction: pd.Series,
    cap: float = 2.0,
    offset: pd.Series | float = 0.0,
) -> pd.Series:
    """Direction-aware attainment of a target, clipped to ``[0, cap]``.

    ``value / target`` when higher is better, ``target / value`` when lower is better, both
    shifted by ``offset`` first (1 for growth rates, so that growth g against a target t gives
    (1 + g) / (1 + t); 100 for NPS). A non-positive shifted target (zero violations) cannot be
    divided by, so attainment is then 1.0 when the value equals it, ``cap`` when strictly better
    and 0.0 when worse; likewise a lower-is-better value of 0 against a positive target gets
    ``cap``. NaN where the value or the target is missing.

    Example
    -------
    >>> import pandas as pd
    >>> attainment(pd.Series([50.0, 5.0]), pd.Series([40.0, 4.0]),
    ...            pd.Series(["higher", "lower"])).round(2).tolist()
    [1.25, 0.8]
    >>> growth = attainment(pd.Series([-0.12]), pd.Series([0.10]), pd.Series(["higher"]), offset=1.0)
    >>> growth.round(2).tolist()  # (1 - 0.12) / (1 + 0.10)
    [0.8]
    """
    shift = np.asarray(offset, dtype="float64")
    v = pd.to_numeric(value, errors="coerce").astype("float64").to_numpy() + shift
    t = pd.to_numeric(target, errors="coerce").astype("float64").to_numpy() + shift
    lower = np.asarray(direction.astype(str) == "lower")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lower, t / v, v / t)
        better = np.where(lower, v < t, v > t)
        step = np.where(v == t, 1.0, np.where(better, cap, 0.0))
        use_step = (t <= 0) | (lower & (v <= 0))
        out = np.where(use_step, step, ratio)
    out = np.clip(out, 0.0, cap)
    out[np.isnan(v) | np.isnan(t)] = np.nan
    return pd.Series(out, index=value.index, dtype="float64")


def peer_percentile(frame: pd.DataFrame, by: list[str], *, min_peers: int = 3) -> pd.Series:
    """Direction-aware percentile of ``value`` within groups ``by``, ties sharing the mid-rank.

    ``frame`` needs ``value`` and ``direction`` columns and holds only comparable rows.
    percentile = 100 * (peers worse + half of the other tied peers) / (peers - 1): best 100,
    worst 0, a tie block gets the mean of its places. NaN in groups smaller than ``min_peers``.

    Example
    -------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"g": ["a"] * 4, "value": [1.0, 2.0, 2.0, 3.0],
    ...                   "direction": ["higher"] * 4})
    >>> peer_percentile(f, ["g"]).tolist()
    [0.0, 50.0, 50.0, 100.0]
    """
    if frame.empty:
        return pd.Series(dtype="float64", index=frame.index)
    signed = frame["value"].astype("float64").where(frame["direction"] != "lower", -frame["value"])
    grouped = signed.groupby([frame[c] for c in by], sort=False)
    rank = grouped.rank(method="average", ascending=True)
    size = grouped.transform("size").astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (rank - 1.0) / (size - 1.0)
    return pct.where(size >= min_peers).astype("float64")


def _quartile(percentile: pd.Series) -> pd.Series:
    q = pd.Series(pd.NA, index=percentile.index, dtype="Int64")
    has = percentile.notna()
    p = percentile[has]
    q[has] = np.select([p >= 75, p >= 50, p >= 25], [1, 2, 3], default=4)
    return q


# --------------------------------------------------------------------------- scorecard
def _managers(managers: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("manager_id", "segment") if c not in managers]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "managers",
                    c,
                    "missing_column",
                    f"column {c!r} is missing",
                    len(managers),
                    fix="pass the managers table of the dataset (ds.managers)",
                )
                for c in missing
            ]
        )
    team = managers["team"] if "team" in managers else pd.Series(pd.NA, index=managers.index)
    hired = (
        managers["hire_date"]
        if "hire_date" in managers
        else pd.Series(pd.NaT, index=managers.index)
    )
    info = pd.DataFrame(
        {
            "manager_id": managers["manager_id"].astype("string"),
            "segment": managers["segment"].astype("string"),
            "team": team.astype("string"),
            "hire_date": pd.to_datetime(hired, errors="coerce").astype("datetime64[ns]"),
        }
    )
    return info.drop_duplicates("manager_id")


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
    _unknown_kpis(frame["kpi"].dropna().unique(), "the kpis frame")
    dup = frame.duplicated(["manager_id", "period", "kpi"], keep=False)
    if dup.any():
        examples = frame.loc[dup, ["manager_id", "period", "kpi"]].astype(str).agg("/".join, axis=1)
        raise ParameterError(
            f"the kpis frame has {int(dup.sum())} rows that repeat a manager_id, period and kpi "
            f"(e.g. {', '.join(examples.unique()[:3])}); pass one row per manager, period and "
            "KPI, as amtools.kpi.compute(level='manager') returns"
        )

    info = _managers(managers)
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

    from amtools.kpi.targets import Targets, history_targets

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
    frame["quartile"] = _quartile(frame["percentile"])

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

    frame = frame.sort_values(["manager_id", "period", "kpi_order"], kind="stable")
    return frame[SCORECARD_COLUMNS].reset_index(drop=True)


def _period_labels(period: pd.Series) -> pd.Series:
    if isinstance(period.dtype, pd.PeriodDtype):
        from amtools.core.periods import period_label

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
