"""Benchmark of amtools.kpi.computation: all KPIs, 500 managers x 12 quarters, 1M and 10M deals.

How the data is scaled (documented in benchmarks/results_kpi.md):

1. ``make_demo(seed=0, n_managers=500, years=3, end=END)`` builds the base (about 0.57M
   deals, 3M activities, 0.25M clients; 12 complete quarters ending at ``END``).
2. The deals table is tiled to exactly ``--deals`` rows: copy 0 is the original; every
   further copy gets new ids ``X<copy>-<deal_id>``, amounts multiplied by U(0.8, 1.2), and
   created/closed dates shifted together by a random -30..+30 days (a shift that would move
   the close date outside the 12-quarter window is dropped for that row). Clients, managers
   and stages are kept, so conversion, cross-sales and client KPIs see the same structure
   with more volume per client.
3. The other event tables (activities, requests, surveys, proposals, ...) are scaled by the
   same factor when ``--tile-events`` is given; by default they stay at the base size
   (about 4M event rows in total), so the figures isolate the growth with the deal count.

Each size runs in a fresh subprocess; the timed region is one ``compute(ds, freq="Q")``
call (every KPI, manager level). Peak memory is the process's peak resident set size
(VmHWM from /proc/self/status) reset just before the timed call, so it measures what
compute adds on top of the loaded dataset (the dataset's own RSS is reported separately).
In the same run a single DuckDB SQL query computes sales volume, won-deal count, average
check and win rate per manager per quarter over the same in-memory deals frame: the speed
floor for the simplest KPIs.

Usage::

    .venv/bin/python benchmarks/bench_kpi.py                    # 1M and 10M deals
    .venv/bin/python benchmarks/bench_kpi.py --deals 1000000    # one size
    .venv/bin/python benchmarks/bench_kpi.py --strings pyarrow  # text as string[pyarrow]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

END = "2026-10-01"  # 12 complete quarters: 2023Q4 .. 2026Q3
N_MANAGERS = 500
SIZES = (1_000_000, 10_000_000)
EVENT_TABLES = ("proposals", "activities", "requests", "surveys")


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM (peak RSS) to the current RSS (Linux >= 4.0).
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _tile(
    df: pd.DataFrame,
    n_rows: int,
    rng: np.random.Generator,
    id_col: str | None,
    date_cols: tuple[str, ...],
    window: tuple[pd.Timestamp, pd.Timestamp],
    amount_col: str | None = None,
) -> pd.DataFrame:
    """Tile ``df`` to ``n_rows`` rows with new ids, jittered dates and amounts."""
    base = len(df)
    idx = np.resize(np.arange(base), n_rows)
    copy = np.arange(n_rows) // base
    out = df.iloc[idx].reset_index(drop=True)
    jitter = copy > 0
    if id_col is not None:
        ids = out[id_col].astype("string")
        prefix = pd.Series(np.char.add("X", copy.astype(str)), dtype="string")
        out[id_col] = (prefix + "-" + ids).where(pd.Series(jitter), ids).astype("string")
    shift = np.where(jitter, rng.integers(-30, 31, n_rows), 0).astype("timedelta64[D]")
    lo, hi = window
    anchor = out[date_cols[-1]].to_numpy()
    moved = anchor + shift
    keep = np.isnat(anchor) | ((moved >= lo.to_datetime64()) & (moved <= hi.to_datetime64()))
    shift = np.where(keep, shift, np.timedelta64(0, "D"))
    for col in date_cols:
        out[col] = out[col].to_numpy() + shift
    if amount_col is not None:
        factor = np.where(jitter, rng.uniform(0.8, 1.2, n_rows), 1.0)
        out[amount_col] = out[amount_col].to_numpy() * factor
    return out


def build(n_deals: int, tile_events: bool, seed: int = 0):
    from amtools.demo import make_demo

    ds = make_demo(seed=seed, n_managers=N_MANAGERS, years=3, end=END)
    end = pd.Timestamp(ds.meta["period_end"])
    window = (end - pd.DateOffset(years=3) + pd.Timedelta(days=1), end)
    rng = np.random.default_rng(seed)
    base_deals = len(ds["deals"])
    factor = n_deals / base_deals
    tables = {
        "deals": _tile(
            ds["deals"], n_deals, rng, "deal_id", ("created_date", "closed_date"), window, "amount"
        )
    }
    if tile_events:
        specs = {
            "proposals": ("proposal_id", ("sent_date",)),
            "activities": ("activity_id", ("date",)),
            "requests": ("request_id", ("opened_at", "first_response_at", "resolved_at")),
            "surveys": (None, ("date",)),
        }
        for name, (id_col, dates) in specs.items():
            df = ds[name]
            tables[name] = _tile(df, int(round(len(df) * factor)), rng, id_col, dates, window)
    return ds.replace(**tables), base_deals


DUCKDB_FLOOR = """
SELECT manager_id,
       year(closed_date) AS y, quarter(closed_date) AS q,
       sum(amount) FILTER (WHERE stage = 'won') AS sales_volume,
       count(*) FILTER (WHERE stage = 'won') AS won_deals,
       avg(amount) FILTER (WHERE stage = 'won') AS average_check,
       count(*) FILTER (WHERE stage = 'won') / count(*) AS win_rate
FROM deals
WHERE stage IN ('won', 'lost') AND closed_date IS NOT NULL
GROUP BY ALL
"""


def _to_arrow_strings(ds):
    """Every text column as ``string[pyarrow]`` (what pandas 3 loads by default)."""
    tables = {}
    for name, df in ds.tables.items():
        cols = {c: "string[pyarrow]" for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)}
        tables[name] = df.astype(cols) if cols else df
    return ds.replace(**tables)


def worker(n_deals: int, tile_events: bool, strings: str = "default") -> dict:
    import duckdb

    from amtools.kpi import compute

    t = time.perf_counter()
    ds, base_deals = build(n_deals, tile_events)
    if strings == "pyarrow":
        ds = _to_arrow_strings(ds)
    build_s = time.perf_counter() - t
    rows = {name: len(df) for name, df in ds.tables.items()}
    rss_data_mb = _rss_kb("VmRSS") / 1024

    compute(ds.replace(deals=ds["deals"].head(1000)), freq="Q")  # warm imports and caches
    _reset_peak()
    rss0 = _rss_kb("VmRSS")
    t = time.perf_counter()
    kpis = compute(ds, freq="Q")
    compute_s = time.perf_counter() - t
    peak_mb = _rss_kb("VmHWM") / 1024
    added_mb = (_rss_kb("VmHWM") - rss0) / 1024

    deals = ds["deals"]
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("deals", deals)
    con.execute(DUCKDB_FLOOR).fetchall()  # warm-up (and check it runs)
    t = time.perf_counter()
    floor = con.execute(DUCKDB_FLOOR).fetchall()
    duck_s = time.perf_counter() - t

    return {
        "deals": n_deals,
        "string_storage": str(
            getattr(ds["deals"]["manager_id"].dtype, "storage", ds["deals"]["manager_id"].dtype)
        ),
        "loadavg_1m": round(os.getloadavg()[0], 1),
        "base_deals": base_deals,
        "tile_events": tile_events,
        "rows": rows,
        "build_s": round(build_s, 1),
        "compute_s": round(compute_s, 2),
        "duckdb_s": round(duck_s, 3),
        "ratio": round(compute_s / duck_s, 1),
        "rss_with_data_mb": round(rss_data_mb),
        "peak_rss_mb": round(peak_mb),
        "compute_added_mb": round(added_mb),
        "kpi_rows": len(kpis),
        "periods": int(kpis["period"].nunique()),
        "managers": int(kpis["manager_id"].nunique()),
        "floor_rows": len(floor),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--deals", type=int, action="append", help="deal counts (default 1M and 10M)"
    )
    parser.add_argument(
        "--tile-events", action="store_true", help="scale activities/requests/... too"
    )
    parser.add_argument(
        "--strings",
        choices=("default", "pyarrow"),
        default="default",
        help="text columns as loaded (default) or converted to string[pyarrow] before timing",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.deals[0], args.tile_events, args.strings)))
        return
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()} "
        f"cpus={os.cpu_count()} python={platform.python_version()} "
        f"pandas={pd.__version__} numpy={np.__version__} {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"loadavg={os.getloadavg()[0]:.1f}"
    )
    results = []
    for n in args.deals or SIZES:
        cmd = [sys.executable, __file__, "--worker", "--deals", str(n)]
        if args.tile_events:
            cmd.append("--tile-events")
        cmd += ["--strings", args.strings]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(res)
        print(json.dumps(res))
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(
            f"# growth x{b['deals'] / a['deals']:.0f} deals -> compute x{b['compute_s'] / a['compute_s']:.1f}, "
            f"peak RSS x{b['peak_rss_mb'] / a['peak_rss_mb']:.1f}"
        )


if __name__ == "__main__":
    main()
