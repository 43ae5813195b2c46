"""The words of the data model that every stage shares: segments, levels, the no-team label.

One definition each; the schema, the KPI engine, the forecast hierarchy, the budget and the
pages all import them from here.

Example
-------
>>> from amtools.core.vocab import LEVELS, NO_TEAM, SEGMENTS
>>> SEGMENTS
('B2B', 'B2C')
>>> LEVELS
('manager', 'team', 'segment', 'company')
>>> NO_TEAM
'(no team)'
"""

from __future__ import annotations

__all__ = ["SEGMENTS", "LEVELS", "NO_TEAM", "DEFAULT_CURRENCY", "DEMO_GENERATOR"]

SEGMENTS: tuple[str, ...] = ("B2B", "B2C")
"""Client segments, in display order."""

LEVELS: tuple[str, ...] = ("manager", "team", "segment", "company")
"""Aggregation levels from the finest to the coarsest (KPIs, budget quotas, forecasts)."""

NO_TEAM = "(no team)"
"""The team label of a manager whose ``team`` is empty."""

DEFAULT_CURRENCY = "RUB"
"""Currency assumed when a source does not say (``Dataset.meta["currency"]``)."""

DEMO_GENERATOR = "amtools.demo.make_demo"
"""``Dataset.meta["generator"]`` of the demo dataset: the demo's own targets apply only to it."""
