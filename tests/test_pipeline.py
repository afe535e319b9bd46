"""End-to-end SMAR pipeline on small synthetic data: fit, evaluate every method, rerank, artifacts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

from smar_ltr.errors import ArtifactError, ConfigError, DatasetError
from smar_ltr.evaluation.paper_protocol import METHODS, evaluate_run
from smar_ltr.pipeline import fit
from smar_ltr.serving.ranking import rank_within_query, rerank
from smar_ltr.serving.run_dir import load_run, read_manifest, save_run


def test_fit_respects_budget_and_builds_supervision(fitted_small, small_splits) -> None:
    model, state = fitted_small
    n = len(small_splits.train)
    assert state.annotation.labels_used <= max(1, int(0.3 * n))
    assert len(model.revealed) == state.annotation.labels_used
    assert len(state.supervision.intra) > 0
    assert set(model.single_modal) == set(small_splits.modal_features)
    assert model.summary["annotation"]["labels_used"] == state.annotation.labels_used


def test_evaluate_reports_every_method(fitted_small, small_splits) -> None:
    model, state = fitted_small
    report = evaluate_run(model.config, model, state, small_splits)
    assert [r.method for r in report.results] == list(METHODS)
    full = report.result("full_supervision")
    n_pool = len(small_splits.train) + len(small_splits.valid)
    assert full.labels_used == n_pool and full.label_fraction == 1.0  # every training and validation label
    assert report.result("fusion_minmax").labels_used == 0
    for r in report.results:
        assert set(model.config.metrics) <= set(r.metrics)
        assert all(0.0 <= v <= 1.0 for v in r.metrics.values())
    # learned rerankers beat the untrained interleaving on this simulator (its intent signal is learnable)
    assert report.result("smar").metrics["ndcg@10"] > report.result("interleave").metrics["ndcg@10"]
    # SMAR is consistent with the single-modal order by construction of its pairwise term
    assert report.result("smar").metrics["modal_agreement"] > 0.7


def test_same_seed_same_model(small_splits) -> None:
    cfg = fast_config(seed=3)
    a, _ = fit(cfg, small_splits)
    b, _ = fit(cfg, small_splits)
    np.testing.assert_array_equal(a.score(small_splits.test), b.score(small_splits.test))


def test_rerank_adds_score_and_rank(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    out = rerank(model, small_splits.test)
    assert {"score", "rank"} <= set(out.columns)
    top = out.loc[out["rank"] == 1]
    assert len(top) == out["qid"].nunique()
    best = out.groupby("qid")["score"].transform("max")
    assert np.all(out.loc[out["rank"] == 1, "score"].to_numpy() == best[out["rank"] == 1].to_numpy())


def test_rank_within_query_ties_keep_input_order() -> None:
    ranks = rank_within_query(np.array(["a", "a", "a", "b", "b"]), np.array([1.0, 2.0, 1.0, 0.0, 0.0]))
    assert ranks.tolist() == [2, 1, 3, 1, 2]


def _lexsort_ranks(qid: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The definition: a stable sort by (query, -score); rank = position within the query's run."""
    codes = pd.factorize(pd.Series(qid))[0]
    order = np.lexsort((-scores, codes))
    first = {}
    ranks = np.empty(len(scores), dtype=np.int64)
    for pos, row in enumerate(order):
        first.setdefault(codes[row], pos)
        ranks[row] = pos - first[codes[row]] + 1
    return ranks


@pytest.mark.parametrize("contiguous", [True, False])
def test_ranks_match_a_stable_sort_with_ties_nan_and_signed_zeros(contiguous: bool) -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        sizes = rng.integers(1, 25, rng.integers(1, 12))
        qid = np.repeat([f"q{i}" for i in range(len(sizes))], sizes)
        scores = rng.integers(0, 4, len(qid)).astype(float)
        scores[rng.random(len(qid)) < 0.15] = np.nan
        scores[rng.random(len(qid)) < 0.15] = -0.0
        if not contiguous:
            perm = rng.permutation(len(qid))
            qid, scores = qid[perm], scores[perm]
        np.testing.assert_array_equal(rank_within_query(qid, scores), _lexsort_ranks(qid, scores))


def test_saved_run_reranks_identically_and_detects_tampering(tmp_path, fitted_small, small_splits) -> None:
    model, _ = fitted_small
    run = save_run(model, tmp_path / "run", metrics={"valid": {"ndcg@10": 0.5}})
    manifest = read_manifest(run)
    assert manifest["seed"] == model.config.seed and "reranker.txt" in manifest["files"]
    loaded = load_run(run)
    np.testing.assert_allclose(loaded.score(small_splits.test), model.score(small_splits.test), rtol=1e-6)
    assert not list(tmp_path.glob(".run.tmp-*"))  # no temporary left behind

    bad = tmp_path / "bad-model"
    shutil.copytree(run, bad)
    (bad / "reranker.txt").write_text("corrupted")
    with pytest.raises(ArtifactError, match=r"reranker\.txt"):
        load_run(bad)

    edited = tmp_path / "edited"
    shutil.copytree(run, edited)
    m = json.loads((edited / "manifest.json").read_text())
    m["seed"] = 999
    (edited / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="edited"):
        load_run(edited)

    with pytest.raises(ArtifactError, match="does not exist"):
        load_run(tmp_path / "nowhere")


def test_loaded_run_evaluates_like_the_in_memory_one(tmp_path, fitted_small, small_splits) -> None:
    model, state = fitted_small
    direct = evaluate_run(model.config, model, state, small_splits, methods=("smar", "budget_only"))
    loaded = load_run(save_run(model, tmp_path / "run"))
    again = evaluate_run(model.config, loaded, None, small_splits, methods=("smar", "budget_only"))
    assert direct.result("smar").metrics == pytest.approx(again.result("smar").metrics)
    assert direct.result("budget_only").metrics == pytest.approx(again.result("budget_only").metrics)


def test_rerank_rejects_bad_input(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    frame = small_splits.test.drop(columns=["f_web_0"])
    with pytest.raises(DatasetError, match="f_web_0"):
        rerank(model, frame)


@pytest.mark.parametrize("strategy", ["iso-anchor", "random", "band"])
def test_other_strategies_fit(small_splits, strategy: str) -> None:
    _model, state = fit(fast_config(budget={"strategy": strategy, "budget": 0.2}), small_splits)
    assert state.annotation.labels_used <= max(1, int(0.2 * len(small_splits.train)))
    if strategy == "iso-anchor":
        assert state.annotation.inferred_label is not None


@pytest.mark.parametrize("mode", ["listwise", "none"])
def test_consistency_modes(small_splits, mode: str) -> None:
    model, _state = fit(fast_config(consistency={"mode": mode}), small_splits)
    assert np.isfinite(model.score(small_splits.test)).all()


@pytest.mark.parametrize("backend", ["xgboost", "catboost"])
def test_other_backends_fit(small_splits, backend: str) -> None:
    # CatBoost's PairLogit is the pair loss with gamma=0, kappa=1: an unset margin becomes that there
    cfg = fast_config(reranker={"backend": backend}, single_modal={"backend": backend})
    model, _ = fit(cfg, small_splits)
    report = evaluate_run(cfg, model, None, small_splits, methods=("smar", "fusion_minmax"))
    assert report.result("smar").metrics["ndcg@10"] > 0.3


def test_catboost_rejects_listwise(small_splits) -> None:
    cfg = fast_config(reranker={"backend": "catboost"}, consistency={"mode": "listwise"})
    with pytest.raises(ConfigError, match="CatBoost"):
        fit(cfg, small_splits)


def test_training_pages_with_bad_labels_are_rejected(small_splits) -> None:
    train = small_splits.train.copy()
    train["page_label"] = train["page_label"].astype("float64")
    train.loc[3, "page_label"] = 9.5
    bad = type(small_splits)(**{**small_splits.__dict__, "train": train})
    with pytest.raises(Exception, match="page_label"):
        fit(fast_config(), bad)


def test_unknown_method_is_refused(fitted_small, small_splits) -> None:
    model, state = fitted_small
    with pytest.raises(ConfigError, match="unknown method"):
        evaluate_run(model.config, model, state, small_splits, methods=("smar", "magic"))


def test_revealed_table_is_what_was_labelled(fitted_small) -> None:
    model, state = fitted_small
    train = state.train
    expected = train.loc[state.annotation.mask, ["qid", "item_id"]].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(model.revealed[["qid", "item_id"]].astype(str), expected)


def test_top_label_relevance_rule() -> None:
    from smar_ltr.evaluation.paper_protocol import relevance_labels

    labels = np.array([3.0, 1.0, 3.0, 0.0, 0.0, 2.0])
    qid = np.array(["a", "a", "a", "b", "b", "c"])
    assert relevance_labels(labels, qid, "positive") is None
    assert relevance_labels(labels, qid, "top").tolist() == [1, 0, 1, 0, 0, 1]
    with pytest.raises(ConfigError, match="unknown relevance rule"):
        relevance_labels(labels, qid, "weird")


def test_upstream_features_follow_the_switch() -> None:
    from smar_ltr.serving.model import select_features

    without = select_features(fast_config(upstream_as_feature=False))
    with_up = select_features(fast_config(upstream_as_feature=True))
    assert not without.requires_upstream and with_up.requires_upstream
    assert set(without.names) < set(with_up.names)
    with pytest.raises(ConfigError, match="reads upstream_score"):
        select_features(fast_config(upstream_as_feature=False, features=["smar.align.*"]))


def test_shipped_single_modal_source_needs_shipped_scores(small_splits) -> None:
    with pytest.raises(DatasetError, match="ships no upstream_score"):
        fit(fast_config(single_modal_source="shipped"), small_splits)


def test_save_run_refuses_to_replace_a_folder_that_is_not_a_run(tmp_path, fitted_small) -> None:
    model, _ = fitted_small
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "precious.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="not a smar-ltr artifact"):
        save_run(model, precious)
    assert (precious / "precious.txt").read_text() == "keep me"
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ArtifactError, match="is a file"):
        save_run(model, afile)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "mine"]  # nothing left behind
    run = save_run(model, tmp_path / "run")
    save_run(model, run)  # an earlier run is replaced
    load_run(run)


def test_modalities_with_clashing_safe_names_get_separate_model_files() -> None:
    from smar_ltr.serving.run_dir import _model_stems

    stems = _model_stems(["a b", "a_b", "web"])
    assert len(set(stems.values())) == 3


def test_degenerate_configs_are_one_line_errors(small_splits) -> None:
    with pytest.raises(ConfigError, match="revealed no page label"):
        fit(fast_config(budget={"strategy": "band", "budget": 0.3, "band": 10}), small_splits)
    with pytest.raises(ConfigError, match="nothing to learn from"):
        fit(fast_config(consistency={"mode": "none", "page_weight": 0.0}), small_splits)
    for bad in (
        {"reranker": {"num_leaves": 1}},
        {"reranker": {"eval_at": 0}},
        {"consistency": {"gamma": float("nan")}},
        {"consistency": {"beta": {"image": -1.0}}},
    ):
        with pytest.raises(ConfigError):
            fast_config(**bad)


def test_non_numeric_feature_value_is_a_clear_error(fitted_small, small_splits) -> None:
    model, _ = fitted_small
    frame = small_splits.test.copy()
    frame["impressions"] = frame["impressions"].astype(object)
    frame.loc[4, "impressions"] = "?"
    with pytest.raises(Exception, match="impressions"):
        rerank(model, frame)


def test_loaded_run_refuses_different_training_data(tmp_path, fitted_small, small_splits) -> None:
    model, _ = fitted_small
    loaded = load_run(save_run(model, tmp_path / "run"))
    train = small_splits.train.copy()
    train["page_label"] = (4 - train["page_label"]).astype("Int64")
    other = type(small_splits)(**{**small_splits.__dict__, "train": train})
    with pytest.raises(ArtifactError, match="fingerprint"):
        evaluate_run(model.config, loaded, None, other, methods=("smar", "budget_only"))
