"""Stage 2.1: one GBDT ranker per modality on the single-modal pool; they fill ``upstream_score``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smar_ltr.config import GBDTConfig
from smar_ltr.core.progress import Progress
from smar_ltr.errors import DatasetError
from smar_ltr.features.context import positions_in
from smar_ltr.page_table.schema import MODAL_LABEL, MODALITY, QID, UPSTREAM_SCORE, validate_page_table
from smar_ltr.page_table.splits import split_queries
from smar_ltr.rankers.base import GBDTRanker
from smar_ltr.rankers.factory import make_ranker


def fit_single_modal(
    pool: pd.DataFrame,
    modal_features: dict[str, list[str]],
    cfg: GBDTConfig,
    seed: int = 0,
    valid_fraction: float = 0.2,
    progress: Progress | None = None,
) -> dict[str, GBDTRanker]:
    """Train one ranker per modality on ``modal_label`` of the single-modal pool.

    Parameters
    ----------
    pool : DataFrame
        Single-modal pool (page-table schema, ``modal_label`` required).
    modal_features : dict
        Per modality, the columns of its own feature view.
    cfg : GBDTConfig
        Backend and parameters (shared by all modalities).
    seed : int
        Seed of the validation split and the GBDTs.
    valid_fraction : float
        Share of each modality's queries held out for early stopping.

    Returns
    -------
    dict of str to GBDTRanker
        Fitted ranker per modality.
    """
    pool = validate_page_table(pool, require=(MODAL_LABEL,), non_null=(MODAL_LABEL,), what="single-modal pool")
    models: dict[str, GBDTRanker] = {}
    for m in sorted(pool[MODALITY].astype(str).unique()):
        cols = modal_features.get(m)
        if not cols:
            raise DatasetError(f"modality {m!r} has no feature columns in modal_features; the dataset must list them")
        rows = pool[pool[MODALITY].astype(str) == m]
        held, _ = split_queries(rows[QID].to_numpy(), [valid_fraction], seed)
        hold = rows[QID].isin(held).to_numpy()
        train, valid = rows[~hold], rows[hold]
        if progress:
            progress(f"single-modal ranker '{m}': {train[QID].nunique()} queries, {len(cols)} features")
        eval_set = (valid[cols], valid[MODAL_LABEL].to_numpy(float), valid[QID].to_numpy()) if len(valid) else None
        model = make_ranker(cfg.backend, **cfg.ranker_kwargs(seed))
        models[m] = model.fit(train[cols], train[MODAL_LABEL].to_numpy(float), train[QID].to_numpy(), eval_set=eval_set)
    return models


def check_modalities_seen(frame: pd.DataFrame, trained: list[str] | None) -> None:
    """Refuse rows of a modality the run never saw in training (runs saved before this check: not checked)."""
    if not trained:
        return
    unseen = positions_in(frame, MODALITY, list(trained)) < 0  # per category on a validated (categorical) frame
    if unseen.any():
        first = str(frame[MODALITY].iloc[int(np.argmax(unseen))])
        raise DatasetError(
            f"{int(unseen.sum())} page rows have modality {first!r}, which no single-modal ranker "
            f"was trained on (trained: {', '.join(trained)}); drop those rows or refit with that modality"
        )


def upstream_scores(
    frame: pd.DataFrame, models: dict[str, GBDTRanker], modal_features: dict[str, list[str]]
) -> np.ndarray:
    """Single-modal score ``g^m`` of every row from its modality's ranker.

    Rows of a modality without a ranker (one the single-modal pool never had) are refused with
    :class:`DatasetError`: the run cannot score what it never saw, and a silent NaN would rank them arbitrarily.
    """
    out = np.full(len(frame), np.nan)
    modality = frame[MODALITY].astype(str).to_numpy()
    check_modalities_seen(frame, sorted(models))
    for m, model in models.items():
        missing = [c for c in modal_features[m] if c not in frame.columns]
        if missing and (modality == m).any():
            raise DatasetError(
                f"input pages lack column {missing[0]!r}, an input of the '{m}' single-modal ranker; "
                "provide the same feature columns the run was trained with"
            )
        rows = np.flatnonzero(modality == m)
        if rows.size:
            out[rows] = model.predict(frame[modal_features[m]].iloc[rows])  # columns first: no copy of the texts
    return out


def with_upstream_scores(
    frame: pd.DataFrame, models: dict[str, GBDTRanker], modal_features: dict[str, list[str]]
) -> pd.DataFrame:
    """Copy of ``frame`` with ``upstream_score`` filled by the single-modal rankers (kept if shipped)."""
    if not models:
        return frame
    out = frame.copy(deep=False)  # the new column goes into the copy only; the columns are shared, not copied
    out[UPSTREAM_SCORE] = upstream_scores(frame, models, modal_features)
    return out
