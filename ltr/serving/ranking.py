"""Scores and ranks of a fitted model on a page table (what ``smar-ltr rerank`` writes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smar_ltr.core.numba_kernels import ranks_in_blocks
from smar_ltr.page_table.query_groups import block_starts
from smar_ltr.page_table.schema import QID
from smar_ltr.serving.model import SmarModel

__all__ = ["rank_within_query", "rerank"]


def rerank(model: SmarModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Score and rank a page table with a fitted model.

    Returns
    -------
    DataFrame
        A copy of ``frame`` with ``score`` (float) and ``rank`` (1 = top within its query; ties keep input order).
    """
    prepared, scores = model.prepare_and_score(frame)
    out = frame.reset_index(drop=True)  # a new frame: adding columns below leaves the caller's untouched
    out["score"] = scores
    out["rank"] = rank_within_query(prepared[QID], scores)
    return out


def rank_within_query(qid: np.ndarray | pd.Series, scores: np.ndarray) -> np.ndarray:
    """1-based rank of each row within its query by score descending, ties in input order.

    ``qid`` may be a Series (a validated frame's string column factorises without conversion to Python objects).
    """
    codes = pd.factorize(pd.Series(qid))[0]
    scores = np.asarray(scores, dtype=np.float64)
    starts = block_starts(codes)
    if len(starts) == codes.max(initial=-1) + 1:  # rows of a query contiguous (a validated table): sort each block
        return ranks_in_blocks(scores, np.append(starts, len(codes)))
    order = np.lexsort((-scores, codes))  # lexsort is stable: tied scores keep input order
    ranks = np.empty(len(scores), dtype=np.int64)
    sorted_codes = codes[order]
    starts = block_starts(sorted_codes)
    pos = np.arange(len(order)) - np.repeat(starts, np.diff(np.concatenate([starts, [len(order)]])))
    ranks[order] = pos + 1
    return ranks
