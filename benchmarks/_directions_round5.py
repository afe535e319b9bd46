"""Round 5 of ``select_directions.py``: label-free directions measured at the benchmark level, not as options.

Each direction is a function ``(Context) -> {label: validation scores}``. They reuse the library's stages
(:func:`smar_ltr.reranker.train_reranker`, :func:`smar_ltr.baselines.fit_modal_calibration`, ...) on the run that
the current default (early stopping on the consistency loss) fitted, so the only thing that changes per row is
the direction named in the label. None of them beat that default on validation pages, so none became a library
option; this module keeps the measurement reproducible.

1. ``bagged``: k rerankers that differ only in the GBDT seed, with LightGBM's ``feature_fraction`` or
   ``bagging_fraction`` at 0.8 (else every seed grows the same trees), raw scores averaged. No label read.
2. ``fusion``: per query, z-scored SMAR score + w * z-scored calibrated single-modal score (the ``single_modal``
   baseline's per-modality isotonic map fitted on the revealed training labels). No further label read.
3. ``query pseudo``: soft pseudo labels (the isotonic map is not rounded) shifted per (query, modality) by the
   mean residual of that list's revealed rows, learnt in the pseudo-label LambdaMART term (``pseudo_weight``).
4. ``capacity``: reranker num_leaves / min_data_in_leaf / learning rate, each shown, plus the per-seed choice of
   the lowest validation consistency loss (:func:`smar_ltr.label_free.consistency_metric`, no label read).
5. ``pool``: the single-modal pool's lists (their own single-modal labels, not page labels) as extra intra-modal
   constraint pairs of the reranker, weight w relative to a page list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smar_ltr.baselines import fit_modal_calibration
from smar_ltr.config import ConsistencyConfig, GBDTConfig, RunConfig
from smar_ltr.label_free import consistency_metric, target_groups
from smar_ltr.metrics import evaluate
from smar_ltr.pairs import concat_pairs, intra_modal_pairs
from smar_ltr.pipeline import FitState, Prepared, design_matrix, fit_prepared
from smar_ltr.rankers import GBDTRanker
from smar_ltr.reranker import Supervision, train_reranker
from smar_ltr.schema import MODAL_LABEL, MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE


@dataclass
class Context:
    """The default run of one seed: config (early stopping on consistency), prepared data, fitted state."""

    cfg: RunConfig
    prepared: Prepared
    state: FitState
    scores: np.ndarray  # the default SMAR's validation scores

    @property
    def valid(self) -> pd.DataFrame:
        assert self.prepared.valid is not None
        return self.prepared.valid

    def metric(self) -> Callable[[np.ndarray], float]:
        metric = consistency_metric(self.valid, self.cfg.consistency, self.cfg.seed)
        assert metric is not None
        return metric

    def eval_set(self) -> tuple:
        qid = self.valid[QID].to_numpy()
        return self.prepared.X_valid, np.zeros(len(qid)), qid


def valid_ndcg(valid: pd.DataFrame, scores: np.ndarray) -> float:
    """NDCG@10 of ``scores`` on the labelled validation rows (what ``evaluate_run`` reports for SMAR)."""
    label = valid[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan)
    keep = ~np.isnan(label)
    return float(evaluate(label[keep], scores[keep], valid[QID].to_numpy()[keep], ["ndcg@10"])["ndcg@10"])


def query_z(scores: np.ndarray, qid: np.ndarray) -> np.ndarray:
    """Scores z-scored within each query (a constant query gets 0)."""
    s = pd.Series(np.asarray(scores, dtype=float))
    g = s.groupby(qid)
    sd = g.transform("std", ddof=0).to_numpy()
    return np.where(sd > 0, (s - g.transform("mean")).to_numpy() / np.where(sd > 0, sd, 1.0), 0.0)


def _train(
    ctx: Context,
    sup: Supervision | None = None,
    cons: ConsistencyConfig | None = None,
    gbdt: GBDTConfig | None = None,
    seed: int | None = None,
    X: pd.DataFrame | None = None,
    frame: pd.DataFrame | None = None,
) -> GBDTRanker:
    """The reranker of ``ctx``'s default run with one ingredient replaced, early-stopped on consistency."""
    assert ctx.state.supervision is not None
    return train_reranker(
        ctx.prepared.X_train if X is None else X,
        ctx.state.train if frame is None else frame,
        ctx.state.supervision if sup is None else sup,
        ctx.cfg.reranker if gbdt is None else gbdt,
        ctx.cfg.consistency if cons is None else cons,
        ctx.cfg.seed if seed is None else seed,
        ctx.eval_set(),
        ctx.metric(),
    )


def bagged(ctx: Context, k: int = 5) -> dict[str, np.ndarray]:
    out = {}
    for tag, params in (
        ("feature_fraction 0.8", {"feature_fraction": 0.8}),
        ("bagging_fraction 0.8", {"bagging_fraction": 0.8, "bagging_freq": 1}),
    ):
        gbdt = dataclasses.replace(ctx.cfg.reranker, params=params)
        preds = [_train(ctx, gbdt=gbdt, seed=ctx.cfg.seed * 100 + i).predict(ctx.prepared.X_valid) for i in range(k)]
        out[f"1 one reranker, {tag}"] = preds[0]
        out[f"1 bagged k={k}, {tag}"] = np.mean(preds, axis=0)
    return out


def fusion(ctx: Context) -> dict[str, np.ndarray]:
    qid = ctx.valid[QID].to_numpy()
    calibrated = fit_modal_calibration(ctx.state.train, ctx.state.annotation.mask).transform(ctx.valid)
    z_smar, z_cal = query_z(ctx.scores, qid), query_z(np.nan_to_num(calibrated), qid)
    return {f"2 fusion with calibrated single-modal, w={w}": z_smar + w * z_cal for w in (0.1, 0.25, 0.5, 1.0)}


def query_pseudo(ctx: Context) -> dict[str, np.ndarray]:
    train, mask = ctx.state.train, np.asarray(ctx.state.annotation.mask, dtype=bool)
    calibrated = fit_modal_calibration(train, mask).transform(train)
    label = train[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan)
    lists = (train[QID].astype(str) + "\x1f" + train[MODALITY].astype(str)).to_numpy()
    residual = pd.Series(np.where(mask, label - calibrated, np.nan)).groupby(lists).transform("mean").to_numpy()
    targets = np.clip(calibrated + np.nan_to_num(residual), 0, np.nanmax(label[mask]))
    targets[mask] = label[mask]
    rows, offsets, labels = target_groups(train[QID].to_numpy(), targets)
    sup = dataclasses.replace(ctx.state.supervision, pseudo_rows=rows, pseudo_offsets=offsets, pseudo_labels=labels)
    out = {}
    for w in (0.3, 1.0):
        cons = dataclasses.replace(ctx.cfg.consistency, pseudo_weight=w)
        out[f"3 soft pseudo labels + per-list offset, w={w}"] = _train(ctx, sup=sup, cons=cons).predict(
            ctx.prepared.X_valid
        )
    return out


CAPACITY = (
    ("num_leaves 7", {"num_leaves": 7}),
    ("num_leaves 15", {"num_leaves": 15}),
    ("num_leaves 63", {"num_leaves": 63}),
    ("min_data_in_leaf 50", {"min_data_in_leaf": 50}),
    ("min_data_in_leaf 100", {"min_data_in_leaf": 100}),
    ("learning_rate 0.1", {"learning_rate": 0.1}),
    ("learning_rate 0.02, 900 rounds", {"learning_rate": 0.02, "n_estimators": 900}),
)


def capacity(ctx: Context) -> dict[str, np.ndarray]:
    metric = ctx.metric()
    out: dict[str, np.ndarray] = {}
    losses = {"default capacity": metric(ctx.scores)}
    candidates = {"default capacity": ctx.scores}
    for tag, change in CAPACITY:
        cfg = dataclasses.replace(ctx.cfg, reranker=dataclasses.replace(ctx.cfg.reranker, **change)).validate()
        model, _ = fit_prepared(cfg, ctx.prepared)
        scores = model.reranker.predict(ctx.prepared.X_valid)
        out[f"4 {tag}"] = candidates[tag] = scores
        losses[tag] = metric(scores)
    chosen = min(losses, key=lambda t: losses[t])
    out["4 capacity chosen by the consistency loss"] = candidates[chosen]
    print(f"  capacity chosen by consistency loss: {chosen}", flush=True)
    return out


def pool(ctx: Context) -> dict[str, np.ndarray]:
    splits, c = ctx.prepared.splits, ctx.cfg.consistency
    assert splits.single_modal is not None
    lists = splits.single_modal.sort_values(QID, kind="stable").reset_index(drop=True)
    X = pd.concat(
        [ctx.prepared.X_train, design_matrix(lists, ctx.prepared.features, ctx.prepared.raw_features, False)],
        ignore_index=True,
    )
    lists = lists.assign(**{UPSTREAM_SCORE: lists[MODAL_LABEL].astype(float)})
    frame = pd.concat([ctx.state.train, lists], ignore_index=True)
    n = len(ctx.state.train)
    pairs = intra_modal_pairs(
        lists,
        beta=float(c.beta) if not isinstance(c.beta, dict) else c.beta,
        scheme=c.pair_scheme,
        max_pairs_per_item=c.max_pairs_per_item,
        normalize=c.normalize_pairs,
        seed=ctx.cfg.seed,
    )
    out = {}
    for w in (0.3, 1.0, 3.0):
        shifted = pairs.assign(winner=pairs["winner"] + n, loser=pairs["loser"] + n, weight=pairs["weight"] * w)
        sup = dataclasses.replace(ctx.state.supervision, intra=concat_pairs(ctx.state.supervision.intra, shifted))
        out[f"5 single-modal pool pairs, w={w}"] = _train(ctx, sup=sup, X=X, frame=frame).predict(ctx.prepared.X_valid)
    return out


DIRECTIONS: tuple[Callable[[Context], dict[str, np.ndarray]], ...] = (bagged, fusion, query_pseudo, capacity, pool)


def round5(cfg: RunConfig, prepared: Prepared) -> tuple[float, dict[str, float]]:
    """Honest label fraction of the default run and validation NDCG@10 of it (``4 ES``) and of every round-5
    direction, for one seed (no direction reads a page label the default run did not read)."""
    model, state = fit_prepared(cfg, prepared)
    assert prepared.X_valid is not None
    ctx = Context(cfg, prepared, state, model.reranker.predict(prepared.X_valid))
    out = {"4 ES (current default)": valid_ndcg(ctx.valid, ctx.scores)}
    for direction in DIRECTIONS:
        for label, scores in direction(ctx).items():
            out[label] = valid_ndcg(ctx.valid, scores)
            print(f"  {label}: {out[label]:.4f}", flush=True)
    return state.cost.label_fraction, out
