"""Executed notebook -> one self-contained HTML page: no code, no parameters, nothing external."""

from __future__ import annotations

import amtools.render.notebooks.nbimports  # noqa: F401 - before nbformat (see there)

# isort: split
import functools
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from amtools.core.i18n import fmt_date, fmt_period, t

__all__ = [
    "TEMPLATES_DIR",
    "TEMPLATE_NAME",
    "REMOVE_CELL_TAGS",
    "ReportHeader",
    "export_html",
    "report_css",
    "add_toc",
    "html_exporter",
    "generated_text",
    "display_source",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "amtools_report"
REMOVE_CELL_TAGS: tuple[str, ...] = (
    "parameters",
    "injected-parameters",
    "papermill-error-cell-tag",
    "remove_cell",
    "remove-cell",
)
"""Cells with these tags are left out of the HTML (papermill's parameters cells among them)."""
REMOVE_OUTPUT_TAGS: tuple[str, ...] = ("remove_output", "remove-output")

_HEADING = re.compile(r"<h([23])\b([^>]*)>(.*?)</h\1>", re.DOTALL | re.IGNORECASE)
_ID_ATTR = re.compile(r"""\bid\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class ReportHeader:
    """What the page header shows: title, period, source, time and reproducibility stamp.

    Every value is escaped when rendered (they may come from the data).
    """

    title: str
    lang: str
    period: str
    source: str
    generated_at: pd.Timestamp
    fingerprint: str
    version: str
    parameters: dict[str, Any] = field(default_factory=dict)
    index_href: str | None = "index.html"


_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]+:)[^/\s]*@")


# How amtools.loading describes its sources, so the description can be shown in the report's language.
_SOURCE_FORMS = [
    (re.compile(r"^Excel workbook (?P<path>.+) \((?P<n>\d+) sheets\)"), "source.excel"),
    (re.compile(r"^DuckDB database (?P<path>.+?)(?=, mapping |$)"), "source.duckdb"),
    (re.compile(r"^SQL database (?P<path>.+?)(?=, mapping |$)"), "source.sql"),
    (
        re.compile(r"^(?P<kind>[A-Za-z/]+) folder (?P<path>.+) \((?P<n>\d+) files\)"),
        "source.folder",
    ),
    (re.compile(r"^(?P<kind>CSV|Parquet) file (?P<path>.+?)(?=, mapping |$)"), "source.file"),
    (re.compile(r"^amtools demo \(seed=(?P<seed>\d+)\)"), "source.demo"),
]
_MAPPING = re.compile(r", mapping (?P<name>[^,]+)$")


def display_source(source: str, lang: str = "en") -> str:
    """The data source as shown in reports: in ``lang``, with passwords in URLs masked.

    Example
    -------
    >>> display_source("postgresql://amtools:s3cret@db.local/crm")
    'postgresql://amtools:***@db.local/crm'
    >>> display_source("DuckDB database data/demo.duckdb, mapping crm", "ru")
    'База данных DuckDB data/demo.duckdb, сопоставление crm'
    """
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@", str(source))
    for pattern, key in _SOURCE_FORMS:
        match = pattern.match(text)
        if match:
            mapping = _MAPPING.search(text[match.end() :])
            rest = (
                t("source.mapping", lang, **mapping.groupdict()) if mapping else text[match.end() :]
            )
            return t(key, lang, **match.groupdict()) + rest
    return text


@functools.cache
def report_css() -> str:
    """The stylesheet embedded in every report and index page."""
    return (TEMPLATES_DIR / "static" / "report.css").read_text(encoding="utf-8")


def generated_text(stamp: pd.Timestamp, lang: str) -> str:
    """``Sep 30, 2026 14:05 UTC`` in the report's language."""
    stamp = pd.Timestamp(stamp)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    stamp = stamp.tz_convert("UTC")
    return f"{fmt_date(stamp, lang)} {stamp:%H:%M} UTC"


@functools.cache
def html_exporter() -> Any:
    """The nbconvert HTML exporter of the report template (built once per process).

    Report workers call it at start-up, so the template is compiled while the run context
    is computed.

    Example
    -------
    >>> html_exporter() is html_exporter()  # doctest: +SKIP
    True
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        anchor_link_text="",
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            remove_cell_tags=set(REMOVE_CELL_TAGS),
            remove_all_outputs_tags=set(REMOVE_OUTPUT_TAGS),
            enabled=True,
        ),
        enabled=True,
    )
    return exporter


def export_html(nb: nbformat.NotebookNode, header: ReportHeader, *, toc_min: int = 3) -> str:
    """Render an executed notebook as one self-contained HTML page.

    Code cells' inputs, the parameters and injected-parameters cells and library warnings
    (stderr) are left out; images are embedded; no external URL is referenced. A table of
    contents is added when the report has at least ``toc_min`` section headings.

    Example
    -------
    >>> page = export_html(nbformat.read("x.ipynb", 4), header)  # doctest: +SKIP
    """
    params = {k: v for k, v in header.parameters.items() if k != "context"}
    resources = {
        "metadata": {"name": header.title},
        "amtools": {
            "title": header.title,
            "lang": header.lang,
            "period_text": fmt_period(header.period, header.lang) if header.period else "",
            "source": display_source(header.source, header.lang),
            "generated_text": generated_text(header.generated_at, header.lang),
            "fingerprint": header.fingerprint,
            "version": header.version,
            "parameters_text": json.dumps(params, ensure_ascii=False, sort_keys=True, default=str),
            "index_href": header.index_href,
            "css": report_css(),
            "labels": {
                key: t(f"header.{key}", header.lang)
                for key in (
                    "period",
                    "source",
                    "generated",
                    "reproducibility",
                    "fingerprint",
                    "parameters",
                    "version",
                    "back_to_index",
                )
            },
        },
    }
    body, _ = html_exporter().from_notebook_node(nb, resources=resources)
    return add_toc(body, header.lang, min_headings=toc_min)


def add_toc(page: str, lang: str, *, min_headings: int = 3) -> str:
    """Insert a table of contents built from the page's h2/h3 headings.

    Headings without an ``id`` get one so the links work; the text is re-escaped.

    Example
    -------
    >>> add_toc("<!--amtools:toc--><!--amtools:content--><h2>A</h2><!--amtools:content-end-->", "en", min_headings=1)[:24]
    '<nav class="am-toc"><h2>'
    """
    start = page.find("<!--amtools:content-->")
    end = page.find("<!--amtools:content-end-->")
    if start < 0 or end < 0:
        return page
    content = page[start:end]
    entries: list[tuple[int, str, str]] = []

    def visit(match: re.Match[str]) -> str:
        level, attrs, inner = int(match.group(1)), match.group(2), match.group(3)
        found = _ID_ATTR.search(attrs)
        if found:
            anchor = html.unescape(found.group(2))
        else:
            anchor = f"am-section-{len(entries) + 1}"
            attrs = f' id="{anchor}"{attrs}'
        text = html.unescape(_TAGS.sub("", inner)).replace("¶", "").strip()
        if text:
            entries.append((level, anchor, text))
        return f"<h{level}{attrs}>{inner}</h{level}>"

    content = _HEADING.sub(visit, content)
    toc = ""
    if len(entries) >= min_headings:
        items = "".join(
            f'<li class="am-toc-{level}"><a href="#{html.escape(anchor)}">{html.escape(text)}</a></li>'
            for level, anchor, text in entries
        )
        toc = f'<nav class="am-toc"><h2>{html.escape(t("header.contents", lang))}</h2><ol>{items}</ol></nav>'
    page = page[:start] + content + page[end:]
    return page.replace("<!--amtools:toc-->", toc, 1)
