"""The forecast engine's settings (params/policy/forecast.yaml), typed and checked.

The shipped ``params/policy/forecast.yaml`` is the one source of the defaults:
:func:`amtools.forecast.forecast` reads :meth:`ForecastSettings.load` for every option it
is not given, and the report context passes the same keys (:data:`OPTIONS`).

Example
-------
>>> s = ForecastSettings.from_mapping(
...     {"models": ["naive"], "folds": 2, "levels": [80], "reconcile": "none", "season_length": 12,
...      "selection_margin": 0.5}
... )
>>> s.models, s.levels, s.options()["reconcile"]
(('naive',), (80,), 'none')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amtools.core.errors import ParameterError
from amtools.core.settings.reader import check_keys, params_path, read_params

__all__ = ["ForecastSettings", "OPTIONS"]

STEM = "policy/forecast"
SOURCE = "params/policy/forecast.yaml"

OPTIONS = ("models", "folds", "levels", "reconcile", "season_length", "selection_margin")
"""The keys of params/policy/forecast.yaml, each a keyword of :func:`amtools.forecast.forecast`."""


@dataclass(frozen=True)
class ForecastSettings:
    """Model options of the forecast engine (params/policy/forecast.yaml).

    Attributes
    ----------
    models : registry names tried per series (``amtools.forecast.MODELS``).
    folds : rolling-origin backtest folds per series.
    levels : prediction interval coverages in percent (columns ``lo_<level>``/``hi_<level>``).
    reconcile : how managers are made to add up: ``auto`` or a method of
        ``amtools.forecast.RECONCILERS`` (the engine checks the name).
    season_length : months per season.
    selection_margin : share by which a series' own best model must beat the run's best
        model (the combination) in the backtest to be chosen instead (0 = pure per-series
        choice; below 1).
    """

    models: tuple[str, ...]
    folds: int
    levels: tuple[int, ...]
    reconcile: str
    season_length: int
    selection_margin: float

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = SOURCE) -> ForecastSettings:
        """Build the settings from the file's mapping; every key is required, none unknown.

        Raises
        ------
        ParameterError
            Naming ``source``, the key, the value and the fix.

        Example
        -------
        >>> ForecastSettings.from_mapping({"models": "naive"})
        Traceback (most recent call last):
        ...
        amtools.core.errors.ParameterError: params/policy/forecast.yaml: missing keys folds, levels, reconcile, season_length, selection_margin. Add the missing key (the shipped file has every key with a comment).
        """
        check_keys(raw, source=source, required=OPTIONS)
        models = raw["models"]
        if (
            isinstance(models, str)
            or not isinstance(models, list | tuple)
            or not models
            or not all(isinstance(n, str) for n in models)
        ):
            raise ParameterError(
                f"{source}: models must be a non-empty list of model names, got {models!r}; "
                "write e.g. models: [seasonal_naive, ets]"
            )
        levels = raw["levels"]
        if (
            not isinstance(levels, list | tuple)
            or not levels
            or not all(_is_int(lv) and 0 < lv < 100 for lv in levels)
        ):
            raise ParameterError(
                f"{source}: levels must be a list of whole percentages between 0 and 100, "
                f"got {levels!r}; write e.g. levels: [80, 95]"
            )
        reconcile = raw["reconcile"]
        if not isinstance(reconcile, str) or not reconcile:
            raise ParameterError(
                f"{source}: reconcile must be a method name such as auto or bottom_up, "
                f"got {reconcile!r}"
            )
        margin = raw["selection_margin"]
        if (
            isinstance(margin, bool)
            or not isinstance(margin, int | float)
            or not 0 <= float(margin) < 1
        ):
            raise ParameterError(
                f"{source}: selection_margin must be a share from 0 to below 1, got "
                f"{margin!r}; write e.g. selection_margin: 0.5"
            )
        return cls(
            models=tuple(models),
            folds=_positive_int(raw, "folds", source),
            levels=tuple(int(lv) for lv in levels),
            reconcile=str(reconcile),
            season_length=_positive_int(raw, "season_length", source),
            selection_margin=float(margin),
        )

    @classmethod
    def load(cls) -> ForecastSettings:
        """Read params/policy/forecast.yaml (a project's copy first, see :mod:`amtools.core.settings`).

        Example
        -------
        >>> "seasonal_naive" in ForecastSettings.load().models
        True
        """
        return cls.from_mapping(read_params(STEM), source=str(params_path(STEM)))

    def options(self) -> dict[str, Any]:
        """The settings as keyword arguments of :func:`amtools.forecast.forecast`.

        Example
        -------
        >>> sorted(ForecastSettings.load().options()) == sorted(OPTIONS)
        True
        """
        return {
            "models": list(self.models),
            "folds": self.folds,
            "levels": self.levels,
            "reconcile": self.reconcile,
            "season_length": self.season_length,
            "selection_margin": self.selection_margin,
        }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(raw: Mapping[str, Any], key: str, source: str) -> int:
    value = raw[key]
    if not _is_int(value) or value < 1:
        raise ParameterError(f"{source}: {key} must be a whole number >= 1, got {value!r}")
    return int(value)
