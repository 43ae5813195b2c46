"""The data model declaration and its generated documentation."""

from __future__ import annotations

from pathlib import Path

from amtools.core.schema import REQUIRED_TABLES, TABLES, data_model_markdown, table

ROOT = Path(__file__).resolve().parents[1]


def test_docs_data_model_is_generated_from_the_schema() -> None:
    assert (ROOT / "docs/data-model.md").read_text(encoding="utf-8") == data_model_markdown(), (
        "docs/data-model.md is stale: run `python -m amtools.core.schema > docs/data-model.md`"
    )


def test_design_section_3_tables_and_required_columns() -> None:
    assert len(TABLES) == 15
    assert REQUIRED_TABLES == ("managers", "clients", "deals")
    assert table("managers").required_columns == ["manager_id", "name", "segment"]
    assert table("clients").required_columns == ["client_id", "manager_id"]
    assert table("deals").required_columns == [
        "deal_id",
        "client_id",
        "manager_id",
        "stage",
        "amount",
    ]


def test_references_point_at_declared_columns() -> None:
    for spec in TABLES.values():
        for col in spec.columns:
            if col.references:
                ref_table, ref_col = col.references.split(".")
                assert ref_col in table(ref_table).column_names, (spec.name, col.name)
        for key in spec.key:
            assert key in spec.column_names


def test_category_columns_declare_allowed_values() -> None:
    for spec in TABLES.values():
        for col in spec.columns:
            assert (col.kind == "category") == (col.allowed is not None), (spec.name, col.name)


def test_unknown_table_names_the_known_ones() -> None:
    try:
        table("dealz")
    except KeyError as exc:
        assert "deals" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected KeyError")
