"""The result of an annotation budget: which rows get their page label revealed, and what that cost.

:class:`Annotation` is what :func:`smar_ltr.annotation.budget.annotate` returns; :func:`annotation_from_rows` rebuilds
one
from a run's saved revealed rows, and :func:`monotonicity_violation_rate` measures iso-anchor's inferred labels
against the truth. Moved out of :mod:`smar_ltr.annotation.budget` (which re-exports all three) unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smar_ltr.annotation.iso_anchor import IsoSearch
from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.page_table.schema import ITEM_ID, MODALITY, PAGE_LABEL, QID

__all__ = ["Annotation", "annotation_from_rows", "build_annotation", "monotonicity_violation_rate"]


@dataclass(frozen=True, eq=False)
class Annotation:
    """Which rows of a page table get their page label revealed, and what that cost.

    Attributes
    ----------
    strategy : str
        One of :data:`smar_ltr.annotation.budget.STRATEGIES`.
    budget : float
        Requested fraction ``p`` (1.0 for ``all``, the annotated fraction for ``given``).
    mask : ndarray of bool, shape (n_rows,)
        True where the page label is revealed (input row order).
    revealed : DataFrame
        ``qid``, ``item_id`` (str) of the revealed rows in table order: what a team sends to annotators.
    labels_used : int
        ``mask.sum()``.
    oracle_calls : int
        Judgements asked; equals ``labels_used`` because each item is judged at most once.
    allowance : int
        The global cap ``max(1, floor(p * n_rows))`` (``n_rows`` for ``all``, the annotated rows for ``given``).
    inferred_label : ndarray of float, shape (n_rows,), or None
        ``iso-anchor`` only: the inferred label, NaN where the search could not determine it.
    anchors : DataFrame or None
        ``iso-anchor`` only: boundary items, columns ``qid, item_id, modality, label, row`` (``label`` = the
        level ``l`` the item is the last of, ``row`` = its row position).
    """

    strategy: str
    budget: float
    mask: np.ndarray
    revealed: pd.DataFrame
    labels_used: int
    oracle_calls: int
    allowance: int
    inferred_label: np.ndarray | None = None
    anchors: pd.DataFrame | None = None

    def summary(self) -> dict:
        """JSON-friendly summary: strategy, budget, labels_used, label_fraction, oracle_calls, allowance."""
        n = int(self.mask.shape[0])
        return {
            "strategy": self.strategy,
            "budget": float(self.budget),
            "labels_used": int(self.labels_used),
            "label_fraction": float(self.labels_used / n) if n else 0.0,
            "oracle_calls": int(self.oracle_calls),
            "allowance": int(self.allowance),
        }


def annotation_from_rows(frame: pd.DataFrame, revealed: pd.DataFrame, strategy: str, budget: float) -> Annotation:
    """The :class:`Annotation` of a table whose revealed ``qid, item_id`` were saved (e.g. a run's
    ``revealed.parquet``): no strategy is re-run. Inferred labels and anchors are not recovered.

    Raises
    ------
    PageTableError
        A revealed row is not in ``frame`` (the table differs from the one annotated).
    """
    keys = pd.MultiIndex.from_frame(frame[[QID, ITEM_ID]].astype(str))
    wanted = pd.MultiIndex.from_frame(revealed[[QID, ITEM_ID]].astype(str))
    mask = keys.isin(wanted)
    if int(mask.sum()) != len(wanted):
        raise PageTableError(
            f"{len(wanted) - int(mask.sum())} revealed candidates are not in the page table; "
            "pass the pages the annotation was made on"
        )
    return build_annotation(frame, strategy, budget, np.asarray(mask, dtype=bool), int(mask.sum()))


def build_annotation(
    table: pd.DataFrame,
    strategy: str,
    p: float,
    mask: np.ndarray,
    allowance: int,
    search: IsoSearch | None = None,
) -> Annotation:
    """The :class:`Annotation` of ``table`` whose revealed rows are ``mask``; ``search`` adds iso-anchor's
    inferred labels and anchors."""
    used = int(mask.sum())
    revealed = table.loc[mask, [QID, ITEM_ID]].reset_index(drop=True)
    return Annotation(
        strategy=strategy,
        budget=p,
        mask=mask,
        revealed=revealed,
        labels_used=used,
        oracle_calls=used if search is None else search.oracle_calls,
        allowance=allowance,
        inferred_label=None if search is None else search.inferred_label(),
        anchors=None if search is None else search.anchors(table[[QID, ITEM_ID, MODALITY]]),
    )


def monotonicity_violation_rate(frame: pd.DataFrame, annotation: Annotation, label_col: str = PAGE_LABEL) -> float:
    """Fraction of rows whose inferred label differs from the true page label (method.md 2.3).

    Counted over rows that have both an inferred label and a known true label; NaN when there are none.
    Measure it on data where every page label is known: it is how often the within-modality monotonicity
    assumption misleads ``iso-anchor``.

    Raises
    ------
    ConfigError
        The annotation has no inferred labels (not ``iso-anchor``) or does not match the frame's length.
    PageTableError
        ``label_col`` is missing.
    """
    if annotation.inferred_label is None:
        raise ConfigError(f"annotation of strategy {annotation.strategy!r} has no inferred labels; use iso-anchor")
    if label_col not in frame.columns:
        raise PageTableError(f"page table has no column {label_col!r} to compare inferred labels with")
    truth = pd.Series(frame[label_col]).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if truth.shape[0] != annotation.inferred_label.shape[0]:
        raise ConfigError(
            f"annotation covers {annotation.inferred_label.shape[0]} rows, the table {truth.shape[0]}; "
            "pass the table the annotation was made on"
        )
    both = ~np.isnan(truth) & ~np.isnan(annotation.inferred_label)
    if not both.any():
        return float("nan")
    return float(np.mean(truth[both] != annotation.inferred_label[both]))
