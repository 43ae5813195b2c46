"""Benchmark: render a quarterly pack with `amtools run` vs. the naive papermill + nbconvert loop.

For each pack size (managers) the script

1. builds the demo data (``make_demo(n_managers=N)``) and saves it as DuckDB;
2. times ``amtools run --source <db> --reports team_review,manager_review`` (a subprocess:
   load + validate, run context with every KPI computed once, warm kernels in parallel,
   HTML, index);
3. times the naive way over the same pages and the context step 2 saved: for every page
   ``amtools run`` rendered (the company team review, the per-team reviews it renders
   automatically above ``per_team_above`` managers, one review per manager) ``papermill``
   with that page's own parameters (the jobs ``amtools`` plans, :func:`plan_jobs`, passed
   as YAML, so the types are kept) then ``jupyter nbconvert --to html --no-input`` (a fresh
   Python, kernel and imports each time); the script checks that the two sides render the
   same set of pages;

and writes the figures to ``--results`` (default ``benchmarks/_work/results_pack.md``; the
committed ``benchmarks/results_pack.md`` is written from such runs by hand, with the
reading of the figures). With ``--naive-limit K`` the naive loop renders K pages only: the
company review, then per-team and manager reviews in proportion to their numbers (at least
one of each kind the run has), and the loop time is extrapolated per page of each kind
(stated in the results); ``--naive-limit 0`` skips it (the scale runs). Both sides are
also given in CPU seconds (``getrusage`` of the finished process trees: the run's main
process, workers and kernels; the naive loop's papermill, nbconvert and kernels), which a
shared machine's load disturbs less than wall time.

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
import json
import math
import os
import platform
import resource
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


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished, waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; its wall and CPU seconds (the whole finished process tree)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _run_sampled(cmd: list[str]) -> tuple[float, str, dict[str, float]]:
    """Run ``cmd``; sample its process tree's memory every 0.1 s while it runs (and its CPU
    seconds, ``cpu_s``, once it has finished)."""
    peak = {"tree_mb": 0.0, "kernel_mb": 0.0, "main_mb": 0.0}
    cpu = _children_cpu()
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
    peak["cpu_s"] = _children_cpu() - cpu
    return time.perf_counter() - started, out, peak


Page = tuple[str, Path, str, dict[str, object]]
"""One page of the naive loop: (its kind, the notebook, the file stem, its parameters)."""


def _naive_commands(page: Page, out: Path) -> list[list[str]]:
    """papermill with the page's parameters (as YAML: types kept), then nbconvert."""
    _kind, notebook, stem, params = page
    nb_out = out / f"{stem}.ipynb"
    return [
        [
            str(BIN / "papermill"), str(notebook), str(nb_out), "-y", json.dumps(params),
            "--no-progress-bar", "--log-level", "ERROR",
        ],
        [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", "--log-level", "ERROR",
         str(nb_out)],
    ]  # fmt: skip


def _naive_script(pages: list[Page], out: Path) -> str:
    """The naive loop as a shell script (written beside the results, to rerun by hand)."""
    lines = ["set -e"]
    for page in pages:
        lines += [" ".join(shlex.quote(c) for c in cmd) for cmd in _naive_commands(page, out)]
    return "\n".join(lines) + "\n"


def _pages(ds: object, context: Path, period: str, managers: list[str] | None) -> list[Page]:
    """The pages ``amtools run --reports team_review,manager_review`` renders, with the
    parameters it gives each one: the jobs it plans (one definition of which pages exist)."""
    import pandas as pd

    from amtools.render.notebooks.plan import plan_jobs

    header = {
        "source": "",
        "generated_at": pd.Timestamp.now(tz="UTC"),
        "fingerprint": "",
        "version": "",
    }
    jobs = plan_jobs(
        ds,  # type: ignore[arg-type]
        period,
        reports=["team_review", "manager_review"],
        managers=managers,
        lang="en",
        folder=WORK / "unused",
        context_dir=context,
        notebooks_dir=ROOT / "notebooks",
        header=header,
    )
    pages: list[Page] = []
    for job in jobs:
        kind = (
            job.kind if job.entity is None or job.kind == "manager_review" else "team_review/team"
        )
        pages.append((kind, Path(job.notebook), job.html_path.stem, dict(job.parameters)))
    return pages


def _sample(pages: list[Page], limit: int | None) -> list[Page]:
    """``limit`` pages (all: ``None``): the company review, then the other kinds in proportion
    to their numbers, at least one page of each kind while the limit allows."""
    if limit is None or limit >= len(pages):
        return list(pages)
    kinds: dict[str, list[Page]] = {}
    for page in pages:
        kinds.setdefault(page[0], []).append(page)
    take = dict.fromkeys(kinds, 0)
    left = limit
    for kind in kinds:  # one of each kind first (plan order: the company review first)
        if left > 0:
            take[kind] = 1
            left -= 1
    while left > 0:  # then the kind furthest below its share of the pages
        kind = max(
            (k for k in kinds if take[k] < len(kinds[k])),
            key=lambda k: len(kinds[k]) / len(pages) * limit - take[k],
        )
        take[kind] += 1
        left -= 1
    return [page for kind, group in kinds.items() for page in group[: take[kind]]]


def _naive(pages: list[Page], sample: list[Page], out: Path) -> dict[str, object]:
    """Render ``sample`` the naive way, page by page; extrapolate to ``pages`` per kind."""
    seconds: dict[str, list[tuple[float, float]]] = {}
    for page in sample:
        wall = cpu = 0.0
        for cmd in _naive_commands(page, out):
            w, c = _run(cmd)
            wall, cpu = wall + w, cpu + c
        seconds.setdefault(page[0], []).append((wall, cpu))
    counts: dict[str, int] = {}
    for page in pages:
        counts[page[0]] = counts.get(page[0], 0) + 1
    total = {"naive_s": 0.0, "naive_cpu_s": 0.0}
    for kind, n in counts.items():
        measured = seconds.get(kind)
        if not measured:  # a kind the sample could not include: no extrapolation
            return {"naive_s": math.nan, "naive_cpu_s": math.nan, "naive_kinds": counts}
        total["naive_s"] += sum(w for w, _ in measured) / len(measured) * n
        total["naive_cpu_s"] += sum(c for _, c in measured) / len(measured) * n
    return {
        **total,
        "naive_sample_s": sum(w for v in seconds.values() for w, _ in v),
        "naive_kinds": counts,
        "naive_measured_kinds": {k: len(v) for k, v in seconds.items()},
    }


def bench(
    n_managers: int, workers: int, naive_limit: int | None, render: int | None = None
) -> dict[str, object]:
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
    selected = None
    if render is not None:  # the whole data and context, the reviews of the first managers only
        selected = ids[:render]
        run_cmd += ["--managers", *selected]
    run_s, run_out, peak = _run_sampled(run_cmd)
    phases = next((line for line in run_out.splitlines() if "reports rendered" in line), "")
    period = next(p.name for p in (work / "run").iterdir() if p.is_dir())
    context = work / "run" / period / "_context"
    sizes = {
        "out_mb": _tree_size(work / "run" / period) / 2**20,
        "context_mb": _tree_size(context) / 2**20,
    }
    pages = _pages(ds, context.absolute(), period, selected)
    rendered = {p.stem for p in (work / "run" / period).glob("*.html")} - {"index"}
    if rendered != {page[2] for page in pages}:  # a fair count: the same pages on both sides
        raise SystemExit(
            f"the naive loop's pages differ from the run's: {sorted(rendered ^ {p[2] for p in pages})}"
        )
    sample = _sample(pages, naive_limit)
    naive_out = work / "naive"
    naive_out.mkdir()
    script = work / "naive.sh"
    script.write_text(_naive_script(sample, naive_out))
    naive: dict[str, object] = {
        "naive_s": math.nan,
        "naive_cpu_s": math.nan,
        "naive_sample_s": math.nan,
    }
    if sample:
        naive = _naive(pages, sample, naive_out)
    naive_s = float(naive["naive_s"])  # type: ignore[arg-type]
    naive_cpu = float(naive["naive_cpu_s"])  # type: ignore[arg-type]
    return {
        **peak,
        **sizes,
        **naive,
        "managers": n_managers,
        "reports": len(pages),
        "run_pages": len(rendered),
        "run_s": run_s,
        "naive_measured": len(sample),
        "speedup": naive_s / run_s,
        "cpu_speedup": naive_cpu / peak["cpu_s"],
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
        "Pages: the company team review, the per-team reviews `amtools run` renders above",
        "`per_team_above` managers, one manager review per manager (demo data,",
        "`make_demo(n_managers=N)`). `amtools run` time is end to end (load + validate, run",
        "context with all KPIs/scores computed once, warm kernels, HTML, index); the naive loop",
        "renders the same pages with the same parameters and the context that run saved (so it",
        "is given the KPI work for free) — one `papermill` and one `jupyter nbconvert --to html",
        "--no-input` per page. CPU: user + system seconds of each side's finished process tree.",
        "",
        "| managers | pages, run / naive | amtools run (s) | naive loop (s) | speed-up "
        "| CPU run (s) | CPU naive (s) | CPU ratio | naive pages measured "
        "| peak RSS, run (MB) | peak RSS, largest kernel (MB) | peak RSS, main (MB) "
        "| output (MB) | of it _context (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        measured = f"{r['naive_measured']} of {r['reports']}"
        if r["naive_measured"] and r["naive_measured"] != r["reports"]:
            kinds = ", ".join(
                f"{n} of {r['naive_kinds'][k]} {k}"  # type: ignore[index]
                for k, n in r.get("naive_measured_kinds", {}).items()  # type: ignore[attr-defined]
            )
            measured += (
                f" ({kinds}; {r['naive_sample_s']:.1f} s, extrapolated per page of each kind)"
            )
        lines.append(
            f"| {r['managers']} | {r['run_pages']} / {r['reports']} | {r['run_s']:.1f} | "
            f"{r['naive_s']:.1f} | {r['speedup']:.1f}x | {r['cpu_s']:.1f} | "
            f"{r['naive_cpu_s']:.1f} | {r['cpu_speedup']:.1f}x | {measured} | "
            f"{r['tree_mb']:.0f} | {r['kernel_mb']:.0f} | "
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
        help="render only this many pages naively and extrapolate per page of each kind "
        "(0: no naive loop)",
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
            f"{n} managers: amtools run {row['run_s']:.1f} s ({row['run_pages']} pages), "
            f"naive {row['naive_s']:.1f} s ({row['reports']} pages) -> {row['speedup']:.1f}x; "
            f"CPU {row['cpu_s']:.1f} s vs {row['naive_cpu_s']:.1f} s -> {row['cpu_speedup']:.1f}x",
            flush=True,
        )
        rows.append(row)
    print(write_results(rows, args, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
