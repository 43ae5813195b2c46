"""The pack on a real Dask cluster: a scheduler and two workers started here on 127.0.0.1.

The same pages and the same failure listing as a local run, no kernel left on a worker after
the run, a lost worker retried once then listed, ``--scheduler local``, and no stray process
when the cluster is gone.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytest.importorskip("distributed")

from dask_helpers import ROOT, cluster_fixture, free_port, kernels, wait_gone  # noqa: E402

from amtools.core.dataset import Dataset  # noqa: E402
from amtools.render.notebooks.kinds import REPORTS, ReportKind, register_report  # noqa: E402
from amtools.render.notebooks.runner import run  # noqa: E402

pytestmark = [pytest.mark.notebook, pytest.mark.skipif(sys.platform != "linux", reason="Linux")]

PARAMS = (
    'context: str = ""  # run context\nperiod: str = ""  # period\nlang: str = "en"  # language\n'
)
OPEN = (
    "from amtools.render.notebooks import open_context\n"
    "ctx = open_context(context, period=period, lang=lang)\n"
    "print(ctx.period)"
)
BOOM = 'raise ValueError("fails on purpose")'
KILL = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)  # the kernel's worker"


def _notebook(path: Path, *cells: str) -> None:
    nb = new_notebook()
    first = new_code_cell(PARAMS)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from cluster_fixture(tmp_path_factory.mktemp("dask"))


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    from amtools.demo import make_demo

    return make_demo(seed=5, n_managers=2, years=1, scale=0.2, end="2026-11-26")


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nb")
    for name in ("team_review.ipynb", "manager_review.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, folder / name)
    _notebook(folder / "dask_boom.ipynb", OPEN, BOOM)
    _notebook(folder / "dask_kill.ipynb", OPEN, KILL)
    register_report(ReportKind("dask_boom", "dask_boom.ipynb", "report.forecast.title"))
    register_report(ReportKind("dask_kill", "dask_kill.ipynb", "report.budget.title"))
    yield folder
    REPORTS.pop("dask_boom", None)
    REPORTS.pop("dask_kill", None)


REPORT_KINDS = ["team_review", "manager_review", "dask_boom"]


def _run(dataset, notebooks, out, **kw):
    options = dict(
        reports=REPORT_KINDS,
        notebooks_dir=notebooks,
        out=out,
        workers=2,
        progress=False,
        forecast_horizon=0,
    )
    options.update(kw)
    return run(dataset, **options)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


_TIMES = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?( ?UTC|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b"), "<clock>"),  # "Dec 1, 2026 17:52 UTC"
    (re.compile(r"\d+[.,]\d+\s?(s|с)\b"), "<seconds>"),
]


def _page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    text = "\n".join(parser.parts)
    for pattern, repl in _TIMES:
        text = pattern.sub(repl, text)
    return text


def _pages(folder: Path) -> dict[str, str]:
    pages = {p.name: _page_text(p) for p in sorted(folder.glob("*.html"))}
    if "index.html" in pages:  # its table of reports gives each one's seconds
        pages["index.html"] = re.sub(r"(?m)^\d+\.\d$", "<seconds>", pages["index.html"])
    return pages


def _listing(result) -> list[tuple]:
    return [
        (r.name, r.kind, r.entity, r.title, r.ok, r.error, r.cell_index, r.cell_source,
         None if r.html_path is None else r.html_path.name)
        for r in result.results
    ]  # fmt: skip


@pytest.fixture(scope="module")
def local_run(dataset, notebooks, tmp_path_factory):
    return _run(dataset, notebooks, tmp_path_factory.mktemp("local") / "out", scheduler="")


def test_the_cluster_renders_the_same_pack_as_a_local_run(
    cluster, dataset, notebooks, local_run, tmp_path
) -> None:
    remote = _run(dataset, notebooks, tmp_path / "out", scheduler=cluster.address)
    assert _listing(remote) == _listing(local_run)
    boom = next(r for r in remote.results if r.kind == "dask_boom")
    assert not boom.ok and boom.error == "ValueError: fails on purpose", boom
    assert boom.cell_source == BOOM and boom.cell_index is not None
    assert [r.name for r in remote.results if r.ok] == [
        "team_review", "manager_review/M001", "manager_review/M002",
    ]  # fmt: skip
    workers = {r.extra.get("worker") for r in remote.results if r.ok}
    assert all(w and w.startswith("tcp://127.0.0.1:") for w in workers), workers
    assert _pages(remote.folder) == _pages(local_run.folder)
    executed = sorted(p.name for p in (remote.folder / "_executed").glob("*.ipynb"))
    assert executed == sorted(p.name for p in (local_run.folder / "_executed").glob("*.ipynb"))
    # No worker wrote into the out folder, and nothing is left staged beside the pack.
    assert [p.name for p in (tmp_path / "out").iterdir() if p.is_dir()] == [remote.period]
    # The run unregistered its plugin: the workers keep no kernel after it.
    deadline = time.monotonic() + 20
    while kernels(cluster.tops) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernels(cluster.tops), kernels(cluster.tops)
    assert len(cluster.tops) == 3, cluster.logs()


@pytest.fixture
def scattered(monkeypatch) -> list:
    """What the run scatters to the workers (every ``Client.scatter`` call's data)."""
    from distributed import Client

    sent: list = []
    scatter = Client.scatter

    def spy(self, data, *args, **kwargs):
        sent.append(data)
        return scatter(self, data, *args, **kwargs)

    monkeypatch.setattr(Client, "scatter", spy)
    return sent


def test_the_default_run_scatters_the_context_once(
    cluster, dataset, notebooks, scattered, tmp_path
):
    from amtools.render.notebooks.cluster import Bundle

    _run(dataset, notebooks, tmp_path / "out", scheduler=cluster.address, reports=["team_review"])
    assert [type(b) for b in scattered] == [Bundle], scattered


def test_shared_paths_render_the_same_pack_and_scatter_nothing(
    cluster, dataset, notebooks, local_run, scattered, tmp_path, monkeypatch
) -> None:
    # The workers here see the client's disk: with AMTOOLS_DASK_SHARED=1 they read the run
    # context in the out folder's staging path and the notebooks where the client has them.
    monkeypatch.setenv("AMTOOLS_DASK_SHARED", "1")
    remote = _run(dataset, notebooks, tmp_path / "out", scheduler=cluster.address)
    assert scattered == [], "shared paths: nothing is sent to the workers"
    assert _listing(remote) == _listing(local_run)
    workers = {r.extra.get("worker") for r in remote.results if r.ok}
    assert all(w and w.startswith("tcp://127.0.0.1:") for w in workers), workers
    assert _pages(remote.folder) == _pages(local_run.folder)
    assert [p.name for p in (tmp_path / "out").iterdir() if p.is_dir()] == [remote.period]


def test_shared_paths_given_relative_to_the_client_reach_the_workers(
    cluster, dataset, notebooks, local_run, scattered, tmp_path, monkeypatch
) -> None:
    # `amtools run --out reports --notebooks-dir notebooks` from the client's folder: a
    # worker runs elsewhere (its own working directory), so relative paths must not reach it.
    monkeypatch.setenv("AMTOOLS_DASK_SHARED", "1")
    folder = tmp_path / "client"
    folder.mkdir()
    shutil.copytree(notebooks, folder / "nb")
    monkeypatch.chdir(folder)
    remote = _run(
        dataset, Path("nb"), Path("out"), scheduler=cluster.address,
        reports=["team_review", "dask_boom"],
    )  # fmt: skip
    assert scattered == []
    assert [(r.name, r.ok, r.error) for r in remote.results] == [
        ("team_review", True, None), ("dask_boom", False, "ValueError: fails on purpose"),
    ]  # fmt: skip
    assert _pages(remote.folder)["team_review.html"] == _pages(local_run.folder)["team_review.html"]


def test_a_lost_worker_is_retried_once_then_listed(cluster, dataset, notebooks, tmp_path) -> None:
    cluster.remember()
    result = _run(
        dataset, notebooks, tmp_path / "out", scheduler=cluster.address, reports=["dask_kill"]
    )
    (res,) = result.results
    assert not res.ok
    assert res.error.startswith("report worker lost twice while rendering it"), res.error
    assert res.html_path is None
    # Both workers died (the nannies restart them); the killed workers' kernels are gone.
    cluster.wait_for_workers(2)
    assert not kernels(cluster.tops), kernels(cluster.tops)


def test_scheduler_local_starts_and_stops_a_local_cluster(
    dataset, notebooks, local_run, tmp_path
) -> None:
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    remote = _run(
        dataset,
        notebooks,
        tmp_path / "out",
        scheduler="local",
        reports=["team_review", "dask_boom"],
    )
    assert [(r.name, r.ok) for r in remote.results] == [("team_review", True), ("dask_boom", False)]
    assert _pages(remote.folder)["team_review.html"] == _pages(local_run.folder)["team_review.html"]
    left = [p for p in me.children(recursive=True) if p.pid not in before]
    assert not wait_gone(left, 20), "the local cluster left processes behind"


def test_an_unreachable_scheduler_is_one_clear_error(
    dataset, notebooks, tmp_path, monkeypatch
) -> None:
    from amtools.core.errors import ReportError
    from amtools.render.notebooks import cluster as cluster_module

    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 2.0)
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ReportError, match="cannot reach the Dask scheduler at tcp://127"):
        _run(dataset, notebooks, tmp_path / "out", scheduler=address)
    assert not list((tmp_path / "out").glob("20*")), "nothing is published"


def test_the_flag_and_the_environment_choose_the_pool(tmp_path, monkeypatch) -> None:
    from amtools.cli import build_parser, run_config
    from amtools.render.notebooks.cluster import DaskPool
    from amtools.render.notebooks.config import RunConfig
    from amtools.render.notebooks.pool import KernelPool
    from amtools.render.notebooks.runner import _pool

    args = build_parser().parse_args(["run", "--scheduler", "tcp://127.0.0.1:8786"])
    assert run_config(args).scheduler == "tcp://127.0.0.1:8786"
    assert run_config(build_parser().parse_args(["run"])).scheduler is None
    monkeypatch.setenv("AMTOOLS_SCHEDULER", "tcp://10.1.2.3:8786")
    pool = _pool(RunConfig(), 2, tmp_path)  # not started: nothing connects
    assert isinstance(pool, DaskPool) and pool.scheduler == "tcp://10.1.2.3:8786"
    assert pool.root == tmp_path and not pool.shared
    assert isinstance(_pool(RunConfig(scheduler=""), 2, tmp_path), KernelPool)
    monkeypatch.delenv("AMTOOLS_SCHEDULER")
    assert isinstance(_pool(RunConfig(), 2, tmp_path), KernelPool)
    local = _pool(RunConfig(scheduler="local"), 0, tmp_path)
    assert isinstance(local, DaskPool) and local.workers == 1


def test_the_bundle_holds_the_context_whole_and_refuses_paths_out(tmp_path) -> None:
    from amtools.core.errors import ReportError
    from amtools.render.export import ReportHeader
    from amtools.render.notebooks.cluster import Bundle, _inside
    from amtools.render.notebooks.jobs import Job

    ctx = tmp_path / "_context"
    (ctx / "managers").mkdir(parents=True)
    (ctx / "meta.json").write_text("{}")
    (ctx / "managers" / "M1.bin").write_bytes(b"x" * 10)
    nb = tmp_path / "r.ipynb"
    nb.write_text("{}")
    header = ReportHeader(
        "t", "en", "2026Q3", "demo", pd.Timestamp("2026-12-01", tz="UTC"), "f", "0"
    )
    job = Job(
        "r", "r", None, nb, {"context": str(ctx)}, header, tmp_path / "r.html", tmp_path / "r.ipynb"
    )
    bundle = Bundle.of([job, job])
    assert sorted(bundle.files) == [
        "context0/managers/M1.bin",
        "context0/meta.json",
        "notebooks0/r.ipynb",
    ]
    assert bundle.paths == {str(ctx): "context0", str(nb): "notebooks0/r.ipynb"}
    assert Bundle.of([job]).digest == bundle.digest
    for bad in ("../x", "/etc/passwd", "a/../../x", ""):
        with pytest.raises(ReportError):
            _inside(tmp_path, bad)
