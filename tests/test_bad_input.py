"""Malformed input (issue 10): every bad file gets a clear AmtoolsError, nothing bad is accepted."""

from __future__ import annotations

import csv
import gzip
import io as _io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import amtools
from amtools import loading
from amtools.core import parse
from amtools.core.dataset import Dataset
from amtools.core.errors import AmtoolsError, SourceError
from amtools.core.i18n import catalog
from amtools.core.problems import DataValidationError, Problem
from amtools.core.schema import MONEY_MAX, data_model_markdown
from amtools.loading import reader
from amtools.validate.checks import validate


def small_tables() -> dict[str, pd.DataFrame]:
    """A valid small export: 2 managers, 3 clients, 4 deals, surveys and requests."""
    managers = pd.DataFrame(
        {
            "manager_id": ["M1", "M2"],
            "name": ["Анна", "Bob"],
            "segment": ["B2B", "B2C"],
            "team": ["North", "South"],
            "base_salary": ["100000", "90000"],
        }
    )
    clients = pd.DataFrame(
        {
            "client_id": ["C1", "C2", "C3"],
            "manager_id": ["M1", "M1", "M2"],
            "acquired_date": ["2023-01-01", "2023-02-01", "2023-03-01"],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4"],
            "client_id": ["C1", "C2", "C3", "C1"],
            "manager_id": ["M1", "M1", "M2", "M1"],
            "stage": ["won", "lost", "won", "open"],
            "amount": ["1000.5", "200", "300", "400"],
            "created_date": ["2024-01-05", "2024-02-01", "2024-03-01", "2024-04-01"],
            "closed_date": ["2024-02-10", "2024-03-01", "2024-03-02", ""],
            "cost": ["100", "", "50", ""],
        }
    )
    surveys = pd.DataFrame(
        {
            "client_id": ["C1", "C2"],
            "manager_id": ["M1", "M1"],
            "date": ["2024-03-01", "2024-03-02"],
            "csi": ["4", "5"],
        }
    )
    requests = pd.DataFrame(
        {
            "request_id": ["R1", "R2"],
            "client_id": ["C1", "C3"],
            "manager_id": ["M1", "M2"],
            "opened_at": ["2024-03-01 09:00:00", "2024-03-02 10:00:00"],
            "resolved_at": ["2024-03-01 12:00:00", "2024-03-03 10:00:00"],
        }
    )
    return {
        "managers": managers,
        "clients": clients,
        "deals": deals,
        "surveys": surveys,
        "requests": requests,
    }


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    for name, df in small_tables().items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Set one cell (row 1 = first data row) of ``table.csv``."""
    path = folder / f"{table}.csv"
    rows = list(csv.reader(_io.StringIO(path.read_text())))
    rows[row][rows[0].index(column)] = value
    out = _io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue())


def edit_line(folder: Path, table: str, line: int, new: str) -> None:
    """Replace line ``line`` (0 = header) of ``table.csv``."""
    path = folder / f"{table}.csv"
    lines = path.read_text().splitlines()
    lines[line] = new
    path.write_text("\n".join(lines) + "\n")


def errors_of(exc: pytest.ExceptionInfo[DataValidationError], check: str) -> list[Problem]:
    return [p for p in exc.value.errors if p.check == check]


# ------------------------------------------------------------------------------------------
# 1. Formerly raw tracebacks
# ------------------------------------------------------------------------------------------
def test_header_only_optional_table_loads_empty(export: Path) -> None:
    (export / "surveys.csv").write_text("client_id,manager_id,date,csi\n")
    ds = amtools.load(export)
    assert "surveys" in ds and len(ds.surveys) == 0
    assert list(ds.surveys.columns) == ["client_id", "manager_id", "date", "csi"]


def test_header_only_required_table_is_a_clear_error(export: Path) -> None:
    header = (export / "deals.csv").read_text().splitlines()[0]
    (export / "deals.csv").write_text(header + "\n")
    with pytest.raises(DataValidationError) as exc:
        amtools.load(export)
    (problem,) = errors_of(exc, "empty_table")
    assert problem.table == "deals" and "no rows" in problem.message


@pytest.mark.parametrize(
    "table,column,value",
    [
        ("deals", "closed_date", "9999-01-01"),
        ("deals", "created_date", "2300-05-01"),
        ("clients", "acquired_date", "0001-01-01"),
        ("requests", "opened_at", "1899-12-31 10:00:00"),
        ("deals", "closed_date", "01.01.2101"),
    ],
)
def test_dates_outside_the_window_are_reported(
    export: Path, table: str, column: str, value: str
) -> None:
    set_cell(export, table, 1, column, value)
    with pytest.raises(DataValidationError) as exc:
        amtools.load(export)
    (problem,) = errors_of(exc, "date_out_of_range")
    assert (problem.table, problem.column, problem.count) == (table, column, 1)
    assert value in problem.message and "1900-01-01..2100-12-31" in problem.message
    assert problem.examples and problem.fix


def test_parse_dates_never_raises_out_of_bounds() -> None:
    values, bad, _ = parse.parse_dates(pd.Series(["9999-12-31", "0001-01-01", "2024-01-01"]))
    assert bad.tolist() == [True, True, False]
    assert values.isna().tolist() == [True, True, False]


def test_time_zone_rule_utc_naive_mixing_allowed(export: Path) -> None:
    set_cell(export, "requests", 1, "opened_at", "2024-03-01T09:00:00Z")
    set_cell(export, "requests", 2, "opened_at", "2024-03-02T13:00:00+03:00")
    ds = amtools.load(export)
    assert ds.requests.opened_at.dt.tz is None
    assert ds.requests.opened_at.tolist() == [
        pd.Timestamp("2024-03-01 09:00"),
        pd.Timestamp("2024-03-02 10:00"),
    ]


def test_time_zone_rule_for_tz_aware_frames() -> None:
    aware = pd.Series(pd.to_datetime(["2024-01-01 03:00"]).tz_localize("Europe/Moscow"))
    values, bad, _ = parse.parse_dates(aware, kind="datetime")
    assert values.tolist() == [pd.Timestamp("2024-01-01 00:00")] and not bad.any()


def test_time_zone_rule_is_documented() -> None:
    doc = parse.parse_dates.__doc__ or ""
    assert "UTC" in doc and "naive" in doc
    assert "converted to UTC and the zone dropped" in " ".join((reader.__doc__ or "").split())
    assert "converted to UTC and the zone dropped" in data_model_markdown()
    docs = Path(__file__).parents[1] / "docs" / "data-model.md"
    assert "converted to UTC and the zone dropped" in docs.read_text(encoding="utf-8")


def test_truncated_gzip_names_the_file(export: Path) -> None:
    data = gzip.compress((export / "surveys.csv").read_bytes())
    (export / "surveys.csv").unlink()
    (export / "surveys.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"surveys\.csv\.gz cannot be decompressed.*truncated"):
        amtools.load(export)


def test_corrupt_gzip_names_the_file(export: Path) -> None:
    (export / "surveys.csv").unlink()
    (export / "surveys.csv.gz").write_bytes(b"\x1f\x8b" + bytes(range(256)) * 2)
    with pytest.raises(SourceError, match=r"surveys\.csv\.gz cannot be decompressed"):
        amtools.load(export)


# ------------------------------------------------------------------------------------------
# 2. Bad input formerly accepted
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1.7e308", "1e15", "-2e16"])
@pytest.mark.parametrize(
    "table,column", [("deals", "amount"), ("deals", "cost"), ("managers", "base_salary")]
)
def test_non_finite_and_absurd_numbers_are_rejected(
    export: Path, table: str, column: str, value: str
) -> None:
    set_cell(export, table, 1, column, value)
    with pytest.raises(DataValidationError) as exc:
        amtools.load(export)
    (problem,) = errors_of(exc, "number_out_of_bounds")
    assert (problem.table, problem.column, problem.count) == (table, column, 1)
    assert f"{MONEY_MAX:g}" in problem.message and value in problem.message


def test_numbers_below_the_bound_still_load(export: Path) -> None:
    set_cell(export, "deals", 1, "amount", "999999999999.5")
    assert amtools.load(export).deals.amount.iloc[0] == pytest.approx(999999999999.5)


def test_in_memory_non_finite_numbers_fail_validation() -> None:
    ds = amtools.load(small_tables(), validate=False)
    deals = ds.deals.copy()
    deals.loc[0, "amount"] = np.inf
    deals.loc[1, "amount"] = 1e300
    bad = Dataset({**ds.tables, "deals": deals})
    found = [p for p in validate(bad) if p.check == "number_out_of_bounds"]
    assert len(found) == 1 and found[0].count == 2 and found[0].column == "amount"
    with pytest.raises(DataValidationError):
        amtools.load({**small_tables(), "deals": small_tables()["deals"].assign(amount=np.inf)})


def test_header_one_name_short_never_becomes_the_index(export: Path) -> None:
    edit_line(export, "surveys", 0, "manager_id,date,csi")  # client_id missing
    with pytest.raises(SourceError) as exc:
        amtools.load(export)
    message = str(exc.value)
    assert "surveys.csv" in message and "header has 3 column name(s)" in message
    assert "lines 2, 3" in message and "header name is missing" in message


@pytest.mark.parametrize(
    "new", ["D2,C2,M1,lost", "D2,C2,M1,lost,200,2024-02-01,2024-03-01,,x,y"], ids=["short", "long"]
)
def test_rows_with_wrong_field_count_are_reported_by_line(export: Path, new: str) -> None:
    edit_line(export, "deals", 2, new)
    with pytest.raises(DataValidationError) as exc:
        amtools.load(export)
    (problem,) = errors_of(exc, "field_count")
    assert problem.table == "deals" and problem.examples == ("line 3",)
    assert "8-column header" in problem.message and "not loaded" in problem.message
    ds = amtools.load(export, validate=False)
    assert ds.deals.deal_id.tolist() == ["D1", "D3", "D4"]  # 3 loaded + 1 reported


def test_duplicate_column_names_are_an_error_naming_both(export: Path) -> None:
    header = (export / "deals.csv").read_text().splitlines()[0]
    edit_line(export, "deals", 0, header.replace("cost", "amount"))
    with pytest.raises(SourceError, match=r"deals\.csv: columns 5 and 8 are both named 'amount'"):
        amtools.load(export)


def test_case_colliding_column_names_are_an_error_naming_both(export: Path) -> None:
    header = (export / "deals.csv").read_text().splitlines()[0]
    edit_line(export, "deals", 0, header.replace("cost", "Amount"))
    with pytest.raises(SourceError, match=r"columns 'amount' and 'Amount' both mean 'amount'"):
        amtools.load(export)
    frame = small_tables()["managers"].assign(**{"Manager ID": ["x", "y"]})
    with pytest.raises(SourceError, match="'manager_id' and 'Manager ID'"):
        loading.coerce_table("managers", frame)


def test_duplicate_excel_headers_are_an_error(tmp_path: Path) -> None:
    frame = pd.DataFrame([["M1", "A", "B2B", "B"]], columns=["manager_id", "name", "segment", "x"])
    frame.columns = pd.Index(["manager_id", "name", "segment", "name"])
    frame.to_excel(tmp_path / "book.xlsx", sheet_name="managers", index=False)
    with pytest.raises(SourceError, match=r"sheet managers\]: columns 2 and 4 are both named"):
        amtools.load(tmp_path / "book.xlsx", validate=False)


# ------------------------------------------------------------------------------------------
# 4. Unclear messages made clear
# ------------------------------------------------------------------------------------------
def test_zero_byte_file_says_empty(export: Path) -> None:
    (export / "surveys.csv").write_bytes(b"")
    with pytest.raises(SourceError, match=r"surveys\.csv is empty \(0 bytes\)"):
        amtools.load(export)


def test_random_bytes_name_the_file(export: Path) -> None:
    rng = np.random.default_rng(1)
    (export / "surveys.csv").write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match=r"surveys\.csv is not a text \(CSV\) file"):
        amtools.load(export)
    with pytest.raises(SourceError, match=r"surveys\.csv is not a text"):
        amtools.load(export / "surveys.csv")


def test_wrong_delimiter_is_named(export: Path) -> None:
    text = (export / "deals.csv").read_text().replace(",", ";")
    (export / "deals.csv").write_text(text)
    with pytest.raises(SourceError) as exc:
        amtools.load(export / "deals.csv", sep=",", validate=False)
    assert "looks like ';'-separated" in str(exc.value)
    assert "sep=';'" in str(exc.value) and "read: {sep: ';'}" in str(exc.value)
    mapping = {"read": {"sep": ","}, "tables": {"deals": {"from": "deals"}}}
    with pytest.raises(SourceError, match="looks like ';'-separated"):
        amtools.load(export, mapping=mapping, validate=False)


def test_mixed_encodings_name_each_file(export: Path) -> None:
    utf8 = (export / "managers.csv").read_text()
    (export / "managers.csv").write_bytes(
        utf8.encode("utf-8") + "M3,Пётр,B2B,East,1\n".encode("cp1251")
    )
    clients = (export / "clients.csv").read_text() + "C9,M1,2023-01-01\n"
    (export / "clients.csv").write_bytes(
        "client_id,manager_id,acquired_date\nЦ1,M1,2023-01-01\n".encode()
        + clients.splitlines()[1].encode()
        + "\nЦ2,M1,2023-01-01\n".encode("cp1251")
        + "Ц3,M1,2023-01-01\nЦ4,M1,2023-01-01\n".encode()
    )
    with pytest.raises(SourceError) as exc:
        amtools.load(export)
    message = str(exc.value)
    assert "managers.csv mixes encodings" in message and "line 4" in message
    assert "clients.csv mixes encodings" in message


def test_directory_named_like_a_table(export: Path) -> None:
    (export / "deals.csv").unlink()
    (export / "deals.csv").mkdir()
    with pytest.raises(SourceError, match=r"deals\.csv in .* is a directory, not a file"):
        amtools.load(export)


def test_excel_sep_line_is_a_delimiter_hint(export: Path) -> None:
    text = (export / "deals.csv").read_text().replace(",", ";")
    (export / "deals.csv").write_text("sep=;\n" + text)
    ds = amtools.load(export)
    assert ds.deals.deal_id.tolist() == ["D1", "D2", "D3", "D4"]
    (export / "deals.csv").write_text('"sep=,"\r\n' + text.replace(";", ","))
    assert len(amtools.load(export).deals) == 4


# ------------------------------------------------------------------------------------------
# Valid variants keep working
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1251"])
def test_valid_encodings_and_crlf(export: Path, encoding: str) -> None:
    for path in export.glob("*.csv"):
        text = path.read_text()
        path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    ds = amtools.load(export)
    assert ds.managers.name.tolist() == ["Анна", "Bob"] and len(ds.deals) == 4


def test_valid_local_number_formats(export: Path) -> None:
    set_cell(export, "deals", 1, "amount", "$1,234.50")
    set_cell(export, "deals", 2, "amount", "1 234 ₽")
    ds = amtools.load(export)
    assert ds.deals.amount.tolist()[:2] == [1234.5, 1234.0]
    path = export / "deals.csv"
    text = path.read_text().replace(",", ";").replace("1000.5", "1000,5")
    path.write_text(re.sub(r"\$1;234\.50", "1234,50", text))
    assert amtools.load(export).deals.amount.iloc[0] == 1234.5


def test_minimal_export_loads(tmp_path: Path) -> None:
    tables = small_tables()
    minimal = {
        "managers": tables["managers"][["manager_id", "name", "segment"]],
        "clients": tables["clients"][["client_id", "manager_id"]],
        "deals": tables["deals"][["deal_id", "client_id", "manager_id", "stage", "amount"]],
    }
    for name, df in minimal.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(DataValidationError, match="closed_date"):
        amtools.load(tmp_path)  # won deals need a closed date
    minimal["deals"] = tables["deals"][
        ["deal_id", "client_id", "manager_id", "stage", "amount", "closed_date"]
    ]
    minimal["deals"].to_csv(tmp_path / "deals.csv", index=False)
    assert len(amtools.load(tmp_path).deals) == 4


# ------------------------------------------------------------------------------------------
# 6. Exports are inert
# ------------------------------------------------------------------------------------------
def test_exports_write_formula_like_text_as_text(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ds = amtools.load(small_tables(), validate=False)
    managers = ds.managers.copy()
    managers["team"] = pd.array(["=1+1", "@SUM(A1)"], dtype="string")
    ds = Dataset({**ds.tables, "managers": managers})
    folder = loading.export_csv(ds, tmp_path / "csv")
    text = (folder / "managers.csv").read_text()
    assert "'=1+1" in text and "'@SUM(A1)" in text
    book = load_workbook(loading.export_excel(ds, tmp_path / "crm.xlsx"))
    sheet = book["managers"]
    teams = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert teams == ["'=1+1", "'@SUM(A1)"]
    assert all(cell.data_type == "s" for cell in sheet["D"][1:])


# ------------------------------------------------------------------------------------------
# 7. Mapping key: targets
# ------------------------------------------------------------------------------------------
def test_mapping_targets_key_is_recorded(export: Path, tmp_path: Path) -> None:
    spec = tmp_path / "maps" / "mine.yaml"
    spec.parent.mkdir()
    spec.write_text("targets: ../targets/mine.yaml\ntables:\n  deals: {from: deals}\n")
    ds = amtools.load(export, mapping=spec)
    assert ds.meta["targets_file"] == str((tmp_path / "targets" / "mine.yaml").resolve())
    assert "targets_file" not in amtools.load(export).meta
    with pytest.raises(AmtoolsError, match="targets"):
        amtools.load(export, mapping={"targets": 3, "tables": {"deals": {"from": "deals"}}})


# ------------------------------------------------------------------------------------------
# 5. Data-quality lines in Russian
# ------------------------------------------------------------------------------------------
def every_problem(tmp_path: Path) -> list[Problem]:
    """Trigger every check io, validate and mapping can produce on small data."""
    found: list[Problem] = []
    t = small_tables()
    managers = pd.concat(
        [
            t["managers"],
            pd.DataFrame(
                {
                    "manager_id": ["M1", "M9"],
                    "name": ["", "Z"],
                    "segment": ["b2x", "B2B"],
                    "base_salary": ["-5", "x"],
                    "active": ["maybe", "yes"],
                }
            ),
        ]
    )
    clients = pd.concat(
        [
            t["clients"],
            pd.DataFrame(
                {"client_id": ["C8"], "manager_id": ["M7"], "acquired_date": ["32.13.2024"]}
            ),
        ]
    )
    deals = pd.concat(
        [
            t["deals"].assign(extra="1"),
            pd.DataFrame(
                {
                    "deal_id": ["D5", "D6", "D7", "D8", "D9"],
                    "client_id": ["", "", "C1", "C1", "C1"],
                    "manager_id": ["M1"] * 5,
                    "stage": ["won", "open", "open", "won", "won"],
                    "amount": ["", "", "1", "inf", "5"],
                    "created_date": ["2024-05-01", "", "", "", "2024-06-01"],
                    "closed_date": ["", "", "2024-01-01", "9999-01-01", "2024-01-01"],
                }
            ),
        ]
    )
    deals.loc[deals.deal_id == "D8", "closed_date"] = "2090-01-01"
    deals = pd.concat([deals, deals.iloc[[0]].assign(amount="1e300", closed_date="0001-01-01")])
    targets = pd.DataFrame(
        {
            "manager_id": ["M1", "M1"],
            "period": ["2026Q5", "2026Q1"],
            "kpi": ["sales_volume", "no_such_kpi"],
            "target": ["1", "2"],
        }
    )
    ds = amtools.load(
        {
            "managers": managers,
            "clients": clients,
            "deals": deals,
            "targets": targets,
            "surveys": t["surveys"],
            "audit_log": t["surveys"],
            "activities": pd.DataFrame(
                {
                    "activity_id": ["A1"],
                    "manager_id": ["M1"],
                    "type": ["call"],
                    "date": ["02/03/2024"],
                }
            ),
        },
        validate=False,
    )
    found += ds.meta["problems"] + validate(ds)
    found += [
        p
        for p in validate(Dataset({"deals": ds.deals.drop(columns=["closed_date", "stage"])}))
        if p.check in ("missing_column", "missing_table")
    ]
    found += validate(Dataset({"managers": ds.managers.iloc[:0]}))
    found += validate(Dataset({"deals": ds.deals.drop(columns=["closed_date"])}))
    managers_raw = ds.managers.assign(base_salary=np.inf)
    found += validate(Dataset({"managers": managers_raw}))
    bools = Dataset(
        {
            "compliance": pd.DataFrame(
                {"manager_id": ["M1"], "date": ["x"], "violation": ["perhaps"]}
            )
        }
    )
    found += validate(bools)
    # field_count, ignored_files, unmatched_table from a folder
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, df in t.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    (folder / "notes.txt.bak").write_text("x")
    (folder / "extra_table.csv").write_text("a,b\n1,2\n")
    edit_line(folder, "surveys", 1, "C1,M1")
    found += amtools.load(folder, validate=False).meta["problems"]
    # mapping checks: missing_source, join_unmatched, group_without_key, unparseable_number
    src = {
        "orders": pd.DataFrame(
            {
                "Order": ["O1", "O2", "O3"],
                "Cust": ["K1", "", "K9"],
                "Rep": ["M1", "M1", "M1"],
                "Sum": ["1", "x", "2"],
                "Closed": ["2024-01-01"] * 3,
            }
        ),
        "reps": pd.DataFrame({"Rep": ["M1"], "Name": ["A"], "Seg": ["B2B"]}),
    }
    mapping = {
        "tables": {
            "managers": {
                "from": "reps",
                "columns": {"manager_id": "Rep", "name": "Name", "segment": "Seg"},
            },
            "deals": {
                "from": "orders",
                "join": [{"table": "reps", "on": "Rep"}],
                "compute": {"amount": "Sum * 2"},
                "columns": {
                    "deal_id": "Order",
                    "client_id": "Cust",
                    "manager_id": "Rep",
                    "closed_date": "Closed",
                },
                "constants": {"stage": "won"},
            },
            "clients": {
                "from": "orders",
                "group_by": "Cust",
                "columns": {"client_id": "Cust", "manager_id": "Rep"},
            },
            "surveys": {"from": "nps_export"},
        }
    }
    src["orders2"] = src["orders"]
    mapping["tables"]["proposals"] = {
        "from": "orders2",
        "join": [{"table": "reps", "on": {"left": "Cust", "right": "Rep"}}],
        "columns": {"proposal_id": "Order", "manager_id": "Rep", "sent_date": "Closed"},
    }
    found += amtools.load(src, mapping=mapping, validate=False).meta["problems"]
    return found


def test_every_check_has_russian_message_and_fix(tmp_path: Path) -> None:
    problems = every_problem(tmp_path)
    checks = {p.check for p in problems}
    expected = {
        "extra_columns", "ambiguous_date", "unparseable_date", "unparseable_bool",
        "unparseable_number", "date_out_of_range", "number_out_of_bounds", "field_count",
        "ignored_files", "unmatched_table", "missing_table", "empty_table", "missing_column",
        "missing_value", "unknown_value", "duplicate_key", "out_of_range", "unknown_reference",
        "closed_without_date", "open_with_closed_date", "future_date", "closed_without_client",
        "open_without_client", "won_without_amount", "open_without_amount", "date_order",
        "manager_without_deals", "client_without_deals", "bad_period", "unknown_kpi",
        "missing_source", "join_unmatched", "group_without_key", "wrong_dtype",
    }  # fmt: skip
    assert expected <= checks, sorted(expected - checks)
    strings = catalog()
    for problem in problems:
        for kind in ("msg", "fix"):
            entry = strings.get(f"problem.{kind}.{problem.check}", {})
            assert entry.get("en") and entry.get("ru"), (problem.check, kind)
        text = problem.text("ru")
        assert problem.message not in text, problem.check
        assert problem.fix not in text or not problem.fix, problem.check
        assert "Что сделать:" in text and re.search("[а-яё]{4}", text.split(":")[1]), text
        # no English sentence: the message and fix parts hold Cyrillic words
        message_part = text.split("] ", 1)[1].split(" — ")[0]
        assert re.search("[а-яё]{3}", message_part), (problem.check, text)
        assert problem.text("en") == str(problem)


def test_trailing_delimiters_are_not_a_field_count_error(tmp_path: Path) -> None:
    tables = small_tables()
    for name in ("managers", "clients"):
        tables[name].to_csv(tmp_path / f"{name}.csv", index=False)
    lines = tables["deals"].to_csv(index=False).splitlines()
    # header with a trailing delimiter, some rows with one more empty field, some without
    text = lines[0] + ",\n" + lines[1] + ",\n" + lines[2] + "\n" + lines[3] + ",,\n" + lines[4]
    (tmp_path / "deals.csv").write_text(text + "\n")
    ds = amtools.load(tmp_path)
    assert ds.deals.deal_id.tolist() == ["D1", "D2", "D3", "D4"]
    assert not [p for p in ds.meta["problems"] if p.check == "field_count"]
