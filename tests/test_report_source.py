"""The data-source line of report headers is shown in the report's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtools.demo import make_demo
from amtools.loading import export_csv, export_excel, load, save_duckdb
from amtools.render.export import display_source


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("sources")
    ds = make_demo(n_managers=2, years=1, scale=0.05, end="2026-11-26")
    small = ds.replace(
        **{name: None for name in ds.names if name not in ("managers", "clients", "deals")}
    )
    return {
        "demo": ds.source,
        "duckdb": load(save_duckdb(small, folder / "d.duckdb"), validate=False).source,
        "csv": load(export_csv(small, folder / "csv"), validate=False).source,
        "excel": load(export_excel(small, folder / "x.xlsx"), validate=False).source,
        "mapped": load(
            Path(__file__).parent / "fixtures" / "superstore", mapping="superstore", validate=False
        ).source,
    }


@pytest.mark.parametrize("kind", ["demo", "duckdb", "csv", "excel", "mapped"])
def test_source_descriptions_of_the_loaders_are_translated(
    sources: dict[str, str], kind: str
) -> None:
    english = sources[kind]
    russian = display_source(english, "ru")
    assert display_source(english, "en") == english
    assert russian != english
    # Paths and names are data; every other word is translated.
    words = [w for w in russian.replace(",", " ").split() if "/" not in w and "." not in w]
    for word in ("folder", "database", "workbook", "mapping", "files", "sheets", "demo"):
        assert not any(word in w for w in words), (word, russian)


def test_unknown_source_text_and_password_masking() -> None:
    assert display_source("something else", "ru") == "something else"
    assert (
        display_source("SQL database postgresql://u:secret@h/db", "ru")
        == "База данных SQL postgresql://u:***@h/db"
    )
