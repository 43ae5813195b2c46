"""The run context: everything a report pack needs, computed once and shared with every notebook."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
import threading
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from amtools import __version__
from amtools.core.vocab import DEFAULT_CURRENCY
from amtools.core.dataset import Dataset
from amtools.core.errors import AmtoolsError, ParameterError
from amtools.core.problems import DataValidationError, Problem
from amtools.core.i18n import check_lang
from amtools.core.messages import Message, render
from amtools.core.periods import FREQS, parse_period, period_freq, period_label

__all__ = [
    "RunContext",
    "build_context",
    "save_context",
    "load_context",
    "open_context",
    "default_period",
    "CONTEXT_FILE",
    "META_FILE",
    "STAGES",
    "note_text",
]

log = logging.getLogger(__name__)

CONTEXT_FILE = "context.pkl"
META_FILE = "meta.json"
_FORMAT = 2  # bump when the saved layout changes

STAGES = ("kpis", "scores", "pipeline", "forecast", "budget")
"""The parts of the run context, in build order (``RunContext.failures`` / ``unavailable`` keys)."""


@dataclasses.dataclass
class RunContext:
    """The data and results of one report run (one period, one source).

    Built once by :func:`build_context` (the runner saves it next to the reports), then
    opened by every notebook with :func:`amtools.render.notebooks.open_context`.

    Attributes
    ----------
    dataset : the loaded, validated :class:`~amtools.core.dataset.Dataset`.
    period : label of the reporting period ("2026Q3").
    freq : "Q", "M" or "Y".
    lang, currency : display language and currency code.
    source : where the data came from (``dataset.source``).
    fingerprint : short hash of the data (:meth:`Dataset.fingerprint`).
    kpis : manager-level KPI table for the history up to ``period`` (see :func:`amtools.kpi.compute`).
    kpis_team, kpis_segment, kpis_company : the same rolled up.
    scorecard, scores, training : from ``amtools.kpi.scoring`` / ``training``.
    forecast : ``ForecastResult`` or ``None`` when forecasting is unavailable.
    pipeline : pipeline-weighted near-term view (or an empty frame).
    budget : ``BudgetPlan`` or ``None``.
    params : the parameters the results were computed with (reproducibility stamp).
    generated_at : UTC time of the build.
    version : amtools version.
    notes : what could not be computed and why (shown on the index page):
        :class:`~amtools.core.messages.Message` objects (or plain strings), rendered in the pack
        language with :func:`amtools.core.messages.render`.
    failures : stage (one of :data:`STAGES`) -> error text, for a stage that raised while
        being built; the runner lists every report that uses it as failed.
    unavailable : stage -> the reason (a Message) a stage has no result although it ran
        (no forecastable history, a budget that cannot be planned): reports render and the
        index shows "rendered — <reason>".
    """

    dataset: Dataset
    period: str
    freq: str
    lang: str
    currency: str
    source: str
    fingerprint: str
    kpis: pd.DataFrame
    kpis_team: pd.DataFrame
    kpis_segment: pd.DataFrame
    kpis_company: pd.DataFrame
    scorecard: pd.DataFrame
    scores: pd.DataFrame
    training: pd.DataFrame
    forecast: Any
    pipeline: pd.DataFrame
    budget: Any
    params: dict[str, Any]
    generated_at: pd.Timestamp
    version: str
    notes: list[Message | str] = dataclasses.field(default_factory=list)
    failures: dict[str, str] = dataclasses.field(default_factory=dict)
    unavailable: dict[str, Message] = dataclasses.field(default_factory=dict)

    # -- conveniences for notebooks -------------------------------------------------
    @property
    def managers(self) -> pd.DataFrame:
        """The managers table."""
        return self.dataset.managers

    @property
    def problems(self) -> list[Any]:
        """Data-quality warnings found while loading (``dataset.meta["problems"]``)."""
        return list(self.dataset.meta.get("problems", []))

    @property
    def periods(self) -> list[str]:
        """The period labels the KPI tables cover, oldest first."""
        if self.kpis.empty:
            return [self.period]
        return sorted(self.kpis["period"].astype(str).unique(), key=parse_period)

    def t(self, key: str, **fmt: Any) -> str:
        """:func:`amtools.core.i18n.t` in the context's language."""
        from amtools.core.i18n import t

        return t(key, self.lang, **fmt)

    def fmt_currency(self, x: Any, **kw: Any) -> str:
        """:func:`amtools.core.i18n.fmt_currency` in the context's language and currency."""
        from amtools.core.i18n import fmt_currency

        return fmt_currency(x, self.lang, self.currency, **kw)

    def fmt_kpi_value(self, kpi_id: str, value: Any) -> str:
        """:func:`amtools.kpi.format.fmt_kpi_value` in the context's language and currency."""
        from amtools.kpi.format import fmt_kpi_value

        return fmt_kpi_value(kpi_id, value, self.lang, self.currency)

    def kpi_name(self, kpi_id: str) -> str:
        """:func:`amtools.kpi.format.kpi_name` in the context's language."""
        from amtools.kpi.format import kpi_name

        return kpi_name(kpi_id, self.lang)

    def with_lang(self, lang: str) -> RunContext:
        """The same results shown in another language (nothing is recomputed)."""
        return dataclasses.replace(self, lang=check_lang(lang))

    def meta(self) -> dict[str, Any]:
        """JSON-friendly description of the run (written next to the saved context)."""
        return {
            "format": _FORMAT,
            "period": self.period,
            "freq": self.freq,
            "lang": self.lang,
            "currency": self.currency,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "generated_at": self.generated_at.isoformat(),
            "version": self.version,
            "params": _jsonable(self.params),
            "notes": [note_text(note, "en") for note in self.notes],
            "failures": dict(self.failures),
            "unavailable": {k: note_text(v, "en") for k, v in self.unavailable.items()},
            "managers": int(len(self.dataset.managers)) if "managers" in self.dataset else 0,
        }

    def __repr__(self) -> str:
        return (
            f"<RunContext {self.period} {self.lang} {self.currency} source={self.source!r} "
            f"kpis={len(self.kpis):,} rows, forecast={'yes' if self.forecast is not None else 'no'}, "
            f"budget={'yes' if self.budget is not None else 'no'}>"
        )


def _jsonable(value: Any) -> Any:
    """Make ``value`` JSON-serialisable (params may hold dates, numpy numbers, tuples)."""
    return json.loads(json.dumps(value, default=str))


# -- building --------------------------------------------------------------------------


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


def _history(period: pd.Period, freq: str, history_quarters: int) -> list[str]:
    n = {"Q": history_quarters, "M": history_quarters * 3, "Y": max(1, history_quarters // 4)}[freq]
    return [period_label(period - i) for i in range(max(1, n) - 1, -1, -1)]


def _read_param(name: str, params: dict[str, Any]) -> Any:
    """A parameter set from ``params`` (a dict override) or ``params/policy/<name>.yaml`` (or None)."""
    if name in params:
        return params[name]
    from amtools.core.settings import read_params

    try:
        return read_params(f"policy/{name}")
    except ParameterError:
        return None


def build_context(
    dataset: Dataset,
    period: str | pd.Period | None = None,
    *,
    lang: str = "en",
    currency: str | None = None,
    freq: str = "Q",
    history_quarters: int = 8,
    forecast_horizon: int = 12,
    params: dict[str, Any] | None = None,
) -> RunContext:
    """Compute everything a report pack needs, once.

    Parameters
    ----------
    dataset : the loaded and validated data.
    period : the reporting period ("2026Q3"); default: the last complete one in the data.
    lang : "en" or "ru".
    currency : display currency; default ``dataset.meta["currency"]`` or RUB.
    freq : KPI period frequency ("Q", "M", "Y").
    history_quarters : how many quarters of KPI history to compute (trends in reviews).
    forecast_horizon : months to forecast (at least the months the budget's next fiscal year
        needs); 0 skips the forecast and the budget (reports that do not use them).
    params : overrides of the parameter files by name (``targets``, ``kpi_profiles``,
        ``training_catalog``, ``budget``, ``kpi``, ``forecast_models``) and ``fiscal_year_start``.

    Returns
    -------
    RunContext

    Raises
    ------
    ParameterError
        For an unknown language or frequency, or a period outside the data.

    Example
    -------
    >>> from amtools.demo import make_demo
    >>> ctx = build_context(make_demo(n_managers=6), lang="ru")  # doctest: +SKIP
    >>> ctx.period  # doctest: +SKIP
    '2026Q3'
    """
    check_lang(lang)
    if freq not in FREQS:
        raise ParameterError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)}")
    params = dict(params or {})
    fiscal = int(params.get("fiscal_year_start", 1))
    last = default_period(dataset, freq, fiscal)
    if period is None or str(period) == "":
        target = last
    else:
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
    label = period_label(target)
    currency = currency or str(dataset.meta.get("currency") or DEFAULT_CURRENCY)
    notes: list[Message | str] = []
    failures: dict[str, str] = {}
    unavailable: dict[str, Message] = {}
    history = _history(target, freq, history_quarters)
    used: dict[str, Any] = {"history": history, "forecast_horizon": forecast_horizon}

    empty = pd.DataFrame()
    kpis, kpis_team, kpis_segment, kpis_company = _stage(
        "kpis",
        failures,
        lambda: _compute_kpis(dataset, history, freq, fiscal, params, notes, used),
        (empty, empty, empty, empty),
    )
    if "kpis" in failures:
        scorecard, scores, training = empty, empty, empty
        failures["scores"] = failures["kpis"]
    else:
        score_notes: list[str] = []
        scorecard, scores, training = _stage(
            "scores",
            failures,
            lambda: _compute_scores(dataset, kpis, label, currency, params, score_notes, used),
            (empty, empty, empty),
        )
        notes.extend(score_notes)
    forecast, pipeline, budget = _compute_plans(
        dataset, target, forecast_horizon, scores, params, notes, used, failures, unavailable
    )
    return RunContext(
        dataset=dataset,
        period=label,
        freq=freq,
        lang=lang,
        currency=currency,
        source=dataset.source,
        fingerprint=dataset.fingerprint(),
        kpis=kpis,
        kpis_team=kpis_team,
        kpis_segment=kpis_segment,
        kpis_company=kpis_company,
        scorecard=scorecard,
        scores=scores,
        training=training,
        forecast=forecast,
        pipeline=pipeline,
        budget=budget,
        params=_jsonable({**used, "fiscal_year_start": fiscal}),
        generated_at=pd.Timestamp.now(tz="UTC").floor("s"),
        version=__version__,
        notes=notes,
        failures=failures,
        unavailable=unavailable,
    )


def note_text(note: Message | str, lang: str) -> str:
    """A note in ``lang``; arguments that are Messages themselves are rendered first.

    Example
    -------
    >>> note_text(Message("run.note.budget", {"reason": Message("run.reason.no_forecast")}), "en")
    'Budget not planned: there is no forecast to plan from'
    """
    if isinstance(note, Message):
        args = {
            k: note_text(v, lang) if isinstance(v, Message) else _text_of(v, lang)
            for k, v in note.args.items()
        }
        return render(Message(note.key, args), lang)
    return render(note, lang)


def _text_of(value: Any, lang: str) -> Any:
    """A data-quality finding (:class:`~amtools.core.problems.Problem`) in ``lang``; else as is."""
    return value.text(lang) if isinstance(value, Problem) else value


def _error_text(exc: BaseException) -> str:
    """One line for an error: the message of an AmtoolsError, else ``Type: message``."""
    text = str(exc).strip()
    if isinstance(exc, AmtoolsError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reason(exc: BaseException) -> Any:
    """What a stage's note says about ``exc``: its Message when it carries one, else text."""
    message = getattr(exc, "message", None)
    if isinstance(message, Message):
        return message
    if isinstance(exc, DataValidationError) and exc.problems:
        # the finding itself: it is rendered in the pack language (Problem.text)
        return (exc.errors or list(exc.problems))[0]
    return _error_text(exc)


def _stage(name: str, failures: dict[str, str], build: Any, fallback: Any) -> Any:
    """Run one stage of the context; an exception becomes ``failures[name]`` and ``fallback``.

    A :class:`~amtools.core.errors.ParameterError` (the user's parameters are wrong) is raised:
    the run stops with that message before any report renders.
    """
    try:
        return build()
    except ParameterError:
        raise
    except Exception as exc:  # any other failure is listed against the reports needing it
        log.debug("run context: %s failed", name, exc_info=True)
        failures[name] = _error_text(exc)
        return fallback


def _compute_kpis(
    dataset: Dataset,
    history: list[str],
    freq: str,
    fiscal: int,
    params: dict[str, Any],
    notes: list[Message | str],
    used: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from amtools.kpi import compute_levels

    kpi_params = _read_param("kpi", params)
    used["kpi"] = kpi_params
    # One call: the four levels share the engine's preparation (ids, dates, won deals).
    tables = compute_levels(
        dataset,
        freq=freq,
        periods=history,
        fiscal_year_start=fiscal,
        levels=("manager", "team", "segment", "company"),
        params=kpi_params,
    )
    return tables["manager"], tables["team"], tables["segment"], tables["company"]


def _compute_scores(
    dataset: Dataset,
    kpis: pd.DataFrame,
    period: str,
    currency: str,
    params: dict[str, Any],
    notes: list[Any],
    used: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from amtools.kpi import scoring, training
    from amtools.kpi.targets import resolve_targets
    from amtools.core.messages import Message

    if kpis.empty:
        notes.append(Message("kpi_note.no_kpis"))
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    # targets belong to a source: data table > params > mapping file > demo only > none
    targets = resolve_targets(dataset, params)
    profiles = _read_param("kpi_profiles", params)
    used.update(
        targets=targets.mapping if targets.mapping is not None else targets.fallback_source,
        target_source=targets.source,
        kpi_profiles=profiles,
    )
    if targets.file:
        used["targets_file"] = targets.file
    card = scoring.scorecard(kpis, dataset.managers, targets=targets, profiles=profiles)
    if targets.source == "none":
        notes.append(Message("kpi_note.no_targets"))
    elif targets.history:
        notes.append(Message("kpi_note.history_targets", {"growth": f"{targets.growth:.0%}"}))
    manager_scores = scoring.scores(card)
    catalog = _read_param("training_catalog", params)
    used["training_catalog"] = catalog
    plan = training.training_plan(
        card,
        trainings=dataset.get("trainings"),
        catalog=catalog,
        period=period,
        currency=currency,
    )
    return card, manager_scores, plan


FORECAST_OPTIONS = ("models", "folds", "levels", "reconcile", "season_length")
"""Keys of params/policy/forecast.yaml passed to :func:`amtools.forecast.forecast`."""


def _forecast_options(params: dict[str, Any]) -> dict[str, Any]:
    """Model options from params/policy/forecast.yaml merged with ``params["forecast_models"]``.

    Unknown keys are an error (a misspelt option must not be silently ignored); the
    reconciliation defaults to ``"auto"`` (the method that backtests best).
    """
    from amtools.core.settings import params_path, read_params

    options: dict[str, Any] = {"reconcile": "auto"}
    if params_path("policy/forecast").is_file():
        options.update(read_params("policy/forecast") or {})
    override = params.get("forecast_models") or {}
    if not isinstance(override, dict):
        raise ParameterError(
            f"params['forecast_models'] must be a mapping of forecast options, got {override!r}"
        )
    options.update(override)
    unknown = sorted(set(options) - set(FORECAST_OPTIONS))
    if unknown:
        raise ParameterError(
            f"params/policy/forecast.yaml: unknown option(s) {', '.join(unknown)}; "
            f"use {', '.join(FORECAST_OPTIONS)}"
        )
    return {k: v for k, v in options.items() if v is not None}


def _compute_plans(
    dataset: Dataset,
    period: pd.Period,
    horizon: int,
    scores: pd.DataFrame,
    params: dict[str, Any],
    notes: list[Message | str],
    used: dict[str, Any],
    failures: dict[str, str],
    unavailable: dict[str, Message],
) -> tuple[Any, pd.DataFrame, Any]:
    from amtools import budget as budgeting
    from amtools import forecast as fc

    end = period.end_time.normalize()
    pipeline = pd.DataFrame()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pipeline = fc.pipeline_view(dataset, asof=end)
        del caught  # the undated deals are told once, as a note in the pack language
        if pipeline.attrs.get("undated_open_deals"):
            notes.append(
                Message("run.note.pipeline_undated", {"n": pipeline.attrs["undated_open_deals"]})
            )
    except ParameterError:
        raise
    except AmtoolsError as exc:
        unavailable["pipeline"] = Message("run.note.pipeline", {"reason": _reason(exc)})
        notes.append(unavailable["pipeline"])
    except Exception as exc:
        log.debug("run context: pipeline failed", exc_info=True)
        failures["pipeline"] = _error_text(exc)
    if horizon <= 0:
        return None, pipeline, None
    policy = _read_param("budget", params)
    # Forecast far enough for the budget to cover the whole next fiscal year.
    fys = int((policy or {}).get("fiscal_year_start", 1))
    horizon = max(horizon, budgeting.required_horizon(end, fys))
    used["budget"] = policy
    # Model options come from params/policy/forecast.yaml (params["forecast_models"]
    # overrides it key by key); params/reports/forecast.yaml is the forecast notebook's display
    # parameters and is never read as model options.
    options = _forecast_options(params)
    used["forecast_models"] = options
    used["forecast_horizon"] = horizon
    result = None
    try:
        series = fc.monthly_series(dataset, "revenue", end=end)
        result = fc.forecast(series, h=horizon, **options)
    except ParameterError:
        raise
    except (AmtoolsError, ValueError) as exc:
        unavailable["forecast"] = Message("run.note.forecast", {"reason": _reason(exc)})
        notes.append(unavailable["forecast"])
    except Exception as exc:
        log.debug("run context: forecast failed", exc_info=True)
        failures["forecast"] = _error_text(exc)
    budget = None
    if result is None:
        if "forecast" in failures:
            failures["budget"] = failures["forecast"]
        else:
            unavailable["budget"] = Message(
                "run.note.budget", {"reason": Message("run.reason.no_forecast")}
            )
        return result, pipeline, budget
    try:
        budget = budgeting.plan(
            result, dataset, policy=policy, scores=scores if not scores.empty else None
        )
    except AmtoolsError as exc:
        unavailable["budget"] = Message("run.note.budget", {"reason": _reason(exc)})
        notes.append(unavailable["budget"])
    except Exception as exc:
        log.debug("run context: budget failed", exc_info=True)
        failures["budget"] = _error_text(exc)
    return result, pipeline, budget


# -- saving and loading ---------------------------------------------------------------------


def save_context(ctx: RunContext, folder: str | Path) -> Path:
    """Write ``ctx`` to ``folder`` (a pickle of the results plus a readable ``meta.json``).

    Files are written atomically, so a notebook never opens a half-written context.

    Example
    -------
    >>> save_context(ctx, "reports/2026Q3/_context")  # doctest: +SKIP
    PosixPath('reports/2026Q3/_context')
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / CONTEXT_FILE, pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL))
    meta = json.dumps(ctx.meta(), ensure_ascii=False, indent=2).encode("utf-8")
    _atomic_write(folder / META_FILE, meta)
    return folder


def _atomic_write(path: Path, data: bytes) -> None:
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_context(folder: str | Path) -> RunContext:
    """Read a context written by :func:`save_context`.

    The pickle is only read from folders that hold amtools' ``meta.json`` of the same format;
    like any pickle, open only contexts your own runs wrote.

    Raises
    ------
    ParameterError
        If ``folder`` holds no saved context.

    Example
    -------
    >>> ctx = load_context("reports/2026Q3/_context")  # doctest: +SKIP
    """
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not meta_path.is_file() or not (folder / CONTEXT_FILE).is_file():
        raise ParameterError(
            f"no saved run context in {folder}; run `amtools run` or pass context='' to build one"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != _FORMAT:
        raise ParameterError(
            f"the context in {folder} was saved by another amtools version "
            f"({meta.get('version')}); rerun `amtools run`"
        )
    with open(folder / CONTEXT_FILE, "rb") as fh:
        ctx = pickle.load(fh)
    if not isinstance(ctx, RunContext):
        raise ParameterError(f"{folder / CONTEXT_FILE} does not hold an amtools RunContext")
    return ctx


# -- opening from a notebook -------------------------------------------------------------------

_CACHE: dict[Any, RunContext] = {}
_CACHE_LOCK = threading.Lock()


def _copy_on_write() -> bool:
    """Whether pandas copies on write (always from pandas 3; opt-in in pandas 2)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.get_option("mode.copy_on_write") is True


def _detached(value: Any) -> Any:
    """A copy of the cached context: edits in one notebook never reach the next.

    With copy-on-write the copies share memory until written; without it they are deep.
    """
    deep = not _copy_on_write()
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=deep)
    if isinstance(value, Dataset):
        return Dataset(
            {name: df.copy(deep=deep) for name, df in value.tables.items()},
            source=value.source,
            meta=dict(value.meta),
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _detached(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and isinstance(getattr(value, f.name), pd.DataFrame | pd.Series | Dataset)
        }
        if isinstance(value, RunContext):
            changes["forecast"] = _detached(value.forecast)
            changes["budget"] = _detached(value.budget)
            changes["params"] = json.loads(json.dumps(value.params))
            changes["notes"] = list(value.notes)
            changes["failures"] = dict(value.failures)
            changes["unavailable"] = dict(value.unavailable)
        return dataclasses.replace(value, **changes)
    return value


def open_context(context: str | Path = "", *, period: str = "", lang: str = "en") -> RunContext:
    """The run context a notebook works on: the call right after every parameters cell.

    Parameters
    ----------
    context : folder of a context saved by the runner; empty -> build one from the demo
        dataset (``amtools.demo.load_demo()``), for working in JupyterLab.
    period : the reporting period; empty -> the context's (or the data's last complete) one.
    lang : "en" or "ru".

    The loaded context is cached per process (a warm report kernel reads it once), and each
    call returns a detached copy (``copy-on-write`` views with pandas 3, deep copies before),
    so one notebook's edits never leak into the next.

    Raises
    ------
    ParameterError
        If ``period`` differs from the saved context's period or ``lang`` is unknown.

    Example
    -------
    >>> ctx = open_context("", lang="ru")  # doctest: +SKIP
    >>> ctx.kpis.head()  # doctest: +SKIP
    """
    check_lang(lang)
    if context:
        folder = Path(context).resolve()
        meta = folder / META_FILE
        stamp = meta.stat().st_mtime_ns if meta.is_file() else None
        key: Any = ("saved", str(folder), stamp)
        with _CACHE_LOCK:
            ctx = _CACHE.get(key)
            if ctx is None:
                ctx = load_context(folder)
                _CACHE.clear()
                _CACHE[key] = ctx
        if period and str(period) != ctx.period:
            try:
                wanted = period_label(parse_period(period))
            except ValueError as exc:
                raise ParameterError(str(exc)) from None
            if wanted != ctx.period:
                raise ParameterError(
                    f"the context in {folder} was built for {ctx.period}, not {wanted}; "
                    f"run `amtools run --period {wanted}` or leave period empty"
                )
    else:
        key = ("demo", str(period or ""))
        with _CACHE_LOCK:
            ctx = _CACHE.get(key)
            if ctx is None:
                from amtools.demo import load_demo

                log.info("no context given: building one from the demo dataset")
                ctx = build_context(load_demo(), period or None, lang=lang)
                _CACHE[key] = ctx
    detached = _detached(ctx)
    return detached if detached.lang == lang else detached.with_lang(lang)
