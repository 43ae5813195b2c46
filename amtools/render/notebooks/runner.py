"""``amtools run``: load once, compute once, render every report of a period in parallel."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import logging
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from amtools import __version__
from amtools.core.paths import NOTEBOOKS_DIR, REPORTS_DIR
from amtools.core.dataset import Dataset
from amtools.core.errors import AmtoolsError, ParameterError, ReportError
from amtools.core.i18n import LANGS, check_lang, t
from amtools.core.messages import Message
from amtools.core.periods import parse_period, period_label
from amtools.render.notebooks.context import _error_text, build_context, default_period, note_text, save_context
from amtools.render.export import ReportHeader
from amtools.render.notebooks.jobs import Job, JobResult, execute_job
from amtools.render.notebooks.kernels import WarmKernel
from amtools.render.notebooks.kinds import DEFAULT_REPORTS, ReportKind, get_report
from amtools.render.notebooks.paramcheck import notebook_parameters, validate_parameters

__all__ = [
    "run",
    "RunResult",
    "plan_jobs",
    "load_source",
    "KernelPool",
    "file_slug",
    "RunInterrupted",
    "check_out_folder",
    "OutLock",
]

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


# -- loading --------------------------------------------------------------------------------


def load_source(source: str | Path | Dataset | None = None, mapping: Any = None) -> Dataset:
    """Load and validate the data once: a source, a Dataset, or (``None``) the demo dataset.

    Example
    -------
    >>> ds = load_source(None)  # doctest: +SKIP
    """
    from amtools.demo import load_demo
    from amtools import loading as io

    if source is None:
        return load_demo()
    return io.load(source, mapping=mapping)


# -- planning -------------------------------------------------------------------------------


_SAFE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
SLUG_MAX = 40
"""Longest transliterated part of a file name (the whole name stays far below 255 bytes)."""


def file_slug(text: str) -> str:
    """A file-name part readable in any alphabet, unique per ``text`` and never too long.

    Ids that already are short ASCII names (``M001``) are kept as they are. Anything else is
    transliterated with Unidecode (Cyrillic, CJK, accents), lower-cased, reduced to
    ``[a-z0-9-]``, cut to :data:`SLUG_MAX` characters and given a 6-hex hash of the full
    id, so two ids never share a file, a 5,000-character id still fits the file system and
    path parts (``../x``, ``/``) cannot leave the reports folder.

    Example
    -------
    >>> file_slug("M001")
    'M001'
    >>> file_slug("Иванов Иван")
    'ivanov-ivan-b80bc0'
    >>> file_slug("Ольга Смирнова")[:13]
    'olga-smirnova'
    >>> file_slug("../x")
    'x-72e4d0'
    """
    from unidecode import unidecode

    if _SAFE_STEM.fullmatch(text):
        return text
    # soft/hard signs and apostrophes transliterate to ' and ": they join, not split (Ol'ga)
    ascii_text = re.sub(r"['\"`’]", "", unidecode(text).lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:SLUG_MAX].strip("-")
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{slug}-{digest}" if slug else digest


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _check_entities(values: dict[str, Any], managers: set[str], teams: set[str], name: str) -> None:
    manager_id = values.get("manager_id")
    if manager_id and str(manager_id) not in managers:
        raise ParameterError(
            f"{name}: unknown manager_id {manager_id!r}; it is not in the managers table"
        )
    team = values.get("team")
    if team and str(team) not in teams:
        raise ParameterError(
            f"{name}: unknown team {team!r}; teams in the data: {', '.join(sorted(teams)) or 'none'}"
        )
    lang = values.get("lang")
    if lang is not None and lang not in LANGS:
        raise ParameterError(f"{name}: unknown lang {lang!r}; use one of {', '.join(LANGS)}")


def plan_jobs(
    dataset: Dataset,
    period: str,
    *,
    reports: Sequence[str] = DEFAULT_REPORTS,
    managers: Sequence[str] | None = None,
    lang: str = "en",
    folder: Path,
    context_dir: Path,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    params_dir: Path | None = None,
    per_team: bool = False,
    header: dict[str, Any],
) -> list[Job]:
    """Expand report kinds into jobs and validate every notebook's parameters before running.

    Parameters from ``params/<report>.yaml`` are overridden by the run's context path,
    period, language and the entity (manager id, team). A manager review receives only its
    own manager's id.

    Raises
    ------
    ParameterError
        For an unknown report, manager, team or language, a missing notebook, or parameter
        names or types the notebook's parameters cell does not declare.
    """
    from amtools.core.settings import params_path, read_params

    check_lang(lang)
    table = dataset.managers
    ids = table["manager_id"].astype(str).tolist()
    names = dict(zip(ids, table["name"].map(_text), strict=False)) if "name" in table else {}
    teams = sorted({_text(v) for v in table["team"]} - {""}) if "team" in table else []
    if managers:
        unknown = [m for m in managers if m not in set(ids)]
        if unknown:
            raise ParameterError(
                f"unknown manager id(s) {', '.join(map(repr, unknown))}; "
                f"the managers table has {len(ids)} managers, e.g. {', '.join(ids[:5])}"
            )
        ids = [m for m in ids if m in set(managers)]
    kinds: list[ReportKind] = [get_report(name) for name in reports]
    jobs: list[Job] = []
    for kind in kinds:
        notebook = Path(notebooks_dir) / kind.notebook
        if not notebook.is_file():
            raise ParameterError(f"report {kind.name!r}: notebook {notebook} not found")
        declared = notebook_parameters(notebook)
        yaml_path = (
            params_path(kind.params_name)
            if params_dir is None
            else Path(params_dir) / f"{kind.params_name}.yaml"
        )
        base = read_params(yaml_path) if yaml_path.is_file() else {}
        title = t(kind.title_key, lang)
        if kind.per == "manager":
            entities: list[str | None] = list(ids)
        elif kind.per == "team":
            entities = list(teams)
        else:
            entities = [None]
            if per_team and kind.entity_param == "team":
                entities += list(teams)
        for entity in entities:
            values = {**base, "context": str(context_dir), "period": period, "lang": lang}
            stem = kind.name
            shown = title
            if entity is not None and kind.entity_param:
                values[kind.entity_param] = entity
                stem = f"{kind.name}-{file_slug(entity)}"
                label = names.get(entity, entity) if kind.per == "manager" else entity
                shown = t("report.entity", lang, title=title, entity=label)
            name = f"{kind.name}/{entity}" if entity is not None else kind.name
            validate_parameters(declared, values, notebook=f"{kind.notebook} ({name})")
            _check_entities(values, set(table["manager_id"].astype(str)), set(teams), name)
            jobs.append(
                Job(
                    name=name,
                    kind=kind.name,
                    entity=entity,
                    notebook=notebook,
                    parameters=values,
                    header=ReportHeader(
                        title=shown, lang=lang, period=period, parameters=values, **header
                    ),
                    html_path=folder / f"{stem}.html",
                    ipynb_path=folder / "_executed" / f"{stem}.ipynb",
                )
            )
    return jobs


# -- executing --------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_exit(signum: int, frame: Any) -> None:
    """SIGTERM in a worker (from the runner, or the parent's death): kill the kernel, exit."""
    kernel: WarmKernel | None = _WORKER.get("kernel")
    if kernel is not None:
        kernel.kill()
    os._exit(128 + signum)


def _worker_init(cwd: str, log_path: str, parent_pid: int | None = None) -> None:
    """Process-pool initializer: start this worker's warm kernel (errors are kept, not raised).

    The worker ignores SIGINT (the runner decides how a Ctrl-C ends the run), stops its
    kernel and exits on SIGTERM, and gets SIGTERM from Linux when the runner dies, even by
    SIGKILL: no worker or kernel outlives the run.
    """
    import signal
    from multiprocessing.util import Finalize

    from amtools.render.notebooks.kernels import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_exit)
    die_with_parent(parent_pid)
    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        logfile: IO[str] = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the worker
        kernel = WarmKernel(cwd=cwd, stderr=logfile)
        _WORKER["kernel"] = kernel
        kernel.start()
        Finalize(kernel, kernel.shutdown, exitpriority=10)
        from amtools.render.export import _exporter

        _exporter()  # build the nbconvert exporter now, while the run context is computed
    except Exception as exc:
        _WORKER["error"] = f"report kernel failed to start: {type(exc).__name__}: {exc}"


def _worker_ping() -> int:
    return os.getpid()


def _worker_run(job: Job, timeout: float | None) -> JobResult:
    kernel: WarmKernel | None = _WORKER.get("kernel")
    if kernel is None or (kernel.km is None and "error" in _WORKER):
        return JobResult(
            job.name, job.kind, job.entity, job.header.title, False, 0.0, None, None,
            error=_WORKER.get("error", "report kernel unavailable"),
        )  # fmt: skip
    return execute_job(kernel, job, timeout=timeout)


def _mp_context() -> Any:
    """Spawned workers (safe with the threads pandas and duckdb start), unless ``__main__``
    cannot be re-imported by a child (code piped to ``python -``): then fork."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and not os.path.exists(main_file) and sys.platform != "win32":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class KernelPool:
    """``workers`` processes, each holding a warm kernel, rendering jobs in parallel.

    Call :meth:`start` early: the worker processes start their kernels while the run context
    is being computed. ``workers=0`` drives one kernel from this process instead (no pool;
    for debugging, and no overlap with the context build).

    Example
    -------
    >>> with KernelPool(2, cwd="notebooks", log_dir="reports/_logs") as pool:  # doctest: +SKIP
    ...     results = list(pool.run(jobs))
    """

    def __init__(self, workers: int, *, cwd: str | Path, log_dir: str | Path) -> None:
        self.workers = max(0, int(workers))
        self.cwd = str(cwd)
        self.log_dir = Path(log_dir)
        self._executor: cf.ProcessPoolExecutor | None = None
        self._kernel: WarmKernel | None = None
        self._log: IO[str] | None = None

    def start(self) -> KernelPool:
        """Start the worker processes and their kernels (returns at once)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.workers == 0:
            return self
        self._executor = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_mp_context(),
            initializer=_worker_init,
            initargs=(self.cwd, str(self.log_dir / "kernels.log"), os.getpid()),
        )
        for _ in range(self.workers):  # spawn every worker now; each warms its kernel
            self._executor.submit(_worker_ping)
        return self

    def run(self, jobs: Sequence[Job], *, timeout: float | None = None) -> Iterator[JobResult]:
        """Render ``jobs``; yield results as they finish (longest kinds are scheduled first)."""
        if self._executor is None:
            yield from self._run_here(jobs, timeout)
            return
        futures = {self._executor.submit(_worker_run, job, timeout): job for job in jobs}
        for future in cf.as_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # a worker process died (out of memory, killed)
                yield JobResult(
                    job.name, job.kind, job.entity, job.header.title, False, 0.0, None, None,
                    error=f"report worker failed: {type(exc).__name__}: {exc}",
                )  # fmt: skip

    def _run_here(self, jobs: Sequence[Job], timeout: float | None) -> Iterator[JobResult]:
        if self._kernel is None:
            self._log = open(self.log_dir / "kernels.log", "a", encoding="utf-8")  # noqa: SIM115
            self._kernel = WarmKernel(cwd=self.cwd, stderr=self._log)
            try:
                self._kernel.start()
            except Exception as exc:
                error = f"report kernel failed to start: {type(exc).__name__}: {exc}"
                for job in jobs:
                    yield JobResult(
                        job.name, job.kind, job.entity, job.header.title, False, 0.0, None, None,
                        error=error,
                    )  # fmt: skip
                return
        for job in jobs:
            yield execute_job(self._kernel, job, timeout=timeout)

    def terminate(self, grace: float = 5.0) -> None:
        """Stop now (an interrupted run): SIGTERM every worker (each kills its kernel), wait
        ``grace`` seconds, SIGKILL what is left; the local kernel is killed outright."""
        executor = self._executor
        if executor is not None:
            processes = list(getattr(executor, "_processes", {}).values())
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.terminate()
            deadline = time.monotonic() + grace
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.join(max(0.0, deadline - time.monotonic()))
                    if proc.is_alive():
                        proc.kill()
                        proc.join(1.0)
            with contextlib.suppress(Exception):
                executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._kernel is not None:
            self._kernel.kill()
            self._kernel = None
        if self._log is not None:
            with contextlib.suppress(Exception):
                self._log.close()
            self._log = None

    def close(self) -> None:
        """Stop the workers and their kernels."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._kernel is not None:
            self._kernel.shutdown()
            self._kernel = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> KernelPool:
        return self.start()

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if (
            exc_type is not None
            and issubclass(exc_type, BaseException)
            and not issubclass(exc_type, Exception)
        ):
            self.terminate()  # interrupted: do not wait for running reports
        else:
            self.close()


class _Progress:
    """A tqdm bar on a terminal, plain log lines otherwise (CI)."""

    def __init__(self, total: int, enabled: bool | None, desc: str) -> None:
        self.total = total
        self.done = 0
        tty = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None
        if tty:
            from tqdm import tqdm

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


def _budget_workbook(ctx: Any, job: Job, folder: Path) -> tuple[str, Path] | None:
    """The budget plan as an Excel workbook next to the budget report."""
    if ctx.budget is None:
        return None
    from amtools.render.workbook import write_budget_workbook

    name = Path(str(job.parameters.get("workbook") or "budget.xlsx")).name
    path = write_budget_workbook(ctx.budget, folder / name, lang=ctx.lang)
    return t("index.budget_workbook", ctx.lang), Path(path)


ARTIFACTS: dict[str, Any] = {"budget": _budget_workbook}
"""Report kind -> writer of files rendered beside its HTML (``(ctx, job, folder) -> (title, path)``)."""


def _write_artifacts(ctx: Any, jobs: Sequence[Job], folder: Path) -> list[tuple[str, Path]]:
    written: list[tuple[str, Path]] = []
    for kind, writer in ARTIFACTS.items():
        job = next((j for j in jobs if j.kind == kind and j.entity is None), None)
        if job is None:
            continue
        try:
            item = writer(ctx, job, folder)
        except Exception as exc:  # a file beside a report is a note, never a failed pack
            ctx.notes.append(
                Message("run.note.file_not_written", {"kind": kind, "reason": _error_text(exc)})
            )
            continue
        if item is not None:
            written.append(item)
    return written


# -- the out folder: checked, locked, staged, published ------------------------------------------

LOCK_FILE = ".amtools-run.lock"
STAGING_PREFIX = ".staging-"


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run: workers and kernels are stopped, nothing is published."""

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(self.signal_name)


def check_out_folder(out: str | Path) -> Path:
    """Make sure ``out`` is (or can become) a writable folder, before any work starts.

    Nothing is created: the folder (or its nearest existing parent) gets a test write.

    Raises
    ------
    ReportError
        Naming the folder and the reason: a path part that is a file, no permission, a
        read-only file system or a full disk.

    Example
    -------
    >>> check_out_folder("/tmp/amtools-reports")  # doctest: +SKIP
    PosixPath('/tmp/amtools-reports')
    """
    import errno
    import tempfile

    folder = Path(out)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise ReportError(
            f"cannot write reports to {folder}: {existing} is a file, not a folder; "
            "pass --out a folder path"
        )
    try:
        # A real write (removed at once): permissions, read-only mounts and full disks show
        # here, not after minutes of work. Nothing is left behind.
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".amtools-write-test-") as fh:
            fh.write(b"amtools")
            fh.flush()
    except OSError as exc:
        reason = {
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
            errno.EROFS: "the file system is read-only",
            errno.ENOSPC: "no space left on the device",
            errno.ENOTDIR: "a part of the path is a file, not a folder",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        raise ReportError(
            f"cannot write reports to {folder}: {reason} ({existing}); pass --out a writable folder"
        ) from None
    return folder


class OutLock:
    """An exclusive lock on a reports folder (``fcntl.flock`` on ``<out>/.amtools-run.lock``).

    A second run into the same folder is refused with the holder's process id; the lock
    goes away with its process (even one killed by SIGKILL).

    Example
    -------
    >>> with OutLock("reports"):  # doctest: +SKIP
    ...     pass
    """

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out) / LOCK_FILE
        self._fh: IO[str] | None = None

    def acquire(self) -> OutLock:
        import fcntl

        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise ReportError(
                f"another amtools run (process {holder}) is writing to {self.path.parent}; "
                "wait for it to finish, or pass another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.seek(0)
                self._fh.truncate()
            self._fh.close()  # closing drops the flock
            self._fh = None

    def __enter__(self) -> OutLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove_stale_staging(out: Path) -> None:
    """Staging folders of runs that were killed (we hold the lock: none is in use)."""
    import shutil

    for path in out.glob(f"{STAGING_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _publish(staging: Path, folder: Path) -> None:
    """Move the finished run into ``folder`` by renames: readers see the old pack or the new
    one, never a half-written mix."""
    import shutil
    import signal
    import threading

    signals = {signal.SIGINT, signal.SIGTERM}
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:  # the two renames are not interrupted half-way
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    old = None
    try:
        if folder.exists():
            old = staging.parent / f"{STAGING_PREFIX}old-{folder.name}-{os.getpid()}"
            os.replace(folder, old)
        os.replace(staging, folder)
    finally:
        if in_main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


_ACTIVE: dict[str, Any] = {}
"""The run in progress (its pool and staging folder), for the emergency stop."""

STOP_GRACE = 4.0
"""Seconds an interrupted run may take to unwind before it is stopped outright."""


def _emergency_stop(signum: int) -> None:
    """Stop now: kill the workers (their kernels die with them), drop the staging folder, exit.

    Used when unwinding after SIGINT/SIGTERM takes longer than :data:`STOP_GRACE` (the main
    thread may be waiting for forecast threads) or on a second signal.
    """
    import shutil
    import signal

    pool = _ACTIVE.get("pool")
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.terminate(grace=1.0)
    staging = _ACTIVE.get("staging")
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(Exception):
        name = signal.Signals(signum).name
        sys.stderr.write(
            f"amtools run: interrupted by {name}: workers and kernels stopped, nothing published\n"
        )
        sys.stderr.flush()
    os._exit(128 + signum)


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM (and SIGINT) raise :class:`RunInterrupted` in the main thread while a run lasts.

    If the run has not unwound :data:`STOP_GRACE` seconds later, or a second signal comes,
    :func:`_emergency_stop` ends the process.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    done = threading.Event()

    def watchdog(signum: int) -> None:
        if not done.wait(STOP_GRACE):
            _emergency_stop(signum)

    def handler(signum: int, frame: Any) -> None:
        if _ACTIVE.get("interrupted"):
            _emergency_stop(signum)
        _ACTIVE["interrupted"] = signum
        threading.Thread(target=watchdog, args=(signum,), daemon=True).start()
        raise RunInterrupted(signum)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        done.set()
        _ACTIVE.clear()
        for sig, old in previous.items():
            signal.signal(sig, old)


def _blocked(ctx: Any, job: Job) -> str | None:
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
    from amtools.core.settings import read_params

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


# -- the run -----------------------------------------------------------------------------------


def run(
    source: str | Path | Dataset | None = None,
    *,
    mapping: Any = None,
    period: str | None = None,
    reports: Sequence[str] | None = None,
    managers: Sequence[str] | None = None,
    lang: str = "en",
    workers: int | None = None,
    out: str | Path = REPORTS_DIR,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    params_dir: str | Path | None = None,
    per_team: bool = False,
    currency: str | None = None,
    timeout: float | None = 1800,
    progress: bool | None = None,
    context_params: dict[str, Any] | None = None,
    forecast_horizon: int | None = None,
    targets: Any = None,
) -> RunResult:
    """Render a quarterly pack: index, team review, forecast, budget, one review per manager.

    Loads and validates the data once, builds the run context once (KPIs for all managers,
    scores, forecast, budget), then executes the notebooks on warm kernels in parallel and
    writes ``*.html`` plus ``index.html``; executed notebooks are kept in ``_executed`` and
    the context in ``_context``. Everything is written to a private staging folder in
    ``out`` and renamed to ``<out>/<period>`` when the run is complete; ``out`` is locked for
    the run (a second run into it is refused), and SIGINT/SIGTERM stop the workers and
    kernels, remove the staging folder and raise :class:`RunInterrupted`.

    Parameters
    ----------
    source : data source for :func:`amtools.load`, a Dataset, or ``None`` for the demo data.
    mapping : column mapping for the source.
    period : "2026Q3"; default the last complete quarter in the data.
    reports : report kinds (default: team_review, forecast, budget, manager_review).
    managers : only these managers' reviews (default: all).
    lang : "en" or "ru".
    workers : parallel kernels, each in a worker process (default: the number of CPUs);
        0 runs one kernel from this process.
    out : reports folder.
    notebooks_dir, params_dir : where notebooks and their parameter files live.
    per_team : also render one team review per team.
    currency : display currency (default: the data's, else RUB).
    timeout : seconds a single notebook cell may run.
    progress : progress bar (``None``: only on a terminal; plain lines otherwise).
    context_params : overrides for :func:`~amtools.render.notebooks.context.build_context` ``params``.
    targets : a targets YAML file (the format of params/policy/targets.yaml), a mapping, or
        ``"history"``; passed to the context as ``params["targets"]``.
    forecast_horizon : months to forecast; default 12 (extended to the budget's fiscal year)
        when a requested report needs the forecast, else 0 (not computed).

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
    >>> result = run(period="2026Q3", lang="ru", workers=2)  # doctest: +SKIP
    >>> result.index  # doctest: +SKIP
    PosixPath('reports/2026Q3/index.html')
    """
    from amtools.render.notebooks.paramcheck import check_run_options

    started = time.perf_counter()
    timings: dict[str, float] = {}
    check_lang(lang)
    check_run_options(timeout=timeout, workers=workers, reports=reports)
    context_params = dict(context_params or {})
    if targets is not None:
        context_params["targets"] = _read_targets(targets)
    out = check_out_folder(out)
    with _signals_interrupt():
        return _run_locked(
            source,
            out=out,
            started=started,
            timings=timings,
            mapping=mapping,
            period=period,
            reports=reports,
            managers=managers,
            lang=lang,
            workers=workers,
            notebooks_dir=notebooks_dir,
            params_dir=params_dir,
            per_team=per_team,
            currency=currency,
            timeout=timeout,
            progress=progress,
            context_params=context_params,
            forecast_horizon=forecast_horizon,
        )


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


def _run_locked(
    source: str | Path | Dataset | None,
    *,
    out: Path,
    started: float,
    timings: dict[str, float],
    mapping: Any,
    period: str | None,
    reports: Sequence[str] | None,
    managers: Sequence[str] | None,
    lang: str,
    workers: int | None,
    notebooks_dir: str | Path,
    params_dir: str | Path | None,
    per_team: bool,
    currency: str | None,
    timeout: float | None,
    progress: bool | None,
    context_params: dict[str, Any],
    forecast_horizon: int | None,
) -> RunResult:
    import shutil

    dataset = load_source(source, mapping)
    timings["load"] = time.perf_counter() - started
    fiscal = int(context_params.get("fiscal_year_start", 1))
    if period:
        try:
            label = period_label(parse_period(period, fiscal))
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        _check_period_in_data(dataset, label, fiscal)
    else:
        label = period_label(default_period(dataset, "Q", fiscal))
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
    kinds = list(reports or DEFAULT_REPORTS)
    jobs = plan_jobs(
        dataset,
        label,
        reports=kinds,
        managers=managers,
        lang=lang,
        folder=staging,
        context_dir=context_dir.absolute(),
        notebooks_dir=Path(notebooks_dir),
        params_dir=None if params_dir is None else Path(params_dir),
        per_team=per_team,
        header=header,
    )
    if not jobs:
        raise ReportError("nothing to render: no reports or no managers selected")
    # Everything is checked: now the out folder is created, locked and staged into.
    out.mkdir(parents=True, exist_ok=True)
    lock = OutLock(out).acquire()
    published = False
    try:
        _remove_stale_staging(out)
        staging.mkdir(mode=0o700)
        _ACTIVE["staging"] = staging
        if workers is None:
            workers = os.cpu_count() or 1
        pool = KernelPool(
            min(max(workers, 0), len(jobs)),
            cwd=Path(notebooks_dir).resolve(),
            log_dir=staging / "_executed",
        )
        _ACTIVE["pool"] = pool
        results: list[JobResult] = []
        with contextlib.ExitStack() as stack:
            stack.enter_context(pool)  # kernels warm up while the context is computed
            mark = time.perf_counter()
            if forecast_horizon is None:
                needed = any("forecast" in get_report(name).needs for name in kinds)
                forecast_horizon = 12 if needed else 0
            ctx = build_context(
                dataset,
                label,
                lang=lang,
                currency=currency,
                params=context_params,
                forecast_horizon=forecast_horizon,
            )
            ctx.generated_at = generated
            save_context(ctx, context_dir)
            artifacts = _write_artifacts(ctx, jobs, staging)
            timings["context"] = time.perf_counter() - mark
            mark = time.perf_counter()
            # A report reading a context stage that failed is listed as failed, not run.
            runnable: list[Job] = []
            for job in jobs:
                reason = _blocked(ctx, job)
                if reason is None:
                    runnable.append(job)
                else:
                    results.append(
                        JobResult(
                            job.name,
                            job.kind,
                            job.entity,
                            job.header.title,
                            False,
                            0.0,
                            None,
                            None,
                            error=reason,
                        )  # fmt: skip
                    )
            # Long single reports first: they then overlap with the many short manager reviews.
            ordered = sorted(runnable, key=lambda j: get_report(j.kind).per == "manager")
            progress_bar = _Progress(len(jobs), progress, desc=label)
            try:
                for res in results:
                    progress_bar.update(res)
                for res in pool.run(ordered, timeout=timeout):
                    results.append(res)
                    progress_bar.update(res)
            finally:
                progress_bar.close()
            timings["reports"] = time.perf_counter() - mark
        order = {job.name: i for i, job in enumerate(jobs)}
        results.sort(key=lambda r: order[r.name])
        from amtools.render.index import write_index

        run_params = {"period": label, "lang": lang, "reports": kinds}
        mark = time.perf_counter()
        write_index(ctx, results, staging, parameters=run_params, files=artifacts)
        timings["index"] = time.perf_counter() - mark
        _publish(staging, folder)
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
