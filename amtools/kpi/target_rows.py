"""Each KPI row's target from a mapping in the ``params/policy/targets.yaml`` format.

Layers, highest first: the dataset's ``targets`` table, then the mapping's ``managers``,
``teams`` and segment ``defaults``; YAML targets are converted from their base period to the
row's period length (see :func:`resolve_targets`). Where a source's targets come from at all
is :mod:`amtools.kpi.targets`'s decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError
from amtools.core.periods import parse_period
from amtools.core.problems import DataValidationError, Problem
from amtools.core.settings import read_params
from amtools.core.vocab import SEGMENTS
from amtools.kpi.profiles import check_kpi_ids
from amtools.kpi.registry import KPIS

__all__ = ["manager_info", "resolve_targets"]

_MONTHS = {"M": 1, "Q": 3, "Y": 12, "A": 12}
_SCALINGS = ("additive", "survival", "hazard")
_TARGET_KEYS = ("base_freq", "scaling", "prorate_new_hires", "defaults", "teams", "managers")


def _period_months(label: str) -> int:
    try:
        period = parse_period(label)
    except ValueError as exc:
        raise ParameterError(f"kpis.period: {exc}") from None
    return _MONTHS[period.freqstr.split("-")[0][0]]


def _check_target_section(section: Mapping[str, Any], where: str) -> None:
    check_kpi_ids(section, f"params/policy/targets.yaml {where}")
    bad = {
        k: v for k, v in section.items() if not isinstance(v, int | float) or isinstance(v, bool)
    }
    if bad:
        raise ParameterError(
            f"params/policy/targets.yaml {where}: targets must be numbers, got {bad}"
        )


def _scaling_of(targets: Mapping[str, Any]) -> dict[str, str]:
    scaling = targets.get("scaling") or {}
    unknown = sorted(set(scaling) - set(_SCALINGS))
    if unknown:
        raise ParameterError(
            f"params/policy/targets.yaml: unknown scaling kind(s) {unknown}; allowed: {', '.join(_SCALINGS)}"
        )
    # The registry declares how each KPI scales; targets.yaml `scaling` may override it.
    declared = {kpi_id: kpi.scaling for kpi_id, kpi in KPIS.items() if kpi.scaling in _SCALINGS}
    kinds: dict[str, str] = {}
    for kind in _SCALINGS:
        ids = scaling.get(kind) or []
        check_kpi_ids(ids, f"params/policy/targets.yaml scaling.{kind}")
        for kpi_id in ids:
            if kpi_id in kinds:
                raise ParameterError(
                    f"params/policy/targets.yaml: KPI {kpi_id!r} is listed under both scaling.{kinds[kpi_id]} "
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
    unknown = ~out["kpi"].isin(list(KPIS))
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
            f"params/policy/targets.yaml: unknown top-level key(s) {unknown_keys}; "
            f"allowed: {', '.join(_TARGET_KEYS)}"
        )
    base_freq = str(targets.get("base_freq", "Q"))
    if base_freq not in ("M", "Q", "Y"):
        raise ParameterError(
            f"params/policy/targets.yaml: base_freq must be M, Q or Y, got {base_freq!r}"
        )
    kinds = _scaling_of(targets)

    frame = kpis[["manager_id", "period", "kpi"]].astype(
        {"manager_id": "string", "period": "string", "kpi": "string"}
    )
    info = manager_info(managers)
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
            f"params/policy/targets.yaml: defaults has unknown segment(s) {unknown_segments}; "
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


def manager_info(managers: pd.DataFrame) -> pd.DataFrame:
    """manager_id, segment, team and hire_date of the managers table, one row per manager."""
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
