"""Exactness of the tree exports on rankers fitted directly (fast): native objectives, ``base_score``,
XGBoost's logistic margin, LightGBM splits whose feature had no NaN in training (NaN read as 0), refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_walkers import (
    assert_same_scores,
    score_es_ltr,
    score_solr,
    score_vespa_lightgbm,
    score_vespa_xgboost,
    solr_rows_outside,
    threshold_probes,
)

from smar_ltr.errors import ExportError
from smar_ltr.export import es_ltr, solr, vespa
from smar_ltr.export.trees import boundary_of_le, ensemble_of
from smar_ltr.rankers import make_ranker

NAMES = ["score.bm25", "neg_only", "count", "noise"]


def make_data(seed: int = 0, n_queries: int = 40, per_query: int = 8):
    """Four features: one 30% NaN, one always negative (never NaN in training), one small counts, one noise."""
    rng = np.random.default_rng(seed)
    n = n_queries * per_query
    X = np.column_stack(
        [rng.normal(size=n), -1.0 - 2 * rng.random(n), rng.integers(0, 4, n).astype(float), rng.random(n)]
    ).astype(np.float32)
    X[rng.random(n) < 0.3, 0] = np.nan
    signal = np.nan_to_num(X[:, 0]) + 0.8 * X[:, 1] + 0.5 * X[:, 2] + 0.3 * rng.normal(size=n)
    y = np.digitize(signal, np.quantile(signal, [0.5, 0.75, 0.9]))
    return X, y.astype(float), np.repeat(np.arange(n_queries), per_query)


def probe(ranker, X):
    """Training rows, rows with NaN where training never had one, and every split's threshold probes."""
    extra = X[:40].copy()
    extra[:, 1] = np.nan
    rows, probed = threshold_probes(ranker.booster_, X.shape[1])
    no_probe = [(-1, np.nan)] * (len(X) + len(extra))
    return np.vstack([X, extra, rows]), no_probe + probed


def check_every_engine(ranker, X, probed):
    own = ranker.predict(X)
    ensemble = ensemble_of(ranker)
    body, featureset = es_ltr.createmodel_body(ensemble, "m"), es_ltr.featureset_body(ensemble, set())
    assert_same_scores(score_es_ltr(body, featureset, X), own)
    if ranker.backend == "xgboost":
        engine = score_vespa_xgboost(vespa.xgboost_model(ensemble), vespa.vespa_names(NAMES), X)
    else:
        engine = score_vespa_lightgbm(vespa.lightgbm_model(ensemble), X)
    assert_same_scores(engine, own)
    model, inexact = solr.model_store_body(ensemble, "m", "s")
    keep = solr_rows_outside(inexact, NAMES, probed)
    assert_same_scores(score_solr(model, X[keep]), own[keep])
    return ensemble


FAST = {"n_estimators": 15, "num_leaves": 7, "min_data_in_leaf": 5, "early_stopping_rounds": 0}


def test_lightgbm_native_lambdarank_with_nan_read_as_zero():
    X, y, qid = make_data()
    assert vespa.vespa_names(NAMES)[0] == "score_bm25"  # not a Vespa identifier: rewritten
    ranker = make_ranker("lightgbm", **FAST).fit(pd.DataFrame(X, columns=NAMES), y, qid)
    # LightGBM learned "missing_type None" splits on the never-NaN feature, with negative thresholds: there NaN
    # counts as 0 and goes right, although default_left says left. The export must follow the 0.
    tree_table = ranker.booster_.trees_to_dataframe()
    none_splits = tree_table[(tree_table["split_feature"] == "Column_1") & (tree_table["missing_type"] == "None")]
    assert len(none_splits) and (none_splits["threshold"] < 0).all()
    Xp, probed = probe(ranker, X)
    check_every_engine(ranker, Xp, probed)


@pytest.mark.parametrize(
    "params",
    [{}, {"base_score": 0.7}, {"objective": "binary:logistic", "base_score": 0.2}],
    ids=["rank-ndcg", "base-score", "logistic-margin"],
)
def test_xgboost_intercept_becomes_a_constant_tree(params):
    X, y, qid = make_data(1)
    if params.get("objective") == "binary:logistic":
        y = (y > 0).astype(float)
    ranker = make_ranker("xgboost", **FAST, params=params).fit(pd.DataFrame(X, columns=NAMES), y, qid)
    Xp, probed = probe(ranker, X)
    ensemble = check_every_engine(ranker, Xp, probed)
    if "base_score" in params:
        expected = 0.7 if params.get("objective") is None else np.log(0.2 / 0.8)
        assert ensemble.intercept == pytest.approx(expected, rel=1e-6)
        assert es_ltr.model_definition(ensemble)["splits"][-1] == {"nodeid": 0, "leaf": ensemble.intercept}


def test_boundary_of_le_is_exact_for_float32_values():
    rng = np.random.default_rng(3)
    for threshold in [*rng.normal(size=200), 0.0, 1.0000000180025095e-35, -2.5, 3.0000001]:
        b = np.float32(boundary_of_le(float(threshold)))
        below, at = np.nextafter(b, np.float32(-np.inf)), b
        assert float(below) <= threshold < float(at)


def test_catboost_is_refused_naming_what_can_be_exported():
    X, y, qid = make_data(2, n_queries=10)
    ranker = make_ranker("catboost", n_estimators=3, early_stopping_rounds=0).fit(np.nan_to_num(X), y, qid)
    with pytest.raises(ExportError, match=r"catboost reranker cannot be exported.*lightgbm.*xgboost"):
        ensemble_of(ranker)
