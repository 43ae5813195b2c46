"""Tests for amtools.validate: every bad-input class, severities, messages and the report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from amtools import loading
from amtools.core.dataset import Dataset
from amtools.core.problems import DataValidationError, Problem
from amtools.core.schema import TABLES
from amtools.validate.checks import CHECKS, format_problems, pandera_schema, validate


def clean_tables() -> dict[str, pd.DataFrame]:
    """A small valid dataset: 2 managers, 2 clients, 3 deals (every client and manager used)."""
    return {
        "managers": pd.DataFrame(
            {"manager_id": ["M1", "M2"], "name": ["Ann", "Bob"], "segment": ["B2B", "B2C"]}
        ),
        "clients": pd.DataFrame(
            {"client_id": ["C1", "C2"], "manager_id": ["M1", "M2"], "segment": ["B2B", "B2C"]}
        ),
        "deals": pd.DataFrame(
            {
                "deal_id": ["D1", "D2", "D3"],
                "client_id": ["C1", "C2", "C1"],
                "manager_id": ["M1", "M2", "M1"],
                "stage": ["won", "lost", "open"],
                "amount": [100.0, 50.0, 70.0],
                "created_date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"]),
                "closed_date": pd.to_datetime(["2025-02-01", "2025-02-02", pd.NaT]),
                "discount": [0.1, 0.0, np.nan],
                "probability": [np.nan, np.nan, 0.4],
            }
        ),
    }


def dataset(**changes: pd.DataFrame | None) -> Dataset:
    tables = clean_tables()
    for name, df in changes.items():
        if df is None:
            tables.pop(name)
        else:
            tables[name] = df
    return loading.load(tables, validate=False)


def with_column(table: str, column: str, values) -> pd.DataFrame:
    return clean_tables()[table].assign(**{column: values})


def only(problems: list[Problem], check: str) -> Problem:
    found = [p for p in problems if p.check == check]
    assert len(found) == 1, (check, problems)
    return found[0]


def test_clean_dataset_has_no_problems():
    assert validate(dataset()) == []
    assert format_problems([]).endswith("No problems found.")


def test_pandera_schema_is_generated_from_the_data_model():
    for name, spec in TABLES.items():
        schema = pandera_schema(name)
        assert list(schema.columns) == spec.column_names
        for col in spec.columns:
            assert schema.columns[col.name].required == col.required
            assert schema.columns[col.name].nullable == col.nullable


# ---------------------------------------------------------------------------------------
# One test per check: table, column, count, example ids and the fix
# ---------------------------------------------------------------------------------------
def test_missing_required_table():
    p = only(validate(dataset(clients=None)), "missing_table")
    assert (p.table, p.severity) == ("clients", "error")
    assert "clients.csv" in p.fix


def test_missing_required_column():
    p = only(
        validate(dataset(deals=clean_tables()["deals"].drop(columns="stage"))), "missing_column"
    )
    assert (p.table, p.column, p.severity) == ("deals", "stage", "error")
    assert "columns: {stage: <source column>}" in p.fix


def test_unparseable_values_in_memory_are_reported():
    # Built by hand (not through load): text dates and numbers that do not parse.
    deals = clean_tables()["deals"].astype({"amount": object, "closed_date": object})
    deals.loc[0, "amount"] = "lots"
    deals.loc[1, "closed_date"] = "yesterday"
    problems = validate(Dataset({**clean_tables(), "deals": deals}))
    wrong = [p for p in problems if p.check == "wrong_dtype"]
    assert {(p.column, p.count, p.examples) for p in wrong} == {
        ("amount", 1, ("D1",)),
        ("closed_date", 1, ("D2",)),
    }
    assert all(p.severity == "error" and p.fix for p in wrong)


def test_missing_values_in_non_nullable_columns():
    managers = with_column("managers", "name", ["Ann", None])
    p = only(validate(dataset(managers=managers)), "missing_value")
    assert (p.table, p.column, p.count, p.examples) == ("managers", "name", 1, ("M2",))


def test_unknown_category_values():
    deals = with_column("deals", "stage", ["closed", "lost", "in progress"])
    p = only(validate(dataset(deals=deals)), "unknown_value")
    assert (p.table, p.column, p.count, p.examples) == ("deals", "stage", 2, ("D1", "D3"))
    assert "'closed'" in p.message and "'in progress'" in p.message
    assert "values: {stage:" in p.fix
    clients = with_column("clients", "segment", ["B2B", "retail"])
    assert only(validate(dataset(clients=clients)), "unknown_value").column == "segment"
    activities = pd.DataFrame(
        {
            "activity_id": ["A1"],
            "manager_id": ["M1"],
            "type": ["fax"],
            "date": pd.to_datetime(["2025-01-01"]),
        }
    )
    assert only(validate(dataset(activities=activities)), "unknown_value").examples == ("A1",)
    proposals = pd.DataFrame(
        {
            "proposal_id": ["P1"],
            "manager_id": ["M1"],
            "sent_date": pd.to_datetime(["2025-01-01"]),
            "outcome": ["maybe"],
        }
    )
    assert only(validate(dataset(proposals=proposals)), "unknown_value").table == "proposals"


def test_category_case_is_normalised_at_load():
    # Only the case differs: "Won" -> "won", "b2c" -> "B2C"; nothing else is guessed.
    deals = with_column("deals", "stage", ["Won", "LOST", "open"])
    managers = with_column("managers", "segment", ["b2b", "B2C"])
    ds = dataset(deals=deals, managers=managers)
    assert ds.deals["stage"].tolist() == ["won", "lost", "open"]
    assert ds.managers["segment"].tolist() == ["B2B", "B2C"]
    assert validate(ds) == []


def test_duplicate_keys():
    deals = with_column("deals", "deal_id", ["D1", "D1", "D3"])
    p = only(validate(dataset(deals=deals)), "duplicate_key")
    assert (p.table, p.column, p.count, p.examples) == ("deals", "deal_id", 2, ("D1",))


def test_unknown_references_errors_and_warnings():
    deals = with_column("deals", "manager_id", ["M1", "M9", "M1"])
    p = only(validate(dataset(deals=deals)), "unknown_reference")
    assert (p.table, p.column, p.severity, p.examples) == ("deals", "manager_id", "error", ("D2",))
    assert "'M9'" in p.message and "managers" in p.fix
    clients = with_column("clients", "manager_id", ["M1", "m2"])  # case matters
    assert only(validate(dataset(clients=clients)), "unknown_reference").examples == ("C2",)
    deals = with_column("deals", "client_id", ["C1", "C7", "C1"])
    assert only(validate(dataset(deals=deals)), "unknown_reference").column == "client_id"
    # an optional reference (clients.referred_by) pointing nowhere is a warning
    clients = with_column("clients", "referred_by", ["C2", "C99"])
    p = only(validate(dataset(clients=clients)), "unknown_reference")
    assert (p.column, p.severity, p.examples) == ("referred_by", "warning", ("C2",))


@pytest.mark.parametrize(
    ("table", "column", "values", "fix"),
    [
        ("deals", "amount", [100.0, -5.0, 70.0], "cannot be negative"),
        ("deals", "discount", [0.1, 15.0, np.nan], "divide percentages by 100"),
        ("deals", "probability", [np.nan, np.nan, 150.0], "so that probability is 0..1"),
    ],
)
def test_out_of_range_numbers(table, column, values, fix):
    p = only(validate(dataset(**{table: with_column(table, column, values)})), "out_of_range")
    assert (p.table, p.column, p.count, p.severity) == (table, column, 1, "error")
    assert fix in p.fix


def test_survey_scores_out_of_range():
    surveys = pd.DataFrame(
        {
            "client_id": ["C1", "C2"],
            "manager_id": ["M1", "M2"],
            "date": pd.to_datetime(["2025-01-01", "2025-01-02"]),
            "csi": [6.0, 4.0],
            "nps": [10.0, -1.0],
        }
    )
    found = {p.column: p for p in validate(dataset(surveys=surveys)) if p.check == "out_of_range"}
    assert found["csi"].examples == ("row 1",) and "outside 1..5" in found["csi"].message
    assert found["nps"].examples == ("row 2",) and "outside 0..10" in found["nps"].message


def test_date_order():
    deals = with_column(
        "deals", "closed_date", pd.to_datetime(["2024-12-01", "2025-02-02", pd.NaT])
    )
    p = only(validate(dataset(deals=deals)), "date_order")
    assert (p.table, p.column, p.examples, p.severity) == ("deals", "closed_date", ("D1",), "error")
    assert "closed_date before created_date" in p.message
    requests = pd.DataFrame(
        {
            "request_id": ["R1"],
            "manager_id": ["M1"],
            "opened_at": pd.to_datetime(["2025-01-02 10:00"]),
            "first_response_at": pd.to_datetime(["2025-01-02 09:00"]),
        }
    )
    assert only(validate(dataset(requests=requests)), "date_order").examples == ("R1",)
    contracts = pd.DataFrame(
        {
            "contract_id": ["K1"],
            "client_id": ["C1"],
            "manager_id": ["M1"],
            "start_date": pd.to_datetime(["2025-01-01"]),
            "end_date": pd.to_datetime(["2024-01-01"]),
        }
    )
    assert only(validate(dataset(contracts=contracts)), "date_order").table == "contracts"


def test_deal_stage_rules():
    deals = clean_tables()["deals"]
    deals = deals.assign(
        closed_date=pd.to_datetime([pd.NaT, "2025-02-02", "2025-03-01"]),
        client_id=["C1", None, None],
        amount=[np.nan, 50.0, np.nan],
    )
    problems = validate(dataset(deals=deals))
    expect = {
        "closed_without_date": ("closed_date", "error", ("D1",)),
        "won_without_amount": ("amount", "error", ("D1",)),
        "closed_without_client": ("client_id", "error", ("D2",)),
        "open_without_client": ("client_id", "warning", ("D3",)),
        "open_without_amount": ("amount", "warning", ("D3",)),
        "open_with_closed_date": ("closed_date", "warning", ("D3",)),
    }
    for check, (column, severity, examples) in expect.items():
        p = only(problems, check)
        assert (p.column, p.severity, p.examples, p.count) == (column, severity, examples, 1)
        assert p.fix


def test_future_won_deals_and_unused_entities_are_warnings():
    deals = with_column(
        "deals", "closed_date", pd.to_datetime(["2100-01-01", "2025-02-02", pd.NaT])
    )
    managers = pd.concat(
        [
            clean_tables()["managers"],
            pd.DataFrame({"manager_id": ["M3"], "name": ["Cy"], "segment": ["B2C"]}),
        ]
    )
    clients = pd.concat(
        [clean_tables()["clients"], pd.DataFrame({"client_id": ["C3"], "manager_id": ["M3"]})]
    )
    problems = validate(dataset(deals=deals, managers=managers, clients=clients))
    assert only(problems, "future_date").examples == ("D1",)
    assert only(problems, "manager_without_deals").examples == ("M3",)
    assert only(problems, "client_without_deals").examples == ("C3",)
    assert all(p.severity == "warning" for p in problems)


def test_targets_periods_and_kpi_ids():
    from amtools.kpi.registry import KPIS

    known = next(iter(KPIS))
    targets = pd.DataFrame(
        {
            "manager_id": ["M1", "M1", "M2"],
            "period": ["2025Q3", "Q3 2025", "2025-07"],
            "kpi": [known, known, "happiness"],
            "target": [1.0, 2.0, 3.0],
        }
    )
    problems = validate(dataset(targets=targets))
    bad = only(problems, "bad_period")
    assert (bad.column, bad.count, bad.examples, bad.severity) == ("period", 1, ("row 2",), "error")
    assert "'Q3 2025'" in bad.message and "2026Q3" in bad.fix
    kpi = only(problems, "unknown_kpi")
    assert (kpi.column, kpi.examples, kpi.severity) == ("kpi", ("row 3",), "warning")


def test_every_emitted_check_is_documented():
    # CHECKS is the list docs/loading.md describes; the tests above exercise each entry.
    emitted = {
        "missing_table",
        "missing_column",
        "wrong_dtype",
        "missing_value",
        "unknown_value",
        "out_of_range",
        "duplicate_key",
        "unknown_reference",
        "date_order",
        "closed_without_date",
        "won_without_amount",
        "closed_without_client",
        "open_without_client",
        "open_without_amount",
        "open_with_closed_date",
        "future_date",
        "manager_without_deals",
        "client_without_deals",
        "bad_period",
        "unknown_kpi",
        "empty_table",  # tests/test_bad_input.py
        "number_out_of_bounds",  # tests/test_bad_input.py
    }
    assert emitted == set(CHECKS)


# ---------------------------------------------------------------------------------------
# load() integration and the report
# ---------------------------------------------------------------------------------------
def test_load_raises_with_every_problem_and_keeps_warnings_otherwise():
    tables = clean_tables()
    tables["deals"] = tables["deals"].assign(
        stage=["won", "lost", "Открыта"], client_id=["C1", "C2", None]
    )
    with pytest.raises(DataValidationError) as err:
        loading.load(tables)
    assert [p.check for p in err.value.errors] == ["unknown_value"]
    assert "deals.stage" in str(err.value) and "Открыта" in str(err.value)
    tables["deals"] = tables["deals"].assign(stage=["won", "lost", "open"])
    ds = loading.load(tables)
    assert [p.check for p in ds.meta["problems"]] == ["open_without_client"]


def test_format_problems_groups_by_table_errors_first():
    deals = with_column("deals", "client_id", ["C1", "C2", None])
    deals = deals.assign(amount=[100.0, -1.0, 70.0])
    managers = with_column("managers", "segment", ["B2B", "retail"])
    problems = validate(dataset(deals=deals, managers=managers))
    report = format_problems(problems)
    lines = report.splitlines()
    assert lines[0] == "Data check: 2 error(s), 1 warning(s)"
    # tables in data-model order; in each table errors before warnings
    assert lines.index("managers: 1 error(s), 0 warning(s)") < lines.index(
        "deals: 1 error(s), 1 warning(s)"
    )
    deal_lines = [ln for ln in lines if ln.startswith("  ") and "deals." in ln]
    assert deal_lines[0].lstrip().startswith("ERROR") and "warning" in deal_lines[1]
    assert re.search(
        r"deals\.amount \[out_of_range\] 1 value\(s\) below 0: -1 — 1 row\(s\), e\.g\. D2", report
    )
    assert "fix: amount cannot be negative" in report
