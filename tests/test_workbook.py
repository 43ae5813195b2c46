"""Tests for amtools.render.workbook: the budget workbook reads back with the plan's numbers."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_budget import make_dataset, make_deals, make_forecast

from amtools.budget import BudgetPlan, plan, plan_vs_actual
from amtools.core.errors import ParameterError
from amtools.render.workbook import currency_format, write_budget_workbook


@pytest.fixture(scope="module")
def budget() -> BudgetPlan:
    return plan(make_forecast(), make_dataset(), policy={"uplift": 0.1})


def _rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def test_workbook_sheets_sums_and_formats(budget: BudgetPlan, tmp_path: Path) -> None:
    path = write_budget_workbook(budget, tmp_path / "out" / "budget.xlsx")
    assert path == tmp_path / "out" / "budget.xlsx" and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["budget.xlsx"]  # no temp file left
    wb = openpyxl.load_workbook(path)
    assert wb.properties.title == "Budget FY2027"
    assert wb.sheetnames == [
        "Summary",
        "By segment",
        "Revenue plan",
        "Quotas",
        "Costs",
        "Bonus pool",
        "Scenarios",
        "Assumptions",
    ]

    # Summary: one row per scenario, the plan's numbers, currency and percent formats.
    ws = wb["Summary"]
    header, *body = _rows(ws)
    assert header[:2] == ("Scenario", "Revenue") and header[-1] == "Margin %"
    summary = budget.summary.set_index("scenario")
    assert [r[0] for r in body] == ["plan", "low", "base", "high", "aggressive"]
    for r in body:
        name = "plan" if r[0] == "plan" else r[0]
        assert r[1] == pytest.approx(summary.loc[name, "revenue"])
        assert r[header.index("Margin")] == pytest.approx(summary.loc[name, "margin"])
        assert r[header.index("Total costs")] == pytest.approx(summary.loc[name, "costs"])
    assert ws["B2"].number_format == '#,##0 "₽"'
    assert ws.cell(row=2, column=len(header)).number_format == "0.0%"
    assert ws.freeze_panes == "B2"
    assert ws["A1"].font.bold

    # By segment: each scenario's segment rows add up to its summary line.
    header, *body = _rows(wb["By segment"])
    assert header[:3] == ("Scenario", "Segment", "Revenue")
    for name in budget.scenarios:
        rows = [r for r in body if r[0] == name]
        assert {r[1] for r in rows} == {"B2B", "B2C"}
        assert sum(r[2] for r in rows) == pytest.approx(summary.loc[name, "revenue"])
        assert sum(r[header.index("Margin")] for r in rows) == pytest.approx(
            summary.loc[name, "margin"]
        )

    # Revenue plan: manager rows add up to the total quota; the company row holds it too.
    ws = wb["Revenue plan"]
    header, *body = _rows(ws)
    total_col = header.index("Total")
    managers = [r for r in body if r[0] == "Manager"]
    total_quota = budget.quotas["quota"].sum()
    assert sum(r[total_col] for r in managers) == pytest.approx(total_quota)
    company = [r for r in body if r[0] == "Company"]
    assert len(company) == 1 and company[0][total_col] == pytest.approx(total_quota)
    for j, month in enumerate(header[4:total_col], start=4):
        expected = budget.quotas.loc[
            budget.quotas["month"].dt.strftime("%Y-%m") == month, "quota"
        ].sum()
        assert company[0][j] == pytest.approx(expected)
    assert ws.freeze_panes == "E2"
    for row in ws.iter_rows(min_row=2, min_col=5):
        for cell in row:
            assert isinstance(cell.value, int | float)
            assert cell.number_format == '#,##0 "₽"'

    # Quotas: annual quotas and shares per manager.
    ws = wb["Quotas"]
    header, *body = _rows(ws)
    q = header.index("Annual quota")
    assert sum(r[q] for r in body) == pytest.approx(budget.annual_quotas["quota"].sum())
    assert ws.cell(row=2, column=header.index("Share") + 1).number_format == "0.0%"

    # Costs: the total column adds up to the summary's costs for every scenario.
    ws = wb["Costs"]
    header, *body = _rows(ws)
    total_col = header.index("Total")
    for name in budget.scenarios:
        got = sum(r[total_col] for r in body if r[0] == name)
        assert got == pytest.approx(summary.loc[name, "costs"])

    # Bonus pool: per scenario the managers' bonuses add up to the summary's bonus line.
    ws = wb["Bonus pool"]
    header, *body = _rows(ws)
    col = header.index("Bonus")
    for name in budget.scenarios:
        got = sum(r[col] for r in body if r[0] == name)
        assert got == pytest.approx(summary.loc[name, "bonus"])
    assert ws.cell(row=2, column=header.index("Attainment") + 1).number_format == "0.0%"

    # Scenarios: revenue - costs = margin per scenario and month.
    ws = wb["Scenarios"]
    header, *body = _rows(ws)
    base = {r[1]: r for r in body if r[0] == "base"}
    assert base["Revenue"][-1] == pytest.approx(summary.loc["base", "revenue"])
    assert base["Margin"][-1] == pytest.approx(summary.loc["base", "margin"])

    # Every float cell in every sheet carries a number format; headers are bold and frozen.
    for ws in wb:
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2")
        assert all(cell.font.bold for cell in ws[1])
        assert ws.auto_filter.ref == ws.dimensions
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, float):
                    assert cell.number_format != "General", (ws.title, cell.coordinate)

    # Assumptions: flattened keys, including the policy.
    keys = {r[0]: r[1] for r in _rows(wb["Assumptions"])[1:]}
    assert keys["fiscal_year"] == 2027
    assert keys["policy.default_salary"] == 90000
    assert keys["cost_of_sales_ratio.B2B"] == pytest.approx(0.6)


def test_workbook_russian_and_plan_vs_actual(tmp_path: Path) -> None:
    deals = make_deals([("D10", "C1", "M1", "won", 200_000.0, "2027-01-10", None)])
    ds = make_dataset(deals=deals)
    b = plan(make_forecast(), ds)
    pva = plan_vs_actual(b, ds, asof="2027-01-31")
    path = write_budget_workbook(b, tmp_path / "budget.xlsx", lang="ru", plan_vs_actual=pva)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Итоги" and wb.sheetnames[-1] == "План-факт"
    header, *body = _rows(wb["План-факт"])
    assert header[:6] == ("Месяц", "Сегмент", "Команда", "Менеджер", "План", "Факт")
    assert sum(r[5] for r in body) == pytest.approx(200_000.0)
    assert sum(r[4] for r in body) == pytest.approx(pva["plan"].sum())
    ws = wb["План-факт"]
    assert ws.cell(row=2, column=5).number_format == '#,##0 "₽"'
    assert ws.cell(row=2, column=8).number_format == "0.0%"
    assert [r[0] for r in _rows(wb["Итоги"])[1:4]] == ["план", "низкий", "базовый"]
    # A team-level comparison works too.
    team = plan_vs_actual(b, ds, asof="2027-01-31", level="team")
    wb = openpyxl.load_workbook(write_budget_workbook(b, path, plan_vs_actual=team))
    header, *body = _rows(wb["Plan vs actual"])
    assert header[:4] == ("Month", "Segment", "Team", "Plan")
    assert sum(r[4] for r in body) == pytest.approx(200_000.0)
    assert wb["Plan vs actual"].freeze_panes == "D2"


def test_workbook_rewrite_is_atomic(budget: BudgetPlan, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "budget.xlsx"
    write_budget_workbook(budget, path)
    before = path.read_bytes()

    def broken_save(self, filename):  # a crash half-way through writing
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(Exception, match="disk full"):
        write_budget_workbook(budget, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["budget.xlsx"]


def test_workbook_bad_arguments(budget: BudgetPlan, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="lang"):
        write_budget_workbook(budget, tmp_path / "b.xlsx", lang="de")
    with pytest.raises(ParameterError, match=r"\.xlsx"):
        write_budget_workbook(budget, tmp_path / "b.csv")
    with pytest.raises(ParameterError, match="plan_vs_actual"):
        write_budget_workbook(budget, tmp_path / "b.xlsx", plan_vs_actual=pd.DataFrame({"x": [1]}))
    assert currency_format("USD") == '#,##0 "$"'
    assert currency_format("CHF") == '#,##0 "CHF"'


def test_workbook_is_readable_by_others(budget: BudgetPlan, tmp_path: Path) -> None:
    import stat

    path = write_budget_workbook(budget, tmp_path / "budget.xlsx")
    # the temporary file of the atomic write is 0600; the finished workbook is shared
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
