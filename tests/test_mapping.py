"""Tests for amtools.loading.mapping: the mapping keys, their checks, and the presets on real-data fixtures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from amtools import loading
from amtools.core.errors import MappingError
from amtools.core.problems import DataValidationError
from amtools.loading.mapping import (
    friendly_date_format,
    make_id,
    parse_mapping,
    presets,
    resolve_mapping,
)

FIXTURES = Path(__file__).parent / "fixtures"


def problems_by_check(ds):
    return {p.check: p for p in ds.meta["problems"]}


# ---------------------------------------------------------------------------------------
# Presets on real-data fixtures (see tests/fixtures/*/SOURCE.md)
# ---------------------------------------------------------------------------------------
def test_presets_are_listed():
    assert {"maven_crm", "superstore"} <= set(presets())


def test_maven_preset_loads_the_fixture_with_its_dirty_bits():
    ds = loading.load(FIXTURES / "maven_crm", mapping="maven_crm")
    assert (len(ds.managers), len(ds.clients), len(ds.deals)) == (19, 19, 31)
    # 13 Won, 6 Lost, 7 Engaging + 5 Prospecting -> open.
    assert ds.deals["stage"].value_counts().to_dict() == {"won": 13, "open": 12, "lost": 6}
    # "GTXPro" in deals is spelled "GTX Pro" in products.csv: the preset unifies it.
    assert (ds.deals["product"] == "GTX Pro").sum() == 4
    assert "GTXPro" not in set(ds.deals["product"].dropna())
    assert ds.clients.set_index("client_id").loc["acme-corporation", "industry"] == "technology"
    # Ids are slugs of names; the account owner is the agent with most deals there.
    assert ds.clients.set_index("client_id").loc["acme-corporation", "manager_id"] == "reed-clapper"
    assert set(ds.managers["segment"]) == {"B2B"} and set(ds.clients["segment"]) == {"B2B"}
    assert ds.managers.set_index("manager_id").loc["anna-snelling", "team"] == "Central"
    # Open deals without an account are kept (7 rows) and reported as a warning.
    assert ds.deals["client_id"].isna().sum() == 7
    found = problems_by_check(ds)
    assert found["open_without_client"].severity == "warning"
    assert found["open_without_client"].count == 7
    assert "HAXMC4IX" in found["open_without_client"].examples
    assert found["manager_without_deals"].examples == ("carl-lin",)
    assert "products" in found["unmatched_table"].message
    assert all(p.severity == "warning" for p in ds.meta["problems"])
    # Prospecting deals have no engage_date: an empty date, not an error.
    assert ds.deals["created_date"].isna().sum() == 5
    assert str(ds.deals["closed_date"].dtype) == "datetime64[ns]"


def test_superstore_preset_preserves_the_sales_total():
    ds = loading.load(FIXTURES / "superstore", mapping="superstore")
    # 36 order lines of 14 orders by 11 customers (SOURCE.md).
    assert (len(ds.managers), len(ds.clients), len(ds.deals)) == (4, 11, 14)
    # Sum of the 36 Sales values, added by hand with Decimal: 13,297.4415.
    assert ds.deals["amount"].sum() == pytest.approx(13297.4415, abs=1e-6)
    # cost = Sales - Profit = 13,297.4415 - (-35.7068) = 13,333.1483.
    assert ds.deals["cost"].sum() == pytest.approx(13333.1483, abs=1e-6)
    assert set(ds.deals["stage"]) == {"won"}
    deals = ds.deals.set_index("deal_id")
    # US-2015-108966: lines 957.5775 @ 0.45 and 22.368 @ 0.2 -> (430.909875 + 4.4736) / 979.9455.
    assert deals.loc["US-2015-108966", "discount"] == pytest.approx(0.444294, abs=1e-6)
    assert deals.loc["US-2015-108966", "amount"] == pytest.approx(979.9455)
    # CA-2014-115812: 3 Office Supplies lines, 2 Furniture, 2 Technology -> Office Supplies.
    assert deals.loc["CA-2014-115812", "product"] == "Office Supplies"
    assert deals.loc["CA-2016-152156", "manager_id"] == "cassandra-brandow"  # South
    clients = ds.clients.set_index("client_id")
    assert clients.loc["CG-12520", "segment"] == "B2C"  # Consumer
    assert clients.loc["DV-13045", "segment"] == "B2B"  # Corporate
    assert clients.loc["HP-14815", "segment"] == "B2B"  # Home Office
    # AA-10315 bought in Central (6 lines) and West (3 lines): Central's manager owns it.
    assert clients.loc["AA-10315", "manager_id"] == "kelly-williams"
    assert clients.loc["AA-10315", "acquired_date"] == pd.Timestamp("2014-03-31")  # first order
    assert problems_by_check(ds)["unmatched_table"].message.endswith("returns")


def test_preset_resolution_and_unknown_name():
    assert resolve_mapping("superstore").name == "superstore"
    with pytest.raises(MappingError, match="presets: .*maven_crm"):
        resolve_mapping("salesforce_classic")


# ---------------------------------------------------------------------------------------
# A Russian-language export (the worked example of docs/loading.md)
# ---------------------------------------------------------------------------------------
RUSSIAN_EXPORT = (
    "Номер сделки;Менеджер;Клиент;Этап;Сумма, руб.;Скидка;Создана;Закрыта\n"
    "2025-001;Иван Петров;ООО Ромашка;Выиграна;1\u00a0250\u00a0000,00;5%;03.02.2025 10:15;"
    "28.02.2025 17:40\n"
    "2025-002;Иван Петров;ИП Сидоров;Проиграна;80\u00a0000,00;;04.02.2025 09:00;10.03.2025 12:00\n"
    "2025-003;Мария Соколова;ООО Ромашка;В работе;300\u00a0000,50;;05.02.2025 11:30;\n"
    "2025-004;Мария Соколова;;Переговоры;;;06.02.2025 16:45;\n"
)

RUSSIAN_MAPPING = """
name: my_crm
read: {sep: ";", decimal: ","}
ids: {manager_id: slug, client_id: slug}
tables:
  deals:
    from: сделки
    columns:
      deal_id: Номер сделки
      manager_id: Менеджер
      client_id: Клиент
      stage: Этап
      amount: Сумма, руб.
      discount: Скидка
      created_date: Создана
      closed_date: Закрыта
    values:
      stage: {Выиграна: won, Проиграна: lost, "*": open}
    dates:
      created_date: DD.MM.YYYY HH:MM
      closed_date: DD.MM.YYYY HH:MM
  managers:
    from: сделки
    group_by: Менеджер
    columns: {manager_id: Менеджер, name: Менеджер}
    constants: {segment: B2B}
  clients:
    from: сделки
    group_by: Клиент
    aggregate: {Менеджер: most_common, Создана: min}
    columns: {client_id: Клиент, name: Клиент, manager_id: Менеджер, acquired_date: Создана}
    dates: {acquired_date: DD.MM.YYYY HH:MM}
"""


def test_russian_export_worked_example(tmp_path):
    (tmp_path / "сделки.csv").write_bytes(RUSSIAN_EXPORT.encode("cp1251"))
    mapping = tmp_path / "my_crm.yaml"
    mapping.write_text(RUSSIAN_MAPPING, encoding="utf-8")
    ds = loading.load(tmp_path, mapping=mapping, validate=False)
    deals = ds.deals.set_index("deal_id")
    assert deals["stage"].tolist() == ["won", "lost", "open", "open"]
    assert deals["amount"].tolist()[:3] == [1250000.0, 80000.0, 300000.5]
    assert deals.loc["2025-001", "discount"] == pytest.approx(0.05)
    assert deals.loc["2025-001", "closed_date"] == pd.Timestamp("2025-02-28")  # dates at midnight
    assert deals.loc["2025-001", "manager_id"] == "иван-петров"
    assert deals.loc["2025-001", "client_id"] == "ооо-ромашка"
    assert sorted(ds.managers["manager_id"]) == ["иван-петров", "мария-соколова"]
    # One row per distinct client; the empty client of deal 2025-004 makes no client row.
    clients = ds.clients.set_index("client_id")
    assert sorted(clients.index) == ["ип-сидоров", "ооо-ромашка"]
    assert clients.loc["ооо-ромашка", "acquired_date"] == pd.Timestamp("2025-02-03")
    assert clients.loc["ооо-ромашка", "name"] == "ООО Ромашка"
    assert clients.loc["ип-сидоров", "manager_id"] == "иван-петров"
    ds = loading.load(tmp_path, mapping=mapping)  # validates: warnings only
    found = problems_by_check(ds)
    assert found["group_without_key"].examples == ("row 4",)
    assert found["open_without_client"].examples == ("2025-004",)
    assert all(p.severity == "warning" for p in ds.meta["problems"])


# ---------------------------------------------------------------------------------------
# Individual mapping keys
# ---------------------------------------------------------------------------------------
def core(**deals_entry):
    """A mapping dict with native managers/clients and a mapped deals table."""
    return {"tables": {"deals": {"from": "crm", **deals_entry}}}


def native_tables():
    return {
        "managers": pd.DataFrame({"manager_id": ["m1"], "name": ["Ann"], "segment": ["B2B"]}),
        "clients": pd.DataFrame({"client_id": ["c1"], "manager_id": ["m1"]}),
    }


def test_values_default_and_yaml_booleans():
    crm = pd.DataFrame(
        {
            "Id": ["1", "2", "3"],
            "Stage": ["WON ", "lost", "Negotiation"],
            "Renew": ["Yes", "No", ""],
        }
    )
    spec = yaml.safe_load(
        """
tables:
  deals:
    from: crm
    columns: {deal_id: Id, stage: Stage}
    values: {stage: {Won: won, Lost: lost, "*": open}}
    constants: {client_id: c1, manager_id: m1, amount: 10}
  contracts:
    from: crm
    columns: {contract_id: Id, renewed: Renew}
    values: {renewed: {Yes: true, No: false}}
"""
    )
    ds = loading.load({"crm": crm, **native_tables()}, mapping=spec, validate=False)
    # matching ignores case and surrounding spaces; "*" catches every other value
    assert ds.deals["stage"].tolist() == ["won", "lost", "open"]
    assert ds.deals["amount"].tolist() == [10.0] * 3
    assert ds.contracts["renewed"].tolist()[:2] == [True, False]


def test_unmapped_values_pass_through_to_validation():
    crm = pd.DataFrame({"Id": ["1"], "Stage": ["Negotiation"]})
    spec = core(
        columns={"deal_id": "Id", "stage": "Stage"},
        constants={"client_id": "c1", "manager_id": "m1", "amount": 1},
    )
    with pytest.raises(DataValidationError) as err:
        loading.load({"crm": crm, **native_tables()}, mapping=spec)
    (problem,) = err.value.errors
    assert (problem.check, problem.column, problem.examples) == ("unknown_value", "stage", ("1",))
    assert "'Negotiation'" in problem.message and "values:" in problem.fix


def test_global_ids_apply_to_reference_columns():
    crm = pd.DataFrame(
        {
            "Client": ["Acme Ltd", "Beta"],
            "Owner": ["Ann Lee", "Ann Lee"],
            "Referrer": [None, "ACME  ltd"],
        }
    )
    spec = {
        "ids": {"client_id": "slug", "manager_id": "hash"},
        "tables": {
            "clients": {
                "from": "crm",
                "columns": {
                    "client_id": "Client",
                    "manager_id": "Owner",
                    "referred_by": "Referrer",
                },
            }
        },
    }
    ds = loading.load({"crm": crm}, mapping=spec, validate=False)
    assert ds.clients["client_id"].tolist() == ["acme-ltd", "beta"]
    assert ds.clients["referred_by"].tolist()[1] == "acme-ltd"
    assert ds.clients["manager_id"].nunique() == 1
    assert len(ds.clients["manager_id"].iloc[0]) == 10


def test_make_id_is_stable_and_keeps_empty():
    names = pd.Series(["Иван  Петров", "иван петров", None, "   "])
    slugs = make_id(names, "slug")
    assert slugs.tolist()[:2] == ["иван-петров", "иван-петров"]
    assert slugs.isna().tolist()[2:] == [True, True]
    hashes = make_id(names, "hash")
    # sha1 of the lower-cased, space-normalised name, first 10 hex digits
    expected = hashlib.sha1("иван петров".encode()).hexdigest()[:10]
    assert hashes.iloc[0] == hashes.iloc[1] == expected
    assert hashes.iloc[0] == make_id(pd.Series(["ИВАН ПЕТРОВ"]), "hash").iloc[0]


@pytest.mark.parametrize(
    ("friendly", "strftime"),
    [
        ("DD.MM.YYYY", "%d.%m.%Y"),
        ("DD.MM.YYYY HH:MM", "%d.%m.%Y %H:%M"),
        ("MM/DD/YY hh:mm AM", "%m/%d/%y %I:%M %p"),
        ("YYYY-MM-DD HH:mm:SS", "%Y-%m-%d %H:%M:%S"),
        ("%d.%m.%Y", "%d.%m.%Y"),
    ],
)
def test_friendly_date_formats(friendly, strftime):
    assert friendly_date_format(friendly) == strftime


def test_join_compute_group_by_aggregate():
    lines = pd.DataFrame(
        {
            "Order": ["o1", "o1", "o2"],
            "Region": ["N", "N", "S"],
            "Unit Price": ["10,5", "2", "100"],
            "Qty": ["2", "1", "3"],
            "Disc": ["0,1", "0,3", "0"],
            "Day": ["2025-01-02", "2025-01-02", "2025-01-05"],
        }
    )
    reps = pd.DataFrame({"Region": ["N", "S"], "Rep": ["m1", "m2"]})
    spec = {
        "tables": {
            "deals": {
                "from": "lines",
                "join": [{"table": "reps", "on": "Region"}],
                "compute": {"value": "`Unit Price` * Qty"},
                "group_by": "Order",
                "aggregate": {"value": "sum", "Disc": {"weighted_mean": "value"}},
                "columns": {
                    "deal_id": "Order",
                    "manager_id": "Rep",
                    "amount": "value",
                    "discount": "Disc",
                    "closed_date": "Day",
                },
                "constants": {"stage": "won", "client_id": "c1"},
            }
        }
    }
    ds = loading.load({"lines": lines, "reps": reps}, mapping=spec, validate=False, decimal=",")
    deals = ds.deals.set_index("deal_id")
    # o1: 10.5*2 + 2*1 = 23; discount (21*0.1 + 2*0.3) / 23 = 2.7 / 23
    assert deals.loc["o1", "amount"] == pytest.approx(23.0)
    assert deals.loc["o1", "discount"] == pytest.approx(2.7 / 23)
    assert deals.loc["o2", "amount"] == pytest.approx(300.0)
    assert deals["manager_id"].tolist() == ["m1", "m2"]
    assert deals.loc["o2", "closed_date"] == pd.Timestamp("2025-01-05")


def test_join_problems():
    lines = pd.DataFrame({"Order": ["o1", "o2"], "Region": ["N", "X"]})
    reps = pd.DataFrame({"Region": ["N", "N"], "Rep": ["m1", "m2"]})
    spec = core(
        join=[{"table": "reps", "on": "Region"}], columns={"deal_id": "Order", "manager_id": "Rep"}
    )
    spec["tables"]["deals"]["from"] = "lines"
    with pytest.raises(MappingError, match="several rows for Region = 'N'"):
        loading.load({"lines": lines, "reps": reps}, mapping=spec, validate=False)
    ds = loading.load({"lines": lines, "reps": reps.head(1)}, mapping=spec, validate=False)
    warning = problems_by_check(ds)["join_unmatched"]
    assert warning.severity == "warning" and "'X'" in warning.message
    assert warning.examples == ("row 2",)


def test_unparseable_numbers_in_aggregation_are_reported():
    lines = pd.DataFrame({"Order": ["o1", "o1"], "Sales": ["10", "ten"]})
    spec = core(
        group_by="Order",
        aggregate={"Sales": "sum"},
        columns={"deal_id": "Order", "amount": "Sales"},
    )
    spec["tables"]["deals"]["from"] = "lines"
    ds = loading.load({"lines": lines}, mapping=spec, validate=False)
    problem = problems_by_check(ds)["unparseable_number"]
    assert (problem.table, problem.column, problem.count, problem.examples) == (
        "deals",
        "Sales",
        1,
        ("row 2",),
    )
    assert "'ten'" in problem.message


def test_native_tables_pass_through_and_optional_missing_source_is_a_warning():
    crm = pd.DataFrame(
        {
            "Id": ["d1"],
            "Who": ["m1"],
            "Client": ["c1"],
            "St": ["won"],
            "Amt": [5],
            "Closed": ["2025-01-01"],
        }
    )
    spec = {
        "tables": {
            "deals": {
                "from": "crm",
                "columns": {
                    "deal_id": "Id",
                    "manager_id": "Who",
                    "client_id": "Client",
                    "stage": "St",
                    "amount": "Amt",
                    "closed_date": "Closed",
                },
            },
            "surveys": {"from": "nps_export"},
        }
    }
    ds = loading.load({"crm": crm, **native_tables()}, mapping=spec)
    assert ds.names == ["managers", "clients", "deals"]
    assert problems_by_check(ds)["missing_source"].table == "surveys"


# ---------------------------------------------------------------------------------------
# Checks of the mapping itself
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"tabels": {}}, "top level: unknown key 'tabels'. Fix: did you mean 'tables'?"),
        ({"tables": {}}, "no tables defined"),
        ({"tables": {"deal": {}}}, "unknown data-model table 'deal'.*did you mean 'deals'"),
        ({"tables": {"deals": {"colums": {}}}}, "tables.deals: unknown key 'colums'.*'columns'"),
        (
            {"tables": {"deals": {"columns": {"value": "x"}}}},
            "tables.deals.columns.value: 'value' is not a column of deals",
        ),
        (
            {"tables": {"deals": {"columns": {"stage": "x"}, "constants": {"stage": "won"}}}},
            "set both by columns and by constants",
        ),
        (
            {"tables": {"deals": {"group_by": "x", "aggregate": {"y": "median"}}}},
            "tables.deals.aggregate.y: unknown aggregation 'median'",
        ),
        ({"tables": {"deals": {"aggregate": {"y": "sum"}}}}, "aggregate needs group_by"),
        ({"ids": {"manager_id": "uuid"}, "tables": {"deals": {}}}, "unknown id method 'uuid'"),
        (
            {"tables": {"deals": {"dates": {"amount": "DD.MM.YYYY"}}}},
            "'amount' is not a date column",
        ),
        ({"tables": {"deals": {"compute": {"x": "__import__('os')"}}}}, "other than arithmetic"),
        ({"tables": {"deals": {"values": {"stage": "won"}}}}, "expected `source value: amtools"),
        (
            {
                "tables": {
                    "deals": {"lookup": {"manager_id": {"from": "clients", "on": "client_id"}}}
                }
            },
            "'clients' is not a table of this mapping",
        ),
        (
            {
                "tables": {
                    "clients": {"lookup": {"manager_id": {"from": "deals", "on": "client_id"}}},
                    "deals": {"lookup": {"manager_id": {"from": "clients", "on": "client_id"}}},
                }
            },
            "lookups form a cycle",
        ),
        ({"read": {"delimiter": ";"}, "tables": {"deals": {}}}, "read: unknown key 'delimiter'"),
    ],
)
def test_malformed_mappings_name_the_key_and_the_fix(mapping, message):
    with pytest.raises(MappingError, match=message) as err:
        parse_mapping(mapping, name="bad")
    assert "mapping 'bad'" in str(err.value) and "Fix:" in str(err.value)


def test_missing_source_columns_and_tables_list_what_exists():
    crm = pd.DataFrame({"Deal ID": ["1"], "Stage": ["won"]})
    spec = core(columns={"deal_id": "Deal Id", "stage": "Stage"})
    with pytest.raises(MappingError) as err:
        loading.load({"crm": crm}, mapping=spec)
    text = str(err.value)
    assert "tables.deals.columns.deal_id" in text and "'Deal Id' not found in crm" in text
    assert "did you mean 'Deal ID'" in text and "columns there: Deal ID, Stage" in text
    with pytest.raises(MappingError, match="source table 'crm' not found.*available: other"):
        loading.load({"other": crm}, mapping=spec)


def test_mapping_yaml_file_with_read_options(tmp_path):
    (tmp_path / "export.csv").write_text("Id|Sum\nd1|1.234,5\n", encoding="utf-8")
    path = tmp_path / "m.yml"
    path.write_text(
        "read: {sep: '|', decimal: ','}\n"
        "tables:\n  deals:\n    from: export\n    columns: {deal_id: Id, amount: Sum}\n",
        encoding="utf-8",
    )
    ds = loading.load(tmp_path, mapping=str(path), validate=False)
    assert ds.deals["amount"].tolist() == [1234.5]
    assert ds.meta["mapping"] == "m"
    assert ds.source.endswith("mapping m")


def test_excel_workbook_with_mapping_and_numeric_codes(tmp_path):
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame(
            {
                "ID": [101, 102],
                "Статус": [2.0, 1.0],
                "Сумма": [1500.5, 200],
                "Дата": ["01.03.2025", "02.03.2025"],
            }
        ).to_excel(writer, sheet_name="Сделки", index=False)
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
    spec = {
        "tables": {
            "deals": {
                "from": "Сделки",
                "columns": {
                    "deal_id": "ID",
                    "stage": "Статус",
                    "amount": "Сумма",
                    "closed_date": "Дата",
                },
                "values": {"stage": {1: "open", 2: "won"}},
            }
        }
    }
    ds = loading.load(path, mapping=spec, validate=False)
    assert ds.deals["deal_id"].tolist() == ["101", "102"]  # numeric ids become text
    assert ds.deals["stage"].tolist() == ["won", "open"]  # 2.0 in the sheet matches key 2
    assert ds.deals["closed_date"].tolist() == [
        pd.Timestamp("2025-03-01"),
        pd.Timestamp("2025-03-02"),
    ]
    assert "Notes" in problems_by_check(ds)["unmatched_table"].message


def test_skip_rows_for_report_style_exports(tmp_path):
    # A 1C-style report: two title lines above the header.
    (tmp_path / "deals.csv").write_text(
        "Отчёт по сделкам\nза март 2025\ndeal_id;amount\nd1;1 000,5\n", encoding="utf-8"
    )
    ds = loading.load(
        tmp_path, mapping={"read": {"skip_rows": 2}, "tables": {"deals": {}}}, validate=False
    )
    assert ds.deals["amount"].tolist() == [1000.5]
    with pytest.raises(MappingError, match="read.skip_rows: expected a whole number"):
        parse_mapping({"read": {"skip_rows": "two"}, "tables": {"deals": {}}})


def test_preset_files_beside_data_model_tables_are_named_with_their_preset(tmp_path):
    # the preset's files alone load through it (next tests); beside tables already in
    # data-model names they are not read, and the warning names the preset to use
    import shutil

    folder = tmp_path / "both"
    shutil.copytree(FIXTURES / "superstore", folder)
    loading.export_csv(loading.load(FIXTURES / "superstore"), folder)
    ds = loading.load(folder)
    assert "mapping" not in ds.meta
    (hint,) = [p for p in ds.meta["problems"] if p.check == "unmatched_table"]
    assert "mapping='superstore'" in hint.fix


def test_a_project_preset_resolves_by_name(tmp_path, monkeypatch) -> None:
    # a project's params/mappings/<name>.yaml is a preset like the shipped ones
    from amtools.loading.mapping import presets, resolve_mapping

    folder = tmp_path / "params" / "mappings"
    folder.mkdir(parents=True)
    (folder / "my_crm.yaml").write_text(
        "name: my_crm\ntables:\n  deals: {from: sdelki}\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert "my_crm" in presets() and "superstore" in presets()
    assert resolve_mapping("my_crm").tables["deals"].source == "sdelki"


def test_a_folder_loads_without_mapping_by_its_own_or_a_matching_preset(tmp_path) -> None:
    # a user's first `amtools run --source folder`: the folder's mapping.yaml, else the one
    # preset whose files are all there; data-model names load as they are
    import shutil

    import amtools

    fixtures = Path(__file__).parent / "fixtures"
    assert amtools.load(fixtures / "maven_crm").meta["mapping"] == "maven_crm"
    assert amtools.load(fixtures / "superstore").meta["mapping"] == "superstore"
    amo = amtools.load(fixtures / "amocrm")
    assert (
        amo.meta["mapping"]
        == amtools.load(fixtures / "amocrm", mapping=fixtures / "amocrm" / "mapping.yaml").meta[
            "mapping"
        ]
    )
    assert len(amo.deals) > 0
    plain = tmp_path / "plain"
    shutil.copytree(fixtures / "maven_crm", plain)
    for f in plain.glob("*.csv"):
        f.unlink()
    amtools.loading.export_csv(amtools.load(fixtures / "maven_crm"), plain)
    assert "mapping" not in amtools.load(plain).meta  # data-model names: no mapping applied
