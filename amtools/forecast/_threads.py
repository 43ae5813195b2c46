"""Run many tiny model fits with single-threaded BLAS (multi-threaded BLAS only adds overhead)."""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["single_thread_blas"]

_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)
_HANDLES: list[tuple[Any, Any]] | None = None


def _openblas_handles() -> list[tuple[Any, Any]]:
    """(setter, getter) pairs of the OpenBLAS copies bundled with numpy and scipy wheels."""
    global _HANDLES
    if _HANDLES is not None:
        return _HANDLES
    handles = []
    for package in ("numpy", "scipy"):
        try:
            module = __import__(package)
        except ImportError:
            continue
        libs = os.path.join(
            os.path.dirname(os.path.dirname(module.__file__ or "")), f"{package}.libs"
        )
        for path in glob.glob(os.path.join(libs, "*openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
            getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
            if setter is not None and getter is not None:
                handles.append((setter, getter))
    _HANDLES = handles
    return handles


@contextmanager
def single_thread_blas() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (threadpoolctl when installed, else OpenBLAS).

    Small statsmodels fits are several times faster this way on busy machines, where idle
    BLAS threads compete for the cores. Does nothing when no known BLAS is found.

    Example
    -------
    >>> with single_thread_blas():
    ...     pass
    """
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    handles = _openblas_handles()
    previous = []
    for setter, getter in handles:
        try:
            previous.append((setter, int(getter())))
            setter(1)
        except Exception:  # noqa: BLE001 - a foreign BLAS build: leave it alone
            continue
    try:
        yield
    finally:
        for setter, n in previous:
            setter(n)
