"""The accuracy history (amtools.forecast.history): origins, backfill, scoring, summary, settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amtools.core.errors import AmtoolsError, ParameterError
from amtools.core.settings.history import HistorySettings
from amtools.forecast.history import (
    AccuracyHistory,
    accuracy_history,
    backfill_forecasts,
    lead_of,
    quarter_origins,
    score_forecasts,
    summarise_accuracy,
)

FAST = {"models": ["seasonal_naive", "naive"], "folds": 1, "reconcile": "none"}


def _seasonal(months: int = 48, start: str = "2022-10-01", uid: str = "company") -> pd.DataFrame:
    ds = pd.date_range(start, periods=months, freq="MS")
    y = 100 + 30 * np.sin(2 * np.pi * (ds.month.to_numpy() - 1) / 12)
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": y})


def _hierarchy(months: int = 40) -> pd.DataFrame:
    """company = segment/B2B = m1 + m2; m2 starts 20 months in (joined later)."""
    ds = pd.date_range("2023-06-01", periods=months, freq="MS")
    rng = np.random.default_rng(3)
    m1 = 50 + 10 * np.sin(np.arange(months) * np.pi / 6) + rng.normal(0, 2, months)
    m2 = np.where(np.arange(months) >= 20, 30 + rng.normal(0, 2, months), 0.0)
    rows = [
        ("company", "company", m1 + m2, 0),
        ("segment/B2B", "segment", m1 + m2, 0),
        ("manager/m1", "manager", m1, 0),
        ("manager/m2", "manager", m2, 20),
    ]
    frames = [
        pd.DataFrame({"unique_id": uid, "level": lv, "ds": ds[since:], "y": y[since:]})
        for uid, lv, y, since in rows
    ]
    out = pd.concat(frames, ignore_index=True)
    out.attrs["hierarchy"] = [("manager/m1", "B2B", None), ("manager/m2", "B2B", None)]
    return out


def test_quarter_origins_are_past_quarter_ends_with_enough_history() -> None:
    series = _seasonal(months=48, start="2022-10-01")  # ends 2026-09
    origins = quarter_origins(series, 4, 24)
    assert [f"{o:%Y-%m}" for o in origins] == ["2025-09", "2025-12", "2026-03", "2026-06"]
    # the series' own last month is never an origin (nothing after it has happened)
    assert pd.Timestamp("2026-09-01") not in origins
    # min_history cuts the oldest: 2025-09 has 36 months before it (Oct 2022 .. Sep 2025)
    assert [f"{o:%Y-%m}" for o in quarter_origins(series, 8, 37)] == [
        "2025-12",
        "2026-03",
        "2026-06",
    ]
    assert quarter_origins(series, 4, 100) == []


def test_lead_counts_months_after_the_origin() -> None:
    assert lead_of(pd.Timestamp("2025-12-01"), pd.Timestamp("2026-06-01")) == 6
    leads = lead_of(
        pd.Series(pd.to_datetime(["2026-06-01"] * 2)), pd.to_datetime(["2026-07-01", "2027-01-01"])
    )
    assert leads.tolist() == [1, 7]


def test_perfectly_seasonal_series_scores_mase_zero() -> None:
    hist = accuracy_history(_seasonal(), origins=4, leads=(1, 3, 6), min_history=24, options=FAST)
    assert len(hist.origins) == 4
    assert set(hist.summary["lead"]) == {1, 3, 6}
    assert np.allclose(hist.detail["mase"], 0.0, atol=1e-9)
    assert np.allclose(hist.detail["smape"], 0.0, atol=1e-9)
    assert (hist.detail["coverage_80"] == 1.0).all() and (hist.detail["coverage_95"] == 1.0).all()
    # lead 6 from the last origin (2026-06) lands after the data: not scored
    last = hist.detail[hist.detail["origin"] == hist.origins[-1]]
    assert sorted(last["lead"]) == [1, 3]


def test_default_method_on_a_seasonal_series_is_near_perfect() -> None:
    """The public forecast() with the shipped settings (no hierarchy: reconcile none)."""
    hist = accuracy_history(
        _seasonal(), origins=4, leads=(1, 3), min_history=24, options={"reconcile": "none"}
    )
    assert hist.summary["mase"].max() < 0.05, hist.summary


def test_backfill_sees_only_the_data_up_to_the_origin() -> None:
    series = _seasonal(months=36, start="2023-10-01")
    origin = pd.Timestamp("2026-03-01")
    naive = {"models": ["naive"], "folds": 1, "reconcile": "none", "levels": [80, 95]}
    before = backfill_forecasts(series, [origin], (1, 3), options=naive)
    later = series.copy()
    later.loc[later["ds"] > origin, "y"] = 1e6  # what happened after must not change it
    after = backfill_forecasts(later, [origin], (1, 3), options=naive)
    pd.testing.assert_frame_equal(before, after)
    last_value = series.loc[series["ds"] == origin, "y"].iloc[0]
    assert np.allclose(before["yhat"], last_value)  # naive: the last value at the origin
    assert before["lead"].tolist() == [1, 3]
    assert before["ds"].dt.strftime("%Y-%m").tolist() == ["2026-04", "2026-06"]


def test_backfill_leaves_out_managers_who_had_not_started() -> None:
    series = _hierarchy()  # m2 starts 2025-02; ends 2026-09
    hist = accuracy_history(
        series,
        origins=4,
        leads=(1, 3),
        min_history=12,
        options={"models": ["seasonal_naive", "naive"], "folds": 1, "reconcile": "bottom_up"},
    )
    early = pd.Timestamp("2024-12-01")
    fc = hist.forecasts
    assert set(fc.loc[fc["origin"] == hist.origins[-1], "unique_id"]) == {
        "company",
        "segment/B2B",
        "manager/m1",
        "manager/m2",
    }
    assert early not in hist.origins or "manager/m2" not in set(
        fc.loc[fc["origin"] == early, "unique_id"]
    )
    # bottom-up reconciliation: the company forecast is the managers' sum at every origin
    last = fc[fc["origin"] == hist.origins[-1]].pivot_table(
        index="ds", columns="unique_id", values="yhat"
    )
    assert np.allclose(last["company"], last["manager/m1"] + last["manager/m2"])
    assert set(hist.summary["level"]) == {"company", "segment", "manager"}


def test_score_forecasts_known_values() -> None:
    ds = pd.date_range("2024-01-01", periods=26, freq="MS")
    # history with a seasonal-naive MAE of exactly 2: y[t] - y[t-12] = 2 every month
    y = np.r_[np.arange(12.0) + 10, np.arange(12.0) + 12, [30.0, 40.0]]
    act = pd.DataFrame({"unique_id": "team/A", "ds": ds, "y": y})
    origin = ds[23]
    fc = pd.DataFrame(
        {
            "origin": origin,
            "unique_id": "team/A",
            "level": "team",
            "ds": [ds[24], ds[25], ds[25] + pd.offsets.MonthBegin(1)],  # the last has no actual
            "lead": [1, 2, 3],
            "yhat": [34.0, 40.0, 50.0],
            "lo_80": [31.0, 39.0, 0.0],
            "hi_80": [33.0, 41.0, 0.0],
            "lo_95": [25.0, 35.0, 0.0],
            "hi_95": [35.0, 45.0, 0.0],
        }
    )
    out = score_forecasts(fc, act)
    assert out["lead"].tolist() == [1, 2]  # lead 3 has not happened
    assert out["mase"].tolist() == pytest.approx([4 / 2, 0.0])
    assert out["smape"].tolist() == pytest.approx([200 * 4 / 64, 0.0])
    assert out["coverage_80"].tolist() == [0.0, 1.0]
    assert out["coverage_95"].tolist() == [1.0, 1.0]
    assert out[["level", "key", "n"]].iloc[0].tolist() == ["team", "A", 1]


def test_score_constant_history_is_zero_when_exact_and_missing_when_not() -> None:
    ds = pd.date_range("2024-01-01", periods=15, freq="MS")
    act = pd.DataFrame({"unique_id": "manager/z", "ds": ds, "y": 0.0})
    fc = pd.DataFrame(
        {
            "origin": ds[12],
            "unique_id": "manager/z",
            "ds": ds[13:15],
            "lead": [1, 2],
            "yhat": [0.0, 5.0],
        }
    )
    out = score_forecasts(fc, act, levels=())
    assert out["mase"].iloc[0] == 0.0 and np.isnan(out["mase"].iloc[1])
    assert out["smape"].tolist() == [0.0, 200.0]
    assert score_forecasts(fc.iloc[0:0], act).empty


def test_summary_weights_by_months_and_skips_missing_mase() -> None:
    detail = pd.DataFrame(
        {
            "origin": pd.to_datetime(["2026-03-01", "2026-06-01", "2026-06-01"]),
            "level": "manager",
            "key": ["a", "a", "b"],
            "unique_id": ["manager/a", "manager/a", "manager/b"],
            "lead": 1,
            "mase": [1.0, 3.0, np.nan],
            "smape": [10.0, 20.0, 30.0],
            "coverage_80": [1.0, 0.0, 1.0],
            "coverage_95": [1.0, 1.0, 1.0],
            "n": [1, 3, 1],
        }
    )
    row = summarise_accuracy(detail).iloc[0]
    assert row["mase"] == pytest.approx((1 * 1 + 3 * 3) / 4)
    assert row["smape"] == pytest.approx((10 + 60 + 30) / 5)
    assert row["coverage_80"] == pytest.approx(2 / 5)
    assert (row["n"], row["series"], row["origins"]) == (5, 2, 2)
    assert summarise_accuracy(detail.iloc[0:0]).empty


def test_too_short_history_is_an_expected_error() -> None:
    with pytest.raises(AmtoolsError, match="min_history"):
        accuracy_history(_seasonal(months=20), origins=4, min_history=24, options=FAST)


def test_empty_history_object() -> None:
    empty = AccuracyHistory.empty((1, 3, 6))
    assert empty.leads == (1, 3, 6) and empty.detail.empty and empty.as_made.empty


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("origins", 3),
        ("origins", 9),
        ("leads", []),
        ("leads", [0]),
        ("min_history", 1),
        ("n_jobs", -1),
        ("archive", ""),
    ],
)
def test_settings_are_checked(key: str, value: object) -> None:
    raw = {"origins": 4, "leads": [1, 3, 6], "min_history": 24, "n_jobs": 0, "archive": "auto"}
    with pytest.raises(ParameterError, match=key):
        HistorySettings.from_mapping({**raw, key: value})


def test_shipped_settings() -> None:
    s = HistorySettings.load()
    assert 4 <= s.origins <= 8 and s.leads == (1, 3, 6) and s.archive == "auto"
    with pytest.raises(ParameterError, match="unknown key"):
        HistorySettings.from_mapping({**vars(s), "extra": 1})


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_report_section_parts(lang: str) -> None:
    import dataclasses

    from amtools.core.messages import Message
    from amtools.render.charts import missing_message
    from amtools.render.sections import forecast_history as past

    hist = accuracy_history(_seasonal(), origins=4, leads=(1, 3, 6), min_history=24, options=FAST)
    table = past.history_table(hist, lang).data
    assert ("backfilled" if lang == "en" else "восстановленная") in table
    assert ("as made" if lang == "en" else "фактическая") not in table  # nothing stored yet
    stored = dataclasses.replace(
        hist,
        as_made=hist.detail.iloc[:3],
        as_made_summary=summarise_accuracy(hist.detail.iloc[:3]),
        archive="/x/a.duckdb",
    )
    assert ("as made" if lang == "en" else "фактическая") in past.history_table(stored, lang).data
    waiting = past.history_intro(dataclasses.replace(hist, archive="/x/a.duckdb"), lang).data
    due = {
        "en": "no stored forecasts have come due yet; each run adds its forecasts to /x/a.duckdb",
        "ru": "ни один сохранённый прогноз ещё не наступил; каждый запуск добавляет свои прогнозы в /x/a.duckdb",
    }
    assert due[lang] in waiting
    for fig in (past.history_chart(stored, lang), past.history_vs_actual(hist, lang, lead=3)):
        assert missing_message(fig) is None
    # unavailable: the reason is said, the charts say what is missing
    reason = Message("run.note.history", {"reason": "the sales history has 20 months"})
    intro = past.history_intro(None, lang, unavailable={"history": reason}).data
    assert "20" in intro
    assert missing_message(past.history_chart(None, lang)) is not None
    note = Message(
        "fc.history.archive_not_written", {"path": "/ro/a.duckdb", "reason": "read-only"}
    )
    assert (
        "/ro/a.duckdb"
        in past.history_intro(dataclasses.replace(hist, archive_note=note), lang).data
    )
