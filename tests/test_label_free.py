"""Consistency early stopping (reads no page label), and the settings the real-data protocol retired.

Pseudo-label targets, the scheduled consistency weight, KL distillation and the list stage left the product
(issue 25, ``benchmarks/README.md``): a config that uses one is refused by name, one that records the old inert
default still loads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

from smar_ltr.annotation.budget import annotate
from smar_ltr.config import ConsistencyConfig
from smar_ltr.errors import ConfigError
from smar_ltr.evaluation.paper_protocol import evaluate_run
from smar_ltr.pipeline import fit_prepared, prepare
from smar_ltr.rankers import make_ranker
from smar_ltr.training.early_stopping import consistency_metric
from smar_ltr.training.reranker import build_objective, build_supervision


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
        objective=build_objective(pages, sup, cfg),
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
    assert state.cost.candidates == len(small_splits.train) + len(small_splits.valid)  # one denominator
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


def test_a_bad_early_stopping_value_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="early_stopping"):
        fast_config(consistency={"early_stopping": "loss"})


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"consistency": {"pseudo_labels": "isotonic"}}, "consistency.pseudo_labels='isotonic'"),
        ({"consistency": {"lam_schedule": "linear"}}, "consistency.lam_schedule='linear'"),
        ({"consistency": {"listwise_loss": "kl"}}, "consistency.listwise_loss='kl'"),
        ({"list_stage": {"mode": "auto"}}, "list_stage="),
    ],
)
def test_a_config_that_uses_a_retired_setting_is_refused_by_name(settings, named) -> None:
    with pytest.raises(ConfigError, match="names a retired setting") as err:
        fast_config(**settings)
    assert named in str(err.value) and "benchmarks/README.md" in str(err.value)


def test_a_run_saved_with_retired_keys_at_their_old_defaults_still_loads(small_splits, tmp_path) -> None:
    """Runs saved before the retirement record every key; at the values that did nothing they load unchanged."""
    import json

    from smar_ltr.serving.run_dir import load_run, save_run

    model, _ = fit_prepared(fast_config(), prepare(fast_config(), small_splits))
    run = save_run(model, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    config["consistency"].update(pseudo_labels="none", pseudo_weight=0.5, lam_schedule="constant", lam_end=0.0)
    config["consistency"].update(listwise_loss="listmle", tau=1.0)
    config["list_stage"] = {"mode": "none", "folds": 2, "n_estimators": 100}
    from smar_ltr.config import RunConfig
    from smar_ltr.core.coercion import from_dict

    assert from_dict(RunConfig, config) == model.config
    config["consistency"]["pseudo_labels"] = "anchor"
    with pytest.raises(ConfigError, match="names a retired setting"):
        from_dict(RunConfig, config)
    assert load_run(run).config == model.config


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_first_best_round_replays_online_early_stopping(pages, backend) -> None:
    """Trained to the end and scored round by round, the consistency loss picks the round online early stopping
    keeps (the Dask engine stops this way after training)."""
    from smar_ltr.training.early_stopping import first_best_round

    rng = np.random.default_rng(0)

    def inputs(frame: pd.DataFrame) -> pd.DataFrame:  # a weak view of the single-modal order plus noise
        noisy = frame["upstream_score"].to_numpy() + rng.normal(0, 3, len(frame))
        return pd.DataFrame({"weak": noisy, **{f"noise{k}": rng.normal(size=len(frame)) for k in range(3)}})

    valid = pages.assign(upstream_score=pages["upstream_score"] + rng.normal(0, 1, len(pages)), qid="v" + pages["qid"])
    X, X_valid = inputs(pages), inputs(valid)
    sup, _, cfg = _supervision(pages)
    metric = consistency_metric(valid, cfg, seed=0)
    kwargs = {"n_estimators": 60, "learning_rate": 0.3, "num_leaves": 8, "min_data_in_leaf": 2, "n_threads": 1}
    qid = pages["qid"].to_numpy()
    eval_set = (X_valid, np.zeros(len(valid)), valid["qid"].to_numpy())
    objective = build_objective(pages, sup, cfg)
    online = make_ranker(backend, early_stopping_rounds=4, seed=0, **kwargs)
    online.fit(X, np.zeros(len(pages)), qid, eval_set=eval_set, objective=objective, eval_metric=metric)
    full = make_ranker(backend, early_stopping_rounds=0, seed=0, **kwargs)
    full.fit(X, np.zeros(len(pages)), qid, objective=build_objective(pages, sup, cfg))
    losses = [metric(scores) for scores in full.round_scores(X_valid)]
    assert len(losses) == 60
    assert first_best_round(np.array(losses), 4) == online.best_iteration_ < 60
    assert first_best_round(np.array(losses), 0) == 60  # patience 0: no early stopping


def test_first_best_round_rule() -> None:
    from smar_ltr.training.early_stopping import first_best_round

    assert first_best_round(np.array([3.0, 2.0, 2.0, 2.5, 1.0]), 2) == 2  # stopped at round 4: 2 rounds without gain
    assert first_best_round(np.array([3.0, 2.0, 2.0, 2.5, 1.0]), 3) == 5
    assert first_best_round(np.array([1.0, 1.0, 1.0]), 5) == 1  # ties are not improvements
