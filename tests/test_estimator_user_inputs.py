"""SMARRanker with the inputs a scikit-learn user really passes: numpy hyperparameters from a grid search, badly
typed settings, id and text columns beside the features, NaN single-modal scores, misspelt modalities, and a
manifest that is corrupted in ways the digest cannot see."""

from __future__ import annotations

import hashlib
import json

import numba
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold

import smar_ltr
from smar_ltr import SMARRanker
from smar_ltr.errors import ArtifactError, ConfigError, PageTableError, SettingNote
from smar_ltr.serving.run_dir import _digest

FAST = {"n_estimators": 8, "learning_rate": 0.3, "num_leaves": 4, "min_data_in_leaf": 2, "n_threads": 1}


@pytest.fixture(scope="module")
def data() -> dict:
    rng = np.random.default_rng(0)
    qid = np.repeat(np.arange(16), 6)
    modality = np.tile(["web", "image"], 48)
    X = pd.DataFrame(rng.normal(size=(96, 3)), columns=["a0", "a1", "a2"])
    y = np.clip(np.round(X["a0"].to_numpy() + 1), 0, 3)
    y[rng.random(96) < 0.5] = np.nan
    return {"X": X, "y": y, "qid": qid, "modality": modality, "upstream": X["a0"].to_numpy() + 0.1}


def _fit(data: dict, upstream=None, **params) -> SMARRanker:
    model = SMARRanker(**{**FAST, **params})
    up = data["upstream"] if upstream is None else upstream
    return model.fit(data["X"], data["y"], qid=data["qid"], modality=data["modality"], upstream_score=up)


def test_numpy_hyperparameters_save_and_load_as_plain_numbers(data, tmp_path) -> None:
    numpy_values = {"n_estimators": np.int64(8), "lam": np.float32(0.5), "seed": np.int64(3)}
    model = _fit(data, **numpy_values, params={"max_bin": np.int64(63)})
    model.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "estimator.json").read_text())["params"]
    assert saved["lam"] == 0.5 and isinstance(saved["lam"], float)  # was the string "0.5"
    assert saved["seed"] == 3 and saved["params"] == {"max_bin": 63}
    loaded = SMARRanker.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(data["X"]), model.predict(data["X"]))
    refit = _fit(data, **loaded.get_params())  # a reloaded model's settings fit again
    np.testing.assert_array_equal(refit.predict(data["X"]), model.predict(data["X"]))


def test_a_grid_searched_best_estimator_can_be_saved(data, tmp_path) -> None:
    X = data["X"].assign(qid=data["qid"])
    search = GridSearchCV(SMARRanker(**FAST), {"n_estimators": np.arange(4, 8, 3)}, cv=GroupKFold(2))
    search.fit(X, data["y"], groups=data["qid"], modality=data["modality"], upstream_score=data["upstream"])
    search.best_estimator_.save(tmp_path / "best")
    assert SMARRanker.load(tmp_path / "best").get_params()["n_estimators"] in (4, 7)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lam": "half"}, "lam must be a number"),
        ({"n_estimators": 2.5}, "n_estimators must be an integer"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"params": "x"}, "params must be a table"),
        ({"normalize_pairs": "maybe"}, "normalize_pairs must be true or false"),
    ],
)
def test_badly_typed_hyperparameters_are_one_config_error(data, params, message) -> None:
    with pytest.raises(ConfigError, match=message):
        _fit(data, **params)


def test_predict_and_score_ignore_columns_the_model_does_not_read(data) -> None:
    model = _fit(data)
    extra = data["X"].assign(doc_id=[f"d{i}" for i in range(96)], zzz=1.0)[["doc_id", "a2", "zzz", "a1", "a0"]]
    np.testing.assert_array_equal(model.predict(extra), model.predict(data["X"]))
    assert model.score(extra.assign(qid=data["qid"]), data["y"]) == model.score(
        data["X"].assign(qid=data["qid"]), data["y"]
    )
    with pytest.raises(PageTableError, match="feature column 'a1' must be numeric, found 'x'"):
        model.predict(data["X"].assign(a1="x"))  # a column the model reads is still checked


def test_nan_or_text_single_modal_scores_name_the_input_row(data) -> None:
    up = data["upstream"].copy()
    up[10] = np.nan
    with pytest.raises(PageTableError, match="upstream_score is NaN at row 10 of X"):
        _fit(data, upstream=up)
    text = data["upstream"].astype(object)
    text[7] = "high"
    with pytest.raises(PageTableError, match="upstream_score must be numeric, found 'high' at row 7"):
        _fit(data, upstream=text)
    # nothing orders by the score: NaN is a missing reranker input, as documented
    model = _fit(data, upstream=up, mode="none", strategy="given", upstream_as_feature=True)
    assert np.isfinite(model.predict(data["X"], upstream_score=up)).all()


def test_a_misspelt_modality_in_beta_is_said(data, recwarn) -> None:
    with pytest.warns(SettingNote, match=r"beta names modality 'wbe'.*no effect.*image, web"):
        _fit(data, beta={"wbe": 0.0, "image": 0.5})
    _fit(data, beta={"web": 0.0, "image": 0.5})
    assert not [w for w in recwarn if "beta names" in str(w.message)]


def test_not_fitted_is_sklearns_not_fitted_error_too(data) -> None:
    with pytest.raises(NotFittedError) as info:
        SMARRanker().predict(data["X"])
    assert isinstance(info.value, ConfigError)  # and still one clear smar-ltr error for the CLI


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one numba thread: any count restores itself")
def test_fit_leaves_numbas_thread_count_as_it_found_it(data) -> None:
    before = numba.get_num_threads()
    numba.set_num_threads(2 if numba.config.NUMBA_NUM_THREADS >= 2 else 1)
    try:
        expected = numba.get_num_threads()
        _fit(data, n_threads=1)
        assert numba.get_num_threads() == expected
    finally:
        numba.set_num_threads(before)


def test_rerank_refuses_an_estimator_with_a_pointer_to_predict(data) -> None:
    with pytest.raises(ConfigError, match="SMARRanker with its own predict"):
        smar_ltr.rerank(_fit(data), data["X"])


def _resign(run, edit) -> None:
    """Rewrite ``manifest.json`` through ``edit`` with a fresh digest: corruption the digest cannot catch."""
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    manifest["digest"] = _digest(manifest)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda run: (run / "manifest.json").write_bytes(b"\xff\xfe\x00garbage"),
        lambda run: (run / "manifest.json").write_text("[1, 2]"),
        lambda run: _resign(run, lambda m: m.update(files=list(m["files"]))),
        lambda run: _resign(run, lambda m: m.update(format_version="2")),
        lambda run: _resign(run, lambda m: m["files"].update({"../../outside": "0" * 64})),
        lambda run: _resign(run, lambda m: m.update(single_modal={"web": "../../x"})),
    ],
    ids=["not utf-8", "a list", "files a list", "version a string", "path outside", "stem outside"],
)
def test_a_corrupted_manifest_is_one_artifact_error(data, tmp_path, corrupt) -> None:
    run = tmp_path / "m"
    _fit(data).save(run)
    corrupt(run)
    with pytest.raises(ArtifactError, match="corrupted"):
        SMARRanker.load(run)


def test_loading_a_file_says_it_is_a_file(tmp_path) -> None:
    path = tmp_path / "model.txt"
    path.write_text(hashlib.sha256(b"").hexdigest())
    with pytest.raises(ArtifactError, match="is a file; pass the run directory"):
        SMARRanker.load(path)


@pytest.mark.parametrize("upstream_as_feature", [False, True])
def test_estimator_json_that_disagrees_with_the_reranker_is_refused(data, tmp_path, upstream_as_feature) -> None:
    run = tmp_path / "m"
    _fit(data, upstream_as_feature=upstream_as_feature).save(run)
    assert SMARRanker.load(run).feature_names_in_ == ["a0", "a1", "a2"]  # the untouched model loads
    description = json.loads((run / "estimator.json").read_text())
    description["feature_names_in"] = ["a0", "a2", "a1"]
    (run / "estimator.json").write_text(json.dumps(description))
    _resign(
        run,
        lambda m: m["files"].update(
            {"estimator.json": hashlib.sha256((run / "estimator.json").read_bytes()).hexdigest()}
        ),
    )
    with pytest.raises(ArtifactError, match="other inputs than the reranker reads"):
        SMARRanker.load(run)


def test_a_setting_given_as_text_means_the_same_in_fit_and_predict(data, tmp_path) -> None:
    model = _fit(data, upstream_as_feature="false")
    assert "upstream_score" not in model.reranker_.feature_names_in_
    np.testing.assert_array_equal(model.predict(data["X"]), _fit(data).predict(data["X"]))
    model.save(tmp_path / "m")
    assert SMARRanker.load(tmp_path / "m").predict(data["X"]).shape == (96,)
