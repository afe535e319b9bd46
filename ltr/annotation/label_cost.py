"""Which page labels a run reads, and the honest cost: every label training or model selection reads counts.

A run reads page labels twice: the training labels its annotation budget reveals, and the validation labels that
drive early stopping (and, in tuning, score the trials). ``budget.validation`` says which validation labels are
read:

``budgeted`` (default)
    the same strategy and budget choose them on the validation pages (:func:`smar_ltr.annotation.budget.annotate`), so a
    10% budget reads about 10% of the validation labels too; on partially annotated validation pages the
    annotated rows are read (strategy ``given``);
``full``
    every annotated validation row;
``none``
    no validation labels, no early stopping.

:class:`LabelCost` reports ``labels_used`` and ``label_fraction`` = labels read / candidates of the pages they
could come from: training plus validation pages, for every method, whether or not it reads validation labels (one
denominator). The fully supervised baseline reads every label of both, so its fraction is 1.0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import Annotation, annotate, annotated_rows, resolve_strategy
from smar_ltr.config import VALIDATION_MODES, BudgetConfig, RunConfig
from smar_ltr.errors import ConfigError, DatasetError, SettingNote
from smar_ltr.page_table.schema import PAGE_LABEL


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
        The budget settings of the run (as for :func:`smar_ltr.annotation.budget.annotate`).

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
        Candidates of the pages any method may read labels from: training plus validation pages.
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


def label_cost(train_read: int, n_train: int, validation_read: int, n_valid: int) -> LabelCost:
    """The cost of reading ``train_read`` of ``n_train`` training and ``validation_read`` of ``n_valid``
    validation candidates.

    One denominator for every method, route and report: the candidates of the pages any method may read
    (training + validation), whether or not this method reads validation labels. So ``full_supervision`` is 1.0
    and a fraction means the same thing in every row, table and plot.
    """
    return LabelCost(int(train_read), int(validation_read), int(n_train) + int(n_valid))


def rows_of(annotation: Annotation | None) -> np.ndarray:
    """Row positions an annotation reveals (empty for None)."""
    return np.zeros(0, dtype=np.int64) if annotation is None else np.flatnonzero(annotation.mask)


def label_scale(budget: BudgetConfig, info: dict[str, Any]) -> int | None:
    """The declared highest page-label grade: ``budget.max_label``, else the dataset's ``info["max_label"]``."""
    if budget.max_label is not None:
        return budget.max_label
    declared = info.get("max_label")
    if declared is None:
        return None
    if isinstance(declared, bool) or not isinstance(declared, (int, np.integer)) or not 1 <= declared <= 30:
        raise DatasetError(f"the dataset declares max_label={declared!r}; it must be an integer in 1..30")
    return int(declared)


def annotate_training(budget: BudgetConfig, seed: int, train: pd.DataFrame, info: dict[str, Any]) -> Annotation:
    """The annotation of the training pages under ``budget`` (``auto`` resolved on ``train``).

    Raises
    ------
    ConfigError
        Nothing was revealed (no annotated row, or a band past the end of every list).
    PageTableError
        A simulated strategy on partially annotated pages.
    """
    b = budget
    strategy = resolve_strategy(b.strategy, train)
    scale = label_scale(b, info)
    top = train[PAGE_LABEL].max() if PAGE_LABEL in train.columns else None
    if scale is not None and top is not None and not pd.isna(top) and top > scale and strategy == "iso-anchor":
        # allowed (a coarser search is a choice), but never silent: the higher grades are not searched for
        warnings.warn(
            f"page labels reach grade {int(top)} but the declared label scale tops at max_label={scale}: "
            f"iso-anchor searches levels {scale}..1 only; declare the labels' scale to search them all",
            SettingNote,
            stacklevel=2,
        )
    annotation = annotate(
        train,
        strategy,
        b.budget,
        seed=seed,
        band=b.band,
        modality_shares=b.modality_shares,
        max_label=scale,
    )
    if annotation.labels_used == 0 and strategy == "given":
        raise ConfigError(
            "the training pages carry no page label: annotate at least some candidates "
            "(a missing page_label means 'not annotated')"
        )
    if annotation.labels_used == 0:
        raise ConfigError(
            f"the {strategy} strategy (budget {b.budget}, band {b.band}) revealed no page label: every slice is "
            "past the end of its list; use a smaller band or a larger budget"
        )
    return annotation


def stops_on_consistency(config: RunConfig) -> bool:
    """Whether SMAR's reranker early-stops on the validation pages' consistency loss (``consistency.early_stopping``;
    LightGBM and XGBoost: CatBoost stops on labels)."""
    return config.consistency.early_stopping == "consistency" and config.reranker.backend != "catboost"


def validation_read_mode(config: RunConfig) -> str:
    """Which validation labels SMAR's early stopping reads: ``none`` when it stops on the consistency loss
    (:func:`stops_on_consistency`), else ``budget.validation``."""
    return "none" if stops_on_consistency(config) else config.budget.validation


def annotate_validation(
    budget: BudgetConfig,
    seed: int,
    reads: str,
    valid: pd.DataFrame | None,
    training: Annotation,
    info: dict[str, Any],
) -> Annotation | None:
    """The validation rows whose page label early stopping reads (``reads``: :func:`validation_read_mode`)."""
    return validation_annotation(
        valid,
        reads,
        training,
        budget=budget.budget,
        seed=seed,
        band=budget.band,
        modality_shares=budget.modality_shares,
        max_label=label_scale(budget, info),
    )


@dataclass(frozen=True)
class LabelPlan:
    """Which page labels a fit reads and what they cost (:func:`plan_labels`).

    Attributes
    ----------
    annotation : Annotation
        Training rows whose page label is revealed.
    validation : Annotation or None
        Validation rows whose page label early stopping reads (None: none is read).
    reads : {"budgeted", "full", "none"}
        Which validation labels early stopping reads.
    cost : LabelCost
        Every label read, over the training + validation candidates.
    """

    annotation: Annotation
    validation: Annotation | None
    reads: str
    cost: LabelCost


def plan_labels(
    budget: BudgetConfig,
    seed: int,
    reads: str,
    train: pd.DataFrame,
    valid: pd.DataFrame | None,
    info: dict[str, Any],
) -> LabelPlan:
    """The annotation stage of a fit: training annotation, the validation labels early stopping reads (``reads``,
    :func:`validation_read_mode`), and their honest cost. A validation read on pages without labels is a
    :class:`~smar_ltr.errors.SettingNote` (the reranker then trains without early stopping)."""
    annotation = annotate_training(budget, seed, train, info)
    validation = annotate_validation(budget, seed, reads, valid, annotation, info)
    if reads != "none" and valid is not None and (PAGE_LABEL not in valid or valid[PAGE_LABEL].isna().all()):
        warnings.warn(  # e.g. a campaign that left validation pages out, fitted to stop on labels
            f"early stopping reads validation labels ({reads}) but the validation pages carry none: the reranker "
            "trains without early stopping; annotate them, or stop on the consistency loss",
            SettingNote,
            stacklevel=3,
        )
    cost = label_cost(
        annotation.labels_used,
        len(train),
        0 if validation is None else validation.labels_used,
        0 if valid is None else len(valid),
    )
    return LabelPlan(annotation, validation, reads, cost)


def strategy_choice(budget: BudgetConfig, train: pd.DataFrame, annotation: Annotation) -> dict[str, Any]:
    """What the run summary records about the strategy: the one asked for, the one used and why."""
    asked = budget.strategy
    have = annotated_rows(train)
    out: dict[str, Any] = {"requested": asked, "used": annotation.strategy}
    if asked == "auto":
        out["reason"] = f"{int(have.sum())} of {have.size} training rows are annotated: " + (
            "training on the annotated rows" if annotation.strategy == "given" else "simulating the budget"
        )
    return out
