"""Sales forecasting: monthly series, model registry, backtests, reconciliation, pipeline view.

:func:`monthly_series` builds the company/segment/team/manager series of a dataset;
:func:`forecast` backtests every model per series, chooses, calibrates and reconciles them
(a :class:`ForecastResult`); :func:`pipeline_view` is the open-deal pipeline beside it.
Models are named in a registry (:data:`MODELS`, :func:`register_model`); the default options
are params/policy/forecast.yaml (:class:`amtools.core.settings.forecast.ForecastSettings`).

Example
-------
>>> from amtools.demo import make_demo  # doctest: +SKIP
>>> from amtools.forecast import monthly_series, forecast
>>> ds = make_demo(seed=0)  # doctest: +SKIP
>>> result = forecast(monthly_series(ds, "revenue"), h=12)  # doctest: +SKIP
>>> result.forecast.query("unique_id == 'company'")  # doctest: +SKIP
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
