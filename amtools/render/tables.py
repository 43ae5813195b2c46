"""Display helpers for the reports: headings, scorecards, leaderboards, plans — escaped HTML.

Computation (``segment_profile``, ``totals_vs_targets``, ``alerts``) returns plain DataFrames;
the ``*_table`` functions only format a frame into HTML with the :mod:`amtools.core.i18n` formatters.
Every value that comes from data is escaped.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML

from amtools.core import i18n
from amtools.kpi.format import fmt_gap, fmt_kpi_value, kpi_name

__all__ = [
    "CSS",
    "manager_trend_frame",
    "heatmap_frame",
    "segment_series",
    "revenue_history",
    "segment_targets",
    "stylesheet",
    "heading",
    "paragraph",
    "link",
    "bullets",
    "html_table",
    "sparkline",
    "kpi_label",
    "manager_intro",
    "scorecard_table",
    "not_measured",
    "targets_note",
    "score_summary",
    "strengths_list",
    "development_list",
    "training_plan_table",
    "data_notes",
    "leaderboard_table",
    "segment_profile",
    "segment_profile_table",
    "totals_vs_targets",
    "totals_table",
    "alerts",
    "alerts_table",
    "accuracy_table",
    "next_quarter_table",
    "budget_summary_table",
    "monthly_plan_table",
    "quota_table",
    "cost_table",
    "glossary_table",
]

CSS = """
.amt-table{border-collapse:collapse;font-size:13px;margin:0.4em 0 1.2em 0;min-width:50%}
.amt-table th,.amt-table td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
.amt-table th{background:#f3f5f7;font-weight:600;border-bottom:2px solid #c9d1d9}
.amt-table td.num,.amt-table th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.amt-table tr.amt-group td{background:#eef3f8;font-weight:600;color:#1f3b57}
.amt-table .amt-good{color:#1b7a2f;font-weight:600}
.amt-table .amt-warn{color:#a86400;font-weight:600}
.amt-table .amt-bad{color:#b3261e;font-weight:600}
.amt-table .amt-muted,.amt-muted{color:#777}
.amt-spark{font-family:"DejaVu Sans Mono",monospace;letter-spacing:1px;color:#1f5f8b}
.amt-kpis{display:flex;flex-wrap:wrap;gap:10px;margin:0.5em 0 1em 0}
.amt-kpi{border:1px solid #d8dee4;border-radius:6px;padding:6px 12px;min-width:120px}
.amt-kpi .v{font-size:20px;font-weight:600}
.amt-kpi .l{font-size:12px;color:#555}
.amt-note{font-size:12.5px;color:#444}
figure.amt-figure{margin:0.3em 0 1.2em 0}
"""
"""Styles of the helpers' HTML; :func:`stylesheet` embeds them once per report."""

_GOOD, _WARN, _BAD = "amt-good", "amt-warn", "amt-bad"
_SPARK = "▁▂▃▄▅▆▇█"


# --------------------------------------------------------------------------- basics
def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _t(key: str, lang: str, **kw: Any) -> str:
    return i18n.t(key, lang, **kw)


def _t_or(key: str, lang: str, default: str) -> str:
    try:
        return i18n.t(key, lang)
    except KeyError:
        return default


def _missing(x: Any) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def stylesheet() -> HTML:
    """The ``<style>`` block the tables need; display it once near the top of a report.

    Example
    -------
    >>> "<style>" in stylesheet().data
    True
    """
    return HTML(f"<style>{CSS}</style>")


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s_]+", "-", text).strip("-") or "section"


def heading(text: str, level: int = 2, *, anchor: str | None = None) -> HTML:
    """A translated section heading as HTML (``<h2 id=...>``); the report's TOC lists it.

    Notebook headings come from code so they follow the report language:
    ``display(tables.heading(t("mr.section.scorecard", lang)))``.

    Parameters
    ----------
    text : the heading text (escaped).
    level : 1..4.
    anchor : the ``id``; default a slug of ``text``.

    Example
    -------
    >>> heading("Score & drivers").data
    '<h2 id="score-drivers">Score &amp; drivers</h2>'
    """
    if level not in (1, 2, 3, 4):
        from amtools.core.errors import ParameterError

        raise ParameterError(f"heading level must be 1..4 (h1..h4), got {level!r}")
    anchor = anchor or _slug(text)
    return HTML(f'<h{level} id="{_esc(anchor)}">{_esc(text)}</h{level}>')


def paragraph(text: str, *, css_class: str = "amt-note") -> HTML:
    """A paragraph of (escaped) text.

    Example
    -------
    >>> paragraph("a < b").data
    '<p class="amt-note">a &lt; b</p>'
    """
    return HTML(f'<p class="{_esc(css_class)}">{_esc(text)}</p>')


def link(label: str, href: str) -> HTML:
    """A paragraph with one link to a file next to the report (both escaped).

    Example
    -------
    >>> link("Workbook", "budget.xlsx").data
    '<p class="amt-note"><a href="budget.xlsx">Workbook</a></p>'
    """
    return HTML(f'<p class="amt-note"><a href="{_esc(href)}">{_esc(label)}</a></p>')


def bullets(items: Iterable[str], *, empty: str = "") -> HTML:
    """An escaped bullet list (``empty`` shown as a paragraph when there are no items).

    Example
    -------
    >>> bullets(["x<y"]).data
    '<ul class="amt-note"><li>x&lt;y</li></ul>'
    """
    items = [str(i) for i in items]
    if not items:
        return HTML(f'<p class="amt-note">{_esc(empty)}</p>')
    return HTML('<ul class="amt-note">' + "".join(f"<li>{_esc(i)}</li>" for i in items) + "</ul>")


def html_table(
    frame: pd.DataFrame,
    *,
    headers: dict[str, str] | None = None,
    formatters: dict[str, Callable[[Any], str]] | None = None,
    numeric: Sequence[str] = (),
    cell_classes: dict[str, Callable[[Any], str]] | None = None,
    group_col: str | None = None,
    raw_html: Sequence[str] = (),
) -> str:
    """Render ``frame`` as an escaped HTML table.

    Parameters
    ----------
    headers : column -> header text (only these columns, in this order; default all columns).
    formatters : column -> function(value) -> text (escaped afterwards).
    numeric : columns right-aligned with tabular digits.
    cell_classes : column -> function(row value) -> CSS class.
    group_col : rows are grouped under a full-width header row on changes of this column.
    raw_html : columns whose formatter already returns safe HTML (built from escaped parts).

    Example
    -------
    >>> html_table(pd.DataFrame({"name": ["<b>x</b>"]}))
    '<table class="amt-table"><thead><tr><th>name</th></tr></thead><tbody><tr><td>&lt;b&gt;x&lt;/b&gt;</td></tr></tbody></table>'
    """
    headers = headers or {c: str(c) for c in frame.columns if c != group_col}
    formatters = formatters or {}
    cell_classes = cell_classes or {}
    columns = list(headers)
    head = "".join(
        f'<th class="num">{_esc(headers[c])}</th>'
        if c in numeric
        else f"<th>{_esc(headers[c])}</th>"
        for c in columns
    )
    body: list[str] = []
    current: Any = object()
    for _, row in frame.iterrows():
        if group_col is not None and row[group_col] != current:
            current = row[group_col]
            body.append(
                f'<tr class="amt-group"><td colspan="{len(columns)}">{_esc(current)}</td></tr>'
            )
        cells = []
        for c in columns:
            value = row[c] if c in row.index else None
            fmt = formatters.get(c)
            if fmt is not None:
                text = fmt(value)
            else:
                text = i18n.MISSING if _missing(value) else str(value)
            text = text if c in raw_html else _esc(text)
            classes = []
            if c in numeric:
                classes.append("num")
            if c in cell_classes:
                extra = cell_classes[c](value)
                if extra:
                    classes.append(extra)
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="amt-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def sparkline(values: Sequence[float]) -> str:
    """A one-line unicode trend (``▁▃▅█``); missing values become a space.

    Example
    -------
    >>> sparkline([1, 2, 3, 4])
    '▁▃▆█'
    """
    arr = np.asarray([np.nan if _missing(v) else float(v) for v in values], dtype="float64")
    if arr.size == 0 or np.isnan(arr).all():
        return ""
    lo, hi = np.nanmin(arr), np.nanmax(arr)
    span = hi - lo
    out = []
    for v in arr:
        if np.isnan(v):
            out.append(" ")
        elif span == 0:
            out.append(_SPARK[3])
        else:
            out.append(_SPARK[int(round((v - lo) / span * (len(_SPARK) - 1)))])
    return "".join(out)


def kpi_label(kpi_id: str, lang: str) -> str:
    """A KPI's name, or a ``metric.*`` string for derived metrics (clients per manager)."""
    try:
        return kpi_name(kpi_id, lang)
    except KeyError:
        return _t_or(f"metric.{kpi_id}", lang, kpi_id)


def _kpi_unit(kpi_id: str) -> tuple[str, str]:
    from amtools.kpi.registry import KPIS

    spec = KPIS.get(kpi_id)
    return (spec.unit, spec.direction) if spec is not None else ("count", "higher")


def _additive(kpi_id: str) -> bool:
    """Whether a team's target for ``kpi_id`` is the sum of its managers' targets."""
    from amtools.kpi.registry import KPIS

    spec = KPIS.get(kpi_id)
    return bool(spec is not None and spec.additive)


def _value(kpi_id: str, value: Any, lang: str, currency: str) -> str:
    from amtools.kpi.registry import KPIS

    if _missing(value):
        return i18n.MISSING
    if kpi_id in KPIS:
        return fmt_kpi_value(kpi_id, value, lang, currency)
    return i18n.fmt_number(value, lang, digits=0 if abs(float(value)) >= 10 else 1)


def _attainment_class(x: Any) -> str:
    if _missing(x):
        return ""
    return _GOOD if x >= 1.0 else _WARN if x >= 0.8 else _BAD


# KPIs whose scale has a meaningful negative side (growth rate, NPS): "value as a share of
# target" reads as nonsense there (NPS -5 against 20 is "-24 %"), so the tables show the gap
# to target instead ("-25 pts", "-33.8 pp") and colour it by sign and size.
# How far below target a signed KPI (KPI.signed) may be before it is shown red, by unit.
_GAP_WARN = {"score": 10.0, "ratio": 0.05}


def _signed(kpi_id: str) -> bool:
    from amtools.kpi.registry import KPIS

    spec = KPIS.get(kpi_id)
    return bool(spec is not None and spec.signed)


def _gap_text(kpi_id: str, value: Any, target: Any, lang: str) -> str:
    """Gap to target of a signed KPI: percentage points (ratios) or points."""
    return fmt_gap(kpi_id, value, target, lang)


def _gap_class(kpi_id: str, value: Any, target: Any) -> str:
    if _missing(value) or _missing(target):
        return ""
    gap = float(value) - float(target)
    unit, _ = _kpi_unit(kpi_id)
    return _GOOD if gap >= 0 else _WARN if gap > -_GAP_WARN.get(unit, 0.0) else _BAD


def _attainment_cell(kpi_id: str, value: Any, target: Any, attainment: Any, lang: str) -> tuple:
    """(text, css class) for an attainment cell: a percentage, or the gap for signed KPIs."""
    if _signed(kpi_id):
        return _gap_text(kpi_id, value, target, lang), _gap_class(kpi_id, value, target)
    return i18n.fmt_percent(attainment, lang), _attainment_class(attainment)


def _quartile_class(q: Any) -> str:
    if _missing(q):
        return ""
    return {1: _GOOD, 2: "", 3: _WARN, 4: _BAD}.get(int(q), "")


def _group_name(group: str, lang: str) -> str:
    from amtools.kpi.registry import GROUPS

    en_ru = GROUPS.get(group)
    return group if en_ru is None else (en_ru[1] if lang == "ru" else en_ru[0])


def _catalogue_order(frame: pd.DataFrame, column: str = "kpi") -> pd.DataFrame:
    from amtools.kpi.registry import KPIS

    order = {k: i for i, k in enumerate(KPIS)}
    key = frame[column].astype(str).map(order).fillna(len(order))
    return (
        frame.assign(_order=key.to_numpy())
        .sort_values("_order", kind="stable")
        .drop(columns="_order")
    )


# --------------------------------------------------------------------------- manager review
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
        from amtools.core.errors import ParameterError

        raise ParameterError(
            f"manager_id {manager_id!r} is not in the managers table; "
            f"pick one of {', '.join(managers['manager_id'].astype(str).head(5))}"
        )
    record = row.iloc[0]

    def field(name: str) -> str:
        value = record.get(name)
        return i18n.MISSING if _missing(value) or str(value).strip() == "" else str(value)

    return paragraph(
        _t(
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
    now = _catalogue_order(card[card["period"].astype(str) == period])
    unmeasured = not_measured(now, lang)
    # only measured KPIs get a row; the others are named once, in the "not measured" line
    now = now[now["status"].astype(str) != "not_available"]
    now = now.assign(group_name=[_group_name(g, lang) for g in now["group"].astype(str)])
    flag = _t("tbl.insufficient_flag", lang)

    def value_text(row: pd.Series) -> str:
        status = str(row["status"])
        if status == "not_available":
            return _t("tbl.not_available", lang)
        text = _value(row["kpi"], row["value"], lang, currency)
        return f"{text} {flag}" if status == "insufficient_data" else text

    inferred = (
        now["inferred"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "inferred" in now
        else np.zeros(len(now), dtype=bool)
    )
    inferred_mark = _t("kpi_inferred.mark", lang)
    rows = now.assign(
        kpi_text=[
            kpi_label(k, lang) + (f" {inferred_mark}" if inf else "")
            for k, inf in zip(now["kpi"].astype(str), inferred, strict=True)
        ],
        value_text=[value_text(r) for _, r in now.iterrows()],
        target_text=[
            _value(k, v, lang, currency)
            for k, v in zip(now["kpi"].astype(str), now["target"], strict=True)
        ],
        trend=[trend.get(k, "") for k in now["kpi"].astype(str)],
        attainment=pd.Series(
            [
                _attainment_cell(str(k), v, tg, a, lang)
                for k, v, tg, a in zip(
                    now["kpi"], now["value"], now["target"], now["attainment"], strict=True
                )
            ],
            index=now.index,
            dtype="object",
        ),
        points=[
            i18n.MISSING
            if _missing(c) or _missing(m) or m <= 0
            else f"{i18n.fmt_number(c, lang, digits=1)} / {i18n.fmt_number(m, lang, digits=1)}"
            for c, m in zip(now["contribution"], _max_points(now), strict=True)
        ],
    )
    headers = {
        "kpi_text": _t("tbl.col.kpi", lang),
        "value_text": _t("tbl.col.value", lang),
        "target_text": _t("tbl.col.target", lang),
        "attainment": _t("tbl.col.attainment", lang),
        "trend": _t("tbl.col.trend", lang, n=len(periods)),
        "percentile": _t("tbl.col.percentile", lang),
        "quartile": _t("tbl.col.quartile", lang),
        "points": _t("tbl.col.points", lang),
    }
    table = html_table(
        rows,
        headers=headers,
        formatters={
            "attainment": lambda x: x[0],
            "percentile": lambda x: i18n.fmt_number(x, lang),
            "quartile": lambda q: (
                i18n.MISSING if _missing(q) else _t(f"tbl.quartile.{int(q)}", lang)
            ),
            "trend": lambda s: f'<span class="amt-spark">{_esc(s)}</span>',
        },
        raw_html=("trend",),
        numeric=("value_text", "target_text", "attainment", "percentile", "quartile", "points"),
        cell_classes={"attainment": lambda x: x[1], "quartile": _quartile_class},
        group_col="group_name",
    )
    legend = _t(
        "tbl.scorecard_legend",
        lang,
        flag=flag,
        first=i18n.fmt_period(periods[0], lang) if periods else "",
        last=i18n.fmt_period(period, lang),
    )
    if now.empty:
        table = ""
    if inferred.any():
        legend += " " + _t("kpi_inferred.churn", lang, mark=inferred_mark)
    return HTML(table + unmeasured.data + f'<p class="amt-note">{_esc(legend)}</p>')


def not_measured(card: pd.DataFrame, lang: str = "en", *, weighted: bool = False) -> HTML:
    """One line naming the KPIs this data cannot measure (``status == "not_available"``).

    Charts and tables list measured KPIs only; this line names the rest once, by their
    translated names, and points to the data notes for what each needs.

    Parameters
    ----------
    card : scorecard (or KPI) rows of one period; columns ``kpi, status`` (and ``weight``).
    weighted : only KPIs with profile weight (those the score would use).

    Example
    -------
    >>> card = pd.DataFrame({"kpi": ["nps", "sales_volume"],
    ...                      "status": ["not_available", "ok"]})
    >>> "NPS" in not_measured(card, "en").data  # doctest: +SKIP
    True
    """
    rows = card[card["status"].astype(str) == "not_available"]
    if weighted and "weight" in rows:
        rows = rows[rows["weight"].astype("float64").fillna(0) > 0]
    kpis = list(dict.fromkeys(_catalogue_order(rows)["kpi"].astype(str))) if len(rows) else []
    if not kpis:
        return HTML("")
    names = ", ".join(kpi_label(k, lang) for k in kpis)
    return paragraph(_t("tbl.not_measured", lang, kpis=names, n=len(kpis)))


_TARGET_SOURCES = ("data", "params", "mapping", "demo", "history", "none")


def targets_note(card: pd.DataFrame, lang: str = "en") -> HTML:
    """One line saying where the targets come from (scorecard column ``target_source``).

    ``none``: no targets were supplied, scores rest on peer percentiles; ``history``: targets
    derived from the same quarter last year; ``data``/``params``/``mapping``/``demo``: the
    source of the supplied targets. A frame without the column (or with values of an older
    engine) gives no line.

    Example
    -------
    >>> targets_note(pd.DataFrame({"target_source": ["none"]}), "en").data[:41]
    '<p class="amt-note">No targets were suppl'
    """
    if "target_source" not in card.columns:
        return HTML("")
    sources = [s for s in dict.fromkeys(card["target_source"].dropna().astype(str))]
    sources = [s for s in sources if s in _TARGET_SOURCES]
    if not sources:
        return HTML("")
    # the weakest source present speaks for the page: "none" first, then "history"
    order = ["none", "history", "demo", "params", "mapping", "data"]
    source = min(sources, key=order.index)
    return paragraph(_t(f"tbl.targets.{source}", lang))


def _ranked(scores: pd.DataFrame) -> pd.Series:
    """Whether each score row is ranked (``scoring.scores`` column ``ranked``; a frame without
    it is taken as all ranked). Unranked scores rest on too little data to be compared."""
    if "ranked" in scores:
        return scores["ranked"].astype("boolean").fillna(False).astype(bool)
    return pd.Series(True, index=scores.index)


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
        return HTML(f'<p class="amt-note">{_esc(_t("tbl.no_score", lang))}</p>')
    earlier = own.loc[own["period"].astype(str) < period, "score"].dropna()
    previous = earlier.iloc[-1] if len(earlier) else None
    score_row = now.iloc[0]
    peers = scores[
        (scores["period"].astype(str) == period) & (scores["segment"] == score_row["segment"])
    ]
    segment_size = int((peers["score"].notna() & _ranked(peers)).sum())
    row = dict(score_row)
    tiles = [
        (i18n.fmt_number(row.get("score"), lang, digits=0) + " / 100", _t("tbl.tile.score", lang))
    ]
    rank: Any = row.get("rank")
    ranked = bool(_ranked(now).iloc[0])
    if not ranked:
        tiles.append((_t("tbl.not_ranked", lang), _t("tbl.tile.not_ranked", lang)))
        previous = None  # a score on too little data: its change says nothing
    elif not _missing(rank):
        text = (
            _t("tbl.tile.rank_of", lang, rank=int(rank), n=segment_size)
            if segment_size
            else i18n.fmt_number(rank, lang)
        )
        tiles.append((text, _t("tbl.tile.rank", lang, segment=row.get("segment", ""))))
    if previous is not None and not _missing(previous) and not _missing(row.get("score")):
        delta = float(row["score"]) - float(previous)
        sign = "+" if delta > 0 else ""
        tiles.append((sign + i18n.fmt_number(delta, lang, digits=1), _t("tbl.tile.change", lang)))
    if not _missing(row.get("coverage")):
        tiles.append((i18n.fmt_percent(row["coverage"], lang), _t("tbl.tile.coverage", lang)))
    body = "".join(
        f'<div class="amt-kpi"><div class="v">{_esc(v)}</div><div class="l">{_esc(label)}</div></div>'
        for v, label in tiles
    )
    return HTML(f'<div class="amt-kpis">{body}</div>')


def _reason(row: pd.Series, lang: str) -> str:
    column = "reason_ru" if lang == "ru" else "reason_en"
    value = row.get(column)
    return "" if _missing(value) else str(value)


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
    return bullets(items, empty=_t("tbl.no_strengths", lang))


def development_list(plan: pd.DataFrame, lang: str = "en") -> HTML:
    """Development areas (``kind == "development"``) as a bullet list of KPI and reason."""
    rows = plan[plan["kind"].astype(str) == "development"].sort_values("priority")
    items = []
    for _, row in rows.drop_duplicates("kpi").iterrows():
        # the engine's reason already names the KPI ("Conversion rate 43% meets target 35%")
        items.append(_reason(row, lang) or kpi_label(str(row["kpi"]), lang))
    return bullets(items, empty=_t("tbl.no_development", lang))


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
        return HTML(f'<p class="amt-note">{_esc(_t("tbl.no_training", lang))}</p>')
    course_col = "course_ru" if lang == "ru" else "course_en"
    rows = rows.assign(
        kpi_text=[kpi_label(str(k), lang) for k in rows["kpi"]],
        skill_text=[
            i18n.MISSING if _missing(s) else str(s)
            for s in rows["skill_ru" if lang == "ru" and "skill_ru" in rows else "skill"]
        ],
        course=rows[course_col],
        reason=[_reason(r, lang) for _, r in rows.iterrows()],
    )
    headers = {
        "priority": _t("tbl.col.priority", lang),
        "kpi_text": _t("tbl.col.kpi_to_move", lang),
        "skill_text": _t("tbl.col.skill", lang),
        "course": _t("tbl.col.course", lang),
        "hours": _t("tbl.col.hours", lang),
        "reason": _t("tbl.col.reason", lang),
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


def _translate_reason(reason: Any, lang: str, args: Any = None) -> str:
    """Text in ``lang`` of a KPI reason: a key of ``amtools.kpi.REASONS`` with its
    ``reason_args`` (JSON or dict). Saved contexts of older layouts are refused on loading,
    so no English reason text reaches this point.

    Example
    -------
    >>> _translate_reason("needs_column", "en", '{"column": "deals.cost"}')
    'needs column deals.cost'
    """
    from amtools.kpi.reasons import REASONS, reason_text

    if _missing(reason) or not str(reason).strip():
        return ""
    key = str(reason).strip()
    if key in REASONS:
        return reason_text(key, args, lang)
    return key if lang == "en" else _t("tbl.reason.other", lang)


def data_notes(card: pd.DataFrame, lang: str = "en") -> HTML:
    """Which KPIs lack data this period and why (insufficient sample or unavailable).

    Parameters
    ----------
    card : scorecard rows of one manager and one period (status, n, kpi, reason if present).

    Example
    -------
    >>> data_notes(card_now, "en")  # doctest: +SKIP
    """
    from amtools.kpi.registry import KPIS

    items = []
    ordered = _catalogue_order(card)
    for _, row in ordered.iterrows():
        status = str(row["status"])
        name = kpi_label(str(row["kpi"]), lang)
        reason = _translate_reason(row.get("reason"), lang, row.get("reason_args"))
        if status == "insufficient_data":
            spec = KPIS.get(str(row["kpi"]))
            n = row.get("n")
            text = _t(
                "tbl.note.insufficient",
                lang,
                kpi=name,
                n=i18n.fmt_number(0 if _missing(n) else n, lang),
                min=i18n.fmt_number(spec.min_sample if spec else 0, lang),
            )
            items.append(text + (f" ({reason})" if reason else ""))
        elif status == "not_available":
            items.append(
                _t(
                    "tbl.note.not_available",
                    lang,
                    kpi=name,
                    reason=reason or _t("tbl.reason.other", lang),
                )
            )
    return bullets(items, empty=_t("tbl.note.all_ok", lang))


# --------------------------------------------------------------------------- team review
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
    ranked = _ranked(rows)
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
    not_ranked = _t("tbl.not_ranked", lang)
    headers = {
        "place": "#",
        "name": _t("tbl.col.manager", lang),
        "segment": _t("tbl.col.segment", lang),
        "team": _t("tbl.col.team", lang),
        "score": _t("tbl.col.score", lang),
        "rank": _t("tbl.col.rank_in_segment", lang),
    }
    if previous is not None:
        headers["change"] = _t("tbl.col.change", lang)
    headers["coverage"] = _t("tbl.col.coverage", lang)

    def change(x: Any) -> str:
        if _missing(x):
            return i18n.MISSING
        return ("+" if x > 0 else "") + i18n.fmt_number(x, lang, digits=1)

    table = html_table(
        rows,
        headers=headers,
        formatters={
            "score": lambda x: i18n.fmt_number(x, lang, digits=1),
            "rank": lambda x: not_ranked if _missing(x) else i18n.fmt_number(x, lang),
            "change": change,
            "coverage": lambda x: i18n.fmt_percent(x, lang),
            "place": lambda x: i18n.MISSING if _missing(x) else str(int(x)),
        },
        numeric=("place", "score", "rank", "change", "coverage"),
        cell_classes={
            "change": lambda x: "" if _missing(x) else _GOOD if x >= 5 else _BAD if x <= -5 else "",
            "rank": lambda x: "amt-muted" if _missing(x) else "",
        },
    )
    if not rows["_ranked"].all():
        table += f'<p class="amt-note">{_esc(_t("tbl.not_ranked_note", lang))}</p>'
    return HTML(table)


_PROFILE = [
    # metric, seed's expectation: which segment has the higher value
    ("clients_per_manager", "B2C"),
    ("average_check", "B2B"),
    ("sales_cycle_days", "B2B"),
    ("contact_frequency", "B2B"),
    ("average_discount", "B2B"),
    ("conversion_rate", None),
    ("retention_rate", None),
    ("revenue_growth_existing", None),
]


def segment_profile(kpis_segment: pd.DataFrame, dataset: Any, period: str) -> pd.DataFrame:
    """The seed's B2B-vs-B2C comparison as measured numbers for ``period``.

    Parameters
    ----------
    kpis_segment : ``kpi.compute(..., level="segment")`` output.
    dataset : the Dataset (clients and managers give clients per manager at period end).
    period : period label.

    Returns
    -------
    DataFrame[metric, B2B, B2C, expected_higher, agrees]: ``expected_higher`` is the segment
    the seed says has the larger value (NA where the seed makes no claim), ``agrees`` whether
    the data bear it out.

    Example
    -------
    >>> segment_profile(ctx.kpis_segment, ctx.dataset, "2026Q3").columns.tolist()  # doctest: +SKIP
    ['metric', 'B2B', 'B2C', 'expected_higher', 'agrees']
    """
    from amtools.core.periods import parse_period

    now = kpis_segment[kpis_segment["period"].astype(str) == period]
    values: Any = now.pivot_table(index="kpi", columns="segment", values="value", aggfunc="first")
    end = parse_period(period).end_time.normalize()
    managers = dataset.managers
    clients = dataset.clients
    active = clients["manager_id"].notna()
    if "acquired_date" in clients:
        active &= clients["acquired_date"].isna() | (clients["acquired_date"] <= end)
    if "churned_date" in clients:
        active &= clients["churned_date"].isna() | (clients["churned_date"] > end)
    segment_of = managers.set_index("manager_id")["segment"]
    owners = clients.loc[active, "manager_id"].map(segment_of)
    live = managers
    if "active" in managers:
        live = managers[managers["active"].fillna(True).astype(bool)]
    per_segment_managers = live["segment"].value_counts()
    counts = owners.value_counts()
    rows = []
    for metric, expected in _PROFILE:
        row: dict[str, Any] = {"metric": metric}
        for segment in ("B2B", "B2C"):
            if metric == "clients_per_manager":
                m = per_segment_managers.get(segment, 0)
                row[segment] = float(counts.get(segment, 0)) / m if m else np.nan
            else:
                row[segment] = (
                    float(values.loc[metric, segment])
                    if metric in values.index
                    and segment in values.columns
                    and not _missing(values.loc[metric, segment])
                    else np.nan
                )
        row["expected_higher"] = expected if expected else pd.NA
        if expected and not (_missing(row["B2B"]) or _missing(row["B2C"])):
            other = "B2C" if expected == "B2B" else "B2B"
            row["agrees"] = bool(row[expected] > row[other])
        else:
            row["agrees"] = pd.NA
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["expected_higher"] = frame["expected_higher"].astype("string")
    frame["agrees"] = frame["agrees"].astype("boolean")
    return frame


def segment_profile_table(
    profile: pd.DataFrame, lang: str = "en", *, currency: str = "RUB"
) -> HTML:
    """Format :func:`segment_profile`: metric, B2B, B2C, what the seed expects, agrees?

    Measures neither segment has a value for are left out and named in one
    "not measured" line.

    Example
    -------
    >>> segment_profile_table(segment_profile(ctx.kpis_segment, ctx.dataset, ctx.period), "ru")  # doctest: +SKIP
    """
    empty = profile["B2B"].astype("float64").isna() & profile["B2C"].astype("float64").isna()
    missing = list(profile.loc[empty, "metric"].astype(str))
    profile = profile[~empty]
    rows = profile.assign(
        metric_text=[kpi_label(m, lang) for m in profile["metric"]],
        b2b=[
            _value(m, v, lang, currency)
            for m, v in zip(profile["metric"], profile["B2B"], strict=True)
        ],
        b2c=[
            _value(m, v, lang, currency)
            for m, v in zip(profile["metric"], profile["B2C"], strict=True)
        ],
        expected=[
            _t("tbl.expected_higher", lang, segment=s)
            if not _missing(s)
            else _t("tbl.no_claim", lang)
            for s in profile["expected_higher"]
        ],
        check=[
            i18n.MISSING if _missing(a) else _t("tbl.yes", lang) if a else _t("tbl.no", lang)
            for a in profile["agrees"]
        ],
    )
    headers = {
        "metric_text": _t("tbl.col.metric", lang),
        "b2b": "B2B",
        "b2c": "B2C",
        "expected": _t("tbl.col.seed_expects", lang),
        "check": _t("tbl.col.agrees", lang),
    }
    for segment, column in (("B2B", "b2b"), ("B2C", "b2c")):
        if profile[segment].astype("float64").isna().all():
            headers.pop(column)  # a segment the data does not have: no column of dashes
    table = html_table(rows, headers=headers, numeric=("b2b", "b2c")) if len(rows) else ""
    if missing:
        names = ", ".join(kpi_label(m, lang) for m in missing)
        table += paragraph(_t("tbl.not_measured", lang, kpis=names, n=len(missing))).data
    return HTML(table)


_TOTALS = (
    "sales_volume",
    "new_clients",
    "average_check",
    "conversion_rate",
    "retention_rate",
    "churn_rate",
    "csi",
    "nps",
)


def totals_vs_targets(
    scorecard: pd.DataFrame,
    kpis_segment: pd.DataFrame,
    kpis_company: pd.DataFrame,
    period: str,
    *,
    kpis: Sequence[str] = _TOTALS,
    segments: bool = True,
) -> pd.DataFrame:
    """Segment and company totals against targets for ``period``.

    The target of an additive KPI (``KPI.additive``: sums and counts) is the sum of the
    managers' targets; of a rate, average or score the mean of the managers' targets.

    Returns
    -------
    DataFrame[scope, kpi, value, target, attainment] with scope "B2B", "B2C" or "all";
    attainment is direction-aware (for "lower is better" KPIs target / value).
    With ``segments=False`` only the "all" scope (e.g. pass one team's KPIs as
    ``kpis_company`` and that team's scorecard rows).

    Example
    -------
    >>> totals_vs_targets(ctx.scorecard, ctx.kpis_segment, ctx.kpis_company, "2026Q3").head()  # doctest: +SKIP
    """
    card = scorecard[
        (scorecard["period"].astype(str) == period) & scorecard["kpi"].isin(list(kpis))
    ]
    rows = []
    seg = kpis_segment[kpis_segment["period"].astype(str) == period].set_index(["segment", "kpi"])[
        "value"
    ]
    com = kpis_company[kpis_company["period"].astype(str) == period].set_index("kpi")["value"]
    for scope in ("B2B", "B2C", "all") if segments else ("all",):
        part = card if scope == "all" else card[card["segment"].astype(str) == scope]
        if part.empty:
            continue
        for kpi in kpis:
            _, direction = _kpi_unit(kpi)
            targets = part.loc[part["kpi"] == kpi, "target"].astype("float64")
            if targets.notna().sum() == 0:
                target = np.nan
            elif _additive(kpi):
                target = float(targets.sum())
            elif part.loc[part["kpi"] == kpi].groupby("segment")["target"].mean().nunique() > 1:
                # a mean of different segments' rate targets is no one's target
                target = np.nan
            else:
                target = float(targets.mean())
            value = com.get(kpi, np.nan) if scope == "all" else seg.get((scope, kpi), np.nan)
            value = np.nan if _missing(value) else float(value)
            if np.isnan(value) or np.isnan(target) or target == 0:
                attainment = np.nan
            elif direction == "lower":
                attainment = target / value if value else np.nan
            else:
                attainment = value / target
            rows.append(
                {
                    "scope": scope,
                    "kpi": kpi,
                    "value": value,
                    "target": target,
                    "attainment": attainment,
                }
            )
    return pd.DataFrame(rows, columns=["scope", "kpi", "value", "target", "attainment"])


def totals_table(totals: pd.DataFrame, lang: str = "en", *, currency: str = "RUB") -> HTML:
    """Format :func:`totals_vs_targets`: one row per KPI, one column per scope, each cell the
    value over "target · attainment" (so three scopes fit an A4-wide page).

    Example
    -------
    >>> totals_table(totals_vs_targets(...), "en")  # doctest: +SKIP
    """
    scopes = [s for s in ("all", "B2B", "B2C") if s in set(totals["scope"])]
    measured = totals.loc[totals["value"].astype("float64").notna(), "kpi"]
    kpis = [k for k in dict.fromkeys(totals["kpi"]) if k in set(measured)]
    missing = [k for k in dict.fromkeys(totals["kpi"]) if k not in set(measured)]
    target_word = _t("tbl.col.target", lang)
    records = []
    for kpi in kpis:
        record: dict[str, Any] = {"kpi": kpi_label(kpi, lang)}
        for scope in scopes:
            hit = totals[(totals["kpi"] == kpi) & (totals["scope"] == scope)]
            value = hit["value"].iloc[0] if len(hit) else np.nan
            target = hit["target"].iloc[0] if len(hit) else np.nan
            att = hit["attainment"].iloc[0] if len(hit) else np.nan
            cell = f"<div>{_esc(_value(kpi, value, lang, currency))}</div>"
            if not _missing(target):
                text, cls = _attainment_cell(kpi, value, target, att, lang)
                cell += (
                    f'<div class="amt-muted">{_esc(target_word)} {_esc(_value(kpi, target, lang, currency))}'
                    f' · <span class="{cls}">{_esc(text)}</span></div>'
                )
            record[scope] = cell
        records.append(record)
    frame = pd.DataFrame(records, columns=["kpi", *scopes])
    headers = {"kpi": _t("tbl.col.kpi", lang)}
    headers |= {s: _t("tbl.scope.all", lang) if s == "all" else s for s in scopes}
    table = html_table(frame, headers=headers, numeric=scopes, raw_html=scopes) if kpis else ""
    if missing:
        names = ", ".join(kpi_label(k, lang) for k in missing)
        table += paragraph(_t("tbl.not_measured", lang, kpis=names, n=len(missing))).data
    return HTML(table)


def alerts(
    scores: pd.DataFrame,
    scorecard: pd.DataFrame,
    period: str,
    previous: str | None,
    *,
    drop: float = 10.0,
    below: float = 0.7,
    limit: int = 10,
) -> pd.DataFrame:
    """Things leadership should look at: large score drops and KPIs far below target.

    Parameters
    ----------
    drop : a score fall of at least this many points vs ``previous`` raises an alert.
    below : attainment under this share of target (status ok, weighted KPIs only) raises one.
    limit : at most this many alerts of each kind (largest first).

    Returns
    -------
    DataFrame[kind, manager_id, kpi, value, reference, actual, ranked]: kind "score_drop"
    (value = score now, reference = score before) or "below_target" (value = attainment,
    reference = target, actual = the KPI value); ``ranked`` False marks a manager whose score is not ranked (too little data:
    ``scores`` column ``ranked``). Such managers raise no score-drop alert.

    Example
    -------
    >>> alerts(ctx.scores, ctx.scorecard, "2026Q3", "2026Q2")  # doctest: +SKIP
    """
    out = []
    current = scores[scores["period"].astype(str) == period]
    unranked = set(current.loc[~_ranked(current), "manager_id"].astype(str))
    if previous is not None:
        # a score resting on too little data (not ranked) is no evidence of a fall
        now = current[_ranked(current)].set_index("manager_id")["score"]
        before = scores[scores["period"].astype(str) == previous].set_index("manager_id")["score"]
        change = (now - before.reindex(now.index)).dropna().sort_values()
        for manager_id in change[change <= -drop].head(limit).index:
            out.append(
                {
                    "kind": "score_drop",
                    "manager_id": manager_id,
                    "kpi": pd.NA,
                    "value": float(now[manager_id]),
                    "reference": float(before[manager_id]),
                }
            )
    card = scorecard[
        (scorecard["period"].astype(str) == period) & (scorecard["status"].astype(str) == "ok")
    ]
    card = card[(card["weight"].fillna(0) > 0) & (card["attainment"] < below)]
    # largest loss of score points first: a big miss on a heavy KPI before a small one
    lost = card["weight"] * (1 - card["attainment"].clip(upper=1))
    card = card.assign(_lost=lost).sort_values("_lost", ascending=False, kind="stable")
    for _, row in card.head(limit).iterrows():
        out.append(
            {
                "kind": "below_target",
                "manager_id": row["manager_id"],
                "kpi": row["kpi"],
                "value": float(row["attainment"]),
                "reference": float(row["target"]),
                "actual": float(row["value"]),
            }
        )
    columns = ["kind", "manager_id", "kpi", "value", "reference", "actual"]
    frame = pd.DataFrame(out, columns=columns)
    frame["ranked"] = ~frame["manager_id"].astype(str).isin(unranked)
    return frame.astype({"kind": "string", "manager_id": "string", "kpi": "string"})


def alerts_table(
    alert_frame: pd.DataFrame, managers: pd.DataFrame, lang: str = "en", *, currency: str = "RUB"
) -> HTML:
    """Format :func:`alerts` as sentences with the manager's name (escaped).

    Example
    -------
    >>> alerts_table(alerts(...), ctx.dataset.managers, "ru")  # doctest: +SKIP
    """
    if alert_frame.empty:
        return HTML(f'<p class="amt-note">{_esc(_t("tbl.alert.none", lang))}</p>')
    names = managers.set_index(managers["manager_id"].astype(str))["name"]
    items = []
    for _, row in alert_frame.iterrows():
        name = str(names.get(str(row["manager_id"]), row["manager_id"]))
        if row["kind"] == "score_drop":
            items.append(
                _t(
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
            if _missing(actual):
                text = _t(
                    "tbl.alert.below_target",
                    lang,
                    name=name,
                    kpi=kpi_label(kpi, lang),
                    attainment=i18n.fmt_percent(row["value"], lang),
                    target=_value(kpi, row["reference"], lang, currency),
                )
            else:
                gap = (
                    _gap_text(kpi, actual, row["reference"], lang)
                    if _signed(kpi)
                    else _t("tbl.alert.of_target", lang, x=i18n.fmt_percent(row["value"], lang))
                )
                text = _t(
                    "tbl.alert.below_target_value",
                    lang,
                    name=name,
                    kpi=kpi_label(kpi, lang),
                    value=_value(kpi, actual, lang, currency),
                    target=_value(kpi, row["reference"], lang, currency),
                    gap=gap,
                )
            if "ranked" in row and not bool(row["ranked"]):
                text += " " + _t("tbl.alert.not_ranked", lang)
            items.append(text)
    return bullets(items)


# --------------------------------------------------------------------------- forecast
def _model_name(model: Any, lang: str) -> str:
    return _t_or(f"model.{model}", lang, str(model))


def _series_name(uid: str, lang: str, names: dict[str, str] | None = None) -> str:
    if names and uid in names:
        return names[uid]
    if uid == "company":
        return _t("tbl.scope.company", lang)
    level, _, rest = uid.partition("/")
    return f"{_t_or(f'tbl.level.{level}', lang, level)}: {rest}" if rest else uid


def accuracy_table(
    backtest: pd.DataFrame,
    choice: pd.DataFrame,
    lang: str = "en",
    *,
    ids: Sequence[str] | None = None,
    names: dict[str, str] | None = None,
    baseline: str = "seasonal_naive",
) -> HTML:
    """Chosen model per series and its backtest accuracy against the seasonal-naive baseline.

    Parameters
    ----------
    backtest : ``ForecastResult.backtest`` (unique_id, model, mase, smape, coverage_80, coverage_95).
    choice : ``ForecastResult.choice`` (unique_id, model, reason).
    ids : series to show, in order (default all of ``choice``).
    names : display names by unique_id (e.g. manager names).

    Example
    -------
    >>> accuracy_table(result.backtest, result.choice, "en", ids=["company"])  # doctest: +SKIP
    """
    chosen = choice.drop_duplicates("unique_id").set_index("unique_id")
    ids = list(ids) if ids is not None else list(chosen.index)
    bt: Any = backtest.set_index(["unique_id", "model"])
    records = []
    for uid in ids:
        if uid not in chosen.index:
            continue
        model = chosen.loc[uid, "model"]
        own = bt.loc[(uid, model)] if (uid, model) in bt.index else None
        base = bt.loc[(uid, baseline)] if (uid, baseline) in bt.index else None
        records.append(
            {
                "series": _series_name(uid, lang, names),
                "model": _model_name(model, lang),
                "mase": np.nan if own is None else own["mase"],
                "mase_base": np.nan if base is None else base["mase"],
                "smape": np.nan if own is None else own["smape"],
                "cov80": np.nan if own is None else own["coverage_80"],
                "cov95": np.nan if own is None else own["coverage_95"],
            }
        )
    frame = pd.DataFrame(
        records, columns=["series", "model", "mase", "mase_base", "smape", "cov80", "cov95"]
    )
    headers = {
        "series": _t("tbl.col.series", lang),
        "model": _t("tbl.col.model", lang),
        "mase": "MASE",
        "mase_base": _t("tbl.col.mase_baseline", lang),
        "smape": "sMAPE",
        "cov80": _t("tbl.col.interval_coverage", lang, level=80),
        "cov95": _t("tbl.col.interval_coverage", lang, level=95),
    }

    def num(x: Any) -> str:
        return i18n.fmt_number(x, lang, digits=2)

    def pct(x: Any) -> str:
        return i18n.fmt_percent(x, lang)

    def smape(x: Any) -> str:
        # sMAPE may come as a fraction (0..2) or in percent (0..200).
        return (
            i18n.MISSING
            if _missing(x)
            else i18n.fmt_percent(x if x <= 2 else x / 100, lang, digits=1)
        )

    # below 1 beats the seasonal-naive baseline; 1.5 and more is a poor fit worth a look
    classes = {
        "mase": lambda x: "" if _missing(x) else _GOOD if x < 1 else _WARN if x < 1.5 else _BAD
    }
    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={"mase": num, "mase_base": num, "smape": smape, "cov80": pct, "cov95": pct},
            numeric=("mase", "mase_base", "smape", "cov80", "cov95"),
            cell_classes=classes,
        )
    )


def next_quarter_table(
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    lang: str = "en",
    *,
    ids: Sequence[str] | None = None,
    names: dict[str, str] | None = None,
    currency: str = "RUB",
) -> HTML:
    """Next quarter per series: forecast total, 80 % range of the total, same quarter a year ago.

    The range sums the monthly 80 % bounds, which is conservative (wider than the exact range).

    Parameters
    ----------
    forecast : ``ForecastResult.forecast`` (unique_id, ds, yhat, lo_80, hi_80).
    history : ``monthly_series`` output (unique_id, ds, y).

    Example
    -------
    >>> next_quarter_table(result.forecast, series, "ru", ids=["company", "segment/B2B"])  # doctest: +SKIP
    """
    fc = forecast.assign(ds=pd.to_datetime(forecast["ds"]))
    first = fc["ds"].min()
    if pd.isna(first):
        return HTML(f'<p class="amt-note">{_esc(_t("plot.missing.forecast", lang))}</p>')
    quarter = first.to_period("Q")
    if first != quarter.start_time:
        quarter = quarter + 1
    in_q = fc[fc["ds"].dt.to_period("Q") == quarter]
    hist = history.assign(ds=pd.to_datetime(history["ds"]))
    last_year = hist[hist["ds"].dt.to_period("Q") == quarter - 4]
    ids = list(ids) if ids is not None else list(dict.fromkeys(in_q["unique_id"]))
    records = []
    for uid in ids:
        part = in_q[in_q["unique_id"] == uid]
        prior = (
            last_year.loc[last_year["unique_id"] == uid, "y"].sum()
            if (last_year["unique_id"] == uid).any()
            else np.nan
        )
        total = part["yhat"].sum() if len(part) else np.nan
        records.append(
            {
                "series": _series_name(uid, lang, names),
                "total": total,
                "range": (part["lo_80"].sum(), part["hi_80"].sum())
                if {"lo_80", "hi_80"} <= set(part.columns) and len(part)
                else None,
                "prior": prior,
                "change": (total / prior - 1) if not _missing(prior) and prior else np.nan,
            }
        )
    frame = pd.DataFrame(records, columns=["series", "total", "range", "prior", "change"])
    label = i18n.fmt_period(str(quarter.qyear) + "Q" + str(quarter.quarter), lang)
    headers = {
        "series": _t("tbl.col.series", lang),
        "total": _t("tbl.col.forecast_for", lang, period=label),
        "range": _t("tbl.col.range80", lang),
        "prior": _t("tbl.col.year_ago", lang),
        "change": _t("tbl.col.yoy", lang),
    }
    compact = lambda x: i18n.fmt_currency(x, lang, currency, compact=True)  # noqa: E731
    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={
                # same rounding as the range: a forecast to the ruble is false precision
                "total": compact,
                "prior": compact,
                "range": lambda r: (
                    i18n.MISSING
                    if r is None or _missing(r[0])
                    else f"{compact(r[0])} – {compact(r[1])}"
                ),
                "change": lambda x: (
                    i18n.MISSING
                    if _missing(x)
                    else ("+" if x > 0 else "") + i18n.fmt_percent(x, lang, digits=1)
                ),
            },
            numeric=("total", "range", "prior", "change"),
        )
    )


# --------------------------------------------------------------------------- budget
def _scenario(s: Any, lang: str) -> str:
    return _t_or(f"scenario.{s}", lang, str(s))


def _scenario_sorted(values: Iterable[Any]) -> list[str]:
    values = [str(v) for v in dict.fromkeys(values)]
    known = [s for s in ("plan", "low", "base", "high") if s in values]
    return known + sorted(set(values) - set(known))


def budget_summary_table(
    summary: pd.DataFrame,
    lang: str = "en",
    *,
    currency: str = "RUB",
    unavailable: dict[str, Any] | None = None,
) -> HTML:
    """Revenue, costs, margin and margin rate per scenario.

    ``unavailable`` (``BudgetPlan.unavailable``) says why a measure could not be planned;
    its cells then read e.g. "not available: needs column deals.cost" instead of "—".

    Example
    -------
    >>> budget_summary_table(plan.summary, "en")  # doctest: +SKIP
    """
    order = _scenario_sorted(summary["scenario"])
    frame = summary.set_index(summary["scenario"].astype(str)).loc[order].reset_index(drop=True)
    frame = frame.assign(
        scenario_text=[_scenario(s, lang) for s in order],
        margin_rate=frame["margin"] / frame["revenue"].where(frame["revenue"] != 0),
    )
    from amtools.core.messages import render

    why = {key: render(msg, lang) for key, msg in (unavailable or {}).items()}
    money = lambda x: i18n.fmt_currency(x, lang, currency)  # noqa: E731

    def missing_or(key: str, fmt: Callable[[Any], str]) -> Callable[[Any], str]:
        # a short mark in the cells; the reason is said once, below the table
        short = _t("tbl.unavailable", lang) if why.get("margin") else None
        return lambda x: short if short and _missing(x) else fmt(x)

    headers = {
        "scenario_text": _t("tbl.col.scenario", lang),
        "revenue": _t("tbl.col.revenue", lang),
        "costs": _t("tbl.col.costs", lang),
        "margin": _t("tbl.col.margin", lang),
        "margin_rate": _t("tbl.col.margin_rate", lang),
    }
    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={
                "revenue": money,
                "costs": missing_or("costs", money),
                "margin": missing_or("margin", money),
                "margin_rate": missing_or(
                    "margin_rate", lambda x: i18n.fmt_percent(x, lang, digits=1)
                ),
            },
            numeric=("revenue", "costs", "margin", "margin_rate"),
            cell_classes={"margin": lambda x: _BAD if not _missing(x) and x < 0 else ""},
        )
        + (
            paragraph(_t("tbl.margin_unavailable", lang, reason=why["margin"])).data
            if why.get("margin")
            else ""
        )
    )


def _month_text(month: Any, lang: str) -> str:
    return i18n.fmt_period(str(month)[:7], lang)


def monthly_plan_table(revenue: pd.DataFrame, lang: str = "en", *, currency: str = "RUB") -> HTML:
    """Planned revenue by month (rows) and scenario (columns), base split by segment, with a total.

    Parameters
    ----------
    revenue : ``BudgetPlan.revenue`` (month, segment, team, manager_id, scenario, revenue).

    Example
    -------
    >>> monthly_plan_table(plan.revenue, "ru")  # doctest: +SKIP
    """
    month = revenue["month"].astype(str).str[:7]
    grid = revenue.groupby([month, revenue["scenario"].astype(str)])["revenue"].sum().unstack()
    grid = grid[_scenario_sorted(grid.columns)]
    base = revenue[revenue["scenario"].astype(str) == "base"]
    if len(base):
        seg = (
            base.groupby([base["month"].astype(str).str[:7], base["segment"].astype(str)])[
                "revenue"
            ]
            .sum()
            .unstack()
        )
        for s in [c for c in ("B2B", "B2C") if c in seg.columns]:
            grid[f"base_{s}"] = seg[s]
    grid.loc["total"] = grid.sum()
    frame = grid.reset_index(names="month")
    money = lambda x: i18n.fmt_currency(x, lang, currency)  # noqa: E731
    headers = {"month": _t("tbl.col.month", lang)}
    headers |= {
        c: (
            _scenario(c, lang)
            if not c.startswith("base_")
            else f"{_scenario('base', lang)}: {c[5:]}"
        )
        for c in grid.columns
    }
    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={
                "month": lambda m: _t("tbl.total", lang) if m == "total" else _month_text(m, lang)
            }
            | {c: money for c in grid.columns},
            numeric=list(grid.columns),
        )
    )


def quota_table(
    quotas: pd.DataFrame, managers: pd.DataFrame, lang: str = "en", *, currency: str = "RUB"
) -> HTML:
    """Quotas per manager by quarter with the year's total, grouped by segment and team.

    Parameters
    ----------
    quotas : ``BudgetPlan.quotas`` (manager_id, segment, team, month, quota).
    managers : the managers table, for display names (escaped).

    Example
    -------
    >>> quota_table(plan.quotas, ctx.dataset.managers, "en")  # doctest: +SKIP
    """
    q = quotas.assign(
        quarter=pd.to_datetime(quotas["month"].astype(str).str[:7] + "-01").dt.to_period("Q")
    )
    labels = {p: i18n.fmt_period(f"{p.qyear}Q{p.quarter}", lang) for p in q["quarter"].unique()}
    grid = q.pivot_table(
        index=["segment", "team", "manager_id"], columns="quarter", values="quota", aggfunc="sum"
    ).sort_index()
    quarters: list[Any] = list(grid.columns)
    grid.columns = [str(c) for c in quarters]
    grid["total"] = grid.sum(axis=1)
    frame = grid.reset_index()
    names = managers.set_index(managers["manager_id"].astype(str))["name"]
    frame["name"] = (
        frame["manager_id"].astype(str).map(names).fillna(frame["manager_id"].astype(str))
    )
    frame["group"] = (
        frame["segment"].astype(str) + " · " + frame["team"].astype("string").fillna(i18n.MISSING)
    )
    money = lambda x: i18n.fmt_currency(x, lang, currency)  # noqa: E731
    headers = {"name": _t("tbl.col.manager", lang)}
    headers |= {str(p): labels[p] for p in quarters}
    headers["total"] = _t("tbl.total", lang)
    value_cols = [str(p) for p in quarters] + ["total"]
    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={c: money for c in value_cols},
            numeric=value_cols,
            group_col="group",
        )
    )


def cost_table(
    costs: pd.DataFrame,
    lang: str = "en",
    *,
    currency: str = "RUB",
    scenario: str = "base",
    unavailable: dict[str, Any] | None = None,
) -> HTML:
    """Cost budget of one scenario: category rows, quarter columns, total.

    A category in ``unavailable`` (``BudgetPlan.unavailable``, e.g. cost of sales without
    ``deals.cost``) is named below the table with the reason; the total then excludes it.

    Example
    -------
    >>> cost_table(plan.costs, "en")  # doctest: +SKIP
    """
    sub = costs[costs["scenario"].astype(str) == scenario]
    sub = sub.assign(
        quarter=pd.to_datetime(sub["month"].astype(str).str[:7] + "-01").dt.to_period("Q")
    )
    grid = sub.pivot_table(
        index="category", columns="quarter", values="amount", aggfunc="sum", fill_value=0
    )
    quarters: list[Any] = list(grid.columns)
    grid.columns = [str(c) for c in quarters]
    grid["total"] = grid.sum(axis=1)
    grid = grid.sort_values("total", ascending=False)
    grid.loc["__total__"] = grid.sum()
    frame = grid.reset_index(names="category")
    money = lambda x: i18n.fmt_currency(x, lang, currency)  # noqa: E731
    headers = {"category": _t("tbl.col.category", lang)}
    headers |= {str(p): i18n.fmt_period(f"{p.qyear}Q{p.quarter}", lang) for p in quarters}
    headers["total"] = _t("tbl.total", lang)
    value_cols = [str(p) for p in quarters] + ["total"]
    from amtools.core.messages import render

    # categories that share a reason are named together, once
    grouped: dict[str, list[str]] = {}
    for key, msg in (unavailable or {}).items():
        if key != "margin":
            grouped.setdefault(render(msg, lang), []).append(
                _t_or(f"budget.category.{key}", lang, key)
            )
    notes = "".join(
        paragraph(
            _t("tbl.category_unavailable", lang, category=", ".join(names), reason=reason)
        ).data
        for reason, names in grouped.items()
    )
    if sub.empty:  # nothing could be planned: the lines above say why, no table of zeros
        return HTML(notes)
    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={
                "category": lambda c: (
                    _t("tbl.total", lang)
                    if c == "__total__"
                    else _t_or(f"budget.category.{c}", lang, str(c))
                ),
            }
            | {c: money for c in value_cols},
            numeric=value_cols,
        )
        + notes
    )


# --------------------------------------------------------------------------- glossary
def glossary_table(lang: str = "en", *, kpis: Sequence[str] | None = None) -> HTML:
    """The KPI glossary (group, name, direction, definition) from the registry.

    Example
    -------
    >>> "<table" in glossary_table("ru").data  # doctest: +SKIP
    True
    """
    from amtools.kpi.registry import kpi_table

    frame = kpi_table(lang)
    if kpis is not None:
        frame = frame[frame["kpi"].isin(list(kpis))]
    frame = frame.assign(
        direction_text=[_t(f"tbl.direction.{d}", lang) for d in frame["direction"]]
    )
    headers = {
        "name": _t("tbl.col.kpi", lang),
        "direction_text": _t("tbl.col.better", lang),
        "formula": _t("tbl.col.definition", lang),
    }
    return HTML(html_table(frame, headers=headers, group_col="group_name"))


# --------------------------------------------------------------------------- chart inputs
def manager_trend_frame(
    scorecard: pd.DataFrame,
    manager_id: str,
    period: str,
    *,
    periods: int = 8,
    max_kpis: int | None = 12,
) -> pd.DataFrame:
    """One manager's KPI history with the segment median per period (anonymous peers).

    Returns
    -------
    DataFrame[period, kpi, value, target, status, peer_median] for the ``periods`` periods
    ending with ``period``; KPIs without profile weight are left out, and only the
    ``max_kpis`` with the largest weight this period are kept (``None``: all).

    Example
    -------
    >>> plotting.kpi_trends(manager_trend_frame(ctx.scorecard, "M001", ctx.period), "en")  # doctest: +SKIP
    """
    own = scorecard[scorecard["manager_id"].astype(str) == str(manager_id)]
    if own.empty:
        return pd.DataFrame(columns=["period", "kpi", "value", "target", "status", "peer_median"])
    segment = own["segment"].iloc[0]
    labels = sorted(p for p in own["period"].astype(str).unique() if p <= period)[-periods:]
    peers = scorecard[
        (scorecard["segment"] == segment) & scorecard["period"].astype(str).isin(labels)
    ]
    median = peers.groupby([peers["period"].astype(str), peers["kpi"].astype(str)])[
        "value"
    ].median()
    median.index = median.index.set_names(["period", "kpi"])
    latest = own[own["period"].astype(str) == labels[-1]] if labels else own
    weights = latest.set_index(latest["kpi"].astype(str))["weight"].fillna(0)
    weights = weights[weights > 0].sort_values(ascending=False, kind="stable")
    weighted = list(weights.index[:max_kpis] if max_kpis else weights.index)
    rows = own[own["period"].astype(str).isin(labels) & own["kpi"].astype(str).isin(weighted)]
    rows = rows[["period", "kpi", "value", "target", "status"]].assign(
        period=rows["period"].astype(str), kpi=rows["kpi"].astype(str)
    )
    return rows.merge(median.rename("peer_median").reset_index(), on=["period", "kpi"], how="left")


def heatmap_frame(
    scorecard: pd.DataFrame,
    scores: pd.DataFrame,
    managers: pd.DataFrame,
    period: str,
    *,
    value: str = "percentile",
    max_kpis: int = 16,
) -> pd.DataFrame:
    """Input of :func:`amtools.render.plotting.kpi_heatmap`: label (name), kpi, value; best score first.

    ``value`` is ``"percentile"`` or ``"attainment"``. To keep the chart legible only KPIs
    with profile weight and a value for at least half the managers are kept, at most
    ``max_kpis`` of them (largest mean weight first), in catalogue order. Rows are grouped
    by segment (labels "name · segment" when there are several), best score first; managers
    whose score is not ranked (too little data) come last, their label marked with " *".

    Example
    -------
    >>> heatmap_frame(ctx.scorecard, ctx.scores, ctx.managers, ctx.period).head()  # doctest: +SKIP
    """
    card = scorecard[
        (scorecard["period"].astype(str) == period) & (scorecard["weight"].fillna(0) > 0)
    ]
    current = scores[scores["period"].astype(str) == period]
    # grouped by segment (each segment's profile weights its own KPIs, so blank cells form
    # blocks instead of a scatter), then ranked managers by score, unranked last
    order = (
        current.assign(_ranked=_ranked(current))
        .sort_values(["segment", "_ranked", "score"], ascending=[True, False, False])["manager_id"]
        .astype(str)
        .tolist()
    )
    segment_of = current.set_index(current["manager_id"].astype(str))["segment"].astype(str)
    n_managers = card["manager_id"].nunique()
    per_kpi = card.groupby(card["kpi"].astype(str)).agg(
        filled=(value, lambda v: v.notna().sum()), weight=("weight", "mean")
    )
    keep = per_kpi[per_kpi["filled"] >= n_managers / 2].nlargest(max_kpis, "weight").index
    card = card[card["kpi"].astype(str).isin(keep)]
    names = managers.set_index(managers["manager_id"].astype(str))["name"].astype(str)
    card = card.assign(
        _rank=card["manager_id"]
        .astype(str)
        .map({m: i for i, m in enumerate(order)})
        .fillna(len(order))
    ).sort_values("_rank", kind="stable")
    label = card["manager_id"].astype(str).map(names).fillna(card["manager_id"].astype(str))
    if segment_of.nunique() > 1:
        seg = card["manager_id"].astype(str).map(segment_of)
        label = label.where(seg.isna(), label + " · " + seg.fillna(""))
    unranked = set(current.loc[~_ranked(current), "manager_id"].astype(str))
    if unranked:
        # the reader must not take a leaver's partial row for a ranked one
        mark = card["manager_id"].astype(str).isin(unranked).to_numpy()
        label = label.where(~mark, label + " *")
    return pd.DataFrame(
        {
            "label": label.to_numpy(),
            "kpi": card["kpi"].astype(str).to_numpy(),
            "value": card[value].astype("float64").to_numpy(),
        }
    )


def revenue_history(dataset: Any, period: str) -> pd.DataFrame:
    """Monthly won revenue per series up to the end of ``period`` (forecast report input).

    :func:`amtools.forecast.monthly_series` of the dataset, or an empty frame
    [unique_id, level, ds, y] when the data has no won deal closed by then (the charts then
    say what is missing instead of failing the report).

    Example
    -------
    >>> revenue_history(ctx.dataset, ctx.period).columns[:3].tolist()  # doctest: +SKIP
    ['unique_id', 'level', 'ds']
    """
    from amtools.core.periods import parse_period
    from amtools.core.problems import DataValidationError
    from amtools.forecast import monthly_series

    end = parse_period(period).end_time.normalize()
    try:
        return monthly_series(dataset, "revenue", end=end)
    except DataValidationError:
        return pd.DataFrame(
            {
                "unique_id": pd.Series(dtype="string"),
                "level": pd.Series(dtype="string"),
                "ds": pd.Series(dtype="datetime64[ns]"),
                "y": pd.Series(dtype="float64"),
            }
        )


def segment_series(
    kpis_segment: pd.DataFrame, kpis_company: pd.DataFrame, kpi: str | Sequence[str]
) -> pd.DataFrame:
    """KPI values per period for each segment plus the total (``segment == "all"``).

    ``kpis_company`` may be one team's rows of ``kpis_team`` (any frame with period, kpi,
    value) and ``kpis_segment`` may be empty.

    Returns
    -------
    DataFrame[period, segment, kpi, value]

    Example
    -------
    >>> plotting.revenue_trend(segment_series(ctx.kpis_segment, ctx.kpis_company, "sales_volume"))  # doctest: +SKIP
    """
    wanted = [kpi] if isinstance(kpi, str) else list(kpi)
    seg = kpis_segment[kpis_segment["kpi"].astype(str).isin(wanted)]
    com = kpis_company[kpis_company["kpi"].astype(str).isin(wanted)]
    frames = [
        pd.DataFrame(
            {
                "period": frame["period"].astype(str).to_numpy(),
                "segment": frame["segment"].astype(str).to_numpy() if label is None else label,
                "kpi": frame["kpi"].astype(str).to_numpy(),
                "value": frame["value"].astype("float64").to_numpy(),
            }
        )
        for frame, label in ((seg, None), (com, "all"))
        if len(frame)
    ]
    if not frames:
        return pd.DataFrame(columns=["period", "segment", "kpi", "value"])
    return pd.concat(frames, ignore_index=True)


def segment_targets(scorecard: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """Sum of the managers' targets of an additive KPI per period and segment.

    Example
    -------
    >>> segment_targets(ctx.scorecard, "sales_volume")  # doctest: +SKIP
    """
    card = scorecard[scorecard["kpi"].astype(str) == kpi]
    out = card.groupby([card["period"].astype(str), card["segment"].astype(str)])["target"].sum(
        min_count=1
    )
    return (
        out.rename("target")
        .rename_axis(["period", "segment"])
        .reset_index()
        .dropna(subset=["target"])
    )
