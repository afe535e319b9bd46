"""Group-by-size layout: stack equal-length query lists into dense matrices for vectorised per-list math.

Lists of one size ``s`` become an index matrix of shape ``(G_s, s)``; per-list operations (sorting, pairwise
differences, cumulative sums) then run as numpy operations over whole matrices, with no Python loop over
queries (only over the few distinct list sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SizeBlocks:
    """Row-index matrices of equal-sized contiguous groups.

    Attributes
    ----------
    blocks : list of ndarray
        ``blocks[b]`` has shape ``(G_b, s_b)``: row positions of the ``G_b`` groups of size ``s_b``.
    group_ids : list of ndarray
        ``group_ids[b]`` has shape ``(G_b,)``: the group number of each matrix row.
    """

    blocks: list[np.ndarray]
    group_ids: list[np.ndarray]

    @classmethod
    def from_offsets(cls, offsets: np.ndarray, rows: np.ndarray | None = None) -> SizeBlocks:
        """Build blocks from group offsets (shape ``(n_groups + 1,)``) over ``rows`` (default ``arange``)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        sizes = np.diff(offsets)
        rows = np.arange(offsets[-1], dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        blocks, ids = [], []
        for s in np.unique(sizes):
            if s == 0:
                continue
            gids = np.flatnonzero(sizes == s)
            idx = offsets[gids][:, None] + np.arange(s)[None, :]
            blocks.append(rows[idx])
            ids.append(gids)
        return cls(blocks=blocks, group_ids=ids)

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> SizeBlocks:
        """Build blocks from per-row group codes (rows of a group need not be contiguous; input order kept)."""
        codes = np.asarray(codes, dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        return cls.from_offsets(offsets, rows=order)
