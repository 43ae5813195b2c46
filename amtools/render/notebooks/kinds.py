"""The report kinds a pack can hold, by name: notebook, title and what they are rendered per."""

from __future__ import annotations

from dataclasses import dataclass

from amtools.core.errors import ParameterError

__all__ = ["ReportKind", "REPORTS", "DEFAULT_REPORTS", "register_report", "get_report"]


@dataclass(frozen=True)
class ReportKind:
    """One kind of report.

    Attributes
    ----------
    name : registry key (``amtools run --reports``).
    notebook : file name in ``notebooks/``; its parameters file is ``params/<notebook stem>.yaml``.
    title_key : i18n key of the report's title.
    per : ``None`` (one report per run), ``"manager"`` (one per manager) or ``"team"``.
    entity_param : the notebook parameter receiving the manager id / team name; for a
        ``per=None`` report with ``entity_param="team"`` the runner can add one report per
        team next to the company-wide one (``amtools run --per-team``, or automatically above
        ``per_team_above`` managers when the report's params file sets it).
    section : where the index lists it: ``"team"``, ``"manager"`` or ``"other"``.
    needs : optional context parts it reads (``"forecast"``: forecast and budget); the runner
        computes those only when a requested report needs them.
    uses : the stages of the run context (:data:`amtools.pipeline.STAGES`) its notebook
        reads. A stage that failed fails the report (listed on the index, not rendered); a
        stage without a result shows as "rendered — <reason>".
    """

    name: str
    notebook: str
    title_key: str
    per: str | None = None
    entity_param: str | None = None
    section: str = "team"
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()

    @property
    def params_name(self) -> str:
        """Name of the notebook's parameters file under ``params/`` (``reports/<notebook>``)."""
        return "reports/" + self.notebook.rsplit(".", 1)[0]


REPORTS: dict[str, ReportKind] = {}
"""Report kinds by name; ``amtools run --reports`` picks from these."""


def register_report(kind: ReportKind) -> ReportKind:
    """Add (or replace) a report kind in :data:`REPORTS`.

    Example
    -------
    >>> register_report(ReportKind("churn", "churn.ipynb", "report.team_review.title")).name
    'churn'
    >>> _ = REPORTS.pop("churn")
    """
    if kind.per not in (None, "manager", "team"):
        raise ValueError(f"report {kind.name!r}: per must be None, 'manager' or 'team'")
    if kind.per and not kind.entity_param:
        raise ValueError(f"report {kind.name!r}: per-{kind.per} reports need an entity_param")
    REPORTS[kind.name] = kind
    return kind


def get_report(name: str) -> ReportKind:
    """The report kind ``name``; a clear error lists the known ones."""
    try:
        return REPORTS[name]
    except KeyError:
        raise ParameterError(
            f"unknown report {name!r}; choose from: {', '.join(REPORTS)}"
        ) from None


# ``uses`` is what each notebook reads from the context (ctx.kpis_*, ctx.scorecard/scores/
# training, ctx.pipeline, ctx.forecast, ctx.budget, ctx.periods).
register_report(
    ReportKind(
        "team_review",
        "team_review.ipynb",
        "report.team_review.title",
        entity_param="team",
        uses=("kpis", "scores", "pipeline"),
    )
)
register_report(
    ReportKind(
        "forecast",
        "forecast.ipynb",
        "report.forecast.title",
        needs=("forecast",),
        uses=("forecast", "pipeline"),
    )
)
register_report(
    ReportKind(
        "budget",
        "budget_plan.ipynb",
        "report.budget.title",
        needs=("forecast",),
        uses=("forecast", "budget"),
    )
)
register_report(
    ReportKind(
        "manager_review",
        "manager_review.ipynb",
        "report.manager_review.title",
        per="manager",
        entity_param="manager_id",
        section="manager",
        uses=("kpis", "scores"),
    )
)
register_report(
    ReportKind(
        "explore",
        "explore.ipynb",
        "report.explore.title",
        section="other",
        needs=("forecast",),
        uses=("kpis", "forecast", "budget"),
    )
)

DEFAULT_REPORTS: tuple[str, ...] = ("team_review", "forecast", "budget", "manager_review")
"""What ``amtools run`` renders without ``--reports`` (``explore`` is for analysts)."""
