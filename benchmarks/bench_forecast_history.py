"""Cost of the forecast report's accuracy history (amtools.forecast.history) at 30 and 200 managers.

For each demo size, in one process and one run: the run's own forecast (what
``amtools.pipeline.build`` computes: ``forecast(monthly_series(...), h=15)`` with the shipped
model options, in process) and the backfilled accuracy history with the shipped settings of
``params/policy/forecast_history.yaml`` (4 quarter ends, leads 1/3/6, ``n_jobs`` 0 = the
usable CPUs). Wall clock and CPU seconds (this process plus its worker processes) are
reported; CPU seconds do not depend on how busy the machine is, wall clock does.

    .venv/bin/python benchmarks/bench_forecast_history.py [--managers 30 200] [--out FILE]

The history is computed only when a run renders the forecast report (the pack benchmark,
team and manager reviews only, never pays for it).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from amtools.core.machine import usable_cpus  # noqa: E402
from amtools.core.settings.forecast import ForecastSettings  # noqa: E402
from amtools.core.settings.history import HistorySettings  # noqa: E402
from amtools.demo import make_demo  # noqa: E402
from amtools.forecast import accuracy_history, forecast, monthly_series  # noqa: E402

OUT = Path(__file__).with_name("results_forecast_history.md")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), _cpu()
    value = fn()
    return value, time.perf_counter() - wall, _cpu() - cpu


def measure(n_managers: int) -> dict[str, object]:
    ds = make_demo(seed=0, n_managers=n_managers)
    end = pd.Timestamp(ds.meta["period_end"])
    series = monthly_series(ds, "revenue", end=end)
    options = ForecastSettings.load().options()
    hs = HistorySettings.load()
    _, fc_wall, fc_cpu = _timed(lambda: forecast(series, h=15, **options))
    hist, h_wall, h_cpu = _timed(
        lambda: accuracy_history(
            series,
            origins=hs.origins,
            leads=hs.leads,
            min_history=hs.min_history,
            n_jobs=hs.n_jobs,
            options=options,
        )
    )
    return {
        "managers": n_managers,
        "series": series["unique_id"].nunique(),
        "months": series["ds"].nunique(),
        "origins": len(hist.origins),
        "forecast_wall": fc_wall,
        "forecast_cpu": fc_cpu,
        "history_wall": h_wall,
        "history_cpu": h_cpu,
        "company_mase_lead3": float(
            hist.summary.query("level == 'company' and lead == 3")["mase"].iloc[0]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=int, nargs="+", default=[30, 200])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = []
    for n in args.managers:
        row = measure(n)
        print(row, flush=True)
        rows.append(row)
    load_after = os.getloadavg()
    hs = HistorySettings.load()
    lines = [
        "# Accuracy history: cost",
        "",
        f"- date: {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.node()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs ({usable_cpus()} usable), Python {platform.python_version()}",
        f"- load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f} "
        "(a shared machine: wall clock is noisy, CPU seconds are not)",
        f"- command: `python benchmarks/bench_forecast_history.py --managers "
        f"{' '.join(map(str, args.managers))}`",
        f"- settings: origins {hs.origins}, leads {list(hs.leads)}, n_jobs {hs.n_jobs} "
        "(params/policy/forecast_history.yaml); models of params/policy/forecast.yaml",
        "",
        "| managers | series | months | origins | run forecast (h=15, 1 process): wall s / CPU s "
        "| accuracy history: wall s / CPU s | history / forecast (CPU) | company MASE, lead 3 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = float(r["history_cpu"]) / max(float(r["forecast_cpu"]), 1e-9)  # type: ignore[arg-type]
        lines.append(
            f"| {r['managers']} | {r['series']} | {r['months']} | {r['origins']} | "
            f"{r['forecast_wall']:.1f} / {r['forecast_cpu']:.1f} | "
            f"{r['history_wall']:.1f} / {r['history_cpu']:.1f} | {ratio:.1f}× | "
            f"{r['company_mase_lead3']:.2f} |"
        )
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(args.out)


if __name__ == "__main__":
    main()
