"""The single-modal pool's own lists as extra intra-modal pairs of the reranker (``consistency.pool_weight``).

SMAR's consistency pairs teach the reranker each single-modal ranker's order on the training pages: a distilled,
second-hand view of the single-modal labels. With ``pool_weight > 0`` the reranker also trains on the single-modal
pool itself: its rows are appended to the training rows (features from the same fitted feature set) and each of its
(query, modality) lists gives intra-modal pairs ordered by the list's own ``modal_label``, drawn like the page
pairs (``pair_scheme``, ``max_pairs_per_item``, ``beta``, per-list normalisation) and weighted ``pool_weight``
relative to a page list's pairs, inside the consistency term (so ``lam`` scales both). The pool rows carry no page
label and join no page term: no page label is read, and the honest label count is unchanged.

On by default where the run has such a pool (``pool_weight`` None): on the real-data protocol's validation folds
(``benchmarks/protocol.py``, budget 0.1) it gave +0.016 NDCG@10 on Yahoo (paired p = 0.005 over 210 queries) and
matched the default on MQ2008 (+0.0003, TOST p = 0.047), the only setting outside the paper that improved a real
task. The pool's rows join the reranker's training rows, so training takes longer (about 1.5-2x there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from smar_ltr.config import ConsistencyConfig
from smar_ltr.errors import ConfigError
from smar_ltr.page_table.schema import MODAL_LABEL, PAGE_LABEL, QID
from smar_ltr.supervision.pairs import concat_pairs, consistency_pairs

__all__ = [
    "NO_PAIRS",
    "POOL_QID_PREFIX",
    "PoolRows",
    "pool_frame",
    "pool_list_pairs",
    "pool_summary",
    "pool_unavailable",
    "requested_pool_weight",
]

#: Prefix of the pool's query ids once appended to the training pages (no page table id can start with it).
POOL_QID_PREFIX = "\x1fpool\x1f"


@dataclass(frozen=True)
class PoolRows:
    """Pool rows ready to append to a reranker's training rows.

    Attributes
    ----------
    frame : DataFrame
        The pool's labelled lists, queries contiguous, qids prefixed with :data:`POOL_QID_PREFIX`, no
        ``page_label`` column.
    X : DataFrame
        Their reranker inputs (the training design matrix's columns).
    pairs : DataFrame
        Intra-modal pairs (``qid, winner, loser, weight, kind``), rows indexing ``frame``, weights already
        multiplied by ``pool_weight``.
    """

    frame: pd.DataFrame
    X: pd.DataFrame
    pairs: pd.DataFrame

    @classmethod
    def build(
        cls, frame: pd.DataFrame, X: pd.DataFrame, cfg: ConsistencyConfig, seed: int, weight: float | None = None
    ) -> PoolRows:
        """Pairs of ``frame``'s lists (ordered by ``modal_label``) for the pool rows ``frame`` with inputs ``X``,
        weighted ``weight`` (default ``cfg.pool_weight``, 1 when that is unset)."""
        pairs = pool_list_pairs(frame, cfg, seed, weight)
        if len(pairs) == 0:
            raise ConfigError(NO_PAIRS)
        return cls(frame, X, pairs)

    def appended_to(
        self, X: pd.DataFrame, frame: pd.DataFrame, intra: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``(X, frame, intra)`` of the training rows with the pool's rows and pairs after them."""
        n = len(frame)
        shifted = self.pairs.assign(winner=self.pairs["winner"] + n, loser=self.pairs["loser"] + n)
        return (
            pd.concat([X.reset_index(drop=True), self.X[list(X.columns)]], ignore_index=True),
            pd.concat([frame.reset_index(drop=True), self.frame], ignore_index=True),
            concat_pairs(intra, shifted),
        )


#: Why a pool gives no pair.
NO_PAIRS = (
    "consistency.pool_weight: the single-modal pool has no list with two different modal labels, so it gives no "
    "pair; set consistency.pool_weight=0"
)


def pool_list_pairs(
    frame: pd.DataFrame, cfg: ConsistencyConfig, seed: int, weight: float | None = None
) -> pd.DataFrame:
    """Intra-modal pairs of the pool lists in ``frame`` ordered by ``modal_label`` (rows index ``frame``), weighted
    ``weight`` (default ``cfg.pool_weight``, 1 when that is unset). Pairs are drawn per list, so a partition of
    whole lists gets the pairs the whole pool would."""
    labels = frame.assign(**{MODAL_LABEL: frame[MODAL_LABEL].astype(float)})
    pairs = consistency_pairs(labels, cfg, seed, score_col=MODAL_LABEL)
    if weight is None:
        weight = 1.0 if cfg.pool_weight is None else cfg.pool_weight
    return pairs.assign(weight=pairs["weight"] * weight)


def requested_pool_weight(cfg: ConsistencyConfig) -> tuple[float, dict[str, Any] | None]:
    """The pool weight ``cfg`` asks for before any pool is looked at: ``(weight, None)``, or ``(0, summary)``
    when none is used (``pool_weight=0``, or the automatic default with a consistency term that is not pairwise).

    One policy for every engine (:meth:`smar_ltr.pipeline.Prepared.pool_decision`, the Dask engine's
    ``pool_partitions``); :func:`pool_summary` and :func:`pool_unavailable` finish it once the pool was read.
    """
    if cfg.pool_weight is not None and cfg.pool_weight <= 0:
        return 0.0, {"weight": 0.0, "reason": "consistency.pool_weight=0"}
    if cfg.pool_weight is None and (cfg.mode != "pairwise" or cfg.lam <= 0):
        return 0.0, {"weight": 0.0, "reason": "automatic: the consistency term is not pairwise"}
    return (1.0 if cfg.pool_weight is None else cfg.pool_weight), None


def pool_summary(cfg: ConsistencyConfig, weight: float, rows: int, pairs: int) -> dict[str, Any]:
    """What the run summary records about pool pairs that were used."""
    how = "automatic" if cfg.pool_weight is None else "consistency.pool_weight"
    return {"weight": weight, "reason": how, "rows": rows, "pairs": pairs}


def pool_unavailable(cfg: ConsistencyConfig, problem: ConfigError) -> dict[str, Any]:
    """The summary of an automatic default that found no usable pool; ``problem`` raised for an explicit weight."""
    if cfg.pool_weight is not None:
        raise problem
    return {"weight": 0.0, "reason": f"automatic: {str(problem).split(';')[0]}"}


def pool_frame(single_modal: pd.DataFrame | None, dataset: str) -> pd.DataFrame:
    """The single-modal pool's rows with a modal label, queries contiguous, qids made distinct from page qids.

    Raises
    ------
    ConfigError
        The dataset has no single-modal pool with labels.
    """
    if single_modal is None or MODAL_LABEL not in single_modal.columns or single_modal[MODAL_LABEL].notna().sum() == 0:
        raise ConfigError(
            f"consistency.pool_weight > 0 needs a single-modal pool with modal_label rows; dataset {dataset!r} has "
            "none (datasets that ship single-modal scores come without one); set consistency.pool_weight=0"
        )
    rows = single_modal[single_modal[MODAL_LABEL].notna()].sort_values(QID, kind="stable").reset_index(drop=True)
    rows = rows.drop(columns=[PAGE_LABEL], errors="ignore")  # no page label travels with the pool rows
    return rows.assign(**{QID: POOL_QID_PREFIX + rows[QID].astype(str)})
