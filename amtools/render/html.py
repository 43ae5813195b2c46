"""HTML primitives of the report pages: escaped tables, headings, paragraphs, lists, sparklines.

Every value that comes from data is escaped. The report sections
(:mod:`amtools.render.sections`) build their tables from these pieces; :func:`stylesheet`
embeds the styles once per page.
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
from amtools.core.errors import ParameterError

__all__ = [
    "CSS",
    "GOOD",
    "WARN",
    "BAD",
    "esc",
    "t_or",
    "stylesheet",
    "heading",
    "paragraph",
    "link",
    "bullets",
    "html_table",
    "sparkline",
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
"""Styles of the pages' HTML; :func:`stylesheet` embeds them once per report."""


GOOD, WARN, BAD = "amt-good", "amt-warn", "amt-bad"
"""CSS classes of a cell that is on target, close to it, or well below it."""

_SPARK = "▁▂▃▄▅▆▇█"


def esc(value: Any) -> str:
    """``value`` as text, HTML-escaped (quotes included).

    Example
    -------
    >>> esc('<a href="x">')
    '&lt;a href=&quot;x&quot;&gt;'
    """
    return html.escape(str(value), quote=True)


def t_or(key: str, lang: str, default: str) -> str:
    """Translate ``key`` when the catalogue has it, else return ``default`` (data values).

    Example
    -------
    >>> t_or("no.such.key", "en", "raw value")
    'raw value'
    """
    try:
        return i18n.t(key, lang)
    except KeyError:
        return default


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
    ``display(heading(t("mr.section.scorecard", lang)))``.

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
        raise ParameterError(f"heading level must be 1..4 (h1..h4), got {level!r}")
    anchor = anchor or _slug(text)
    return HTML(f'<h{level} id="{esc(anchor)}">{esc(text)}</h{level}>')


def paragraph(text: str, *, css_class: str = "amt-note") -> HTML:
    """A paragraph of (escaped) text.

    Example
    -------
    >>> paragraph("a < b").data
    '<p class="amt-note">a &lt; b</p>'
    """
    return HTML(f'<p class="{esc(css_class)}">{esc(text)}</p>')


def link(label: str, href: str) -> HTML:
    """A paragraph with one link to a file next to the report (both escaped).

    Example
    -------
    >>> link("Workbook", "budget.xlsx").data
    '<p class="amt-note"><a href="budget.xlsx">Workbook</a></p>'
    """
    return HTML(f'<p class="amt-note"><a href="{esc(href)}">{esc(label)}</a></p>')


def bullets(items: Iterable[str], *, empty: str = "") -> HTML:
    """An escaped bullet list (``empty`` shown as a paragraph when there are no items).

    Example
    -------
    >>> bullets(["x<y"]).data
    '<ul class="amt-note"><li>x&lt;y</li></ul>'
    """
    items = [str(i) for i in items]
    if not items:
        return HTML(f'<p class="amt-note">{esc(empty)}</p>')
    return HTML('<ul class="amt-note">' + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")


def html_table(
    frame: pd.DataFrame,
    *,
    headers: dict[str, str] | None = None,
    formatters: dict[str, Callable[[Any], str]] | None = None,
    numeric: Sequence[str] = (),
    cell_classes: dict[str, Callable[[Any], str]] | None = None,
    group_col: str | None = None,
    raw_html: Sequence[str] = (),
    row_classes: dict[str, Callable[[pd.Series], str]] | None = None,
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
    row_classes : column -> function(whole row) -> CSS class of that column's cell (a cell
        judged against other columns of its row).

    Example
    -------
    >>> html_table(pd.DataFrame({"name": ["<b>x</b>"]}))
    '<table class="amt-table"><thead><tr><th>name</th></tr></thead><tbody><tr><td>&lt;b&gt;x&lt;/b&gt;</td></tr></tbody></table>'
    """
    headers = headers or {c: str(c) for c in frame.columns if c != group_col}
    formatters = formatters or {}
    cell_classes = cell_classes or {}
    row_classes = row_classes or {}
    columns = list(headers)
    head = "".join(
        f'<th class="num">{esc(headers[c])}</th>' if c in numeric else f"<th>{esc(headers[c])}</th>"
        for c in columns
    )
    body: list[str] = []
    current: Any = object()
    for _, row in frame.iterrows():
        if group_col is not None and row[group_col] != current:
            current = row[group_col]
            body.append(
                f'<tr class="amt-group"><td colspan="{len(columns)}">{esc(current)}</td></tr>'
            )
        cells = []
        for c in columns:
            value = row[c] if c in row.index else None
            fmt = formatters.get(c)
            if fmt is not None:
                text = fmt(value)
            else:
                text = i18n.MISSING if i18n.is_missing(value) else str(value)
            text = text if c in raw_html else esc(text)
            classes = []
            if c in numeric:
                classes.append("num")
            if c in cell_classes:
                extra = cell_classes[c](value)
                if extra:
                    classes.append(extra)
            if c in row_classes:
                extra = row_classes[c](row)
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
    arr = np.asarray([np.nan if i18n.is_missing(v) else float(v) for v in values], dtype="float64")
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
