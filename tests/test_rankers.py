"""The three GBDT backends behind one interface: learning, input order, early stopping, SMAR paths, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smar_ltr.errors import ArtifactError, ConfigError
from smar_ltr.metrics.ranking import evaluate
from smar_ltr.rankers import BACKENDS, load_ranker, make_ranker
from smar_ltr.training.objectives import LambdaRankTerm, SmarObjective

FAST = {"n_estimators": 40, "learning_rate": 0.2, "num_leaves": 7, "min_data_in_leaf": 5, "n_threads": 1}


def _data(seed: int, n_q: int = 60, size: int = 12):
    rng = np.random.default_rng(seed)
    n = n_q * size
    X = rng.normal(size=(n, 5))
    rel = X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=n)
    y = np.clip(np.digitize(rel, [-1, 0, 1, 2]), 0, 4)
    qid = np.repeat([f"q{i:03d}" for i in range(n_q)], size)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y, qid


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_learns_and_predicts_in_input_order(backend: str) -> None:
    X, y, qid = _data(0)
    vX, vy, vq = _data(1, n_q=20)
    model = make_ranker(backend, **FAST).fit(X, y, qid, eval_set=(vX, vy, vq))
    scores = model.predict(vX)
    assert scores.shape == (len(vX),)
    assert evaluate(vy, scores, vq, ["ndcg@10"])["ndcg@10"] > 0.8
    perm = np.random.default_rng(2).permutation(len(vX))
    np.testing.assert_allclose(model.predict(vX.iloc[perm]), scores[perm], rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shuffled_training_rows_are_grouped_by_qid(backend: str) -> None:
    X, y, qid = _data(3, n_q=30)
    perm = np.random.default_rng(4).permutation(len(X))
    model = make_ranker(backend, **FAST).fit(X.iloc[perm], y[perm], qid[perm])
    assert evaluate(y, model.predict(X), qid, ["ndcg@10"])["ndcg@10"] > 0.8


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_model(backend: str) -> None:
    X, y, qid = _data(5, n_q=20)
    a = make_ranker(backend, seed=7, **FAST).fit(X, y, qid).predict(X)
    b = make_ranker(backend, seed=7, **FAST).fit(X, y, qid).predict(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_custom_objective_path_learns(backend: str) -> None:
    X, y, qid = _data(6)
    sizes = np.unique(qid, return_counts=True)[1]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    obj = SmarObjective(n_rows=len(y), page=LambdaRankTerm(offsets, np.arange(len(y)), y.astype(float)))
    model = make_ranker(backend, **FAST).fit(X, np.zeros(len(y)), qid, objective=obj)
    assert evaluate(y, model.predict(X), qid, ["ndcg@10"])["ndcg@10"] > 0.85


def test_catboost_pairs_path_learns() -> None:
    X, y, qid = _data(7)
    rows = np.arange(len(y))
    w, lo = np.meshgrid(rows, rows, indexing="ij")
    same = (qid[w] == qid[lo]) & (y[w] > y[lo])
    pairs = pd.DataFrame({"winner": w[same], "loser": lo[same], "weight": 1.0})
    model = make_ranker("catboost", **FAST).fit(X, np.zeros(len(y)), qid, pairs=pairs)
    assert evaluate(y, model.predict(X), qid, ["ndcg@10"])["ndcg@10"] > 0.85


def test_early_stopping_stops_before_the_round_limit() -> None:
    X, y, qid = _data(8)
    rng = np.random.default_rng(9)
    noise_y = rng.integers(0, 5, len(y))  # validation labels unrelated to features: no improvement
    model = make_ranker("lightgbm", **{**FAST, "n_estimators": 300, "early_stopping_rounds": 5})
    model.fit(X, y, qid, eval_set=(X, noise_y, qid))
    assert model.best_iteration_ < 300


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_round_trip(tmp_path, backend: str) -> None:
    X, y, qid = _data(10, n_q=20)
    model = make_ranker(backend, **FAST).fit(X, y, qid, eval_set=(X, y, qid))
    files = model.save(tmp_path / "model")
    assert all(f.exists() for f in files)
    loaded = load_ranker(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-5, atol=1e-6)
    assert loaded.feature_names_in_ == list(X.columns)


def test_corrupted_model_file_is_refused(tmp_path) -> None:
    X, y, qid = _data(11, n_q=10)
    model = make_ranker("xgboost", **FAST).fit(X, y, qid)
    model_file, _ = model.save(tmp_path / "m")
    model_file.write_text("{not a model")
    with pytest.raises(ArtifactError, match="cannot load model"):
        load_ranker(tmp_path / "m")


def test_unknown_backend_and_unfitted_predict() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'lgbm'"):
        make_ranker("lgbm")
    with pytest.raises(ConfigError, match="not fitted"):
        make_ranker("lightgbm").predict(np.zeros((2, 3)))
