"""The exact matrix the reranker scores, with row keys, so engine-side feature values can be checked."""

from __future__ import annotations

import pandas as pd

from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import ITEM_ID, QID
from smar_ltr.serving.model import SmarModel

KEYS = (QID, ITEM_ID)


def reranker_input_matrix(model: SmarModel, frame: pd.DataFrame) -> pd.DataFrame:
    """``qid``, ``item_id`` and every reranker input (float32, NaN = missing), rows in ``frame``'s order.

    The feature columns are named and ordered as the reranker's inputs, which are the feature names in every
    export (:mod:`smar_ltr.export`); ``model.reranker.predict`` of these columns gives the run's scores (the
    reranker's part of them for a run with a list stage, whose per-list offsets :meth:`SmarModel.score` adds).

    Parameters
    ----------
    model : SmarModel
        A fitted or loaded run.
    frame : DataFrame
        Page table (validated by :meth:`SmarModel.prepare`; needs ``qid`` and ``item_id``).
    """
    prepared = model.prepare(frame, upstream=model.needs_upstream)
    clash = [k for k in KEYS if k in model.feature_names]
    if clash:
        raise DatasetError(f"a reranker input is named {clash[0]!r}, like a key column; rename that feature")
    features = model.featurize(prepared)[model.feature_names]
    keys = prepared[list(KEYS)].astype(str)
    return pd.concat([keys, features], axis=1).reset_index(drop=True)
