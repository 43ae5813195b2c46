"""The amtools exception hierarchy: one base class, a few specific subclasses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "AmtoolsError",
    "SourceError",
    "MappingError",
    "DataValidationError",
    "Problem",
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


@dataclass(frozen=True)
class Problem:
    """One data-quality finding.

    Attributes
    ----------
    table, column : where the problem is (column may be ``None`` for table-level problems).
    check : short machine-readable name, e.g. ``"unknown_value"``.
    message : what is wrong, in one sentence.
    count : how many rows are affected.
    examples : a few example row identifiers (ids, or 1-based row numbers).
    fix : what the user should do about it.
    severity : ``"error"`` (data cannot be used) or ``"warning"`` (used, but worth a look).
    """

    table: str
    column: str | None
    check: str
    message: str
    count: int
    examples: tuple[str, ...] = ()
    fix: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        ex = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"[{self.severity}] {where}: {self.message} — {self.count} row(s){ex}.{fix}"


@dataclass
class DataValidationError(AmtoolsError):
    """The data failed validation; ``problems`` lists every finding (errors and warnings)."""

    problems: Sequence[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def __str__(self) -> str:
        errors = self.errors
        lines = [f"{len(errors)} data error(s) found:"]
        lines += [f"  - {p}" for p in errors]
        return "\n".join(lines)
