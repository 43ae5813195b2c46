"""How many CPUs this process may really use.

``os.cpu_count()`` counts the host's CPUs. In a container or a CI job limited to two cores
(a cgroup CPU quota) or pinned to some CPUs (affinity) it can say 64 where two are usable, and
starting one report kernel per counted CPU then turns a 20-second run into minutes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["usable_cpus"]

_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1 = (
    Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
    Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
)


def _quota(text: str) -> float | None:
    """CPUs granted by a cgroup ``quota period`` pair (``None``: no limit)."""
    parts = text.split()
    if len(parts) != 2 or parts[0] in ("max", "-1"):
        return None
    try:
        quota, period = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _cgroup_cpus() -> float | None:
    try:
        if _CGROUP_V2.is_file():
            return _quota(_CGROUP_V2.read_text())
        quota, period = _CGROUP_V1
        if quota.is_file() and period.is_file():
            return _quota(f"{quota.read_text().strip()} {period.read_text().strip()}")
    except OSError:
        return None
    return None


def usable_cpus() -> int:
    """The CPUs this process may use: the smallest of the host count, the CPU affinity and
    the cgroup quota (rounded up), at least 1.

    Example
    -------
    >>> 1 <= usable_cpus() <= (os.cpu_count() or 1)
    True
    >>> _quota("200000 100000"), _quota("max 100000"), _quota("150000 100000")
    (2.0, None, 1.5)
    """
    counts = [os.cpu_count() or 1]
    if hasattr(os, "sched_getaffinity"):
        counts.append(len(os.sched_getaffinity(0)))
    quota = _cgroup_cpus()
    if quota is not None:
        counts.append(math.ceil(quota))
    return max(1, min(counts))
