"""The forecast page's "How right were we": forecasts made at past quarter ends vs what
happened (backfilled by :mod:`amtools.forecast.history`, and as made by earlier runs, from the
forecast archive) — its text, table and charts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from amtools.core import i18n
from amtools.core.i18n import is_missing, t
from amtools.core.messages import Message, render
from amtools.render.charts import (
    NEUTRAL,
    SEGMENT_COLORS,
    axis_formatter,
    currency_symbol,
    empty_figure,
    month_labels,
    new_figure,
    style_axes,
)
from amtools.render.html import BAD, GOOD, WARN, esc, html_table, t_or

__all__ = ["history_intro", "history_table", "history_chart", "history_vs_actual"]

# --------------------------------------------------------------------------- how right were we

_HISTORY_METRICS = ("mase", "smape", "coverage_80", "coverage_95", "n")


def history_intro(
    history: Any,
    lang: str = "en",
    *,
    failures: Mapping[str, str] | None = None,
    unavailable: Mapping[str, Any] | None = None,
) -> HTML:
    """What the accuracy history shows (backfilled and as made), and the archive's state.

    Parameters
    ----------
    history : the run context's ``accuracy_history`` (``AccuracyHistory``) or None.
    failures, unavailable : the run context's; their ``"history"`` (else ``"forecast"``)
        entry says why the backfilled history is missing.

    Example
    -------
    >>> history_intro(ctx.accuracy_history, "ru", failures=ctx.failures)  # doctest: +SKIP
    """
    reason: Any = None
    for stage in ("history", "forecast"):  # no forecast: no history either
        missing = (unavailable or {}).get(stage)
        reason = (failures or {}).get(stage)
        if reason is None and isinstance(missing, Message):
            reason = _note_text(missing.args.get("reason", ""), lang)
        if reason:
            break
    parts = [t("fc.history.explain", lang)]
    if history is None or history.summary.empty:
        parts.append(
            t("fc.history.no_backfill", lang, reason=reason)
            if reason
            else t("fc.history.not_computed", lang)
        )
    else:
        labels = ", ".join(_origin_label(o, lang) for o in history.origins)
        parts.append(t("fc.history.origins", lang, origins=labels))
    if history is not None:
        note = history.archive_note
        if note:
            parts.append(_note_text(note, lang))
        elif history.archive and history.as_made.empty:
            parts.append(t("fc.history.none_due", lang, path=history.archive))
        elif history.archive:
            origins = history.as_made["origin"].nunique()
            parts.append(t("fc.history.as_made_from", lang, path=history.archive, n=origins))
    return HTML("".join(f'<p class="amt-note">{esc(p)}</p>' for p in parts))


def _note_text(note: Any, lang: str) -> str:
    if isinstance(note, Message):
        args = {k: _note_text(v, lang) for k, v in note.args.items()}
        return render(Message(note.key, args), lang)
    text = getattr(note, "text", None)  # a data-quality finding (Problem)
    return str(text(lang)) if callable(text) else str(note)


def _level_name(level: str, lang: str) -> str:
    if level == "company":
        return t("tbl.scope.company", lang)
    return t_or(f"tbl.level.{level}", lang, level)


def _series_name(uid: str, lang: str, names: dict[str, str] | None = None) -> str:
    if names and uid in names:
        return names[uid]
    level, _, rest = uid.partition("/")
    return f"{_level_name(level, lang)}: {rest}" if rest else _level_name(level, lang)


def _month_label(when: Any, lang: str) -> str:
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
    return month_labels([stamp], lang)[0]


def _origin_label(origin: Any, lang: str) -> str:
    stamp = pd.Timestamp(origin)
    period = (stamp.tz_localize(None) if stamp.tzinfo is not None else stamp).to_period("Q")
    return i18n.fmt_period(f"{period.qyear}Q{period.quarter}", lang, style="short")


def history_table(history: Any, lang: str = "en") -> HTML:
    """MASE, sMAPE and 80/95 % coverage per level and lead: backfilled, and as made beneath.

    One row per level, lead and kind (backfilled; as made once the archive has forecasts
    whose months have come), grouped by level.

    Example
    -------
    >>> history_table(ctx.accuracy_history, "en")  # doctest: +SKIP
    """
    if history is None or (history.summary.empty and history.as_made_summary.empty):
        return HTML(f'<p class="amt-note">{esc(t("fc.history.no_table", lang))}</p>')
    keys = ["level", "lead"]
    parts = [history.summary.reindex(columns=[*keys, *_HISTORY_METRICS]).assign(kind=0)]
    if not history.as_made_summary.empty:
        made = history.as_made_summary.reindex(columns=[*keys, *_HISTORY_METRICS])
        grid = pd.concat([parts[0][keys], made[keys]]).drop_duplicates()
        parts.append(grid.merge(made, on=keys, how="left").assign(kind=1))
    frame = pd.concat(parts, ignore_index=True)
    order = {lv: i for i, lv in enumerate(("company", "segment", "team", "manager"))}
    frame = frame.sort_values(
        [*keys, "kind"], key=lambda s: s.map(order) if s.name == "level" else s, kind="stable"
    )
    frame["level"] = [_level_name(str(lv), lang) for lv in frame["level"]]
    kinds = {0: t("fc.history.backfilled", lang), 1: t("fc.history.as_made", lang)}
    headers = {
        "lead": t("fc.history.col.lead", lang),
        "kind": t("fc.history.col.kind", lang),
        "mase": "MASE",
        "smape": "sMAPE",
        "coverage_80": t("tbl.col.interval_coverage", lang, level=80),
        "coverage_95": t("tbl.col.interval_coverage", lang, level=95),
        "n": t("fc.history.col.n", lang),
    }

    def smape(x: Any) -> str:
        return i18n.MISSING if is_missing(x) else i18n.fmt_percent(x / 100, lang, digits=1)

    def mase_class(x: Any) -> str:
        return "" if is_missing(x) else GOOD if x < 1 else WARN if x < 1.5 else BAD

    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={
                "lead": lambda x: t("fc.history.lead_months", lang, n=int(x)),
                "kind": lambda k: kinds[int(k)],
                "mase": lambda x: i18n.fmt_number(x, lang, digits=2),
                "smape": smape,
                "coverage_80": lambda x: i18n.fmt_percent(x, lang),
                "coverage_95": lambda x: i18n.fmt_percent(x, lang),
                "n": lambda x: i18n.MISSING if is_missing(x) else i18n.fmt_number(x, lang),
            },
            numeric=("mase", "smape", "coverage_80", "coverage_95", "n"),
            cell_classes={"mase": mase_class},
            group_col="level",
        )
    )


def history_chart(history: Any, lang: str = "en", *, title: str | None = None) -> Figure:
    """MASE per origin and lead, one panel per level; as-made accuracy as open markers.

    A MASE below 1 (the dotted line) beat the seasonal-naive forecast of the same months.

    Example
    -------
    >>> history_chart(ctx.accuracy_history, "en")  # doctest: +SKIP
    """
    fig = new_figure(height=2.9)
    detail = history.detail if history is not None else pd.DataFrame()
    made = history.as_made if history is not None else pd.DataFrame()
    if detail.empty and made.empty:
        return empty_figure(fig, t("fc.history.no_chart", lang))
    levels = [
        lv
        for lv in ("company", "segment", "team", "manager")
        if lv in set(detail.get("level", [])) | set(made.get("level", []))
    ]
    axes = fig.subplots(1, len(levels), squeeze=False, sharey=True).ravel()
    colors = ["#1b6ca8", "#e08a1e", "#5a9e4b", "#8c6bb1"]
    leads = sorted(set(detail.get("lead", [])) | set(made.get("lead", [])))
    for ax, level in zip(axes, levels, strict=True):
        for color, lead in zip(colors * 3, leads, strict=False):
            for frame, filled in ((detail, True), (made, False)):
                if frame.empty:
                    continue
                part = frame[(frame["level"] == level) & (frame["lead"] == lead)]
                part = part[np.isfinite(part["mase"].astype("float64"))]
                if part.empty:
                    continue
                by = part.groupby("origin")["mase"].mean().sort_index()
                ax.plot(
                    pd.to_datetime(by.index),
                    by.to_numpy(),
                    marker="o",
                    ms=4,
                    lw=1.3 if filled else 0,
                    color=color,
                    mfc=color if filled else "white",
                    label=t("fc.history.legend.lead", lang, n=lead)
                    if filled
                    else t("fc.history.legend.as_made", lang, n=lead),
                )
        ax.axhline(1.0, color=NEUTRAL, lw=0.8, ls=":")
        ax.set_title(_level_name(level, lang), fontsize=9, loc="left")
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(3, 9)))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _pos: _origin_label(mdates.num2date(x), lang))
        )
        ax.tick_params(labelsize=7)
        style_axes(ax)
    axes[0].set_ylabel("MASE", fontsize=8.5)
    axes[0].set_ylim(bottom=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7.5, frameon=False)
    fig.suptitle(title or t("fc.history.chart_title", lang), fontsize=11)
    return fig


def history_vs_actual(
    history: Any,
    lang: str = "en",
    *,
    lead: int = 3,
    ids: Sequence[str] = ("company",),
    titles: dict[str, str] | None = None,
    currency: str = "RUB",
) -> Figure:
    """What was forecast ``lead`` months ahead at each origin (with its 80 % range) vs actuals.

    Example
    -------
    >>> history_vs_actual(ctx.accuracy_history, "en", ids=["company", "segment/B2B"])  # doctest: +SKIP
    """
    fig = new_figure(height=2.7)
    fc = history.forecasts if history is not None else pd.DataFrame()
    if fc.empty or not (fc["lead"] == lead).any():
        return empty_figure(fig, t("fc.history.no_chart", lang))
    ids = [uid for uid in ids if (fc["unique_id"].astype(str) == uid).any()]
    if not ids:
        return empty_figure(fig, t("fc.history.no_chart", lang))
    axes = fig.subplots(1, len(ids), squeeze=False).ravel()
    for ax, uid in zip(axes, ids, strict=True):
        own = fc[fc["unique_id"].astype(str) == uid].sort_values("ds")
        months = own.drop_duplicates("ds")
        ax.plot(
            pd.to_datetime(months["ds"]),
            months["actual"].astype("float64"),
            color="#333333",
            lw=1.3,
            marker=".",
            label=t("plot.legend.actual", lang),
        )
        at = own[own["lead"] == lead]
        ax.errorbar(
            pd.to_datetime(at["ds"]),
            at["yhat"].astype("float64"),
            yerr=np.vstack(
                [
                    (at["yhat"] - at["lo_80"]).clip(lower=0).to_numpy(dtype="float64"),
                    (at["hi_80"] - at["yhat"]).clip(lower=0).to_numpy(dtype="float64"),
                ]
            ),
            fmt="o",
            color=SEGMENT_COLORS["B2B"],
            ms=5,
            capsize=3,
            lw=1,
            label=t("fc.history.legend.forecast_at", lang, n=lead),
        )
        ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _pos: _month_label(mdates.num2date(x), lang))
        )
        ax.tick_params(labelsize=7)
        ax.set_title(_series_name(uid, lang, titles), fontsize=9, loc="left")
        style_axes(ax)
    axes[0].set_ylabel(
        t("plot.axis.revenue", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7.5, frameon=False)
    fig.suptitle(t("fc.history.vs_actual_title", lang, n=lead), fontsize=11)
    return fig
