"""The budget's inputs, checked: the forecast frame, the managers table, the KPI scores.

Each reader refuses bad data with a :class:`~amtools.core.problems.DataValidationError`
naming the table, the column, example rows and the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from amtools.budget.calendar import month_label, next_fiscal_year
from amtools.budget.policy import SCENARIO_COLUMNS
from amtools.core.dataset import Dataset
from amtools.core.errors import PolicyError
from amtools.core.problems import DataValidationError, Problem
from amtools.core.vocab import NO_TEAM, SEGMENTS

__all__ = [
    "check_coverage",
    "data_error",
    "forecast_frame",
    "history_end",
    "latest_scores",
    "manager_matrix",
    "managers_frame",
]


def data_error(
    table: str,
    column: str | None,
    check: str,
    message: str,
    count: int,
    examples: tuple[str, ...] = (),
    *,
    fix: str = "",
) -> DataValidationError:
    """One-problem :class:`DataValidationError` (table, column, rows and the fix).

    Example
    -------
    >>> data_error("scores", "score", "out_of_range", "score must be within 0..100", 1).problems[0].table
    'scores'
    """
    return DataValidationError([Problem(table, column, check, message, count, examples, fix=fix)])


def forecast_frame(forecast: Any, columns: tuple[str, ...] = SCENARIO_COLUMNS) -> pd.DataFrame:
    """The forecast's rows as [unique_id, level, ds, yhat, <bounds>]; bounds not in ``columns``
    may be absent (then NaN).

    Example
    -------
    >>> forecast_frame(result)  # doctest: +SKIP
    """
    frame = getattr(forecast, "forecast", forecast)
    if not isinstance(frame, pd.DataFrame):
        raise PolicyError(
            "plan() needs a ForecastResult (from amtools.forecast.forecast) or its .forecast "
            f"DataFrame, got {type(forecast).__name__}."
        )
    needed = ["unique_id", "level", "ds", *dict.fromkeys(("yhat", *columns))]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise data_error(
            "forecast",
            ", ".join(missing),
            "missing_column",
            f"the forecast frame lacks column(s) {missing}",
            len(frame),
            fix="pass the ForecastResult of amtools.forecast.forecast(..., levels=(80, 95)) "
            "or base the scenarios (params/policy/budget.yaml scenarios) on columns it has",
        )
    out = frame[needed].copy()
    for col in SCENARIO_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    out = out[["unique_id", "level", "ds", *SCENARIO_COLUMNS]]
    out["unique_id"] = out["unique_id"].astype("string")
    out["level"] = out["level"].astype("string")
    out["ds"] = pd.to_datetime(out["ds"]).dt.to_period("M").dt.start_time
    for col in SCENARIO_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    dup = out.duplicated(["unique_id", "ds"], keep=False)
    if dup.any():
        examples = tuple(
            f"{u} {month_label(d)}"
            for u, d in out.loc[dup, ["unique_id", "ds"]].head(3).itertuples(index=False)
        )
        raise data_error(
            "forecast",
            "unique_id",
            "duplicate_rows",
            "several rows per series and month (more than one model?)",
            int(dup.sum()),
            examples,
            fix="keep one (the chosen, reconciled) model per series",
        )
    return out


def managers_frame(dataset: Dataset) -> pd.DataFrame:
    """The managers table checked for the budget: manager_id, segment, team, base_salary, active.

    An empty team is :data:`~amtools.core.vocab.NO_TEAM`; an empty ``active`` counts as active.

    Raises
    ------
    DataValidationError
        No managers table, a missing column, an unknown segment, a negative salary or a
        duplicate manager_id.

    Example
    -------
    >>> managers = pd.DataFrame({"manager_id": ["m1"], "segment": ["B2B"]})
    >>> managers_frame(Dataset({"managers": managers}))[["team", "active"]].values.tolist()
    [['(no team)', True]]
    """
    managers = dataset.get("managers")
    if managers is None:
        raise data_error(
            "managers",
            None,
            "missing_table",
            "the budget needs the managers table",
            0,
            fix="load a source with a managers table",
        )
    problems = []
    for col in ("manager_id", "segment"):
        if col not in managers.columns:
            problems.append(
                Problem(
                    "managers",
                    col,
                    "missing_column",
                    f"column {col!r} is missing",
                    len(managers),
                    fix=f"map a column to {col!r}",
                    args={"columns": col, "first": col},
                )
            )
    if problems:
        raise DataValidationError(problems)
    out = pd.DataFrame({"manager_id": managers["manager_id"].astype("string")})
    out["segment"] = managers["segment"].astype("string").to_numpy()
    team = (
        managers["team"] if "team" in managers.columns else pd.Series(pd.NA, index=managers.index)
    )
    out["team"] = team.astype("string").fillna(NO_TEAM).to_numpy()
    salary = (
        managers["base_salary"]
        if "base_salary" in managers.columns
        else pd.Series(np.nan, index=managers.index)
    )
    out["base_salary"] = pd.to_numeric(salary, errors="coerce").astype("float64").to_numpy()
    active = (
        managers["active"]
        if "active" in managers.columns
        else pd.Series(pd.NA, index=managers.index)
    )
    out["active"] = active.astype("boolean").fillna(True).astype(bool).to_numpy()
    bad_seg = ~out["segment"].isin(SEGMENTS).fillna(False)
    if bad_seg.any():
        ex = tuple(out.loc[bad_seg, "manager_id"].astype(str).head(5))
        problems.append(
            Problem(
                "managers",
                "segment",
                "unknown_value",
                "segment must be B2B or B2C",
                int(bad_seg.sum()),
                ex,
                fix="set segment to B2B or B2C",
            )
        )
    neg = out["base_salary"] < 0
    if neg.any():
        ex = tuple(out.loc[neg, "manager_id"].astype(str).head(5))
        problems.append(
            Problem(
                "managers",
                "base_salary",
                "negative",
                "monthly base salary is negative",
                int(neg.sum()),
                ex,
                fix="correct the salary (a monthly amount >= 0)",
            )
        )
    dup = out["manager_id"].duplicated(keep=False)
    if dup.any():
        ex = tuple(out.loc[dup, "manager_id"].astype(str).unique()[:5])
        problems.append(
            Problem(
                "managers",
                "manager_id",
                "duplicate_key",
                "manager_id is not unique",
                int(dup.sum()),
                ex,
                fix="keep one row per manager",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return out


def history_end(fc: pd.DataFrame) -> pd.Timestamp:
    """Last day of the last history month (the month before the first forecast month).

    Example
    -------
    >>> history_end(pd.DataFrame({"ds": pd.to_datetime(["2026-10-01"])})).date().isoformat()
    '2026-09-30'
    """
    return fc["ds"].min() - pd.Timedelta(days=1)


def check_coverage(
    fc: pd.DataFrame, months: list[pd.Timestamp], fiscal_year: int, fys: int
) -> None:
    """Refuse a forecast that does not cover every month of the fiscal year, with the fix.

    Example
    -------
    >>> check_coverage(fc, fiscal_year_months(2027), 2027, 1)  # doctest: +SKIP
    """
    have = set(fc.loc[fc["level"] == "manager", "ds"])
    missing = [m for m in months if m not in have]
    if not missing:
        return
    first, last = fc["ds"].min(), fc["ds"].max()
    what = (
        f"the forecast covers {month_label(first)}..{month_label(last)} but fiscal year "
        f"{fiscal_year} (fiscal_year_start={fys}) needs {month_label(months[0])}.."
        f"{month_label(months[-1])}; missing months: "
        f"{', '.join(month_label(m) for m in missing)}."
    )
    if months[0] < first:
        later = next_fiscal_year(first - pd.Timedelta(days=1), fys)
        raise PolicyError(
            f"{what} The fiscal year starts before the forecast (those months are history). "
            f"Fix: plan a fiscal year that starts on or after {month_label(first)}, "
            f"e.g. fiscal_year={later} (the default)."
        )
    need_h = (months[-1].to_period("M") - first.to_period("M")).n + 1
    raise PolicyError(
        f"{what} Fix: forecast with a longer horizon (h >= {need_h}, e.g. "
        f"forecast(series, h={need_h})) or pass another fiscal_year / fiscal_year_start."
    )


def manager_matrix(
    fc: pd.DataFrame, months: list[pd.Timestamp], used: tuple[str, ...]
) -> pd.DataFrame:
    """Manager x month forecast values of the fiscal year, checked complete and floored at 0.

    Example
    -------
    >>> manager_matrix(fc, fiscal_year_months(2027), ("lo_80", "hi_80"))  # doctest: +SKIP
    """
    rows = fc[(fc["level"] == "manager") & fc["ds"].isin(months)].copy()
    rows["manager_id"] = rows["unique_id"].str.removeprefix("manager/")
    rows = rows.rename(columns={"ds": "month"})
    problems = []
    n_months = rows.groupby("manager_id")["month"].nunique()
    short = n_months[n_months < len(months)]
    if len(short):
        problems.append(
            Problem(
                "forecast",
                "ds",
                "incomplete_series",
                f"manager series do not cover all {len(months)} months of the fiscal year",
                len(short),
                tuple(f"manager/{m}" for m in short.index[:5]),
                fix="forecast every series to the same horizon",
            )
        )
    for col in ("yhat", *used):
        empty = rows[col].isna()
        if empty.any():
            problems.append(
                Problem(
                    "forecast",
                    col,
                    "missing_value",
                    f"empty {col} in manager rows of the fiscal year",
                    int(empty.sum()),
                    tuple(rows.loc[empty, "unique_id"].astype(str).unique()[:5]),
                    fix="re-run the forecast; every series needs a value for every month",
                )
            )
    if problems:
        raise DataValidationError(problems)
    for col in SCENARIO_COLUMNS:
        # Revenue cannot be negative: interval bounds (and rarely yhat) are floored at 0.
        rows[col] = rows[col].clip(lower=0.0)
    return rows[["manager_id", "month", *SCENARIO_COLUMNS]].reset_index(drop=True)


def latest_scores(
    scores: pd.DataFrame | None, ids: list[str], default: float
) -> tuple[pd.Series, int]:
    """Each manager's latest KPI score (``default`` where none), and how many had one.

    Example
    -------
    >>> scores = pd.DataFrame({"manager_id": ["m1", "m1"], "period": ["2026Q2", "2026Q3"],
    ...     "score": [90.0, 50.0]})
    >>> latest_scores(scores, ["m1", "m2"], 100.0)[0].tolist()
    [50.0, 100.0]
    """
    out = pd.Series(default, index=ids, dtype="float64")
    if scores is None:
        return out, 0
    needed = [c for c in ("manager_id", "period", "score") if c not in scores.columns]
    if needed:
        raise data_error(
            "scores",
            ", ".join(needed),
            "missing_column",
            f"scores lacks {needed}",
            len(scores),
            fix="pass the frame from amtools.kpi.scoring.scores()",
        )
    frame = scores[["manager_id", "period", "score"]].copy()
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype("float64")
    bad = (frame["score"] < 0) | (frame["score"] > 100)
    if bad.any():
        raise data_error(
            "scores",
            "score",
            "out_of_range",
            "score must be within 0..100",
            int(bad.sum()),
            tuple(frame.loc[bad, "manager_id"].astype(str).head(5)),
            fix="pass scores on the 0..100 scale from amtools.kpi.scoring.scores()",
        )
    frame = frame.dropna(subset=["score"])
    try:
        frame["end"] = [
            pd.Period(p if isinstance(p, pd.Period) else str(p)).end_time for p in frame["period"]
        ]
    except ValueError:
        raise data_error(
            "scores",
            "period",
            "bad_value",
            "period labels must look like 2026Q3, 2026-07 or 2026",
            len(frame),
            tuple(frame["period"].astype(str).head(3)),
            fix="pass the frame from amtools.kpi.scoring.scores()",
        ) from None
    latest = frame.sort_values("end").groupby(frame["manager_id"].astype(str))["score"].last()
    found = latest.reindex(ids)
    return found.fillna(default), int(found.notna().sum())
