"""The charts' caching renderer and single draw change the work, never the pixels."""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from amtools.render import charts
from amtools.render.sections import manager_review as page


def _card(scale: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["2026Q1", "2026Q2", "2026Q3"] * 2,
            "kpi": ["sales_volume"] * 3 + ["conversion_rate"] * 3,
            "value": [1e6 * scale, 1.2e6 * scale, 1.1e6, 0.31, 0.35, 0.4 * scale],
            "target": [1.1e6] * 3 + [0.35] * 3,
        }
    )


def _stock_png(fig) -> bytes:
    """What ``savefig`` makes with matplotlib's own canvas (constrained layout, two draws)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=charts._DPI, facecolor="white")
    return buffer.getvalue()


def test_figure_png_is_pixel_identical_to_savefig_and_caches_text():
    charts._METRICS.clear()
    charts._LAYOUTS.clear()
    for lang, scale in (("en", 1.0), ("ru", 0.8), ("en", 1.3), ("ru", 1.0)):
        fast = charts.figure_png(page.kpi_trends(_card(scale), lang))
        stock = _stock_png(page.kpi_trends(_card(scale), lang))
        assert fast == stock, lang
    # the labels were measured and shaped once and reused across figures and languages
    assert charts._METRICS and charts._LAYOUTS


def test_text_caches_stay_bounded(monkeypatch):
    monkeypatch.setattr(charts, "_TEXT_CACHE_SIZE", 5)
    charts._METRICS.clear()
    charts.figure_png(page.kpi_trends(_card(1.0), "ru"))
    assert len(charts._METRICS) <= 5
