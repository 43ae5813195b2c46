"""Tests for amtools.core.i18n: the string catalogue and locale formats."""

from __future__ import annotations

import math
import string

import pandas as pd
import pytest

from amtools.core.errors import ParameterError
from amtools.core.i18n import (
    LANGS,
    MISSING,
    catalog,
    fmt_currency,
    fmt_date,
    fmt_number,
    fmt_percent,
    fmt_period,
    t,
)
from amtools.kpi.format import fmt_kpi_value, kpi_name

NBSP = "\u00a0"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_every_language_and_no_empty_strings():
    problems = []
    for key, texts in catalog().items():
        for lang in LANGS:
            text = texts.get(lang)
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{key}: missing or empty {lang!r}")
    assert not problems, "\n".join(problems)


def test_translations_use_the_same_placeholders():
    mismatched = [
        key
        for key, texts in catalog().items()
        if len({frozenset(_placeholders(texts[lang])) for lang in LANGS if lang in texts}) > 1
    ]
    assert not mismatched


def test_t_formats_and_fails_clearly():
    assert t("index.summary", "en", ok=3, total=4) == "3 of 4 reports rendered"
    assert t("index.summary", "ru", ok=3, total=4) == "Сформировано отчётов: 3 из 4"
    assert t("header.period", "ru") == "Период"
    with pytest.raises(KeyError, match="no string 'no.such.key'"):
        t("no.such.key")
    with pytest.raises(ParameterError, match="unknown language 'de'"):
        t("header.period", "de")


def test_numbers_by_locale():
    # en groups with commas and uses a point; ru groups with no-break spaces and uses a comma
    assert fmt_number(1234567.891, "en", digits=1) == "1,234,567.9"
    assert fmt_number(1234567.891, "ru", digits=1) == f"1{NBSP}234{NBSP}567,9"
    assert fmt_number(-5, "en") == "-5"
    for missing in (None, float("nan"), pd.NA, pd.NaT):
        assert fmt_number(missing, "en") == MISSING


def test_currency_rub_default_and_others():
    assert fmt_currency(1234567, "ru") == f"1{NBSP}234{NBSP}567{NBSP}₽"
    assert fmt_currency(1234567, "en") == f"RUB{NBSP}1,234,567"
    assert fmt_currency(1234567.5, "en", "USD", digits=2) == "$1,234,567.50"
    assert fmt_currency(1234567, "ru", "EUR") == f"1{NBSP}234{NBSP}567{NBSP}€"
    # compact: 1.2 million
    assert fmt_currency(1234567, "en", compact=True) == f"RUB{NBSP}1.2M"
    assert "млн" in fmt_currency(1234567, "ru", compact=True)
    assert fmt_currency(math.nan, "ru") == MISSING


def test_percent_date_period():
    assert fmt_percent(0.1234, "en", digits=1) == "12.3%"
    assert fmt_percent(0.1234, "ru", digits=1) == f"12,3{NBSP}%"
    assert fmt_percent(0.5, "en") == "50%"
    assert fmt_date("2026-09-30", "en") == "Sep 30, 2026"
    assert fmt_date(pd.Timestamp("2026-09-30"), "ru").startswith("30 сент. 2026")
    assert fmt_date(pd.NaT, "en") == MISSING
    assert fmt_period("2026Q3", "en") == "Q3 2026"
    assert fmt_period("2026Q3", "ru") == "3 кв. 2026"
    assert fmt_period("2026-07", "en") == "July 2026"
    assert fmt_period("2026", "ru") == "2026 г."


def test_kpi_names_and_values_follow_the_registry():
    from amtools.kpi import registry

    by_unit = {}
    for kpi in registry.KPIS.values():
        by_unit.setdefault(kpi.unit, kpi)
    kpi = next(iter(registry.KPIS.values()))
    assert kpi_name(kpi.id, "en") == kpi.name_en
    assert kpi_name(kpi.id, "ru") == kpi.name_ru
    with pytest.raises(KeyError, match="unknown KPI"):
        kpi_name("no_such_kpi", "en")
    assert fmt_kpi_value(by_unit["ratio"].id, 0.256, "en") == "25.6%"
    assert fmt_kpi_value(by_unit["currency"].id, 1500, "ru") == f"1{NBSP}500{NBSP}₽"
    assert fmt_kpi_value(by_unit["currency"].id, 1500, "en", "USD") == "$1,500"
    assert fmt_kpi_value(by_unit["days"].id, 12.26, "en") == "12.3 days"
    assert fmt_kpi_value(by_unit["days"].id, 12.26, "ru") == "12,3 дн."
    assert fmt_kpi_value(by_unit["count"].id, 7.0, "en") == "7"
    assert fmt_kpi_value(kpi.id, None, "en") == MISSING


def test_keys_are_trimmed_and_unique_across_files():
    # keys may hold data values ("lost_reason.no decision") but never stray whitespace;
    # a key defined in two locale files is an error of the loader (tested via catalog())
    assert all(key == key.strip() and key for key in catalog())
