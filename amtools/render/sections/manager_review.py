"""The manager review page: one manager's scorecard, score, trends, position among segment
peers (anonymous), strengths, development areas and training plan — its tables and charts.

Inputs are the run context's frames (``scoring.scorecard``, ``scoring.scores``,
``training.training_plan``); :func:`amtools.kpi.views.manager_trend_frame` prepares the trends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from amtools.core import i18n
from amtools.core.errors import ParameterError
from amtools.core.i18n import is_missing, t
from amtools.kpi.reasons import REASONS, reason_text
from amtools.kpi.registry import KPIS
from amtools.kpi.views import is_ranked
from amtools.render.charts import (
    GROUP_COLORS,
    NEUTRAL,
    QUARTILE_COLORS,
    SEGMENT_COLORS,
    TARGET_COLOR,
    axis_formatter,
    empty_figure,
    new_figure,
    period_labels,
    require_columns,
    row_major,
    sparse_ticks,
    style_axes,
    wrap,
)
from amtools.render.html import (
    BAD,
    GOOD,
    WARN,
    bullets,
    esc,
    html_table,
    paragraph,
    sparkline,
)
from amtools.render.sections.common import (
    attainment_cell,
    catalogue_order,
    group_name,
    kpi_label,
    kpi_meta,
    kpi_order,
    kpi_value,
    not_measured,
)

__all__ = [
    "manager_intro",
    "scorecard_table",
    "score_summary",
    "strengths_list",
    "development_list",
    "training_plan_table",
    "translate_reason",
    "data_notes",
    "kpi_trends",
    "score_contributions",
    "segment_position",
    "score_history",
]


def _quartile_class(q: Any) -> str:
    if is_missing(q):
        return ""
    return {1: GOOD, 2: "", 3: WARN, 4: BAD}.get(int(q), "")


def manager_intro(managers: pd.DataFrame, manager_id: str, period: str, lang: str = "en") -> HTML:
    """The review's opening line: name, segment, team and period (missing values as "—").

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["M1"], "name": ["Ann"], "segment": ["B2B"]})
    >>> manager_intro(managers, "M1", "2026Q3", "en").data
    '<p class="amt-note">Ann · segment B2B · team — · Q3 2026</p>'
    """
    row = managers[managers["manager_id"].astype(str) == str(manager_id)]
    if row.empty:
        raise ParameterError(
            f"manager_id {manager_id!r} is not in the managers table; "
            f"pick one of {', '.join(managers['manager_id'].astype(str).head(5))}"
        )
    record = row.iloc[0]

    def field(name: str) -> str:
        value = record.get(name)
        return i18n.MISSING if is_missing(value) or str(value).strip() == "" else str(value)

    return paragraph(
        t(
            "mr.intro",
            lang,
            name=field("name"),
            segment=field("segment"),
            team=field("team"),
            period=i18n.fmt_period(period, lang),
        )
    )


def _max_points(card: pd.DataFrame) -> pd.Series:
    """Points each KPI row could earn: ``max_points`` (weights renormalised over the KPIs
    that had data), or ``weight * 100`` for a scorecard without that column."""
    if "max_points" in card:
        return card["max_points"].astype("float64")
    return card["weight"].astype("float64") * 100


def scorecard_table(
    card: pd.DataFrame,
    period: str,
    lang: str = "en",
    *,
    currency: str = "RUB",
    trend_periods: int = 8,
) -> HTML:
    """The manager's scorecard by KPI group: value, target, attainment, trend, segment position.

    Parameters
    ----------
    card : the scorecard rows of ONE manager over several periods (``scoring.scorecard``
        columns: period, kpi, group, value, status, target, attainment, percentile,
        quartile, weight, contribution, max_points). "Points" shows the contribution out of
        ``max_points`` (the KPI's weight renormalised over the KPIs that had data), so the
        maxima add up to 100.
    period : the reporting period label; the trend covers up to ``trend_periods`` periods
        ending with it.

    Example
    -------
    >>> scorecard_table(ctx.scorecard.query("manager_id == 'M001'"), "2026Q3", "ru")  # doctest: +SKIP
    """
    periods = sorted(p for p in card["period"].astype(str).unique() if p <= period)[-trend_periods:]
    history = card[card["period"].astype(str).isin(periods)]
    trend = {
        kpi: sparkline(sub.set_index(sub["period"].astype(str))["value"].reindex(periods).tolist())
        for kpi, sub in history.groupby(history["kpi"].astype(str))
    }
    now = catalogue_order(card[card["period"].astype(str) == period])
    unmeasured = not_measured(now, lang)
    # only measured KPIs get a row; the others are named once, in the "not measured" line
    now = now[now["status"].astype(str) != "not_available"]
    now = now.assign(group_name=[group_name(g, lang) for g in now["group"].astype(str)])
    flag = t("tbl.insufficient_flag", lang)

    def value_text(row: pd.Series) -> str:
        status = str(row["status"])
        if status == "not_available":
            return t("tbl.not_available", lang)
        text = kpi_value(row["kpi"], row["value"], lang, currency)
        return f"{text} {flag}" if status == "insufficient_data" else text

    inferred = (
        now["inferred"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "inferred" in now
        else np.zeros(len(now), dtype=bool)
    )
    inferred_mark = t("kpi_inferred.mark", lang)
    rows = now.assign(
        kpi_text=[
            kpi_label(k, lang) + (f" {inferred_mark}" if inf else "")
            for k, inf in zip(now["kpi"].astype(str), inferred, strict=True)
        ],
        value_text=[value_text(r) for _, r in now.iterrows()],
        target_text=[
            kpi_value(k, v, lang, currency)
            for k, v in zip(now["kpi"].astype(str), now["target"], strict=True)
        ],
        trend=[trend.get(k, "") for k in now["kpi"].astype(str)],
        attainment=pd.Series(
            [
                attainment_cell(str(k), v, tg, a, lang)
                for k, v, tg, a in zip(
                    now["kpi"], now["value"], now["target"], now["attainment"], strict=True
                )
            ],
            index=now.index,
            dtype="object",
        ),
        points=[
            i18n.MISSING
            if is_missing(c) or is_missing(m) or m <= 0
            else f"{i18n.fmt_number(c, lang, digits=1)} / {i18n.fmt_number(m, lang, digits=1)}"
            for c, m in zip(now["contribution"], _max_points(now), strict=True)
        ],
    )
    headers = {
        "kpi_text": t("tbl.col.kpi", lang),
        "value_text": t("tbl.col.value", lang),
        "target_text": t("tbl.col.target", lang),
        "attainment": t("tbl.col.attainment", lang),
        "trend": t("tbl.col.trend", lang, n=len(periods)),
        "percentile": t("tbl.col.percentile", lang),
        "quartile": t("tbl.col.quartile", lang),
        "points": t("tbl.col.points", lang),
    }
    table = html_table(
        rows,
        headers=headers,
        formatters={
            "attainment": lambda x: x[0],
            "percentile": lambda x: i18n.fmt_number(x, lang),
            "quartile": lambda q: (
                i18n.MISSING if is_missing(q) else t(f"tbl.quartile.{int(q)}", lang)
            ),
            "trend": lambda s: f'<span class="amt-spark">{esc(s)}</span>',
        },
        raw_html=("trend",),
        numeric=("value_text", "target_text", "attainment", "percentile", "quartile", "points"),
        cell_classes={"attainment": lambda x: x[1], "quartile": _quartile_class},
        group_col="group_name",
    )
    legend = t(
        "tbl.scorecard_legend",
        lang,
        flag=flag,
        first=i18n.fmt_period(periods[0], lang) if periods else "",
        last=i18n.fmt_period(period, lang),
    )
    if now.empty:
        table = ""
    if inferred.any():
        legend += " " + t("kpi_inferred.churn", lang, mark=inferred_mark)
    return HTML(table + unmeasured.data + f'<p class="amt-note">{esc(legend)}</p>')


def score_summary(scores: pd.DataFrame, manager_id: str, period: str, lang: str = "en") -> HTML:
    """Headline tiles: score, rank within segment, change vs previous period, data coverage.

    Parameters
    ----------
    scores : ``scoring.scores`` output (all managers and periods; peers are only counted).
    manager_id, period : whose tiles, for which period.

    Example
    -------
    >>> score_summary(ctx.scores, "M001", "2026Q3", "en").data  # doctest: +SKIP
    '<div class="amt-kpis">...'
    """
    own = scores[scores["manager_id"].astype(str) == str(manager_id)].sort_values("period")
    now = own[own["period"].astype(str) == period]
    if now.empty:
        return HTML(f'<p class="amt-note">{esc(t("tbl.no_score", lang))}</p>')
    earlier = own.loc[own["period"].astype(str) < period, "score"].dropna()
    previous = earlier.iloc[-1] if len(earlier) else None
    score_row = now.iloc[0]
    peers = scores[
        (scores["period"].astype(str) == period) & (scores["segment"] == score_row["segment"])
    ]
    segment_size = int((peers["score"].notna() & is_ranked(peers)).sum())
    row = dict(score_row)
    tiles = [
        (i18n.fmt_number(row.get("score"), lang, digits=0) + " / 100", t("tbl.tile.score", lang))
    ]
    rank: Any = row.get("rank")
    ranked = bool(is_ranked(now).iloc[0])
    if not ranked:
        tiles.append((t("tbl.not_ranked", lang), t("tbl.tile.not_ranked", lang)))
        previous = None  # a score on too little data: its change says nothing
    elif not is_missing(rank):
        text = (
            t("tbl.tile.rank_of", lang, rank=int(rank), n=segment_size)
            if segment_size
            else i18n.fmt_number(rank, lang)
        )
        tiles.append((text, t("tbl.tile.rank", lang, segment=row.get("segment", ""))))
    if previous is not None and not is_missing(previous) and not is_missing(row.get("score")):
        delta = float(row["score"]) - float(previous)
        sign = "+" if delta > 0 else ""
        tiles.append((sign + i18n.fmt_number(delta, lang, digits=1), t("tbl.tile.change", lang)))
    if not is_missing(row.get("coverage")):
        tiles.append((i18n.fmt_percent(row["coverage"], lang), t("tbl.tile.coverage", lang)))
    body = "".join(
        f'<div class="amt-kpi"><div class="v">{esc(v)}</div><div class="l">{esc(label)}</div></div>'
        for v, label in tiles
    )
    return HTML(f'<div class="amt-kpis">{body}</div>')


def _reason(row: pd.Series, lang: str) -> str:
    column = "reason_ru" if lang == "ru" else "reason_en"
    value = row.get(column)
    return "" if is_missing(value) else str(value)


def strengths_list(plan: pd.DataFrame, lang: str = "en") -> HTML:
    """Strengths (``kind == "strength"`` rows of the training plan) as a bullet list.

    Example
    -------
    >>> strengths_list(ctx.training.query("manager_id == 'M001'"), "en")  # doctest: +SKIP
    """
    rows = plan[plan["kind"].astype(str) == "strength"].sort_values("priority")
    items = []
    for _, row in rows.iterrows():
        # the engine's reason already names the KPI ("Conversion rate 43% meets target 35%")
        items.append(_reason(row, lang) or kpi_label(str(row["kpi"]), lang))
    return bullets(items, empty=t("tbl.no_strengths", lang))


def development_list(plan: pd.DataFrame, lang: str = "en") -> HTML:
    """Development areas (``kind == "development"``) as a bullet list of KPI and reason."""
    rows = plan[plan["kind"].astype(str) == "development"].sort_values("priority")
    items = []
    for _, row in rows.drop_duplicates("kpi").iterrows():
        # the engine's reason already names the KPI ("Conversion rate 43% meets target 35%")
        items.append(_reason(row, lang) or kpi_label(str(row["kpi"]), lang))
    return bullets(items, empty=t("tbl.no_development", lang))


def training_plan_table(plan: pd.DataFrame, lang: str = "en") -> HTML:
    """The training plan: priority, the KPI to move, skill, course, hours and why.

    Parameters
    ----------
    plan : ``training.training_plan`` rows of one manager (development rows are shown).

    Example
    -------
    >>> training_plan_table(ctx.training.query("manager_id == 'M001'"), "ru")  # doctest: +SKIP
    """
    rows = plan[plan["kind"].astype(str) == "development"].sort_values("priority")
    if rows.empty:
        return HTML(f'<p class="amt-note">{esc(t("tbl.no_training", lang))}</p>')
    course_col = "course_ru" if lang == "ru" else "course_en"
    rows = rows.assign(
        kpi_text=[kpi_label(str(k), lang) for k in rows["kpi"]],
        skill_text=[
            i18n.MISSING if is_missing(s) else str(s)
            for s in rows["skill_ru" if lang == "ru" and "skill_ru" in rows else "skill"]
        ],
        course=rows[course_col],
        reason=[_reason(r, lang) for _, r in rows.iterrows()],
    )
    headers = {
        "priority": t("tbl.col.priority", lang),
        "kpi_text": t("tbl.col.kpi_to_move", lang),
        "skill_text": t("tbl.col.skill", lang),
        "course": t("tbl.col.course", lang),
        "hours": t("tbl.col.hours", lang),
        "reason": t("tbl.col.reason", lang),
    }
    return HTML(
        html_table(
            rows,
            headers=headers,
            formatters={
                "priority": lambda x: i18n.fmt_number(x, lang),
                "hours": lambda x: i18n.fmt_number(x, lang, digits=0),
            },
            numeric=("priority", "hours"),
        )
    )


def translate_reason(reason: Any, lang: str, args: Any = None) -> str:
    """Text in ``lang`` of a KPI reason: a key of ``amtools.kpi.REASONS`` with its
    ``reason_args`` (JSON or dict). Saved contexts of older layouts are refused on loading,
    so no English reason text reaches this point.

    Example
    -------
    >>> translate_reason("needs_column", "en", '{"column": "deals.cost"}')
    'needs column deals.cost'
    """
    if is_missing(reason) or not str(reason).strip():
        return ""
    key = str(reason).strip()
    if key in REASONS:
        return reason_text(key, args, lang)
    return key if lang == "en" else t("tbl.reason.other", lang)


def data_notes(card: pd.DataFrame, lang: str = "en") -> HTML:
    """Which KPIs lack data this period and why (insufficient sample or unavailable).

    Parameters
    ----------
    card : scorecard rows of one manager and one period (status, n, kpi, reason if present).

    Example
    -------
    >>> data_notes(card_now, "en")  # doctest: +SKIP
    """
    items = []
    ordered = catalogue_order(card)
    for _, row in ordered.iterrows():
        status = str(row["status"])
        name = kpi_label(str(row["kpi"]), lang)
        reason = translate_reason(row.get("reason"), lang, row.get("reason_args"))
        if status == "insufficient_data":
            spec = KPIS.get(str(row["kpi"]))
            n = row.get("n")
            text = t(
                "tbl.note.insufficient",
                lang,
                kpi=name,
                n=i18n.fmt_number(0 if is_missing(n) else n, lang),
                min=i18n.fmt_number(spec.min_sample if spec else 0, lang),
            )
            items.append(text + (f" ({reason})" if reason else ""))
        elif status == "not_available":
            items.append(
                t(
                    "tbl.note.not_available",
                    lang,
                    kpi=name,
                    reason=reason or t("tbl.reason.other", lang),
                )
            )
    return bullets(items, empty=t("tbl.note.all_ok", lang))


# --------------------------------------------------------------------------- charts


def kpi_trends(
    card: pd.DataFrame,
    lang: str = "en",
    *,
    kpis: Sequence[str] | None = None,
    ncols: int = 4,
    title: str | None = None,
) -> Figure:
    """Small multiples: one panel per KPI with its value over the periods and its target.

    Parameters
    ----------
    card : one manager's rows, columns ``period, kpi, value`` and optionally ``target``,
        ``status`` and ``peer_median`` (an anonymous segment median). Periods sort as labels.
    kpis : KPIs to draw (default: every KPI in ``card`` with at least one value), catalogue order.
    ncols : panels per row.

    Example
    -------
    >>> card = pd.DataFrame({"period": ["2026Q1", "2026Q2"], "kpi": "sales_volume",
    ...                      "value": [1e6, 1.2e6], "target": 1.1e6})
    >>> kpi_trends(card, "en").axes[0].get_title()  # doctest: +SKIP
    'Sales volume'
    """
    require_columns(card, ["period", "kpi", "value"], "kpi_trends")
    data = card.copy()
    periods = sorted(data["period"].astype(str).unique())
    if kpis is None:
        has_value = data.loc[data["value"].notna(), "kpi"].astype(str).unique()
        kpis = kpi_order(list(has_value))
    else:
        kpis = list(kpis)
    rows = max(1, math.ceil(len(kpis) / ncols))
    fig = new_figure(height=1.55 * rows + 0.5)
    if not kpis:
        return empty_figure(fig, t("plot.missing.trends", lang))
    axes = np.atleast_1d(fig.subplots(rows, ncols, squeeze=False)).ravel()
    position = {p: i for i, p in enumerate(periods)}
    short = period_labels(periods, lang)
    for ax, kpi in zip(axes, kpis, strict=False):
        unit, _direction, group = kpi_meta(kpi)
        rows_k = data[data["kpi"].astype(str) == kpi].sort_values("period")
        x = rows_k["period"].astype(str).map(position).to_numpy()
        y = rows_k["value"].astype("float64").to_numpy()
        color = GROUP_COLORS.get(group, NEUTRAL)
        if "peer_median" in rows_k:
            ax.plot(x, rows_k["peer_median"].astype("float64"), color="#bdbdbd", lw=1.2, ls="-")
        ax.plot(x, y, color=color, lw=1.6, marker="o", ms=3)
        if "status" in rows_k:
            weak = (rows_k["status"].astype(str) == "insufficient_data").to_numpy()
            if weak.any():
                ax.plot(x[weak], y[weak], ls="none", marker="o", ms=5, mfc="white", mec=color)
        if "target" in rows_k and rows_k["target"].notna().any():
            ax.plot(x, rows_k["target"].astype("float64"), color=TARGET_COLOR, lw=1, ls="--")
        ax.set_title(wrap(kpi_label(kpi, lang), 24), fontsize=8.5, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter(unit, lang))
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.set_xlim(-0.3, len(periods) - 0.7)
        sparse_ticks(ax, short, max_labels=2 if ncols >= 4 else 3)
        style_axes(ax)
        ax.tick_params(labelsize=6.5)
    for ax in axes[len(kpis) :]:
        ax.axis("off")
    legend = [
        Line2D([], [], color=NEUTRAL, marker="o", ms=3, label=t("plot.legend.value", lang)),
        Line2D([], [], color=TARGET_COLOR, ls="--", label=t("plot.legend.target", lang)),
    ]
    if "peer_median" in data:
        legend.append(Line2D([], [], color="#bdbdbd", label=t("plot.legend.peer_median", lang)))
    fig.legend(
        handles=legend, loc="outside lower center", ncols=len(legend), fontsize=8, frameon=False
    )
    fig.suptitle(title or t("plot.kpi_trends.title", lang), fontsize=11)
    return fig


def score_contributions(
    card: pd.DataFrame, lang: str = "en", *, title: str | None = None
) -> Figure:
    """What drove the score: points each KPI earned against the points it could earn.

    Parameters
    ----------
    card : one manager and one period of the scorecard; columns ``kpi, weight, contribution``
        and optionally ``group`` and ``max_points``. The maximum of a KPI is ``max_points``
        (its weight renormalised over the KPIs that had data; they add up to 100), or
        ``weight * 100`` without that column. Only measured KPIs are drawn: rows with
        ``status == "not_available"`` are left out (list them with
        :func:`amtools.render.sections.common.not_measured`); other weighted KPIs without a contribution
        are labelled "no data" with no bar.

    Example
    -------
    >>> card = pd.DataFrame({"kpi": ["sales_volume"], "weight": [0.3], "contribution": [21.0],
    ...                      "max_points": [100.0]})
    >>> score_contributions(card, "en")  # doctest: +SKIP
    """
    require_columns(card, ["kpi", "weight", "contribution"], "score_contributions")
    data = card[card["weight"].astype("float64").fillna(0) > 0].copy()
    if "status" in data:
        data = data[data["status"].astype(str) != "not_available"]
    order = kpi_order(list(data["kpi"].astype(str)))
    data = data.set_index(data["kpi"].astype(str)).loc[order].reset_index(drop=True)
    fig = new_figure(height=0.32 * max(len(data), 3) + 1.0)
    if data.empty:
        return empty_figure(fig, t("plot.missing.score", lang))
    ax = fig.subplots()
    y = np.arange(len(data))[::-1]
    if "max_points" in data:
        maximum = data["max_points"].astype("float64").fillna(0).to_numpy()
    else:
        maximum = data["weight"].astype("float64").to_numpy() * 100
    top = max(float(maximum.max()), 1.0)
    earned = data["contribution"].astype("float64").fillna(0).to_numpy()
    groups = (
        data["group"].astype(str) if "group" in data else pd.Series([kpi_meta(k)[2] for k in order])
    )
    colors = [GROUP_COLORS.get(g, NEUTRAL) for g in groups]
    ax.barh(y, maximum, color="#ececec", height=0.7, label=t("plot.legend.max_points", lang))
    ax.barh(y, earned, color=colors, height=0.7)
    statuses = (
        data["status"].astype(str).to_numpy()
        if "status" in data
        else np.full(len(data), "", dtype=object)
    )
    # a KPI without points is either measured but not scorable (no target and too few
    # peers for a percentile), measured on too small a sample, or without data
    why_not = {"ok": "plot.not_scored_short", "insufficient_data": "plot.insufficient_short"}
    for yi, got, cap, missing, status in zip(
        y, earned, maximum, data["contribution"].isna().to_numpy(), statuses, strict=True
    ):
        label = (
            t(why_not.get(str(status), "plot.no_data_short"), lang)
            if missing
            else f"{i18n.fmt_number(got, lang, digits=1)} / {i18n.fmt_number(cap, lang, digits=1)}"
        )
        ax.text(
            float(cap + top * 0.01), float(yi), label, va="center", fontsize=7.5, color="#333333"
        )
    ax.set_yticks(y)
    ax.set_yticklabels([kpi_label(k, lang) for k in order], fontsize=8)
    ax.set_xlim(0, top * 1.25)
    ax.set_xlabel(t("plot.axis.points", lang), fontsize=8.5)
    style_axes(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    seen: dict[str, str] = {}
    for g in groups:
        seen.setdefault(g, GROUP_COLORS.get(g, NEUTRAL))
    handles = [Patch(color=c, label=group_name(g, lang)) for g, c in seen.items()]
    handles.append(Patch(color="#ececec", label=t("plot.legend.max_points", lang)))
    ncols = min(4, len(handles))
    fig.legend(
        handles=row_major(handles, ncols),
        loc="outside lower center",
        ncols=ncols,
        fontsize=7.5,
        frameon=False,
    )
    fig.suptitle(title or t("plot.contributions.title", lang), fontsize=11)
    return fig


def segment_position(card: pd.DataFrame, lang: str = "en", *, title: str | None = None) -> Figure:
    """Where the manager stands among segment peers on each KPI (percentile 0..100).

    Peers are not drawn individually: only the quartile bands, so no peer can be identified.

    Parameters
    ----------
    card : one manager and one period; columns ``kpi, percentile`` and optionally ``quartile``.

    Example
    -------
    >>> segment_position(pd.DataFrame({"kpi": ["nps"], "percentile": [80.0]}), "en")  # doctest: +SKIP
    """
    require_columns(card, ["kpi", "percentile"], "segment_position")
    data = card[card["percentile"].notna()].copy()
    order = kpi_order(list(data["kpi"].astype(str)))
    data = data.set_index(data["kpi"].astype(str)).loc[order].reset_index(drop=True)
    fig = new_figure(height=0.28 * max(len(data), 3) + 1.0)
    if data.empty:
        return empty_figure(fig, t("plot.missing.position", lang))
    ax = fig.subplots()
    for lo, hi, q in ((75, 100, 1), (50, 75, 2), (25, 50, 3), (0, 25, 4)):
        ax.axvspan(lo, hi, color=QUARTILE_COLORS[q], alpha=0.10, lw=0)
    y = np.arange(len(data))[::-1]
    pct = data["percentile"].astype("float64").to_numpy()
    quart = np.clip(np.ceil((100 - pct) / 25), 1, 4).astype(int)
    if "quartile" in data:
        quart = data["quartile"].fillna(pd.Series(quart)).astype(int).to_numpy()
    ax.hlines(y, 0, pct, color="#d0d0d0", lw=1)
    ax.scatter(pct, y, c=[QUARTILE_COLORS[int(q)] for q in quart], s=36, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels([kpi_label(k, lang) for k in order], fontsize=8)
    ax.set_xlim(-3, 103)  # dots at 0 or 100 stay whole
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel(t("plot.axis.percentile", lang), fontsize=8.5)
    ax.axvline(50, color="#9e9e9e", lw=0.8, ls=":")
    style_axes(ax)
    ax.grid(axis="y", visible=False)
    handles = [
        Patch(color=QUARTILE_COLORS[q], alpha=0.6, label=t(f"plot.quartile.{q}", lang))
        for q in (1, 2, 3, 4)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=7.5, frameon=False)
    fig.suptitle(title or t("plot.position.title", lang), fontsize=11)
    return fig


def score_history(
    own: pd.DataFrame,
    lang: str = "en",
    *,
    peers: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """The manager's score over the periods against the segment's middle half (25th-75th pct).

    Parameters
    ----------
    own : columns ``period, score`` for one manager.
    peers : columns ``period, score`` for every manager of the segment — drawn only as the
        median and interquartile band, never as individual lines.

    Example
    -------
    >>> score_history(pd.DataFrame({"period": ["2026Q1", "2026Q2"], "score": [55.0, 61.0]}))  # doctest: +SKIP
    """
    require_columns(own, ["period", "score"], "score_history")
    own = own.sort_values("period")
    periods = sorted(
        set(own["period"].astype(str))
        | (set(peers["period"].astype(str)) if peers is not None else set())
    )
    pos = {p: i for i, p in enumerate(periods)}
    fig = new_figure(height=2.6)
    if own["score"].notna().sum() == 0:
        return empty_figure(fig, t("plot.missing.score", lang))
    ax = fig.subplots()
    if peers is not None and not peers.empty:
        q = (
            peers.groupby(peers["period"].astype(str))["score"]
            .quantile([0.25, 0.5, 0.75])  # type: ignore[arg-type]
            .unstack()
        )
        q = q.reindex(periods)
        xs = [pos[p] for p in q.index]
        ax.fill_between(
            xs,
            q[0.25],
            q[0.75],
            color="#d9d9d9",
            alpha=0.7,
            lw=0,
            label=t("plot.legend.peer_band", lang),
        )
        ax.plot(xs, q[0.5], color="#9e9e9e", lw=1, label=t("plot.legend.peer_median", lang))
    ax.plot(
        own["period"].astype(str).map(pos),
        own["score"].astype("float64"),
        color=SEGMENT_COLORS["B2B"],
        lw=2,
        marker="o",
        ms=4,
        label=t("plot.legend.own_score", lang),
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel(t("plot.axis.score", lang), fontsize=8.5)
    sparse_ticks(ax, period_labels(periods, lang), max_labels=8)
    style_axes(ax)
    ax.legend(fontsize=7.5, frameon=False, loc="lower left")
    fig.suptitle(title or t("plot.score_history.title", lang), fontsize=11)
    return fig
