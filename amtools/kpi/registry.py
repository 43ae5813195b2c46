"""The KPI registry: every KPI of the account-manager role, declared once (see docs/kpi.md).

A pure data table: importing it loads neither pandas nor the compute engine (the validator
and the docs read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from amtools.core.vocab import SEGMENTS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "KPI",
    "KPIS",
    "GROUPS",
    "UNITS",
    "DIRECTIONS",
    "INTERVALS",
    "SCALINGS",
    "get_kpi",
    "kpi_table",
]

UNITS = ("currency", "ratio", "count", "days", "hours", "score", "per_month")
DIRECTIONS = ("higher", "lower")
INTERVALS = (None, "wilson", "nps", "t", "bootstrap")
SCALINGS = ("additive", "survival", "hazard", "none")

GROUPS: dict[str, tuple[str, str]] = {
    "financial": ("Financial", "Финансовые"),
    "client": ("Client", "Клиентские"),
    "activity": ("Activity", "Показатели активности"),
    "project": ("Project", "Проектные"),
    "internal": ("Internal", "Внутренние"),
    "professional": ("Professional", "Профессиональные"),
}
"""Group id -> (English name, Russian name), in the seed's order."""


@dataclass(frozen=True)
class KPI:
    """Declaration of one KPI.

    Attributes
    ----------
    id : stable identifier (``conversion_rate``).
    group : one of :data:`GROUPS`.
    name_en, name_ru : display names.
    unit : one of :data:`UNITS` (``ratio`` is a fraction 0..1, shown as %).
    direction : ``"higher"`` or ``"lower"`` is better.
    formula_en, formula_ru : the definition in words.
    tables : data-model tables the KPI needs; absent -> ``not_available``.
    min_sample : below this sample size the value is flagged ``insufficient_data``
        (``params/policy/kpi.yaml`` ``min_samples`` may override it).
    segments : segments the KPI applies to (``("B2B",)`` for B2B-only KPIs).
    interval : confidence-interval method: ``None``, ``"wilson"``, ``"nps"``, ``"t"``, ``"bootstrap"``.
    columns : optional columns (``"table.column"``) the KPI needs besides the required ones.
    scaling : how the KPI adds up over time and across managers: ``"additive"`` (sums and
        counts: targets scale with period length and add up across a team), ``"survival"``
        (share still there at period end: target ** k), ``"hazard"`` (share lost:
        1 - (1 - target) ** k) or ``"none"`` (ratios, averages, medians, scores).
    signed : the value can be negative (NPS, growth rates): compare it with its target as a
        gap in points, not as a ratio ("attainment" of a negative value means nothing).
    needs_any : groups of alternative columns: each group needs at least one of its columns
        with values (``(("clients.acquired_date", "deals.closed_date"),)``: when a client
        became one is known from either). A KPI whose table, column or group is missing is
        ``not_available`` with a reason naming it, never 0 or 100 %.
    reads : optional columns read when present, with a documented default when absent
        (``trainings.completed``: without it every training row counts as completed).
    """

    id: str
    group: str
    name_en: str
    name_ru: str
    unit: str
    direction: str
    formula_en: str
    formula_ru: str
    tables: tuple[str, ...]
    min_sample: int = 0
    segments: tuple[str, ...] = SEGMENTS
    interval: str | None = None
    columns: tuple[str, ...] = ()
    scaling: str = "none"
    signed: bool = False
    needs_any: tuple[tuple[str, ...], ...] = ()
    reads: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every optional column the KPI reads (``columns``, ``needs_any`` and ``reads``)."""
        out = list(self.columns)
        for group in (*self.needs_any, self.reads):
            out += [c for c in group if c not in out]
        return tuple(out)

    @property
    def additive(self) -> bool:
        """Sums and counts: a team's value (and target) is the sum of its managers'."""
        return self.scaling == "additive"

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"KPI {self.id!r}: unknown group {self.group!r}")
        if self.unit not in UNITS:
            raise ValueError(f"KPI {self.id!r}: unknown unit {self.unit!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"KPI {self.id!r}: unknown direction {self.direction!r}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"KPI {self.id!r}: unknown scaling {self.scaling!r}")
        if self.interval not in INTERVALS:
            raise ValueError(f"KPI {self.id!r}: unknown interval {self.interval!r}")

    def name(self, lang: str = "en") -> str:
        """Display name in ``lang`` ("en" or "ru")."""
        return self.name_ru if lang == "ru" else self.name_en

    def formula(self, lang: str = "en") -> str:
        """Definition in words in ``lang`` ("en" or "ru")."""
        return self.formula_ru if lang == "ru" else self.formula_en


_ALL = [
    # -- financial ------------------------------------------------------------
    KPI(
        "sales_volume",
        "financial",
        "Sales volume",
        "Объём продаж",
        "currency",
        "higher",
        "Sum of the amounts of deals won in the period.",
        "Сумма выигранных в периоде сделок.",
        ("deals",),
        scaling="additive",
        columns=("deals.closed_date",),
    ),
    KPI(
        "revenue_growth_existing",
        "financial",
        "Revenue growth from existing clients",
        "Рост выручки от существующих клиентов",
        "ratio",
        "higher",
        "Won revenue in the period from clients acquired before the period start, divided by the "
        "won revenue from the same clients in the comparison period (same period last year by "
        "default), minus 1.",
        "Выручка периода от клиентов, привлечённых до начала периода, делённая на выручку от тех "
        "же клиентов в периоде сравнения (по умолчанию тот же период прошлого года), минус 1.",
        ("deals", "clients"),
        min_sample=3,
        signed=True,
        columns=("deals.closed_date",),
        needs_any=(("clients.acquired_date", "deals.closed_date"),),
    ),
    KPI(
        "client_profitability",
        "financial",
        "Client profitability",
        "Прибыльность клиентов",
        "ratio",
        "higher",
        "(Won amount − cost) / won amount, over won deals of the period that have a cost.",
        "(Сумма выигранных сделок − себестоимость) / сумма выигранных сделок, по сделкам "
        "периода с известной себестоимостью.",
        ("deals",),
        min_sample=3,
        columns=("deals.cost", "deals.closed_date"),
    ),
    KPI(
        "margin_per_client",
        "financial",
        "Margin per client",
        "Маржа на клиента",
        "currency",
        "higher",
        "(Won amount − cost) of won deals with a cost / number of distinct clients with such deals.",
        "(Сумма выигранных сделок − себестоимость) / число разных клиентов с такими сделками.",
        ("deals",),
        min_sample=3,
        columns=("deals.cost", "deals.closed_date"),
    ),
    KPI(
        "average_check",
        "financial",
        "Average check",
        "Средний чек",
        "currency",
        "higher",
        "Won amount / number of won deals in the period.",
        "Сумма выигранных сделок / число выигранных сделок периода.",
        ("deals",),
        min_sample=3,
        interval="t",
        columns=("deals.closed_date",),
    ),
    KPI(
        "conversion_rate",
        "financial",
        "Conversion rate",
        "Коэффициент конверсии",
        "ratio",
        "higher",
        "Won deals / (won + lost deals) among deals closed in the period.",
        "Выигранные сделки / (выигранные + проигранные) среди закрытых в периоде сделок.",
        ("deals",),
        min_sample=10,
        interval="wilson",
        columns=("deals.closed_date",),
    ),
    KPI(
        "cross_sales",
        "financial",
        "Cross-sales",
        "Кросс-продажи",
        "ratio",
        "higher",
        "Share of won revenue of the period from products the client had not bought before "
        "(the client had earlier won deals, none of them for this product).",
        "Доля выручки периода от продуктов, которые клиент раньше не покупал (у клиента были "
        "более ранние покупки, но не этого продукта).",
        ("deals",),
        min_sample=5,
        columns=("deals.product", "deals.closed_date"),
    ),
    # -- client ---------------------------------------------------------------
    KPI(
        "csi",
        "client",
        "Customer satisfaction index (CSI)",
        "Индекс удовлетворённости клиентов (CSI)",
        "score",
        "higher",
        "Mean survey CSI (1..5) of responses in the period, rescaled to 0..100: (mean − 1) / 4 × 100.",
        "Средняя оценка CSI (1..5) за период в шкале 0..100: (среднее − 1) / 4 × 100.",
        ("surveys",),
        min_sample=5,
        interval="t",
        columns=("surveys.csi",),
    ),
    KPI(
        "nps",
        "client",
        "Net promoter score (NPS)",
        "Индекс лояльности (NPS)",
        "score",
        "higher",
        "% promoters (9–10) − % detractors (0–6) among survey responses of the period, −100..100.",
        "% промоутеров (9–10) − % критиков (0–6) среди ответов периода, от −100 до 100.",
        ("surveys",),
        min_sample=10,
        interval="nps",
        columns=("surveys.nps",),
        signed=True,
    ),
    KPI(
        "retention_rate",
        "client",
        "Client retention rate",
        "Процент удержания клиентов",
        "ratio",
        "higher",
        "Clients active at the period start that are still active at its end / clients active "
        "at the period start.",
        "Клиенты, активные на начало периода и остающиеся активными на его конец / клиенты, "
        "активные на начало периода.",
        ("clients",),
        min_sample=5,
        interval="wilson",
        scaling="survival",
        columns=("clients.churned_date",),
        needs_any=(("clients.acquired_date", "deals.closed_date"),),
    ),
    KPI(
        "prolongation_rate",
        "client",
        "Contract prolongation rate",
        "Пролонгация сотрудничества",
        "ratio",
        "higher",
        "Contracts ending in the period that were renewed / contracts ending in the period with "
        "a renewal decision.",
        "Договоры, истекающие в периоде и продлённые / истекающие в периоде договоры с решением "
        "о продлении.",
        ("contracts",),
        min_sample=5,
        interval="wilson",
        columns=("contracts.renewed",),
    ),
    KPI(
        "churn_rate",
        "client",
        "Client churn rate",
        "Отток клиентов",
        "ratio",
        "lower",
        "Clients active at the period start that churned during the period / clients active at "
        "the period start.",
        "Клиенты, активные на начало периода и ушедшие в течение периода / клиенты, активные на "
        "начало периода.",
        ("clients",),
        min_sample=5,
        interval="wilson",
        scaling="hazard",
        columns=("clients.churned_date",),
        needs_any=(("clients.acquired_date", "deals.closed_date"),),
    ),
    KPI(
        "new_clients",
        "client",
        "New clients",
        "Количество новых клиентов",
        "count",
        "higher",
        "Clients whose first won deal closed in the period (credited to that deal's manager).",
        "Клиенты, первая выигранная сделка которых закрыта в периоде (засчитываются менеджеру "
        "этой сделки).",
        ("deals",),
        scaling="additive",
        columns=("deals.closed_date",),
    ),
    KPI(
        "contact_expansion",
        "client",
        "Contact expansion",
        "Расширение контактов в компании клиента",
        "count",
        "higher",
        "Contacts added in the period inside client companies acquired before the period start (B2B).",
        "Контакты, добавленные в периоде в компаниях-клиентах, привлечённых до начала периода (B2B).",
        ("contacts", "clients"),
        segments=("B2B",),
        scaling="additive",
        needs_any=(("clients.acquired_date", "deals.closed_date"),),
    ),
    KPI(
        "referrals",
        "client",
        "Referrals",
        "Рекомендации от существующих клиентов",
        "count",
        "higher",
        "New clients acquired in the period who were referred by an existing client "
        "(credited to the referring client's manager).",
        "Новые клиенты периода, пришедшие по рекомендации существующего клиента (засчитываются "
        "менеджеру рекомендовавшего клиента).",
        ("clients",),
        columns=("clients.referred_by",),
        scaling="additive",
        needs_any=(("clients.acquired_date", "deals.closed_date"),),
    ),
    # -- activity -------------------------------------------------------------
    KPI(
        "meetings",
        "activity",
        "Client meetings",
        "Количество встреч с клиентами",
        "count",
        "higher",
        "Activities of type meeting or visit in the period.",
        "Активности типа «встреча» или «визит» за период.",
        ("activities",),
        scaling="additive",
    ),
    KPI(
        "proposals",
        "activity",
        "Proposals sent",
        "Подготовленные коммерческие предложения",
        "count",
        "higher",
        "Commercial proposals sent in the period.",
        "Коммерческие предложения, отправленные в периоде.",
        ("proposals",),
        scaling="additive",
    ),
    KPI(
        "proposal_conversion",
        "activity",
        "Proposal conversion",
        "Конверсия предложений в сделки",
        "ratio",
        "higher",
        "Proposals sent in the period and won / proposals sent in the period and decided (won or lost).",
        "Выигранные предложения / предложения с решением (выиграно или проиграно), отправленные "
        "в периоде.",
        ("proposals",),
        min_sample=5,
        interval="wilson",
        columns=("proposals.outcome",),
    ),
    KPI(
        "response_time",
        "activity",
        "Response time",
        "Время отклика на запросы клиентов",
        "hours",
        "lower",
        "Median hours from a request's arrival to the first response, over requests opened in "
        "the period that have a response.",
        "Медиана часов от поступления запроса до первого ответа по запросам периода с ответом.",
        ("requests",),
        min_sample=5,
        columns=("requests.first_response_at",),
    ),
    KPI(
        "response_sla_rate",
        "activity",
        "Responses within SLA",
        "Доля ответов в срок (SLA)",
        "ratio",
        "higher",
        "Requests opened in the period answered within the SLA hours (params) / requests opened "
        "in the period (unanswered ones count as late).",
        "Запросы периода с ответом в пределах SLA (часы, из параметров) / все запросы периода "
        "(без ответа — считаются просроченными).",
        ("requests",),
        min_sample=5,
        interval="wilson",
        columns=("requests.first_response_at",),
    ),
    KPI(
        "sales_cycle_days",
        "activity",
        "Sales cycle",
        "Цикл продаж",
        "days",
        "lower",
        "Median days from creation to close of deals won in the period.",
        "Медиана дней от создания до закрытия сделок, выигранных в периоде.",
        ("deals",),
        min_sample=3,
        columns=("deals.created_date", "deals.closed_date"),
    ),
    KPI(
        "contact_frequency",
        "activity",
        "Contact frequency",
        "Частота контактов с клиентами",
        "per_month",
        "higher",
        "Client touches (activities) in the period / (clients active during the period × months "
        "in the period).",
        "Контакты с клиентами (активности) за период / (клиенты, активные в периоде × число "
        "месяцев периода).",
        ("activities", "clients"),
        min_sample=3,
        columns=("clients.churned_date",),
        needs_any=(("clients.acquired_date", "deals.closed_date"),),
    ),
    KPI(
        "average_discount",
        "activity",
        "Average discount",
        "Средняя скидка",
        "ratio",
        "lower",
        "Mean discount (0..1) of deals won in the period that record one.",
        "Средняя скидка (0..1) по выигранным в периоде сделкам, где она указана.",
        ("deals",),
        min_sample=3,
        interval="t",
        columns=("deals.discount", "deals.closed_date"),
    ),
    # -- project --------------------------------------------------------------
    KPI(
        "on_time_rate",
        "project",
        "Projects on time",
        "Своевременность выполнения проектов",
        "ratio",
        "higher",
        "Projects finished in the period with actual end ≤ planned end / projects finished in the period.",
        "Проекты, завершённые в периоде не позже плана / проекты, завершённые в периоде.",
        ("projects",),
        min_sample=3,
        interval="wilson",
        columns=("projects.actual_end",),
    ),
    KPI(
        "budget_adherence",
        "project",
        "Budget adherence",
        "Соблюдение бюджета проектов",
        "ratio",
        "higher",
        "Projects finished in the period with actual cost ≤ budget × (1 + tolerance) / projects "
        "finished in the period with both figures.",
        "Проекты, завершённые в периоде с фактическими затратами ≤ бюджет × (1 + допуск) / "
        "завершённые проекты с известными бюджетом и затратами.",
        ("projects",),
        min_sample=3,
        interval="wilson",
        columns=("projects.budget", "projects.actual_cost", "projects.actual_end"),
    ),
    KPI(
        "implementation_quality",
        "project",
        "Implementation quality",
        "Качество реализации проектов",
        "score",
        "higher",
        "Mean quality rating (1..5) of projects finished in the period.",
        "Средняя оценка качества (1..5) проектов, завершённых в периоде.",
        ("projects",),
        min_sample=3,
        interval="t",
        columns=("projects.quality", "projects.actual_end"),
    ),
    # -- internal -------------------------------------------------------------
    KPI(
        "reporting_timeliness",
        "internal",
        "Reporting timeliness",
        "Своевременность отчётности",
        "ratio",
        "higher",
        "Internal reports due in the period submitted on or before the due date / reports due "
        "in the period (unsubmitted ones count as late).",
        "Отчёты со сроком в периоде, сданные не позже срока / все отчёты со сроком в периоде "
        "(несданные — просрочены).",
        ("internal_reports",),
        min_sample=3,
        interval="wilson",
        columns=("internal_reports.submitted_date",),
    ),
    KPI(
        "reporting_quality",
        "internal",
        "Reporting quality",
        "Качество отчётности",
        "score",
        "higher",
        "Mean quality rating (1..5) of internal reports due in the period.",
        "Средняя оценка качества (1..5) отчётов со сроком в периоде.",
        ("internal_reports",),
        min_sample=3,
        interval="t",
        columns=("internal_reports.quality",),
    ),
    KPI(
        "compliance_violations",
        "internal",
        "Compliance violations",
        "Нарушения внутренних процедур",
        "count",
        "lower",
        "Compliance checks or incidents in the period that found a violation.",
        "Проверки или инциденты периода, выявившие нарушение.",
        ("compliance",),
        scaling="additive",
    ),
    KPI(
        "product_contribution",
        "internal",
        "Product ideas submitted",
        "Вклад в развитие продуктов (предложенные идеи)",
        "count",
        "higher",
        "Product or service ideas submitted in the period.",
        "Идеи продуктов или услуг, предложенные в периоде.",
        ("product_ideas",),
        scaling="additive",
    ),
    KPI(
        "product_ideas_accepted",
        "internal",
        "Product ideas accepted",
        "Принятые идеи продуктов",
        "count",
        "higher",
        "Product or service ideas submitted in the period that were accepted.",
        "Идеи продуктов или услуг, предложенные в периоде и принятые.",
        ("product_ideas",),
        columns=("product_ideas.accepted",),
        scaling="additive",
    ),
    # -- professional ---------------------------------------------------------
    KPI(
        "skills_mastered",
        "professional",
        "New skills mastered",
        "Освоение новых навыков",
        "count",
        "higher",
        "Distinct skills first certified (completed training) in the period.",
        "Разные навыки, впервые подтверждённые (пройденное обучение) в периоде.",
        ("trainings",),
        columns=("trainings.skill",),
        scaling="additive",
        reads=("trainings.completed",),
    ),
    KPI(
        "training_hours",
        "professional",
        "Training hours",
        "Часы обучения",
        "hours",
        "higher",
        "Hours of training completed in the period.",
        "Часы пройденного в периоде обучения.",
        ("trainings",),
        columns=("trainings.hours",),
        scaling="additive",
        reads=("trainings.completed",),
    ),
]

KPIS: dict[str, KPI] = {k.id: k for k in _ALL}
"""All KPIs by id, in catalogue order (group by group, in the order of :data:`GROUPS`)."""

if len(KPIS) != len(_ALL):  # pragma: no cover - guards against a duplicated id
    raise RuntimeError("duplicate KPI id in the registry")


def get_kpi(kpi_id: str) -> KPI:
    """Return the declaration of ``kpi_id``.

    Raises
    ------
    KeyError
        With the list of known ids when ``kpi_id`` is unknown.

    Example
    -------
    >>> get_kpi("conversion_rate").name_ru
    'Коэффициент конверсии'
    """
    try:
        return KPIS[kpi_id]
    except KeyError:
        raise KeyError(f"unknown KPI {kpi_id!r}; known KPIs: {', '.join(KPIS)}") from None


def kpi_table(lang: str = "en") -> pd.DataFrame:
    """The KPI glossary: one row per KPI in catalogue order.

    Parameters
    ----------
    lang : ``"en"`` or ``"ru"`` for the group, name and formula columns.

    Returns
    -------
    DataFrame with columns kpi, group, group_name, name, unit, direction, formula,
    tables, min_sample, segments, interval.

    Example
    -------
    >>> kpi_table("ru").set_index("kpi").loc["sales_volume", "name"]
    'Объём продаж'
    """
    import pandas as pd  # heavy (~0.5 s) and needed only here: the registry stays a light import

    if lang not in ("en", "ru"):
        raise ValueError(f"lang must be 'en' or 'ru', got {lang!r}")
    idx = 1 if lang == "ru" else 0
    rows = [
        {
            "kpi": k.id,
            "group": k.group,
            "group_name": GROUPS[k.group][idx],
            "name": k.name(lang),
            "unit": k.unit,
            "direction": k.direction,
            "formula": k.formula(lang),
            "tables": ", ".join(k.tables),
            "min_sample": k.min_sample,
            "segments": ", ".join(k.segments),
            "interval": k.interval or "",
        }
        for k in KPIS.values()
    ]
    return pd.DataFrame(rows).astype(
        {
            c: "string"
            for c in (
                "kpi",
                "group",
                "group_name",
                "name",
                "unit",
                "direction",
                "formula",
                "tables",
                "segments",
                "interval",
            )
        }
    )
