"""Score-level baselines of method.md section 4: score fusion, interleaving and the calibrated single-modal merge.

* :func:`fusion_scores`, :func:`interleave_scores` read no page label.
* :func:`fit_modal_calibration` / :func:`calibrated_scores` (the ``single_modal`` baseline): each modality's
  ranker alone, its lists merged by a per-modality isotonic map from ``upstream_score`` to the page label, fitted
  on the revealed (budgeted) training labels only, so its label cost is the budget's.
* :func:`with_upstream_column` gives the ``*_up`` LambdaMART baselines the single-modal score as an input.

The trained baselines (full supervision, budget-only LambdaMART and their ``*_up`` variants) are native rankers
fitted by :mod:`smar_ltr.evaluation.paper_protocol` on the same split and features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from smar_ltr.page_table.schema import MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE


def _list_keys(frame: pd.DataFrame) -> pd.Series:
    return frame[QID].astype(str) + "\x1f" + frame[MODALITY].astype(str)


def fusion_scores(frame: pd.DataFrame, method: str = "minmax") -> np.ndarray:
    """Merge single-modal lists by normalising ``upstream_score`` within each (query, modality).

    Parameters
    ----------
    frame : DataFrame
        Pages with ``upstream_score``.
    method : {"minmax", "zscore"}
        Min-max to [0, 1] (a single-item list gets 1) or z-score (a constant list gets 0).

    Returns
    -------
    ndarray of shape (n_rows,)
        Fused scores in input order (NaN upstream scores rank last).
    """
    if method not in ("minmax", "zscore"):
        raise ValueError(f"fusion method must be 'minmax' or 'zscore', got {method!r}")
    score = frame[UPSTREAM_SCORE].astype("float64")
    grouped = score.groupby(_list_keys(frame).to_numpy(), sort=False)
    if method == "minmax":
        lo, hi = grouped.transform("min"), grouped.transform("max")
        span = (hi - lo).to_numpy()
        out = np.where(span > 0, (score - lo).to_numpy() / np.where(span > 0, span, 1.0), 1.0)
    else:
        mean, std = grouped.transform("mean"), grouped.transform("std", ddof=0)
        sd = std.to_numpy()
        out = np.where(sd > 0, (score - mean).to_numpy() / np.where(sd > 0, sd, 1.0), 0.0)
    return np.where(np.isnan(score.to_numpy()), -np.inf, out)


def interleave_scores(frame: pd.DataFrame, modality_order: list[str] | None = None) -> np.ndarray:
    """Round-robin interleaving of the single-modal lists.

    Each modality's list is ordered by ``upstream_score``; the page takes the first item of every modality,
    then the second of every modality, and so on. Within a round, modalities go in ``modality_order``
    (default: alphabetical).

    Returns
    -------
    ndarray of shape (n_rows,)
        Scores whose descending order is the interleaved ranking.
    """
    keys = _list_keys(frame).to_numpy()
    score = frame[UPSTREAM_SCORE].to_numpy(dtype=float, na_value=np.nan)
    tmp = pd.DataFrame({"key": keys, "s": np.nan_to_num(score, nan=-np.inf), "i": np.arange(len(frame))})
    tmp = tmp.sort_values(["key", "s", "i"], ascending=[True, False, True], kind="stable")
    within = np.empty(len(frame), dtype=np.int64)
    within[tmp["i"].to_numpy()] = tmp.groupby("key", sort=False).cumcount().to_numpy()
    modalities = sorted(frame[MODALITY].astype(str).unique()) if modality_order is None else list(modality_order)
    slot = {m: k for k, m in enumerate(modalities)}
    mod_slot = frame[MODALITY].astype(str).map(slot).fillna(len(slot)).to_numpy(dtype=np.int64)
    n_slots = len(slot) + 1
    return -(within * n_slots + mod_slot).astype(float)


def with_upstream_column(X: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """``X`` with ``upstream_score`` of ``frame`` (same rows) appended as a float32 column (kept if present)."""
    if UPSTREAM_SCORE in X.columns:
        return X
    if len(X) != len(frame):
        raise ValueError(f"feature rows ({len(X)}) and page rows ({len(frame)}) must be the same rows")
    out = X.copy()
    out[UPSTREAM_SCORE] = frame[UPSTREAM_SCORE].to_numpy(dtype="float32", na_value=np.nan)
    return out


@dataclass(frozen=True)
class ModalCalibration:
    """Per-modality monotone maps from ``upstream_score`` to the expected page label.

    Attributes
    ----------
    knots : dict of str to (ndarray, ndarray)
        Per modality, the isotonic fit's thresholds ``(x, y)`` (x increasing, y non-decreasing); a score maps
        by linear interpolation between knots and is clipped to the end knots (scikit-learn's
        ``IsotonicRegression(out_of_bounds="clip")``).
    fallback : float
        Mean revealed label, used for a modality without any revealed label (such a list keeps its own order).
    labels_used : int
        Revealed page labels the maps were fitted on.
    """

    knots: dict[str, tuple[np.ndarray, np.ndarray]]
    fallback: float
    labels_used: int

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated score of every row (the fallback for unseen modalities, NaN where the score is NaN)."""
        score = frame[UPSTREAM_SCORE].to_numpy(dtype=float, na_value=np.nan)
        modality = frame[MODALITY].astype(str).to_numpy()
        out = np.full(len(frame), self.fallback, dtype=float)
        for m, (x, y) in self.knots.items():
            rows = modality == m
            out[rows] = np.interp(score[rows], x, y)
        out[np.isnan(score)] = np.nan
        return out


def fit_modal_calibration(train: pd.DataFrame, revealed: np.ndarray) -> ModalCalibration:
    """Fit one isotonic map ``upstream_score -> page_label`` per modality on the revealed rows only.

    Parameters
    ----------
    train : DataFrame
        Training pages with ``modality``, ``upstream_score`` and ``page_label``.
    revealed : ndarray of bool, shape (n_rows,)
        The annotation mask: only these rows' page labels are read.

    Returns
    -------
    ModalCalibration
    """
    revealed = np.asarray(revealed, dtype=bool)
    rows = train.loc[revealed]
    score = rows[UPSTREAM_SCORE].to_numpy(dtype=float, na_value=np.nan)
    label = rows[PAGE_LABEL].to_numpy(dtype=float)
    modality = rows[MODALITY].astype(str).to_numpy()
    knots: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m in sorted(set(modality)):
        keep = (modality == m) & ~np.isnan(score)
        if not keep.any():
            continue
        iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(score[keep], label[keep])
        knots[m] = (np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float))
    fallback = float(label.mean()) if label.size else 0.0
    return ModalCalibration(knots=knots, fallback=fallback, labels_used=int(revealed.sum()))


def calibrated_scores(frame: pd.DataFrame, calibration: ModalCalibration) -> np.ndarray:
    """The ``single_modal`` baseline: the lists merged by calibrated score.

    Rows are ordered by calibrated score; ties (an isotonic map is a step function) are broken by the row's
    min-max normalised ``upstream_score`` within its (query, modality) list, so every modality keeps its own
    ranker's order exactly. Rows without a score rank last.

    Returns
    -------
    ndarray of shape (n_rows,)
        Scores whose descending order within each query is the merged ranking.
    """
    calibrated = calibration.transform(frame)
    within = fusion_scores(frame, "minmax")
    missing = np.isnan(calibrated)
    order = np.lexsort((within, np.where(missing, -np.inf, calibrated)))
    out = np.empty(len(frame), dtype=float)
    out[order] = np.arange(len(frame), dtype=float)
    out[missing] = -np.inf
    return out
