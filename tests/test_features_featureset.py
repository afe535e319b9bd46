"""FeatureSet: selection, fit/transform contract, persistence, and reuse of training statistics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from smar_ltr.errors import ArtifactError, ConfigError, RegistryError
from smar_ltr.features import DEFAULT_FEATURES, FEATURES, FeatureNotFittedError, FeatureSet, resolve_selection
from smar_ltr.features.testing import sample_page_table


@pytest.fixture(scope="module")
def pages(small_splits):
    """Synthetic train / test pages with a simulated upstream score so every family is exercised."""
    rng = np.random.default_rng(0)
    train = small_splits.train.assign(upstream_score=rng.normal(size=len(small_splits.train)))
    test = small_splits.test.assign(upstream_score=rng.normal(size=len(small_splits.test)))
    return train, test


def test_selection_by_names_and_globs_keeps_order_and_drops_duplicates():
    names = resolve_selection(["smar.query.char_len.v1", "smar.page.*", "smar.query.*"])
    assert names == [
        "smar.query.char_len.v1",
        "smar.page.n_candidates.v1",
        "smar.page.n_modalities.v1",
        "smar.query.term_count.v1",
    ]
    assert resolve_selection(None) == resolve_selection(list(DEFAULT_FEATURES)) == FEATURES.names()


def test_unknown_name_lists_close_matches():
    with pytest.raises(RegistryError, match=r"did you mean 'smar.text.query_title_bm25.v1'"):
        FeatureSet.from_selection(["smar.text.query_title_bm52.v1"])


def test_glob_matching_nothing_is_an_error():
    with pytest.raises(RegistryError, match=r"matches no registered feature; did you mean smar\.text\.\*"):
        FeatureSet.from_selection(["smar.txt.*"])
    with pytest.raises(RegistryError, match="empty"):
        FeatureSet.from_selection([])


def test_parameters_per_feature():
    fs = FeatureSet.from_selection(
        ["smar.text.query_title_bm25.v1"], params={"smar.text.query_title_bm25.v1": {"k1": 0.5}}
    )
    assert fs.features[0].k1 == 0.5
    with pytest.raises(ConfigError, match="accepts"):
        FeatureSet.from_selection(
            ["smar.text.query_title_bm25.v1"], params={"smar.text.query_title_bm25.v1": {"kk": 1}}
        )
    with pytest.raises(ConfigError, match="not in the selection"):
        FeatureSet.from_selection(["smar.page.*"], params={"smar.text.query_title_bm25.v1": {"k1": 1}})


def test_transform_contract_on_the_default_set(pages):
    train, test = pages
    test = test.set_axis(pd.Index([f"r{i}" for i in range(len(test))]))  # non-default index
    before = test.copy(deep=True)
    fs = FeatureSet.from_selection().fit(train)
    out = fs.transform(test)
    pd.testing.assert_frame_equal(test, before)
    assert out.index.equals(test.index)
    assert list(out.columns) == fs.output_columns and len(fs.output_columns) == len(set(fs.output_columns))
    assert set(map(str, out.dtypes)) <= {"float32", "float64"}
    assert not set(out.columns) & set(test.columns)
    assert out["q_title_bm25"].notna().any() and out["up_z"].notna().all()
    # text a modality does not have (synthetic: title/body on web rows only) is NaN, never a crash
    assert out.loc[(test["modality"] != "web").to_numpy(), "q_title_bm25"].isna().all()
    assert out["q_answer_bm25"].isna().all() and out["q_ocr_tfidf_cosine"].isna().all()


def test_one_page_alone_gets_the_same_features_as_inside_the_test_set(pages):
    """Training statistics are reused at inference: reranking one page alone changes nothing."""
    train, test = pages
    fs = FeatureSet.from_selection().fit(train)
    full = fs.transform(test)
    restored = FeatureSet.from_dict(json.loads(json.dumps(fs.to_dict())))
    for qid in test["qid"].unique()[[0, 7, -1]]:
        rows = (test["qid"] == qid).to_numpy()
        alone = fs.transform(test[rows])
        pd.testing.assert_frame_equal(alone, full[rows])
        pd.testing.assert_frame_equal(restored.transform(test[rows]), full[rows])


def test_saved_set_is_json_and_restores_fitted_state(pages):
    train, test = pages
    fs = FeatureSet.from_selection(["smar.text.query_title_*", "smar.modality.*", "smar.engagement.*"])
    fs.fit(train)
    saved = fs.to_dict()
    text = json.dumps(saved, allow_nan=False)
    assert "pickle" not in text and saved["selection"] == [
        "smar.text.query_title_*",
        "smar.modality.*",
        "smar.engagement.*",
    ]
    assert [(e["name"], e["version"]) for e in saved["features"]] == [(n, 1) for n in fs.names]
    restored = FeatureSet.from_dict(json.loads(text))
    assert restored.names == fs.names and restored.output_columns == fs.output_columns
    pd.testing.assert_frame_equal(restored.transform(test), fs.transform(test))


def test_from_dict_errors():
    saved = FeatureSet.from_selection(["smar.page.*"]).to_dict()
    saved["features"][0]["name"] = "mypkg.gone.v1"
    with pytest.raises(RegistryError, match=r"mypkg\.gone\.v1.*install the plugin"):
        FeatureSet.from_dict(saved)
    with pytest.raises(ArtifactError, match="not a saved feature set"):
        FeatureSet.from_dict({"features": []})


def test_stateful_features_refuse_to_transform_unfitted():
    fs = FeatureSet.from_selection(["smar.text.query_title_bm25.v1"])
    assert not fs.is_fitted
    with pytest.raises(FeatureNotFittedError, match="call fit"):
        fs.transform(sample_page_table())
    stateless = FeatureSet.from_selection(["smar.page.*"])
    assert stateless.is_fitted and stateless.transform(sample_page_table()).notna().all().all()


def test_feature_fitted_without_its_column_stays_nan_through_a_save(pages):
    train, test = pages
    fs = FeatureSet.from_selection(["smar.text.query_title_bm25.v1", "smar.engagement.smoothed_ctr.v1"])
    fs.fit(train.drop(columns=["title", "clicks"]))
    restored = FeatureSet.from_dict(json.loads(json.dumps(fs.to_dict())))
    for s in (fs, restored):
        assert s.transform(test).isna().all().all()


def test_fit_transform_equals_fit_then_transform(pages):
    train, _ = pages
    a = FeatureSet.from_selection().fit_transform(train)
    b = FeatureSet.from_selection().fit(train).transform(train)
    pd.testing.assert_frame_equal(a, b)


def test_non_dataframe_input_is_a_clear_error():
    with pytest.raises(ConfigError, match="DataFrame"):
        FeatureSet.from_selection(["smar.page.*"]).transform([1, 2, 3])
