"""Input checks shared by the metric functions: numeric 1-D arrays, equal lengths, finite values, query codes.

Moved out of :mod:`smar_ltr.metrics.ranking` unchanged; every error is a :class:`~smar_ltr.errors.PageTableError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.errors import PageTableError

__all__ = ["as_float", "as_keys", "check_finite", "check_length", "factorize_qid"]


def as_float(values: Any, what: str) -> np.ndarray:
    """``values`` as a 1-D float64 array (NA becomes NaN); ``what`` names it in the error."""
    try:
        if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
            array = values.astype(np.float64, copy=False)
        else:
            array = pd.Series(values).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise PageTableError(f"{what} must be a 1-D numeric array ({exc})") from None
    if array.ndim != 1:
        raise PageTableError(f"{what} must be 1-D, got shape {array.shape}")
    return array


def check_length(array: Any, n: int, what: str) -> None:
    """Raise unless ``array`` has ``n`` rows."""
    if len(array) != n:
        raise PageTableError(f"{what} has {len(array)} rows but labels has {n}; pass one value per row")


def check_finite(array: np.ndarray, what: str) -> None:
    """Raise on the first NaN or infinite value, naming its row."""
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PageTableError(f"{what} must be finite; row {row} is {array[row]} (fill or drop such rows first)")


def as_keys(values: Any) -> Any:
    """Per-row keys (qid, modality) in a form ``pd.factorize`` takes without converting tuples."""
    if isinstance(values, (pd.Series, pd.Index, pd.Categorical, np.ndarray)):
        return values
    return pd.Series(list(values), dtype=object)


def factorize_qid(qid: Any, n: int) -> tuple[np.ndarray, pd.Index]:
    """Per-row query codes (order of first appearance) and the query ids, checked: 1-D, ``n`` rows, no NA."""
    qid = as_keys(qid)
    if qid.ndim != 1:
        raise PageTableError(f"qid must be 1-D, got shape {qid.shape}")
    check_length(qid, n, "qid")
    codes, uniques = pd.factorize(qid, sort=False)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise PageTableError(f"qid has a missing value at row {row}; every row needs a query id")
    return codes.astype(np.int64, copy=False), pd.Index(uniques, name="qid", tupleize_cols=False)
