"""The team review page: totals against targets, B2B beside B2C, the leaderboard, the
manager x KPI heatmap, revenue, retention and churn, the pipeline, lost deals and alerts —
its tables and charts.

The frames they format come from :mod:`amtools.kpi.views` (``totals_vs_targets``,
``segment_profile``, ``alerts``, ``heatmap_frame``, ``segment_series``, ``segment_targets``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from amtools.core import i18n
from amtools.core.errors import ParameterError
from amtools.core.i18n import is_missing, t
from amtools.core.vocab import SEGMENTS
from amtools.kpi.format import fmt_gap, fmt_kpi_value
from amtools.kpi.registry import KPIS
from amtools.kpi.views import is_ranked
from amtools.render.charts import (
    NEUTRAL,
    OTHER_COLORS,
    SEGMENT_COLORS,
    axis_formatter,
    compact,
    currency_symbol,
    empty_figure,
    month_labels,
    new_figure,
    period_labels,
    require_columns,
    sparse_ticks,
    style_axes,
    wrap,
)
from amtools.render.html import (
    BAD,
    GOOD,
    bullets,
    esc,
    html_table,
    paragraph,
    t_or,
)
from amtools.render.sections.common import (
    attainment_cell,
    is_signed,
    kpi_label,
    kpi_meta,
    kpi_order,
    kpi_value,
)

__all__ = [
    "leaderboard_table",
    "segment_profile_table",
    "totals_table",
    "alerts_table",
    "segment_comparison",
    "kpi_heatmap",
    "leaderboard_chart",
    "revenue_trend",
    "retention_churn",
    "pipeline_chart",
    "lost_deals",
]


def leaderboard_table(
    scores: pd.DataFrame,
    managers: pd.DataFrame,
    period: str,
    lang: str = "en",
    *,
    previous: str | None = None,
) -> HTML:
    """Managers by score for ``period``: name, segment, team, score, rank in segment, change.

    Parameters
    ----------
    scores : ``scoring.scores`` output (all periods).
    managers : the managers table (``manager_id, name``) for display names (escaped).
    previous : the previous period label; adds the change column.

    Example
    -------
    >>> leaderboard_table(ctx.scores, ctx.dataset.managers, "2026Q3", "en", previous="2026Q2")  # doctest: +SKIP
    """
    now = scores[scores["period"].astype(str) == period]
    names = managers.set_index(managers["manager_id"].astype(str))["name"]
    rows = now.assign(
        name=now["manager_id"].astype(str).map(names).fillna(now["manager_id"].astype(str))
    )
    if previous is not None:
        before = scores[scores["period"].astype(str) == previous].set_index("manager_id")["score"]
        rows = rows.assign(change=rows["score"] - rows["manager_id"].map(before))
    ranked = is_ranked(rows)
    rows = rows.assign(_ranked=ranked.to_numpy())
    rows = rows.sort_values(
        ["_ranked", "score"], ascending=[False, False], na_position="last"
    ).reset_index(drop=True)
    # only ranked managers get a place; the others are listed last, marked "not ranked"
    place = rows["_ranked"].cumsum().where(rows["_ranked"])
    rows = rows.assign(place=place, rank=rows["rank"].where(rows["_ranked"]))
    if "change" in rows:
        # a change of a score resting on too little data is no change in performance
        rows = rows.assign(change=rows["change"].where(rows["_ranked"]))
    not_ranked = t("tbl.not_ranked", lang)
    headers = {
        "place": "#",
        "name": t("tbl.col.manager", lang),
        "segment": t("tbl.col.segment", lang),
        "team": t("tbl.col.team", lang),
        "score": t("tbl.col.score", lang),
        "rank": t("tbl.col.rank_in_segment", lang),
    }
    if previous is not None:
        headers["change"] = t("tbl.col.change", lang)
    headers["coverage"] = t("tbl.col.coverage", lang)

    def change(x: Any) -> str:
        if is_missing(x):
            return i18n.MISSING
        return ("+" if x > 0 else "") + i18n.fmt_number(x, lang, digits=1)

    table = html_table(
        rows,
        headers=headers,
        formatters={
            "score": lambda x: i18n.fmt_number(x, lang, digits=1),
            "rank": lambda x: not_ranked if is_missing(x) else i18n.fmt_number(x, lang),
            "change": change,
            "coverage": lambda x: i18n.fmt_percent(x, lang),
            "place": lambda x: i18n.MISSING if is_missing(x) else str(int(x)),
        },
        numeric=("place", "score", "rank", "change", "coverage"),
        cell_classes={
            "change": lambda x: "" if is_missing(x) else GOOD if x >= 5 else BAD if x <= -5 else "",
            "rank": lambda x: "amt-muted" if is_missing(x) else "",
        },
    )
    if not rows["_ranked"].all():
        table += f'<p class="amt-note">{esc(t("tbl.not_ranked_note", lang))}</p>'
    return HTML(table)


def segment_profile_table(
    profile: pd.DataFrame, lang: str = "en", *, currency: str = "RUB"
) -> HTML:
    """Format :func:`amtools.kpi.views.segment_profile`: metric, one column per segment,
    what the seed expects, agrees?

    Measures neither segment has a value for are left out and named in one
    "not measured" line.

    Example
    -------
    >>> segment_profile_table(views.segment_profile(ctx.kpis_segment, ctx.dataset, ctx.period), "ru")  # doctest: +SKIP
    """
    empty = profile[list(SEGMENTS)].astype("float64").isna().all(axis=1)
    missing = list(profile.loc[empty, "metric"].astype(str))
    profile = profile[~empty]
    columns = {segment: f"value_{segment}" for segment in SEGMENTS}
    rows = profile.assign(
        metric_text=[kpi_label(m, lang) for m in profile["metric"]],
        **{
            column: [
                kpi_value(m, v, lang, currency)
                for m, v in zip(profile["metric"], profile[segment], strict=True)
            ]
            for segment, column in columns.items()
        },
        expected=[
            t("tbl.expected_higher", lang, segment=s)
            if not is_missing(s)
            else t("tbl.no_claim", lang)
            for s in profile["expected_higher"]
        ],
        check=[
            i18n.MISSING if is_missing(a) else t("tbl.yes", lang) if a else t("tbl.no", lang)
            for a in profile["agrees"]
        ],
    )
    headers = {"metric_text": t("tbl.col.metric", lang)}
    # a segment the data does not have: no column of dashes
    headers |= {
        column: segment
        for segment, column in columns.items()
        if not profile[segment].astype("float64").isna().all()
    }
    headers |= {"expected": t("tbl.col.seed_expects", lang), "check": t("tbl.col.agrees", lang)}
    numeric = tuple(columns.values())
    table = html_table(rows, headers=headers, numeric=numeric) if len(rows) else ""
    if missing:
        names = ", ".join(kpi_label(m, lang) for m in missing)
        table += paragraph(t("tbl.not_measured", lang, kpis=names, n=len(missing))).data
    return HTML(table)


def totals_table(totals: pd.DataFrame, lang: str = "en", *, currency: str = "RUB") -> HTML:
    """Format :func:`amtools.kpi.views.totals_vs_targets`: one row per KPI, one column per scope, each cell the
    value over "target · attainment" (so three scopes fit an A4-wide page).

    Example
    -------
    >>> totals_table(totals_vs_targets(...), "en")  # doctest: +SKIP
    """
    scopes = [s for s in ("all", *SEGMENTS) if s in set(totals["scope"])]
    measured = totals.loc[totals["value"].astype("float64").notna(), "kpi"]
    kpis = [k for k in dict.fromkeys(totals["kpi"]) if k in set(measured)]
    missing = [k for k in dict.fromkeys(totals["kpi"]) if k not in set(measured)]
    target_word = t("tbl.col.target", lang)
    records = []
    for kpi in kpis:
        record: dict[str, Any] = {"kpi": kpi_label(kpi, lang)}
        for scope in scopes:
            hit = totals[(totals["kpi"] == kpi) & (totals["scope"] == scope)]
            value = hit["value"].iloc[0] if len(hit) else np.nan
            target = hit["target"].iloc[0] if len(hit) else np.nan
            att = hit["attainment"].iloc[0] if len(hit) else np.nan
            cell = f"<div>{esc(kpi_value(kpi, value, lang, currency))}</div>"
            if not is_missing(target):
                text, cls = attainment_cell(kpi, value, target, att, lang)
                cell += (
                    f'<div class="amt-muted">{esc(target_word)} {esc(kpi_value(kpi, target, lang, currency))}'
                    f' · <span class="{cls}">{esc(text)}</span></div>'
                )
            record[scope] = cell
        records.append(record)
    frame = pd.DataFrame(records, columns=["kpi", *scopes])
    headers = {"kpi": t("tbl.col.kpi", lang)}
    headers |= {s: t("tbl.scope.all", lang) if s == "all" else s for s in scopes}
    table = html_table(frame, headers=headers, numeric=scopes, raw_html=scopes) if kpis else ""
    if missing:
        names = ", ".join(kpi_label(k, lang) for k in missing)
        table += paragraph(t("tbl.not_measured", lang, kpis=names, n=len(missing))).data
    return HTML(table)


def alerts_table(
    alert_frame: pd.DataFrame, managers: pd.DataFrame, lang: str = "en", *, currency: str = "RUB"
) -> HTML:
    """Format :func:`amtools.kpi.views.alerts` as sentences with the manager's name (escaped).

    Example
    -------
    >>> alerts_table(alerts(...), ctx.dataset.managers, "ru")  # doctest: +SKIP
    """
    if alert_frame.empty:
        return HTML(f'<p class="amt-note">{esc(t("tbl.alert.none", lang))}</p>')
    names = managers.set_index(managers["manager_id"].astype(str))["name"]
    items = []
    for _, row in alert_frame.iterrows():
        name = str(names.get(str(row["manager_id"]), row["manager_id"]))
        if row["kind"] == "score_drop":
            items.append(
                t(
                    "tbl.alert.score_drop",
                    lang,
                    name=name,
                    before=i18n.fmt_number(row["reference"], lang, digits=1),
                    now=i18n.fmt_number(row["value"], lang, digits=1),
                )
            )
        else:
            kpi = str(row["kpi"])
            actual = row.get("actual", np.nan)
            if is_missing(actual):
                text = t(
                    "tbl.alert.below_target",
                    lang,
                    name=name,
                    kpi=kpi_label(kpi, lang),
                    attainment=i18n.fmt_percent(row["value"], lang),
                    target=kpi_value(kpi, row["reference"], lang, currency),
                )
            else:
                gap = (
                    fmt_gap(kpi, actual, row["reference"], lang)
                    if is_signed(kpi)
                    else t("tbl.alert.of_target", lang, x=i18n.fmt_percent(row["value"], lang))
                )
                text = t(
                    "tbl.alert.below_target_value",
                    lang,
                    name=name,
                    kpi=kpi_label(kpi, lang),
                    value=kpi_value(kpi, actual, lang, currency),
                    target=kpi_value(kpi, row["reference"], lang, currency),
                    gap=gap,
                )
            if "ranked" in row and not bool(row["ranked"]):
                text += " " + t("tbl.alert.not_ranked", lang)
            items.append(text)
    return bullets(items)


# --------------------------------------------------------------------------- charts


def _needs(kpi_ids: Sequence[str]) -> str:
    """What the KPIs need from the data (tables and optional columns), from the registry."""
    needs: list[str] = []
    for kpi in kpi_ids:
        spec = KPIS.get(kpi)
        if spec is None:
            continue
        needs += [f"{table}" for table in spec.tables] + list(spec.columns)
    return ", ".join(dict.fromkeys(needs))


def _missing_kpis(kpi_ids: Sequence[str], lang: str) -> str:
    """'Retention and churn are not measured: needs clients.churned_date' in ``lang``."""
    names = ", ".join(kpi_label(k, lang) for k in kpi_ids)
    needs = _needs(kpi_ids)
    if needs:
        return t("plot.missing.kpis_needs", lang, kpis=names, needs=needs)
    return t("plot.missing.kpis", lang, kpis=names)


def segment_comparison(
    frame: pd.DataFrame, lang: str = "en", *, ncols: int = 4, title: str | None = None
) -> Figure:
    """B2B beside B2C on each metric: one small bar panel per metric.

    Parameters
    ----------
    frame : columns ``metric, segment, value`` (``metric`` a KPI id or a ``metric.*`` key such as
        ``clients_per_manager``).

    Example
    -------
    >>> f = pd.DataFrame({"metric": "average_check", "segment": ["B2B", "B2C"], "value": [9e5, 4e4]})
    >>> segment_comparison(f, "en")  # doctest: +SKIP
    """
    require_columns(frame, ["metric", "segment", "value"], "segment_comparison")
    measured = frame.loc[frame["value"].astype("float64").notna(), "metric"].astype(str)
    # a metric neither segment measured is left out (the table's "not measured" line names it)
    metrics = [m for m in dict.fromkeys(frame["metric"].astype(str)) if m in set(measured)]
    rows = max(1, math.ceil(len(metrics) / ncols))
    fig = new_figure(height=1.8 * rows + 0.6)
    if not metrics:
        return empty_figure(fig, t("plot.missing.segments", lang))
    axes = fig.subplots(rows, ncols, squeeze=False).ravel()
    has_value = frame.loc[frame["value"].astype("float64").notna(), "segment"].astype(str)
    # a segment without any value (no B2C managers at all) gets no empty bars
    segments = [s for s in SEGMENTS if s in set(has_value)]
    for ax, metric in zip(axes, metrics, strict=False):
        unit = kpi_meta(metric)[0]
        sub = frame[frame["metric"].astype(str) == metric]
        sub = sub.set_index(sub["segment"].astype(str))
        values = [float(sub["value"].get(s, np.nan)) for s in segments]
        heights = [0.0 if np.isnan(v) else v for v in values]
        bars = ax.bar(segments, heights, color=[SEGMENT_COLORS[s] for s in segments], width=0.6)
        top = max([*heights, 0.0])
        bottom = min([*heights, 0.0])
        span = (top - bottom) or 1.0
        for bar, v in zip(bars, values, strict=True):
            if np.isnan(v):
                text = t("plot.no_data_short", lang)
            elif unit == "currency":
                text = compact(v, lang)
            else:
                text = fmt_kpi_value(metric, v, lang) if metric in KPIS else compact(v, lang)
            y = 0.0 if np.isnan(v) else v
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                y + (span * 0.02 if y >= 0 else -span * 0.02),
                text,
                ha="center",
                va="bottom" if y >= 0 else "top",
                fontsize=7.5,
            )
        ax.set_ylim(
            bottom - span * 0.2 if bottom < 0 else 0, top + span * 0.25 if top > 0 else span * 0.1
        )
        if bottom < 0:
            ax.axhline(0, color="#9e9e9e", lw=0.8)
        ax.set_title(wrap(kpi_label(metric, lang), 22), fontsize=8.5, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter(unit, lang))
        ax.yaxis.set_major_locator(MaxNLocator(3))
        style_axes(ax)
    for ax in axes[len(metrics) :]:
        ax.axis("off")
    fig.suptitle(title or t("plot.segment_comparison.title", lang), fontsize=11)
    return fig


def kpi_heatmap(
    frame: pd.DataFrame,
    lang: str = "en",
    *,
    value: str = "percentile",
    title: str | None = None,
) -> Figure:
    """Manager x KPI heatmap of percentiles (0..100) or attainment (1 = on target).

    Parameters
    ----------
    frame : columns ``label`` (row label, e.g. the manager's name), ``kpi`` and ``value``.
        Row order is kept as given (sort it by score first).
    value : ``"percentile"`` or ``"attainment"`` — sets the colour scale and legend.

    Example
    -------
    >>> f = pd.DataFrame({"label": ["Ann", "Bob"], "kpi": "nps", "value": [90.0, 10.0]})
    >>> kpi_heatmap(f, "en")  # doctest: +SKIP
    """
    import seaborn as sns  # heavy, and only the heatmap draws with it

    require_columns(frame, ["label", "kpi", "value"], "kpi_heatmap")
    if value not in ("percentile", "attainment"):
        raise ParameterError(
            f"kpi_heatmap: value must be 'percentile' or 'attainment', got {value!r}"
        )
    labels = list(dict.fromkeys(frame["label"].astype(str)))
    kpis = kpi_order(list(frame["kpi"].astype(str).unique()))
    grid = frame.pivot_table(index="label", columns="kpi", values="value", aggfunc="mean")
    grid = grid.reindex(index=labels, columns=kpis)
    height = 0.28 * len(labels) + 2.4
    fig = new_figure(height=height)
    if grid.empty or grid.isna().all().all():
        return empty_figure(fig, t(f"plot.missing.heatmap.{value}", lang))
    ax = fig.subplots()
    if value == "percentile":
        kwargs: dict[str, Any] = {"vmin": 0, "vmax": 100, "cmap": "RdYlGn", "fmt": ".0f"}
        bar_label = t("plot.axis.percentile", lang)
        annot = grid
    else:
        kwargs = {"vmin": 0, "vmax": 2, "center": 1, "cmap": "RdYlGn", "fmt": ".0%"}
        bar_label = t("plot.axis.attainment", lang)
        annot = grid
    sns.heatmap(
        grid,
        ax=ax,
        annot=annot if len(kpis) <= 24 else False,
        annot_kws={"fontsize": 6},
        linewidths=0.4,
        linecolor="white",
        cbar_kws={
            "label": bar_label,
            "shrink": 0.6,
            "format": axis_formatter("ratio" if value == "attainment" else "score", lang),
        },
        **kwargs,
    )
    ax.set_xticks(np.arange(len(kpis)) + 0.5)
    ax.set_xticklabels(
        [kpi_label(k, lang) for k in kpis],
        rotation=40,
        ha="right",
        rotation_mode="anchor",
        fontsize=7,
    )
    ax.set_yticks(np.arange(len(labels)) + 0.5)
    ax.set_yticklabels(labels, rotation=0, fontsize=7)
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.suptitle(title or t(f"plot.heatmap.title.{value}", lang), fontsize=11)
    return fig


def leaderboard_chart(frame: pd.DataFrame, lang: str = "en", *, title: str | None = None) -> Figure:
    """Horizontal bars of the score per manager, coloured by segment, best on top.

    Parameters
    ----------
    frame : columns ``label, segment, score``.

    Example
    -------
    >>> leaderboard_chart(pd.DataFrame({"label": ["Ann"], "segment": ["B2B"], "score": [71.0]}))  # doctest: +SKIP
    """
    require_columns(frame, ["label", "segment", "score"], "leaderboard_chart")
    data = frame.sort_values("score", ascending=False, na_position="last").reset_index(drop=True)
    fig = new_figure(height=0.26 * max(len(data), 4) + 1.0)
    if data.empty or data["score"].isna().all():
        return empty_figure(fig, t("plot.missing.score", lang))
    ax = fig.subplots()
    y = np.arange(len(data))[::-1]
    scores = data["score"].astype("float64").fillna(0).to_numpy()
    ax.barh(
        y, scores, color=[SEGMENT_COLORS.get(str(s), NEUTRAL) for s in data["segment"]], height=0.7
    )
    for yi, s in zip(y, scores, strict=True):
        ax.text(float(s) + 1, yi, i18n.fmt_number(s, lang, digits=0), va="center", fontsize=7.5)
    ax.set_yticks(y)
    ax.set_yticklabels(data["label"].astype(str), fontsize=7.5)
    ax.set_xlim(0, 105)
    ax.set_xlabel(t("plot.axis.score", lang), fontsize=8.5)
    style_axes(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e6e6e6")
    segs = [s for s in SEGMENTS if s in set(data["segment"].astype(str))]
    handles = [Patch(color=SEGMENT_COLORS[s], label=s) for s in segs]
    ax.legend(handles=handles, fontsize=7.5, frameon=False, loc="lower right")
    fig.suptitle(title or t("plot.leaderboard.title", lang), fontsize=11)
    return fig


def _by_segment_lines(
    ax: Any, frame: pd.DataFrame, x_col: str, periods: list[str], lang: str, total: bool
) -> None:
    pos = {p: i for i, p in enumerate(periods)}
    for segment, sub in frame.groupby(frame["segment"].astype(str), sort=True):
        sub = sub.sort_values(x_col)
        name = t("plot.legend.all", lang) if segment == "all" else segment
        ax.plot(
            sub[x_col].astype(str).map(pos),
            sub["value"].astype("float64"),
            color=SEGMENT_COLORS.get(segment, NEUTRAL),
            lw=2 if segment != "all" else 1.4,
            ls="-" if segment != "all" else "--",
            marker="o",
            ms=3,
            label=name,
        )


def revenue_trend(
    frame: pd.DataFrame,
    lang: str = "en",
    *,
    currency: str = "RUB",
    targets: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Won revenue per period, one line per segment (and ``all`` if present), with targets.

    Parameters
    ----------
    frame : columns ``period, segment, value`` (``segment`` may include ``"all"``).
    targets : optional columns ``period, segment, target`` drawn as dashed steps.

    Example
    -------
    >>> f = pd.DataFrame({"period": ["2026Q1", "2026Q2"], "segment": "B2B", "value": [1e6, 2e6]})
    >>> revenue_trend(f, "ru")  # doctest: +SKIP
    """
    require_columns(frame, ["period", "segment", "value"], "revenue_trend")
    periods = sorted(frame["period"].astype(str).unique())
    fig = new_figure(height=3.0)
    if not periods or frame["value"].astype("float64").isna().all():
        return empty_figure(fig, _missing_kpis(["sales_volume"], lang))
    ax = fig.subplots()
    _by_segment_lines(ax, frame, "period", periods, lang, total=True)
    if targets is not None and not targets.empty:
        pos = {p: i for i, p in enumerate(periods)}
        for segment, sub in targets.groupby(targets["segment"].astype(str)):
            sub = sub[sub["period"].astype(str).isin(pos)].sort_values("period")
            ax.plot(
                sub["period"].astype(str).map(pos),
                sub["target"].astype("float64"),
                color=SEGMENT_COLORS.get(segment, NEUTRAL),
                lw=1,
                ls=":",
                label=t("plot.legend.target_of", lang, segment=segment),
            )
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        t("plot.axis.revenue", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    sparse_ticks(ax, period_labels(periods, lang), max_labels=8)
    style_axes(ax)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        fontsize=7.5,
        frameon=False,
        ncols=min(len(labels), 5),
    )
    fig.suptitle(title or t("plot.revenue_trend.title", lang), fontsize=11)
    return fig


def retention_churn(frame: pd.DataFrame, lang: str = "en", *, title: str | None = None) -> Figure:
    """Two panels: retention rate and churn rate per period and segment.

    Parameters
    ----------
    frame : columns ``period, segment, kpi, value`` with kpi in ``retention_rate``, ``churn_rate``.

    Example
    -------
    >>> retention_churn(kpis_segment.rename(columns={"segment": "segment"}), "en")  # doctest: +SKIP
    """
    require_columns(frame, ["period", "segment", "kpi", "value"], "retention_churn")
    periods = sorted(frame["period"].astype(str).unique())
    fig = new_figure(height=2.8)
    wanted = ("retention_rate", "churn_rate")
    values = frame["value"].astype("float64")
    measured = [k for k in wanted if values[frame["kpi"].astype(str) == k].notna().any()]
    if not periods or not measured:
        return empty_figure(fig, _missing_kpis(list(wanted), lang))
    axes = np.atleast_1d(fig.subplots(1, len(measured)))
    for ax, kpi in zip(axes, measured, strict=True):
        sub = frame[frame["kpi"].astype(str) == kpi]
        _by_segment_lines(ax, sub, "period", periods, lang, total=False)
        ax.set_title(kpi_label(kpi, lang), fontsize=9, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter("ratio", lang))
        sparse_ticks(ax, period_labels(periods, lang), max_labels=4)
        style_axes(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        fontsize=7.5,
        frameon=False,
        ncols=len(labels) or 1,
    )
    fig.suptitle(title or t("plot.retention_churn.title", lang), fontsize=11)
    return fig


def pipeline_chart(
    pipeline: pd.DataFrame, lang: str = "en", *, currency: str = "RUB", title: str | None = None
) -> Figure:
    """Open pipeline by expected close month: full amount (light) and probability-weighted (solid).

    Parameters
    ----------
    pipeline : columns ``ds, segment, weighted_pipeline, open_amount`` (``pipeline_view`` output).

    Example
    -------
    >>> pipeline_chart(amtools.forecast.pipeline_view(ds), "en")  # doctest: +SKIP
    """
    require_columns(
        pipeline, ["ds", "segment", "weighted_pipeline", "open_amount"], "pipeline_chart"
    )
    months = sorted(pd.to_datetime(pipeline["ds"]).unique())
    fig = new_figure(height=2.8)
    amounts = pipeline[["weighted_pipeline", "open_amount"]].astype("float64").fillna(0.0)
    if not months or not (amounts != 0).to_numpy().any():
        # nothing open with an expected close date: no axis of zeros ("0,0 / -0,0")
        return empty_figure(fig, t("plot.missing.pipeline", lang))
    ax = fig.subplots()
    segments = [s for s in SEGMENTS if s in set(pipeline["segment"].astype(str))]
    width = 0.8 / max(len(segments), 1)
    x = np.arange(len(months))
    for i, segment in enumerate(segments):
        sub = pipeline[pipeline["segment"].astype(str) == segment].copy()
        sub["ds"] = pd.to_datetime(sub["ds"])
        sub = sub.set_index("ds").reindex(months)
        offset = (i - (len(segments) - 1) / 2) * width
        color = SEGMENT_COLORS.get(segment, NEUTRAL)
        ax.bar(x + offset, sub["open_amount"].fillna(0), width * 0.95, color=color, alpha=0.25)
        ax.bar(
            x + offset, sub["weighted_pipeline"].fillna(0), width * 0.95, color=color, label=segment
        )
    ax.set_xticks(x)
    ax.set_xticklabels(month_labels(months, lang))
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        t("plot.axis.amount", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    style_axes(ax)
    handles = [
        Patch(
            color=SEGMENT_COLORS.get(s, NEUTRAL),
            label=t("plot.legend.weighted_of", lang, segment=s),
        )
        for s in segments
    ]
    handles.append(Patch(color=NEUTRAL, alpha=0.25, label=t("plot.legend.open_amount", lang)))
    ax.legend(handles=handles, fontsize=7.5, frameon=False)
    fig.suptitle(title or t("plot.pipeline.title", lang), fontsize=11)
    return fig


def lost_deals(
    deals: pd.DataFrame,
    lang: str = "en",
    *,
    by: str = "competitor",
    freq: str = "Q",
    top: int = 6,
    periods: int = 8,
    title: str | None = None,
) -> Figure:
    """Market monitoring: lost deals per period, stacked by competitor or by lost reason.

    Parameters
    ----------
    deals : the ``deals`` table (``stage, closed_date`` and the ``by`` column are used).
    by : ``"competitor"`` or ``"lost_reason"``; the ``top`` most frequent values are shown,
        the rest as "other", empty values as "not recorded".
    freq : ``"Q"`` or ``"M"``; only the last ``periods`` periods are drawn.

    Example
    -------
    >>> lost_deals(ds.deals, "en", by="lost_reason")  # doctest: +SKIP
    """
    require_columns(deals, ["stage", "closed_date"], "lost_deals")
    fig = new_figure(height=2.9)
    if (
        by not in deals.columns
        or not deals[by].astype("string").str.strip().fillna("").ne("").any()
    ):
        return empty_figure(fig, t(f"plot.missing.lost.{by}", lang, column=f"deals.{by}"))
    lost = deals[(deals["stage"].astype(str) == "lost") & deals["closed_date"].notna()]
    if lost.empty:
        return empty_figure(fig, t("plot.missing.lost.none", lang))
    period = pd.to_datetime(lost["closed_date"]).dt.to_period(freq)
    keep = sorted(period.unique())[-periods:]
    mask = period.isin(keep)
    lost, period = lost[mask], period[mask]
    label = lost[by].astype("string").fillna("").str.strip()
    not_recorded = t("plot.lost.not_recorded", lang)
    label = label.mask(label == "", not_recorded)
    if by == "lost_reason":
        # common reasons get a translation; anything else is shown as recorded
        label = label.map(lambda v: t_or(f"lost_reason.{str(v).lower()}", lang, str(v))).astype(
            "string"
        )
    leaders = [v for v in label.value_counts().index if v != not_recorded][:top]
    other = t("plot.lost.other", lang)
    label = label.where(label.isin([*leaders, not_recorded]), other)
    counts = pd.crosstab(period.astype(str).to_numpy(), label.to_numpy())
    columns = [c for c in [*leaders, other, not_recorded] if c in counts.columns]
    counts = counts[columns]
    ax = fig.subplots()
    bottom = np.zeros(len(counts))
    for i, column in enumerate(columns):
        color = (
            "#c8c8c8" if column in (other, not_recorded) else OTHER_COLORS[i % len(OTHER_COLORS)]
        )
        if column == not_recorded:
            color = "#e8e8e8"
        ax.bar(
            np.arange(len(counts)),
            counts[column],
            bottom=bottom,
            color=color,
            label=column,
            width=0.7,
        )
        bottom += counts[column].to_numpy()
    ax.set_xticks(np.arange(len(counts)))
    ax.set_xticklabels(period_labels(list(counts.index), lang), fontsize=7.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.yaxis.set_major_formatter(axis_formatter("count", lang))
    ax.set_ylabel(t("plot.axis.lost_deals", lang), fontsize=8.5)
    style_axes(ax)
    fig.legend(loc="outside right center", fontsize=7, frameon=False)
    fig.suptitle(title or t(f"plot.lost.title.{by}", lang), fontsize=11)
    return fig
