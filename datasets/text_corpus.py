"""A small fixed pseudo-word vocabulary and vectorised text assembly for the synthetic simulator.

The vocabulary does not depend on any seed, so the same word means the same thing in every generated
dataset. It has three parts:

* **topic words**: ``n_topics`` blocks of :data:`WORDS_PER_TOPIC` pseudo-words (``"kavoru"``, ``"tesimba"``,
  ...), block ``t`` belongs to topic ``t``;
* **common words**: :data:`N_COMMON_WORDS` pseudo-words shared by all topics (filler, no signal);
* **intent words**: real English words that reveal a preferred modality (``"video"``, ``"watch"``,
  ``"photos"``, ``"how"``, ...), see :data:`INTENT_WORDS`.

Texts are built as integer token-id matrices and joined in one vectorised pass (pyarrow list join), so a
million titles take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Pseudo-words per topic block.
WORDS_PER_TOPIC = 24
#: Common filler words shared by all topics.
N_COMMON_WORDS = 300
#: Words that reveal a query's preferred modality; a modality without an entry uses its own name.
INTENT_WORDS: dict[str, tuple[str, ...]] = {
    "web": ("how", "what", "guide", "tips"),
    "image": ("photos", "pictures", "images", "wallpaper"),
    "video": ("video", "watch", "clip", "tutorial"),
    "llm": ("why", "explain", "meaning", "summary"),
}

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "ch", "sh", "tr", "br")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")


@lru_cache(maxsize=8)
def pseudo_words(n: int) -> tuple[str, ...]:
    """The first ``n`` words of a fixed sequence of distinct pronounceable pseudo-words (seed independent)."""
    rng = np.random.default_rng(20251016)
    words: dict[str, None] = {}
    reserved = {w for ws in INTENT_WORDS.values() for w in ws}
    while len(words) < n:
        n_syll = rng.integers(2, 4, size=4 * n)
        onsets = rng.integers(0, len(_ONSETS), size=(4 * n, 3))
        vowels = rng.integers(0, len(_VOWELS), size=(4 * n, 3))
        for k, s in enumerate(n_syll):
            w = "".join(_ONSETS[onsets[k, j]] + _VOWELS[vowels[k, j]] for j in range(s))
            if w not in reserved:
                words.setdefault(w)
            if len(words) == n:
                break
    return tuple(words)


@dataclass(frozen=True)
class Vocabulary:
    """Token ids of the synthetic corpus.

    Attributes
    ----------
    words : pyarrow.StringArray
        All words; a token id indexes into it.
    n_topics : int
        Number of topic blocks.
    common_start : int
        First id of the common words (topic words are ``0 .. n_topics * WORDS_PER_TOPIC - 1``).
    intent_ids : dict of str to ndarray
        Token ids of each modality's intent words.
    """

    words: pa.Array
    n_topics: int
    common_start: int
    intent_ids: dict[str, np.ndarray]

    @classmethod
    def build(cls, n_topics: int, modalities: tuple[str, ...]) -> Vocabulary:
        """The vocabulary for ``n_topics`` topics and the given modalities' intent words."""
        n_pseudo = n_topics * WORDS_PER_TOPIC + N_COMMON_WORDS
        words = list(pseudo_words(n_pseudo))
        intent_ids: dict[str, np.ndarray] = {}
        for m in modalities:
            start = len(words)
            words.extend(INTENT_WORDS.get(m, (m,)))
            intent_ids[m] = np.arange(start, len(words))
        return cls(pa.array(words, type=pa.string()), n_topics, n_topics * WORDS_PER_TOPIC, intent_ids)

    def topic_words(self, topics: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One topic word per entry of ``topics`` (any shape); early words of a block are more frequent."""
        skew = np.floor(WORDS_PER_TOPIC * rng.random(np.shape(topics)) ** 2).astype(np.int64)
        return np.asarray(topics, dtype=np.int64) * WORDS_PER_TOPIC + skew

    def common_words(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Uniformly drawn common (filler) words."""
        return self.common_start + rng.integers(0, N_COMMON_WORDS, size=shape)


def compact_tokens(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the valid (``>= 0``) tokens of each row to the front, keeping their order.

    Parameters
    ----------
    ids : ndarray of shape (n_rows, max_len)
        Token ids, ``-1`` for an empty slot.

    Returns
    -------
    ids : ndarray of shape (n_rows, max_len)
        Compacted ids (empty slots last).
    lengths : ndarray of shape (n_rows,)
        Number of valid tokens per row.
    """
    order = np.argsort(ids < 0, axis=1, kind="stable")
    out = np.take_along_axis(ids, order, axis=1)
    return out, (ids >= 0).sum(axis=1)


def join_tokens(vocab: Vocabulary, ids: np.ndarray, lengths: np.ndarray, n_rows: int, rows: np.ndarray) -> pd.Series:
    """Join token-id rows into space-separated strings, vectorised.

    Parameters
    ----------
    vocab : Vocabulary
        Maps ids to words.
    ids : ndarray of shape (len(rows), max_len)
        Token ids; only the first ``lengths[k]`` of row ``k`` are used.
    lengths : ndarray of shape (len(rows),)
        Tokens per row.
    n_rows : int
        Length of the output; rows not listed in ``rows`` get the empty string.
    rows : ndarray of int, ascending
        Output positions of the rows of ``ids``.

    Returns
    -------
    Series of str, length ``n_rows``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    mask = np.arange(ids.shape[1])[None, :] < lengths[:, None]
    flat = ids[mask]
    all_lengths = np.zeros(n_rows, dtype=np.int64)
    all_lengths[rows] = lengths
    offsets = np.concatenate([[0], np.cumsum(all_lengths)])
    offset_type = pa.int32() if offsets[-1] < np.iinfo(np.int32).max else pa.int64()
    list_type = pa.ListArray if offset_type == pa.int32() else pa.LargeListArray
    tokens = vocab.words.take(pa.array(flat, type=pa.int64()))
    lists = list_type.from_arrays(pa.array(offsets, type=offset_type), tokens)
    return pd.Series(pd.array(pc.binary_join(lists, " "), dtype="str"))
