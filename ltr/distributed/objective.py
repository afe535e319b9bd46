"""The SMAR objective on a Dask worker, rebuilt from the rows the worker holds.

``xgboost.dask.train`` calls a custom objective with each worker's *local* DMatrix, whose rows are the worker's
partitions concatenated in an order of XGBoost's choosing. Every row carries its key in two float fields a
custom objective does not use: ``label_lower_bound`` = partition number, ``label_upper_bound`` = row within the
partition (both exact in float32 below 2**24). On its first call :class:`PartitionObjective` reads the keys,
fetches the annotated rows of those partitions (page labels revealed by the budget, single-modal scores,
modalities, inferred labels) from the cluster, sorts its rows into table order, builds the revealed-label
groups and the constraint pairs of those queries (:func:`smar_ltr.training.reranker.build_supervision`; pair sampling is
per query, so these are the single-machine pairs) and the :class:`~smar_ltr.training.objectives.SmarObjective` over
them. Each query lies in one partition, hence on one worker, so the local gradients are exactly the
single-machine gradients of those rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import Annotation
from smar_ltr.config import ConsistencyConfig
from smar_ltr.distributed.annotation import INFERRED, REVEALED
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import ITEM_ID, MODAL_LABEL, MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE
from smar_ltr.supervision.pairs import concat_pairs, empty_pairs
from smar_ltr.supervision.pool_pairs import pool_list_pairs
from smar_ltr.training.objectives import SmarObjective
from smar_ltr.training.reranker import Supervision, build_objective, build_supervision

PART_FIELD = "label_lower_bound"
ROW_FIELD = "label_upper_bound"
#: Marks the single-modal pool's rows appended to the training partitions (``consistency.pool_weight``).
POOL_ROW = "_smar_pool_row"
#: Columns of an annotated partition the objective needs.
SUPPORT_COLUMNS: tuple[str, ...] = (
    QID, ITEM_ID, MODALITY, UPSTREAM_SCORE, PAGE_LABEL, REVEALED, INFERRED, MODAL_LABEL, POOL_ROW,
)  # fmt: skip


def support_columns(part: pd.DataFrame) -> pd.DataFrame:
    """The columns of an annotated partition that the objective reads."""
    return part[[c for c in SUPPORT_COLUMNS if c in part.columns]].reset_index(drop=True)


def row_keys(part: pd.DataFrame, number: int) -> pd.DataFrame:
    """``(partition, row)`` key of every row of partition ``number``, as float32 columns."""
    n = len(part)
    if n >= 2**24 or number >= 2**24:
        raise DatasetError(
            f"partition {number} has {n} rows; the Dask engine keys rows in float32 (below 16,777,216 rows per "
            "partition and partitions): use smaller partitions"
        )
    return pd.DataFrame(
        {"part": np.full(n, number, dtype=np.float32), "row": np.arange(n, dtype=np.float32)}, index=part.index
    )


def local_supervision(frame: pd.DataFrame, cfg: ConsistencyConfig, seed: int) -> Supervision:
    """Revealed-label groups and constraint pairs of an annotated page table holding whole queries.

    Pool rows (:data:`POOL_ROW`, after every page row, as the training partitions are numbered) join with their
    own lists' pairs ordered by ``modal_label`` (:func:`smar_ltr.supervision.pool_pairs.pool_list_pairs`), as
    :meth:`smar_ltr.supervision.pool_pairs.PoolRows.appended_to` adds them on one machine.
    """
    pool = frame[POOL_ROW].fillna(False).to_numpy(dtype=bool) if POOL_ROW in frame.columns else None
    if pool is not None and pool.any():
        n_pages = int((~pool).sum())
        if pool[:n_pages].any():
            raise DatasetError("pool rows must follow every page row of the worker's partitions")
        pages = frame.iloc[:n_pages].reset_index(drop=True)
        if n_pages:
            sup = local_supervision(pages.drop(columns=[POOL_ROW]), cfg, seed)
        else:  # this worker holds pool partitions only
            none = np.zeros(0, dtype=np.int64)
            sup = Supervision(none, np.array([0]), np.zeros(0), empty_pairs(), empty_pairs())
        pairs = pool_list_pairs(frame.iloc[n_pages:].reset_index(drop=True), cfg, seed)
        shifted = pairs.assign(winner=pairs["winner"] + n_pages, loser=pairs["loser"] + n_pages)
        return dataclasses.replace(sup, intra=concat_pairs(sup.intra, shifted))
    mask = frame[REVEALED].to_numpy(dtype=bool)
    inferred = frame[INFERRED].to_numpy(dtype=np.float64, na_value=np.nan) if INFERRED in frame.columns else None
    annotation = Annotation(
        strategy="given",
        budget=1.0,
        mask=mask,
        revealed=frame.loc[mask, [QID]],
        labels_used=int(mask.sum()),
        oracle_calls=int(mask.sum()),
        allowance=int(mask.sum()),
        inferred_label=None if inferred is None or np.isnan(inferred).all() else inferred,
    )
    return build_supervision(frame, annotation, cfg, seed)


def local_objective(frame: pd.DataFrame, cfg: ConsistencyConfig, seed: int) -> SmarObjective:
    """The SMAR objective of an annotated page table holding whole queries (rows in table order)."""
    return build_objective(frame, local_supervision(frame, cfg, seed), cfg)


class PartitionObjective:
    """XGBoost custom objective ``(preds, dtrain) -> (grad, hess)`` for ``xgboost.dask.train``.

    Parameters
    ----------
    support : str
        Name of the published Dask dataset holding the futures of the annotated training partitions
        (:func:`support_columns` of each) in partition order; the client publishes it for the training call.
    consistency : ConsistencyConfig
        Loss weights and pair scheme.
    seed : int
        Seed of pair sampling.
    """

    def __init__(self, support: str, consistency: ConsistencyConfig, seed: int) -> None:
        self.support = support
        self.consistency = consistency
        self.seed = seed
        self._state: tuple[np.ndarray, SmarObjective] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_state": None}

    def fetch(self, numbers: np.ndarray) -> list[pd.DataFrame]:
        """The annotated partitions ``numbers`` (from whichever worker holds them)."""
        from distributed import get_client

        client = get_client()
        futures = client.get_dataset(self.support)
        return client.gather([futures[int(i)] for i in numbers])

    def build(self, part: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, SmarObjective]:
        """``(order, objective)``: local rows sorted into table order, and the objective over that order."""
        order = np.lexsort((row, part))
        numbers, counts = np.unique(part, return_counts=True)
        frames = self.fetch(numbers)
        for n, c, f in zip(numbers, counts, frames, strict=True):
            if len(f) != c:
                raise DatasetError(
                    f"a worker holds {c} of the {len(f)} rows of partition {int(n)}; "
                    "partitions must reach the trainer whole"
                )
        frame = pd.concat(frames, ignore_index=True)
        return order, local_objective(frame, self.consistency, self.seed)

    def gradients(
        self, preds: np.ndarray, keys: Callable[[], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian of the local rows in their local order; ``keys()`` reads ``(part, row)`` once."""
        if len(preds) == 0:  # a worker without training rows still takes part in every round
            return np.zeros(0), np.zeros(0)
        if self._state is None:
            self._state = self.build(*keys())
        order, objective = self._state
        g, h = objective.gradients(np.asarray(preds, dtype=np.float64).reshape(-1)[order])
        grad, hess = np.empty_like(g), np.empty_like(h)
        grad[order], hess[order] = g, h
        return grad, hess

    def __call__(self, preds: np.ndarray, dtrain: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.gradients(
            preds,
            lambda: (
                dtrain.get_float_info(PART_FIELD).astype(np.int64),
                dtrain.get_float_info(ROW_FIELD).astype(np.int64),
            ),
        )


class LightGBMPartitionObjective(PartitionObjective):
    """The same objective for ``DaskLGBMRanker``: ``(labels, preds, weight, group) -> (grad, hess)``.

    LightGBM has no spare float field, so the row key travels in ``label`` (partition number) and ``weight``
    (row within the partition + 1); a callable objective reads both and LightGBM itself uses neither.
    """

    def __call__(  # type: ignore[override]
        self, labels: np.ndarray, preds: np.ndarray, weight: np.ndarray, group: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.gradients(
            preds,
            lambda: (np.rint(np.asarray(labels)).astype(np.int64), np.rint(np.asarray(weight)).astype(np.int64) - 1),
        )
