"""Language-agnostic, compiled text hashing: terms and character n-grams to sparse count matrices.

Why not scikit-learn's ``HashingVectorizer``: its ``char_wb`` analyser builds n-grams in a Python loop per
document (measured: 2.3 s per 100k eight-word titles, so about 20 s per million on one core for one field),
too slow for the 1M-candidate budget. This module hands the Unicode code points of all documents (in chunks of
``_CHUNK_CHARS``) to the numba kernels of :mod:`smar_ltr.features.text_kernels`, which hash each document's
terms or n-grams and count them in a small per-document hash table, in parallel over documents (no global
sort). Tests check it against scikit-learn's ``char_wb`` n-gram counts and a plain-Python reference of the hash.

Normalisation, shared by both analysers: lower-case (``str.lower``), then every *separator* (whitespace, ASCII
punctuation, Latin-1 / general / CJK / full-width punctuation, symbols, emoji) splits the text.

* **terms** (:func:`hash_terms`): maximal runs of non-separator characters, except that every CJK ideograph or
  kana is a term on its own (Chinese and Japanese have no spaces; single characters are the usual
  segmenter-free unit). ``"Hello, 世界 2024!"`` -> ``hello``, ``世``, ``界``, ``2024``.
* **character n-grams** (:func:`hash_char_ngrams`): scikit-learn's ``char_wb`` semantics on the normalised
  text: each word is padded with one space on both sides and n-grams never span two words.
  ``"ab cd"`` with n = 2, 3 -> ``" a" "ab" "b " " c" "cd" "d " " ab" "ab " " cd" "cd "``.

Terms and n-grams are hashed (polynomial hash over code points, mod 2**64, then Fibonacci hashing) into
``n_features`` buckets, by default 2**18, so no vocabulary is stored and any fitted statistic is a fixed-size
array. Hash values are deterministic across processes and platforms (no Python ``hash``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from smar_ltr.features.text_kernels import (
    class_table,
    hash_ngrams_kernel,
    hash_terms_kernel,
    n_tasks,
    utf8_codepoints_kernel,
)

#: Default size of the hashed feature space.
DEFAULT_N_FEATURES = 2**18
_CHUNK_CHARS = 4_000_000  # code points per chunk: bounds temporary memory

# [start, end) ranges of non-ASCII separator code points; ASCII uses a lookup table.
_SEP_RANGES = np.array(
    [
        (0x80, 0xC0), (0xD7, 0xD8), (0xF7, 0xF8), (0x2000, 0x2070), (0x20A0, 0x20D0), (0x2100, 0x2C00),
        (0x3000, 0x3040), (0xFE30, 0xFE50), (0xFF00, 0xFF10), (0xFF1A, 0xFF21), (0xFF3B, 0xFF41),
        (0xFF5B, 0xFF66), (0x1F000, 0x1FB00),
    ],
    dtype=np.int64,
).ravel()  # fmt: skip
# [start, end) ranges of characters that are each a term of their own (CJK ideographs, kana, radicals).
_CJK_RANGES = np.array(
    [(0x2E80, 0x2FE0), (0x3040, 0x3100), (0x3100, 0x31C0), (0x3400, 0x4DC0), (0x4E00, 0xA000),
     (0xF900, 0xFB00), (0x20000, 0x2FA20)],
    dtype=np.int64,
).ravel()  # fmt: skip
_ASCII_SEP = np.array([not chr(c).isalnum() for c in range(128)], dtype=bool)


#: Class (word / separator / CJK) of every code point below ``0x30000``: the kernels' lookup table.
CHAR_CLASSES = class_table(_ASCII_SEP, _SEP_RANGES, _CJK_RANGES)


def bucket_shift(n_features: int) -> np.uint64:
    """Right shift of the Fibonacci hash for a power-of-two table (its top bits), else 0 (use a modulo)."""
    if n_features & (n_features - 1) == 0:
        return np.uint64(64 - max(n_features.bit_length() - 1, 1))
    return np.uint64(0)


def normalise_texts(texts: Sequence[str] | pd.Series | np.ndarray) -> pa.Array:
    """Lower-cased documents as one Arrow string array (missing values become empty documents)."""
    s = texts if isinstance(texts, pd.Series) else pd.Series(texts, dtype="str")
    if s.dtype != "str":
        s = s.astype("str")
    arr = pa.array(s)
    if isinstance(arr, pa.ChunkedArray):  # pragma: no cover - depends on the pandas storage
        arr = arr.combine_chunks()
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return pc.utf8_lower(pc.fill_null(arr, ""))


def _chunks(lengths: np.ndarray) -> list[tuple[int, int]]:
    """Split documents into ``[start, stop)`` chunks of about ``_CHUNK_CHARS`` code points each."""
    if len(lengths) == 0:
        return []
    cum = np.cumsum(lengths)
    cuts = np.searchsorted(cum, np.arange(_CHUNK_CHARS, int(cum[-1]) + 1, _CHUNK_CHARS), side="left") + 1
    edges = np.unique(np.concatenate([[0], np.minimum(cuts, len(lengths)), [len(lengths)]]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _codepoints(docs: pa.Array, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all documents concatenated, and each document's ``[start, end)`` offsets into them."""
    offsets = np.frombuffer(docs.buffers()[1], dtype=np.int64)[docs.offset : docs.offset + len(docs) + 1]
    data = docs.buffers()[2]
    lo, hi = int(offsets[0]), int(offsets[-1])
    cp_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=cp_offsets[1:])
    if data is None or hi == lo:
        return np.empty(0, dtype=np.uint32), cp_offsets
    raw = np.frombuffer(data, dtype=np.uint8, count=hi)[lo:hi]
    if hi - lo == int(cp_offsets[-1]):  # as many bytes as code points: all ASCII, each byte is its code point
        return raw.astype(np.uint32), cp_offsets
    return utf8_codepoints_kernel(raw, int(cp_offsets[-1])), cp_offsets


@dataclass(frozen=True)
class EncodedTexts:
    """Normalised documents as code points, in chunks of about ``_CHUNK_CHARS``: what the hashing kernels read.

    Encode a column once (:func:`encode_texts`) and hash it with both analysers: the normalisation and the
    conversion to code points are then paid once per distinct text, not once per analyser.
    """

    n_docs: int
    chunks: tuple[tuple[np.ndarray, np.ndarray], ...]  # (code points, offsets) per chunk

    def joined(self) -> tuple[np.ndarray, np.ndarray]:
        """All documents as one ``(code points, offsets)`` pair (the chunk itself when there is one)."""
        if len(self.chunks) == 1:
            return self.chunks[0]
        if not self.chunks:
            return np.empty(0, dtype=np.uint32), np.zeros(1, dtype=np.int64)
        cps = [cp for cp, _ in self.chunks]
        starts = np.cumsum([0] + [len(cp) for cp in cps[:-1]])
        offsets = [self.chunks[0][1]] + [off[1:] + s for (_, off), s in zip(self.chunks[1:], starts[1:], strict=True)]
        return np.concatenate(cps), np.concatenate(offsets)


def encode_texts(texts: Sequence[str] | pd.Series | np.ndarray) -> EncodedTexts:
    """Normalise ``texts`` (:func:`normalise_texts`) and convert them to code points, chunk by chunk."""
    docs = normalise_texts(texts)
    lengths = pc.utf8_length(docs).to_numpy(zero_copy_only=False).astype(np.int64)
    chunks = tuple(_codepoints(docs.slice(lo, hi - lo), lengths[lo:hi]) for lo, hi in _chunks(lengths))
    return EncodedTexts(len(docs), chunks)


def _encoded(texts: Sequence[str] | pd.Series | np.ndarray | EncodedTexts) -> EncodedTexts:
    return texts if isinstance(texts, EncodedTexts) else encode_texts(texts)


def _trimmed(values: np.ndarray, n: int, copy: bool) -> np.ndarray:
    """The first ``n`` values of a kernel's scratch array: a view, or a copy when asked or when that frees over
    half of it."""
    return values[:n].copy() if copy or 2 * n < len(values) else values[:n]


def _hash(
    docs: EncodedTexts, n_features: int, sort: bool, kernel: Callable[..., tuple[np.ndarray, ...]], *args: object
) -> sp.csr_matrix:
    """Run a hashing kernel over the chunks of ``docs`` and stack the CSR pieces."""
    if n_features < 2:
        raise ValueError(f"n_features must be at least 2, got {n_features}")
    parts = []
    exact = len(docs.chunks) > 1  # pieces to concatenate: free each chunk's scratch before hashing the next
    for cp, offsets in docs.chunks:
        shift = bucket_shift(n_features)
        ptr, idx, cnt = kernel(cp, offsets, CHAR_CLASSES, np.int64(n_features), shift, sort, n_tasks(), *args)
        parts.append((ptr, _trimmed(idx, int(ptr[-1]), exact), _trimmed(cnt, int(ptr[-1]), exact)))
    if len(parts) == 1:
        indptr, indices, data = parts[0]
    else:
        indptr = np.zeros(docs.n_docs + 1, dtype=np.int64)
        if parts:
            np.cumsum(np.concatenate([np.diff(p[0]) for p in parts]), out=indptr[1:])
        indices = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int32)
        data = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.float32)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(docs.n_docs, n_features))
    matrix.has_sorted_indices = sort  # rows hold each bucket once: canonical exactly when sorted
    return matrix


def hash_terms(
    texts: Sequence[str] | pd.Series | np.ndarray | EncodedTexts,
    n_features: int = DEFAULT_N_FEATURES,
    sort: bool = True,
) -> sp.csr_matrix:
    """Term counts of each document in a hashed space.

    Parameters
    ----------
    texts : sequence of str or EncodedTexts, length n_docs
        Documents; missing values count as empty. Pass :func:`encode_texts` of them to hash the same texts
        with both analysers without normalising them twice.
    n_features : int
        Number of hash buckets.
    sort : bool
        Sort each row's buckets (canonical format); ``False`` keeps them in order of first occurrence, which
        is faster and enough for order-free uses (every text feature).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_docs, n_features), float32
        Term counts, each bucket once per row (canonical format when ``sort``).
    """
    return _hash(_encoded(texts), n_features, sort, hash_terms_kernel)


def hash_char_ngrams(
    texts: Sequence[str] | pd.Series | np.ndarray | EncodedTexts,
    n_features: int = DEFAULT_N_FEATURES,
    ngram_range: tuple[int, int] = (2, 3),
    sort: bool = True,
) -> sp.csr_matrix:
    """Character n-gram counts (``char_wb`` semantics) of each document in a hashed space.

    Parameters
    ----------
    texts, n_features
        As in :func:`hash_terms`.
    ngram_range : (int, int)
        Smallest and largest n, both at least 1.
    sort : bool
        Sort each row's buckets (see :func:`hash_terms`).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_docs, n_features), float32
        n-gram counts, each bucket once per row (canonical format when ``sort``).
    """
    seeds = ngram_seeds(ngram_range)
    return _hash(_encoded(texts), n_features, sort, hash_ngrams_kernel, int(ngram_range[0]), int(ngram_range[1]), seeds)


def ngram_seeds(ngram_range: tuple[int, int]) -> np.ndarray:
    """Initial hash value of an n-gram of each length ``n`` up to ``ngram_range[1]`` (uint64, index ``n``).

    Raises
    ------
    ValueError
        ``ngram_range`` is not ``1 <= lo <= hi``.
    """
    lo, hi = int(ngram_range[0]), int(ngram_range[1])
    if lo < 1 or hi < lo:
        raise ValueError(f"ngram_range must satisfy 1 <= lo <= hi, got {ngram_range}")
    return np.array([(n * 0x100000001B3) % 2**64 for n in range(max(hi, 3) + 1)], dtype=np.uint64)
