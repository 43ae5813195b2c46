"""A dataset's metadata as stored beside its tables in a DuckDB file (the ``_amtools_meta`` table).

Values are kept as JSON; timestamps are tagged so they come back as :class:`pandas.Timestamp`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["META_TABLE", "encode_meta", "decode_meta", "storable_meta"]

META_TABLE = "_amtools_meta"
"""The table of a DuckDB file written by :func:`amtools.loading.save_duckdb` that holds the metadata."""


def encode_meta(value: Any) -> Any:
    """A metadata value as JSON-able data (timestamps tagged, NumPy scalars as Python ones).

    Example
    -------
    >>> encode_meta({"end": pd.Timestamp("2026-03-31"), "n": np.int64(3)})
    {'end': {'__timestamp__': '2026-03-31T00:00:00'}, 'n': 3}
    """
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return {"__timestamp__": pd.Timestamp(value).isoformat()}
    if isinstance(value, Mapping):
        return {str(k): encode_meta(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_meta(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_meta(value: Any) -> Any:
    """The inverse of :func:`encode_meta`.

    Example
    -------
    >>> decode_meta({"end": {"__timestamp__": "2026-03-31T00:00:00"}})
    {'end': Timestamp('2026-03-31 00:00:00')}
    """
    if isinstance(value, dict):
        if set(value) == {"__timestamp__"}:
            return pd.Timestamp(value["__timestamp__"])
        return {k: decode_meta(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_meta(v) for v in value]
    return value


def storable_meta(meta: Mapping[str, Any]) -> dict[str, str]:
    """The metadata worth storing, each value as JSON text (problems and non-JSON values are left out).

    Example
    -------
    >>> storable_meta({"currency": "RUB", "problems": [], "handle": object()})
    {'currency': '"RUB"'}
    """
    out = {}
    for key, value in meta.items():
        if key in ("problems", "load_problems"):
            continue
        try:
            out[key] = json.dumps(encode_meta(value), ensure_ascii=False)
        except (TypeError, ValueError):
            continue  # not JSON-able: not worth persisting
    return out
