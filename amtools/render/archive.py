"""The run's side of the forecast archive: store this run's forecasts, score the stored ones.

:func:`record_forecasts` is called once per ``amtools run`` that computed a forecast: it
appends the forecasts to the archive (:mod:`amtools.loading.archive`; beside the data unless
``--archive PATH`` / ``params/policy/forecast_history.yaml`` says otherwise), reads back the
stored forecasts whose months now have actuals and scores them
(:func:`amtools.forecast.history.score_forecasts`, the metrics of the backfilled history),
and puts both into the run context's ``accuracy_history``. A place that cannot be written
(read-only, locked) becomes a note in the forecast report, never a failed run.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core.messages import Message
from amtools.core.paths import DEMO_DB
from amtools.core.settings.history import HistorySettings
from amtools.forecast.history import AccuracyHistory, score_forecasts, summarise_accuracy
from amtools.loading.archive import (
    ArchiveError,
    append_forecasts,
    archive_location,
    archive_rows,
    read_forecasts,
)
from amtools.pipeline import error_text
from amtools.render.notebooks.context import RunContext

__all__ = ["archive_path", "record_forecasts", "as_made_accuracy"]

log = logging.getLogger(__name__)

OFF = "off"
AUTO = "auto"


def archive_path(source: Any, archive: str | Path | bool | None, setting: str) -> Path | None:
    """The archive file of a run, or None when archiving is off or has no place.

    ``archive``: ``False`` turns it off, a path chooses the file, ``None`` follows ``setting``
    (``auto`` = beside the data, ``off``, or a path).

    Example
    -------
    >>> archive_path("exports/crm.xlsx", None, "auto").as_posix()
    'exports/amtools_forecasts.duckdb'
    >>> archive_path("exports/crm.xlsx", False, "auto") is None
    True
    >>> archive_path("exports", "/srv/fc.duckdb", "off").as_posix()
    '/srv/fc.duckdb'
    """
    if archive is False:
        return None
    chosen = setting if archive is None or archive is True else str(archive)
    if chosen.strip().lower() == OFF:
        return None
    if chosen.strip().lower() == AUTO:
        return archive_location(source, DEMO_DB)
    return Path(chosen).expanduser()


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ArchiveError) else error_text(exc)


def as_made_accuracy(
    stored: pd.DataFrame, actuals: pd.DataFrame, *, season_length: int, leads: tuple[int, ...]
) -> pd.DataFrame:
    """Score archived forecasts (:func:`~amtools.loading.archive.read_forecasts`) that are due.

    Example
    -------
    >>> as_made_accuracy(stored, result.history, season_length=12, leads=(1, 3, 6))  # doctest: +SKIP
    """
    if stored.empty:
        return score_forecasts(stored, actuals)
    frame = stored.rename(columns={"target": "ds", "point": "yhat"})
    if leads:
        frame = frame[frame["lead"].isin(leads)]
    return score_forecasts(frame, actuals, season_length=season_length)


def record_forecasts(
    ctx: RunContext, *, source: Any, archive: str | Path | bool | None = None
) -> Path | None:
    """Append the run's forecasts to the archive and put the as-made accuracy into ``ctx``.

    Does nothing without a forecast. Sets ``ctx.accuracy_history`` (created empty when the
    backfilled history was not computed) with ``as_made``, ``as_made_summary``, ``archive``
    and ``archive_note``; returns the archive path (None when off or nowhere to put it).

    Example
    -------
    >>> record_forecasts(ctx, source="exports/", archive=None)  # doctest: +SKIP
    PosixPath('exports/amtools_forecasts.duckdb')
    """
    result = ctx.forecast
    if result is None or result.forecast.empty:
        return None
    settings = HistorySettings.load()
    used = ctx.params.get("forecast_history") or {}
    setting = str(used.get("archive") or settings.archive)
    leads = tuple(int(v) for v in (used.get("leads") or settings.leads))
    history = ctx.accuracy_history or AccuracyHistory.empty(leads)
    path = archive_path(source, archive, setting)
    note: Any = ""
    if path is None:
        if archive is not False and setting.strip().lower() == AUTO:
            note = Message("fc.history.archive_nowhere")
        ctx.accuracy_history = dataclasses.replace(history, archive_note=note)
        return None
    end = pd.Timestamp(result.history["ds"].max())
    rows = archive_rows(
        result.forecast,
        run_id=uuid.uuid4().hex[:12],
        made_at=ctx.generated_at,
        fingerprint=ctx.fingerprint,
        origin=end,
        source=ctx.source,
    )
    # The archive is a by-product of the run: whatever goes wrong with it is a note in the
    # forecast report, never a failed run.
    try:
        added = append_forecasts(path, rows)
        log.info("forecast archive %s: %d rows added", path, added)
    except Exception as exc:
        log.debug("forecast archive %s not written", path, exc_info=True)
        note = Message("fc.history.archive_not_written", {"path": str(path), "reason": _why(exc)})
    stored = pd.DataFrame()
    try:
        stored = read_forecasts(path, due_by=end)
    except Exception as exc:
        log.debug("forecast archive %s not read", path, exc_info=True)
        note = Message("fc.history.archive_not_read", {"path": str(path), "reason": _why(exc)})
    season = int(result.settings.get("season_length") or 12)
    as_made = as_made_accuracy(stored, result.history, season_length=season, leads=leads)
    ctx.accuracy_history = dataclasses.replace(
        history,
        as_made=as_made,
        as_made_summary=summarise_accuracy(as_made),
        archive=str(path),
        archive_note=note,
    )
    return path
