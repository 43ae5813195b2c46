"""The one atomic file writer: readers see the old file or the complete new one.

Every file amtools writes for others to read (pages, workbooks, the run context, the demo
DuckDB) goes through :func:`write_atomic` or :func:`atomic_path`, so a crash, a full disk or a
second reader never sees half a file, and every file gets the same permissions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["FILE_MODE", "write_atomic", "atomic_path"]

FILE_MODE = 0o644
"""Permissions of every file amtools publishes (``mkstemp`` alone would give 0600)."""


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, mode: int = FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    For writers that want a file name rather than bytes (openpyxl, DuckDB). The temporary
    file does not exist when the block starts. On any error it is removed and ``path`` is
    left as it was.

    Example
    -------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out" / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text(), oct(target.stat().st_mode & 0o777)
    ('hello', '0o644')
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()
    try:
        yield tmp
        if tmp.is_dir():
            raise IsADirectoryError(f"{tmp} was made a folder, not a file")
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(
    path: str | os.PathLike[str],
    data: str | bytes | Callable[[Path], object],
    *,
    mode: int = FILE_MODE,
) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    Parameters
    ----------
    path : the file to write; its folder is created if needed.
    data : text (written as UTF-8), bytes, or a function that writes the given temporary path.
    mode : permissions of the published file.

    Example
    -------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "index.html"
    >>> write_atomic(target, "<p>ok</p>").read_text()
    '<p>ok</p>'
    """
    with atomic_path(path, mode=mode) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        elif isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            data(tmp)
    return Path(path)
