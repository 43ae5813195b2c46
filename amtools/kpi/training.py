"""Training plans: weak KPIs -> skills -> catalogue courses, plus each manager's strengths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from amtools.core.errors import ParameterError
from amtools.core.i18n import fmt_percent
from amtools.core.periods import parse_period
from amtools.core.settings import read_params
from amtools.core.vocab import DEFAULT_CURRENCY, SEGMENTS
from amtools.kpi.format import fmt_gap, fmt_kpi_value
from amtools.kpi.registry import KPIS

__all__ = [
    "TRAINING_COLUMNS",
    "Course",
    "Skill",
    "Catalog",
    "load_catalog",
    "completed_courses",
    "classify",
    "training_plan",
]

TRAINING_COLUMNS = [
    "manager_id",
    "period",
    "kind",
    "priority",
    "kpi",
    "skill",
    "course_id",
    "course_en",
    "course_ru",
    "hours",
    "reason_en",
    "reason_ru",
    "skill_ru",
    "format",
]
"""Columns of :func:`training_plan` (the contract's columns, then ``skill_ru`` and ``format``)."""

# How a plan is built (see training_plan):
#   development area = a KPI with status "ok" that is below its target (attainment < 1) or in the
#                      bottom quartile of its segment's peers; priority by weight x gap, where
#                      gap = 1 - kpi_score / 100 (so weight x gap x 100 = score points lost on it)
#   strength         = any other "ok" KPI at or above target or in the top quartile; ordered by
#                      weight x kpi_score
#   course           = among the catalogue's skills for the KPI that fit the manager's segment
#                      (segment-specific skills first), the first course not completed
#                      (trainings.completed true, by the period end) and not already in the
#                      plan: courses that name the KPI under `kpis` first, then general courses;
#                      courses aimed only at other KPIs are not proposed
#   skill            = the skill of that course (of the first fitting skill when none is left)


@dataclass(frozen=True)
class Course:
    """One catalogue course."""

    id: str
    title_en: str
    title_ru: str
    hours: float
    format: str
    kpis: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skill:
    """One skill with the courses that build it."""

    id: str
    name_en: str
    name_ru: str
    segments: tuple[str, ...]
    courses: tuple[Course, ...]


@dataclass(frozen=True)
class Catalog:
    """The parsed training catalogue: skills by id and the skills that move each KPI."""

    skills: dict[str, Skill]
    kpi_skills: dict[str, tuple[str, ...]]

    def skills_for(self, kpi_id: str, segment: str) -> list[Skill]:
        """Skills that move ``kpi_id`` for a manager of ``segment``, segment-specific first."""
        fitting = [
            self.skills[s]
            for s in self.kpi_skills.get(kpi_id, ())
            if segment in self.skills[s].segments
        ]
        # stable sort: a skill meant only for this segment beats a general one
        return sorted(fitting, key=lambda skill: len(skill.segments) > 1)


def load_catalog(catalog: Mapping[str, Any] | None = None) -> Catalog:
    """Parse and check a training catalogue mapping (``params/policy/training_catalog.yaml``).

    Parameters
    ----------
    catalog : the mapping; read from ``params/policy/training_catalog.yaml`` when ``None``.

    Raises
    ------
    ParameterError
        On a missing field, an unknown segment, KPI id or skill id, a duplicate course id or a
        skill without courses; the message names the entry and the fix.

    Example
    -------
    >>> cat = load_catalog()
    >>> cat.skills_for("conversion_rate", "B2C")[0].id
    'fast_sales_objections'
    """
    raw = read_params("policy/training_catalog") if catalog is None else catalog
    where = "params/policy/training_catalog.yaml"
    skills: dict[str, Skill] = {}
    seen_courses: set[str] = set()
    for skill_id, spec in (raw.get("skills") or {}).items():
        spec = spec or {}
        for key in ("name_en", "name_ru", "courses"):
            if not spec.get(key):
                raise ParameterError(f"{where}: skills.{skill_id} needs a non-empty {key!r}")
        segments = tuple(spec.get("segments") or SEGMENTS)
        bad = sorted(set(segments) - set(SEGMENTS))
        if bad:
            raise ParameterError(
                f"{where}: skills.{skill_id}.segments has unknown {bad}; use {', '.join(SEGMENTS)}"
            )
        courses = []
        for i, course in enumerate(spec["courses"]):
            missing = [
                k for k in ("id", "title_en", "title_ru", "hours", "format") if k not in course
            ]
            if missing:
                raise ParameterError(
                    f"{where}: skills.{skill_id}.courses[{i}] lacks {missing}; every course needs "
                    "id, title_en, title_ru, hours and format"
                )
            course_id = str(course["id"])
            if course_id in seen_courses:
                raise ParameterError(
                    f"{where}: course id {course_id!r} is used twice; ids must be unique"
                )
            seen_courses.add(course_id)
            kpis = tuple(course.get("kpis") or ())
            unknown = sorted(set(kpis) - set(KPIS))
            if unknown:
                raise ParameterError(
                    f"{where}: course {course_id} names unknown KPI id(s) {unknown}; "
                    f"known ids: {', '.join(KPIS)}"
                )
            courses.append(
                Course(
                    course_id,
                    str(course["title_en"]),
                    str(course["title_ru"]),
                    float(course["hours"]),
                    str(course["format"]),
                    kpis,
                )
            )
        skills[str(skill_id)] = Skill(
            str(skill_id), str(spec["name_en"]), str(spec["name_ru"]), segments, tuple(courses)
        )
    kpi_skills: dict[str, tuple[str, ...]] = {}
    for kpi_id, skill_ids in (raw.get("kpi_skills") or {}).items():
        if kpi_id not in KPIS:
            raise ParameterError(
                f"{where}: kpi_skills names unknown KPI id {kpi_id!r}; known ids: {', '.join(KPIS)}"
            )
        unknown = [s for s in skill_ids or () if s not in skills]
        if unknown:
            raise ParameterError(
                f"{where}: kpi_skills.{kpi_id} names skill(s) {unknown} that are not under skills:"
            )
        kpi_skills[kpi_id] = tuple(skill_ids or ())
    return Catalog(skills, kpi_skills)


def _normalise(text: object) -> str:
    return " ".join(str(text).split()).casefold()


def completed_courses(
    trainings: pd.DataFrame | None, catalog: Catalog, *, until: pd.Timestamp | None = None
) -> dict[str, set[str]]:
    """Return manager_id -> ids of catalogue courses the manager has completed.

    A ``trainings`` row counts when ``completed`` is true (all rows count when the column is
    absent) and its ``date`` is not after ``until``; ``course`` is matched case-insensitively
    against the course id and both titles. Courses outside the catalogue are ignored.

    Example
    -------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"manager_id": ["M001"], "course": ["negotiation workshop"],
    ...                   "completed": [True]})
    >>> completed_courses(t, load_catalog())
    {'M001': {'AM-102'}}
    """
    if trainings is None or trainings.empty:
        return {}
    missing = [c for c in ("manager_id", "course") if c not in trainings]
    if missing:
        raise ParameterError(
            f"trainings table lacks column(s) {missing}; it needs manager_id and course "
            "(see docs/data-model.md)"
        )
    lookup: dict[str, str] = {}
    for skill in catalog.skills.values():
        for course in skill.courses:
            for key in (course.id, course.title_en, course.title_ru):
                lookup[_normalise(key)] = course.id
    done = pd.Series(True, index=trainings.index)
    if "completed" in trainings:
        done = trainings["completed"].astype("boolean").fillna(False).astype(bool)
    if until is not None and "date" in trainings:
        dates = pd.to_datetime(trainings["date"], errors="coerce")
        done &= ~(dates > until).fillna(False).astype(bool)
    rows = trainings.loc[done, ["manager_id", "course"]].dropna()
    out: dict[str, set[str]] = {}
    for manager_id, course in zip(rows["manager_id"].astype(str), rows["course"], strict=True):
        course_id = lookup.get(_normalise(course))
        if course_id is not None:
            out.setdefault(manager_id, set()).add(course_id)
    return out


def classify(scorecard: pd.DataFrame) -> pd.Series:
    """Label each scorecard row "development", "strength" or NA (see the module comments).

    Only rows with status "ok" are labelled: below target or in the bottom quartile is a
    development area; otherwise at/above target or in the top quartile is a strength.

    Example
    -------
    >>> import pandas as pd
    >>> sc = pd.DataFrame({"status": ["ok", "ok", "ok", "insufficient_data"],
    ...     "attainment": [0.8, 1.1, 1.2, 0.1], "quartile": pd.array([2, 4, 1, 4], "Int64")})
    >>> classify(sc).tolist()
    ['development', 'development', 'strength', <NA>]
    """
    ok = (scorecard["status"] == "ok").fillna(False).astype(bool)
    att = scorecard["attainment"].astype("float64")
    quartile = scorecard["quartile"].astype("Int64")
    below = (att < 1).fillna(False).astype(bool)
    bottom = (quartile == 4).fillna(False).astype(bool)
    above = (att >= 1).fillna(False).astype(bool)
    top = (quartile == 1).fillna(False).astype(bool)
    kind = pd.Series(pd.NA, index=scorecard.index, dtype="string")
    kind[ok & (above | top)] = "strength"
    kind[ok & (below | bottom)] = "development"
    return kind


# --------------------------------------------------------------------------- reasons
_REASON_COLUMNS = ["kpi", "segment", "value", "target", "attainment", "quartile"]


# One sentence per case; {worse} is "below"/"above" target by the KPI's direction and {meets}
# "meets"/"exceeds". {att} is the scorecard's (capped) attainment, "(120% attainment)", or for a
# signed KPI the gap to target, "(-18.0 pts vs target)".
_REASONS: dict[str, dict[str, str]] = {
    "below_and_bottom": {
        "en": "{name} {value} is {worse} target {target} "
        "and in the bottom quartile of {segment} peers",
        "ru": "{name} {value} {worse} цели {target}, нижний квартиль среди менеджеров {segment}",
    },
    "below": {
        "en": "{name} {value} is {worse} target {target} ({att})",
        "ru": "{name} {value} {worse} цели {target} ({att})",
    },
    "met_but_bottom": {
        "en": "{name} {value} meets target {target} "
        "but is in the bottom quartile of {segment} peers",
        "ru": "{name} {value} соответствует цели {target}, но в нижнем квартиле среди "
        "менеджеров {segment}",
    },
    "bottom": {
        "en": "{name} {value} is in the bottom quartile of {segment} peers",
        "ru": "{name} {value} в нижнем квартиле среди менеджеров {segment}",
    },
    "met_and_top": {
        "en": "{name} {value} {meets} target {target} ({att}) "
        "and is in the top quartile of {segment} peers",
        "ru": "{name} {value} {meets} {target} ({att}), верхний квартиль среди "
        "менеджеров {segment}",
    },
    "met": {
        "en": "{name} {value} {meets} target {target} ({att})",
        "ru": "{name} {value} {meets} {target} ({att})",
    },
    "top": {
        "en": "{name} {value} is in the top quartile of {segment} peers",
        "ru": "{name} {value} в верхнем квартиле среди менеджеров {segment}",
    },
}
_WORDS = {
    "en": {"higher": "below", "lower": "above", "exceeds": "exceeds", "meets": "meets"},
    "ru": {
        "higher": "ниже",
        "lower": "выше",
        "exceeds": "превышает цель",
        "meets": "соответствует цели",
    },
}


def _reason_case(kind: str, has_target: bool, below: bool, quartile: int | None) -> str:
    if kind == "development":
        if below:
            return "below_and_bottom" if quartile == 4 else "below"
        return "met_but_bottom" if has_target else "bottom"
    if has_target and not below:
        return "met_and_top" if quartile == 1 else "met"
    return "top"


_ATTAINMENT = {"en": "{att} attainment", "ru": "выполнение {att}"}


def _attainment_text(kpi: Any, row: Mapping[str, Any], lang: str) -> str:
    """ "120% attainment", or for a signed KPI (NPS, growth) the gap: "-18.0 pts vs target"."""
    if kpi.signed:
        return fmt_gap(kpi.id, row["value"], row["target"], lang)
    return _ATTAINMENT[lang].format(att=fmt_percent(row["attainment"], lang))


def _reason(row: Mapping[str, Any], kind: str, lang: str, currency: str) -> str:
    kpi = KPIS[row["kpi"]]
    has_target = not pd.isna(row["target"]) and not pd.isna(row["attainment"])
    below = has_target and row["attainment"] < 1
    quartile = None if pd.isna(row["quartile"]) else int(row["quartile"])
    words = _WORDS[lang]
    case = _reason_case(kind, has_target, below, quartile)
    return _REASONS[case][lang].format(
        name=kpi.name(lang),
        value=fmt_kpi_value(kpi.id, row["value"], lang, currency),
        target=fmt_kpi_value(kpi.id, row["target"], lang, currency) if has_target else "",
        att=_attainment_text(kpi, row, lang) if has_target else "",
        segment=row["segment"],
        worse=words[kpi.direction],
        meets=words["exceeds" if has_target and row["attainment"] > 1 else "meets"],
    )


_NO_COURSE = {
    "en": "; every catalogue course for this KPI is completed or already planned: plan coaching",
    "ru": "; все курсы каталога по этому KPI пройдены или уже в плане: нужен наставник",
}


# --------------------------------------------------------------------------- plan
def _pick_period(scorecard: pd.DataFrame, period: str | None) -> str:
    labels = scorecard["period"].dropna().astype(str).unique().tolist()
    if not labels:
        raise ParameterError("the scorecard has no periods; build it with scorecard() first")
    if period is None:
        return max(labels, key=lambda label: (parse_period(label).end_time, label))
    if str(period) not in labels:
        raise ParameterError(
            f"period {period!r} is not in the scorecard; available: {', '.join(sorted(labels))}"
        )
    return str(period)


def training_plan(
    scorecard: pd.DataFrame,
    *,
    trainings: pd.DataFrame | None = None,
    catalog: Mapping[str, Any] | None = None,
    period: str | None = None,
    max_items: int = 5,
    currency: str = DEFAULT_CURRENCY,
) -> pd.DataFrame:
    """Build each manager's development areas (with courses) and strengths for one period.

    Development areas are KPIs with status "ok" below target or in the bottom quartile of the
    segment's peers, ranked by profile weight x gap (gap = 1 - kpi_score / 100: the score points
    the KPI costs). Each gets a course from the catalogue skills that move it and fit the
    manager's segment (segment-specific skills first): one the manager has not completed (per
    ``trainings``) and that is not already in the plan, preferring courses aimed at that KPI
    over general ones and never proposing courses aimed only at other KPIs. Strengths are the
    other "ok" KPIs at or above target or in the top quartile, ranked by weight x kpi_score.
    Insufficient-data and not-available KPIs never enter a plan.

    Parameters
    ----------
    scorecard : output of :func:`amtools.kpi.scoring.scorecard`.
    trainings : the dataset's optional ``trainings`` table (manager_id, course, date, completed).
    catalog : mapping of ``params/policy/training_catalog.yaml`` (read when ``None``).
    period : period label; default the latest period of the scorecard.
    max_items : at most this many development rows and this many strength rows per manager.
    currency : currency code for amounts quoted in the reasons.

    Returns
    -------
    DataFrame with columns :data:`TRAINING_COLUMNS`, sorted by manager_id, kind (development
    first) and priority (1 = highest). Course columns are empty for strengths and for a
    development area whose courses are all completed or planned (the reason says so).

    Example
    -------
    >>> import pandas as pd
    >>> sc = pd.DataFrame({"manager_id": ["M001"], "period": ["2026Q3"], "segment": ["B2C"],
    ...     "kpi": ["conversion_rate"], "value": [0.18], "status": ["ok"], "target": [0.25],
    ...     "attainment": [0.72], "percentile": [10.0], "quartile": pd.array([4], "Int64"),
    ...     "weight": [0.18], "kpi_score": [41.0]})
    >>> plan = training_plan(sc)
    >>> plan.loc[0, ["course_id", "course_en"]].tolist()
    ['AM-602', 'Objection Handling Drill']
    >>> plan.loc[0, "reason_en"]
    'Conversion rate 18.0% is below target 25.0% and in the bottom quartile of B2C peers'
    """
    need = ["manager_id", "period", "segment", "kpi", "value", "status", "target", "attainment",
            "quartile", "weight", "kpi_score"]  # fmt: skip
    missing = [c for c in need if c not in scorecard]
    if missing:
        raise ParameterError(
            f"scorecard frame lacks column(s) {missing}; pass the output of scorecard()"
        )
    if max_items < 1:
        raise ParameterError(f"max_items must be a positive integer, got {max_items!r}")
    cat = load_catalog(catalog)
    label = _pick_period(scorecard, period)
    rows = scorecard[scorecard["period"].astype(str) == label].copy()
    rows["kind"] = classify(rows)
    rows = rows[rows["kind"].notna()]
    rows["order"] = rows["kpi"].map({k: i for i, k in enumerate(KPIS)}).astype("float64")
    weight = rows["weight"].astype("float64").fillna(0.0)
    kpi_score = rows["kpi_score"].astype("float64")
    gap = (1 - kpi_score / 100).fillna(0.0)
    rows["rank_key"] = np.where(
        rows["kind"] == "development", weight * gap, weight * kpi_score.fillna(0.0) / 100
    )
    rows["tiebreak"] = np.where(rows["kind"] == "development", gap, kpi_score.fillna(0.0))
    rows = rows.sort_values(
        ["manager_id", "kind", "rank_key", "tiebreak", "order"],
        ascending=[True, True, False, False, True],
        kind="stable",
    )
    done = completed_courses(trainings, cat, until=parse_period(label).end_time)

    records: list[dict[str, Any]] = []
    for (manager_id, kind), group in rows.groupby(["manager_id", "kind"], sort=True):
        planned: set[str] = set()
        taken = done.get(str(manager_id), set())
        top = group.head(max_items)[_REASON_COLUMNS].to_dict("records")
        for priority, row in enumerate(top, start=1):
            skills = cat.skills_for(row["kpi"], str(row["segment"]))
            skill, course = (skills[0] if skills else None), None
            if kind == "development":
                skill, course = _choose_course(skills, row["kpi"], taken | planned, skill)
                if course is not None:
                    planned.add(course.id)
            reason = {
                lang: _reason(cast(Mapping[str, Any], row), str(kind), lang, currency)
                for lang in ("en", "ru")
            }
            if kind == "development" and course is None:
                reason = {lang: text + _NO_COURSE[lang] for lang, text in reason.items()}
            records.append(
                {
                    "manager_id": manager_id,
                    "period": label,
                    "kind": kind,
                    "priority": priority,
                    "kpi": row["kpi"],
                    "skill": skill.name_en if skill else pd.NA,
                    "course_id": course.id if course else pd.NA,
                    "course_en": course.title_en if course else pd.NA,
                    "course_ru": course.title_ru if course else pd.NA,
                    "hours": course.hours if course else np.nan,
                    "reason_en": reason["en"],
                    "reason_ru": reason["ru"],
                    "skill_ru": skill.name_ru if skill else pd.NA,
                    "format": course.format if course else pd.NA,
                }
            )
    out = pd.DataFrame.from_records(records, columns=TRAINING_COLUMNS)
    strings = [c for c in TRAINING_COLUMNS if c not in ("priority", "hours")]
    out = out.astype({**dict.fromkeys(strings, "string"), "priority": "Int64", "hours": "float64"})
    return out.reset_index(drop=True)


def _choose_course(
    skills: list[Skill], kpi_id: str, unavailable: set[str], fallback: Skill | None
) -> tuple[Skill | None, Course | None]:
    """The best open (skill, course) for ``kpi_id``, or ``(fallback, None)`` when none is left.

    Courses that name ``kpi_id`` under ``kpis`` come first, then general courses (no ``kpis``),
    each in skill order and then catalogue order; courses aimed at other KPIs only are never
    proposed (a reporting course does not fix profitability).
    """
    candidates = []
    for skill_rank, skill in enumerate(skills):
        for course_rank, course in enumerate(skill.courses):
            if course.id in unavailable or (course.kpis and kpi_id not in course.kpis):
                continue
            tier = 0 if kpi_id in course.kpis else 1
            candidates.append((tier, skill_rank, course_rank, skill, course))
    if not candidates:
        return fallback, None
    _, _, _, skill, course = min(candidates, key=lambda c: c[:3])
    return skill, course
