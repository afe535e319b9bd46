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
from smar_ltr.groups import QueryGroups
from smar_ltr.objectives import PairTerm
from smar_ltr.pairs import consistency_pairs
from smar_ltr.schema import QID


def consistency_metric(valid: pd.DataFrame, cfg: ConsistencyConfig, seed: int) -> Callable[[np.ndarray], float] | None:
    """The validation pages' intra-modal consistency loss per unit pair weight, a function of their scores.

    The pairs are built as for training (:func:`smar_ltr.pairs.consistency_pairs` with ``cfg``'s scheme, beta
    and per-list averaging) from ``upstream_score`` alone, so no page label is read. Lower is better. None when
    the validation pages yield no intra-modal pair (nothing to stop on: the reranker then trains every round).
    """
    pairs = consistency_pairs(valid, cfg, seed)
    if len(pairs) == 0:
        return None
    weight = pairs["weight"].to_numpy(np.float64)
    gamma, kappa = cfg.margin("lightgbm")  # an unset margin: the LightGBM / XGBoost default, as in training
    term = PairTerm(
        winner=pairs["winner"].to_numpy(np.int64),
        loser=pairs["loser"].to_numpy(np.int64),
        weight=weight,
        gamma=gamma,
        kappa=kappa,
        row_query=QueryGroups.from_qid(valid[QID].to_numpy()).codes,
    )
    total = float(weight.sum())

    def metric(scores: np.ndarray) -> float:
        return term.loss(np.asarray(scores, dtype=np.float64)) / total

    return metric
