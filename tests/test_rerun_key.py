"""The key of a page (amtools.render.notebooks.reuse): every input changes it, nothing else does;
the manifest and the reuse decision on files alone (no kernel)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amtools.core.paths import DEFAULT_PARAMS_DIR
from amtools.core.settings import use_params_dir
from amtools.render.export import ReportHeader
from amtools.render.notebooks.jobs import Job, JobResult
from amtools.render.notebooks.reuse import (
    MANIFEST_FILE,
    REUSED_FROM,
    Manifest,
    build_manifest,
    carry_reused,
    file_digest,
    page_key,
    plan_reuse,
    policy_inputs,
    run_key,
)

RUN_ARGS: dict[str, Any] = dict(
    fingerprint="0123456789abcdef",
    source="DuckDB database crm.duckdb",
    version="0.3.0",
    period="2026Q3",
    lang="en",
    currency=None,
    context_params={"fiscal_year_start": 1},
    forecast_horizon=12,
    policy={"forecast": {"folds": 3}, "kpi": {"min_n": 5}},
)
OTHER_VALUES: dict[str, Any] = dict(
    fingerprint="0123456789abcdee",
    source="DuckDB database other.duckdb",
    version="0.3.1",
    period="2026Q2",
    lang="ru",
    currency="EUR",
    context_params={"fiscal_year_start": 4},
    forecast_horizon=0,
    policy={"forecast": {"folds": 4}, "kpi": {"min_n": 5}},
)

values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.text(max_size=12),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
names = st.text("abcdefghij_", min_size=1, max_size=8).filter(lambda n: n != "context")
parameter_sets = st.dictionaries(names, values, min_size=1, max_size=6)


def _job(parameters: dict[str, Any], *, staging: str = "/out/.staging-a", **kw: Any) -> Job:
    folder = Path(staging)
    header = ReportHeader(
        title=kw.pop("title", "Manager review: Ann"),
        lang="en",
        period="2026Q3",
        source="demo",
        generated_at=kw.pop("generated_at", pd.Timestamp("2026-12-01 10:00", tz="UTC")),
        fingerprint="0123456789abcdef",
        version="0.3.0",
        parameters=dict(parameters),
    )
    return Job(
        name=kw.pop("name", "manager_review/M001"),
        kind=kw.pop("kind", "manager_review"),
        entity=kw.pop("entity", "M001"),
        notebook=Path("notebooks/manager_review.ipynb"),
        parameters={**parameters, "context": str(folder / "_context")},
        header=header,
        html_path=folder / "manager_review-M001.html",
        ipynb_path=folder / "_executed" / "manager_review-M001.ipynb",
    )


RUN = run_key(**RUN_ARGS)


@pytest.mark.parametrize("field", sorted(RUN_ARGS))
def test_each_run_input_changes_the_run_key(field: str) -> None:
    assert run_key(**{**RUN_ARGS, field: OTHER_VALUES[field]}) != RUN


def test_the_run_key_ignores_mapping_order() -> None:
    policy = dict(reversed(list(RUN_ARGS["policy"].items())))
    assert run_key(**{**RUN_ARGS, "policy": policy}) == RUN


@given(parameter_sets, st.data())
def test_each_page_parameter_changes_the_key(parameters: dict[str, Any], data: Any) -> None:
    key = page_key(_job(parameters), RUN, "nb-digest")
    name = data.draw(st.sampled_from(sorted(parameters)))
    old = parameters[name]
    new = data.draw(values.filter(lambda v: not (v == old and type(v) is type(old))))
    assert page_key(_job({**parameters, name: new}), RUN, "nb-digest") != key
    added = data.draw(names.filter(lambda n: n not in parameters))
    assert page_key(_job({**parameters, added: 1}), RUN, "nb-digest") != key


@given(parameter_sets, st.text(min_size=1, max_size=20), st.datetimes())
def test_the_context_path_staging_folder_and_run_time_do_not_change_the_key(
    parameters: dict[str, Any], staging: str, when: Any
) -> None:
    key = page_key(_job(parameters), RUN, "nb-digest")
    other = _job(
        parameters,
        staging=f"/elsewhere/.staging-{staging}",
        generated_at=pd.Timestamp(when, tz="UTC"),
    )
    assert other.parameters["context"] != _job(parameters).parameters["context"]
    assert page_key(other, RUN, "nb-digest") == key


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "team_review"},
        {"entity": "M002"},
        {"title": "Обзор менеджера: Анна"},
    ],
)
def test_kind_entity_and_title_change_the_key(change: dict[str, Any]) -> None:
    params = {"lang": "en", "period": "2026Q3", "manager_id": "M001"}
    assert page_key(_job(params, **change), RUN, "nb") != page_key(_job(params), RUN, "nb")


def test_the_notebook_and_the_run_change_the_key() -> None:
    params = {"lang": "en"}
    key = page_key(_job(params), RUN, "nb")
    assert page_key(_job(params), RUN, "nb2") != key
    assert page_key(_job(params), run_key(**{**RUN_ARGS, "lang": "ru"}), "nb") != key


def test_policy_inputs_are_values_an_override_counts_and_a_comment_does_not(tmp_path) -> None:
    shipped = policy_inputs()
    assert {"budget", "forecast", "kpi", "kpi_profiles", "targets", "training_catalog"} <= set(
        shipped
    )
    text = (DEFAULT_PARAMS_DIR / "policy" / "forecast.yaml").read_text()
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "forecast.yaml").write_text("# a note\n" + text)
    with use_params_dir(tmp_path):
        assert policy_inputs() == shipped
    (tmp_path / "policy" / "forecast.yaml").write_text(text.replace("\nfolds: 3\n", "\nfolds: 5\n"))
    with use_params_dir(tmp_path):
        changed = policy_inputs()
    assert changed["forecast"]["folds"] == 5 and changed != shipped


# -- the manifest and the reuse decision on files -----------------------------------------------


def _published(tmp_path: Path) -> tuple[Job, Path, Path]:
    """A pack published with one page, and the job of a rerun writing into a new staging folder."""
    out = tmp_path / "out"
    old_staging = out / ".staging-old"
    job = _job({"lang": "en"}, staging=str(old_staging))
    job.notebook = tmp_path / "nb.ipynb"
    job.notebook.write_text("{}")
    job.html_path.parent.mkdir(parents=True)
    job.html_path.write_text("<p>page</p>")
    job.ipynb_path.parent.mkdir()
    job.ipynb_path.write_text("{}")
    plan = plan_reuse([job], run=RUN, staging=old_staging, folder=out / "2026Q3")
    assert not plan.reused
    result = JobResult.of(job, ok=True, html_path=job.html_path, ipynb_path=job.ipynb_path)
    failed = JobResult.failed(dataclasses.replace(job, name="manager_review/M009"), "boom")
    manifest = build_manifest(
        plan, [result, failed], staging=old_staging, rendered_at="2026-12-01T10:00:00+00:00"
    )
    assert set(manifest.pages) == {job.name}
    manifest.write(old_staging)
    folder = out / "2026Q3"
    old_staging.rename(folder)
    new_staging = out / ".staging-new"
    new_staging.mkdir()
    rerun = _job({"lang": "en"}, staging=str(new_staging))
    rerun.notebook = job.notebook
    return rerun, folder, new_staging


def test_an_unchanged_page_is_carried_into_the_new_pack(tmp_path) -> None:
    job, folder, staging = _published(tmp_path)
    plan = plan_reuse([job], run=RUN, staging=staging, folder=folder)
    assert set(plan.reused) == {job.name} and plan.to_render([job]) == []
    (res,) = carry_reused(plan, [job], staging=staging, folder=folder)
    assert res.ok and res.extra[REUSED_FROM] == "2026-12-01T10:00:00+00:00"
    assert job.html_path.read_text() == "<p>page</p>" and job.ipynb_path.is_file()
    assert job.html_path.stat().st_ino == (folder / job.html_path.name).stat().st_ino  # a link
    manifest = build_manifest(plan, [res], staging=staging, rendered_at="2026-12-02T00:00:00+00:00")
    assert manifest.pages[job.name].rendered_at == "2026-12-01T10:00:00+00:00"


@pytest.mark.parametrize("how", ["edited", "deleted", "forced", "other key", "corrupt manifest"])
def test_a_page_is_rendered_again_when(tmp_path, how: str) -> None:
    job, folder, staging = _published(tmp_path)
    page = folder / job.html_path.name
    run, force = RUN, False
    if how == "edited":
        page.write_text("<p>page, edited</p>")
    elif how == "deleted":
        page.unlink()
    elif how == "forced":
        force = True
    elif how == "other key":
        run = run_key(**{**RUN_ARGS, "version": "9.9"})
    else:
        (folder / MANIFEST_FILE).write_text("{not json")
        assert Manifest.read(folder) is None
    plan = plan_reuse([job], run=run, staging=staging, folder=folder, force=force)
    assert not plan.reused and plan.to_render([job]) == [job]


def test_the_manifest_reads_back_what_it_wrote(tmp_path) -> None:
    job, folder, _ = _published(tmp_path)
    manifest = Manifest.read(folder)
    assert manifest is not None and manifest.run == RUN
    entry = manifest.pages[job.name]
    assert entry.sha256 == file_digest(folder / entry.html) and entry.ipynb is not None
    manifest.write(tmp_path)
    assert Manifest.read(tmp_path) == manifest
