"""Report notebooks: the run context they share, the report kinds, and the runner.

``from amtools.render.notebooks import open_context`` is the one call every notebook makes
after its parameters cell (:mod:`.context`); :func:`run` (:mod:`.runner`) renders a whole
pack from a :class:`RunConfig`. Nothing is imported until a name is used.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
