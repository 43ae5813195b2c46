"""A real `amtools run` stopped by SIGTERM, SIGINT or SIGKILL leaves no process and no half pack.

Locally, on a real Dask cluster (a scheduler and two workers started here on 127.0.0.1: the
run stops as a local one does, the workers' kernels stop, the cluster stays up and renders
again) and on ``--scheduler local`` (the LocalCluster is shut down with the run).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.notebook, pytest.mark.skipif(sys.platform != "linux", reason="Linux")]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    from amtools import loading as io
    from amtools.demo import make_demo

    root = tmp_path_factory.mktemp("signals")
    ds = make_demo(seed=1, n_managers=4, years=1, scale=0.2, end="2026-11-26")
    return Path(io.save_duckdb(ds, root / "demo.duckdb"))


def _start(source: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AMTOOLS_SCHEDULER", None)
    cmd = [
        sys.executable, "-m", "amtools.cli", "run", "--source", str(source), "--out", str(out),
        "--workers", "2", "--no-progress", "--reports", "team_review,manager_review", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _kernels_running(proc: subprocess.Popen, n: int, timeout: float = 120) -> list:
    """Wait until ``n`` kernels run under ``proc``; return its whole process tree."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        tree = parent.children(recursive=True)
        kernels = [p for p in tree if "ipykernel" in " ".join(_cmdline(p))]
        if len(kernels) >= n:
            time.sleep(1.0)  # let them take their first report
            return parent.children(recursive=True)
        time.sleep(0.2)
    raise AssertionError("kernels did not start")


def _cmdline(p) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def _survivors(tree: list, within: float) -> list:
    deadline = time.monotonic() + within
    alive = tree
    while time.monotonic() < deadline:
        alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return []
        time.sleep(0.2)
    return [(p.pid, _cmdline(p)) for p in alive]


def _stopped_cleanly(proc: subprocess.Popen, tree: list, out: Path, sig: int) -> str:
    """Send ``sig`` to the run; check it stops as an interrupted run must. Returns its stderr."""
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        for p in tree:
            with contextlib.suppress(psutil.Error):
                p.kill()
        raise AssertionError("amtools run did not stop within 10 s") from None
    assert time.monotonic() - sent < 10
    assert proc.returncode == 128 + sig, err
    assert "interrupted by" in err and "Traceback" not in err
    assert _survivors(tree, within=5) == []
    assert not list(out.glob(".staging-*"))  # nothing half-published
    assert not (out / "2026Q3").exists()
    return err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_the_run_cleanly(source, tmp_path, sig) -> None:
    out = tmp_path / "out"
    proc = _start(source, out)
    tree = _kernels_running(proc, 2)
    _stopped_cleanly(proc, tree, out, sig)


def test_sigkill_of_the_runner_leaves_no_worker_or_kernel(source, tmp_path) -> None:
    proc = _start(source, tmp_path / "out")
    tree = _kernels_running(proc, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)  # not communicate(): survivors would hold its pipes open
    survivors = _survivors(tree, within=15)
    for pid, _ in survivors:  # never leave them behind, even when the test fails
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert survivors == []


def test_a_second_concurrent_run_into_the_same_out_is_refused(source, tmp_path) -> None:
    # The out folder is held the way a running `amtools run` holds it (its lock file). A real
    # first run made this a race: with warm kernels starting in ~3 s a tiny pack could finish
    # before the second process had even imported the runner.
    from amtools.render.notebooks.publish import OutLock

    out = tmp_path / "out"
    out.mkdir()
    with OutLock(out):
        second = _start(source, out)
        _, err = second.communicate(timeout=120)
    assert second.returncode == 1, err
    assert f"another amtools run (process {os.getpid()}) is writing to {out}" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [".amtools-run.lock"]  # nothing staged


# -- the same on a Dask cluster -----------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("distributed")
    from dask_helpers import cluster_fixture

    yield from cluster_fixture(tmp_path_factory.mktemp("dask"))


def _rendering_on(cluster, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until both workers' kernels run and the scheduler has a report task processing."""
    from dask_helpers import kernels
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(cluster.address, timeout=10) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            busy = [k for keys in client.processing().values() for k in keys]
            if len(kernels(cluster.tops)) >= 2 and any(str(k).startswith("amtools-") for k in busy):
                time.sleep(0.5)  # the reports are on their kernels
                return
            time.sleep(0.2)
    raise AssertionError(f"the run never rendered on the cluster:\n{cluster.logs()}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_on_a_cluster_stops_cleanly_and_leaves_the_cluster_up(
    cluster, source, tmp_path, sig
) -> None:
    from dask_helpers import kernels

    from amtools.render.notebooks.runner import run

    out = tmp_path / "out"
    proc = _start(source, out, "--scheduler", cluster.address)
    _rendering_on(cluster, proc)
    tree = psutil.Process(proc.pid).children(recursive=True)
    err = _stopped_cleanly(proc, tree, out, sig)
    # the same message as a local run
    assert f"amtools run: interrupted by {signal.Signals(sig).name}: workers and kernels" in err
    # The run unregistered its plugin: the workers' kernels stop; the cluster stays up.
    deadline = time.monotonic() + 20
    while kernels(cluster.tops) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernels(cluster.tops), kernels(cluster.tops)
    assert len(cluster.tops) == 3, cluster.logs()
    cluster.wait_for_workers(2, timeout=10)
    # ... and renders again.
    again = run(
        source, out=tmp_path / "again", scheduler=cluster.address, reports=["team_review"],
        workers=2, progress=False,
    )  # fmt: skip
    assert [(r.name, r.ok) for r in again.results] == [("team_review", True)], again.failed
    assert (again.folder / "team_review.html").is_file()


def test_an_interrupted_run_on_a_local_cluster_shuts_it_down(source, tmp_path) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    proc = _start(source, out, "--scheduler", "local")
    tree = _kernels_running(proc, 2)  # the LocalCluster's workers and their kernels
    assert len(tree) >= 4, [_cmdline(p) for p in tree]
    _stopped_cleanly(proc, tree, out, signal.SIGINT)
