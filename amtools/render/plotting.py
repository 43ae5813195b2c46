"""Every chart of the reports: tidy frames in, a translated matplotlib Figure out."""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from amtools.core import i18n
from amtools.core.errors import ParameterError
from amtools.kpi.format import fmt_kpi_value, kpi_name

__all__ = [
    "SEGMENT_COLORS",
    "GROUP_COLORS",
    "SCENARIO_COLORS",
    "PAGE_WIDTH",
    "figure_html",
    "show",
    "axis_formatter",
    "kpi_trends",
    "score_contributions",
    "segment_position",
    "score_history",
    "segment_comparison",
    "kpi_heatmap",
    "leaderboard_chart",
    "revenue_trend",
    "retention_churn",
    "pipeline_chart",
    "lost_deals",
    "fan_chart",
    "fan_grid",
    "pipeline_vs_forecast",
    "budget_revenue",
    "cost_breakdown",
    "margin_chart",
]

PAGE_WIDTH = 8.0
"""Figure width in inches: fits an A4 page (portrait, normal margins) at 96 dpi."""

SEGMENT_COLORS: dict[str, str] = {"B2B": "#1f5f8b", "B2C": "#e07b24", "all": "#4d4d4d"}
GROUP_COLORS: dict[str, str] = {
    "financial": "#1f77b4",
    "client": "#2ca02c",
    "activity": "#ff7f0e",
    "project": "#9467bd",
    "internal": "#8c564b",
    "professional": "#17becf",
}
SCENARIO_COLORS: dict[str, str] = {
    "plan": "#222222",
    "low": "#c0504d",
    "base": "#1f5f8b",
    "high": "#4f9a3a",
    "aggressive": "#9467bd",
}
_QUARTILE_COLORS = {1: "#2e7d32", 2: "#8bc34a", 3: "#ffb300", 4: "#d84315"}
_NEUTRAL = "#6e6e6e"
_TARGET = "#b22222"
_OTHER_COLORS = [
    "#1f5f8b",
    "#e07b24",
    "#4f9a3a",
    "#9467bd",
    "#c0504d",
    "#17becf",
    "#8c564b",
    "#bcbd22",
]
_DPI = 120

# Text from data is inert: names such as ``$x$`` or ``$$\int$$`` are drawn literally, never
# parsed as mathtext (which would garble them or raise). Every label of every chart is built
# by amtools (no chart needs mathtext), so the plotting style turns it off for all text.
matplotlib.rcParams["text.parse_math"] = False

MISSING_ATTR = "amtools_missing"
"""Attribute of a Figure that has nothing to show: the one line that replaces it."""


# --------------------------------------------------------------------------- display
def figure_html(fig: Figure, *, alt: str = "") -> str:
    """Render ``fig`` to an ``<img>`` tag with the PNG embedded (the report works offline).

    Example
    -------
    >>> fig = Figure(figsize=(2, 1)); _ = fig.subplots().plot([0, 1])
    >>> figure_html(fig, alt="a line").startswith('<figure class="amt-figure">')
    True

    A figure with nothing to show (see :func:`missing_message`) becomes its one line of text:

    >>> figure_html(_empty(Figure(), "No deals have a competitor")).startswith('<p class=')
    True
    """
    message = missing_message(fig)
    if message is not None:
        return f'<p class="amt-note amt-missing">{html.escape(message)}</p>'
    buffer = io.BytesIO()
    # constrained layout already fits labels; "tight" would cost a second full draw
    tight = None if fig.get_layout_engine() is not None else "tight"
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches=tight, facecolor="white")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    width = int(round(fig.get_figwidth() * 96))
    return (
        '<figure class="amt-figure">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        f'style="width:{width}px;max-width:100%;height:auto"></figure>'
    )


def missing_message(fig: Figure) -> str | None:
    """The line that replaces ``fig`` when it has nothing to show (else ``None``).

    Chart functions return such a figure instead of a blank or all-zero chart; the message
    says what is missing and how to get it, in the report's language.

    Example
    -------
    >>> missing_message(_empty(Figure(), "needs deals.competitor"))
    'needs deals.competitor'
    """
    value = getattr(fig, MISSING_ATTR, None)
    return None if value is None else str(value)


def show(fig: Figure, *, alt: str | None = None) -> None:
    """Display ``fig`` as an embedded PNG in the notebook output, then release it.

    ``alt`` defaults to the figure's title (suptitle or first axes title). A figure with
    nothing to show is displayed as its one line (:func:`missing_message`) instead.

    Example
    -------
    >>> show(kpi_trends(card, "ru"))  # doctest: +SKIP
    """
    from IPython.display import HTML, display

    if alt is None:
        alt = fig.get_suptitle()
        if not alt and fig.axes:
            alt = fig.axes[0].get_title()
    display(HTML(figure_html(fig, alt=alt)))
    # Figures are built without pyplot (no global state, no backend switch in the
    # kernel); clearing frees the artists at once.
    fig.clf()


# --------------------------------------------------------------------------- formatting
def _t(key: str, lang: str, **kw: Any) -> str:
    return i18n.t(key, lang, **kw)


def _t_or(key: str, lang: str, default: str) -> str:
    """Translate ``key`` when the catalogue has it, else return ``default`` (data values)."""
    try:
        return i18n.t(key, lang)
    except KeyError:
        return default


def _currency_symbol(currency: str, lang: str) -> str:
    from babel.numbers import get_currency_symbol

    try:
        return get_currency_symbol(currency, locale=lang)
    except Exception:  # unknown locale or currency: fall back to the ISO code
        return currency


def _compact(x: float, lang: str, *, precise: bool = False) -> str:
    """1234567 -> '1.2M' / '1,2 млн' (axis ticks stay short); ``precise`` keeps three
    significant digits ('1.12B' vs '1.09B') for value labels that must tell bars apart."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    size = abs(x)
    for limit, key in ((1e9, "plot.unit.bn"), (1e6, "plot.unit.mn"), (1e3, "plot.unit.k")):
        if size >= limit:
            value = x / limit
            if precise:
                digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
                return _t(key, lang, x=i18n.fmt_number(value, lang, digits=digits))
            digits = 0 if abs(value) >= 10 or float(value).is_integer() else 1
            return _t(key, lang, x=i18n.fmt_number(value, lang, digits=digits))
    digits = 0 if float(x).is_integer() or size >= 10 else 1
    return i18n.fmt_number(x, lang, digits=digits)


@functools.lru_cache(maxsize=4096)
def _tick(x: float, unit: str, lang: str) -> str:
    """One tick label (cached: Babel formatting is slow and ticks repeat across panels)."""
    if unit == "ratio":
        return i18n.fmt_percent(x, lang, digits=0 if abs(x * 100 - round(x * 100)) < 1e-9 else 1)
    if unit in ("currency", "count", "per_month"):
        return _compact(x, lang)
    return i18n.fmt_number(x, lang, digits=0 if abs(x) >= 10 or x == int(x) else 1)


def axis_formatter(unit: str, lang: str) -> FuncFormatter:
    """A tick formatter for a KPI unit: percents for ratios, compact thousands for the rest.

    Example
    -------
    >>> axis_formatter("ratio", "en")(0.25, 0)
    '25%'
    """
    return FuncFormatter(lambda x, _pos: _tick(float(x), unit, lang))


def _kpi_meta(kpi_id: str) -> tuple[str, str, str]:
    """(unit, direction, group) of a KPI; non-registry metrics count as 'count'/'higher'."""
    from amtools.kpi.registry import KPIS

    spec = KPIS.get(kpi_id)
    if spec is None:
        return "count", "higher", ""
    return spec.unit, spec.direction, spec.group


def _metric_name(metric: str, lang: str) -> str:
    from amtools.kpi.registry import KPIS

    if metric in KPIS:
        return kpi_name(metric, lang)
    return _t_or(f"metric.{metric}", lang, metric)


def _group_name(group: str, lang: str) -> str:
    from amtools.kpi.registry import GROUPS

    if group in GROUPS:
        en, ru = GROUPS[group]
        return ru if lang == "ru" else en
    return group


def _kpi_order(kpis: Sequence[str]) -> list[str]:
    """Catalogue order (group by group), unknown metrics last in given order."""
    from amtools.kpi.registry import KPIS

    catalogue = list(KPIS)
    known = [k for k in catalogue if k in set(kpis)]
    return known + [k for k in dict.fromkeys(kpis) if k not in KPIS]


def _wrap(text: str, width: int = 18) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width=width, break_long_words=False)) or str(text)


def _row_major(items: list[Any], ncols: int) -> list[Any]:
    """Reorder legend entries so that matplotlib's column-major fill reads row by row."""
    nrows = math.ceil(len(items) / ncols) if ncols else 0
    return [
        items[i * ncols + j]
        for j in range(ncols)
        for i in range(nrows)
        if i * ncols + j < len(items)
    ]


def _new_figure(height: float, width: float = PAGE_WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def _style(ax: Any) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)


def _empty(fig: Figure, message: str) -> Figure:
    """Mark ``fig`` as having nothing to show: :func:`show` displays ``message`` instead.

    The message is also drawn, so a caller saving the figure itself still reads it.
    """
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color=_NEUTRAL, wrap=True)
    setattr(fig, MISSING_ATTR, message)
    return fig


def _needs(kpi_ids: Sequence[str]) -> str:
    """What the KPIs need from the data (tables and optional columns), from the registry."""
    from amtools.kpi.registry import KPIS

    needs: list[str] = []
    for kpi in kpi_ids:
        spec = KPIS.get(kpi)
        if spec is None:
            continue
        needs += [f"{table}" for table in spec.tables] + list(spec.columns)
    return ", ".join(dict.fromkeys(needs))


def _missing_kpis(kpi_ids: Sequence[str], lang: str) -> str:
    """'Retention and churn are not measured: needs clients.churned_date' in ``lang``."""
    names = ", ".join(_metric_name(k, lang) for k in kpi_ids)
    needs = _needs(kpi_ids)
    if needs:
        return _t("plot.missing.kpis_needs", lang, kpis=names, needs=needs)
    return _t("plot.missing.kpis", lang, kpis=names)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"{what}: the frame lacks column(s) {missing}; it has {list(frame.columns)}. "
            "Pass the amtools table the function documents (or rename the columns)."
        )


def _sparse_ticks(ax: Any, labels: Sequence[str], max_labels: int = 6) -> None:
    """Label at most ``max_labels`` evenly spaced positions, always the latest one, so
    period labels never overlap."""
    n = len(labels)
    step = max(1, math.ceil(n / max_labels))
    positions = list(range(n - 1, -1, -step))[::-1]
    ax.set_xticks(positions)
    ax.set_xticklabels([labels[i] for i in positions])


def _month_labels(dates: Sequence[pd.Timestamp], lang: str) -> list[str]:
    """Month tick labels in the report's format (the tables' :func:`amtools.core.i18n.fmt_period`)."""
    return [
        i18n.fmt_period(f"{d.year:04d}-{d.month:02d}", lang, style="short")
        for d in pd.DatetimeIndex(list(dates))
    ]


def _period_labels(periods: Sequence[str], lang: str) -> list[str]:
    """Period tick labels («3 кв. 2026», "Q3 2026"): the same function as the table headers."""
    return [i18n.fmt_period(p, lang, style="short") for p in periods]


# --------------------------------------------------------------------------- manager review
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
    _require(card, ["period", "kpi", "value"], "kpi_trends")
    data = card.copy()
    periods = sorted(data["period"].astype(str).unique())
    if kpis is None:
        has_value = data.loc[data["value"].notna(), "kpi"].astype(str).unique()
        kpis = _kpi_order(list(has_value))
    else:
        kpis = list(kpis)
    rows = max(1, math.ceil(len(kpis) / ncols))
    fig = _new_figure(height=1.55 * rows + 0.5)
    if not kpis:
        return _empty(fig, _t("plot.missing.trends", lang))
    axes = np.atleast_1d(fig.subplots(rows, ncols, squeeze=False)).ravel()
    position = {p: i for i, p in enumerate(periods)}
    short = _period_labels(periods, lang)
    for ax, kpi in zip(axes, kpis, strict=False):
        unit, _direction, group = _kpi_meta(kpi)
        rows_k = data[data["kpi"].astype(str) == kpi].sort_values("period")
        x = rows_k["period"].astype(str).map(position).to_numpy()
        y = rows_k["value"].astype("float64").to_numpy()
        color = GROUP_COLORS.get(group, _NEUTRAL)
        if "peer_median" in rows_k:
            ax.plot(x, rows_k["peer_median"].astype("float64"), color="#bdbdbd", lw=1.2, ls="-")
        ax.plot(x, y, color=color, lw=1.6, marker="o", ms=3)
        if "status" in rows_k:
            weak = (rows_k["status"].astype(str) == "insufficient_data").to_numpy()
            if weak.any():
                ax.plot(x[weak], y[weak], ls="none", marker="o", ms=5, mfc="white", mec=color)
        if "target" in rows_k and rows_k["target"].notna().any():
            ax.plot(x, rows_k["target"].astype("float64"), color=_TARGET, lw=1, ls="--")
        ax.set_title(_wrap(_metric_name(kpi, lang), 24), fontsize=8.5, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter(unit, lang))
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.set_xlim(-0.3, len(periods) - 0.7)
        _sparse_ticks(ax, short, max_labels=2 if ncols >= 4 else 3)
        _style(ax)
        ax.tick_params(labelsize=6.5)
    for ax in axes[len(kpis) :]:
        ax.axis("off")
    legend = [
        Line2D([], [], color=_NEUTRAL, marker="o", ms=3, label=_t("plot.legend.value", lang)),
        Line2D([], [], color=_TARGET, ls="--", label=_t("plot.legend.target", lang)),
    ]
    if "peer_median" in data:
        legend.append(Line2D([], [], color="#bdbdbd", label=_t("plot.legend.peer_median", lang)))
    fig.legend(
        handles=legend, loc="outside lower center", ncols=len(legend), fontsize=8, frameon=False
    )
    fig.suptitle(title or _t("plot.kpi_trends.title", lang), fontsize=11)
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
        :func:`amtools.render.tables.not_measured`); other weighted KPIs without a contribution
        are labelled "no data" with no bar.

    Example
    -------
    >>> card = pd.DataFrame({"kpi": ["sales_volume"], "weight": [0.3], "contribution": [21.0],
    ...                      "max_points": [100.0]})
    >>> score_contributions(card, "en")  # doctest: +SKIP
    """
    _require(card, ["kpi", "weight", "contribution"], "score_contributions")
    data = card[card["weight"].astype("float64").fillna(0) > 0].copy()
    if "status" in data:
        data = data[data["status"].astype(str) != "not_available"]
    order = _kpi_order(list(data["kpi"].astype(str)))
    data = data.set_index(data["kpi"].astype(str)).loc[order].reset_index(drop=True)
    fig = _new_figure(height=0.32 * max(len(data), 3) + 1.0)
    if data.empty:
        return _empty(fig, _t("plot.missing.score", lang))
    ax = fig.subplots()
    y = np.arange(len(data))[::-1]
    if "max_points" in data:
        maximum = data["max_points"].astype("float64").fillna(0).to_numpy()
    else:
        maximum = data["weight"].astype("float64").to_numpy() * 100
    top = max(float(maximum.max()), 1.0)
    earned = data["contribution"].astype("float64").fillna(0).to_numpy()
    groups = (
        data["group"].astype(str)
        if "group" in data
        else pd.Series([_kpi_meta(k)[2] for k in order])
    )
    colors = [GROUP_COLORS.get(g, _NEUTRAL) for g in groups]
    ax.barh(y, maximum, color="#ececec", height=0.7, label=_t("plot.legend.max_points", lang))
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
            _t(why_not.get(str(status), "plot.no_data_short"), lang)
            if missing
            else f"{i18n.fmt_number(got, lang, digits=1)} / {i18n.fmt_number(cap, lang, digits=1)}"
        )
        ax.text(
            float(cap + top * 0.01), float(yi), label, va="center", fontsize=7.5, color="#333333"
        )
    ax.set_yticks(y)
    ax.set_yticklabels([_metric_name(k, lang) for k in order], fontsize=8)
    ax.set_xlim(0, top * 1.25)
    ax.set_xlabel(_t("plot.axis.points", lang), fontsize=8.5)
    _style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    seen: dict[str, str] = {}
    for g in groups:
        seen.setdefault(g, GROUP_COLORS.get(g, _NEUTRAL))
    handles = [Patch(color=c, label=_group_name(g, lang)) for g, c in seen.items()]
    handles.append(Patch(color="#ececec", label=_t("plot.legend.max_points", lang)))
    ncols = min(4, len(handles))
    fig.legend(
        handles=_row_major(handles, ncols),
        loc="outside lower center",
        ncols=ncols,
        fontsize=7.5,
        frameon=False,
    )
    fig.suptitle(title or _t("plot.contributions.title", lang), fontsize=11)
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
    _require(card, ["kpi", "percentile"], "segment_position")
    data = card[card["percentile"].notna()].copy()
    order = _kpi_order(list(data["kpi"].astype(str)))
    data = data.set_index(data["kpi"].astype(str)).loc[order].reset_index(drop=True)
    fig = _new_figure(height=0.28 * max(len(data), 3) + 1.0)
    if data.empty:
        return _empty(fig, _t("plot.missing.position", lang))
    ax = fig.subplots()
    for lo, hi, q in ((75, 100, 1), (50, 75, 2), (25, 50, 3), (0, 25, 4)):
        ax.axvspan(lo, hi, color=_QUARTILE_COLORS[q], alpha=0.10, lw=0)
    y = np.arange(len(data))[::-1]
    pct = data["percentile"].astype("float64").to_numpy()
    quart = np.clip(np.ceil((100 - pct) / 25), 1, 4).astype(int)
    if "quartile" in data:
        quart = data["quartile"].fillna(pd.Series(quart)).astype(int).to_numpy()
    ax.hlines(y, 0, pct, color="#d0d0d0", lw=1)
    ax.scatter(pct, y, c=[_QUARTILE_COLORS[int(q)] for q in quart], s=36, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels([_metric_name(k, lang) for k in order], fontsize=8)
    ax.set_xlim(-3, 103)  # dots at 0 or 100 stay whole
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel(_t("plot.axis.percentile", lang), fontsize=8.5)
    ax.axvline(50, color="#9e9e9e", lw=0.8, ls=":")
    _style(ax)
    ax.grid(axis="y", visible=False)
    handles = [
        Patch(color=_QUARTILE_COLORS[q], alpha=0.6, label=_t(f"plot.quartile.{q}", lang))
        for q in (1, 2, 3, 4)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=7.5, frameon=False)
    fig.suptitle(title or _t("plot.position.title", lang), fontsize=11)
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
    _require(own, ["period", "score"], "score_history")
    own = own.sort_values("period")
    periods = sorted(
        set(own["period"].astype(str))
        | (set(peers["period"].astype(str)) if peers is not None else set())
    )
    pos = {p: i for i, p in enumerate(periods)}
    fig = _new_figure(height=2.6)
    if own["score"].notna().sum() == 0:
        return _empty(fig, _t("plot.missing.score", lang))
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
            label=_t("plot.legend.peer_band", lang),
        )
        ax.plot(xs, q[0.5], color="#9e9e9e", lw=1, label=_t("plot.legend.peer_median", lang))
    ax.plot(
        own["period"].astype(str).map(pos),
        own["score"].astype("float64"),
        color=SEGMENT_COLORS["B2B"],
        lw=2,
        marker="o",
        ms=4,
        label=_t("plot.legend.own_score", lang),
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel(_t("plot.axis.score", lang), fontsize=8.5)
    _sparse_ticks(ax, _period_labels(periods, lang), max_labels=8)
    _style(ax)
    ax.legend(fontsize=7.5, frameon=False, loc="lower left")
    fig.suptitle(title or _t("plot.score_history.title", lang), fontsize=11)
    return fig


# --------------------------------------------------------------------------- team review
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
    _require(frame, ["metric", "segment", "value"], "segment_comparison")
    measured = frame.loc[frame["value"].astype("float64").notna(), "metric"].astype(str)
    # a metric neither segment measured is left out (the table's "not measured" line names it)
    metrics = [m for m in dict.fromkeys(frame["metric"].astype(str)) if m in set(measured)]
    rows = max(1, math.ceil(len(metrics) / ncols))
    fig = _new_figure(height=1.8 * rows + 0.6)
    if not metrics:
        return _empty(fig, _t("plot.missing.segments", lang))
    axes = fig.subplots(rows, ncols, squeeze=False).ravel()
    has_value = frame.loc[frame["value"].astype("float64").notna(), "segment"].astype(str)
    # a segment without any value (no B2C managers at all) gets no empty bars
    segments = [s for s in ("B2B", "B2C") if s in set(has_value)]
    for ax, metric in zip(axes, metrics, strict=False):
        unit = _kpi_meta(metric)[0]
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
                text = _t("plot.no_data_short", lang)
            elif unit == "currency":
                text = _compact(v, lang)
            else:
                text = (
                    fmt_kpi_value(metric, v, lang) if metric in _registry() else _compact(v, lang)
                )
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
        ax.set_title(_wrap(_metric_name(metric, lang), 22), fontsize=8.5, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter(unit, lang))
        ax.yaxis.set_major_locator(MaxNLocator(3))
        _style(ax)
    for ax in axes[len(metrics) :]:
        ax.axis("off")
    fig.suptitle(title or _t("plot.segment_comparison.title", lang), fontsize=11)
    return fig


def _registry() -> dict[str, Any]:
    from amtools.kpi.registry import KPIS

    return KPIS


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
    import seaborn as sns

    _require(frame, ["label", "kpi", "value"], "kpi_heatmap")
    if value not in ("percentile", "attainment"):
        raise ParameterError(
            f"kpi_heatmap: value must be 'percentile' or 'attainment', got {value!r}"
        )
    labels = list(dict.fromkeys(frame["label"].astype(str)))
    kpis = _kpi_order(list(frame["kpi"].astype(str).unique()))
    grid = frame.pivot_table(index="label", columns="kpi", values="value", aggfunc="mean")
    grid = grid.reindex(index=labels, columns=kpis)
    height = 0.28 * len(labels) + 2.4
    fig = _new_figure(height=height)
    if grid.empty or grid.isna().all().all():
        return _empty(fig, _t(f"plot.missing.heatmap.{value}", lang))
    ax = fig.subplots()
    if value == "percentile":
        kwargs: dict[str, Any] = {"vmin": 0, "vmax": 100, "cmap": "RdYlGn", "fmt": ".0f"}
        bar_label = _t("plot.axis.percentile", lang)
        annot = grid
    else:
        kwargs = {"vmin": 0, "vmax": 2, "center": 1, "cmap": "RdYlGn", "fmt": ".0%"}
        bar_label = _t("plot.axis.attainment", lang)
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
        [_metric_name(k, lang) for k in kpis],
        rotation=40,
        ha="right",
        rotation_mode="anchor",
        fontsize=7,
    )
    ax.set_yticks(np.arange(len(labels)) + 0.5)
    ax.set_yticklabels(labels, rotation=0, fontsize=7)
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.suptitle(title or _t(f"plot.heatmap.title.{value}", lang), fontsize=11)
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
    _require(frame, ["label", "segment", "score"], "leaderboard_chart")
    data = frame.sort_values("score", ascending=False, na_position="last").reset_index(drop=True)
    fig = _new_figure(height=0.26 * max(len(data), 4) + 1.0)
    if data.empty or data["score"].isna().all():
        return _empty(fig, _t("plot.missing.score", lang))
    ax = fig.subplots()
    y = np.arange(len(data))[::-1]
    scores = data["score"].astype("float64").fillna(0).to_numpy()
    ax.barh(
        y, scores, color=[SEGMENT_COLORS.get(str(s), _NEUTRAL) for s in data["segment"]], height=0.7
    )
    for yi, s in zip(y, scores, strict=True):
        ax.text(float(s) + 1, yi, i18n.fmt_number(s, lang, digits=0), va="center", fontsize=7.5)
    ax.set_yticks(y)
    ax.set_yticklabels(data["label"].astype(str), fontsize=7.5)
    ax.set_xlim(0, 105)
    ax.set_xlabel(_t("plot.axis.score", lang), fontsize=8.5)
    _style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e6e6e6")
    segs = [s for s in ("B2B", "B2C") if s in set(data["segment"].astype(str))]
    handles = [Patch(color=SEGMENT_COLORS[s], label=s) for s in segs]
    ax.legend(handles=handles, fontsize=7.5, frameon=False, loc="lower right")
    fig.suptitle(title or _t("plot.leaderboard.title", lang), fontsize=11)
    return fig


def _by_segment_lines(
    ax: Any, frame: pd.DataFrame, x_col: str, periods: list[str], lang: str, total: bool
) -> None:
    pos = {p: i for i, p in enumerate(periods)}
    for segment, sub in frame.groupby(frame["segment"].astype(str), sort=True):
        sub = sub.sort_values(x_col)
        name = _t("plot.legend.all", lang) if segment == "all" else segment
        ax.plot(
            sub[x_col].astype(str).map(pos),
            sub["value"].astype("float64"),
            color=SEGMENT_COLORS.get(segment, _NEUTRAL),
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
    _require(frame, ["period", "segment", "value"], "revenue_trend")
    periods = sorted(frame["period"].astype(str).unique())
    fig = _new_figure(height=3.0)
    if not periods or frame["value"].astype("float64").isna().all():
        return _empty(fig, _missing_kpis(["sales_volume"], lang))
    ax = fig.subplots()
    _by_segment_lines(ax, frame, "period", periods, lang, total=True)
    if targets is not None and not targets.empty:
        pos = {p: i for i, p in enumerate(periods)}
        for segment, sub in targets.groupby(targets["segment"].astype(str)):
            sub = sub[sub["period"].astype(str).isin(pos)].sort_values("period")
            ax.plot(
                sub["period"].astype(str).map(pos),
                sub["target"].astype("float64"),
                color=SEGMENT_COLORS.get(segment, _NEUTRAL),
                lw=1,
                ls=":",
                label=_t("plot.legend.target_of", lang, segment=segment),
            )
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        _t("plot.axis.revenue", lang, currency=_currency_symbol(currency, lang)), fontsize=8.5
    )
    _sparse_ticks(ax, _period_labels(periods, lang), max_labels=8)
    _style(ax)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        fontsize=7.5,
        frameon=False,
        ncols=min(len(labels), 5),
    )
    fig.suptitle(title or _t("plot.revenue_trend.title", lang), fontsize=11)
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
    _require(frame, ["period", "segment", "kpi", "value"], "retention_churn")
    periods = sorted(frame["period"].astype(str).unique())
    fig = _new_figure(height=2.8)
    wanted = ("retention_rate", "churn_rate")
    values = frame["value"].astype("float64")
    measured = [k for k in wanted if values[frame["kpi"].astype(str) == k].notna().any()]
    if not periods or not measured:
        return _empty(fig, _missing_kpis(list(wanted), lang))
    axes = np.atleast_1d(fig.subplots(1, len(measured)))
    for ax, kpi in zip(axes, measured, strict=True):
        sub = frame[frame["kpi"].astype(str) == kpi]
        _by_segment_lines(ax, sub, "period", periods, lang, total=False)
        ax.set_title(_metric_name(kpi, lang), fontsize=9, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter("ratio", lang))
        _sparse_ticks(ax, _period_labels(periods, lang), max_labels=4)
        _style(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        fontsize=7.5,
        frameon=False,
        ncols=len(labels) or 1,
    )
    fig.suptitle(title or _t("plot.retention_churn.title", lang), fontsize=11)
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
    _require(pipeline, ["ds", "segment", "weighted_pipeline", "open_amount"], "pipeline_chart")
    months = sorted(pd.to_datetime(pipeline["ds"]).unique())
    fig = _new_figure(height=2.8)
    amounts = pipeline[["weighted_pipeline", "open_amount"]].astype("float64").fillna(0.0)
    if not months or not (amounts != 0).to_numpy().any():
        # nothing open with an expected close date: no axis of zeros ("0,0 / -0,0")
        return _empty(fig, _t("plot.missing.pipeline", lang))
    ax = fig.subplots()
    segments = [s for s in ("B2B", "B2C") if s in set(pipeline["segment"].astype(str))]
    width = 0.8 / max(len(segments), 1)
    x = np.arange(len(months))
    for i, segment in enumerate(segments):
        sub = pipeline[pipeline["segment"].astype(str) == segment].copy()
        sub["ds"] = pd.to_datetime(sub["ds"])
        sub = sub.set_index("ds").reindex(months)
        offset = (i - (len(segments) - 1) / 2) * width
        color = SEGMENT_COLORS.get(segment, _NEUTRAL)
        ax.bar(x + offset, sub["open_amount"].fillna(0), width * 0.95, color=color, alpha=0.25)
        ax.bar(
            x + offset, sub["weighted_pipeline"].fillna(0), width * 0.95, color=color, label=segment
        )
    ax.set_xticks(x)
    ax.set_xticklabels(_month_labels(months, lang))
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        _t("plot.axis.amount", lang, currency=_currency_symbol(currency, lang)), fontsize=8.5
    )
    _style(ax)
    handles = [
        Patch(
            color=SEGMENT_COLORS.get(s, _NEUTRAL),
            label=_t("plot.legend.weighted_of", lang, segment=s),
        )
        for s in segments
    ]
    handles.append(Patch(color=_NEUTRAL, alpha=0.25, label=_t("plot.legend.open_amount", lang)))
    ax.legend(handles=handles, fontsize=7.5, frameon=False)
    fig.suptitle(title or _t("plot.pipeline.title", lang), fontsize=11)
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
    _require(deals, ["stage", "closed_date"], "lost_deals")
    fig = _new_figure(height=2.9)
    if (
        by not in deals.columns
        or not deals[by].astype("string").str.strip().fillna("").ne("").any()
    ):
        return _empty(fig, _t(f"plot.missing.lost.{by}", lang, column=f"deals.{by}"))
    lost = deals[(deals["stage"].astype(str) == "lost") & deals["closed_date"].notna()]
    if lost.empty:
        return _empty(fig, _t("plot.missing.lost.none", lang))
    period = pd.to_datetime(lost["closed_date"]).dt.to_period(freq)
    keep = sorted(period.unique())[-periods:]
    mask = period.isin(keep)
    lost, period = lost[mask], period[mask]
    label = lost[by].astype("string").fillna("").str.strip()
    not_recorded = _t("plot.lost.not_recorded", lang)
    label = label.mask(label == "", not_recorded)
    if by == "lost_reason":
        # common reasons get a translation; anything else is shown as recorded
        label = label.map(lambda v: _t_or(f"lost_reason.{str(v).lower()}", lang, str(v))).astype(
            "string"
        )
    leaders = [v for v in label.value_counts().index if v != not_recorded][:top]
    other = _t("plot.lost.other", lang)
    label = label.where(label.isin([*leaders, not_recorded]), other)
    counts = pd.crosstab(period.astype(str).to_numpy(), label.to_numpy())
    columns = [c for c in [*leaders, other, not_recorded] if c in counts.columns]
    counts = counts[columns]
    ax = fig.subplots()
    bottom = np.zeros(len(counts))
    for i, column in enumerate(columns):
        color = (
            "#c8c8c8" if column in (other, not_recorded) else _OTHER_COLORS[i % len(_OTHER_COLORS)]
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
    ax.set_xticklabels(_period_labels(list(counts.index), lang), fontsize=7.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.yaxis.set_major_formatter(axis_formatter("count", lang))
    ax.set_ylabel(_t("plot.axis.lost_deals", lang), fontsize=8.5)
    _style(ax)
    fig.legend(loc="outside right center", fontsize=7, frameon=False)
    fig.suptitle(title or _t(f"plot.lost.title.{by}", lang), fontsize=11)
    return fig


# --------------------------------------------------------------------------- forecast
def _fan(
    ax: Any,
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    lang: str,
    legend: bool,
    year_step: int = 1,
) -> None:
    hist = history.sort_values("ds")
    fc = forecast.sort_values("ds")
    ax.plot(
        pd.to_datetime(hist["ds"]),
        hist["y"].astype("float64"),
        color="#333333",
        lw=1.3,
        label=_t("plot.legend.actual", lang),
    )
    if not fc.empty:
        dates = pd.to_datetime(fc["ds"])
        if {"lo_95", "hi_95"} <= set(fc.columns):
            ax.fill_between(
                dates,
                fc["lo_95"].astype("float64"),
                fc["hi_95"].astype("float64"),
                color=SEGMENT_COLORS["B2B"],
                alpha=0.15,
                lw=0,
                label=_t("plot.legend.pi95", lang),
            )
        if {"lo_80", "hi_80"} <= set(fc.columns):
            ax.fill_between(
                dates,
                fc["lo_80"].astype("float64"),
                fc["hi_80"].astype("float64"),
                color=SEGMENT_COLORS["B2B"],
                alpha=0.3,
                lw=0,
                label=_t("plot.legend.pi80", lang),
            )
        if not hist.empty:
            # Join the last actual to the first forecast so the line is continuous.
            last = hist.iloc[-1]
            dates = pd.concat([pd.Series([pd.Timestamp(last["ds"])]), dates], ignore_index=True)
            values = pd.concat(
                [pd.Series([float(last["y"])]), fc["yhat"].astype("float64")], ignore_index=True
            )
        else:
            values = fc["yhat"].astype("float64")
        ax.plot(
            dates,
            values,
            color=SEGMENT_COLORS["B2B"],
            lw=1.6,
            ls="--",
            label=_t("plot.legend.forecast", lang),
        )
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.set_ylim(bottom=0)
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.YearLocator(base=year_step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    _style(ax)
    if legend:
        ax.legend(fontsize=7.5, frameon=False, loc="upper left", ncols=2)


def fan_chart(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    lang: str = "en",
    *,
    currency: str = "RUB",
    title: str | None = None,
) -> Figure:
    """History and forecast of one series with 80 % and 95 % prediction bands.

    Parameters
    ----------
    history : columns ``ds, y`` (monthly).
    forecast : columns ``ds, yhat`` and optionally ``lo_80, hi_80, lo_95, hi_95``.

    Example
    -------
    >>> fan_chart(series[series.unique_id == "company"], result.forecast.query("unique_id == 'company'"))  # doctest: +SKIP
    """
    _require(history, ["ds", "y"], "fan_chart history")
    _require(forecast, ["ds", "yhat"], "fan_chart forecast")
    fig = _new_figure(height=3.0)
    if history.empty and forecast.empty:
        return _empty(fig, _t("plot.missing.forecast", lang))
    ax = fig.subplots()
    _fan(ax, history, forecast, lang, legend=True)
    ax.set_ylabel(
        _t("plot.axis.revenue", lang, currency=_currency_symbol(currency, lang)), fontsize=8.5
    )
    fig.suptitle(title or _t("plot.fan.title", lang), fontsize=11)
    return fig


def fan_grid(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    lang: str = "en",
    *,
    ids: Sequence[str] | None = None,
    titles: dict[str, str] | None = None,
    ncols: int = 3,
    months: int = 24,
    title: str | None = None,
) -> Figure:
    """Small multiples of fan charts, one per ``unique_id`` (teams, managers).

    Parameters
    ----------
    history : columns ``unique_id, ds, y``.
    forecast : columns ``unique_id, ds, yhat`` (+ bands).
    ids : which series, in order (default: every id of ``forecast``).
    titles : panel titles by id (default: the id's last part, e.g. ``team/North`` -> ``North``).
    months : how many months of history to show before the forecast.

    Example
    -------
    >>> fan_grid(series, result.forecast, "en", ids=["team/North", "team/South"])  # doctest: +SKIP
    """
    _require(history, ["unique_id", "ds", "y"], "fan_grid history")
    _require(forecast, ["unique_id", "ds", "yhat"], "fan_grid forecast")
    ids = list(ids) if ids is not None else list(dict.fromkeys(forecast["unique_id"].astype(str)))
    rows = max(1, math.ceil(len(ids) / ncols))
    fig = _new_figure(height=1.9 * rows + 0.7)
    if not ids:
        return _empty(fig, _t("plot.missing.forecast", lang))
    axes = fig.subplots(rows, ncols, squeeze=False).ravel()
    for ax, uid in zip(axes, ids, strict=False):
        hist = history[history["unique_id"].astype(str) == uid].sort_values("ds")
        if months and len(hist) > months:
            hist = hist.iloc[-months:]
        _fan(
            ax,
            hist,
            forecast[forecast["unique_id"].astype(str) == uid],
            lang,
            legend=False,
            year_step=1 if ncols <= 2 else 2,
        )
        name = (titles or {}).get(uid, uid.split("/", 1)[-1])
        # narrow panels: wrap long names (full manager names) instead of letting them collide
        ax.set_title(
            _wrap(name, max(14, 80 // ncols)), fontsize=8 if ncols >= 4 else 8.5, loc="left"
        )
        ax.tick_params(labelsize=7)
    for ax in axes[len(ids) :]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7.5, frameon=False)
    fig.suptitle(title or _t("plot.fan.grid_title", lang), fontsize=11)
    return fig


def pipeline_vs_forecast(
    pipeline: pd.DataFrame,
    forecast: pd.DataFrame,
    lang: str = "en",
    *,
    currency: str = "RUB",
    title: str | None = None,
) -> Figure:
    """Near term: probability-weighted open pipeline beside the statistical forecast, per segment.

    Parameters
    ----------
    pipeline : ``pipeline_view`` output (``ds, segment, weighted_pipeline``).
    forecast : columns ``segment, ds, yhat`` (+ ``lo_80, hi_80``), or ``ForecastResult.forecast``
        itself (its ``segment/…`` series are used). Months outside the pipeline's are ignored.

    Example
    -------
    >>> pipeline_vs_forecast(pipe, fc_segments, "en")  # doctest: +SKIP
    """
    _require(pipeline, ["ds", "segment", "weighted_pipeline"], "pipeline_vs_forecast pipeline")
    if "segment" not in forecast.columns and "unique_id" in forecast.columns:
        # ForecastResult.forecast: keep the segment series, "segment/B2B" -> "B2B"
        ids = forecast["unique_id"].astype(str)
        forecast = forecast[ids.str.startswith("segment/")]
        forecast = forecast.assign(segment=forecast["unique_id"].astype(str).str.split("/").str[1])
    _require(forecast, ["ds", "segment", "yhat"], "pipeline_vs_forecast forecast")
    pipe = pipeline.assign(ds=pd.to_datetime(pipeline["ds"]))
    fc = forecast.assign(ds=pd.to_datetime(forecast["ds"]))
    months = sorted(pipe["ds"].unique())
    segments = [
        s
        for s in ("B2B", "B2C")
        if s in set(pipe["segment"].astype(str)) | set(fc["segment"].astype(str))
    ]
    fig = _new_figure(height=2.8)
    amounts = pipe["weighted_pipeline"].astype("float64").fillna(0.0) if len(pipe) else pipe
    if not months or not segments or not (amounts != 0).any():
        return _empty(fig, _t("plot.missing.pipeline", lang))
    axes = fig.subplots(1, len(segments), squeeze=False).ravel()
    x = np.arange(len(months))
    for ax, segment in zip(axes, segments, strict=True):
        p = pipe[pipe["segment"].astype(str) == segment].set_index("ds").reindex(months)
        f = fc[fc["segment"].astype(str) == segment].set_index("ds").reindex(months)
        color = SEGMENT_COLORS.get(segment, _NEUTRAL)
        ax.bar(
            x - 0.2,
            p["weighted_pipeline"].fillna(0),
            0.4,
            color=color,
            alpha=0.45,
            label=_t("plot.legend.weighted_pipeline", lang),
        )
        ax.bar(
            x + 0.2, f["yhat"].fillna(0), 0.4, color=color, label=_t("plot.legend.forecast", lang)
        )
        if {"lo_80", "hi_80"} <= set(f.columns):
            yerr = np.vstack(
                [
                    (f["yhat"] - f["lo_80"]).clip(lower=0).fillna(0),
                    (f["hi_80"] - f["yhat"]).clip(lower=0).fillna(0),
                ]
            )
            ax.errorbar(
                x + 0.2,
                f["yhat"].fillna(0),
                yerr=yerr,
                fmt="none",
                ecolor="#333333",
                lw=0.8,
                capsize=2,
            )
        ax.set_xticks(x)
        ax.set_xticklabels(_month_labels(months, lang), fontsize=7.5)
        ax.set_title(segment, fontsize=9, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
        _style(ax)
    axes[0].set_ylabel(
        _t("plot.axis.revenue", lang, currency=_currency_symbol(currency, lang)), fontsize=8.5
    )
    axes[0].legend(fontsize=7.5, frameon=False)
    fig.suptitle(title or _t("plot.pipeline_vs_forecast.title", lang), fontsize=11)
    return fig


# --------------------------------------------------------------------------- budget
def _scenario_name(scenario: str, lang: str) -> str:
    return _t_or(f"scenario.{scenario}", lang, scenario)


def _scenario_order(values: Sequence[str]) -> list[str]:
    known = [s for s in ("plan", "low", "base", "high") if s in set(values)]
    return known + sorted(set(values) - set(known))


def budget_revenue(
    revenue: pd.DataFrame, lang: str = "en", *, currency: str = "RUB", title: str | None = None
) -> Figure:
    """Planned revenue per month, one line per scenario (summed over segments, teams, managers).

    Parameters
    ----------
    revenue : columns ``month, scenario, revenue`` (``BudgetPlan.revenue``).

    Example
    -------
    >>> budget_revenue(plan.revenue, "en")  # doctest: +SKIP
    """
    _require(revenue, ["month", "scenario", "revenue"], "budget_revenue")
    totals = (
        revenue.groupby([revenue["month"].astype(str), revenue["scenario"].astype(str)])["revenue"]
        .sum()
        .unstack()
    )
    fig = _new_figure(height=2.9)
    if totals.empty:
        return _empty(fig, _t("plot.missing.forecast", lang))
    ax = fig.subplots()
    months = list(totals.index)
    x = np.arange(len(months))
    for scenario in _scenario_order(list(totals.columns)):
        ax.plot(
            x,
            totals[scenario],
            marker="o",
            ms=3,
            lw=2 if scenario == "base" else 1.3,
            ls="--" if scenario == "plan" else "-",
            color=SCENARIO_COLORS.get(scenario, _NEUTRAL),
            label=_scenario_name(scenario, lang),
        )
    labels = _month_labels([pd.Timestamp(str(m)[:7] + "-01") for m in months], lang)
    _sparse_ticks(ax, labels, max_labels=6)
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        _t("plot.axis.revenue", lang, currency=_currency_symbol(currency, lang)), fontsize=8.5
    )
    _style(ax)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", fontsize=7.5, frameon=False, ncols=len(labels)
    )
    fig.suptitle(title or _t("plot.budget_revenue.title", lang), fontsize=11)
    return fig


def cost_breakdown(
    costs: pd.DataFrame,
    lang: str = "en",
    *,
    scenario: str = "base",
    currency: str = "RUB",
    title: str | None = None,
) -> Figure:
    """Monthly cost budget of one scenario, stacked by category.

    Parameters
    ----------
    costs : columns ``scenario, month, category, amount`` (``BudgetPlan.costs``).

    Example
    -------
    >>> cost_breakdown(plan.costs, "ru")  # doctest: +SKIP
    """
    _require(costs, ["scenario", "month", "category", "amount"], "cost_breakdown")
    sub = costs[costs["scenario"].astype(str) == scenario]
    table = (
        sub.groupby([sub["month"].astype(str), sub["category"].astype(str)])["amount"]
        .sum()
        .unstack(fill_value=0)
    )
    fig = _new_figure(height=2.9)
    if table.empty:
        return _empty(fig, _t("plot.missing.costs", lang))
    ax = fig.subplots()
    table = table[table.sum().sort_values(ascending=False).index]
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for i, category in enumerate(table.columns):
        ax.bar(
            x,
            table[category],
            bottom=bottom,
            color=_OTHER_COLORS[i % len(_OTHER_COLORS)],
            width=0.75,
            label=_t_or(f"budget.category.{category}", lang, category),
        )
        bottom += table[category].to_numpy()
    labels = _month_labels([pd.Timestamp(str(m)[:7] + "-01") for m in table.index], lang)
    _sparse_ticks(ax, labels, max_labels=6)
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        _t("plot.axis.costs", lang, currency=_currency_symbol(currency, lang)), fontsize=8.5
    )
    _style(ax)
    fig.legend(loc="outside right center", fontsize=7.5, frameon=False)
    fig.suptitle(
        title or _t("plot.cost_breakdown.title", lang, scenario=_scenario_name(scenario, lang)),
        fontsize=11,
    )
    return fig


def margin_chart(
    summary: pd.DataFrame, lang: str = "en", *, currency: str = "RUB", title: str | None = None
) -> Figure:
    """Revenue, costs and margin per scenario as grouped bars with value labels.

    Parameters
    ----------
    summary : columns ``scenario, revenue, costs, margin`` (``BudgetPlan.summary``).

    Example
    -------
    >>> margin_chart(plan.summary, "en")  # doctest: +SKIP
    """
    _require(summary, ["scenario", "revenue", "costs", "margin"], "margin_chart")
    data = summary.set_index(summary["scenario"].astype(str))
    order = _scenario_order(list(data.index))
    data = data.loc[order]
    fig = _new_figure(height=2.8)
    if data.empty:
        return _empty(fig, _t("plot.missing.forecast", lang))
    if data["margin"].astype("float64").isna().all():
        # no cost of sales (deals.cost absent): a margin of revenue minus part of the costs
        # would overstate it, so the chart is replaced by what is missing
        return _empty(fig, _t("plot.missing.margin", lang))
    ax = fig.subplots()
    x = np.arange(len(order))
    measures = [("revenue", "#1f5f8b"), ("costs", "#c0504d"), ("margin", "#4f9a3a")]
    top = float(data[["revenue", "costs", "margin"]].abs().to_numpy().max() or 1)
    for i, (measure, color) in enumerate(measures):
        values = data[measure].astype("float64").to_numpy()
        bars = ax.bar(
            x + (i - 1) * 0.26, values, 0.26, color=color, label=_t(f"plot.legend.{measure}", lang)
        )
        for bar, v in zip(bars, values, strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                max(float(v), 0.0) + top * 0.015,
                _compact(float(v), lang, precise=True),
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,  # upright labels collide over narrow bars ("1,12 млрд")
            )
    ax.set_xticks(x)
    ax.set_xticklabels([_scenario_name(s, lang) for s in order])
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        _t("plot.axis.amount", lang, currency=_currency_symbol(currency, lang)), fontsize=8.5
    )
    ax.set_ylim(min(0, float(data["margin"].min()) * 1.2), top * 1.4)
    _style(ax)
    # below the chart: the upright value labels need the space above the bars
    fig.legend(fontsize=7.5, frameon=False, ncols=3, loc="outside lower center")
    fig.suptitle(title or _t("plot.margin.title", lang), fontsize=11)
    return fig
