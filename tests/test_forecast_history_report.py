"""The accuracy history in the pipeline and in the forecast report (en and ru), with the archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from amtools.core.dataset import Dataset
from amtools.loading.archive import read_forecasts

FAST = {"models": ["seasonal_naive", "naive"], "folds": 1}


@pytest.fixture(scope="module")
def demo() -> Dataset:
    from amtools.demo import make_demo

    return make_demo(seed=0, n_managers=3, end="2026-11-26")


def test_pipeline_computes_the_history_only_when_asked(demo: Dataset) -> None:
    from amtools.pipeline import build

    params = {"forecast_models": FAST}
    plain = build(demo, params=params)
    assert plain.accuracy_history is None and "forecast_history" not in plain.params
    asked = build(demo, params=params, accuracy_history=True)
    hist = asked.accuracy_history
    assert hist is not None and not asked.failures
    assert len(hist.origins) == 4 and set(hist.summary["lead"]) == {1, 3, 6}
    assert {"company", "segment", "manager"} <= set(hist.summary["level"])
    assert asked.params["forecast_history"]["origins"] == 4
    # too little history: the stage is unavailable with the reason, the run goes on
    short = build(
        demo,
        params={**params, "forecast_history": {"min_history": 200}},
        accuracy_history=True,
    )
    assert short.accuracy_history is None and "history" in short.unavailable
    assert short.forecast is not None and not short.failures


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_forecast_report_shows_the_history(demo: Dataset, lang: str, tmp_path: Path) -> None:
    from amtools.render.notebooks.runner import run

    archive = tmp_path / "archive" / "fc.duckdb"
    archive.parent.mkdir()
    options = {"context_params": {"forecast_models": FAST}, "archive": archive}
    result = run(
        demo,
        reports=["forecast"],
        lang=lang,
        out=tmp_path / "out",
        workers=0,
        progress=False,
        **options,
    )
    assert result.ok, [(r.name, r.error) for r in result.failed]
    html = (result.folder / "forecast.html").read_text(encoding="utf-8")
    heading = {"en": "How right were we", "ru": "Насколько мы были точны"}[lang]
    assert heading in html
    due = {
        "en": "no stored forecasts have come due yet",
        "ru": "ни один сохранённый прогноз ещё не наступил",
    }
    assert due[lang] in html and str(archive) in html
    assert ("backfilled" if lang == "en" else "восстановленная") in html
    assert html.count("<img") >= 2 + 2  # the fan charts and the two history charts
    stored = read_forecasts(archive)
    assert len(stored) > 0 and stored["fingerprint"].nunique() == 1
    # the same data and period again: the archive does not grow
    again = run(
        demo,
        reports=["forecast"],
        lang=lang,
        out=tmp_path / "out2",
        workers=0,
        progress=False,
        **options,
    )
    assert again.ok and len(read_forecasts(archive)) == len(stored)


def test_reviews_only_pack_does_not_compute_the_history(demo: Dataset, tmp_path: Path) -> None:
    from amtools.render.notebooks.context import load_context
    from amtools.render.notebooks.runner import run

    first = str(demo.managers["manager_id"].iloc[0])
    result = run(
        demo,
        reports=["team_review", "manager_review"],
        managers=[first],
        out=tmp_path,
        workers=0,
        progress=False,
        archive=tmp_path / "fc.duckdb",
    )
    assert result.ok
    ctx = load_context(result.context_dir)
    assert ctx.accuracy_history is None and ctx.forecast is None
    assert not (tmp_path / "fc.duckdb").exists()  # no forecast, nothing archived
