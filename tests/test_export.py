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
from engine_walkers import score_es_ltr, score_solr, score_vespa_lightgbm, score_vespa_xgboost

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


def library_thresholds(model) -> list[tuple[int, float]]:
    """(feature index, threshold) of every split, read from the library's own tree table."""
    table = model.reranker.booster_.trees_to_dataframe()
    if "split_feature" in table.columns:  # LightGBM names columns Column_<i>
        rows = table[table["split_feature"].notna()]
        pairs = zip(rows["split_feature"], rows["threshold"], strict=True)
    else:  # XGBoost names them f<i>
        rows = table[table["Feature"] != "Leaf"]
        pairs = zip(rows["Feature"], rows["Split"], strict=True)
    return [(int(re.sub(r"\D", "", str(f).rsplit("_", 1)[-1])), float(t)) for f, t in pairs]


def probe_matrix(model, pages: pd.DataFrame) -> pd.DataFrame:
    """Test-page inputs plus boundary rows: every threshold, its float32 neighbours, all-NaN and all-zero rows."""
    X = reranker_input_matrix(model, pages)[model.feature_names].astype("float32")
    assert X.isna().to_numpy().any(), "the probe must contain missing values"
    base = X.to_numpy()
    extra = [np.full(base.shape[1], np.nan, np.float32), np.zeros(base.shape[1], np.float32)]
    for k, (feature, threshold) in enumerate(library_thresholds(model)):
        t = np.float32(threshold)
        for value in (np.nextafter(t, np.float32(-np.inf)), t, np.nextafter(t, np.float32(np.inf))):
            row = base[k % len(base)].copy()
            row[feature] = value
            extra.append(row)
    return pd.DataFrame(np.vstack([base, np.array(extra, np.float32)]), columns=model.feature_names)


def assert_same_scores(engine: np.ndarray, own: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(own).max()))
    np.testing.assert_allclose(engine, own, rtol=0, atol=2e-5 * scale)


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
    X = probe_matrix(model, small_splits.test)
    assert_same_scores(score_es_ltr(body, featureset, X.to_numpy()), model.reranker.predict(X))


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_vespa_export_scores_like_the_reranker(runs, small_splits, tmp_path, backend):
    model = runs[backend]
    out = tmp_path / "reranker.json"
    export_model(model, "vespa", out)
    document = json.loads(out.read_text())
    profile = (tmp_path / "reranker.rank-profile.sd").read_text()
    X = probe_matrix(model, small_splits.test)
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
    X = probe_matrix(model, small_splits.test)
    assert_same_scores(score_solr(body, X.to_numpy()), model.reranker.predict(X))
    assert not any("gap" in n for n in export.notes)
