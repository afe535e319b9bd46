"""One place that turns a per-row ``qid`` into what each GBDT library wants.

LightGBM takes ``group`` sizes of contiguous blocks, XGBoost a per-row ``qid`` that must be sorted, CatBoost a
per-row ``group_id`` whose rows must be contiguous. :class:`QueryGroups` stable-sorts the rows once so every
query is one contiguous block (first-appearance order of queries, input order within a query), and
:meth:`QueryGroups.unpermute` puts predictions made in that order back into input order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smar_ltr.errors import PageTableError

#: LightGBM's hard limit on rows per query for ranking objectives.
LIGHTGBM_MAX_GROUP_ROWS = 10_000


def block_starts(codes: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts (0 first; empty for an empty array)."""
    codes = np.asarray(codes)
    if codes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))


@dataclass(frozen=True)
class QueryGroups:
    """Grouping of rows by query.

    Attributes
    ----------
    order : ndarray of shape (n_rows,)
        Row indices that make every query contiguous (stable: input order kept within a query; queries in
        order of first appearance).
    codes : ndarray of shape (n_rows,)
        Dense query code per input row, ``0 .. n_queries-1`` in first-appearance order.
    sizes : ndarray of shape (n_queries,)
        Rows per query, in code order (LightGBM's ``group``).
    labels : ndarray of shape (n_queries,)
        The original qid value of each code.
    """

    order: np.ndarray
    codes: np.ndarray
    sizes: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_qid(cls, qid: np.ndarray | pd.Series | list) -> QueryGroups:
        """Build the grouping from a per-row qid array (any hashable dtype)."""
        codes, uniques = pd.factorize(pd.Series(np.asarray(qid, dtype=object)), sort=False)
        if (codes < 0).any():
            raise PageTableError(
                f"qid has a missing value at row {int(np.flatnonzero(codes < 0)[0])}; every row needs a query id"
            )
        codes = codes.astype(np.int64)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
        return cls(order=order, codes=codes, sizes=sizes, labels=np.asarray(uniques, dtype=object))

    @property
    def n_queries(self) -> int:
        """Number of distinct queries."""
        return int(self.sizes.shape[0])

    @property
    def is_contiguous(self) -> bool:
        """True when the input rows are already grouped (``order`` is the identity)."""
        return bool(np.all(self.order == np.arange(self.order.shape[0])))

    @property
    def offsets(self) -> np.ndarray:
        """Start offset of each query in sorted order, shape (n_queries + 1,)."""
        return np.concatenate([[0], np.cumsum(self.sizes)])

    def lightgbm_group(self) -> np.ndarray:
        """Group sizes for ``lightgbm.Dataset(group=...)``, rows taken in :attr:`order`."""
        return self.sizes

    def xgboost_qid(self) -> np.ndarray:
        """Sorted per-row qid for ``xgboost.DMatrix(qid=...)``, rows taken in :attr:`order`."""
        return self.codes[self.order]

    def catboost_group_id(self) -> np.ndarray:
        """Per-row ``group_id`` for ``catboost.Pool``, rows taken in :attr:`order`."""
        return self.codes[self.order]

    def sort(self, array: np.ndarray) -> np.ndarray:
        """Take rows of ``array`` (input order) into grouped order."""
        return np.asarray(array)[self.order]

    def unpermute(self, sorted_values: np.ndarray) -> np.ndarray:
        """Put values computed in grouped order back into input order."""
        out = np.empty_like(np.asarray(sorted_values))
        out[self.order] = sorted_values
        return out

    def check_size_limit(self, limit: int = LIGHTGBM_MAX_GROUP_ROWS) -> None:
        """Raise :class:`PageTableError` when a query has more rows than ``limit``."""
        too_big = np.flatnonzero(self.sizes > limit)
        if too_big.size:
            i = int(too_big[0])
            raise PageTableError(
                f"query {self.labels[i]!r} has {int(self.sizes[i])} rows, over the limit of {limit} rows per "
                f"query (LightGBM's lambdarank limit); truncate long result lists (e.g. keep the top {limit} by "
                "position) before training"
            )
