"""File names of the pack's pages: readable in any alphabet, unique, safe, never too long.

Light on purpose (no Jupyter import): the report pages link to each other with
:func:`report_stem` from inside a kernel, and :mod:`amtools.render.notebooks.plan` names the
files with the same function.
"""

from __future__ import annotations

import hashlib
import re

from unidecode import unidecode

__all__ = ["SLUG_MAX", "file_slug", "report_stem"]

_SAFE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
SLUG_MAX = 40
"""Longest transliterated part of a file name (the whole name stays far below 255 bytes)."""


def file_slug(text: str) -> str:
    """A file-name part readable in any alphabet, unique per ``text`` and never too long.

    Ids that already are short ASCII names (``M001``) are kept as they are. Anything else is
    transliterated with Unidecode (Cyrillic, CJK, accents), lower-cased, reduced to
    ``[a-z0-9-]``, cut to :data:`SLUG_MAX` characters and given a 6-hex hash of the full
    id, so two ids never share a file, a 5,000-character id still fits the file system and
    path parts (``../x``, ``/``) cannot leave the reports folder.

    Example
    -------
    >>> file_slug("M001")
    'M001'
    >>> file_slug("Иванов Иван")
    'ivanov-ivan-b80bc0'
    >>> file_slug("Ольга Смирнова")[:13]
    'olga-smirnova'
    >>> file_slug("../x")
    'x-72e4d0'
    """
    if _SAFE_STEM.fullmatch(text):
        return text
    # soft/hard signs and apostrophes transliterate to ' and ": they join, not split (Ol'ga)
    ascii_text = re.sub(r"['\"`’]", "", unidecode(text).lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:SLUG_MAX].strip("-")
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{slug}-{digest}" if slug else digest


def report_stem(kind: str, entity: str | None = None) -> str:
    """The file stem of one report in the pack: ``team_review``, ``team_review-<team slug>``.

    Pages link to each other with it (``<stem>.html``, in the same folder).

    Example
    -------
    >>> report_stem("team_review"), report_stem("team_review", "B2B Team 1")
    ('team_review', 'team_review-b2b-team-1-965b83')
    """
    return kind if entity is None else f"{kind}-{file_slug(entity)}"
