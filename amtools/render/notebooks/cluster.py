"""The report jobs on a Dask cluster: :class:`DaskPool`, the :class:`~.pool.KernelPool` of a cluster.

``amtools run --scheduler tcp://HOST:PORT`` (or ``AMTOOLS_SCHEDULER``; ``local`` starts a
``LocalCluster``) renders the reports on the workers of a Dask scheduler instead of local
worker processes. The runner's contract is unchanged: :meth:`DaskPool.run` yields one
:class:`~.jobs.JobResult` per job, as the local pool does, and the run publishes the pack.

- **Warm kernels per worker.** A worker plugin (:class:`WarmKernelPlugin`, registered for the
  run) starts one :class:`~.kernels.WarmKernel` per worker thread when the worker takes it
  (each in a thread of its own, so the worker's event loop never waits), restarts a kernel
  after a failed notebook as the local pool does, and shuts the kernels down when the run
  unregisters it or the worker closes. A killed worker's kernels get SIGTERM from Linux.
- **The run context reaches each worker once.** By default its files (a file or a whole
  folder, as :func:`~.context.save_context` wrote it) and the report notebooks are read on
  the client and broadcast with ``Client.scatter(..., broadcast=True)``: it needs no storage
  shared with the workers. Each worker writes them once into its local directory and the
  jobs' ``context`` parameter and notebook are rewritten to that copy. With ``shared=True``
  (``AMTOOLS_DASK_SHARED=1``) the workers read the client's paths instead (made absolute on
  the client: the run's ``<out>/.staging-*/_context`` and the notebooks folder), and nothing
  is scattered.
- **Pages return as bytes.** A job renders into a private folder on its worker; everything
  written there (the page, the executed notebook, any other file) comes back as bytes and
  the client writes it into the run's staging folder. No worker writes into the out folder.
- **Lost workers.** A job whose worker died is submitted once more (to the workers left);
  when that fails too it is listed as failed with the scheduler's reason.

``dask[distributed]`` is an optional extra (``pip install amtools[dask]``); this is the
only module that imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from amtools import __version__
from amtools.core.errors import ReportError
from amtools.core.files import write_atomic
from amtools.render.notebooks.jobs import Job, JobResult, execute_job
from amtools.render.notebooks.kernels import WarmKernel

try:
    import dask
    from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker
except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
    raise ReportError(
        f"running on a Dask cluster needs dask.distributed ({exc}); "
        'install it with `pip install "amtools[dask]"`'
    ) from None

__all__ = ["DaskPool", "WarmKernelPlugin", "Bundle", "LOCAL", "CONNECT_TIMEOUT", "WORKER_WAIT"]

log = logging.getLogger(__name__)

LOCAL = "local"
"""The ``--scheduler`` value that starts a ``LocalCluster`` of ``--workers`` processes."""
CONNECT_TIMEOUT = 30.0
"""Seconds to reach the scheduler before the run fails with its address."""
WORKER_WAIT = 120.0
"""Seconds to wait for a first worker (an adaptive cluster may start them on demand)."""
RETRIES = 1
"""Resubmissions of a job whose worker was lost, before it is listed as failed."""


# -- what the workers receive -----------------------------------------------------------------


@dataclass(frozen=True)
class Bundle:
    """Files a run's jobs read (the run context and the notebooks), sent to every worker once.

    Attributes
    ----------
    digest : identifies the content (a worker writes one bundle once).
    files : relative POSIX path -> bytes.
    paths : a client path (a job's context or notebook) -> its relative path in ``files``.
    """

    digest: str
    files: dict[str, bytes]
    paths: dict[str, str]

    @classmethod
    def of(cls, jobs: Sequence[Job]) -> Bundle:
        """The files of ``jobs``' contexts (file or folder, whole) and notebooks.

        Example
        -------
        >>> Bundle.of([]).files
        {}
        """
        files: dict[str, bytes] = {}
        paths: dict[str, str] = {}
        sources = {str(j.parameters.get("context") or "") for j in jobs} - {""}
        for n, source in enumerate(sorted(sources)):
            path = Path(source)
            if path.is_dir():
                for item in sorted(p for p in path.rglob("*") if p.is_file()):
                    files[f"context{n}/{item.relative_to(path).as_posix()}"] = item.read_bytes()
                paths[source] = f"context{n}"
            elif path.is_file():
                files[f"context{n}/{path.name}"] = path.read_bytes()
                paths[source] = f"context{n}/{path.name}"
        for n, notebook in enumerate(sorted({str(j.notebook) for j in jobs})):
            rel = f"notebooks{n}/{Path(notebook).name}"
            files[rel] = Path(notebook).read_bytes()
            paths[notebook] = rel
        digest = hashlib.sha256()
        for rel in sorted(files):
            digest.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
        return cls(digest=digest.hexdigest()[:16], files=files, paths=paths)


def _absolute(job: Job) -> Job:
    """``job`` with its notebook and context as absolute paths (shared storage: a worker's
    working directory is not the client's, so a relative path would name another file)."""
    context = str(job.parameters.get("context") or "")
    notebook = Path(job.notebook).absolute()
    if notebook == Path(job.notebook) and (not context or Path(context).is_absolute()):
        return job
    parameters = dict(job.parameters)
    if context:
        parameters["context"] = str(Path(context).absolute())
    return dataclasses.replace(job, notebook=notebook, parameters=parameters)


def _inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing a path that would leave ``root``."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        raise ReportError(f"refused file path {rel!r} from a Dask worker: it leaves the folder")
    return root.joinpath(*parts)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


# -- the worker side --------------------------------------------------------------------------


class _Slot:
    """One warm kernel and the one thread that drives it (start, notebooks, shutdown)."""

    def __init__(self, cwd: Path, log_path: Path) -> None:
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="amtools-kernel")
        self.cwd = cwd
        self.log_path = log_path
        self.kernel: WarmKernel | None = None
        self.error: str | None = None
        self._log: IO[str] | None = None
        self.started = self.thread.submit(self._start)

    def _start(self) -> None:
        from amtools.render.export import html_exporter

        logging.getLogger("papermill").setLevel(logging.WARNING)
        try:
            self._log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the slot
            self.kernel = WarmKernel(cwd=self.cwd, stderr=self._log)
            self.kernel.start()
            html_exporter()
        except Exception as exc:
            self.error = f"report kernel failed to start: {type(exc).__name__}: {exc}"

    def run(self, job: Job, timeout: float | None) -> JobResult:
        kernel = self.kernel
        if kernel is None or self.error is not None:
            return JobResult.failed(job, self.error or "report kernel unavailable")
        return execute_job(kernel, job, timeout=timeout)

    def close(self, wait: float = 30.0) -> None:
        def stop() -> None:
            if self.kernel is not None:
                self.kernel.shutdown()
                self.kernel = None
            if self._log is not None:
                self._log.close()
                self._log = None

        with contextlib.suppress(Exception):
            self.thread.submit(stop).result(timeout=wait)
        if self.kernel is not None:  # it did not stop in time: kill it
            self.kernel.kill()
        self.thread.shutdown(wait=False, cancel_futures=True)


class WarmKernelPlugin(WorkerPlugin):
    """Keeps warm report kernels on a Dask worker for one run (one per worker thread).

    ``setup`` starts the kernels in their own threads and returns at once; ``teardown``
    (the run unregisters the plugin, or the worker closes) shuts them down and removes the
    worker's copies of the run's files. A worker whose amtools version differs from the
    client's renders nothing: its jobs fail with both versions named.

    Example
    -------
    >>> client.register_plugin(WarmKernelPlugin("0.1.0"), name="amtools")  # doctest: +SKIP
    """

    def __init__(self, version: str, kernels: int | None = None) -> None:
        self.version = version
        self.kernels = kernels

    def setup(self, worker: Any) -> None:
        self.address = str(getattr(worker, "address", "?"))
        self.error: str | None = None
        if __version__ != self.version:
            self.error = (
                f"Dask worker {self.address} has amtools {__version__}, the client "
                f"{self.version}: install the same amtools version on the workers"
            )
        base = Path(getattr(worker, "local_directory", None) or os.getcwd())
        self.folder = base / f"amtools-{uuid.uuid4().hex[:12]}"
        (self.folder / "cwd").mkdir(parents=True)
        self._bundles: dict[str, Path] = {}
        self._lock = threading.Lock()
        count = self.kernels or int(getattr(getattr(worker, "state", None), "nthreads", 1) or 1)
        self._slots = (
            []
            if self.error
            else [
                _Slot(self.folder / "cwd", self.folder / f"kernels-{i}.log") for i in range(count)
            ]
        )
        self._free: queue.Queue[_Slot] = queue.Queue()
        for slot in self._slots:
            self._free.put(slot)

    async def teardown(self, worker: Any) -> None:
        """Shut the kernels down (off the worker's event loop) and remove the run's files."""
        await asyncio.get_running_loop().run_in_executor(None, self._close)

    def _close(self) -> None:
        for slot in getattr(self, "_slots", []):
            slot.close()
        self._slots = []
        folder = getattr(self, "folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _unpack(self, bundle: Bundle) -> Path:
        """The worker's copy of ``bundle`` (written once)."""
        with self._lock:
            root = self._bundles.get(bundle.digest)
            if root is None:
                root = self.folder / "bundles" / bundle.digest
                for rel, data in bundle.files.items():
                    path = _inside(root, rel)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                self._bundles[bundle.digest] = root
            return root

    def render(
        self, job: Job, bundle: Bundle | None, root: str, timeout: float | None
    ) -> tuple[JobResult, dict[str, bytes]]:
        """Render ``job`` on a free kernel of this worker; its files come back as bytes."""
        if self.error is not None:
            return JobResult.failed(job, self.error), {}
        local = dataclasses.replace(job, parameters=dict(job.parameters))
        if bundle is not None:
            copy = self._unpack(bundle)
            context = str(job.parameters.get("context") or "")
            if context in bundle.paths:
                local.parameters["context"] = str(copy / bundle.paths[context])
            local.notebook = copy / bundle.paths[str(job.notebook)]
        out = self.folder / "jobs" / uuid.uuid4().hex
        staging = Path(root)
        local.html_path = out / _relative(job.html_path, staging)
        local.ipynb_path = out / _relative(job.ipynb_path, staging)
        slot = self._free.get()
        try:
            slot.started.result()
            res = slot.thread.submit(slot.run, local, timeout).result()
        finally:
            self._free.put(slot)
        files: dict[str, bytes] = {}
        if out.is_dir():
            for path in sorted(p for p in out.rglob("*") if p.is_file()):
                files[path.relative_to(out).as_posix()] = path.read_bytes()
            shutil.rmtree(out, ignore_errors=True)
        res.html_path = job.html_path if res.html_path is not None else None
        res.ipynb_path = job.ipynb_path if res.ipynb_path is not None else None
        res.extra["worker"] = self.address
        return res, files


def _render_on_worker(
    plugin_name: str, job: Job, bundle: Bundle | None, root: str, timeout: float | None
) -> tuple[JobResult, dict[str, bytes]]:
    """The Dask task: render ``job`` with this worker's :class:`WarmKernelPlugin`."""
    worker = get_worker()
    plugin = worker.plugins.get(plugin_name)
    if not isinstance(plugin, WarmKernelPlugin):
        return JobResult.failed(job, f"Dask worker {worker.address} has no amtools kernels"), {}
    return plugin.render(job, bundle, root, timeout)


# -- the client side --------------------------------------------------------------------------


class DaskPool:
    """Report jobs on a Dask cluster, with the interface of :class:`~.pool.KernelPool`.

    Parameters
    ----------
    scheduler : ``tcp://HOST:PORT`` of a running scheduler, or ``"local"`` (a
        ``LocalCluster`` of ``workers`` processes with one thread each, stopped at the end).
    workers : processes of a local cluster (ignored for an existing scheduler).
    cwd : the notebooks' folder (kept for the interface; workers run kernels in their own
        folder and receive the notebooks).
    log_dir : the run's log folder on the client.
    root : the run's staging folder: the jobs' outputs are written under it by the client.
    shared : the workers see the client's paths (shared storage): the context and the
        notebooks are read there instead of being broadcast.

    Example
    -------
    >>> with DaskPool("local", workers=2, cwd="notebooks", log_dir="r/_logs", root="r") as pool:  # doctest: +SKIP
    ...     results = list(pool.run(jobs))
    """

    def __init__(
        self,
        scheduler: str,
        *,
        workers: int = 1,
        cwd: str | Path = ".",
        log_dir: str | Path = ".",
        root: str | Path = ".",
        shared: bool | None = None,
    ) -> None:
        self.scheduler = scheduler.strip()
        self.workers = max(1, int(workers))
        self.cwd = str(cwd)
        self.log_dir = Path(log_dir)
        self.root = Path(root)
        if shared is None:
            shared = os.environ.get("AMTOOLS_DASK_SHARED", "").strip().lower() in (
                "1",
                "true",
                "yes",
            )
        self.shared = shared
        self.plugin_name = f"amtools-kernels-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._cluster: Any = None
        self._client: Any = None
        self._futures: list[Any] = []
        self._starting: threading.Thread | None = None
        self._start_error: str | None = None

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` of the run (after :meth:`start`)."""
        return self._client

    def start(self) -> DaskPool:
        """Connect and let every worker warm its kernels (returns at once for ``"local"``).

        A local cluster starts in a thread, while the runner computes the run context, as the
        local pool's processes do; an existing scheduler is reached now, so a wrong address
        fails the run before any work.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.scheduler == LOCAL:
            self._starting = threading.Thread(
                target=self._start_local, name="amtools-local-cluster", daemon=True
            )
            self._starting.start()
            return self
        try:
            self._client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ReportError(
                f"cannot reach the Dask scheduler at {self.scheduler} ({exc}); start one "
                "(`dask scheduler`) or pass its address as --scheduler tcp://HOST:PORT"
            ) from None
        self._client.register_plugin(WarmKernelPlugin(__version__), name=self.plugin_name)
        return self

    def _start_local(self) -> None:
        try:
            # One resubmission by the runner, not the scheduler's own retries as well.
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # no fixed port to collide on
                    silence_logs=logging.WARNING,
                )
            self._client = Client(self._cluster)
            self._client.register_plugin(WarmKernelPlugin(__version__), name=self.plugin_name)
        except Exception as exc:
            self._start_error = f"{type(exc).__name__}: {exc}"

    def _started(self) -> None:
        """Wait for the local cluster's start; raise if it failed."""
        starting, self._starting = self._starting, None
        if starting is not None:
            starting.join()
        if self._start_error is not None:
            raise ReportError(f"the local Dask cluster did not start: {self._start_error}")

    def run(self, jobs: Sequence[Job], *, timeout: float | None = None) -> Iterator[JobResult]:
        """Render ``jobs`` on the cluster; yield results as they finish (in order of priority)."""
        if not jobs:
            return
        self._started()
        client = self._client
        if client is None:
            raise ReportError("DaskPool.run before start()")
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except TimeoutError:
            raise ReportError(
                f"no Dask worker joined the scheduler at {self.scheduler} within "
                f"{WORKER_WAIT:.0f} s; start workers (`dask worker {self.scheduler}`)"
            ) from None
        payload = None if self.shared else Bundle.of(jobs)
        bundle = [self._scatter(payload)]
        tries: dict[str, int] = {}

        def submit(job: Job, priority: int) -> Any:
            future = client.submit(
                _render_on_worker,
                self.plugin_name,
                _absolute(job) if self.shared else job,
                bundle[0],
                str(self.root),
                timeout,
                key=f"amtools-{uuid.uuid4().hex}",
                pure=False,
                priority=priority,
            )
            self._futures.append(future)
            return future

        pending = {submit(job, len(jobs) - i): (job, len(jobs) - i) for i, job in enumerate(jobs)}
        completed = as_completed(list(pending))
        for future in completed:
            job, priority = pending.pop(future)
            try:
                res, files = future.result()
            except (KilledWorker, FutureCancelledError) as exc:
                if isinstance(exc, FutureCancelledError) and "lost" not in str(exc.reason):
                    yield JobResult.failed(job, f"Dask task cancelled: {exc}")
                    continue
                if tries.get(job.name, 0) < RETRIES:
                    tries[job.name] = tries.get(job.name, 0) + 1
                    log.warning("%s: its Dask worker was lost; submitting it again", job.name)
                    if bundle[0] is not None and bundle[0].status != "finished":
                        bundle[0] = self._scatter(payload)  # every worker holding it died
                    retry = submit(job, priority)
                    pending[retry] = (job, priority)
                    completed.add(retry)
                    continue
                yield JobResult.failed(
                    job, f"report worker lost twice while rendering it (Dask: {exc})"
                )
                continue
            except Exception as exc:  # the task could not run (serialisation, a closed client)
                yield JobResult.failed(job, f"Dask task failed: {type(exc).__name__}: {exc}")
                continue
            for rel, data in files.items():
                write_atomic(_inside(self.root, rel), data)
            yield res
        self._futures.clear()

    def _scatter(self, payload: Bundle | None) -> Any:
        """Send ``payload`` to every worker once (``None``: the workers share the paths)."""
        if payload is None:
            return None
        return self._client.scatter(payload, broadcast=True, hash=False)

    def _stop(self, timeout: float) -> None:
        with contextlib.suppress(ReportError):
            self._started()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.cancel(self._futures, force=True)
            self._futures.clear()
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(self.plugin_name)  # the kernels stop
            with contextlib.suppress(Exception):
                client.close(timeout=timeout)
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=timeout)

    def terminate(self, grace: float = 5.0) -> None:
        """Stop now (an interrupted run): cancel the jobs, stop the kernels, disconnect."""
        self._stop(max(grace, 1.0))

    def close(self) -> None:
        """Stop the workers' kernels and disconnect (a local cluster is shut down)."""
        self._stop(30.0)

    def __enter__(self) -> DaskPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
