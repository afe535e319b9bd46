"""Score-level baselines of method.md section 4 that need no training: score fusion and interleaving.

The trained baselines (full supervision, budget-only LambdaMART) are native rankers fitted by
:mod:`smar_ltr.pipeline` on the same split and features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smar_ltr.schema import MODALITY, QID, UPSTREAM_SCORE


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
