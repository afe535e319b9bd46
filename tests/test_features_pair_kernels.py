"""The fused matching kernels against a plain-Python reference over the CSR hashing: exactly the same values.

The reference walks each pair's hashed rows (``hash_terms`` / ``hash_char_ngrams``, checked against plain Python
in ``test_features_kernels.py``) in stored order with the formulas of :mod:`smar_ltr.features.text_match`, so a
change of summation order, of a formula or of the hashing shows up as a bit difference.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import smar_ltr.features.text_hashing as th
import smar_ltr.features.text_match as tm
from smar_ltr.errors import ArtifactError
from smar_ltr.features import FeatureSet
from smar_ltr.features.context import shared_cache
from smar_ltr.features.state_codec import encode_array
from smar_ltr.features.text_hashing import hash_char_ngrams, hash_terms
from smar_ltr.features.text_match import CorpusStats, field_stats, hashed_column, score_pairs

N_FEATURES = 2**12  # small: collisions between different terms happen and must be handled the same way
WORDS = ["red", "panda", "photos", "Café", "日本語", "テキスト", "世界", "x" * 40, "2024", "a", "🙂ok", "İstanbul"]


def _random_texts(rng: np.random.Generator, n: int) -> list[str | None]:
    """Texts of 0-60 words with separators, CJK, emoji, long words; some empty, blank or missing."""
    out: list[str | None] = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.08:
            out.append(None)
        elif kind < 0.14:
            out.append(rng.choice(["", "   ", "!!, ?"]))
        else:
            words = rng.choice(WORDS, size=rng.integers(1, 60))
            seps = rng.choice([" ", ", ", "-", "。", " ... "], size=len(words))
            out.append("".join(w + s for w, s in zip(words, seps, strict=True)))
    return out


def _frame(seed: int = 0, n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    queries = _random_texts(rng, 12)
    docs = _random_texts(rng, 90)
    return pd.DataFrame(
        {
            "query": [queries[i] for i in rng.integers(0, len(queries), n)],  # repeated pairs, too
            "title": [docs[i] for i in rng.integers(0, len(docs), n)],
        }
    )


def _row(m, r: int) -> tuple[list[int], list[float]]:
    lo, hi = m.indptr[r], m.indptr[r + 1]
    return m.indices[lo:hi].tolist(), [float(v) for v in m.data[lo:hi]]


def _reference(frame, analyzer, metric, stats=None, k1=1.2, b=0.75):
    hash_fn = hash_terms if analyzer == "terms" else hash_char_ngrams
    qm = hash_fn(frame["query"].fillna("").tolist(), N_FEATURES, sort=False)
    dm = hash_fn(frame["title"].fillna("").tolist(), N_FEATURES, sort=False)
    out = np.full(len(frame), np.nan)
    for r in range(len(frame)):
        (q_idx, q_cnt), (d_idx, d_cnt) = _row(qm, r), _row(dm, r)
        if frame["query"].iloc[r] is None or frame["title"].iloc[r] is None or not q_idx or not d_idx:
            continue
        q_at = {bucket: i for i, bucket in enumerate(q_idx)}
        hits = [(j, q_at[bucket]) for j, bucket in enumerate(d_idx) if bucket in q_at]
        if metric == "overlap":
            out[r] = len(hits) / len(q_idx)
        elif metric == "bm25":
            idf, dl, acc = stats.bm25_idf, float(sum(d_cnt)), 0.0
            norm = k1 * (1.0 - b + b * dl / max(stats.avgdl, 1e-12))
            for j, i in hits:
                tf = d_cnt[j]
                acc += q_cnt[i] * idf[q_idx[i]] * tf * (k1 + 1.0) / (tf + norm)
            out[r] = acc
        else:
            idf = stats.smooth_idf
            q_norm = math.sqrt(sum((c * idf[k]) ** 2 for k, c in zip(q_idx, q_cnt, strict=True)))
            acc_d = 0.0
            for k, c in zip(d_idx, d_cnt, strict=True):
                v = c * idf[k]
                acc_d += v * v
            dot = 0.0
            for j, i in hits:
                dot += (q_cnt[i] * idf[q_idx[i]]) * (d_cnt[j] * idf[d_idx[j]])
            out[r] = dot / (q_norm * math.sqrt(acc_d))
    return out


@pytest.mark.parametrize("analyzer", ["terms", "chars"])
@pytest.mark.parametrize("metric", ["overlap", "bm25", "cosine"])
def test_fused_scores_equal_the_reference_bit_for_bit(analyzer, metric) -> None:
    frame = _frame(0)
    stats = field_stats(_frame(1, 400), "title", analyzer, N_FEATURES)  # statistics of other pages
    got = score_pairs(frame, "title", analyzer, N_FEATURES, metric, stats, k1=0.9, b=0.6)
    expected = _reference(frame, analyzer, metric, stats, k1=0.9, b=0.6)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got).any() and np.isfinite(got).sum() > len(frame) // 2  # both cases are exercised
    if metric != "overlap":
        assert (got[np.isfinite(got)] > 0).any()


@pytest.mark.parametrize("analyzer", ["terms", "chars"])
@pytest.mark.parametrize("share", [0.0, 1e9])
def test_cosine_counts_the_same_in_the_dense_array_and_in_small_tables(analyzer, share, monkeypatch) -> None:
    # 0: every block counts its documents in the n_features-long array; 1e9: each document in a small table
    monkeypatch.setattr(tm, "_DENSE_SHARE", share)
    frame = _frame(6, 300)
    stats = field_stats(_frame(7, 400), "title", analyzer, N_FEATURES)
    got = score_pairs(frame, "title", analyzer, N_FEATURES, "cosine", stats)
    np.testing.assert_array_equal(got, _reference(frame, analyzer, "cosine", stats))
    assert np.isfinite(got).sum() > len(frame) // 2 and (got[np.isfinite(got)] > 0).any()
    with shared_cache(frame):  # the overlap the cosine pass leaves behind, too
        score_pairs(frame, "title", analyzer, N_FEATURES, "cosine", stats)
        overlap = score_pairs(frame, "title", analyzer, N_FEATURES, "overlap")
    np.testing.assert_array_equal(overlap, _reference(frame, analyzer, "overlap"))


@pytest.mark.parametrize("share", [0.0, 1e9])
def test_cosine_with_negative_weights_matches_the_reference(share, monkeypatch) -> None:
    # the dense pass adds 0.0 * weight for each document bucket missing from the query: with negative weights
    # that is -0.0, which must leave the dot product as it is
    monkeypatch.setattr(tm, "_DENSE_SHARE", share)
    frame = _frame(8, 300)
    fitted = field_stats(_frame(9, 400), "title", "chars", N_FEATURES)
    assert fitted.df is not None
    stats = CorpusStats(fitted.n_docs, fitted.avgdl, fitted.df * 5.0)  # smooth IDF below 0 for frequent buckets
    assert (stats.smooth_idf < 0).any() and (stats.smooth_idf > 0).any()
    got = score_pairs(frame, "title", "chars", N_FEATURES, "cosine", stats)
    np.testing.assert_array_equal(got, _reference(frame, "chars", "cosine", stats))
    assert np.isfinite(got).sum() > len(frame) // 2  # (a matched bucket's weight has one sign on both sides)


@pytest.mark.parametrize("bad", [-1.0, np.inf, np.nan])
def test_saved_statistics_with_impossible_frequencies_are_refused(bad) -> None:
    stats = field_stats(_frame(2, 100), "title", "chars", N_FEATURES)
    assert stats.df is not None
    state = stats.to_state()
    assert CorpusStats.from_state(state).df.tolist() == stats.df.tolist()
    counts = np.where(np.arange(N_FEATURES) == 5, bad, stats.df)  # counts of a tampered dtype
    state["df"] = {"layout": "dense", "length": N_FEATURES, "counts": encode_array(counts)}
    with pytest.raises(ArtifactError, match="negative or non-finite document frequencies"):
        CorpusStats.from_state(state)


@pytest.mark.parametrize("analyzer", ["terms", "chars"])
def test_field_stats_equal_the_csr_statistics(analyzer) -> None:
    frame = _frame(2, 500)
    fused = field_stats(frame, "title", analyzer, N_FEATURES)
    codes, matrix = hashed_column(frame, "title", analyzer, N_FEATURES)
    csr = CorpusStats.learn(codes, matrix)
    assert (fused.n_docs, fused.avgdl) == (csr.n_docs, csr.avgdl)
    np.testing.assert_array_equal(fused.df, csr.df)
    assert fused.n_docs == int((codes >= 0).sum())  # rows, not distinct texts; token-less texts do not count


@pytest.mark.parametrize("analyzer", ["terms", "chars"])
def test_many_text_chunks_and_thread_counts_give_the_same_values(analyzer, monkeypatch) -> None:
    import numba

    frame = _frame(3, 300)
    stats = field_stats(frame, "title", analyzer, N_FEATURES)
    one = score_pairs(frame, "title", analyzer, N_FEATURES, "cosine", stats)
    monkeypatch.setattr(th, "_CHUNK_CHARS", 300)  # dozens of chunks of documents
    assert len(th.encode_texts(frame["title"]).chunks) > 10
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        many = score_pairs(frame, "title", analyzer, N_FEATURES, "cosine", stats)
        chunked_stats = field_stats(frame, "title", analyzer, N_FEATURES)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)
    np.testing.assert_array_equal(stats.df, chunked_stats.df)
    assert stats.avgdl == chunked_stats.avgdl


def test_overlap_rides_on_the_weighted_pass_of_the_same_field(monkeypatch) -> None:
    frame = _frame(4, 300).rename(columns={"title": "caption"})
    names = ["smar.text.query_caption_char_overlap.v1", "smar.text.query_caption_tfidf_cosine.v1"]
    fs = FeatureSet.from_selection(names)
    fs.fit(frame)
    alone = [FeatureSet.from_dict({**fs.to_dict(), "features": [e]}).transform(frame) for e in fs.to_dict()["features"]]
    calls: list[int] = []
    original = tm._match_pairs
    monkeypatch.setattr(tm, "_match_pairs", lambda *a, **k: calls.append(a[5]) or original(*a, **k))
    together = fs.transform(frame)
    assert calls == [tm.COSINE]  # one kernel pass for both features
    pd.testing.assert_frame_equal(together, pd.concat(alone, axis=1))


def test_pair_index_scores_each_distinct_pair_once() -> None:
    frame = _frame(5, 200)
    with shared_cache(frame):
        index = tm.pair_index(frame, "title")
        assert len(index.pair_query) == len(frame.dropna().drop_duplicates())
        assert np.all(np.diff(index.pair_query) >= 0)  # sorted by query (the kernel rebuilds a query's table once)
