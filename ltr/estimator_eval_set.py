"""The validation rows of :class:`smar_ltr.SMARRanker`'s early stopping, chosen from its ``eval_set``.

Which ``eval_set`` labels early stopping reads follows ``validation`` (:mod:`smar_ltr.label_cost`): the training
strategy repeated on it (``budgeted``), every labelled row (``full``), or none. Moved out of
:mod:`smar_ltr.estimator` unchanged.
"""

from __future__ import annotations

import numpy as np

from smar_ltr.budget import Annotation
from smar_ltr.config import RunConfig
from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.estimator_inputs import (
    eval_parts,
    feature_frame,
    graded_labels,
    modality_array,
    page_frame,
    reranker_inputs,
    upstream_array,
)
from smar_ltr.label_cost import validation_annotation
from smar_ltr.schema import PAGE_LABEL, QID

__all__ = ["early_stopping_set"]


def early_stopping_set(
    eval_set: tuple | None, names: list[str], rankers: dict, config: RunConfig, training: Annotation
) -> tuple[tuple | None, int, int]:
    """The validation rows early stopping reads, the labels that read, and the ``eval_set`` candidates.

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
    (tuple or None, int, int)
        ``(X, y, qid)`` of the chosen rows (None when none), labels read, candidates in ``eval_set``.
    """
    if eval_set is None:
        return None, 0, 0
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
        return None, 0, n
    design = (
        reranker_inputs(features, names, upstream if config.upstream_as_feature else None)
        .iloc[order]
        .reset_index(drop=True)
    )
    rows = chosen.mask
    valid = (design[rows].reset_index(drop=True), frame[PAGE_LABEL].to_numpy(float)[rows], frame[QID][rows])
    return valid, int(rows.sum()), n
