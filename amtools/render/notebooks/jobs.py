"""One report to render: parameterize, execute on a warm kernel, keep the notebook, write HTML."""

from __future__ import annotations

import amtools.render.notebooks.nbimports  # noqa: F401 - before nbformat (see there)

# isort: split
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from amtools.core.files import write_atomic
from amtools.render.export import ReportHeader, export_html
from amtools.render.notebooks.kernels import WarmKernel

__all__ = ["Job", "JobResult", "execute_job"]


@dataclass
class Job:
    """A planned report: which notebook, with which parameters, written where.

    Attributes
    ----------
    name : unique key within the run (``"manager_review/M001"``).
    kind : report kind name (see :data:`amtools.render.notebooks.kinds.REPORTS`).
    entity : the manager id or team the report is about (``None`` for company-wide).
    notebook : the source notebook.
    parameters : validated values for its parameters cell.
    header : what the HTML header shows.
    html_path, ipynb_path : outputs.
    keep_notebook : also write the executed notebook of a report that rendered (``amtools
        run --keep-notebooks``); the notebook of a failed report is always written.
    """

    name: str
    kind: str
    entity: str | None
    notebook: Path
    parameters: dict[str, Any]
    header: ReportHeader
    html_path: Path
    ipynb_path: Path
    keep_notebook: bool = False


@dataclass
class JobResult:
    """How rendering one report went (kept in the index).

    ``cell_index`` counts the notebook's cells as executed (with the injected-parameters cell).
    """

    name: str
    kind: str
    entity: str | None
    title: str
    ok: bool
    seconds: float
    html_path: Path | None
    ipynb_path: Path | None
    error: str | None = None
    cell_index: int | None = None
    cell_source: str | None = None
    execution_count: int | None = None
    traceback: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        job: Job,
        *,
        ok: bool,
        seconds: float = 0.0,
        html_path: Path | None = None,
        ipynb_path: Path | None = None,
        **detail: Any,
    ) -> JobResult:
        """The result of ``job`` (the one way results are made; ``detail``: the other fields).

        Example
        -------
        >>> JobResult.of(job, ok=False, error="report kernel unavailable").ok  # doctest: +SKIP
        False
        """
        return cls(
            name=job.name,
            kind=job.kind,
            entity=job.entity,
            title=job.header.title,
            ok=ok,
            seconds=seconds,
            html_path=html_path,
            ipynb_path=ipynb_path,
            **detail,
        )

    @classmethod
    def failed(cls, job: Job, error: str) -> JobResult:
        """``job`` did not run: ``error`` says why (a failed stage, a dead worker or kernel)."""
        return cls.of(job, ok=False, error=error)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _failing_cell(nb: nbformat.NotebookNode) -> tuple[int | None, str | None, int | None]:
    """The cell papermill marked as failed, or the one left running when the kernel died."""
    for status in ("failed", "running"):
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("papermill", {})
            if meta.get("status") == status or (status == "failed" and meta.get("exception")):
                return index, cell.get("source", ""), cell.get("execution_count")
    return None, None, None


def _prepare(job: Job) -> nbformat.NotebookNode:
    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(job.notebook))
    nb = parameterize_notebook(nb, job.parameters, kernel_name="python3", language="python")
    nb = prepare_notebook_metadata(nb, str(job.notebook), str(job.ipynb_path), False)
    return remove_error_markers(nb)


def execute_job(kernel: WarmKernel, job: Job, *, timeout: float | None = None) -> JobResult:
    """Render one report on ``kernel``; never raises for a failing notebook.

    The HTML is written only when the notebook ran through, atomically. The executed
    notebook is written to ``job.ipynb_path`` when the report failed (with papermill's error
    marker: the index links it) or when ``job.keep_notebook`` asks for it. A failed report's
    stale HTML from an earlier run is removed so no one reads it as current.
    """
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    nb = None
    try:
        nb = _prepare(job)
        kernel.execute(nb, timeout=timeout)
        executed = time.perf_counter()
        html = export_html(nb, job.header)
        write_atomic(job.html_path, html)
        if job.keep_notebook:
            write_atomic(job.ipynb_path, nbformat.writes(nb))
        return JobResult.of(
            job,
            ok=True,
            seconds=time.perf_counter() - started,
            html_path=job.html_path,
            ipynb_path=job.ipynb_path if job.keep_notebook else None,
            extra={
                "execute_s": executed - started,
                "export_s": time.perf_counter() - executed,
                "kernel_pid": kernel.pid,
            },
        )
    except Exception as exc:  # one failing report never stops the pack
        job.html_path.unlink(missing_ok=True)
        if isinstance(exc, PapermillExecutionError):
            error = f"{exc.ename}: {exc.evalue}"
            traceback = _strip_ansi("\n".join(exc.traceback or []))
        else:
            error = f"{type(exc).__name__}: {exc}"
            traceback = None
        index = source = count = None
        ipynb: Path | None = None
        if nb is not None:
            index, source, count = _failing_cell(nb)
            try:
                write_atomic(job.ipynb_path, nbformat.writes(nb))
                ipynb = job.ipynb_path
            except Exception:  # the notebook may be unwritable after a strange failure
                ipynb = None
        return JobResult.of(
            job,
            ok=False,
            seconds=time.perf_counter() - started,
            ipynb_path=ipynb,
            error=error.strip(),
            cell_index=index,
            cell_source=source,
            execution_count=count,
            traceback=traceback,
        )
