"""The saved run context (format 4): tables as Parquet files, read only when a notebook uses them."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from amtools.core.errors import ParameterError
from amtools.demo import make_demo
from amtools.render.notebooks import context as context_module
from amtools.render.notebooks.context import (
    CONTEXT_FILE,
    FRAMES_DIR,
    META_FILE,
    build_context,
    load_context,
    open_context,
    save_context,
)


@pytest.fixture(scope="module")
def built():
    return build_context(make_demo(seed=3, n_managers=6), forecast_horizon=0)


@pytest.fixture
def saved(built, tmp_path):
    return save_context(built, tmp_path / "_context")


def test_saved_context_is_small_pickle_plus_parquet_tables(built, saved):
    meta = json.loads((saved / META_FILE).read_text(encoding="utf-8"))
    assert meta["format"] == 4
    assert "scorecard" in meta["frames"] and "deals" in meta["tables"]
    for name in meta["frames"]:
        assert (saved / FRAMES_DIR / f"{name}.parquet").is_file()
    for name in meta["tables"]:
        assert (saved / FRAMES_DIR / f"table.{name}.parquet").is_file()
    # the pickle holds neither the CRM tables nor the KPI frames
    frames = (
        sum(built.dataset[n].memory_usage(deep=True).sum() for n in built.dataset.names)
        + built.kpis.memory_usage(deep=True).sum()
    )
    assert (saved / CONTEXT_FILE).stat().st_size < frames / 10


def test_a_manager_review_reads_only_the_tables_it_uses(built, saved):
    context_module._CACHE.clear()
    ctx = open_context(str(saved))
    store = ctx.__dict__["_store"]
    assert store.read_names == []  # nothing read by opening
    card = ctx.scorecard[ctx.scorecard["manager_id"] == "M001"]
    assert set(ctx.managers["manager_id"]) == set(built.managers["manager_id"])
    assert sorted(store.read_names) == ["scorecard", "table.managers"]
    pd.testing.assert_frame_equal(ctx.scorecard, built.scorecard)
    assert not card.empty
    # every table comes back exactly (dtypes included)
    loaded = load_context(saved)
    for name in built.dataset.names:
        pd.testing.assert_frame_equal(loaded.dataset[name], built.dataset[name])
    for name in ("kpis", "kpis_team", "scores", "training", "pipeline"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(built, name))


def test_copies_stay_detached_and_the_file_is_read_once(saved):
    context_module._CACHE.clear()
    first = open_context(str(saved))
    first.scorecard["value"] = -1.0
    first.dataset.managers.loc[:, "name"] = "changed"
    second = open_context(str(saved), lang="ru")
    assert second.lang == "ru" and (second.scorecard["value"] != -1.0).any()
    assert "changed" not in set(second.managers["name"])
    assert second.__dict__["_store"] is first.__dict__["_store"]  # one read per process


def test_a_lazy_context_pickles_whole(built, saved):
    again = pickle.loads(pickle.dumps(load_context(saved)))
    assert "_store" not in again.__dict__
    pd.testing.assert_frame_equal(again.kpis, built.kpis)
    pd.testing.assert_frame_equal(again.dataset.deals, built.dataset.deals)


def test_old_format_and_missing_table_are_clear_errors(saved):
    meta_path = saved / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    (saved / FRAMES_DIR / "scores.parquet").unlink()
    ctx = load_context(saved)
    with pytest.raises(ParameterError, match=r"lacks a readable scores.parquet.*amtools run"):
        _ = ctx.scores
    meta_path.write_text(json.dumps({**meta, "format": 3}), encoding="utf-8")
    with pytest.raises(ParameterError, match="saved by another amtools version"):
        load_context(saved)
