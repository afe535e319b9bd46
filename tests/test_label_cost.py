"""Honest label cost: training labels plus the validation labels early stopping and tuning read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

from smar_ltr.annotation.label_cost import label_cost
from smar_ltr.errors import ConfigError
from smar_ltr.evaluation.paper_protocol import evaluate_run
from smar_ltr.pipeline import fit, fit_prepared, prepare
from smar_ltr.serving.run_dir import load_run, save_run


@pytest.fixture(scope="module")
def prepared_small(small_splits):
    return prepare(fast_config(), small_splits)


#: These tests are about early stopping on validation labels (SMAR's default stops on its consistency loss).
LABELS = {"early_stopping": "labels"}


def _fit(prepared, **budget):
    return fit_prepared(fast_config(budget=budget, consistency=LABELS), prepared)


def test_a_ten_percent_budget_reads_ten_percent_of_training_and_validation(prepared_small, small_splits) -> None:
    model, state = _fit(prepared_small, strategy="top", budget=0.1)
    n_train, n_valid = len(small_splits.train), len(small_splits.valid)
    assert state.cost.train == state.annotation.labels_used
    assert 0 < state.cost.validation == int(state.validation.mask.sum()) <= max(1, int(0.1 * n_valid))
    assert state.cost.candidates == n_train + n_valid
    assert state.cost.label_fraction == pytest.approx(0.1, abs=0.01)
    _, y, qid = state.eval_set  # exactly the budgeted validation rows stop the reranker
    assert len(y) == state.cost.validation
    np.testing.assert_array_equal(qid, small_splits.valid["qid"].to_numpy()[state.validation.mask])
    labels = model.summary["labels"]
    assert labels["labels_used"] == state.cost.train + state.cost.validation
    assert labels["label_fraction"] == pytest.approx(state.cost.label_fraction, abs=1e-6)
    assert labels["validation_mode"] == "budgeted"


def test_the_reranker_stops_on_the_budgeted_validation_rows(monkeypatch, prepared_small) -> None:
    import smar_ltr.pipeline as pipeline

    seen = {}

    class Stop(Exception):
        pass

    def recorder(X, frame, sup, cfg, consistency, seed, eval_set=None, eval_metric=None, pool=None):
        seen["eval_set"] = eval_set
        raise Stop

    monkeypatch.setattr(pipeline, "train_reranker", recorder)
    with pytest.raises(Stop):
        _fit(prepared_small, strategy="random", budget=0.2)
    valid = prepared_small.valid
    expected = valid["qid"].to_numpy()[seen["eval_set"][0].index.to_numpy()]
    np.testing.assert_array_equal(seen["eval_set"][2], expected)
    assert len(expected) <= max(1, int(0.2 * len(valid)))


def test_full_and_none_validation(prepared_small, small_splits) -> None:
    _, full = _fit(prepared_small, strategy="top", budget=0.1, validation="full")
    assert full.cost.validation == len(small_splits.valid)
    assert full.cost.label_fraction > 0.3  # the validation pages dominate a small training budget
    _, none = _fit(prepared_small, strategy="top", budget=0.1, validation="none")
    assert none.eval_set is None and none.cost.validation == 0
    n_train, n_valid = len(small_splits.train), len(small_splits.valid)
    assert none.cost.candidates == n_train + n_valid  # one denominator, whatever the run reads
    assert none.cost.label_fraction == pytest.approx(none.cost.train / (n_train + n_valid))
    with pytest.raises(ConfigError, match=r"budget.validation 'some' is unknown"):
        fast_config(budget={"validation": "some"})


def test_every_method_reports_what_it_read(prepared_small, small_splits, tmp_path) -> None:
    model, state = _fit(prepared_small, strategy="top", budget=0.1)
    report = evaluate_run(model.config, model, state, small_splits)
    smar, full, only = (report.result(m) for m in ("smar", "full_supervision", "budget_only"))
    assert (smar.train_labels, smar.validation_labels) == (state.cost.train, state.cost.validation)
    assert smar.label_fraction == pytest.approx(0.1, abs=0.01)
    assert full.labels_used == len(small_splits.train) + len(small_splits.valid) and full.label_fraction == 1.0
    assert only.labels_used == smar.labels_used
    assert report.result("interleave").labels_used == 0 and report.result("fusion_zscore").label_fraction == 0.0
    loaded = load_run(save_run(model, tmp_path / "run"))  # a loaded run recovers the rows it read
    again = evaluate_run(model.config, loaded, None, small_splits, methods=("smar", "budget_only"))
    assert again.result("smar").labels_used == smar.labels_used
    assert again.result("budget_only").metrics == pytest.approx(only.metrics)


def test_label_cost_arithmetic() -> None:
    cost = label_cost(10, 100, 5, 50)
    assert (cost.labels_used, cost.candidates, cost.label_fraction) == (15, 150, 0.1)
    assert label_cost(100, 100, 50, 50).label_fraction == 1.0
    # no validation label read: the validation pages still count (one denominator for every method)
    assert label_cost(10, 100, 0, 50).candidates == 150


def test_every_fraction_of_the_eval_table_has_one_denominator(prepared_small, small_splits) -> None:
    """SMAR stopping on its consistency loss reads no validation label; its fraction is still over training +
    validation candidates, like full supervision's 1.0 (issue 25: 5361 / 22423 printed as 0.300)."""
    model, state = fit_prepared(fast_config(budget={"strategy": "top", "budget": 0.3}), prepared_small)
    report = evaluate_run(model.config, model, state, small_splits)
    pool = len(small_splits.train) + len(small_splits.valid)
    full = report.result("full_supervision")
    assert full.labels_used == pool and full.label_fraction == 1.0
    assert report.result("smar").validation_labels == 0
    for r in report.results:
        assert r.label_fraction == pytest.approx(r.labels_used / pool, abs=1e-6), r.method
        assert r.label_fraction == pytest.approx(r.labels_used / full.labels_used, abs=1e-6), r.method


def test_tuning_counts_what_trials_read_and_what_the_study_reads(tmp_path, small_splits) -> None:
    import optuna

    from smar_ltr.experiments.tuning import SearchSpace, tune

    space = SearchSpace(n_estimators=(10, 15), num_leaves=(7, 9), strategies=("top",), budget=(0.1, 0.2))
    result = tune(fast_config(), tmp_path / "study", n_trials=2, space=space, splits=small_splits, study_name="cost")
    pool = len(small_splits.train) + len(small_splits.valid)
    study = optuna.load_study(study_name="cost", storage=result.storage)
    for trial in study.trials:  # a trial stops on its consistency loss: it reads its training labels only
        used = trial.user_attrs["labels_used"]
        assert trial.user_attrs["label_fraction"] == pytest.approx(used / pool)
        assert abs(used - trial.params["budget"] * len(small_splits.train)) <= 0.1 * len(small_splits.train)
    labelled = int(small_splits.valid["page_label"].notna().sum())
    assert result.study_labels == labelled and result.study_label_fraction == pytest.approx(labelled / pool, abs=1e-6)
    no_labels = pd.array([pd.NA] * len(small_splits.valid), dtype="Int64")
    unlabelled = dataclasses.replace(small_splits, valid=small_splits.valid.assign(page_label=no_labels))
    with pytest.raises(ConfigError, match="tuning scores every trial on the labelled validation pages"):
        tune(fast_config(), tmp_path / "x", n_trials=1, splits=unlabelled)


def test_fit_end_to_end_reports_the_cost(small_splits) -> None:
    model, state = fit(fast_config(budget={"strategy": "top", "budget": 0.1}, consistency=LABELS), small_splits)
    assert model.revealed_valid is not None and len(model.revealed_valid) == state.cost.validation
