"""The seeded demo company: a B2B/B2C account-management CRM in all 15 tables.

``make_demo(seed=…)`` draws the whole dataset from one seed (the same seed always gives the
same tables); ``load_demo()`` caches it in ``data/demo.duckdb`` and rebuilds the file when
the arguments, the generator's source or the last complete quarter change. The catalogue the
demo sells and trains from (``PRODUCTS``, ``COMPETITORS``, ``LOST_REASONS``, ``SKILLS``,
``COURSES``, ``TRAITS``) is exported too.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
