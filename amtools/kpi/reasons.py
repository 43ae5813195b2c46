"""Why a KPI cell is not available: stable keys with arguments, rendered as text only when shown.

The KPI frame of :func:`amtools.kpi.compute` carries a ``reason`` column with a key of
:data:`REASONS` (``"needs_column"``) and a ``reason_args`` column with its arguments as a
JSON object string (``'{"column": "clients.churned_date"}'``; a plain string keeps the
frame parquet- and pickle-friendly). :func:`reason_text` renders a key and its arguments
in English or Russian from ``amtools/core/locales/kpi.yaml`` (``kpi_reason.<key>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from amtools.core.i18n import t

__all__ = [
    "REASONS",
    "reason_code",
    "split_reason",
    "reason_args",
    "reason_text",
    "parse_reason",
]

REASONS: dict[str, str] = {
    "needs_table": "needs table {table}",
    "needs_column": "needs column {column}",
    "needs_any_column": "needs column {columns}",
    "segment_only": "applies to {segments} managers only",
    "needs_lost_deals": "the source records no lost deals (deals.stage is never lost), so a win rate cannot be measured",
    "comparison_before_data": "comparison period precedes the data",
    "no_existing_revenue": "no revenue from existing clients in {period}",
    "no_won_deals": "no won deals",
    "no_won_deals_with_cost": "no won deals with a cost",
    "no_won_deals_with_created_date": "no won deals with a created date",
    "no_won_deals_with_discount": "no won deals with a discount",
    "no_closed_deals": "no closed deals",
    "no_csi_responses": "no survey responses with csi",
    "no_nps_responses": "no survey responses with nps",
    "no_clients_at_start": "no clients active at the period start",
    "no_active_clients": "no active clients",
    "no_decided_contracts": "no contracts ending in the period with a renewal decision",
    "no_decided_proposals": "no decided proposals",
    "no_requests": "no requests",
    "no_answered_requests": "no answered requests",
    "no_projects_with_planned_end": "no finished projects with a planned end",
    "no_projects_with_budget": "no finished projects with budget and cost",
    "no_projects_with_quality": "no finished projects with a quality rating",
    "no_reports_due": "no reports due",
    "no_rated_reports_due": "no rated reports due",
    "not_yet_hired": "not yet hired (hire date {date})",
    "before_data": "the period ends before the data starts ({date})",
}
"""Every reason key :func:`amtools.kpi.compute` can emit -> its English template.

Placeholders: ``table`` (a table name), ``column`` (``table.column``), ``columns``
(a list of alternatives, rendered ``clients.acquired_date or deals.closed_date``), ``segments`` (``B2B`` or
``B2B/B2C``), ``period`` (a period label such as ``2025Q3``), ``date`` (ISO date). The
rendered texts (en and ru) live in ``amtools/core/locales/kpi.yaml`` as ``kpi_reason.<key>``;
this dict is the machine-readable list (and what :func:`parse_reason` matches).
"""

_SEP = "\x1f"  # key and JSON arguments inside the engine's per-cell reason strings


def reason_code(key: str, **args: Any) -> str:
    """One engine cell's reason: ``key`` alone or ``key`` + separator + JSON arguments.

    Used inside the KPI engine only; :func:`split_reason` turns it into the frame's
    ``reason`` and ``reason_args`` columns.

    Example
    -------
    >>> split_reason(reason_code("needs_table", table="surveys"))
    ('needs_table', '{"table": "surveys"}')
    """
    if key not in REASONS:
        raise KeyError(f"unknown KPI reason {key!r}; known: {', '.join(REASONS)}")
    if not args:
        return key
    return key + _SEP + json.dumps(args, ensure_ascii=False, sort_keys=True)


def split_reason(code: str) -> tuple[str, str]:
    """Key and JSON arguments (``"{}"`` when none) of a :func:`reason_code` string.

    Example
    -------
    >>> split_reason("no_won_deals")
    ('no_won_deals', '{}')
    """
    key, _, args = code.partition(_SEP)
    return key, args or "{}"


def reason_args(value: Any) -> dict[str, Any]:
    """The arguments of a ``reason_args`` cell as a dict (JSON string, dict or missing).

    Example
    -------
    >>> reason_args('{"column": "deals.cost"}')
    {'column': 'deals.cost'}
    >>> reason_args(None)
    {}
    """
    if isinstance(value, Mapping):
        return dict(value)
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return {}
    text = str(value).strip()
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def reason_text(
    key: str, args: Mapping[str, Any] | str | None = None, lang: str = "en", **fields: Any
) -> str:
    """The text of reason ``key`` with its ``args`` in ``lang`` ("en" or "ru").

    Parameters
    ----------
    key : a :data:`REASONS` key (the KPI frame's ``reason`` column).
    args : its arguments: a dict or the JSON string of the ``reason_args`` column.
    lang : "en" or "ru" (texts from ``amtools/core/locales/kpi.yaml``).
    **fields : arguments given as keywords (merged over ``args``).
        Without the arguments its placeholders need, the key's argument-free text
        (``kpi_reason_bare.<key>``: "needs a column the data source does not have").

    Raises
    ------
    KeyError
        For a key that is not in :data:`REASONS`.

    Example
    -------
    >>> reason_text("needs_column", {"column": "clients.churned_date"}, "en")
    'needs column clients.churned_date'
    >>> reason_text("needs_table", table="surveys")
    'needs table surveys'
    """
    if key not in REASONS:
        raise KeyError(f"unknown KPI reason {key!r}; known: {', '.join(REASONS)}")
    values = {**reason_args(args), **fields}
    names = re.findall(r"\{(\w+)\}", REASONS[key])
    if any(n not in values for n in names):
        # only the key is at hand (a caller that dropped reason_args): a text without them
        return t(f"kpi_reason_bare.{key}", lang)
    sep = t("kpi_text.or", lang)
    filled = {
        name: sep.join(map(str, v)) if isinstance(v, list | tuple) else str(v)
        for name, v in ((n, values[n]) for n in names)
    }
    return t(f"kpi_reason.{key}", lang, **filled) if filled else t(f"kpi_reason.{key}", lang)


_PATTERNS = [
    (key, re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(tpl)) + "$"))
    for key, tpl in REASONS.items()
]


def parse_reason(text: str) -> tuple[str, dict[str, str]] | None:
    """Key and arguments of a reason given as a key or as English text (None if unknown).

    Frames computed before reasons became keys carried English text; this maps both forms
    to the key so they can be rendered in any language.

    Example
    -------
    >>> parse_reason("no revenue from existing clients in 2025Q3")
    ('no_existing_revenue', {'period': '2025Q3'})
    >>> parse_reason("no_won_deals")
    ('no_won_deals', {})
    """
    text = str(text).strip()
    if text in REASONS:
        return text, {}
    if _SEP in text:
        key, args = split_reason(text)
        if key in REASONS:
            return key, reason_args(args)
    for key, pattern in _PATTERNS:
        m = pattern.match(text)
        if m:
            return key, m.groupdict()
    return None
