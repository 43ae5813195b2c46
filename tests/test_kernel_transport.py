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
