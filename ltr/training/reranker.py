"""Stage 2.4: train the whole-page reranker from revealed page labels plus single-modal constraints.

LightGBM and XGBoost get one callable :class:`~smar_ltr.training.objectives.SmarObjective`; CatBoost gets the same
supervision as explicit weighted pairs (page-label pairs on the revealed subset, intra-modal and cross-modal
pairs) for its PairLogit loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import Annotation
from smar_ltr.config import ConsistencyConfig, GBDTConfig
from smar_ltr.core.numba_kernels import kernel_threads
from smar_ltr.errors import ConfigError
from smar_ltr.page_table.query_groups import QueryGroups
from smar_ltr.page_table.schema import MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE
from smar_ltr.rankers import GBDTRanker, make_ranker
from smar_ltr.supervision.pairs import concat_pairs, consistency_pairs, cross_modal_pairs, empty_pairs
from smar_ltr.supervision.pool_pairs import PoolRows
from smar_ltr.training.objectives import LambdaRankTerm, ListwiseTerm, PairTerm, SmarObjective


@dataclass(frozen=True)
class Supervision:
    """Everything the reranker learns from, in training-row order.

    Attributes
    ----------
    page_rows : ndarray
        Rows whose page label is revealed, grouped by query; ``page_offsets`` their query boundaries and
        ``page_labels`` the labels.
    intra, cross : DataFrame
        Constraint pair tables (``qid, winner, loser, weight, kind``).
    """

    page_rows: np.ndarray
    page_offsets: np.ndarray
    page_labels: np.ndarray
    intra: pd.DataFrame
    cross: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Sizes of each supervision signal, for reports."""
        return {
            "page_rows": int(self.page_rows.size),
            "intra_pairs": len(self.intra),
            "cross_pairs": len(self.cross),
        }


def build_supervision(frame: pd.DataFrame, annotation: Annotation, cfg: ConsistencyConfig, seed: int) -> Supervision:
    """Revealed-label groups and constraint pairs for a page table with ``upstream_score``.

    Parameters
    ----------
    frame : DataFrame
        Training pages (contiguous queries) with ``upstream_score`` and ``page_label``.
    annotation : Annotation
        Which rows have revealed labels (and, for ``iso-anchor``, inferred labels).
    cfg : ConsistencyConfig
        Pair scheme and weights.
    seed : int
        Seed of pair sampling.
    """
    mask = np.asarray(annotation.mask, dtype=bool)
    rows = np.flatnonzero(mask)
    groups = QueryGroups.from_qid(frame[QID].to_numpy()[rows]) if rows.size else None
    offsets = np.concatenate([[0], np.cumsum(groups.sizes)]) if groups is not None else np.array([0])
    labels = frame[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan)[rows]
    empty = empty_pairs()
    intra = empty
    if cfg.mode == "pairwise" and cfg.lam > 0:
        intra = consistency_pairs(frame, cfg, seed)
    cross = empty
    if annotation.inferred_label is not None and cfg.mu > 0:
        cross = cross_modal_pairs(
            frame, annotation.inferred_label, mu=cfg.mu, max_pairs_per_item=cfg.max_pairs_per_item, seed=seed
        )
    return Supervision(page_rows=rows, page_offsets=offsets, page_labels=labels, intra=intra, cross=cross)


def _pair_term(pairs: pd.DataFrame, margin: tuple[float, float], row_query: np.ndarray) -> PairTerm | None:
    if len(pairs) == 0:
        return None
    return PairTerm(
        winner=pairs["winner"].to_numpy(np.int64),
        loser=pairs["loser"].to_numpy(np.int64),
        weight=pairs["weight"].to_numpy(np.float64),
        gamma=margin[0],
        kappa=margin[1],
        row_query=row_query,
    )


def listwise_term(frame: pd.DataFrame, cfg: ConsistencyConfig) -> ListwiseTerm:
    """ListMLE distillation over each (query, modality) list of ``frame`` in single-modal order."""
    keys = frame[QID].astype(str) + "\x1f" + frame[MODALITY].astype(str)
    codes, uniques = pd.factorize(keys, sort=False)
    modality = pd.Series(uniques).str.split("\x1f").str[1].to_numpy()
    beta = cfg.beta
    weights = np.array([beta.get(m, 1.0) if isinstance(beta, dict) else beta for m in modality], dtype=float)
    ref = frame[UPSTREAM_SCORE].to_numpy(dtype=float, na_value=np.nan)
    codes = np.where(np.isnan(ref), -1, codes)
    return ListwiseTerm(list_codes=codes, reference=np.nan_to_num(ref), list_weight=weights)


def build_objective(frame: pd.DataFrame, sup: Supervision, cfg: ConsistencyConfig) -> SmarObjective:
    """The backend-neutral ``grad, hess`` objective of SMAR for ``frame``'s rows."""
    page = None
    if sup.page_rows.size and cfg.page_weight > 0:
        page = LambdaRankTerm(sup.page_offsets, sup.page_rows, sup.page_labels, normalize=cfg.lambdarank_norm)
    row_query = QueryGroups.from_qid(frame[QID].to_numpy()).codes
    margin = cfg.margin("lightgbm")  # an unset gamma / kappa: the LightGBM and XGBoost default
    consistency: PairTerm | ListwiseTerm | None = None
    if cfg.mode == "pairwise":
        consistency = _pair_term(sup.intra, margin, row_query)
    elif cfg.mode == "listwise":
        consistency = listwise_term(frame, cfg)
    cross = _pair_term(sup.cross, margin, row_query)
    if page is None and consistency is None and cross is None:
        raise ConfigError(
            "the reranker has nothing to learn from: no revealed label pairs (or page_weight=0) and no consistency "
            "or anchor pairs (mode=none or lam=0); enable at least one term"
        )
    return SmarObjective(
        n_rows=len(frame),
        page=page,
        consistency=consistency,
        cross=cross,
        lam=cfg.lam,
        page_weight=cfg.page_weight,
    )


def page_pairs(sup: Supervision, qid: np.ndarray, weight: float, per_query: bool = True) -> pd.DataFrame:
    """All ``(i, j)`` pairs with a higher revealed label in the same query.

    Each pair weighs ``weight``, divided by the query's pair count when ``per_query`` (so every query counts
    alike, the role LambdaRank's per-query normalisation plays in the lightgbm/xgboost page term).
    """
    out = []
    for q in range(sup.page_offsets.size - 1):
        lo, hi = sup.page_offsets[q], sup.page_offsets[q + 1]
        rows, y = sup.page_rows[lo:hi], sup.page_labels[lo:hi]
        a, b = np.nonzero(y[:, None] > y[None, :])
        if a.size:
            out.append(
                pd.DataFrame({"winner": rows[a], "loser": rows[b], "weight": weight / (a.size if per_query else 1)})
            )
    if not out:
        return pd.DataFrame({"winner": np.array([], np.int64), "loser": np.array([], np.int64), "weight": []})
    table = pd.concat(out, ignore_index=True)
    table.insert(0, QID, qid[table["winner"].to_numpy()])
    table["kind"] = "page"
    return table


def catboost_pairs(sup: Supervision, qid: np.ndarray, cfg: ConsistencyConfig) -> pd.DataFrame:
    """Every SMAR signal as one weighted pair table for CatBoost's ``PairLogit`` loss.

    PairLogit is ``log(1 + exp(-(s_w - s_l)))``, the smooth hinge with ``gamma=0, kappa=1`` (what an unset
    gamma / kappa becomes on CatBoost): other margins or smoothness set explicitly, and listwise consistency, are
    refused with a :class:`ConfigError` rather than ignored.
    ``lam``, ``beta``, ``mu``, ``page_weight`` and the pair-building settings apply as on the other backends;
    ``lambdarank_norm`` averages the page pairs per query.
    """
    gamma, kappa = cfg.margin("catboost")
    if cfg.mode == "listwise":
        raise ConfigError("the CatBoost backend supports pairwise consistency only; use lightgbm/xgboost for listwise")
    pair_terms = (len(sup.intra) and cfg.lam > 0) or len(sup.cross)
    if pair_terms and (gamma != 0 or kappa != 1):
        raise ConfigError(
            f"the CatBoost backend learns constraint pairs with PairLogit, which has no margin or smoothness "
            f"(gamma={gamma}, kappa={kappa} given): set consistency.gamma=0 and consistency.kappa=1, "
            "or use lightgbm/xgboost"
        )
    tables = [page_pairs(sup, qid, cfg.page_weight, cfg.lambdarank_norm)] if cfg.page_weight > 0 else []
    if len(sup.intra) and cfg.lam > 0:
        tables.append(sup.intra.assign(weight=sup.intra["weight"] * cfg.lam))
    tables = [t for t in (*tables, sup.cross) if len(t)]
    if not tables:
        raise ConfigError("no supervision: the budget revealed no label pairs and no constraint pairs were built")
    return concat_pairs(*tables)


def train_reranker(
    X: pd.DataFrame,
    frame: pd.DataFrame,
    sup: Supervision,
    cfg: GBDTConfig,
    consistency: ConsistencyConfig,
    seed: int,
    eval_set: tuple | None = None,
    eval_metric: Callable[[np.ndarray], float] | None = None,
    pool: PoolRows | None = None,
) -> GBDTRanker:
    """Fit the SMAR whole-page reranker on features ``X`` of the training pages ``frame``.

    Parameters
    ----------
    X : DataFrame of shape (n_rows, n_features)
        Reranker features, rows aligned with ``frame``.
    frame : DataFrame
        Training pages (contiguous queries).
    sup : Supervision
        Revealed labels and constraint pairs.
    cfg, consistency : GBDTConfig, ConsistencyConfig
        Backend parameters and loss weights.
    seed : int
        GBDT seed.
    eval_set : (X, y, qid), optional
        Validation pages for early stopping.
    eval_metric : callable, optional
        ``scores -> loss`` of the eval set's rows (input order), lower is better: early stopping on it instead of
        NDCG (:func:`smar_ltr.training.early_stopping.consistency_metric`; then ``y`` of ``eval_set`` is not read).
    pool : PoolRows, optional
        Single-modal pool rows and their pairs, trained on after the pages (``consistency.pool_weight``).
    """
    if pool is not None:
        X, frame, intra = pool.appended_to(X, frame, sup.intra)
        sup = dataclasses.replace(sup, intra=intra)
    qid = frame[QID].to_numpy()
    model = make_ranker(cfg.backend, **cfg.ranker_kwargs(seed))
    dummy = np.zeros(len(frame))
    if cfg.backend == "catboost":
        return model.fit(X, dummy, qid, eval_set=eval_set, pairs=catboost_pairs(sup, qid, consistency))
    objective = build_objective(frame, sup, consistency)
    with kernel_threads(cfg.n_threads):
        return model.fit(X, dummy, qid, eval_set=eval_set, objective=objective, eval_metric=eval_metric)
