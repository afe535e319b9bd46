"""Input handling of :class:`smar_ltr.SMARRanker`: feature tables, per-row arrays, labels, upstream scores.

Each function takes what a scikit-learn user passes (arrays, DataFrames, Series, lists) and returns plain numpy
arrays or a float DataFrame, raising one clear :class:`~smar_ltr.errors.SmarError` line for bad input.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.page_table.query_groups import QueryGroups
from smar_ltr.page_table.schema import (
    ITEM_ID,
    MAX_LABEL,
    MODALITY,
    PAGE_LABEL,
    QID,
    UPSTREAM_SCORE,
    check_id_types,
    check_not_datetime,
)
from smar_ltr.rankers import GBDTRanker
from smar_ltr.rankers.single_modal import upstream_scores

#: Column of ``X`` that may carry the query id instead of the ``qid`` argument (XGBoost's convention).
QID_COLUMN = QID


def feature_frame(
    X: Any, qid: Any = None, keep: Collection[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Feature table with string column names, and the query ids (from ``qid`` or a ``qid`` column of ``X``).

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_rows, n_features)
        Numeric features; a DataFrame may hold a ``qid`` column, which is taken out of the features.
    qid : array-like of shape (n_rows,), optional
        Query id per row.
    keep : collection of str, optional
        The columns a fitted model reads: other columns of a DataFrame are dropped before they are checked, so
        an id or text column beside the features does not stop ``predict``.

    Returns
    -------
    (DataFrame, ndarray or None)
        Features (columns ``f0 .. f{k-1}`` for arrays) with a fresh ``RangeIndex``, and the qid array.
    """
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        if QID_COLUMN in frame.columns:
            if qid is not None:
                raise PageTableError("X has a 'qid' column and qid was passed too; give the query ids once")
            qid = frame[QID_COLUMN].to_numpy()
            frame = frame.drop(columns=[QID_COLUMN])
        if keep is not None:
            frame = frame[[c for c in frame.columns if c in keep]]
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise PageTableError(f"X must be a 2-D table of shape (n_rows, n_features), got shape {arr.shape}")
        frame = pd.DataFrame(arr, columns=[f"f{i}" for i in range(arr.shape[1])])
    if frame.columns.duplicated().any():
        raise PageTableError(
            f"X has column {frame.columns[frame.columns.duplicated()][0]!r} twice; names must be unique"
        )
    check_not_datetime(frame, frame.columns, "X")  # as smar_ltr.fit: never integer nanoseconds
    if qid is not None:
        check_id_types(per_row(qid, len(frame), "qid"), "qid", "argument")
    for col in frame.columns:
        s = frame[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            numeric = pd.to_numeric(s, errors="coerce")
            bad = s[numeric.isna() & s.notna()]
            if len(bad):
                raise PageTableError(
                    f"feature column {col!r} must be numeric, found {bad.iloc[0]!r}; NaN marks missing"
                )
            frame[col] = numeric.astype("float64")
    return frame, (None if qid is None else per_row(qid, len(frame), "qid"))


def per_row(values: Any, n: int, name: str) -> np.ndarray:
    """A 1-D array of length ``n`` (one value per row of X)."""
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series | pd.Index) else values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise PageTableError(f"{name} must have one value per row of X ({n}), got shape {arr.shape}")
    return arr


def graded_labels(y: Any, n: int, what: str = "y") -> np.ndarray:
    """Float labels: integer grades ``0 .. MAX_LABEL`` or NaN (not annotated)."""
    raw = per_row(y, n, what)
    try:
        arr = pd.to_numeric(pd.Series(raw), errors="raise").astype("Float64").to_numpy(np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise PageTableError(f"{what} must hold integer relevance grades (NaN = not annotated)") from None
    finite = ~np.isnan(arr)
    bad = finite & ((arr != np.round(arr)) | (arr < 0) | (arr > MAX_LABEL))
    if bad.any() or np.isinf(arr).any():
        i = int(np.flatnonzero(bad | np.isinf(arr))[0])
        raise PageTableError(
            f"{what}[{i}] = {arr[i]!r}: labels must be integer grades 0..{MAX_LABEL}, or NaN for not annotated"
        )
    return arr


def modality_array(modality: Any, n: int) -> np.ndarray:
    """Modality names as str, one per row (no missing values)."""
    if modality is None:
        raise PageTableError("modality is required: pass the modality (e.g. 'web', 'image') of every row")
    arr = pd.Series(per_row(modality, n, "modality"))
    if arr.isna().any():
        raise PageTableError(f"modality has a missing value at row {int(np.flatnonzero(arr.isna())[0])}")
    return arr.astype(str).to_numpy()


def check_single_modal(rankers: Mapping[str, GBDTRanker] | None) -> dict[str, GBDTRanker]:
    """Fitted single-modal rankers keyed by modality name (empty when none)."""
    if rankers is None:
        return {}
    if not isinstance(rankers, Mapping):
        raise ConfigError("single_modal_rankers must be a dict {modality: fitted GBDTRanker}")
    out: dict[str, GBDTRanker] = {}
    for m, model in rankers.items():
        if not isinstance(model, GBDTRanker) or not hasattr(model, "feature_names_in_"):
            raise ConfigError(f"single_modal_rankers[{m!r}] must be a fitted smar_ltr GBDTRanker")
        out[str(m)] = model
    return out


def upstream_array(
    n: int,
    upstream_score: Any,
    rankers: Mapping[str, GBDTRanker],
    modality: Any,
    source: pd.DataFrame,
    required: bool = False,
) -> np.ndarray | None:
    """Single-modal score per row: given, computed by ``rankers`` from ``source`` columns, or None.

    Parameters
    ----------
    n : int
        Number of rows.
    upstream_score : array-like of shape (n,), optional
        Given scores (NaN allowed where a row has none).
    rankers : dict of str to GBDTRanker
        Fitted single-modal rankers; each reads ``feature_names_in_`` columns of ``source``.
    modality : ndarray of shape (n,), optional
        Modality per row (needed with ``rankers``).
    source : DataFrame
        Columns the single-modal rankers read (``modal_X``, or the features ``X``).
    required : bool
        At prediction: a model that reads ``upstream_score`` as a feature needs it (given or computed); given
        scores take precedence over the model's rankers.
    """
    if required and upstream_score is not None:
        rankers = {}
    if required and not rankers and upstream_score is None:
        raise PageTableError("this model reads upstream_score as a feature: pass upstream_score")
    if upstream_score is not None:
        if rankers:
            raise ConfigError("pass either upstream_score or single_modal_rankers, not both")
        given = pd.Series(per_row(upstream_score, n, UPSTREAM_SCORE))
        values = pd.to_numeric(given, errors="coerce")
        bad = np.flatnonzero((values.isna() & given.notna()).to_numpy())
        if len(bad):
            raise PageTableError(
                f"upstream_score must be numeric, found {given.iloc[bad[0]]!r} at row {int(bad[0])}; NaN marks none"
            )
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(arr).any():
            raise PageTableError(f"upstream_score has an infinite value at row {int(np.flatnonzero(np.isinf(arr))[0])}")
        return arr
    if not rankers:
        return None
    modality = modality_array(modality, n)
    if len(source) != n:
        raise PageTableError(f"modal_X must have one row per row of X ({n}), got {len(source)}")
    columns = {m: list(model.feature_names_in_) for m, model in rankers.items()}
    return upstream_scores(source.assign(**{MODALITY: modality}), dict(rankers), columns)


def eval_parts(eval_set: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``(X, y, qid, modality, upstream_score)`` of an ``eval_set`` given as a 2-, 3- or 5-tuple."""
    if not isinstance(eval_set, tuple | list) or len(eval_set) not in (2, 3, 5):
        raise ConfigError(
            "eval_set must be (X, y), (X, y, qid) or (X, y, qid, modality, upstream_score); "
            "with (X, y), X carries a 'qid' column"
        )
    parts = list(eval_set) + [None] * (5 - len(eval_set))
    return parts[0], parts[1], parts[2], parts[3], parts[4]


def page_frame(
    qid: np.ndarray, modality: np.ndarray, labels: np.ndarray, upstream: np.ndarray | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """The page table of arrays, rows stable-sorted so each query is contiguous, and that row order.

    ``item_id`` is the input row number (as str); ``upstream_score`` is NaN when ``upstream`` is None.
    """
    n = labels.shape[0]
    order = QueryGroups.from_qid(qid).order
    frame = pd.DataFrame(
        {
            QID: qid,
            ITEM_ID: np.arange(n).astype(str),
            MODALITY: modality,
            PAGE_LABEL: labels,
            UPSTREAM_SCORE: np.full(n, np.nan) if upstream is None else upstream,
        }
    )
    return frame.iloc[order].reset_index(drop=True), order


def reranker_inputs(features: pd.DataFrame, names: list[str], upstream: np.ndarray | None) -> pd.DataFrame:
    """Reranker input matrix (float32): the ``names`` columns, plus ``upstream_score`` when ``upstream`` is given."""
    missing = [c for c in names if c not in features.columns]
    if missing:
        raise PageTableError(f"X lacks feature column {missing[0]!r} that the model was fitted with")
    out = features[names].astype("float32")
    if upstream is not None:
        if UPSTREAM_SCORE in out.columns:
            raise PageTableError("X has a column named 'upstream_score'; rename it (that name is the model's)")
        out[UPSTREAM_SCORE] = np.asarray(upstream, dtype=np.float32)
    return out
