"""The Dataset container."""

from __future__ import annotations

import pandas as pd
import pytest

from amtools.core.dataset import Dataset


@pytest.fixture
def ds() -> Dataset:
    managers = pd.DataFrame(
        {"manager_id": ["m1", "m2"], "name": ["Ann", "Bob"], "segment": ["B2B", "B2C"]}
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["d1"],
            "client_id": ["c1"],
            "manager_id": ["m1"],
            "stage": ["won"],
            "amount": [10.0],
            "created_date": pd.to_datetime(["2026-01-05"]),
            "closed_date": pd.to_datetime(["2026-02-01"]),
        }
    )
    return Dataset({"deals": deals, "managers": managers}, source="test")


def test_attribute_access_and_data_model_order(ds: Dataset) -> None:
    assert ds.managers.shape == (2, 3)
    assert ds.names == ["managers", "deals"]
    assert "deals" in ds and "surveys" not in ds
    assert ds.get("surveys") is None


def test_absent_table_error_is_clear(ds: Dataset) -> None:
    with pytest.raises(AttributeError, match="'surveys' is absent"):
        _ = ds.surveys
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = ds.nonsense


def test_unknown_table_rejected() -> None:
    with pytest.raises(KeyError, match="unknown table"):
        Dataset({"orders": pd.DataFrame()})


def test_fingerprint_changes_with_data(ds: Dataset) -> None:
    same = Dataset(ds.tables, source="other")
    assert ds.fingerprint() == same.fingerprint()
    changed = ds.replace(deals=ds.deals.assign(amount=[11.0]))
    assert changed.fingerprint() != ds.fingerprint()
    assert ds.deals["amount"].iloc[0] == 10.0  # replace does not mutate


def test_replace_removes_and_summary_counts(ds: Dataset) -> None:
    smaller = ds.replace(deals=None)
    assert smaller.names == ["managers"]
    summary = ds.summary().set_index("table")
    assert summary.loc["deals", "rows"] == 1
    assert summary.loc["deals", "first_date"] == pd.Timestamp("2026-01-05")
    assert summary.loc["deals", "last_date"] == pd.Timestamp("2026-02-01")
    assert not summary.loc["surveys", "present"]
