"""Exports to Elasticsearch / OpenSearch LTR, Vespa and Solr score exactly as the reranker's own ``predict``.

No engine runs here: each exported file is scored by an independent walker that follows the engine's documented
evaluation rules (``tests/engine_walkers.py``), on the test pages' reranker inputs (NaN included) plus rows
whose values sit exactly on, just below and just above every split threshold of the library's own model.
"""

from __future__ import annotations

import json

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


def test_build_export_writes_nothing_and_refuses_unknown_formats(runs, tmp_path):
    export = build_export(runs["lightgbm"], "vespa", tmp_path / "m.json", name="p")
    assert [p.name for p in export.files] == ["m.json", "m.rank-profile.sd"] and list(tmp_path.iterdir()) == []
    assert "rank-profile p inherits default" in export.files[tmp_path / "m.rank-profile.sd"]
    with pytest.raises(ExportError, match="unknown export format 'lucene'; choose one of es-ltr"):
        build_export(runs["lightgbm"], "lucene", tmp_path / "m.json")


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


# ------------------------------------------------------------------------------------------------------------
# CLI: export + features extract, the round trip a search team runs
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_runs(runs, tmp_path_factory):
    from smar_ltr.serving.run_dir import save_run

    root = tmp_path_factory.mktemp("runs")
    return {backend: save_run(model, root / backend) for backend, model in runs.items()}


def test_cli_export_then_extract_gives_the_rerank_scores(saved_runs, small_splits, tmp_path):
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    runner = CliRunner()
    out = tmp_path / "es" / "smar.json"
    result = runner.invoke(app, ["export", "--model", str(saved_runs["xgboost"]), "-f", "es-ltr", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout and "featureset.json" in result.stdout
    pages = tmp_path / "pages.parquet"
    small_splits.test.to_parquet(pages, index=False)
    for name in ("features.parquet", "features.csv"):
        matrix_file = tmp_path / name
        args = ["features", "extract", "--model", str(saved_runs["xgboost"]), "--input", str(pages)]
        result = runner.invoke(app, [*args, "--output", str(matrix_file)])
        assert result.exit_code == 0, result.output
        table = pd.read_parquet(matrix_file) if name.endswith(".parquet") else pd.read_csv(matrix_file)
        body = json.loads(out.read_text())
        featureset = json.loads((tmp_path / "es" / "smar.featureset.json").read_text())
        names = [f["name"] for f in featureset["featureset"]["features"]]
        assert list(table.columns) == ["qid", "item_id", *names]
        assert table["item_id"].astype(str).tolist() == small_splits.test["item_id"].astype(str).tolist()
        ranked = runner.invoke(
            app, ["rerank", "-m", str(saved_runs["xgboost"]), "-i", str(pages), "-o", str(tmp_path / "r.parquet")]
        )
        assert ranked.exit_code == 0, ranked.output
        own = pd.read_parquet(tmp_path / "r.parquet")["score"].to_numpy()
        assert_same_scores(score_es_ltr(body, featureset, table[names].to_numpy(dtype=np.float32)), own)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "lucene", "--out", "m.json"], "unknown --format 'lucene'"),
        (["-f", "solr", "--out", "m.txt"], "--out must be a .json file"),
    ],
)
def test_cli_export_errors_are_one_line(saved_runs, tmp_path, args, message):
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    args = [str(tmp_path / a) if a.startswith("m.") else a for a in args]
    result = CliRunner().invoke(app, ["export", "--model", str(saved_runs["lightgbm"]), *args])
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and message in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_cli_export_refuses_a_catboost_run(prepared, tmp_path):
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app
    from smar_ltr.pipeline import fit_prepared
    from smar_ltr.serving.run_dir import save_run

    catboost = {"backend": "catboost", "n_estimators": 3, "early_stopping_rounds": 0}
    cfg = fast_config(reranker=catboost, consistency={"gamma": 0.0, "kappa": 1.0})  # PairLogit has no margin
    run = save_run(fit_prepared(cfg, prepared)[0], tmp_path / "cb")
    result = CliRunner().invoke(app, ["export", "-m", str(run), "-f", "vespa", "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "catboost reranker cannot be exported" in result.stderr and "--backend lightgbm" in result.stderr
    assert not (tmp_path / "m.json").exists()


def test_cli_features_extract_model_mode_errors(saved_runs, tmp_path):
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    runner = CliRunner()
    base = ["features", "extract", "--model", str(saved_runs["lightgbm"]), "--output", str(tmp_path / "x.parquet")]
    result = runner.invoke(app, base)
    assert result.exit_code == 1 and "--model needs --input" in result.stderr
    result = runner.invoke(app, [*base, "--input", str(tmp_path / "p.parquet"), "-d", "synthetic"])
    assert result.exit_code == 1 and "--model brings its own features" in result.stderr
    result = runner.invoke(app, ["features", "extract", "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 1 and "needs --dataset NAME, or --model RUN --input PAGES" in result.stderr


def test_an_export_whose_second_file_cannot_be_written_writes_neither(runs, tmp_path):
    (tmp_path / "smar.featureset.json").mkdir()  # a folder where the feature-set file goes
    with pytest.raises(ExportError, match=r"smar\.featureset\.json' is a folder"):
        export_model(runs["lightgbm"], "es-ltr", tmp_path / "smar.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["smar.featureset.json"]


def test_features_extract_checks_both_outputs_first(tmp_path):
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    args = ["features", "extract", "--dataset", "synthetic", "-o", "size=small", "--out", str(tmp_path / "f.parquet")]
    (tmp_path / "blocked").write_text("a file where a folder should be")
    result = CliRunner().invoke(app, [*args, "--save-set", str(tmp_path / "blocked" / "set.json")])
    assert result.exit_code == 1 and "is a file, not a folder" in result.output
    result = CliRunner().invoke(app, [*args, "--save-set", str(tmp_path / "f.parquet")])
    assert result.exit_code == 1 and "--save-set must be a .json file" in result.output
    assert not (tmp_path / "f.parquet").exists()


def test_fields_split_below_zero_are_noted_for_elasticsearch(runs, tmp_path):
    from smar_ltr.export.es_ltr import negative_field_splits
    from smar_ltr.export.trees import Ensemble, Leaf, Split

    tree = Split(0, -1.5, True, Leaf(1.0), Split(1, 2.0, True, Leaf(0.0), Split(2, 0.0, True, Leaf(1), Leaf(2))))
    ensemble = Ensemble("lightgbm", ["f_a", "f_b", "q_bm25"], [tree], 0.0)
    assert negative_field_splits(ensemble, {"f_a", "f_b"}) == [("f_a", -1.5)]  # q_bm25 is no document field
    export = build_export(runs["lightgbm"], "es-ltr", tmp_path / "m.json")
    noted = [n for n in export.notes if "refuses negative values" in n]
    assert len(noted) == 1 and "split below 0" in noted[0]  # the synthetic dataset's columns go below 0
    assert not [n for n in build_export(runs["lightgbm"], "vespa", tmp_path / "v.json").notes if "negative" in n]


def test_vespa_profile_names_are_identifiers(runs, tmp_path):
    for bad in ("my model", "-bad", "2fast"):
        with pytest.raises(ExportError, match="cannot name a Vespa rank profile"):
            build_export(runs["lightgbm"], "vespa", tmp_path / "m.json", name=bad)
    export = build_export(runs["lightgbm"], "vespa", tmp_path / "2-model.json")  # a default from the file name
    assert "rank-profile f_2_model inherits default" in export.files[tmp_path / "2-model.rank-profile.sd"]
