"""The company team review at hundreds of managers: team summary tables, the threshold
switch, the automatic per-team planning and a rendered pack above a (low, test) threshold."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from amtools.core.errors import ParameterError
from amtools.core.vocab import NO_TEAM
from amtools.kpi import team_views
from amtools.render.sections import team_summary

P, Q = "2026Q2", "2026Q3"
EVIL_TEAM = '<script>alert("x")</script> "Q" team'


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    managers = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3", "M4", "M5"],
            "name": ["Ann", "Bob", "Cy", "Di", "Ed"],
            "team": ["North", "North", "North", "South", None],
            "segment": ["B2B", "B2B", "B2C", "B2C", "B2C"],
        }
    )
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3", "M4", "M5"] * 2,
            "period": [P] * 5 + [Q] * 5,
            "segment": ["B2B", "B2B", "B2C", "B2C", "B2C"] * 2,
            # Q: M3 is not ranked (too little data): its 99 counts in no median and no mover
            "score": [50.0, 60.0, 40.0, 70.0, 30.0, 65.0, 48.0, 99.0, 71.0, 30.0],
            "ranked": [True] * 5 + [True, True, False, True, True],
        }
    )
    card = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3", "M4", "M5", "M1"],
            "period": [Q] * 5 + [P],
            "kpi": ["sales_volume"] * 6,
            "value": [100.0, 50.0, float("nan"), 80.0, 10.0, 999.0],
            "target": [100.0, 100.0, 100.0, 40.0, float("nan"), 1.0],
        }
    )
    return managers, scores, card


def test_team_table_sums_revenue_and_takes_the_median_of_ranked_scores() -> None:
    managers, scores, card = _frames()
    alerts = pd.DataFrame({"kind": ["score_drop", "below_target", "below_target"],
                           "manager_id": ["M2", "M2", "M1"]})  # fmt: skip
    table = team_views.team_table(scores, card, managers, Q, alert_frame=alerts)
    rows = table.set_index("team")
    assert list(table["team"]) == ["South", "North", NO_TEAM]  # best median score first
    north = rows.loc["North"]
    assert north["managers"] == 3 and north["segment"] == "B2B, B2C"
    # M3's revenue is not measured: the sum is of what is; its target still counts
    assert north["revenue"] == 150.0 and north["revenue_target"] == 300.0
    assert north["attainment"] == pytest.approx(0.5)
    assert north["score_median"] == pytest.approx(56.5)  # M1 65, M2 48; M3 not ranked
    assert north["ranked"] == 2 and north["alerts"] == 3
    assert rows.loc["South", "attainment"] == pytest.approx(2.0)
    # no positive target: attainment not available (NaN), revenue still shown
    assert rows.loc[NO_TEAM, "revenue"] == 10.0 and pd.isna(rows.loc[NO_TEAM, "attainment"])
    assert rows.loc[NO_TEAM, "alerts"] == 0


def test_movers_rank_rises_and_falls_of_ranked_managers_only() -> None:
    managers, scores, _ = _frames()
    moved = team_views.movers(scores, managers, Q, P, n=1)
    assert moved[["direction", "manager_id", "change"]].values.tolist() == [
        ["up", "M1", 15.0],
        ["down", "M2", -12.0],
    ]
    assert moved.loc[0, "team"] == "North" and moved.loc[0, "before"] == 50.0
    everyone = team_views.movers(scores, managers, Q, P, n=10)
    assert "M3" not in set(everyone["manager_id"])  # not ranked now: no evidence of a change
    assert "M5" not in set(everyone["manager_id"])  # did not move
    assert team_views.movers(scores, managers, Q, None).empty


def test_team_alerts_count_per_team_and_name_the_worst_first() -> None:
    managers, _, _ = _frames()
    alerts = pd.DataFrame(
        {
            "kind": ["score_drop", "below_target", "below_target", "below_target", "below_target"],
            "manager_id": ["M2", "M1", "M2", "M4", "M5"],
        }
    )
    counts = team_views.team_alerts(alerts, managers, worst=1).set_index("team")
    assert counts.loc["North", "alerts"] == 3 and counts.loc["North", "score_drop"] == 1
    assert counts.loc["North", "below_target"] == 2 and counts.loc["North", "managers"] == 2
    assert counts.loc["North", "worst"] == ("M2",)  # two alerts before M1's one
    assert counts.loc[NO_TEAM, "worst"] == ("M5",)
    assert team_views.team_alerts(alerts.iloc[0:0], managers).empty


def test_score_distribution_orders_teams_by_median() -> None:
    managers, scores, _ = _frames()
    frame = team_views.score_distribution(scores, managers, Q)
    assert list(dict.fromkeys(frame["team"])) == ["South", "North", NO_TEAM]
    assert not frame.set_index("manager_id").loc["M3", "ranked"]


def test_summary_tables_keep_team_names_inert_and_link_them() -> None:
    managers, scores, card = _frames()
    managers.loc[0:2, "team"] = EVIL_TEAM
    table = team_views.team_table(scores, card, managers, Q)
    html = team_summary.teams_table(table, "ru", linked={EVIL_TEAM}).data
    assert "<script>" not in html and "&lt;script&gt;" in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs == [team_summary.team_href(EVIL_TEAM)]
    assert re.fullmatch(r"team_review-[a-z0-9-]+\.html", hrefs[0])
    # South has no review in this pack: plain text, no link
    assert ">South<" in html
    alerts = team_views.team_alerts(
        pd.DataFrame({"kind": ["below_target"], "manager_id": ["M1"]}), managers
    )
    html = team_summary.team_alerts_table(alerts, managers, "en", linked={EVIL_TEAM}).data
    assert "<script>" not in html and "Ann" in html
    moved = team_views.movers(scores, managers, Q, P)
    assert "<script>" not in team_summary.movers_table(moved, managers, "ru").data


def test_threshold_switches_the_company_page_only() -> None:
    assert not team_summary.uses_team_summary(40, "", 40)
    assert team_summary.uses_team_summary(41, "", 40)
    assert not team_summary.uses_team_summary(500, "B2B Team 1", 40)  # a team page: detail


def test_per_team_mode_threshold_and_force() -> None:
    from amtools.render.notebooks.plan import per_team_mode

    assert per_team_mode(40, 40) == "" and per_team_mode(41, 40) == "auto"
    assert per_team_mode(3, 40, forced=True) == "forced"
    assert per_team_mode(500, None) == ""
    with pytest.raises(ParameterError, match=r"x\.yaml: per_team_above .* got -1"):
        per_team_mode(5, -1, where="x.yaml")


@pytest.fixture(scope="module")
def demo12():
    from amtools.demo import make_demo

    ds = make_demo(n_managers=12)
    managers = ds.managers.copy()
    first = sorted(managers["team"].dropna().unique())[0]
    managers["team"] = managers["team"].replace(first, EVIL_TEAM)
    return ds.replace(managers=managers)


def _params(tmp_path: Path, **values: object) -> Path:
    from amtools.core.paths import DEFAULT_PARAMS_DIR

    text = (DEFAULT_PARAMS_DIR / "reports" / "team_review.yaml").read_text(encoding="utf-8")
    for key, value in values.items():
        text, n = re.subn(rf"^{key}: \S+", f"{key}: {value}", text, flags=re.M)
        assert n == 1, key
    (tmp_path / "reports").mkdir(parents=True, exist_ok=True)
    (tmp_path / "reports" / "team_review.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _plan(dataset, params_dir: Path, *, per_team: bool = False):
    from amtools.render.notebooks.plan import plan_jobs

    return plan_jobs(
        dataset, Q, reports=["team_review"], folder=Path("out"), context_dir=Path("ctx"),
        params_dir=params_dir, per_team=per_team,
        header={"source": "s", "generated_at": pd.Timestamp("2026-11-26", tz="UTC"),
                "fingerprint": "f", "version": "v"},
    )  # fmt: skip


def test_plan_jobs_adds_the_per_team_reviews_above_the_threshold(demo12, tmp_path) -> None:
    teams = sorted(demo12.managers["team"].dropna().unique())
    jobs = _plan(demo12, _params(tmp_path / "low", per_team_above=11))
    assert [j.name for j in jobs] == ["team_review", *[f"team_review/{t}" for t in teams]]
    assert {j.parameters["team_pages"] for j in jobs} == {"auto"}
    evil = next(j for j in jobs if j.entity == EVIL_TEAM)
    assert evil.html_path.name == team_summary.team_href(EVIL_TEAM)  # the link's target
    at = _plan(demo12, _params(tmp_path / "at", per_team_above=12))  # 12 managers: not above
    assert [j.name for j in at] == ["team_review"] and at[0].parameters["team_pages"] == ""
    forced = _plan(demo12, _params(tmp_path / "at"), per_team=True)
    assert len(forced) == 1 + len(teams) and forced[0].parameters["team_pages"] == "forced"
    with pytest.raises(ParameterError, match="team_review.yaml: per_team_above"):
        _plan(demo12, _params(tmp_path / "bad", per_team_above="many"))


@pytest.mark.notebook
def test_company_review_above_the_threshold_summarises_teams_and_links_them(
    demo12, tmp_path
) -> None:
    from amtools.core.settings import use_params_dir
    from amtools.render.notebooks import run

    params = _params(tmp_path / "params", detail_max_managers=5, per_team_above=5)
    with use_params_dir(params):
        result = run(
            demo12,
            reports=["team_review"],
            lang="ru",
            out=tmp_path / "out",
            workers=2,
            context_params={"forecast": {"models": ["naive"], "folds": 2}},
            progress=False,
        )
    failed = [(r.name, r.error) for r in result.results if not r.ok]
    assert not failed, failed
    teams = sorted(demo12.managers["team"].dropna().unique())
    assert len(result.results) == 1 + len(teams)
    company = (result.folder / "team_review.html").read_text(encoding="utf-8")
    assert "<script>alert" not in company and '&lt;script&gt;alert("x")' in company
    links = set(re.findall(r'href="(team_review-[^"]+\.html)"', company))
    assert links == {team_summary.team_href(t) for t in teams}
    assert all((result.folder / link).is_file() for link in links)  # relative, in the pack
    assert "Команды" in company and "Наибольшие изменения" in company
    assert "автоматически" in company  # which applies: per_team_above
    index = (result.folder / "index.html").read_text(encoding="utf-8")
    assert f"Обзоров команд: {len(teams)} — автоматически: менеджеров больше 5" in index
    assert "Тепловая карта KPI" not in company and "Рейтинг</h2>" not in company
    team_page = (result.folder / team_summary.team_href(teams[0])).read_text(encoding="utf-8")
    assert "Тепловая карта KPI" in team_page and 'href="team_review.html"' in team_page
    assert "<script>alert" not in team_page
    from test_present_lang import english_runs

    words = " ".join([*demo12.managers["team"].astype(str), *demo12.managers["name"].astype(str)])
    allowed = set(words.lower().split()) | set(str(demo12.source).lower().split())
    assert english_runs(company, allowed=allowed) == []


def test_the_index_says_the_per_team_reviews_were_asked_for(demo12, tmp_path) -> None:
    from amtools.render.notebooks import run

    result = run(
        demo12,
        reports=["team_review"],
        per_team=True,
        out=tmp_path / "out",
        workers=2,
        context_params={"forecast": {"models": ["naive"], "folds": 2}},
        progress=False,
    )
    assert result.ok, [(r.name, r.error) for r in result.failed]
    teams = demo12.managers["team"].dropna().nunique()
    index = (result.folder / "index.html").read_text(encoding="utf-8")
    assert f"{teams} per-team reviews: asked for with --per-team" in index
