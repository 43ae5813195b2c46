"""The usable CPU count: host count, affinity and cgroup quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from amtools.core import machine


def test_a_cgroup_quota_caps_the_host_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("200000 100000\n")  # two CPUs' worth of time on a 64-CPU host
    monkeypatch.setattr(machine, "_CGROUP_V2", cpu_max)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert machine.usable_cpus() == 2
    cpu_max.write_text("150000 100000\n")  # one and a half: rounded up
    assert machine.usable_cpus() == 2
    cpu_max.write_text("max 100000\n")  # no quota: the affinity decides
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert machine.usable_cpus() == 3


def test_cgroup_v1_and_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quota, period = tmp_path / "cpu.cfs_quota_us", tmp_path / "cpu.cfs_period_us"
    quota.write_text("100000\n")
    period.write_text("100000\n")
    monkeypatch.setattr(machine, "_CGROUP_V2", tmp_path / "absent")
    monkeypatch.setattr(machine, "_CGROUP_V1", (quota, period))
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert machine.usable_cpus() == 1
    quota.write_text("-1\n")  # v1's "no limit"
    assert machine.usable_cpus() == 8
    assert machine._quota("garbage") is None and machine._quota("0 100000") is None
