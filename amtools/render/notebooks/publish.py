"""The reports folder of a run: checked before any work, locked, staged into, published atomically.

Everything a run writes goes to a private staging folder inside ``out``; when the run is
complete the folder is renamed to ``<out>/<period>``. ``out`` is locked for the run (a second
run into it is refused), and SIGINT/SIGTERM stop the workers and kernels, remove the staging
folder and raise :class:`RunInterrupted`: an interrupted run publishes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from amtools.core.errors import ReportError

__all__ = [
    "LOCK_FILE",
    "STAGING_PREFIX",
    "STOP_GRACE",
    "ACTIVE_RUN",
    "RunInterrupted",
    "check_out_folder",
    "OutLock",
    "remove_stale_staging",
    "publish",
    "signals_interrupt",
    "emergency_stop",
]

LOCK_FILE = ".amtools-run.lock"
STAGING_PREFIX = ".staging-"


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run: workers and kernels are stopped, nothing is published."""

    def __init__(self, signum: int) -> None:

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


def remove_stale_staging(out: Path) -> None:
    """Staging folders of runs that were killed (we hold the lock: none is in use)."""

    for path in out.glob(f"{STAGING_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def publish(staging: Path, folder: Path) -> None:
    """Move the finished run into ``folder`` by renames: readers see the old pack or the new
    one, never a half-written mix."""

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


ACTIVE_RUN: dict[str, Any] = {}
"""The run in progress (``"pool"``: its KernelPool, ``"staging"``: its staging folder), for the
emergency stop; set by the runner, cleared when the run ends."""

STOP_GRACE = 4.0
"""Seconds an interrupted run may take to unwind before it is stopped outright."""


def emergency_stop(signum: int) -> None:
    """Stop now: kill the workers (their kernels die with them), drop the staging folder, exit.

    Used when unwinding after SIGINT/SIGTERM takes longer than :data:`STOP_GRACE` (the main
    thread may be waiting for forecast threads) or on a second signal.
    """

    pool = ACTIVE_RUN.get("pool")
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.terminate(grace=1.0)
    staging = ACTIVE_RUN.get("staging")
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
def signals_interrupt() -> Iterator[None]:
    """SIGTERM (and SIGINT) raise :class:`RunInterrupted` in the main thread while a run lasts.

    If the run has not unwound :data:`STOP_GRACE` seconds later, or a second signal comes,
    :func:`emergency_stop` ends the process.
    """

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    done = threading.Event()

    def watchdog(signum: int) -> None:
        if not done.wait(STOP_GRACE):
            emergency_stop(signum)

    def handler(signum: int, frame: Any) -> None:
        if ACTIVE_RUN.get("interrupted"):
            emergency_stop(signum)
        ACTIVE_RUN["interrupted"] = signum
        threading.Thread(target=watchdog, args=(signum,), daemon=True).start()
        raise RunInterrupted(signum)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        done.set()
        ACTIVE_RUN.clear()
        for sig, old in previous.items():
            signal.signal(sig, old)
