"""One language per pack: a reusable checker for English sentences on Russian pages.

:func:`english_runs` extracts the visible text of an HTML page (text nodes and image alt
texts; styles, scripts and embedded images dropped) and returns every run of three or more
consecutive Latin-alphabet words. Identifiers, column names (``deals.cost``), file names,
options (``--targets``), codes and units (``B2B``, ``NPS``, ``MASE``) are not words: they
break a run instead of extending it, so "нужен столбец deals.cost" passes and
"Budget not planned: cost of sales" does not.
"""

from __future__ import annotations

import html
import re

_WORD = re.compile(r"[A-Za-z][a-z]*(?:'[a-z]+)?")
"""A plain Latin word: a letter then lower-case letters (``Revenue``, ``cost``)."""

_TOKEN = re.compile(r"\S+")
_TRIM = ".,;:!?()«»'“”…—–-"


def visible_text(page: str) -> list[str]:
    """The texts a reader sees on ``page``: text nodes and ``alt`` attributes, unescaped.

    Example
    -------
    >>> visible_text('<p>Hello <b>world</b></p><style>p{}</style>')
    ['Hello', 'world']
    """
    page = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "data:", page)
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    alts = [html.unescape(a) for a in re.findall(r'alt="([^"]*)"', page)]
    texts = [html.unescape(t) for t in re.split(r"<[^>]+>", page)]
    return [t.strip() for t in [*texts, *alts] if t.strip()]


_CODE = set('"{}[]=_/\\<>@#$%^&*+|~`')
"""Characters that make a token code or data (JSON keys, paths, options, formulas)."""


def _is_word(token: str, allowed: set[str]) -> bool:
    if _CODE & set(token):
        return False
    bare = token.strip(_TRIM)
    if not bare or bare.lower() in allowed:
        return False
    return _WORD.fullmatch(bare) is not None


def english_runs(page: str, *, min_words: int = 3, allowed: set[str] | None = None) -> list[str]:
    """Runs of ``min_words`` or more consecutive Latin words in the visible text of ``page``.

    Parameters
    ----------
    allowed : words never counted (lower case): names and values from the data, product names.

    Example
    -------
    >>> english_runs("<p>Выручка: needs column deals.cost</p>")
    []
    >>> english_runs("<p>Budget not planned: cost of sales</p>")
    ['Budget not planned: cost of sales']
    """
    allowed = {a.lower() for a in (allowed or set())}
    found: list[str] = []
    for text in visible_text(page):
        run: list[str] = []
        for token in [*_TOKEN.findall(text), ""]:
            if token and _is_word(token, allowed):
                run.append(token)
                continue
            if len(run) >= min_words:
                found.append(" ".join(run))
            run = []
    return found


# --------------------------------------------------------------------------- the checker
def test_checker_flags_english_and_passes_identifiers() -> None:
    assert english_runs("<p>Budget not planned: no won deal has a cost</p>") == [
        "Budget not planned: no won deal has a cost"
    ]
    ok = (
        "<p>Маржа недоступна: нужен столбец deals.cost или cost_of_sales.default_ratio в "
        "params/policy/budget.yaml; цели через --targets FILE; MASE, sMAPE, B2B, NPS (CSI)</p>"
    )
    assert english_runs(ok) == []
    assert english_runs('<img alt="Revenue by quarter and segment">') == [
        "Revenue by quarter and segment"
    ]
    assert english_runs("<style>.a{color:red}</style><p>два слова: Key Accounts</p>") == []
    assert english_runs("<p>Retail Direct Team</p>", allowed={"retail", "direct"}) == []
