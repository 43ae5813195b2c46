"""What one ``amtools run`` renders, and where: :class:`RunConfig` (light to import, so the CLI
can build one without loading the Jupyter machinery of :mod:`.runner`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amtools.core.dataset import Dataset
from amtools.core.paths import NOTEBOOKS_DIR, REPORTS_DIR

__all__ = ["RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    """What one ``amtools run`` renders, and where (the CLI flags of ``amtools run``).

    Attributes
    ----------
    source : data source for :func:`amtools.load`, a Dataset, or ``None`` for the demo data.
    mapping : column mapping for the source.
    period : "2026Q3"; default the last complete quarter in the data.
    reports : report kinds (default: team_review, forecast, budget, manager_review).
    managers : only these managers' reviews (default: all).
    lang : "en" or "ru".
    workers : parallel kernels, each in a worker process (default: the usable CPUs, see
        :func:`amtools.core.machine.usable_cpus`);
        0 runs one kernel from this process.
    out : reports folder.
    notebooks_dir, params_dir : where notebooks and their parameter files live.
    per_team : also render one team review per team.
    currency : display currency (default: the data's, else RUB).
    timeout : seconds a single notebook cell may run.
    progress : progress bar (``None``: only on a terminal; plain lines otherwise).
    context_params : overrides for :func:`~amtools.render.notebooks.context.build_context` ``params``.
    forecast_horizon : months to forecast; default 12 (extended to the budget's fiscal year)
        when a requested report needs the forecast, else 0 (not computed).
    keep_notebooks : keep the executed notebook of every report in ``_executed`` (default:
        only those of failed reports, which the index links).
    targets : a targets YAML file (the format of params/policy/targets.yaml), a mapping, or
        ``"history"``; passed to the context as ``params["targets"]``.
    force : render every report, even those whose inputs did not change since the pack in
        ``out`` was published (by default those are reused, see
        :mod:`amtools.render.notebooks.reuse`).
    archive : the forecast archive (docs/forecast-archive.md): a DuckDB file path, ``False``
        (off) or ``None`` (``archive:`` of params/policy/forecast_history.yaml, default beside
        the data).
    scheduler : render on a Dask cluster: ``"tcp://HOST:PORT"`` of its scheduler, or
        ``"local"`` (a ``LocalCluster`` of ``workers`` processes); ``None``: the environment
        variable ``AMTOOLS_SCHEDULER`` if set, else local worker processes; ``""``: local.

    Example
    -------
    >>> RunConfig(period="2026Q3", lang="ru", workers=2).out.name
    'reports'
    """

    source: str | Path | Dataset | None = None
    mapping: Any = None
    period: str | None = None
    reports: Sequence[str] | None = None
    managers: Sequence[str] | None = None
    lang: str = "en"
    workers: int | None = None
    out: str | Path = REPORTS_DIR
    notebooks_dir: str | Path = NOTEBOOKS_DIR
    params_dir: str | Path | None = None
    per_team: bool = False
    currency: str | None = None
    timeout: float | None = 1800
    progress: bool | None = None
    context_params: Mapping[str, Any] | None = None
    forecast_horizon: int | None = None
    targets: Any = None
    force: bool = False
    archive: str | Path | bool | None = None
    keep_notebooks: bool = False
    scheduler: str | None = None
