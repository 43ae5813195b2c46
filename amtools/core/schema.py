"""The CRM data model (docs/data-model.md), declared once: loaders, validation and docs read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from amtools.core.vocab import SEGMENTS

__all__ = [
    "Column",
    "Table",
    "TABLES",
    "REQUIRED_TABLES",
    "SEGMENTS",
    "DEAL_STAGES",
    "Kind",
    "table",
    "MONEY_MAX",
    "NUMBER_MAX",
    "DATE_WINDOW",
]

Kind = Literal["id", "text", "category", "float", "int", "date", "datetime", "bool"]
"""Logical column kinds. Loaders coerce them to pandas dtypes:

- ``id``, ``text``, ``category`` -> string (``category`` additionally checked against ``allowed``)
- ``float`` -> float64, ``int`` -> nullable Int64, ``bool`` -> nullable boolean
- ``date``, ``datetime`` -> datetime64[ns] (``date`` is normalised to midnight)
"""

MONEY_MAX = 1e15
"""Largest plausible absolute money value (amounts, costs, salaries, budgets): |x| < 1e15."""
NUMBER_MAX = 1e15
"""Largest plausible absolute value of any other number column without tighter bounds."""
HOURS_MAX = 1e5
"""Largest plausible number of hours (training hours of one course)."""
DATE_WINDOW = ("1900-01-01", "2100-12-31")
"""Dates and timestamps outside this inclusive window are reported, never loaded."""

DEAL_STAGES = ("open", "won", "lost")


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Parameters
    ----------
    name : column name as amtools uses it.
    kind : logical kind, see :data:`Kind`.
    description : meaning, shown in ``docs/data-model.md``.
    required : the column must be present for the table to load.
    nullable : empty values are allowed (for required columns: whether a value may be missing).
    allowed : for ``category`` columns, the allowed values.
    min, max : inclusive numeric bounds, where they apply.
    references : ``"table.column"`` this column points at (a foreign key).
    abs_max : for number columns, the exclusive bound on ``|value|`` (default
        :data:`NUMBER_MAX`; money columns :data:`MONEY_MAX`). Non-finite values (``inf``,
        ``-inf``, ``nan`` written as text) are never allowed.
    """

    name: str
    kind: Kind
    description: str
    required: bool = False
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    references: str | None = None
    abs_max: float | None = None

    @property
    def limit(self) -> float | None:
        """The bound on ``|value|`` of a number column (``None`` for other kinds)."""
        if self.kind not in ("float", "int"):
            return None
        return self.abs_max if self.abs_max is not None else NUMBER_MAX


@dataclass(frozen=True)
class Table:
    """One table of the data model."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = False
    kpi_groups: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


def _c(name: str, kind: Kind, description: str, **kw: object) -> Column:
    return Column(name, kind, description, **kw)  # type: ignore[arg-type]


_REQ = {"required": True, "nullable": False}
_MONEY = {"abs_max": MONEY_MAX}

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "managers",
            "Account managers, one row each.",
            (
                _c("manager_id", "id", "Unique manager identifier.", **_REQ),
                _c(
                    "name",
                    "text",
                    "Full name (personal data: shown only in that manager's own review and team reports).",
                    **_REQ,
                ),
                _c("segment", "category", "Market the manager serves.", allowed=SEGMENTS, **_REQ),
                _c("team", "text", "Team (sales unit) name."),
                _c("region", "text", "Region or office."),
                _c("hire_date", "date", "Date the manager joined."),
                _c(
                    "base_salary",
                    "float",
                    "Monthly base salary in the reporting currency.",
                    min=0,
                    **_MONEY,
                ),
                _c("active", "bool", "Still employed (default true)."),
            ),
            key=("manager_id",),
            required=True,
        ),
        Table(
            "clients",
            "Client accounts (companies for B2B, people for B2C), one row each.",
            (
                _c("client_id", "id", "Unique client identifier.", **_REQ),
                _c(
                    "manager_id",
                    "id",
                    "Manager who owns the account.",
                    references="managers.manager_id",
                    **_REQ,
                ),
                _c(
                    "segment",
                    "category",
                    "B2B or B2C (defaults to the manager's segment).",
                    allowed=SEGMENTS,
                ),
                _c("name", "text", "Client name."),
                _c("industry", "text", "Industry or sector."),
                _c("region", "text", "Region."),
                _c("acquired_date", "date", "Date the client became a customer."),
                _c("churned_date", "date", "Date the client was lost (empty while active)."),
                _c(
                    "referred_by",
                    "id",
                    "client_id of the client who referred this one.",
                    references="clients.client_id",
                ),
            ),
            key=("client_id",),
            required=True,
        ),
        Table(
            "deals",
            "Sales opportunities and orders, one row per deal.",
            (
                _c("deal_id", "id", "Unique deal identifier.", **_REQ),
                _c(
                    "client_id",
                    "id",
                    "Client of the deal (may be empty on early open deals: a warning).",
                    references="clients.client_id",
                    required=True,
                ),
                _c(
                    "manager_id",
                    "id",
                    "Manager responsible.",
                    references="managers.manager_id",
                    **_REQ,
                ),
                _c("stage", "category", "Deal stage.", allowed=DEAL_STAGES, **_REQ),
                _c(
                    "amount",
                    "float",
                    "Deal value (won: booked revenue; open: expected value).",
                    min=0,
                    required=True,
                    **_MONEY,
                ),
                _c("created_date", "date", "Date the opportunity was created."),
                _c("closed_date", "date", "Date the deal was won or lost (empty while open)."),
                _c("product", "text", "Product or product line (for cross-sales)."),
                _c("cost", "float", "Cost of the goods or services sold.", min=0, **_MONEY),
                _c("discount", "float", "Discount granted, as a fraction 0..1.", min=0, max=1),
                _c("probability", "float", "Win probability of an open deal, 0..1.", min=0, max=1),
                _c("expected_close_date", "date", "Expected close date of an open deal."),
                _c("lost_reason", "text", "Why a lost deal was lost."),
                _c("competitor", "text", "Competitor that won a lost deal."),
            ),
            key=("deal_id",),
            required=True,
        ),
        Table(
            "proposals",
            "Commercial proposals sent to clients.",
            (
                _c("proposal_id", "id", "Unique proposal identifier.", **_REQ),
                _c(
                    "manager_id",
                    "id",
                    "Manager who sent it.",
                    references="managers.manager_id",
                    **_REQ,
                ),
                _c("client_id", "id", "Client it was sent to.", references="clients.client_id"),
                _c("sent_date", "date", "Date sent.", **_REQ),
                _c("amount", "float", "Proposed value.", min=0, **_MONEY),
                _c("outcome", "category", "Outcome.", allowed=("won", "lost", "pending")),
                _c("deal_id", "id", "Deal it belongs to.", references="deals.deal_id"),
            ),
            key=("proposal_id",),
        ),
        Table(
            "activities",
            "Touches with clients: meetings, calls, emails.",
            (
                _c("activity_id", "id", "Unique activity identifier.", **_REQ),
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("client_id", "id", "Client.", references="clients.client_id"),
                _c(
                    "type",
                    "category",
                    "Kind of touch.",
                    allowed=("meeting", "call", "email", "message", "visit", "other"),
                    **_REQ,
                ),
                _c("date", "date", "Date of the touch.", **_REQ),
            ),
            key=("activity_id",),
        ),
        Table(
            "requests",
            "Client requests (service tickets) and their handling times.",
            (
                _c("request_id", "id", "Unique request identifier.", **_REQ),
                _c("client_id", "id", "Client who asked.", references="clients.client_id"),
                _c(
                    "manager_id",
                    "id",
                    "Manager responsible.",
                    references="managers.manager_id",
                    **_REQ,
                ),
                _c("opened_at", "datetime", "When the request arrived.", **_REQ),
                _c("first_response_at", "datetime", "First response (empty if none yet)."),
                _c("resolved_at", "datetime", "Resolution time (empty if open)."),
            ),
            key=("request_id",),
        ),
        Table(
            "surveys",
            "Client satisfaction (CSI) and loyalty (NPS) survey responses.",
            (
                _c("client_id", "id", "Responding client.", references="clients.client_id"),
                _c("manager_id", "id", "Manager rated.", references="managers.manager_id", **_REQ),
                _c("date", "date", "Response date.", **_REQ),
                _c("csi", "float", "Satisfaction score 1..5.", min=1, max=5),
                _c("nps", "float", "Likelihood to recommend 0..10.", min=0, max=10),
            ),
        ),
        Table(
            "contracts",
            "Service contracts, for prolongation (renewal) rates.",
            (
                _c("contract_id", "id", "Unique contract identifier.", **_REQ),
                _c("client_id", "id", "Client.", references="clients.client_id", **_REQ),
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("start_date", "date", "Start date.", **_REQ),
                _c("end_date", "date", "End date.", **_REQ),
                _c("renewed", "bool", "Renewed at its end (empty if not yet decided)."),
            ),
            key=("contract_id",),
        ),
        Table(
            "contacts",
            "People inside client companies (B2B contact expansion).",
            (
                _c("contact_id", "id", "Unique contact identifier.", **_REQ),
                _c("client_id", "id", "Client company.", references="clients.client_id", **_REQ),
                _c("added_date", "date", "Date the contact was added.", **_REQ),
                _c("role", "text", "Role of the contact (buyer, CFO, engineer…)."),
            ),
            key=("contact_id",),
        ),
        Table(
            "projects",
            "Client projects run by the manager.",
            (
                _c("project_id", "id", "Unique project identifier.", **_REQ),
                _c("client_id", "id", "Client.", references="clients.client_id"),
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("planned_end", "date", "Planned completion date.", **_REQ),
                _c("actual_end", "date", "Actual completion date (empty while running)."),
                _c("budget", "float", "Approved budget.", min=0, **_MONEY),
                _c("actual_cost", "float", "Actual cost.", min=0, **_MONEY),
                _c("quality", "float", "Quality rating 1..5.", min=1, max=5),
            ),
            key=("project_id",),
        ),
        Table(
            "internal_reports",
            "Internal reports the manager owes (weekly/monthly reporting).",
            (
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("due_date", "date", "Due date.", **_REQ),
                _c("submitted_date", "date", "Submission date (empty if not submitted)."),
                _c("quality", "float", "Quality rating 1..5.", min=1, max=5),
            ),
        ),
        Table(
            "compliance",
            "Checks of internal procedures; one row per check or incident.",
            (
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("date", "date", "Date.", **_REQ),
                _c("violation", "bool", "A violation was found.", **_REQ),
            ),
        ),
        Table(
            "product_ideas",
            "Ideas for products or services submitted by managers.",
            (
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("date", "date", "Submission date.", **_REQ),
                _c("accepted", "bool", "Accepted by the product team."),
            ),
        ),
        Table(
            "trainings",
            "Training courses taken.",
            (
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("course", "text", "Course name or code.", **_REQ),
                _c("skill", "text", "Skill the course certifies."),
                _c("date", "date", "Date finished (or enrolled).", **_REQ),
                _c("hours", "float", "Training hours.", min=0, abs_max=HOURS_MAX),
                _c("completed", "bool", "Completed (certified)."),
            ),
        ),
        Table(
            "targets",
            "KPI targets per manager and period (optional; otherwise params/policy/targets.yaml).",
            (
                _c("manager_id", "id", "Manager.", references="managers.manager_id", **_REQ),
                _c("period", "text", "Period label: 2026Q3, 2026-07 or 2026.", **_REQ),
                _c("kpi", "text", "KPI id from the KPI registry.", **_REQ),
                _c("target", "float", "Target value in the KPI's unit.", **_REQ),
            ),
        ),
    ]
}

REQUIRED_TABLES = tuple(name for name, t in TABLES.items() if t.required)


def table(name: str) -> Table:
    """Return the declaration of table ``name``.

    Example
    -------
    >>> table("deals").required_columns
    ['deal_id', 'client_id', 'manager_id', 'stage', 'amount']
    """
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


def data_model_markdown() -> str:
    """Render the data model as Markdown (the source of ``docs/data-model.md``).

    Example
    -------
    >>> data_model_markdown().splitlines()[0]
    '# Data model'
    """
    lines = [
        "# Data model",
        "",
        "<!-- Generated by `python -m amtools.core.schema > docs/data-model.md`; a test checks it is current. -->",
        "",
        "One row per entity or event. Only "
        + ", ".join(f"`{n}`" for n in REQUIRED_TABLES)
        + " are required; every other table is optional, and a KPI whose table is absent "
        "is reported as *not available (needs table X)*, never as 0.",
        "",
        "Column kinds: `id`/`text`/`category` load as strings (`category` is checked against its "
        "allowed values), `float` as float64, `int` as nullable Int64, `bool` as nullable boolean, "
        "`date`/`datetime` as datetime64 (dates at midnight).",
        "",
        "Numbers must be finite (`inf`, `-inf` and `nan` written as text are rejected) and "
        f"below a plausible absolute bound: money columns |value| < {MONEY_MAX:g}, other "
        f"numbers |value| < {NUMBER_MAX:g} unless the table states a tighter rule.",
        "",
        "Dates must lie in {} .. {}; values outside are reported by table, column and "
        "rows. Time zones: a value with a zone (`…Z`, `…+03:00`, tz-aware columns) is "
        "converted to UTC and the zone dropped; a value without one is taken as it is, so "
        "aware and naive values may mix.".format(*DATE_WINDOW),
        "",
    ]
    for spec in TABLES.values():
        status = "required" if spec.required else "optional"
        lines += [f"## `{spec.name}` ({status})", "", spec.description, ""]
        if spec.key:
            lines += [f"Key: {', '.join(f'`{k}`' for k in spec.key)}", ""]
        lines += ["| column | kind | required | meaning | rules |", "|---|---|---|---|---|"]
        for col in spec.columns:
            rules = []
            if col.allowed:
                rules.append("one of " + ", ".join(f"`{v}`" for v in col.allowed))
            if col.min is not None or col.max is not None:
                lo = "" if col.min is None else f"{col.min:g} ≤ "
                hi = "" if col.max is None else f" ≤ {col.max:g}"
                rules.append(f"{lo}value{hi}")
            if col.limit is not None:
                rules.append(f"finite, \\|value\\| < {col.limit:g}")
            if col.references:
                rules.append(f"→ `{col.references}`")
            if col.required and not col.nullable:
                rules.append("no empty values")
            lines.append(
                f"| `{col.name}` | {col.kind} | {'yes' if col.required else ''} | "
                f"{col.description} | {'; '.join(rules)} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - used to regenerate the docs
    print(data_model_markdown(), end="")
