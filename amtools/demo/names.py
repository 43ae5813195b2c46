"""Russian names for the demo: managers' and B2C clients' full names, B2B company names.

Example
-------
>>> import numpy as np
>>> from amtools.demo.names import person_names
>>> len(person_names(np.random.default_rng(0), 3, unique=True))
3
"""

from __future__ import annotations

import numpy as np

__all__ = ["person_names", "company_names"]


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


def person_names(rng: np.random.Generator, n: int, unique: bool) -> np.ndarray:
    """Russian full names "Фамилия Имя Отчество" (Cyrillic), about half of them female.

    Example
    -------
    >>> person_names(np.random.default_rng(0), 1, unique=True)[0].count(" ")
    2
    """
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


def company_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Company names in Russian legal forms: ``ООО «Волга-Строй»``.

    Example
    -------
    >>> "«" in company_names(np.random.default_rng(0), 1)[0]
    True
    """
    forms = np.array(_COMPANY_FORMS)[rng.integers(0, len(_COMPANY_FORMS), n)]
    roots = np.array(_COMPANY_ROOTS)[rng.integers(0, len(_COMPANY_ROOTS), n)]
    sufs = np.array(_COMPANY_SUFFIXES)[rng.integers(0, len(_COMPANY_SUFFIXES), n)]
    joiner = np.where(rng.random(n) < 0.5, "", "-")
    body = np.char.add(np.char.add(roots, joiner), np.char.add(sufs, "»"))
    return np.char.add(np.char.add(forms, " «"), body)
