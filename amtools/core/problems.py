"""Data-quality findings: :class:`Problem` (one finding, renderable in en and ru) and
:class:`DataValidationError` (the data failed validation; it carries every finding)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from amtools.core.errors import AmtoolsError
from amtools.core.i18n import catalog, t

__all__ = ["Problem", "DataValidationError"]


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
    args: Mapping[str, Any] = field(default_factory=dict)
    """Values of the ``{placeholders}`` of the translated message and fix (see :meth:`text`)."""

    def text(self, lang: str = "en") -> str:
        """The finding as one line in ``lang`` (``"en"`` or ``"ru"``).

        English is :meth:`__str__`. Other languages use the locale strings
        ``problem.msg.<check>`` / ``problem.fix.<check>`` (``amtools/core/locales/problems.yaml``)
        filled from :attr:`args`, falling back to the English message where none exists.

        Example
        -------
        >>> p = Problem("deals", "amount", "negative", "negative amounts", 2, ("d1", "d2"))
        >>> p.text("en")
        '[error] deals.amount: negative amounts — 2 row(s) (e.g. d1, d2).'
        """
        if lang == "en":
            return str(self)
        strings = catalog()
        where = f"{self.table}.{self.column}" if self.column else self.table
        args = {"table": self.table, "column": self.column or "", **dict(self.args)}

        def local(key: str, english: str) -> str:
            if lang not in strings.get(key, {}):
                return english
            try:
                return t(key, lang, **args)
            except (KeyError, IndexError, ValueError):  # a placeholder without its argument
                return english

        message = local(f"problem.msg.{self.check}", self.message)
        fix = local(f"problem.fix.{self.check}", self.fix)
        severity = t(f"problem.severity.{self.severity}", lang)
        rows = t("problem.rows", lang, count=self.count)
        ex = t("problem.examples", lang, examples=", ".join(self.examples)) if self.examples else ""
        fix_text = t("problem.fix_label", lang, fix=fix) if fix else ""
        return f"[{severity}] {where}: {message} — {rows}{ex}.{fix_text}"

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
