"""Values of the non-text built-ins: score alignment, modality, position, engagement, query, page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smar_ltr.features import FeatureSet
from smar_ltr.features.engagement_features import fit_beta_prior


def page(rows):
    """A frame from (qid, modality, upstream_score, position) tuples, with a non-default index."""
    frame = pd.DataFrame(rows, columns=["qid", "modality", "upstream_score", "position"])
    frame.insert(1, "item_id", [f"i{i}" for i in range(len(frame))])
    frame.index = pd.Index([100 + 7 * i for i in range(len(frame))])
    return frame


TWO_PAGES = page(
    [
        ("a", "web", 3.0, 1),
        ("a", "web", 1.0, 3),
        ("a", "web", 2.0, 4),
        ("a", "image", 10.0, 2),
        ("a", "image", 30.0, 5),
        ("b", "web", 5.0, 1),
    ]
)


def extract(selection, frame, train=None):
    return FeatureSet.from_selection(selection).fit(frame if train is None else train).transform(frame)


def test_per_modality_normalisations():
    out = extract(["smar.align.*"], TWO_PAGES)
    np.testing.assert_allclose(out["up_z"], [np.sqrt(1.5), -np.sqrt(1.5), 0.0, -1.0, 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(out["up_minmax"], [1.0, 0.0, 0.5, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(out["up_pct"], [1.0, 1 / 3, 2 / 3, 0.5, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(out["up_gap_top"], [0.0, 2.0, 1.0, 20.0, 0.0, 0.0])
    np.testing.assert_allclose(out["up_modal_rank"], [1, 3, 2, 2, 1, 1])


def test_page_level_comparisons_use_normalised_scores():
    out = extract(["smar.align.*"], TWO_PAGES)
    # z on page a: web 1.22, -1.22, 0; image -1, 1 -> page ranks 1, 5, 3, 4, 2
    np.testing.assert_allclose(out["up_page_rank"], [1, 5, 3, 4, 2, 1])
    np.testing.assert_allclose(out["up_page_rank_frac"], [0, 1, 0.5, 0.75, 0.25, 0], rtol=1e-6)
    z = out["up_z"].to_numpy()
    np.testing.assert_allclose(out["up_diff_best_image"], [z[0] - 1, z[1] - 1, z[2] - 1, -2, 0, np.nan], rtol=1e-6)
    np.testing.assert_allclose(out["up_diff_best_web"], [0, z[1] - z[0], -z[0], -1 - z[0], 1 - z[0], 0], rtol=1e-6)
    np.testing.assert_allclose(
        out["up_diff_other_best"], [z[0] - 1, z[1] - 1, -1, -1 - z[0], 1 - z[0], np.nan], rtol=1e-6
    )


def test_missing_upstream_score_is_nan_and_ignored_by_statistics():
    frame = TWO_PAGES.copy()
    frame.loc[frame.index[1], "upstream_score"] = np.nan
    out = extract(["smar.align.minmax.v1", "smar.align.modal_rank.v1"], frame)
    assert out.iloc[1].isna().all()
    np.testing.assert_allclose(out["up_minmax"].iloc[[0, 2]], [1.0, 0.0])
    np.testing.assert_allclose(out["up_modal_rank"].iloc[[0, 2]], [1, 2])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=6, max_size=6),
    st.floats(0.01, 100),
    st.floats(-50, 50),
)
def test_alignment_is_invariant_to_rescaling_one_modality(scores, scale, shift):
    """Single-modal scores are not comparable: a positive affine change of one modality must not matter."""
    frame = TWO_PAGES.assign(upstream_score=np.round(scores, 3))
    rescaled = frame.copy()
    image = rescaled["modality"] == "image"
    rescaled.loc[image, "upstream_score"] = rescaled.loc[image, "upstream_score"] * scale + shift
    names = ["smar.align.*"]
    a, b = extract(names, frame), extract(names, rescaled)
    a, b = a.drop(columns=["up_gap_top"]), b.drop(columns=["up_gap_top"])  # the raw gap is scale-dependent
    np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), atol=1e-4, equal_nan=True)


def test_features_needing_upstream_can_be_computed_later():
    fs = FeatureSet.from_selection(["smar.align.*", "smar.modality.*", "smar.page.*"])
    assert fs.requires_upstream
    without_scores = TWO_PAGES.drop(columns=["upstream_score"])
    fs.fit(without_scores)  # fitted before the single-modal rankers ran
    before, after = fs.split_upstream()
    assert not before.requires_upstream and after.requires_upstream
    assert set(before.names) | set(after.names) == set(fs.names)
    first = before.transform(without_scores)
    second = after.transform(TWO_PAGES)
    full = fs.transform(TWO_PAGES)
    pd.testing.assert_frame_equal(pd.concat([first, second], axis=1)[full.columns], full)
    assert after.transform(without_scores).isna().all().all()


def test_modality_onehot_and_shares():
    train = TWO_PAGES
    test = page([("c", "web", 1.0, 1), ("c", "video", 2.0, 2), ("c", "image", 3.0, 3), ("c", "image", 0.0, 4)])
    out = extract(["smar.modality.*", "smar.page.*"], test, train=train)
    assert [c for c in out.columns if c.startswith("modality_is_")] == [
        "modality_is_image",
        "modality_is_web",
    ]
    np.testing.assert_array_equal(out["modality_is_web"], [1, 0, 0, 0])
    np.testing.assert_array_equal(out["modality_is_image"], [0, 0, 1, 1])  # unseen video: all zeros
    np.testing.assert_allclose(out["page_share_image"], 0.5)
    np.testing.assert_allclose(out["page_share_web"], 0.25)
    np.testing.assert_allclose(out["modality_page_share"], [0.25, 0.25, 0.5, 0.5])
    np.testing.assert_array_equal(out["page_n_candidates"], 4)
    np.testing.assert_array_equal(out["page_n_modalities"], 3)


def test_positions_within_page_and_modality():
    out = extract(["smar.position.*"], TWO_PAGES)
    np.testing.assert_array_equal(out["pos_page"], [1, 3, 4, 2, 5, 1])
    np.testing.assert_allclose(out["pos_page_frac"], [0, 0.5, 0.75, 0.25, 1, 0])
    np.testing.assert_array_equal(out["pos_modality"], [1, 2, 3, 1, 2, 1])
    np.testing.assert_allclose(out["pos_modality_frac"], [0, 0.5, 1, 0, 1, 0])
    assert extract(["smar.position.*"], TWO_PAGES.drop(columns=["position"])).isna().all().all()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.one_of(st.none(), st.integers(0, 5), st.just(-0.0))), max_size=80))
def test_ranks_within_groups_match_pandas_min_rank_and_count(rows):
    from smar_ltr.features.modality_features import _rank_within

    groups = np.array([g for g, _ in rows], dtype=np.int64)
    values = np.array([np.nan if v is None else float(v) for _, v in rows])
    codes = pd.factorize(groups)[0].astype(np.int64)
    rank, size = _rank_within(codes, int(codes.max(initial=-1)) + 1, values)
    s = pd.Series(values)
    np.testing.assert_array_equal(rank, s.groupby(codes).rank(method="min").to_numpy(dtype=np.float64))
    np.testing.assert_array_equal(size, s.groupby(codes).transform("count").to_numpy(dtype=np.float64))


def test_beta_prior_by_method_of_moments():
    rng = np.random.default_rng(0)
    rates = rng.beta(2.0, 18.0, size=20_000)
    impressions = np.full(rates.size, 10_000.0)
    alpha, beta = fit_beta_prior(np.round(rates * impressions), impressions)
    assert alpha == pytest.approx(2.0, rel=0.1) and beta == pytest.approx(18.0, rel=0.1)
    assert fit_beta_prior(np.array([1.0]), np.array([0.0])) is None
    a, b = fit_beta_prior(np.array([1.0, 1.0]), np.array([10.0, 10.0]))  # zero variance: fallback strength 10
    assert a + b == pytest.approx(10.0) and a / (a + b) == pytest.approx(0.1)


def test_engagement_logs_and_smoothed_rates():
    train = pd.DataFrame(
        {
            "qid": ["q"] * 4,
            "impressions": [100.0, 100.0, 100.0, 100.0],
            "clicks": [10.0, 20.0, 0.0, 30.0],
            "likes": [1.0, 2.0, 0.0, 3.0],
            "dwell_time": [0.0, 5.0, -1.0, np.nan],
        }
    )
    fs = FeatureSet.from_selection(["smar.engagement.*"]).fit(train)
    test = pd.DataFrame({"qid": ["t"] * 2, "impressions": [0.0, 1000.0], "clicks": [0.0, 500.0], "likes": [0.0, 9.0]})
    test["dwell_time"] = [1.0, np.nan]
    out = fs.transform(test)
    np.testing.assert_allclose(out["log_clicks"], np.log1p([0.0, 500.0]), rtol=1e-6)
    assert out["log_dwell_time"].iloc[1] != out["log_dwell_time"].iloc[1]  # NaN stays NaN
    state = fs.to_dict()["features"][fs.names.index("smar.engagement.smoothed_ctr.v1")]["state"]
    prior_mean = state["alpha"] / (state["alpha"] + state["beta"])
    assert prior_mean == pytest.approx(0.15)
    assert out["ctr_smoothed"].iloc[0] == pytest.approx(prior_mean, rel=1e-6)  # never shown: the prior mean
    assert 0.15 < out["ctr_smoothed"].iloc[1] < 0.5  # shrunk towards the prior


def test_query_length_and_term_count():
    frame = pd.DataFrame(
        {
            "qid": ["a", "a", "b", "c"],
            "item_id": ["1", "2", "1", "1"],
            "query": ["  red panda photos ", "  red panda photos ", "北京天气 2024", None],
        }
    )
    out = extract(["smar.query.*"], frame)
    np.testing.assert_allclose(out["query_chars"], [16, 16, 9, np.nan])
    np.testing.assert_allclose(out["query_terms"], [3, 3, 5, np.nan])
