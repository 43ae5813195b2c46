"""Messages that travel as a locale key plus arguments and become text only when shown.

Notes of the run context, budget notes, data-quality lines and KPI reasons are built as
:class:`Message` objects so one pack speaks one language: the key names a string of
``amtools/core/locales/*.yaml`` (with ``en`` and ``ru`` texts), the arguments fill its
``{placeholders}``, and :meth:`Message.text` renders it in the report's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Message", "render"]


@dataclass(frozen=True)
class Message:
    """A translatable message: locale ``key`` and the ``args`` of its placeholders.

    ``args`` values are shown as they are (numbers, ids, column names); pass values that
    need translating as already-rendered text.

    Example
    -------
    >>> Message("index.summary", {"ok": 3, "total": 4}).text("en")
    '3 of 4 reports rendered'
    """

    key: str
    args: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` (``"en"`` or ``"ru"``)."""
        from amtools.core.i18n import t

        return t(self.key, lang, **self.args)

    def __str__(self) -> str:
        return self.text("en")


def render(message: Message | str, lang: str = "en") -> str:
    """Text of ``message`` in ``lang``; a plain string is returned unchanged.

    Example
    -------
    >>> render(Message("index.summary", {"ok": 1, "total": 2}), "ru")  # doctest: +SKIP
    '1 из 2 отчётов готово'
    >>> render("already text")
    'already text'
    """
    return message.text(lang) if isinstance(message, Message) else message
