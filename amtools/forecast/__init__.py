"""Sales forecasting: monthly series, model registry, backtests, reconciliation, pipeline view.

Example
-------
>>> from amtools.demo import make_demo  # doctest: +SKIP
>>> from amtools.forecast import monthly_series, forecast
>>> ds = make_demo(seed=0)  # doctest: +SKIP
>>> result = forecast(monthly_series(ds, "revenue"), h=12)  # doctest: +SKIP
>>> result.forecast.query("unique_id == 'company'")  # doctest: +SKIP
"""

from __future__ import annotations

from amtools.forecast.engine import DEFAULT_MODELS, ForecastResult, backtest_plan, forecast
from amtools.forecast.metrics import coverage, mase, mase_scale, smape
from amtools.forecast.models import (
    COMPLEXITY,
    MODELS,
    Combination,
    ModelForecast,
    get_model,
    register_model,
)
from amtools.forecast.pipeline import pipeline_view
from amtools.forecast.reconcile import RECONCILERS, reconcile_matrix, summing_matrix
from amtools.forecast.series import LEVELS, hierarchy_of, monthly_series

__all__ = [
    "monthly_series",
    "hierarchy_of",
    "LEVELS",
    "forecast",
    "ForecastResult",
    "backtest_plan",
    "DEFAULT_MODELS",
    "MODELS",
    "COMPLEXITY",
    "Combination",
    "ModelForecast",
    "register_model",
    "get_model",
    "mase",
    "mase_scale",
    "smape",
    "coverage",
    "RECONCILERS",
    "reconcile_matrix",
    "summing_matrix",
    "pipeline_view",
]
