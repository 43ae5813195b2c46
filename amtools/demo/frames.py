"""Columns to typed tables: ids, string labels and the data model's dtypes for every table.

Example
-------
>>> from amtools.demo.frames import make_ids
>>> make_ids("M", 3, 3).to_pylist()
['M001', 'M002', 'M003']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from amtools.core.dataset import PANDAS_DTYPES
from amtools.core.schema import TABLES

__all__ = ["make_ids", "Labels", "build_frame", "str_or_na"]


def make_ids(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded 1..n as an Arrow string array, built without a Python loop.

    Example
    -------
    >>> make_ids("D", 2, 7).to_pylist()
    ['D0000001', 'D0000002']
    """
    width = max(width, len(str(n)))
    # Digits come four at a time from a lookup table of "0000".."9999".
    chunks = -(-width // 4)
    table = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
    rest = np.arange(1, n + 1, dtype=np.int64)
    digits = np.empty((n, 4 * chunks), dtype=np.uint8)
    for k in range(chunks - 1, -1, -1):
        rest, low = np.divmod(rest, 10_000)
        digits[:, 4 * k : 4 * k + 4] = table[low]
    size = len(prefix) + width
    raw = np.empty((n, size), dtype=np.uint8)
    raw[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    raw[:, len(prefix) :] = digits[:, 4 * chunks - width :]
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw))


def _arrow_strings() -> bool:
    """Whether pandas' default "string" dtype is Arrow-backed (else Python objects)."""
    default = pd.StringDtype()
    return default.storage == "pyarrow" and default.na_value is pd.NA


class Labels:
    """String labels (ids) addressed by integer codes, in the cheapest form for ``build_frame``.

    Example
    -------
    >>> Labels(make_ids("M", 3, 3)).list
    ['M001', 'M002', 'M003']
    """

    def __init__(self, values: pa.Array) -> None:
        self.values = values
        self.objects = values.to_numpy(zero_copy_only=False)
        self.list: list[str] = self.objects.tolist()

    def __getitem__(self, codes: np.ndarray) -> pa.Array | np.ndarray:
        codes = np.asarray(codes, dtype=np.int64)
        if _arrow_strings():
            return self.values.take(pa.array(codes))
        return self.objects[codes]  # shares the Python str objects

    def column(self) -> pa.Array | np.ndarray:
        """All labels, in order."""
        return self.values if _arrow_strings() else self.objects


def build_frame(name: str, data: Mapping[str, Any]) -> pd.DataFrame:
    """Build table ``name`` with the data model's column order and pandas dtypes.

    Example
    -------
    >>> data = {"manager_id": ["M001"], "date": [20_000.0], "violation": [0.0]}
    >>> build_frame("compliance", data).dtypes.astype(str).tolist()
    ['string', 'datetime64[ns]', 'boolean']
    """
    spec = TABLES[name]
    cols: dict[str, Any] = {}
    for col in spec.columns:
        values = data[col.name]
        dtype = PANDAS_DTYPES[col.kind]
        if col.kind in ("date", "datetime"):
            # days (dates) or seconds (datetimes) since 1970-01-01, NaN for missing
            arr = np.asarray(values, dtype=float)
            arr = np.floor(arr) * (86_400 if col.kind == "date" else 1) * 1_000_000_000
            nat = np.iinfo(np.int64).min  # numpy's NaT
            ns = np.where(np.isnan(arr), nat, arr).astype(np.int64)
            series = pd.Series(ns.view("datetime64[ns]"))
        elif col.kind == "bool":
            arr = np.asarray(values, dtype=float)  # 0/1 with NaN for unknown
            series = pd.Series(pd.array(arr == 1, dtype="boolean"))
            series[np.isnan(arr)] = pd.NA
        elif col.kind == "int":
            series = pd.Series(pd.array(np.asarray(values), dtype="Int64"))
        elif col.kind == "float":
            series = pd.Series(np.asarray(values, dtype=float))
        else:
            series = pd.Series(_string_array(values))
        if series.dtype != dtype:  # guard: always exactly the data model's dtype
            series = series.astype(pd.api.types.pandas_dtype(dtype))
        cols[col.name] = series.reset_index(drop=True)
    return pd.DataFrame(cols)


def _string_array(values: pa.Array | np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Strings (None = missing) as pandas' default "string" array, without per-row Python work."""
    if _arrow_strings():
        if not isinstance(values, pa.Array):
            values = pa.array(np.asarray(values, dtype=object), type=pa.string())
        return pd.arrays.ArrowStringArray(values)
    if isinstance(values, pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    return pd.arrays.StringArray(np.asarray(values, dtype=object))


def str_or_na(values: np.ndarray | pa.Array, mask: np.ndarray) -> np.ndarray | pa.Array:
    """``values`` with missing values where ``mask`` is False.

    Example
    -------
    >>> str_or_na(np.array(["a", "b"], dtype=object), np.array([True, False])).tolist()
    ['a', None]
    """
    mask = np.asarray(mask, dtype=bool)
    if isinstance(values, pa.Array):
        return pc.if_else(pa.array(mask), values, pa.scalar(None, pa.string()))
    out = np.asarray(values, dtype=object).copy()
    out[~mask] = None
    return out
