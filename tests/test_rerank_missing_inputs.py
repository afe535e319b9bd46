"""Reranking pages that lack a column the training pages had: the features reading it would be NaN and the scores
would change without a word, so it is refused, naming the column and a feature that reads it."""

from __future__ import annotations

import dataclasses

import pytest

from smar_ltr.errors import DatasetError
from smar_ltr.serving.ranking import rerank


def test_a_column_the_features_read_is_required_at_rerank(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    assert "query" in model.summary["feature_inputs"]
    ranked = rerank(model, small_splits.test)  # every column present: scores as usual
    assert ranked["score"].notna().all()
    with pytest.raises(DatasetError, match=r"lack column 'query'.*feature 'smar\.(text|query)\."):
        rerank(model, small_splits.test.drop(columns="query"))


def test_runs_saved_before_the_check_rerank_as_they_did(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    old = dataclasses.replace(model, summary={k: v for k, v in model.summary.items() if k != "feature_inputs"})
    assert rerank(old, small_splits.test.drop(columns="query"))["score"].notna().all()


def test_a_column_only_unused_features_read_may_be_missing(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    pages = small_splits.test.drop(columns="query")
    # the same run, as if no tree split on a feature reading `query`: its absence cannot change a score
    blind = dataclasses.replace(model)
    blind.reading_features = [f for f in model.reading_features if "query" not in f.inputs]
    blind.check_feature_inputs(pages)  # no refusal
    with pytest.raises(DatasetError, match="lack column 'query'"):
        model.check_feature_inputs(pages)
