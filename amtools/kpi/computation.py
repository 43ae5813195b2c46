"""Compute every KPI of the registry for all managers (or teams, segments, the company) x periods at once.

:func:`compute_levels` reads the settings (``params/policy/kpi.yaml``, with the caller's
overrides), builds the grouping context (:class:`amtools.kpi.engine.Context`) and the shared
arrays (:class:`amtools.kpi.prep.Prep`) once, then runs each KPI definition
(``amtools.kpi.definitions``, one module per registry group) level by level.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.machine import usable_cpus
from amtools.core.settings.kpi import KpiSettings
from amtools.core.vocab import LEVELS, SEGMENTS
from amtools.kpi.availability import INFERRED_CHURN, absent_cells, missing_input
from amtools.kpi.definitions import activity, client, financial, internal, professional, project
from amtools.kpi.engine import Context, Result, assemble
from amtools.kpi.prep import KpiFunction, Prep
from amtools.kpi.reasons import reason_code
from amtools.kpi.registry import GROUPS, KPIS

__all__ = ["FUNCS", "compute", "compute_levels", "kpi_params", "kpi_settings"]

_PARALLEL_MIN_ROWS = 200_000

_BY_GROUP: dict[str, dict[str, KpiFunction]] = {
    "financial": financial.FUNCS,
    "client": client.FUNCS,
    "activity": activity.FUNCS,
    "project": project.FUNCS,
    "internal": internal.FUNCS,
    "professional": professional.FUNCS,
}
for _group, _funcs in _BY_GROUP.items():  # pragma: no cover - registry and definitions must agree
    if set(_funcs) != {k for k, v in KPIS.items() if v.group == _group}:
        raise RuntimeError(f"KPI registry and amtools.kpi.definitions.{_group} disagree")
if set(_BY_GROUP) != set(GROUPS):  # pragma: no cover
    raise RuntimeError("KPI registry groups and amtools.kpi.definitions disagree")

FUNCS: dict[str, KpiFunction] = {k: _BY_GROUP[v.group][k] for k, v in KPIS.items()}
"""KPI id -> its definition, in registry (catalogue) order."""


def kpi_settings(params: Mapping[str, Any] | KpiSettings | None = None) -> KpiSettings:
    """The settings a compute call uses: ``params/policy/kpi.yaml`` with ``params`` merged over it.

    Raises
    ------
    ParameterError
        On an invalid file or override, or a ``min_samples`` id the registry does not know.

    Example
    -------
    >>> kpi_settings({"sla_hours": 8}).sla_hours
    8.0
    """
    if isinstance(params, KpiSettings):
        settings = params
    else:
        settings = KpiSettings.load().with_overrides(
            params, source="params (overrides of params/policy/kpi.yaml)"
        )
    unknown = sorted(set(settings.min_samples) - set(KPIS))
    if unknown:
        raise ParameterError(
            f"min_samples names unknown KPI id(s) {unknown}; use the ids of "
            "amtools.kpi.registry.KPIS (e.g. conversion_rate: 20)"
        )
    return settings


def kpi_params(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`kpi_settings` as a plain mapping in the file's format (what a report records).

    Example
    -------
    >>> kpi_params({"sla_hours": 8})["sla_hours"]
    8.0
    """
    return kpi_settings(params).as_dict()


def _arrow_backed(values: pd.Series) -> bool:
    """Arrow-backed text: hashing it releases the GIL, so a second thread pays off.

    Python-object strings hold the GIL while hashed; threads would only contend.
    """
    dtype = values.dtype
    return getattr(dtype, "storage", None) == "pyarrow" or isinstance(dtype, pd.ArrowDtype)


def compute(
    dataset: Dataset,
    freq: str = "Q",
    periods: Sequence[str | pd.Period] | str | None = None,
    *,
    fiscal_year_start: int = 1,
    level: str = "manager",
    params: Mapping[str, Any] | KpiSettings | None = None,
) -> pd.DataFrame:
    """Compute every KPI of the registry for all managers (or a roll-up) x periods.

    Parameters
    ----------
    dataset : the typed CRM tables (``managers``, ``clients`` and ``deals`` required).
    freq : ``"M"``, ``"Q"`` or ``"Y"``.
    periods : labels or Periods to report; ``None`` = every period the data covers
        (capped at ``dataset.meta["period_end"]`` when present).
    fiscal_year_start : first month of the fiscal year (quarters and years shift with it).
    level : ``"manager"``, ``"team"``, ``"segment"`` or ``"company"``. Roll-ups pool the
        underlying events (numerators and denominators are summed, medians taken over
        all pooled values) — never an average of manager ratios.
    params : overrides of ``params/policy/kpi.yaml`` (a mapping of some of its keys: sla_hours,
        budget_tolerance, comparison, nps_min_responses, meeting_types, promoter_min,
        detractor_max, confidence, min_samples, churn_inactive_months), or a
        :class:`~amtools.core.settings.kpi.KpiSettings`; ``None``: the file as it is.

    Returns
    -------
    DataFrame with one row per group x period x KPI (catalogue order): the group column
    (``manager_id``/``team``/``segment``/``company``), period (label), kpi, value (float),
    n (Int64 sample size), low, high (interval or NaN), status ("ok",
    "insufficient_data", "not_available") and reason (text or NA).

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> k = compute(make_demo(n_managers=5), freq="Q")  # doctest: +SKIP
    >>> k.query("kpi == 'conversion_rate'").head()  # doctest: +SKIP
    """
    return compute_levels(
        dataset, freq, periods, fiscal_year_start=fiscal_year_start, levels=(level,), params=params
    )[level]


def compute_levels(
    dataset: Dataset,
    freq: str = "Q",
    periods: Sequence[str | pd.Period] | str | None = None,
    *,
    fiscal_year_start: int = 1,
    levels: Sequence[str] = LEVELS,
    params: Mapping[str, Any] | KpiSettings | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`compute` for several levels at once, sharing the expensive preparation.

    Ids are hashed, dates coded and won deals extracted once; each level then only
    re-groups the integer codes. Use it when a report needs manager, team, segment and
    company tables together (4 separate ``compute`` calls would redo the preparation).

    Returns
    -------
    dict level -> the frame :func:`compute` returns for that level.

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> tables = compute_levels(make_demo(n_managers=5), "Q")  # doctest: +SKIP
    >>> tables["company"].query("kpi == 'conversion_rate'")  # doctest: +SKIP
    """
    levels = list(levels)
    if not levels:
        raise ParameterError(f"levels must name at least one of {', '.join(LEVELS)}")
    settings = kpi_settings(params)
    ctx = Context(dataset, freq, periods, fiscal_year_start, levels[0], settings)
    min_samples = {k: int(v.min_sample) for k, v in KPIS.items()}
    min_samples["nps"] = settings.nps_min_responses
    min_samples.update(settings.min_samples)
    # Large inputs use two threads: the heavy steps (Arrow hashing, numpy gathers and
    # ufuncs) release the GIL, and KPIs are independent once the shared arrays exist.
    parallel = (
        len(dataset["deals"]) >= _PARALLEL_MIN_ROWS
        and usable_cpus() > 1
        and _arrow_backed(dataset["deals"]["manager_id"])
    )
    out: dict[str, pd.DataFrame] = {}
    with ThreadPoolExecutor(max_workers=2) if parallel else contextlib.nullcontext() as pool:
        prep = Prep(ctx, pool)
        for level in levels:
            if level != ctx.level:
                ctx.set_level(level)
                prep.rekey()
            out[level] = _compute_level(ctx, prep, pool, min_samples)
    return out


def _compute_level(
    ctx: Context, prep: Prep, pool: ThreadPoolExecutor | None, min_samples: dict[str, int]
) -> pd.DataFrame:
    if pool is not None and prep.clients is not None:
        client.retention(ctx, prep)  # shared by retention_rate and churn_rate
    todo = {k: f for k, f in FUNCS.items() if missing_input(ctx, k) is None}
    if pool is not None:
        futures = {k: pool.submit(f, ctx, prep) for k, f in todo.items()}
        computed = {k: fut.result() for k, fut in futures.items()}
    else:
        computed = {k: f(ctx, prep) for k, f in todo.items()}
    tenure = absent_cells(ctx)
    results: dict[str, Result] = {}
    for kpi_id in FUNCS:
        if kpi_id not in computed:
            results[kpi_id] = ctx.empty(missing_input(ctx, kpi_id))
            continue
        res = computed[kpi_id]
        kpi = KPIS[kpi_id]
        res.inferred = kpi_id in INFERRED_CHURN and prep.lapse_months is not None
        if set(kpi.segments) != set(SEGMENTS):
            in_scope = np.isin(ctx.mgr_segment, kpi.segments)
            outside = ~ctx.group_has(in_scope)
            res.reason[outside] = reason_code("segment_only", segments="/".join(kpi.segments))
        if tenure is not None:
            # outside the manager's tenure an empty cell is "not there", not an honest 0
            off = (tenure != None) & ~(np.nan_to_num(res.n, nan=0.0) > 0)  # noqa: E711
            res.reason[off] = tenure[off]
        results[kpi_id] = res
    return assemble(ctx, results, min_samples)
