"""Within-modality agreement of a ranking with the single-modal orders (``modal_agreement`` / ``modal_tau``).

Definition in :mod:`smar_ltr.metrics.ranking`; moved out of it unchanged. Pairs are compared in bounded-memory blocks
of at most :data:`PAIR_BLOCK` array elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.errors import ConfigError
from smar_ltr.metrics.inputs import as_float, as_keys, check_length
from smar_ltr.metrics.per_query import size_buckets

__all__ = ["PAIR_BLOCK", "modal_accuracy"]

#: Most array elements one block of the modal pair comparison may hold (bounds its memory to tens of MB).
PAIR_BLOCK = 1 << 21


def modal_accuracy(
    codes: np.ndarray, n_queries: int, score: np.ndarray, modality: Any, reference: Any, key: str
) -> np.ndarray:
    """Per-query pairwise accuracy against the single-modal order (:mod:`smar_ltr.metrics.ranking`); NaN if not
    eligible."""
    if modality is None or reference is None:
        raise ConfigError(
            f"metric {key!r} needs modality= and reference= (per-row modality and single-modal score g^m)"
        )
    n = codes.shape[0]
    modality = as_keys(modality)
    check_length(modality, n, "modality")
    ref = as_float(reference, "reference")
    check_length(ref, n, "reference")
    mod_codes, uniques = pd.factorize(modality)
    rows = np.flatnonzero((mod_codes >= 0) & ~np.isnan(ref))
    n_mod = max(len(uniques), 1)
    group_key = codes[rows] * n_mod + mod_codes[rows]
    order = np.argsort(group_key, kind="stable")
    rows, group_key = rows[order], group_key[order]
    keys, starts, sizes = np.unique(group_key, return_index=True, return_counts=True)
    agree = np.zeros(len(keys))
    pairs = np.zeros(len(keys))
    for size, groups in size_buckets(sizes):
        if size < 2:
            continue
        members = rows[starts[groups, None] + np.arange(size)]
        s_mat, r_mat = score[members], ref[members]
        for i, j in _pair_blocks(size):
            step = max(1, PAIR_BLOCK // len(i))
            for a in range(0, len(groups), step):
                si, sj = s_mat[a : a + step][:, i], s_mat[a : a + step][:, j]
                ri, rj = r_mat[a : a + step][:, i], r_mat[a : a + step][:, j]
                counted = ri != rj
                same_order = ((si > sj) & (ri > rj)) | ((si < sj) & (ri < rj))
                agree[groups[a : a + step]] += same_order.sum(axis=1) + 0.5 * (counted & (si == sj)).sum(axis=1)
                pairs[groups[a : a + step]] += counted.sum(axis=1)
    eligible = pairs > 0
    query = keys[eligible] // n_mod
    total = np.bincount(query, weights=agree[eligible] / pairs[eligible], minlength=n_queries)
    count = np.bincount(query, minlength=n_queries)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _pair_blocks(size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Index pairs ``i < j`` of a list of ``size`` items, in blocks of about :data:`PAIR_BLOCK` pairs."""
    rows_per_block = max(1, PAIR_BLOCK // size)
    for a in range(0, size - 1, rows_per_block):
        b = min(size - 1, a + rows_per_block)
        i, j = np.nonzero(np.arange(a, b)[:, None] < np.arange(size)[None, :])
        yield i + a, j
