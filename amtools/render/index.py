"""The pack's ``index.html``: every report of the run, failures with their cell, data quality."""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core.files import write_atomic
from amtools.core.i18n import catalog, fmt_number, fmt_period, t
from amtools.core.messages import Message
from amtools.render.export import (
    TEMPLATES_DIR,
    display_source,
    generated_text,
    report_css,
)
from amtools.render.notebooks.context import RunContext, note_text
from amtools.render.notebooks.jobs import JobResult
from amtools.render.notebooks.kinds import REPORTS
from amtools.render.notebooks.reuse import REUSED_FROM

__all__ = ["render_index", "write_index"]


@functools.cache
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    return env.get_template("index.html.j2")


def _href(path: Path | None, folder: Path) -> str | None:
    if path is None:
        return None
    return Path(os.path.relpath(path, folder)).as_posix()


def _labels(lang: str) -> dict[str, str]:
    keys = {
        "period": "header.period",
        "source": "header.source",
        "generated": "header.generated",
        "reproducibility": "header.reproducibility",
        "fingerprint": "header.fingerprint",
        "version": "header.version",
        "parameters": "header.parameters",
        "audience": "index.audience",
        "folders_note": "index.folders_note",
        "failures": "index.failures",
        "error": "index.error",
        "failed_cell": "index.failed_cell",
        "executed_notebook": "index.executed_notebook",
        "team_reports": "index.team_reports",
        "manager_reviews": "index.manager_reviews",
        "other_reports": "index.other_reports",
        "data_quality": "index.data_quality",
        "no_problems": "index.no_problems",
        "notes": "index.notes",
        "not_ranked_note": "tbl.not_ranked_note",
        "reused_title": "index.reused_title",
    }
    labels = {name: t(key, lang) for name, key in keys.items()}
    for col in ("report", "manager", "segment", "team", "score", "rank", "status", "seconds"):
        labels[f"col_{col}"] = t(f"index.col.{col}", lang)
    for col in ("table", "column", "problem", "rows", "fix"):
        labels[f"col_{col}"] = t(f"index.col.{col}", lang)
    return labels


def _ranked(score: dict[Any, Any]) -> bool:
    """Whether a manager's score row is ranked (``scores`` column ``ranked``; no row: True)."""
    flag = score.get("ranked", True)
    return True if flag is None or flag is pd.NA else bool(flag)


def _problem_row(problem: Any, lang: str = "en") -> dict[str, Any]:
    get = problem.get if isinstance(problem, dict) else lambda k, d=None: getattr(problem, k, d)
    examples = get("examples", ()) or ()
    message, fix = get("message", str(problem)), get("fix", "")
    if lang != "en" and not isinstance(problem, dict):
        # The message and fix in the report's language (problem.msg/fix.<check> strings).
        strings = catalog()
        args = {"table": get("table", ""), "column": get("column", "") or ""}
        args.update(dict(get("args", {}) or {}))
        check = get("check", "")
        with contextlib.suppress(KeyError, IndexError, ValueError):
            if lang in strings.get(f"problem.msg.{check}", {}):
                message = t(f"problem.msg.{check}", lang, **args)
            if fix and lang in strings.get(f"problem.fix.{check}", {}):
                fix = t(f"problem.fix.{check}", lang, **args)
    return {
        "table": get("table", ""),
        "column": get("column", "") or "",
        "message": message,
        "count": get("count", ""),
        "fix": fix,
        "examples": ", ".join(map(str, examples)),
        "severity": get("severity", "warning"),
    }


def render_index(
    ctx: RunContext,
    results: Sequence[JobResult],
    folder: str | Path,
    *,
    parameters: dict[str, Any] | None = None,
    files: Sequence[tuple[str, Path]] = (),
    team_pages: str = "",
    per_team_above: int | None = None,
) -> str:
    """The index page of a run as HTML (all values escaped).

    ``team_pages`` is the run's per-team mode (the team review job's ``team_pages``
    parameter, :func:`~.notebooks.plan.per_team_mode`): ``"auto"`` (more than
    ``per_team_above`` managers), ``"forced"`` (``--per-team``) or ``""``; when the pack has
    per-team reviews the page says which applied.

    Example
    -------
    >>> page = render_index(ctx, results, "reports/2026Q3")  # doctest: +SKIP
    """
    folder = Path(folder)
    lang = ctx.lang
    status = {True: t("index.status.ok", lang), False: t("index.status.failed", lang)}
    managers = ctx.dataset.managers if "managers" in ctx.dataset else pd.DataFrame()
    by_id = {str(r["manager_id"]): r for r in managers.to_dict("records")} if len(managers) else {}
    scores: dict[str, dict[Any, Any]] = {}
    if not ctx.scores.empty and {"manager_id", "period"} <= set(ctx.scores.columns):
        current = ctx.scores[ctx.scores["period"].astype(str) == ctx.period]
        scores = {str(r["manager_id"]): dict(r) for r in current.to_dict("records")}

    team_rows, manager_rows, other_rows, failures = [], [], [], []
    for res in results:
        kind = REPORTS.get(res.kind)
        section = kind.section if kind else "other"
        row: dict[str, Any] = {
            "title": res.title,
            "href": _href(res.html_path, folder) if res.ok else None,
            "ok": res.ok,
            "status": _status(ctx, kind, res.ok, status),
            "css": _status_class(ctx, kind, res.ok),
            "seconds": fmt_number(res.seconds, lang, digits=1),
            "reused_from": _reused_from(res, lang),
        }
        if section == "manager" and res.entity is not None:
            info = by_id.get(res.entity, {})
            score = scores.get(res.entity, {})
            ranked = _ranked(score)
            row.update(
                manager_id=res.entity,
                name=_text(info.get("name")) or res.entity,
                segment=_text(info.get("segment")),
                team=_text(info.get("team")),
                score=fmt_number(score.get("score"), lang, digits=1),
                rank=fmt_number(score.get("rank"), lang) if ranked else t("tbl.not_ranked", lang),
                ranked=ranked,
                _score=_number(score.get("score")),
            )
            manager_rows.append(row)
        elif section == "other":
            other_rows.append(row)
        else:
            team_rows.append(row)
        if not res.ok:
            failures.append(
                {
                    "title": res.title,
                    "error": res.error or "",
                    "ipynb_href": _href(res.ipynb_path, folder),
                    "cell_source": res.cell_source,
                    "cell_label": f"In [{res.execution_count}]" if res.execution_count else "",
                }
            )
    # Leadership reads the table as a leaderboard: by segment, best score first.
    # Managers whose score rests on too little data are not ranked: listed after the others.
    manager_rows.sort(key=lambda r: (r["segment"], not r["ranked"], -r["_score"], r["name"]))
    problems = [_problem_row(p, lang) for p in ctx.problems]
    notes = [note_text(n, lang) for n in ctx.notes]
    notes += [note_text(n, lang) for n in _budget_notes(ctx)]
    ok = sum(r.ok for r in results)
    reused = sum(bool(_reused_from(r, lang)) for r in results)
    params = {k: v for k, v in (parameters or {}).items() if k != "context"}
    return str(
        _template().render(
            lang=lang,
            version=ctx.version,
            title=t("index.title", lang, period=fmt_period(ctx.period, lang)),
            css=report_css(),
            L=_labels(lang),
            period_text=fmt_period(ctx.period, lang),
            source=display_source(ctx.source, lang),
            generated_text=generated_text(ctx.generated_at, lang),
            fingerprint=ctx.fingerprint,
            parameters_text=json.dumps(params, ensure_ascii=False, sort_keys=True, default=str),
            summary=t("index.summary", lang, ok=ok, total=len(results)),
            reused_text=t("index.reused_summary", lang, n=reused) if reused else "",
            team_pages_text=_team_pages_text(
                results, team_pages, per_team_above, n_managers=len(managers), lang=lang
            ),
            failures=failures,
            team_rows=team_rows,
            manager_rows=manager_rows,
            any_unranked=any(not r["ranked"] for r in manager_rows),
            other_rows=other_rows,
            problems=problems,
            problems_text=t("index.problems_count", lang, n=len(problems)),
            notes=notes,
            files=[{"title": title, "href": _href(path, folder)} for title, path in files],
        )
    )


def _team_pages_text(
    results: Sequence[JobResult],
    mode: str,
    above: int | None,
    *,
    n_managers: int,
    lang: str,
) -> str:
    """Why the pack has per-team team reviews (automatic or forced); "" when it has none.

    Example
    -------
    >>> _team_pages_text([], "auto", 40, n_managers=200, lang="en")
    ''
    """
    count = sum(1 for r in results if r.kind == "team_review" and r.entity is not None)
    if not count or mode not in ("auto", "forced"):
        return ""
    if mode == "auto":
        return t("index.team_pages.auto", lang, count=count, above=above, n=n_managers)
    return t("index.team_pages.forced", lang, count=count)


def _reused_from(res: JobResult, lang: str) -> str:
    """The marker of a page carried over unchanged from an earlier run (else an empty text)."""
    stamp = res.extra.get(REUSED_FROM) if res.ok else None
    if not stamp:
        return ""
    try:
        when = generated_text(pd.Timestamp(stamp), lang)
    except (TypeError, ValueError):
        when = str(stamp)
    return t("index.reused_from", lang, time=when)


def _status(ctx: RunContext, kind: Any, ok: bool, status: dict[bool, str]) -> str:
    """A report's true status: "ready", "failed", or "rendered — <what is missing>"."""
    if not ok:
        return status[False]
    unavailable = getattr(ctx, "unavailable", {}) or {}
    missing = [
        note_text(unavailable[s], ctx.lang) for s in (kind.uses if kind else ()) if s in unavailable
    ]
    parts = _partial(ctx, kind)
    if parts:
        missing.append(t("run.status.not_available", ctx.lang, parts=", ".join(parts)))
    if not missing:
        return status[True]
    return t("run.status.rendered_with", ctx.lang, note="; ".join(missing))


def _partial(ctx: RunContext, kind: Any) -> list[str]:
    """Parts of a rendered report that could not be computed (the budget's margin, costs …)."""
    if kind is None or "budget" not in kind.uses or ctx.budget is None:
        return []
    parts = getattr(ctx.budget, "unavailable", {}) or {}
    names = {"margin": "tbl.col.margin"}
    return [t(names.get(key, f"budget.category.{key}"), ctx.lang).lower() for key in parts]


def _status_class(ctx: RunContext, kind: Any, ok: bool) -> str:
    """``am-bad`` for a failure, ``am-note`` for a report rendered without some of its parts."""
    if not ok:
        return "am-bad"
    unavailable = getattr(ctx, "unavailable", {}) or {}
    partial = any(s in unavailable for s in (kind.uses if kind else ())) or _partial(ctx, kind)
    return "am-note" if partial else "am-good"


def _budget_notes(ctx: RunContext) -> list[Any]:
    """The budget plan's own notes (Messages or text), each labelled as the budget's."""
    assumptions = getattr(ctx.budget, "assumptions", None)
    raw = assumptions.get("notes", []) if isinstance(assumptions, dict) else []
    return [Message("run.note.budget_plan", {"note": n}) for n in raw or []]


def _number(value: Any) -> float:
    """A sortable score: missing scores sort last."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("-inf")
    return number if number == number else float("-inf")


def _text(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def write_index(
    ctx: RunContext,
    results: Sequence[JobResult],
    folder: str | Path,
    *,
    parameters: dict[str, Any] | None = None,
    files: Sequence[tuple[str, Path]] = (),
    team_pages: str = "",
    per_team_above: int | None = None,
) -> Path:
    """Write ``<folder>/index.html`` atomically and return its path (see :func:`render_index`).

    Example
    -------
    >>> write_index(ctx, results, "reports/2026Q3")  # doctest: +SKIP
    PosixPath('reports/2026Q3/index.html')
    """
    folder = Path(folder)
    page = render_index(
        ctx,
        results,
        folder,
        parameters=parameters,
        files=files,
        team_pages=team_pages,
        per_team_above=per_team_above,
    )
    return write_atomic(folder / "index.html", page)
