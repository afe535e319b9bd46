"""Semi-synthetic pages from LETOR data: determinism, disjoint splits, assignment rules, labels, views."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA

from smar_ltr.datasets import validate_page_table
from smar_ltr.datasets.letor import load_letor_dir
from smar_ltr.datasets.semisynthetic import SemiSyntheticConfig, build_semisynthetic
from smar_ltr.errors import ConfigError, DatasetError

YAHOO = TEST_DATA / "lightgbm_yahoo_sample"
ROLES = ("single_modal", "train", "valid", "test")


def _toy_letor(n_queries: int = 40, seed: int = 0) -> pd.DataFrame:
    """A LETOR-shaped frame: qid, item_id, label 0..4, features f1..f6 with a relevance signal in f1."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 15, n_queries)
    qid = np.repeat(np.arange(100, 100 + n_queries), sizes).astype(str)
    n = len(qid)
    label = rng.integers(0, 5, n)
    feats = {f"f{k}": rng.normal(size=n).astype(np.float32) for k in range(1, 7)}
    feats["f1"] = (label + rng.normal(0, 0.5, n)).astype(np.float32)
    frame = pd.DataFrame({"qid": qid, "item_id": pd.Series(qid).groupby(qid).cumcount().astype(str), "label": label})
    return pd.concat([frame, pd.DataFrame(feats)], axis=1)


@pytest.fixture(scope="module")
def yahoo():
    return load_letor_dir(YAHOO, n_features=300)


@pytest.fixture(scope="module")
def toy():
    return _toy_letor()


def _tables(s):
    return {r: getattr(s, r) for r in ROLES if getattr(s, r) is not None}


def _source_rows(table: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    merged = table.merge(source, left_on=["source_qid", "item_id"], right_on=["qid", "item_id"], suffixes=("", "_src"))
    assert len(merged) == len(table)
    return merged


def test_seeded_rebuild_is_identical_and_another_seed_differs(yahoo):
    a = build_semisynthetic(yahoo, SemiSyntheticConfig(seed=1))
    b = build_semisynthetic(yahoo, SemiSyntheticConfig(seed=1))
    for role in ROLES:
        pd.testing.assert_frame_equal(getattr(a, role), getattr(b, role))
    assert a.info == b.info
    c = build_semisynthetic(yahoo, SemiSyntheticConfig(seed=2))
    assert not a.test["modality"].equals(c.test["modality"])
    assert set(a.train["source_qid"]) != set(c.train["source_qid"])


def test_splits_are_disjoint_by_query_and_the_test_file_is_the_test_set(yahoo):
    s = build_semisynthetic(yahoo, SemiSyntheticConfig(seed=0))
    sources = {r: set(t["source_qid"]) for r, t in _tables(s).items() if r != "test"}
    assert sum(map(len, sources.values())) == len(set().union(*sources.values())) == 201
    assert set(s.test["source_qid"]) == set(yahoo["test"]["qid"]) and len(s.test) == 768
    assert len(sources["single_modal"]) == round(0.5 * 201) and len(sources["valid"]) == round(0.1 * 201)
    qids = [set(t["qid"]) for t in _tables(s).values()]
    assert sum(map(len, qids)) == len(set().union(*qids))
    assert s.info["n_queries"]["test"] == 50


def test_without_a_test_file_the_test_set_is_cut_from_training_queries(toy):
    s = build_semisynthetic({"train": toy}, SemiSyntheticConfig(test_fraction=0.25, valid_fraction=0.1))
    sources = {r: set(t["source_qid"]) for r, t in _tables(s).items()}
    assert sum(map(len, sources.values())) == len(set().union(*sources.values())) == 40
    assert len(sources["test"]) == 10 and len(sources["valid"]) == 4 and len(sources["single_modal"]) == 20
    # a validation file is used whole (and no training query is held out for validation)
    vali = _toy_letor(6, seed=5)
    s = build_semisynthetic({"train": toy, "valid": vali}, SemiSyntheticConfig(test_fraction=0.25))
    assert set(s.valid["source_qid"]) == set(vali["qid"]) and len(s.valid) == len(vali)
    assert s.train["source_qid"].nunique() == 40 - 10 - 20


def test_tables_validate_and_page_labels_are_the_original_labels(yahoo):
    s = build_semisynthetic(yahoo, SemiSyntheticConfig(seed=0, modal_label_noise=0.0))
    for role, table in _tables(s).items():
        validate_page_table(table, require=("page_label", "modal_label"), require_sorted=True, what=role)
        source = yahoo["test"] if role == "test" else yahoo["train"]
        merged = _source_rows(table, source)
        if role == "single_modal":
            assert table["page_label"].isna().all()
        else:
            np.testing.assert_array_equal(merged["page_label"].to_numpy(dtype=int), merged["label"].to_numpy())
        shift = merged["modality"].astype(str).map({"web": 0, "image": 1, "video": -1}).to_numpy()
        expected = np.clip(merged["label"].to_numpy() + shift, 0, 4)
        np.testing.assert_array_equal(merged["modal_label"].to_numpy(dtype=int), expected)


def test_single_modal_pool_splits_each_query_into_per_modality_lists(yahoo):
    sm = build_semisynthetic(yahoo, SemiSyntheticConfig(seed=0)).single_modal
    assert (sm.groupby("qid", observed=True)["modality"].nunique() == 1).all()
    suffix = sm["qid"].str.rsplit("-", n=1).str[-1]
    assert (suffix == sm["modality"].astype(str)).all()
    assert sm["modal_label"].notna().all()


def test_hash_assignment_is_stable_under_row_order_and_balanced(toy):
    config = SemiSyntheticConfig(seed=3, single_modal_fraction=0.0, valid_fraction=0.0, test_fraction=0.0)
    shuffled = toy.sample(frac=1.0, random_state=0).sort_values("qid", kind="stable").reset_index(drop=True)
    test = _toy_letor(5, seed=9)
    a = build_semisynthetic({"train": toy, "test": test}, config).train
    b = build_semisynthetic({"train": shuffled, "test": test}, config).train
    key = ["source_qid", "item_id"]
    pd.testing.assert_series_equal(
        a.set_index(key)["modality"].sort_index(),
        b.set_index(key)["modality"].sort_index(),
        check_categorical=False,
    )
    share = a["modality"].value_counts(normalize=True)
    assert share.min() > 0.2


def test_quantile_assignment_bins_a_feature(toy):
    config = SemiSyntheticConfig(assignment="quantile", assignment_column="f2", test_fraction=0.2)
    s = build_semisynthetic(toy, config)
    pages = pd.concat([_source_rows(t, toy) for r, t in _tables(s).items()])
    order = {m: k for k, m in enumerate(config.modalities)}
    code = pages["modality"].astype(str).map(order)
    ranges = pages.groupby(code)["f2"].agg(["min", "max"]).sort_index()
    assert len(ranges) == 3 and (ranges["max"].to_numpy()[:-1] < ranges["min"].to_numpy()[1:]).all()
    default = build_semisynthetic(toy, SemiSyntheticConfig(assignment="quantile"))
    assert default.info["config"]["assignment_column"] in {f"f{k}" for k in range(1, 7)}


def test_column_assignment_uses_the_given_modalities(toy):
    frame = toy.assign(kind=np.where(toy["f3"] > 0, "photo", "page"))
    s = build_semisynthetic(frame, SemiSyntheticConfig(assignment="column", assignment_column="kind"))
    merged = _source_rows(s.train, frame)
    assert (merged["modality"].astype(str) == merged["kind"]).all()
    assert set(s.modal_features) == {"page", "photo"} and "kind" not in s.train.columns


def test_each_modality_sees_a_monotone_distortion_of_its_own_feature_subset(toy):
    s = build_semisynthetic(toy, SemiSyntheticConfig(view_fraction=0.5, test_fraction=0.2))
    views = s.info["views"]
    assert {v["distortion"] for v in views.values()} == {"identity", "log", "cube"}
    assert not any(c.startswith("f") and c[1:].isdigit() for c in s.train.columns)  # originals dropped
    merged = _source_rows(s.train, toy)
    for m, cols in s.modal_features.items():
        own = (merged["modality"] == m).to_numpy()
        assert len(cols) == 3 and len(views[m]["columns"]) == 3
        for col, original in zip(cols, views[m]["columns"], strict=True):
            assert merged.loc[~own, col].isna().all() and merged.loc[own, col].notna().all()
            pair = merged.loc[own, [original, col]].sort_values([original, col])
            assert (np.diff(pair[col].to_numpy(dtype=float)) >= 0).all(), (m, col)
    kept = build_semisynthetic(toy, SemiSyntheticConfig(keep_original_features=True, test_fraction=0.2))
    assert {"f1", "f6"} <= set(kept.page_features) and "f1" in kept.train.columns


def test_label_noise_moves_some_modal_labels_by_one_grade(toy):
    s = build_semisynthetic(toy, SemiSyntheticConfig(modal_label_noise=0.5, label_shifts=(0,), test_fraction=0.2))
    merged = _source_rows(s.train, toy)
    diff = merged["modal_label"].to_numpy(dtype=int) - merged["label"].to_numpy()
    assert set(np.unique(diff)) <= {-1, 0, 1} and 0.2 < (diff != 0).mean() < 0.6


def test_default_single_modal_labels_disagree_with_the_page_grade_about_30_percent(toy):
    assert SemiSyntheticConfig().modal_label_noise == 0.3
    s = build_semisynthetic(toy, SemiSyntheticConfig(label_shifts=(0,), test_fraction=0.2))
    merged = _source_rows(s.train, toy)
    diff = merged["modal_label"].to_numpy(dtype=int) - merged["label"].to_numpy()
    assert set(np.unique(diff)) <= {-1, 0, 1} and 0.1 < (diff != 0).mean() < 0.4


def test_bad_configs_and_inputs_raise_one_line_errors(toy):
    with pytest.raises(ConfigError, match="assignment='random' is unknown"):
        SemiSyntheticConfig(assignment="random")
    with pytest.raises(ConfigError, match="needs assignment_column"):
        SemiSyntheticConfig(assignment="column")
    with pytest.raises(ConfigError, match="must be non-negative and sum to less than 1"):
        SemiSyntheticConfig(single_modal_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ConfigError, match="distortions"):
        SemiSyntheticConfig(distortions=("square",))
    with pytest.raises(DatasetError, match="missing column 'label'"):
        build_semisynthetic(toy.drop(columns="label"))
    with pytest.raises(DatasetError, match="only 3 queries, too few"):
        build_semisynthetic(_toy_letor(3), SemiSyntheticConfig(single_modal_fraction=0.5, test_fraction=0.3))
    with pytest.raises(DatasetError, match="no test queries"):
        build_semisynthetic(toy, SemiSyntheticConfig(test_fraction=0.0))


def test_info_documents_the_recipe(yahoo):
    info = build_semisynthetic(yahoo, SemiSyntheticConfig(seed=0), source="yahoo").info
    assert info["simulated"] is True and info["semi_synthetic"] is True and info["source"] == "yahoo"
    assert info["label_shifts"] == {"web": 0, "image": 1, "video": -1}
    assert dataclasses.asdict(SemiSyntheticConfig(seed=0)) == info["config"]
    assert all(len(v["columns"]) == 180 for v in info["views"].values())
