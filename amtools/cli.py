"""The ``amtools`` command line: one thin layer over the functions notebooks call."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .config import DEMO_DB
from .dataset import Dataset
from .errors import AmtoolsError

__all__ = ["main", "build_parser"]


def _summary_text(ds: Dataset) -> str:
    """The tables present, their sizes and date ranges, as aligned text."""
    summary = ds.summary()
    summary = summary[summary["present"]].drop(columns="present")
    for col in ("first_date", "last_date"):
        summary[col] = summary[col].dt.strftime("%Y-%m-%d").fillna("")
    return summary.to_string(index=False)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .datasets import make_demo
    from .io import export_csv, export_excel, save_duckdb

    started = time.perf_counter()
    ds = make_demo(seed=args.seed, n_managers=args.managers, end=args.end, scale=args.scale)
    built = time.perf_counter() - started
    path = save_duckdb(ds, args.out)
    size_mb = Path(path).stat().st_size / 1e6
    print(f"Built {ds.source} in {built:.1f} s -> {path} ({size_mb:.1f} MB)")
    print(_summary_text(ds))
    if args.csv:
        print(f"CSV folder: {export_csv(ds, args.csv)}")
    if args.excel:
        print(f"Excel workbook: {export_excel(ds, args.excel)}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .io import load
    from .validate import format_problems, validate

    started = time.perf_counter()
    ds = load(
        args.source,
        mapping=args.mapping,
        validate=False,
        encoding=args.encoding,
        sep=args.sep,
        decimal=args.decimal,
    )
    problems = list(ds.meta.get("problems", [])) + validate(ds)
    elapsed = time.perf_counter() - started
    print(f"Source: {ds.source}")
    print(_summary_text(ds))
    print()
    print(format_problems(problems))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"\n{errors} error(s), {warnings} warning(s); loaded and validated in {elapsed:.2f} s")
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="amtools",
        description="Account-manager performance analytics: KPIs, reviews, forecasts, budgets.",
    )
    parser.add_argument("--version", action="version", version=f"amtools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="build the demo dataset (DuckDB) and print a summary")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--managers", type=int, default=30, help="number of managers (default 30)")
    demo.add_argument(
        "--end",
        default=None,
        help="history ends at the last complete quarter before this date (default today)",
    )
    demo.add_argument("--scale", type=float, default=1.0, help="multiply client and deal volume")
    demo.add_argument("--out", type=Path, default=DEMO_DB, help=f"DuckDB file (default {DEMO_DB})")
    demo.add_argument("--csv", type=Path, default=None, help="also export a folder of CSV files")
    demo.add_argument("--excel", type=Path, default=None, help="also export an Excel workbook")
    demo.set_defaults(func=_cmd_demo)

    val = sub.add_parser("validate", help="load a source and print its data-quality report")
    val.add_argument("source", help="CSV folder, .xlsx, Parquet, .duckdb file or SQLAlchemy URL")
    val.add_argument(
        "--mapping", default=None, help="mapping YAML or preset name (maven_crm, superstore)"
    )
    val.add_argument("--encoding", default=None, help="CSV encoding (default: detected)")
    val.add_argument("--sep", default=None, help="CSV delimiter (default: detected)")
    val.add_argument("--decimal", default=None, help="CSV decimal mark (default: detected)")
    val.set_defaults(func=_cmd_validate)

    from .report.cli import add_run_parser

    add_run_parser(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``amtools`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except AmtoolsError as exc:
        print(f"amtools {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
