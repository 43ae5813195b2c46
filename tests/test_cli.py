"""The `amtools demo` and `amtools validate` commands, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtools.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def test_demo_builds_duckdb_and_prints_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo.duckdb"
    assert (
        main(
            [
                "demo",
                "--managers",
                "6",
                "--end",
                "2026-11-26",
                "--out",
                str(out),
                "--csv",
                str(tmp_path / "csv"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert out.is_file() and out.stat().st_size > 0
    assert "deals" in printed and "managers" in printed
    assert (tmp_path / "csv" / "deals.csv").is_file()
    # The built file is a source the validator accepts without errors.
    assert main(["validate", str(out)]) == 0
    assert "0 error(s)" in capsys.readouterr().out


@pytest.mark.parametrize("preset", ["maven_crm", "superstore"])
def test_validate_real_data_fixtures_with_presets(
    preset: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(FIXTURES / preset), "--mapping", preset])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "deals" in printed


def test_validate_exits_non_zero_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "managers.csv").write_text("manager_id,name,segment\nm1,Ann,B2B\nm1,Bob,B2X\n")
    (tmp_path / "clients.csv").write_text("client_id,manager_id\nc1,m1\n")
    (tmp_path / "deals.csv").write_text(
        "deal_id,client_id,manager_id,stage,amount\nd1,c1,m9,won,-5\n"
    )
    assert main(["validate", str(tmp_path)]) == 1
    report = capsys.readouterr().out
    for expected in ["managers", "segment", "B2X", "manager_id", "m9", "amount"]:
        assert expected in report


def test_missing_source_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nope")]) == 1
    assert "nope" in capsys.readouterr().err
