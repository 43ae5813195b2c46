"""The index says why the pack has per-team team reviews: automatic (above per_team_above) or
asked for with --per-team; nothing when it has none. In en and ru, data text escaped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from amtools.core.dataset import Dataset
from amtools.render.index import render_index, write_index
from amtools.render.notebooks.context import RunContext
from amtools.render.notebooks.jobs import JobResult

EVIL = "<script>alert(1)</script>"
TEAMS = ["North", f"South {EVIL}"]


def _context(lang: str, n_managers: int = 3) -> RunContext:
    ids = [f"M{i}" for i in range(1, n_managers + 1)]
    managers = pd.DataFrame(
        {
            "manager_id": ids,
            "name": [f"Manager {i}" for i in ids],
            "segment": "SMB",
            "team": [TEAMS[i % 2] for i in range(n_managers)],
        }
    )
    ds = Dataset({"managers": managers}, source="crm")
    empty = pd.DataFrame()
    return RunContext(
        dataset=ds, period="2026Q3", freq="Q", lang=lang, currency="RUB", source=ds.source,
        fingerprint="abc123", kpis=empty, kpis_team=empty, kpis_segment=empty, kpis_company=empty,
        scorecard=empty, scores=empty, training=empty, forecast=None, pipeline=empty, budget=None,
        params={}, generated_at=pd.Timestamp("2026-11-26 10:00", tz="UTC"), version="0.1.0",
        notes=[],
    )  # fmt: skip


def _results(folder: Path, teams: list[str]) -> list[JobResult]:
    company = JobResult(
        "team_review", "team_review", None, "Team review", True, 2.0,
        folder / "team_review.html", None,
    )  # fmt: skip
    per_team = [
        JobResult(
            f"team_review/{team}",
            "team_review",
            team,
            f"Team review: {team}",
            n != 1,
            1.0,
            folder / f"team_review-{n}.html" if n != 1 else None,
            None,
            error="boom",
        )  # fmt: skip
        for n, team in enumerate(teams)
    ]
    return [company, *per_team]


EXPECTED = {
    ("en", "auto"): "2 per-team reviews: automatic, more than 2 managers (3; per_team_above in "
    "params/reports/team_review.yaml).",
    ("en", "forced"): "2 per-team reviews: asked for with --per-team (amtools run --per-team).",
    ("ru", "auto"): "Обзоров команд: 2 — автоматически: менеджеров больше 2 (3; per_team_above "
    "в params/reports/team_review.yaml).",
    ("ru", "forced"): "Обзоров команд: 2 — по запросу запуска (amtools run --per-team).",
}


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("mode", ["auto", "forced"])
def test_the_index_says_why_the_per_team_reviews_are_in_the_pack(tmp_path, lang, mode) -> None:
    page = render_index(
        _context(lang), _results(tmp_path, TEAMS), tmp_path, team_pages=mode, per_team_above=2
    )
    expected = EXPECTED[(lang, mode)]
    assert f'<p class="am-note am-team-pages">{expected}</p>' in page
    other = EXPECTED[(lang, "forced" if mode == "auto" else "auto")]
    assert other not in page
    # The team names are data: escaped on the page (a failed per-team review counts too).
    assert "<script>" not in page and "South &lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_per_team_reviews_no_sentence(tmp_path, lang) -> None:
    # No per-team review in the pack: nothing to explain, whatever the mode says.
    for mode in ("", "auto", "forced"):
        page = render_index(
            _context(lang), _results(tmp_path, []), tmp_path, team_pages=mode, per_team_above=2
        )
        assert "am-team-pages" not in page
    # Per-team results but no mode given (an older caller): no sentence, no error.
    page = render_index(_context(lang), _results(tmp_path, TEAMS), tmp_path)
    assert "am-team-pages" not in page


def test_write_index_passes_the_mode_on(tmp_path) -> None:
    path = write_index(_context("en"), _results(tmp_path, TEAMS), tmp_path, team_pages="forced")
    assert EXPECTED[("en", "forced")] in path.read_text(encoding="utf-8")
