"""Client-side bookkeeping of partition futures, and the single-modal rankers of the Dask engine.

:class:`ClusterFutures` turns Dask DataFrames into per-partition futures and back; :func:`fit_single_modal_dask`
trains one native LambdaMART ranker per modality on the single-modal pool. Moved out of
:mod:`smar_ltr.distributed.fit` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from smar_ltr.config import GBDTConfig
from smar_ltr.core.progress import Progress
from smar_ltr.distributed.partition_ops import (
    column,
    columns,
    empty,
    held_out_queries,
    modalities,
    modality_qids,
    n_queries,
    rows_of,
    sizes_array,
    validated,
)
from smar_ltr.distributed.training import lightgbm_dask, query_code_series, xgboost_dask
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import MODAL_LABEL, QID
from smar_ltr.rankers import GBDTRanker

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future


__all__ = ["ClusterFutures", "fit_single_modal_dask", "group_sizes"]


def _same(part: Any) -> Any:
    return part


class ClusterFutures:
    """Futures bookkeeping on one client."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.alive: list[Future] = []  # collections built from futures do not keep them alive by themselves

    def parts(self, frame: dd.DataFrame) -> list[Future]:
        """Non-empty partitions of a Dask DataFrame as futures, in partition order."""
        return self.non_empty(self.client.compute(frame.to_delayed()))

    def non_empty(self, futures: list[Future]) -> list[Future]:
        """The futures whose partition has rows (order kept)."""
        sizes = self.client.gather(self.client.map(len, futures, pure=False))
        return [f for f, n in zip(futures, sizes, strict=True) if n > 0]

    def pin(self, parts: list[Future]) -> list[Future]:
        """Copies of ``parts`` with partition ``i`` held by worker ``i mod n`` (workers in address order).

        The training libraries build each worker's local matrix from the partitions it holds; where the scheduler
        happened to run a task would otherwise decide it, and with it the histogram bins and the model (two runs
        on the same data differed by up to 1.3 in score). Pinned, the same data on the same number of workers
        gives the same model.
        """
        workers = sorted(self.client.ncores())
        return [
            self.client.submit(_same, p, workers=[workers[i % len(workers)]], allow_other_workers=False, pure=False)
            for i, p in enumerate(parts)
        ]

    def frame(self, parts: list[Future]) -> Any:
        """Futures of pandas objects back to a Dask collection, pinned to workers (:meth:`pin`)."""
        import dask.dataframe as dd

        parts = self.pin(parts)
        self.alive.extend(parts)
        meta = self.client.submit(empty, parts[0], pure=False).result()
        return dd.from_delayed(parts, meta=meta, verify_meta=False)

    def map(self, fn: Callable[..., Any], parts: list[Future], *args: Any, **kwargs: Any) -> list[Future]:
        return [self.client.submit(fn, p, *args, pure=False, **kwargs) for p in parts]

    def query_codes(self, parts: list[Future]) -> list[Future]:
        counts = self.client.gather(self.map(n_queries, parts))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
        return [
            self.client.submit(query_code_series, p, int(o), QID, pure=False)
            for p, o in zip(parts, offsets, strict=True)
        ]


def _native_ranker(
    c: ClusterFutures,
    train: list[Future],
    valid: list[Future],
    cols: list[str],
    cfg: GBDTConfig,
    seed: int,
    timeout: float,
) -> GBDTRanker:
    """A native LambdaMART ranker on ``modal_label`` (single-modal stage)."""
    X, y = c.frame(c.map(columns, train, cols)), c.frame(c.map(column, train, MODAL_LABEL))
    if cfg.backend == "xgboost":
        vset = None
        if valid:
            vx, vy = c.frame(c.map(columns, valid, cols)), c.frame(c.map(column, valid, MODAL_LABEL))
            vset = (vx, vy, c.frame(c.query_codes(valid)))
        return xgboost_dask(
            c.client, cfg, seed, X, label=y, qid=c.frame(c.query_codes(train)), valid=vset, timeout=timeout
        )
    return lightgbm_dask(c.client, cfg, seed, X, y, group_sizes(c, train), timeout=timeout)


def group_sizes(c: ClusterFutures, parts: list[Future]) -> Any:
    import dask.array as da

    counts = c.client.gather(c.map(n_queries, parts))
    sizes = c.map(sizes_array, parts)
    return da.concatenate([da.from_delayed(s, shape=(n,), dtype=np.int64) for s, n in zip(sizes, counts, strict=True)])


def fit_single_modal_dask(
    c: ClusterFutures, pool: list[Future], modal_features: dict[str, list[str]], cfg: GBDTConfig, seed: int,
    timeout: float, say: Progress, valid_fraction: float = 0.2,
) -> dict[str, GBDTRanker]:  # fmt: skip
    """One ranker per modality on the single-modal pool, split as
    :func:`smar_ltr.rankers.single_modal.fit_single_modal`."""
    pool = c.map(validated, pool, MODAL_LABEL, "single-modal pool")
    names = sorted(set().union(*c.client.gather(c.map(modalities, pool))))
    models: dict[str, GBDTRanker] = {}
    for m in names:
        cols = modal_features.get(m)
        if not cols:
            raise DatasetError(f"modality {m!r} has no feature columns in modal_features; the dataset must list them")
        picked = c.client.submit(held_out_queries, valid_fraction, seed, *c.map(modality_qids, pool, m), pure=False)
        train = c.non_empty(c.map(rows_of, pool, m, picked, False))
        valid = c.non_empty(c.map(rows_of, pool, m, picked, True))
        say(f"single-modal ranker '{m}' on Dask: {len(train)} partitions, {len(cols)} features")
        models[m] = _native_ranker(c, train, valid, list(cols), cfg, seed, timeout)
    return models
