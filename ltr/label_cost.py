"""Honest label cost: every page label that training or model selection reads is counted.

A run reads page labels twice: the training labels its annotation budget reveals, and the validation labels that
drive early stopping (and, in tuning, score the trials). ``budget.validation`` says which validation labels are
read:

``budgeted`` (default)
    the same strategy and budget choose them on the validation pages (:func:`smar_ltr.budget.annotate`), so a
    10% budget reads about 10% of the validation labels too; on partially annotated validation pages the
    annotated rows are read (strategy ``given``);
``full``
    every annotated validation row;
``none``
    no validation labels, no early stopping.

:class:`LabelCost` reports ``labels_used`` and ``label_fraction`` = labels read / candidates of the pages they
were read from (training pages, plus validation pages unless ``none``). The fully supervised baseline reads every
label of both, so its fraction is 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.budget import Annotation, annotate, annotated_rows
from smar_ltr.errors import ConfigError

VALIDATION_MODES: tuple[str, ...] = ("budgeted", "full", "none")


def check_validation_mode(mode: str) -> str:
    """``mode`` when it is one of :data:`VALIDATION_MODES`, else one :class:`ConfigError` line."""
    if mode not in VALIDATION_MODES:
        raise ConfigError(f"budget.validation {mode!r} is unknown; choose one of {', '.join(VALIDATION_MODES)}")
    return mode


def validation_annotation(
    valid: pd.DataFrame | None,
    mode: str,
    training: Annotation,
    *,
    budget: float,
    seed: int = 0,
    band: int = 0,
    modality_shares: dict[str, float] | None = None,
    max_label: int | None = None,
) -> Annotation | None:
    """Which validation rows have their page label read, or None (no validation labels are read).

    Parameters
    ----------
    valid : DataFrame or None
        Validation pages with ``upstream_score`` (what :func:`smar_ltr.pipeline.prepare` built).
    mode : {"budgeted", "full", "none"}
        See the module docstring.
    training : Annotation
        The training annotation; ``budgeted`` repeats its (resolved) strategy on the validation pages.
    budget, seed, band, modality_shares, max_label
        The budget settings of the run (as for :func:`smar_ltr.budget.annotate`).

    Returns
    -------
    Annotation or None
        None for ``none``, for missing validation pages, or when nothing would be read.
    """
    check_validation_mode(mode)
    if mode == "none" or valid is None or len(valid) == 0 or not annotated_rows(valid).any():
        return None
    have = annotated_rows(valid)
    if mode == "full" or not have.all():
        strategy = "given"
    else:
        strategy = training.strategy
    chosen = annotate(
        valid,
        strategy,
        budget,
        seed=seed,
        band=band,
        modality_shares=modality_shares,
        max_label=max_label,
    )
    return chosen if chosen.labels_used else None


@dataclass(frozen=True)
class LabelCost:
    """Page labels one method read, and from how many candidates.

    Attributes
    ----------
    train : int
        Training page labels read.
    validation : int
        Validation page labels read (early stopping, trial scoring).
    candidates : int
        Candidates of the pages those labels could come from: training pages, plus validation pages unless the
        run reads none of their labels.
    """

    train: int
    validation: int
    candidates: int

    @property
    def labels_used(self) -> int:
        """Every page label read."""
        return self.train + self.validation

    @property
    def label_fraction(self) -> float:
        """``labels_used / candidates`` (0.0 with no candidates)."""
        return self.labels_used / self.candidates if self.candidates else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly counts: labels_used, label_fraction, train_labels, validation_labels, candidates."""
        return {
            "labels_used": int(self.labels_used),
            "label_fraction": round(float(self.label_fraction), 6),
            "train_labels": int(self.train),
            "validation_labels": int(self.validation),
            "candidates": int(self.candidates),
        }


def label_cost(train_read: int, n_train: int, validation_read: int, n_valid: int, mode: str) -> LabelCost:
    """The cost of reading ``train_read`` of ``n_train`` training and ``validation_read`` of ``n_valid``
    validation candidates; validation pages count as candidates unless ``mode`` is ``none``."""
    pool = n_train + (n_valid if check_validation_mode(mode) != "none" else 0)
    return LabelCost(int(train_read), int(validation_read), int(pool))


def rows_of(annotation: Annotation | None) -> np.ndarray:
    """Row positions an annotation reveals (empty for None)."""
    return np.zeros(0, dtype=np.int64) if annotation is None else np.flatnonzero(annotation.mask)
