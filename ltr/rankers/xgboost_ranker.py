"""XGBoost backend: native ``rank:ndcg`` or ``xgb.train(obj=...)`` with the SMAR objective; JSON models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from smar_ltr.page_table.query_groups import QueryGroups
from smar_ltr.rankers.base import GBDTRanker


class XGBoostRanker(GBDTRanker):
    """LambdaMART with XGBoost (``rank:ndcg``, loss-guided ``hist`` trees with ``max_leaves = num_leaves``).

    ``min_data_in_leaf`` has no exact XGBoost counterpart; it is not mapped (``min_child_weight`` stays at its
    default). Extra XGBoost parameters go through ``params``.
    """

    backend = "xgboost"
    suffix = ".json"

    def xgboost_params(self, custom: bool) -> dict[str, Any]:
        """The ``xgboost.train`` parameters of this ranker; ``custom``: a custom objective replaces ``rank:ndcg``."""
        params: dict[str, Any] = {
            "tree_method": "hist",
            "grow_policy": "lossguide",
            "max_leaves": self.num_leaves,
            "max_depth": 0,
            "eta": self.learning_rate,
            "eval_metric": f"ndcg@{self.eval_at}",
            "nthread": self.n_threads,
            "seed": self.seed,
            "verbosity": 0,
        }
        if custom:
            params["base_score"] = 0.0
            params["disable_default_eval_metric"] = 1
        else:
            params["objective"] = "rank:ndcg"
        params.update(self.params or {})
        return params

    def _fit(self, X: np.ndarray, y: np.ndarray, groups: QueryGroups, valid: Any, objective: Any, pairs: Any) -> None:
        label = np.zeros_like(y) if objective is not None else groups.sort(y)
        dtrain = xgb.DMatrix(groups.sort(X), label=label, qid=groups.xgboost_qid(), missing=np.nan)
        evals = []
        custom_metric = None
        params = self.xgboost_params(objective is not None)
        if valid is not None:
            vx, vy, vg, metric = valid
            label = vg.sort(np.zeros_like(vy) if metric is not None else vy)
            evals = [(xgb.DMatrix(vg.sort(vx), label=label, qid=vg.xgboost_qid(), missing=np.nan), "valid")]
            if metric is not None:
                params["disable_default_eval_metric"] = 1
                params.pop("eval_metric", None)
                custom_metric = lambda preds, _d: ("eval_metric", metric(vg.unpermute(preds)))  # noqa: E731
        obj = None
        if objective is not None:
            obj = lambda preds, _d: objective(preds)  # noqa: E731 - adapter to xgboost's (preds, dmatrix) call
        self.booster_ = xgb.train(
            params,
            dtrain,
            custom_metric=custom_metric,
            maximize=False if custom_metric is not None else None,
            num_boost_round=self.n_estimators,
            evals=evals,
            obj=obj,
            early_stopping_rounds=self.early_stopping_rounds if evals and self.early_stopping_rounds > 0 else None,
            verbose_eval=False,
        )
        best = getattr(self.booster_, "best_iteration", None)
        self.best_iteration_ = int(best) + 1 if evals and best is not None else self.booster_.num_boosted_rounds()

    def _predict(self, X: np.ndarray, n_threads: int | None = None) -> np.ndarray:
        return self.booster_.predict(
            xgb.DMatrix(X, missing=np.nan), output_margin=True, iteration_range=(0, self.best_iteration_)
        )

    def _tree_scores(self, X: np.ndarray) -> np.ndarray:
        data = xgb.DMatrix(X, missing=np.nan)
        rounds = self.booster_.num_boosted_rounds()
        # each one-tree margin includes the base score: a constant per row that differences cancel
        return np.stack(
            [self.booster_.predict(data, output_margin=True, iteration_range=(k, k + 1)) for k in range(rounds)]
        )

    def _split_features(self) -> set[int]:
        booster = self.booster_
        if self.best_iteration_ < booster.num_boosted_rounds():
            booster = booster[: self.best_iteration_]
        split_on = booster.get_score(importance_type="weight")
        if booster.feature_names is not None:
            return {i for i, name in enumerate(booster.feature_names) if name in split_on}
        return {int(name[1:]) for name in split_on}  # unnamed columns: XGBoost calls column i "f<i>"

    def _save_model(self, path: Path) -> None:
        self.booster_[: self.best_iteration_].save_model(str(path))

    def _load_model(self, path: Path) -> None:
        self.booster_ = xgb.Booster()
        self.booster_.load_model(str(path))
        self.best_iteration_ = self.booster_.num_boosted_rounds()
