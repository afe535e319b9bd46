"""One sklearn-style interface over the GBDT ranking backends.

``__init__`` only stores keyword arguments; ``fit(X, y, qid=...)`` validates and trains; fitted attributes end in
``_``; ``predict`` returns scores in input order. ``qid`` is per row (XGBoost's convention) and converted to each
library's grouping by :class:`smar_ltr.page_table.query_groups.QueryGroups`. A ranker trains either on its native
ranking
objective (LightGBM lambdarank, XGBoost rank:ndcg, CatBoost YetiRank) or on a custom SMAR objective
(:class:`smar_ltr.training.objectives.SmarObjective` for LightGBM/XGBoost; explicit weighted pairs for CatBoost).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from smar_ltr.core.coercion import plain
from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.page_table.query_groups import QueryGroups

#: Serialises predict calls of backends not known to be thread-safe (a lock object cannot live on an estimator:
#: those are cloned and pickled).
_PREDICT_LOCK = threading.Lock()


class NotFittedError(ConfigError, SklearnNotFittedError):
    """A model used before ``fit``: a :class:`~smar_ltr.errors.SmarError` that ``except NotFittedError`` of
    scikit-learn also catches (it lives here, not in :mod:`smar_ltr.errors`, which must not import scikit-learn).
    """


GradHess = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
EvalSet = tuple[Any, Any, Any]


def as_matrix(X: Any, feature_names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Float32 feature matrix and its column names (NaN allowed; inf rejected)."""
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        if feature_names is not None and list(feature_names) != names:
            missing = [f for f in feature_names if f not in names]
            if missing:
                raise PageTableError(f"feature column {missing[0]!r} is missing from the input; the model needs it")
            X = X[list(feature_names)]
            names = list(feature_names)
        arr = X.to_numpy(dtype=np.float32, na_value=np.nan)
    else:
        arr = np.asarray(X, dtype=np.float32)
        names = list(feature_names) if feature_names is not None else [f"f{i}" for i in range(arr.shape[1])]
    if arr.ndim != 2:
        raise PageTableError(f"features must be a 2-D table, got shape {arr.shape}")
    if np.isinf(arr).any():
        col = int(np.flatnonzero(np.isinf(arr).any(axis=0))[0])
        raise PageTableError(f"feature column {names[col]!r} has an infinite value; replace it (NaN is allowed)")
    return arr, names


class GBDTRanker(BaseEstimator, ABC):
    """Base of the LightGBM / XGBoost / CatBoost rankers (a scikit-learn estimator: ``clone`` works).

    Parameters
    ----------
    n_estimators : int
        Maximum boosting rounds.
    learning_rate : float
        Shrinkage.
    num_leaves : int
        Tree size (depth ``ceil(log2(num_leaves))`` for depth-wise backends).
    min_data_in_leaf : int
        Minimum rows per leaf.
    early_stopping_rounds : int
        Stop when the validation NDCG has not improved for this many rounds (0 disables; needs ``eval_set``).
    eval_at : int
        Cut-off of the validation NDCG.
    n_threads : int
        Threads used by the library.
    seed : int
        Random seed; the same seed and data give the same model.
    params : dict, optional
        Extra backend parameters passed through unchanged.
    """

    backend: ClassVar[str]
    suffix: ClassVar[str]
    #: True when the backend's predict may run from several threads at once on one model (LightGBM's C API takes
    #: a shared lock in ``Booster::Predict``); otherwise such calls take turns on :data:`_PREDICT_LOCK`.
    concurrent_predict: ClassVar[bool] = False
    feature_names_in_: list[str]
    n_features_in_: int
    best_iteration_: int

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_data_in_leaf: int = 20,
        early_stopping_rounds: int = 30,
        eval_at: int = 10,
        n_threads: int = 2,
        seed: int = 0,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.early_stopping_rounds = early_stopping_rounds
        self.eval_at = eval_at
        self.n_threads = n_threads
        self.seed = seed
        self.params = params

    # ------------------------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        qid: Any,
        *,
        eval_set: EvalSet | None = None,
        objective: GradHess | None = None,
        pairs: pd.DataFrame | None = None,
        eval_metric: Callable[[np.ndarray], float] | None = None,
    ) -> GBDTRanker:
        """Train the ranker.

        Parameters
        ----------
        X : DataFrame or array of shape (n_rows, n_features)
        y : array of shape (n_rows,)
            Graded labels (ignored by a custom objective, which carries its own supervision).
        qid : array of shape (n_rows,)
            Query id per row.
        eval_set : (X, y, qid), optional
            Validation data for early stopping on NDCG@``eval_at``.
        objective : callable, optional
            ``scores -> (grad, hess)`` over the rows *in input order*; requires contiguous queries.
        pairs : DataFrame, optional
            ``winner, loser, weight`` row positions for pairwise backends (CatBoost's SMAR path).
        eval_metric : callable, optional
            ``scores -> loss`` over ``eval_set``'s rows in input order, lower is better: early stopping watches it
            instead of NDCG (``y`` of ``eval_set`` is then unused). LightGBM and XGBoost only.
        """
        if self.n_estimators < 1 or self.learning_rate <= 0:
            raise ConfigError("n_estimators must be >= 1 and learning_rate > 0")
        arr, names = as_matrix(X)
        y_arr = np.asarray(y, dtype=np.float64)
        groups = QueryGroups.from_qid(qid)
        if arr.shape[0] != y_arr.shape[0] or arr.shape[0] != groups.codes.shape[0]:
            raise PageTableError(
                f"X, y and qid lengths differ: {arr.shape[0]}, {y_arr.shape[0]}, {groups.codes.shape[0]}"
            )
        if objective is not None and not groups.is_contiguous:
            raise PageTableError("a custom objective needs rows of each query to be contiguous; sort by qid first")
        if objective is None and pairs is None and np.isnan(y_arr).any():
            raise PageTableError("labels contain NaN; drop unlabelled rows or use the SMAR objective")
        groups.check_size_limit()
        valid = None
        if eval_set is not None:
            vx, vy, vq = eval_set
            varr, _ = as_matrix(vx, names)
            valid = (varr, np.asarray(vy, dtype=np.float64), QueryGroups.from_qid(vq), eval_metric)
        elif eval_metric is not None:
            raise ConfigError("eval_metric needs an eval_set to compute it on")
        self.feature_names_in_ = names
        self.n_features_in_ = len(names)
        self._fit(arr, y_arr, groups, valid, objective, pairs)
        return self

    def predict(self, X: Any, n_threads: int | None = None) -> np.ndarray:
        """Scores in input order, shape ``(n_rows,)``.

        ``n_threads`` overrides the model's thread count for this call where the backend allows it (LightGBM);
        the scores do not depend on it.
        """
        if not hasattr(self, "feature_names_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        arr, _ = as_matrix(X, self.feature_names_in_)
        if self.concurrent_predict:
            return np.asarray(self._predict(arr, n_threads), dtype=np.float64).reshape(-1)
        with _PREDICT_LOCK:  # calls from several threads take turns (see concurrent_predict)
            return np.asarray(self._predict(arr, n_threads), dtype=np.float64).reshape(-1)

    def round_scores(self, X: Any) -> np.ndarray:
        """Raw scores after each boosting round, shape ``(n_rounds, n_rows)`` (row ``k``: the first ``k + 1``
        trees), for every round the booster holds; rows may differ from :meth:`predict` by a constant per round
        (XGBoost's base score), so only differences within a round are meaningful.

        Raises
        ------
        ConfigError
            The backend cannot score rounds one by one (CatBoost).
        """
        if not hasattr(self, "feature_names_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        arr, _ = as_matrix(X, self.feature_names_in_)
        return np.cumsum(self._tree_scores(arr), axis=0)

    def _tree_scores(self, X: np.ndarray) -> np.ndarray:
        """Each tree's contribution per row, shape ``(n_rounds, n_rows)``."""
        raise ConfigError(f"the {self.backend} backend cannot score its boosting rounds one by one")

    def used_features(self) -> list[str]:
        """Input columns some tree of the model splits on (in input order); the others cannot change a score.

        Backends that cannot list their splits return every input column.
        """
        if not hasattr(self, "feature_names_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        used = self._split_features()
        names = self.feature_names_in_
        return list(names) if used is None else [n for i, n in enumerate(names) if i in used]

    def _split_features(self) -> set[int] | None:
        """Positions of the input columns the model splits on (None: unknown, all count as used)."""
        return None

    # persistence -------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> list[Path]:
        """Write ``<path><suffix>`` in the library's own format plus ``<path>.meta.json``; returns both files."""
        path = Path(path)
        model_file = path.with_name(path.name + self.suffix)
        self._save_model(model_file)
        meta = {
            "backend": self.backend,
            "params": self.get_params(),
            "feature_names": self.feature_names_in_,
            "best_iteration": int(getattr(self, "best_iteration_", 0)),
            "model_file": model_file.name,
        }
        meta_file = path.with_name(path.name + ".meta.json")
        meta_file.write_text(json.dumps(plain(meta), indent=2))
        return [model_file, meta_file]

    # backend hooks -----------------------------------------------------------------------------------------
    @abstractmethod
    def _fit(  # valid: (X, y, QueryGroups, eval_metric or None)
        self, X: np.ndarray, y: np.ndarray, groups: QueryGroups, valid: Any, objective: Any, pairs: Any
    ) -> None: ...

    @abstractmethod
    def _predict(self, X: np.ndarray, n_threads: int | None = None) -> np.ndarray: ...

    @abstractmethod
    def _save_model(self, path: Path) -> None: ...

    @abstractmethod
    def _load_model(self, path: Path) -> None: ...
