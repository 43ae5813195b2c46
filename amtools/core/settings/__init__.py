"""Settings: the one reader of ``params/`` (:mod:`.reader`) and each stage's typed, frozen
settings built from it (:mod:`.kpi`, :mod:`.forecast`, :mod:`.budget`). The YAML shipped in
``params/`` is the one source of every default."""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
