"""Report kernels talk over Unix-domain sockets, not TCP: a machine or sandbox without a
network (no loopback interface) must still render reports, and no port can be taken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amtools.render.notebooks.kernels import WarmKernel

pytestmark = pytest.mark.skipif(os.name != "posix", reason="IPC sockets are POSIX only")


def test_a_kernel_uses_ipc_sockets_in_a_private_folder_removed_on_shutdown() -> None:
    kernel = WarmKernel(modules=[]).start()
    try:
        assert kernel.km.transport == "ipc"
        folder = Path(kernel.km.ip).parent
        assert folder.is_dir() and any(folder.iterdir())  # the sockets
        assert kernel.run_code("x = 1 + 1")["status"] == "ok"
        kernel.restart()
        assert not folder.exists() and Path(kernel.km.ip).parent.is_dir()
        folder = Path(kernel.km.ip).parent
    finally:
        kernel.shutdown()
    assert not folder.exists()


def test_a_kernel_starts_without_any_network() -> None:
    unshare = shutil.which("unshare")
    probe = [unshare, "-n", "true"] if unshare else None
    if probe is None or subprocess.run(probe, capture_output=True).returncode != 0:
        pytest.skip("no unshare -n here (needs a user or network namespace)")
    code = (
        "from amtools.render.notebooks.kernels import WarmKernel\n"
        "k = WarmKernel(modules=[], startup_timeout=60).start()\n"
        "print(k.run_code('1')['status']); k.shutdown()\n"
    )
    done = subprocess.run(
        [unshare, "-n", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


def test_the_socket_folder_stays_within_the_path_limit_under_a_long_tmpdir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tempfile

    from amtools.render.notebooks import kernels

    long_tmp = tmp_path / ("x" * (kernels.SOCKET_PATH_MAX + 10))
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    folder = kernels.socket_folder()
    try:
        assert folder is not None and not folder.startswith(str(long_tmp))
        assert len(os.path.join(folder, "k-99999").encode()) <= kernels.SOCKET_PATH_MAX
    finally:
        if folder:
            os.rmdir(folder)
    # Where no folder fits (here: every candidate is too long), kernels fall back to TCP.
    monkeypatch.setattr(kernels, "SOCKET_PATH_MAX", 5)
    assert kernels.socket_folder() is None


def test_a_kernel_starts_under_a_tmpdir_too_long_for_socket_paths(tmp_path: Path) -> None:
    # A CI job's or sandbox's TMPDIR can be long; Unix-domain socket paths are limited to
    # ~107 bytes, and a kernel whose sockets could not bind left `amtools run` waiting until
    # it was killed (exit 124).
    long_tmp = tmp_path / ("x" * 110)
    long_tmp.mkdir()
    code = (
        "from amtools.render.notebooks.kernels import WarmKernel\n"
        "k = WarmKernel(modules=[], startup_timeout=60).start()\n"
        "print(k.run_code('1')['status']); k.shutdown()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(long_tmp)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
    assert not any(long_tmp.iterdir())  # nothing left behind


def test_a_worker_whose_kernel_failed_to_start_fails_its_jobs_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A start that failed after the kernel manager was made must fail the jobs with the
    # start's error, not send them to a kernel that never answered.
    import pandas as pd

    from amtools.render.export import ReportHeader
    from amtools.render.notebooks import pool
    from amtools.render.notebooks.jobs import Job

    class HalfStarted:
        km = object()

    error = "report kernel failed to start: ZMQError: File name too long"
    monkeypatch.setattr(pool, "_WORKER", {"kernel": HalfStarted(), "error": error})
    header = ReportHeader(
        "t", "en", "2026Q3", "demo", pd.Timestamp("2026-12-01", tz="UTC"), "f", "0"
    )
    nb = tmp_path / "r.ipynb"
    job = Job("r", "r", None, nb, {}, header, tmp_path / "r.html", nb)
    result = pool._worker_run(job, timeout=5)
    assert not result.ok and result.error == error
