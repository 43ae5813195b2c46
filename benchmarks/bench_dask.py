"""Benchmark: the pack on a local 2-worker Dask cluster vs the local worker processes.

Builds the demo data (``amtools demo --managers N``, a DuckDB file), then times, in turns,

- ``amtools run --source <db> --reports team_review,manager_review --workers W``
- the same with ``--scheduler local`` (a ``LocalCluster`` of W processes, one thread each,
  started and stopped by the run: its start-up is part of the time)

as subprocesses (wall time of the whole command; the phases the run prints are kept) and
writes ``benchmarks/results_dask.md``. The two are run alternately ``--repeat`` times so the
machine's load hits both alike; the load average is recorded before each run.

Usage::

    .venv/bin/python benchmarks/bench_dask.py --managers 30 --workers 2 --repeat 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work" / "dask"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _amtools(*args: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AMTOOLS_SCHEDULER", None)
    cmd = [sys.executable, "-m", "amtools.cli", *args]
    started = time.perf_counter()
    done = subprocess.run(cmd, check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dask-first", action="store_true", help="time the cluster run first")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_dask.md")
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    db = WORK / "demo.duckdb"
    _amtools("demo", "--managers", str(args.managers), "--out", str(db))
    base = ["run", "--source", str(db), "--reports", "team_review,manager_review", "--no-progress"]
    variants = {
        f"`--workers {args.workers}` (local worker processes)": [],
        f"`--scheduler local --workers {args.workers}` (LocalCluster)": ["--scheduler", "local"],
    }
    order = list(variants.items())
    if args.dask_first:
        order.reverse()
    rows = []
    for turn in range(args.repeat):
        for label, extra in order:
            load = _load()
            out = WORK / f"out-{turn}-{len(rows)}"
            seconds, stdout = _amtools(
                *base, "--workers", str(args.workers), "--out", str(out), *extra
            )
            summary = next((line for line in stdout.splitlines() if "reports rendered" in line), "")
            phases = re.search(r"\((.*)\)", summary)
            rows.append((label, seconds, phases.group(1) if phases else "", load))
            print(f"{label}: {seconds:.1f} s ({summary}); load {load}", flush=True)
    command = " ".join(
        ["python benchmarks/bench_dask.py", f"--managers {args.managers}",
         f"--workers {args.workers}", f"--repeat {args.repeat}"]
        + (["--dask-first"] if args.dask_first else [])
    )  # fmt: skip
    lines = [
        "# Dask",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.node()}, {_cpu_model()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        f"- command: `{command}`",
        f"- data: `amtools demo --managers {args.managers}`; reports team_review + manager_review "
        f"({args.managers + 1} pages)",
        "- wall time: the whole `amtools run` subprocess (the LocalCluster's start and stop "
        "included); phases as the run prints them",
        "",
        "| run | wall s | phases | load average (1, 5, 15 min) before |",
        "|---|---:|---|---|",
    ]
    lines += [f"| {label} | {s:.1f} | {phases} | {load} |" for label, s, phases, load in rows]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(args.out)


if __name__ == "__main__":
    main()
