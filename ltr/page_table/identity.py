"""One identity for data: a fingerprint of every column a result depends on.

Every cache and resume in smar-ltr (sweep cells, tune studies, the baselines stored with a run) is keyed by the
fingerprint of the tables it read, so a result computed on other data is recomputed, never reused. A table's
fingerprint covers each column in the order the table holds them (its name, its dtype and its values: keys,
labels, feature values, single-modal scores and any other column), and the row order; the index is left out
(no result reads it). Values are hashed as NumPy buffers (numeric, bool, datetime and categorical codes) or
with pandas' vectorised object hashing (strings, mixed objects, whose inferred kind is hashed too, so ``1`` and
``"1"`` differ), never one Python object at a time: a 1M-row table with 30 columns takes well under a second.

A fingerprint is computed once per table by the caller that loads it (a sweep once per seed, a study once) and
passed down as a string.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.page_table.splits import PageSplits

#: Version of the fingerprint recipe (part of every fingerprint: a new recipe never matches an old record).
RECIPE = "smar-data-v1"
#: The four roles of :class:`~smar_ltr.page_table.splits.PageSplits`, in the order a fit reads them.
ROLES = ("single_modal", "train", "valid", "test")
#: ``PageSplits.info`` keys that change a result (evaluation reads them).
INFO_KEYS = ("relevance_rule", "report_metrics")


def _column_bytes(values: pd.Series) -> Iterable[bytes]:
    """The bytes that identify one column's values (dtype included)."""
    dtype = values.dtype
    yield str(dtype).encode()
    if isinstance(dtype, pd.CategoricalDtype):
        yield np.ascontiguousarray(values.cat.codes.to_numpy()).tobytes()
        yield from _column_bytes(pd.Series(values.cat.categories))
        return
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(dtype, np.dtype):
        mask = values.isna().to_numpy()
        yield np.packbits(mask).tobytes()
        kind = getattr(dtype, "kind", "O")
        if kind in "biuf":  # nullable numbers and booleans: the values under the mask do not count
            filled = values.to_numpy(dtype=np.float64 if kind == "f" else np.int64, na_value=0)
            yield np.ascontiguousarray(filled).tobytes()
            return
        values = values.astype(object)
    array = values.to_numpy()
    if array.dtype.kind in "biufcmM":
        yield np.ascontiguousarray(array).view(np.uint8).tobytes()
        return
    yield pd.api.types.infer_dtype(array, skipna=False).encode()  # "string", "integer", "mixed-integer", ...
    yield pd.util.hash_array(array.astype(object), categorize=False).tobytes()


def table_fingerprint(frame: pd.DataFrame | None, columns: Sequence[str] | None = None) -> str:
    """sha256 of a table's columns: names, dtypes and values in order, and the row count.

    Parameters
    ----------
    frame : DataFrame or None
        The table (None and an empty table have their own fingerprints).
    columns : sequence of str, optional
        The columns a result read, in the order read (default: every column of ``frame``, in its order).
        Columns absent from ``frame`` are recorded as absent.

    Returns
    -------
    str
        Hex sha256.
    """
    digest = hashlib.sha256(RECIPE.encode())
    if frame is None:
        digest.update(b"\0none")
        return digest.hexdigest()
    digest.update(f"\0rows={len(frame)}".encode())
    for name in frame.columns if columns is None else columns:
        digest.update(b"\0col\0" + str(name).encode())
        if name not in frame.columns:
            digest.update(b"\0absent")
            continue
        for chunk in _column_bytes(frame[name]):
            digest.update(b"\0" + chunk)
    return digest.hexdigest()


def splits_fingerprint(splits: PageSplits, roles: Sequence[str] = ROLES) -> str:
    """sha256 of the tables of ``roles`` (:func:`table_fingerprint` of each, in order), the declared feature
    views and the ``info`` entries evaluation reads: the identity of the data a sweep cell or a study read."""
    parts: dict[str, Any] = {"recipe": RECIPE, "name": splits.name}
    for role in roles:
        parts[role] = table_fingerprint(getattr(splits, role))
    parts["modal_features"] = {m: list(v) for m, v in splits.modal_features.items()}
    parts["page_features"] = list(splits.page_features)
    parts["info"] = {k: splits.info.get(k) for k in INFO_KEYS}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
