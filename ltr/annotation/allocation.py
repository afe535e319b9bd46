"""How a budget is spread: per-(query, modality) lists and largest-remainder allocation (method.md 2.2).

The global allowance ``B = max(1, floor(p * N))`` is split over queries proportionally to their size, then over
each query's modalities (see :mod:`smar_ltr.annotation.budget` for the rules); every step is vectorised over lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from smar_ltr.errors import PageTableError
from smar_ltr.page_table.schema import MODALITY, QID


@dataclass(frozen=True, eq=False)
class ModalLists:
    """Rows grouped into per-(query, modality) lists, each sorted by a key descending (ties: input order).

    List ``c = query_code * n_modalities + modality_code``; every (query, modality) combination has a list id,
    empty ones have size 0. All arrays are numpy; nothing loops over lists.

    Attributes
    ----------
    order : ndarray of int64, shape (n_rows,)
        Row positions list by list (list id ascending), best first within a list.
    cell : ndarray of int64, shape (n_rows,)
        List id of each row (input order).
    rank : ndarray of int64, shape (n_rows,)
        0-based position of each row within its list.
    starts, sizes : ndarray of int64, shape (n_queries * n_modalities,)
        Offset of each list in ``order`` and its length.
    query_codes, modality_codes : ndarray of int64, shape (n_rows,)
        Query code (first-appearance order) and modality code (sorted names) of each row.
    n_queries, n_modalities : int
    modality_names : tuple of str
        Modality of each code.
    """

    order: np.ndarray
    cell: np.ndarray
    rank: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    query_codes: np.ndarray
    modality_codes: np.ndarray
    n_queries: int
    n_modalities: int
    modality_names: tuple[str, ...] = ()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, key: np.ndarray | None = None) -> ModalLists:
        """Lists of a table with ``qid`` and ``modality``, sorted by ``key`` descending (or input order)."""
        for col in (QID, MODALITY):
            if col not in frame.columns:
                raise PageTableError(f"page table is missing column {col!r}; it is needed to group rows into lists")
        qcodes, _ = pd.factorize(frame[QID], sort=False)
        mcodes, names = pd.factorize(frame[MODALITY].astype(str), sort=True)
        if (qcodes < 0).any() or (mcodes < 0).any():
            col = QID if (qcodes < 0).any() else MODALITY
            raise PageTableError(f"page table column {col!r} has a missing value; every row needs one")
        lists = cls.from_codes(qcodes, mcodes, key, len(names))
        return replace(lists, modality_names=tuple(map(str, names)))

    @classmethod
    def from_codes(
        cls, query_codes: np.ndarray, modality_codes: np.ndarray, key: np.ndarray | None, n_modalities: int
    ) -> ModalLists:
        """Lists from dense codes; ``key`` (shape ``(n_rows,)``) sorts each list descending, ties by row."""
        q = np.asarray(query_codes, dtype=np.int64)
        m = np.asarray(modality_codes, dtype=np.int64)
        n_queries = int(q.max()) + 1 if q.size else 0
        cell = q * n_modalities + m
        if key is None:
            order = np.argsort(cell, kind="stable")
        else:
            order = np.lexsort((np.arange(cell.shape[0]), -np.asarray(key, dtype=np.float64), cell))
        sizes = np.bincount(cell, minlength=n_queries * n_modalities).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        rank = np.empty_like(cell)
        rank[order] = np.arange(cell.shape[0]) - starts[cell[order]]
        return cls(order, cell, rank, starts, sizes, q, m, n_queries, n_modalities)


def global_allowance(budget: float, n_rows: int) -> int:
    """The global judgement cap ``max(1, floor(p * n_rows))`` (1e-12 relative tolerance for float error)."""
    return max(1, math.floor(budget * n_rows * (1.0 + 1e-12)))


def largest_remainder(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer ``totals`` over columns proportionally to ``weights`` (Hamilton's largest remainder).

    Parameters
    ----------
    totals : ndarray of int, shape (R,)
        Amount to split per row.
    weights : ndarray, shape (R, C)
        Non-negative weights; integer weights are split with exact integer arithmetic.

    Returns
    -------
    ndarray of int64, shape (R, C)
        Each row sums to its total when the row has a positive weight (else all zeros); columns of weight 0
        get 0; remainder ties go to the lower column index.
    """
    totals = np.asarray(totals, dtype=np.int64)
    w = np.asarray(weights)
    wsum = w.sum(axis=1, keepdims=True)
    safe = np.where(wsum > 0, wsum, 1)
    if np.issubdtype(w.dtype, np.integer):
        num = totals[:, None] * w.astype(np.int64)
        base = num // safe
        frac = (num - base * safe) / safe
    else:
        exact = totals[:, None] * (w / safe)
        base = np.floor(exact + 1e-9)
        frac = exact - base
    base = np.where(w > 0, base, 0).astype(np.int64)
    leftover = np.maximum(totals - base.sum(axis=1), 0)
    frac = np.where(w > 0, frac, -np.inf)
    by_frac = np.argsort(-frac, axis=1, kind="stable")
    place = np.empty_like(by_frac)
    np.put_along_axis(place, by_frac, np.arange(w.shape[1])[None, :].repeat(w.shape[0], axis=0), axis=1)
    return base + ((place < leftover[:, None]) & (w > 0))


def allocate(
    lists: ModalLists,
    allowance: int,
    modality_shares: np.ndarray | None = None,
    per_query: np.ndarray | None = None,
) -> np.ndarray:
    """Per-list judgement counts: ``allowance`` over queries by size, then over modalities (module docstring).

    Parameters
    ----------
    lists : ModalLists
        The per-(query, modality) lists.
    allowance : int
        Global cap ``B`` (at most the number of rows).
    modality_shares : ndarray of float, shape (n_modalities,), or None
        Relative share per modality code; ``None`` means proportional to list length.

    Returns
    -------
    ndarray of int64, shape (n_queries * n_modalities,)
        Judgements per list; sums to at most ``allowance``, never over a list's length.
    """
    cap = lists.sizes.reshape(lists.n_queries, lists.n_modalities)
    if per_query is None:  # given: already split over a larger table (the Dask engine)
        per_query = largest_remainder(np.array([allowance]), cap.sum(axis=1)[None, :])[0]
    weight = cap if modality_shares is None else np.broadcast_to(modality_shares, cap.shape) * (cap > 0)
    alloc = np.zeros_like(cap)
    remaining = per_query.copy()
    active = (cap > 0) & (weight > 0)
    for _ in range(lists.n_modalities + 1):  # each round fills at least one list or spends all
        take = np.minimum(largest_remainder(remaining, np.where(active, weight, 0)), cap - alloc)
        alloc += take
        remaining -= take.sum(axis=1)
        active &= alloc < cap
        if not ((remaining > 0) & active.any(axis=1)).any():
            break
    return alloc.reshape(-1)
