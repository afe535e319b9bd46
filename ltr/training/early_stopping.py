"""Model selection that reads no page label: the intra-modal consistency loss of the validation pages.

:func:`consistency_metric` is SMAR's default early-stopping criterion (``consistency.early_stopping =
"consistency"``): the reranker stops when its scores stop agreeing better with each modality's single-modal order
on the validation pages, so no validation page label is read or counted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from smar_ltr.config import ConsistencyConfig
from smar_ltr.page_table.query_groups import QueryGroups
from smar_ltr.page_table.schema import QID
from smar_ltr.supervision.pairs import consistency_pairs
from smar_ltr.training.objectives import PairTerm


def consistency_term(valid: pd.DataFrame, cfg: ConsistencyConfig, seed: int) -> PairTerm | None:
    """The intra-modal consistency pairs of ``valid`` as a loss term (None when the pages yield no pair).

    The pairs are built as for training (:func:`smar_ltr.supervision.pairs.consistency_pairs` with ``cfg``'s scheme,
    beta
    and per-list averaging; per query, so a partition of whole queries gets the pairs the whole table would) from
    ``upstream_score`` alone, so no page label is read.
    """
    pairs = consistency_pairs(valid, cfg, seed)
    if len(pairs) == 0:
        return None
    gamma, kappa = cfg.margin("lightgbm")  # an unset margin: the LightGBM / XGBoost default, as in training
    return PairTerm(
        winner=pairs["winner"].to_numpy(np.int64),
        loser=pairs["loser"].to_numpy(np.int64),
        weight=pairs["weight"].to_numpy(np.float64),
        gamma=gamma,
        kappa=kappa,
        row_query=QueryGroups.from_qid(valid[QID].to_numpy()).codes,
    )


def consistency_metric(valid: pd.DataFrame, cfg: ConsistencyConfig, seed: int) -> Callable[[np.ndarray], float] | None:
    """The validation pages' intra-modal consistency loss per unit pair weight, a function of their scores.

    Lower is better (:func:`consistency_term`). None when the validation pages yield no intra-modal pair
    (nothing to stop on: the reranker then trains every round).
    """
    term = consistency_term(valid, cfg, seed)
    if term is None:
        return None
    total = float(term.weight.sum())

    def metric(scores: np.ndarray) -> float:
        return term.loss(np.asarray(scores, dtype=np.float64)) / total

    return metric


def first_best_round(losses: np.ndarray, patience: int) -> int:
    """The round early stopping on ``losses`` (one per boosting round, lower is better) keeps, 1-based.

    The rule of LightGBM's and XGBoost's early stopping with ``min_delta=0``: a round improves when its loss is
    strictly below the best so far; training stops once ``patience`` rounds in a row have not improved, and the
    best round is kept (``patience`` 0: no early stopping, every round is kept). Applied after training every
    round, it keeps the round online early stopping would have kept (later rounds do not change earlier trees).
    """
    losses = np.asarray(losses, dtype=np.float64)
    if patience <= 0:  # no early stopping: every round is kept, as when no callback watches the metric
        return int(losses.size)
    best, best_k = np.inf, 0
    for k, loss in enumerate(losses):
        if loss < best:
            best, best_k = loss, k
        elif k - best_k >= patience:
            break
    return best_k + 1


def consistency_eval_set(
    valid: pd.DataFrame | None, X_valid: pd.DataFrame | None, cfg: ConsistencyConfig, seed: int
) -> tuple[tuple | None, Callable[[np.ndarray], float] | None]:
    """``(eval_set, eval_metric)`` for early stopping on the validation pages' consistency loss: every validation
    row (labels not read: ``y`` is zeros) and :func:`consistency_metric`; ``(None, None)`` without validation
    pages or without an intra-modal pair on them (the reranker then trains every round)."""
    if valid is None or X_valid is None:
        return None, None
    metric = consistency_metric(valid, cfg, seed)
    if metric is None:
        return None, None
    qid = valid[QID].to_numpy()
    return (X_valid, np.zeros(len(qid)), qid), metric
