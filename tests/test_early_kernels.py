"""The report kernels start before the data loads, so they warm up while it loads.

Only where that cannot waste them: a local run into an out folder without a published pack
(or ``--force``), never more workers than the options allow pages, and a pool of the right
size when the planned pages need more.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from amtools.render.notebooks import runner
from amtools.render.notebooks.config import RunConfig

pytestmark = [pytest.mark.notebook, pytest.mark.skipif(sys.platform != "linux", reason="Linux")]


def _kernels() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ipykernel" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="module")
def dataset():
    from amtools.demo import make_demo

    return make_demo(seed=3, n_managers=2, years=1, scale=0.2, end="2026-11-26")


def test_kernels_warm_up_while_the_data_loads(dataset, tmp_path, monkeypatch) -> None:
    seen: dict[str, int] = {}
    load = runner.load_source

    def slow_load(source, mapping=None):
        # A slow source: wait (up to 60 s) for report kernels to appear while it "loads".
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_kernels()) < 2:
            time.sleep(0.2)
        seen["kernels"] = len(_kernels())
        return load(source, mapping)

    monkeypatch.setattr(runner, "load_source", slow_load)
    result = runner.run(
        dataset,
        out=tmp_path / "out",
        reports=["team_review", "manager_review"],
        workers=2,
        progress=False,
        forecast_horizon=0,
    )
    assert result.ok, [r.error for r in result.failed]
    assert seen["kernels"] == 2
    assert not (result.folder.parent / "kernels.log").exists()
    assert not list(Path(tmp_path).glob("**/amtools-kernels-*"))


def test_when_kernels_start_early(tmp_path, monkeypatch) -> None:
    started: list[int] = []

    class Pool:
        def __init__(self, workers, *, cwd, log_dir) -> None:
            self.workers, self.log_dir = workers, Path(log_dir)

        def start(self):
            started.append(self.workers)
            return self

    monkeypatch.setattr(runner, "KernelPool", Pool)
    monkeypatch.delenv("AMTOOLS_SCHEDULER", raising=False)
    out = tmp_path / "out"

    def early(**kw):
        pool = runner._early_pool(RunConfig(**{"workers": 2, **kw}), out)
        return None if pool is None else pool.workers

    assert early() == 2
    assert early(workers=0) is None
    assert early(scheduler="tcp://127.0.0.1:8786") is None
    assert early(reports=["forecast"]) == 1  # one page: one kernel
    assert early(reports=["manager_review"], managers=["M001"]) == 1
    assert early(reports=["team_review", "manager_review"], managers=["M001", "M002"]) == 2
    # A published pack in out: a rerun may reuse every page, so no kernel before it knows.
    (out / "2026Q3").mkdir(parents=True)
    (out / "2026Q3" / "_manifest.json").write_text("{}")
    assert early() is None
    assert early(force=True) == 2
    assert started == [2, 1, 1, 2, 2]
