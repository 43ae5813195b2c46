"""Incremental reruns: a page whose inputs did not change since the last run is reused, not rendered.

Every page gets one **key**: a hash of exactly what its HTML is made of,

- the run's inputs, shared by every page (:func:`run_key`): the data fingerprint (the
  one :meth:`~amtools.core.dataset.Dataset.fingerprint` the page headers show), the source
  description, the amtools version, the period, the language, the currency, the context
  options (targets, fiscal year start …), the forecast horizon and the values of every
  ``params/policy/*.yaml`` the run context is built from;
- the page's own inputs (:func:`page_key`): its report kind and entity, the bytes of its
  notebook, its notebook parameters (``params/reports/<report>.yaml`` merged with the
  run's period, language and entity) and its title.

The path of the saved run context is not an input (it is a new staging folder every run,
and how the context is stored is an implementation detail): keys are made of inputs, never
of the context file's bytes. A change of the data changes every key, since every page
compares its manager or team with their peers.

The keys of the pages a run rendered are kept in ``<out>/<period>/_manifest.json``
(:class:`Manifest`), written into the staging folder with :func:`~amtools.core.files.write_atomic`
and published by the same rename as the pages: an interrupted run leaves the previous pack
and its manifest as they were. A page is reused only when its key is in the manifest, its
file is there and still has the hash the manifest recorded (a page edited or deleted by hand
is rendered again), and the run is not forced (``amtools run --force``). Failed pages are
never recorded, so never reused. A reused page is hard-linked (copied where links are not
possible) into the new pack unchanged, with its executed notebook when there is one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from amtools.core.files import write_atomic
from amtools.core.settings import params_dirs, read_params
from amtools.render.notebooks.jobs import Job, JobResult

__all__ = [
    "MANIFEST_FILE",
    "REUSED_FROM",
    "PageEntry",
    "Manifest",
    "ReusePlan",
    "digest",
    "file_digest",
    "policy_inputs",
    "run_key",
    "page_key",
    "plan_reuse",
    "carry_reused",
    "carry_folder",
    "build_manifest",
]

MANIFEST_FILE = "_manifest.json"
"""The manifest of a published pack, beside its ``index.html``."""

MANIFEST_FORMAT = 1

REUSED_FROM = "reused_from"
"""Key in :attr:`JobResult.extra <amtools.render.notebooks.jobs.JobResult.extra>` of a reused
page: the UTC time (ISO 8601) its HTML was rendered."""


def digest(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys; dates and paths as text).

    Example
    -------
    >>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
    True
    >>> digest({"a": 1}) == digest({"a": 2})
    False
    """
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes.

    Example
    -------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.html"
    >>> _ = p.write_text("page")
    >>> file_digest(p)[:12]
    '3660315a9af3'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def policy_inputs() -> dict[str, Any]:
    """The values of every ``params/policy/*.yaml`` the run context is built from.

    Each file is read through :func:`~amtools.core.settings.read_params` as the run reads it
    (the first folder of :func:`~amtools.core.settings.params_dirs` holding it wins), so a
    comment edit changes nothing and an override in ``--params`` counts.

    Example
    -------
    >>> sorted(policy_inputs())[:2]
    ['budget', 'forecast']
    """
    stems: set[str] = set()
    for folder in params_dirs():
        stems.update(p.stem for p in (Path(folder) / "policy").glob("*.yaml"))
    return {stem: read_params(f"policy/{stem}") for stem in sorted(stems)}


def run_key(
    *,
    fingerprint: str,
    source: str,
    version: str,
    period: str,
    lang: str,
    currency: str | None,
    context_params: Mapping[str, Any],
    forecast_horizon: int,
    policy: Mapping[str, Any],
) -> str:
    """The hash of a run's inputs that every page shares (see the module text).

    Example
    -------
    >>> args = dict(fingerprint="ab12", source="demo", version="0.3", period="2026Q3",
    ...             lang="en", currency=None, context_params={}, forecast_horizon=12, policy={})
    >>> run_key(**args) == run_key(**args)
    True
    >>> run_key(**{**args, "fingerprint": "ab13"}) == run_key(**args)
    False
    """
    return digest(
        {
            "fingerprint": fingerprint,
            "source": source,
            "version": version,
            "period": period,
            "lang": lang,
            "currency": currency,
            "context_params": dict(context_params),
            "forecast_horizon": forecast_horizon,
            "policy": dict(policy),
        }
    )


def page_key(job: Job, run: str, notebook: str) -> str:
    """The key of one page: the run's key plus the page's own inputs.

    ``notebook`` is :func:`file_digest` of ``job.notebook``. The ``context`` parameter (the
    path of this run's saved context) is left out: it changes every run.

    Example
    -------
    >>> page_key(job, run_key(**args), file_digest(job.notebook))  # doctest: +SKIP
    '5d0c…'
    """
    parameters = {k: v for k, v in job.parameters.items() if k != "context"}
    return digest(
        {
            "run": run,
            "kind": job.kind,
            "entity": job.entity,
            "notebook": notebook,
            "parameters": parameters,
            "title": job.header.title,
        }
    )


@dataclass(frozen=True)
class PageEntry:
    """One page of a published pack, as the manifest records it.

    Attributes
    ----------
    key : :func:`page_key` of the page.
    html : the page's file, relative to the pack folder (POSIX).
    sha256 : :func:`file_digest` of that file when it was published.
    ipynb : its executed notebook, relative (``None`` if not kept).
    rendered_at : UTC time (ISO 8601) the page was rendered (a reused page keeps it).
    seconds : how long rendering it took.
    """

    key: str
    html: str
    sha256: str
    ipynb: str | None
    rendered_at: str
    seconds: float = 0.0


@dataclass
class Manifest:
    """The pages of a published pack and their keys (``<out>/<period>/_manifest.json``)."""

    run: str
    pages: dict[str, PageEntry] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: str | Path) -> Manifest | None:
        """The manifest of the pack in ``folder``; ``None`` if there is none or it is unreadable
        (then every page is rendered).

        Example
        -------
        >>> Manifest.read("/nonexistent") is None
        True
        """
        path = Path(folder) / MANIFEST_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != MANIFEST_FORMAT:
                return None
            pages = {str(name): PageEntry(**entry) for name, entry in raw["pages"].items()}
            return cls(run=str(raw["run"]), pages=pages)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def text(self) -> str:
        """The manifest as JSON text."""
        pages = {name: asdict(entry) for name, entry in sorted(self.pages.items())}
        body = {"format": MANIFEST_FORMAT, "run": self.run, "pages": pages}
        return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    def write(self, folder: str | Path) -> Path:
        """Write ``<folder>/_manifest.json`` atomically."""
        return write_atomic(Path(folder) / MANIFEST_FILE, self.text())


@dataclass
class ReusePlan:
    """Which pages of a run are reused and which are rendered.

    Attributes
    ----------
    run : the run's :func:`run_key`.
    keys : job name -> :func:`page_key`.
    reused : job name -> the previous pack's entry of a page that is reused.
    forced : the run was forced (nothing reused).
    """

    run: str
    keys: dict[str, str]
    reused: dict[str, PageEntry] = field(default_factory=dict)
    forced: bool = False

    def to_render(self, jobs: Sequence[Job]) -> list[Job]:
        """The jobs that are not reused."""
        return [job for job in jobs if job.name not in self.reused]


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _unchanged(entry: PageEntry, folder: Path) -> bool:
    """Whether the published page is still the file the manifest recorded."""
    try:
        return file_digest(folder / entry.html) == entry.sha256
    except OSError:
        return False


def plan_reuse(
    jobs: Sequence[Job],
    *,
    run: str,
    staging: Path,
    folder: Path,
    force: bool = False,
    notebook_digests: Mapping[Path, str] | None = None,
) -> ReusePlan:
    """Key every job and find the pages of the pack in ``folder`` that can be reused.

    ``jobs`` write into ``staging``; ``folder`` is the published pack of the same period
    (``<out>/<period>``). Call it while holding the out folder's lock.

    Example
    -------
    >>> plan = plan_reuse(jobs, run=key, staging=staging, folder=out / "2026Q3")  # doctest: +SKIP
    >>> [job.name for job in plan.to_render(jobs)]  # doctest: +SKIP
    ['forecast']
    """
    notebooks = dict(notebook_digests or {})
    keys: dict[str, str] = {}
    for job in jobs:
        if job.notebook not in notebooks:
            notebooks[job.notebook] = file_digest(job.notebook)
        keys[job.name] = page_key(job, run, notebooks[job.notebook])
    plan = ReusePlan(run=run, keys=keys, forced=force)
    previous = None if force else Manifest.read(folder)
    if previous is None:
        return plan
    for job in jobs:
        entry = previous.pages.get(job.name)
        if (
            entry is not None
            and entry.key == keys[job.name]
            and entry.html == _relative(job.html_path, staging)
            and _unchanged(entry, folder)
            and (not job.keep_notebook or _has_notebook(entry, folder))
        ):
            plan.reused[job.name] = entry
    return plan


def _has_notebook(entry: PageEntry, folder: Path) -> bool:
    """Whether the published page kept its executed notebook (asked for by ``keep_notebooks``:
    a page published without one is rendered again rather than reused without it)."""
    return entry.ipynb is not None and (folder / entry.ipynb).is_file()


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _carry(source: Path, target: Path) -> None:
    """``source`` into ``target`` unchanged: a hard link, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _link_or_copy(source, target)


def carry_folder(source: Path, target: Path) -> bool:
    """Carry the folder ``source`` (the saved run context) into ``target`` unchanged.

    Files are hard-linked, else copied. Returns ``False`` (and leaves no ``target``) when
    ``source`` is missing or cannot be carried; the caller then writes it anew.

    Example
    -------
    >>> carry_folder(Path("/nonexistent"), Path("/tmp/x"))
    False
    """
    if not source.is_dir():
        return False
    try:
        shutil.copytree(source, target, copy_function=_link_or_copy)
    except (OSError, shutil.Error):
        shutil.rmtree(target, ignore_errors=True)
        return False
    return True


def carry_reused(
    plan: ReusePlan, jobs: Sequence[Job], *, staging: Path, folder: Path
) -> list[JobResult]:
    """Bring the reused pages (and executed notebooks) of ``folder`` into ``staging``.

    A page that cannot be carried (it vanished, the disk is full) is dropped from
    ``plan.reused`` and so rendered instead.

    Returns
    -------
    list of JobResult
        One ``ok`` result per reused page, ``extra["reused_from"]`` its render time.
    """
    results: list[JobResult] = []
    for job in jobs:
        entry = plan.reused.get(job.name)
        if entry is None:
            continue
        try:
            _carry(folder / entry.html, job.html_path)
        except OSError:
            del plan.reused[job.name]
            job.html_path.unlink(missing_ok=True)
            continue
        ipynb: Path | None = None
        if entry.ipynb is not None and entry.ipynb == _relative(job.ipynb_path, staging):
            with contextlib.suppress(OSError):
                _carry(folder / entry.ipynb, job.ipynb_path)
                ipynb = job.ipynb_path
        results.append(
            JobResult.of(
                job,
                ok=True,
                html_path=job.html_path,
                ipynb_path=ipynb,
                extra={REUSED_FROM: entry.rendered_at},
            )
        )
    return results


def build_manifest(
    plan: ReusePlan,
    results: Iterable[JobResult],
    *,
    staging: Path,
    rendered_at: str,
) -> Manifest:
    """The manifest of the pack in ``staging``: every page that rendered or was reused.

    Failed pages are left out (they are never reused). A rendered page is recorded with the
    hash of its file as written now, and ``rendered_at`` (this run's time).
    """
    manifest = Manifest(run=plan.run)
    for res in results:
        if not res.ok or res.html_path is None or res.name not in plan.keys:
            continue
        previous = plan.reused.get(res.name)
        if previous is not None:
            ipynb = None if res.ipynb_path is None else _relative(res.ipynb_path, staging)
            manifest.pages[res.name] = PageEntry(**{**asdict(previous), "ipynb": ipynb})
            continue
        try:
            sha = file_digest(res.html_path)
        except OSError:
            continue
        kept = res.ipynb_path
        manifest.pages[res.name] = PageEntry(
            key=plan.keys[res.name],
            html=_relative(res.html_path, staging),
            sha256=sha,
            ipynb=None if kept is None or not kept.is_file() else _relative(kept, staging),
            rendered_at=rendered_at,
            seconds=round(float(res.seconds), 3),
        )
    return manifest
