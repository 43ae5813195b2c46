"""Tests for the forecast guard (implausible fits fall back with a reason) and for DOTM."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from amtools.core.errors import ParameterError
from amtools.forecast import COMPLEXITY, MODELS, Combination, ModelForecast, forecast
from amtools.forecast.backtest import GUARD_MASE_RATIO, envelope, implausible
from amtools.forecast.dotm import deseasonalise, dotm, seasonal_indices, seasonal_test


def _series(n: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.5 * t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)


def _frame(y: np.ndarray, uid: str = "company") -> pd.DataFrame:
    ds = pd.date_range("2022-01-01", periods=len(y), freq="MS")
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": y})


def _constant_model(value: float):
    """A registered model stub forecasting ``value`` for every month (intervals +-1)."""

    def model(y, h, *, season_length=12, levels=(80, 95), spec=None):
        mean = np.full(h, value)
        return ModelForecast(
            mean, {lv: mean - 1 for lv in levels}, {lv: mean + 1 for lv in levels}, note="stub"
        )

    return model


@pytest.fixture()
def stubs() -> Iterator[None]:
    MODELS["explodes"], COMPLEXITY["explodes"] = _constant_model(1e12), 0
    MODELS["infinite"], COMPLEXITY["infinite"] = _constant_model(np.inf), 0
    # Inside the envelope (just above the history's maximum) but a poor forecast.
    MODELS["far_off"], COMPLEXITY["far_off"] = _constant_model(200.0), 0
    MODELS["stub_combo"] = Combination(("explodes", "seasonal_naive", "naive"))
    COMPLEXITY["stub_combo"] = 40
    yield
    for name in ("explodes", "infinite", "far_off", "stub_combo"):
        MODELS.pop(name)
        COMPLEXITY.pop(name)


def test_envelope_and_implausible_by_hand() -> None:
    y = np.array([10.0, 20.0, 15.0])
    lo, hi = envelope(y, 3, season_length=12)
    # range 10: one range beyond the history plus one more per season ahead
    np.testing.assert_allclose(hi, 20 + 10 * (1 + np.arange(1, 4) / 12))
    np.testing.assert_allclose(lo, 10 - 10 * (1 + np.arange(1, 4) / 12))
    ok = ModelForecast(np.array([21.0, 25.0, 30.0]), {80: np.zeros(3)}, {80: np.full(3, 40.0)})
    assert implausible(ok, y) == ""
    far = ModelForecast(np.array([21.0, 25.0, 40.0]), {80: np.zeros(3)}, {80: np.full(3, 50.0)})
    assert "month 3" in implausible(far, y)
    bad_bound = ModelForecast(np.array([21.0]), {80: np.array([-np.inf])}, {80: np.ones(1)})
    assert implausible(bad_bound, y) == "non-finite interval"
    nan_mean = ModelForecast(np.array([np.nan]), {80: np.zeros(1)}, {80: np.ones(1)})
    assert implausible(nan_mean, y) == "non-finite forecast"
    # A constant history still has a band (10 % of its level).
    lo, hi = envelope(np.full(5, 50.0), 1, season_length=12)
    assert lo[0] < 50 < hi[0]


def test_honest_trend_extrapolation_is_plausible() -> None:
    # A steep, noise-free trend extrapolated 24 months stays inside the envelope.
    y = np.arange(36.0) * 10
    trend = ModelForecast(360 + 10 * np.arange(24.0), {80: np.zeros(24)}, {80: np.zeros(24)})
    assert implausible(trend, y) == ""


@pytest.mark.parametrize(
    ("stub", "why"),
    [("explodes", "plausible range"), ("infinite", "non-finite"), ("far_off", "backtest MASE")],
)
def test_guard_rejects_bad_models_with_a_reason(stubs: None, stub: str, why: str) -> None:
    y = _series()
    res = forecast(_frame(y), h=6, models=[stub, "seasonal_naive"], folds=2, reconcile="none")
    choice = res.choice.iloc[0]
    assert choice["model"] == "seasonal_naive"
    assert stub in choice["guarded"] and why in choice["guarded"]
    assert f"guard rejected {stub}" in choice["reason"]
    assert "guard rejected" in choice["note"]
    fc = res.forecast
    assert np.all(np.isfinite(fc["yhat"])) and fc["yhat"].max() < 3 * y.max()
    if stub == "far_off":
        bt = res.backtest.set_index("model")["mase"]
        assert bt[stub] > GUARD_MASE_RATIO * bt["seasonal_naive"]


def test_combination_drops_a_rejected_member(stubs: None) -> None:
    y = _series()
    res = forecast(_frame(y), h=6, models=["stub_combo"], folds=2, reconcile="none")
    choice = res.choice.iloc[0]
    assert choice["model"] == "stub_combo"
    assert "explodes" in choice["guarded"]
    assert "seasonal_naive/naive" in choice["note"]
    assert res.forecast["yhat"].max() < 2 * y.max()


def test_ets_that_explodes_is_guarded() -> None:
    # A short positive series with a violent late surge: whatever ETS does with it, what
    # comes out of forecast() stays within the envelope and says which model was used.
    y = np.r_[np.full(30, 1.0), 1.0 * 3.0 ** np.arange(1, 7)]
    res = forecast(_frame(y), h=18, models=["ets", "naive"], folds=2, reconcile="none")
    lo, hi = envelope(y, 18)
    fc = res.forecast["yhat"].to_numpy()
    assert np.all((fc >= lo) & (fc <= hi))
    assert res.choice["guarded"].notna().all()


def test_clean_series_have_no_guard_entries() -> None:
    res = forecast(_frame(_series()), h=6, models=["seasonal_naive", "dotm"], reconcile="none")
    assert res.choice["guarded"].tolist() == [""]


# ----------------------------------------------------------------------------- DOTM
def test_seasonal_adjustment_by_hand() -> None:
    y = np.tile([1.0, 2.0, 3.0, 2.0], 6) * 10
    idx = seasonal_indices(y, 4, "multiplicative")
    np.testing.assert_allclose(idx, [0.5, 1.0, 1.5, 1.0])
    adj, season = deseasonalise(y, 4)
    assert season[0] == "multiplicative"
    np.testing.assert_allclose(adj, 20.0)
    adj, season = deseasonalise(y - 25, 4)  # not positive: additive
    assert season[0] == "additive"
    np.testing.assert_allclose(adj, -5.0)
    rng = np.random.default_rng(1)
    assert not seasonal_test(rng.normal(100, 1, 60), 12)
    assert deseasonalise(np.arange(1.0, 40.0), 12)[1] is None


def test_dotm_follows_trend_and_season() -> None:
    y = _series(60)
    out = dotm(y[:48], 12)
    assert "multiplicative season" in out.note
    err = np.mean(np.abs(out.mean - y[48:]))
    naive_err = np.mean(np.abs(y[47] - y[48:]))
    assert err < 0.5 * naive_err
    assert np.all(out.lower[95] < out.lower[80]) and np.all(out.upper[80] < out.upper[95])
    # intervals widen with the horizon (relative to the seasonal index)
    half = (out.upper[80] - out.mean) / out.mean
    assert half[-1] > half[0]


def test_dotm_on_a_line_and_with_its_spec() -> None:
    y = 50 + 3 * np.arange(40.0)
    out = dotm(y, 4)
    np.testing.assert_allclose(out.mean, 50 + 3 * np.arange(40.0, 44.0), rtol=0.02)
    again = dotm(y, 4, spec=out.spec)
    np.testing.assert_allclose(again.mean, out.mean)
    kind, level0, alpha, theta = out.spec
    assert kind == "none" and 0.1 <= alpha <= 0.99 and theta >= 1
    fold = dotm(y[:30], 4, spec=out.spec)
    assert fold.spec[2:] == out.spec[2:]
    short = dotm(np.array([1.0, 2.0, 3.0]), 2)
    assert short.fallback and "naive" in short.note


# ----------------------------------------------------------------------------- settings
def test_selection_margin_comes_from_the_settings_and_is_checked() -> None:
    from amtools.core.errors import ParameterError
    from amtools.core.settings.forecast import ForecastSettings

    shipped = ForecastSettings.load()
    assert 0 <= shipped.selection_margin < 1 and "dotm" in shipped.models
    raw = {**shipped.options(), "selection_margin": 1.5}
    with pytest.raises(ParameterError, match="selection_margin must be a share"):
        ForecastSettings.from_mapping(raw)
    y = _series()
    res = forecast(_frame(y), h=3, models=["seasonal_naive", "naive"], reconcile="none")
    assert res.settings["selection_margin"] == shipped.selection_margin
    with pytest.raises(ParameterError, match="selection_margin"):
        forecast(_frame(y), h=3, models=["naive"], reconcile="none", selection_margin=-0.1)
    # The combination is the mean of its four members (dotm among them), median bounds.
    assert MODELS["combo"].members == ("ets", "arima", "theta", "dotm")
    assert (MODELS["combo"].how, MODELS["combo"].bounds) == ("mean", "median")


def test_mean_combination_takes_the_median_of_bounds_around_the_mean_point() -> None:
    from amtools.forecast.registry import Combination

    parts = [
        ModelForecast(np.array([v]), {80: np.array([lo])}, {80: np.array([hi])})
        for v, lo, hi in ((10.0, 8.0, 12.0), (11.0, 9.0, 13.0), (30.0, 29.0, 60.0))
    ]
    out = Combination(("a", "b", "c"), how="mean", bounds="median").combine(parts)
    assert out.mean.tolist() == [17.0]
    assert out.upper[80].tolist() == [17.0]  # the median upper bound 13 is below the point
    assert out.lower[80].tolist() == [9.0]
    assert "mean (median bounds)" in out.note
    with pytest.raises(ParameterError, match="not one of median, mean"):
        Combination(("a", "b"), how="trimmed")


def test_a_combination_without_a_failed_member_keeps_its_aggregates() -> None:
    from amtools.forecast.backtest import _members_ok

    combo = Combination(("a", "b", "c"), how="mean", bounds="median")
    part = ModelForecast(np.ones(1), {80: np.zeros(1)}, {80: np.full(1, 2.0)})
    reduced = _members_ok(combo, {"a": part, "c": part})
    assert reduced == Combination(("a", "c"), how="mean", bounds="median")
