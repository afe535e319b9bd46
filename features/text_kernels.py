"""Compiled (numba) text hashing: terms and character n-grams of each document to buckets, parallel over documents.

The per-document building blocks (:func:`term_buckets`, :func:`padded_stream` + :func:`ngram_buckets`,
:func:`count_buckets`) are shared by the CSR kernels here (:func:`hash_terms_kernel`, :func:`hash_ngrams_kernel`)
and the fused matching kernels of :mod:`smar_ltr.features.text_pair_kernels`, so both produce the same buckets.
The hash values are bit-for-bit those of the original numpy formulation (see
:mod:`smar_ltr.features.text_hashing` for the normalisation and hashing rules), so fitted statistics and feature
values do not change.

Character classes come from one lookup table over the code points below ``0x30000`` (every separator and CJK
range lies below it; code points above are ordinary characters).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np

#: Character classes of the lookup table.
WORD, SEPARATOR, CJK = 0, 1, 2
_TABLE_SIZE = 0x30000
_P = np.uint64(1_000_003)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TERM_SALT = np.uint64(0x5851F42D4C957F2D)
_SPACE = np.uint32(32)


def class_table(ascii_sep: np.ndarray, sep_ranges: np.ndarray, cjk_ranges: np.ndarray) -> np.ndarray:
    """uint8 class of every code point below ``0x30000`` (separator wins over CJK)."""
    table = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    for lo, hi in cjk_ranges.reshape(-1, 2):
        table[lo:hi] = CJK
    for lo, hi in sep_ranges.reshape(-1, 2):
        table[lo:hi] = SEPARATOR
    table[:128][ascii_sep] = SEPARATOR
    return table


@numba.njit(inline="always")
def _class(cp: np.uint32, table: np.ndarray) -> int:  # pragma: no cover - compiled
    return int(table[cp]) if cp < _TABLE_SIZE else WORD


@numba.njit(inline="always")
def _mix(h: np.uint64, n_features: np.int64, shift: np.uint64) -> np.int32:  # pragma: no cover - compiled
    """Fibonacci hashing to a bucket (``shift`` > 0: power-of-two table, take the top bits)."""
    h = h * _GOLDEN
    if shift > np.uint64(0):
        return np.int32(h >> shift)
    return np.int32((h >> np.uint64(32)) % np.uint64(n_features))


#: Passes over fewer rows than this run the kernels on one thread (see :func:`one_thread_below`).
SERIAL_ROWS = 20_000


def n_tasks(work: int | None = None, per_task: int = 1) -> int:
    """Parallel tasks per kernel call: a few per numba thread, each with its own scratch arrays.

    With ``work`` (items to process), no more tasks than ``work // per_task`` (at least one): a task whose
    scratch array costs more to clear than its share of the work is not worth starting.
    """
    tasks = 4 * numba.get_num_threads()
    return tasks if work is None else max(1, min(tasks, work // max(per_task, 1)))


@contextmanager
def one_thread_below(rows: int, limit: int | None = None) -> Iterator[None]:
    """Run the kernels on one numba thread while a pass covers fewer than ``limit`` rows (:data:`SERIAL_ROWS`).

    A parallel kernel call wakes numba's thread pool and waits at a barrier for every thread. On a busy machine a
    sleeping thread can take tens of milliseconds to be scheduled, once per call; for one page of candidates that
    wait, not the work (well under a millisecond), was the whole cost. Results do not depend on the thread count.
    """
    before = numba.get_num_threads()
    if rows >= (SERIAL_ROWS if limit is None else limit) or before == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@numba.njit(inline="always")
def _blocks(n: int, tasks: int) -> np.ndarray:  # pragma: no cover - compiled
    """Bounds of ``tasks`` contiguous blocks of ``range(n)`` (fewer when ``n`` is small)."""
    n_blocks = max(1, min(n, tasks))
    return (np.arange(n_blocks + 1) * n) // n_blocks


@numba.njit(inline="always")
def _table_size(n: int) -> int:  # pragma: no cover - compiled
    """Power of two at least twice ``n`` (and at least 16): an open-addressing table that stays sparse."""
    size = 16
    while size < 2 * n:
        size *= 2
    return size


@numba.njit(inline="always")
def _add(
    b: np.int32, keys: np.ndarray, pos: np.ndarray, mask: int, idx: np.ndarray, cnt: np.ndarray, n_out: int
) -> int:  # pragma: no cover - compiled
    """Count bucket ``b`` of the current document (open addressing); returns the new number of outputs."""
    s = b & mask
    while keys[s] != -1 and keys[s] != b:
        s = (s + 1) & mask
    if keys[s] == -1:
        keys[s] = b
        pos[s] = n_out
        idx[n_out] = b
        cnt[n_out] = 1.0
        return n_out + 1
    cnt[pos[s]] += 1.0
    return n_out


@numba.njit(inline="always")
def _sort_row(idx: np.ndarray, cnt: np.ndarray, start: int, stop: int) -> None:  # pragma: no cover - compiled
    """Sort one row's buckets (and their counts) in place."""
    order = np.argsort(idx[start:stop])
    b, c = idx[start:stop].copy(), cnt[start:stop].copy()
    for k in range(order.shape[0]):
        idx[start + k] = b[order[k]]
        cnt[start + k] = c[order[k]]


@numba.njit(inline="always")
def term_buckets(  # pragma: no cover - compiled
    cp: np.ndarray, lo: int, hi: int, table: np.ndarray, n_features: np.int64, shift: np.uint64, out: np.ndarray
) -> int:
    """Bucket of every term of document ``cp[lo:hi]``, in text order, into ``out``; returns how many.

    ``out`` must hold ``hi - lo`` values (a document has at most as many terms as code points).
    """
    n = 0
    i = lo
    while i < hi:  # a term ends at a separator and at the document's end; every CJK character is a term
        c = cp[i]
        cls = _class(c, table)
        i += 1
        if cls == SEPARATOR:
            continue
        h = np.uint64(c)  # sum of c_k * P**k over the term's characters
        if cls == WORD:
            pw = _P
            while i < hi:  # the rest of a run of word characters (one tight loop: few mispredicted branches)
                c = cp[i]
                if _class(c, table) != WORD:
                    break
                h += np.uint64(c) * pw
                pw *= _P
                i += 1
        out[n] = _mix(h + _TERM_SALT, n_features, shift)
        n += 1
    return n


@numba.njit(inline="always")
def padded_stream(  # pragma: no cover - compiled
    cp: np.ndarray, lo: int, hi: int, table: np.ndarray, stream: np.ndarray
) -> int:
    """Write document ``cp[lo:hi]`` as ``char_wb`` sees it into ``stream``; returns its length.

    Separators become spaces, runs of spaces collapse to one, and the text is padded with one space on both sides
    (``stream`` must hold ``hi - lo + 2`` values).
    """
    stream[0] = _SPACE
    m = 1
    for i in range(lo, hi):
        c = cp[i]
        if _class(c, table) == SEPARATOR:
            c = _SPACE
        if c == _SPACE and stream[m - 1] == _SPACE:
            continue
        stream[m] = c
        m += 1
    if stream[m - 1] != _SPACE:
        stream[m] = _SPACE
        m += 1
    return m


@numba.njit(inline="always")
def _bigrams_trigrams(  # pragma: no cover - compiled
    stream: np.ndarray, m: int, n_features: np.int64, shift: np.uint64, seeds: np.ndarray, out: np.ndarray
) -> int:
    """:func:`ngram_buckets` for ``n`` = 2, 3 in one pass over the stream (the default range; same buckets).

    The 2-grams are ``m - 1``, so the 3-grams go straight after them; the hashes share ``c_0 * P + c_1`` (the
    same values mod 2**64). Every 3-gram slot is written and kept only when its middle character is no space.
    """
    p2 = _P * _P
    s2 = seeds[2] * p2
    s3 = seeds[3] * p2 * _P
    n3 = m - 1
    for s in range(0, m - 2):
        head = np.uint64(stream[s]) * _P + np.uint64(stream[s + 1])
        out[s] = _mix(s2 + head, n_features, shift)
        out[n3] = _mix(s3 + head * _P + np.uint64(stream[s + 2]), n_features, shift)
        n3 += stream[s + 1] != _SPACE
    if m >= 2:
        out[m - 2] = _mix(s2 + np.uint64(stream[m - 2]) * _P + np.uint64(stream[m - 1]), n_features, shift)
    return n3


@numba.njit(inline="always")
def ngram_buckets(  # pragma: no cover - compiled
    stream: np.ndarray,
    m: int,
    n_features: np.int64,
    shift: np.uint64,
    n_lo: int,
    n_hi: int,
    seeds: np.ndarray,
    out: np.ndarray,
) -> int:
    """Bucket of every ``char_wb`` n-gram of a padded stream (:func:`padded_stream`) into ``out``; returns how many.

    All n-grams of the smallest ``n`` in text order first, then those of the next ``n`` (``out`` must hold
    ``m * (n_hi - n_lo + 1)`` values). The hash of ``c_0 .. c_{n-1}`` is ``seeds[n] * P**n + sum_k c_k *
    P**(n-1-k)`` (mod 2**64), what the Horner form ``h = h * P + c`` gives; 2- and 3-grams use precomputed
    powers (same values, shorter dependency chains).
    """
    if n_lo == 2 and n_hi == 3:
        return _bigrams_trigrams(stream, m, n_features, shift, seeds, out)
    n_out = 0
    p2 = _P * _P
    for n in range(n_lo, n_hi + 1):
        if n == 2:
            s2 = seeds[2] * p2
            for s in range(0, m - 1):
                out[n_out] = _mix(s2 + np.uint64(stream[s]) * _P + np.uint64(stream[s + 1]), n_features, shift)
                n_out += 1
            continue
        if n == 3:
            s3 = seeds[3] * p2 * _P
            for s in range(0, m - 2):
                if stream[s + 1] == _SPACE:  # char_wb: n-grams stay inside one padded word
                    continue
                h = s3 + np.uint64(stream[s]) * p2 + np.uint64(stream[s + 1]) * _P + np.uint64(stream[s + 2])
                out[n_out] = _mix(h, n_features, shift)
                n_out += 1
            continue
        for s in range(0, m - n + 1):
            if n == 1 and stream[s] == _SPACE:
                continue
            interior_space = False
            for k in range(1, n - 1):
                if stream[s + k] == _SPACE:
                    interior_space = True
                    break
            if interior_space:
                continue
            h = seeds[n]
            for k in range(n):
                h = h * _P + np.uint64(stream[s + k])
            out[n_out] = _mix(h, n_features, shift)
            n_out += 1
    return n_out


@numba.njit(inline="always")
def count_buckets(  # pragma: no cover - compiled
    seq: np.ndarray,
    n: int,
    keys: np.ndarray,
    pos: np.ndarray,
    idx: np.ndarray,
    cnt: np.ndarray,
    start: int,
) -> tuple[int, int]:
    """Distinct buckets of ``seq[:n]`` and their counts into ``idx`` / ``cnt`` from ``start`` on, in order of first
    occurrence; returns ``(end, mask)``.

    ``keys`` (at least ``_table_size(n)`` long) then maps a bucket to its slot ``(bucket + i) & mask`` and
    ``pos[slot]`` to its position in ``idx``.
    """
    mask = _table_size(n) - 1
    keys[: mask + 1] = -1
    end = start
    for j in range(n):
        end = _add(seq[j], keys, pos, mask, idx, cnt, end)
    return end, mask


@numba.njit(parallel=True, nogil=True, cache=True)
def hash_terms_kernel(  # pragma: no cover - compiled
    cp: np.ndarray,
    offsets: np.ndarray,
    table: np.ndarray,
    n_features: np.int64,
    shift: np.uint64,
    sort: bool,
    tasks: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Term buckets of documents ``cp[offsets[d]:offsets[d+1]]``: CSR ``(indptr, indices, counts)``.

    Rows list each distinct bucket once, sorted when ``sort`` (else in order of first occurrence).
    """
    n_docs = offsets.shape[0] - 1
    idx = np.empty(cp.shape[0], dtype=np.int32)  # a document has at most as many terms as code points
    cnt = np.empty(cp.shape[0], dtype=np.float32)
    nnz = np.zeros(n_docs, dtype=np.int64)
    bounds = _blocks(n_docs, tasks)
    longest = 1
    for d in range(n_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    for blk in numba.prange(bounds.shape[0] - 1):
        seq = np.empty(longest, dtype=np.int32)
        keys = np.empty(_table_size(longest), dtype=np.int32)  # per-document hash table of distinct buckets
        pos = np.empty(keys.shape[0], dtype=np.int64)
        for d in range(bounds[blk], bounds[blk + 1]):
            lo, hi = offsets[d], offsets[d + 1]
            n = term_buckets(cp, lo, hi, table, n_features, shift, seq)
            end, _ = count_buckets(seq, n, keys, pos, idx, cnt, lo)
            if sort:
                _sort_row(idx, cnt, lo, end)
            nnz[d] = end - lo
    return _compact(offsets, nnz, idx, cnt)


@numba.njit(parallel=True, nogil=True, cache=True)
def hash_ngrams_kernel(  # pragma: no cover - compiled
    cp: np.ndarray,
    offsets: np.ndarray,
    table: np.ndarray,
    n_features: np.int64,
    shift: np.uint64,
    sort: bool,
    tasks: int,
    n_lo: int,
    n_hi: int,
    seeds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``char_wb`` n-gram buckets (``n_lo <= n <= n_hi``) of every document: CSR ``(indptr, indices, counts)``.

    ``seeds[n]`` is the initial hash value of an n-gram of length ``n``. Rows as in :func:`hash_terms_kernel`.
    """
    n_docs = offsets.shape[0] - 1
    widths = n_hi - n_lo + 1
    # slot of document d: (length + 2) stream characters, at most that many n-grams per n
    slots = np.empty(n_docs + 1, dtype=np.int64)
    slots[0] = 0
    longest = 0
    for d in range(n_docs):
        slots[d + 1] = slots[d] + (offsets[d + 1] - offsets[d] + 2) * widths
        longest = max(longest, offsets[d + 1] - offsets[d] + 2)
    idx = np.empty(slots[n_docs], dtype=np.int32)
    cnt = np.empty(slots[n_docs], dtype=np.float32)
    nnz = np.zeros(n_docs, dtype=np.int64)
    bounds = _blocks(n_docs, tasks)
    for blk in numba.prange(bounds.shape[0] - 1):
        seq = np.empty(longest * widths, dtype=np.int32)
        keys = np.empty(_table_size(seq.shape[0]), dtype=np.int32)
        pos = np.empty(keys.shape[0], dtype=np.int64)
        stream = np.empty(longest, dtype=np.uint32)
        for d in range(bounds[blk], bounds[blk + 1]):
            m = padded_stream(cp, offsets[d], offsets[d + 1], table, stream)
            n = ngram_buckets(stream, m, n_features, shift, n_lo, n_hi, seeds, seq)
            end, _ = count_buckets(seq, n, keys, pos, idx, cnt, slots[d])
            if sort:
                _sort_row(idx, cnt, slots[d], end)
            nnz[d] = end - slots[d]
    return _compact(slots, nnz, idx, cnt)


@numba.njit(nogil=True, cache=True)
def _compact(  # pragma: no cover - compiled
    slots: np.ndarray, nnz: np.ndarray, idx: np.ndarray, cnt: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move each document's ``nnz[d]`` values written at ``slots[d]`` to the front, in place: CSR arrays.

    In place (``indptr[d] <= slots[d]``, so a forward copy never overwrites what it has still to move): the
    scratch arrays become the output, which saves allocating and first touching a second array of that size.
    Returns ``(indptr, idx, cnt)`` with the whole scratch arrays; only their first ``indptr[-1]`` values count.
    """
    n_docs = nnz.shape[0]
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    for d in range(n_docs):
        src, dst = slots[d], indptr[d]
        if src != dst:
            for k in range(nnz[d]):
                idx[dst + k] = idx[src + k]
                cnt[dst + k] = cnt[src + k]
        indptr[d + 1] = dst + nnz[d]
    return indptr, idx, cnt


@numba.njit(nogil=True, cache=True)
def utf8_codepoints_kernel(data: np.ndarray, n_cp: int) -> np.ndarray:  # pragma: no cover - compiled
    """Code points of valid UTF-8 ``data`` (what ``bytes.decode("utf-8")`` then ``ord`` of each character gives).

    ``n_cp`` is the number of code points (the bytes that are not continuation bytes ``10xxxxxx``). Arrow string
    arrays hold valid UTF-8 only, so no byte sequence is checked here.
    """
    out = np.empty(n_cp, dtype=np.uint32)
    i, k, n = 0, 0, data.shape[0]
    while i < n:
        b = np.uint32(data[i])
        if b < 0x80:
            out[k] = b
            i += 1
        elif b < 0xE0:
            out[k] = ((b & 0x1F) << 6) | (np.uint32(data[i + 1]) & 0x3F)
            i += 2
        elif b < 0xF0:
            out[k] = ((b & 0x0F) << 12) | ((np.uint32(data[i + 1]) & 0x3F) << 6) | (np.uint32(data[i + 2]) & 0x3F)
            i += 3
        else:
            out[k] = (
                ((b & 0x07) << 18)
                | ((np.uint32(data[i + 1]) & 0x3F) << 12)
                | ((np.uint32(data[i + 2]) & 0x3F) << 6)
                | (np.uint32(data[i + 3]) & 0x3F)
            )
            i += 4
        k += 1
    return out
