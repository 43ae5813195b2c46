"""Planning a run: report kinds -> one job per report, every notebook's parameters checked first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from amtools.core.dataset import Dataset
from amtools.core.errors import ParameterError
from amtools.core.i18n import LANGS, check_lang, t
from amtools.core.paths import NOTEBOOKS_DIR
from amtools.core.settings import params_path, read_params
from amtools.render.export import ReportHeader
from amtools.render.notebooks.jobs import Job
from amtools.render.notebooks.kinds import DEFAULT_REPORTS, ReportKind, get_report
from amtools.render.notebooks.paramcheck import notebook_parameters, validate_parameters
from amtools.render.notebooks.slugs import SLUG_MAX, file_slug, report_stem

__all__ = ["SLUG_MAX", "file_slug", "report_stem", "per_team_mode", "plan_jobs"]


def per_team_mode(
    n_managers: int,
    above: Any,
    *,
    forced: bool = False,
    where: str = "params/reports/team_review.yaml",
) -> str:
    """Whether a run renders the per-team reviews, and why: ``"forced"``, ``"auto"`` or ``""``.

    ``"forced"``: ``amtools run --per-team``; ``"auto"``: more than ``above`` managers
    (``per_team_above`` in the report's params file; ``None`` or absent: never automatic);
    ``""``: not rendered. ``where`` names the params file in an error.

    Example
    -------
    >>> per_team_mode(200, 40), per_team_mode(30, 40), per_team_mode(30, 40, forced=True)
    ('auto', '', 'forced')
    >>> per_team_mode(30, "many")
    Traceback (most recent call last):
    ...
    amtools.core.errors.ParameterError: params/reports/team_review.yaml: per_team_above must be a whole number >= 0 (or null: never automatic), got 'many'; fix the value
    """
    if forced:
        return "forced"
    if above is None:
        return ""
    if isinstance(above, bool) or not isinstance(above, int) or above < 0:
        raise ParameterError(
            f"{where}: per_team_above must be a whole number >= 0 "
            f"(or null: never automatic), got {above!r}; fix the value"
        )
    return "auto" if n_managers > above else ""


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _check_entities(values: dict[str, Any], managers: set[str], teams: set[str], name: str) -> None:
    manager_id = values.get("manager_id")
    if manager_id and str(manager_id) not in managers:
        raise ParameterError(
            f"{name}: unknown manager_id {manager_id!r}; it is not in the managers table"
        )
    team = values.get("team")
    if team and str(team) not in teams:
        raise ParameterError(
            f"{name}: unknown team {team!r}; teams in the data: {', '.join(sorted(teams)) or 'none'}"
        )
    lang = values.get("lang")
    if lang is not None and lang not in LANGS:
        raise ParameterError(f"{name}: unknown lang {lang!r}; use one of {', '.join(LANGS)}")


def plan_jobs(
    dataset: Dataset,
    period: str,
    *,
    reports: Sequence[str] = DEFAULT_REPORTS,
    managers: Sequence[str] | None = None,
    lang: str = "en",
    folder: Path,
    context_dir: Path,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    params_dir: Path | None = None,
    per_team: bool = False,
    header: dict[str, Any],
) -> list[Job]:
    """Expand report kinds into jobs and validate every notebook's parameters before running.

    Parameters from ``params/<report>.yaml`` are overridden by the run's context path,
    period, language and the entity (manager id, team). A manager review receives only its
    own manager's id.

    Raises
    ------
    ParameterError
        For an unknown report, manager, team or language, a missing notebook, or parameter
        names or types the notebook's parameters cell does not declare.
    """
    check_lang(lang)
    table = dataset.managers
    ids = table["manager_id"].astype(str).tolist()
    known = set(ids)
    names = dict(zip(ids, table["name"].map(_text), strict=False)) if "name" in table else {}
    teams = sorted({_text(v) for v in table["team"]} - {""}) if "team" in table else []
    if managers:
        unknown = [m for m in managers if m not in known]
        if unknown:
            raise ParameterError(
                f"unknown manager id(s) {', '.join(map(repr, unknown))}; "
                f"the managers table has {len(ids)} managers, e.g. {', '.join(ids[:5])}"
            )
        ids = [m for m in ids if m in set(managers)]
    kinds: list[ReportKind] = [get_report(name) for name in reports]
    jobs: list[Job] = []
    for kind in kinds:
        notebook = Path(notebooks_dir) / kind.notebook
        if not notebook.is_file():
            raise ParameterError(f"report {kind.name!r}: notebook {notebook} not found")
        declared = notebook_parameters(notebook)
        yaml_path = (
            params_path(kind.params_name)
            if params_dir is None
            else Path(params_dir) / f"{kind.params_name}.yaml"
        )
        base = read_params(yaml_path) if yaml_path.is_file() else {}
        title = t(kind.title_key, lang)
        runner_set: dict[str, Any] = {}
        if kind.per == "manager":
            entities: list[str | None] = list(ids)
        elif kind.per == "team":
            entities = list(teams)
        else:
            entities = [None]
            if kind.entity_param == "team":
                # per-team reviews: forced (--per-team) or automatic above per_team_above
                # managers (the company page then links them and says which applied)
                mode = per_team_mode(
                    len(table), base.get("per_team_above"), forced=per_team, where=str(yaml_path)
                )
                if mode:
                    entities += list(teams)
                if "team_pages" in declared:
                    runner_set["team_pages"] = mode
        for entity in entities:
            values = {**base, **runner_set}
            values |= {"context": str(context_dir), "period": period, "lang": lang}
            stem = kind.name
            shown = title
            if entity is not None and kind.entity_param:
                values[kind.entity_param] = entity
                stem = report_stem(kind.name, entity)
                label = names.get(entity, entity) if kind.per == "manager" else entity
                shown = t("report.entity", lang, title=title, entity=label)
            name = f"{kind.name}/{entity}" if entity is not None else kind.name
            validate_parameters(declared, values, notebook=f"{kind.notebook} ({name})")
            _check_entities(values, known, set(teams), name)
            jobs.append(
                Job(
                    name=name,
                    kind=kind.name,
                    entity=entity,
                    notebook=notebook,
                    parameters=values,
                    header=ReportHeader(
                        title=shown, lang=lang, period=period, parameters=values, **header
                    ),
                    html_path=folder / f"{stem}.html",
                    ipynb_path=folder / "_executed" / f"{stem}.ipynb",
                )
            )
    return jobs
