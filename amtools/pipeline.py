"""The analysis chain of one period: load -> KPIs -> scores -> targets -> training -> forecast -> budget.

:func:`build` runs every stage once over a loaded :class:`~amtools.core.dataset.Dataset` and
returns the typed, frozen :class:`Results`. A stage that raises is recorded in
``Results.failures`` (the reports using it fail, the others render); a stage that ran but has
no result (no forecastable history, a budget that cannot be planned) is recorded in
``Results.unavailable`` with the reason. A :class:`~amtools.core.errors.ParameterError` (the
user's parameters or parameter files are wrong) is never caught: it stops the run.

The report packs (``amtools.render``) build their run context from :class:`Results`; this
module knows nothing of rendering.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from amtools import forecast as fc
from amtools.budget import BudgetPlan, plan, required_horizon
from amtools.core.dataset import Dataset
from amtools.core.errors import AmtoolsError, ParameterError
from amtools.core.messages import Message
from amtools.core.periods import FREQS, parse_period, period_freq, period_label
from amtools.core.problems import DataValidationError
from amtools.core.settings import read_params
from amtools.core.settings.budget import BudgetSettings
from amtools.core.settings.forecast import OPTIONS, ForecastSettings
from amtools.core.settings.history import HistorySettings
from amtools.core.vocab import DEFAULT_CURRENCY, LEVELS
from amtools.forecast import AccuracyHistory, ForecastResult
from amtools.kpi import compute_levels, resolve_targets, scorecard, scores, training_plan
from amtools.kpi.targets import Targets

__all__ = [
    "STAGES",
    "FORECAST_OPTIONS",
    "KpiTables",
    "Scoring",
    "Results",
    "build",
    "default_period",
    "history_periods",
    "error_text",
    "stage_reason",
]

log = logging.getLogger(__name__)

STAGES = ("kpis", "scores", "pipeline", "forecast", "budget", "history")
"""The stages of :func:`build`, in order (the keys of ``Results.failures`` / ``unavailable``)."""

FORECAST_OPTIONS = OPTIONS
"""Keys of params/policy/forecast.yaml passed to :func:`amtools.forecast.forecast`."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class KpiTables:
    """The KPI tables of the history up to the period, one per level (``amtools.kpi.compute``).

    Example
    -------
    >>> KpiTables.empty().manager.empty
    True
    """

    manager: pd.DataFrame
    team: pd.DataFrame
    segment: pd.DataFrame
    company: pd.DataFrame

    @classmethod
    def empty(cls) -> KpiTables:
        """Four empty tables (the KPI stage failed)."""
        return cls(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())


@dataclass(frozen=True)
class Scoring:
    """Scores against targets and the training plan (``amtools.kpi.scoring`` / ``training``).

    Attributes
    ----------
    scorecard : one row per manager and KPI: value, target, gap, score.
    scores : one row per manager: the overall score and rank.
    training : the training plan for the KPIs below target.
    targets : the resolved targets (None when no KPIs were measured or the stage failed).

    Example
    -------
    >>> Scoring.empty().scores.empty
    True
    """

    scorecard: pd.DataFrame
    scores: pd.DataFrame
    training: pd.DataFrame
    targets: Targets | None = None

    @classmethod
    def empty(cls) -> Scoring:
        """Empty tables (no KPIs, or the stage failed)."""
        return cls(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())


@dataclass(frozen=True)
class Results:
    """Everything computed for one period of one source.

    Attributes
    ----------
    dataset : the loaded, validated data.
    period : label of the reporting period ("2026Q3").
    freq : "Q", "M" or "Y".
    currency : the currency of the money columns (and of the training plan).
    history : the period labels the KPI tables cover, oldest first.
    kpis : :class:`KpiTables`.
    scoring : :class:`Scoring`.
    pipeline : pipeline-weighted near-term view (an empty frame when unavailable).
    forecast : the revenue :class:`~amtools.forecast.ForecastResult`, or None.
    budget : the next fiscal year's ``BudgetPlan``, or None.
    params : the parameters the results were computed with (reproducibility stamp).
    notes : what could not be computed and why, as Messages (or plain strings).
    failures : stage (one of :data:`STAGES`) -> error text, for a stage that raised.
    unavailable : stage -> the reason a stage ran but has no result.
    accuracy_history : the backfilled forecast accuracy
        (:class:`~amtools.forecast.AccuracyHistory`), or None when not asked for or unavailable.
    """

    dataset: Dataset
    period: str
    freq: str
    currency: str
    history: tuple[str, ...]
    kpis: KpiTables
    scoring: Scoring
    pipeline: pd.DataFrame
    forecast: ForecastResult | None
    budget: BudgetPlan | None
    params: dict[str, Any]
    notes: tuple[Message | str, ...] = ()
    failures: Mapping[str, str] = field(default_factory=dict)
    unavailable: Mapping[str, Message] = field(default_factory=dict)
    accuracy_history: AccuracyHistory | None = None


# -- the period ------------------------------------------------------------------------------


def _data_end(dataset: Dataset) -> pd.Timestamp | None:
    """The last date the activity data reaches (closed/created deals, activities)."""
    stamps: list[pd.Timestamp] = []
    for table, columns in (("deals", ("closed_date", "created_date")), ("activities", ("date",))):
        df = dataset.get(table)
        if df is None:
            continue
        for column in columns:
            if column in df:
                value = pd.to_datetime(df[column], errors="coerce").max()
                if pd.notna(value):
                    stamps.append(pd.Timestamp(value))
    return max(stamps) if stamps else None


def default_period(dataset: Dataset, freq: str = "Q", fiscal_year_start: int = 1) -> pd.Period:
    """The last complete period present in the data.

    Uses ``dataset.meta["period_end"]`` when the loader or generator set it, else the latest
    deal or activity date: the period containing it if that date is the period's last day,
    otherwise the period before.

    Example
    -------
    >>> import pandas as pd
    >>> from amtools.core.dataset import Dataset
    >>> ds = Dataset({}, meta={"period_end": pd.Timestamp("2026-09-30")})
    >>> str(default_period(ds))
    '2026Q3'
    """
    end = dataset.meta.get("period_end")
    end = pd.Timestamp(end) if end is not None and pd.notna(end) else _data_end(dataset)
    if end is None:
        raise ParameterError(
            "cannot tell the reporting period: the data has no deal or activity dates and "
            "dataset.meta has no 'period_end'; pass period='2026Q3'"
        )
    period = pd.Period(end, freq=period_freq(freq, fiscal_year_start))
    if end.normalize() < period.end_time.normalize():
        period -= 1
    return period


def history_periods(period: pd.Period, freq: str, history_quarters: int) -> list[str]:
    """The labels of the ``history_quarters`` quarters (in ``freq`` periods) up to ``period``.

    Example
    -------
    >>> import pandas as pd
    >>> history_periods(pd.Period("2026Q3", freq="Q"), "Q", 3)
    ['2026Q1', '2026Q2', '2026Q3']
    """
    n = {"Q": history_quarters, "M": history_quarters * 3, "Y": max(1, history_quarters // 4)}[freq]
    return [period_label(period - i) for i in range(max(1, n) - 1, -1, -1)]


def _target_period(
    dataset: Dataset, period: str | pd.Period | None, freq: str, fiscal: int
) -> pd.Period:
    """``period`` checked against the data (default: the last complete one)."""
    last = default_period(dataset, freq, fiscal)
    if period is None or str(period) == "":
        return last
    try:
        target = parse_period(period, fiscal)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    if period_freq(freq, fiscal).split("-")[0][0] != target.freqstr[0]:
        raise ParameterError(f"period {period!r} does not match frequency {freq!r}")
    if target > last:
        raise ParameterError(
            f"period {period_label(target)} is after the last complete period in the data "
            f"({period_label(last)}); choose {period_label(last)} or earlier"
        )
    return target


# -- settings --------------------------------------------------------------------------------


def _policy(name: str, params: Mapping[str, Any]) -> Any:
    """A policy from ``params`` (a dict override by name) or ``params/policy/<name>.yaml``.

    A missing or invalid file is a :class:`~amtools.core.errors.ParameterError` (never a
    silent default): the run stops with its message.
    """
    if name in params:
        return params[name]
    return read_params(f"policy/{name}")


def _forecast_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """Model options of params/policy/forecast.yaml (:class:`ForecastSettings`, checked there)
    with ``params["forecast_models"]`` merged over them key by key.

    An unknown override key is an error (a misspelt option must not be silently ignored).
    """
    override = params.get("forecast_models") or {}
    if not isinstance(override, dict):
        raise ParameterError(
            f"params['forecast_models'] must be a mapping of forecast options, got {override!r}"
        )
    unknown = sorted(set(override) - set(OPTIONS))
    if unknown:
        raise ParameterError(
            f"params['forecast_models']: unknown option(s) {', '.join(unknown)}; "
            f"use {', '.join(OPTIONS)}"
        )
    options = {**ForecastSettings.load().options(), **override}
    return {k: v for k, v in options.items() if v is not None}


# -- stage errors ----------------------------------------------------------------------------


def error_text(exc: BaseException) -> str:
    """One line for an error: the message of an AmtoolsError, else ``Type: message``.

    Example
    -------
    >>> error_text(ValueError("bad value"))
    'ValueError: bad value'
    >>> error_text(ParameterError("period 2031Q1 is after the data"))
    'period 2031Q1 is after the data'
    """
    text = str(exc).strip()
    if isinstance(exc, AmtoolsError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def stage_reason(exc: BaseException) -> Any:
    """What a stage's note says about ``exc``: its Message when it carries one, else text.

    A :class:`~amtools.core.problems.DataValidationError` gives its first finding (rendered
    in the pack's language by ``Problem.text``).

    Example
    -------
    >>> stage_reason(AmtoolsError("deals have no open pipeline"))
    'deals have no open pipeline'
    """
    message = getattr(exc, "message", None)
    if isinstance(message, Message):
        return message
    if isinstance(exc, DataValidationError) and exc.problems:
        return (exc.errors or list(exc.problems))[0]
    return error_text(exc)


def _stage(name: str, failures: dict[str, str], compute: Callable[[], _T], fallback: _T) -> _T:
    """Run one stage; an exception becomes ``failures[name]`` and ``fallback``.

    A :class:`~amtools.core.errors.ParameterError` (the user's parameters are wrong) is raised:
    the run stops with that message before any report renders.
    """
    try:
        return compute()
    except ParameterError:
        raise
    except Exception as exc:  # any other failure is listed against the reports needing it
        log.debug("pipeline: %s failed", name, exc_info=True)
        failures[name] = error_text(exc)
        return fallback


def _optional(
    name: str,
    compute: Callable[[], _T],
    *,
    notes: list[Message | str],
    failures: dict[str, str],
    unavailable: dict[str, Message],
    expected: tuple[type[BaseException], ...] = (AmtoolsError,),
    raised: tuple[type[BaseException], ...] = (ParameterError,),
) -> _T | None:
    """Run a stage the pack can do without; ``None`` when it cannot run.

    ``raised`` errors stop the run; ``expected`` ones (the data cannot support the stage) make it
    unavailable, with a note in the pack language (``run.note.<name>``); any other exception is
    a failure listed against the reports that read the stage.
    """
    try:
        return compute()
    except raised:
        raise
    except expected as exc:
        unavailable[name] = Message(f"run.note.{name}", {"reason": stage_reason(exc)})
        notes.append(unavailable[name])
    except Exception as exc:
        log.debug("pipeline: %s failed", name, exc_info=True)
        failures[name] = error_text(exc)
    return None


# -- the stages ------------------------------------------------------------------------------


def _compute_kpis(
    dataset: Dataset,
    history: list[str],
    freq: str,
    fiscal: int,
    params: Mapping[str, Any],
    used: dict[str, Any],
) -> KpiTables:
    kpi_params = _policy("kpi", params)
    used["kpi"] = kpi_params
    # One call: the four levels share the engine's preparation (ids, dates, won deals).
    tables = compute_levels(
        dataset,
        freq=freq,
        periods=history,
        fiscal_year_start=fiscal,
        levels=LEVELS,
        params=kpi_params,
    )
    return KpiTables(*(tables[level] for level in LEVELS))


def _compute_scores(
    dataset: Dataset,
    kpis: pd.DataFrame,
    period: str,
    currency: str,
    params: Mapping[str, Any],
    notes: list[Message | str],
    used: dict[str, Any],
) -> Scoring:
    if kpis.empty:
        notes.append(Message("kpi_note.no_kpis"))
        return Scoring.empty()
    # targets belong to a source: data table > params > mapping file > demo only > none
    targets = resolve_targets(dataset, dict(params))
    profiles = _policy("kpi_profiles", params)
    used.update(
        targets=targets.mapping if targets.mapping is not None else targets.fallback_source,
        target_source=targets.source,
        kpi_profiles=profiles,
    )
    if targets.file:
        used["targets_file"] = targets.file
    card = scorecard(kpis, dataset.managers, targets=targets, profiles=profiles)
    if targets.source == "none":
        notes.append(Message("kpi_note.no_targets"))
    elif targets.history:
        notes.append(Message("kpi_note.history_targets", {"growth": f"{targets.growth:.0%}"}))
    manager_scores = scores(card)
    catalog = _policy("training_catalog", params)
    used["training_catalog"] = catalog
    training = training_plan(
        card,
        trainings=dataset.get("trainings"),
        catalog=catalog,
        period=period,
        currency=currency,
    )
    return Scoring(card, manager_scores, training, targets)


def _compute_pipeline(
    dataset: Dataset,
    end: pd.Timestamp,
    notes: list[Message | str],
    failures: dict[str, str],
    unavailable: dict[str, Message],
) -> pd.DataFrame:
    def view() -> pd.DataFrame:
        with warnings.catch_warnings(record=True):  # undated deals: told once, as a note
            warnings.simplefilter("always")
            frame = fc.pipeline_view(dataset, asof=end)
        if frame.attrs.get("undated_open_deals"):
            notes.append(
                Message("run.note.pipeline_undated", {"n": frame.attrs["undated_open_deals"]})
            )
        return frame

    found = _optional("pipeline", view, notes=notes, failures=failures, unavailable=unavailable)
    return pd.DataFrame() if found is None else found


def _compute_forecast(
    dataset: Dataset,
    end: pd.Timestamp,
    horizon: int,
    params: Mapping[str, Any],
    notes: list[Message | str],
    used: dict[str, Any],
    failures: dict[str, str],
    unavailable: dict[str, Message],
) -> tuple[ForecastResult | None, Any]:
    """The revenue forecast and the budget policy it was made long enough for."""
    # The budget policy: the file (read and checked by BudgetSettings, which also unwraps a
    # file that nests it under `policy:`) with params["budget"] merged over it by plan().
    override = params.get("budget")
    policy = {**BudgetSettings.load().as_dict(), **(override or {})}
    # Forecast far enough for the budget to cover the whole next fiscal year.
    horizon = max(horizon, required_horizon(end, int(policy.get("fiscal_year_start", 1))))
    used["budget"] = policy
    # Model options come from params/policy/forecast.yaml (params["forecast_models"]
    # overrides it key by key); params/reports/forecast.yaml is the forecast notebook's display
    # parameters and is never read as model options.
    options = _forecast_options(params)
    used["forecast_models"] = options
    used["forecast_horizon"] = horizon
    result = _optional(
        "forecast",
        lambda: fc.forecast(fc.monthly_series(dataset, "revenue", end=end), h=horizon, **options),
        notes=notes,
        failures=failures,
        unavailable=unavailable,
        expected=(AmtoolsError, ValueError),
    )
    return result, override


def _compute_history(
    dataset: Dataset,
    end: pd.Timestamp,
    params: Mapping[str, Any],
    used: dict[str, Any],
    notes: list[Message | str],
    failures: dict[str, str],
    unavailable: dict[str, Message],
) -> AccuracyHistory | None:
    """The accuracy history: the run's forecast method backfilled at past quarter ends."""
    override = params.get("forecast_history") or {}
    if not isinstance(override, dict):
        raise ParameterError(
            f"params['forecast_history'] must be a mapping of accuracy-history settings, "
            f"got {override!r}"
        )
    settings = HistorySettings.load()
    if override:
        settings = HistorySettings.from_mapping(
            {**vars(settings), **override}, source="params['forecast_history']"
        )
    used["forecast_history"] = {**vars(settings), "leads": list(settings.leads)}
    options = used.get("forecast_models") or _forecast_options(params)
    return _optional(
        "history",
        lambda: fc.accuracy_history(
            fc.monthly_series(dataset, "revenue", end=end),
            origins=settings.origins,
            leads=settings.leads,
            min_history=settings.min_history,
            n_jobs=settings.n_jobs,
            options=options,
        ),
        notes=notes,
        failures=failures,
        unavailable=unavailable,
        expected=(AmtoolsError, ValueError),
    )


def _compute_budget(
    dataset: Dataset,
    result: ForecastResult | None,
    policy: Any,
    manager_scores: pd.DataFrame,
    notes: list[Message | str],
    failures: dict[str, str],
    unavailable: dict[str, Message],
) -> BudgetPlan | None:
    if result is None:
        if "forecast" in failures:
            failures["budget"] = failures["forecast"]
        else:
            unavailable["budget"] = Message(
                "run.note.budget", {"reason": Message("run.reason.no_forecast")}
            )
        return None
    # a budget ParameterError (an impossible policy) makes the budget unavailable, as before
    return _optional(
        "budget",
        lambda: plan(
            result,
            dataset,
            policy=policy,
            scores=manager_scores if not manager_scores.empty else None,
        ),
        notes=notes,
        failures=failures,
        unavailable=unavailable,
        raised=(),
    )


def build(
    dataset: Dataset,
    period: str | pd.Period | None = None,
    *,
    freq: str = "Q",
    currency: str | None = None,
    history_quarters: int = 8,
    forecast_horizon: int = 12,
    params: Mapping[str, Any] | None = None,
    accuracy_history: bool = False,
) -> Results:
    """Run every stage of the analysis for one period, once.

    Parameters
    ----------
    dataset : the loaded and validated data.
    period : the reporting period ("2026Q3"); default: the last complete one in the data.
    freq : KPI period frequency ("Q", "M", "Y").
    currency : the currency of the training plan; default ``dataset.meta["currency"]`` or RUB.
    history_quarters : how many quarters of KPI history to compute (trends in reviews).
    forecast_horizon : months to forecast (at least the months the budget's next fiscal year
        needs); 0 skips the forecast and the budget.
    params : overrides of the policy files by name (``targets``, ``kpi_profiles``,
        ``training_catalog``, ``budget``, ``kpi``, ``forecast_models``, ``forecast_history``)
        and ``fiscal_year_start``.
    accuracy_history : also backfill the forecast at past quarter ends and score it
        (``Results.accuracy_history``; a few more forecast runs: only when a report shows it).

    Returns
    -------
    Results

    Raises
    ------
    ParameterError
        For an unknown frequency, a period outside the data, or a missing or invalid
        parameter file.

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> results = build(make_demo(n_managers=6))  # doctest: +SKIP
    >>> results.period, sorted(results.failures)  # doctest: +SKIP
    ('2026Q3', [])
    """
    if freq not in FREQS:
        raise ParameterError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)}")
    params = dict(params or {})
    fiscal = int(params.get("fiscal_year_start", 1))
    target = _target_period(dataset, period, freq, fiscal)
    label = period_label(target)
    currency = currency or str(dataset.meta.get("currency") or DEFAULT_CURRENCY)
    notes: list[Message | str] = []
    failures: dict[str, str] = {}
    unavailable: dict[str, Message] = {}
    history = history_periods(target, freq, history_quarters)
    used: dict[str, Any] = {"history": history, "forecast_horizon": forecast_horizon}

    kpis = _stage(
        "kpis",
        failures,
        lambda: _compute_kpis(dataset, history, freq, fiscal, params, used),
        KpiTables.empty(),
    )
    if "kpis" in failures:
        scoring = Scoring.empty()
        failures["scores"] = failures["kpis"]
    else:
        score_notes: list[Message | str] = []
        scoring = _stage(
            "scores",
            failures,
            lambda: _compute_scores(
                dataset, kpis.manager, label, currency, params, score_notes, used
            ),
            Scoring.empty(),
        )
        notes.extend(score_notes)
    end = target.end_time.normalize()
    pipeline = _compute_pipeline(dataset, end, notes, failures, unavailable)
    forecast: ForecastResult | None = None
    budget: BudgetPlan | None = None
    if forecast_horizon > 0:
        forecast, policy = _compute_forecast(
            dataset, end, forecast_horizon, params, notes, used, failures, unavailable
        )
        budget = _compute_budget(
            dataset, forecast, policy, scoring.scores, notes, failures, unavailable
        )
    history_result: AccuracyHistory | None = None
    if accuracy_history and forecast is not None:
        history_result = _compute_history(dataset, end, params, used, notes, failures, unavailable)
    return Results(
        dataset=dataset,
        period=label,
        freq=freq,
        currency=currency,
        history=tuple(history),
        kpis=kpis,
        scoring=scoring,
        pipeline=pipeline,
        forecast=forecast,
        budget=budget,
        params={**used, "fiscal_year_start": fiscal},
        notes=tuple(notes),
        failures=failures,
        unavailable=unavailable,
        accuracy_history=history_result,
    )
