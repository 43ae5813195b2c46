"""KPIs of the account-manager role: the registry (the catalogue of every KPI), the compute
engine (:func:`compute`, :func:`compute_levels`: every KPI for all managers, teams, segments
or the company x periods), the one active-client rule (:func:`active_clients`), scorecards
and scores against targets and peers (:func:`scorecard`, :func:`scores`), and training plans
(:func:`training_plan`). See ``docs/kpi.md``.

Nothing is imported until it is used: ``import amtools.kpi.registry`` does not load the
compute engine (scipy, statsmodels).
"""

import sys
import types

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)


class _Front(types.ModuleType):
    """``amtools.kpi.compute`` names the function :func:`compute`, as it always has.

    Importing the submodule ``amtools.kpi.compute`` (``from amtools.kpi import compute_levels``
    does) would bind the module over that name; the front keeps the name for the function
    (the submodule stays in ``sys.modules["amtools.kpi.compute"]``).
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "compute" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Front
