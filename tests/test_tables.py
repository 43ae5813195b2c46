"""Tests of the report tables (amtools.render.html, render.sections, kpi.views): escaping, localised formats, the computed views on tiny frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from amtools.core import i18n
from amtools.core.dataset import Dataset
from amtools.kpi import views
from amtools.kpi.format import kpi_name
from amtools.render import html
from amtools.render.sections import budget_plan, manager_review, team_review
from amtools.render.sections import forecast as forecast_page

EVIL = "<b>x</b>"


def test_html_table_escapes_values_and_headers() -> None:
    out = html.html_table(pd.DataFrame({"a": [EVIL]}), headers={"a": "<i>h</i>"})
    assert EVIL not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "<i>h</i>" not in out


def test_heading_has_anchor_and_escapes() -> None:
    out = html.heading("Оценка & вклад", level=2).data
    assert out == '<h2 id="оценка-вклад">Оценка &amp; вклад</h2>'
    assert html.heading(EVIL, anchor="s1").data == '<h2 id="s1">&lt;b&gt;x&lt;/b&gt;</h2>'


def test_sparkline() -> None:
    assert html.sparkline([1, 2, 3, 4]) == "▁▃▆█"
    assert html.sparkline([5, np.nan, 5]) == "▄ ▄"
    assert html.sparkline([]) == ""


def _scorecard() -> pd.DataFrame:
    rows = []
    for p, v in (("2026Q2", 0.2), ("2026Q3", 0.3)):
        rows.append(
            dict(
                manager_id="M1",
                period=p,
                segment="B2C",
                team="A",
                kpi="conversion_rate",
                group="financial",
                value=v,
                status="ok",
                n=40,
                target=0.25,
                attainment=v / 0.25,
                percentile=70.0,
                quartile=2,
                weight=0.2,
                kpi_score=60.0,
                # scored weights 0.2 + 0.3 = 0.5 -> max 100 * 0.2 / 0.5 = 40; 60 % of 40 = 24
                contribution=24.0,
                max_points=40.0,
            )
        )
        rows.append(
            dict(
                manager_id="M1",
                period=p,
                segment="B2C",
                team="A",
                kpi="csi",
                group="client",
                value=np.nan,
                status="not_available",
                n=0,
                target=80.0,
                attainment=np.nan,
                percentile=np.nan,
                quartile=pd.NA,
                weight=0.1,
                kpi_score=np.nan,
                contribution=np.nan,
                max_points=np.nan,
                reason="needs_table",  # the engine's key and arguments
                reason_args='{"table": "surveys"}',
            )
        )
        rows.append(
            dict(
                manager_id="M1",
                period=p,
                segment="B2C",
                team="A",
                kpi="sales_volume",
                group="financial",
                value=1e6,
                status="insufficient_data",
                n=2,
                target=2e6,
                attainment=0.5,
                percentile=10.0,
                quartile=4,
                weight=0.3,
                kpi_score=10.0,
                contribution=6.0,  # 10 % of 100 * 0.3 / 0.5 = 60
                max_points=60.0,
            )
        )
    return pd.DataFrame(rows)


def test_scorecard_table_groups_formats_and_flags() -> None:
    out = manager_review.scorecard_table(_scorecard(), "2026Q3", "ru").data
    assert "Финансовые" in out
    # only measured KPIs get a row (deliberate change): CSI has no data, so the client
    # group is absent and CSI is named once in the "not measured" line after the table
    assert "Клиентские" not in out and f">{i18n.t('tbl.not_available', 'ru')}</td>" not in out
    csi = kpi_name("csi", "ru")
    assert out.count(csi) == 1 and out.index(csi) > out.index("</table>")
    assert "Не измеряются по этим данным (1)" in out
    assert "30,0\xa0%" in out  # conversion 0.3 in Russian percent format
    assert "120\xa0%" in out  # attainment 0.3 / 0.25
    assert i18n.t("tbl.insufficient_flag", "ru") in out
    # points out of the renormalised maximum (40 = 100 * 0.2 / 0.5), not weight * 100 = 20
    assert "24,0 / 40,0" in out and "/ 20" not in out
    assert "6,0 / 60,0" in out


def test_data_notes_translate_engine_reasons() -> None:
    card = _scorecard().query("period == '2026Q3'")
    ru = manager_review.data_notes(card, "ru").data
    assert "surveys" in ru and "needs table" not in ru
    assert "в источнике данных нет таблицы" in ru


def test_training_plan_table_escapes_course_names() -> None:
    plan = pd.DataFrame(
        {
            "manager_id": ["M1", "M1"],
            "period": "2026Q3",
            "kind": ["development", "strength"],
            "priority": [1, 1],
            "kpi": ["conversion_rate", "csi"],
            "skill": ["negotiation", pd.NA],
            "course_id": ["C1", pd.NA],
            "course_en": [EVIL, pd.NA],
            "course_ru": ["Переговоры", pd.NA],
            "hours": [8.0, np.nan],
            "reason_en": ["below target", "top quartile"],
            "reason_ru": ["ниже цели", "верхняя четверть"],
        }
    )
    en = manager_review.training_plan_table(plan, "en").data
    assert EVIL not in en and "&lt;b&gt;x&lt;/b&gt;" in en
    ru = manager_review.training_plan_table(plan, "ru").data
    assert "Переговоры" in ru and "ниже цели" in ru
    assert "верхняя четверть" in manager_review.strengths_list(plan, "ru").data


def test_leaderboard_escapes_names_and_shows_change() -> None:
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M1", "M2"],
            "period": ["2026Q2", "2026Q2", "2026Q3", "2026Q3"],
            "segment": "B2B",
            "team": "A",
            "score": [50.0, 70.0, 62.5, 40.0],
            "rank": [2, 1, 1, 2],
            "n_kpis": 10,
            "coverage": 1.0,
        }
    )
    managers = pd.DataFrame({"manager_id": ["M1", "M2"], "name": [EVIL, "Bob"]})
    out = team_review.leaderboard_table(scores, managers, "2026Q3", "en", previous="2026Q2").data
    assert EVIL not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "+12.5" in out and "-30.0" in out  # 62.5 - 50; 40 - 70
    assert out.index("&lt;b&gt;x") < out.index("Bob")  # sorted by score


def test_alerts_find_drops_and_misses() -> None:
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M1", "M2"],
            "period": ["2026Q2", "2026Q2", "2026Q3", "2026Q3"],
            "score": [80.0, 50.0, 60.0, 48.0],
        }
    )
    card = _scorecard().query("period == '2026Q3'").assign(status="ok")
    found = views.alerts(scores, card, "2026Q3", "2026Q2", drop=10, below=0.7)
    # M1 fell 20 points (M2 only 2); sales_volume at 50 % of target is far below
    assert list(found["kind"]) == ["score_drop", "below_target"]
    assert found.iloc[0]["manager_id"] == "M1" and found.iloc[1]["kpi"] == "sales_volume"
    text = team_review.alerts_table(
        found, pd.DataFrame({"manager_id": ["M1"], "name": [EVIL]}), "ru"
    ).data
    assert EVIL not in text and "снизился" in text


def test_unranked_managers_listed_last_and_raise_no_drop_alert() -> None:
    # M3 left: score 90 on 23 % coverage -> not ranked; it must not top the board or alert
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3", "M1", "M2", "M3"],
            "period": ["2026Q2"] * 3 + ["2026Q3"] * 3,
            "segment": "B2B",
            "team": "A",
            "score": [60.0, 50.0, 80.0, 62.0, 55.0, 90.0],
            "rank": pd.array([1, 2, 3, 1, 2, None], dtype="Int64"),
            "n_kpis": 10,
            "coverage": [1.0, 1.0, 1.0, 1.0, 0.9, 0.23],
            "ranked": pd.array([True] * 5 + [False], dtype="boolean"),
            "status": ["ok"] * 5 + ["insufficient_data"],
        }
    )
    managers = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "name": ["Ann", "Bob", "Cid"]})
    out = team_review.leaderboard_table(scores, managers, "2026Q3", "en", previous="2026Q2").data
    assert out.index("Ann") < out.index("Bob") < out.index("Cid")  # 90 points but last
    assert i18n.t("tbl.not_ranked", "en") in out
    assert i18n.t("tbl.not_ranked_note", "en") in out
    assert "+10.0" not in out  # M3's 80 -> 90 rests on too little data: no change shown
    assert "+2.0" in out and "+5.0" in out  # M1 60 -> 62, M2 50 -> 55
    ru = team_review.leaderboard_table(scores, managers, "2026Q3", "ru").data
    assert i18n.t("tbl.not_ranked", "ru") in ru
    summary = manager_review.score_summary(scores, "M3", "2026Q3", "en").data
    assert i18n.t("tbl.not_ranked", "en") in summary and " of " not in summary
    assert "+10.0" not in summary  # no change tile for a score on too little data
    # M1 is 1 of 2 ranked B2B managers (M3 is not counted)
    assert "1 of 2" in manager_review.score_summary(scores, "M1", "2026Q3", "en").data
    # an unranked manager whose score fell 80 -> 20 raises no score-drop alert
    fell = scores.assign(score=[60.0, 50.0, 80.0, 62.0, 55.0, 20.0])
    card = _scorecard().query("period == '2026Q3'").assign(status="ok", manager_id="M3")
    found = views.alerts(fell, card, "2026Q3", "2026Q2", drop=10, below=0.7)
    assert "score_drop" not in set(found["kind"])
    assert list(found["kind"]) == ["below_target"] and not found["ranked"].any()
    text = team_review.alerts_table(found, managers, "en").data
    assert i18n.t("tbl.alert.not_ranked", "en") in text


def test_nps_and_growth_show_gap_to_target_not_a_share() -> None:
    # NPS -4.7 against 20 is not "-24 % of target": show -24.7 points; growth -18.8 % against
    # +15 % shows -33.8 percentage points
    totals = pd.DataFrame(
        {
            "scope": ["all", "all"],
            "kpi": ["nps", "revenue_growth_existing"],
            "value": [-4.7, -0.188],
            "target": [20.0, 0.15],
            "attainment": [-0.235, -1.25],
        }
    )
    out = team_review.totals_table(totals, "en").data
    assert "-24.7 pts vs target" in out and "-33.8 pp vs target" in out
    assert "-24%" not in out and "-125%" not in out
    assert "п. п." in team_review.totals_table(totals, "ru").data
    card = _scorecard().query("period == '2026Q3'").assign(status="ok")
    card.loc[card["kpi"] == "sales_volume", "value"] = 1e6  # target 2e6: half of it
    found = views.alerts(card.iloc[:0].assign(score=[]), card, "2026Q3", None, below=0.7)
    text = team_review.alerts_table(found, pd.DataFrame({"manager_id": ["M1"], "name": ["Ann"]}))
    assert "RUB\xa01,000,000 against a target of RUB\xa02,000,000 (50% of target)" in text.data


def test_segment_profile_counts_clients_per_manager() -> None:
    managers = pd.DataFrame(
        {"manager_id": ["A", "B", "C"], "name": ["a", "b", "c"], "segment": ["B2B", "B2C", "B2C"]}
    )
    clients = pd.DataFrame(
        {
            "client_id": [f"c{i}" for i in range(7)],
            "manager_id": ["A", "A", "B", "B", "B", "C", "C"],
            "acquired_date": pd.to_datetime(
                ["2025-01-01"] * 6 + ["2026-10-01"]
            ),  # last one after the period
            "churned_date": pd.to_datetime(
                [None, "2026-08-01", None, None, None, None, None]
            ),  # one churned inside
        }
    )
    ds = Dataset({"managers": managers, "clients": clients})
    seg = pd.DataFrame(
        {"segment": ["B2B", "B2C"], "period": "2026Q3", "kpi": "average_check", "value": [9e5, 3e4]}
    )
    prof = views.segment_profile(seg, ds, "2026Q3").set_index("metric")
    # B2B: 1 active client / 1 manager; B2C: 4 active clients / 2 managers = 2
    assert prof.loc["clients_per_manager", "B2B"] == 1.0
    assert prof.loc["clients_per_manager", "B2C"] == 2.0
    assert bool(prof.loc["clients_per_manager", "agrees"]) is True
    assert bool(prof.loc["average_check", "agrees"]) is True
    assert pd.isna(prof.loc["sales_cycle_days", "B2B"])
    html = team_review.segment_profile_table(prof.reset_index(), "ru").data
    assert i18n.t("metric.clients_per_manager", "ru") in html


def test_segment_profile_uses_the_one_active_client_rule() -> None:
    # kpi.clients.active_clients: a client without acquired_date is acquired by its first won
    # deal; one with neither is not a client yet (the old page rule counted it)
    managers = pd.DataFrame({"manager_id": ["A", "B"], "segment": ["B2B", "B2C"]})
    clients = pd.DataFrame(
        {
            "client_id": ["c1", "c2", "c3", "c4"],
            "manager_id": ["A", "A", "B", "B"],
            "acquired_date": pd.to_datetime(["2025-01-01", None, None, None]),
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2"],
            "client_id": ["c3", "c4"],
            "manager_id": ["B", "B"],
            "stage": ["won", "won"],
            "closed_date": pd.to_datetime(["2026-08-01", "2026-11-01"]),  # d2 after the period
        }
    )
    ds = Dataset({"managers": managers, "clients": clients, "deals": deals})
    seg = pd.DataFrame(columns=["segment", "period", "kpi", "value"])
    prof = views.segment_profile(seg, ds, "2026Q3").set_index("metric")
    assert prof.loc["clients_per_manager", "B2B"] == 1.0  # c2: no date, no win
    assert prof.loc["clients_per_manager", "B2C"] == 1.0  # c3 won in Q3; c4 only later


def test_totals_vs_targets_sums_additive_targets() -> None:
    card = pd.DataFrame(
        {
            "manager_id": ["M1", "M2"],
            "period": "2026Q3",
            "segment": "B2B",
            "kpi": "sales_volume",
            "target": [1e6, 2e6],
            "status": "ok",
            "weight": 0.3,
            "attainment": 1.0,
        }
    )
    seg = pd.DataFrame(
        {"segment": ["B2B"], "period": "2026Q3", "kpi": "sales_volume", "value": [2.4e6]}
    )
    com = pd.DataFrame(
        {"company": ["all"], "period": "2026Q3", "kpi": "sales_volume", "value": [2.4e6]}
    )
    totals = views.totals_vs_targets(card, seg, com, "2026Q3", kpis=["sales_volume"])
    row = totals.set_index("scope").loc["B2B"]
    assert row["target"] == 3e6 and row["attainment"] == 0.8  # 2.4M / (1M + 2M)
    assert "80%" in team_review.totals_table(totals, "en").data


def test_totals_vs_targets_averages_non_additive_currency_targets() -> None:
    # average check is money but not a sum: a team's target is the mean of its managers'.
    card = pd.DataFrame(
        {
            "manager_id": ["M1", "M2"],
            "period": "2026Q3",
            "segment": "B2B",
            "kpi": "average_check",
            "target": [400_000.0, 600_000.0],
            "status": "ok",
            "weight": 0.1,
            "attainment": 1.0,
        }
    )
    seg = pd.DataFrame(
        {"segment": ["B2B"], "period": "2026Q3", "kpi": "average_check", "value": [450_000.0]}
    )
    com = pd.DataFrame(
        {"company": ["all"], "period": "2026Q3", "kpi": "average_check", "value": [450_000.0]}
    )
    totals = views.totals_vs_targets(card, seg, com, "2026Q3", kpis=["average_check"])
    row = totals.set_index("scope").loc["B2B"]
    assert row["target"] == 500_000.0  # (400k + 600k) / 2, not their sum
    assert row["attainment"] == 0.9  # 450k / 500k


def test_budget_tables() -> None:
    months = pd.date_range("2027-01-01", periods=6, freq="MS")
    quotas = pd.DataFrame(
        {"manager_id": "M1", "segment": "B2B", "team": "A", "month": months, "quota": 100.0}
    )
    out = budget_plan.quota_table(
        quotas, pd.DataFrame({"manager_id": ["M1"], "name": [EVIL]}), "en"
    ).data
    assert EVIL not in out
    assert "RUB\xa0300" in out and "RUB\xa0600" in out  # quarter sums and year total
    summary = pd.DataFrame(
        {"scenario": ["base"], "revenue": [1000.0], "costs": [1200.0], "margin": [-200.0]}
    )
    out = budget_plan.budget_summary_table(summary, "ru").data
    assert "amt-bad" in out and i18n.t("scenario.base", "ru") in out


def test_next_quarter_table() -> None:
    hist = pd.DataFrame(
        {
            "unique_id": "company",
            "ds": pd.date_range("2025-10-01", periods=12, freq="MS"),
            "y": 100.0,
        }
    )
    fc = pd.DataFrame(
        {
            "unique_id": "company",
            "ds": pd.date_range("2026-10-01", periods=3, freq="MS"),
            "yhat": 110.0,
            "lo_80": 90.0,
            "hi_80": 130.0,
        }
    )
    out = forecast_page.next_quarter_table(fc, hist, "en").data
    # 3 x 110 = 330 forecast vs 3 x 100 a year earlier: +10.0 %
    assert "RUB\xa0330" in out and "+10.0%" in out


def test_score_summary_counts_peers_without_naming_them() -> None:
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3", "M1"],
            "period": ["2026Q3", "2026Q3", "2026Q3", "2026Q2"],
            "segment": ["B2B", "B2B", "B2C", "B2B"],
            "score": [71.0, 80.0, 50.0, 65.5],
            "rank": [2, 1, 1, 1],
            "coverage": [0.9, 1.0, 1.0, 0.9],
        }
    )
    out = manager_review.score_summary(scores, "M1", "2026Q3", "en").data
    # rank 2 of the 2 B2B managers; +5.5 points vs 65.5 last quarter; 90 % coverage
    assert "2 of 2" in out and "+5.5" in out and "90%" in out
    assert "M2" not in out and "M3" not in out
    assert (
        i18n.t("tbl.no_score", "en")
        in manager_review.score_summary(scores, "M9", "2026Q3", "en").data
    )


def test_heatmap_frame_groups_segments_and_marks_unranked() -> None:
    # B2C: M1 70; B2B: M2 60, M3 90 but not ranked -> order M2 (B2B), M3 * (B2B), M1 (B2C)
    scores = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3"],
            "period": "2026Q3",
            "segment": ["B2C", "B2B", "B2B"],
            "score": [70.0, 60.0, 90.0],
            "ranked": pd.array([True, True, False], dtype="boolean"),
        }
    )
    card = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3"],
            "period": "2026Q3",
            "kpi": "sales_volume",
            "weight": 0.5,
            "percentile": [50.0, 40.0, 90.0],
        }
    )
    managers = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "name": ["Ann", "Bob", "Cid"]})
    frame = views.heatmap_frame(card, scores, managers, "2026Q3")
    assert frame["label"].tolist() == ["Bob · B2B", "Cid · B2B *", "Ann · B2C"]
    assert frame["value"].tolist() == [40.0, 90.0, 50.0]


def test_accuracy_table_flags_poor_mase() -> None:
    # Judged against seasonal naive's MASE in the same backtest: 0.8 vs 1.0 beats it (good),
    # 1.2 vs 1.0 is a warning, 2.5 vs 1.0 a poor fit (bad); 0.7 vs 0.5 is worse than the
    # baseline although below 1 (warning), 1.3 vs 1.6 beats it although above 1 (good);
    # 1.6 vs 2.0 and 6.1 vs 6.5 beat it but are hard series (warning, bad).
    ids = ["company", "team/A", "team/B", "team/C", "team/D", "team/E", "team/F"]
    backtest = pd.DataFrame(
        {
            "unique_id": ids * 2,
            "model": ["ets"] * 7 + ["seasonal_naive"] * 7,
            "mase": [0.8, 1.2, 2.5, 0.7, 1.3, 1.6, 6.1, 1.0, 1.0, 1.0, 0.5, 1.6, 2.0, 6.5],
            "smape": 0.1,
            "coverage_80": 0.8,
            "coverage_95": 0.95,
        }
    )
    choice = pd.DataFrame({"unique_id": ids, "model": "ets", "reason": "best"})
    out = forecast_page.accuracy_table(backtest, choice, "en").data
    assert 'class="num amt-good">0.80' in out
    assert 'class="num amt-warn">1.20' in out
    assert 'class="num amt-bad">2.50' in out
    assert 'class="num amt-warn">0.70' in out
    assert 'class="num amt-good">1.30' in out
    assert 'class="num amt-warn">1.60' in out
    assert 'class="num amt-bad">6.10' in out


def test_scorecard_table_labels_inferred_values() -> None:
    card = _scorecard().query("period == '2026Q3'")
    plain = manager_review.scorecard_table(card, "2026Q3", "en").data
    assert "(inferred)" not in plain
    flagged = card.assign(inferred=card["kpi"] == "conversion_rate")
    for lang in ("en", "ru"):
        out = manager_review.scorecard_table(flagged, "2026Q3", lang).data
        mark = i18n.t("kpi_inferred.mark", lang)
        name = kpi_name("conversion_rate", lang)
        assert f"{name} {mark}" in out  # the row says it
        assert "churn_inactive_months" in out  # and the legend says how
