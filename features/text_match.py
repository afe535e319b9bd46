"""Query-document matching on hashed terms / character n-grams: BM25, term / n-gram overlap, TF-IDF cosine.

Every function works on *unique* texts: a text column is factorised and each distinct string is normalised and
converted to code points once (:mod:`smar_ltr.features.text_hashing`); each distinct (query, document) pair is
hashed and scored once by a fused compiled kernel (:mod:`smar_ltr.features.text_pair_kernels`) that builds no
global sparse matrix; rows then pick up their pair's value. A row whose query or document is missing or has no
token gets NaN. Fitting (document frequencies, mean length) is one compiled pass over the distinct texts.

Formulas (``tf``: count of a term in the document, ``qtf``: in the query, ``dl``: document length in terms,
``N``: training documents, ``df``: training documents containing the term):

* BM25 (Robertson & Zaragoza 2009, Lucene's non-negative IDF):
  ``sum_t qtf * idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``,
  ``idf(t) = log(1 + (N - df + 0.5) / (df + 0.5))``;
* overlap: share of the query's distinct terms (or character n-grams) present in the document;
* TF-IDF cosine: cosine of ``tf * idf`` vectors, scikit-learn's smooth IDF ``log((1 + N) / (1 + df)) + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from smar_ltr.errors import ArtifactError, ConfigError
from smar_ltr.features.context import cached, text_codes
from smar_ltr.features.state_codec import decode_counts, encode_counts
from smar_ltr.features.text_hashing import (
    CHAR_CLASSES,
    EncodedTexts,
    bucket_shift,
    encode_texts,
    hash_char_ngrams,
    hash_terms,
    ngram_seeds,
)
from smar_ltr.features.text_kernels import n_tasks
from smar_ltr.features.text_pair_kernels import BM25, COSINE, OVERLAP, doc_stats_kernel, pair_match_kernel

QUERY = "query"
_METRICS = {"overlap": OVERLAP, "bm25": BM25, "cosine": COSINE}
_PAIRS_PER_TASK = 256  # pairs per parallel task at least: each task allocates small scratch tables
#: COSINE counts a block's documents in an n_features-long array once they hold this share of n_features code
#: points (else in a small table per document; same values): clearing the array costs about as much as that.
_DENSE_SHARE = 0.25
_CHUNK_NNZ = 4_000_000  # stored values handled per chunk by CorpusStats.learn: bounds temporary memory


def _check_n_features(n_features: object) -> None:
    if isinstance(n_features, bool) or not isinstance(n_features, int | np.integer) or n_features < 2:
        raise ConfigError(f"n_features must be an integer >= 2 (e.g. 2**18), got {n_features!r}")


def encoded_column(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, EncodedTexts]:
    """Row codes into the distinct texts of ``column`` (-1: missing) and those texts encoded (cached per pass)."""
    codes, uniques = text_codes(frame, column)
    return codes, cached(frame, ("text", column, "encoded"), lambda: encode_texts(uniques))


def hashed_column(
    frame: pd.DataFrame, column: str, analyzer: str, n_features: int, ngram_range: tuple[int, int] = (2, 3)
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Row codes into the distinct texts of ``column`` and their hashed count matrix (cached per pass).

    Parameters
    ----------
    analyzer : {"terms", "chars"}
        Terms, or character n-grams in ``ngram_range``.

    Returns
    -------
    codes : ndarray of int64, shape (n_rows,)
        Index of each row's text in the matrix; -1 for missing or token-less text.
    matrix : csr_matrix, shape (n_distinct, n_features)
    """
    _check_n_features(n_features)

    def compute() -> tuple[np.ndarray, sp.csr_matrix]:
        codes, encoded = encoded_column(frame, column)
        if analyzer == "terms":
            matrix = hash_terms(encoded, n_features, sort=False)
        else:
            matrix = hash_char_ngrams(encoded, n_features, ngram_range, sort=False)
        empty = np.diff(matrix.indptr) == 0
        codes = codes.copy()
        codes[codes >= 0] = np.where(empty[codes[codes >= 0]], -1, codes[codes >= 0])
        return codes, matrix

    return cached(frame, ("hashed", column, analyzer, n_features, tuple(ngram_range)), compute)


def _row_chunks(indptr: np.ndarray, max_nnz: int = _CHUNK_NNZ) -> list[tuple[int, int]]:
    """Row ranges ``[r0, r1)`` of a CSR matrix holding about ``max_nnz`` stored values each."""
    n = len(indptr) - 1
    if n <= 0:
        return []
    cuts = np.searchsorted(indptr, np.arange(max_nnz, int(indptr[-1]), max_nnz), side="right") - 1
    edges = np.unique(np.concatenate([[0], np.clip(cuts, 1, n), [n]]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _kernel_args(
    analyzer: str, n_features: int, ngram_range: tuple[int, int]
) -> tuple[np.ndarray, np.int64, np.uint64, bool, int, int, np.ndarray]:
    """``(table, n_features, shift, chars, n_lo, n_hi, seeds)`` of the fused kernels."""
    chars = analyzer != "terms"
    lo, hi = (int(ngram_range[0]), int(ngram_range[1])) if chars else (1, 1)
    seeds = ngram_seeds((lo, hi)) if chars else np.zeros(2, dtype=np.uint64)
    return CHAR_CLASSES, np.int64(n_features), bucket_shift(n_features), chars, lo, hi, seeds


@dataclass
class CorpusStats:
    """Document frequencies of a text field learned on training pages."""

    n_docs: int = 0
    avgdl: float = 0.0
    df: np.ndarray | None = None

    @classmethod
    def from_counts(cls, weight: np.ndarray, df: np.ndarray, dl: np.ndarray) -> CorpusStats:
        """Statistics from each distinct text's row count ``weight`` (0 for token-less texts), the weighted
        document frequencies ``df`` and the texts' lengths ``dl``."""
        n_docs = float(weight.sum())
        avgdl = float(weight @ dl / n_docs) if n_docs else 0.0
        return cls(int(n_docs), avgdl, np.rint(df))

    @classmethod
    def learn(cls, codes: np.ndarray, matrix: sp.csr_matrix) -> CorpusStats:
        """Statistics over the rows (not the distinct texts): a text on two rows counts twice."""
        weight = np.bincount(codes[codes >= 0], minlength=matrix.shape[0]).astype(np.float64)
        df = np.zeros(matrix.shape[1])
        for r0, r1 in _row_chunks(matrix.indptr):
            lo, hi = matrix.indptr[r0], matrix.indptr[r1]
            row_weight = np.repeat(weight[r0:r1], np.diff(matrix.indptr[r0 : r1 + 1]))
            df += np.bincount(matrix.indices[lo:hi], weights=row_weight, minlength=matrix.shape[1])
        return cls.from_counts(weight, df, np.asarray(matrix.sum(axis=1, dtype=np.float64)).ravel())

    def to_state(self) -> dict:
        return {
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "df": None if self.df is None else encode_counts(self.df),
        }

    @classmethod
    def from_state(cls, state: dict) -> CorpusStats:
        df = state.get("df")
        counts = None if df is None else decode_counts(df)
        if counts is not None and not (np.isfinite(counts).all() and (counts >= 0).all()):
            # what the kernels rely on: finite IDF weights (the COSINE pass adds 0.0 * weight for a miss)
            raise ArtifactError("saved text statistics hold negative or non-finite document frequencies: refit")
        return cls(int(state.get("n_docs", 0)), float(state.get("avgdl", 0.0)), counts)

    @cached_property
    def bm25_idf(self) -> np.ndarray:
        """Lucene's BM25 IDF per bucket (computed once per fitted or restored statistics)."""
        assert self.df is not None
        return np.log1p((self.n_docs - self.df + 0.5) / (self.df + 0.5))

    @cached_property
    def smooth_idf(self) -> np.ndarray:
        """scikit-learn's smooth IDF per bucket (computed once)."""
        assert self.df is not None
        return np.log((1.0 + self.n_docs) / (1.0 + self.df)) + 1.0


def field_stats(
    frame: pd.DataFrame, field: str, analyzer: str, n_features: int, ngram_range: tuple[int, int] = (2, 3)
) -> CorpusStats:
    """:meth:`CorpusStats.learn` of ``field`` without building its hashed matrix (one compiled pass, same values).

    Parameters
    ----------
    analyzer : {"terms", "chars"}
    """
    _check_n_features(n_features)
    codes, docs = encoded_column(frame, field)
    weight = np.bincount(codes[codes >= 0], minlength=docs.n_docs).astype(np.float64)
    df, dl, start = np.zeros(n_features), np.zeros(docs.n_docs), 0
    table, n_buckets, shift, chars, lo, hi, seeds = _kernel_args(analyzer, n_features, ngram_range)
    for cp, offsets in docs.chunks:
        stop = start + len(offsets) - 1
        part_df, dl[start:stop] = doc_stats_kernel(
            cp, offsets, weight[start:stop], table, n_buckets, shift, chars, lo, hi, seeds,
            n_tasks(stop - start, 64),
        )  # fmt: skip
        df += part_df
        start = stop
    weight[dl == 0] = 0.0  # token-less texts are no documents (as in learn)
    return CorpusStats.from_counts(weight, df, dl)


@dataclass(frozen=True)
class PairIndex:
    """The distinct (query, document) pairs of a field.

    Attributes
    ----------
    rows : ndarray of int64
        Rows with both a query and a document; ``pair_id[k]`` is the pair of ``rows[k]``.
    pair_query, pair_doc : ndarray of int64, shape (n_pairs,)
        Index of each pair's query / document among the distinct texts, sorted by query, then document.
    """

    rows: np.ndarray
    pair_id: np.ndarray
    pair_query: np.ndarray
    pair_doc: np.ndarray


def pair_index(frame: pd.DataFrame, field: str) -> PairIndex:
    """The distinct (query, ``field``) pairs of the rows (cached per pass)."""

    def compute() -> PairIndex:
        qc, _ = text_codes(frame, QUERY)
        dc, docs = text_codes(frame, field)
        n_docs = max(len(docs), 1)
        rows = np.flatnonzero((qc >= 0) & (dc >= 0))
        pair_id, uniq = pd.factorize(qc[rows] * n_docs + dc[rows], sort=True)
        return PairIndex(rows, pair_id, uniq // n_docs, uniq % n_docs)

    return cached(frame, ("matches", field, "pairs"), compute)


def _match_pairs(
    frame: pd.DataFrame,
    field: str,
    analyzer: str,
    n_features: int,
    ngram_range: tuple[int, int],
    metric: int,
    weights: np.ndarray | None = None,
    k1: float = 1.2,
    b: float = 0.75,
    avgdl: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(overlap, value)`` of every distinct pair (:func:`pair_match_kernel`, document chunk by chunk)."""
    index = pair_index(frame, field)
    q_cp, q_offsets = encoded_column(frame, QUERY)[1].joined()
    docs = encoded_column(frame, field)[1]
    table, n_buckets, shift, chars, lo, hi, seeds = _kernel_args(analyzer, n_features, ngram_range)
    w = np.empty(0) if weights is None else weights
    dense_from = int(n_features * _DENSE_SHARE)
    if len(docs.chunks) == 1:  # the usual case: no selection of the chunk's pairs to make
        cp, offsets = docs.chunks[0]
        return pair_match_kernel(
            q_cp, q_offsets, cp, offsets, index.pair_query, index.pair_doc, table, n_buckets, shift, chars, lo,
            hi, seeds, metric, w, float(k1), float(b), float(avgdl), _tasks(len(index.pair_query)), dense_from,
        )  # fmt: skip
    overlap, value = np.full(len(index.pair_query), np.nan), np.full(len(index.pair_query), np.nan)
    start = 0
    for cp, offsets in docs.chunks:
        stop = start + len(offsets) - 1
        sel = np.flatnonzero((index.pair_doc >= start) & (index.pair_doc < stop))
        overlap[sel], value[sel] = pair_match_kernel(
            q_cp, q_offsets, cp, offsets, index.pair_query[sel], index.pair_doc[sel] - start, table, n_buckets,
            shift, chars, lo, hi, seeds, metric, w, float(k1), float(b), float(avgdl), _tasks(len(sel)), dense_from,
        )  # fmt: skip
        start = stop
    return overlap, value


def _tasks(n_pairs: int) -> int:
    """Tasks of one :func:`pair_match_kernel` call: one per thread (numba splits a ``prange`` evenly among its
    threads, so more tasks balance nothing, while each COSINE task may clear an ``n_features``-long array)."""
    return min(numba.get_num_threads(), n_tasks(n_pairs, _PAIRS_PER_TASK))


@dataclass(frozen=True)
class Companion:
    """A fitted weighted metric (``bm25`` / ``cosine``) whose kernel pass also yields the overlap."""

    metric: str
    stats: CorpusStats
    k1: float = 1.2
    b: float = 0.75

    @property
    def usable(self) -> bool:
        """False when the statistics are empty (the metric is NaN and no pass runs)."""
        return self.stats.df is not None and self.stats.n_docs > 0


def _weighted(
    frame: pd.DataFrame,
    field: str,
    analyzer: str,
    n_features: int,
    ngram_range: tuple[int, int],
    spec: Companion,
) -> np.ndarray:
    """Per-pair values of a weighted metric (cached per pass, with the pairs' overlap as a by-product)."""
    key = ("matches", field, analyzer, n_features, tuple(ngram_range))

    def compute() -> tuple[CorpusStats, np.ndarray]:
        weights = spec.stats.bm25_idf if spec.metric == "bm25" else spec.stats.smooth_idf
        overlap, values = _match_pairs(
            frame, field, analyzer, n_features, ngram_range, _METRICS[spec.metric], weights, spec.k1, spec.b,
            max(spec.stats.avgdl, 1e-12),
        )  # fmt: skip
        cached(frame, (*key, "overlap"), lambda: overlap)
        return spec.stats, values

    stats, values = cached(frame, (*key, spec.metric, spec.k1, spec.b, id(spec.stats)), compute)
    return values if stats is spec.stats else compute()[1]


def score_pairs(
    frame: pd.DataFrame,
    field: str,
    analyzer: str,
    n_features: int,
    metric: str,
    stats: CorpusStats | None = None,
    ngram_range: tuple[int, int] = (2, 3),
    k1: float = 1.2,
    b: float = 0.75,
    companion: Companion | None = None,
) -> np.ndarray:
    """One matching metric between ``query`` and ``field`` for every row (NaN where undefined).

    Formulas in the module docstring; each distinct pair is scored once per pass. A ``bm25`` or ``cosine`` pass
    also leaves the pairs' overlap in the pass's cache, so the ``overlap`` of the same field and analyzer reads it
    instead of hashing the texts again; an ``overlap`` asked first runs its ``companion``'s pass (when given and
    usable) and leaves that metric in the cache the same way.

    Parameters
    ----------
    analyzer : {"terms", "chars"}
    metric : {"overlap", "bm25", "cosine"}
    stats : CorpusStats
        Training statistics (needed by ``bm25`` and ``cosine``; NaN everywhere when they are empty).
    companion : Companion, optional
        For ``overlap``: the weighted metric of the same field and analyzer a later feature of the pass needs.

    Returns
    -------
    ndarray of float64, shape (n_rows,)
    """
    _check_n_features(n_features)
    if metric not in _METRICS:  # pragma: no cover - guarded by the feature classes
        raise ValueError(f"unknown metric {metric!r}")
    out = np.full(len(frame), np.nan)
    if metric != "overlap" and (stats is None or stats.df is None or stats.n_docs == 0):
        return out
    index = pair_index(frame, field)
    if len(index.rows) == 0:
        return out
    if metric == "overlap":

        def overlap() -> np.ndarray:
            if companion is not None and companion.usable:
                _weighted(frame, field, analyzer, n_features, ngram_range, companion)
                found = cached(frame, key, lambda: None)
                if found is not None:
                    return found
            return _match_pairs(frame, field, analyzer, n_features, ngram_range, OVERLAP)[0]

        key = ("matches", field, analyzer, n_features, tuple(ngram_range), "overlap")
        values = cached(frame, key, overlap)
    else:
        assert stats is not None
        values = _weighted(frame, field, analyzer, n_features, ngram_range, Companion(metric, stats, k1, b))
    out[index.rows] = values[index.pair_id]
    return out
