"""Matplotlib primitives of the report charts: figure setup, palette, tick formats, the
"nothing to show" figure and the PNG embedding.

Every chart of the reports lives with its report's tables in :mod:`amtools.render.sections`;
the pieces they share are here. Figures are built without pyplot (no global state).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib
import pandas as pd
from babel.numbers import get_currency_symbol
from IPython.display import HTML, display
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.figure import Figure
from matplotlib.font_manager import fontManager, get_font
from matplotlib.ticker import FuncFormatter

from amtools.core import i18n
from amtools.core.errors import ParameterError

__all__ = [
    "PAGE_WIDTH",
    "SEGMENT_COLORS",
    "GROUP_COLORS",
    "SCENARIO_COLORS",
    "QUARTILE_COLORS",
    "NEUTRAL",
    "TARGET_COLOR",
    "OTHER_COLORS",
    "MISSING_ATTR",
    "figure_html",
    "missing_message",
    "figure_png",
    "show",
    "axis_formatter",
    "compact",
    "currency_symbol",
    "wrap",
    "row_major",
    "new_figure",
    "style_axes",
    "empty_figure",
    "require_columns",
    "sparse_ticks",
    "month_labels",
    "period_labels",
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
QUARTILE_COLORS = {1: "#2e7d32", 2: "#8bc34a", 3: "#ffb300", 4: "#d84315"}
NEUTRAL = "#6e6e6e"
TARGET_COLOR = "#b22222"
OTHER_COLORS = [
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
# zlib level of the embedded PNGs: the pixels are the same at every level; level 1 encodes
# in about half the time of the default 6 for ~4 % more bytes (a review page: ~20 KB more).
_PNG_COMPRESS = 1

# Text from data is inert: names such as ``$x$`` or ``$$\int$$`` are drawn literally, never
# parsed as mathtext (which would garble them or raise). Every label of every chart is built
# by amtools (no chart needs mathtext), so the plotting style turns it off for all text.
matplotlib.rcParams["text.parse_math"] = False

MISSING_ATTR = "amtools_missing"
"""Attribute of a Figure that has nothing to show: the one line that replaces it."""


# --------------------------------------------------------------------------- text cache
# Most of a report chart's drawing time is text: every label is measured (several times, by
# the constrained layout) and shaped into glyphs, and matplotlib caches both per renderer,
# that is per figure. The labels repeat across the charts and reports a warm kernel draws
# (tick labels, KPI names, legends), so this renderer keeps the measurements and the shaped
# glyph runs for the life of the process: the pixels are the same, the work is done once.
_TEXT_CACHE_SIZE = 20_000
_METRICS: dict[tuple[Any, ...], tuple[float, float, float]] = {}
_LAYOUTS: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}


def _font_key(prop: Any, dpi: float) -> tuple[Any, ...]:
    return (
        tuple(prop.get_family()),
        prop.get_slant(),
        prop.get_variant(),
        prop.get_weight(),
        prop.get_stretch(),
        prop.get_size_in_points(),
        prop.get_file(),
        dpi,
    )


def _remember(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> Any:
    if len(cache) >= _TEXT_CACHE_SIZE:
        cache.clear()  # bounded: a kernel drawing unusual labels for hours never grows
    cache[key] = value
    return value


class _CachingRenderer(RendererAgg):
    """The Agg renderer with text measurements and glyph layouts cached per process."""

    def get_text_width_height_descent(self, s: str, prop: Any, ismath: Any) -> Any:
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (s, *_font_key(prop, self.dpi), get_hinting_flag())
        found = _METRICS.get(key)
        if found is None:
            found = _remember(_METRICS, key, super().get_text_width_height_descent(s, prop, False))
        return found

    def draw_text(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: Any,
        angle: float,
        ismath: Any = False,
        mtext: Any = None,
    ) -> None:
        if ismath:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            return
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        flags = get_hinting_flag()
        key = (
            s,
            *_font_key(prop, self.dpi),
            flags,
            None if features is None else tuple(features),
            language if language is None or isinstance(language, str) else tuple(language),
        )
        found = _LAYOUTS.get(key)
        if found is None:
            font = self._prepare_font(prop)
            items = list(font._layout(s, flags=flags, features=features, language=language))
            found = _remember(_LAYOUTS, key, (font, items))
        size = prop.get_size_in_points()
        self._draw_text_glyphs_and_boxes(
            gc,
            x,
            y,
            angle,
            ((item.ft_object, size, item.glyph_index, 0, 1, item.x, item.y) for item in found[1]),
            [],
        )

    def _get_font_height_metrics(
        self, prop: Any
    ) -> tuple[float, float, float] | tuple[None, None, None]:
        """Line gap, ascent and descent of the font (what ``Text`` reads from the font's
        tables for every text it lays out), cached."""
        key = ("height", *_font_key(prop, self.dpi))
        found = _METRICS.get(key)
        if found is None:
            found = _remember(_METRICS, key, _font_height_metrics(prop, self.dpi))
        return found[1], found[2], found[0]


def _font_height_metrics(prop: Any, dpi: float) -> tuple[Any, Any, Any]:
    """``(line_gap, ascent, descent)`` as :meth:`matplotlib.text.Text._get_layout` computes
    them from the OS/2 or hhea table (``None`` values: the text falls back to measuring)."""
    font: Any = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap_key, ascent_key, descent_key in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() * dpi / 72
        return table[gap_key] * scale, table[ascent_key] * scale, -table[descent_key] * scale
    return None, None, None


class _CachingCanvas(FigureCanvasAgg):
    """An Agg canvas drawing with :class:`_CachingRenderer`."""

    def get_renderer(self) -> RendererAgg:
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _CachingRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


# --------------------------------------------------------------------------- display
def figure_html(fig: Figure, *, alt: str = "") -> str:
    """Render ``fig`` to an ``<img>`` tag with the PNG embedded (the report works offline).

    Example
    -------
    >>> fig = Figure(figsize=(2, 1)); _ = fig.subplots().plot([0, 1])
    >>> figure_html(fig, alt="a line").startswith('<figure class="amt-figure">')
    True

    A figure with nothing to show (see :func:`missing_message`) becomes its one line of text:

    >>> figure_html(empty_figure(Figure(), "No deals have a competitor")).startswith('<p class=')
    True
    """
    message = missing_message(fig)
    if message is not None:
        return f'<p class="amt-note amt-missing">{html.escape(message)}</p>'
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    width = int(round(fig.get_figwidth() * 96))
    return (
        '<figure class="amt-figure">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
        f'style="width:{width}px;max-width:100%;height:auto"></figure>'
    )


def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes at the reports' resolution, drawn once.

    ``savefig`` of a figure with a layout engine draws it twice (a dry run, so the layout
    can measure the text, then the real one), and it does so for any engine the figure has,
    even matplotlib's "none" placeholder. Here the constrained layout runs once on the
    figure at the output resolution, the figure is saved with no engine at all (so
    ``savefig`` skips its dry run) and drawn once with that layout: the same pixels for
    less work. The engine is put back afterwards. The PNG is compressed at zlib level
    ``_PNG_COMPRESS`` (the same pixels as at any level).

    Example
    -------
    >>> figure_png(new_figure(1.0))[:4]
    b'\\x89PNG'
    """
    buffer = io.BytesIO()
    save = functools.partial(
        fig.savefig,
        buffer,
        format="png",
        dpi=_DPI,
        facecolor="white",
        pil_kwargs={"compress_level": _PNG_COMPRESS},
    )
    engine = fig.get_layout_engine()
    if engine is None:  # no layout of its own: fit the labels ("tight" draws twice)
        save(bbox_inches="tight")
        return buffer.getvalue()
    if not isinstance(fig.canvas, FigureCanvasAgg):
        _CachingCanvas(fig)
    fig.set_dpi(_DPI)
    if fig.axes:
        engine.execute(fig)
    with matplotlib.rc_context(
        {"figure.autolayout": False, "figure.constrained_layout.use": False}
    ):
        fig.set_layout_engine(None)  # no engine (not the "none" placeholder): no dry run
    try:
        save()
    finally:
        fig.set_layout_engine(engine)
    return buffer.getvalue()


def missing_message(fig: Figure) -> str | None:
    """The line that replaces ``fig`` when it has nothing to show (else ``None``).

    Chart functions return such a figure instead of a blank or all-zero chart; the message
    says what is missing and how to get it, in the report's language.

    Example
    -------
    >>> missing_message(empty_figure(Figure(), "needs deals.competitor"))
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
    >>> show(manager_review.kpi_trends(card, "ru"))  # doctest: +SKIP
    """
    if alt is None:
        alt = fig.get_suptitle()
        if not alt and fig.axes:
            alt = fig.axes[0].get_title()
    display(HTML(figure_html(fig, alt=alt)))
    # Figures are built without pyplot (no global state, no backend switch in the
    # kernel); clearing frees the artists at once.
    fig.clf()


def currency_symbol(currency: str, lang: str) -> str:
    """The currency's symbol in ``lang`` (axis labels), or its ISO code when Babel has none.

    Example
    -------
    >>> currency_symbol("USD", "en")
    '$'
    """
    try:
        return get_currency_symbol(currency, locale=lang)
    except Exception:  # unknown locale or currency: fall back to the ISO code
        return currency


def compact(x: float, lang: str, *, precise: bool = False) -> str:
    """1234567 -> '1.2M' / '1,2 млн' (axis ticks stay short); ``precise`` keeps three
    significant digits ('1.12B' vs '1.09B') for value labels that must tell bars apart.

    Example
    -------
    >>> compact(1_250_000, "en"), compact(45_000, "en"), compact(1.118e9, "en", precise=True)
    ('1.2M', '45k', '1.12B')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    size = abs(x)
    for limit, key in ((1e9, "plot.unit.bn"), (1e6, "plot.unit.mn"), (1e3, "plot.unit.k")):
        if size >= limit:
            value = x / limit
            if precise:
                digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
                return i18n.t(key, lang, x=i18n.fmt_number(value, lang, digits=digits))
            digits = 0 if abs(value) >= 10 or float(value).is_integer() else 1
            return i18n.t(key, lang, x=i18n.fmt_number(value, lang, digits=digits))
    digits = 0 if float(x).is_integer() or size >= 10 else 1
    return i18n.fmt_number(x, lang, digits=digits)


@functools.lru_cache(maxsize=4096)
def _tick(x: float, unit: str, lang: str) -> str:
    """One tick label (cached: Babel formatting is slow and ticks repeat across panels)."""
    if unit == "ratio":
        return i18n.fmt_percent(x, lang, digits=0 if abs(x * 100 - round(x * 100)) < 1e-9 else 1)
    if unit in ("currency", "count", "per_month"):
        return compact(x, lang)
    return i18n.fmt_number(x, lang, digits=0 if abs(x) >= 10 or x == int(x) else 1)


def axis_formatter(unit: str, lang: str) -> FuncFormatter:
    """A tick formatter for a KPI unit: percents for ratios, compact thousands for the rest.

    Example
    -------
    >>> axis_formatter("ratio", "en")(0.25, 0)
    '25%'
    """
    return FuncFormatter(lambda x, _pos: _tick(float(x), unit, lang))


def wrap(text: str, width: int = 18) -> str:
    """Break ``text`` into lines of at most ``width`` characters (whole words).

    Example
    -------
    >>> wrap("Revenue growth of existing clients", 18).splitlines()
    ['Revenue growth of', 'existing clients']
    """
    return "\n".join(textwrap.wrap(str(text), width=width, break_long_words=False)) or str(text)


def row_major(items: list[Any], ncols: int) -> list[Any]:
    """Reorder legend entries so that matplotlib's column-major fill reads row by row.

    Example
    -------
    >>> row_major(list(range(7)), 4)
    [0, 4, 1, 5, 2, 6, 3]
    """
    nrows = math.ceil(len(items) / ncols) if ncols else 0
    return [
        items[i * ncols + j]
        for j in range(ncols)
        for i in range(nrows)
        if i * ncols + j < len(items)
    ]


def new_figure(height: float, width: float = PAGE_WIDTH) -> Figure:
    """A page-wide Figure (``width`` inches) with constrained layout, not tied to pyplot.

    Example
    -------
    >>> new_figure(2.0).get_size_inches().tolist()
    [8.0, 2.0]
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    _CachingCanvas(fig)  # text measured and shaped once per process (see _CachingRenderer)
    return fig


def style_axes(ax: Any) -> None:
    """The house style of an axes: no top/right spines, light horizontal grid, small ticks.

    Example
    -------
    >>> ax = new_figure(2.0).subplots(); style_axes(ax); ax.spines["top"].get_visible()
    False
    """
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)


def empty_figure(fig: Figure, message: str) -> Figure:
    """Mark ``fig`` as having nothing to show: :func:`show` displays ``message`` instead.

    The message is also drawn, so a caller saving the figure itself still reads it.

    Example
    -------
    >>> missing_message(empty_figure(new_figure(1.0), "needs deals.cost"))
    'needs deals.cost'
    """
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color=NEUTRAL, wrap=True)
    setattr(fig, MISSING_ATTR, message)
    return fig


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ``ParameterError`` naming the columns ``frame`` lacks for chart ``what``.

    Example
    -------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "chart")  # has it: no error
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"{what}: the frame lacks column(s) {missing}; it has {list(frame.columns)}. "
            "Pass the amtools table the function documents (or rename the columns)."
        )


def sparse_ticks(ax: Any, labels: Sequence[str], max_labels: int = 6) -> None:
    """Label at most ``max_labels`` evenly spaced positions, always the latest one, so
    period labels never overlap.

    Example
    -------
    >>> ax = new_figure(2.0).subplots(); sparse_ticks(ax, list("abcdefgh"), max_labels=3)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['b', 'e', 'h']
    """
    n = len(labels)
    step = max(1, math.ceil(n / max_labels))
    positions = list(range(n - 1, -1, -step))[::-1]
    ax.set_xticks(positions)
    ax.set_xticklabels([labels[i] for i in positions])


def month_labels(dates: Sequence[pd.Timestamp], lang: str) -> list[str]:
    """Month tick labels in the report's format (the tables' :func:`amtools.core.i18n.fmt_period`).

    Example
    -------
    >>> month_labels([pd.Timestamp("2026-07-01")], "en")  # doctest: +SKIP
    ["Jul '26"]
    """
    return [
        i18n.fmt_period(f"{d.year:04d}-{d.month:02d}", lang, style="short")
        for d in pd.DatetimeIndex(list(dates))
    ]


def period_labels(periods: Sequence[str], lang: str) -> list[str]:
    """Period tick labels («3 кв. 2026», "Q3 2026"): the same function as the table headers.

    Example
    -------
    >>> period_labels(["2026Q3"], "en")  # doctest: +SKIP
    ['Q3 2026']
    """
    return [i18n.fmt_period(p, lang, style="short") for p in periods]
