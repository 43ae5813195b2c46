"""The report workers: processes that each hold a warm kernel and render jobs in parallel."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from multiprocessing.util import Finalize
from pathlib import Path
from typing import IO, Any

from amtools.render.export import html_exporter
from amtools.render.notebooks.jobs import Job, JobResult, execute_job
from amtools.render.notebooks.kernels import WarmKernel, die_with_parent

__all__ = ["KernelPool"]

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
        html_exporter()  # build the nbconvert exporter now, while the run context is computed
    except Exception as exc:
        _WORKER["error"] = f"report kernel failed to start: {type(exc).__name__}: {exc}"


def _worker_ping() -> int:
    return os.getpid()


def _worker_run(job: Job, timeout: float | None) -> JobResult:
    kernel: WarmKernel | None = _WORKER.get("kernel")
    if kernel is None or "error" in _WORKER:
        return JobResult.failed(job, _WORKER.get("error", "report kernel unavailable"))
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
        """Start the worker processes and their kernels (returns at once; again: no-op)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.workers == 0 or self._executor is not None:
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
                yield JobResult.failed(job, f"report worker failed: {type(exc).__name__}: {exc}")

    def _run_here(self, jobs: Sequence[Job], timeout: float | None) -> Iterator[JobResult]:
        if self._kernel is None:
            self._log = open(self.log_dir / "kernels.log", "a", encoding="utf-8")  # noqa: SIM115
            self._kernel = WarmKernel(cwd=self.cwd, stderr=self._log)
            try:
                self._kernel.start()
            except Exception as exc:
                error = f"report kernel failed to start: {type(exc).__name__}: {exc}"
                for job in jobs:
                    yield JobResult.failed(job, error)
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
