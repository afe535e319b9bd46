"""Issue 15's SMAR options: pseudo-label targets, the scheduled consistency weight, consistency early stopping.

Each test checks that the option changes the training targets / weights / stopping as designed, that its default
leaves them alone, and that the result is deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

from smar_ltr.baselines import fit_modal_calibration
from smar_ltr.budget import annotate
from smar_ltr.config import ConsistencyConfig
from smar_ltr.errors import ConfigError
from smar_ltr.evaluation import evaluate_run
from smar_ltr.label_free import consistency_metric, lam_multiplier, pseudo_targets, target_groups
from smar_ltr.objectives import LambdaRankTerm
from smar_ltr.pipeline import fit_prepared, prepare
from smar_ltr.rankers import make_ranker
from smar_ltr.reranker import build_objective, build_supervision, catboost_pairs


@pytest.fixture(scope="module")
def pages() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    qid = np.repeat([f"q{i}" for i in range(8)], 12)
    relevance = rng.integers(0, 5, len(qid))
    modality = np.tile(["web", "image", "video"], len(qid) // 3)
    offset = pd.Series(modality).map({"web": 0.0, "image": 5.0, "video": -3.0}).to_numpy()
    return pd.DataFrame(
        {
            "qid": qid,
            "item_id": [str(i) for i in range(len(qid))],
            "modality": modality,
            "page_label": relevance,
            "upstream_score": relevance + offset + rng.normal(0, 0.3, len(qid)),
        }
    )


def _supervision(pages, strategy="top", **settings):
    cfg = ConsistencyConfig(**settings)
    annotation = annotate(pages, strategy, 0.3, seed=0, max_label=4)
    return build_supervision(pages, annotation, cfg, seed=0), annotation, cfg


def test_isotonic_targets_keep_revealed_labels_and_calibrate_the_rest(pages) -> None:
    annotation = annotate(pages, "random", 0.3, seed=0)
    targets = pseudo_targets(pages, annotation, "isotonic")
    mask = annotation.mask
    np.testing.assert_array_equal(targets[mask], pages["page_label"].to_numpy(float)[mask])
    expected = fit_modal_calibration(pages, mask).transform(pages)
    np.testing.assert_allclose(targets[~mask], expected[~mask])
    # per modality, the target is monotone in the single-modal score and on the page scale (not the score's)
    for _, rows in pages[~mask].groupby("modality"):
        order = rows["upstream_score"].to_numpy().argsort()
        assert np.all(np.diff(targets[rows.index.to_numpy()][order]) >= -1e-12)
    assert targets[~mask].min() >= 0 and targets[~mask].max() <= 4
    assert pseudo_targets(pages, annotation, "none") is None


def test_anchor_targets_are_iso_anchors_inferred_labels(pages) -> None:
    annotation = annotate(pages, "iso-anchor", 0.3, seed=0, max_label=4)
    targets = pseudo_targets(pages, annotation, "anchor")
    inferred = annotation.inferred_label
    rest = ~annotation.mask & ~np.isnan(inferred)
    assert rest.any()
    np.testing.assert_array_equal(targets[rest], inferred[rest])
    np.testing.assert_array_equal(targets[annotation.mask], pages["page_label"].to_numpy(float)[annotation.mask])
    with pytest.raises(ConfigError, match="strategy=iso-anchor"):
        pseudo_targets(pages, annotate(pages, "top", 0.3, seed=0), "anchor")


def test_target_groups_drop_unknown_targets_and_single_row_queries() -> None:
    qid = np.array(["a", "a", "a", "b", "b", "c", "c"])
    targets = np.array([1.0, np.nan, 2.0, 3.0, np.nan, 0.5, 1.5])
    rows, offsets, labels = target_groups(qid, targets)
    np.testing.assert_array_equal(rows, [0, 2, 5, 6])
    np.testing.assert_array_equal(offsets, [0, 2, 4])
    np.testing.assert_array_equal(labels, [1.0, 2.0, 0.5, 1.5])


def test_pseudo_term_adds_its_weighted_lambdamart_gradient(pages) -> None:
    base, _, base_cfg = _supervision(pages)
    sup, annotation, cfg = _supervision(pages, pseudo_labels="isotonic", pseudo_weight=0.4)
    assert base.pseudo_rows is None and base.counts()["pseudo_rows"] == 0
    assert sup.pseudo_rows.size == len(pages) > annotation.labels_used  # every row gets a target
    again, _, _ = _supervision(pages, pseudo_labels="isotonic", pseudo_weight=0.4)
    np.testing.assert_array_equal(again.pseudo_labels, sup.pseudo_labels)  # deterministic
    scores = np.random.default_rng(1).normal(size=len(pages))
    g0, _ = build_objective(pages, base, base_cfg).gradients(scores)
    g1, _ = build_objective(pages, sup, cfg).gradients(scores)
    term = LambdaRankTerm(sup.pseudo_offsets, sup.pseudo_rows, sup.pseudo_labels)
    g_term, h_term = np.zeros(len(pages)), np.zeros(len(pages))
    term.add_to(scores, g_term, h_term, 0.4)
    np.testing.assert_allclose(g1, g0 + g_term, atol=1e-12)
    assert not np.allclose(g1, g0)
    # the unrevealed rows now get page-term gradient; without the option they get none from it
    unrevealed = ~annotation.mask
    assert np.abs(g_term[unrevealed]).sum() > 0


def test_linear_schedule_moves_lam_over_boosting_rounds(pages) -> None:
    assert lam_multiplier("constant", 0.0, 7, 10) == 1.0
    assert [lam_multiplier("linear", 0.0, k, 5) for k in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert lam_multiplier("linear", 3.0, 2, 3) == pytest.approx(3.0)
    sup, _, cfg = _supervision(pages, page_weight=0.0, lam=2.0, lam_schedule="linear", lam_end=0.5)
    objective = build_objective(pages, sup, cfg, n_rounds=3)
    scores = np.zeros(len(pages))
    first, _ = objective(scores)  # backend calls: round 0, 1, 2, 3 (held)
    second, _ = objective(scores)
    third, _ = objective(scores)
    fourth, _ = objective(scores)
    assert objective.rounds_done == 4
    np.testing.assert_allclose(second, first * 0.75)  # lam 2 -> 1.5 -> 1.0
    np.testing.assert_allclose(third, first * 0.5)
    np.testing.assert_allclose(fourth, third)
    constant = build_objective(pages, sup, ConsistencyConfig(page_weight=0.0, lam=2.0), n_rounds=3)
    np.testing.assert_allclose(constant(scores)[0], first)
    np.testing.assert_allclose(constant(scores)[0], first)


def test_consistency_metric_prefers_scores_that_follow_the_single_modal_order(pages) -> None:
    metric = consistency_metric(pages, ConsistencyConfig(), seed=0)
    follow = pages["upstream_score"].to_numpy()
    assert metric(follow) < metric(np.zeros(len(pages))) < metric(-follow)
    assert metric(follow) == metric(follow.copy())
    one_per_list = pages.drop_duplicates(["qid", "modality"])  # lists of one item: no pair to stop on
    assert consistency_metric(one_per_list, ConsistencyConfig(), seed=0) is None


class _Rounds:
    """An eval metric that is best after exactly ``best`` rounds (it counts its calls, one per round)."""

    def __init__(self, best: int) -> None:
        self.best, self.calls = best, 0

    def __call__(self, scores: np.ndarray) -> float:
        self.calls += 1
        return abs(self.calls - self.best)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_eval_metric_drives_early_stopping(pages, backend) -> None:
    X = pages[["upstream_score"]]
    sup, _, cfg = _supervision(pages)
    ranker = make_ranker(backend, n_estimators=40, early_stopping_rounds=3, n_threads=1, seed=0)
    metric = _Rounds(best=6)
    ranker.fit(
        X,
        np.zeros(len(pages)),
        pages["qid"].to_numpy(),
        eval_set=(X, np.full(len(pages), np.nan), pages["qid"].to_numpy()),  # labels are not read
        objective=build_objective(pages, sup, cfg, 40),
        eval_metric=metric,
    )
    assert ranker.best_iteration_ == 6
    assert metric.calls == 9  # stopped 3 rounds after the best


def test_consistency_early_stopping_is_the_default_and_reads_no_validation_label(small_splits) -> None:
    assert ConsistencyConfig().early_stopping == "consistency"
    prepared = prepare(fast_config(), small_splits)
    cfg = fast_config(budget={"budget": 0.1})  # budget.validation stays "budgeted": not applied to SMAR
    model, state = fit_prepared(cfg, prepared)
    again, _ = fit_prepared(cfg, prepared)
    assert state.cost.validation == 0 and state.validation is None and model.revealed_valid is None
    assert state.cost.labels_used == state.annotation.labels_used
    assert state.cost.candidates == len(small_splits.train)  # no validation label read: not in the pool either
    assert model.summary["labels"]["validation_mode"] == "none"
    assert 1 <= model.summary["best_iteration"] <= cfg.reranker.n_estimators
    X_valid = model.featurize(prepared.valid)
    np.testing.assert_array_equal(model.reranker.predict(X_valid), again.reranker.predict(X_valid))
    labels_cfg = fast_config(budget={"budget": 0.1}, consistency={"early_stopping": "labels"})
    _, labels_state = fit_prepared(labels_cfg, prepared)
    assert labels_state.cost.validation > 0  # the previous default read budgeted validation labels
    unstopped, _ = fit_prepared(
        fast_config(budget={"budget": 0.1, "validation": "none"}, consistency={"early_stopping": "labels"}), prepared
    )
    assert unstopped.summary["best_iteration"] == cfg.reranker.n_estimators  # no eval set: every round
    report = evaluate_run(cfg, model, state, small_splits, methods=("smar", "budget_only"), per_query=("ndcg@10",))
    smar, budget_only = report.result("smar"), report.result("budget_only")
    assert smar.validation_labels == 0
    assert budget_only.validation_labels == 0  # budget-only LambdaMART reads what SMAR reads
    assert len(smar.per_query["ndcg@10"]) == len(report.query_ids) == report.n_queries
    assert np.nanmean(smar.per_query["ndcg@10"]) == pytest.approx(smar.metrics["ndcg@10"])
    assert "query_ids" not in evaluate_run(cfg, model, state, small_splits, methods=("smar",)).to_dict()


@pytest.mark.parametrize(
    "settings",
    [{"pseudo_labels": "isotonic"}, {"lam_schedule": "linear"}],
)
def test_catboost_refuses_the_options_it_cannot_express(pages, settings) -> None:
    sup, _, cfg = _supervision(pages, gamma=0.0, **settings)
    with pytest.raises(ConfigError, match="CatBoost backend supports neither pseudo_labels nor lam_schedule"):
        catboost_pairs(sup, pages["qid"].to_numpy(), cfg)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("consistency", "pseudo_labels", "kmeans"),
        ("consistency", "lam_schedule", "cosine"),
        ("consistency", "early_stopping", "loss"),
        ("consistency", "pseudo_weight", -1.0),
    ],
)
def test_bad_option_values_are_one_config_error(section, key, value) -> None:
    with pytest.raises(ConfigError, match=key):
        fast_config(**{section: {key: value}})
