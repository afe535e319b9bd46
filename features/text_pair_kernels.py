"""Fused (numba) query-document matching: hash each document into a small local table and score it at once.

The CSR route (:mod:`smar_ltr.features.text_hashing`, then a match over the global matrices) writes every
document's buckets into a matrix as large as the text, looks each one up in an ``n_features``-long array and
scores the hits with numpy. Here each distinct (query, document) pair is handled in one pass: the query's
buckets sit in a small open-addressing table (rebuilt only when the query changes: pairs come sorted by query),
the document is hashed and its buckets are looked up in the query's (behind a 4096-bit filter), in the
document's order of first occurrence. The cosine also counts the document's distinct buckets: in a second small
table, or, when a task's documents are many, in one ``n_features``-long array per task that also marks the
query's buckets (one cache line answers both). The sums run in exactly the order and with exactly the
floating-point operations of the CSR route, so the values are bit-for-bit the same.

Fitting needs only document frequencies and lengths: :func:`doc_stats_kernel` hashes each document once and adds
its row weight to every distinct bucket (one frequency array per task, summed at the end; the sums are of
integers, so exact in any order).
"""

from __future__ import annotations

import numba
import numpy as np

from smar_ltr.features.text_kernels import (
    _blocks,
    _table_size,
    count_buckets,
    ngram_buckets,
    padded_stream,
    term_buckets,
)

#: Metrics of :func:`pair_match_kernel`.
OVERLAP, BM25, COSINE = 0, 1, 2


@numba.njit(inline="always")
def _buckets(  # pragma: no cover - compiled
    cp: np.ndarray,
    lo: int,
    hi: int,
    chars: bool,
    table: np.ndarray,
    n_features: np.int64,
    shift: np.uint64,
    n_lo: int,
    n_hi: int,
    seeds: np.ndarray,
    stream: np.ndarray,
    seq: np.ndarray,
) -> int:
    """Bucket of every term or n-gram of one document into ``seq`` (text order); returns how many."""
    if chars:
        m = padded_stream(cp, lo, hi, table, stream)
        return ngram_buckets(stream, m, n_features, shift, n_lo, n_hi, seeds, seq)
    return term_buckets(cp, lo, hi, table, n_features, shift, seq)


@numba.njit(inline="always")
def _scratch(longest: int, chars: bool, n_lo: int, n_hi: int) -> int:  # pragma: no cover - compiled
    """Length of the per-document buffers for documents of up to ``longest`` code points."""
    return (longest + 2) * (n_hi - n_lo + 1) if chars else max(longest, 1)


@numba.njit(inline="always")
def _maybe_in(bits: np.ndarray, b: np.int32) -> bool:  # pragma: no cover - compiled
    """False when bucket ``b`` is surely not among the query's (a 4096-bit filter on its low bits)."""
    return ((bits[(b >> 6) & 63] >> np.uint64(b & 63)) & np.uint64(1)) != np.uint64(0)


@numba.njit(inline="always")
def _find(b: np.int32, keys: np.ndarray, pos: np.ndarray, mask: int) -> int:  # pragma: no cover - compiled
    """Position of bucket ``b`` in a table filled by :func:`count_buckets` (``pos`` of its slot); -1 if absent."""
    s = b & mask
    while True:
        key = keys[s]
        if key == b:
            return pos[s]
        if key == -1:
            return -1
        s = (s + 1) & mask


@numba.njit(inline="always")
def _doc_work(  # pragma: no cover - compiled
    d_offsets: np.ndarray, pair_doc: np.ndarray, first: int, stop: int, limit: int
) -> int:
    """Code points (plus padding) of the documents of pairs ``first..stop-1``, counted up to ``limit``."""
    work = 0
    for p in range(first, stop):
        d = pair_doc[p]
        work += d_offsets[d + 1] - d_offsets[d] + 2
        if work >= limit:
            break
    return work


@numba.njit(nogil=True, cache=True)
def _match_block(  # pragma: no cover - compiled
    q_cp: np.ndarray,
    q_offsets: np.ndarray,
    d_cp: np.ndarray,
    d_offsets: np.ndarray,
    pair_query: np.ndarray,
    pair_doc: np.ndarray,
    table: np.ndarray,
    n_features: np.int64,
    shift: np.uint64,
    chars: bool,
    n_lo: int,
    n_hi: int,
    seeds: np.ndarray,
    metric: int,
    weights: np.ndarray,
    k1: float,
    b: float,
    avgdl: float,
    first: int,
    stop: int,
    q_longest: int,
    d_longest: int,
    dense_from: int,
    overlap: np.ndarray,
    value: np.ndarray,
) -> None:
    """Pairs ``first..stop-1`` of :func:`pair_match_kernel` (a plain compiled function: one task's share)."""
    q_len, d_len = _scratch(q_longest, chars, n_lo, n_hi), _scratch(d_longest, chars, n_lo, n_hi)
    k1p1 = k1 + 1.0
    one_minus_b = 1.0 - b
    stream = np.empty(max(q_longest, d_longest) + 2, dtype=np.uint32)
    seq = np.empty(max(q_len, d_len), dtype=np.int32)
    q_keys = np.empty(_table_size(q_len), dtype=np.int32)  # the query's buckets: slot -> bucket ...
    q_pos = np.empty(q_keys.shape[0], dtype=np.int32)  # ... -> position in q_idx
    q_idx = np.empty(q_len, dtype=np.int32)
    q_cnt = np.empty(q_len, dtype=np.float32)
    q_w = np.zeros(q_len + 1, dtype=np.float64)  # COSINE: q_w[i + 1] = q_cnt[i] * weight of q_idx[i]
    bits = np.zeros(64, dtype=np.uint64)  # filter of the query's buckets (cheaper than probing its table)
    tf = np.zeros(q_len, dtype=np.float64)  # hits of each query bucket in the current document
    order = np.empty(q_len, dtype=np.int64)  # query buckets in order of first hit
    cosine = metric == COSINE
    dense = cosine and _doc_work(d_offsets, pair_doc, first, stop, dense_from) >= dense_from
    # COSINE, many documents: per bucket [document's count, 1 + position in q_idx or 0] (one cache line)
    counts = np.zeros((n_features if dense else 1, 2), dtype=np.int32)
    d_size = d_len if cosine else 1  # COSINE, few documents: the document's buckets in a small table
    d_keys = np.empty(_table_size(1 if dense else d_size), dtype=np.int32)
    d_pos = np.empty(d_keys.shape[0], dtype=np.int32)
    d_idx = np.empty(d_size, dtype=np.int32)  # its distinct buckets in order of first occurrence
    d_cnt = np.empty(d_size, dtype=np.float32)  # ... and (small table) their counts
    current, nq, q_mask, q_norm = -1, 0, 0, 0.0
    for p in range(first, stop):
        q = pair_query[p]
        if q != current:
            current = q
            if dense:
                for i in range(nq):
                    counts[q_idx[i], 1] = 0
            n = _buckets(q_cp, q_offsets[q], q_offsets[q + 1], chars, table, n_features, shift, n_lo, n_hi,
                         seeds, stream, seq)  # fmt: skip
            nq, q_mask = count_buckets(seq, n, q_keys, q_pos, q_idx, q_cnt, 0)
            bits[:] = 0
            acc = 0.0
            for i in range(nq):
                bucket = q_idx[i]
                bits[(bucket >> 6) & 63] |= np.uint64(1) << np.uint64(bucket & 63)
                if cosine:
                    v = np.float64(q_cnt[i]) * weights[bucket]
                    q_w[i + 1] = v
                    acc += v * v
                if dense:
                    counts[bucket, 1] = i + 1
            q_norm = np.sqrt(acc)
        if nq == 0:
            continue
        d = pair_doc[p]
        n = _buckets(d_cp, d_offsets[d], d_offsets[d + 1], chars, table, n_features, shift, n_lo, n_hi,
                     seeds, stream, seq)  # fmt: skip
        if n == 0:
            continue
        acc = 0.0
        hits = 0
        if dense:
            nd = 0
            for j in range(n):  # branch-free append of first occurrences
                bucket = seq[j]
                c = counts[bucket, 0]
                d_idx[nd] = bucket
                nd += c == 0
                counts[bucket, 0] = c + 1
            d_acc = 0.0
            for j in range(nd):
                bucket = d_idx[j]
                w = weights[bucket]
                # a float32 count stops at 2**24: what count_buckets and the CSR hashing store
                dw = np.float64(min(counts[bucket, 0], 16_777_216)) * w
                counts[bucket, 0] = 0
                d_acc += dw * dw
                i = counts[bucket, 1]
                hits += i != 0
                acc += q_w[i] * dw  # branch-free: q_w[0] is 0.0, and acc + 0.0 is acc (acc is never -0.0)
            value[p] = acc / (q_norm * np.sqrt(d_acc))
            overlap[p] = hits / nq
            continue
        if cosine:
            nd, _ = count_buckets(seq, n, d_keys, d_pos, d_idx, d_cnt, 0)
            d_acc = 0.0
            for j in range(nd):
                bucket = d_idx[j]
                w = weights[bucket]
                dw = np.float64(d_cnt[j]) * w
                d_acc += dw * dw
                if _maybe_in(bits, bucket):
                    i = _find(bucket, q_keys, q_pos, q_mask)
                    if i >= 0:
                        hits += 1
                        acc += q_w[i + 1] * dw
            value[p] = acc / (q_norm * np.sqrt(d_acc))
            overlap[p] = hits / nq
            continue
        for j in range(n):
            bucket = seq[j]
            if _maybe_in(bits, bucket):
                i = _find(bucket, q_keys, q_pos, q_mask)
                if i >= 0:
                    t = tf[i]
                    order[hits] = i  # branch-free append of first hits
                    hits += t == 0.0
                    tf[i] = t + 1.0
        overlap[p] = hits / nq
        if metric == BM25:  # summed in the document's order of first occurrence (as over its distinct buckets)
            norm = k1 * (one_minus_b + b * np.float64(n) / avgdl)
            for h in range(hits):
                i = order[h]
                t = tf[i]
                acc += np.float64(q_cnt[i]) * weights[q_idx[i]] * t * k1p1 / (t + norm)
        for h in range(hits):
            tf[order[h]] = 0.0
        value[p] = overlap[p] if metric == OVERLAP else acc


@numba.njit(parallel=True, nogil=True, cache=True)
def pair_match_kernel(  # pragma: no cover - compiled
    q_cp: np.ndarray,
    q_offsets: np.ndarray,
    d_cp: np.ndarray,
    d_offsets: np.ndarray,
    pair_query: np.ndarray,
    pair_doc: np.ndarray,
    table: np.ndarray,
    n_features: np.int64,
    shift: np.uint64,
    chars: bool,
    n_lo: int,
    n_hi: int,
    seeds: np.ndarray,
    metric: int,
    weights: np.ndarray,
    k1: float,
    b: float,
    avgdl: float,
    tasks: int,
    dense_from: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Share of the query's buckets found in each pair's document and one matching metric: ``(overlap, value)``.

    The query's distinct buckets sit in a small open-addressing table (behind a 4096-bit filter). ``OVERLAP`` and
    ``BM25`` only look the document's buckets up in it (the hit counts are the term frequencies, the number of
    buckets the length); ``COSINE`` also needs the document's norm, so it counts the document's distinct buckets
    first: in a small table of their own, or, in a block of pairs whose documents hold at least ``dense_from``
    code points, in one ``n_features``-long array per block that also marks the query's buckets (clearing it
    costs about as much as hashing ``n_features / 4`` code points; counting in it is cheaper than probing a
    table). Each task runs :func:`_match_block` on a contiguous block of pairs.

    Parameters
    ----------
    q_cp, q_offsets, d_cp, d_offsets
        Code points of the distinct queries / documents and their ``[start, end)`` offsets.
    pair_query, pair_doc : int64, shape (n_pairs,)
        Query and document of each pair, sorted by query.
    chars : bool
        Character n-grams ``n_lo..n_hi`` (``seeds`` as in ``hash_ngrams_kernel``), else terms.
    metric : int
        ``OVERLAP``: share of the query's distinct buckets found; ``BM25``: with IDF ``weights`` and ``k1``,
        ``b``, ``avgdl``; ``COSINE``: cosine of the count vectors scaled by ``weights`` (finite: a document
        bucket missing from the query adds ``0.0 * weight`` to the dot product, without a branch).
    dense_from : int
        ``COSINE`` counting: see above (the values do not depend on it).

    Returns
    -------
    overlap : float64, shape (n_pairs,)
        Distinct query buckets present in the document over the query's distinct buckets; NaN where the query or
        the document has no bucket.
    value : float64, shape (n_pairs,)
        The metric (``overlap`` again for ``OVERLAP``); NaN where ``overlap`` is.
    """
    n_pairs = pair_query.shape[0]
    overlap = np.full(n_pairs, np.nan)
    value = np.full(n_pairs, np.nan)
    q_longest, d_longest = 0, 0
    for q in range(q_offsets.shape[0] - 1):
        q_longest = max(q_longest, q_offsets[q + 1] - q_offsets[q])
    for d in range(d_offsets.shape[0] - 1):
        d_longest = max(d_longest, d_offsets[d + 1] - d_offsets[d])
    bounds = _blocks(n_pairs, tasks)
    for blk in numba.prange(bounds.shape[0] - 1):
        _match_block(q_cp, q_offsets, d_cp, d_offsets, pair_query, pair_doc, table, n_features, shift, chars,
                     n_lo, n_hi, seeds, metric, weights, k1, b, avgdl, bounds[blk], bounds[blk + 1], q_longest,
                     d_longest, dense_from, overlap, value)  # fmt: skip
    return overlap, value


@numba.njit(nogil=True, cache=True)
def _stats_block(  # pragma: no cover - compiled
    cp: np.ndarray,
    offsets: np.ndarray,
    weight: np.ndarray,
    table: np.ndarray,
    n_features: np.int64,
    shift: np.uint64,
    chars: bool,
    n_lo: int,
    n_hi: int,
    seeds: np.ndarray,
    first: int,
    stop: int,
    longest: int,
    df: np.ndarray,
    dl: np.ndarray,
) -> None:
    """Documents ``first..stop-1`` of :func:`doc_stats_kernel`, adding to this task's ``df``."""
    size = _scratch(longest, chars, n_lo, n_hi)
    stream = np.empty(longest + 2, dtype=np.uint32)
    seq = np.empty(size, dtype=np.int32)
    seen = np.zeros(n_features, dtype=np.uint8)  # buckets of the current document
    order = np.empty(size, dtype=np.int32)  # ... in order of first occurrence
    for d in range(first, stop):
        if weight[d] == 0:
            continue
        n = _buckets(cp, offsets[d], offsets[d + 1], chars, table, n_features, shift, n_lo, n_hi, seeds,
                     stream, seq)  # fmt: skip
        nd = 0
        for j in range(n):  # branch-free append of first occurrences
            bucket = seq[j]
            order[nd] = bucket
            nd += seen[bucket] == 0
            seen[bucket] = 1
        for j in range(nd):
            df[order[j]] += weight[d]
            seen[order[j]] = 0
        dl[d] = n


@numba.njit(parallel=True, nogil=True, cache=True)
def doc_stats_kernel(  # pragma: no cover - compiled
    cp: np.ndarray,
    offsets: np.ndarray,
    weight: np.ndarray,
    table: np.ndarray,
    n_features: np.int64,
    shift: np.uint64,
    chars: bool,
    n_lo: int,
    n_hi: int,
    seeds: np.ndarray,
    tasks: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted document frequency of every bucket and the length of every document: ``(df, dl)``.

    ``df[k]`` sums ``weight[d]`` over the documents holding bucket ``k``; ``dl[d]`` counts document ``d``'s terms
    or n-grams. Documents with zero weight are skipped (``dl`` 0).
    """
    n_docs = offsets.shape[0] - 1
    longest = 0
    for d in range(n_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    bounds = _blocks(n_docs, tasks)
    n_blocks = bounds.shape[0] - 1
    partial = np.zeros((n_blocks, n_features))
    dl = np.zeros(n_docs)
    for blk in numba.prange(n_blocks):
        _stats_block(cp, offsets, weight, table, n_features, shift, chars, n_lo, n_hi, seeds, bounds[blk],
                     bounds[blk + 1], longest, partial[blk], dl)  # fmt: skip
    df = np.zeros(n_features)
    for blk in range(n_blocks):
        df += partial[blk]
    return df, dl
