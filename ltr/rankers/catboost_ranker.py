"""CatBoost backend: native ``YetiRank``, or ``PairLogit`` on explicit weighted pairs (the SMAR path).

CatBoost has no callable-objective hook fast enough for LambdaMART; its SMAR path turns every supervision
signal into explicit pairs (``Pool(pairs=..., pairs_weight=...)``): page-label pairs on the revealed subset,
intra-modal consistency pairs and cross-modal anchor pairs (built by :func:`smar_ltr.training.reranker.catboost_pairs`).
PairLogit is the smooth hinge with ``gamma=0, kappa=1``, which an unset margin becomes on CatBoost
(:data:`smar_ltr.config.MARGIN_DEFAULTS`); other values set explicitly, and listwise consistency, are refused
there with one clear error. Models are saved in CatBoost's ``cbm`` format.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from catboost import CatBoost, Pool

from smar_ltr.errors import ConfigError
from smar_ltr.page_table.query_groups import QueryGroups
from smar_ltr.rankers.base import GBDTRanker

#: Metadata CatBoost changes on every fit whatever the seed (measured on CatBoost 1.2.10); dropped before saving.
VOLATILE_METADATA = ("model_guid", "train_finish_time")


class CatBoostRanker(GBDTRanker):
    """YetiRank (Gulin et al. 2011) with CatBoost; depth ``ceil(log2(num_leaves))`` symmetric trees."""

    backend = "catboost"
    suffix = ".cbm"

    def _params(self, loss: str, has_valid: bool) -> dict[str, Any]:
        params: dict[str, Any] = {
            "loss_function": loss,
            "iterations": self.n_estimators,
            "learning_rate": self.learning_rate,
            "depth": max(1, min(16, math.ceil(math.log2(max(2, self.num_leaves))))),
            "thread_count": self.n_threads,
            "random_seed": self.seed,
            "eval_metric": f"NDCG:top={self.eval_at};hints=skip_train~true",
            "verbose": False,
            "allow_writing_files": False,
        }
        if has_valid and self.early_stopping_rounds > 0:
            params.update(od_type="Iter", od_wait=self.early_stopping_rounds, use_best_model=True)
        params.update(self.params or {})
        return params

    def _fit(self, X: np.ndarray, y: np.ndarray, groups: QueryGroups, valid: Any, objective: Any, pairs: Any) -> None:
        if objective is not None:
            raise ConfigError("the CatBoost backend takes SMAR supervision as explicit pairs, not a callable objective")
        if valid is not None and valid[3] is not None:
            raise ConfigError("the CatBoost backend early-stops on NDCG only; eval_metric needs lightgbm or xgboost")
        gid = groups.catboost_group_id()
        if pairs is not None:
            # pair row positions refer to input order; re-express them in the grouped order CatBoost sees
            inverse = np.empty_like(groups.order)
            inverse[groups.order] = np.arange(groups.order.shape[0])
            pair_arr = np.column_stack([inverse[pairs["winner"].to_numpy()], inverse[pairs["loser"].to_numpy()]])
            # PairLogit learns from the pairs alone, but CatBoost refuses a constant label column: when the
            # labels carry nothing, use each row's net pair wins (any non-constant column works).
            label = np.nan_to_num(groups.sort(y), nan=0.0)
            if np.all(label == label[0]):
                n = label.shape[0]
                label = (np.bincount(pair_arr[:, 0], minlength=n) - np.bincount(pair_arr[:, 1], minlength=n)).astype(
                    float
                )
            train = Pool(
                groups.sort(X),
                label=label,
                group_id=gid,
                pairs=pair_arr,
                pairs_weight=pairs["weight"].to_numpy(dtype=np.float64),
            )
            loss = "PairLogit"
        else:
            train = Pool(groups.sort(X), label=groups.sort(y), group_id=gid)
            loss = "YetiRank"
        eval_pool = None
        if valid is not None:
            vx, vy, vg, _ = valid
            eval_pool = Pool(vg.sort(vx), label=vg.sort(vy), group_id=vg.catboost_group_id())
        self.model_ = CatBoost(self._params(loss, eval_pool is not None))
        self.model_.fit(train, eval_set=eval_pool)
        self.best_iteration_ = int(self.model_.tree_count_)

    def _predict(self, X: np.ndarray, n_threads: int | None = None) -> np.ndarray:
        return self.model_.predict(X, prediction_type="RawFormulaVal")

    def _save_model(self, path: Path) -> None:
        # CatBoost writes a random model_guid and the training's wall-clock end time into the model's metadata;
        # without them two fits with the same seed give byte-identical .cbm files (neither is read back).
        metadata = self.model_.get_metadata()
        for key in VOLATILE_METADATA:
            if key in metadata:
                del metadata[key]
        self.model_.save_model(str(path), format="cbm")

    def _load_model(self, path: Path) -> None:
        self.model_ = CatBoost()
        self.model_.load_model(str(path), format="cbm")
        self.best_iteration_ = int(self.model_.tree_count_)
