"""qid -> LightGBM group sizes / XGBoost qid / CatBoost group_id, stable sorting and un-permuting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smar_ltr.errors import PageTableError
from smar_ltr.page_table.query_groups import QueryGroups, block_starts


def test_conversions_on_interleaved_qids() -> None:
    qid = np.array(["b", "a", "b", "c", "a", "b"])
    g = QueryGroups.from_qid(qid)
    assert g.labels.tolist() == ["b", "a", "c"]  # first-appearance order
    assert g.order.tolist() == [0, 2, 5, 1, 4, 3]  # stable within a query
    assert g.lightgbm_group().tolist() == [3, 2, 1]
    assert g.xgboost_qid().tolist() == [0, 0, 0, 1, 1, 2]  # sorted, as XGBoost requires
    assert g.catboost_group_id().tolist() == g.xgboost_qid().tolist()
    assert not g.is_contiguous
    assert g.offsets.tolist() == [0, 3, 5, 6]


@given(st.lists(st.integers(0, 6), min_size=1, max_size=60))
def test_unpermute_inverts_sort(codes: list[int]) -> None:
    qid = np.array(codes)
    g = QueryGroups.from_qid(qid)
    values = np.arange(len(codes)) * 1.5
    np.testing.assert_array_equal(g.unpermute(g.sort(values)), values)
    sorted_qid = g.sort(qid)
    starts = np.flatnonzero(np.r_[True, sorted_qid[1:] != sorted_qid[:-1]])
    assert len(starts) == g.n_queries  # every query is one contiguous block after sorting


def test_size_limit_and_missing_qid() -> None:
    g = QueryGroups.from_qid(np.repeat(["x", "y"], [5, 2]))
    g.check_size_limit(5)
    with pytest.raises(PageTableError, match="'x' has 5 rows"):
        g.check_size_limit(4)
    with pytest.raises(PageTableError, match="missing value"):
        QueryGroups.from_qid(np.array(["a", None], dtype=object))


def test_block_starts_are_where_each_run_of_equal_values_begins() -> None:
    assert block_starts(np.array([3, 3, 1, 1, 1, 3, 2])).tolist() == [0, 2, 5, 6]
    assert block_starts(np.array(["a"])).tolist() == [0]
    assert block_starts(np.array([], dtype=np.int64)).tolist() == []
