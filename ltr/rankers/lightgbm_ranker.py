"""LightGBM backend: native ``lambdarank`` or a callable SMAR objective; models saved as LightGBM text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from smar_ltr.errors import ArtifactError, ConfigError
from smar_ltr.page_table.query_groups import QueryGroups
from smar_ltr.rankers.base import GBDTRanker


class LightGBMRanker(GBDTRanker):
    """LambdaMART with LightGBM (``objective="lambdarank"``, Burges 2010), or any ``grad, hess`` objective."""

    backend = "lightgbm"
    suffix = ".txt"
    concurrent_predict = True

    def lightgbm_params(self, objective: Any) -> dict[str, Any]:
        """The ``lightgbm.train`` parameters of this ranker, with ``objective`` (default ``lambdarank``)."""
        params: dict[str, Any] = {
            "objective": objective if objective is not None else "lambdarank",
            "metric": "ndcg",
            "eval_at": [self.eval_at],
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "num_threads": self.n_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        params.update(self.params or {})
        return params

    def _fit(self, X: np.ndarray, y: np.ndarray, groups: QueryGroups, valid: Any, objective: Any, pairs: Any) -> None:
        label = np.zeros_like(y) if objective is not None else groups.sort(y)
        train = lgb.Dataset(groups.sort(X), label=label, group=groups.lightgbm_group(), free_raw_data=True)
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Any] = []
        params = self.lightgbm_params(objective)
        feval = None
        if valid is not None:
            vx, vy, vg, metric = valid
            label = vg.sort(np.zeros_like(vy) if metric is not None else vy)
            valid_sets = [lgb.Dataset(vg.sort(vx), label=label, group=vg.lightgbm_group(), reference=train)]
            if metric is not None:
                params["metric"] = "None"
                feval = lambda preds, _ds: ("eval_metric", metric(vg.unpermute(preds)), False)  # noqa: E731
            if self.early_stopping_rounds > 0:
                callbacks.append(lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False))
        try:
            self.booster_ = lgb.train(
                params,
                train,
                feval=feval,
                num_boost_round=self.n_estimators,
                valid_sets=valid_sets,
                valid_names=["valid"] if valid_sets else None,
                callbacks=callbacks,
            )
        except lgb.basic.LightGBMError as exc:
            first = str(exc).splitlines()[0][:160]
            if "num_features" in first:  # every feature filtered out: too few rows for min_data_in_leaf
                raise ConfigError(
                    f"LightGBM cannot train on these {len(y)} rows ({first}); with min_data_in_leaf="
                    f"{self.min_data_in_leaf} no feature can split so few rows: lower reranker.min_data_in_leaf "
                    "(or single_modal.min_data_in_leaf), or give it more pages"
                ) from None
            raise ConfigError(f"LightGBM refused to train: {first}; check the GBDT settings (params)") from None
        best = self.booster_.best_iteration
        self.best_iteration_ = int(best) if best and best > 0 else self.booster_.current_iteration()

    def _predict(self, X: np.ndarray, n_threads: int | None = None) -> np.ndarray:
        threads: dict[str, Any] = {} if n_threads is None else {"num_threads": n_threads}
        return np.asarray(self.booster_.predict(X, num_iteration=self.best_iteration_, raw_score=True, **threads))

    def _tree_scores(self, X: np.ndarray) -> np.ndarray:
        booster = self.booster_
        return np.stack(
            [booster.predict(X, start_iteration=k, num_iteration=1, raw_score=True) for k in range(booster.num_trees())]
        )

    def _split_features(self) -> set[int]:
        counts = self.booster_.feature_importance("split", iteration=self.best_iteration_)
        return {int(i) for i in np.flatnonzero(counts > 0)}

    def _save_model(self, path: Path) -> None:
        self.booster_.save_model(str(path), num_iteration=self.best_iteration_)

    def _load_model(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8", errors="replace")
        if "\nend of trees\n" not in text:  # LightGBM aborts the process on a truncated model instead of raising
            raise ArtifactError(
                f"model file {path.name!r} is not a complete LightGBM model (truncated: no 'end of trees'); the "
                "run directory is corrupted: refit it"
            )
        self.booster_ = lgb.Booster(model_str=text)
        self.best_iteration_ = self.booster_.current_iteration()
