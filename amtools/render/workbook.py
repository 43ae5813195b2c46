"""Excel export of a budget plan: one sheet per view, real numbers with number formats."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from amtools.budget import COST_CATEGORIES, PLAN_SCENARIO, BudgetPlan
from amtools.core.errors import ParameterError, ReportError
from amtools.core.files import atomic_path
from amtools.core.messages import Message, render
from amtools.core.textsafe import inert_cell

__all__ = ["write_budget_workbook", "currency_format", "SHEETS"]

SHEETS = (
    "summary",
    "segments",
    "revenue",
    "quotas",
    "costs",
    "bonuses",
    "scenarios",
    "assumptions",
    "plan_vs_actual",
)
"""Sheet keys in workbook order (``plan_vs_actual`` only when actuals are given)."""

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "summary": "Summary",
        "segments": "By segment",
        "revenue": "Revenue plan",
        "quotas": "Quotas",
        "costs": "Costs",
        "bonuses": "Bonus pool",
        "attainment": "Attainment",
        "score": "KPI score",
        "salary": "Monthly salary",
        "scenarios": "Scenarios",
        "assumptions": "Assumptions",
        "plan_vs_actual": "Plan vs actual",
        "scenario": "Scenario",
        "revenue_col": "Revenue",
        "cost_of_sales": "Cost of sales",
        "payroll": "Payroll",
        "payroll_tax": "Payroll tax",
        "bonus": "Bonus",
        "marketing": "Marketing",
        "other": "Other",
        "costs_col": "Total costs",
        "margin": "Margin",
        "margin_pct": "Margin %",
        "level": "Level",
        "segment": "Segment",
        "team": "Team",
        "manager_id": "Manager",
        "total": "Total",
        "forecast": "Forecast (base)",
        "quota": "Annual quota",
        "share": "Share",
        "uplift": "Uplift vs forecast",
        "category": "Category",
        "measure": "Measure",
        "key": "Assumption",
        "value": "Value",
        "month": "Month",
        "plan": "Plan",
        "actual": "Actual",
        "variance": "Variance",
        "variance_pct": "Variance %",
        "plan_ytd": "Plan YTD",
        "actual_ytd": "Actual YTD",
        "month_complete": "Month complete",
        "company": "Company",
        "manager": "Manager",
        "all": "All",
        "unallocated": "(company)",
        "plan_scenario": "plan",
        "scenario.low": "low",
        "scenario.base": "base",
        "scenario.high": "high",
    },
    "ru": {
        "summary": "Итоги",
        "segments": "По сегментам",
        "revenue": "План выручки",
        "quotas": "Квоты",
        "costs": "Затраты",
        "bonuses": "Премиальный фонд",
        "attainment": "Выполнение плана",
        "score": "KPI-балл",
        "salary": "Оклад в месяц",
        "scenarios": "Сценарии",
        "assumptions": "Допущения",
        "plan_vs_actual": "План-факт",
        "scenario": "Сценарий",
        "revenue_col": "Выручка",
        "cost_of_sales": "Себестоимость",
        "payroll": "Оклады",
        "payroll_tax": "Страховые взносы",
        "bonus": "Премии",
        "marketing": "Маркетинг",
        "other": "Прочие",
        "costs_col": "Затраты всего",
        "margin": "Маржа",
        "margin_pct": "Маржа, %",
        "level": "Уровень",
        "segment": "Сегмент",
        "team": "Команда",
        "manager_id": "Менеджер",
        "total": "Итого",
        "forecast": "Прогноз (база)",
        "quota": "Годовая квота",
        "share": "Доля",
        "uplift": "Рост к прогнозу",
        "category": "Статья",
        "measure": "Показатель",
        "key": "Допущение",
        "value": "Значение",
        "month": "Месяц",
        "plan": "План",
        "actual": "Факт",
        "variance": "Отклонение",
        "variance_pct": "Отклонение, %",
        "plan_ytd": "План с начала года",
        "actual_ytd": "Факт с начала года",
        "month_complete": "Месяц закрыт",
        "company": "Компания",
        "manager": "Менеджер",
        "all": "Все",
        "unallocated": "(компания)",
        "plan_scenario": "план",
        "scenario.low": "низкий",
        "scenario.base": "базовый",
        "scenario.high": "высокий",
    },
}

_SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "CNY": "¥"}
_PERCENT = "0.0%"
_DECIMAL = "#,##0.00"
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_TOTAL_FONT = Font(bold=True)


def currency_format(currency: str = "RUB") -> str:
    """Excel number format for whole amounts in ``currency``: ``#,##0 "₽"`` for RUB.

    Example
    -------
    >>> currency_format("USD")
    '#,##0 "$"'
    """
    symbol = _SYMBOLS.get(currency.upper(), currency.upper())
    return f'#,##0 "{symbol}"'


def _scenario_label(name: object, lab: dict[str, str]) -> str:
    if name == PLAN_SCENARIO:
        return lab["plan_scenario"]
    return lab.get(f"scenario.{name}", str(name))


def _excel_value(value: Any) -> Any:
    """Convert pandas/numpy scalars to what openpyxl stores (NaN/NA -> empty cell).

    Text is made inert (:func:`amtools.core.textsafe.inert_cell`): a team named ``=1+1`` is
    stored as the text ``'=1+1``, never as a formula.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m")
    return inert_cell(str(value))


def _write_table(
    ws: Worksheet,
    frame: pd.DataFrame,
    headers: list[str],
    formats: Mapping[str, str],
    *,
    bold_rows: pd.Series | None = None,
    freeze_cols: int = 1,
) -> None:
    """Write ``frame`` with a bold, frozen header row, number formats and column widths."""
    ws.append([inert_cell(str(h)) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    columns = list(frame.columns)
    for i, row in enumerate(frame.itertuples(index=False)):
        ws.append([_excel_value(v) for v in row])
        if bold_rows is not None and bool(bold_rows.iloc[i]):
            for cell in ws[ws.max_row]:
                cell.font = _TOTAL_FONT
    for j, col in enumerate(columns, start=1):
        fmt = formats.get(col)
        width = len(str(headers[j - 1]))
        for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
            if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                if fmt:
                    cell.number_format = fmt
                elif isinstance(cell.value, float):
                    cell.number_format = _DECIMAL
            shown = (
                f"{cell.value:,.0f} ₽" if isinstance(cell.value, float) else str(cell.value or "")
            )
            width = max(width, len(shown))
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 48)
    ws.freeze_panes = ws.cell(row=2, column=freeze_cols + 1)
    if len(frame):
        ws.auto_filter.ref = ws.dimensions


def _month_pivot(
    frame: pd.DataFrame, index: list[str], value: str, months: list[str]
) -> pd.DataFrame:
    wide = frame.pivot_table(
        index=index, columns="_m", values=value, aggfunc="sum", fill_value=0.0, sort=False
    )
    wide = wide.reindex(columns=months, fill_value=0.0)
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reset_index()
    wide["total"] = wide[months].sum(axis=1)
    return wide


def _revenue_view(plan: BudgetPlan, months: list[str], lab: dict[str, str]) -> pd.DataFrame:
    """Plan revenue (quotas) with manager rows and team, segment and company subtotals."""
    q = plan.quotas.assign(_m=plan.quotas["month"].dt.strftime("%Y-%m"))
    q["segment"] = q["segment"].astype(str)
    q["team"] = q["team"].astype(str)
    q["manager_id"] = q["manager_id"].astype(str)
    mgr = _month_pivot(q, ["segment", "team", "manager_id"], "quota", months)
    parts = []
    for seg, seg_rows in mgr.groupby("segment", sort=True):
        for team, team_rows in seg_rows.groupby("team", sort=True):
            parts.append(team_rows.assign(level=lab["manager"]))
            total = team_rows[[*months, "total"]].sum().to_frame().T
            parts.append(total.assign(level=lab["team"], segment=seg, team=team, manager_id=""))
        total = seg_rows[[*months, "total"]].sum().to_frame().T
        parts.append(
            total.assign(level=lab["segment"], segment=seg, team=lab["all"], manager_id="")
        )
    total = mgr[[*months, "total"]].sum().to_frame().T
    parts.append(
        total.assign(level=lab["company"], segment=lab["all"], team=lab["all"], manager_id="")
    )
    out = pd.concat(parts, ignore_index=True)
    return out[["level", "segment", "team", "manager_id", *months, "total"]]


def write_budget_workbook(
    plan: BudgetPlan,
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    plan_vs_actual: pd.DataFrame | None = None,
) -> Path:
    """Write ``plan`` to an Excel workbook, atomically (temp file + rename).

    Sheets: Summary (one row per scenario), By segment (B2B vs B2C), Revenue plan (quotas
    by month for every manager with team, segment and company subtotals), Quotas (annual
    and monthly per manager), Costs (scenario x category x segment by month), Bonus pool
    (attainment, score and bonus per manager and scenario), Scenarios (revenue, costs and
    margin by month), Assumptions, and Plan vs actual when ``plan_vs_actual`` is given.
    Amounts are stored as numbers with a currency format, fractions with a percent format;
    header rows are bold, frozen and filterable.

    Parameters
    ----------
    plan : the :class:`~amtools.budget.BudgetPlan`.
    path : target ``.xlsx`` file; its folder is created if missing.
    lang : ``"en"`` or ``"ru"`` for sheet names and headers.
    plan_vs_actual : optional frame from :func:`amtools.budget.plan_vs_actual` (any level).

    Returns
    -------
    The path written.

    Example
    -------
    >>> write_budget_workbook(budget, "reports/2026Q3/budget.xlsx", lang="ru")  # doctest: +SKIP
    PosixPath('reports/2026Q3/budget.xlsx')
    """
    if lang not in _LABELS:
        raise ParameterError(f"lang must be one of {', '.join(_LABELS)}, got {lang!r}")
    lab = _LABELS[lang]
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ParameterError(f"the budget workbook must be an .xlsx file, got {target.name!r}")
    money = currency_format(str(plan.assumptions.get("currency") or "RUB"))
    months = [m.strftime("%Y-%m") for m in plan.months] or sorted(
        plan.quotas["month"].dt.strftime("%Y-%m").unique()
    )

    wb = Workbook()
    wb.properties.creator = "amtools"
    wb.properties.title = (
        f"Budget FY{plan.fiscal_year}" if lang == "en" else f"Бюджет {plan.fiscal_year}"
    )
    _summary_sheets(wb, plan, lab, money)
    _plan_sheets(wb, plan, months, lab, money)
    _cost_sheets(wb, plan, months, lab, money)
    _assumptions_sheet(wb, plan, lab, lang)
    if plan_vs_actual is not None:
        _plan_vs_actual_sheet(wb, plan_vs_actual, lab, money)

    try:
        with atomic_path(target) as tmp:  # published 0644, like every amtools file
            wb.save(tmp)
    except OSError as exc:
        raise ReportError(f"could not write the budget workbook {target}: {exc}") from exc
    return target


def _summary_sheets(wb: Workbook, plan: BudgetPlan, lab: dict[str, str], money: str) -> None:
    """Summary (one row per scenario) and By segment."""
    ws = wb.active
    ws.title = lab["summary"]
    summary = plan.summary.copy()
    summary_cols = ["scenario", "revenue", *COST_CATEGORIES, "costs", "margin", "margin_pct"]
    summary = summary[summary_cols]
    summary["scenario"] = [_scenario_label(s, lab) for s in summary["scenario"]]
    headers = [lab["scenario"], lab["revenue_col"], *(lab[c] for c in COST_CATEGORIES)]
    headers += [lab["costs_col"], lab["margin"], lab["margin_pct"]]
    formats = dict.fromkeys(summary_cols[1:-1], money) | {"margin_pct": _PERCENT}
    _write_table(ws, summary, headers, formats)

    segments = plan.segment_summary()
    segments["scenario"] = [_scenario_label(x, lab) for x in segments["scenario"]]
    segments["segment"] = (
        segments["segment"].astype("object").where(segments["segment"].notna(), lab["unallocated"])
    )
    _write_table(
        wb.create_sheet(lab["segments"]),
        segments,
        [headers[0], lab["segment"], *headers[1:]],
        formats,
        freeze_cols=2,
    )


def _plan_sheets(
    wb: Workbook, plan: BudgetPlan, months: list[str], lab: dict[str, str], money: str
) -> None:
    """Revenue plan (managers with team, segment and company subtotals) and Quotas."""
    money_months = dict.fromkeys([*months, "total"], money)
    revenue = _revenue_view(plan, months, lab)
    headers = [lab["level"], lab["segment"], lab["team"], lab["manager_id"], *months, lab["total"]]
    _write_table(
        wb.create_sheet(lab["revenue"]),
        revenue,
        headers,
        money_months,
        bold_rows=revenue["level"] != lab["manager"],
        freeze_cols=4,
    )

    q = plan.quotas.assign(_m=plan.quotas["month"].dt.strftime("%Y-%m"))
    monthly = _month_pivot(q, ["manager_id"], "quota", months).drop(columns="total")
    quotas = plan.annual_quotas.merge(monthly, on="manager_id", how="left")
    quotas = quotas[
        ["manager_id", "segment", "team", "forecast", "quota", "share", "uplift", *months]
    ]
    headers = [
        lab[c] for c in ["manager_id", "segment", "team", "forecast", "quota", "share", "uplift"]
    ]
    _write_table(
        wb.create_sheet(lab["quotas"]),
        quotas,
        headers + months,
        {"forecast": money, "quota": money, "share": _PERCENT, "uplift": _PERCENT} | money_months,
        freeze_cols=3,
    )


def _cost_sheets(
    wb: Workbook, plan: BudgetPlan, months: list[str], lab: dict[str, str], money: str
) -> None:
    """Costs (scenario x category x segment by month), Bonus pool and Scenarios."""
    money_months = dict.fromkeys([*months, "total"], money)
    costs = plan.costs.assign(_m=plan.costs["month"].dt.strftime("%Y-%m"))
    costs["segment"] = (
        costs["segment"].astype("object").where(costs["segment"].notna(), lab["unallocated"])
    )
    costs["segment"] = costs["segment"].astype(str)
    wide = _month_pivot(costs, ["scenario", "category", "segment"], "amount", months)
    wide["scenario"] = [_scenario_label(s, lab) for s in wide["scenario"]]
    wide["category"] = [lab.get(str(c), str(c)) for c in wide["category"]]
    headers = [lab["scenario"], lab["category"], lab["segment"], *months, lab["total"]]
    _write_table(wb.create_sheet(lab["costs"]), wide, headers, money_months, freeze_cols=3)

    bonuses = plan.bonuses.merge(
        plan.managers[["manager_id", "segment", "team", "salary"]], on="manager_id", how="left"
    )
    bonuses = bonuses.assign(scenario=[_scenario_label(x, lab) for x in bonuses["scenario"]])
    cols = ["scenario", "manager_id", "segment", "team", "salary", "score", "attainment", "bonus"]
    _write_table(
        wb.create_sheet(lab["bonuses"]),
        bonuses[cols],
        [lab[c] for c in cols],
        {"salary": money, "score": "0", "attainment": _PERCENT, "bonus": money},
        freeze_cols=2,
    )

    _write_table(
        wb.create_sheet(lab["scenarios"]),
        *_scenario_view(plan, months, lab),
        money_months,
        freeze_cols=2,
    )


def _assumptions_sheet(wb: Workbook, plan: BudgetPlan, lab: dict[str, str], lang: str) -> None:
    """Assumptions: the plan's inputs and notes as key/value rows."""
    rows = [
        (key, render(v, lang) if isinstance(v, Message) else v)
        for key, v in _flatten(plan.assumptions)
    ]
    _write_table(
        wb.create_sheet(lab["assumptions"]),
        pd.DataFrame(rows, columns=["key", "value"]),
        [lab["key"], lab["value"]],
        {},
    )


def _plan_vs_actual_sheet(
    wb: Workbook, plan_vs_actual: pd.DataFrame, lab: dict[str, str], money: str
) -> None:
    """Plan vs actual at whatever level the frame has (segment, team, manager)."""
    pva = plan_vs_actual.copy()
    keys = [c for c in ("segment", "team", "manager_id") if c in pva.columns]
    cols = ["month", *keys, "plan", "actual", "variance", "variance_pct"]
    cols += ["plan_ytd", "actual_ytd"]
    missing = [c for c in cols if c not in pva.columns]
    if missing:
        raise ParameterError(
            f"plan_vs_actual lacks column(s) {missing}; pass the frame from "
            "amtools.budget.plan_vs_actual()"
        )
    pva = pva[cols]
    fmts = dict.fromkeys(["plan", "actual", "variance", "plan_ytd", "actual_ytd"], money)
    _write_table(
        wb.create_sheet(lab["plan_vs_actual"]),
        pva,
        [lab[c] for c in cols],
        fmts | {"variance_pct": _PERCENT},
        freeze_cols=1 + len(keys),
    )


def _scenario_view(
    plan: BudgetPlan, months: list[str], lab: dict[str, str]
) -> tuple[pd.DataFrame, list[str]]:
    """Revenue, costs and margin per scenario by month."""
    rev = plan.revenue.assign(_m=plan.revenue["month"].dt.strftime("%Y-%m"))
    rev_w = _month_pivot(rev, ["scenario"], "revenue", months).set_index("scenario")
    costs = plan.costs.assign(_m=plan.costs["month"].dt.strftime("%Y-%m"))
    cost_w = _month_pivot(costs, ["scenario"], "amount", months).set_index("scenario")
    rows = []
    for name in plan.scenarios:
        shown = _scenario_label(name, lab)
        r = rev_w.loc[name] if name in rev_w.index else pd.Series(0.0, index=[*months, "total"])
        c = cost_w.loc[name] if name in cost_w.index else pd.Series(0.0, index=[*months, "total"])
        if "margin" in plan.unavailable:
            # no cost of sales: the costs are incomplete, so neither they nor a margin is shown
            c = pd.Series(np.nan, index=r.index)
        for measure, values in (
            (lab["revenue_col"], r),
            (lab["costs_col"], c),
            (lab["margin"], r - c),
        ):
            rows.append({"scenario": shown, "measure": measure, **values.to_dict()})
    frame = pd.DataFrame(rows)[["scenario", "measure", *months, "total"]]
    return frame, [lab["scenario"], lab["measure"], *months, lab["total"]]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten nested assumptions into (dotted key, scalar) rows for the Assumptions sheet."""
    rows: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):
        for key, sub in value.items():
            rows += _flatten(sub, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, pd.DataFrame):
        for i, record in enumerate(value.to_dict("records")):
            rows += _flatten(record, f"{prefix}[{i}]")
    elif isinstance(value, list | tuple):
        if all(isinstance(v, Message) for v in value) and value:
            rows += [(f"{prefix}[{i}]", v) for i, v in enumerate(value)]
        elif all(not isinstance(v, Mapping | list | tuple) for v in value):
            rows.append((prefix, ", ".join(str(v) for v in value)))
        else:
            for i, sub in enumerate(value):
                rows += _flatten(sub, f"{prefix}[{i}]")
    else:
        rows.append((prefix, value))
    return rows
