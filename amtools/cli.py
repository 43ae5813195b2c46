"""The ``amtools`` command line: one thin layer over the functions notebooks call."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
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
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
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
    for command in sub.choices.values():  # `amtools run --debug` works like `amtools --debug run`
        command.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the full traceback of an error",
        )

    return parser


def _os_error_text(exc: OSError) -> str:
    """One line for an OS error: what failed, on which path, and what to do."""
    import errno

    hints = {
        errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
        errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
        errno.EACCES: "permission denied; choose a folder you may write to",
        errno.EPERM: "operation not permitted; choose a folder you may write to",
        errno.EROFS: "the file system is read-only; write elsewhere",
        errno.ENOENT: "no such file or folder; check the path",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
        errno.EISDIR: "this is a folder, a file was expected; check the path",
        errno.ENAMETOOLONG: "the file name is too long",
        errno.EMFILE: "too many open files; raise the limit (ulimit -n) or use fewer --workers",
    }
    what = hints.get(exc.errno or 0, exc.strerror or str(exc) or type(exc).__name__)
    where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p)
    return f"{where}: {what}" if where else what


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``amtools`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = bool(getattr(args, "debug", False))
    command = f"amtools {args.command}"
    try:
        return int(args.func(args))
    except AmtoolsError as exc:
        error: BaseException = exc
        message = str(exc)
    except OSError as exc:
        error = exc
        message = _os_error_text(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (RunInterrupted)
        import signal

        signum = int(getattr(exc, "signum", signal.SIGINT))
        name = signal.Signals(signum).name
        if debug:
            traceback.print_exc()
        print(
            f"{command}: interrupted by {name}: workers and kernels stopped, nothing published",
            file=sys.stderr,
        )
        _INTERRUPTED.append(signum)
        return 128 + signum
    except MemoryError as exc:
        error = exc
        message = "out of memory; use fewer --workers or a smaller --source"
    except Exception as exc:  # a bug: one clear line, the traceback with --debug
        error = exc
        message = f"internal error {type(exc).__name__}: {exc} (rerun with --debug for details)"
    if debug:
        traceback.print_exception(error)
    print(f"{command}: {message}", file=sys.stderr)
    return 1


_INTERRUPTED: list[int] = []
"""Signals that stopped a command in this process (read by :func:`entry`)."""


def entry() -> None:
    """The console script: :func:`main`, then exit with its code.

    After a run stopped by a signal the workers and kernels are gone and nothing was
    published; the process then ends at once (``os._exit``) so that no exit handler of the
    stopped pools writes to their closed pipes and prints a traceback after the one line.
    """
    code = main()
    if _INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
