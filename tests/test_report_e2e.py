"""End to end: `amtools run` over the project's real notebooks on small demo data."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

EXTERNAL = re.compile(r"""(?:src|href|action|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def demo():
    from amtools.demo import make_demo

    return make_demo(seed=0, n_managers=6, end="2026-11-26")


def _check_page(page: str) -> None:
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert "<script" not in page
    assert "open_context" not in page  # no code
    assert "injected-parameters" not in page


def test_reviews_pack(demo, tmp_path):
    from amtools.render.notebooks.runner import run

    result = run(
        demo,
        reports=["team_review", "manager_review"],
        out=tmp_path,
        workers=2,
        lang="ru",
        progress=False,
    )
    assert result.ok, [(r.name, r.error, r.cell_source) for r in result.failed]
    names = dict(zip(demo.managers["manager_id"], demo.managers["name"], strict=True))
    for res in result.results:
        page = res.html_path.read_text(encoding="utf-8")
        _check_page(page)
        if res.kind == "manager_review":
            # privacy: a review names no other manager
            others = [name for mid, name in names.items() if mid != res.entity]
            assert not [n for n in others if n in page], res.name
            assert names[res.entity] in page
    index = result.index.read_text(encoding="utf-8")
    assert all(name in index for name in names.values())  # leadership's page lists everyone


def test_forecast_and_budget_pack(demo, tmp_path):
    from amtools.render.notebooks.runner import run

    result = run(demo, reports=["forecast", "budget"], out=tmp_path, workers=2, progress=False)
    assert result.ok, [(r.name, r.error, r.cell_source) for r in result.failed]
    for res in result.results:
        _check_page(res.html_path.read_text(encoding="utf-8"))
    # the runner writes the budget workbook beside the budget report and links it
    workbooks = list(result.folder.glob("*.xlsx"))
    assert len(workbooks) == 1
    assert f'href="{workbooks[0].name}"' in result.index.read_text(encoding="utf-8")
