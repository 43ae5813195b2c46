"""Data-quality checks of a :class:`~amtools.core.dataset.Dataset`, driven by the schema.

:func:`validate` returns every :class:`~amtools.core.problems.Problem` found (column checks
from pandera schemas, cross-table rules written here); :func:`format_problems` prints them as
a report grouped by table; :data:`CHECKS` lists every check with its severity
(see ``docs/loading.md``).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
