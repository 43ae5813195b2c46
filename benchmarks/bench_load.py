"""Time load + validate of the third-party sample exports with their presets.

Usage::

    .venv/bin/python benchmarks/bench_load.py [DATASETS_FOLDER] [--repeat N] [--write]

DATASETS_FOLDER defaults to ``../shared/datasets`` relative to the repository root.
Prints rows, warnings, errors and seconds per sample; ``--write`` also rewrites
``benchmarks/results_load.md`` with the machine, date, figures, the command and the
warnings ``validate`` reports. Also checks the Superstore total (sum of deal amounts
must equal the file's total Sales, 2,297,200.86).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from amtools.core.errors import DataValidationError  # noqa: E402
from amtools.loading import load  # noqa: E402
from amtools.validate import format_problems, validate  # noqa: E402

SAMPLES = {
    "crm_sales_opportunities": "maven_crm",
    "superstore": "superstore",
}
SUPERSTORE_TOTAL = 2_297_200.86
LOADAVG = os.getloadavg()


def run_one(folder: Path, mapping: str, repeat: int) -> dict:
    """Load + validate ``folder`` ``repeat`` times; return timings and the last result."""
    timings = []
    problems: list = []
    ds = None
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            ds = load(folder, mapping=mapping, validate=False)
            problems = list(ds.meta["problems"]) + validate(ds)
        except DataValidationError as exc:  # pragma: no cover - reported, not raised
            problems = list(exc.problems)
        timings.append(time.perf_counter() - started)
    rows = {name: len(df) for name, df in ds.tables.items()} if ds is not None else {}
    result = {
        "sample": folder.name,
        "mapping": mapping,
        "rows": rows,
        "errors": sum(p.severity == "error" for p in problems),
        "warnings": sum(p.severity == "warning" for p in problems),
        "median_s": statistics.median(timings),
        "min_s": min(timings),
        "report": format_problems(problems),
        "check": "",
    }
    if mapping == "superstore" and ds is not None:
        total = float(ds.deals["amount"].sum())
        ok = abs(total - SUPERSTORE_TOTAL) < 0.005
        result["check"] = f"sum of deal amounts = {total:,.2f} ({'OK' if ok else 'MISMATCH'})"
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs (nproc), "
        f"Python {platform.python_version()}"
    )


def write_results(results: list[dict], command: str, path: Path) -> None:
    import duckdb
    import pandas as pd
    import pandera

    lines = [
        "# Load + validate benchmark",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine()}",
        f"- Load average (1 min) while running: {LOADAVG[0]:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (other jobs share the 2 cores)",
        f"- Libraries: pandas {pd.__version__}, pandera {pandera.__version__}, "
        f"duckdb {duckdb.__version__}",
        f"- Command: `{command}`",
        "- What is timed: `load(folder, mapping=<preset>, validate=False)` + `validate(ds)` "
        "(reading the CSVs, mapping, dtype coercion, all checks), in one warm process "
        "(imports excluded); median of the repeats.",
        "",
        "| sample | preset | rows loaded | errors | warnings | median s | min s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items())
        lines.append(
            f"| {r['sample']} | {r['mapping']} | {rows} | {r['errors']} | {r['warnings']} | "
            f"{r['median_s']:.2f} | {r['min_s']:.2f} |"
        )
    lines.append("")
    for r in results:
        if r["check"]:
            lines += [
                f"Superstore check: {r['check']} — the file's total Sales is 2,297,200.86.",
                "",
            ]
    lines += [
        "Timings are wall clock on 2 cores; a load average well above 1 means other jobs shared "
        "the machine and the absolute figures are inflated.",
        "",
        "## What `validate` reports",
        "",
    ]
    for r in results:
        lines += [f"### {r['sample']} (`{r['mapping']}`)", "", "```text", r["report"], "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "datasets",
        nargs="?",
        type=Path,
        default=REPO.parent / "shared" / "datasets",
        help="folder holding crm_sales_opportunities/ and superstore/",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per sample")
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/results_load.md")
    args = parser.parse_args(argv)
    results = []
    for sample, mapping in SAMPLES.items():
        folder = args.datasets / sample
        if not folder.is_dir():
            print(f"skip {sample}: {folder} not found")
            continue
        run_one(folder, mapping, 1)  # warm-up: imports, caches
        r = run_one(folder, mapping, args.repeat)
        results.append(r)
        rows = sum(r["rows"].values())
        print(
            f"{sample:26s} {mapping:11s} rows={rows:6,d} errors={r['errors']} "
            f"warnings={r['warnings']} median={r['median_s']:.2f}s min={r['min_s']:.2f}s"
            + (f"  {r['check']}" if r["check"] else "")
        )
    if args.write and results:
        command = "python benchmarks/bench_load.py " + " ".join(
            a for a in (argv if argv is not None else sys.argv[1:])
        )
        write_results(results, command.strip(), REPO / "benchmarks" / "results_load.md")
        print(f"wrote {REPO / 'benchmarks' / 'results_load.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
