"""Report language: translated strings from ``amtools/core/locales/*.yaml`` and locale formats."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from babel import Locale
from babel.dates import format_date as _babel_date
from babel.numbers import (
    format_compact_currency,
    format_decimal,
    format_percent,
    get_currency_symbol,
)
from babel.numbers import format_currency as _babel_currency

from amtools.core.errors import ParameterError
from amtools.core.vocab import DEFAULT_CURRENCY

__all__ = [
    "LANGS",
    "MISSING",
    "check_lang",
    "catalog",
    "reload_catalog",
    "t",
    "fmt_number",
    "fmt_currency",
    "fmt_percent",
    "fmt_date",
    "fmt_period",
    "is_missing",
]

LANGS: tuple[str, ...] = ("en", "ru")
"""Languages every string and report exists in."""

MISSING = "—"
"""What a missing value (None, NaN, NaT) is shown as, in every language."""

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
_BABEL_LOCALES = {"en": "en_US", "ru": "ru_RU"}
_NBSP = "\u00a0"


def check_lang(lang: str) -> str:
    """Return ``lang`` if amtools speaks it, else raise :class:`ParameterError`.

    Example
    -------
    >>> check_lang("ru")
    'ru'
    """
    if lang not in LANGS:
        raise ParameterError(f"unknown language {lang!r}; use one of: {', '.join(LANGS)}")
    return lang


def _flatten(
    tree: dict[str, Any], prefix: str, origin: Path, out: dict[str, dict[str, str]]
) -> None:
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and set(value) <= set(LANGS):
            if name in out:
                raise ValueError(f"string {name!r} is defined twice (again in {origin.name})")
            out[name] = {lang: str(text) for lang, text in value.items() if text is not None}
        elif isinstance(value, dict):
            _flatten(value, f"{name}.", origin, out)
        else:
            raise ValueError(
                f"{origin.name}: {name!r} must map to {{en: ..., ru: ...}}, got {value!r}"
            )


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """All strings: key -> {lang: text}, merged from every ``amtools/core/locales/*.yaml``.

    Nested mappings are flattened with dots (``index: {title: {...}}`` -> ``index.title``).

    Example
    -------
    >>> catalog()["header.period"]["ru"]
    'Период'
    """
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(LOCALES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a mapping of key -> {{en, ru}}")
        _flatten(data, "", path, merged)
    return merged


def reload_catalog() -> None:
    """Forget the cached catalogue (after editing a locale file)."""
    catalog.cache_clear()


def t(key: str, lang: str = "en", **fmt: Any) -> str:
    """The string ``key`` in ``lang``, with ``{placeholders}`` filled from ``fmt``.

    Raises
    ------
    KeyError
        If the key is unknown or has no text in ``lang``.

    Example
    -------
    >>> t("index.summary", "en", ok=3, total=4)
    '3 of 4 reports rendered'
    """
    check_lang(lang)
    entry = catalog().get(key)
    if entry is None:
        raise KeyError(
            f"no string {key!r} in amtools/core/locales/*.yaml; add it with en and ru texts"
        )
    text = entry.get(lang)
    if not text:
        raise KeyError(f"string {key!r} has no {lang!r} text; add it to amtools/core/locales/")
    return text.format(**fmt) if fmt else text


def _locale(lang: str) -> str:
    return _BABEL_LOCALES[check_lang(lang)]


def is_missing(x: Any) -> bool:
    """Whether ``x`` is a missing scalar (None, NaN, NA, NaT); containers are not missing.

    Example
    -------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0), is_missing([1, 2])
    (True, True, False, False)
    """
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _decimal_pattern(digits: int) -> str:
    return "#,##0" + ("." + "0" * digits if digits > 0 else "")


def fmt_number(x: Any, lang: str = "en", digits: int = 0) -> str:
    """A number with the locale's grouping and decimal mark.

    Example
    -------
    >>> fmt_number(1234567.891, "en", digits=1)
    '1,234,567.9'
    >>> fmt_number(1234567.891, "ru", digits=1)
    '1\\xa0234\\xa0567,9'
    """
    if is_missing(x):
        return MISSING
    return format_decimal(float(x), format=_decimal_pattern(digits), locale=_locale(lang))


def fmt_currency(
    x: Any,
    lang: str = "en",
    currency: str = DEFAULT_CURRENCY,
    *,
    digits: int = 0,
    compact: bool = False,
) -> str:
    """An amount of money: ru ``1 234 567 ₽``, en ``RUB 1,234,567`` (``$1,234,567`` for USD).

    Parameters
    ----------
    x : the amount.
    lang : "en" or "ru".
    currency : ISO 4217 code (default RUB).
    digits : decimals to show (0 for report-level amounts).
    compact : abbreviate large amounts (``RUB 1.2M``, ``1,2 млн ₽``).

    Example
    -------
    >>> fmt_currency(1234567, "en")
    'RUB\\xa01,234,567'
    >>> fmt_currency(1234567, "ru")
    '1\\xa0234\\xa0567\\xa0₽'
    """
    if is_missing(x):
        return MISSING
    locale = _locale(lang)
    if compact:
        text = format_compact_currency(
            float(x), currency, locale=locale, fraction_digits=max(digits, 1)
        )
        symbol = get_currency_symbol(currency, locale)
        if lang == "en" and symbol.isalpha() and text.startswith(symbol):
            text = symbol + _NBSP + text[len(symbol) :].lstrip()
        return text
    number = _decimal_pattern(digits)
    symbol = get_currency_symbol(currency, locale)
    if lang == "ru":
        pattern = f"{number}{_NBSP}¤"
    elif symbol.isalpha():
        # "RUB 1,234,567": a letter code needs a space, a sign ("$") does not.
        pattern = f"¤{_NBSP}{number}"
    else:
        pattern = f"¤{number}"
    return _babel_currency(float(x), currency, format=pattern, locale=locale, currency_digits=False)


def fmt_percent(x: Any, lang: str = "en", digits: int = 0) -> str:
    """A fraction shown as a percentage (``0.123`` -> ``12%``; ru ``12 %``).

    Example
    -------
    >>> fmt_percent(0.1234, "en", digits=1)
    '12.3%'
    """
    if is_missing(x):
        return MISSING
    locale = Locale.parse(_locale(lang))
    base = locale.percent_formats[None].pattern  # "#,##0%" (en) / "#,##0\u00a0%" (ru)
    pattern = base.replace("#,##0", _decimal_pattern(digits), 1)
    return format_percent(float(x), format=pattern, locale=locale)


def fmt_date(d: Any, lang: str = "en", format: str = "medium") -> str:
    """A date in the locale's style (``Sep 30, 2026`` / ``30 сент. 2026 г.``).

    Parameters
    ----------
    d : date, datetime, Timestamp or ISO string.
    format : Babel/CLDR format name ("short", "medium", "long") or pattern.

    Example
    -------
    >>> fmt_date("2026-09-30", "en")
    'Sep 30, 2026'
    """
    if is_missing(d):
        return MISSING
    value = pd.Timestamp(d).date() if not isinstance(d, dt.date) else d
    if isinstance(value, dt.datetime):
        value = value.date()
    return _babel_date(value, format=format, locale=_locale(lang))


def fmt_period(label: Any, lang: str = "en", *, style: str = "long") -> str:
    """A period label for people: ``2026Q3`` -> ``Q3 2026`` / ``3 кв. 2026``; months by name.

    The one definition of how periods read, for table headers and chart axes alike.

    Parameters
    ----------
    label : a period label (``2026Q3``, ``2026-10``, ``2026``) or a pandas Period.
    style : ``"long"`` (tables: ``October 2026`` / ``октябрь 2026``) or ``"short"`` (chart
        ticks: ``Oct 2026`` / ``окт. 2026``). Quarters and years read the same in both.

    Example
    -------
    >>> fmt_period("2026Q3", "ru")
    '3 кв. 2026'
    >>> fmt_period("2026-10", "en", style="short")
    'Oct 2026'
    """
    from amtools.core.periods import parse_period

    if style not in ("long", "short"):
        raise ParameterError(f"fmt_period: style must be 'long' or 'short', got {style!r}")
    if is_missing(label):
        return MISSING
    period = label if isinstance(label, pd.Period) else parse_period(label)
    base = period.freqstr.split("-")[0]
    if base.startswith("Q"):
        return t("period.quarter", lang, quarter=period.quarter, year=period.qyear)
    if base.startswith("M"):
        month = period.start_time.date()
        pattern = "LLLL y" if style == "long" else "LLL y"
        return _babel_date(month, format=pattern, locale=_locale(lang))
    return t("period.year", lang, year=period.qyear if hasattr(period, "qyear") else period.year)
