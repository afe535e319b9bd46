"""Score, rank and evaluate a fitted run on query-aligned Dask partitions (``eval`` / ``rerank --engine dask``).

Each partition is scored by the run's own :meth:`~smar_ltr.serving.model.SmarModel.score` on the worker; metrics
are computed per query there (:func:`smar_ltr.metrics.ranking.evaluate_per_query`) and reduced as sums and counts, so
the mean over queries equals :func:`smar_ltr.metrics.ranking.evaluate` on the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smar_ltr.distributed.partitions import check_query_aligned
from smar_ltr.metrics.ranking import evaluate_per_query
from smar_ltr.page_table.schema import MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE
from smar_ltr.serving.model import SmarModel
from smar_ltr.serving.ranking import rerank

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client


def _rerank_part(part: pd.DataFrame, model: SmarModel) -> pd.DataFrame:
    """One partition scored and ranked (``map_partitions`` passes the partition first, :func:`rerank` takes the
    model first)."""
    return rerank(model, part)


def rerank_dask(model: SmarModel, frame: dd.DataFrame, client: Client) -> dd.DataFrame:
    """``frame`` with ``score`` and ``rank`` per partition (queries must not straddle partitions); the scores
    are those of :func:`smar_ltr.pipeline.rerank` on the whole table."""
    check_query_aligned(frame, what="the input pages")
    shared = client.scatter(model, broadcast=True)
    meta = frame._meta.reset_index(drop=True).assign(score=np.float64(0.0), rank=np.int64(0)).iloc[:0]
    return frame.map_partitions(_rerank_part, shared, meta=meta)


def _metric_sums(part: pd.DataFrame, model: SmarModel, metrics: list[str]) -> pd.DataFrame:
    prepared = model.prepare(part)
    scores = model.score_features(prepared, model.featurize(prepared))
    per_query = evaluate_per_query(
        prepared[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan),
        scores,
        prepared[QID].to_numpy(),
        metrics,
        modality=prepared[MODALITY].astype(str).to_numpy(),
        reference=prepared[UPSTREAM_SCORE].to_numpy(dtype=float, na_value=np.nan),
    )
    return pd.DataFrame(
        {"sum": per_query.sum(skipna=True), "count": per_query.notna().sum(), "queries": len(per_query)}
    )


def evaluate_dask(
    model: SmarModel, frame: dd.DataFrame, client: Client, metrics: Sequence[str] | None = None
) -> tuple[dict[str, float], int]:
    """Mean of each metric over the queries of ``frame`` scored by ``model``, and the number of queries."""
    with client.as_current():
        check_query_aligned(frame, what="the evaluation pages")
    names = list(metrics or model.config.metrics)
    shared = client.scatter(model, broadcast=True)
    parts = client.compute(frame.to_delayed())
    sums = client.gather([client.submit(_metric_sums, p, shared, names, pure=False) for p in parts if p is not None])
    total = sum(s["sum"] for s in sums)
    count = sum(s["count"] for s in sums)
    n_queries = int(sum(int(s["queries"].iloc[0]) for s in sums if len(s)))
    return {m: float(total[m] / count[m]) if count[m] else float("nan") for m in names}, n_queries
