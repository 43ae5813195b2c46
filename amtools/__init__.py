"""amtools: account-manager performance analytics.

Load a CRM export, compute every KPI of the role for all managers and periods, forecast
sales, plan budgets and render quarterly review packs. The package is one folder per stage
of that flow (``core`` < ``validate`` < ``loading`` < ``kpi`` / ``demo`` < ``forecast`` <
``budget`` < ``pipeline`` < ``render`` < ``cli``; see docs/ARCHITECTURE.md).

Every name is imported on first use (``__init__.pyi`` lists them), so ``import amtools``
stays fast inside report kernels.

Example
-------
>>> import amtools
>>> ds = amtools.make_demo(seed=0, n_managers=4)  # doctest: +SKIP
>>> sorted(amtools.__all__)[:3]
['AmtoolsError', 'DataValidationError', 'Dataset']
"""

import lazy_loader as lazy

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
__all__ = [*__all__, "__version__"]
