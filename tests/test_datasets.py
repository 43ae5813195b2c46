"""Tests of the seeded demo dataset (amtools.datasets.make_demo)."""

from __future__ import annotations

import pandas as pd
import pytest

from amtools.dataset import PANDAS_DTYPES
from amtools.datasets import make_demo
from amtools.schema import TABLES

END = "2026-11-26"  # last complete quarter: 2026Q3


@pytest.fixture(scope="module")
def demo():
    return make_demo(seed=0, end=END)


def test_all_tables_with_schema_columns_and_dtypes(demo):
    assert list(demo) == list(TABLES)
    for name, spec in TABLES.items():
        df = demo[name]
        assert list(df.columns) == spec.column_names, name
        assert len(df) > 0, name
        for col in spec.columns:
            assert str(df[col.name].dtype) == PANDAS_DTYPES[col.kind], (name, col.name)
            if col.required and not col.nullable:
                assert df[col.name].notna().all(), (name, col.name)


def test_meta_and_period_end(demo):
    assert demo.meta["period_end"] == pd.Timestamp("2026-09-30")
    assert demo.meta["currency"] == "RUB"
    assert demo.meta["seed"] == 0
    assert demo.source == "amtools demo (seed=0)"
    assert demo.deals["closed_date"].max() == pd.Timestamp("2026-09-30")
    assert demo.activities["date"].min() == pd.Timestamp("2023-10-01")


def test_b2c_vs_b2b_facts(demo):
    seg = demo.managers.set_index("manager_id")["segment"]
    deals = demo.deals.assign(segment=demo.deals["manager_id"].map(seg))
    won = deals[deals["stage"] == "won"]
    check = won.groupby("segment")["amount"].mean()
    assert check["B2C"] < check["B2B"] / 5
    cycle = (won["closed_date"] - won["created_date"]).dt.days.groupby(won["segment"]).median()
    assert cycle["B2C"] < cycle["B2B"] / 3
