"""What makes ``rerank`` fast must not change what it computes: skipped single-modal rankers, one-thread passes."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

import smar_ltr.features.text_kernels as tk
from smar_ltr.features.text_hashing import encode_texts, hash_char_ngrams, hash_terms
from smar_ltr.serving.ranking import rerank


class _Refuses:
    """A stand-in single-modal ranker that fails the test if it is asked for scores."""

    def predict(self, X):
        raise AssertionError("the single-modal ranker was called")


def test_rerank_skips_single_modal_rankers_the_reranker_does_not_read(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    assert not model.config.upstream_as_feature and not model.needs_upstream
    expected = model.reranker.predict(model.featurize(model.prepare(small_splits.test)))  # upstream filled
    skipping = dataclasses.replace(model, single_modal={m: _Refuses() for m in model.single_modal})
    out = rerank(skipping, small_splits.test)
    np.testing.assert_array_equal(out["score"].to_numpy(), expected)


def test_a_reranker_that_reads_upstream_score_still_gets_it(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    reads = dataclasses.replace(
        model,
        config=dataclasses.replace(model.config, upstream_as_feature=True),
        single_modal={m: _Refuses() for m in model.single_modal},
    )
    assert reads.needs_upstream
    with pytest.raises(AssertionError, match="single-modal ranker was called"):
        reads.score(small_splits.test)


def test_small_passes_run_on_one_thread_and_restore_the_count() -> None:
    before = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        many = numba.get_num_threads()
        with tk.one_thread_below(50):
            assert numba.get_num_threads() == 1
        assert numba.get_num_threads() == many
        with tk.one_thread_below(10 * tk.SERIAL_ROWS):
            assert numba.get_num_threads() == many
        with pytest.raises(RuntimeError), tk.one_thread_below(50):
            raise RuntimeError("boom")
        assert numba.get_num_threads() == many
    finally:
        numba.set_num_threads(before)


def test_features_of_a_page_do_not_depend_on_the_one_thread_path(fitted_small, small_splits, monkeypatch) -> None:
    model, _ = fitted_small
    page = small_splits.test[small_splits.test["qid"] == small_splits.test["qid"].iloc[0]]
    prepared = model.prepare(page)
    before = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        one = model.featurize(prepared)
        monkeypatch.setattr(tk, "SERIAL_ROWS", 0)  # every pass parallel
        parallel = model.featurize(prepared)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.to_numpy(), parallel.to_numpy())


def test_encoded_texts_hash_like_the_texts() -> None:
    texts = ["Red panda, 熊猫!", None, "", "a b  c", "x" * 50]
    encoded = encode_texts(texts)
    for fn in (hash_terms, hash_char_ngrams):
        a, b = fn(texts, sort=False), fn(encoded, sort=False)
        for x, y in zip((a.indptr, a.indices, a.data), (b.indptr, b.indices, b.data), strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_used_features_are_the_split_columns_and_the_others_cannot_change_a_score(backend, tmp_path) -> None:
    from smar_ltr.rankers import load_ranker, make_ranker

    rng = np.random.default_rng(0)
    n = 600
    X = np.column_stack([rng.normal(size=n), np.zeros(n), rng.normal(size=n), np.ones(n)])  # 1, 3: constant
    y = (X[:, 0] + 0.5 * X[:, 2] > 0).astype(int) + (X[:, 0] > 1)
    qid = np.repeat(np.arange(n // 20), 20)
    ranker = make_ranker(backend, n_estimators=20, learning_rate=0.3, num_leaves=7, min_data_in_leaf=5,
                         early_stopping_rounds=0, n_threads=1)  # fmt: skip
    frame = pd.DataFrame(X, columns=["signal", "flat", "weak", "one"])
    ranker.fit(frame, y, qid)
    used = ranker.used_features()
    assert "signal" in used and "flat" not in used and "one" not in used
    scrambled = frame.copy()
    for col in set(frame.columns) - set(used):
        scrambled[col] = rng.normal(size=n) * 1e6  # any value, NaN included: no split reads it
    scrambled.loc[::7, [c for c in frame.columns if c not in used]] = np.nan
    np.testing.assert_array_equal(ranker.predict(scrambled), ranker.predict(frame))
    ranker.save(tmp_path / "m")
    assert load_ranker(tmp_path / "m").used_features() == used  # also from the saved model file


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_rerank_computes_only_the_read_features_and_scores_as_the_full_matrix(backend, small_splits) -> None:
    from smar_ltr.pipeline import fit

    model, _ = fit(fast_config(reranker={"backend": backend}), small_splits)
    prepared = model.prepare(small_splits.test, upstream=model.needs_upstream)
    full = model.featurize(prepared)
    pruned = model.featurize(prepared, used_only=True)
    used = set(model.reranker.used_features())
    assert list(pruned.columns) == list(full.columns) == model.feature_names
    # columns of the features none of whose outputs a split reads (a feature is computed whole or not at all)
    extracted = [c for f in model.features for c in f.output_columns if not used.intersection(f.output_columns)]
    assert extracted, "the fixture's reranker reads every extracted feature: nothing would be pruned"
    assert pruned[extracted].isna().all().all() and not full[extracted].isna().all().all()
    kept = [c for c in full.columns if c not in extracted]
    pd.testing.assert_frame_equal(pruned[kept], full[kept])
    expected = model.reranker.predict(full)
    np.testing.assert_array_equal(rerank(model, small_splits.test)["score"].to_numpy(), expected)
    np.testing.assert_array_equal(model.score(small_splits.test), expected)


def test_a_small_table_is_predicted_on_one_booster_thread(fitted_small, small_splits, monkeypatch) -> None:
    from smar_ltr.rankers.lightgbm_ranker import LightGBMRanker

    model, _ = fitted_small
    page = small_splits.test[small_splits.test["qid"] == small_splits.test["qid"].iloc[0]]
    expected = model.reranker.predict(model.featurize(model.prepare(page)))  # the model's own thread count
    seen: list[int | None] = []
    real = LightGBMRanker._predict

    def spy(self, X, n_threads=None):
        seen.append(n_threads)
        return real(self, X, n_threads)

    monkeypatch.setattr(LightGBMRanker, "_predict", spy)
    np.testing.assert_array_equal(rerank(model, page)["score"].to_numpy(), expected)
    assert seen == [1]
