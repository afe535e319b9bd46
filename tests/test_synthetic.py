"""The whole-page simulator: determinism, schema, calibration, feature views, intent, presets, loader."""

from __future__ import annotations

import dataclasses
import re
import time

import numpy as np
import pandas as pd
import pytest

from smar_ltr.datasets import load_dataset, validate_page_table
from smar_ltr.datasets.synthetic import ENGAGEMENT_COLUMNS, SyntheticConfig, make_synthetic
from smar_ltr.datasets.text_corpus import INTENT_WORDS
from smar_ltr.errors import ConfigError

ROLES = ("single_modal", "train", "valid", "test")


@pytest.fixture(scope="module")
def splits():
    return make_synthetic(dataclasses.replace(SyntheticConfig.small(seed=3), include_llm=True))


@pytest.fixture(scope="module")
def default_splits():
    return make_synthetic(SyntheticConfig.default())


def _tables(s):
    return {role: getattr(s, role) for role in ROLES}


def test_same_seed_same_frames_and_another_seed_differs():
    a, b = make_synthetic(SyntheticConfig.small(seed=1)), make_synthetic(SyntheticConfig.small(seed=1))
    for role in ROLES:
        pd.testing.assert_frame_equal(getattr(a, role), getattr(b, role))
    c = make_synthetic(SyntheticConfig.small(seed=2))
    assert not a.train["query"].equals(c.train["query"])
    assert not np.allclose(a.train["impressions"].to_numpy()[:50], c.train["impressions"].to_numpy()[:50])


def test_one_tables_size_does_not_change_the_others():
    base = SyntheticConfig.small(seed=5)
    a = make_synthetic(base)
    b = make_synthetic(dataclasses.replace(base, n_single_modal_queries=7, n_valid_pages=3))
    pd.testing.assert_frame_equal(a.train, b.train)
    pd.testing.assert_frame_equal(a.test, b.test)


def test_every_table_is_a_canonical_sorted_page_table(splits):
    for role, table in _tables(splits).items():
        checked = validate_page_table(table, require=("modal_label", "position"), require_sorted=True)
        pd.testing.assert_frame_equal(checked, table, obj=role)
        assert table["modal_label"].notna().all() and table["modal_label"].between(0, 4).all()
        assert table["qid"].str.fullmatch(r"(sm|tr|va|te)-\d{6}").all()
    qids = [set(t["qid"]) for t in _tables(splits).values()]
    assert sum(map(len, qids)) == len(set().union(*qids)), "qids must be unique across splits"
    assert splits.train["page_label"].notna().all() and splits.single_modal["page_label"].isna().all()


def test_positions_are_a_display_order_and_rows_follow_it(splits):
    for table in (splits.train, splits.single_modal):
        pos = table["position"].to_numpy(dtype=int)
        expected = table.groupby("qid", sort=False).cumcount().to_numpy() + 1
        np.testing.assert_array_equal(pos, expected)


def test_single_modal_pool_holds_one_modality_per_list_and_pages_mix(splits):
    per_list = splits.single_modal.groupby("qid", observed=True)["modality"].nunique()
    assert (per_list == 1).all()
    assert set(splits.single_modal["modality"].astype(str)) == {"web", "image", "video", "llm"}
    per_page = splits.train.groupby("qid")["modality"].nunique()
    assert (per_page >= 2).mean() > 0.9


def test_features_of_other_modalities_are_nan(splits):
    assert set(splits.modal_features) == {"web", "image", "video", "llm"}
    for table in _tables(splits).values():
        for m, cols in splits.modal_features.items():
            own = (table["modality"] == m).to_numpy()
            values = table[cols].to_numpy()
            assert np.isfinite(values[own]).all()
            assert np.isnan(values[~own]).all()
    assert splits.page_features[-4:] == list(ENGAGEMENT_COLUMNS)
    assert set(splits.page_features) == {c for cols in splits.modal_features.values() for c in cols} | set(
        ENGAGEMENT_COLUMNS
    )
    counts = {m: len(c) for m, c in splits.modal_features.items()}
    assert len(set(counts.values())) > 1, "modalities need different feature counts"


def test_engagement_is_count_like_and_tracks_page_relevance(default_splits):
    t = default_splits.train
    assert (t["clicks"] <= t["impressions"]).all() and (t["likes"] <= t["clicks"]).all()
    assert ((t["dwell_time"] > 0) == (t["clicks"] > 0)).all()
    assert t["impressions"].max() > 20 * t["impressions"].median()  # heavy tail
    ctr = t["clicks"] / t["impressions"]
    assert ctr.corr(t["page_label"].astype(float), method="spearman") > 0.2


def test_llm_card_appears_only_when_enabled(splits):
    pages = pd.concat([splits.train, splits.valid, splits.test])
    llm_per_page = pages.groupby("qid")["modality"].apply(lambda m: int((m == "llm").sum()))
    assert llm_per_page.max() == 1 and 0.25 < llm_per_page.mean() < 0.75
    is_llm = (pages["modality"] == "llm").to_numpy()
    assert (pages["answer"].to_numpy()[is_llm] != "").all() and (pages["answer"].to_numpy()[~is_llm] == "").all()
    plain = make_synthetic(SyntheticConfig.small(seed=3))
    assert "llm" not in set(plain.train["modality"].astype(str)) and "answer" not in plain.train.columns
    assert "llm" not in plain.modal_features


def test_text_columns_belong_to_their_modalities(splits):
    t = splits.train
    web = (t["modality"] == "web").to_numpy()
    other = ~web & (t["modality"] != "llm").to_numpy()
    assert (t["title"].to_numpy()[web] != "").all() and (t["title"].to_numpy()[~web] == "").all()
    assert (t["body"].str.split().str.len()[web] > t["title"].str.split().str.len()[web]).mean() > 0.95
    assert (t["caption"].to_numpy()[other] != "").all() and (t["caption"].to_numpy()[~other] == "").all()
    assert (t.groupby("qid")["query"].nunique() == 1).all()


def test_single_modal_calibration_differs_across_modalities(default_splits):
    pages = pd.concat([default_splits.train, default_splits.test])
    means = pages.groupby(["page_label", "modality"], observed=True)["modal_label"].mean().unstack()
    # same page relevance, different single-modal grade: images inflated, videos deflated
    for level in range(4):
        assert means.loc[level, "image"] - means.loc[level, "video"] > 0.5
        assert means.loc[level, "image"] - means.loc[level, "web"] > 0.3


def test_within_a_modality_page_and_modal_labels_agree(default_splits):
    t = default_splits.train
    for m in ("web", "image", "video"):
        rows = t[t["modality"] == m]
        rho = rows["page_label"].astype(float).corr(rows["modal_label"].astype(float), method="spearman")
        assert rho > 0.5, m


def test_intent_words_in_the_query_predict_the_preferred_modality(default_splits):
    pages = pd.concat([default_splits.train, default_splits.test])
    by_mod = pages.groupby(["qid", "modality"], observed=True)["page_label"].mean().unstack()
    video_minus_image = (by_mod["video"] - by_mod["image"]).dropna()
    query = pages.groupby("qid")["query"].first().loc[video_minus_image.index]

    def says(m: str) -> pd.Series:
        return query.str.contains(r"\b(?:" + "|".join(INTENT_WORDS[m]) + r")\b")

    wants_video, wants_image = says("video") & ~says("image"), says("image") & ~says("video")
    assert wants_video.sum() > 30 and wants_image.sum() > 30
    assert video_minus_image[wants_video].mean() - video_minus_image[wants_image].mean() > 0.8


def test_title_overlap_with_the_query_carries_relevance(default_splits):
    web = default_splits.train[default_splits.train["modality"] == "web"]
    q_terms = web["query"].str.split()
    t_terms = web["title"].str.split()
    overlap = pd.Series([len(set(q) & set(t)) for q, t in zip(q_terms, t_terms, strict=True)], index=web.index)
    assert overlap.corr(web["page_label"].astype(float), method="spearman") > 0.3


def test_info_marks_the_data_as_simulated(splits):
    assert splits.info["simulated"] is True
    assert splits.info["config"]["include_llm"] is True
    assert not splits.has_upstream_scores


def test_with_candidates_scales_to_the_requested_size():
    s = make_synthetic(SyntheticConfig.large(n_candidates=20_000, seed=1))
    total = sum(len(t) for t in _tables(s).values())
    assert abs(total - 20_000) < 2_000
    assert 60 <= s.train.groupby("qid").size().min() and s.train.groupby("qid").size().max() <= 140


def test_loader_options_presets_and_errors():
    s = load_dataset("synthetic", seed=4, size="small", n_train_pages="7", include_llm="true", page_size="5,6")
    assert s.train["qid"].nunique() == 7 and s.info["config"]["seed"] == 4
    assert s.train.groupby("qid").size().between(5, 7).all()  # 5..6 candidates plus an optional llm card
    with pytest.raises(ConfigError, match=r"unknown synthetic option 'n_pages'; valid options: .*n_train_pages"):
        load_dataset("synthetic", size="small", n_pages=3)
    with pytest.raises(ConfigError, match=r"size='huge' is unknown"):
        load_dataset("synthetic", size="huge")
    with pytest.raises(ConfigError, match=re.escape("page_size=(9, 3)")):
        SyntheticConfig(page_size=(9, 3))
    with pytest.raises(ConfigError, match="must be a probability"):
        SyntheticConfig(on_topic_rate=1.5)
    with pytest.raises(ConfigError, match="use include_llm=True instead"):
        SyntheticConfig(modalities=("web", "llm"), include_llm=True)
    with pytest.raises(ConfigError, match=r"synthetic option n_train_pages must be an integer, got 'many'"):
        load_dataset("synthetic", size="small", n_train_pages="many")


def test_custom_modalities_get_their_own_views():
    s = make_synthetic(dataclasses.replace(SyntheticConfig.small(), modalities=("news", "web", "shop")))
    assert set(s.train["modality"].astype(str)) == {"news", "web", "shop"}
    assert s.modal_features["shop"][0] == "f_shop_0"
    assert (s.train.loc[s.train["modality"] == "shop", "caption"] != "").all()


@pytest.mark.slow
def test_large_preset_generates_a_million_candidates_quickly():
    start = time.perf_counter()
    s = make_synthetic(SyntheticConfig.large(n_candidates=1_000_000))
    seconds = time.perf_counter() - start
    tables = _tables(s).values()
    rows = sum(len(t) for t in tables)
    megabytes = sum(t.memory_usage(deep=True).sum() for t in tables) / 1e6
    print(f"large preset: {rows} rows in {seconds:.1f} s, {megabytes:.0f} MB of frames")
    assert abs(rows - 1_000_000) < 50_000
    assert seconds < 60
    assert megabytes < 1_000
