"""``SMARRanker``: SMAR as a scikit-learn estimator, in the style of ``LGBMRanker`` and ``XGBRanker``.

``__init__`` only stores the hyperparameters (annotation budget, consistency loss, GBDT settings, seed);
``fit(X, y, qid=..., modality=...)`` trains the whole-page reranker from the labelled rows of ``y`` plus the
single-modal supervision; fitted state lives in attributes ending in ``_``; ``predict`` returns scores in input
order. It reuses the pipeline's stages (:func:`smar_ltr.annotation.budget.annotate`,
:func:`smar_ltr.training.reranker.build_supervision`, :func:`smar_ltr.training.reranker.train_reranker`) on a page
table it builds
from the arrays, and saves to a run directory of native model files plus JSON (:mod:`smar_ltr.serving.run_dir`).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from smar_ltr.annotation.budget import resolve_strategy
from smar_ltr.annotation.label_cost import annotate_training, label_cost, strategy_choice
from smar_ltr.config import BudgetConfig, ConsistencyConfig, GBDTConfig, RunConfig
from smar_ltr.core.coercion import coerce_value
from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.estimator.eval_set import early_stopping_set
from smar_ltr.estimator.files import ESTIMATOR_KIND, load_estimator, save_estimator
from smar_ltr.estimator.inputs import (
    check_single_modal,
    feature_frame,
    graded_labels,
    modality_array,
    page_frame,
    reranker_inputs,
    upstream_array,
)
from smar_ltr.metrics.ranking import evaluate
from smar_ltr.rankers import GBDTRanker, NotFittedError
from smar_ltr.supervision.pairs import note_unknown_beta_modalities
from smar_ltr.training.reranker import build_supervision, train_reranker

#: Strategies that order each modality's list by its single-modal score.
_NEEDS_UPSTREAM = ("top", "band", "iso-anchor")


class SMARRanker(BaseEstimator):
    """Whole-page reranker trained with SMAR: revealed page labels plus single-modal consistency.

    Parameters
    ----------
    strategy : {"auto", "given", "all", "top", "band", "random", "iso-anchor"}
        Which rows' labels train the page term. ``given`` uses exactly the rows whose ``y`` is not NaN (real
        partial annotation); the others simulate an annotation budget on fully labelled ``y``
        (:mod:`smar_ltr.annotation.budget`). ``auto`` is ``given`` when ``y`` has a NaN and ``top`` otherwise.
    budget, band, modality_shares, max_label
        Budget fraction p, band index and per-modality shares of the simulated strategies; ``max_label`` the
        highest grade of the label scale (needed by ``iso-anchor``).
    validation : {"budgeted", "full", "none"}
        Which ``eval_set`` labels early stopping reads, all counted in ``fit_summary_["label_cost"]``
        (:mod:`smar_ltr.annotation.label_cost`): the training strategy repeated on it, every labelled row, or none.
    mode, gamma, kappa, lam, beta, mu, pair_scheme, max_pairs_per_item, normalize_pairs, page_weight,
    lambdarank_norm
        The consistency loss, as :class:`smar_ltr.config.ConsistencyConfig`. ``gamma`` / ``kappa`` left at None
        take the backend's values (0.5 / 1; CatBoost 0 / 1, recorded in ``fit_summary_["consistency"]``).
    early_stopping : {"consistency", "labels"}
        What early stopping on ``eval_set`` watches, as ``smar-ltr fit``: the consistency loss of its
        single-modal lists (default; needs ``(X, y, qid, modality, upstream_score)``, ``y`` is not read and no
        label is counted), or NDCG of the ``eval_set`` labels ``validation`` picks (CatBoost always stops on
        labels).
    pool_weight : float or None
        Single-modal pool pairs (:mod:`smar_ltr.supervision.pool_pairs`) need the single-modal pool's lists, which an
        estimator fitted on arrays is not given: None (automatic, as in ``smar-ltr fit``) resolves to 0 here and a
        number > 0 is refused; ``smar_ltr.fit(..., single_modal_pool=...)`` and ``smar-ltr fit`` use the pool.
    upstream_as_feature : bool
        Append the single-modal score as a reranker input column ``upstream_score``.
    backend : {"lightgbm", "xgboost", "catboost"}
        GBDT library of the reranker.
    n_estimators, learning_rate, num_leaves, min_data_in_leaf, early_stopping_rounds, eval_at, n_threads, params
        Reranker settings, as :class:`smar_ltr.config.GBDTConfig` (early stopping needs ``eval_set``).
    seed : int
        Seed of budget sampling, pair sampling and the GBDT.

    Attributes
    ----------
    reranker_ : GBDTRanker
        The fitted whole-page reranker.
    single_modal_rankers_ : dict of str to GBDTRanker
        The single-modal rankers given to ``fit`` (empty when ``upstream_score`` was given).
    feature_names_in_ : list of str
        Columns of ``X`` (``f0 ..`` for arrays), without a ``qid`` column.
    n_features_in_ : int
    fit_summary_ : dict
        Annotation summary (strategy, labels used, ...) and supervision counts.

    Examples
    --------
    >>> import numpy as np
    >>> from smar_ltr import SMARRanker
    >>> rng = np.random.default_rng(0)
    >>> qid = np.repeat(np.arange(40), 10)
    >>> modality = np.tile(["web", "image"], 200)
    >>> X = rng.normal(size=(400, 3))
    >>> y = np.clip(np.round(X[:, 0] + 1), 0, 3)
    >>> y[rng.random(400) < 0.7] = np.nan  # 70% of the candidates were never annotated
    >>> model = SMARRanker(n_estimators=20, min_data_in_leaf=5, seed=0)
    >>> model = model.fit(X, y, qid=qid, modality=modality, upstream_score=X[:, 0])
    >>> model.fit_summary_["annotation"]["strategy"]
    'given'
    >>> model.predict(X).shape
    (400,)
    """

    def __init__(
        self,
        *,
        strategy: str = "auto",
        budget: float = 0.3,
        band: int = 0,
        modality_shares: dict[str, float] | None = None,
        max_label: int | None = None,
        validation: str = "budgeted",
        mode: str = "pairwise",
        gamma: float | None = None,
        kappa: float | None = None,
        lam: float = 1.0,
        beta: float | dict[str, float] = 1.0,
        mu: float = 1.0,
        pair_scheme: str = "neighbors",
        max_pairs_per_item: int = 4,
        normalize_pairs: bool = True,
        page_weight: float = 1.0,
        lambdarank_norm: bool = True,
        early_stopping: str = "consistency",
        pool_weight: float | None = None,
        upstream_as_feature: bool = False,
        backend: str = "lightgbm",
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_data_in_leaf: int = 20,
        early_stopping_rounds: int = 30,
        eval_at: int = 10,
        n_threads: int = 2,
        params: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.strategy = strategy
        self.budget = budget
        self.band = band
        self.modality_shares = modality_shares
        self.max_label = max_label
        self.validation = validation
        self.mode = mode
        self.gamma = gamma
        self.kappa = kappa
        self.lam = lam
        self.beta = beta
        self.mu = mu
        self.pair_scheme = pair_scheme
        self.max_pairs_per_item = max_pairs_per_item
        self.normalize_pairs = normalize_pairs
        self.page_weight = page_weight
        self.lambdarank_norm = lambdarank_norm
        self.early_stopping = early_stopping
        self.pool_weight = pool_weight
        self.upstream_as_feature = upstream_as_feature
        self.backend = backend
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.early_stopping_rounds = early_stopping_rounds
        self.eval_at = eval_at
        self.n_threads = n_threads
        self.params = params
        self.seed = seed

    # configuration ------------------------------------------------------------------------------------------
    def run_config(self) -> RunConfig:
        """The pipeline configuration these hyperparameters stand for (validated)."""
        values = self.get_params()
        values["params"] = {} if values["params"] is None else values["params"]

        def pick(cls: type) -> dict[str, Any]:
            # the settings' own coercion, exactly as in smar_ltr.fit and the config files: a numpy number from a
            # grid search is a number, "0.5" reads as 0.5, and "half" for a float is refused by name
            hints = typing.get_type_hints(cls)
            names = [f.name for f in fields(cls) if f.name in values]
            return {name: coerce_value(values[name], hints[name], name) for name in names}

        config = RunConfig(
            seed=coerce_value(self.seed, int, "seed"),
            upstream_as_feature=coerce_value(self.upstream_as_feature, bool, "upstream_as_feature"),
            reranker=GBDTConfig(**pick(GBDTConfig)),
            budget=BudgetConfig(**pick(BudgetConfig)),
            consistency=ConsistencyConfig(**pick(ConsistencyConfig)),
        )
        return config.validate()

    # fitting ------------------------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        *,
        qid: Any = None,
        modality: Any = None,
        upstream_score: Any = None,
        single_modal_rankers: Mapping[str, GBDTRanker] | None = None,
        modal_X: pd.DataFrame | None = None,
        eval_set: tuple | None = None,
    ) -> SMARRanker:
        """Train the whole-page reranker.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_features)
            Reranker features. A DataFrame may carry the query ids as a ``qid`` column instead of ``qid``.
        y : array-like of shape (n_rows,)
            Page labels (integer grades); NaN marks a candidate nobody annotated.
        qid : array-like of shape (n_rows,)
            Query id per row (rows of a query need not be adjacent).
        modality : array-like of shape (n_rows,)
            Modality of each candidate.
        upstream_score : array-like of shape (n_rows,), optional
            Single-modal score ``g^m`` of each row. NaN is allowed only where nothing orders by it: with
            ``mode="none"`` and a strategy that does not rank by score (``given``, ``random``); as a reranker input
            (``upstream_as_feature``) a NaN is a missing value.
        single_modal_rankers : dict of str to GBDTRanker, optional
            Fitted single-modal ranker per modality, used instead of ``upstream_score``; each reads its
            ``feature_names_in_`` columns from ``modal_X`` (default ``X``). They are saved with the model.
        modal_X : DataFrame of shape (n_rows, ...), optional
            Columns the single-modal rankers read when those are not reranker inputs.
        eval_set : tuple, optional
            Validation data for early stopping: ``(X, y, qid)`` or ``(X, y, qid, modality, upstream_score)``
            (``(X, y)`` with a ``qid`` column in X). Unlabelled rows are left out.

        Returns
        -------
        SMARRanker
            ``self``.
        """
        features, qid = feature_frame(X, qid)
        n = len(features)
        if qid is None:
            raise PageTableError("qid is required: pass the query id of every row (or a 'qid' column in X)")
        labels = graded_labels(y, n)
        modalities = modality_array(modality, n)
        rankers = check_single_modal(single_modal_rankers)
        source = features if modal_X is None else feature_frame(modal_X)[0]
        upstream = upstream_array(n, upstream_score, rankers, modalities, source)
        config = self.run_config()
        frame, order = page_frame(qid, modalities, labels, upstream)
        strategy = resolve_strategy(config.budget.strategy, frame)
        needs_upstream = strategy in _NEEDS_UPSTREAM or config.consistency.mode != "none" or config.upstream_as_feature
        if upstream is None and needs_upstream:
            raise ConfigError(
                "single-modal scores are needed (consistency loss, a score-ordered budget strategy or "
                "upstream_as_feature): pass upstream_score or single_modal_rankers"
            )
        pairs_or_order = strategy in _NEEDS_UPSTREAM or config.consistency.mode != "none"
        if upstream is not None and pairs_or_order and np.isnan(upstream).any():
            row = int(np.flatnonzero(np.isnan(upstream))[0])
            raise PageTableError(
                f"upstream_score is NaN at row {row} of X; the consistency pairs and score-ordered budget "
                "strategies need a single-modal score for every candidate: fill it in, or use mode='none' with "
                "strategy 'given' or 'random'"
            )
        names = list(features.columns)
        design = (
            reranker_inputs(features, names, upstream if config.upstream_as_feature else None)
            .iloc[order]
            .reset_index(drop=True)
        )
        c = config.consistency
        if (c.pool_weight or 0) > 0:
            raise ConfigError(
                "pool_weight > 0 trains on the single-modal pool's own lists, and SMARRanker is fitted on page arrays "
                "only, with no pool: use smar_ltr.fit(..., single_modal_pool=...) or smar-ltr fit, or set pool_weight=0"
            )
        annotation = annotate_training(config.budget, config.seed, frame, {})
        note_unknown_beta_modalities(c.beta, modalities)
        supervision = build_supervision(frame, annotation, c, config.seed)
        valid, valid_read, n_valid, metric = early_stopping_set(eval_set, names, rankers, config, annotation)
        reranker = train_reranker(design, frame, supervision, config.reranker, c, config.seed, valid, metric)
        cost = label_cost(annotation.labels_used, len(frame), valid_read, n_valid)
        # fitted state is set only once training succeeded: a failed refit leaves the previous model whole
        self.reranker_ = reranker
        self.single_modal_rankers_ = rankers
        self.feature_names_in_ = names
        self.n_features_in_ = len(names)
        self.fit_summary_ = {
            "annotation": annotation.summary(),
            "strategy_choice": strategy_choice(config.budget, frame, annotation),
            "supervision": supervision.counts(),
            "label_cost": cost.to_dict(),
            "consistency": {"gamma": c.gamma, "kappa": c.kappa},
        }
        return self

    # scoring ------------------------------------------------------------------------------------------------
    @property
    def reads_upstream_(self) -> bool:
        """Whether the fitted reranker reads ``upstream_score`` (``upstream_as_feature``, read as a setting is:
        the string ``"false"`` means False everywhere, not only in :meth:`run_config`)."""
        return bool(coerce_value(self.upstream_as_feature, bool, "upstream_as_feature"))

    def _check_fitted(self) -> None:
        if not hasattr(self, "reranker_"):
            raise NotFittedError("this SMARRanker is not fitted yet; call fit first")

    def _input_columns(self, modal_X: pd.DataFrame | None) -> set[str]:
        """Columns of X the fitted model reads; others (ids, text) are dropped before the numeric checks."""
        keep = set(self.feature_names_in_)
        if self.reads_upstream_ and modal_X is None:
            keep |= {c for r in self.single_modal_rankers_.values() for c in r.feature_names_in_}
        return keep

    def predict(
        self,
        X: Any,
        *,
        qid: Any = None,
        modality: Any = None,
        upstream_score: Any = None,
        modal_X: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """Whole-page scores in input order, shape ``(n_rows,)``; higher ranks first within a query.

        ``qid`` (or a ``qid`` column of ``X``) is accepted and checked for length but does not change the scores.
        ``modality`` / ``upstream_score`` / ``modal_X`` are needed only when ``upstream_as_feature`` is on.
        """
        self._check_fitted()
        features, _ = feature_frame(X, qid, self._input_columns(modal_X))
        if not isinstance(X, pd.DataFrame) and features.shape[1] != self.n_features_in_:
            raise PageTableError(f"X has {features.shape[1]} columns; the model was fitted on {self.n_features_in_}")
        upstream = None
        if self.reads_upstream_:
            rankers = self.single_modal_rankers_
            source = features if modal_X is None else feature_frame(modal_X)[0]
            upstream = upstream_array(len(features), upstream_score, rankers, modality, source, required=True)
        return self.reranker_.predict(reranker_inputs(features, self.feature_names_in_, upstream))

    def score(
        self,
        X: Any,
        y: Any,
        *,
        qid: Any = None,
        modality: Any = None,
        upstream_score: Any = None,
        modal_X: pd.DataFrame | None = None,
    ) -> float:
        """Mean NDCG@10 (``2^rel - 1`` gain) over queries, on the labelled rows of ``y`` (for ``GridSearchCV``).

        As in LightGBM's NDCG, equal scores keep the input order and a query whose labelled rows all have grade
        0 counts as 1. Few, shallow trees tie many scores, so rows stored in relevance order then read
        optimistic: shuffle the rows within queries before comparing such models.
        """
        self._check_fitted()
        features, qid = feature_frame(X, qid, self._input_columns(modal_X))
        if qid is None:
            raise PageTableError("score needs query ids: pass qid or a 'qid' column in X")
        labels = graded_labels(y, len(features))
        scores = self.predict(features, modality=modality, upstream_score=upstream_score, modal_X=modal_X)
        keep = ~np.isnan(labels)
        if not keep.any():
            raise PageTableError("y has no labelled row to score against")
        return float(evaluate(labels[keep], scores[keep], np.asarray(qid)[keep], ["ndcg@10"])["ndcg@10"])

    # persistence --------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model as a run directory: native model files, ``estimator.json``, ``manifest.json``.

        ``path`` must be new, empty, or an earlier saved model (replaced only once the new one is complete).
        """
        self._check_fitted()
        return save_estimator(self, path)

    @classmethod
    def load(cls, path: str | Path) -> SMARRanker:
        """Load a model written by :meth:`save` (checksums verified; nothing is unpickled)."""
        return load_estimator(cls, path)


__all__ = ["ESTIMATOR_KIND", "SMARRanker"]
