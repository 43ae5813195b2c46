"""The budget plan page: revenue, costs and margin per scenario, the monthly plan, the cost
budget and the quotas per manager — its tables and charts.

Inputs are a :class:`amtools.budget.BudgetPlan`'s frames (``summary``, ``revenue``,
``costs``, ``quotas``) and its ``unavailable`` reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure

from amtools.core import i18n
from amtools.core.i18n import is_missing, t
from amtools.core.messages import render
from amtools.core.vocab import SEGMENTS
from amtools.render.charts import (
    NEUTRAL,
    OTHER_COLORS,
    SCENARIO_COLORS,
    axis_formatter,
    compact,
    currency_symbol,
    empty_figure,
    month_labels,
    new_figure,
    require_columns,
    sparse_ticks,
    style_axes,
)
from amtools.render.html import (
    BAD,
    html_table,
    paragraph,
    t_or,
)

__all__ = [
    "budget_summary_table",
    "monthly_plan_table",
    "quota_table",
    "cost_table",
    "budget_revenue",
    "cost_breakdown",
    "margin_chart",
]


def _scenario_name(s: Any, lang: str) -> str:
    return t_or(f"scenario.{s}", lang, str(s))


def _scenario_order(values: Iterable[Any]) -> list[str]:
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
    order = _scenario_order(summary["scenario"])
    frame = summary.set_index(summary["scenario"].astype(str)).loc[order].reset_index(drop=True)
    frame = frame.assign(
        scenario_text=[_scenario_name(s, lang) for s in order],
        margin_rate=frame["margin"] / frame["revenue"].where(frame["revenue"] != 0),
    )
    why = {key: render(msg, lang) for key, msg in (unavailable or {}).items()}
    money = lambda x: i18n.fmt_currency(x, lang, currency)  # noqa: E731

    def missing_or(key: str, fmt: Callable[[Any], str]) -> Callable[[Any], str]:
        # a short mark in the cells; the reason is said once, below the table
        short = t("tbl.unavailable", lang) if why.get("margin") else None
        return lambda x: short if short and is_missing(x) else fmt(x)

    headers = {
        "scenario_text": t("tbl.col.scenario", lang),
        "revenue": t("tbl.col.revenue", lang),
        "costs": t("tbl.col.costs", lang),
        "margin": t("tbl.col.margin", lang),
        "margin_rate": t("tbl.col.margin_rate", lang),
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
            cell_classes={"margin": lambda x: BAD if not is_missing(x) and x < 0 else ""},
        )
        + (
            paragraph(t("tbl.margin_unavailable", lang, reason=why["margin"])).data
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
    grid = grid[_scenario_order(grid.columns)]
    base = revenue[revenue["scenario"].astype(str) == "base"]
    if len(base):
        seg = (
            base.groupby([base["month"].astype(str).str[:7], base["segment"].astype(str)])[
                "revenue"
            ]
            .sum()
            .unstack()
        )
        for s in [c for c in SEGMENTS if c in seg.columns]:
            grid[f"base_{s}"] = seg[s]
    grid.loc["total"] = grid.sum()
    frame = grid.reset_index(names="month")
    money = lambda x: i18n.fmt_currency(x, lang, currency)  # noqa: E731
    headers = {"month": t("tbl.col.month", lang)}
    headers |= {
        c: (
            _scenario_name(c, lang)
            if not c.startswith("base_")
            else f"{_scenario_name('base', lang)}: {c[5:]}"
        )
        for c in grid.columns
    }
    return HTML(
        html_table(
            frame,
            headers=headers,
            formatters={
                "month": lambda m: t("tbl.total", lang) if m == "total" else _month_text(m, lang)
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
    headers = {"name": t("tbl.col.manager", lang)}
    headers |= {str(p): labels[p] for p in quarters}
    headers["total"] = t("tbl.total", lang)
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
    headers = {"category": t("tbl.col.category", lang)}
    headers |= {str(p): i18n.fmt_period(f"{p.qyear}Q{p.quarter}", lang) for p in quarters}
    headers["total"] = t("tbl.total", lang)
    value_cols = [str(p) for p in quarters] + ["total"]
    # categories that share a reason are named together, once
    grouped: dict[str, list[str]] = {}
    for key, msg in (unavailable or {}).items():
        if key != "margin":
            grouped.setdefault(render(msg, lang), []).append(
                t_or(f"budget.category.{key}", lang, key)
            )
    notes = "".join(
        paragraph(
            t("tbl.category_unavailable", lang, category=", ".join(names), reason=reason)
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
                    t("tbl.total", lang)
                    if c == "__total__"
                    else t_or(f"budget.category.{c}", lang, str(c))
                ),
            }
            | {c: money for c in value_cols},
            numeric=value_cols,
        )
        + notes
    )


# --------------------------------------------------------------------------- charts


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
    require_columns(revenue, ["month", "scenario", "revenue"], "budget_revenue")
    totals = (
        revenue.groupby([revenue["month"].astype(str), revenue["scenario"].astype(str)])["revenue"]
        .sum()
        .unstack()
    )
    fig = new_figure(height=2.9)
    if totals.empty:
        return empty_figure(fig, t("plot.missing.forecast", lang))
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
            color=SCENARIO_COLORS.get(scenario, NEUTRAL),
            label=_scenario_name(scenario, lang),
        )
    labels = month_labels([pd.Timestamp(str(m)[:7] + "-01") for m in months], lang)
    sparse_ticks(ax, labels, max_labels=6)
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        t("plot.axis.revenue", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    style_axes(ax)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", fontsize=7.5, frameon=False, ncols=len(labels)
    )
    fig.suptitle(title or t("plot.budget_revenue.title", lang), fontsize=11)
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
    require_columns(costs, ["scenario", "month", "category", "amount"], "cost_breakdown")
    sub = costs[costs["scenario"].astype(str) == scenario]
    table = (
        sub.groupby([sub["month"].astype(str), sub["category"].astype(str)])["amount"]
        .sum()
        .unstack(fill_value=0)
    )
    fig = new_figure(height=2.9)
    if table.empty:
        return empty_figure(fig, t("plot.missing.costs", lang))
    ax = fig.subplots()
    table = table[table.sum().sort_values(ascending=False).index]
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for i, category in enumerate(table.columns):
        ax.bar(
            x,
            table[category],
            bottom=bottom,
            color=OTHER_COLORS[i % len(OTHER_COLORS)],
            width=0.75,
            label=t_or(f"budget.category.{category}", lang, category),
        )
        bottom += table[category].to_numpy()
    labels = month_labels([pd.Timestamp(str(m)[:7] + "-01") for m in table.index], lang)
    sparse_ticks(ax, labels, max_labels=6)
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        t("plot.axis.costs", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    style_axes(ax)
    fig.legend(loc="outside right center", fontsize=7.5, frameon=False)
    fig.suptitle(
        title or t("plot.cost_breakdown.title", lang, scenario=_scenario_name(scenario, lang)),
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
    require_columns(summary, ["scenario", "revenue", "costs", "margin"], "margin_chart")
    data = summary.set_index(summary["scenario"].astype(str))
    order = _scenario_order(list(data.index))
    data = data.loc[order]
    fig = new_figure(height=2.8)
    if data.empty:
        return empty_figure(fig, t("plot.missing.forecast", lang))
    if data["margin"].astype("float64").isna().all():
        # no cost of sales (deals.cost absent): a margin of revenue minus part of the costs
        # would overstate it, so the chart is replaced by what is missing
        return empty_figure(fig, t("plot.missing.margin", lang))
    ax = fig.subplots()
    x = np.arange(len(order))
    measures = [("revenue", "#1f5f8b"), ("costs", "#c0504d"), ("margin", "#4f9a3a")]
    top = float(data[["revenue", "costs", "margin"]].abs().to_numpy().max() or 1)
    for i, (measure, color) in enumerate(measures):
        values = data[measure].astype("float64").to_numpy()
        bars = ax.bar(
            x + (i - 1) * 0.26, values, 0.26, color=color, label=t(f"plot.legend.{measure}", lang)
        )
        for bar, v in zip(bars, values, strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                max(float(v), 0.0) + top * 0.015,
                compact(float(v), lang, precise=True),
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,  # upright labels collide over narrow bars ("1,12 млрд")
            )
    ax.set_xticks(x)
    ax.set_xticklabels([_scenario_name(s, lang) for s in order])
    ax.yaxis.set_major_formatter(axis_formatter("currency", lang))
    ax.set_ylabel(
        t("plot.axis.amount", lang, currency=currency_symbol(currency, lang)), fontsize=8.5
    )
    ax.set_ylim(min(0, float(data["margin"].min()) * 1.2), top * 1.4)
    style_axes(ax)
    # below the chart: the upright value labels need the space above the bars
    fig.legend(fontsize=7.5, frameon=False, ncols=3, loc="outside lower center")
    fig.suptitle(title or t("plot.margin.title", lang), fontsize=11)
    return fig
