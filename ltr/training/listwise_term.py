"""Listwise distillation term of the SMAR objective (split from :mod:`smar_ltr.training.objectives`, which re-exports
it).

ListMLE (Xia et al., ICML 2008) over each (query, modality) list in single-modal order, as in the authors' code;
exact derivatives, tested by finite differences. (A KL variant left the product: it scored below ListMLE on both
real tasks of ``benchmarks/protocol.py``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smar_ltr.page_table.size_blocks import SizeBlocks

#: Bounded work per chunk of the (G, s, s) pairwise tensors, in elements.
CHUNK_ELEMS = 4_000_000


# ----------------------------------------------------------------------------------------------------------
# listwise distillation term
# ----------------------------------------------------------------------------------------------------------
@dataclass
class ListwiseTerm:
    """Listwise single-modal distillation within each (query, modality) list.

    Parameters
    ----------
    list_codes : ndarray of shape (n_rows,)
        Code of the (query, modality) list of each training row; ``-1`` for rows outside any list.
    reference : ndarray of shape (n_rows,)
        Single-modal scores ``g^m``.
    list_weight : ndarray of shape (n_lists,)
        Weight of each list (``beta_m``); each list's ListMLE is divided by its length.
    """

    list_codes: np.ndarray
    reference: np.ndarray
    list_weight: np.ndarray
    _blocks: SizeBlocks = field(init=False, repr=False)

    def __post_init__(self) -> None:
        codes = np.asarray(self.list_codes, dtype=np.int64)
        keep = np.flatnonzero(codes >= 0)
        ref = np.asarray(self.reference, dtype=np.float64)
        # order rows of each list by reference descending (ties: row order), lists by code
        order = keep[np.lexsort((keep, -ref[keep], codes[keep]))]
        sizes = np.bincount(codes[keep], minlength=len(self.list_weight))
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        self._blocks = SizeBlocks.from_offsets(offsets, rows=order)

    def add_to(self, scores: np.ndarray, grad: np.ndarray, hess: np.ndarray, weight: float = 1.0) -> None:
        """Add ``weight`` times the term's derivatives into ``grad``/``hess``."""
        self._compute(scores, grad, hess, weight)

    def loss(self, scores: np.ndarray) -> float:
        """The ListMLE loss, each list divided by its length and weighted by its ``list_weight``."""
        n = scores.shape[0]
        return self._compute(scores, np.zeros(n), np.zeros(n), 1.0)

    def _compute(self, scores: np.ndarray, grad: np.ndarray, hess: np.ndarray, weight: float) -> float:
        total = 0.0
        for idx_all, gids_all in zip(self._blocks.blocks, self._blocks.group_ids, strict=True):
            s = idx_all.shape[1]
            if s < 2:
                continue
            step = max(1, CHUNK_ELEMS // (s * s))
            for lo in range(0, idx_all.shape[0], step):
                idx, gids = idx_all[lo : lo + step], gids_all[lo : lo + step]
                total += self._lists(scores, idx, weight * self.list_weight[gids][:, None], grad, hess)
        return total

    def _lists(self, scores: np.ndarray, idx: np.ndarray, w: np.ndarray, grad: np.ndarray, hess: np.ndarray) -> float:
        """Derivatives of a stack of equal-length lists ``idx`` (rows in reference order); returns the loss."""
        s = idx.shape[1]
        f = scores[idx]
        # L = (1/s) sum_i [log Z_i - f_i] with Z_i = sum_{j>=i} exp f_j (rows of idx in g order).
        # dL/df_k = (1/s) (sum_{i<=k} P_ik - 1) with P_ik = exp(f_k - log Z_i) <= 1: computed in log space
        # so no term overflows however far apart the scores are.
        log_z = np.logaddexp.accumulate(f[:, ::-1], axis=1)[:, ::-1]
        upper = np.triu(np.ones((s, s), dtype=bool))  # i <= k
        p = np.where(upper, np.exp(np.minimum(f[:, None, :] - log_z[:, :, None], 0.0)), 0.0)
        g = (p.sum(axis=1) - 1.0) / s
        h = (p * (1.0 - p)).sum(axis=1) / s
        loss = ((log_z - f).sum(axis=1, keepdims=True) / s * w).sum()
        rows = idx.ravel()
        grad[rows] += (w * g).ravel()
        hess[rows] += (w * h).ravel()
        return float(loss)
