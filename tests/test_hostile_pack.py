"""The whole pack on data whose names are hostile: markup, mathtext, formulas, paths.

Issue classes: a manager name with ``$$\\int$$`` passed validation and then broke the team
review and the forecast (matplotlib mathtext); a team named ``=...`` became a live formula
in budget.xlsx; markup must stay inert in every page; a long or path-like id must not break
its file. Checked on real rendered pages, not on single functions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from amtools.render.notebooks.runner import run

pytestmark = pytest.mark.notebook

NAMES = [
    "<script>alert(1)</script>",
    r"$$\int_0^1 x$$ Ivanov",
    '=HYPERLINK("http://x.invalid","y")',
    "@SUM(A1:A9)",
]
TEAMS = ["=cmd|' /C calc'!A0", "+team $x$", "-team", "<b>bold</b>"]
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from amtools.demo import make_demo

    ds = make_demo(seed=5, n_managers=4, years=2, scale=0.3, end="2026-09-30")
    managers = ds["managers"].copy()
    managers["name"] = pd.array(NAMES[: len(managers)], dtype="string")
    managers["team"] = pd.array(TEAMS[: len(managers)], dtype="string")
    ids = managers["manager_id"].astype(str).tolist()
    long_id = "../" + "ы" * 3000  # path-like and far too long for a file name
    mapping = {ids[0]: long_id}
    managers["manager_id"] = managers["manager_id"].replace(mapping)
    tables = {}
    for name, frame in ds.tables.items():
        frame = frame.copy()
        if "manager_id" in frame:
            frame["manager_id"] = frame["manager_id"].replace(mapping)
        tables[name] = frame
    tables["managers"] = managers
    hostile = ds.replace(**tables)
    out = tmp_path_factory.mktemp("hostile")
    result = run(hostile, out=out, workers=2, progress=False, lang="ru")
    assert not result.failed, [r.error for r in result.failed]
    return Path(result.index).parent


def test_every_page_renders_and_keeps_markup_inert(pack: Path) -> None:
    pages = sorted(pack.glob("*.html"))
    assert len(pages) >= 4 + 3 + 1  # reviews, team review, forecast, budget, index
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower(), page.name
        assert "<b>bold</b>" not in html, page.name
        assert not EXTERNAL.search(html), page.name
    team = (pack / "team_review.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in team  # shown, as text
    # file names are short and stay in the folder
    assert all(len(p.name) < 120 for p in pack.iterdir())
    assert not list(pack.parent.glob("*.html"))


def test_workbook_holds_no_formula(pack: Path) -> None:
    book = load_workbook(pack / "budget.xlsx")
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert "'+team $x$" in texts and "'-team" in texts  # the teams, as text
