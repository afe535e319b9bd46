"""smar_ltr.metrics.ranking against other implementations: sklearn's ``ndcg_score`` and LightGBM's own eval log."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from smar_ltr.metrics.ranking import evaluate, evaluate_per_query


def _random_queries(seed: int, n_queries: int, max_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, max_size + 1, n_queries)  # sklearn's ndcg_score needs >= 2 items per list
    qid = np.repeat(np.arange(n_queries), sizes)
    labels = rng.integers(0, 5, qid.size) * (rng.random(qid.size) < 0.6)
    labels[qid % 7 == 0] = 0  # some queries without any relevant item
    scores = rng.normal(size=qid.size) + 0.4 * labels  # continuous: no ties
    perm = rng.permutation(qid.size)  # rows of different queries interleaved
    return labels[perm], scores[perm], qid[perm]


@pytest.mark.parametrize("k", [None, 1, 3, 5, 10])
def test_ndcg_linear_gain_matches_sklearn(k: int | None) -> None:
    labels, scores, qid = _random_queries(seed=11, n_queries=80, max_size=15)
    name = "ndcg(gain=linear)" if k is None else f"ndcg@{k}(gain=linear)"
    ours = evaluate_per_query(labels, scores, qid, [name])[name]
    compared = 0
    for q, value in ours.items():
        rows = qid == q
        if labels[rows].max() == 0:  # sklearn scores such queries 0; ours 1 (empty=one); compared below
            continue
        expected = ndcg_score([labels[rows]], [scores[rows]], k=k, ignore_ties=True)
        assert value == pytest.approx(expected, abs=1e-9), q
        compared += 1
    assert compared > 50


def test_ndcg_linear_gain_empty_zero_matches_sklearn_mean() -> None:
    labels, scores, qid = _random_queries(seed=5, n_queries=60, max_size=12)
    ours = evaluate(labels, scores, qid, ["ndcg@5(gain=linear,empty=zero)"])["ndcg@5(gain=linear,empty=zero)"]
    per_query = [ndcg_score([labels[qid == q]], [scores[qid == q]], k=5, ignore_ties=True) for q in dict.fromkeys(qid)]
    assert (labels.reshape(-1) == 0).any()
    assert ours == pytest.approx(float(np.mean(per_query)), abs=1e-9)


def test_ndcg_exp_gain_matches_lightgbm_eval_log() -> None:
    rng = np.random.default_rng(2024)

    def make(n_queries: int, all_zero_every: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        sizes = rng.integers(1, 25, n_queries)
        qid = np.repeat(np.arange(n_queries), sizes)
        features = rng.normal(size=(qid.size, 5))
        signal = features @ np.array([1.0, -0.7, 0.5, 0.0, 0.3]) + rng.normal(scale=0.7, size=qid.size)
        labels = np.digitize(signal, [-0.5, 0.5, 1.2, 2.0])  # 0..4
        labels[qid % all_zero_every == 0] = 0  # queries with IDCG = 0 (LightGBM scores them 1)
        return features, labels, qid, sizes

    x_train, y_train, _, g_train = make(80, all_zero_every=1000)
    x_valid, y_valid, q_valid, g_valid = make(40, all_zero_every=6)
    train = lgb.Dataset(x_train, y_train, group=g_train)
    valid = lgb.Dataset(x_valid, y_valid, group=g_valid, reference=train)
    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [1, 3, 5, 10],
        "num_leaves": 15,
        "min_data_in_leaf": 3,
        "learning_rate": 0.2,
        "deterministic": True,
        "num_threads": 1,
        "seed": 7,
        "verbose": -1,
    }
    log: dict = {}
    booster = lgb.train(
        params,
        train,
        num_boost_round=25,
        valid_sets=[valid],
        valid_names=["valid"],
        callbacks=[lgb.record_evaluation(log)],
    )
    scores = booster.predict(x_valid)
    # LightGBM breaks score ties its own way: the comparison is only meaningful without ties
    for q in np.unique(q_valid):
        assert np.unique(scores[q_valid == q]).size == (q_valid == q).sum()
    assert (np.bincount(q_valid, weights=y_valid) == 0).sum() >= 5  # empty queries are exercised

    names = [f"ndcg@{k}(gain=exp,empty=one)" for k in (1, 3, 5, 10)]
    ours = evaluate(y_valid, scores, q_valid, names)
    for k, name in zip((1, 3, 5, 10), names, strict=True):
        assert ours[name] == pytest.approx(log["valid"][f"ndcg@{k}"][-1], abs=1e-6), name
    # the defaults are LightGBM's conventions
    assert evaluate(y_valid, scores, q_valid, ["ndcg@5"])["ndcg@5"] == ours[names[2]]
