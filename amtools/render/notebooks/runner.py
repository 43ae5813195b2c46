"""``amtools run``: load once, compute once, render every report of a period in parallel.

:class:`RunConfig` says what to render; :func:`run` loads the data, builds the run context
(:mod:`amtools.pipeline`), plans one job per report (:mod:`.plan`), renders them on warm kernels
(:mod:`.pool`) and publishes the pack atomically (:mod:`.publish`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm import tqdm

from amtools import __version__
from amtools.core.dataset import Dataset
from amtools.core.errors import AmtoolsError, ParameterError, ReportError
from amtools.core.i18n import check_lang, t
from amtools.core.machine import usable_cpus
from amtools.core.messages import Message
from amtools.core.periods import parse_period, period_label
from amtools.core.settings import read_params
from amtools.demo import load_demo
from amtools.loading import load
from amtools.pipeline import default_period, error_text
from amtools.render.archive import record_forecasts
from amtools.render.index import write_index
from amtools.render.notebooks.config import RunConfig
from amtools.render.notebooks.context import (
    RunContext,
    build_context,
    load_context,
    note_text,
    save_context,
)
from amtools.render.notebooks.jobs import Job, JobResult
from amtools.render.notebooks.kinds import DEFAULT_REPORTS, get_report
from amtools.render.notebooks.paramcheck import check_run_options
from amtools.render.notebooks.plan import file_slug, plan_jobs
from amtools.render.notebooks.pool import KernelPool
from amtools.render.notebooks.publish import (
    ACTIVE_RUN,
    STAGING_PREFIX,
    OutLock,
    RunInterrupted,
    check_out_folder,
    publish,
    remove_stale_staging,
    signals_interrupt,
)
from amtools.render.notebooks.reuse import (
    MANIFEST_FILE,
    REUSED_FROM,
    build_manifest,
    carry_folder,
    carry_reused,
    plan_reuse,
    policy_inputs,
    run_key,
)

__all__ = [
    "run",
    "RunConfig",
    "RunResult",
    "plan_jobs",
    "load_source",
    "KernelPool",
    "file_slug",
    "RunInterrupted",
    "check_out_folder",
    "OutLock",
]


if TYPE_CHECKING:
    from amtools.render.notebooks.cluster import DaskPool

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced.

    Attributes
    ----------
    period : the period label.
    folder : ``<out>/<period>``.
    index : path of ``index.html``.
    context_dir : where the run context was saved.
    results : one :class:`~amtools.render.notebooks.jobs.JobResult` per report.
    seconds : wall time of the whole run.
    timings : seconds per phase (load, context, reports, index).
    """

    period: str
    folder: Path
    index: Path
    context_dir: Path
    results: list[JobResult] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[JobResult]:
        """The reports that failed."""
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        """Whether every report rendered."""
        return not self.failed

    @property
    def reused(self) -> list[JobResult]:
        """The reports carried over unchanged from the previous pack (their inputs did not change)."""
        return [r for r in self.results if r.ok and REUSED_FROM in r.extra]

    @property
    def rendered(self) -> list[JobResult]:
        """The reports this run rendered."""
        return [r for r in self.results if r.ok and REUSED_FROM not in r.extra]


def load_source(source: str | Path | Dataset | None = None, mapping: Any = None) -> Dataset:
    """Load and validate the data once: a source, a Dataset, or (``None``) the demo dataset.

    Example
    -------
    >>> ds = load_source(None)  # doctest: +SKIP
    """
    if source is None:
        return load_demo()
    return load(source, mapping=mapping)


# -- progress --------------------------------------------------------------------------------------


class _Progress:
    """A tqdm bar on a terminal, plain log lines otherwise (CI)."""

    def __init__(self, total: int, enabled: bool | None, desc: str) -> None:
        self.total = total
        self.done = 0
        tty = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None
        if tty:
            self.bar = tqdm(total=total, unit="report", desc=desc, file=sys.stderr)

    def update(self, res: JobResult) -> None:
        self.done += 1
        status = "ok" if res.ok else "FAILED"
        line = f"[{self.done}/{self.total}] {status:6} {res.name} ({res.seconds:.1f} s)"
        if not res.ok:
            line += f": {res.error}"
        if self.bar is not None:
            if not res.ok:
                self.bar.write(line, file=sys.stderr)
            self.bar.update(1)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- files beside the reports ---------------------------------------------------------------------


def _budget_workbook(ctx: RunContext, job: Job, folder: Path) -> tuple[str, Path] | None:
    """The budget plan as an Excel workbook next to the budget report."""
    if ctx.budget is None:
        return None
    from amtools.render.workbook import write_budget_workbook  # openpyxl: only when written

    name = Path(str(job.parameters.get("workbook") or "budget.xlsx")).name
    path = write_budget_workbook(ctx.budget, folder / name, lang=ctx.lang)
    return t("index.budget_workbook", ctx.lang), Path(path)


ARTIFACTS: dict[str, Any] = {"budget": _budget_workbook}
"""Report kind -> writer of files rendered beside its HTML (``(ctx, job, folder) -> (title, path)``)."""


def _write_artifacts(ctx: RunContext, jobs: Sequence[Job], folder: Path) -> list[tuple[str, Path]]:
    written: list[tuple[str, Path]] = []
    for kind, writer in ARTIFACTS.items():
        job = next((j for j in jobs if j.kind == kind and j.entity is None), None)
        if job is None:
            continue
        try:
            item = writer(ctx, job, folder)
        except Exception as exc:  # a file beside a report is a note, never a failed pack
            ctx.notes.append(
                Message("run.note.file_not_written", {"kind": kind, "reason": error_text(exc)})
            )
            continue
        if item is not None:
            written.append(item)
    return written


def _blocked(ctx: RunContext, job: Job) -> str | None:
    """Why ``job`` cannot render: the first context stage it uses that failed (else None)."""
    kind = get_report(job.kind)
    for stage in kind.uses:
        if stage in ctx.failures:
            return note_text(
                Message(
                    "run.stage_failed",
                    {"stage": Message(f"run.stage.{stage}"), "error": ctx.failures[stage]},
                ),
                ctx.lang,
            )
    return None


def _read_targets(targets: Any) -> Any:
    """``--targets``: a YAML file (as params/policy/targets.yaml), ``"history"``, or a mapping."""
    if targets is None or isinstance(targets, dict):
        return targets
    if str(targets).strip().lower() == "history":
        return "history"
    path = Path(str(targets))
    if not path.is_file():
        raise ParameterError(
            f"targets file {path} not found; pass a YAML file like params/policy/targets.yaml "
            "or the word 'history'"
        )
    return read_params(path)


def _check_period_in_data(dataset: Dataset, label: str, fiscal: int) -> None:
    """A period outside the data has nothing to show: say which periods the data covers.

    Checked before any kernel starts (the context build checks the end again).
    """
    target = parse_period(label, fiscal)
    try:
        last: pd.Period | None = default_period(dataset, "Q", fiscal)
    except AmtoolsError:
        last = None
    first: pd.Timestamp | None = None
    deals = dataset.get("deals")
    if deals is not None:
        for column in ("created_date", "closed_date"):
            if column in deals:
                value = pd.to_datetime(deals[column], errors="coerce").min()
                if pd.notna(value) and (first is None or value < first):
                    first = pd.Timestamp(value)
    start = period_label(pd.Period(first, freq=target.freqstr)) if first is not None else "?"
    end = period_label(last) if last is not None else "?"
    if last is not None and target.freqstr[0] == last.freqstr[0] and target > last:
        raise ParameterError(
            f"period {label} is after the last complete period in the data ({end}); "
            f"the data covers {start} to {end}: choose a period in that range"
        )
    if first is not None and target.end_time < first:
        raise ParameterError(
            f"period {label} is before the data starts ({first:%Y-%m-%d}); "
            f"the data covers {start} to {end}: choose a period in that range"
        )


# -- the run -----------------------------------------------------------------------------------


def run(config: RunConfig | str | Path | Dataset | None = None, /, **options: Any) -> RunResult:
    """Render a quarterly pack: index, team review, forecast, budget, one review per manager.

    Loads and validates the data once, builds the run context once (KPIs for all managers,
    scores, forecast, budget), then executes the notebooks on warm kernels in parallel and
    writes ``*.html`` plus ``index.html``; the executed notebooks of failed reports (of all
    reports with ``keep_notebooks``) are kept in ``_executed`` and the context in ``_context``. Everything is written to a private staging folder in
    ``out`` and renamed to ``<out>/<period>`` when the run is complete; ``out`` is locked for
    the run (a second run into it is refused), and SIGINT/SIGTERM stop the workers and
    kernels, remove the staging folder and raise :class:`RunInterrupted`.

    Parameters
    ----------
    config : a :class:`RunConfig`; or, as a convenience, the source, with the other
        :class:`RunConfig` fields as keywords (``run(dataset, lang="ru", workers=2)``).
    **options : :class:`RunConfig` fields (they replace those of ``config``).

    Returns
    -------
    RunResult
        A failing report does not stop the others; check ``result.ok``.

    Raises
    ------
    ParameterError
        Before anything runs, for unknown reports, managers, periods, languages,
        parameters the notebooks do not declare or values outside their ranges.
    ReportError
        When ``out`` is not writable or another run holds it.
    RunInterrupted
        On SIGINT / SIGTERM.

    Example
    -------
    >>> result = run(RunConfig(period="2026Q3", lang="ru", workers=2))  # doctest: +SKIP
    >>> result.index  # doctest: +SKIP
    PosixPath('reports/2026Q3/index.html')
    """
    if isinstance(config, RunConfig):
        config = dataclasses.replace(config, **options) if options else config
    else:
        config = RunConfig(source=config, **options)
    started = time.perf_counter()
    check_lang(config.lang)
    check_run_options(timeout=config.timeout, workers=config.workers, reports=config.reports)
    context_params = dict(config.context_params or {})
    if config.targets is not None:
        context_params["targets"] = _read_targets(config.targets)
    out = check_out_folder(config.out)
    with signals_interrupt():
        early = _early_pool(config, out)
        ACTIVE_RUN["pool"] = early
        try:
            return _run_locked(
                config, out=out, started=started, context_params=context_params, early=early
            )
        finally:
            if early is not None:  # nothing left to stop after a normal close
                early.terminate()
                shutil.rmtree(early.log_dir, ignore_errors=True)


def _period_of(dataset: Dataset, period: str | None, fiscal: int) -> str:
    """The run's period label: ``period`` checked against the data, else the last complete one."""
    if not period:
        return period_label(default_period(dataset, "Q", fiscal))
    try:
        label = period_label(parse_period(period, fiscal))
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    _check_period_in_data(dataset, label, fiscal)
    return label


def _scheduler(config: RunConfig) -> str:
    """The Dask scheduler of the run (``scheduler`` / ``AMTOOLS_SCHEDULER``); "" for local."""
    scheduler = config.scheduler
    if scheduler is None:
        scheduler = os.environ.get("AMTOOLS_SCHEDULER", "")
    return scheduler.strip()


def _workers(config: RunConfig) -> int:
    """The report workers asked for (``workers``; default: the usable CPUs)."""
    return usable_cpus() if config.workers is None else config.workers


def _early_pool(config: RunConfig, out: Path) -> KernelPool | None:
    """Local report workers started before the data loads, or None.

    Their kernels then warm up (~4 s of imports each) while the data loads and the context is
    computed, instead of after the load. Not for a Dask run, ``workers=0``, or an ``out``
    folder that holds a published pack (a rerun may reuse every page and then starts no
    kernel) unless ``force``. Their log goes to a temporary folder until the staging folder
    exists (:func:`_keep_kernel_log`).
    """
    workers = _workers(config)
    if _scheduler(config) or workers <= 0:
        return None
    if not config.force and out.is_dir() and any(out.glob(f"*/{MANIFEST_FILE}")):
        return None
    # No more workers than pages, where the options bound them (the run checks the count
    # again once the jobs are planned, and starts a pool of the right size if this is short).
    kinds = list(config.reports or DEFAULT_REPORTS)
    per_manager = sum(get_report(k).per == "manager" for k in kinds)
    if not config.per_team and (config.managers or not per_manager):
        workers = min(workers, len(kinds) + per_manager * (len(config.managers or ()) - 1))
    log_dir = Path(tempfile.mkdtemp(prefix="amtools-kernels-"))
    cwd = Path(config.notebooks_dir).resolve()
    return KernelPool(workers, cwd=cwd, log_dir=log_dir).start()


def _keep_kernel_log(pool: KernelPool, staging: Path) -> None:
    """Move an early pool's kernel log into the run's ``_executed`` folder (after close)."""
    log_file = pool.log_dir / "kernels.log"
    with contextlib.suppress(OSError):
        if log_file.stat().st_size:
            (staging / "_executed").mkdir(exist_ok=True)
            shutil.move(log_file, staging / "_executed" / "kernels.log")


def _write_index(
    ctx: RunContext,
    results: list[JobResult],
    staging: Path,
    jobs: Sequence[Job],
    run_params: dict[str, Any],
    artifacts: list[tuple[str, Path]],
) -> None:
    """The pack's index, told by the company team review's job why per-team reviews are in it."""
    company = next((j for j in jobs if j.kind == "team_review" and j.entity is None), None)
    team = company.parameters if company is not None else {}
    write_index(
        ctx,
        results,
        staging,
        parameters=run_params,
        files=artifacts,
        team_pages=str(team.get("team_pages") or ""),
        per_team_above=team.get("per_team_above"),
    )


def _run_pool(
    config: RunConfig, early: KernelPool | None, pages: int, staging: Path
) -> KernelPool | DaskPool | None:
    """The pool for ``pages`` pages to render: ``early`` when it has enough workers (else it is
    stopped), a new one, or None when every page is reused (no kernel starts)."""
    workers = _workers(config)
    workers = min(max(workers, 0), pages)
    if early is not None and (not pages or early.workers < workers):
        early.terminate()  # every page reused, or too few workers for the planned pages
        early = None
    if early is not None:
        return early  # started before the load: its kernels are warm or nearly so
    if not pages:
        return None
    pool = _pool(config, workers, staging)
    ACTIVE_RUN["pool"] = pool
    return pool


def _pool(config: RunConfig, workers: int, staging: Path) -> KernelPool | DaskPool:
    """The local worker processes, or a Dask cluster (``scheduler`` / ``AMTOOLS_SCHEDULER``)."""
    scheduler = _scheduler(config)
    cwd = Path(config.notebooks_dir).resolve()
    if scheduler:
        from amtools.render.notebooks.cluster import DaskPool  # dask: an optional extra

        return DaskPool(
            scheduler, workers=workers, cwd=cwd, log_dir=staging / "_executed", root=staging
        )
    return KernelPool(workers, cwd=cwd, log_dir=staging / "_executed")


def _render(
    config: RunConfig,
    pool: KernelPool | DaskPool | None,
    ctx: RunContext,
    jobs: Sequence[Job],
    label: str,
) -> list[JobResult]:
    """Render ``jobs`` on ``pool`` (a report reading a failed stage is listed as failed, not run)."""
    results: list[JobResult] = []
    runnable: list[Job] = []
    for job in jobs:
        reason = _blocked(ctx, job)
        if reason is None:
            runnable.append(job)
        else:
            results.append(JobResult.failed(job, reason))
    # Long single reports first: they then overlap with the many short manager reviews.
    ordered = sorted(runnable, key=lambda j: get_report(j.kind).per == "manager")
    progress_bar = _Progress(len(jobs), config.progress, desc=label)
    try:
        for res in results:
            progress_bar.update(res)
        for res in pool.run(ordered, timeout=config.timeout) if pool is not None else ():
            results.append(res)
            progress_bar.update(res)
    finally:
        progress_bar.close()
    order = {job.name: i for i, job in enumerate(jobs)}
    results.sort(key=lambda r: order[r.name])
    return results


def _run_key(
    config: RunConfig,
    header: dict[str, Any],
    label: str,
    context_params: dict[str, Any],
    horizon: int,
) -> str:
    """The inputs every page of this run shares (:func:`~.reuse.run_key`); the data
    fingerprint is the one the page headers show."""
    return run_key(
        fingerprint=str(header["fingerprint"]),
        source=str(header["source"]),
        version=__version__,
        period=label,
        lang=config.lang,
        currency=config.currency,
        context_params=context_params,
        forecast_horizon=horizon,
        policy=policy_inputs(),
    )


def _context(
    dataset: Dataset,
    label: str,
    config: RunConfig,
    context_params: dict[str, Any],
    horizon: int,
    context_dir: Path,
    saved: Path | None,
    generated: pd.Timestamp | None = None,
    *,
    history: bool = False,
) -> RunContext:
    """The run context, saved in ``context_dir``: built, or (``saved``: the published pack's
    context, when every page is reused, so its inputs are this run's) carried over and read."""
    generated = pd.Timestamp.now(tz="UTC").floor("s") if generated is None else generated
    if saved is not None and carry_folder(saved, context_dir):
        try:
            ctx = load_context(context_dir)
            ctx.generated_at = generated  # the index's time; the saved files are kept as they were
            return ctx
        except Exception as exc:  # unreadable: build it as in any run
            log.info("saved run context %s not reused: %s", saved, exc)
            shutil.rmtree(context_dir, ignore_errors=True)
    ctx = build_context(
        dataset,
        label,
        lang=config.lang,
        currency=config.currency,
        params=context_params,
        forecast_horizon=horizon,
        accuracy_history=history,
    )
    ctx.generated_at = generated
    record_forecasts(ctx, source=config.source, archive=config.archive)
    save_context(ctx, context_dir)
    return ctx


def _announce(total: int, render: int, reused: int, config: RunConfig) -> None:
    """Say before any kernel starts how many reports are reused from the published pack."""
    if config.force:
        line = f"{total} reports: all rendered (--force)"
    elif reused:
        line = (
            f"{total} reports: {render} to render, {reused} reused "
            "(unchanged inputs; --force to re-render)"
        )
    else:
        return
    print(line, file=sys.stderr, flush=True)


def _run_locked(
    config: RunConfig,
    *,
    out: Path,
    started: float,
    context_params: dict[str, Any],
    early: KernelPool | None = None,
) -> RunResult:
    timings: dict[str, float] = {}
    dataset = load_source(config.source, config.mapping)
    timings["load"] = time.perf_counter() - started
    fiscal = int(context_params.get("fiscal_year_start", 1))
    label = _period_of(dataset, config.period, fiscal)
    folder = out / label
    # Everything of this run (the context the notebooks read included) is written to a
    # private folder and renamed into place at the end: no other run can read or mix it,
    # and an interrupted run publishes nothing.
    staging = out / f"{STAGING_PREFIX}{label}-{os.getpid()}-{os.urandom(4).hex()}"
    context_dir = staging / "_context"
    generated = pd.Timestamp.now(tz="UTC").floor("s")
    header = {
        "source": dataset.source,
        "generated_at": generated,
        "fingerprint": dataset.fingerprint(),
        "version": __version__,
    }
    kinds = list(config.reports or DEFAULT_REPORTS)
    jobs = plan_jobs(
        dataset,
        label,
        reports=kinds,
        managers=config.managers,
        lang=config.lang,
        folder=staging,
        context_dir=context_dir.absolute(),
        notebooks_dir=Path(config.notebooks_dir),
        params_dir=None if config.params_dir is None else Path(config.params_dir),
        per_team=config.per_team,
        header=header,
    )
    if not jobs:
        raise ReportError("nothing to render: no reports or no managers selected")
    horizon = config.forecast_horizon
    if horizon is None:
        needed = any("forecast" in get_report(name).needs for name in kinds)
        horizon = 12 if needed else 0
    key = _run_key(config, header, label, context_params, horizon)
    for job in jobs:
        job.keep_notebook = config.keep_notebooks
    # Everything is checked: now the out folder is created, locked and staged into.
    out.mkdir(parents=True, exist_ok=True)
    lock = OutLock(out).acquire()
    published = False
    try:
        remove_stale_staging(out)
        staging.mkdir(mode=0o700)
        ACTIVE_RUN["staging"] = staging
        # Pages whose inputs did not change are carried over from the published pack.
        reuse = plan_reuse(jobs, run=key, staging=staging, folder=folder, force=config.force)
        reused = carry_reused(reuse, jobs, staging=staging, folder=folder)
        to_render = reuse.to_render(jobs)
        _announce(len(jobs), len(to_render), len(reused), config)
        pool = _run_pool(config, early, len(to_render), staging)
        with pool if pool is not None else contextlib.nullcontext():
            # kernels warm up while the context is computed
            mark = time.perf_counter()
            # Every page reused: the context saved with them was built from the same inputs.
            saved = None if to_render else folder / context_dir.name
            ctx = _context(
                dataset,
                label,
                config,
                context_params,
                horizon,
                context_dir,
                saved,
                generated,
                history=horizon > 0 and "forecast" in kinds,
            )
            artifacts = _write_artifacts(ctx, jobs, staging)
            timings["context"] = time.perf_counter() - mark
            mark = time.perf_counter()
            results = reused + _render(config, pool, ctx, to_render, label)
            timings["reports"] = time.perf_counter() - mark
        if early is not None and pool is early:
            _keep_kernel_log(early, staging)
        order = {job.name: i for i, job in enumerate(jobs)}
        results.sort(key=lambda r: order[r.name])
        run_params = {"period": label, "lang": config.lang, "reports": kinds}
        mark = time.perf_counter()
        _write_index(ctx, results, staging, jobs, run_params, artifacts)
        # The manifest is published with the pages, by the same rename.
        build_manifest(reuse, results, staging=staging, rendered_at=generated.isoformat()).write(
            staging
        )
        timings["index"] = time.perf_counter() - mark
        publish(staging, folder)
        published = True
    finally:
        if not published:
            shutil.rmtree(staging, ignore_errors=True)
        lock.release()
    for res in results:  # where the files are now
        if res.html_path is not None:
            res.html_path = folder / res.html_path.relative_to(staging)
        if res.ipynb_path is not None:
            res.ipynb_path = folder / res.ipynb_path.relative_to(staging)
    return RunResult(
        period=label,
        folder=folder,
        index=folder / "index.html",
        context_dir=folder / "_context",
        results=results,
        seconds=time.perf_counter() - started,
        timings=timings,
    )
