"""Exports to Elasticsearch / OpenSearch LTR, Vespa and Solr score exactly as the reranker's own ``predict``.

No engine runs here: each exported file is scored by an independent walker that follows the engine's documented
evaluation rules (``tests/engine_walkers.py``), on the test pages' reranker inputs (NaN included) plus rows
whose values sit exactly on, just below and just above every split threshold of the library's own model.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import fast_config
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
from smar_ltr.export import build_export, export_model, reranker_input_matrix
from smar_ltr.export.vespa import vespa_names

FAST_RERANKER = {"n_estimators": 12, "num_leaves": 15, "early_stopping_rounds": 0}


@pytest.fixture(scope="module")
def prepared(small_splits):
    from smar_ltr.pipeline import prepare

    return prepare(fast_config(), small_splits)


def _fit(prepared, backend: str):
    from smar_ltr.pipeline import fit_prepared

    return fit_prepared(fast_config(reranker={**FAST_RERANKER, "backend": backend}), prepared)[0]


@pytest.fixture(scope="module")
def runs(prepared):
    return {backend: _fit(prepared, backend) for backend in ("lightgbm", "xgboost")}


def probe_matrix(model, pages: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[int, float]]]:
    """Test-page inputs (NaN included) plus :func:`threshold_probes` rows; and each row's probed value."""
    X = reranker_input_matrix(model, pages)[model.feature_names].astype("float32")
    assert X.isna().to_numpy().any(), "the probe must contain missing values"
    rows, probed = threshold_probes(model.reranker.booster_, len(model.feature_names))
    no_probe: list[tuple[int, float]] = [(-1, np.nan)] * len(X)
    return pd.DataFrame(np.vstack([X.to_numpy(), rows]), columns=model.feature_names), no_probe + probed


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("fmt", ["es-ltr", "opensearch-ltr"])
def test_es_and_opensearch_exports_score_like_the_reranker(runs, small_splits, tmp_path, backend, fmt):
    model = runs[backend]
    out = tmp_path / "smar.json"
    export = export_model(model, fmt, out)
    body = json.loads(out.read_text())
    featureset = json.loads((tmp_path / "smar.featureset.json").read_text())
    assert list(export.files) == [out, tmp_path / "smar.featureset.json"]
    assert [f["name"] for f in featureset["featureset"]["features"]] == model.feature_names
    X, _ = probe_matrix(model, small_splits.test)
    assert_same_scores(score_es_ltr(body, featureset, X.to_numpy()), model.reranker.predict(X))


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_vespa_export_scores_like_the_reranker(runs, small_splits, tmp_path, backend):
    model = runs[backend]
    out = tmp_path / "reranker.json"
    export_model(model, "vespa", out)
    document = json.loads(out.read_text())
    profile = (tmp_path / "reranker.rank-profile.sd").read_text()
    X, _ = probe_matrix(model, small_splits.test)
    if backend == "xgboost":
        assert isinstance(document, list) and out.read_text().lstrip().startswith("[")  # Vespa's probe
        assert 'xgboost("reranker.json")' in profile
        engine = score_vespa_xgboost(document, vespa_names(model.feature_names), X.to_numpy())
    else:
        assert document["feature_names"] == vespa_names(model.feature_names)
        assert 'lightgbm("reranker.json")' in profile
        engine = score_vespa_lightgbm(document, X.to_numpy())
    for name in vespa_names(model.feature_names):
        assert f"function {name}()" in profile
    assert_same_scores(engine, model.reranker.predict(X))


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_solr_export_scores_like_the_reranker(runs, small_splits, tmp_path, backend):
    model = runs[backend]
    out = tmp_path / "solr-model.json"
    export = export_model(model, "solr", out, name="smar")
    body = json.loads(out.read_text())
    store = json.loads((tmp_path / "solr-model.feature-store.json").read_text())
    assert [f["name"] for f in store] == model.feature_names == [f["name"] for f in body["features"]]
    assert all(f["store"] == "smar" and f["params"]["defaultValue"] == "NaN" for f in store)
    X, probed = probe_matrix(model, small_splits.test)
    # Solr adds 1e-6f to every threshold; float32 cannot undo that for boundaries near 0, and the export says
    # which values are then routed differently. Those ranges must be tiny and next to zero; every other row exact.
    for feature, low, high in export.inexact:
        assert 0 <= high - low < 1e-6 and abs(high) < 1e-6, (feature, low, high)
    assert bool(export.inexact) == any("near zero" in n for n in export.notes)
    keep = solr_rows_outside(export.inexact, model.feature_names, probed)
    Xk = X[keep]
    assert_same_scores(score_solr(body, Xk.to_numpy()), model.reranker.predict(Xk))
