"""The charts' caching renderer and single draw change the work, never the pixels."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

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


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"))


def test_figure_png_is_pixel_identical_to_savefig_and_caches_text():
    charts._METRICS.clear()
    charts._LAYOUTS.clear()
    for lang, scale in (("en", 1.0), ("ru", 0.8), ("en", 1.3), ("ru", 1.0)):
        fast = charts.figure_png(page.kpi_trends(_card(scale), lang))
        stock = _stock_png(page.kpi_trends(_card(scale), lang))
        # the same image (the zlib level differs, so the bytes may not)
        assert np.array_equal(_pixels(fast), _pixels(stock)), lang
    # the labels were measured and shaped once and reused across figures and languages
    assert charts._METRICS and charts._LAYOUTS


def test_text_caches_stay_bounded(monkeypatch):
    monkeypatch.setattr(charts, "_TEXT_CACHE_SIZE", 5)
    charts._METRICS.clear()
    charts.figure_png(page.kpi_trends(_card(1.0), "ru"))
    assert len(charts._METRICS) <= 5


def test_figure_png_draws_the_figure_once_and_keeps_its_layout_engine(monkeypatch):
    draws: list[bool] = []
    real_draw = Figure.draw

    def counting_draw(self, renderer):
        draws.append(True)
        return real_draw(self, renderer)

    monkeypatch.setattr(Figure, "draw", counting_draw)
    fig = page.kpi_trends(_card(1.0), "en")
    engine = fig.get_layout_engine()
    assert charts.figure_png(fig)[:4] == b"\x89PNG"
    assert len(draws) == 1  # savefig's dry run for the layout engine is skipped
    assert fig.get_layout_engine() is engine


def test_png_compression_level_is_the_one_setting(monkeypatch):
    fig = page.kpi_trends(_card(1.0), "en")
    monkeypatch.setattr(charts, "_PNG_COMPRESS", 9)
    small = charts.figure_png(fig)
    monkeypatch.setattr(charts, "_PNG_COMPRESS", 0)  # stored, not compressed
    big = charts.figure_png(page.kpi_trends(_card(1.0), "en"))
    assert len(big) > 2 * len(small)
    assert np.array_equal(_pixels(small), _pixels(big))
