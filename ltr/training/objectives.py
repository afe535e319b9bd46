"""Backend-neutral SMAR objective: per-row gradients and Hessians of the whole-page training loss.

``L = L_page + lambda * sum_m beta_m L_m + mu L_cross`` (method.md 2.4):

* ``L_page``: LambdaMART over the revealed page labels (Burges, "From RankNet to LambdaRank to LambdaMART",
  MSR-TR-2010-82): pairwise logistic loss on ``(i, j)`` with ``y_i > y_j`` in the same query, weighted by
  ``|Delta NDCG_ij|`` at the current ranking, optionally with LightGBM's lambda normalisation.
* consistency pairs ``(i > j, weight w)`` (intra-modal, weight already ``beta_m``-scaled and averaged per list;
  cross-modal anchor pairs, weight ``mu``-scaled): smooth hinge ``(w / kappa) log(1 + exp(kappa (gamma - d)))``
  with ``d = s_i - s_j``; ``kappa = 1`` is the logistic surrogate, ``kappa -> inf`` the hinge
  ``w max(0, gamma - d)`` of the paper.
* listwise distillation (alternative to intra pairs): ListMLE (Xia et al., ICML 2008) over each
  (query, modality) list in single-modal order.

Every term returns exact derivatives of a stated loss (LambdaMART's with ``|Delta NDCG|`` held fixed) so each
has a finite-difference test. :class:`SmarObjective` adds them and floors the Hessian at ``hess_floor`` because
GBDT leaf values divide by it. All arrays are in *training row order* (queries contiguous).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smar_ltr.core.numba_kernels import lambdarank_kernel, pair_kernel, query_chunks
from smar_ltr.page_table.size_blocks import SizeBlocks
from smar_ltr.training.listwise_term import CHUNK_ELEMS as _CHUNK_ELEMS
from smar_ltr.training.listwise_term import ListwiseTerm


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


# ----------------------------------------------------------------------------------------------------------
# page term: LambdaMART on revealed labels
# ----------------------------------------------------------------------------------------------------------
@dataclass
class LambdaRankTerm:
    """LambdaMART gradients over labelled rows grouped by query.

    Parameters
    ----------
    offsets : ndarray of shape (n_queries + 1,)
        Query boundaries over ``rows``.
    rows : ndarray of shape (n_labelled,)
        Training-row positions of the labelled rows, grouped by query.
    labels : ndarray of shape (n_labelled,)
        Graded labels of those rows.
    sigma : float
        Sigmoid scale of the pairwise logistic loss.
    normalize : bool
        LightGBM's lambda normalisation (``lambdarank_norm``): ``|Delta NDCG|`` divided by ``0.01 + |s_a - s_b|``
        (when a query's scores are not all equal) and the per-query scale ``log2(1 + sum|lambda|) /
        sum|lambda|``. Makes the result no longer an exact gradient.
    truncation : int
        Only pairs where at least one item ranks within the top ``truncation`` contribute (LightGBM's
        ``lambdarank_truncation_level``).
    """

    offsets: np.ndarray
    rows: np.ndarray
    labels: np.ndarray
    sigma: float = 1.0
    normalize: bool = True
    truncation: int = 30
    _blocks: SizeBlocks = field(init=False, repr=False)
    _gains: list[np.ndarray] = field(init=False, repr=False)
    _inv_max_dcg: list[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._blocks = SizeBlocks.from_offsets(self.offsets)
        labels = np.asarray(self.labels, dtype=np.float64)
        self._rows64 = np.ascontiguousarray(self.rows, dtype=np.int64)
        self._offsets64 = np.ascontiguousarray(self.offsets, dtype=np.int64)
        self._row_gains = np.exp2(labels) - 1.0
        self._query_inv_max_dcg = np.zeros(self._offsets64.shape[0] - 1)
        self._gains, self._inv_max_dcg = [], []
        for idx in self._blocks.blocks:
            gains = np.exp2(labels[idx]) - 1.0
            s = idx.shape[1]
            disc = 1.0 / np.log2(np.arange(2, s + 2))
            ideal = -np.sort(-gains, axis=1)
            k = min(s, self.truncation)
            max_dcg = (ideal[:, :k] * disc[:k]).sum(axis=1)
            inv = np.where(max_dcg > 0, 1.0 / np.where(max_dcg > 0, max_dcg, 1.0), 0.0)
            self._gains.append(gains)
            self._inv_max_dcg.append(inv)
        for gids, inv in zip(self._blocks.group_ids, self._inv_max_dcg, strict=True):
            self._query_inv_max_dcg[gids] = inv

    def _block(self, scores: np.ndarray, b: int, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        """Reference numpy computation over one chunk of equal-sized queries (tests, loss)."""
        idx = self._blocks.blocks[b][lo:hi]
        gains = self._gains[b][lo:hi]
        inv = self._inv_max_dcg[b][lo:hi]
        s_mat = scores[self.rows[idx]]
        g, s = idx.shape
        order = np.argsort(-s_mat, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(s)[None, :].repeat(g, 0), axis=1)
        disc = 1.0 / np.log2(rank + 2.0)
        better = gains[:, :, None] > gains[:, None, :]  # pair (a, b) with y_a > y_b
        if self.truncation < s:
            top = rank < self.truncation
            better &= top[:, :, None] | top[:, None, :]
        delta_ndcg = (
            np.abs(gains[:, :, None] - gains[:, None, :])
            * np.abs(disc[:, :, None] - disc[:, None, :])
            * inv[:, None, None]
        )
        diff = s_mat[:, :, None] - s_mat[:, None, :]
        return idx, np.where(better, delta_ndcg, 0.0), diff

    def loss(self, scores: np.ndarray) -> float:
        """``sum |Delta NDCG_ab| log(1 + exp(-sigma (s_a - s_b)))`` over pairs with ``y_a > y_b``, with
        ``|Delta NDCG|`` held at the current ranking (so :meth:`add_to` without normalisation is its gradient)."""
        total = 0.0
        for b, idx_all in enumerate(self._blocks.blocks):
            step = max(1, _CHUNK_ELEMS // max(1, idx_all.shape[1] ** 2))
            for lo in range(0, idx_all.shape[0], step):
                _, w, diff = self._block(scores, b, lo, lo + step)
                total += float((w * _softplus(-self.sigma * diff)).sum())
        return total

    def reference_gradients(self, scores: np.ndarray, grad: np.ndarray, hess: np.ndarray, weight: float = 1.0) -> None:
        """The numpy implementation of :meth:`add_to` (kept to cross-check the compiled kernel)."""
        for b, idx_all in enumerate(self._blocks.blocks):
            step = max(1, _CHUNK_ELEMS // max(1, idx_all.shape[1] ** 2))
            for lo in range(0, idx_all.shape[0], step):
                idx, w, diff = self._block(scores, b, lo, lo + step)
                if self.normalize:
                    s_mat = scores[self.rows[idx]]
                    spread = (s_mat.max(axis=1) != s_mat.min(axis=1))[:, None, None]
                    w = np.where(spread, w / (0.01 + np.abs(diff)), w)
                rho = _sigmoid(-self.sigma * diff)
                lam = self.sigma * rho * w
                hes = self.sigma * self.sigma * rho * (1.0 - rho) * w
                g = -lam.sum(axis=2) + lam.sum(axis=1)
                h = hes.sum(axis=2) + hes.sum(axis=1)
                if self.normalize:
                    total = 2.0 * lam.sum(axis=(1, 2))
                    factor = np.where(total > 0, np.log2(1.0 + total) / np.where(total > 0, total, 1.0), 1.0)
                    g *= factor[:, None]
                    h *= factor[:, None]
                rows = self.rows[idx].ravel()
                grad[rows] += weight * g.ravel()  # rows are unique, so fancy += is exact
                hess[rows] += weight * h.ravel()

    def add_to(self, scores: np.ndarray, grad: np.ndarray, hess: np.ndarray, weight: float = 1.0) -> None:
        """Add ``weight`` times this term's gradient and Hessian into ``grad``/``hess`` (compiled kernel)."""
        lambdarank_kernel(
            np.ascontiguousarray(scores, dtype=np.float64),
            self._rows64,
            self._offsets64,
            self._row_gains,
            self._query_inv_max_dcg,
            float(self.sigma),
            bool(self.normalize),
            int(self.truncation),
            float(weight),
            grad,
            hess,
        )


# ----------------------------------------------------------------------------------------------------------
# pairwise consistency term
# ----------------------------------------------------------------------------------------------------------
@dataclass
class PairTerm:
    """Smooth-hinge loss over constructed preference pairs ``winner > loser``.

    Parameters
    ----------
    winner, loser : ndarray of shape (n_pairs,)
        Training-row positions.
    weight : ndarray of shape (n_pairs,)
        Pair weights (``beta_m`` / ``mu`` and per-list averaging already applied).
    gamma : float
        Margin: the loss wants ``s_winner - s_loser >= gamma``.
    kappa : float
        Smoothness; 1 is the logistic surrogate, large values approach the hinge.
    row_query : ndarray of shape (n_rows,), optional
        Query code of every training row; lets the kernel work on queries in parallel.
    """

    winner: np.ndarray
    loser: np.ndarray
    weight: np.ndarray
    gamma: float = 0.5
    kappa: float = 1.0
    row_query: np.ndarray | None = None

    def __post_init__(self) -> None:
        winner = np.asarray(self.winner, dtype=np.int64)
        loser = np.asarray(self.loser, dtype=np.int64)
        weight = np.asarray(self.weight, dtype=np.float64)
        if self.row_query is None:
            self._chunks = np.array([0, winner.shape[0]], dtype=np.int64)  # one sequential chunk
            self._w, self._l, self._pw = winner, loser, weight
            return
        query = np.asarray(self.row_query)[winner]
        order = np.argsort(query, kind="stable")  # group pairs by query so chunks never share rows
        self._w, self._l, self._pw = winner[order], loser[order], weight[order]
        self._chunks = query_chunks(query[order])

    def loss(self, scores: np.ndarray) -> float:
        """``sum_pairs w softplus(kappa (gamma - d)) / kappa`` (numpy)."""
        z = self.kappa * (self.gamma - (scores[self._w] - scores[self._l]))
        return float((self._pw * _softplus(z)).sum() / self.kappa)

    def reference_gradients(self, scores: np.ndarray, grad: np.ndarray, hess: np.ndarray, weight: float = 1.0) -> None:
        """The numpy implementation of :meth:`add_to` (kept to cross-check the compiled kernel)."""
        n = scores.shape[0]
        rho = _sigmoid(self.kappa * (self.gamma - (scores[self._w] - scores[self._l])))
        w = weight * self._pw
        g, h = w * rho, w * self.kappa * rho * (1.0 - rho)
        grad += np.bincount(self._l, g, minlength=n) - np.bincount(self._w, g, minlength=n)
        hess += np.bincount(self._w, h, minlength=n) + np.bincount(self._l, h, minlength=n)

    def add_to(self, scores: np.ndarray, grad: np.ndarray, hess: np.ndarray, weight: float = 1.0) -> None:
        """Add ``weight`` times the term's derivatives into ``grad``/``hess`` (compiled kernel)."""
        if self._w.size == 0:
            return
        pair_kernel(
            np.ascontiguousarray(scores, dtype=np.float64),
            self._w,
            self._l,
            self._pw,
            self._chunks,
            float(self.gamma),
            float(self.kappa),
            float(weight),
            grad,
            hess,
        )


# ----------------------------------------------------------------------------------------------------------
# the total objective
# ----------------------------------------------------------------------------------------------------------
@dataclass
class SmarObjective:
    """``L = page_weight * L_page + lam * L_consistency + L_cross`` as one callable (method.md 2.4).

    Parameters
    ----------
    n_rows : int
        Training rows (queries contiguous).
    page : LambdaRankTerm or None
        Page term on revealed labels.
    consistency : PairTerm or ListwiseTerm or None
        Single-modal consistency term (intra-modal pairs or listwise distillation).
    cross : PairTerm or None
        Cross-modal anchor pairs (weights already include ``mu``).
    lam : float
        Weight ``lambda`` of the consistency term.
    page_weight : float
        Weight of the page term (0 disables it: the "without page term" ablation).
    hess_floor : float
        Lower bound of every Hessian entry.
    """

    n_rows: int
    page: LambdaRankTerm | None = None
    consistency: PairTerm | ListwiseTerm | None = None
    cross: PairTerm | None = None
    lam: float = 1.0
    page_weight: float = 1.0
    hess_floor: float = 1e-6

    def gradients(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row gradient and Hessian at ``scores`` (shape ``(n_rows,)``)."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != self.n_rows:
            raise ValueError(f"objective built for {self.n_rows} rows got {scores.shape[0]} scores")
        grad = np.zeros(self.n_rows)
        hess = np.zeros(self.n_rows)
        for term, weight in self._terms():
            term.add_to(scores, grad, hess, weight)
        np.maximum(hess, self.hess_floor, out=hess)
        return grad, hess

    def _terms(self) -> list[tuple[LambdaRankTerm | PairTerm | ListwiseTerm, float]]:
        terms: list[tuple[LambdaRankTerm | PairTerm | ListwiseTerm, float]] = []
        if self.page is not None and self.page_weight > 0:
            terms.append((self.page, self.page_weight))
        if self.consistency is not None and self.lam > 0:
            terms.append((self.consistency, self.lam))
        if self.cross is not None:
            terms.append((self.cross, 1.0))
        return terms

    def loss(self, scores: np.ndarray) -> float:
        """Total loss at ``scores`` (the LambdaMART term with ``|Delta NDCG|`` at the current ranking)."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        return float(sum(w * term.loss(scores) for term, w in self._terms()))

    def __call__(self, scores: np.ndarray, _data: object = None) -> tuple[np.ndarray, np.ndarray]:
        """LightGBM / XGBoost callable-objective signature ``(preds, data) -> (grad, hess)``."""
        return self.gradients(scores)
