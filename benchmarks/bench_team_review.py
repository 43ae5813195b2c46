"""Benchmark: the company team review at 30, 200 and 500 managers, before and after the
team summary (issue 13: the company page took 16.3 s at 200 managers, a 200-row heatmap).

For each size the script builds the demo data once (``amtools demo --managers N``), then runs
``amtools run --source <db> --reports team_review`` back to back (so both see the same load)
with

- ``before``: the amtools tree given by ``--before`` (e.g. an export of the commit before the
  change: ``git archive f06a423 | tar -x -C /tmp/before``), on ``PYTHONPATH``;
- ``after-company``: this tree, with ``per_team_above`` raised in a ``--params`` folder so
  the run renders the company page alone (the per-page cost, like for like);
- ``after``: this tree with the shipped params (above ``per_team_above`` the per-team reviews
  render in the same run).

It reports the seconds of each page as ``amtools run`` printed them (kernel time of the
notebook, export included), the run's phases and the load average before each run, and
writes ``benchmarks/results_team_review.json`` (``--json``).

``--cells`` instead times the company page's notebook cell by cell in one Python process
(no kernel, no export; charts are drawn and encoded as on the page), before and after, on
the run context an earlier run saved in ``--work`` (``out-after-company-<N>/*/_context``):
where a page's time goes.

Usage::

    python benchmarks/bench_team_review.py --before /tmp/before --managers 30 200 500
    python benchmarks/bench_team_review.py --before /tmp/before --managers 200 500 --cells --work W
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\[\d+/\d+\] (\w+)\s+(.+?) \(([\d.]+) s\)$")


def _amtools(tree: Path, args: list[str], *, params: Path | None = None) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "amtools.cli", "run", *args]
    if params is not None:
        cmd += ["--params", str(params)]
    started = time.perf_counter()
    done = subprocess.run(
        cmd, cwd=tree, env=env, check=False, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    # a failed page (e.g. its kernel died) is a result too: recorded, not raised
    return time.perf_counter() - started, done.stdout


def _pages(output: str) -> dict[str, float]:
    pages = {}
    for line in output.splitlines():
        match = LINE.match(line.strip())
        if match and match.group(1) == "ok":
            pages[match.group(2)] = float(match.group(3))
    return pages


def _one(label: str, tree: Path, db: Path, out: Path, workers: int, params: Path | None) -> dict:
    load = os.getloadavg()
    wall, output = _amtools(
        tree,
        ["--source", str(db), "--reports", "team_review", "--out", str(out),
         "--workers", str(workers), "--no-progress"],
        params=params,
    )  # fmt: skip
    pages = _pages(output)
    teams = [s for name, s in pages.items() if name.startswith("team_review/")]
    summary = next((line for line in output.splitlines() if "reports rendered" in line), "")
    failed = [line.strip() for line in output.splitlines() if "] FAILED" in line]
    return {
        "variant": label,
        "load_before": [round(x, 2) for x in load],
        "wall_s": round(wall, 1),
        "company_page_s": pages.get("team_review"),
        "team_pages": len(teams),
        "team_page_median_s": round(statistics.median(teams), 1) if teams else None,
        "summary": summary,
        "failed": failed,
    }


_CELLS = """
import json, os, sys, time
import matplotlib
matplotlib.use("Agg")
import IPython.display
import nbformat
IPython.display.display = lambda *a, **k: None  # the cells' output is not needed, only their work
tree, context = sys.argv[1], sys.argv[2]
cells = [c for c in nbformat.read(os.path.join(tree, "notebooks", "team_review.ipynb"), 4).cells
         if c.cell_type == "code"]
ns = {}
exec(cells[0].source, ns)
ns.update(context=context, lang="en", period="")
times = []
for cell in cells[1:]:
    source = cell.source.replace("from IPython.display import display", "display = IPython.display.display")
    ns["IPython"] = IPython
    started = time.perf_counter()
    exec(source, ns)
    heading = next((line for line in source.splitlines() if "section." in line), source.splitlines()[0])
    times.append([heading.strip()[:80], round(time.perf_counter() - started, 2)])
print(json.dumps(times))
"""


def _cells(tree: Path, context: Path) -> list[list]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", _CELLS, str(tree), str(context)], env=env, cwd=tree,
        check=True, text=True, stdout=subprocess.PIPE,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the amtools tree before")
    parser.add_argument("--managers", type=int, nargs="+", default=[30, 200, 500])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="folder for data and packs")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results_team_review.json"
    )
    parser.add_argument("--cells", action="store_true", help="time the notebook cell by cell")
    args = parser.parse_args(argv)
    if args.cells:
        rows = []
        for n in args.managers:
            context = next((args.work / f"out-after-company-{n}").glob("*/_context"))
            for label, tree in (("before", args.before.resolve()), ("after", ROOT)):
                load = [round(x, 2) for x in os.getloadavg()]
                row = {"managers": n, "variant": label, "load_before": load,
                       "cells": _cells(tree, context)}  # fmt: skip
                print(json.dumps(row, ensure_ascii=False), flush=True)
                rows.append(row)
        args.json.write_text(json.dumps({"cells": rows}, indent=1) + "\n", encoding="utf-8")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-team-review-"))
    work.mkdir(parents=True, exist_ok=True)
    params = work / "params-company-only" / "reports"
    params.mkdir(parents=True, exist_ok=True)
    shipped = (ROOT / "params" / "reports" / "team_review.yaml").read_text(encoding="utf-8")
    company_only = re.sub(r"^per_team_above: \S+", "per_team_above: 1000000", shipped, flags=re.M)
    (params / "team_review.yaml").write_text(company_only, encoding="utf-8")
    rows = []
    for n in args.managers:
        db = work / f"demo{n}.duckdb"
        if not db.is_file():
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            subprocess.run(
                [sys.executable, "-m", "amtools.cli", "demo", "--managers", str(n), "--out", str(db)],
                check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        for label, tree, extra in (
            ("before", args.before.resolve(), None),
            ("after-company", ROOT, params.parent),
            ("after", ROOT, None),
        ):
            row = {
                "managers": n,
                **_one(label, tree, db, work / f"out-{label}-{n}", args.workers, extra),
            }
            print(json.dumps(row, ensure_ascii=False), flush=True)
            rows.append(row)
    result = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cpus": os.cpu_count(),
        "rows": rows,
    }
    args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
