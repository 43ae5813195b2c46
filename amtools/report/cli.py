"""The ``amtools run`` subcommand (wired into :mod:`amtools.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..config import NOTEBOOKS_DIR, REPORTS_DIR
from ..i18n import LANGS

__all__ = ["add_run_parser", "run_command"]


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_run_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add ``run`` to the ``amtools`` subcommands."""
    from .kinds import DEFAULT_REPORTS, REPORTS

    run = subparsers.add_parser(
        "run",
        help="render a quarterly pack of HTML reports (index, team review, manager reviews, forecast, budget)",
        description=(
            "Load and validate the data once, compute KPIs, scores, forecast and budget once, then "
            "execute the report notebooks on warm kernels in parallel and write "
            "<out>/<period>/*.html with an index.html. Exits non-zero if any report failed."
        ),
    )
    run.add_argument(
        "--source",
        default=None,
        help="CSV folder, .xlsx, Parquet, .duckdb file or SQLAlchemy URL (default: the demo dataset, built if missing)",
    )
    run.add_argument("--mapping", default=None, help="column-mapping YAML or preset name")
    run.add_argument(
        "--period",
        default=None,
        help="reporting period, e.g. 2026Q3 (default: the last complete quarter in the data)",
    )
    run.add_argument(
        "--reports",
        type=_csv,
        default=list(DEFAULT_REPORTS),
        help=f"comma-separated report kinds (default: {','.join(DEFAULT_REPORTS)}; known: {','.join(REPORTS)})",
    )
    run.add_argument(
        "--managers",
        nargs="+",
        default=None,
        metavar="ID",
        help="render only these managers' reviews",
    )
    run.add_argument("--per-team", action="store_true", help="also render one team review per team")
    run.add_argument("--lang", choices=LANGS, default="en", help="report language (default en)")
    run.add_argument(
        "--currency", default=None, help="display currency code (default: the data's, else RUB)"
    )
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel report kernels, one worker process each (default: number of CPUs; "
        "0 = one kernel driven from this process)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="seconds one notebook cell may run (default 1800)",
    )
    run.add_argument(
        "--targets",
        default=None,
        metavar="FILE|history",
        help="targets for this source: a YAML file in the format of params/targets.yaml, or "
        "'history' (derived from the source's own history); default: params/targets.yaml",
    )
    run.add_argument(
        "--out", type=Path, default=REPORTS_DIR, help=f"reports folder (default {REPORTS_DIR})"
    )
    run.add_argument(
        "--notebooks", type=Path, default=NOTEBOOKS_DIR, help="folder of report notebooks"
    )
    run.add_argument(
        "--params",
        type=Path,
        default=None,
        help="a params folder whose files override ./params and the packaged defaults, file by "
        "file (targets, kpi_profiles, budget, the notebooks' parameters, mappings/ …)",
    )
    progress = run.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show a progress bar",
    )
    progress.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="plain log lines instead of a progress bar",
    )
    run.set_defaults(func=run_command)
    return run


def run_command(args: argparse.Namespace) -> int:
    """Run the pack; print the index path; 0 if every report rendered, 1 otherwise."""
    from ..params import use_params_dir
    from .runner import run

    with use_params_dir(args.params):
        return _run(args, run)


def _run(args: argparse.Namespace, run: Any) -> int:
    result = run(
        args.source,
        mapping=args.mapping,
        period=args.period,
        reports=args.reports,
        managers=args.managers,
        lang=args.lang,
        workers=args.workers,
        out=args.out,
        notebooks_dir=args.notebooks,
        params_dir=None,
        per_team=args.per_team,
        currency=args.currency,
        timeout=args.timeout,
        progress=args.progress,
        targets=args.targets,
    )
    total = len(result.results)
    failed = len(result.failed)
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
    print(f"{total - failed} of {total} reports rendered in {result.seconds:.1f} s ({phases})")
    for res in result.failed:
        print(f"FAILED {res.name}: {res.error}", file=sys.stderr)
    print(result.index.resolve())
    return 0 if result.ok else 1
