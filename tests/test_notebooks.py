"""The report notebooks: thin and parameterised (static checks), and rendered end to end.

The rendering tests run the real pack runner (``amtools.render.notebooks.run``) on a small demo
dataset (6 managers, cheap forecast models) once per session and inspect the HTML:
sections present, no code, self-contained, Russian without English labels, and a manager
review that names no other manager.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from amtools.core import i18n
from amtools.core.paths import NOTEBOOKS_DIR, PARAMS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
REQUIRED = {"context", "period", "lang"}
ENTITY = {"manager_review": "manager_id", "team_review": "team"}
# Cheap models keep the session fixture fast; the notebooks do not depend on the choice.
FAST = {"forecast": {"models": ["naive", "seasonal_naive", "theta"], "folds": 2}}
EVIL = "<b>Evil</b> Name"


# --------------------------------------------------------------------------- static checks
def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_expected_notebook_exists() -> None:
    stems = {p.stem for p in NOTEBOOKS}
    assert {"manager_review", "team_review", "forecast", "budget_plan", "explore"} <= stems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_thin_and_stripped(path: Path) -> None:
    nb = nbformat.read(path, 4)
    cells = _code_cells(nb)
    first = cells[0]
    assert "parameters" in first.metadata.get("tags", []), (
        "first code cell must be tagged parameters"
    )
    declared = {}
    for line in first.source.splitlines():
        if not line.strip():
            continue
        # typed literal with a help comment: `name: type = literal  # help`
        match = re.fullmatch(r"(\w+): (\w+) = (.+?)  # (.+)", line)
        assert match, f"{path.name}: parameter line needs `name: type = value  # help`: {line!r}"
        assert "=" not in match.group(4), "papermill cannot parse '=' in the help comment"
        declared[match.group(1)] = ast.literal_eval(match.group(3))
    assert set(declared) >= REQUIRED
    if path.stem in ENTITY:
        assert ENTITY[path.stem] in declared
    assert (
        "ctx = amtools.render.notebooks.open_context(context, period=period, lang=lang)"
        in cells[1].source
    )
    for cell in cells:
        assert cell.outputs == [] and cell.execution_count is None, "commit notebooks stripped"
        tree = ast.parse(cell.source)
        banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
        assert not any(isinstance(node, banned) for node in ast.walk(tree)), (
            f"{path.name}: no def/class/lambda"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_params_file_sets_only_declared_names(path: Path) -> None:
    params = PARAMS_DIR / "reports" / f"{path.stem}.yaml"
    assert params.is_file(), f"{params} is missing"
    values = yaml.safe_load(params.read_text(encoding="utf-8")) or {}
    first = _code_cells(nbformat.read(path, 4))[0].source
    declared = set(re.findall(r"^(\w+):", first, flags=re.M))
    assert set(values) <= declared, f"{params.name} sets names the notebook does not declare"


# --------------------------------------------------------------------------- rendered packs
@pytest.fixture(scope="session")
def demo():
    from amtools.demo import make_demo

    ds = make_demo(n_managers=6)
    managers = ds.managers.copy()
    managers.loc[managers["manager_id"] == "M003", "name"] = EVIL
    return ds.replace(managers=managers)


@pytest.fixture(scope="session")
def pack_ru(demo, tmp_path_factory):
    from amtools.render.notebooks import run

    out = tmp_path_factory.mktemp("pack_ru")
    result = run(
        demo,
        reports=["team_review", "forecast", "budget", "manager_review"],
        managers=["M001", "M004"],
        lang="ru",
        out=out,
        workers=2,
        context_params=FAST,
        progress=False,
    )
    return result


@pytest.fixture(scope="session")
def pack_en(demo, tmp_path_factory):
    from amtools.render.notebooks import run

    out = tmp_path_factory.mktemp("pack_en")
    return run(
        demo,
        reports=["manager_review", "explore"],
        managers=["M002"],
        lang="en",
        out=out,
        workers=2,
        context_params=FAST,
        progress=False,
    )


def _pages(result) -> dict[str, str]:
    failed = [(r.name, r.error) for r in result.results if not r.ok]
    assert not failed, f"reports failed: {failed}"
    return {r.name: Path(r.html_path).read_text(encoding="utf-8") for r in result.results}


def _strip_images(page: str) -> str:
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "data:", page)


def _visible_texts(page: str) -> set[str]:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", _strip_images(page), flags=re.S | re.I)
    texts = {html.unescape(t).strip() for t in re.split(r"<[^>]+>", page)}
    alts = {html.unescape(a).strip() for a in re.findall(r'alt="([^"]*)"', page)}
    return {t for t in texts | alts if t}


def _sections(prefix: str, lang: str) -> list[str]:
    return [v[lang] for k, v in i18n.catalog().items() if k.startswith(prefix)]


SECTIONS = {
    "team_review": "tr.section.",
    "manager_review/M001": "mr.section.",
    "forecast": "fc.section.",
    "budget": "bp.section.",
}


@pytest.mark.notebook
def test_ru_pack_has_every_section(pack_ru) -> None:
    pages = _pages(pack_ru)
    for name, prefix in SECTIONS.items():
        page = pages[name]
        for heading in _sections(prefix, "ru"):
            assert f">{html.escape(heading)}</h2>" in page, f"{name}: section {heading!r} missing"
        assert '<nav class="am-toc">' in page, f"{name}: no table of contents"


@pytest.mark.notebook
def test_pages_show_no_code_and_are_self_contained(pack_ru, pack_en) -> None:
    pages = {**_pages(pack_ru), **_pages(pack_en)}
    pages.pop("explore")  # the analysts' tour talks about code on purpose
    for name, page in pages.items():
        body = _strip_images(page)
        for code in ("open_context", "import amtools", "display(", "charts.show", "Traceback"):
            assert code not in body, f"{name}: shows code ({code})"
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", body), (
            f"{name}: external resource"
        )
        assert "<script" not in body.lower(), f"{name}: has a script"
        assert "<link" not in body.lower(), f"{name}: links a stylesheet"
        assert "data:image/png;base64," in page, f"{name}: charts are not embedded"


@pytest.mark.notebook
def test_russian_pages_have_no_untranslated_labels(pack_ru) -> None:
    english = {
        v["en"].strip()
        for v in i18n.catalog().values()
        if v.get("en") and v.get("ru") and v["en"] != v["ru"] and "{" not in v["en"]
    }
    for name, page in _pages(pack_ru).items():
        leaked = sorted(_visible_texts(page) & english)
        assert leaked == [], f"{name}: English labels in a Russian report: {leaked}"


@pytest.mark.notebook
def test_manager_review_names_no_other_manager(pack_ru, demo) -> None:
    pages = _pages(pack_ru)
    managers = demo.managers
    for own in ("M001", "M004"):
        page = _strip_images(pages[f"manager_review/{own}"])
        own_name = managers.set_index("manager_id").loc[own, "name"]
        assert html.escape(own_name) in page
        for _, other in managers[managers["manager_id"] != own].iterrows():
            assert other["manager_id"] not in page, f"{own}'s review shows {other['manager_id']}"
            for form in {other["name"], html.escape(other["name"])}:
                assert form not in page, f"{own}'s review names {other['name']}"


@pytest.mark.notebook
def test_names_from_data_are_escaped(pack_ru) -> None:
    page = _pages(pack_ru)["team_review"]
    assert html.escape(EVIL) in page
    assert EVIL not in page


@pytest.mark.notebook
def test_english_pack_and_explore_run(pack_en) -> None:
    pages = _pages(pack_en)
    for heading in _sections("mr.section.", "en"):
        assert f">{html.escape(heading)}</h2>" in pages["manager_review/M002"]
    assert "explore" in pages


@pytest.mark.notebook
def test_russian_pages_have_no_english_sentences(pack_ru, demo) -> None:
    from test_present_lang import english_runs

    words = " ".join([*demo.managers["team"].astype(str), *demo.managers["name"].astype(str)])
    allowed = set(words.lower().split()) | set(str(demo.source).lower().split())
    leaks = {
        name: runs
        for name, page in _pages(pack_ru).items()
        if (runs := english_runs(page, allowed=allowed))
    }
    assert leaks == {}, f"English sentences on Russian pages: {leaks}"
