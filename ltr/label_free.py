"""Supervision and model selection that read no further page label (issue 15's directions).

* :func:`pseudo_targets`: page-scale targets for the rows whose page label is not revealed, from what the run
  already has: ``isotonic`` fits one monotone map per modality from the single-modal score to the page label on
  the revealed rows (modal-wise alignment; :func:`smar_ltr.baselines.fit_modal_calibration`, the ``single_modal``
  baseline's calibration) and predicts the others (soft targets: expected labels, not rounded); ``anchor`` takes
  iso-anchor's inferred labels (the binary search settles each list's label boundaries, so the rows between two
  boundaries of one level carry that level). Revealed rows keep their real label.
* :func:`lam_multiplier`: the consistency weight's schedule over boosting rounds.
* :func:`consistency_metric`: the intra-modal consistency loss of validation pages, an early-stopping criterion
  that needs no page label.

The reranker learns the pseudo targets in a second LambdaMART term over every row, weighted below the page term
(``consistency.pseudo_weight``); see :func:`smar_ltr.reranker.build_objective`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from smar_ltr.baselines import fit_modal_calibration
from smar_ltr.budget import Annotation
from smar_ltr.config import ConsistencyConfig
from smar_ltr.errors import ConfigError
from smar_ltr.groups import QueryGroups
from smar_ltr.objectives import PairTerm
from smar_ltr.pairs import consistency_pairs
from smar_ltr.schema import PAGE_LABEL, QID

PSEUDO_SOURCES: tuple[str, ...] = ("none", "isotonic", "anchor")


def pseudo_targets(frame: pd.DataFrame, annotation: Annotation, source: str) -> np.ndarray | None:
    """Target of every training row: the revealed page label, else a pseudo label from ``source``.

    Parameters
    ----------
    frame : DataFrame
        Training pages with ``modality``, ``upstream_score`` and ``page_label`` (only revealed labels are read).
    annotation : Annotation
        Revealed rows (``mask``) and, for ``anchor``, iso-anchor's ``inferred_label``.
    source : {"none", "isotonic", "anchor"}
        Where the pseudo labels come from (module docstring).

    Returns
    -------
    ndarray of shape (n_rows,) or None
        Float targets, NaN where none is known (no score, or not inferred); None for ``none``.
    """
    if source not in PSEUDO_SOURCES:
        raise ConfigError(f"consistency.pseudo_labels {source!r} is unknown; choose one of {', '.join(PSEUDO_SOURCES)}")
    if source == "none":
        return None
    mask = np.asarray(annotation.mask, dtype=bool)
    if source == "isotonic":
        targets = fit_modal_calibration(frame, mask).transform(frame)
    else:
        if annotation.inferred_label is None:
            raise ConfigError(
                "consistency.pseudo_labels='anchor' takes iso-anchor's inferred labels: use budget.strategy=iso-anchor"
            )
        targets = np.asarray(annotation.inferred_label, dtype=float).copy()
    revealed = frame[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan)
    targets[mask] = revealed[mask]
    return targets


def target_groups(qid: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, offsets, labels)`` of the rows with a finite target, grouped by query (for a LambdaMART term).

    ``qid`` must be contiguous per query (training order); queries with fewer than two targets are dropped.
    """
    rows = np.flatnonzero(np.isfinite(targets))
    q = pd.Series(np.asarray(qid)[rows])
    rows = rows[q.map(q.value_counts()).to_numpy() >= 2]
    if rows.size == 0:
        return rows, np.array([0]), np.zeros(0)
    sizes = QueryGroups.from_qid(np.asarray(qid)[rows]).sizes
    return rows, np.concatenate([[0], np.cumsum(sizes)]), targets[rows]


def lam_multiplier(schedule: str, lam_end: float, iteration: int, n_rounds: int) -> float:
    """Factor of ``lam`` at boosting round ``iteration`` (0-based) of ``n_rounds``.

    ``constant``: 1. ``linear``: from 1 at round 0 to ``lam_end`` at round ``n_rounds - 1`` (held after it).
    """
    if schedule == "constant":
        return 1.0
    if schedule != "linear":
        raise ConfigError(f"consistency.lam_schedule {schedule!r} is unknown; choose constant or linear")
    t = min(1.0, iteration / max(1, n_rounds - 1))
    return 1.0 + (lam_end - 1.0) * t


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
