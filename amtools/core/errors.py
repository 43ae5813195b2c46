"""The amtools exception hierarchy: one base class, a few specific subclasses."""

from __future__ import annotations

__all__ = [
    "AmtoolsError",
    "SourceError",
    "MappingError",
    "ParameterError",
    "ReportError",
    "PolicyError",
]


class AmtoolsError(Exception):
    """Base class of every error amtools raises on purpose."""


class SourceError(AmtoolsError):
    """A data source cannot be opened or read (missing file, unknown format, bad URL)."""


class MappingError(AmtoolsError):
    """A column-mapping file is malformed or refers to columns the source lacks."""


class ParameterError(AmtoolsError):
    """A report or function parameter is unknown, of the wrong type or out of range."""


class ReportError(AmtoolsError):
    """Rendering a report failed."""


class PolicyError(AmtoolsError):
    """A planning policy (targets, budget, profiles) is impossible or inconsistent."""
