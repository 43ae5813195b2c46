"""KPIs of the account-manager role: the registry (the catalogue of every KPI), the compute
engine (:func:`compute`, :func:`compute_levels`: every KPI for all managers, teams, segments
or the company x periods), the one active-client rule (:func:`active_clients`), scorecards
and scores against targets and peers (:func:`scorecard`, :func:`scores`), and training plans
(:func:`training_plan`). See ``docs/kpi.md``.

Nothing is imported until it is used: ``import amtools.kpi.registry`` does not load the
compute engine (scipy, statsmodels).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
