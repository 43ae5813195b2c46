"""Benchmark: a first `amtools run` and a rerun with nothing changed, into the same out folder.

For each pack size (managers) the script builds the demo data (``amtools demo --managers N``),
then times ``amtools run --source <db> --out <folder>`` twice (subprocesses, the default
reports): the first renders every page, the second finds every page's inputs unchanged,
reuses the published pages, reads the saved run context instead of computing it and starts
no report kernel. It writes ``benchmarks/results_rerun.md``.

Usage::

    .venv/bin/python benchmarks/bench_rerun.py --managers 30 --workers 2
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"


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


def _cli(*args: str) -> tuple[float, str, list[str]]:
    cmd = [sys.executable, "-m", "amtools.cli", *args]
    started = time.perf_counter()
    done = subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return time.perf_counter() - started, done.stdout, cmd


def bench(n_managers: int, workers: int) -> dict[str, object]:
    work = WORK / f"rerun_{n_managers}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "demo.duckdb"
    _cli("demo", "--managers", str(n_managers), "--out", str(db))
    args = ["run", "--source", str(db), "--out", str(work / "run"), "--workers", str(workers)]
    args.append("--no-progress")
    row: dict[str, object] = {"managers": n_managers}
    for name in ("first", "rerun"):
        load = _load()
        seconds, out, cmd = _cli(*args)
        summary = next((line for line in out.splitlines() if "reports" in line), "")
        row[name] = {"seconds": seconds, "summary": summary, "load": load}
        row["cmd"] = " ".join(shlex.quote(c) for c in cmd)
    return row


def write_results(rows: list[dict[str, object]], args: argparse.Namespace) -> Path:
    lines = [
        "# Reruns: a first `amtools run` and a rerun with nothing changed",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.node()}, {_cpu_model()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        f"- command: `python benchmarks/bench_rerun.py {' '.join(sys.argv[1:])}`",
        f"- workers: {args.workers}",
        "",
        "Both runs go into the same out folder with the default reports (team review, forecast,",
        "budget, one review per manager) on `amtools demo --managers N`. The rerun reuses every",
        "page (same data fingerprint, parameters, notebooks, amtools version), reads the saved",
        "run context instead of computing it and starts no report kernel; what it still does is",
        "start Python, load and fingerprint the data, check the pages' hashes, write the index",
        "and the budget workbook, and publish. Wall times are whole processes (Python start",
        "included); the machine is shared, so compare the two figures of one row only.",
        "",
        "| managers | first run (s) | rerun, nothing changed (s) | ratio | load average (first; rerun) |",
        "|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        first, rerun = r["first"], r["rerun"]
        assert isinstance(first, dict) and isinstance(rerun, dict)
        lines.append(
            f"| {r['managers']} | {first['seconds']:.1f} | {rerun['seconds']:.1f} | "
            f"{first['seconds'] / rerun['seconds']:.1f}x | {first['load']}; {rerun['load']} |"
        )
    lines += ["", "What `amtools run` printed:", ""]
    for r in rows:
        first, rerun = r["first"], r["rerun"]
        assert isinstance(first, dict) and isinstance(rerun, dict)
        lines += [f"- {r['managers']} managers, first: {first['summary']}"]
        lines += [f"- {r['managers']} managers, rerun: {rerun['summary']}"]
    lines += [
        "",
        "Command of the last size (run twice):",
        "",
        "```",
        str(rows[-1]["cmd"]),
        "```",
        "",
    ]
    path = ROOT / "benchmarks" / "results_rerun.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--managers", type=int, nargs="+", default=[30])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    rows = []
    for n in args.managers:
        row = bench(n, args.workers)
        print(row, flush=True)
        rows.append(row)
    print(write_results(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
