"""Where one manager review's time goes: kernel start, warm-up, each cell, export, charts.

Builds the demo run context (``make_demo(n_managers=N)``, no forecast), starts one warm
report kernel as ``amtools run`` does, renders ``--reports`` manager reviews on it (the
first one is reported apart: it pays the first-use costs) and prints

- the kernel start and warm-up (imports) time;
- per report: total, notebook execution, HTML export, and each cell's time (papermill's
  per-cell durations, which include the kernel round trip);
- the kernel's CPU seconds per report (its process, read with psutil: robust to a shared
  machine where wall time is not) and this process's (papermill's client and the export);
- in this process: for each chart of the review, the CPU seconds of building the figure and
  of encoding it (layout, drawing, PNG) — the chart functions as the cells call them.

Run it against any tree (``PYTHONPATH=<tree>``) to compare before and after::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/profile_review.py --reports 8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import psutil

ROOT = Path(__file__).resolve().parents[1]


def _context(n_managers: int, folder: Path) -> tuple[Path, list[str]]:
    from amtools.demo import make_demo
    from amtools.render.notebooks.context import build_context, save_context

    started = time.perf_counter()
    ctx = build_context(make_demo(seed=0, n_managers=n_managers), forecast_horizon=0)
    save_context(ctx, folder)
    print(f"context: {time.perf_counter() - started:.2f} s (build + save)")
    return folder, ctx.managers["manager_id"].astype(str).tolist()


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def _kernel_reports(context: Path, ids: list[str], out: Path) -> list[dict[str, object]]:
    import pandas as pd

    from amtools.core.settings import read_params
    from amtools.render.export import ReportHeader, html_exporter
    from amtools.render.notebooks.jobs import Job, execute_job
    from amtools.render.notebooks.kernels import WarmKernel

    started = time.perf_counter()
    kernel = WarmKernel(cwd=ROOT / "notebooks").start()
    print(f"kernel start + warm-up imports: {time.perf_counter() - started:.2f} s")
    kernel_proc = psutil.Process(kernel.pid)
    html_exporter()
    params = read_params("reports/manager_review")
    rows = []
    try:
        for i, manager in enumerate(ids):
            values = {**params, "context": str(context), "period": "", "lang": "en"}
            values.update(lang="ru" if i % 2 else "en", manager_id=manager)
            job = Job(
                name=f"manager_review/{manager}",
                kind="manager_review",
                entity=manager,
                notebook=ROOT / "notebooks" / "manager_review.ipynb",
                parameters=values,
                header=ReportHeader(
                    title=manager,
                    lang=str(values["lang"]),
                    period="2026Q3",
                    source="demo",
                    generated_at=pd.Timestamp.now(tz="UTC"),
                    fingerprint="f",
                    version="v",
                ),
                html_path=out / f"mr-{manager}.html",
                ipynb_path=out / f"mr-{manager}.ipynb",
            )
            if hasattr(job, "keep_notebook"):
                job.keep_notebook = True  # read back the per-cell durations
            kernel_cpu = _cpu_seconds(kernel_proc)
            own_cpu = time.process_time()
            res = execute_job(kernel, job, timeout=600)
            kernel_cpu = _cpu_seconds(kernel_proc) - kernel_cpu
            own_cpu = time.process_time() - own_cpu
            if not res.ok:
                raise SystemExit(f"{job.name} failed: {res.error}")
            nb = nbformat.read(job.ipynb_path, 4)
            cells = [
                float(c.metadata.get("papermill", {}).get("duration") or 0.0)
                for c in nb.cells
                if c.cell_type == "code"
            ]
            rows.append(
                {
                    "total": res.seconds,
                    "kernel_cpu": kernel_cpu,
                    "worker_cpu": own_cpu,
                    "execute": res.extra["execute_s"],
                    "export": res.extra["export_s"],
                    "cells": cells,
                    "html_kb": job.html_path.stat().st_size / 1024,
                }
            )
    finally:
        kernel.shutdown()
    return rows


def _chart_calls(ctx: Any, manager: str, lang: str) -> dict[str, Callable[[], Any]]:
    """The review's four charts for ``manager``, built as its cells build them."""
    from amtools.kpi import views
    from amtools.render.sections import manager_review as page

    card = ctx.scorecard[ctx.scorecard["manager_id"] == manager]
    now = card[card["period"] == ctx.period]
    segment = ctx.managers.loc[ctx.managers["manager_id"] == manager, "segment"].iloc[0]
    peers = ctx.scores.loc[(ctx.scores["segment"] == segment) & ctx.scores["ranked"]]
    own = ctx.scores[ctx.scores["manager_id"] == manager]
    trend = views.manager_trend_frame(ctx.scorecard, manager, ctx.period, periods=8)
    return {
        "score_contributions": lambda: page.score_contributions(now, lang),
        "score_history": lambda: page.score_history(own, lang, peers=peers[["period", "score"]]),
        "kpi_trends": lambda: page.kpi_trends(trend, lang),
        "segment_position": lambda: page.segment_position(now[now["weight"] > 0], lang),
    }


def _charts(context: Path, ids: list[str]) -> dict[str, tuple[float, float]]:
    from amtools.render.charts import figure_html
    from amtools.render.notebooks.context import open_context

    ctx = open_context(str(context))
    times: dict[str, list[tuple[float, float]]] = {}
    for i, manager in enumerate(ids):
        for name, build in _chart_calls(ctx, manager, "ru" if i % 2 else "en").items():
            started = time.process_time()
            fig = build()
            built = time.process_time()
            figure_html(fig)
            times.setdefault(name, []).append((built - started, time.process_time() - built))
    return {
        name: (
            statistics.mean(b for b, _ in v[1:] or v),
            statistics.mean(e for _, e in v[1:] or v),
        )
        for name, v in times.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--managers", type=int, default=30)
    parser.add_argument("--reports", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        context, ids = _context(args.managers, Path(tmp) / "_context")
        ids = ids[: args.reports]
        rows = _kernel_reports(context, ids, Path(tmp))
        charts = _charts(context, ids)
    rest = rows[1:] or rows
    keys = ("total", "execute", "export", "kernel_cpu", "worker_cpu")
    mean = {k: statistics.mean(float(r[k]) for r in rest) for k in keys}  # type: ignore[arg-type]
    cells = [statistics.mean(c) for c in zip(*(r["cells"] for r in rest), strict=True)]  # type: ignore[call-overload]
    print(
        f"first report: {rows[0]['total']:.2f} s; then per report (mean of {len(rest)}): "
        f"{mean['total']:.2f} s = execute {mean['execute']:.2f} s + export {mean['export']:.2f} s"
        f" (+ writes); HTML {statistics.mean(float(r['html_kb']) for r in rest):.0f} KB"  # type: ignore[arg-type]
    )
    print(
        f"CPU per report (mean of {len(rest)}): kernel {mean['kernel_cpu']:.2f} s "
        f"(execution), worker {mean['worker_cpu']:.2f} s (papermill + export)"
    )
    print("cells (s): " + ", ".join(f"{c:.3f}" for c in cells))
    for name, (build, encode) in charts.items():
        print(f"chart {name}: CPU build {build:.3f} s, layout+draw+PNG {encode:.3f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"reports": rows, "charts": charts, "mean": mean, "cells": cells}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
