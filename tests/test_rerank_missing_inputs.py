"""Reranking pages that lack a column the training pages had: the features reading it would be NaN and the scores
would change without a word, so it is refused, naming the column and a feature that reads it."""

from __future__ import annotations

import pytest

from smar_ltr.errors import DatasetError
from smar_ltr.pipeline import rerank


def test_a_column_the_features_read_is_required_at_rerank(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    assert "query" in model.summary["feature_inputs"]
    ranked = rerank(model, small_splits.test)  # every column present: scores as usual
    assert ranked["score"].notna().all()
    with pytest.raises(DatasetError, match=r"lack column 'query'.*feature 'smar\.(text|query)\."):
        rerank(model, small_splits.test.drop(columns="query"))


def test_runs_saved_before_the_check_rerank_as_they_did(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    old = model.__class__(
        **{**model.__dict__, "summary": {k: v for k, v in model.summary.items() if k != "feature_inputs"}}
    )
    assert rerank(old, small_splits.test.drop(columns="query"))["score"].notna().all()
