"""The accuracy history's settings (params/policy/forecast_history.yaml), typed and checked.

Example
-------
>>> s = HistorySettings.from_mapping(
...     {"origins": 4, "leads": [1, 3], "min_history": 24, "n_jobs": 1, "archive": "off"}
... )
>>> s.origins, s.leads, s.archive
(4, (1, 3), 'off')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amtools.core.errors import ParameterError
from amtools.core.settings.reader import check_keys, params_path, read_params

__all__ = ["HistorySettings", "KEYS", "STEM", "MIN_ORIGINS", "MAX_ORIGINS"]

STEM = "policy/forecast_history"
"""The parameter file's stem, for :func:`amtools.core.settings.read_params`."""
SOURCE = "params/policy/forecast_history.yaml"

KEYS = ("origins", "leads", "min_history", "n_jobs", "archive")
"""The keys of params/policy/forecast_history.yaml."""

MIN_ORIGINS, MAX_ORIGINS = 4, 8
"""The allowed range of ``origins`` (quarter ends backfilled)."""


@dataclass(frozen=True)
class HistorySettings:
    """How the accuracy history is backfilled and where the forecast archive lives.

    Attributes
    ----------
    origins : quarter ends backfilled (4-8).
    leads : lead times scored, months after the origin.
    min_history : months of history an origin needs before it.
    n_jobs : worker processes for the backfilled forecasts (0 = the usable CPUs).
    archive : ``"auto"`` (beside the data), ``"off"`` or a path of a DuckDB file.
    """

    origins: int
    leads: tuple[int, ...]
    min_history: int
    n_jobs: int
    archive: str

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = SOURCE) -> HistorySettings:
        """Build the settings from the file's mapping; every key is required, none unknown.

        Raises
        ------
        ParameterError
            Naming ``source``, the key, the value and the fix.

        Example
        -------
        >>> HistorySettings.from_mapping(
        ...     {"origins": 12, "leads": [1], "min_history": 24, "n_jobs": 1, "archive": "auto"}
        ... )
        Traceback (most recent call last):
        ...
        amtools.core.errors.ParameterError: params/policy/forecast_history.yaml: origins must be a whole number from 4 to 8, got 12; write e.g. origins: 4
        """
        check_keys(raw, source=source, required=KEYS)
        origins = raw["origins"]
        if not _is_int(origins) or not MIN_ORIGINS <= origins <= MAX_ORIGINS:
            raise ParameterError(
                f"{source}: origins must be a whole number from {MIN_ORIGINS} to {MAX_ORIGINS}, "
                f"got {origins!r}; write e.g. origins: 4"
            )
        leads = raw["leads"]
        if (
            not isinstance(leads, list | tuple)
            or not leads
            or not all(_is_int(v) and 1 <= v <= 24 for v in leads)
        ):
            raise ParameterError(
                f"{source}: leads must be a list of whole months from 1 to 24, got {leads!r}; "
                "write e.g. leads: [1, 3, 6]"
            )
        min_history = raw["min_history"]
        if not _is_int(min_history) or min_history < 3:
            raise ParameterError(
                f"{source}: min_history must be a whole number of months >= 3, "
                f"got {min_history!r}; write e.g. min_history: 24"
            )
        n_jobs = raw["n_jobs"]
        if not _is_int(n_jobs) or n_jobs < 0:
            raise ParameterError(
                f"{source}: n_jobs must be a whole number >= 0 (0 = the usable CPUs), "
                f"got {n_jobs!r}"
            )
        archive = raw["archive"]
        if not isinstance(archive, str) or not archive.strip():
            raise ParameterError(
                f"{source}: archive must be auto, off or the path of a DuckDB file, got {archive!r}"
            )
        return cls(
            origins=int(origins),
            leads=tuple(sorted({int(v) for v in leads})),
            min_history=int(min_history),
            n_jobs=int(n_jobs),
            archive=archive.strip(),
        )

    @classmethod
    def load(cls) -> HistorySettings:
        """Read params/policy/forecast_history.yaml (a project's copy first).

        Example
        -------
        >>> MIN_ORIGINS <= HistorySettings.load().origins <= MAX_ORIGINS
        True
        """
        return cls.from_mapping(read_params(STEM), source=str(params_path(STEM)))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
