"""End to end: unlabelled pages -> plan -> answers from a hidden key -> import rounds -> export -> fit -> eval.

The model trained on the exported tables (strategy ``given``) predicts exactly what the model trained by the
in-memory simulation on the labelled pages predicts: same pages, strategy, budget and seed (the simulation's
validation labels are budgeted, ``budget.validation = "budgeted"``, as the campaign annotates them).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from campaign_helpers import LABEL_SCALE, answer_worklist, hidden_key, labelled_pages, strip_labels
from conftest import fast_config

from smar_ltr.campaign import export_campaign, import_answers, plan_campaign
from smar_ltr.datasets import load_dataset
from smar_ltr.evaluation.paper_protocol import evaluate_run
from smar_ltr.pipeline import fit

BUDGET, SEED = 0.3, 5


@pytest.mark.parametrize("strategy", ["top", "iso-anchor"])
def test_model_from_a_real_campaign_equals_the_simulated_model(tmp_path, strategy):
    labelled = labelled_pages(tmp_path / "pages")
    unlabelled, key = strip_labels(labelled), hidden_key(labelled)
    camp = tmp_path / "camp"
    report = plan_campaign(camp, unlabelled, strategy=strategy, budget=BUDGET, seed=SEED, label_scale=LABEL_SCALE)
    while not report.done:
        report = import_answers(camp, unlabelled, answer_worklist(report.batch_csv, key, tmp_path / "answers.csv"))
    export_campaign(camp, unlabelled, tmp_path / "labelled")

    def config(**fields):
        labels = {"consistency": {"early_stopping": "labels"}}  # validation labels are read, as in a campaign
        return dataclasses.replace(fast_config(dataset="pages", seed=SEED, **labels, **fields), dataset_options={})

    real_cfg = config(data_dir=str(tmp_path / "labelled"), budget={"strategy": "given"})
    exported = load_dataset("pages", tmp_path / "labelled")
    real, real_state = fit(real_cfg, exported)
    sim_budget = {"strategy": strategy, "budget": BUDGET, "max_label": LABEL_SCALE[1]}
    sim, sim_state = fit(config(budget=sim_budget), labelled)  # validation "budgeted": simulated alike

    assert real.summary["annotation"]["strategy"] == "given"
    pd.testing.assert_frame_equal(real.revealed, sim.revealed)
    assert real_state.supervision.counts() == sim_state.supervision.counts()
    np.testing.assert_array_equal(real_state.validation.mask, sim_state.validation.mask)
    assert real.summary["labels"] == sim.summary["labels"]
    if strategy == "iso-anchor":
        assert len(real_state.supervision.cross) > 0
        np.testing.assert_array_equal(real_state.annotation.inferred_label, sim_state.annotation.inferred_label)
    test = exported.test
    np.testing.assert_array_equal(real.score(test), sim.score(test))
    report = evaluate_run(real_cfg, real, real_state, exported, methods=("smar",))
    assert np.isfinite(report.result("smar").metrics["ndcg@10"])
