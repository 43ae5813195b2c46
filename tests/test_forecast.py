"""Tests for amtools.forecast: series, models, metrics, backtest choice, reconciliation, pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.forecast import (
    COMPLEXITY,
    MODELS,
    ModelForecast,
    backtest_plan,
    coverage,
    forecast,
    get_model,
    hierarchy_of,
    mase,
    mase_scale,
    monthly_series,
    pipeline_view,
    reconcile_matrix,
    register_model,
    smape,
    summing_matrix,
)
from amtools.forecast.arima import arima
from amtools.forecast.models import croston, ets, naive, seasonal_naive, theta


# ----------------------------------------------------------------------------- fixtures
def generate_dataset(seed: int = 0, months: int = 36, end: str = "2026-09-30") -> Dataset:
    """A small seeded CRM: 4 managers in 2 teams and 2 segments, one hired late."""
    rng = np.random.default_rng(seed)
    end_ts = pd.Timestamp(end)
    first = end_ts.to_period("M") - months + 1
    managers = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3", "M4"],
            "name": ["A", "B", "C", "D"],
            "segment": ["B2B", "B2B", "B2C", "B2C"],
            "team": ["North", "South", "North", "South"],
            "hire_date": pd.to_datetime([first.start_time] * 3 + [(first + 20).start_time]),
        }
    ).astype({"manager_id": "string", "name": "string", "segment": "string", "team": "string"})
    rows = []
    n = 0
    for mid, rate, size, start in [
        ("M1", 2, 500.0, 0),
        ("M2", 1.5, 800.0, 0),
        ("M3", 6, 50.0, 0),
        ("M4", 5, 60.0, 20),
    ]:
        for t in range(start, months):
            period = first + t
            season = 1 + 0.4 * np.sin(2 * np.pi * period.month / 12)
            for _ in range(rng.poisson(rate * season)):
                n += 1
                day = int(rng.integers(0, 27))
                rows.append(
                    (
                        f"D{n}",
                        "C1",
                        mid,
                        "won",
                        float(rng.gamma(4, size / 4)),
                        period.start_time + pd.Timedelta(days=day),
                    )
                )
    deals = pd.DataFrame(
        rows, columns=["deal_id", "client_id", "manager_id", "stage", "amount", "closed_date"]
    )
    deals["created_date"] = deals["closed_date"] - pd.Timedelta(days=10)
    for col in ("deal_id", "client_id", "manager_id", "stage"):
        deals[col] = deals[col].astype("string")
    clients = pd.DataFrame({"client_id": ["C1"], "manager_id": ["M1"]}).astype("string")
    return Dataset(
        {"managers": managers, "clients": clients, "deals": deals}, meta={"period_end": end_ts}
    )


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate_dataset()


@pytest.fixture(scope="module")
def series(dataset: Dataset) -> pd.DataFrame:
    return monthly_series(dataset, "revenue")


@pytest.fixture(scope="module")
def result(series: pd.DataFrame):
    return forecast(series, h=6, models=["seasonal_naive", "naive", "ets"], folds=2)


def tiny_dataset() -> Dataset:
    managers = pd.DataFrame(
        {
            "manager_id": ["a", "b"],
            "name": ["A", "B"],
            "segment": ["B2B", "B2C"],
            "team": ["T", "T"],
            "hire_date": pd.to_datetime(["2025-01-01", "2025-03-10"]),
        }
    ).astype({"manager_id": "string", "name": "string", "segment": "string", "team": "string"})
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"],
            "client_id": ["c"] * 8,
            "manager_id": ["a", "a", "b", "a", "b", "a", "b", "a"],
            "stage": ["won", "won", "won", "lost", "open", "open", "open", "won"],
            "amount": [100.0, 50.0, 30.0, 999.0, 200.0, 1000.0, 400.0, 70.0],
            "closed_date": pd.to_datetime(
                [
                    "2025-01-15",
                    "2025-01-20",
                    "2025-03-31",
                    "2025-02-01",
                    None,
                    None,
                    None,
                    "2025-05-02",
                ]
            ),
            "probability": [np.nan, np.nan, np.nan, np.nan, 0.5, np.nan, 0.25, np.nan],
            "expected_close_date": pd.to_datetime(
                [None, None, None, None, "2025-03-20", "2025-04-10", "2025-05-05", None]
            ),
        }
    )
    for col in ("deal_id", "client_id", "manager_id", "stage"):
        deals[col] = deals[col].astype("string")
    clients = pd.DataFrame({"client_id": ["c"], "manager_id": ["a"]}).astype("string")
    return Dataset(
        {"managers": managers, "clients": clients, "deals": deals},
        meta={"period_end": pd.Timestamp("2025-03-31")},
    )


# ----------------------------------------------------------------------------- series
def test_monthly_series_tiny_by_hand() -> None:
    s = monthly_series(tiny_dataset(), "revenue")
    # Won deals up to the period end (March): a: Jan 100 + 50; b: Mar 30. The May deal is later.
    company = s[s["unique_id"] == "company"]
    assert company["ds"].dt.strftime("%Y-%m").tolist() == ["2025-01", "2025-02", "2025-03"]
    assert company["y"].tolist() == [150.0, 0.0, 30.0]  # February without sales is 0
    assert s.loc[s["unique_id"] == "segment/B2B", "y"].tolist() == [150.0, 0.0, 0.0]
    assert s.loc[s["unique_id"] == "team/T", "y"].tolist() == [150.0, 0.0, 30.0]
    # b was hired on 2025-03-10: the series starts in March, not January.
    b = s[s["unique_id"] == "manager/b"]
    assert b["ds"].dt.strftime("%Y-%m").tolist() == ["2025-03"]
    assert list(s.columns) == ["unique_id", "level", "ds", "y"]
    assert str(s["ds"].dtype) == "datetime64[ns]"


def test_monthly_series_deals_target_and_end() -> None:
    s = monthly_series(tiny_dataset(), "deals", end="2025-05-31")
    # Counts: Jan 2 (a), Mar 1 (b), May 1 (a); through May.
    assert s.loc[s["unique_id"] == "company", "y"].tolist() == [2.0, 0.0, 1.0, 0.0, 1.0]
    with pytest.raises(ParameterError):
        monthly_series(tiny_dataset(), "margin")  # type: ignore[arg-type]


def test_monthly_series_levels_add_up(series: pd.DataFrame) -> None:
    wide = series.pivot(index="ds", columns="unique_id", values="y").fillna(0.0)
    managers = [c for c in wide.columns if c.startswith("manager/")]
    np.testing.assert_allclose(wide[managers].sum(axis=1), wide["company"])
    np.testing.assert_allclose(wide["segment/B2B"] + wide["segment/B2C"], wide["company"])
    np.testing.assert_allclose(wide["team/North"], wide["manager/M1"] + wide["manager/M3"])
    hier = hierarchy_of(series)
    assert set(hier["unique_id"]) == {"manager/M1", "manager/M2", "manager/M3", "manager/M4"}
    # M4 joined 20 months in: 16 months of history.
    assert (series["unique_id"] == "manager/M4").sum() == 16


# ----------------------------------------------------------------------------- metrics
def test_metrics_by_hand() -> None:
    # seasonal lag 2 on [1, 2, 3, 5]: |3-1|, |5-2| -> mean 2.5
    assert mase_scale(np.array([1.0, 2.0, 3.0, 5.0]), season_length=2) == 2.5
    assert mase(np.array([3.0, 5.0]), np.array([2.0, 2.0]), 2.0) == 1.0  # MAE 2 / 2
    assert mase(np.array([1.0]), np.array([1.0]), float("nan")) == 0.0
    assert smape(np.array([100.0]), np.array([100.0])) == 0.0
    assert smape(np.array([0.0]), np.array([10.0])) == 200.0
    assert coverage(np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4), np.full(4, 2.5)) == 0.5


def test_backtest_plan() -> None:
    # 48 months, 2 seasons kept for training: 24 months to spare, horizon 12, folds step 1.
    assert backtest_plan(48, 12, 3) == ([14, 13, 12], 12)
    assert backtest_plan(5, 12, 3) == ([], 0)
    backs, horizon = backtest_plan(20, 12, 3)
    assert horizon >= 1 and all(20 - b >= 4 for b in backs)


# ----------------------------------------------------------------------------- models
def _seasonal(n: int = 36, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.5 * t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)


@pytest.mark.parametrize(
    "name", ["seasonal_naive", "naive", "ets", "arima", "theta", "dotm", "combo", "croston"]
)
def test_models_return_ordered_finite_intervals(name: str) -> None:
    out = get_model(name)(_seasonal(), 12, season_length=12, levels=(80, 95))
    assert isinstance(out, ModelForecast) and out.mean.shape == (12,)
    assert np.all(np.isfinite(out.mean))
    assert np.all(out.lower[95] <= out.lower[80] + 1e-9) and np.all(
        out.lower[80] <= out.mean + 1e-9
    )
    assert np.all(out.mean <= out.upper[80] + 1e-9) and np.all(
        out.upper[80] <= out.upper[95] + 1e-9
    )


def test_baselines_by_hand() -> None:
    assert seasonal_naive(np.arange(1.0, 9.0), 5, season_length=4).mean.tolist() == [5, 6, 7, 8, 5]
    assert naive(np.array([3.0, 7.0]), 2).mean.tolist() == [7.0, 7.0]
    short = seasonal_naive(np.array([1.0, 2.0]), 2, season_length=12)
    assert short.fallback and "naive" in short.note
    # Croston-SBA with alpha 0.1 on sizes 10,10,10 every 3 months: z=10, p=3 -> 0.95 * 10/3
    assert croston(np.array([0, 0, 10, 0, 0, 10, 0, 0, 10.0]), 1).mean[0] == pytest.approx(
        0.95 * 10 / 3
    )


def test_ets_and_arima_pick_up_season() -> None:
    y = _seasonal(48)
    for fn in (ets, arima, theta):
        out = fn(y[:36], 12)
        err = np.mean(np.abs(out.mean - y[36:]))
        naive_err = np.mean(np.abs(y[35] - y[36:]))
        assert err < naive_err, (fn.__name__, out.note)
    assert ets(y, 3).note.startswith("ETS(A,")


def test_models_fall_back_on_short_and_odd_input() -> None:
    for fn in (ets, arima, theta):
        out = fn(np.array([5.0, 6.0, 7.0]), 3)
        assert out.fallback and "naive" in out.note
    flat = ets(np.full(30, 4.0), 3)
    assert np.allclose(flat.mean, 4.0)


def test_registry() -> None:
    assert {"seasonal_naive", "naive", "ets", "arima", "theta", "combo"} <= set(MODELS)
    with pytest.raises(ParameterError, match="unknown forecast model"):
        get_model("prophet")

    def mean_model(y, h, *, season_length=12, levels=(80, 95), spec=None):
        mean = np.full(h, float(np.mean(y)))
        sd = np.full(h, float(np.std(y)))
        return ModelForecast(
            mean, {lv: mean - sd for lv in levels}, {lv: mean + sd for lv in levels}
        )

    register_model("mean_test", mean_model, complexity=1)
    try:
        assert get_model("mean_test") is mean_model
    finally:
        MODELS.pop("mean_test")
        COMPLEXITY.pop("mean_test")


# ----------------------------------------------------------------------------- forecast()
def test_forecast_frames(result, series: pd.DataFrame) -> None:
    fc = result.forecast
    assert list(fc.columns) == [
        "unique_id",
        "level",
        "ds",
        "model",
        "yhat",
        "lo_80",
        "hi_80",
        "lo_95",
        "hi_95",
    ]
    assert set(fc["unique_id"]) == set(series["unique_id"])
    assert fc.groupby("unique_id").size().eq(6).all()
    assert fc["ds"].min() == pd.Timestamp("2026-10-01")
    assert (fc["lo_95"] <= fc["lo_80"] + 1e-6).all() and (fc["hi_80"] <= fc["hi_95"] + 1e-6).all()
    assert (fc[["yhat", "lo_80", "lo_95"]] >= 0).all().all()
    bt = result.backtest
    assert {"unique_id", "model", "mase", "smape", "coverage_80", "coverage_95"} <= set(bt.columns)
    assert set(result.choice.columns) >= {"unique_id", "model", "reason"}
    assert result.choice["reason"].str.len().gt(0).all()
    # reconcile="auto" is the default: the method with the lowest backtest MASE is used.
    scores = result.reconciliation_scores.set_index("method")["mase"]
    assert result.reconciliation == scores.idxmin()
    assert result.settings["reconcile"] == "auto"
    combined = result.combined()
    assert set(combined["kind"]) == {"history", "forecast"}


def test_choice_is_best_backtest_mase(result, series: pd.DataFrame) -> None:
    overall = result.settings["run_best"][0]
    acc = result.backtest.dropna(subset=["mase"])
    for uid, group in acc.groupby("unique_id"):
        chosen = result.choice.set_index("unique_id").loc[uid, "model"]
        scores = group.set_index("model")["mase"]
        best = scores.min()
        if chosen == overall:
            # The run's best model stays unless another beats it by more than 20 %.
            assert best >= 0.8 * scores[overall] - 1e-12, uid
        else:
            assert scores[chosen] <= best * 1.02 + 1e-12, uid
            assert scores[chosen] < 0.8 * scores[overall], uid
    # selection_margin=0: the pure per-series choice (ties within 2 % -> simpler model).
    pure = forecast(
        series, h=6, models=["seasonal_naive", "naive", "ets"], folds=2, selection_margin=0
    )
    for uid, group in pure.backtest.dropna(subset=["mase"]).groupby("unique_id"):
        chosen = pure.choice.set_index("unique_id").loc[uid, "model"]
        assert group.set_index("model").loc[chosen, "mase"] <= group["mase"].min() * 1.02 + 1e-12


@pytest.mark.parametrize("method", ["bottom_up", "ols", "mint_shrink"])
def test_forecasts_add_up_exactly(series: pd.DataFrame, result, method: str) -> None:
    res = (
        result
        if method == "bottom_up"
        else forecast(series, h=6, models=["seasonal_naive", "naive"], folds=2, reconcile=method)
    )
    wide = res.forecast.pivot(index="ds", columns="unique_id", values="yhat")
    managers = [c for c in wide.columns if c.startswith("manager/")]
    np.testing.assert_allclose(wide[managers].sum(axis=1), wide["company"], rtol=1e-10)
    np.testing.assert_allclose(
        wide["segment/B2B"] + wide["segment/B2C"], wide["company"], rtol=1e-10
    )
    np.testing.assert_allclose(wide["team/North"] + wide["team/South"], wide["company"], rtol=1e-10)
    np.testing.assert_allclose(
        wide["team/South"], wide["manager/M2"] + wide["manager/M4"], rtol=1e-10
    )


def test_reconcile_auto_records_scores(series: pd.DataFrame) -> None:
    res = forecast(series, h=3, models=["seasonal_naive", "naive"], folds=2, reconcile="auto")
    assert set(res.reconciliation_scores["method"]) >= {"bottom_up", "ols"}
    best = res.reconciliation_scores.sort_values("mase").iloc[0]["method"]
    assert res.reconciliation == best


def test_reconcile_matrix_by_hand() -> None:
    h = pd.DataFrame(
        {"unique_id": ["manager/a", "manager/b"], "segment": ["B2B", "B2C"], "team": ["T", "T"]}
    )
    S, bottom = summing_matrix(["company", "manager/a", "manager/b"], h)
    base = np.array([[12.0], [4.0], [5.0]])
    assert reconcile_matrix(base, S, bottom, "bottom_up").ravel().tolist() == [9.0, 4.0, 5.0]
    # OLS: bottom = (S'S)^-1 S' y: [[2,1],[1,2]]^-1 [16, 17] = [5, 6]
    np.testing.assert_allclose(reconcile_matrix(base, S, bottom, "ols").ravel(), [11.0, 5.0, 6.0])


def test_short_zero_and_intermittent_series_fall_back() -> None:
    ds = pd.date_range("2024-01-01", periods=30, freq="MS")
    rng = np.random.default_rng(3)
    sparse = np.where(rng.random(30) < 0.7, 0.0, rng.gamma(2, 50, 30))
    frame = pd.concat(
        [
            pd.DataFrame({"unique_id": "zero", "ds": ds, "y": 0.0}),
            pd.DataFrame({"unique_id": "sparse", "ds": ds, "y": sparse}),
            pd.DataFrame({"unique_id": "short", "ds": ds[-3:], "y": [5.0, 6.0, 7.0]}),
            pd.DataFrame({"unique_id": "young", "ds": ds[-14:], "y": _seasonal(14)}),
        ]
    )
    res = forecast(frame, h=4, models=["seasonal_naive", "ets", "theta"], reconcile="none")
    choice = res.choice.set_index("unique_id")
    assert choice.loc["zero", "model"] == "zero" and "all-zero" in choice.loc["zero", "reason"]
    assert choice.loc["sparse", "model"] in {"croston", "naive"}
    assert "intermittent" in choice.loc["sparse", "reason"]
    assert choice.loc["short", "model"] == "naive" and "3 months" in choice.loc["short", "reason"]
    assert "short series" in choice.loc["young", "reason"]
    assert np.isfinite(res.forecast["yhat"]).all()
    assert (
        (res.forecast.loc[res.forecast["unique_id"] == "zero", ["yhat", "hi_95"]] == 0).all().all()
    )


def test_under_covering_intervals_are_widened() -> None:
    def overconfident(y, h, *, season_length=12, levels=(80, 95), spec=None):
        out = naive(y, h, levels=levels)
        return ModelForecast(
            out.mean, {lv: out.mean - 1e-3 for lv in levels}, {lv: out.mean + 1e-3 for lv in levels}
        )

    register_model("overconfident", overconfident, complexity=1)
    try:
        ds = pd.date_range("2022-01-01", periods=40, freq="MS")
        rng = np.random.default_rng(5)
        frame = pd.concat(
            [
                pd.DataFrame(
                    {"unique_id": f"s{i}", "ds": ds, "y": 100 + rng.normal(0, 10, 40).cumsum()}
                )
                for i in range(3)
            ]
        )
        res = forecast(frame, h=3, models=["overconfident"], reconcile="none")
        cal = res.calibration.set_index("interval")
        assert (cal["coverage_raw"] < 0.5).all() and (cal["factor"] > 1).all()
        assert (cal["coverage_calibrated"] >= cal["coverage_raw"]).all()
        raw = res.candidates
        assert (res.forecast["hi_80"] - res.forecast["yhat"]).mean() > (
            raw["hi_80"] - raw["yhat"]
        ).mean()
        uncalibrated = forecast(
            frame, h=3, models=["overconfident"], reconcile="none", calibrate=False
        )
        assert (uncalibrated.calibration["factor"] == 1).all()
    finally:
        MODELS.pop("overconfident")
        COMPLEXITY.pop("overconfident")


def test_forecast_rejects_bad_input(series: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="skip months"):
        forecast(series[series["ds"] != pd.Timestamp("2025-01-01")], h=3, models=["naive"])
    with pytest.raises(ParameterError, match="lacks column"):
        forecast(series.drop(columns="y"), h=3)
    with pytest.raises(ParameterError, match="unknown forecast model"):
        forecast(series, models=["nope"])
    with pytest.raises(ParameterError, match="reconcile"):
        forecast(series, models=["naive"], reconcile="top_down")
    plain = series.copy()
    plain.attrs = {}
    with pytest.raises(ParameterError, match="hierarchy"):
        forecast(plain, h=2, models=["naive"], folds=1)
    assert len(forecast(plain, h=2, models=["naive"], folds=1, reconcile="none").forecast) > 0


def test_forecast_does_not_mutate_input(series: pd.DataFrame) -> None:
    before = series.copy()
    forecast(series, h=2, models=["naive"], folds=1)
    pd.testing.assert_frame_equal(series, before)


# ----------------------------------------------------------------------------- pipeline
def test_pipeline_view_by_hand() -> None:
    view = pipeline_view(tiny_dataset(), months=3)
    assert view["ds"].dt.strftime("%Y-%m").unique().tolist() == ["2025-04", "2025-05", "2025-06"]
    row = view.set_index(["ds", "segment"])
    april_b2b = row.loc[(pd.Timestamp("2025-04-01"), "B2B")]
    # d6 (a, B2B) has no probability: B2B win rate = 3 won / 4 closed = 0.75 -> 1000 x 0.75
    assert april_b2b["weighted_pipeline"] == pytest.approx(750.0)
    april_b2c = row.loc[(pd.Timestamp("2025-04-01"), "B2C")]
    # d5 (b, B2C) expected in March, already past: counted in April as overdue, 200 x 0.5
    assert april_b2c["weighted_pipeline"] == pytest.approx(100.0)
    assert april_b2c["n_overdue"] == 1
    may_b2c = row.loc[(pd.Timestamp("2025-05-01"), "B2C")]
    assert may_b2c["weighted_pipeline"] == pytest.approx(100.0) and may_b2c["open_amount"] == 400.0
    assert int(view["n_deals"].sum()) == 3
    assert {"ds", "segment", "weighted_pipeline", "open_amount", "n_deals"} <= set(view.columns)


def test_run_best_prefers_the_prior_unless_clearly_beaten() -> None:
    from amtools.forecast.selection import run_best as _run_best

    def res(ets_mase: float, combo_mase: float) -> dict:
        return {
            "requested": ["ets", "combo"],
            "metrics": {"ets": {"mase": ets_mase}, "combo": {"mase": combo_mase}},
        }

    # ets 3 % better on average: within the 5 % prior margin -> combo stays.
    close = {"a": res(0.97, 1.0), "b": res(0.97, 1.0)}
    assert _run_best(close, ["ets", "combo"], prior="combo") == ("combo", 1.0, 2)
    # ets 20 % better: it wins; without a prior the lowest mean wins.
    clear = {"a": res(0.8, 1.0)}
    assert _run_best(clear, ["ets", "combo"], prior="combo")[0] == "ets"
    assert _run_best(close, ["ets", "combo"], prior=None)[0] == "ets"


def test_parallel_run_matches_serial(series: pd.DataFrame) -> None:
    subset = series[series["level"] != "manager"]
    serial = forecast(subset, h=3, models=["seasonal_naive", "ets"], folds=2, reconcile="none")
    parallel = forecast(
        subset, h=3, models=["seasonal_naive", "ets"], folds=2, reconcile="none", n_jobs=2
    )
    pd.testing.assert_frame_equal(serial.forecast, parallel.forecast)
    pd.testing.assert_frame_equal(serial.choice, parallel.choice)


@pytest.mark.parametrize("model", [ets, arima, theta])
def test_backtest_folds_reuse_full_history_parameters(model) -> None:
    # A fold (spec= from the full-history fit) filters with the full-history parameters:
    # on the same data it reproduces the full fit exactly; on a shorter window it still
    # forecasts with the same configuration (no new order/configuration search).
    rng = np.random.default_rng(3)
    t = np.arange(48.0)
    y = 200 + 2 * t + 25 * np.sin(t * np.pi / 6) + rng.normal(0, 5, 48)
    full = model(y, 6)
    assert not full.fallback
    again = model(y, 6, spec=full.spec)
    np.testing.assert_allclose(again.mean, full.mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(again.upper[80], full.upper[80], rtol=1e-9, atol=1e-9)
    fold = model(y[:40], 6, spec=full.spec)
    assert not fold.fallback and fold.note.split(" ")[0] == full.note.split(" ")[0]
    assert np.all(np.isfinite(fold.mean)) and len(fold.mean) == 6
    # The parameters in spec are used as given (not re-estimated): other values, other forecast.
    params = np.asarray(full.spec[-1], dtype="float64")
    other = 0.5 if params.ndim == 0 else params * 0.5
    changed = model(y, 6, spec=(*full.spec[:-1], other))
    assert not np.allclose(changed.mean, full.mean)


def _scaled_season(n: int = 60, seed: int = 5) -> np.ndarray:
    """A positive series whose seasonal swing grows with its level (multiplicative)."""
    rng = np.random.default_rng(seed)
    t = np.arange(float(n))
    return (100 + 4 * t) * (1 + 0.4 * np.sin(2 * np.pi * t / 12)) * rng.lognormal(0, 0.03, n)


@pytest.mark.parametrize(
    "cfg", [("mul", None, False, "mul"), ("mul", "add", True, "mul"), ("mul", None, False, None)]
)
def test_multiplicative_ets_filter_matches_statsmodels(cfg) -> None:
    # The NumPy filter replaces statsmodels' results object (whose intervals simulate through
    # pandas at ~10 ms a call): same fitted values, same forecast means.
    import warnings

    from amtools.forecast.models import _ets_model, _ets_multiplicative

    y = _scaled_season()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _ets_model(y, cfg, 12)
        params = model.fit(disp=False, maxiter=200, return_params=True)
        res = model.smooth(params)
        expected = res.get_prediction(start=len(y), end=len(y) + 17).summary_frame(alpha=0.2)
    out = _ets_multiplicative(y, cfg, 12, model, params, 18, (80, 95))
    assert out is not None
    _aicc, mean, lower, upper = out
    np.testing.assert_allclose(mean, expected["mean"].to_numpy(), rtol=1e-9)
    # Simulated intervals: ordered, around the mean, and near statsmodels' own simulation.
    assert np.all(lower[95] <= lower[80]) and np.all(lower[80] <= mean)
    assert np.all(mean <= upper[80]) and np.all(upper[80] <= upper[95])
    width = upper[80] - lower[80]
    theirs = (expected["pi_upper"] - expected["pi_lower"]).to_numpy()
    assert np.all(np.abs(width / theirs - 1) < 0.35)
    # A fixed seed: the same call gives the same intervals.
    again = _ets_multiplicative(y, cfg, 12, model, params, 18, (80, 95))
    assert again is not None
    np.testing.assert_array_equal(again[2][80], lower[80])


def test_ets_chooses_a_multiplicative_season_where_the_series_is_positive() -> None:
    y = _scaled_season()
    out = ets(y, 12)
    assert out.note.startswith("ETS(M,") and out.note.endswith("M) by AICc of 6"), out.note
    # the backtest folds refit with that configuration and its parameters
    fold = ets(y[:48], 12, spec=out.spec)
    assert fold.note.split(" ")[0] == out.note.split(" ")[0] and not fold.fallback
    # a series that touches zero gets the additive grid only
    assert ets(y - y.min(), 12).note.endswith("by AICc of 4")
    assert ets(y, 12, multiplicative=False).note.startswith("ETS(A,")


def test_arima_models_a_positive_series_on_its_box_cox_scale() -> None:
    from amtools.forecast.arima import guerrero_lambda

    y = _scaled_season(72)
    lam = guerrero_lambda(y)
    assert 0 <= lam < 0.99
    out = arima(y, 18)
    assert f"of Box-Cox({lam:.2f})" in out.note and out.spec[3] == pytest.approx(lam)
    # the back-transformed bounds keep a positive series' forecast positive, and ordered
    assert np.all(out.lower[95] >= 0) and np.all(out.lower[95] <= out.lower[80])
    assert np.all(out.lower[80] <= out.mean) and np.all(out.mean <= out.upper[80])
    # a fold filters on the same scale with the same parameters: the full fit again
    again = arima(y, 18, spec=out.spec)
    np.testing.assert_allclose(again.mean, out.mean, rtol=1e-9)
    # not positive, or switched off: the series as it is
    assert "Box-Cox" not in arima(y - y.min(), 18).note
    plain = arima(y, 18, box_cox=False)
    assert "Box-Cox" not in plain.note and plain.spec[3] is None
    # the transform is what the multiplicative season needs: closer on the held-out year
    rng = np.random.default_rng(9)
    t = np.arange(96.0)
    z = (50 + 3 * t) * (1 + 0.35 * np.sin(2 * np.pi * t / 12)) * rng.lognormal(0, 0.02, 96)
    err = np.mean(np.abs(arima(z[:84], 12).mean - z[84:]))
    err_plain = np.mean(np.abs(arima(z[:84], 12, box_cox=False).mean - z[84:]))
    assert err < err_plain
