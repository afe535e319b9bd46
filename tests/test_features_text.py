"""Text hashing and query-field matching: agreement with scikit-learn and brute-force references."""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer

from smar_ltr.features import FeatureSet
from smar_ltr.features.state_codec import decode_counts, encode_counts
from smar_ltr.features.text_hashing import hash_char_ngrams, hash_terms

BIG = 2**24  # hash space large enough that the tiny test vocabularies do not collide

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"


def ref_terms(text: str | None) -> list[str]:
    """Reference tokeniser: lower-cased alphanumeric runs, every CJK character a term of its own."""
    return re.findall(rf"[{_CJK}]|[^\W_{_CJK}]+", (text or "").lower())


_CHAR_WB = CountVectorizer(analyzer="char_wb", ngram_range=(2, 3)).build_analyzer()


def ref_ngrams(text: str | None) -> list[str]:
    """Reference char 2-3-grams: separators become spaces, then scikit-learn's char_wb analyser."""
    return _CHAR_WB(re.sub(r"[\W_]+", " ", (text or "").lower()))


words = st.text(alphabet="abcxyz北京天气", min_size=1, max_size=6)
docs = st.lists(words, min_size=0, max_size=6).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(docs, min_size=1, max_size=8))
def test_char_ngrams_match_scikit_learn_char_wb(texts):
    ours = hash_char_ngrams(texts, BIG)
    ref = CountVectorizer(analyzer="char_wb", ngram_range=(2, 3), lowercase=True).build_analyzer()
    for i, text in enumerate(texts):
        expected = Counter(ref(text))
        row = ours[i]
        assert row.sum() == sum(expected.values())
        assert row.nnz == len(expected)
        assert sorted(row.data.tolist()) == sorted(float(v) for v in expected.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab C1,.!  北京", max_size=20) | st.none(), min_size=1, max_size=8))
def test_terms_match_reference_tokeniser(texts):
    ours = hash_terms(texts, BIG)
    for i, text in enumerate(texts):
        expected = Counter(ref_terms(text))
        assert ours[i].sum() == sum(expected.values())
        assert ours[i].nnz == len(expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=30), st.booleans())
def test_code_points_are_the_characters_of_the_normalised_texts(texts, ascii_only):
    from smar_ltr.features.text_hashing import encode_texts, normalise_texts

    if ascii_only:  # the all-ASCII fast path
        texts = [None if t is None else t.encode("ascii", "ignore").decode() for t in texts]
    expected = [[ord(c) for c in t] for t in normalise_texts(texts).to_pylist()]
    cp, offsets = encode_texts(texts).joined()
    assert [cp[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))] == expected


def test_tokenisation_is_case_insensitive_and_splits_cjk():
    m = hash_terms(["Hello, 世界 2024!", "hello 世 界 2024", "HELLO"], BIG)
    assert m[0].sum() == 4
    assert (m[0] != m[1]).nnz == 0  # same terms, same buckets
    assert set(m[2].indices) <= set(m[0].indices)


def test_hashing_is_deterministic_across_calls_and_chunks(monkeypatch):
    import smar_ltr.features.text_hashing as th

    texts = [f"doc {i} words alpha beta 北京{i % 7}" for i in range(500)]
    one = th.hash_char_ngrams(texts)
    monkeypatch.setattr(th, "_CHUNK_CHARS", 97)  # many small chunks
    many = th.hash_char_ngrams(texts)
    assert (one != many).nnz == 0
    assert one.has_canonical_format and many.has_canonical_format


def _frame(query, titles):
    n = len(titles)
    return pd.DataFrame(
        {
            "qid": ["q1"] * n,
            "item_id": [f"i{i}" for i in range(n)],
            "modality": ["web"] * n,
            "query": [query] * n,
            "title": titles,
        }
    )


TRAIN_TITLES = [
    "red panda photos",
    "panda bear video",
    "cooking rice guide",
    "北京 天气 预报",
    "red fox",
    "panda panda panda",
    "travel guide 北京",
]


def ref_bm25(query, title, train, k1=1.2, b=0.75):
    docs = [ref_terms(t) for t in train]
    n = len(docs)
    avgdl = sum(map(len, docs)) / n
    tf = Counter(ref_terms(title))
    dl = sum(tf.values())
    score = 0.0
    for term, qtf in Counter(ref_terms(query)).items():
        df = sum(term in d for d in docs)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        score += qtf * idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * dl / avgdl))
    return score


def ref_cosine(query, title, train):
    docs = [Counter(ref_ngrams(t)) for t in train]
    n = len(docs)

    def vec(text):
        tf = Counter(ref_ngrams(text))
        v = {g: c * (math.log((1 + n) / (1 + sum(g in d for d in docs))) + 1) for g, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values()))
        return {g: x / norm for g, x in v.items()}

    q, d = vec(query), vec(title)
    return sum(q[g] * d.get(g, 0.0) for g in q)


@pytest.mark.parametrize("query", ["red panda", "panda guide 北京", "北京天气", "fox fox rice"])
def test_bm25_tfidf_and_overlaps_match_brute_force(query):
    titles = ["red panda photos", "panda", "rice and fox stories", "北京 今日 天气", "nothing here"]
    fs = FeatureSet.from_selection(["smar.text.query_title_*"])
    fs.fit(_frame("x", TRAIN_TITLES))
    out = fs.transform(_frame(query, titles))
    for i, title in enumerate(titles):
        q_terms, t_terms = set(ref_terms(query)), set(ref_terms(title))
        q_grams, t_grams = set(ref_ngrams(query)), set(ref_ngrams(title))
        row = out.iloc[i]
        assert row["q_title_bm25"] == pytest.approx(ref_bm25(query, title, TRAIN_TITLES), rel=1e-5, abs=1e-6)
        assert row["q_title_tfidf_cosine"] == pytest.approx(ref_cosine(query, title, TRAIN_TITLES), abs=1e-5)
        assert row["q_title_term_overlap"] == pytest.approx(len(q_terms & t_terms) / len(q_terms))
        assert row["q_title_char_overlap"] == pytest.approx(len(q_grams & t_grams) / len(q_grams))


def test_chinese_text_matches_without_a_segmenter():
    fs = FeatureSet.from_selection(["smar.text.query_title_*"]).fit(_frame("x", TRAIN_TITLES))
    out = fs.transform(_frame("北京天气", ["北京 今日 天气", "上海 新闻"]))
    assert out.loc[0, "q_title_term_overlap"] == 1.0
    assert out.loc[1, "q_title_term_overlap"] == 0.0
    assert out.loc[0, "q_title_bm25"] > out.loc[1, "q_title_bm25"] == 0.0
    assert out.loc[0, "q_title_tfidf_cosine"] > 0.0


def test_missing_or_empty_text_gives_nan_not_zero():
    fs = FeatureSet.from_selection(["smar.text.query_title_*"]).fit(_frame("x", TRAIN_TITLES))
    out = fs.transform(_frame("red panda", ["red panda", None, "", " ,, "]))
    assert out.iloc[0].notna().all()
    assert out.iloc[1:].isna().all().all()
    no_query = _frame("red", ["red panda"])
    no_query.loc[0, "query"] = ""
    assert fs.transform(no_query).isna().all().all()


def test_fitted_statistics_come_from_training_pages_only():
    train, other = _frame("x", TRAIN_TITLES), _frame("x", ["panda"] * 50)
    test = _frame("panda", ["panda photos"])
    a = FeatureSet.from_selection(["smar.text.query_title_bm25.v1"]).fit(train).transform(test)
    b = FeatureSet.from_selection(["smar.text.query_title_bm25.v1"]).fit(other).transform(test)
    assert a.iloc[0, 0] > b.iloc[0, 0]  # panda is rare in train, everywhere in other: lower IDF
    big_test = pd.concat([test, _frame("panda", ["panda"] * 100)], ignore_index=True)
    c = FeatureSet.from_selection(["smar.text.query_title_bm25.v1"]).fit(train).transform(big_test)
    assert c.iloc[0, 0] == pytest.approx(a.iloc[0, 0])  # the test pages do not change the statistics


@pytest.mark.parametrize("counts", [np.zeros(1000), np.arange(1000) % 3, np.eye(1, 2**18, 77).ravel() * 5])
def test_count_codec_round_trips(counts):
    payload = json.loads(json.dumps(encode_counts(counts)))
    np.testing.assert_array_equal(decode_counts(payload), counts)


def test_text_state_is_compact_json():
    from smar_ltr.features.testing import sample_page_table

    fs = FeatureSet.from_selection(["smar.text.*"]).fit(sample_page_table(n_queries=40, seed=3))
    size = len(json.dumps(fs.to_dict()))
    assert size < 200_000, size  # sparse, compressed document frequencies, not 24 dense 2**18 arrays
