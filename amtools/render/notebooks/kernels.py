"""Warm report kernels: one started ipykernel reused for many notebooks, reset between them.

Starting a kernel and importing pandas, matplotlib, seaborn and amtools costs seconds, far
more than most reports take to run. A :class:`WarmKernel` pays that once and then runs
notebook after notebook through papermill's nbclient machinery (registered as the papermill
engine ``"amtools_warm"``), resetting the kernel in between (the code that runs inside the
kernel is :mod:`.inkernel`):

- the user namespace is cleared (IPython ``reset``), so no variable survives a notebook;
- matplotlib figures are closed and ``rcParams``, pandas and numpy print options, warning
  filters, ``sys.path``, environment and working directory are restored to the state they
  had right after warm-up;
- after any failure the kernel is restarted, so a broken notebook cannot poison the next.

Imported modules stay imported: that is the point, and amtools modules hold no per-report
state (the run-context cache returns detached copies). Import-time side effects of the warm
modules (``amtools.render.charts`` selects matplotlib's Agg backend) therefore apply to every
notebook, as they would in a fresh kernel as soon as the notebook imports them.
"""

from __future__ import annotations

import amtools.render.notebooks.nbimports  # noqa: F401 - before nbformat (see there)

# isort: split
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

from amtools.render.notebooks.inkernel import WARM_MODULES

__all__ = [
    "START_ATTEMPTS",
    "WarmKernel",
    "WarmEngine",
    "KernelCodeError",
]

log = logging.getLogger(__name__)

START_ATTEMPTS = 3
"""Starts of a kernel that dies while starting, before the report fails (see WarmKernel.start)."""


class KernelCodeError(RuntimeError):
    """Housekeeping code (warm-up or reset) failed inside the kernel."""


def die_with_parent(parent_pid: int | None = None) -> bool:
    """Ask Linux to send this process SIGTERM when its parent dies (``PR_SET_PDEATHSIG``).

    Exits at once if the parent (``parent_pid``) is already gone. Returns whether the request
    was made (``False`` off Linux).

    Example
    -------
    >>> die_with_parent()  # doctest: +SKIP
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request was made
    return True


def _die_with_parent_preexec(parent_pid: int) -> Any:
    def preexec() -> None:
        die_with_parent(parent_pid)

    return preexec


_WARM_CODE = (
    "import amtools.render.notebooks.inkernel as _amtools_inkernel\n"
    "_amtools_missing = _amtools_inkernel.kernel_warm({modules!r})\n"
    "del _amtools_inkernel, _amtools_missing\n"
)
_RESET_CODE = (
    "import amtools.render.notebooks.inkernel as _amtools_inkernel\n"
    "_amtools_inkernel.kernel_reset()\n"
)


# -- the papermill engine --------------------------------------------------------------------


class WarmEngine(NBClientEngine):
    """Papermill engine executing on an already-started kernel (``warm=<WarmKernel>``)."""

    @classmethod
    def execute_managed_notebook(  # type: ignore[override]
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: float | None = None,
        warm: WarmKernel | None = None,
        **kwargs: Any,
    ) -> Any:
        if warm is None:  # behave like the stock engine
            return super().execute_managed_notebook(
                nb_man,
                kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                start_timeout=start_timeout,
                execution_timeout=execution_timeout,
                **kwargs,
            )
        kwargs.pop("input_path", None)
        client = PapermillNotebookClient(
            nb_man,
            km=warm.km,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logging.getLogger("papermill"),
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client.kc = warm.kc  # reuse the started client: no new channels per notebook
        return client.execute()


papermill_engines.register("amtools_warm", WarmEngine)


# -- the kernel -------------------------------------------------------------------------------


SOCKET_PATH_MAX = 100
"""Longest socket path used, in bytes (Linux allows 107, macOS 103; room for the names)."""


def socket_folder() -> str | None:
    """A new private folder for a kernel's Unix-domain sockets, or ``None`` to use TCP.

    Socket paths have a hard length limit, so a long ``TMPDIR`` (a CI job's or a sandbox's
    folder) would make every kernel fail to bind: the folder is made in the temporary
    directory when its sockets' paths fit in :data:`SOCKET_PATH_MAX` bytes, else in
    ``/tmp``; when neither fits or can be written, kernels use TCP on 127.0.0.1.

    Example
    -------
    >>> folder = socket_folder()
    >>> folder is None or len(os.path.join(folder, "k-99999").encode()) <= SOCKET_PATH_MAX
    True
    >>> folder and os.rmdir(folder)
    """
    longest = os.path.join("amtools-kernel-" + "x" * 8, "k-99999")
    for base in dict.fromkeys((tempfile.gettempdir(), "/tmp")):
        if len(os.path.join(base, longest).encode()) > SOCKET_PATH_MAX:
            continue
        with contextlib.suppress(OSError):
            return tempfile.mkdtemp(prefix="amtools-kernel-", dir=base)
    return None


class WarmKernel:
    """A started ipykernel that runs many notebooks, reset between them.

    Parameters
    ----------
    kernel_name : Jupyter kernel spec name.
    cwd : working directory of the kernel (the notebooks' folder, as in JupyterLab).
    modules : modules to import at warm-up.
    startup_timeout : seconds to wait for the kernel to start.
    stderr : an open file receiving the kernel process's stdout/stderr (default: inherited).

    Example
    -------
    >>> with WarmKernel(cwd="notebooks") as kernel:  # doctest: +SKIP
    ...     executed = kernel.execute(nb, timeout=600)
    """

    def __init__(
        self,
        kernel_name: str = "python3",
        *,
        cwd: str | Path | None = None,
        modules: tuple[str, ...] | list[str] = WARM_MODULES,
        startup_timeout: float = 120,
        stderr: Any = None,
    ) -> None:
        self.kernel_name = kernel_name
        self.cwd = str(cwd) if cwd is not None else None
        self.modules = list(modules)
        self.startup_timeout = startup_timeout
        self.stderr = stderr
        self.km: Any = None
        self.kc: Any = None
        self.notebooks_run = 0
        self.restarts = 0
        self._dirty = False
        self._sockets: str | None = None  # the private folder of the kernel's IPC sockets

    # -- lifecycle ---------------------------------------------------------------------------
    def kill(self) -> None:
        """Stop the kernel at once (its whole process group), without talking to it.

        Safe from a signal handler or after an interrupted event loop, unlike :meth:`shutdown`.
        """
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # the kernel leads its own session
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        connection_file = getattr(self.km, "connection_file", None)
        if connection_file:
            with contextlib.suppress(OSError):
                os.remove(connection_file)
        self.kc = None
        self.km = None
        self._remove_sockets()

    def _remove_sockets(self) -> None:
        if self._sockets is not None:
            shutil.rmtree(self._sockets, ignore_errors=True)
            self._sockets = None

    def start(self) -> WarmKernel:
        """Start the kernel and import the warm modules.

        A kernel that dies while starting is replaced, up to :data:`START_ATTEMPTS` starts:
        Jupyter picks a kernel's ports before the kernel binds them, so a kernel started beside
        others can find one taken ("Address already in use") and exit at once; a new start
        picks new ports. A kernel that starts but does not answer is not retried.
        """
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._launch()
                self._connect()
                break
            except Exception as exc:
                # Nothing half-started is left behind: a failed start leaves no kernel
                # manager that a later job could wait on.
                self.shutdown()
                if not isinstance(exc, RuntimeError) or "died" not in str(exc):
                    raise
                if attempt == START_ATTEMPTS:
                    raise
                log.warning(
                    "report kernel died while starting (start %d of %d): %s; starting another",
                    attempt,
                    START_ATTEMPTS,
                    exc,
                )
        self.run_code(_WARM_CODE.format(modules=self.modules))
        self._dirty = False
        return self

    def _launch(self) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self._remove_sockets()
        self._sockets = socket_folder() if os.name == "posix" else None
        if self._sockets is not None:
            # Unix-domain sockets, not TCP on 127.0.0.1: a machine or sandbox without a
            # network (no loopback) runs reports too, and no port can be taken by another
            # kernel. An absolute path in a private folder: the kernel runs in the notebooks'
            # folder, this process elsewhere, and a relative socket name would differ.
            self.km = AsyncKernelManager(
                kernel_name=self.kernel_name,
                transport="ipc",
                ip=os.path.join(self._sockets, "k"),
            )
        else:
            self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        # No history database: executions counts restart at 1 for each notebook, and parallel
        # kernels never contend for ~/.ipython's sqlite file.
        kwargs: dict[str, Any] = {
            "extra_arguments": ["--HistoryManager.enabled=False", "--IPKernelApp.log_level=ERROR"]
        }
        if self.cwd:
            kwargs["cwd"] = self.cwd
        if self.stderr is not None:
            kwargs["stderr"] = self.stderr
            kwargs["stdout"] = self.stderr
        if sys.platform.startswith("linux"):
            # The kernel gets SIGTERM when this process dies (even by SIGKILL): no orphans.
            kwargs["preexec_fn"] = _die_with_parent_preexec(os.getpid())
        run_sync(self.km.start_kernel)(**kwargs)

    def _connect(self) -> None:
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        except RuntimeError:
            self.shutdown()
            raise
        self.kc.allow_stdin = False

    def restart(self) -> None:
        """Replace the kernel process with a fresh, warmed one."""
        self.restarts += 1
        self.shutdown()
        self.start()

    def shutdown(self) -> None:
        """Stop the kernel (safe to call twice)."""
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            with contextlib.suppress(Exception):
                if run_sync(self.km.is_alive)():
                    run_sync(self.km.shutdown_kernel)(now=True)
            with contextlib.suppress(Exception):
                run_sync(self.km.cleanup_resources)()
            self.km = None
        self._remove_sockets()

    def __enter__(self) -> WarmKernel:
        return self.start() if self.km is None else self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def pid(self) -> int | None:
        """Process id of the kernel (changes when it is restarted)."""
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    @property
    def alive(self) -> bool:
        """Whether the kernel process is running."""
        return self.km is not None and bool(run_sync(self.km.is_alive)())

    # -- running code ------------------------------------------------------------------------
    def run_code(self, code: str, timeout: float = 120) -> dict[str, Any]:
        """Run housekeeping ``code`` in the kernel (not stored in history); raise on error."""
        errors: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "error":
                errors.append("\n".join(msg["content"].get("traceback", [])))
            elif msg["msg_type"] == "stream" and msg["content"].get("name") == "stderr":
                errors.append(msg["content"].get("text", ""))

        reply = run_sync(self.kc.execute_interactive)(
            code, store_history=False, timeout=timeout, output_hook=hook
        )
        content = reply["content"]
        if content.get("status") != "ok":
            detail = "\n".join(errors) or f"{content.get('ename')}: {content.get('evalue')}"
            raise KernelCodeError(f"kernel housekeeping code failed:\n{detail}")
        return dict(content)

    def reset(self) -> None:
        """Clear the namespace and restore the warm state (restart if that fails)."""
        if not self.alive:
            self.restart()
            return
        try:
            self.run_code(_RESET_CODE)
        except Exception as exc:  # a broken kernel is replaced, never reused
            log.warning("kernel reset failed (%s); restarting the kernel", exc)
            self.restart()
        self._dirty = False

    def execute(
        self,
        nb: nbformat.NotebookNode,
        *,
        timeout: float | None = None,
        output_path: str | Path | None = None,
    ) -> nbformat.NotebookNode:
        """Execute a (parameterized) notebook in this kernel; return it with outputs.

        The notebook is changed in place. On a cell error papermill's error marker is added
        and :class:`papermill.exceptions.PapermillExecutionError` is raised (the notebook
        still holds every output up to the failure); the kernel is then restarted before
        the next notebook.
        """
        from papermill.execute import raise_for_execution_errors

        # papermill's bookkeeping expects these, as load_notebook_node would set them
        nb.metadata.setdefault("papermill", {})
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])
        if self.km is None:
            self.start()
        elif self._dirty:
            self.reset()
        self._dirty = True
        self.notebooks_run += 1
        failed = True
        try:
            papermill_engines.execute_notebook_with_engine(
                "amtools_warm",
                nb,
                kernel_name=self.kernel_name,
                input_path=None,
                output_path=None,
                progress_bar=False,
                log_output=False,
                start_timeout=int(self.startup_timeout),
                execution_timeout=timeout,
                warm=self,
            )
            raise_for_execution_errors(nb, str(output_path) if output_path else None)
            failed = False
        finally:
            if failed:
                # Whatever failed (a cell, a timeout, a dead kernel) may have left state behind.
                with contextlib.suppress(Exception):
                    self.restart()
                self._dirty = False
        return nb
