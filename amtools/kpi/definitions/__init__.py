"""The KPI definitions, one module per registry group (``financial``, ``client``,
``activity``, ``project``, ``internal``, ``professional``): each maps its KPI ids to a
function of the grouping context and the shared arrays (:class:`amtools.kpi.prep.Prep`).
:mod:`amtools.kpi.computation` runs them.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
