"""A real Dask cluster for the tests: `dask scheduler` and two `dask worker` processes on 127.0.0.1.

Shared by ``test_dask_cluster.py`` and ``test_run_signals.py`` (imported by name: pytest puts
``tests/`` on the path). Every process is a subprocess of the test run and is torn down by
:meth:`Cluster.stop`; :func:`cluster_fixture` also checks that none outlives it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def alive(procs: list[psutil.Process]) -> list[tuple[int, str]]:
    """Those of ``procs`` still running (zombies do not count), as (pid, command line)."""
    out = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append((p.pid, cmdline(p)))
    return out


def wait_gone(procs: list[psutil.Process], within: float) -> list[tuple[int, str]]:
    """Wait up to ``within`` seconds for ``procs`` to end; return those still running."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(procs):
            return []
        time.sleep(0.2)
    return alive(procs)


def kernels(procs: list[psutil.Process]) -> list[tuple[int, str]]:
    """The Jupyter kernels running under ``procs``."""
    found = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            for child in p.children(recursive=True):
                if "ipykernel" in cmdline(child) and child.status() != psutil.STATUS_ZOMBIE:
                    found.append((child.pid, cmdline(child)))
    return found


class Cluster:
    """`dask scheduler` and two `dask worker` processes (one thread each) on 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        # One resubmission by amtools, not the scheduler's own retries as well (see README).
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        }
        self.env.pop("AMTOOLS_SCHEDULER", None)
        self.env.pop("AMTOOLS_DASK_SHARED", None)
        self.procs: list[subprocess.Popen] = []
        self.seen: list[psutil.Process] = []

    def _spawn(self, *args: str, log: str) -> None:
        out = open(self.folder / log, "w")  # noqa: SIM115 - closed with the process
        cmd = [sys.executable, "-m", "dask", *args]
        proc = subprocess.Popen(
            cmd, cwd=self.folder, env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        self.procs.append(proc)

    def start(self) -> Cluster:
        port = self.address.rsplit(":", 1)[1]
        self._spawn(
            "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard", log="sched.log"
        )
        for n in range(2):
            self._spawn(
                "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                "--no-dashboard", "--local-directory", str(self.folder / f"w{n}"),
                log=f"worker{n}.log",
            )  # fmt: skip
        self.wait_for_workers(2)
        return self

    def wait_for_workers(self, n: int, timeout: float = 90) -> None:
        from distributed import Client

        deadline = time.monotonic() + timeout
        while True:
            for proc in self.procs:
                assert proc.poll() is None, self.logs()
            try:
                with Client(self.address, timeout=5) as client:
                    client.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"cluster did not start:\n{self.logs()}") from None
                time.sleep(0.5)
        self.remember()

    def remember(self) -> None:
        """Note every process of the cluster now (to check none survives it)."""
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(proc.pid)
                self.seen += [parent, *parent.children(recursive=True)]

    @property
    def tops(self) -> list[psutil.Process]:
        """The scheduler's and the workers' (nannies') processes still running."""
        return [psutil.Process(p.pid) for p in self.procs if p.poll() is None]

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        self.remember()
        for proc in reversed(self.procs):  # workers first, then the scheduler
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def cluster_fixture(folder: Path) -> Iterator[Cluster]:
    """A started :class:`Cluster`, stopped after; fails if any of its processes survives."""
    c = Cluster(folder)
    try:
        yield c.start()
    finally:
        c.stop()
        survivors = wait_gone(c.seen, 20)
        for pid, _ in survivors:  # do not leave them to the next test
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        assert not survivors, f"processes outlived the cluster: {survivors}"
