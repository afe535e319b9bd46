"""Optuna tuning: search-space bounds, resume, the recommendation rule, bad storage URLs, the CLI."""

from __future__ import annotations

import json

import optuna
import pytest
from conftest import fast_config

from smar_ltr.config import RunConfig, from_dict
from smar_ltr.errors import ConfigError
from smar_ltr.experiments.tuning import SearchSpace, open_study, recommend, suggest_config, tune

SPACE = SearchSpace(n_estimators=(10, 25), num_leaves=(7, 15))


def test_suggestions_stay_within_bounds() -> None:
    base = fast_config()
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        cfg = suggest_config(trial, base, SPACE, ["image", "video", "web"], None)
        assert SPACE.budget[0] <= cfg.budget.budget <= SPACE.budget[1]
        assert cfg.budget.strategy in SPACE.strategies
        assert abs(sum(cfg.budget.modality_shares.values()) - 1) < 1e-9
        assert SPACE.num_leaves[0] <= cfg.reranker.num_leaves <= SPACE.num_leaves[1]
        assert SPACE.learning_rate[0] <= cfg.reranker.learning_rate <= SPACE.learning_rate[1]
        assert SPACE.n_estimators[0] <= cfg.reranker.n_estimators <= SPACE.n_estimators[1]
        assert SPACE.lam[0] <= cfg.consistency.lam <= SPACE.lam[1]
        assert cfg.consistency.mode in SPACE.modes
        assert all(SPACE.beta[0] <= b <= SPACE.beta[1] for b in cfg.consistency.beta.values())
        study.tell(trial, [0.5, 0.5])
    fixed = suggest_config(study.ask(), base, SPACE, ["web"], 0.2)
    assert fixed.budget.budget == 0.2


def test_space_rejects_untunable_strategy() -> None:
    with pytest.raises(ConfigError, match="not tunable"):
        SearchSpace(strategies=("top", "all"))


def test_recommendation_is_cheapest_within_tolerance() -> None:
    front = [
        {"trial": 0, "label_fraction": 0.05, "metric": 0.60, "params": {}},
        {"trial": 1, "label_fraction": 0.10, "metric": 0.695, "params": {}},
        {"trial": 2, "label_fraction": 0.30, "metric": 0.70, "params": {}},
        {"trial": 3, "label_fraction": 0.10, "metric": 0.698, "params": {}},
    ]
    assert recommend(front, 0.01)["trial"] == 3  # 0.10 is cheapest within 0.01; tie -> higher metric
    assert recommend(front, 0.0)["trial"] == 2
    assert recommend(front, 1.0)["trial"] == 0
    with pytest.raises(ConfigError, match="no completed trial"):
        recommend([], 0.01)


@pytest.mark.parametrize("url", ["notaurl://x", "sqlite:////nonexistent-dir/sub/x.db"])
def test_bad_storage_url_is_one_clear_error(url: str) -> None:
    with pytest.raises(ConfigError, match="cannot open Optuna storage"):
        open_study(url, "s", multi=True)


def test_tune_writes_outputs_and_resumes(tmp_path, small_splits) -> None:
    base = fast_config()
    first = tune(base, tmp_path, n_trials=3, space=SPACE, splits=small_splits, study_name="t")
    assert first.n_trials == 3
    assert (tmp_path / "pareto.csv").exists() and (tmp_path / "pareto.png").exists()
    assert (tmp_path / "metric_by_strategy.png").exists()
    rec = json.loads((tmp_path / "recommended.json").read_text())
    cfg = from_dict(RunConfig, rec)
    n_train, n_valid = len(small_splits.train), len(small_splits.valid)
    # the fraction is over training + validation candidates; trials read only their training budget
    assert first.recommended["label_fraction"] <= cfg.budget.budget * n_train / (n_train + n_valid) + 0.05
    labels_by_trial = [p["label_fraction"] for p in first.pareto]
    assert labels_by_trial == sorted(labels_by_trial)
    storage = first.storage
    before = optuna.load_study(study_name="t", storage=storage)
    old_params = [t.params for t in before.trials]
    second = tune(base, tmp_path, n_trials=2, space=SPACE, splits=small_splits, study_name="t")
    assert second.n_trials == 5
    after = optuna.load_study(study_name="t", storage=storage)
    assert [t.params for t in after.trials[:3]] == old_params  # earlier trials kept
    assert after.trials[3].params != after.trials[0].params  # resumed sampler does not replay trial 0


def test_recommended_config_reproduces_its_validation_metric(tmp_path, small_splits) -> None:
    from smar_ltr.experiments.tuning import validation_score
    from smar_ltr.pipeline import fit

    result = tune(fast_config(), tmp_path, n_trials=2, space=SPACE, splits=small_splits, study_name="r")
    cfg = from_dict(RunConfig, json.loads((tmp_path / "recommended.json").read_text()))
    model, state = fit(cfg, small_splits)
    # refitted as a user would, scored on the study's evaluation labels (every labelled validation row)
    assert validation_score(model, state, "ndcg@10") == pytest.approx(result.recommended["metric"], abs=1e-9)
    assert result.recommended["label_fraction"] == pytest.approx(state.cost.label_fraction)


#: Only the budget varies: every other tuned setting has one value.
BUDGET_ONLY = SearchSpace(
    strategies=("top",), modes=("pairwise",), modality_share=(1.0, 1.0), beta=(1.0, 1.0), gamma=(0.5, 0.5),
    lam=(1.0, 1.0), mu=(1.0, 1.0), num_leaves=(7, 7), learning_rate=(0.1, 0.1), n_estimators=(40, 40),
    min_data_in_leaf=(20, 20),
)  # fmt: skip


def test_every_trial_is_scored_on_the_same_rows_so_more_labels_can_win(tmp_path, small_splits) -> None:
    """Issue 25: scored on its own budgeted rows, a 5% trial looked better than a 100% one (fewer, easier rows)
    and the Pareto front was one point. On the same rows the full budget wins and the front keeps both."""
    from smar_ltr.experiments.tuning import validation_score
    from smar_ltr.pipeline import fit, prepare

    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    study = open_study(storage, "b", multi=True)
    for budget in (0.05, 1.0):
        study.enqueue_trial({"budget": budget})
    no_pool = fast_config(consistency={"pool_weight": 0.0})  # the budget alone decides the quality
    result = tune(no_pool, tmp_path, n_trials=2, space=BUDGET_ONLY, splits=small_splits, study_name="b")
    front = sorted(result.pareto, key=lambda p: p["label_fraction"])
    assert len(front) == 2 and front[0]["metric"] < front[1]["metric"]
    prepared = prepare(fast_config(), small_splits)
    n_valid = int(prepared.valid["page_label"].notna().sum())
    assert result.study_labels == n_valid  # the study reads every labelled validation row, once
    for point in front:  # each point refitted scores what the study said, on the same rows
        cfg = fast_config(budget={"strategy": "top", "budget": point["params"]["budget"]},
                          reranker={**BUDGET_ONLY_RERANKER}, consistency={"pool_weight": 0.0})  # fmt: skip
        model, state = fit(cfg, small_splits)
        assert validation_score(model, state, "ndcg@10") == pytest.approx(point["metric"], abs=1e-9)


BUDGET_ONLY_RERANKER = {"num_leaves": 7, "learning_rate": 0.1, "n_estimators": 40, "min_data_in_leaf": 20}


@pytest.mark.parametrize("tolerance", [-0.1, float("nan")])
def test_bad_tolerance_is_refused_before_any_trial(tmp_path, small_splits, tolerance: float) -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        tune(fast_config(), tmp_path, n_trials=1, tolerance=tolerance, space=SPACE, splits=small_splits)
    assert not (tmp_path / "tune.db").exists()


def test_a_study_of_other_pages_or_another_metric_is_not_resumed(tmp_path, small_splits) -> None:
    tune(fast_config(), tmp_path, n_trials=1, space=SPACE, splits=small_splits, study_name="m")
    with pytest.raises(ConfigError, match="run with other metric"):
        tune(fast_config(), tmp_path, n_trials=1, space=SPACE, splits=small_splits, study_name="m", metric="mrr@10")
    from smar_ltr.datasets import load_dataset

    other = load_dataset("synthetic", seed=1, size="small")
    with pytest.raises(ConfigError, match="run with other pages"):
        tune(fast_config(), tmp_path, n_trials=1, space=SPACE, splits=other, study_name="m")
    assert len(optuna.load_study(study_name="m", storage=f"sqlite:///{tmp_path / 'tune.db'}").trials) == 1


def test_resuming_at_the_largest_seed_wraps_the_sampler_seed(tmp_path, small_splits) -> None:
    base = fast_config(seed=2**32 - 1)
    tune(base, tmp_path, n_trials=1, space=SPACE, splits=small_splits, study_name="s")
    assert tune(base, tmp_path, n_trials=1, space=SPACE, splits=small_splits, study_name="s").n_trials == 2


@pytest.mark.parametrize(("kwargs", "message"), [({"timeout": -5.0}, "timeout"), ({"fixed_budget": 2.0}, "budget")])
def test_bad_timeout_or_budget_is_refused_before_any_file(tmp_path, small_splits, kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        tune(fast_config(), tmp_path / "out", n_trials=1, space=SPACE, splits=small_splits, **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_trial_the_pages_cannot_train_is_skipped_with_its_reason(tmp_path, small_splits) -> None:
    said: list[str] = []
    huge = SearchSpace(n_estimators=(10, 12), num_leaves=(7, 8), min_data_in_leaf=(100_000, 100_001))
    with pytest.raises(ConfigError, match="every trial was skipped; the first because: LightGBM cannot train"):
        tune(fast_config(), tmp_path, n_trials=1, space=huge, splits=small_splits, progress=said.append)
    assert any("skipped: LightGBM cannot train" in line and "min_data_in_leaf" in line for line in said)


def test_a_study_without_trials_takes_the_new_identity(tmp_path) -> None:
    from smar_ltr.experiments.tuning import check_study_identity

    study = open_study(f"sqlite:///{tmp_path / 'e.db'}", "e", multi=True)
    check_study_identity(study, {"pages": "a", "metric": "ndcg@10", "fixed_budget": None}, "e")
    # the first run stopped before any trial: the next, on fixed pages, is not refused
    check_study_identity(study, {"pages": "b", "metric": "ndcg@10", "fixed_budget": None}, "e")
    assert study.user_attrs["smar_identity"]["pages"] == "b"
