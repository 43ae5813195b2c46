"""Tests of the report charts (amtools.render.charts, render.sections) on small hand-made frames: translated labels, formats, no crashes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from amtools.core import i18n
from amtools.core.errors import ParameterError
from amtools.kpi.format import kpi_name
from amtools.render import charts
from amtools.render.sections import budget_plan, manager_review, team_review
from amtools.render.sections import forecast as forecast_page


def _texts(fig: Figure) -> list[str]:
    """Every visible string of a figure: titles, tick labels, axis labels, legends, texts."""
    fig.canvas.draw()
    out = [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]
    return [s for s in out if s]


def _card() -> pd.DataFrame:
    periods = ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    rows = []
    for i, p in enumerate(periods):
        rows.append(
            {
                "period": p,
                "kpi": "sales_volume",
                "value": 1e6 + 1e5 * i,
                "target": 1.2e6,
                "status": "ok",
            }
        )
        rows.append(
            {
                "period": p,
                "kpi": "conversion_rate",
                "value": 0.2 + 0.02 * i,
                "target": 0.25,
                "status": "insufficient_data" if i == 0 else "ok",
            }
        )
    return pd.DataFrame(rows)


def test_compact_axis_numbers_are_localised() -> None:
    # 1,250,000 -> 1.2M in English (one decimal under 10), "1,2 млн" in Russian.
    assert charts.compact(1_250_000, "en") == "1.2M"
    assert (
        charts.compact(1_250_000, "ru") == "1,2\xa0млн"
        or charts.compact(1_250_000, "ru") == "1,2 млн"
    )
    assert charts.compact(45_000, "en") == "45k"
    assert charts.axis_formatter("ratio", "en")(0.25, 0) == "25%"


def test_kpi_trends_translates_titles_and_legend() -> None:
    fig = manager_review.kpi_trends(_card(), "ru")
    texts = _texts(fig)
    assert kpi_name("sales_volume", "ru") in " ".join(texts).replace("\n", " ")
    assert i18n.t("plot.legend.target", "ru") in texts
    assert i18n.t("plot.kpi_trends.title", "ru") in texts
    # only panels with data are drawn; the rest of the grid is blank
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 2
    assert fig.get_figwidth() <= charts.PAGE_WIDTH


def test_russian_chart_has_no_english_catalogue_label() -> None:
    fig = manager_review.kpi_trends(_card(), "ru")
    english = {v["en"] for v in i18n.catalog().values() if v.get("en") != v.get("ru")}
    leaked = [t for t in _texts(fig) if t in english]
    assert leaked == []


def test_score_contributions_shows_points_of_maximum() -> None:
    card = pd.DataFrame(
        {
            "kpi": ["sales_volume", "conversion_rate", "csi"],
            "group": ["financial", "financial", "client"],
            "weight": [0.3, 0.2, 0.0],  # csi has no weight: not drawn
            "contribution": [21.0, np.nan, 5.0],
        }
    )
    fig = manager_review.score_contributions(card, "en")
    texts = _texts(fig)
    assert "21.0 / 30.0" in texts  # no max_points column: 0.3 * 100 = 30 points possible
    assert i18n.t("plot.no_data_short", "en") in texts  # conversion without a value
    assert kpi_name("csi", "en") not in texts


def test_score_contributions_uses_renormalised_max_points() -> None:
    # conversion had no data, so sales_volume (weight 0.3) is the only scored KPI of weight
    # 0.3 + 0.2: its maximum is 100 * 0.3 / 0.3 = 100 points, not 0.3 * 100 = 30
    card = pd.DataFrame(
        {
            "kpi": ["sales_volume", "conversion_rate"],
            "group": ["financial", "financial"],
            "weight": [0.3, 0.2],
            "contribution": [70.0, np.nan],
            "max_points": [100.0, np.nan],
        }
    )
    fig = manager_review.score_contributions(card, "en")
    texts = _texts(fig)
    assert "70.0 / 100.0" in texts
    assert not any("/ 30" in t for t in texts)
    assert i18n.t("plot.no_data_short", "en") in texts
    widths = sorted(p.get_width() for p in fig.axes[0].patches)
    assert widths[-1] == pytest.approx(100.0)  # grey "maximum" bar is the renormalised maximum


def test_segment_position_draws_no_peer_points() -> None:
    card = pd.DataFrame(
        {"kpi": ["nps", "sales_volume"], "percentile": [80.0, 10.0], "quartile": [1, 4]}
    )
    fig = manager_review.segment_position(card, "en")
    from matplotlib.collections import PathCollection

    scatters = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    # one scatter with exactly the manager's own two points
    assert [len(c.get_offsets()) for c in scatters] == [2]


def test_heatmap_keeps_row_order_and_escapes_nothing_needed() -> None:
    frame = pd.DataFrame(
        {
            "label": ["Zoe", "Zoe", "Adam", "Adam"],
            "kpi": ["nps", "csi"] * 2,
            "value": [90, 80, 10, 20],
        }
    )
    fig = team_review.kpi_heatmap(frame, "en")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Zoe", "Adam"]
    with pytest.raises(ParameterError, match="percentile"):
        team_review.kpi_heatmap(frame, "en", value="rank")


def test_lost_deals_groups_rare_competitors_and_blank_values() -> None:
    deals = pd.DataFrame(
        {
            "stage": ["lost"] * 5 + ["won"],
            "closed_date": pd.to_datetime(
                ["2026-01-10", "2026-02-10", "2026-04-01", "2026-05-05", "2026-05-06", "2026-05-07"]
            ),
            "competitor": ["Acme", "Acme", "Beta", "Gamma", None, "Acme"],
        }
    )
    fig = team_review.lost_deals(deals, "en", top=2)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    # Acme (2) and Beta/Gamma (1 each, first two kept) + "not recorded"; the won deal is ignored
    assert legend[0] == "Acme"
    assert i18n.t("plot.lost.not_recorded", "en") in legend
    heights = sum(p.get_height() for p in fig.axes[0].patches)
    assert heights == 5


def test_fan_chart_and_grid() -> None:
    ds = pd.date_range("2025-01-01", periods=18, freq="MS")
    hist = pd.DataFrame({"unique_id": "team/North", "ds": ds, "y": np.linspace(1e6, 2e6, 18)})
    fds = pd.date_range("2026-07-01", periods=6, freq="MS")
    fc = pd.DataFrame(
        {
            "unique_id": "team/North",
            "ds": fds,
            "yhat": 2e6,
            "lo_80": 1.8e6,
            "hi_80": 2.2e6,
            "lo_95": 1.6e6,
            "hi_95": 2.4e6,
        }
    )
    fig = forecast_page.fan_chart(hist, fc, "ru")
    assert i18n.t("plot.legend.pi80", "ru") in _texts(fig)
    grid = forecast_page.fan_grid(hist, fc, "en")
    assert grid.axes[0].get_title(loc="left") == "North"


def test_budget_charts() -> None:
    months = pd.date_range("2027-01-01", periods=3, freq="MS")
    revenue = pd.DataFrame(
        [
            {
                "month": m,
                "segment": "B2B",
                "team": "A",
                "manager_id": "M1",
                "scenario": s,
                "revenue": v,
            }
            for m in months
            for s, v in (("low", 1.0e6), ("base", 1.2e6), ("high", 1.4e6))
        ]
    )
    fig = budget_plan.budget_revenue(revenue, "ru")
    assert i18n.t("scenario.base", "ru") in _texts(fig)
    summary = pd.DataFrame(
        {
            "scenario": ["high", "base", "low"],
            "revenue": [3e6, 2e6, 1e6],
            "costs": [1e6] * 3,
            "margin": [2e6, 1e6, 0.0],
        }
    )
    fig = budget_plan.margin_chart(summary, "en")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["low", "base", "high"]


def test_figure_html_embeds_png_and_escapes_alt() -> None:
    fig = team_review.revenue_trend(
        pd.DataFrame(
            {"period": ["2026Q1", "2026Q2"], "segment": ["B2B", "B2B"], "value": [1.0, 2.0]}
        ),
        "en",
    )
    out = charts.figure_html(fig, alt='<script>"x"</script>')
    assert "data:image/png;base64," in out
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(ParameterError, match="lacks column"):
        team_review.leaderboard_chart(pd.DataFrame({"label": ["a"]}), "en")


def test_empty_input_gives_a_message_not_a_crash() -> None:
    # deliberate change: an empty chart is replaced by one line naming what is missing
    fig = team_review.pipeline_chart(
        pd.DataFrame(columns=["ds", "segment", "weighted_pipeline", "open_amount"]), "ru"
    )
    message = i18n.t("plot.missing.pipeline", "ru")
    assert charts.missing_message(fig) == message
    assert "expected_close_date" in message
    out = charts.figure_html(fig)
    assert "data:image" not in out and "amt-missing" in out


def test_every_chart_in_russian_has_no_english_label() -> None:
    english = {v["en"] for v in i18n.catalog().values() if v.get("en") and v["en"] != v.get("ru")}
    periods = ["2026Q1", "2026Q2", "2026Q3"]
    months = pd.date_range("2026-10-01", periods=3, freq="MS")
    seg = pd.DataFrame(
        [
            {"period": p, "segment": s, "kpi": k, "value": v}
            for p in periods
            for s in ("B2B", "B2C", "all")
            for k, v in (("retention_rate", 0.9), ("churn_rate", 0.05), ("sales_volume", 2e6))
        ]
    )
    pipe = pd.DataFrame(
        {
            "ds": list(months) * 2,
            "segment": ["B2B"] * 3 + ["B2C"] * 3,
            "weighted_pipeline": 1e6,
            "open_amount": 2e6,
        }
    )
    fc = pd.DataFrame(
        {
            "unique_id": ["segment/B2B"] * 3 + ["segment/B2C"] * 3,
            "ds": list(months) * 2,
            "yhat": 1.5e6,
            "lo_80": 1e6,
            "hi_80": 2e6,
        }
    )
    costs = pd.DataFrame(
        {
            "scenario": "base",
            "month": list(months) * 2,
            "category": ["payroll"] * 3 + ["marketing"] * 3,
            "amount": 1e5,
        }
    )
    figures = [
        team_review.retention_churn(seg[seg["kpi"] != "sales_volume"], "ru"),
        team_review.revenue_trend(seg[seg["kpi"] == "sales_volume"], "ru"),
        team_review.pipeline_chart(pipe, "ru"),
        forecast_page.pipeline_vs_forecast(pipe, fc, "ru"),
        budget_plan.cost_breakdown(costs, "ru"),
        team_review.segment_comparison(
            pd.DataFrame(
                {
                    "metric": ["clients_per_manager"] * 2 + ["revenue_growth_existing"] * 2,
                    "segment": ["B2B", "B2C"] * 2,
                    "value": [20.0, 300.0, -0.2, 0.1],
                }
            ),
            "ru",
        ),
        manager_review.score_history(
            pd.DataFrame({"period": periods, "score": [50.0, 60.0, 70.0]}),
            "ru",
            peers=pd.DataFrame({"period": periods * 2, "score": [40.0, 50, 60, 70, 80, 90]}),
        ),
        team_review.leaderboard_chart(
            pd.DataFrame({"label": ["А", "Б"], "segment": ["B2B", "B2C"], "score": [70.0, 60.0]}),
            "ru",
        ),
    ]
    for fig in figures:
        leaked = [t for t in _texts(fig) if t in english]
        assert leaked == [], f"{fig.get_suptitle()}: {leaked}"


def test_value_labels_tell_close_amounts_apart() -> None:
    # 1.118e9 and 1.087e9 both read "1.1B" at tick precision; value labels keep 3 digits
    assert charts.compact(1.118e9, "en", precise=True) != charts.compact(
        1.087e9, "en", precise=True
    )
    assert charts.compact(1.118e9, "en", precise=True).startswith("1.12")
    assert charts.compact(699.9e6, "en", precise=True).startswith("700")


def test_contribution_legend_reads_row_by_row() -> None:
    # 7 entries in 4 columns: column-major order [0, 4, 1, 5, 2, 6, 3] reads 0 1 2 3 / 4 5 6
    assert charts.row_major(list(range(7)), 4) == [0, 4, 1, 5, 2, 6, 3]
    assert charts.row_major(list(range(3)), 4) == [0, 1, 2]


def test_score_chart_says_why_a_measured_kpi_has_no_points() -> None:
    # measured but not scorable (no target, too few peers) is not "no data"
    import matplotlib.pyplot as plt

    card = pd.DataFrame(
        {
            "kpi": ["sales_volume", "average_check", "conversion_rate"],
            "group": ["financial"] * 3,
            "weight": [0.4, 0.3, 0.3],
            "contribution": [40.0, None, None],
            "max_points": [100.0, None, None],
            "status": ["ok", "ok", "insufficient_data"],
        }
    )
    fig = manager_review.score_contributions(card, "ru")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    plt.close(fig)
    assert i18n.t("plot.not_scored_short", "ru") in texts
    assert i18n.t("plot.insufficient_short", "ru") in texts
    assert i18n.t("plot.no_data_short", "ru") not in texts
