"""Tests for amtools.loading: every source format, CSV dialects, coercion, saving and the demo cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amtools import loading
from amtools.core import parse
from amtools.core.dataset import PANDAS_DTYPES, Dataset
from amtools.core.errors import SourceError
from amtools.core.problems import DataValidationError
from amtools.core.schema import TABLES


def tiny_dataset() -> Dataset:
    """Two managers, three clients, four deals: valid, with every dtype of the core tables."""
    managers = pd.DataFrame(
        {
            "manager_id": ["M001", "M002"],
            "name": ["Анна Иванова", "Bob Lee"],
            "segment": ["B2B", "B2C"],
            "team": ["North", pd.NA],
            "hire_date": pd.to_datetime(["2020-01-15", "2021-06-01"]),
            "base_salary": [120000.0, np.nan],
            "active": pd.array([True, pd.NA], dtype="boolean"),
        }
    )
    clients = pd.DataFrame(
        {
            "client_id": ["C1", "C2", "C3"],
            "manager_id": ["M001", "M001", "M002"],
            "segment": ["B2B", "B2B", "B2C"],
            "name": ["ООО Ромашка", "Acme; Inc", 'Quote "Q"'],
            "acquired_date": pd.to_datetime(["2021-01-01", pd.NaT, "2022-03-04"]),
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3", "D4"],
            "client_id": ["C1", "C2", "C3", pd.NA],
            "manager_id": ["M001", "M001", "M002", "M002"],
            "stage": ["won", "lost", "won", "open"],
            "amount": [1234.5, 0.0, 99.99, 500.0],
            "created_date": pd.to_datetime(
                ["2024-01-05", "2024-02-01", "2024-03-01", "2024-04-01"]
            ),
            "closed_date": pd.to_datetime(["2024-02-10", "2024-03-01", "2024-03-02", pd.NaT]),
            "discount": [0.1, np.nan, 0.0, np.nan],
        }
    )
    return Dataset(
        {"managers": managers, "clients": clients, "deals": deals}, source="tiny", meta={}
    )


def assert_typed_equal(left: Dataset, right: Dataset) -> None:
    assert left.names == right.names
    for name in left.names:
        expected = left[name]
        got = right[name]
        for column in got.columns:
            kind = TABLES[name].column(column).kind
            assert str(got[column].dtype) == PANDAS_DTYPES[kind] or (
                PANDAS_DTYPES[kind] == "string" and isinstance(got[column].dtype, pd.StringDtype)
            ), (name, column, got[column].dtype)
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), loading.load({name: expected}, validate=False)[name]
        )


# ---------------------------------------------------------------------------------------
# Round trips through every writable format
# ---------------------------------------------------------------------------------------
def test_csv_roundtrip_keeps_values_and_dtypes(tmp_path):
    ds = tiny_dataset()
    folder = loading.export_csv(ds, tmp_path / "csv")
    assert sorted(p.name for p in folder.iterdir()) == ["clients.csv", "deals.csv", "managers.csv"]
    loaded = loading.load(folder)
    assert_typed_equal(ds, loaded)
    assert loaded.deals["amount"].tolist() == [1234.5, 0.0, 99.99, 500.0]
    assert loaded.clients["name"].tolist() == ["ООО Ромашка", "Acme; Inc", 'Quote "Q"']
    assert loaded.source.startswith("CSV folder")


def test_duckdb_roundtrip_keeps_metadata(tmp_path):
    ds = tiny_dataset()
    ds.meta.update(period_end=pd.Timestamp("2024-03-31"), currency="EUR")
    path = loading.save_duckdb(ds, tmp_path / "crm.duckdb")
    loaded = loading.load(path)
    assert_typed_equal(ds, loaded)
    assert loaded.meta["period_end"] == pd.Timestamp("2024-03-31")
    assert loaded.meta["currency"] == "EUR"
    assert loaded.source.startswith("DuckDB database")
    # Saving again replaces the file atomically (no leftover temporary files).
    loading.save_duckdb(ds.replace(deals=ds.deals.head(2)), path)
    assert len(loading.load(path, validate=False).deals) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.duckdb"]


def test_excel_roundtrip_sheet_per_table_header_frozen(tmp_path):
    from openpyxl import load_workbook

    ds = tiny_dataset()
    path = loading.export_excel(ds, tmp_path / "crm.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["managers", "clients", "deals"]
    assert all(book[s].freeze_panes == "A2" for s in book.sheetnames)
    loaded = loading.load(path)
    assert_typed_equal(ds, loaded)
    assert loaded.source.startswith("Excel workbook")


def test_parquet_folder_and_single_file(tmp_path):
    ds = tiny_dataset()
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in ds.tables.items():
        df.to_parquet(folder / f"{name}.parquet")
    assert_typed_equal(ds, loading.load(folder))
    single = loading.load(folder / "deals.parquet", validate=False)
    assert single.names == ["deals"]
    assert single.deals["deal_id"].tolist() == ["D1", "D2", "D3", "D4"]


def test_sqlalchemy_url_and_sqlite_file(tmp_path):
    import sqlite3

    ds = tiny_dataset()
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as conn:
        for name, df in ds.tables.items():
            # SQLite has no date type: dates land as ISO text, booleans as 0/1.
            text = df.assign(
                **{c: df[c].dt.strftime("%Y-%m-%d") for c in df.select_dtypes("datetime")}
            )
            text.astype(object).where(text.notna(), None).to_sql(name, conn, index=False)
        conn.execute("CREATE TABLE audit_log (x INTEGER)")
    by_url = loading.load(f"sqlite:///{db}")
    assert_typed_equal(ds, by_url)
    assert by_url.source.startswith("SQL database sqlite:///")
    assert any(
        p.check == "unmatched_table" and "audit_log" in p.message for p in by_url.meta["problems"]
    )
    by_path = loading.load(db)
    assert by_path.source.startswith("SQLite database")
    assert by_path.managers["active"].tolist()[0] is True


def test_in_memory_dataset_and_dict(tmp_path):
    ds = tiny_dataset()
    assert_typed_equal(ds, loading.load(ds))
    raw = {name: df.astype(str) for name, df in ds.tables.items()}  # everything as text
    loaded = loading.load(raw, validate=False)
    assert loaded.deals["amount"].dtype == "float64"
    assert loaded.deals["closed_date"].iloc[0] == pd.Timestamp("2024-02-10")
    assert loaded.source.startswith("in-memory tables")


def test_url_credentials_are_masked():
    with pytest.raises(SourceError) as err:
        loading.load("postgresql+nosuchdriver://ann:secret@db.example/crm")
    assert "secret" not in str(err.value)
    assert "ann:***@" in str(err.value)


# ---------------------------------------------------------------------------------------
# CSV dialects
# ---------------------------------------------------------------------------------------
RUSSIAN_DEALS = (
    "deal_id;client_id;manager_id;stage;amount;created_date;closed_date;discount\n"
    "Д-1;К1;М1;won;1\u00a0234\u00a0567,89;05.03.2025;12.04.2025;0,15\n"
    "Д-2;К1;М1;open;12 000,5;06.03.2025;;\n"
    "Д-3;К1;М1;lost;950;07.03.2025;08.03.2025;\n"
)


def write_core(folder, deals_text: str, *, encoding: str, managers_line="М1;Иван Петров;B2B"):
    folder.mkdir(exist_ok=True)
    (folder / "deals.csv").write_bytes(deals_text.encode(encoding))
    (folder / "managers.csv").write_bytes(
        f"manager_id;name;segment\n{managers_line}\n".encode(encoding)
    )
    (folder / "clients.csv").write_bytes("client_id;manager_id\nК1;М1\n".encode(encoding))


def test_cp1251_semicolon_decimal_comma_nbsp_thousands_detected(tmp_path):
    write_core(tmp_path, RUSSIAN_DEALS, encoding="cp1251")
    ds = loading.load(tmp_path)
    # 1 234 567,89 with NBSP groups; 12 000,5 with a plain space; 950.
    assert ds.deals["amount"].tolist() == [1234567.89, 12000.5, 950.0]
    assert ds.deals["discount"].iloc[0] == pytest.approx(0.15)
    assert ds.deals["deal_id"].tolist() == ["Д-1", "Д-2", "Д-3"]
    assert ds.managers["name"].iloc[0] == "Иван Петров"
    assert ds.deals["closed_date"].iloc[0] == pd.Timestamp("2025-04-12")


def test_utf8_bom_header_is_clean_and_narrow_nbsp_groups(tmp_path):
    write_core(tmp_path, RUSSIAN_DEALS.replace("12 000,5", "12\u202f000,5"), encoding="utf-8-sig")
    ds = loading.load(tmp_path)
    assert list(ds.deals.columns)[0] == "deal_id"
    assert ds.deals["amount"].tolist() == [1234567.89, 12000.5, 950.0]
    assert ds.managers["manager_id"].tolist() == ["М1"]


def test_explicit_encoding_sep_decimal(tmp_path):
    text = RUSSIAN_DEALS.replace(";", "|")
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "deals.csv").write_bytes(text.encode("cp1251"))
    ds = loading.load(folder, validate=False, encoding="cp1251", sep="|", decimal=",")
    assert ds.deals["amount"].tolist() == [1234567.89, 12000.5, 950.0]
    with pytest.raises(SourceError, match="encoding"):
        loading.load(folder, validate=False, encoding="utf-8")


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_detection(tmp_path, sep):
    rows = [["manager_id", "name", "segment"], ["m1", "Ann, Jr.", "B2B"], ["m2", "Bo", "B2C"]]
    lines = [sep.join(f'"{v}"' if sep in v else v for v in r) for r in rows]
    (tmp_path / "managers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ds = loading.load(tmp_path, validate=False)
    assert ds.managers["name"].tolist() == ["Ann, Jr.", "Bo"]


def test_blank_rows_and_trailing_delimiters_are_not_data(tmp_path):
    (tmp_path / "managers.csv").write_text(
        "manager_id;name;segment;\nm1;Ann;B2B;\n;;;\n\nm2;Bo;B2C;\n", encoding="utf-8"
    )
    ds = loading.load(tmp_path, validate=False)
    assert ds.managers["manager_id"].tolist() == ["m1", "m2"]
    assert ds.meta["problems"] == []  # no "Unnamed: 3" extra column reported


def test_header_names_are_normalised_and_extra_columns_reported(tmp_path):
    (tmp_path / "Managers.csv").write_text(
        "Manager ID,Name,Segment,Favourite colour\nm1,Ann,B2B,red\n", encoding="utf-8"
    )
    ds = loading.load(tmp_path, validate=False)
    assert list(ds.managers.columns) == ["manager_id", "name", "segment"]
    extra = [p for p in ds.meta["problems"] if p.check == "extra_columns"]
    assert extra and extra[0].severity == "warning" and "Favourite colour" in extra[0].message


def test_unmatched_files_are_warnings_and_absent_tables_absent(tmp_path):
    write_core(tmp_path, RUSSIAN_DEALS, encoding="utf-8")
    (tmp_path / "products.csv").write_text("product,price\nA,1\n", encoding="utf-8")
    ds = loading.load(tmp_path)
    assert "surveys" not in ds and ds.get("surveys") is None
    (warning,) = [p for p in ds.meta["problems"] if p.check == "unmatched_table"]
    assert warning.severity == "warning" and "products" in warning.message
    (tmp_path / "notes.docx").write_bytes(b"x")
    (tmp_path / "deals.parquet").write_bytes(b"x")  # a second file for deals: not read
    ds = loading.load(tmp_path)
    (ignored,) = [p for p in ds.meta["problems"] if p.check == "ignored_files"]
    assert ignored.severity == "warning"
    assert "deals.parquet" in ignored.message and "notes.docx" in ignored.message


def test_unparseable_values_are_errors_never_silent_nan(tmp_path):
    bad = RUSSIAN_DEALS.replace("12.04.2025", "32.13.2025").replace("950", "девятьсот")
    write_core(tmp_path, bad, encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        loading.load(tmp_path)
    by_check = {p.check: p for p in err.value.problems}
    date = by_check["unparseable_date"]
    assert (date.table, date.column, date.count, date.examples) == (
        "deals",
        "closed_date",
        1,
        ("Д-1",),
    )
    assert "'32.13.2025'" in date.message and "DD.MM.YYYY" in date.fix
    number = by_check["unparseable_number"]
    assert (number.column, number.count, number.examples) == ("amount", 1, ("Д-3",))
    assert "decimal" in number.fix
    # validate=False loads anyway and keeps the problems for the caller (amtools validate).
    ds = loading.load(tmp_path, validate=False)
    assert {p.check for p in ds.meta["problems"]} >= {"unparseable_date", "unparseable_number"}
    assert ds.deals["amount"].isna().sum() == 1


def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        loading.load(tmp_path / "nope")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04junk")
    with pytest.raises(SourceError, match="unknown data source format"):
        loading.load(tmp_path / "notes.docx")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no .csv"):
        loading.load(empty)
    with pytest.raises(SourceError, match="cannot load a int"):
        loading.load(42)


# ---------------------------------------------------------------------------------------
# Value parsing
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,50", 1234.5),
        ("1\u00a0234\u00a0567", 1234567.0),
        ("1\u202f234,5", 1234.5),
        ("1,234,567.25", 1234567.25),
        ("1.234.567,25", 1234567.25),
        ("(1 200)", -1200.0),
        ("\u22125,5", -5.5),
        ("15%", 0.15),
        ("12,5 %", 0.125),
        ("₽ 3 000", 3000.0),
        ("1 500 руб.", 1500.0),
    ],
)
def test_parse_numbers_formats(text, expected):
    values, bad = parse.parse_numbers(pd.Series([text]))
    assert values.iloc[0] == pytest.approx(expected)
    assert not bad.any()


def test_parse_numbers_ambiguous_thousands_use_the_hint():
    # "1,234" is 1234 (comma groups) or 1.234 (decimal comma): the file decides.
    assert parse.parse_numbers(pd.Series(["1,234"]))[0].iloc[0] == 1234.0
    assert parse.parse_numbers(pd.Series(["1,234"]), hint=",")[0].iloc[0] == pytest.approx(1.234)
    # A column with one unambiguous value settles the others: "2,5" -> decimal comma.
    values, _ = parse.parse_numbers(pd.Series(["1,234", "2,5"]))
    assert values.tolist() == [pytest.approx(1.234), 2.5]


def test_parse_dates_layouts():
    values, bad, note = parse.parse_dates(
        pd.Series(["05.03.2025 14:30", "06.03.2025", ""]), kind="datetime"
    )
    assert values.tolist()[:2] == [pd.Timestamp("2025-03-05 14:30"), pd.Timestamp("2025-03-06")]
    assert not bad.any() and note is None
    us, _, note = parse.parse_dates(pd.Series(["12/31/2025", "01/02/2026"]))
    assert us.tolist() == [pd.Timestamp("2025-12-31"), pd.Timestamp("2026-01-02")] and note is None
    _, _, note = parse.parse_dates(pd.Series(["01/02/2026", "03/04/2026"]))
    assert note and "ambiguous" in note
    mixed, bad, _ = parse.parse_dates(pd.Series(["31.12.2025", "2026-01-05", "5.1.2026"]))
    assert mixed.tolist() == [pd.Timestamp(d) for d in ("2025-12-31", "2026-01-05", "2026-01-05")]
    assert not bad.any()
    fixed, _, _ = parse.parse_dates(pd.Series(["2026-01-02 23:59"]), kind="date")
    assert fixed.iloc[0] == pd.Timestamp("2026-01-02")


def test_bool_values_in_russian_and_english():
    raw = pd.DataFrame(
        {
            "manager_id": ["m1"] * 5,
            "date": ["2025-01-01"] * 5,
            "violation": ["да", "нет", "Yes", "0", "может быть"],
        }
    )
    out, problems = loading.coerce_table("compliance", raw)
    assert out["violation"].tolist()[:4] == [True, False, True, False]
    assert out["violation"].isna().iloc[4]
    assert problems[0].check == "unparseable_bool" and problems[0].examples == ("row 5",)
