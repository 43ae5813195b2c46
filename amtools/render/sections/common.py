"""Pieces several report pages share: KPI names, values and attainment cells, the
"not measured" and "where targets come from" lines, and the KPI glossary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from IPython.display import HTML

from amtools.core import i18n
from amtools.core.i18n import is_missing, t
from amtools.kpi.format import fmt_gap, fmt_kpi_value, kpi_name
from amtools.kpi.registry import GROUPS, KPIS, kpi_table
from amtools.kpi.targets import TARGET_SOURCES
from amtools.render.html import BAD, GOOD, WARN, html_table, paragraph, t_or

__all__ = [
    "kpi_label",
    "kpi_meta",
    "kpi_order",
    "group_name",
    "catalogue_order",
    "kpi_value",
    "is_signed",
    "attainment_cell",
    "not_measured",
    "targets_note",
    "glossary_table",
]


def kpi_label(kpi_id: str, lang: str) -> str:
    """A KPI's name, or a ``metric.*`` string for derived metrics (clients per manager).

    Example
    -------
    >>> kpi_label("clients_per_manager", "en")  # doctest: +SKIP
    'Clients per manager'
    """
    try:
        return kpi_name(kpi_id, lang)
    except KeyError:
        return t_or(f"metric.{kpi_id}", lang, kpi_id)


def kpi_meta(kpi_id: str) -> tuple[str, str, str]:
    """(unit, direction, group) of a KPI; non-registry metrics count as 'count'/'higher'.

    Example
    -------
    >>> kpi_meta("clients_per_manager")
    ('count', 'higher', '')
    """
    spec = KPIS.get(kpi_id)
    if spec is None:
        return "count", "higher", ""
    return spec.unit, spec.direction, spec.group


def kpi_order(kpis: Sequence[str]) -> list[str]:
    """Catalogue order (group by group), unknown metrics last in the given order.

    Example
    -------
    >>> kpi_order(["zzz", "nps", "sales_volume"])[-1]
    'zzz'
    """
    known = [k for k in KPIS if k in set(kpis)]
    return known + [k for k in dict.fromkeys(kpis) if k not in KPIS]


def group_name(group: str, lang: str) -> str:
    """A KPI group's name in ``lang`` (an unknown group as given).

    Example
    -------
    >>> group_name("no-such-group", "ru")
    'no-such-group'
    """
    en_ru = GROUPS.get(group)
    return group if en_ru is None else (en_ru[1] if lang == "ru" else en_ru[0])


def catalogue_order(frame: pd.DataFrame, column: str = "kpi") -> pd.DataFrame:
    """``frame`` sorted (stably) by the registry's order of ``column``; unknown ids last.

    Example
    -------
    >>> catalogue_order(pd.DataFrame({"kpi": ["zzz", "sales_volume"]}))["kpi"].tolist()
    ['sales_volume', 'zzz']
    """
    order = {k: i for i, k in enumerate(KPIS)}
    key = frame[column].astype(str).map(order).fillna(len(order))
    return (
        frame.assign(_order=key.to_numpy())
        .sort_values("_order", kind="stable")
        .drop(columns="_order")
    )


def kpi_value(kpi_id: str, value: Any, lang: str, currency: str) -> str:
    """A KPI value in its unit's format; a derived metric as a plain number; missing as "—".

    Example
    -------
    >>> kpi_value("clients_per_manager", 296.6, "en", "RUB")
    '297'
    """
    if is_missing(value):
        return i18n.MISSING
    if kpi_id in KPIS:
        return fmt_kpi_value(kpi_id, value, lang, currency)
    return i18n.fmt_number(value, lang, digits=0 if abs(float(value)) >= 10 else 1)


def _attainment_class(x: Any) -> str:
    if is_missing(x):
        return ""
    return GOOD if x >= 1.0 else WARN if x >= 0.8 else BAD


# KPIs whose scale has a meaningful negative side (growth rate, NPS): "value as a share of
# target" reads as nonsense there (NPS -5 against 20 is "-24 %"), so the tables show the gap
# to target instead ("-25 pts", "-33.8 pp") and colour it by sign and size.
# How far below target a signed KPI (KPI.signed) may be before it is shown red, by unit.
_GAP_WARN = {"score": 10.0, "ratio": 0.05}


def is_signed(kpi_id: str) -> bool:
    """Whether the KPI's scale has a negative side (``KPI.signed``): shown as a gap to target.

    Example
    -------
    >>> is_signed("clients_per_manager")
    False
    """
    spec = KPIS.get(kpi_id)
    return bool(spec is not None and spec.signed)


def _gap_class(kpi_id: str, value: Any, target: Any) -> str:
    if is_missing(value) or is_missing(target):
        return ""
    gap = float(value) - float(target)
    unit = kpi_meta(kpi_id)[0]
    return GOOD if gap >= 0 else WARN if gap > -_GAP_WARN.get(unit, 0.0) else BAD


def attainment_cell(
    kpi_id: str, value: Any, target: Any, attainment: Any, lang: str
) -> tuple[str, str]:
    """(text, css class) of an attainment cell: a percentage, or the gap for signed KPIs.

    Example
    -------
    >>> attainment_cell("sales_volume", 1.2e6, 1e6, 1.2, "en")
    ('120%', 'amt-good')
    """
    if is_signed(kpi_id):
        return fmt_gap(kpi_id, value, target, lang), _gap_class(kpi_id, value, target)
    return i18n.fmt_percent(attainment, lang), _attainment_class(attainment)


def not_measured(card: pd.DataFrame, lang: str = "en", *, weighted: bool = False) -> HTML:
    """One line naming the KPIs this data cannot measure (``status == "not_available"``).

    Charts and tables list measured KPIs only; this line names the rest once, by their
    translated names, and points to the data notes for what each needs.

    Parameters
    ----------
    card : scorecard (or KPI) rows of one period; columns ``kpi, status`` (and ``weight``).
    weighted : only KPIs with profile weight (those the score would use).

    Example
    -------
    >>> card = pd.DataFrame({"kpi": ["nps", "sales_volume"],
    ...                      "status": ["not_available", "ok"]})
    >>> "NPS" in not_measured(card, "en").data
    True
    """
    rows = card[card["status"].astype(str) == "not_available"]
    if weighted and "weight" in rows:
        rows = rows[rows["weight"].astype("float64").fillna(0) > 0]
    kpis = list(dict.fromkeys(catalogue_order(rows)["kpi"].astype(str))) if len(rows) else []
    if not kpis:
        return HTML("")
    names = ", ".join(kpi_label(k, lang) for k in kpis)
    return paragraph(t("tbl.not_measured", lang, kpis=names, n=len(kpis)))


def targets_note(card: pd.DataFrame, lang: str = "en") -> HTML:
    """One line saying where the targets come from (scorecard column ``target_source``).

    ``none`` (when no KPI has a target): no targets were supplied, scores rest on peer
    percentiles; ``history``: targets
    derived from the same quarter last year; ``data``/``params``/``mapping``/``demo``: the
    source of the supplied targets. A frame without the column (or with values of an older
    engine) gives no line.

    Example
    -------
    >>> targets_note(pd.DataFrame({"target_source": ["none"]}), "en").data[:41]
    '<p class="amt-note">No targets were suppl'
    """
    if "target_source" not in card.columns:
        return HTML("")
    sources = [s for s in dict.fromkeys(card["target_source"].dropna().astype(str))]
    sources = [s for s in sources if s in TARGET_SOURCES]
    if not sources:
        return HTML("")
    # "none" only when no KPI has a target: a page where one KPI lacks a target while the
    # others have the demo's or the data's must not say that no targets were supplied. Among
    # the supplied sources the weakest speaks for the page ("history" before the others).
    supplied = [s for s in sources if s != "none"]
    source = max(supplied or sources, key=TARGET_SOURCES.index)
    return paragraph(t(f"tbl.targets.{source}", lang))


def glossary_table(lang: str = "en", *, kpis: Sequence[str] | None = None) -> HTML:
    """The KPI glossary (group, name, direction, definition) from the registry.

    Example
    -------
    >>> "<table" in glossary_table("ru").data
    True
    """
    frame = kpi_table(lang)
    if kpis is not None:
        frame = frame[frame["kpi"].isin(list(kpis))]
    frame = frame.assign(direction_text=[t(f"tbl.direction.{d}", lang) for d in frame["direction"]])
    headers = {
        "name": t("tbl.col.kpi", lang),
        "direction_text": t("tbl.col.better", lang),
        "formula": t("tbl.col.definition", lang),
    }
    return HTML(html_table(frame, headers=headers, group_col="group_name"))
