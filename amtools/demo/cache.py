"""The demo dataset cached in a DuckDB file: built once by ``make_demo``, then read back.

:func:`load_demo` keys the file by the ``make_demo`` arguments and a hash of the demo
package's source (:func:`generator_digest`), so other arguments, a changed generator or a
newly completed quarter rebuild it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core import paths as config
from amtools.core.dataset import Dataset
from amtools.core.errors import SourceError
from amtools.core.periods import last_complete_quarter
from amtools.demo.build import make_demo
from amtools.loading import load, save_duckdb
from amtools.loading.meta import encode_meta

__all__ = ["load_demo", "generator_digest", "is_current"]


def is_current(ds: Dataset, kwargs: Mapping[str, Any]) -> bool:
    """A demo built "up to today" goes stale when a new quarter completes.

    Example
    -------
    >>> is_current(Dataset({}), {"end": "2026-11-26"})
    True
    """
    if kwargs.get("end") is not None or "period_end" not in ds.meta:
        return True
    expected = last_complete_quarter().end_time.normalize()
    return bool(pd.Timestamp(ds.meta["period_end"]).normalize() == expected)


def generator_digest() -> str:
    """A short hash of every ``.py`` file of ``amtools.demo``, so a changed generator rebuilds the file.

    Example
    -------
    >>> len(generator_digest())
    12
    """
    digest = hashlib.sha256()
    for module in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:12]


def load_demo(
    path: str | os.PathLike[str] = config.DEMO_DB,
    *,
    rebuild: bool = False,
    **make_demo_kwargs: Any,
) -> Dataset:
    """Load the demo dataset from its DuckDB file, building and saving it first if needed.

    The file remembers the ``make_demo`` arguments it was built with and a hash of the
    generator's source; asking for other arguments, a changed generator (or ``rebuild=True``)
    rebuilds it, and so does a new quarter completing when
    no ``end`` is given (the demo history always ends at the last complete quarter).

    Parameters
    ----------
    path : DuckDB file (default ``data/demo.duckdb``).
    rebuild : build it again even if the file exists.
    **make_demo_kwargs : passed to :func:`amtools.demo.make_demo` (seed, n_managers, end, …).

    Example
    -------
    >>> ds = load_demo()  # doctest: +SKIP
    >>> sorted(ds.names)[:3]  # doctest: +SKIP
    ['activities', 'clients', 'compliance']
    """
    target = Path(path)
    # The generator's own source is part of the key: a file built by an older generator is stale.
    wanted = json.dumps(
        {**encode_meta(make_demo_kwargs), "_generator": generator_digest()},
        sort_keys=True,
        default=str,
    )
    if target.exists() and not rebuild:
        try:
            ds = load(target, validate=False)
        except SourceError:
            ds = None
        if (
            ds is not None
            and ds.meta.get("demo_kwargs", wanted) == wanted
            and is_current(ds, make_demo_kwargs)
        ):
            return ds
    built = make_demo(**make_demo_kwargs)
    built.meta["demo_kwargs"] = wanted
    save_duckdb(built, target)
    return load(target, validate=False)
