"""Where a source's KPI targets come from: one resolver, one order, one label per target.

Targets belong to a source. ``params/policy/targets.yaml`` describes the demo company and applies
to the demo dataset only; any other source brings its own targets (a ``targets`` table, a
file given to the run, a file named by its mapping), asks for history-based defaults, or has
none — then scores rest on the comparison with peers alone and the scorecard says so
(``target_source == "none"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.periods import parse_period, period_label
from amtools.core.settings import read_params
from amtools.core.settings.kpi import KpiSettings
from amtools.core.vocab import DEMO_GENERATOR
from amtools.kpi.registry import KPIS

__all__ = [
    "TARGET_SOURCES",
    "Targets",
    "resolve_targets",
    "is_demo",
    "history_targets",
    "DEMO_GENERATOR",
]

TARGET_SOURCES = ("data", "params", "mapping", "demo", "history", "none")
"""Values of the scorecard's ``target_source`` column, highest precedence first."""

"""``dataset.meta["generator"]`` of the demo dataset (set by ``make_demo``, kept by ``load_demo``)."""

_HISTORY = "history"
_LAG = {"M": 12, "Q": 4, "Y": 1}


@dataclass(frozen=True)
class Targets:
    """The resolved targets of one source.

    Attributes
    ----------
    source : the highest-precedence source in use, one of :data:`TARGET_SOURCES`.
    mapping : targets in the ``params/policy/targets.yaml`` format (None when history or none).
    mapping_source : label of ``mapping`` ("params", "mapping" or "demo"), or None.
    table : the dataset's ``targets`` table (its rows win, cell by cell), or None.
    history : targets are derived from the same period a year earlier.
    growth : growth applied by the history default (``params/policy/kpi.yaml`` ``history_growth``).
    file : the YAML file the mapping was read from, when there was one.
    """

    source: str
    mapping: dict[str, Any] | None = None
    mapping_source: str | None = None
    table: pd.DataFrame | None = None
    history: bool = False
    growth: float = 0.05
    file: str | None = None

    @property
    def fallback_source(self) -> str:
        """Label of the targets below the table: the YAML source, "history" or "none"."""
        if self.history:
            return _HISTORY
        return self.mapping_source or "none"


def is_demo(dataset: Dataset) -> bool:
    """The dataset is the amtools demo (``meta["generator"]`` set by ``make_demo``).

    Example
    -------
    >>> from amtools.core.dataset import Dataset
    >>> import pandas as pd
    >>> is_demo(Dataset({"managers": pd.DataFrame()}, source="crm.xlsx"))
    False
    """
    return dataset.meta.get("generator") == DEMO_GENERATOR


def _read_yaml(path: str | Path, where: str) -> dict[str, Any]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ParameterError(
            f"{where}: targets file {str(p)!r} does not exist; give the path of a YAML file in "
            "the params/policy/targets.yaml format (or `targets: history`)"
        )
    return read_params(p)  # the one reader of parameter files: YAML errors named there


def _growth(value: Any, default: float, where: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 < value < 10:
        raise ParameterError(f"{where}: growth must be a number in (-1, 10), got {value!r}")
    return float(value)


def _spec(value: Any, label: str, where: str, growth: float, table: pd.DataFrame | None) -> Targets:
    """Targets from a params value: a mapping, "history", or the path of a YAML file."""
    file = None
    if isinstance(value, str | Path) and str(value).strip().lower() != _HISTORY:
        file = str(value)
        value = _read_yaml(value, where)
    if isinstance(value, str) and value.strip().lower() == _HISTORY:
        value = {"targets": _HISTORY}
    if not isinstance(value, Mapping):
        raise ParameterError(
            f"{where} must be a mapping in the params/policy/targets.yaml format, the path of such a "
            f"file, or 'history'; got {type(value).__name__}"
        )
    value = dict(value)
    if str(value.get("targets", "")).strip().lower() == _HISTORY:
        extra = sorted(set(value) - {"targets", "growth"})
        if extra:
            raise ParameterError(
                f"{where}: `targets: history` takes only an optional `growth`; remove {extra}"
            )
        return Targets(
            source="data" if table is not None else _HISTORY,
            table=table,
            history=True,
            growth=_growth(value.get("growth"), growth, where),
            file=file,
        )
    if "targets" in value:
        raise ParameterError(f"{where}: `targets:` may only be 'history', got {value['targets']!r}")
    return Targets(
        source="data" if table is not None else label,
        mapping=value,
        mapping_source=label,
        table=table,
        growth=growth,
        file=file,
    )


def resolve_targets(dataset: Dataset, params: Mapping[str, Any] | None = None) -> Targets:
    """Decide where ``dataset``'s targets come from.

    Order, highest first:

    1. a ``targets`` table in the data (manager_id, period, kpi, target) — its rows win cell
       by cell over whatever fills the rest;
    2. ``params["targets"]`` given explicitly (``amtools run --targets FILE``): a mapping in
       the ``params/policy/targets.yaml`` format, the path of such a file, or ``"history"``;
    3. ``dataset.meta["targets_file"]``: a YAML file named by the mapping's ``targets:`` key;
    4. ``params/policy/targets.yaml`` — only for the demo dataset (:func:`is_demo`): it describes
       the demo company;
    5. none: scores rest on peer percentiles alone.

    ``"history"`` (or a file holding ``targets: history``, optionally with ``growth: 0.1``)
    asks for history-based defaults: the value in the same period a year earlier, times
    ``1 + growth`` for volume KPIs (see :func:`history_targets`); growth defaults to
    ``params/policy/kpi.yaml`` ``history_growth``.

    Parameters
    ----------
    dataset : the loaded data (its ``targets`` table and ``meta`` are read).
    params : run parameters (``targets`` and ``kpi`` are read; the rest is ignored).

    Returns
    -------
    Targets

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> resolve_targets(make_demo(n_managers=4)).source  # doctest: +SKIP
    'data'
    >>> resolve_targets(other_dataset, {"targets": "history"}).source  # doctest: +SKIP
    'history'
    """
    params = dict(params or {})
    kpi_params = params.get("kpi") if isinstance(params.get("kpi"), Mapping) else None
    growth = (
        KpiSettings.load()
        .with_overrides(kpi_params, source="params['kpi'] (overrides of params/policy/kpi.yaml)")
        .history_growth
    )
    table = dataset.get("targets")
    if table is not None and len(table) == 0:
        table = None
    if params.get("targets") is not None:
        return _spec(params["targets"], "params", "params['targets']", growth, table)
    meta_file = dataset.meta.get("targets_file")
    if meta_file:
        return _spec(meta_file, "mapping", "the mapping's targets file", growth, table)
    if is_demo(dataset):
        try:
            demo = read_params("policy/targets")
        except ParameterError:
            demo = None
        if demo:
            return _spec(demo, "demo", "params/policy/targets.yaml", growth, table)
    return Targets(source="data" if table is not None else "none", table=table, growth=growth)


def _is_volume(kpi_id: str) -> bool:
    kpi = KPIS.get(kpi_id)
    return kpi is not None and kpi.additive and kpi.direction == "higher"


def history_targets(kpis: pd.DataFrame, growth: float) -> pd.Series:
    """History-based default targets for the rows of a manager-level KPI frame.

    The target of a row is the same manager's value of the same KPI in the same period a
    year earlier (status "ok" only), times ``1 + growth`` for volume KPIs (sums and counts
    where more is better: sales volume, new clients, meetings…). Rates, averages, medians,
    scores and lower-is-better counts keep last year's level: "10 % more than a 60 %
    conversion" or "10 % more violations" is not a plan anyone sets. NaN where the frame has
    no value a year earlier (a new manager, the first year of data).

    Example
    -------
    >>> import pandas as pd
    >>> k = pd.DataFrame({"manager_id": ["m1", "m1"], "period": ["2025Q3", "2026Q3"],
    ...     "kpi": ["sales_volume"] * 2, "value": [100.0, 120.0], "status": ["ok", "ok"]})
    >>> history_targets(k, 0.05).round(6).tolist()
    [nan, 105.0]
    """
    labels = kpis["period"].astype("string")
    earlier: dict[str, str | None] = {}
    for label in labels.dropna().unique():
        try:
            per = parse_period(str(label))
        except ValueError as exc:
            raise ParameterError(f"kpis.period: {exc}") from None
        lag = _LAG[per.freqstr.split("-")[0][0].replace("A", "Y")]
        earlier[str(label)] = period_label(per - lag)
    ok = (kpis["status"].astype("string") == "ok").fillna(False) & kpis["value"].notna()
    base = pd.DataFrame(
        {
            "manager_id": kpis["manager_id"].astype("string"),
            "period": labels,
            "kpi": kpis["kpi"].astype("string"),
            "t": pd.to_numeric(kpis["value"], errors="coerce").astype("float64"),
        }
    )[ok.to_numpy()]
    base = base.drop_duplicates(["manager_id", "period", "kpi"])
    want = pd.DataFrame(
        {
            "manager_id": kpis["manager_id"].astype("string").to_numpy(),
            "period": labels.map(earlier).astype("string").to_numpy(),
            "kpi": kpis["kpi"].astype("string").to_numpy(),
        }
    )
    merged = want.merge(base, on=["manager_id", "period", "kpi"], how="left")
    volume = np.array([_is_volume(str(k)) for k in want["kpi"]], dtype=bool)
    target = merged["t"].to_numpy(dtype="float64", copy=True)
    target[volume] = target[volume] * (1.0 + float(growth))
    return pd.Series(target, index=kpis.index, dtype="float64")
