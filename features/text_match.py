"""Vectorised query-document matching on hashed sparse matrices: BM25, term / n-gram overlap, TF-IDF cosine.

Every function works on *unique* texts: a text column is factorised, each distinct string is hashed once
(:mod:`smar_ltr.features.text_hashing`), and each distinct (query, document) pair is scored once with sparse
row-wise products; rows then pick up their pair's value. A row whose query or document is missing or has no
token gets NaN.

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

import numpy as np
import pandas as pd
import scipy.sparse as sp

from smar_ltr.errors import ConfigError
from smar_ltr.features.context import cached, text_codes
from smar_ltr.features.state_codec import decode_counts, encode_counts
from smar_ltr.features.text_hashing import encode_texts, hash_char_ngrams, hash_terms
from smar_ltr.features.text_kernels import match_kernel, n_tasks, weighted_row_norms

QUERY = "query"


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

    if isinstance(n_features, bool) or not isinstance(n_features, int | np.integer) or n_features < 2:
        raise ConfigError(f"n_features must be an integer >= 2 (e.g. 2**18), got {n_features!r}")

    def compute() -> tuple[np.ndarray, sp.csr_matrix]:
        codes, uniques = text_codes(frame, column)
        encoded = cached(frame, ("text", column, "encoded"), lambda: encode_texts(uniques))
        if analyzer == "terms":
            matrix = hash_terms(encoded, n_features, sort=False)
        else:
            matrix = hash_char_ngrams(encoded, n_features, ngram_range, sort=False)
        empty = np.diff(matrix.indptr) == 0
        codes = codes.copy()
        codes[codes >= 0] = np.where(empty[codes[codes >= 0]], -1, codes[codes >= 0])
        return codes, matrix

    return cached(frame, ("hashed", column, analyzer, n_features, tuple(ngram_range)), compute)


_PAIRS_PER_TASK = 4096  # each match task clears an n_features-long scratch array: give it enough pairs
_CHUNK_NNZ = 4_000_000  # stored values (or probes) handled per chunk: bounds temporary memory


def _row_chunks(indptr: np.ndarray, max_nnz: int = _CHUNK_NNZ) -> list[tuple[int, int]]:
    """Row ranges ``[r0, r1)`` of a CSR matrix holding about ``max_nnz`` stored values each."""
    n = len(indptr) - 1
    if n <= 0:
        return []
    cuts = np.searchsorted(indptr, np.arange(max_nnz, int(indptr[-1]), max_nnz), side="right") - 1
    edges = np.unique(np.concatenate([[0], np.clip(cuts, 1, n), [n]]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _row_sums(m: sp.csr_matrix) -> np.ndarray:
    """Per-row sums of the stored values, as float64."""
    return np.asarray(m.sum(axis=1, dtype=np.float64)).ravel()


@dataclass
class CorpusStats:
    """Document frequencies of a text field learned on training pages."""

    n_docs: int = 0
    avgdl: float = 0.0
    df: np.ndarray | None = None

    @classmethod
    def learn(cls, codes: np.ndarray, matrix: sp.csr_matrix) -> CorpusStats:
        """Statistics over the rows (not the distinct texts): a text on two rows counts twice."""
        weight = np.bincount(codes[codes >= 0], minlength=matrix.shape[0]).astype(np.float64)
        df = np.zeros(matrix.shape[1])
        for r0, r1 in _row_chunks(matrix.indptr):
            lo, hi = matrix.indptr[r0], matrix.indptr[r1]
            row_weight = np.repeat(weight[r0:r1], np.diff(matrix.indptr[r0 : r1 + 1]))
            df += np.bincount(matrix.indices[lo:hi], weights=row_weight, minlength=matrix.shape[1])
        n_docs = float(weight.sum())
        avgdl = float(weight @ _row_sums(matrix) / n_docs) if n_docs else 0.0
        return cls(int(n_docs), avgdl, np.rint(df))

    def to_state(self) -> dict:
        return {
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "df": None if self.df is None else encode_counts(self.df),
        }

    @classmethod
    def from_state(cls, state: dict) -> CorpusStats:
        df = state.get("df")
        return cls(
            int(state.get("n_docs", 0)),
            float(state.get("avgdl", 0.0)),
            None if df is None else decode_counts(df),
        )

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


@dataclass(frozen=True)
class PairMatches:
    """Where the query terms of each distinct (query, document) pair occur in the document.

    Attributes
    ----------
    rows : ndarray of int64
        Rows with both a query and a document; ``pair_id[k]`` is the pair of ``rows[k]``.
    pair_query, pair_doc : ndarray of int64, shape (n_pairs,)
        Query / document index (into the hashed matrices) of each pair.
    hit_pair, hit_qpos, hit_dpos : ndarray of int64, shape (n_hits,)
        For every query term found in the pair's document: the pair, and the positions of the term in the
        query matrix's and the document matrix's ``data`` arrays.
    """

    rows: np.ndarray
    pair_id: np.ndarray
    pair_query: np.ndarray
    pair_doc: np.ndarray
    hit_pair: np.ndarray
    hit_qpos: np.ndarray
    hit_dpos: np.ndarray


def _match(qm: sp.csr_matrix, dm: sp.csr_matrix, qc: np.ndarray, dc: np.ndarray) -> PairMatches:
    """Look every document bucket of every distinct pair up in the pair's query row (compiled, in parallel).

    Pairs are numbered by query, then document; rows of both matrices hold each bucket once.
    """
    n_docs = max(dm.shape[0], 1)
    rows = np.flatnonzero((qc >= 0) & (dc >= 0))
    pair_id, uniq = pd.factorize(qc[rows] * n_docs + dc[rows], sort=True)
    pq, pd_ = uniq // n_docs, uniq % n_docs
    hit_pair, hit_qpos, hit_dpos = match_kernel(
        qm.indptr.astype(np.int64, copy=False),
        qm.indices,
        dm.indptr.astype(np.int64, copy=False),
        dm.indices,
        np.int64(qm.shape[1]),
        pq,
        pd_,
        n_tasks(len(pq), per_task=_PAIRS_PER_TASK),
    )
    return PairMatches(rows, pair_id, pq, pd_, hit_pair, hit_qpos, hit_dpos)


def pair_matches(
    frame: pd.DataFrame, field: str, analyzer: str, n_features: int, ngram_range: tuple[int, int] = (2, 3)
) -> tuple[PairMatches, sp.csr_matrix, sp.csr_matrix]:
    """Matches of ``query`` in ``field`` and both hashed matrices (cached per pass)."""
    qc, qm = hashed_column(frame, QUERY, analyzer, n_features, ngram_range)
    dc, dm = hashed_column(frame, field, analyzer, n_features, ngram_range)
    key = ("matches", field, analyzer, n_features, tuple(ngram_range))
    return cached(frame, key, lambda: _match(qm, dm, qc, dc)), qm, dm


def _l2_norms(m: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """L2 norm of every row of ``m`` with columns scaled by ``weights`` (compiled, parallel over rows)."""
    return weighted_row_norms(m.indptr.astype(np.int64, copy=False), m.indices, m.data, weights, n_tasks())


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
) -> np.ndarray:
    """One matching metric between ``query`` and ``field`` for every row (NaN where undefined).

    Parameters
    ----------
    metric : {"overlap", "bm25", "cosine"}
    stats : CorpusStats
        Training statistics (needed by ``bm25`` and ``cosine``; NaN everywhere when they are empty).

    Returns
    -------
    ndarray of float64, shape (n_rows,)
    """
    out = np.full(len(frame), np.nan)
    if metric != "overlap" and (stats is None or stats.df is None or stats.n_docs == 0):
        return out
    m, qm, dm = pair_matches(frame, field, analyzer, n_features, ngram_range)
    if len(m.rows) == 0:
        return out
    n_pairs = len(m.pair_query)
    if metric == "overlap":
        found = np.bincount(m.hit_pair, minlength=n_pairs)
        values = found / np.diff(qm.indptr)[m.pair_query]
    elif metric == "bm25":
        assert stats is not None
        dl = _row_sums(dm)
        tf = dm.data[m.hit_dpos].astype(np.float64)
        norm = k1 * (1.0 - b + b * dl[m.pair_doc[m.hit_pair]] / max(stats.avgdl, 1e-12))
        weight = qm.data[m.hit_qpos] * stats.bm25_idf[qm.indices[m.hit_qpos]] * tf * (k1 + 1.0) / (tf + norm)
        values = np.bincount(m.hit_pair, weights=weight, minlength=n_pairs)
    elif metric == "cosine":
        assert stats is not None
        idf = stats.smooth_idf
        q_norm, d_norm = _l2_norms(qm, idf), _l2_norms(dm, idf)
        q_w = qm.data[m.hit_qpos] * idf[qm.indices[m.hit_qpos]]
        d_w = dm.data[m.hit_dpos] * idf[dm.indices[m.hit_dpos]]
        dots = np.bincount(m.hit_pair, weights=q_w * d_w, minlength=n_pairs)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = dots / (q_norm[m.pair_query] * d_norm[m.pair_doc])
    else:  # pragma: no cover - guarded by the feature classes
        raise ValueError(f"unknown metric {metric!r}")
    out[m.rows] = values[m.pair_id]
    return out
