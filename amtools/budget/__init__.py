"""Budget planning: next fiscal year's revenue plan, quotas, scenarios, costs and margin.

:func:`plan` turns a reconciled forecast and the dataset into a :class:`BudgetPlan` under
the budget policy (``params/policy/budget.yaml``, :func:`resolve_policy`);
:func:`plan_vs_actual` follows the plan against won deals; :func:`required_horizon` sizes the
forecast for the fiscal year. Modules: ``policy``, ``calendar``, ``inputs``, ``quotas``,
``costs``, ``planner`` (``plan`` and ``BudgetPlan``), ``actuals``.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
