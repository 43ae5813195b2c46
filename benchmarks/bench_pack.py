"""Benchmark: render a quarterly pack with `amtools run` vs. the naive papermill + nbconvert loop.

For each pack size (managers) the script

1. builds the demo data (``make_demo(n_managers=N)``) and saves it as DuckDB;
2. times ``amtools run --source <db> --reports team_review,manager_review`` (a subprocess:
   load + validate, run context with every KPI computed once, warm kernels in parallel,
   HTML, index);
3. times the naive way over the same notebooks and the context step 2 saved: a shell loop
   running ``papermill`` then ``jupyter nbconvert --to html --no-input`` for every report
   (a fresh Python, kernel and imports each time);

and writes the figures to ``--results`` (default ``benchmarks/_work/results_pack.md``; the
committed ``benchmarks/results_pack.md`` is written from such runs by hand, with the
reading of the figures). With ``--naive-limit K`` the naive loop renders the team review
plus the first K-1 manager reviews only and the loop time is extrapolated linearly per
report (stated in the results); ``--naive-limit 0`` skips it (the scale runs).

While ``amtools run`` runs, its process tree is sampled every 0.1 s (psutil): the peak of
the summed resident set size of the run (main process, report workers, kernels — shared
pages count once per process, so this is an upper bound) and the peak of the largest
kernel; after it, the size of the output folder (and of its ``_context``).

Usage::

    .venv/bin/python benchmarks/bench_pack.py --managers 30 --workers 2
    .venv/bin/python benchmarks/bench_pack.py --managers 100 --workers 2 --naive-limit 15
    .venv/bin/python benchmarks/bench_pack.py --managers 200 500 --workers 2 --naive-limit 0
    .venv/bin/python benchmarks/bench_pack.py --managers 500 --naive-limit 0 --render-managers 40
    .venv/bin/python benchmarks/bench_pack.py --managers 6 --naive-limit 3   # quick check
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
BIN = Path(sys.executable).parent


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _run(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return time.perf_counter() - started, done.stdout


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _run_sampled(cmd: list[str]) -> tuple[float, str, dict[str, float]]:
    """Run ``cmd``; sample its process tree's memory every 0.1 s while it runs."""
    peak = {"tree_mb": 0.0, "kernel_mb": 0.0, "main_mb": 0.0}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0.0
            for p in procs:
                try:
                    rss = p.memory_info().rss / 2**20
                    kernel = p is not root and "ipykernel" in " ".join(p.cmdline())
                except psutil.Error:
                    continue
                total += rss
                if kernel:
                    peak["kernel_mb"] = max(peak["kernel_mb"], rss)
                elif p is root:
                    peak["main_mb"] = max(peak["main_mb"], rss)
            peak["tree_mb"] = max(peak["tree_mb"], total)
            done.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, _ = proc.communicate()
    done.set()
    thread.join()
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out)
    return time.perf_counter() - started, out, peak


def _naive_script(reports: list[tuple[str, str, dict[str, str]]], out: Path) -> str:
    lines = ["set -e"]
    for notebook, stem, params in reports:
        nb_out = out / f"{stem}.ipynb"
        flags = " ".join(f"-p {k} {shlex.quote(v)}" for k, v in params.items())
        lines.append(
            f"{BIN / 'papermill'} {shlex.quote(str(notebook))} {shlex.quote(str(nb_out))} {flags} "
            "--no-progress-bar --log-level ERROR"
        )
        lines.append(
            f"{BIN / 'jupyter'} nbconvert --to html --no-input --log-level ERROR {shlex.quote(str(nb_out))}"
        )
    return "\n".join(lines) + "\n"


def bench(
    n_managers: int, workers: int, naive_limit: int | None, render: int | None = None
) -> dict[str, object]:
    from amtools.core.settings import read_params
    from amtools.demo import make_demo
    from amtools.loading import save_duckdb

    work = WORK / f"pack_{n_managers}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ds = make_demo(seed=0, n_managers=n_managers)
    db = save_duckdb(ds, work / "demo.duckdb")
    ids = ds.managers["manager_id"].astype(str).tolist()

    run_cmd = [
        str(BIN / "amtools"), "run", "--source", str(db), "--reports", "team_review,manager_review",
        "--workers", str(workers), "--out", str(work / "run"), "--no-progress",
    ]  # fmt: skip
    if render is not None:  # the whole data and context, the reviews of the first managers only
        run_cmd += ["--managers", *ids[:render]]
        ids = ids[:render]
    run_s, run_out, peak = _run_sampled(run_cmd)
    phases = next((line for line in run_out.splitlines() if "reports rendered" in line), "")
    period = next(p.name for p in (work / "run").iterdir() if p.is_dir())
    context = work / "run" / period / "_context"
    sizes = {
        "out_mb": _tree_size(work / "run" / period) / 2**20,
        "context_mb": _tree_size(context) / 2**20,
    }

    common = {"context": str(context), "period": period, "lang": "en"}
    team_params = {k: str(v) for k, v in read_params("reports/team_review").items()}
    manager_params = {k: str(v) for k, v in read_params("reports/manager_review").items()}
    reports = [(ROOT / "notebooks" / "team_review.ipynb", "team_review", {**common, **team_params})]
    reports += [
        (
            ROOT / "notebooks" / "manager_review.ipynb",
            f"manager_review-{m}",
            {**common, **manager_params, "manager_id": m},
        )
        for m in ids
    ]
    total_reports = len(reports)
    sample = reports[: total_reports if naive_limit is None else naive_limit]
    naive_out = work / "naive"
    naive_out.mkdir()
    script = work / "naive.sh"
    script.write_text(_naive_script(sample, naive_out))
    naive_sample_s = naive_s = float("nan")
    if sample:
        naive_sample_s, _ = _run(["bash", str(script)])
        naive_s = naive_sample_s / len(sample) * total_reports
    return {
        **peak,
        **sizes,
        "managers": n_managers,
        "reports": total_reports,
        "run_s": run_s,
        "naive_s": naive_s,
        "naive_measured": len(sample),
        "naive_sample_s": naive_sample_s,
        "speedup": naive_s / run_s,
        "run_cmd": " ".join(shlex.quote(c) for c in run_cmd),
        "phases": phases,
        "naive_example": script.read_text().splitlines()[1:3],
    }


def write_results(rows: list[dict[str, object]], args: argparse.Namespace, load: str) -> Path:
    lines = [
        "# Pack rendering benchmark: `amtools run` vs. a papermill + nbconvert loop",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.node()}, {_cpu_model()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"- load average at start: {load}",
        f"- command: `.venv/bin/python benchmarks/bench_pack.py {' '.join(sys.argv[1:])}`",
        f"- workers: {args.workers}",
        "",
        "Reports: the company team review plus one manager review per manager (demo data,",
        "`make_demo(n_managers=N)`). `amtools run` time is end to end (load + validate, run",
        "context with all KPIs/scores computed once, warm kernels, HTML, index); the naive loop",
        "renders the same notebooks with the context that run saved (so it is given the KPI",
        "work for free) — one `papermill` and one `jupyter nbconvert --to html --no-input` per report.",
        "",
        "| managers | reports | amtools run (s) | naive loop (s) | speed-up | naive reports measured "
        "| peak RSS, run (MB) | peak RSS, largest kernel (MB) | peak RSS, main (MB) "
        "| output (MB) | of it _context (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        measured = f"{r['naive_measured']} of {r['reports']}"
        if r["naive_measured"] and r["naive_measured"] != r["reports"]:
            measured += f" ({r['naive_sample_s']:.1f} s, extrapolated per report)"
        lines.append(
            f"| {r['managers']} | {r['reports']} | {r['run_s']:.1f} | {r['naive_s']:.1f} | "
            f"{r['speedup']:.1f}x | {measured} | {r['tree_mb']:.0f} | {r['kernel_mb']:.0f} | "
            f"{r['main_mb']:.0f} | {r['out_mb']:.1f} | {r['context_mb']:.1f} |"
        )
    lines += ["", "`amtools run` phases as it reported them:", ""]
    lines += [f"- {r['managers']} managers: {r['phases']}" for r in rows]
    lines += ["", "Commands of the last size:", "", "```", str(rows[-1]["run_cmd"])]
    lines += [str(x) for x in rows[-1]["naive_example"]]  # type: ignore[union-attr]
    lines += ["```", ""]
    path = Path(args.results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--managers", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--naive-limit",
        type=int,
        default=None,
        help="render only this many reports naively and extrapolate (0: no naive loop)",
    )
    parser.add_argument("--results", type=Path, default=WORK / "results_pack.md")
    parser.add_argument(
        "--render-managers",
        type=int,
        default=None,
        help="render the reviews of the first K managers only (the data, context and kernels "
        "are those of the whole company: for memory at scale on a busy machine)",
    )
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for n in args.managers:
        row = bench(n, args.workers, args.naive_limit, args.render_managers)
        print(
            f"{n} managers: amtools run {row['run_s']:.1f} s, naive {row['naive_s']:.1f} s "
            f"-> {row['speedup']:.1f}x",
            flush=True,
        )
        rows.append(row)
    print(write_results(rows, args, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
