"""The run context: everything a report pack needs, computed once and shared with every notebook."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import pickle
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from amtools import __version__, pipeline
from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.files import write_atomic
from amtools.core.i18n import check_lang, fmt_currency, t
from amtools.core.messages import Message, render
from amtools.core.periods import parse_period, period_label
from amtools.core.problems import Problem
from amtools.demo import load_demo
from amtools.forecast import AccuracyHistory, ForecastResult
from amtools.kpi.format import fmt_kpi_value, kpi_name
from amtools.pipeline import STAGES, Results, default_period

if TYPE_CHECKING:
    from amtools.budget import BudgetPlan  # type: ignore[attr-defined]  # the budget front

__all__ = [
    "RunContext",
    "build_context",
    "save_context",
    "load_context",
    "open_context",
    "default_period",
    "CONTEXT_FILE",
    "META_FILE",
    "FRAMES_DIR",
    "STAGES",
    "note_text",
    "context_of",
]

log = logging.getLogger(__name__)

CONTEXT_FILE = "context.pkl"
META_FILE = "meta.json"
FRAMES_DIR = "frames"
"""Folder of a saved context holding its tables, one Parquet file each, read on first use."""
# bump when the saved layout changes (3: the stages moved to amtools.pipeline; 4: the data
# tables and the KPI, score and training frames are Parquet files read only when used)
_FORMAT = 4
_FRAME_FIELDS = (
    "kpis",
    "kpis_team",
    "kpis_segment",
    "kpis_company",
    "scorecard",
    "scores",
    "training",
    "pipeline",
)


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
    kpis : manager-level KPI table for the history up to ``period`` (see ``amtools.kpi.compute``).
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
    accuracy_history : backfilled and as-made forecast accuracy (``AccuracyHistory``), or
        ``None`` when no forecast report is rendered (or the history is unavailable).
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
    forecast: ForecastResult | None
    pipeline: pd.DataFrame
    budget: BudgetPlan | None
    params: dict[str, Any]
    generated_at: pd.Timestamp
    version: str
    notes: list[Message | str] = dataclasses.field(default_factory=list)
    failures: dict[str, str] = dataclasses.field(default_factory=dict)
    unavailable: dict[str, Message] = dataclasses.field(default_factory=dict)
    accuracy_history: AccuracyHistory | None = None

    # -- a saved context reads its frames on first use -------------------------------
    def __getattr__(self, name: str) -> pd.DataFrame:
        store = self.__dict__.get("_store")
        if store is not None and name in store.frames:
            value = _copy_frame(store.read(name))
            setattr(self, name, value)
            return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict[str, Any]:
        """Pickled whole: a context read lazily from a folder reads what it has not yet."""
        store = self.__dict__.get("_store")
        if store is not None:
            for name in store.frames:
                getattr(self, name)
        state = {k: v for k, v in self.__dict__.items() if k != "_store"}
        if isinstance(state.get("dataset"), _SavedDataset):
            dataset = state["dataset"]
            state["dataset"] = Dataset(
                dict(dataset.tables), source=dataset.source, meta=dataset.meta
            )
        return state

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
        return t(key, self.lang, **fmt)

    def fmt_currency(self, x: Any, **kw: Any) -> str:
        """:func:`amtools.core.i18n.fmt_currency` in the context's language and currency."""
        return fmt_currency(x, self.lang, self.currency, **kw)

    def fmt_kpi_value(self, kpi_id: str, value: Any) -> str:
        """:func:`amtools.kpi.format.fmt_kpi_value` in the context's language and currency."""
        return fmt_kpi_value(kpi_id, value, self.lang, self.currency)

    def kpi_name(self, kpi_id: str) -> str:
        """:func:`amtools.kpi.format.kpi_name` in the context's language."""
        return kpi_name(kpi_id, self.lang)  # the module function (methods are not in scope)

    def with_lang(self, lang: str) -> RunContext:
        """The same results shown in another language (nothing is recomputed)."""
        new = _shallow(self)
        new.lang = check_lang(lang)
        return new

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
    accuracy_history: bool = False,
) -> RunContext:
    """Compute everything a report pack needs, once (:func:`amtools.pipeline.build`).

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
    accuracy_history : also backfill and score past forecasts (the forecast report's history).

    Returns
    -------
    RunContext

    Raises
    ------
    ParameterError
        For an unknown language or frequency, a period outside the data, or a missing or
        invalid parameter file.

    Example
    -------
    >>> from amtools.demo import make_demo  # doctest: +SKIP
    >>> ctx = build_context(make_demo(n_managers=6), lang="ru")  # doctest: +SKIP
    >>> ctx.period  # doctest: +SKIP
    '2026Q3'
    """
    check_lang(lang)
    results = pipeline.build(
        dataset,
        period,
        freq=freq,
        currency=currency,
        history_quarters=history_quarters,
        forecast_horizon=forecast_horizon,
        params=params,
        accuracy_history=accuracy_history,
    )
    return context_of(results, lang=lang)


def context_of(results: Results, *, lang: str = "en") -> RunContext:
    """The run context of computed :class:`~amtools.pipeline.Results`, shown in ``lang``.

    Example
    -------
    >>> ctx = context_of(pipeline.build(dataset), lang="ru")  # doctest: +SKIP
    """
    dataset = results.dataset
    return RunContext(
        dataset=dataset,
        period=results.period,
        freq=results.freq,
        lang=check_lang(lang),
        currency=results.currency,
        source=dataset.source,
        fingerprint=dataset.fingerprint(),
        kpis=results.kpis.manager,
        kpis_team=results.kpis.team,
        kpis_segment=results.kpis.segment,
        kpis_company=results.kpis.company,
        scorecard=results.scoring.scorecard,
        scores=results.scoring.scores,
        training=results.scoring.training,
        forecast=results.forecast,
        pipeline=results.pipeline,
        budget=results.budget,
        params=_jsonable(results.params),
        generated_at=pd.Timestamp.now(tz="UTC").floor("s"),
        version=__version__,
        notes=list(results.notes),
        failures=dict(results.failures),
        unavailable=dict(results.unavailable),
        accuracy_history=results.accuracy_history,
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


# -- saving and loading ---------------------------------------------------------------------


def _shallow(ctx: RunContext) -> RunContext:
    """A new RunContext sharing ``ctx``'s values (and its saved frames not yet read)."""
    new = object.__new__(RunContext)
    new.__dict__.update(ctx.__dict__)
    return new


def _copy_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy a notebook may edit (shares memory until written under copy-on-write)."""
    return df.copy(deep=not _copy_on_write())


class _Store:
    """The Parquet files of one saved context: each read once per process, when first used.

    A report kernel thus holds only the tables its reports read (a manager review reads the
    managers, the scorecard, the scores and the training plan, not the CRM tables).
    """

    def __init__(self, folder: Path, frames: list[str], tables: list[str]) -> None:
        self.folder = folder
        self.frames = frames
        self.tables = tables
        self._read: dict[str, pd.DataFrame] = {}
        self._lock = threading.Lock()

    def read(self, name: str) -> pd.DataFrame:
        """The frame (a context field) or data table ``name``, read once."""
        with self._lock:
            df = self._read.get(name)
            if df is None:
                path = self.folder / FRAMES_DIR / f"{name}.parquet"
                try:
                    df = pd.read_parquet(path)
                except (OSError, ValueError) as exc:
                    raise ParameterError(
                        f"the saved run context in {self.folder} lacks a readable {path.name} "
                        f"({type(exc).__name__}: {exc}); rerun `amtools run`"
                    ) from None
                self._read[name] = df
            return df

    @property
    def read_names(self) -> list[str]:
        """What this process has read so far (for tests and memory measurements)."""
        return list(self._read)


class _LazyTables(Mapping[str, pd.DataFrame]):
    """A saved dataset's tables by name, each read (and copied) on first access."""

    def __init__(self, store: _Store) -> None:
        self._store = store
        self._got: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._store.tables:
            raise KeyError(name)
        df = self._got.get(name)
        if df is None:
            df = self._got[name] = _copy_frame(self._store.read(f"table.{name}"))
        return df

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.tables)

    def __len__(self) -> int:
        return len(self._store.tables)

    def __contains__(self, name: object) -> bool:
        return name in self._store.tables

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


class _SavedDataset(Dataset):
    """The :class:`Dataset` of a saved context: its tables are read when first used."""

    def __init__(self, store: _Store, *, source: str = "", meta: Mapping[str, Any] | None = None):
        super().__init__({}, source=source, meta=meta)
        self._tables = _LazyTables(store)  # type: ignore[assignment]


def _parquet(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_parquet(buffer)
    return buffer.getvalue()


def save_context(ctx: RunContext, folder: str | Path) -> Path:
    """Write ``ctx`` to ``folder``: its tables as Parquet files in ``frames/`` (each read only
    by the notebooks that use it), the rest (forecast, budget, notes) as a small pickle, and
    a readable ``meta.json``.

    Files are written atomically and ``meta.json`` last, so a notebook never opens a
    half-written context.

    Example
    -------
    >>> save_context(ctx, "reports/2026Q3/_context")  # doctest: +SKIP
    PosixPath('reports/2026Q3/_context')
    """
    folder = Path(folder)
    (folder / FRAMES_DIR).mkdir(parents=True, exist_ok=True)
    frames = [name for name in _FRAME_FIELDS if isinstance(getattr(ctx, name), pd.DataFrame)]
    tables = list(ctx.dataset.names)
    for name in frames:
        write_atomic(folder / FRAMES_DIR / f"{name}.parquet", _parquet(getattr(ctx, name)))
    for name in tables:
        write_atomic(folder / FRAMES_DIR / f"table.{name}.parquet", _parquet(ctx.dataset[name]))
    skeleton = _shallow(ctx)
    for name in frames:
        skeleton.__dict__.pop(name, None)
    skeleton.__dict__.pop("_store", None)
    skeleton.dataset = Dataset({}, source=ctx.dataset.source, meta=ctx.dataset.meta)
    write_atomic(folder / CONTEXT_FILE, pickle.dumps(skeleton, protocol=pickle.HIGHEST_PROTOCOL))
    meta = {**ctx.meta(), "frames": frames, "tables": tables}
    write_atomic(folder / META_FILE, json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"))
    return folder


def load_context(folder: str | Path) -> RunContext:
    """Read a context written by :func:`save_context`; its tables are read when first used.

    The pickle is only read from folders that hold amtools' ``meta.json`` of the same format;
    like any pickle, open only contexts your own runs wrote.

    Raises
    ------
    ParameterError
        If ``folder`` holds no saved context (or one of another format).

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
    frames = [str(name) for name in meta.get("frames", [])]
    store = _Store(folder, frames, [str(name) for name in meta.get("tables", [])])
    ctx.__dict__["_store"] = store
    ctx.dataset = _SavedDataset(store, source=ctx.dataset.source, meta=ctx.dataset.meta)
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
    Frames of a saved context not read yet stay unread (each copy reads them when used).
    """
    deep = not _copy_on_write()
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=deep)
    if isinstance(value, _SavedDataset):
        tables = value._tables
        assert isinstance(tables, _LazyTables)
        return _SavedDataset(tables._store, source=value.source, meta=dict(value.meta))
    if isinstance(value, Dataset):
        return Dataset(
            {name: df.copy(deep=deep) for name, df in value.tables.items()},
            source=value.source,
            meta=dict(value.meta),
        )
    if isinstance(value, RunContext):
        new = _shallow(value)
        for name, item in value.__dict__.items():
            if isinstance(item, pd.DataFrame | pd.Series | Dataset):
                new.__dict__[name] = _detached(item)
        new.forecast = _detached(value.forecast)
        new.budget = _detached(value.budget)
        new.params = json.loads(json.dumps(value.params))
        new.notes = list(value.notes)
        new.failures = dict(value.failures)
        new.unavailable = dict(value.unavailable)
        return new
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _detached(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and isinstance(getattr(value, f.name), pd.DataFrame | pd.Series | Dataset)
        }
        return dataclasses.replace(value, **changes)
    return value


def _load_demo() -> Dataset:
    """The demo dataset (for a notebook opened without a saved context)."""
    return load_demo()


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
                log.info("no context given: building one from the demo dataset")
                ctx = build_context(_load_demo(), period or None, lang=lang)
                _CACHE[key] = ctx
    detached = _detached(ctx)
    return detached if detached.lang == lang else detached.with_lang(lang)
