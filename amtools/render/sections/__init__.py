"""The report pages' sections: one module per report holding its tables AND charts.

``team_review``, ``manager_review``, ``forecast`` and ``budget_plan`` format the frames of
:mod:`amtools.kpi.views` and the run context into escaped HTML and matplotlib figures;
``common`` holds what several pages share (KPI names and cells, the glossary). Notebooks do
``from amtools.render.sections import team_review as page``.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
