"""Functions the Dask engine runs on each query-aligned partition (pandas in, pandas or plain values out).

Each takes one partition (a pandas DataFrame of whole queries) first, so the client can ``submit`` it per
partition future. Moved out of :mod:`smar_ltr.distributed.fit` unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import annotated_rows
from smar_ltr.config import ConsistencyConfig
from smar_ltr.distributed.annotation import INFERRED, REVEALED
from smar_ltr.distributed.objective import POOL_ROW, local_supervision
from smar_ltr.page_table.schema import MODAL_LABEL, MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE, validate_page_table
from smar_ltr.page_table.splits import split_queries
from smar_ltr.serving.model import design_matrix
from smar_ltr.supervision.pool_pairs import pool_frame, pool_list_pairs
from smar_ltr.training.early_stopping import consistency_term


def empty(part: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """The zero-row slice of a partition (its columns and dtypes: Dask's ``meta``)."""
    return part.iloc[:0]


def validated(part: pd.DataFrame, label: str, what: str, non_null: bool = True) -> pd.DataFrame:
    """The partition checked as a page table that has ``label`` (non-null unless ``non_null`` is False)."""
    return validate_page_table(part, require=(label,), non_null=(label,) if non_null else (), what=what)


def fully_labelled(part: pd.DataFrame) -> bool:
    """Whether every row of the partition carries a page label."""
    return bool(annotated_rows(part).all())


def eval_rows(part: pd.DataFrame, features: Any, raw: list[str], upstream: bool) -> pd.DataFrame:
    """Design matrix (computed on whole pages) of the validation rows whose label early stopping reads."""
    X = design_matrix(part, features, raw, upstream)
    return X[part[REVEALED].to_numpy(dtype=bool)]


def consistency_losses(
    part: pd.DataFrame, ranker: Any, features: Any, raw: list[str], upstream: bool, cfg: ConsistencyConfig, seed: int
) -> tuple[np.ndarray, float] | None:
    """The validation partition's consistency loss after each boosting round of ``ranker`` (a sum over its pairs)
    and its total pair weight, or None when it has no intra-modal pair; reads no page label."""
    term = consistency_term(part, cfg, seed)
    if term is None:
        return None
    rounds = ranker.round_scores(design_matrix(part, features, raw, upstream))
    return np.array([term.loss(scores) for scores in rounds]), float(term.weight.sum())


def eval_labels(part: pd.DataFrame) -> pd.DataFrame:
    """``qid, page_label`` of the rows whose label early stopping reads."""
    return part.loc[part[REVEALED].to_numpy(dtype=bool), [QID, PAGE_LABEL]].reset_index(drop=True)


def rows_of(part: pd.DataFrame, modality: str, picked: set, hold: bool) -> pd.DataFrame:
    """Rows of ``modality`` whose query is (``hold``) or is not in ``picked``."""
    rows = part[part[MODALITY].astype(str) == modality]
    return rows[rows[QID].isin(picked) == hold]


def unique_qids(part: pd.DataFrame) -> np.ndarray:
    """The partition's query ids, in order of first appearance."""
    return pd.unique(part[QID].to_numpy())


def held_out_queries(fraction: float, seed: int, *uniques: np.ndarray) -> set:
    """The queries held out for validation: ``fraction`` of all ``uniques``, drawn with ``seed``."""
    qids = np.concatenate(uniques) if uniques else np.array([], dtype=object)
    held, _ = split_queries(qids, [fraction], seed)
    return set(held.tolist())


def modalities(part: pd.DataFrame) -> set[str]:
    """The modalities present in the partition."""
    return set(part[MODALITY].astype(str).unique().tolist())


def column(part: pd.DataFrame, col: str) -> pd.Series:
    """``col`` as float64 (unparseable values become NaN)."""
    return pd.to_numeric(part[col], errors="coerce").astype("float64")


def columns(part: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The partition's ``cols``."""
    return part[cols]


def n_queries(part: pd.DataFrame) -> int:
    """How many queries the partition holds."""
    return int(part[QID].nunique())


def row_hashes(part: pd.DataFrame) -> np.ndarray:
    """One hash per row of its identifying columns (for the data fingerprint)."""
    cols = [c for c in (QID, "item_id", MODALITY, PAGE_LABEL) if c in part.columns]
    return pd.util.hash_pandas_object(part[cols].astype(str), index=False).to_numpy()


def digest(*hashes: np.ndarray) -> str:
    """sha256 of the row hashes of every partition, in order."""
    return hashlib.sha256(np.concatenate(hashes).tobytes()).hexdigest()


def has_upstream(part: pd.DataFrame) -> bool:
    """Whether every row has a single-modal score."""
    return UPSTREAM_SCORE in part.columns and bool(part[UPSTREAM_SCORE].notna().all())


def supervision_counts(part: pd.DataFrame, cfg: ConsistencyConfig, seed: int) -> dict[str, int]:
    """Revealed rows and constraint pairs of one annotated partition (what the worker objective will use)."""
    return local_supervision(part, cfg, seed).counts()


def pool_part(part: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """A single-modal pool partition's labelled lists as training rows: pool qids, no page label, never revealed,
    marked :data:`~smar_ltr.distributed.objective.POOL_ROW` (empty when it has no modal label)."""
    if MODAL_LABEL not in part.columns or part[MODAL_LABEL].notna().sum() == 0:
        return part.iloc[:0].drop(columns=[PAGE_LABEL], errors="ignore")
    rows = pool_frame(part, dataset)
    return rows.assign(**{REVEALED: False, INFERRED: np.nan, POOL_ROW: True})


def pool_pair_count(part: pd.DataFrame, cfg: ConsistencyConfig, seed: int) -> int:
    """Pairs the pool partition's lists give (ordered by ``modal_label``)."""
    return len(pool_list_pairs(part, cfg, seed))


def modality_qids(part: pd.DataFrame, modality: str) -> np.ndarray:
    """Query ids that have a candidate of ``modality``."""
    return unique_qids(part[part[MODALITY].astype(str) == modality])


def sizes_array(part: pd.DataFrame) -> np.ndarray:
    """Rows per query (order of first appearance), int64."""
    codes, uniques = pd.factorize(part[QID], sort=False)
    return np.bincount(codes, minlength=len(uniques)).astype(np.int64)
