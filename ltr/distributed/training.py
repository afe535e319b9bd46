"""GBDT training on Dask: ``xgboost.dask.train`` and LightGBM's ``DaskLGBMRanker``, wrapped as project rankers.

The result of every function is an ordinary :class:`~smar_ltr.rankers.GBDTRanker` (booster, feature names,
best iteration), so a run fitted on a cluster is saved, loaded and scored exactly like a single-machine one.

* XGBoost uses the parameters of :class:`~smar_ltr.rankers.xgboost_ranker.XGBoostRanker` unchanged, native
  ``rank:ndcg`` for the single-modal rankers and the SMAR objective (:class:`PartitionObjective`) for the
  reranker, with early stopping on NDCG of the Dask validation set.
* LightGBM's Dask ranker takes a callable objective (4.x) but cannot early-stop (LightGBM issue #4493): it
  trains ``n_estimators`` rounds and keeps them all.

Training runs under a watch: if a worker leaves the cluster, or the call outlives ``timeout`` seconds, it ends
with a :class:`~smar_ltr.errors.ClusterError` instead of hanging on a collective that will never complete.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from smar_ltr.config import GBDTConfig
from smar_ltr.errors import ClusterError, ConfigError
from smar_ltr.rankers import GBDTRanker, make_ranker
from smar_ltr.rankers.lightgbm_ranker import LightGBMRanker
from smar_ltr.rankers.xgboost_ranker import XGBoostRanker

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

T = TypeVar("T")

#: Seconds a single training call may take before it is abandoned (override per call).
DEFAULT_TIMEOUT = 3600.0


def watched(client: Client, fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run ``fn()`` in a thread; fail fast when a worker leaves the cluster or ``timeout`` passes."""
    workers = set(client.ncores())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"smar-{what}", daemon=True)
    thread.start()
    start, misses = time.monotonic(), 0
    while thread.is_alive():
        thread.join(0.5)
        now = set(client.ncores())
        misses = 0 if workers <= now else misses + 1
        if misses >= 6:  # gone for 3 s, not a missed heartbeat
            raise ClusterError(
                f"Dask worker {sorted(workers - now)[0]} left the cluster during {what}; check its memory limit and "
                "logs, then run again"
            )
        if time.monotonic() - start > timeout:
            raise ClusterError(f"{what} did not finish within {timeout:.0f} s; check the workers or raise the timeout")
    if "error" in box:
        err = box["error"]
        if isinstance(err, ConfigError | ClusterError):
            raise err
        line = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise ClusterError(f"{what} failed on the cluster: {type(err).__name__}: {line}") from None
    return box["value"]


def _xgb_ranker(booster: Any, names: list[str], cfg: GBDTConfig, seed: int, early: bool) -> GBDTRanker:
    ranker = make_ranker("xgboost", **cfg.ranker_kwargs(seed))
    booster.feature_names = None  # the single-machine ranker trains and predicts on unnamed float32 matrices
    booster.feature_types = None
    ranker.booster_ = booster  # type: ignore[attr-defined]
    best = getattr(booster, "best_iteration", None)
    ranker.best_iteration_ = int(best) + 1 if early and best is not None else booster.num_boosted_rounds()
    ranker.feature_names_in_ = list(names)
    ranker.n_features_in_ = len(names)
    return ranker


def xgboost_dask(
    client: Client,
    cfg: GBDTConfig,
    seed: int,
    X: dd.DataFrame,
    *,
    label: dd.Series | None = None,
    qid: dd.Series | None = None,
    keys: dd.DataFrame | None = None,
    valid: tuple[dd.DataFrame, dd.Series, dd.Series] | None = None,
    objective: Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> GBDTRanker:
    """Train an XGBoost ranker with ``xgboost.dask.train``.

    Parameters
    ----------
    X : dask DataFrame
        Features, query-aligned partitions.
    label, qid : dask Series, optional
        Graded labels and non-decreasing integer query codes (native ``rank:ndcg``).
    keys : dask DataFrame, optional
        ``part, row`` row keys (:func:`~smar_ltr.distributed.objective.row_keys`) for a custom objective.
    valid : (X, y, qid), optional
        Validation set for early stopping on NDCG@``eval_at``.
    objective : callable, optional
        ``(preds, local_dmatrix) -> (grad, hess)``, e.g. :class:`PartitionObjective`.
    """
    import xgboost as xgb
    from xgboost import dask as dxgb
    from xgboost.collective import Config

    params = XGBoostRanker(**cfg.ranker_kwargs(seed)).xgboost_params(objective is not None)
    params.pop("nthread", None)  # one XGBoost thread per Dask worker thread
    bounds = {}
    if keys is not None:
        bounds = {"label_lower_bound": keys["part"], "label_upper_bound": keys["row"]}
    names = list(X.columns)
    # names given explicitly so that a worker without rows builds its empty DMatrix with them too
    dtrain = dxgb.DaskDMatrix(client, X, label=label, qid=qid, missing=np.nan, feature_names=names, **bounds)
    evals = []
    if valid is not None:
        vx, vy, vq = valid
        evals = [(dxgb.DaskDMatrix(client, vx, label=vy, qid=vq, missing=np.nan, feature_names=names), "valid")]
    early = bool(evals) and cfg.early_stopping_rounds > 0

    def run() -> Any:
        with xgb.config_context(verbosity=0):
            return dxgb.train(
                client,
                params,
                dtrain,
                num_boost_round=cfg.n_estimators,
                evals=evals or None,
                obj=objective,
                early_stopping_rounds=cfg.early_stopping_rounds if early else None,
                verbose_eval=False,
                coll_cfg=Config(timeout=int(timeout)),
            )

    out = watched(client, run, timeout, "XGBoost training")
    return _xgb_ranker(out["booster"], names, cfg, seed, early)


def lightgbm_dask(
    client: Client,
    cfg: GBDTConfig,
    seed: int,
    X: dd.DataFrame,
    label: dd.Series,
    group: Any,
    *,
    weight: dd.Series | None = None,
    objective: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> GBDTRanker:
    """Train a LightGBM ranker with ``lightgbm.dask.DaskLGBMRanker`` (no early stopping: LightGBM #4493).

    ``group`` is a dask array of query sizes per partition; a callable ``objective(labels, preds, weight,
    group)`` receives each worker's local rows.
    """
    from lightgbm.dask import DaskLGBMRanker

    base = LightGBMRanker(**cfg.ranker_kwargs(seed))
    params = base.lightgbm_params(objective)
    for key in ("eval_at", "metric", "num_threads"):
        params.pop(key, None)
    model = DaskLGBMRanker(client=client, n_estimators=cfg.n_estimators, **params)

    def run() -> Any:
        return model.fit(X, label, sample_weight=weight, group=group)

    watched(client, run, timeout, "LightGBM training")
    ranker = base
    ranker.booster_ = model.booster_  # type: ignore[attr-defined]
    ranker.best_iteration_ = model.booster_.current_iteration()
    ranker.feature_names_in_ = list(X.columns)
    ranker.n_features_in_ = len(X.columns)
    return ranker


def query_code_series(part: pd.DataFrame, offset: int, qid_col: str) -> pd.Series:
    """Integer query codes ``offset + first-appearance code`` of a partition (non-decreasing across partitions)."""
    codes, _ = pd.factorize(part[qid_col], sort=False)
    return pd.Series(codes.astype(np.int64) + int(offset), index=part.index, name="qid_code")
