"""Compiled inner loops of the SMAR objective (numba), so a custom objective costs about what a native one does.

A GBDT library calls the objective once per boosting round; in numpy the pairwise terms cost several full
passes over every pair per round, which made SMAR training ~3-8x slower than LightGBM's native lambdarank
(benchmarks/results/speed.md). These kernels do one pass, in parallel over queries: rows of different queries
are disjoint, so per-query work writes to disjoint slices of ``grad``/``hess`` without locks. The numpy
implementations in :mod:`smar_ltr.training.objectives` stay as the reference the tests compare against.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np


def set_threads(n: int) -> None:
    """Use ``n`` threads in the kernels from now on, in the calling thread (capped at numba's maximum)."""
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


@contextmanager
def kernel_threads(n: int) -> Iterator[None]:
    """Use ``n`` threads in the kernels (capped at numba's maximum) inside the block, then the caller's count again.

    numba's count is per calling thread and outlives the call, so training restores it: a later ``rerank`` that
    follows numba's count must not silently run on the reranker's ``n_threads``.
    """
    before = numba.get_num_threads()
    set_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@numba.njit(parallel=True, nogil=True, cache=True)
def lambdarank_kernel(  # pragma: no cover - compiled
    scores: np.ndarray,
    rows: np.ndarray,
    offsets: np.ndarray,
    gains: np.ndarray,
    inv_max_dcg: np.ndarray,
    sigma: float,
    normalize: bool,
    truncation: int,
    weight: float,
    grad: np.ndarray,
    hess: np.ndarray,
) -> None:
    """LambdaMART gradients (Burges 2010) of the labelled rows, one query per parallel task.

    ``rows[offsets[q]:offsets[q+1]]`` are the training rows of query ``q``; ``gains`` (aligned with ``rows``) are
    ``2^label - 1``. Matches LightGBM's lambdarank (``rank_objective.hpp``): pairs with different gains where the
    better-ranked item is within the top ``truncation``; ``|Delta NDCG|`` at the current ranking; with
    ``normalize`` (LightGBM's ``lambdarank_norm``), ``|Delta NDCG|`` divided by ``0.01 + |s_a - s_b|`` when the
    query's scores are not all equal, and the per-query factor ``log2(1 + sum lambda) / sum lambda``.
    """
    n_q = offsets.shape[0] - 1
    for q in numba.prange(n_q):
        lo = offsets[q]
        hi = offsets[q + 1]
        s = hi - lo
        if s < 2 or inv_max_dcg[q] == 0.0:
            continue
        local = np.empty(s)
        for k in range(s):
            local[k] = -scores[rows[lo + k]]
        order = np.argsort(local, kind="mergesort")  # stable: ties keep row order
        disc = np.empty(s)
        for pos in range(s):
            disc[order[pos]] = 1.0 / math.log2(pos + 2.0)
        g = np.zeros(s)
        h = np.zeros(s)
        total = 0.0
        spread = scores[rows[lo + order[0]]] != scores[rows[lo + order[s - 1]]]  # best != worst score
        top = min(s, truncation)
        for pi in range(top):
            i = order[pi]
            for pj in range(pi + 1, s):
                j = order[pj]
                gi = gains[lo + i]
                gj = gains[lo + j]
                if gi == gj:
                    continue
                if gi > gj:
                    a, b = i, j
                else:
                    a, b = j, i
                delta = abs(gi - gj) * abs(disc[i] - disc[j]) * inv_max_dcg[q]
                diff = scores[rows[lo + a]] - scores[rows[lo + b]]
                if normalize and spread:
                    delta /= 0.01 + abs(diff)
                rho = 1.0 / (1.0 + math.exp(sigma * diff))
                lam = sigma * rho * delta
                hes = sigma * sigma * rho * (1.0 - rho) * delta
                g[a] -= lam
                g[b] += lam
                h[a] += hes
                h[b] += hes
                total += 2.0 * lam
        factor = weight
        if normalize and total > 0.0:
            factor *= math.log2(1.0 + total) / total
        for k in range(s):
            r = rows[lo + k]
            grad[r] += factor * g[k]
            hess[r] += factor * h[k]


@numba.njit(parallel=True, nogil=True, cache=True)
def pair_kernel(  # pragma: no cover - compiled
    scores: np.ndarray,
    winner: np.ndarray,
    loser: np.ndarray,
    pair_weight: np.ndarray,
    chunks: np.ndarray,
    gamma: float,
    kappa: float,
    weight: float,
    grad: np.ndarray,
    hess: np.ndarray,
) -> None:
    """Smooth-hinge pair gradients; ``chunks`` split the pairs at query boundaries (disjoint rows per chunk)."""
    for c in numba.prange(chunks.shape[0] - 1):
        for p in range(chunks[c], chunks[c + 1]):
            w = winner[p]
            lo = loser[p]
            z = kappa * (gamma - (scores[w] - scores[lo]))
            rho = 1.0 / (1.0 + math.exp(-z))
            ww = weight * pair_weight[p]
            g = ww * rho
            h = ww * kappa * rho * (1.0 - rho)
            grad[w] -= g
            grad[lo] += g
            hess[w] += h
            hess[lo] += h


def query_chunks(query_of_pair: np.ndarray, n_chunks: int = 64) -> np.ndarray:
    """Boundaries splitting pairs (grouped by query) into about ``n_chunks`` runs that never split a query.

    Raises ``ValueError`` when pairs of one query are not contiguous (then chunks could share rows).
    """
    n = query_of_pair.shape[0]
    if n == 0:
        return np.array([0, 0], dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], query_of_pair[1:] != query_of_pair[:-1]]))
    if np.unique(query_of_pair[starts]).shape[0] != starts.shape[0]:
        raise ValueError("pairs of one query must be contiguous")
    step = max(1, starts.shape[0] // n_chunks)
    return np.concatenate([starts[::step], [n]]).astype(np.int64)


@numba.njit(cache=True)
def ranks_in_blocks(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """1-based rank of each row by score descending within its block ``[starts[b], starts[b + 1])``, ties in row
    order (a stable sort of each block; NaN scores last, as ``np.lexsort`` puts them)."""
    ranks = np.empty(scores.shape[0], dtype=np.int64)
    for b in range(starts.shape[0] - 1):
        lo, hi = starts[b], starts[b + 1]
        order = np.argsort(-scores[lo:hi], kind="mergesort")
        for k in range(hi - lo):
            ranks[lo + order[k]] = k + 1
    return ranks
