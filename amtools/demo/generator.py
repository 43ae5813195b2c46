"""Seeded demo CRM data: a B2B/B2C account-management company in all 15 tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from amtools.core.dataset import PANDAS_DTYPES, Dataset
from amtools.core.errors import ParameterError
from amtools.core.periods import last_complete_quarter
from amtools.core.schema import TABLES
from amtools.core.vocab import DEFAULT_CURRENCY

__all__ = [
    "make_demo",
    "PRODUCTS",
    "COMPETITORS",
    "LOST_REASONS",
    "SKILLS",
    "COURSES",
    "TRAITS",
]

GENERATOR = "amtools.demo.generator.make_demo"

PRODUCTS: dict[str, dict[str, float]] = {
    # name: share of B2C / B2B deals, relative price, cost of goods as a share of list price
    "Internet Access": {"b2c": 0.30, "b2b": 0.16, "price": 1.0, "cost": 0.45},
    "Mobile Plans": {"b2c": 0.25, "b2b": 0.12, "price": 0.8, "cost": 0.50},
    "Cloud Storage": {"b2c": 0.12, "b2b": 0.14, "price": 0.9, "cost": 0.35},
    "Cybersecurity": {"b2c": 0.10, "b2b": 0.14, "price": 1.4, "cost": 0.40},
    "Smart Home": {"b2c": 0.13, "b2b": 0.00, "price": 1.2, "cost": 0.55},
    "Video Surveillance": {"b2c": 0.10, "b2b": 0.10, "price": 1.6, "cost": 0.60},
    "IT Outsourcing": {"b2c": 0.00, "b2b": 0.18, "price": 2.2, "cost": 0.65},
    "Data Analytics": {"b2c": 0.00, "b2b": 0.16, "price": 1.8, "cost": 0.40},
}
"""Product lines sold (used for cross-sales): segment mix, relative price and cost ratio."""

PROJECT_PRODUCTS = (
    "IT Outsourcing",
    "Data Analytics",
    "Cybersecurity",
    "Video Surveillance",
    "Smart Home",
)

COMPETITORS = (
    "Vector Telecom",
    "Altair Systems",
    "Polaris Networks",
    "Sirius Cloud",
    "Meridian IT",
)
"""Named competitors that win lost deals (Polaris Networks gains share over time)."""

LOST_REASONS = ("price", "features", "timing", "competitor relationship", "no decision")
"""Reasons a deal was lost; a competitor is named only for the first, second and fourth."""

_COMPETITOR_REASONS = ("price", "features", "competitor relationship")

SKILLS = (
    "communication and negotiation",
    "creativity and broad outlook",
    "leadership",
    "analytical and strategic thinking",
    "product and market knowledge",
    "fast sales and objection handling",
    "strategic thinking and negotiation",
)
"""Skills of an account manager, as listed in the domain source."""

COURSES: tuple[tuple[str, str, str, float], ...] = (
    # (course code, title, skill certified, hours)
    ("AM-101", "Business Communication Essentials", SKILLS[0], 8.0),
    ("AM-102", "Negotiation Workshop", SKILLS[0], 16.0),
    ("AM-201", "Creative Problem Solving", SKILLS[1], 8.0),
    ("AM-202", "Industry Trends Seminar", SKILLS[1], 6.0),
    ("AM-301", "Team Leadership Basics", SKILLS[2], 16.0),
    ("AM-401", "Sales Analytics with CRM Data", SKILLS[3], 12.0),
    ("AM-402", "Strategic Account Planning", SKILLS[3], 12.0),
    ("AM-501", "Product Certification: Connectivity and Cloud", SKILLS[4], 20.0),
    ("AM-502", "Competitor and Market Landscape", SKILLS[4], 6.0),
    ("AM-601", "Fast Sales Techniques", SKILLS[5], 8.0),
    ("AM-602", "Objection Handling Drill", SKILLS[5], 6.0),
    ("AM-701", "Key Account Management", SKILLS[6], 24.0),
    ("AM-702", "Complex Deal Negotiation", SKILLS[6], 16.0),
)
"""The corporate training catalogue the demo's ``trainings.course`` codes come from."""

TRAITS = (
    "closing",
    "prospecting",
    "retention",
    "upsell",
    "responsiveness",
    "discipline",
    "delivery",
    "activity",
    "initiative",
    "negotiation",
)
"""Latent manager strengths (z-scores) that drive the demo's KPI profiles; see ``ds.meta["traits"]``."""

# Per-segment behaviour, chosen to reproduce the domain source's B2B/B2C comparison table.
_SEG: dict[str, dict[str, float]] = {
    "B2B": {
        "leads": 1.8,  # new-business opportunities per manager per month
        "lead_win": 0.30,
        "exist_win": 0.55,
        "deal_rate": 0.24,  # opportunities per active client per month
        "lead_cycle": 85.0,  # median days created -> closed
        "exist_cycle": 40.0,
        "cycle_sigma": 0.55,
        "base_amount": 230_000.0,
        "size_sigma": 0.6,
        "noise_sigma": 0.35,
        "touch_rate": 3.2,  # activities per active client per month
        "lead_touches": 4.0,
        "request_rate": 0.5,
        "survey_rate": 0.10,
        "contract_share": 1.0,
        "renewal": 0.88,
        "hazard": 0.011,
        "acq_age_days": 4 * 365.0,
        "referral": 0.15,
        "disc_share": 0.85,
        "disc_mean": 0.11,
        "breadth": 0.35,
        "response_hours": 4.0,
        "resolve_hours": 30.0,
        "salary": 105_000.0,
        "project_share": 0.7,
        "project_days": 75.0,
    },
    "B2C": {
        "leads": 14.0,
        "lead_win": 0.38,
        "exist_win": 0.62,
        "deal_rate": 0.11,
        "lead_cycle": 10.0,
        "exist_cycle": 4.0,
        "cycle_sigma": 0.7,
        "base_amount": 30_000.0,
        "size_sigma": 0.3,
        "noise_sigma": 0.3,
        "touch_rate": 0.45,
        "lead_touches": 1.2,
        "request_rate": 0.08,
        "survey_rate": 0.016,
        "contract_share": 0.08,
        "renewal": 0.75,
        "hazard": 0.022,
        "acq_age_days": 2 * 365.0,
        "referral": 0.08,
        "disc_share": 0.08,
        "disc_mean": 0.0,
        "breadth": 0.15,
        "response_hours": 2.5,
        "resolve_hours": 10.0,
        "salary": 78_000.0,
        "project_share": 0.12,
        "project_days": 14.0,
    },
}

# Calendar-month seasonality of sales: January and summer dips, Q4 peak.
_SEASON = np.array([0.80, 0.93, 1.03, 1.00, 0.97, 0.88, 0.82, 0.85, 1.00, 1.08, 1.16, 1.36])

_REGIONS = (
    "Moscow",
    "Saint Petersburg",
    "Kazan",
    "Yekaterinburg",
    "Novosibirsk",
    "Nizhny Novgorod",
    "Krasnodar",
    "Samara",
)
_TEAM_NAMES = {
    "B2B": ("Key Accounts", "Corporate Sales", "Mid-Market", "Public Sector", "Industry Solutions"),
    "B2C": ("Retail Direct", "Online Sales", "Premium Clients", "Telesales", "Private Clients"),
}
_INDUSTRIES = (
    "Manufacturing",
    "Retail",
    "IT and SaaS",
    "Finance",
    "Real estate",
    "Advertising and marketing",
    "Logistics",
    "Healthcare",
    "Construction",
    "Energy",
)
_CONTACT_ROLES = (
    "CEO",
    "CFO",
    "IT director",
    "Procurement",
    "Project manager",
    "Engineer",
    "Marketing",
)
_ACTIVITY_TYPES = ("meeting", "call", "email", "message", "visit")
_ACTIVITY_MIX = {"B2B": (0.26, 0.33, 0.33, 0.02, 0.06), "B2C": (0.04, 0.46, 0.26, 0.24, 0.0)}
_LOST_MIX = {"B2B": (0.25, 0.20, 0.15, 0.20, 0.20), "B2C": (0.42, 0.15, 0.15, 0.05, 0.23)}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_MALE_SURNAMES = _words(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров "
    "Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин "
    "Фролов Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов "
    "Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев "
    "Герасимов Богданов Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов "
    "Мельников Денисов Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов "
    "Абрамов Мартынов Ефимов Федотов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов "
    "Родионов Коновалов Лазарев Воронин Климов Филатов Пономарёв Голубев Кудрявцев Прохоров "
    "Наумов Потапов Журавлёв Овчинников Трофимов Леонов Соболев Ермаков Колесников Гончаров "
    "Емельянов Никифоров Грачёв Котов Гришин Ефремов Архипов Громов Кириллов Малышев Панов "
    "Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов Ерёмин Тихомиров Галкин "
    "Лукьянов Михеев Скворцов Юдин Белоусов Нестеров Симонов Прокофьев Харитонов Князев Цветков "
    "Левин Митрофанов Воронов Аксёнов Софронов Мальцев Логинов Горшков Савин Краснов Майоров "
    "Демидов Елисеев Рыбаков Сафонов Плотников Дёмин Хохлов Жданов Носков Островский Вишневский "
    "Чайковский Ковальский Невский Шестаков"
)
_MALE_FIRST = _words(
    "Александр Дмитрий Максим Сергей Андрей Алексей Артём Илья Кирилл Михаил Никита Матвей Роман "
    "Егор Арсений Иван Денис Евгений Даниил Тимофей Владислав Игорь Владимир Павел Руслан Марк "
    "Константин Тимур Олег Ярослав Антон Николай Глеб Данила Савелий Вадим Степан Юрий Богдан "
    "Григорий Виктор Леонид Фёдор Василий Семён Анатолий Борис Вячеслав Геннадий Станислав"
)
_FEMALE_FIRST = _words(
    "Анастасия Мария Анна Виктория Екатерина Наталья Марина Полина Софья Дарья Алиса Ксения "
    "Александра Елена Ольга Татьяна Ирина Юлия Светлана Валерия Вероника Алина Кристина Маргарита "
    "Евгения Людмила Надежда Галина Любовь Вера Яна Диана Ульяна Варвара Елизавета Арина Милана "
    "Оксана Жанна Лариса Инна Алёна Таисия Злата Василиса Кира Эвелина Майя Лилия Нина"
)
_FATHER_NAMES = _words(
    "Александр Дмитрий Сергей Андрей Алексей Михаил Иван Евгений Игорь Владимир Павел Роман "
    "Константин Олег Антон Николай Юрий Виктор Леонид Фёдор Василий Борис Вячеслав Геннадий "
    "Станислав Пётр Валерий Аркадий Максим Денис Степан Григорий Тимофей Кирилл Илья Егор Матвей"
)
_COMPANY_FORMS = ("ООО", "АО", "ПАО", "ООО", "ООО", "ИП")
_COMPANY_ROOTS = _words(
    "Север Волга Урал Альфа Техно Гранит Восток Сибирь Меридиан Вектор Орион Кристалл Байкал "
    "Ладога Полюс Старт Импульс Форвард Эталон Стандарт Прогресс Интеграл Магистраль Горизонт "
    "Атлант Дельта Сфера Ресурс Регион Капитал Альянс Пульсар Азимут Балтика Кама Енисей Амур "
    "Онега Таврия Ямал"
)
_COMPANY_SUFFIXES = _words(
    "Строй Пром Торг Логистик Софт Энерго Агро Мед Транс Инвест Сервис Групп Маш Лаб Трейд Снаб "
    "Холдинг Тех"
)


# -- helpers --------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _ids(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded 1..n as an Arrow string array, built without a Python loop."""
    width = max(width, len(str(n)))
    # Digits come four at a time from a lookup table of "0000".."9999".
    chunks = -(-width // 4)
    table = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
    rest = np.arange(1, n + 1, dtype=np.int64)
    digits = np.empty((n, 4 * chunks), dtype=np.uint8)
    for k in range(chunks - 1, -1, -1):
        rest, low = np.divmod(rest, 10_000)
        digits[:, 4 * k : 4 * k + 4] = table[low]
    size = len(prefix) + width
    raw = np.empty((n, size), dtype=np.uint8)
    raw[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    raw[:, len(prefix) :] = digits[:, 4 * chunks - width :]
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw))


def _arrow_strings() -> bool:
    """Whether pandas' default "string" dtype is Arrow-backed (else Python objects)."""
    default = pd.StringDtype()
    return default.storage == "pyarrow" and default.na_value is pd.NA


class _Labels:
    """String labels (ids) addressed by integer codes, in the cheapest form for ``_frame``."""

    def __init__(self, values: pa.Array) -> None:
        self.values = values
        self.objects = values.to_numpy(zero_copy_only=False)
        self.list: list[str] = self.objects.tolist()

    def __getitem__(self, codes: np.ndarray) -> pa.Array | np.ndarray:
        codes = np.asarray(codes, dtype=np.int64)
        if _arrow_strings():
            return self.values.take(pa.array(codes))
        return self.objects[codes]  # shares the Python str objects

    def column(self) -> pa.Array | np.ndarray:
        """All labels, in order."""
        return self.values if _arrow_strings() else self.objects


def _female_surname(name: str) -> str:
    if name.endswith("ий"):
        return name[:-2] + "ая"
    if name.endswith(("ов", "ев", "ёв", "ин")):
        return name + "а"
    return name


def _patronymic(father: str, female: bool) -> str:
    """Patronymic from the father's first name: Пётр -> Петрович / Петровна."""
    if father == "Илья":
        return "Ильинична" if female else "Ильич"
    stem = {"Михаил": "Михайл", "Павел": "Павл", "Пётр": "Петр", "Лев": "Льв"}.get(father, father)
    if stem.endswith("ий") and stem != "Дмитрий":
        stem = stem[:-2] + "ье"  # Юрий -> Юрьевич
    elif stem.endswith(("й", "ь")):
        stem = stem[:-1] + "е"  # Сергей -> Сергеевич, Игорь -> Игоревич
    else:
        stem += "о"  # Иван -> Иванович
    return stem + ("вна" if female else "вич")


def _person_names(rng: np.random.Generator, n: int, unique: bool) -> np.ndarray:
    """Russian full names "Фамилия Имя Отчество" (Cyrillic), about half of them female."""
    female = rng.random(n) < 0.5
    sizes = (len(_MALE_SURNAMES), min(len(_MALE_FIRST), len(_FEMALE_FIRST)), len(_FATHER_NAMES))
    if unique:
        combos = rng.choice(int(np.prod(sizes)), size=n, replace=False)
        surname_i, first_i, father_i = np.unravel_index(combos, sizes)
    else:
        surname_i = rng.integers(0, sizes[0], n)
        first_i = rng.integers(0, sizes[1], n)
        father_i = rng.integers(0, sizes[2], n)
    m_sur = np.array(_MALE_SURNAMES)
    f_sur = np.array([_female_surname(s) for s in _MALE_SURNAMES])
    m_first = np.array(_MALE_FIRST)[first_i]
    f_first = np.array(_FEMALE_FIRST)[first_i]
    m_pat = np.array([_patronymic(f, False) for f in _FATHER_NAMES])
    f_pat = np.array([_patronymic(f, True) for f in _FATHER_NAMES])
    surname = np.where(female, f_sur[surname_i], m_sur[surname_i])
    first = np.where(female, f_first, m_first)
    pat = np.where(female, f_pat[father_i], m_pat[father_i])
    # Unique index combinations give unique names: female forms never equal male ones.
    return np.char.add(np.char.add(np.char.add(np.char.add(surname, " "), first), " "), pat)


def _company_names(rng: np.random.Generator, n: int) -> np.ndarray:
    forms = np.array(_COMPANY_FORMS)[rng.integers(0, len(_COMPANY_FORMS), n)]
    roots = np.array(_COMPANY_ROOTS)[rng.integers(0, len(_COMPANY_ROOTS), n)]
    sufs = np.array(_COMPANY_SUFFIXES)[rng.integers(0, len(_COMPANY_SUFFIXES), n)]
    joiner = np.where(rng.random(n) < 0.5, "", "-")
    body = np.char.add(np.char.add(roots, joiner), np.char.add(sufs, "»"))
    return np.char.add(np.char.add(forms, " «"), body)


def _frame(name: str, data: Mapping[str, Any]) -> pd.DataFrame:
    """Build table ``name`` with the data model's column order and pandas dtypes."""
    spec = TABLES[name]
    cols: dict[str, Any] = {}
    for col in spec.columns:
        values = data[col.name]
        dtype = PANDAS_DTYPES[col.kind]
        if col.kind in ("date", "datetime"):
            # days (dates) or seconds (datetimes) since 1970-01-01, NaN for missing
            arr = np.asarray(values, dtype=float)
            arr = np.floor(arr) * (86_400 if col.kind == "date" else 1) * 1_000_000_000
            nat = np.iinfo(np.int64).min  # numpy's NaT
            ns = np.where(np.isnan(arr), nat, arr).astype(np.int64)
            series = pd.Series(ns.view("datetime64[ns]"))
        elif col.kind == "bool":
            arr = np.asarray(values, dtype=float)  # 0/1 with NaN for unknown
            series = pd.Series(pd.array(arr == 1, dtype="boolean"))
            series[np.isnan(arr)] = pd.NA
        elif col.kind == "int":
            series = pd.Series(pd.array(np.asarray(values), dtype="Int64"))
        elif col.kind == "float":
            series = pd.Series(np.asarray(values, dtype=float))
        else:
            series = pd.Series(_string_array(values))
        if series.dtype != dtype:  # guard: always exactly the data model's dtype
            series = series.astype(pd.api.types.pandas_dtype(dtype))
        cols[col.name] = series.reset_index(drop=True)
    return pd.DataFrame(cols)


def _string_array(values: pa.Array | np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Strings (None = missing) as pandas' default "string" array, without per-row Python work."""
    if _arrow_strings():
        if not isinstance(values, pa.Array):
            values = pa.array(np.asarray(values, dtype=object), type=pa.string())
        return pd.arrays.ArrowStringArray(values)
    if isinstance(values, pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    return pd.arrays.StringArray(np.asarray(values, dtype=object))


def _str_or_na(values: np.ndarray | pa.Array, mask: np.ndarray) -> np.ndarray | pa.Array:
    """``values`` with missing values where ``mask`` is False."""
    mask = np.asarray(mask, dtype=bool)
    if isinstance(values, pa.Array):
        return pc.if_else(pa.array(mask), values, pa.scalar(None, pa.string()))
    out = np.asarray(values, dtype=object).copy()
    out[~mask] = None
    return out


def _parse_end(end: dt.date | str | pd.Timestamp | None) -> dt.date:
    if end is None:
        return dt.date.today()
    try:
        return pd.Timestamp(end).date()
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"make_demo(end={end!r}): not a date; pass a datetime.date or a 'YYYY-MM-DD' string"
        ) from exc


def _check_args(seed: int, n_managers: int, years: int, scale: float) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ParameterError(f"make_demo(seed={seed!r}): seed must be an integer")
    if not isinstance(n_managers, (int, np.integer)) or n_managers < 2:
        raise ParameterError(
            f"make_demo(n_managers={n_managers!r}): need an integer >= 2 (one B2B and one B2C manager)"
        )
    if not isinstance(years, (int, np.integer)) or not 1 <= years <= 15:
        raise ParameterError(f"make_demo(years={years!r}): years must be an integer from 1 to 15")
    if not isinstance(scale, (int, float)) or not 0 < float(scale) <= 100:
        raise ParameterError(f"make_demo(scale={scale!r}): scale must be a number in (0, 100]")


def _events(rng: np.random.Generator, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events for each (row, column) cell of ``rates``, as one (row, column) per event.

    Equivalent to a Poisson draw per cell, but draws one count per row and places the events
    by the row's cumulative rates (much faster for wide, sparse matrices).
    """
    rates = np.asarray(rates, dtype=float)
    n_cols = rates.shape[1]
    total = rates.sum(axis=1)
    counts = rng.poisson(total)
    hit = np.flatnonzero(counts)
    cum = np.cumsum(rates[hit], axis=1)
    cum /= cum[:, -1:]
    cum += np.arange(len(hit))[:, None]
    local = np.repeat(np.arange(len(hit)), counts[hit])
    cols = np.searchsorted(cum.ravel(), local + rng.random(len(local)), side="right")
    cols -= local * n_cols
    return hit[local], np.clip(cols, 0, n_cols - 1)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of the (n, k) probability matrix ``probs``."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


class _Builder:
    """Holds the calendar, the managers' latent traits and the clients while tables are built."""

    def __init__(self, seed: int, n_managers: int, end: dt.date, years: int, scale: float) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = n_managers
        self.scale = float(scale)
        quarter = last_complete_quarter(end)
        self.period_end = quarter.end_time.normalize()
        start = (quarter - 4 * years + 1).start_time.normalize()
        self.n_hist = 12 * years
        self.n_months = self.n_hist + 6  # six future months feed the open pipeline
        months = pd.date_range(start, periods=self.n_months + 1, freq="MS")
        bounds = months.values.astype("datetime64[D]").astype(np.int64).astype(float)
        self.mstart = bounds[:-1]
        self.mlen = np.diff(bounds)
        self.bounds = bounds
        self.s0 = bounds[0]
        self.pe = float(np.datetime64(self.period_end.date(), "D").astype(np.int64))
        cal = months.month.to_numpy()[:-1] - 1
        growth = self.rng.uniform(0.05, 0.09)
        t = np.arange(self.n_months) / 12.0
        # Revenue growth = more clients (leads grow at ``growth``) + ~4 % price increases a
        # year; repeat business per client stays about flat (it grows for good up-sellers).
        self.lead_intensity = _SEASON[cal] * (1 + growth) ** t
        self.intensity = _SEASON[cal] * (1 + growth - 0.10) ** t

    # -- helpers ------------------------------------------------------------------------
    def day_in_month(self, t: np.ndarray) -> np.ndarray:
        return self.mstart[t] + np.floor(self.rng.random(len(t)) * self.mlen[t])

    def month_of(self, day: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.bounds, day, side="right") - 1

    def owner(self, mgr: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Manager responsible at ``day``: a leaver's accounts pass to the successor."""
        out = mgr.copy()
        left = ~np.isnan(self.leave[mgr]) & (day >= np.nan_to_num(self.leave[mgr], nan=np.inf))
        out[left] = self.successor[mgr[left]]
        return out

    def trait(self, name: str) -> np.ndarray:
        return self.z[:, TRAITS.index(name)]

    def seg_param(self, key: str, b2b: np.ndarray) -> np.ndarray:
        return np.where(b2b, _SEG["B2B"][key], _SEG["B2C"][key])

    # -- managers -----------------------------------------------------------------------
    def managers(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        n_b2b = n // 2
        self.b2b = np.arange(n) < n_b2b
        seg = np.where(self.b2b, "B2B", "B2C")
        team = np.empty(n, dtype=object)
        region = np.empty(n, dtype=object)
        self.team_of = np.zeros(n, dtype=np.int64)
        team_no = 0
        for s, idx in (("B2B", np.arange(n_b2b)), ("B2C", np.arange(n_b2b, n))):
            n_teams = 1 if len(idx) < 6 else max(2, round(len(idx) / 8))
            names = _TEAM_NAMES[s]
            for k, block in enumerate(np.array_split(idx, n_teams)):
                team[block] = names[k] if k < len(names) else f"{s} Team {k + 1}"
                home = _REGIONS[(k + (0 if s == "B2B" else 1)) % len(_REGIONS)]
                other = np.array(_REGIONS)[rng.integers(0, len(_REGIONS), len(block))]
                region[block] = np.where(rng.random(len(block)) < 0.85, home, other)
                self.team_of[block] = team_no
                team_no += 1
        # Latent strengths: a general factor plus specific ones, so profiles differ visibly.
        general = rng.normal(size=(n, 1))
        self.z = np.clip(0.25 * general + 0.97 * rng.normal(size=(n, len(TRAITS))), -2.5, 2.5)
        hire = self.s0 - np.floor(rng.uniform(120, 8 * 365, n))
        leave = np.full(n, np.nan)
        successor = np.arange(n)
        if n >= 4:
            n_hires = max(1, round(0.06 * n))
            n_leavers = max(1, round(0.03 * n))
            order = rng.permutation(n)
            hires = []
            for k in range(n_hires):  # alternate segments
                want = k % 2 == 1
                pick = next(i for i in order if self.b2b[i] == want and i not in hires)
                hires.append(pick)
            span = self.pe - self.s0
            hire[hires] = self.s0 + np.floor(rng.uniform(0.2, 0.7, len(hires)) * span)
            candidates = [
                i for i in order if i not in hires and (self.team_of == self.team_of[i]).sum() >= 2
            ]
            leavers = candidates[:n_leavers]
            for i in leavers:
                day = self.pe - np.floor(rng.uniform(100, 300))
                # the successor is a teammate who stays and was already there on that day
                mates = [
                    j
                    for j in np.flatnonzero(self.team_of == self.team_of[i])
                    if j not in leavers and hire[j] < day
                ]
                if mates:
                    leave[i] = day
                    successor[i] = mates[int(rng.integers(0, len(mates)))]
        self.hire, self.leave, self.successor = hire, leave, successor
        ability = self.z.mean(axis=1)
        salary = self.seg_param("salary", self.b2b) * np.exp(
            0.12 * rng.normal(size=n) + 0.15 * ability
        )
        salary = np.round(salary / 1000) * 1000
        self.m_region = region.astype(str)
        self.mid = _Labels(_ids("M", n, 3))
        self.names = _person_names(rng, n, unique=True)
        # employment by month: employed at any time in the month
        self.employed = (self.bounds[1:][None, :] > hire[:, None]) & (
            self.mstart[None, :] < np.nan_to_num(leave, nan=np.inf)[:, None]
        )
        return _frame(
            "managers",
            {
                "manager_id": self.mid.column(),
                "name": self.names,
                "segment": seg,
                "team": team,
                "region": region,
                "hire_date": hire,
                "base_salary": salary,
                "active": np.where(np.isnan(leave), 1.0, 0.0),
            },
        )

    # -- clients and their life cycle -----------------------------------------------------
    def clients(self) -> None:
        rng, n = self.rng, self.n
        b2b = self.b2b
        closing, retention = self.trait("closing"), self.trait("retention")
        win_new = _sigmoid(
            np.where(b2b, _logit(_SEG["B2B"]["lead_win"]), _logit(_SEG["B2C"]["lead_win"]))
            + 0.4 * closing
            + 0.15 * self.trait("negotiation")
        )
        lead_rate = (
            self.seg_param("leads", b2b) * self.scale * np.exp(0.2 * self.trait("prospecting"))
        )
        hazard = self.seg_param("hazard", b2b) * np.exp(-0.3 * retention)
        renewal = _sigmoid(
            np.where(b2b, _logit(_SEG["B2B"]["renewal"]), _logit(_SEG["B2C"]["renewal"]))
            + 0.3 * retention
        )
        monthly_loss = np.where(b2b, -np.log(renewal) / 12, hazard)

        # New-business opportunities (leads): each one is a new client record.
        hire_t = self.month_of(self.hire)
        ramp = np.clip((np.arange(self.n_months)[None, :] - hire_t[:, None] + 1) / 6.0, 0, 1)
        ramp[self.hire <= self.s0] = 1.0
        lm, lt = _events(
            rng, lead_rate[:, None] * self.lead_intensity[None, :] * self.employed * ramp
        )
        l_b2b = b2b[lm]
        close = np.maximum(self.day_in_month(lt), self.hire[lm])
        sigma = self.seg_param("cycle_sigma", l_b2b)
        cycle = np.floor(
            np.exp(np.log(self.seg_param("lead_cycle", l_b2b)) + sigma * rng.normal(size=len(lm)))
        )
        created = np.maximum(close - cycle, self.hire[lm])
        keep = created <= self.pe
        lm, close, created, l_b2b = lm[keep], close[keep], created[keep], l_b2b[keep]
        order = np.argsort(created, kind="stable")
        lm, close, created, l_b2b = lm[order], close[order], created[order], l_b2b[order]
        nl = len(lm)
        referred = rng.random(nl) < self.seg_param("referral", l_b2b) * np.exp(0.35 * retention[lm])
        won = rng.random(nl) < _sigmoid(np.log(win_new[lm] / (1 - win_new[lm])) + 0.9 * referred)

        # Clients already in the portfolio when the history starts (steady-state sized).
        steady = lead_rate * win_new / monthly_loss
        # Portfolios were assigned before the history starts, so they differ less than the
        # managers' own steady states; afterwards they drift towards them (good managers grow).
        typical = (
            np.where(
                b2b,
                _SEG["B2B"]["leads"]
                * _SEG["B2B"]["lead_win"]
                / (-np.log(_SEG["B2B"]["renewal"]) / 12),
                _SEG["B2C"]["leads"] * _SEG["B2C"]["lead_win"] / _SEG["B2C"]["hazard"],
            )
            * self.scale
        )
        n0 = rng.poisson(typical * (steady / typical) ** 0.6)
        n0[self.hire > self.s0] = 0
        im = np.repeat(np.arange(n), n0)
        i_b2b = b2b[im]
        age = np.minimum(rng.exponential(self.seg_param("acq_age_days", i_b2b)), 10 * 365)
        i_acq = self.s0 - 1 - np.floor(age)
        order = np.argsort(i_acq, kind="stable")
        im, i_b2b, i_acq = im[order], i_b2b[order], i_acq[order]
        ni = len(im)

        # All client records: initial portfolio, then one per lead (prospects stay unacquired).
        self.c_mgr = np.concatenate([im, lm])
        self.c_b2b = np.concatenate([i_b2b, l_b2b])
        acq = np.concatenate([i_acq, np.where(won & (close <= self.pe), close, np.nan)])
        self.c_acq = acq
        nc = ni + nl
        self.nc = nc
        self.lead = {
            "client": np.arange(ni, nc),
            "mgr": lm,
            "close": close,
            "created": created,
            "won": won,
        }

        # Churn: B2B (and some B2C) by contract non-renewal, other B2C by a monthly hazard.
        mgr = self.c_mgr
        has = ~np.isnan(acq)
        contract = self.c_b2b | (rng.random(nc) < _SEG["B2C"]["contract_share"])
        contract &= has
        r = _sigmoid(np.log(renewal[mgr] / (1 - renewal[mgr])) + 0.3 * rng.normal(size=nc))
        k0 = np.where(acq < self.s0, np.floor(np.maximum(0, self.s0 - acq) / 365), 0)
        renewals = rng.geometric(1 - r) - 1
        churn = np.full(nc, np.inf)
        churn[contract] = (acq + (k0 + 1 + renewals) * 365)[contract]
        h = hazard[mgr] * np.exp(0.3 * rng.normal(size=nc))
        waiting = np.ceil(rng.exponential(30.44 / h))
        plain = has & ~contract
        churn[plain] = (np.maximum(acq, self.s0) + waiting)[plain]
        # Win-back: some lost clients return months later with a won deal closed after their
        # churned_date (which stays: the client was lost in between, then reactivated).
        back = has & (rng.random(nc) < 0.15 * np.exp(0.3 * retention[mgr]))
        ret = np.where(back, churn + 60 + np.floor(rng.uniform(0, 360, nc)), np.inf)
        self.c_contract, self.c_k0, self.c_renewals = contract, k0, renewals
        self.c_churn, self.c_return = churn, ret
        self.c_churned = np.where(has & (churn <= self.pe), churn, np.nan)
        self.c_size = np.exp(self.seg_param("size_sigma", self.c_b2b) * rng.normal(size=nc))

        # Referrals: the referrer is an active client of the same manager at the lead's creation.
        ref = np.full(nc, -1, dtype=np.int64)
        lead_clients = self.lead["client"]
        for m in np.unique(lm[referred]):
            pool = np.flatnonzero((mgr == m) & has)
            if len(pool) == 0:
                continue
            pool = pool[np.argsort(acq[pool], kind="stable")]
            who = np.flatnonzero(referred & (lm == m))
            avail = np.searchsorted(acq[pool], created[who], side="left")
            pick = pool[np.minimum((rng.random(len(who)) * avail).astype(np.int64), len(pool) - 1)]
            ok = (avail > 0) & ~((churn[pick] <= created[who]) & (ret[pick] > created[who]))
            ref[lead_clients[who[ok]]] = pick[ok]
        self.c_ref = ref

        # Product preferences: a client buys from its top-k product lines (k grows with upsell skill).
        weights = np.array([[p["b2b"], p["b2c"]] for p in PRODUCTS.values()])
        w = np.where(self.c_b2b[:, None], weights[:, 0][None, :], weights[:, 1][None, :])
        with np.errstate(divide="ignore"):
            keys = np.log(w) + rng.gumbel(size=w.shape)
        self.c_pref = np.argsort(-keys, axis=1)
        n_avail = (w > 0).sum(axis=1)
        p_breadth = _sigmoid(
            np.log(
                self.seg_param("breadth", self.c_b2b) / (1 - self.seg_param("breadth", self.c_b2b))
            )
            + 0.7 * self.trait("upsell")[mgr]
        )
        self.c_breadth = 1 + rng.binomial(n_avail - 1, p_breadth)

        # Months in which each acquired client is a customer (deals, touches, requests, surveys);
        # rows are the acquired clients ``self.customers`` (prospects never are).
        self.customers = np.flatnonzero(has)
        ms = self.mstart[None, :]
        cu = self.customers
        self.active = ((ms > acq[cu, None]) & (ms < churn[cu, None])) | (ms >= ret[cu, None])

    def customer_events(
        self, rate: np.ndarray, months: int, factor: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Poisson events at ``rate`` (per client) in each active customer-month -> (client, month)."""
        cu = self.customers
        rates = rate[cu, None] * self.active[:, :months]
        if factor is not None:
            rates *= factor[:, :months]
        rows, t = _events(self.rng, rates)
        return cu[rows], t

    def in_gap(self, client: np.ndarray, day: np.ndarray) -> np.ndarray:
        """True where ``day`` falls while the client was lost (after churn, before any win-back)."""
        return (day >= self.c_churn[client]) & (day < self.c_return[client])

    # -- deals ----------------------------------------------------------------------------
    def deals(self) -> pd.DataFrame:
        rng = self.rng
        # Repeat business from existing clients, month by month while they are customers.
        rate = self.seg_param("deal_rate", self.c_b2b) * np.exp(
            0.15 * self.trait("upsell")[self.c_mgr]
        )
        rate = rate * self.c_size**0.25
        # Good up-sellers grow their accounts over time (revenue growth from existing clients).
        t_years = np.arange(self.n_months)[None, :] / 12.0
        upsell = self.trait("upsell")[self.c_mgr[self.customers]][:, None]
        factor = self.intensity[None, :] * np.exp(0.04 * upsell * t_years)
        ec, et = self.customer_events(rate, self.n_months, factor)
        e_close = self.day_in_month(et)
        ok = ~self.in_gap(ec, e_close)
        ec, e_close = ec[ok], e_close[ok]
        e_b2b = self.c_b2b[ec]
        sigma = self.seg_param("cycle_sigma", e_b2b)
        cycle = np.floor(
            np.exp(np.log(self.seg_param("exist_cycle", e_b2b)) + sigma * rng.normal(size=len(ec)))
        )
        e_created = np.maximum(
            e_close - cycle, np.where(self.c_acq[ec] < self.s0, -np.inf, self.c_acq[ec])
        )
        keep = e_created <= self.pe
        ec, e_close, e_created = ec[keep], e_close[keep], e_created[keep]
        mgr_e = self.c_mgr[ec]
        closing = self.trait("closing")
        neg = self.trait("negotiation")
        p_exist = _sigmoid(
            np.where(
                self.c_b2b[ec], _logit(_SEG["B2B"]["exist_win"]), _logit(_SEG["B2C"]["exist_win"])
            )
            + 0.45 * closing[mgr_e]
            + 0.15 * neg[mgr_e]
        )
        e_won = rng.random(len(ec)) < p_exist

        # Win-back deals: won when the lost client returns (open if that is still ahead).
        wc = np.flatnonzero(np.isfinite(self.c_return))
        w_close = self.c_return[wc]
        w_b2b = self.c_b2b[wc]
        sigma = self.seg_param("cycle_sigma", w_b2b)
        cycle = np.floor(
            np.exp(np.log(self.seg_param("lead_cycle", w_b2b)) + sigma * rng.normal(size=len(wc)))
        )
        w_created = np.maximum(w_close - cycle, self.c_churn[wc])
        keep = w_created <= self.pe
        wc, w_close, w_created = wc[keep], w_close[keep], w_created[keep]

        lead = self.lead
        client = np.concatenate([lead["client"], wc, ec])
        n_new = len(lead["client"]) + len(wc)
        is_lead = np.arange(len(client)) < n_new
        close = np.concatenate([lead["close"], w_close, e_close])
        created = np.concatenate([lead["created"], w_created, e_created])
        won = np.concatenate([lead["won"], np.ones(len(wc), bool), e_won])
        order = np.lexsort((close, created))
        client, is_lead, close, created, won = (
            a[order] for a in (client, is_lead, close, created, won)
        )
        nd = len(client)
        b2b = self.c_b2b[client]
        closed = close <= self.pe
        stage = np.where(closed, np.where(won, "won", "lost"), "open")
        mgr = self.owner(self.c_mgr[client], np.minimum(close, self.pe))

        # Product: a new client's first line, else one of the client's preferred lines.
        pick = np.where(
            is_lead, 0, np.floor(rng.random(nd) * self.c_breadth[client]).astype(np.int64)
        )
        product = self.c_pref[client, pick]
        price = np.array([p["price"] for p in PRODUCTS.values()])
        cost_ratio = np.array([p["cost"] for p in PRODUCTS.values()])
        years = (np.minimum(close, self.pe) - self.s0) / 365.25
        list_price = (
            self.seg_param("base_amount", b2b)
            * price[product]
            * self.c_size[client]
            * np.exp(self.seg_param("noise_sigma", b2b) * rng.normal(size=nd))
            * 1.04**years
        )
        # B2C sells from a fixed price list (tariffs ending in 90); B2B prices are negotiated.
        tariff = np.maximum(np.round(list_price / 500) * 500 - 10, 490)
        list_price = np.where(b2b, np.round(list_price, -2), tariff)
        d_b2b = (
            rng.beta(2.2, 16, nd)
            * np.exp(-0.35 * neg[mgr])
            * (1 + 0.25 * np.log(self.c_size[client]))
        )
        d_b2b = np.where(rng.random(nd) < _SEG["B2B"]["disc_share"], np.clip(d_b2b, 0, 0.35), 0.0)
        d_b2c = np.where(
            rng.random(nd) < _SEG["B2C"]["disc_share"],
            rng.choice([0.05, 0.10, 0.15], size=nd, p=[0.5, 0.35, 0.15]),
            0.0,
        )
        discount = np.round(np.where(b2b, d_b2b, d_b2c) / 0.005) * 0.005
        amount = np.where(
            b2b,
            np.round(list_price * (1 - discount), -2),
            np.round(list_price * (1 - discount), -1),
        )
        cost = np.round(list_price * cost_ratio[product] * np.exp(0.08 * rng.normal(size=nd)), -1)

        # Lost deals: a reason, and the competitor that won where one did.
        lost = stage == "lost"
        reason_i = np.where(
            b2b,
            rng.choice(len(LOST_REASONS), size=nd, p=_LOST_MIX["B2B"]),
            rng.choice(len(LOST_REASONS), size=nd, p=_LOST_MIX["B2C"]),
        )
        reason = np.array(LOST_REASONS)[reason_i]
        has_comp = lost & np.isin(reason, _COMPETITOR_REASONS)
        frac = np.clip((close[has_comp] - self.s0) / max(self.pe - self.s0, 1), 0, 1)
        comp_w = np.tile(np.array([0.28, 0.24, 0.12, 0.20, 0.16]), (len(frac), 1))
        comp_w[:, 2] *= 1 + 2.5 * frac  # Polaris Networks is gaining share
        comp_i = np.zeros(nd, dtype=np.int64)
        comp_i[has_comp] = _choice_rows(rng, comp_w)

        # Open pipeline: probability informed by the eventual outcome, expected close within 6 months.
        is_open = stage == "open"
        prob = np.where(won, rng.beta(4.5, 2.5, nd), rng.beta(2.0, 4.0, nd))
        prob = np.clip(np.round(prob * 20) / 20, 0.05, 0.95)
        jitter = np.round(rng.normal(0, np.where(b2b, 20, 7), nd))
        expected = np.clip(close + jitter, self.pe + 7, self.pe + 183)

        self.d = {
            "client": client,
            "mgr": mgr,
            "b2b": b2b,
            "created": created,
            "close": close,
            "stage": stage,
            "amount": amount,
            "list": list_price,
            "discount": discount,
            "cost": cost,
            "product": product,
            "is_lead": is_lead,
        }
        self.did = _Labels(_ids("D", nd, 7))
        return _frame(
            "deals",
            {
                "deal_id": self.did.column(),
                "client_id": self.cid[client],
                "manager_id": self.mid[mgr],
                "stage": stage,
                "amount": amount,
                "created_date": created,
                "closed_date": np.where(closed, close, np.nan),
                "product": np.array(list(PRODUCTS))[product],
                "cost": cost,
                "discount": discount,
                "probability": np.where(is_open, prob, np.nan),
                "expected_close_date": np.where(is_open, expected, np.nan),
                "lost_reason": _str_or_na(reason, lost),
                "competitor": _str_or_na(np.array(COMPETITORS)[comp_i], has_comp),
            },
        )

    def clients_frame(self) -> pd.DataFrame:
        rng, nc = self.rng, self.nc
        self.cid = _Labels(_ids("C", nc, 5))
        b2b = self.c_b2b
        names = np.where(b2b, _company_names(rng, nc), _person_names(rng, nc, unique=False))
        industry = np.array(_INDUSTRIES)[rng.integers(0, len(_INDUSTRIES), nc)]
        region_m = self.m_region[self.c_mgr]
        other = np.array(_REGIONS)[rng.integers(0, len(_REGIONS), nc)]
        region = np.where(rng.random(nc) < 0.85, region_m, other)
        owner = self.owner(self.c_mgr, np.full(nc, self.pe))
        return _frame(
            "clients",
            {
                "client_id": self.cid.column(),
                "manager_id": self.mid[owner],
                "segment": np.where(b2b, "B2B", "B2C"),
                "name": names,
                "industry": _str_or_na(industry, b2b),
                "region": region,
                "acquired_date": self.c_acq,
                "churned_date": self.c_churned,
                "referred_by": _str_or_na(self.cid[np.maximum(self.c_ref, 0)], self.c_ref >= 0),
            },
        )

    # -- sales process tables ---------------------------------------------------------------
    def proposals(self) -> pd.DataFrame:
        rng, d = self.rng, self.d
        nd = len(d["client"])
        has = rng.random(nd) < np.where(d["b2b"], 0.9, 0.3)
        span = np.minimum(d["close"], self.pe) - d["created"]
        sent = d["created"] + np.floor(rng.random(nd) * 0.7 * np.maximum(span, 0))
        has &= sent <= self.pe
        idx = np.flatnonzero(has)
        outcome = np.where(d["stage"] == "open", "pending", d["stage"])[idx]
        offered = np.round(d["list"] * (1 - d["discount"] / 2), -1)[idx]
        return _frame(
            "proposals",
            {
                "proposal_id": _ids("P", len(idx), 7),
                "manager_id": self.mid[self.owner(d["mgr"][idx], sent[idx])],
                "client_id": self.cid[d["client"][idx]],
                "sent_date": sent[idx],
                "amount": offered,
                "outcome": outcome,
                "deal_id": self.did[idx],
            },
        )

    def _client_events(
        self, key: str, months: int | None = None, boost: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Events per active client-month at the segment's ``key`` rate; returns (client, day)."""
        months = months or self.n_hist
        rate = self.seg_param(key, self.c_b2b)
        if boost is not None:
            rate = rate * boost
        c, t = self.customer_events(rate, months)
        day = self.day_in_month(t)
        ok = ~self.in_gap(c, day) & (day <= self.pe)
        return c[ok], day[ok]

    def activities(self) -> pd.DataFrame:
        rng, d = self.rng, self.d
        boost = np.exp(0.3 * self.trait("activity"))[self.c_mgr]
        c1, day1 = self._client_events("touch_rate", boost=boost)
        # Touches while a new-business deal is worked on.
        leads = np.flatnonzero(d["is_lead"])
        n_touch = rng.poisson(self.seg_param("lead_touches", d["b2b"][leads]))
        lc = np.repeat(leads, n_touch)
        lo, hi = d["created"][lc], np.minimum(d["close"][lc], self.pe)
        day2 = lo + np.floor(rng.random(len(lc)) * (hi - lo + 1))
        c2 = d["client"][lc]
        client = np.concatenate([c1, c2])
        day = np.concatenate([day1, day2])
        keep = day >= self.s0
        client, day = client[keep], day[keep]
        order = np.argsort(day, kind="stable")
        client, day = client[order], day[order]
        b2b = self.c_b2b[client]
        kind_i = np.where(
            b2b,
            rng.choice(len(_ACTIVITY_TYPES), size=len(b2b), p=_ACTIVITY_MIX["B2B"]),
            rng.choice(len(_ACTIVITY_TYPES), size=len(b2b), p=_ACTIVITY_MIX["B2C"]),
        )
        kind = np.array(_ACTIVITY_TYPES, dtype=object)[kind_i]
        mgr = self.owner(self.c_mgr[client], day)
        return _frame(
            "activities",
            {
                "activity_id": _ids("A", len(client), 8),
                "manager_id": self.mid[mgr],
                "client_id": self.cid[client],
                "type": kind,
                "date": day,
            },
        )

    def requests(self) -> pd.DataFrame:
        rng = self.rng
        client, day = self._client_events("request_rate")
        order = np.argsort(day, kind="stable")
        client, day = client[order], day[order]
        n = len(client)
        b2b = self.c_b2b[client]
        mgr = self.owner(self.c_mgr[client], day)
        hour = np.where(rng.random(n) < 0.85, rng.uniform(9, 19, n), rng.uniform(0, 24, n))
        opened = np.floor(day * 86400 + hour * 3600)
        median = self.seg_param("response_hours", b2b) * np.exp(
            -0.55 * self.trait("responsiveness")[mgr]
        )
        first = opened + np.floor(3600 * median * np.exp(1.2 * rng.normal(size=n)))
        resolve_med = self.seg_param("resolve_hours", b2b)
        resolved = first + np.floor(3600 * resolve_med * np.exp(0.9 * rng.normal(size=n)))
        snapshot = (self.pe + 1) * 86400
        never = rng.random(n) < 0.003
        first = np.where((first >= snapshot) | never, np.nan, first)
        resolved = np.where(np.isnan(first) | (resolved >= snapshot), np.nan, resolved)
        return _frame(
            "requests",
            {
                "request_id": _ids("R", n, 7),
                "client_id": self.cid[client],
                "manager_id": self.mid[mgr],
                "opened_at": opened,
                "first_response_at": first,
                "resolved_at": resolved,
            },
        )

    def surveys(self) -> pd.DataFrame:
        rng = self.rng
        client, day = self._client_events("survey_rate")
        order = np.argsort(day, kind="stable")
        client, day = client[order], day[order]
        n = len(client)
        mgr = self.owner(self.c_mgr[client], day)
        # Service quality per manager, centred on the team average: managers differ (about
        # -15..+90 NPS per quarter), while the company's level does not hinge on the seed's
        # trait draws (uncentred, seed 0 gave a company NPS near 0).
        service = 0.55 * self.trait("retention") + 0.25 * self.trait("responsiveness")
        service = (service - service.mean())[mgr]
        leaving = (self.c_churn[client] > day) & (self.c_churn[client] - day < 180)
        mood = service - 0.9 * leaving + 0.6 * rng.normal(size=n)
        csi = np.clip(np.round(4.1 + 0.7 * mood), 1, 5)
        # Scores centred on 8.3 (sd ~1.5): ~45 % promoters, ~10 % detractors, so a decent
        # service's company NPS of about +30 (+20..+45 by quarter); clients about to leave
        # are the detractors.
        nps = np.clip(np.round(8.3 + 1.5 * mood + 0.8 * rng.normal(size=n)), 0, 10)
        return _frame(
            "surveys",
            {
                "client_id": self.cid[client],
                "manager_id": self.mid[mgr],
                "date": day,
                "csi": csi,
                "nps": nps,
            },
        )

    def contracts(self) -> pd.DataFrame:
        # Contracts are fully determined by the client life cycle drawn in clients().
        cl = np.flatnonzero(self.c_contract)
        acq, k0, ren = self.c_acq[cl], self.c_k0[cl], self.c_renewals[cl]
        # First chain: from the contract running at the history start until the non-renewal.
        last_start = np.minimum(k0 + ren, np.floor((self.pe - acq) / 365))
        n1 = (last_start - k0 + 1).astype(np.int64)
        c1 = np.repeat(cl, n1)
        k = np.repeat(k0, n1) + (np.arange(n1.sum()) - np.repeat(np.cumsum(n1) - n1, n1))
        start1 = self.c_acq[c1] + k * 365
        renewed1 = np.where(k < np.repeat(k0 + ren, n1), 1.0, 0.0)
        # Second chain: won-back clients sign again and keep renewing.
        ret = self.c_return[cl]
        back = ret <= self.pe
        n2 = np.where(back, np.floor((self.pe - np.where(back, ret, 0)) / 365) + 1, 0).astype(
            np.int64
        )
        c2 = np.repeat(cl, n2)
        k2 = np.arange(n2.sum()) - np.repeat(np.cumsum(n2) - n2, n2)
        start2 = self.c_return[c2] + k2 * 365
        client = np.concatenate([c1, c2])
        start = np.concatenate([start1, start2])
        renewed = np.concatenate([renewed1, np.ones(len(c2))])
        end = start + 364
        renewed = np.where(end > self.pe, np.nan, renewed)
        order = np.lexsort((client, start))
        client, start, end, renewed = client[order], start[order], end[order], renewed[order]
        return _frame(
            "contracts",
            {
                "contract_id": _ids("K", len(client), 6),
                "client_id": self.cid[client],
                # the manager who decides the renewal: the client's owner when the term ends
                "manager_id": self.mid[self.owner(self.c_mgr[client], np.minimum(end, self.pe))],
                "start_date": start,
                "end_date": end,
                "renewed": renewed,
            },
        )

    def contacts(self) -> pd.DataFrame:
        rng = self.rng
        b2b = np.flatnonzero(self.c_b2b & ~np.isnan(self.c_acq))
        n0 = 1 + rng.poisson(1.2, len(b2b))
        c1 = np.repeat(b2b, n0)
        day1 = self.c_acq[c1]
        boost = np.exp(0.4 * self.trait("upsell"))[self.c_mgr]
        rate = np.where(self.c_b2b, 0.05 * boost, 0.0)
        c2, t2 = self.customer_events(rate, self.n_hist)
        day2 = self.day_in_month(t2)
        ok = ~self.in_gap(c2, day2) & (day2 <= self.pe)
        client = np.concatenate([c1, c2[ok]])
        day = np.concatenate([day1, day2[ok]])
        order = np.lexsort((client, day))
        client, day = client[order], day[order]
        role = np.array(_CONTACT_ROLES)[rng.integers(0, len(_CONTACT_ROLES), len(client))]
        return _frame(
            "contacts",
            {
                "contact_id": _ids("CT", len(client), 6),
                "client_id": self.cid[client],
                "added_date": day,
                "role": role,
            },
        )

    def projects(self) -> pd.DataFrame:
        rng, d = self.rng, self.d
        names = np.array(list(PRODUCTS))
        candidate = (d["stage"] == "won") & np.isin(names[d["product"]], PROJECT_PRODUCTS)
        candidate &= rng.random(len(candidate)) < self.seg_param("project_share", d["b2b"])
        idx = np.flatnonzero(candidate)
        n = len(idx)
        mgr = d["mgr"][idx]
        delivery = self.trait("delivery")[mgr]
        b2b = d["b2b"][idx]
        planned = d["close"][idx] + np.ceil(
            np.exp(np.log(self.seg_param("project_days", b2b)) + 0.4 * rng.normal(size=n))
        )
        on_time = rng.random(n) < _sigmoid(0.9 + 0.9 * delivery)
        delay = np.where(
            on_time,
            -np.floor(rng.uniform(0, 6, n)),
            np.ceil(np.exp(np.log(12) + 0.7 * rng.normal(size=n))),
        )
        actual = planned + delay
        budget = np.round(d["amount"][idx] * rng.uniform(0.2, 0.35, n), -2)
        overrun = rng.normal(0.03 - 0.06 * delivery, 0.07)
        actual_cost = np.round(budget * np.maximum(0.5, 1 + overrun), -2)
        quality = np.clip(np.round(3.8 + 0.55 * delivery + 0.7 * rng.normal(size=n)), 1, 5)
        done = actual <= self.pe
        # a leaver's running projects pass to the successor with the client
        owner = self.owner(mgr, np.minimum(actual, self.pe))
        return _frame(
            "projects",
            {
                "project_id": _ids("PRJ", n, 5),
                "client_id": self.cid[d["client"][idx]],
                "manager_id": self.mid[owner],
                "planned_end": planned,
                "actual_end": np.where(done, actual, np.nan),
                "budget": budget,
                "actual_cost": np.where(done, actual_cost, np.nan),
                "quality": np.where(done, quality, np.nan),
            },
        )

    # -- internal and professional tables -------------------------------------------------------
    def window(self, m: int) -> tuple[float, float]:
        """First and last day manager ``m`` worked within the history."""
        last = self.pe if np.isnan(self.leave[m]) else min(self.pe, self.leave[m] - 1)
        return max(self.s0, self.hire[m]), last

    def internal_reports(self) -> pd.DataFrame:
        rng = self.rng
        rows_m, rows_due = [], []
        for m in range(self.n):
            lo, hi = self.window(m)
            if self.b2b[m]:  # monthly account report, due on the 5th of the next month
                due = self.bounds[1:] + 4
                due = due[(due - 4 > lo) & (due <= hi)]
            else:  # weekly pipeline report, due on Fridays (1970-01-02 was a Friday)
                first = lo + ((1 - lo) % 7)
                due = np.arange(first, hi + 1, 7, dtype=float)
            rows_m.append(np.full(len(due), m))
            rows_due.append(due)
        mgr = np.concatenate(rows_m)
        due = np.concatenate(rows_due)
        n = len(mgr)
        disc = self.trait("discipline")[mgr]
        on_time = rng.random(n) < _sigmoid(1.6 + 1.1 * disc)
        late = 1 + rng.geometric(0.35, n)
        submitted = np.where(on_time, due - np.floor(rng.uniform(0, 3, n)), due + late)
        missing = rng.random(n) < 0.015 * np.exp(-disc)
        submitted = np.where(missing | (submitted > self.pe), np.nan, submitted)
        quality = np.clip(np.round(3.7 + 0.5 * disc + 0.6 * rng.normal(size=n)), 1, 5)
        return _frame(
            "internal_reports",
            {
                "manager_id": self.mid[mgr],
                "due_date": due,
                "submitted_date": submitted,
                "quality": np.where(np.isnan(submitted), np.nan, quality),
            },
        )

    def compliance(self) -> pd.DataFrame:
        rng = self.rng
        emp = self.employed[:, : self.n_hist]
        mgr, t = np.nonzero(emp)
        day = self.day_in_month(t)
        lo = np.array([self.window(m)[0] for m in range(self.n)])
        hi = np.array([self.window(m)[1] for m in range(self.n)])
        ok = (day >= lo[mgr]) & (day <= hi[mgr])
        mgr, day = mgr[ok], day[ok]
        p = 0.025 * np.exp(-0.9 * self.trait("discipline")[mgr])
        violation = rng.random(len(mgr)) < p
        order = np.lexsort((mgr, day))
        return _frame(
            "compliance",
            {
                "manager_id": self.mid[mgr[order]],
                "date": day[order],
                "violation": violation[order].astype(float),
            },
        )

    def product_ideas(self) -> pd.DataFrame:
        rng = self.rng
        rate = 0.18 * np.exp(0.6 * self.trait("initiative"))
        mgr, t = _events(rng, rate[:, None] * self.employed[:, : self.n_hist])
        day = self.day_in_month(t)
        lo = np.array([self.window(m)[0] for m in range(self.n)])
        hi = np.array([self.window(m)[1] for m in range(self.n)])
        ok = (day >= lo[mgr]) & (day <= hi[mgr])
        mgr, day = mgr[ok], day[ok]
        accepted = (
            rng.random(len(mgr)) < _sigmoid(-0.9 + 0.5 * self.trait("initiative")[mgr])
        ).astype(float)
        accepted = np.where(day > self.pe - 30, np.nan, accepted)  # recent ideas still under review
        order = np.lexsort((mgr, day))
        return _frame(
            "product_ideas",
            {"manager_id": self.mid[mgr[order]], "date": day[order], "accepted": accepted[order]},
        )

    def trainings(self) -> pd.DataFrame:
        rng = self.rng
        # Skill -> the trait a course in it is meant to improve (weak managers get sent more).
        skill_trait = {
            SKILLS[0]: "negotiation",
            SKILLS[1]: "initiative",
            SKILLS[2]: "discipline",
            SKILLS[3]: "upsell",
            SKILLS[4]: "delivery",
            SKILLS[5]: "closing",
            SKILLS[6]: "retention",
        }
        seg_focus = {
            "B2B": {SKILLS[6]: 2.0, SKILLS[3]: 1.5},
            "B2C": {SKILLS[5]: 2.0, SKILLS[0]: 1.5},
        }
        skills = [c[2] for c in COURSES]
        rate = 4.0 / 12 * np.exp(0.3 * self.trait("initiative"))
        mgr, t = _events(rng, rate[:, None] * self.employed[:, : self.n_hist])
        day = self.day_in_month(t)
        lo = np.array([self.window(m)[0] for m in range(self.n)])
        hi = np.array([self.window(m)[1] for m in range(self.n)])
        ok = (day >= lo[mgr]) & (day <= hi[mgr])
        mgr, day = mgr[ok], day[ok]
        weights = np.empty((len(mgr), len(COURSES)))
        for j, skill in enumerate(skills):
            focus = np.where(
                self.b2b[mgr], seg_focus["B2B"].get(skill, 1.0), seg_focus["B2C"].get(skill, 1.0)
            )
            weights[:, j] = focus * np.exp(-0.7 * self.trait(skill_trait[skill])[mgr])
        course = _choice_rows(rng, weights)
        completed = rng.random(len(mgr)) < _sigmoid(1.8 + 0.5 * self.trait("discipline")[mgr])
        hours_full = np.array([c[3] for c in COURSES])[course]
        hours = np.where(completed, hours_full, np.floor(rng.random(len(mgr)) * hours_full))
        # A certified course is not taken again.
        order = np.lexsort((day, course, mgr))
        mgr, day, course, completed, hours = (
            a[order] for a in (mgr, day, course, completed, hours)
        )
        done_before = np.zeros(len(mgr), bool)
        key = mgr * len(COURSES) + course
        cum_done = np.cumsum(completed)
        starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
        group_start = np.repeat(starts, np.diff(np.r_[starts, len(key)]))
        prior = cum_done - completed - np.where(group_start > 0, cum_done[group_start - 1], 0)
        done_before = prior > 0
        keep = ~done_before
        mgr, day, course, completed, hours = (a[keep] for a in (mgr, day, course, completed, hours))
        order = np.lexsort((mgr, day))
        mgr, day, course, completed, hours = (
            a[order] for a in (mgr, day, course, completed, hours)
        )
        return _frame(
            "trainings",
            {
                "manager_id": self.mid[mgr],
                "course": np.array([c[0] for c in COURSES])[course],
                "skill": np.array(skills)[course],
                "date": day,
                "hours": hours,
                "completed": completed.astype(float),
            },
        )

    def targets(self, deals: pd.DataFrame, managers: pd.DataFrame) -> pd.DataFrame:
        """Quarterly sales quotas: 10 % above the same quarter of the previous year."""
        won = deals[deals["stage"] == "won"]
        quarter = won["closed_date"].dt.to_period("Q")
        actual = won.groupby([won["manager_id"], quarter])["amount"].sum()
        last = pd.Period(self.period_end, freq="Q")
        first = pd.Period(pd.Timestamp(self.mstart[0], unit="D"), freq="Q")
        quarters = pd.period_range(first + 4, last + 1, freq="Q")
        seg = dict(zip(managers["manager_id"], managers["segment"], strict=True))
        rows = []
        for q in quarters:
            q_start = q.start_time.value // 86_400_000_000_000
            for m in range(self.n):
                if self.hire[m] > q_start or (
                    not np.isnan(self.leave[m]) and self.leave[m] <= q_start
                ):
                    continue
                base = actual.get((self.mid.list[m], q - 4), np.nan)
                rows.append((self.mid.list[m], q, base))
        frame = pd.DataFrame(rows, columns=["manager_id", "q", "base"])
        frame["segment"] = frame["manager_id"].map(seg)
        median = frame.groupby(["segment", "q"])["base"].transform("median")
        base = frame["base"].where(frame["base"] > 0, median)
        target = np.round(1.10 * base.to_numpy(dtype=float), -4)
        ok = np.isfinite(target)
        return _frame(
            "targets",
            {
                "manager_id": frame["manager_id"].to_numpy()[ok],
                "period": np.array([f"{q.qyear}Q{q.quarter}" for q in frame["q"]])[ok],
                "kpi": np.full(ok.sum(), "sales_volume"),
                "target": target[ok],
            },
        )


def make_demo(
    seed: int = 0,
    n_managers: int = 30,
    end: dt.date | str | None = None,
    years: int = 3,
    scale: float = 1.0,
) -> Dataset:
    """Build the seeded demo dataset: a B2B/B2C account-management company, all 15 tables.

    The company sells connectivity, cloud and IT services (8 product lines, :data:`PRODUCTS`)
    to people (B2C) and companies (B2B). Everything is drawn from one NumPy generator, so a
    seed always gives the same tables, and the numbers follow the domain source's B2B/B2C
    comparison table: B2C managers have several times more clients, a much smaller average
    check, sales cycles of days instead of weeks, fewer contacts per client and fixed prices
    (a rare promo discount); B2B managers negotiate discounts on most deals.

    - **Managers** (M001…): about half B2B, half B2C, in teams of ~8 with a home region; Russian
      full names; monthly base salary around 90,000 RUB (B2B higher). A few are hired during
      the history (their portfolio starts empty and leads ramp up) and one has left
      (``active`` false): their accounts and open work passed to a teammate on that day.
      Each has latent strengths and weaknesses (:data:`TRAITS`: closing, prospecting,
      retention, upsell, responsiveness, discipline, delivery, activity, initiative,
      negotiation; ``ds.meta["traits"]``) that drive conversion, portfolio growth, churn,
      CSI/NPS, response times, reporting, projects and trainings, so KPI profiles, reviews and
      training plans differ.
    - **Sales**: grow ~8-15 % a year (more clients plus ~4 % price increases) with a Q4 peak
      and January/summer dips. Every new-business lead is a client record; lost and open
      leads stay prospects (empty ``acquired_date``). Lost deals have a reason from
      :data:`LOST_REASONS` and, where a competitor won, one of :data:`COMPETITORS` (one of
      them gaining share). Open deals at the end carry a probability and an expected close
      1-6 months ahead.
    - **Clients** churn (B2B and contract clients by not renewing, others at a monthly rate);
      some lost clients are won back: a won deal closes after their ``churned_date``. New
      clients are sometimes referred by an existing client of the same manager
      (``referred_by``).
    - **Other tables**: proposals for most B2B and some B2C deals; activities (B2B: meetings,
      calls, emails several times a month per client); requests with first response and
      resolution times (the latest still unanswered); surveys (a handful per manager and
      quarter, some below 10); annual contracts (``renewed`` empty while undecided); contacts
      inside B2B clients; implementation projects (mostly B2B); weekly (B2C) or monthly (B2B)
      internal reports; monthly compliance checks with rare violations; product ideas;
      trainings from the catalogue :data:`COURSES`; quarterly ``sales_volume`` targets from the
      second year on (+10 % on the same quarter a year earlier), including the next quarter.

    Parameters
    ----------
    seed : random seed; the same seed gives identical tables.
    n_managers : number of account managers (about half B2B, half B2C), at least 2.
    end : history ends at the last complete quarter before this date (date or "YYYY-MM-DD";
        default today). Open deals, running projects and contracts reach beyond it.
    years : years of history.
    scale : multiplies the number of clients and deals (1.0 ≈ 30k deals and ~150k activities
        for 30 managers over 3 years).

    Returns
    -------
    Dataset
        All 15 tables of :data:`amtools.core.schema.TABLES` with the data model's dtypes;
        ``source`` is ``"amtools demo (seed=<seed>)"``; ``meta`` holds ``period_end`` (last
        day of the history, a Timestamp), ``currency`` ("RUB"), ``seed``, ``generator`` and
        ``traits``.

    Raises
    ------
    ParameterError
        On a non-integer seed, fewer than 2 managers, years outside 1..15, a scale outside
        (0, 100] or an ``end`` that is not a date.

    Example
    -------
    >>> ds = make_demo(seed=1, n_managers=6, end="2026-11-26", years=1, scale=0.2)
    >>> ds.meta["period_end"]
    Timestamp('2026-09-30 00:00:00')
    >>> sorted(ds.managers["segment"].unique())
    ['B2B', 'B2C']
    """
    _check_args(seed, n_managers, years, scale)
    b = _Builder(int(seed), int(n_managers), _parse_end(end), int(years), float(scale))
    managers = b.managers()
    b.clients()
    clients = b.clients_frame()
    deals = b.deals()
    tables = {
        "managers": managers,
        "clients": clients,
        "deals": deals,
        "proposals": b.proposals(),
        "activities": b.activities(),
        "requests": b.requests(),
        "surveys": b.surveys(),
        "contracts": b.contracts(),
        "contacts": b.contacts(),
        "projects": b.projects(),
        "internal_reports": b.internal_reports(),
        "compliance": b.compliance(),
        "product_ideas": b.product_ideas(),
        "trainings": b.trainings(),
    }
    tables["targets"] = b.targets(deals, managers)
    traits = {
        b.mid.list[m]: {name: round(float(b.z[m, k]), 2) for k, name in enumerate(TRAITS)}
        for m in range(b.n)
    }
    meta = {
        "period_end": b.period_end,
        "currency": DEFAULT_CURRENCY,
        "seed": int(seed),
        "generator": GENERATOR,
        "traits": traits,
    }
    return Dataset(tables, source=f"amtools demo (seed={seed})", meta=meta)
