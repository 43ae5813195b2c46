"""KPI values and names in the reader's language: the KPI's unit decides the format.

The words and number formats are :mod:`amtools.core.i18n`'s; this module adds what only the
KPI registry knows (each KPI's display name and unit).
"""

from __future__ import annotations

import math
from typing import Any

from amtools.core.i18n import (
    MISSING,
    check_lang,
    fmt_currency,
    fmt_number,
    fmt_percent,
    is_missing,
    t,
)
from amtools.core.vocab import DEFAULT_CURRENCY
from amtools.kpi.registry import KPIS

__all__ = ["kpi_name", "fmt_kpi_value", "fmt_gap"]


def kpi_name(kpi_id: str, lang: str = "en") -> str:
    """The KPI's display name in ``lang``, from the KPI registry.

    Raises
    ------
    KeyError
        If the registry has no KPI ``kpi_id``.

    Example
    -------
    >>> kpi_name("conversion_rate", "en")
    'Conversion rate'
    """
    check_lang(lang)
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        raise KeyError(f"unknown KPI {kpi_id!r}; known: {', '.join(KPIS)}")
    return str(kpi.name_ru if lang == "ru" else kpi.name_en)


def _kpi_unit(kpi_id: str) -> str | None:
    if kpi_id not in KPIS:
        return None
    return str(KPIS[kpi_id].unit)


def fmt_kpi_value(
    kpi_id: str, value: Any, lang: str = "en", currency: str = DEFAULT_CURRENCY
) -> str:
    """A KPI value formatted by the KPI's unit (money, %, days, hours, counts, scores).

    Example
    -------
    >>> fmt_kpi_value("conversion_rate", 0.256, "en")
    '25.6%'
    """
    if is_missing(value):
        return MISSING
    unit = _kpi_unit(kpi_id)
    if unit == "currency":
        return fmt_currency(value, lang, currency)
    if unit == "ratio":
        return fmt_percent(value, lang, digits=1)
    if unit == "count":
        digits = 0 if float(value).is_integer() else 1
        return fmt_number(value, lang, digits=digits)
    if unit == "days":
        return t("unit.days", lang, value=fmt_number(value, lang, digits=1))
    if unit == "hours":
        return t("unit.hours", lang, value=fmt_number(value, lang, digits=1))
    if unit == "per_month":
        return t("unit.per_month", lang, value=fmt_number(value, lang, digits=1))
    # "score" and unknown units: a plain number with one decimal
    digits = 1 if not math.isclose(float(value), round(float(value))) else 0
    return fmt_number(value, lang, digits=digits)


def fmt_gap(kpi_id: str, value: Any, target: Any, lang: str = "en") -> str:
    """The gap between a KPI value and its target, in percentage points (ratios) or points.

    Used for signed KPIs (NPS, growth rates), where value ÷ target means nothing.

    Example
    -------
    >>> fmt_gap("nps", 12.0, 30.0, "en")
    '-18.0 pts vs target'
    """
    if is_missing(value) or is_missing(target):
        return MISSING
    unit = _kpi_unit(kpi_id)
    size = (float(value) - float(target)) * (100 if unit == "ratio" else 1)
    text = ("+" if size > 0 else "") + fmt_number(size, lang, digits=1)
    return t("tbl.gap.pp" if unit == "ratio" else "tbl.gap.points", lang, x=text)
