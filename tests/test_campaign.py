"""Simulation and reality agree: a campaign answered from the true labels reveals exactly what
``budget.annotate`` simulates on the labelled pages (rows, labels, iso-anchor's inferred labels)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from campaign_helpers import LABEL_SCALE, answer_worklist, hidden_key, labelled_pages, strip_labels

from smar_ltr.annotation.budget import annotate
from smar_ltr.campaign import INFERRED_LABEL, campaign_status, export_campaign, import_answers, plan_campaign
from smar_ltr.campaign.rounds import levels_of

BUDGET, SEED = 0.3, 7


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    labelled = labelled_pages(tmp_path_factory.mktemp("pages") / "pages")
    return labelled, strip_labels(labelled)


def run_campaign(tmp_path, unlabelled, key, strategy, band=0):
    """Plan, then answer every round from the key until the campaign is done; returns (dir, reports)."""
    camp = tmp_path / f"camp-{strategy}"
    report = plan_campaign(
        camp, unlabelled, strategy=strategy, budget=BUDGET, seed=SEED, band=band, label_scale=LABEL_SCALE
    )
    reports = [report]
    while not report.done:
        filled = answer_worklist(report.batch_csv, key, tmp_path / f"answers-{strategy}-{report.round}.csv")
        report = import_answers(camp, unlabelled, filled)
        reports.append(report)
        assert len(reports) < 60, "campaign does not finish"
    return camp, reports


@pytest.mark.parametrize("strategy", ["top", "band", "random", "iso-anchor"])
def test_campaign_reveals_what_the_simulation_reveals(tmp_path, pages, strategy):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    band = 1 if strategy == "band" else 0
    camp, reports = run_campaign(tmp_path, unlabelled, key, strategy, band)
    export_campaign(camp, unlabelled, tmp_path / "export")
    for role in ("train", "valid"):
        truth = getattr(labelled, role)
        levels = levels_of(LABEL_SCALE) if strategy == "iso-anchor" else None
        sim = annotate(truth, strategy, BUDGET, seed=SEED, band=band, levels=levels)
        exported = pd.read_parquet(tmp_path / "export" / f"{role}.parquet")
        got = exported["page_label"].notna().to_numpy()
        np.testing.assert_array_equal(got, sim.mask)
        np.testing.assert_array_equal(exported["page_label"][got].to_numpy(int), truth["page_label"][got].to_numpy(int))
        assert exported[["qid", "item_id"]].equals(truth[["qid", "item_id"]].reset_index(drop=True))
        if strategy == "iso-anchor":
            inferred = exported[INFERRED_LABEL].to_numpy(dtype=float, na_value=np.nan)
            np.testing.assert_array_equal(inferred, sim.inferred_label)
        else:
            assert INFERRED_LABEL not in exported.columns
    status = campaign_status(camp)
    assert status["done"] and status["rounds_left"] == 0
    assert status["labels_used"] == sum(r.new_answers for r in reports)
    assert status["labels_used"] <= status["label_budget"]
    if strategy == "iso-anchor":  # one binary-search step per round, all lists at once
        assert len(reports) >= 3  # plan + at least two imports
        assert status["lists_settled"] > 0
    else:
        assert len(reports) == 2  # plan + one import


def test_iso_anchor_rounds_ask_one_item_per_list_and_never_twice(tmp_path, pages):
    labelled, unlabelled = pages
    camp, _ = run_campaign(tmp_path, unlabelled, hidden_key(labelled), "iso-anchor")
    state = json.loads((camp / "state.json").read_text())
    asked = [t for batch in state["rounds"] for t in batch]
    assert len(asked) == len(set(asked)) == len(state["answers"])
    pool = pd.read_parquet(camp / "pool.parquet").set_index("task_id")
    for batch in state["rounds"]:
        lists = pool.loc[batch, ["split", "qid", "modality"]]
        assert not lists.duplicated().any()


def test_partial_answers_keep_the_round_open_and_status_counts_them(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    camp = tmp_path / "camp"
    report = plan_campaign(camp, unlabelled, strategy="top", budget=BUDGET, seed=SEED, label_scale=LABEL_SCALE)
    frame = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
    half = len(frame) // 2
    frame.loc[: half - 1, "label"] = [
        str(key[(q, i)]) for q, i in zip(frame["qid"][:half], frame["item_id"][:half], strict=True)
    ]
    frame.to_csv(tmp_path / "half.csv", index=False)
    partial = import_answers(camp, unlabelled, tmp_path / "half.csv")
    assert (partial.round, partial.done, partial.new_answers, partial.tasks) == (1, False, half, len(frame) - half)
    status = campaign_status(camp)
    assert status["labels_used"] == half and status["pending"] == len(frame) - half and status["rounds_left"] == 1
    rest = import_answers(camp, unlabelled, answer_worklist(report.batch_csv, key, tmp_path / "all.csv"))
    assert rest.done and rest.new_answers == len(frame) - half


def test_labelstudio_export_is_imported_like_the_csv(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    camp = tmp_path / "camp"
    report = plan_campaign(camp, unlabelled, strategy="iso-anchor", budget=BUDGET, seed=SEED, label_scale=LABEL_SCALE)
    tasks = json.loads(report.labelstudio_json.read_text())
    exported = []
    for i, task in enumerate(tasks):  # Label Studio's JSON export: data + annotations[].result[] of the choices
        grade = str(key[(task["data"]["qid"], task["data"]["item_id"])])
        result = {"from_name": "label", "to_name": "item", "type": "choices", "value": {"choices": [grade]}}
        cancelled = {"result": [], "was_cancelled": True}
        exported.append({"id": 100 + i, "data": task["data"], "annotations": [cancelled, {"result": [result]}]})
    (tmp_path / "ls.json").write_text(json.dumps(exported))
    via_ls = import_answers(camp, unlabelled, tmp_path / "ls.json")
    other = tmp_path / "camp-csv"
    first = plan_campaign(other, unlabelled, strategy="iso-anchor", budget=BUDGET, seed=SEED, label_scale=LABEL_SCALE)
    via_csv = import_answers(other, unlabelled, answer_worklist(first.batch_csv, key, tmp_path / "a.csv"))
    assert via_ls.new_answers == len(tasks) and via_ls.round == via_csv.round == 2
    assert via_ls.batch["task_id"].tolist() == via_csv.batch["task_id"].tolist()
    minimal = [{"id": 1, **t["data"], "label": str(key[(t["data"]["qid"], t["data"]["item_id"])])} for t in tasks[:3]]
    (tmp_path / "min.json").write_text(json.dumps(minimal))  # JSON-MIN of answers already recorded: a no-op
    assert import_answers(camp, unlabelled, tmp_path / "min.json").new_answers == 0
    config = (camp / "labelstudio-config.xml").read_text()
    assert '<Choices name="label" toName="item"' in config and config.count("<Choice ") == 5
