"""The forecast archive: location, round trip, dedupe, unwritable places, as-made accuracy."""

from __future__ import annotations

import os
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from amtools.core.messages import Message
from amtools.forecast import forecast
from amtools.forecast.history import AccuracyHistory
from amtools.loading.archive import (
    ARCHIVE_COLUMNS,
    ARCHIVE_FILE,
    ArchiveError,
    append_forecasts,
    archive_location,
    archive_rows,
    read_forecasts,
)
from amtools.render.archive import archive_path, record_forecasts

NAIVE = {"models": ["naive"], "folds": 1, "reconcile": "none", "levels": [80, 95]}


def _series(end: str = "2026-06-01", months: int = 30) -> pd.DataFrame:
    ds = pd.date_range(end=end, periods=months, freq="MS")
    y = 100.0 + np.arange(months) % 7
    frames = [
        pd.DataFrame({"unique_id": uid, "ds": ds, "y": y * k})
        for uid, k in (("company", 2.0), ("team/North", 1.0))
    ]
    return pd.concat(frames, ignore_index=True)


def _rows(fingerprint: str = "fp1", run_id: str = "r1", end: str = "2026-06-01") -> pd.DataFrame:
    result = forecast(_series(end), h=6, **NAIVE)
    return archive_rows(
        result.forecast,
        run_id=run_id,
        made_at=pd.Timestamp("2026-07-02 10:00", tz="UTC"),
        fingerprint=fingerprint,
        origin=pd.Timestamp(end),
        source="test",
    )


def test_location_beside_the_data(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    assert archive_location(folder) == folder / ARCHIVE_FILE
    assert archive_location(str(folder / "crm.xlsx")) == folder / ARCHIVE_FILE
    assert archive_location(None, tmp_path / "demo.duckdb") == tmp_path / ARCHIVE_FILE
    assert archive_location("sqlite:///crm.db") is None
    assert archive_location(pd.DataFrame()) is None
    # overrides: --archive PATH, --no-archive, params' off
    assert archive_path(folder, "/srv/x.duckdb", "auto") == Path("/srv/x.duckdb")
    assert archive_path(folder, False, "auto") is None
    assert archive_path(folder, None, "off") is None
    assert archive_path(folder, None, str(tmp_path / "f.duckdb")) == tmp_path / "f.duckdb"


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / ARCHIVE_FILE
    rows = _rows()
    assert len(rows) == 12 and rows["lead"].tolist()[:6] == [1, 2, 3, 4, 5, 6]
    assert append_forecasts(path, rows) == 12
    back = read_forecasts(path)
    assert list(back.columns) == list(ARCHIVE_COLUMNS)
    assert len(back) == 12
    team = back[back["unique_id"] == "team/North"].sort_values("target")
    assert team["key"].unique().tolist() == ["North"] and team["level"].iloc[0] == "team"
    expected = rows[rows["unique_id"] == "team/North"].sort_values("target")
    assert np.allclose(team["point"], expected["point"])
    assert np.allclose(team["hi_95"], expected["hi_95"])
    assert team["origin"].iloc[0] == pd.Timestamp("2026-06-01")
    assert team["made_at"].iloc[0] == pd.Timestamp("2026-07-02 10:00")  # stored in UTC
    due = read_forecasts(path, due_by=pd.Timestamp("2026-08-01"))
    assert sorted(due["lead"].unique()) == [1, 2]


def test_same_run_twice_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / ARCHIVE_FILE
    assert append_forecasts(path, _rows(run_id="a")) == 12
    assert append_forecasts(path, _rows(run_id="b")) == 0  # same fingerprint and origin
    assert len(read_forecasts(path)) == 12
    assert append_forecasts(path, _rows(fingerprint="fp2")) == 12  # the data changed
    assert append_forecasts(path, _rows(end="2026-09-01")) == 12  # a later origin
    assert len(read_forecasts(path)) == 36


def test_unwritable_places_raise_archive_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ArchiveError, match="does not exist"):
        append_forecasts(blocker / ARCHIVE_FILE, _rows())
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(ArchiveError):
        append_forecasts(garbage, _rows())
    with pytest.raises(ArchiveError):
        read_forecasts(garbage)
    # a read-only place (simulated: the tests may run as root, who can write anywhere)
    monkeypatch.setattr(os, "access", lambda *_a, **_k: False)
    with pytest.raises(ArchiveError, match="not writable"):
        append_forecasts(tmp_path / ARCHIVE_FILE, _rows())


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ArchiveError):
            append_forecasts(folder / ARCHIVE_FILE, _rows())
    finally:
        folder.chmod(0o755)


def _ctx(series: pd.DataFrame, fingerprint: str) -> types.SimpleNamespace:
    """The parts of a RunContext that record_forecasts reads."""
    return types.SimpleNamespace(
        forecast=forecast(series, h=6, **NAIVE),
        params={},
        accuracy_history=None,
        generated_at=pd.Timestamp("2026-07-02", tz="UTC"),
        fingerprint=fingerprint,
        source="test export",
    )


def test_record_then_score_as_made(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    first = _ctx(_series("2026-06-01"), "fp1")
    assert record_forecasts(first, source=None, archive=path) == path  # type: ignore[arg-type]
    hist = first.accuracy_history
    assert isinstance(hist, AccuracyHistory)
    assert hist.as_made.empty and hist.archive == str(path) and not hist.archive_note
    # three months later: the forecasts of June for July..September have actuals now
    later = _ctx(_series("2026-09-01", months=33), "fp2")
    record_forecasts(later, source=None, archive=path)  # type: ignore[arg-type]
    made = later.accuracy_history.as_made
    assert sorted(made["lead"].unique()) == [1, 3]  # the shipped leads 1, 3, 6 that are due
    assert set(made["unique_id"]) == {"company", "team/North"}
    assert (made["origin"] == pd.Timestamp("2026-06-01")).all()
    # naive from June: |actual - June's value| over the history's seasonal-naive MAE
    s = _series("2026-09-01", months=33)
    team = s[s["unique_id"] == "team/North"].set_index("ds")["y"]
    june, sept = team[pd.Timestamp("2026-06-01")], team[pd.Timestamp("2026-09-01")]
    upto = team[: pd.Timestamp("2026-06-01")].to_numpy()
    scale = np.mean(np.abs(upto[12:] - upto[:-12]))
    row = made[(made["unique_id"] == "team/North") & (made["lead"] == 3)].iloc[0]
    assert row["mase"] == pytest.approx(abs(sept - june) / scale)
    summary = later.accuracy_history.as_made_summary
    assert set(summary["level"]) == {"company", "team"}


def test_unwritable_archive_is_a_note_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = _ctx(_series(), "fp1")
    monkeypatch.setattr(os, "access", lambda *_a, **_k: False)
    record_forecasts(ctx, source=None, archive=tmp_path / "a.duckdb")  # type: ignore[arg-type]
    note = ctx.accuracy_history.archive_note
    assert isinstance(note, Message) and note.key == "fc.history.archive_not_written"
    assert not (tmp_path / "a.duckdb").exists()


def test_no_place_and_off(tmp_path: Path) -> None:
    ctx = _ctx(_series(), "fp1")
    assert record_forecasts(ctx, source="postgresql://host/crm", archive=None) is None  # type: ignore[arg-type]
    assert ctx.accuracy_history.archive_note.key == "fc.history.archive_nowhere"
    off = _ctx(_series(), "fp1")
    assert record_forecasts(off, source=tmp_path, archive=False) is None  # type: ignore[arg-type]
    assert not off.accuracy_history.archive_note
    assert not (tmp_path / ARCHIVE_FILE).exists()


def test_folder_loader_ignores_the_archive(tmp_path: Path) -> None:
    from amtools.demo import make_demo
    from amtools.loading import export_csv, load

    folder = Path(export_csv(make_demo(n_managers=3), tmp_path / "export"))
    append_forecasts(folder / ARCHIVE_FILE, _rows())
    ds = load(folder, validate=False)
    texts = " ".join(str(p) for p in ds.meta.get("problems", []))
    assert ARCHIVE_FILE not in texts
