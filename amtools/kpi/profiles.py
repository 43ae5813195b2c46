"""KPI weight profiles and scoring settings (``params/policy/kpi_profiles.yaml``), checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from amtools.core.errors import ParameterError, PolicyError
from amtools.core.paths import DEFAULT_PARAMS_DIR
from amtools.core.settings import read_params
from amtools.core.vocab import SEGMENTS
from amtools.kpi.registry import KPIS

__all__ = ["check_kpi_ids", "profile_weights", "scoring_settings"]


def check_kpi_ids(ids: object, where: str) -> None:
    """Refuse KPI ids the registry does not know, naming ``where`` they were found.

    Example
    -------
    >>> check_kpi_ids(["sales_volume"], "params/policy/kpi_profiles.yaml")
    """
    unknown = sorted({str(k) for k in ids} - set(KPIS))  # type: ignore[attr-defined]
    if unknown:
        raise ParameterError(
            f"{where} names unknown KPI id(s) {unknown}; known ids: {', '.join(KPIS)}. "
            "Fix the id (see amtools.kpi.registry.KPIS)."
        )


SHIPPED_PROFILES = DEFAULT_PARAMS_DIR / "policy" / "kpi_profiles.yaml"
"""The profiles file shipped with amtools: its ``scoring`` section is the one source of the
scoring settings' defaults (a project's file or a mapping may set only some of them)."""


def _shipped_scoring() -> dict[str, Any]:
    return dict(read_params(SHIPPED_PROFILES).get("scoring") or {})


def scoring_settings(profiles: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the scoring settings of a profiles mapping, checked; a key it does not set takes
    the value of the shipped ``params/policy/kpi_profiles.yaml``.

    Parameters
    ----------
    profiles : the mapping of ``params/policy/kpi_profiles.yaml`` (read when ``None``).

    Example
    -------
    >>> scoring_settings({"scoring": {"attainment_cap": 1.5}})["attainment_cap"]
    1.5
    """
    profiles = read_params("policy/kpi_profiles") if profiles is None else profiles
    raw = profiles.get("scoring") or {}
    defaults = _shipped_scoring()
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise ParameterError(
            f"params/policy/kpi_profiles.yaml: unknown scoring setting(s) {unknown}; "
            f"allowed: {', '.join(defaults)}"
        )
    settings = {**defaults, **raw}
    checks = [
        ("attainment_cap", settings["attainment_cap"] >= 1, "a number >= 1"),
        (
            "full_marks_at",
            0 < settings["full_marks_at"] <= settings["attainment_cap"],
            "a number in (0, attainment_cap]",
        ),
        ("attainment_share", 0 <= settings["attainment_share"] <= 1, "a number in [0, 1]"),
        ("min_peers", settings["min_peers"] >= 2, "an integer >= 2"),
        ("min_coverage", 0 <= settings["min_coverage"] <= 1, "a number in [0, 1]"),
    ]
    for name, ok, what in checks:
        if not ok:
            raise ParameterError(
                f"params/policy/kpi_profiles.yaml: scoring.{name} = {settings[name]!r} must be {what}"
            )
    offsets = settings["attainment_offsets"] or {}
    check_kpi_ids(offsets, "params/policy/kpi_profiles.yaml scoring.attainment_offsets")
    bad = {k: v for k, v in offsets.items() if not isinstance(v, int | float) or v < 0}
    if bad:
        raise ParameterError(
            "params/policy/kpi_profiles.yaml: scoring.attainment_offsets must map KPI ids to numbers >= 0, "
            f"got {bad}"
        )
    settings["attainment_offsets"] = {k: float(v) for k, v in offsets.items()}
    return settings


def profile_weights(profiles: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Return the KPI weights of every segment profile as a tidy frame.

    Parameters
    ----------
    profiles : the mapping of ``params/policy/kpi_profiles.yaml`` (read when ``None``):
        ``{segment: {"weights": {kpi_id: weight, ...}}, "scoring": {...}}``.

    Returns
    -------
    DataFrame with columns segment, kpi, weight (registry order within a segment).

    Raises
    ------
    PolicyError
        On an unknown segment, unknown KPI id, negative weight or an all-zero profile.

    Example
    -------
    >>> w = profile_weights({"B2C": {"weights": {"sales_volume": 0.6, "conversion_rate": 0.4}}})
    >>> float(w["weight"].sum())
    1.0
    """
    profiles = read_params("policy/kpi_profiles") if profiles is None else profiles
    rows = []
    for segment, spec in profiles.items():
        if segment == "scoring":
            continue
        if segment not in SEGMENTS:
            raise PolicyError(
                f"params/policy/kpi_profiles.yaml: unknown segment {segment!r}; use one of {', '.join(SEGMENTS)}"
            )
        weights = (spec or {}).get("weights") or {}
        unknown = sorted(set(weights) - set(KPIS))
        if unknown:
            raise PolicyError(
                f"params/policy/kpi_profiles.yaml: {segment}.weights names unknown KPI id(s) {unknown}; "
                f"known ids: {', '.join(KPIS)}"
            )
        bad = {k: w for k, w in weights.items() if not isinstance(w, int | float) or w < 0}
        if bad:
            raise PolicyError(
                f"params/policy/kpi_profiles.yaml: {segment}.weights must be numbers >= 0, got {bad}"
            )
        if weights and sum(weights.values()) <= 0:
            raise PolicyError(f"params/policy/kpi_profiles.yaml: {segment}.weights are all zero")
        for kpi_id in KPIS:
            if kpi_id in weights:
                rows.append((segment, kpi_id, float(weights[kpi_id])))
    return pd.DataFrame(rows, columns=["segment", "kpi", "weight"]).astype(
        {"segment": "string", "kpi": "string", "weight": "float64"}
    )
