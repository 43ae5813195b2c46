"""The forecast page: fan charts of monthly won revenue (company, segments, teams, managers),
each series' model and backtest accuracy, the pipeline beside the forecast and the next
quarter — its tables and charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from amtools.core import i18n
from amtools.core.dataset import Dataset
from amtools.core.i18n import is_missing, t
from amtools.core.periods import parse_period
from amtools.core.problems import DataValidationError
from amtools.core.vocab import SEGMENTS
from amtools.forecast import monthly_series
from amtools.render.charts import (
    NEUTRAL,
    SEGMENT_COLORS,
    axis_formatter,
    currency_symbol,
    empty_figure,
    month_labels,
    new_figure,
    require_columns,
    style_axes,
    wrap,
)
from amtools.render.html import (
    BAD,
    GOOD,
    WARN,
    esc,
    html_table,
    t_or,
)

__all__ = [
    "revenue_history",
    "accuracy_table",
    "next_quarter_table",
    "fan_chart",
    "fan_grid",
    "pipeline_vs_forecast",
]


def revenue_history(dataset: Dataset, period: str) -> pd.DataFrame:
    """Monthly won revenue per series up to the end of ``period`` (forecast report input).

    :func:`amtools.forecast.monthly_series` of the dataset, or an empty frame
    [unique_id, level, ds, y] when the data has no won deal closed by then (the charts then
    say what is missing instead of failing the report).

    Example
    -------
    >>> revenue_history(ctx.dataset, ctx.period).columns[:3].tolist()  # doctest: +SKIP
    ['unique_id', 'level', 'ds']
    """
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


def _model_name(model: Any, lang: str) -> str:
    return t_or(f"model.{model}", lang, str(model))


def _series_name(uid: str, lang: str, names: dict[str, str] | None = None) -> str:
    if names and uid in names:
        return names[uid]
    if uid == "company":
        return t("tbl.scope.company", lang)
    level, _, rest = uid.partition("/")
    return f"{t_or(f'tbl.level.{level}', lang, level)}: {rest}" if rest else uid


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
        "series": t("tbl.col.series", lang),
        "model": t("tbl.col.model", lang),
        "mase": "MASE",
        "mase_base": t("tbl.col.mase_baseline", lang),
        "smape": "sMAPE",
        "cov80": t("tbl.col.interval_coverage", lang, level=80),
        "cov95": t("tbl.col.interval_coverage", lang, level=95),
    }

    def num(x: Any) -> str:
        return i18n.fmt_number(x, lang, digits=2)

    def pct(x: Any) -> str:
        return i18n.fmt_percent(x, lang)

    def smape(x: Any) -> str:
        # sMAPE may come as a fraction (0..2) or in percent (0..200).
        return (
            i18n.MISSING
            if is_missing(x)
            else i18n.fmt_percent(x if x <= 2 else x / 100, lang, digits=1)
        )

    def judged(row: pd.Series) -> str:
        # against the seasonal-naive forecast's MASE in the same backtest (both are scaled by
        # the in-sample seasonal-naive error, so 1 is not the baseline's own score; without
        # it, against 1): up to 1.5 times its error is a warning, more a poor fit worth a
        # look; and a MASE of 1.5 (3) or more is a warning (poor) even where it beats it.
        value, base = row["mase"], row["mase_base"]
        if is_missing(value):
            return ""
        ratio = value / base if not is_missing(base) and base > 0 else value
        if ratio >= 1.5 or value >= 3:
            return BAD
        return WARN if ratio >= 1 or value >= 1.5 else GOOD

    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={"mase": num, "mase_base": num, "smape": smape, "cov80": pct, "cov95": pct},
            numeric=("mase", "mase_base", "smape", "cov80", "cov95"),
            row_classes={"mase": judged},
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
        return HTML(f'<p class="amt-note">{esc(t("plot.missing.forecast", lang))}</p>')
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
                "change": (total / prior - 1) if not is_missing(prior) and prior else np.nan,
            }
        )
    frame = pd.DataFrame(records, columns=["series", "total", "range", "prior", "change"])
    label = i18n.fmt_period(str(quarter.qyear) + "Q" + str(quarter.quarter), lang)
    headers = {
        "series": t("tbl.col.series", lang),
        "total": t("tbl.col.forecast_for", lang, period=label),
        "range": t("tbl.col.range80", lang),
        "prior": t("tbl.col.year_ago", lang),
        "change": t("tbl.col.yoy", lang),
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
                    if r is None or is_missing(r[0])
                    else f"{compact(r[0])} – {compact(r[1])}"
                ),
                "change": lambda x: (
                    i18n.MISSING
                    if is_missing(x)
                    else ("+" if x > 0 else "") + i18n.fmt_percent(x, lang, digits=1)
                ),
            },
            numeric=("total", "range", "prior", "change"),
        )
    )


# --------------------------------------------------------------------------- charts


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
        label=t("plot.legend.actual", lang),
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
                label=t("plot.legend.pi95", lang),
            )
        if {"lo_80", "hi_80"} <= set(fc.columns):
            ax.fill_between(
                dates,
                fc["lo_80"].astype("float64"),
                fc["hi_80"].astype("float64"),
                color=SEGMENT_COLORS["B2B"],
                alpha=0.3,
                lw=0,
                label=t("plot.legend.pi80", lang),
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
            label=t("plot.legend.forecast", lang),
        )
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(mdates.YearLocator(base=year_step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    style_axes(ax)
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
    require_columns(history, ["ds", "y"], "fan_chart history")
    require_columns(forecast, ["ds", "yhat"], "fan_chart forecast")
    fig = new_figure(height=3.0)
    if history.empty and forecast.empty:
        return empty_figure(fig, t("plot.missing.forecast", lang))
    ax = fig.subplots()
    _fan(ax, history, forecast, lang, legend=True)
    ax.set_ylabel(
        t("plot.axis.revenue", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    fig.suptitle(title or t("plot.fan.title", lang), fontsize=11)
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
    require_columns(history, ["unique_id", "ds", "y"], "fan_grid history")
    require_columns(forecast, ["unique_id", "ds", "yhat"], "fan_grid forecast")
    ids = list(ids) if ids is not None else list(dict.fromkeys(forecast["unique_id"].astype(str)))
    rows = max(1, math.ceil(len(ids) / ncols))
    fig = new_figure(height=1.9 * rows + 0.7)
    if not ids:
        return empty_figure(fig, t("plot.missing.forecast", lang))
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
            wrap(name, max(14, 80 // ncols)), fontsize=8 if ncols >= 4 else 8.5, loc="left"
        )
        ax.tick_params(labelsize=7)
    for ax in axes[len(ids) :]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7.5, frameon=False)
    fig.suptitle(title or t("plot.fan.grid_title", lang), fontsize=11)
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
    require_columns(
        pipeline, ["ds", "segment", "weighted_pipeline"], "pipeline_vs_forecast pipeline"
    )
    if "segment" not in forecast.columns and "unique_id" in forecast.columns:
        # ForecastResult.forecast: keep the segment series, "segment/B2B" -> "B2B"
        ids = forecast["unique_id"].astype(str)
        forecast = forecast[ids.str.startswith("segment/")]
        forecast = forecast.assign(segment=forecast["unique_id"].astype(str).str.split("/").str[1])
    require_columns(forecast, ["ds", "segment", "yhat"], "pipeline_vs_forecast forecast")
    pipe = pipeline.assign(ds=pd.to_datetime(pipeline["ds"]))
    fc = forecast.assign(ds=pd.to_datetime(forecast["ds"]))
    months = sorted(pipe["ds"].unique())
    segments = [
        s
        for s in SEGMENTS
        if s in set(pipe["segment"].astype(str)) | set(fc["segment"].astype(str))
    ]
    fig = new_figure(height=2.8)
    amounts = pipe["weighted_pipeline"].astype("float64").fillna(0.0) if len(pipe) else pipe
    if not months or not segments or not (amounts != 0).any():
        return empty_figure(fig, t("plot.missing.pipeline", lang))
    axes = fig.subplots(1, len(segments), squeeze=False).ravel()
    x = np.arange(len(months))
    for ax, segment in zip(axes, segments, strict=True):
        p = pipe[pipe["segment"].astype(str) == segment].set_index("ds").reindex(months)
        f = fc[fc["segment"].astype(str) == segment].set_index("ds").reindex(months)
        color = SEGMENT_COLORS.get(segment, NEUTRAL)
        ax.bar(
            x - 0.2,
            p["weighted_pipeline"].fillna(0),
            0.4,
            color=color,
            alpha=0.45,
            label=t("plot.legend.weighted_pipeline", lang),
        )
        ax.bar(
            x + 0.2, f["yhat"].fillna(0), 0.4, color=color, label=t("plot.legend.forecast", lang)
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
        ax.set_xticklabels(month_labels(months, lang), fontsize=7.5)
        ax.set_title(segment, fontsize=9, loc="left")
        ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
        style_axes(ax)
    axes[0].set_ylabel(
        t("plot.axis.revenue", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    axes[0].legend(fontsize=7.5, frameon=False)
    fig.suptitle(title or t("plot.pipeline_vs_forecast.title", lang), fontsize=11)
    return fig
