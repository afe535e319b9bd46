"""What every dataset adapter returns: the page table split by role, and the one seeded query split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def split_queries(qids: Sequence[Any] | np.ndarray, fractions: Sequence[float], seed: Any) -> list[np.ndarray]:
    """Seeded split of distinct query ids into groups of the given fractions (the rest forms the last group).

    Every split of queries in smar-ltr goes through here, so a query's rows are never on two sides.

    Parameters
    ----------
    qids : sequence
        Query ids (duplicates allowed; each distinct id goes to exactly one group).
    fractions : sequence of float
        Shares of the leading groups; each group gets ``round(share * n)`` queries, and the remainder forms a
        final extra group.
    seed : int or sequence of int
        Seed of the permutation (``numpy.random.default_rng``).

    Returns
    -------
    list of ndarray
        ``len(fractions) + 1`` arrays of distinct ids.
    """
    unique = np.asarray(pd.unique(pd.Series(np.asarray(qids))))
    order = np.random.default_rng(seed).permutation(len(unique))
    shuffled = unique[order]
    out: list[np.ndarray] = []
    start = 0
    for share in fractions:
        count = round(share * len(unique))
        out.append(shuffled[start : start + count])
        start += count
    out.append(shuffled[start:])
    return out


@dataclass(frozen=True)
class PageSplits:
    """A dataset as smar-ltr uses it: page tables split into the four roles of the SMAR protocol.

    Attributes
    ----------
    name : str
        Registry name of the dataset (``synthetic``, ``letor``, ``baidu``, ...).
    single_modal : DataFrame
        Single-modal pool: lists of one modality each with ``modal_label``; trains the single-modal rankers.
        Empty when the dataset ships ``upstream_score`` (then that stage is skipped).
    train : DataFrame
        Page pool: whole pages with ``page_label`` (revealed only within the annotation budget).
    valid : DataFrame or None
        Validation pages (early stopping, model selection, tuning).
    test : DataFrame
        Test pages, with ``page_label`` for evaluation.
    modal_features : dict of str to list of str
        Per modality, the numeric columns that form that modality's own feature view (single-modal ranker input).
    page_features : list of str
        Dataset-provided numeric columns the whole-page reranker may use.
    info : dict
        Source, licence, citation, ``simulated`` flag and notes, for reports.
    """

    name: str
    single_modal: pd.DataFrame
    train: pd.DataFrame
    valid: pd.DataFrame | None
    test: pd.DataFrame
    modal_features: dict[str, list[str]] = field(default_factory=dict)
    page_features: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def has_upstream_scores(self) -> bool:
        """True when pages ship ``upstream_score`` and the single-modal stage can be skipped."""
        return "upstream_score" in self.train.columns and bool(self.train["upstream_score"].notna().all())

    def modalities(self) -> list[str]:
        """Modalities seen in the page pool, sorted."""
        frames = [f for f in (self.train, self.valid, self.test) if f is not None]
        return sorted(set().union(*(set(f["modality"].astype(str).unique()) for f in frames)))
