"""The validation rows of :class:`smar_ltr.SMARRanker`'s early stopping, chosen from its ``eval_set``.

With ``early_stopping="consistency"`` (the default, as for ``smar-ltr fit``) the reranker stops on the intra-modal
consistency loss of the ``eval_set`` lists and reads none of its labels. With ``"labels"``, which ``eval_set``
labels early stopping reads follows ``validation`` (:mod:`smar_ltr.annotation.label_cost`): the training strategy
repeated on
it (``budgeted``), every labelled row (``full``), or none.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from smar_ltr.annotation.budget import Annotation
from smar_ltr.annotation.label_cost import stops_on_consistency, validation_annotation
from smar_ltr.config import RunConfig
from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.estimator.inputs import (
    eval_parts,
    feature_frame,
    graded_labels,
    modality_array,
    page_frame,
    reranker_inputs,
    upstream_array,
)
from smar_ltr.page_table.schema import PAGE_LABEL, QID
from smar_ltr.training.early_stopping import consistency_metric

__all__ = ["early_stopping_set"]


def early_stopping_set(
    eval_set: tuple | None, names: list[str], rankers: dict, config: RunConfig, training: Annotation
) -> tuple[tuple | None, int, int, Callable[[np.ndarray], float] | None]:
    """The validation rows early stopping reads, the labels that read, the ``eval_set`` candidates, and the
    label-free metric it stops on (None: it stops on NDCG of the labels read).

    Parameters
    ----------
    eval_set : tuple or None
        ``(X, y, qid)`` or ``(X, y, qid, modality, upstream_score)`` as given to :meth:`SMARRanker.fit`.
    names : list of str
        Reranker feature columns.
    rankers : dict of str to GBDTRanker
        Single-modal rankers that score ``eval_set`` when it has modalities but no ``upstream_score``.
    config : RunConfig
        The estimator's configuration (``budget.validation``, seed, ``upstream_as_feature``).
    training : Annotation
        The training annotation, whose strategy ``budgeted`` repeats.

    Returns
    -------
    (tuple or None, int, int, callable or None)
        ``(X, y, qid)`` of the chosen rows (None when none), labels read, candidates in ``eval_set``, and the
        consistency metric (:func:`smar_ltr.training.early_stopping.consistency_metric`) when it stops on that.
    """
    if eval_set is None:
        return None, 0, 0, None
    if stops_on_consistency(config):
        return consistency_set(eval_set, names, rankers, config)
    b = config.budget
    if b.validation == "none":
        raise ConfigError("validation='none' reads no validation labels: drop eval_set or use 'budgeted'/'full'")
    X, y, qid, modality, upstream_score = eval_parts(eval_set)
    features, qid = feature_frame(X, qid)
    if qid is None:
        raise PageTableError("eval_set needs query ids: (X, y, qid) or a 'qid' column in X")
    n = len(features)
    labels = graded_labels(y, n, "eval_set y")
    simulated = b.validation == "budgeted" and training.strategy != "given" and not np.isnan(labels).any()
    if modality is None and simulated:
        raise ConfigError(
            f"validation='budgeted' repeats the {training.strategy!r} strategy on eval_set, which needs "
            "(X, y, qid, modality, upstream_score); or set validation='full' to read every eval_set label"
        )
    modalities = np.full(n, "-") if modality is None else modality_array(modality, n)
    scorers = rankers if modality is not None and upstream_score is None else {}
    upstream = upstream_array(n, upstream_score, scorers, modalities, features)
    if upstream is None and config.upstream_as_feature:
        raise PageTableError("eval_set needs upstream_score (or modality), which this model reads as a feature")
    frame, order = page_frame(qid, modalities, labels, upstream)
    chosen = validation_annotation(
        frame, b.validation, training, budget=b.budget, seed=config.seed, band=b.band,
        modality_shares=b.modality_shares, max_label=b.max_label,
    )  # fmt: skip
    if chosen is None:
        return None, 0, n, None
    design = (
        reranker_inputs(features, names, upstream if config.upstream_as_feature else None)
        .iloc[order]
        .reset_index(drop=True)
    )
    rows = chosen.mask
    valid = (design[rows].reset_index(drop=True), frame[PAGE_LABEL].to_numpy(float)[rows], frame[QID][rows])
    return valid, int(rows.sum()), n, None


def consistency_set(
    eval_set: tuple, names: list[str], rankers: dict, config: RunConfig
) -> tuple[tuple | None, int, int, Callable[[np.ndarray], float] | None]:
    """``eval_set`` for early stopping on its lists' consistency loss: every row, no label read (``y`` may be
    None or NaN). The lists come from ``modality`` and ``upstream_score`` (or the single-modal rankers)."""
    X, _y, qid, modality, upstream_score = eval_parts(eval_set)
    features, qid = feature_frame(X, qid)
    if qid is None:
        raise PageTableError("eval_set needs query ids: (X, y, qid) or a 'qid' column in X")
    if modality is None:
        raise ConfigError(
            "early_stopping='consistency' stops on the eval_set's single-modal lists, which needs "
            "(X, y, qid, modality, upstream_score) (y is not read); or set early_stopping='labels'"
        )
    n = len(features)
    modalities = modality_array(modality, n)
    scorers = rankers if upstream_score is None else {}
    upstream = upstream_array(n, upstream_score, scorers, modalities, features)
    if upstream is None:
        raise ConfigError(
            "early_stopping='consistency' orders the eval_set's lists by their single-modal score: pass "
            "(X, y, qid, modality, upstream_score), or fit with single_modal_rankers; or set early_stopping='labels'"
        )
    frame, order = page_frame(qid, modalities, np.full(n, np.nan), upstream)
    metric = consistency_metric(frame, config.consistency, config.seed)
    if metric is None:  # no list with two items: nothing to stop on, every round is trained
        return None, 0, n, None
    design = (
        reranker_inputs(features, names, upstream if config.upstream_as_feature else None)
        .iloc[order]
        .reset_index(drop=True)
    )
    return (design, np.zeros(n), frame[QID].to_numpy()), 0, n, metric
