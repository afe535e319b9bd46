"""Iso-label anchors: binary search along each modality's single-modal order (method.md 2.3, interpretation).

Within one (query, modality) list sorted by ``g^m`` descending, the page label is assumed non-increasing. For
a label level ``l`` the boundary ``k(l)`` is the last 0-based rank whose label is ``>= l`` (``-1`` when
none). The search keeps, per list and level, the bracket ``lo(l) <= k(l) < hi(l)``: ``lo(l)`` is the deepest
judged rank with label ``>= l`` (start ``-1``), ``hi(l)`` the shallowest judged rank with label ``< l``
(start ``n``). A level is *settled* when ``hi(l) - lo(l) <= 1``; then ``k(l) = lo(l)``.

Search order: every list takes part in every round, all lists at once (numpy, no loop over lists). In a round
a list picks the first unsettled level of ``levels`` (default: the highest label level down to 1, so the top
of the page is settled first), asks the oracle for the item at the bracket midpoint, and one answer ``v``
tightens *every* level (``lo(l) = max(lo(l), r)`` for ``l <= v``, ``hi(l) = min(hi(l), r)`` for
``l > v``). A list stops when all its levels are settled or its allowance is spent. An item strictly inside a
bracket was never judged, so every item is judged at most once; each level costs at most
``ceil(log2(n + 1))`` judgements, a list at most ``L * ceil(log2(n + 1))``.

What partial searches infer: a row at rank ``r`` is known to have label ``>= l`` when ``r <= lo(l)`` and
``< l`` when ``r >= hi(l)``. Its inferred label is ``T = max{l : r <= lo(l)}`` (0 if none) when every level
above ``T`` is known false, otherwise NaN (undetermined). With every level settled this is exactly
``y_hat = max{l : r <= k(l)}``. When labels are not monotone, brackets can cross (``lo >= hi``); the level
then counts as settled at ``lo`` and the inferred labels are wrong somewhere: measure it with
:func:`smar_ltr.annotation.budget.monotonicity_violation_rate`.

Unjudgeable items (an annotation campaign's skipped tasks, ``unjudgeable=``): when the midpoint item cannot be
judged, the search asks the nearest judgeable item strictly inside the same bracket instead (ties: the shallower
rank), so it continues around the gap; a level whose bracket interior holds no judgeable item stays open and is
searched no further. Without unjudgeable items the search is unchanged.

Anchors: for every settled level with ``k(l) >= 0``, the item at rank ``k(l)`` (the last item of label
``>= l``); anchors of equal level in different modalities of a query mark where their score scales mean the
same relevance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smar_ltr.errors import ConfigError, PageTableError

if TYPE_CHECKING:
    from smar_ltr.annotation.allocation import ModalLists


@dataclass(frozen=True, eq=False)
class IsoSearch:
    """State of the boundary search once it stopped.

    Attributes
    ----------
    lists : ModalLists
        The lists searched.
    levels : ndarray of int64, shape (L,)
        Label levels in search order.
    lo, hi : ndarray of int64, shape (n_lists, L)
        Final brackets ``lo(l) <= k(l) < hi(l)`` per list and level.
    judged : ndarray of bool, shape (n_rows,)
        Rows whose label the oracle gave.
    judged_label : ndarray of float, shape (n_rows,)
        The oracle's answer (NaN where not judged).
    spent : ndarray of int64, shape (n_lists,)
        Judgements per list.
    """

    lists: ModalLists
    levels: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    judged: np.ndarray
    judged_label: np.ndarray
    spent: np.ndarray

    @property
    def oracle_calls(self) -> int:
        """Number of items judged (each at most once)."""
        return int(self.judged.sum())

    @property
    def settled(self) -> np.ndarray:
        """Bool ``(n_lists, L)``: the level's boundary is known."""
        return (self.hi - self.lo) <= 1

    def inferred_label(self) -> np.ndarray:
        """Inferred label per row (input order); NaN where the search did not determine it (module docs)."""
        cell, rank = self.lists.cell, self.lists.rank[:, None]
        lev = self.levels[None, :]
        known_true = rank <= self.lo[cell]
        known_false = rank >= self.hi[cell]
        t = np.where(known_true, lev, 0).max(axis=1, initial=0)
        determined = np.all(known_false | (lev <= t[:, None]), axis=1)
        return np.where(determined, t, np.nan).astype(np.float64)

    def anchors(self, keys: pd.DataFrame) -> pd.DataFrame:
        """Boundary items: ``qid, item_id, modality`` (from ``keys``), ``label`` (the level) and ``row``.

        Rows are ordered by list (query, modality) and then in search order of the levels.
        """
        cells, j = np.nonzero(self.settled & (self.lo >= 0))
        rows = self.lists.order[self.lists.starts[cells] + self.lo[cells, j]]
        out = keys.iloc[rows].reset_index(drop=True)
        out["label"] = self.levels[j].astype(np.int64)
        out["row"] = rows.astype(np.int64)
        return out


def _check_levels(levels: Sequence[int]) -> np.ndarray:
    try:
        lev = np.asarray(list(levels), dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"iso-anchor levels must be positive integers, got {levels!r}") from None
    if lev.ndim != 1 or (lev.size and (np.any(lev < 1) or np.any(lev != np.round(lev)))):
        raise ConfigError(f"iso-anchor levels must be positive integers (label grades >= 1), got {list(levels)!r}")
    if np.unique(lev).size != lev.size:
        raise ConfigError(f"iso-anchor levels must be distinct, got {list(levels)!r}")
    return lev.astype(np.int64)


def _pool_leftover(lists: ModalLists, allowance: np.ndarray, spent: np.ndarray, open_any: np.ndarray) -> np.ndarray:
    """Move judgements that settled lists did not need to the unsettled lists of the same query.

    Each query keeps its total; the leftover is split equally (largest remainder, list order) among the query's
    unsettled lists, never beyond a list's length. Returns the new per-list allowance.
    """
    n_q, n_m = lists.n_queries, lists.n_modalities
    alloc = allowance.reshape(n_q, n_m).copy()
    used = spent.reshape(n_q, n_m)
    unsettled = open_any.reshape(n_q, n_m) & (used < lists.sizes.reshape(n_q, n_m))
    leftover = np.where(unsettled, 0, alloc - used).sum(axis=1)
    alloc = np.where(unsettled, alloc, used)
    for _ in range(n_m):  # each round fills at least one list or hands everything out
        room = np.where(unsettled, lists.sizes.reshape(n_q, n_m) - alloc, 0)
        takers = (room > 0).sum(axis=1)
        give = np.where(takers > 0, leftover // np.maximum(takers, 1), 0)
        extra = (leftover - give * takers)[:, None] > (np.cumsum(room > 0, axis=1) - 1)
        add = np.minimum(room, (give[:, None] + extra) * (room > 0))
        alloc += add
        leftover -= add.sum(axis=1)
        if not ((leftover > 0) & (takers > 0)).any():
            break
    return alloc.reshape(-1)


def search_boundaries(
    lists: ModalLists,
    allowance: np.ndarray,
    levels: Sequence[int],
    oracle: Callable[[np.ndarray], np.ndarray],
    pool: bool = True,
    unjudgeable: np.ndarray | None = None,
) -> IsoSearch:
    """Run the level-boundary binary search on every list at once (module docstring).

    Parameters
    ----------
    lists : ModalLists
        Per-(query, modality) lists sorted by single-modal score descending.
    allowance : ndarray of int, shape (n_lists,)
        Judgements each list may spend.
    levels : sequence of int
        Label levels ``>= 1`` in search order.
    oracle : callable
        ``oracle(rows) -> labels`` for an int64 array of row positions; called once per round with rows that
        were never asked before.
    pool : bool
        When a list settles with judgements to spare, give them to the unsettled lists of the same query
        (the query's total never grows). Without it, small budgets leave most boundaries open.
    unjudgeable : ndarray of bool, shape (n_rows,), optional
        Rows the oracle cannot judge; never asked (module docstring). Default: every row can be judged.

    Returns
    -------
    IsoSearch
    """
    lev = _check_levels(levels)
    n_rows, n_lists = lists.cell.shape[0], lists.sizes.shape[0]
    lo = np.full((n_lists, lev.size), -1, dtype=np.int64)
    hi = np.repeat(lists.sizes[:, None], lev.size, axis=1).astype(np.int64)
    judged = np.zeros(n_rows, dtype=bool)
    answer = np.full(n_rows, np.nan)
    spent = np.zeros(n_lists, dtype=np.int64)
    allowance = np.minimum(np.asarray(allowance, dtype=np.int64), lists.sizes)
    skip = np.zeros(n_rows, dtype=bool) if unjudgeable is None else np.asarray(unjudgeable, dtype=bool)
    if skip.shape != (n_rows,):
        raise ConfigError(f"unjudgeable must be a bool mask of the {n_rows} rows, got shape {skip.shape}")
    stuck = np.zeros((n_lists, lev.size), dtype=bool)  # levels whose bracket interior holds no judgeable item
    while True:
        _search_rounds(lists, lev, allowance, oracle, lo, hi, judged, answer, spent, skip, stuck)
        if not pool or not lev.size:
            break
        open_any = np.asarray((((hi - lo) > 1) & ~stuck).any(axis=1), dtype=bool)
        new = _pool_leftover(lists, allowance, spent, open_any)
        if not (new > allowance).any():
            break
        allowance = new
    return IsoSearch(lists=lists, levels=lev, lo=lo, hi=hi, judged=judged, judged_label=answer, spent=spent)


def _around_unjudgeable(lists, active, j, mid, lo, hi, skip, stuck) -> np.ndarray:
    """Move midpoints that fall on unjudgeable rows to the nearest judgeable rank inside their bracket (ties: the
    shallower); a bracket without one marks its level stuck. Returns the mask of lists that ask this round."""
    asks = np.ones(active.size, dtype=bool)
    for b in np.flatnonzero(skip[lists.order[lists.starts[active] + mid]]):
        c, level = active[b], j[b]
        ranks = np.arange(lo[c, level] + 1, hi[c, level])
        ranks = ranks[~skip[lists.order[lists.starts[c] + ranks]]]
        if not ranks.size:
            stuck[c, level], asks[b] = True, False
            continue
        mid[b] = ranks[np.lexsort((ranks, np.abs(ranks - mid[b])))[0]]
    return asks


def _search_rounds(lists, lev, allowance, oracle, lo, hi, judged, answer, spent, skip, stuck) -> None:
    """Binary-search rounds until every list is settled or out of allowance (updates the arrays in place)."""
    active = np.flatnonzero((allowance > 0) & (lists.sizes > 0))
    while active.size and lev.size:
        open_ = ((hi[active] - lo[active]) > 1) & ~stuck[active]
        keep = open_.any(axis=1) & (spent[active] < allowance[active])
        active, open_ = active[keep], open_[keep]
        if not active.size:
            break
        j = np.argmax(open_, axis=1)  # first unsettled level in search order
        mid = (lo[active, j] + hi[active, j]) // 2
        if skip.any():
            asks = _around_unjudgeable(lists, active, j, mid, lo, hi, skip, stuck)
            active, j, mid = active[asks], j[asks], mid[asks]
            if not active.size:
                continue
        rows = lists.order[lists.starts[active] + mid]
        if judged[rows].any():  # cannot happen: a bracket interior holds no judged item
            raise RuntimeError("iso-anchor search asked for an item twice")
        labels = np.asarray(oracle(rows.copy()), dtype=np.float64).reshape(-1)
        if labels.shape[0] != rows.shape[0]:
            raise ConfigError(f"oracle returned {labels.shape[0]} labels for {rows.shape[0]} items; one per item")
        if np.isnan(labels).any():
            bad = int(rows[np.flatnonzero(np.isnan(labels))[0]])
            raise PageTableError(
                f"iso-anchor asked for the page label of row {bad}, which is missing; label it or drop it"
            )
        judged[rows] = True
        answer[rows] = labels
        spent[active] += 1
        at_least = lev[None, :] <= labels[:, None]
        lo[active] = np.where(at_least, np.maximum(lo[active], mid[:, None]), lo[active])
        hi[active] = np.where(at_least, hi[active], np.minimum(hi[active], mid[:, None]))
