"""The compiled hashing kernels against plain-Python references: hash values, counts, threads."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from smar_ltr.features.text_hashing import hash_char_ngrams, hash_terms

TEXTS = [
    "Hello, 世界 2024!",
    "",
    "   ",
    "a",
    "red panda red panda photos",
    "日本語のテキスト、です。",
    "🙂 emoji🙂ok",
    "x" * 300,
    "İstanbul café-crème ﬃ",
]
M64 = 2**64
P = 1_000_003
GOLDEN = 0x9E3779B97F4A7C15
N_FEATURES = 2**18


def _bucket(h: int) -> int:
    """The documented Fibonacci hashing of a 64-bit hash to a bucket of a 2**18 table."""
    return ((h * GOLDEN) % M64) >> (64 - 18)


def _ref_terms(text: str) -> Counter:
    """Terms as the module docstring defines them, hashed in plain Python."""
    out: Counter = Counter()
    cur = ""
    for ch in text.lower() + " ":
        cjk = "\u4e00" <= ch <= "\u9fff" or "\u3040" <= ch <= "\u30ff"
        if not ch.isalnum() or cjk:
            for term in (cur, ch if cjk else ""):
                if term:
                    h = sum(ord(c) * pow(P, i, M64) for i, c in enumerate(term)) % M64
                    out[_bucket((h + 0x5851F42D4C957F2D) % M64)] += 1
            cur = ""
        else:
            cur += ch
    return out


def _ref_ngrams(text: str, lo: int = 2, hi: int = 3) -> Counter:
    """``char_wb`` n-grams of the separator-split words, hashed in plain Python."""
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    out: Counter = Counter()
    for word in words:
        padded = f" {word} "
        for n in range(lo, hi + 1):
            for s in range(len(padded) - n + 1):
                h = (n * 0x100000001B3) % M64
                for c in padded[s : s + n]:
                    h = (h * P + ord(c)) % M64
                out[_bucket(h)] += 1
    return out


def _row_counter(m: sp.csr_matrix, i: int) -> Counter:
    row = m[i]
    return Counter(dict(zip(row.indices.tolist(), row.data.astype(int).tolist(), strict=True)))


@pytest.mark.parametrize("sort", [True, False])
def test_term_buckets_match_a_plain_python_reference(sort):
    texts = [t for t in TEXTS if "ﬃ" not in t and "İ" not in t]  # ligatures / dotted I: lower() differs from Arrow
    m = hash_terms(texts, N_FEATURES, sort=sort)
    for i, text in enumerate(texts):
        assert _row_counter(m, i) == _ref_terms(text), text


@pytest.mark.parametrize("sort", [True, False])
def test_ngram_buckets_match_a_plain_python_reference(sort):
    texts = [t for t in TEXTS if "ﬃ" not in t and "İ" not in t]
    m = hash_char_ngrams(texts, N_FEATURES, sort=sort)
    for i, text in enumerate(texts):
        assert _row_counter(m, i) == _ref_ngrams(text), text


@pytest.mark.parametrize("hash_fn", [hash_terms, hash_char_ngrams])
def test_unsorted_rows_hold_the_same_counts_each_bucket_once(hash_fn):
    texts = TEXTS * 3 + [f"doc {i} alpha beta 北京{i % 7}" for i in range(200)]
    a, b = hash_fn(texts, N_FEATURES), hash_fn(texts, N_FEATURES, sort=False)
    assert a.has_canonical_format
    assert np.array_equal(a.indptr, b.indptr)
    assert (a != b).nnz == 0
    for i in range(len(texts)):  # no bucket twice in an unsorted row
        row = b.indices[b.indptr[i] : b.indptr[i + 1]]
        assert len(set(row.tolist())) == len(row)


def test_results_do_not_depend_on_the_number_of_threads():
    numba = pytest.importorskip("numba")
    texts = [f"page {i} red panda {'x' * (i % 13)} 熊猫" for i in range(500)]
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = hash_char_ngrams(texts, sort=False)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = hash_char_ngrams(texts, sort=False)
    finally:
        numba.set_num_threads(before)
    for x, y in zip((one.indptr, one.indices, one.data), (many.indptr, many.indices, many.data), strict=True):
        assert np.array_equal(x, y)


def _ref_ngram_order(text: str, lo: int, hi: int) -> list[int]:
    """Distinct ``char_wb`` n-gram buckets in order of first occurrence: every n-gram of the padded stream of the
    smallest ``n`` in text order, then of the next ``n`` (the order the fused matching kernels sum in)."""
    stream = " " + " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) + " "
    if stream == "  ":
        stream = " "
    seen: dict[int, None] = {}
    for n in range(lo, hi + 1):
        for s in range(len(stream) - n + 1):
            gram = stream[s : s + n]
            if (n == 1 and gram == " ") or " " in gram[1:-1]:
                continue
            h = (n * 0x100000001B3) % M64
            for c in gram:
                h = (h * P + ord(c)) % M64
            seen.setdefault(_bucket(h), None)
    return list(seen)


@pytest.mark.parametrize("ngram_range", [(2, 3), (1, 4), (3, 5), (2, 2), (3, 3)])
def test_unsorted_ngram_rows_list_buckets_in_the_documented_order(ngram_range):
    texts = [t for t in TEXTS if "ﬃ" not in t and "İ" not in t] + ["ab cd", "a b c", "hi"]
    m = hash_char_ngrams(texts, N_FEATURES, ngram_range=ngram_range, sort=False)
    for i, text in enumerate(texts):
        assert m.indices[m.indptr[i] : m.indptr[i + 1]].tolist() == _ref_ngram_order(text, *ngram_range), text
        if ngram_range[0] > 1:  # (the word-by-word reference also counts padding spaces as 1-grams)
            assert _row_counter(m, i) == _ref_ngrams(text, *ngram_range), text
