"""The company team review at hundreds of managers: teams instead of one row per manager.

Above ``detail_max_managers`` managers (``params/reports/team_review.yaml``) the company page
shows the team table (each team linked to its per-team review), the score distribution by
team, the top and bottom movers and the alerts counted per team; the per-team reviews hold
the manager detail. The frames come from :mod:`amtools.kpi.team_views`. Team and manager
names come from data: every one is escaped (links included).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from amtools.core import i18n
from amtools.core.i18n import fmt_number, fmt_percent, is_missing, t
from amtools.core.vocab import SEGMENTS
from amtools.render.charts import (
    NEUTRAL,
    SEGMENT_COLORS,
    compact,
    currency_symbol,
    empty_figure,
    new_figure,
    require_columns,
    style_axes,
)
from amtools.render.html import BAD, GOOD, esc, html_table
from amtools.render.notebooks.slugs import report_stem

__all__ = [
    "COMPANY_PAGE",
    "uses_team_summary",
    "team_href",
    "linked_teams",
    "team_pages_note",
    "teams_table",
    "team_scores_chart",
    "movers_table",
    "team_alerts_table",
    "company_link",
]

COMPANY_PAGE = "team_review"
"""The report kind whose pages these are (file stems ``team_review``, ``team_review-<team>``)."""


def uses_team_summary(n_managers: int, team: str, detail_max_managers: int) -> bool:
    """Whether the page summarises teams: the company page with more managers than
    ``detail_max_managers``. A team's own page always shows its managers.

    Example
    -------
    >>> uses_team_summary(200, "", 40), uses_team_summary(40, "", 40)
    (True, False)
    >>> uses_team_summary(200, "B2B Team 1", 40)
    False
    """
    return not team and n_managers > detail_max_managers


def team_href(team: str) -> str:
    """The relative link to ``team``'s review in the same pack folder.

    Example
    -------
    >>> team_href("B2B Team 1")
    'team_review-b2b-team-1-965b83.html'
    """
    return report_stem(COMPANY_PAGE, team) + ".html"


def linked_teams(managers: pd.DataFrame, team_pages: str) -> set[str]:
    """The teams of ``managers`` that have a review in this pack (``team_pages`` set by the
    runner: ``"auto"`` or ``"forced"``; ``""``: none). A manager without a team has none.

    Example
    -------
    >>> sorted(linked_teams(pd.DataFrame({"team": ["A", None, "", "A"]}), "auto"))
    ['A']
    >>> linked_teams(pd.DataFrame({"team": ["A"]}), "")
    set()
    """
    if not team_pages or "team" not in managers:
        return set()
    return {str(v) for v in managers["team"] if not is_missing(v) and str(v) != ""}


def company_link(lang: str) -> HTML:
    """A line linking a per-team page back to the company review of the same pack.

    Example
    -------
    >>> company_link("en").data
    '<p class="amt-note"><a href="team_review.html">← The company team review</a></p>'
    """
    label = t("ts.back_to_company", lang)
    return HTML(f'<p class="amt-note"><a href="{COMPANY_PAGE}.html">{esc(label)}</a></p>')


def team_pages_note(mode: str, n_managers: int, above: int | None, lang: str) -> str:
    """Which applies to this run's per-team reviews, as one sentence.

    ``mode`` is the runner's ``team_pages`` parameter: ``"auto"`` (more than ``above``
    managers), ``"forced"`` (``amtools run --per-team``) or ``""`` (not rendered).

    Example
    -------
    >>> team_pages_note("auto", 200, 40, "en")
    'Per-team reviews are in this pack because there are more than 40 managers (200; per_team_above in params/reports/team_review.yaml); each team name links to its review.'
    """
    if mode == "auto":
        return t("ts.pages.auto", lang, n=n_managers, above=above)
    if mode == "forced":
        return t("ts.pages.forced", lang)
    if above is None:
        return t("ts.pages.none_never", lang)
    return t("ts.pages.none", lang, n=n_managers, above=above)


def _team_cell(team: Any, linked: Collection[str]) -> str:
    name = str(team)
    if name in linked:
        return f'<a href="{esc(team_href(name))}">{esc(name)}</a>'
    return esc(name)


def teams_table(
    table: pd.DataFrame,
    lang: str = "en",
    *,
    currency: str = "RUB",
    linked: Collection[str] = (),
) -> HTML:
    """Format :func:`amtools.kpi.team_views.team_table`: one row per team, names linked.

    Parameters
    ----------
    linked : the teams whose review renders in this pack (their names become links).

    Example
    -------
    >>> frame = pd.DataFrame({"team": ["<A>"], "segment": ["B2B"], "managers": [8],
    ...     "revenue": [2.5e6], "revenue_target": [2e6], "attainment": [1.25],
    ...     "score_median": [61.0], "ranked": [8], "alerts": [3]})
    >>> html = teams_table(frame, "en", linked={"<A>"}).data
    >>> '<a href="team_review-a-' in html and "&lt;A&gt;</a>" in html
    True
    """
    links = set(linked)
    headers = {
        "team": t("tbl.col.team", lang),
        "segment": t("tbl.col.segment", lang),
        "managers": t("ts.col.managers", lang),
        "revenue": t("ts.col.revenue", lang, currency=currency_symbol(currency, lang)),
        "attainment": t("ts.col.revenue_attainment", lang),
        "score_median": t("ts.col.score_median", lang),
        "alerts": t("ts.col.alerts", lang),
    }

    def money(x: Any) -> str:
        return i18n.MISSING if is_missing(x) else compact(float(x), lang)

    def median(x: Any) -> str:
        return i18n.MISSING if is_missing(x) else fmt_number(x, lang, digits=1)

    html = html_table(
        table,
        headers=headers,
        formatters={
            "team": lambda x: _team_cell(x, links),
            "managers": lambda x: fmt_number(x, lang),
            "revenue": money,
            "attainment": lambda x: fmt_percent(x, lang),
            "score_median": median,
            "alerts": lambda x: fmt_number(x, lang),
        },
        numeric=("managers", "revenue", "attainment", "score_median", "alerts"),
        cell_classes={
            "attainment": lambda x: (
                "" if is_missing(x) else GOOD if x >= 1 else BAD if x < 0.8 else ""
            )
        },
        raw_html=("team",),
    )
    return HTML(html)


def team_scores_chart(frame: pd.DataFrame, lang: str = "en", *, title: str | None = None) -> Figure:
    """The score distribution of each team: a box of its managers' scores and one dot per
    manager (coloured by segment; hollow: not ranked), teams best median first.

    Parameters
    ----------
    frame : :func:`amtools.kpi.team_views.score_distribution` output (``team, segment,
        score, ranked``), teams in the order to draw.

    Example
    -------
    >>> f = pd.DataFrame({"team": ["A", "A", "B"], "segment": "B2B", "score": [50.0, 70.0, 40.0],
    ...     "ranked": True})
    >>> len(team_scores_chart(f, "en").axes)
    1
    """
    require_columns(frame, ["team", "segment", "score", "ranked"], "team_scores_chart")
    teams = list(dict.fromkeys(frame["team"].astype(str)))
    fig = new_figure(height=0.24 * max(len(teams), 4) + 1.3)
    if not teams:
        return empty_figure(fig, t("plot.missing.score", lang))
    ax = fig.subplots()
    y_of = {team: len(teams) - 1 - i for i, team in enumerate(teams)}
    ranked = frame[frame["ranked"].astype(bool)]
    groups = [ranked.loc[ranked["team"].astype(str) == team, "score"].to_numpy() for team in teams]
    keep = [i for i, g in enumerate(groups) if len(g)]
    if keep:
        ax.boxplot(
            [groups[i] for i in keep],
            positions=[y_of[teams[i]] for i in keep],
            orientation="horizontal",
            widths=0.6,
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#eef2f6", "edgecolor": "#8a9bb0", "linewidth": 0.8},
            medianprops={"color": "#222222", "linewidth": 1.4},
            whiskerprops={"color": "#8a9bb0", "linewidth": 0.8},
            capprops={"color": "#8a9bb0", "linewidth": 0.8},
        )
    # a fixed-seed jitter keeps the dots of one team apart and the picture reproducible
    jitter = np.random.default_rng(0).uniform(-0.18, 0.18, len(frame))
    y = frame["team"].astype(str).map(y_of).to_numpy(dtype=float) + jitter
    colors = [SEGMENT_COLORS.get(str(s), NEUTRAL) for s in frame["segment"]]
    hollow = [c for c, r in zip(colors, frame["ranked"].astype(bool), strict=True) if not r]
    is_ranked = frame["ranked"].astype(bool).to_numpy()
    x = frame["score"].astype("float64").to_numpy()
    ax.scatter(
        x[is_ranked], y[is_ranked], s=9, c=np.array(colors, dtype=object)[is_ranked], zorder=3
    )
    if (~is_ranked).any():
        ax.scatter(
            x[~is_ranked],
            y[~is_ranked],
            s=11,
            facecolors="none",
            edgecolors=hollow,
            linewidths=0.8,
            zorder=3,
        )
    ax.set_yticks(range(len(teams)))
    ax.set_yticklabels(list(reversed(teams)), fontsize=7.5)
    ax.set_ylim(-0.7, len(teams) - 0.3)
    ax.set_xlim(0, 100)
    ax.set_xlabel(t("plot.axis.score", lang), fontsize=8.5)
    style_axes(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e6e6e6")
    segments = [s for s in SEGMENTS if s in set(frame["segment"].astype(str))]
    handles = [Patch(color=SEGMENT_COLORS[s], label=s) for s in segments]
    if (~is_ranked).any():
        handles.append(
            Patch(facecolor="none", edgecolor=NEUTRAL, label=t("ts.legend.not_ranked", lang))
        )
    fig.legend(
        handles=handles, fontsize=7.5, frameon=False, loc="outside lower center", ncols=len(handles)
    )
    fig.suptitle(title or t("ts.chart.title", lang), fontsize=11)
    return fig


def _names(managers: pd.DataFrame) -> pd.Series:
    ids = managers["manager_id"].astype(str)
    return pd.Series(managers["name"].astype(str).to_numpy(), index=ids.to_numpy())


def movers_table(
    frame: pd.DataFrame,
    managers: pd.DataFrame,
    lang: str = "en",
    *,
    linked: Collection[str] = (),
) -> HTML:
    """Format :func:`amtools.kpi.team_views.movers`: the largest rises, then the largest falls.

    Example
    -------
    >>> f = pd.DataFrame({"direction": ["up"], "manager_id": ["M1"], "team": ["A"],
    ...     "segment": ["B2B"], "before": [50.0], "now": [62.0], "change": [12.0]})
    >>> "+12" in movers_table(f, pd.DataFrame({"manager_id": ["M1"], "name": ["Ann"]}), "en").data
    True
    """
    if frame.empty:
        return HTML(f'<p class="amt-note">{esc(t("ts.movers.none", lang))}</p>')
    names, links = _names(managers), set(linked)
    rows = frame.assign(
        name=frame["manager_id"].astype(str).map(names).fillna(frame["manager_id"].astype(str)),
        direction=frame["direction"].map(
            {"up": t("ts.movers.up", lang), "down": t("ts.movers.down", lang)}
        ),
    )
    headers = {
        "name": t("tbl.col.manager", lang),
        "team": t("tbl.col.team", lang),
        "segment": t("tbl.col.segment", lang),
        "before": t("ts.col.before", lang),
        "now": t("ts.col.now", lang),
        "change": t("tbl.col.change", lang),
    }
    score = lambda x: fmt_number(x, lang, digits=1)  # noqa: E731
    html = html_table(
        rows,
        headers=headers,
        formatters={
            "team": lambda x: _team_cell(x, links),
            "before": score,
            "now": score,
            "change": lambda x: ("+" if x > 0 else "") + fmt_number(x, lang, digits=1),
        },
        numeric=("before", "now", "change"),
        cell_classes={"change": lambda x: GOOD if x > 0 else BAD},
        group_col="direction",
        raw_html=("team",),
    )
    return HTML(html)


def team_alerts_table(
    counts: pd.DataFrame,
    managers: pd.DataFrame,
    lang: str = "en",
    *,
    linked: Collection[str] = (),
) -> HTML:
    """Format :func:`amtools.kpi.team_views.team_alerts`: per team the alerts by kind and the
    managers with most alerts, by name.

    Example
    -------
    >>> f = pd.DataFrame({"team": ["A"], "alerts": [3], "score_drop": [1], "below_target": [2],
    ...     "managers": [2], "worst": [("M1",)]})
    >>> "Ann" in team_alerts_table(f, pd.DataFrame({"manager_id": ["M1"], "name": ["Ann"]})).data
    True
    """
    if counts.empty:
        return HTML(f'<p class="amt-note">{esc(t("tbl.alert.none", lang))}</p>')
    names, links = _names(managers), set(linked)
    rows = counts.assign(
        worst=[", ".join(str(names.get(m, m)) for m in ids) for ids in counts["worst"]]
    )
    headers = {
        "team": t("tbl.col.team", lang),
        "alerts": t("ts.col.alerts", lang),
        "score_drop": t("ts.col.score_drops", lang),
        "below_target": t("ts.col.below_target", lang),
        "managers": t("ts.col.managers_alerted", lang),
        "worst": t("ts.col.worst", lang),
    }
    count = lambda x: fmt_number(x, lang)  # noqa: E731
    html = html_table(
        rows,
        headers=headers,
        formatters={
            "team": lambda x: _team_cell(x, links),
            "alerts": count,
            "score_drop": count,
            "below_target": count,
            "managers": count,
        },
        numeric=("alerts", "score_drop", "below_target", "managers"),
        raw_html=("team",),
    )
    return HTML(html)
