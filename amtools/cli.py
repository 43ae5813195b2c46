"""The ``amtools`` command line: one thin layer over the functions notebooks call."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from amtools import __version__
from amtools.core.dataset import Dataset
from amtools.core.errors import AmtoolsError
from amtools.core.i18n import LANGS
from amtools.core.paths import DEMO_DB, NOTEBOOKS_DIR, REPORTS_DIR
from amtools.core.settings import use_params_dir
from amtools.render.notebooks.config import RunConfig
from amtools.render.notebooks.kinds import DEFAULT_REPORTS, REPORTS

__all__ = ["main", "build_parser", "run_config"]


def _summary_text(ds: Dataset) -> str:
    """The tables present, their sizes and date ranges, as aligned text."""
    summary = ds.summary()
    summary = summary[summary["present"]].drop(columns="present")
    for col in ("first_date", "last_date"):
        summary[col] = summary[col].dt.strftime("%Y-%m-%d").fillna("")
    return summary.to_string(index=False)


def _cmd_demo(args: argparse.Namespace) -> int:
    from amtools.demo import make_demo
    from amtools.loading import export_csv, export_excel, save_duckdb

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
    from amtools.loading import load
    from amtools.validate import format_problems, validate

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

    _add_run_parser(sub)
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


# --- amtools run ----------------------------------------------------------------


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _add_run_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add ``run`` to the ``amtools`` subcommands (one flag per :class:`RunConfig` field)."""
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
    run.add_argument(
        "--per-team",
        action="store_true",
        help="also render one team review per team (automatic above per_team_above managers, "
        "params/reports/team_review.yaml)",
    )
    run.add_argument("--lang", choices=LANGS, default="en", help="report language (default en)")
    run.add_argument(
        "--currency", default=None, help="display currency code (default: the data's, else RUB)"
    )
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel report kernels, one worker process each (default: the CPUs this process may use, affinity and cgroup quota counted; "
        "0 = one kernel driven from this process)",
    )
    run.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT|local",
        help="render on a Dask cluster: its scheduler's address, or 'local' for a local cluster of "
        "--workers processes (default: $AMTOOLS_SCHEDULER if set, else local worker processes; "
        "needs pip install amtools[dask])",
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
        help="targets for this source: a YAML file in the format of params/policy/targets.yaml, or "
        "'history' (derived from the source's own history); default: params/policy/targets.yaml",
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
    _add_rerun_and_output_options(run)
    run.set_defaults(func=_cmd_run)
    return run


def _add_rerun_and_output_options(run: argparse.ArgumentParser) -> None:
    """``amtools run``'s options for reruns, the forecast archive, kept notebooks and progress."""
    run.add_argument(
        "--force",
        action="store_true",
        help="render every report again; by default a report whose inputs (data, parameters, "
        "notebook, amtools version) did not change since the last run into --out is reused",
    )
    archive = run.add_mutually_exclusive_group()
    archive.add_argument(
        "--archive",
        default=None,
        metavar="PATH",
        help="forecast archive (DuckDB) the run appends its forecasts to (default: "
        "params/policy/forecast_history.yaml, i.e. amtools_forecasts.duckdb beside the data)",
    )
    archive.add_argument(
        "--no-archive",
        dest="archive",
        action="store_const",
        const=False,
        help="do not archive this run's forecasts",
    )
    run.add_argument(
        "--keep-notebooks",
        action="store_true",
        help="keep every executed notebook in <out>/<period>/_executed (default: only those of "
        "failed reports)",
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


def run_config(args: argparse.Namespace) -> RunConfig:
    """The :class:`~amtools.render.notebooks.runner.RunConfig` of parsed ``amtools run`` arguments.

    ``--params`` is not a field: it is applied around the run (:func:`_cmd_run`).

    Example
    -------
    >>> args = build_parser().parse_args(["run", "--lang", "ru", "--workers", "2"])
    >>> config = run_config(args)
    >>> config.lang, config.workers, config.source
    ('ru', 2, None)
    >>> config.keep_notebooks, run_config(build_parser().parse_args(["run", "--keep-notebooks"])).keep_notebooks
    (False, True)
    """
    return RunConfig(
        source=args.source,
        mapping=args.mapping,
        period=args.period,
        reports=args.reports,
        managers=args.managers,
        lang=args.lang,
        workers=args.workers,
        out=args.out,
        notebooks_dir=args.notebooks,
        per_team=args.per_team,
        currency=args.currency,
        timeout=args.timeout,
        progress=args.progress,
        targets=args.targets,
        force=args.force,
        archive=args.archive,
        keep_notebooks=args.keep_notebooks,
        scheduler=args.scheduler,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    """Run the pack; print the index path; 0 if every report rendered, 1 otherwise."""
    from amtools.render.notebooks.runner import run  # papermill and Jupyter: only for a run

    with use_params_dir(args.params):
        result = run(run_config(args))
    total = len(result.results)
    failed = len(result.failed)
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
    reused = len(result.reused)
    if reused:
        tail = f", {failed} failed" if failed else ""
        print(
            f"{total} reports: {len(result.rendered)} rendered, {reused} reused (unchanged inputs; "
            f"--force to re-render){tail} in {result.seconds:.1f} s ({phases})"
        )
    else:
        print(f"{total - failed} of {total} reports rendered in {result.seconds:.1f} s ({phases})")
    for res in result.failed:
        print(f"FAILED {res.name}: {res.error}", file=sys.stderr)
    print(result.index.resolve())
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover
    entry()
