"""A campaign never loses an annotator's work: every bad import is refused whole with one line, a killed import
leaves the campaign exactly as before, two imports cannot both write, changed pages are refused."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from campaign_helpers import LABEL_SCALE, answer_worklist, hidden_key, labelled_pages, strip_labels

from smar_ltr.campaign import campaign_status, export_campaign, import_answers, plan_campaign
from smar_ltr.campaign.store import campaign_lock
from smar_ltr.errors import CampaignError


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    labelled = labelled_pages(tmp_path_factory.mktemp("pages") / "pages")
    return labelled, strip_labels(labelled)


@pytest.fixture
def campaign(tmp_path, pages):
    """An iso-anchor campaign with round 1 written; returns (dir, unlabelled pages, key, round-1 CSV)."""
    labelled, unlabelled = pages
    report = plan_campaign(
        tmp_path / "camp", unlabelled, strategy="iso-anchor", budget=0.3, seed=1, label_scale=LABEL_SCALE
    )
    return tmp_path / "camp", unlabelled, hidden_key(labelled), report.batch_csv


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file of a campaign (the lock file aside) and its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()} | {
        ".lock": b""
    }


def filled(csv: Path, key, tmp_path: Path, edit) -> Path:
    frame = pd.read_csv(answer_worklist(csv, key, tmp_path / "filled.csv"), dtype=str, keep_default_na=False)
    frame = edit(frame, csv.parents[1])
    frame.to_csv(tmp_path / "edited.csv", index=False)
    return tmp_path / "edited.csv"


def set_cell(row, col, value):
    def edit(frame, camp):
        frame.loc[row, col] = value
        return frame

    return edit


def not_asked_task(frame, camp):
    """Row 2 names a task of the pool that no round has asked (its qid and item_id to match)."""
    asked = {t for batch in json.loads((camp / "state.json").read_text())["rounds"] for t in batch}
    pool = pd.read_parquet(camp / "pool.parquet")
    other = pool[~pool["task_id"].isin(asked)].iloc[0]
    frame.loc[2, ["task_id", "qid", "item_id"]] = [other["task_id"], other["qid"], other["item_id"]]
    return frame


REFUSALS = {
    "unknown task id": (set_cell(1, "task_id", "t999999"), r"line 3: task_id 't999999' is not a task of this campaign"),
    "item of another round": (set_cell(0, "round", "2"), r"line 2: task t\d+ belongs to round 1, not round 2"),
    "task not asked yet": (not_asked_task, r"line 4: task t\d+ has not been asked in any round yet"),
    "edited item": (set_cell(0, "item_id", "zzz"), r"line 2: task t\d+ is item .* do not edit the qid and item_id"),
    "duplicate rows": (
        lambda f, c: pd.concat([f, f.iloc[[0]]]),
        r"line \d+ repeats task t\d+ of .* line 2; keep one row",
    ),
    "two labels for one item": (
        lambda f, c: pd.concat([f, f.iloc[[0]].assign(label=str((int(f.loc[0, "label"]) + 1) % 5))]),
        r"line \d+ gives task t\d+ label \d but .* line 2 gave \d; keep one answer per task",
    ),
    "label outside the scale": (
        set_cell(3, "label", "5"),
        r"line 5: label '5' of task t\d+ is outside the label scale 0..4",
    ),
    "fractional label": (set_cell(3, "label", "1.5"), r"line 5: label '1.5' .* outside the label scale"),
    "non-numeric label": (set_cell(0, "label", "good"), r"line 2: label 'good' of task t\d+ is not a number"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_bad_import_is_refused_whole_and_changes_nothing(tmp_path, campaign, case):
    camp, unlabelled, key, csv = campaign
    edit, message = REFUSALS[case]
    before = snapshot(camp)
    with pytest.raises(CampaignError, match=message):
        import_answers(camp, unlabelled, filled(csv, key, tmp_path, edit))
    assert snapshot(camp) == before
    assert campaign_status(camp)["labels_used"] == 0


def test_labelstudio_conflicting_annotations_are_refused(tmp_path, campaign):
    camp, unlabelled, _, csv = campaign
    tasks = json.loads(csv.with_suffix(".labelstudio.json").read_text())

    def annotation(grade):
        return {"result": [{"from_name": "label", "type": "choices", "value": {"choices": [grade]}}]}

    export = [{"id": 1, "data": tasks[0]["data"], "annotations": [annotation("1"), annotation("3")]}]
    (tmp_path / "ls.json").write_text(json.dumps(export))
    with pytest.raises(CampaignError, match=r"task #1 \(Label Studio id 1\): task t\d+ has different labels \(1, 3\)"):
        import_answers(camp, unlabelled, tmp_path / "ls.json")


def test_reimport_is_idempotent_and_a_changed_answer_is_a_logged_correction(tmp_path, campaign):
    camp, unlabelled, key, csv = campaign
    answers = answer_worklist(csv, key, tmp_path / "answers.csv")
    first = import_answers(camp, unlabelled, answers)
    after_first = snapshot(camp)
    again = import_answers(camp, unlabelled, answers)
    assert again.new_answers == 0 and again.corrections == 0 and again.round == first.round
    assert snapshot(camp) == after_first
    frame = pd.read_csv(answers, dtype=str, keep_default_na=False)
    old = int(frame.loc[0, "label"])
    frame.loc[0, "label"] = str((old + 1) % 5)
    frame.loc[0, "annotator"] = "ana"
    frame.to_csv(tmp_path / "changed.csv", index=False)
    fixed = import_answers(camp, unlabelled, tmp_path / "changed.csv")
    assert fixed.corrections == 1 and fixed.new_answers == 0
    state = json.loads((camp / "state.json").read_text())
    task = frame.loc[0, "task_id"]
    history = [e for e in state["log"] if e.get("task") == task]
    assert [(e["event"], e["old"], e["new"]) for e in history] == [
        ("answer", None, old),
        ("correction", old, (old + 1) % 5),
    ]
    assert history[1]["who"] == "ana" and history[1]["source"] == "import changed.csv" and history[1]["when"]
    assert state["answers"][task] == (old + 1) % 5
    [fix] = campaign_status(camp)["corrections"]
    assert (fix["task_id"], fix["old"], fix["new"], fix["who"]) == (task, old, (old + 1) % 5, "ana")


def test_second_plan_into_a_campaign_is_refused(campaign):
    camp, unlabelled, _, _ = campaign
    before = snapshot(camp)
    with pytest.raises(CampaignError, match="already holds an annotation campaign"):
        plan_campaign(camp, unlabelled, strategy="top", budget=0.5, label_scale=LABEL_SCALE)
    assert snapshot(camp) == before


def test_changed_pages_are_refused_for_import_and_export(tmp_path, campaign):
    camp, unlabelled, key, csv = campaign
    train = unlabelled.train.copy()
    train.loc[0, "f_shared"] = train.loc[0, "f_shared"] + 1.0
    changed = dataclasses.replace(unlabelled, train=train)
    with pytest.raises(CampaignError, match="the pages changed since this campaign was planned"):
        import_answers(camp, changed, answer_worklist(csv, key, tmp_path / "a.csv"))
    with pytest.raises(CampaignError, match="the pages changed since this campaign was planned"):
        export_campaign(camp, changed, tmp_path / "export")
    assert not (tmp_path / "export").exists()
    relabelled = dataclasses.replace(unlabelled, train=unlabelled.train.assign(page_label=1))
    assert import_answers(camp, relabelled, answer_worklist(csv, key, tmp_path / "a.csv")).new_answers > 0


def test_an_import_while_another_holds_the_lock_is_refused(tmp_path, campaign):
    camp, unlabelled, key, csv = campaign
    before = snapshot(camp)
    with campaign_lock(camp):
        with pytest.raises(CampaignError, match=rf"is busy: an import is running \(pid {os.getpid()}\)"):
            import_answers(camp, unlabelled, answer_worklist(csv, key, tmp_path / "a.csv"))
    assert snapshot(camp) == before


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from smar_ltr.campaign import import_answers, store
    from smar_ltr.datasets import load_dataset
    import campaign_helpers

    camp, pages, answers, point = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    real_atomic, real_json = store.write_atomic, store.write_json

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def atomic(path, writer):  # 'mid-write': the new state is on disk under its temporary name, not renamed
        if point == "mid-write" and Path(path).name == store.STATE:
            return real_atomic(path, lambda tmp: (writer(tmp), die()))
        return real_atomic(path, writer)

    def write_json(path, data):  # 'after-commit': state.json replaced, next round's files not written yet
        real_json(path, data)
        if point == "after-commit" and Path(path).name == store.STATE:
            die()

    store.write_atomic, store.write_json = atomic, write_json
    unlabelled = campaign_helpers.strip_labels(load_dataset("pages", pages))
    import_answers(camp, unlabelled, answers)
    """
)


@pytest.mark.parametrize("point", ["mid-write", "after-commit"])
def test_kill_9_during_an_import_loses_nothing(tmp_path, pages, point):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    page_dir = tmp_path / "pages"
    labelled_pages(page_dir)
    camp = tmp_path / "camp"
    report = plan_campaign(camp, unlabelled, strategy="iso-anchor", budget=0.3, seed=1, label_scale=LABEL_SCALE)
    answers = answer_worklist(report.batch_csv, key, tmp_path / "answers.csv")
    before = snapshot(camp)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    args = [sys.executable, "-c", KILLER, str(camp), str(page_dir), str(answers), point]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    if point == "mid-write":  # killed before the commit: exactly as before (a stray temporary file aside)
        stray = {k for k in snapshot(camp) if k.startswith(".state.json.")}
        assert stray, "the kill did not happen mid-write"
        assert {k: v for k, v in snapshot(camp).items() if k not in stray} == before
        assert campaign_status(camp)["labels_used"] == 0
    else:  # killed after the commit: the answers are kept, the missing round files come back
        assert campaign_status(camp)["labels_used"] == report.tasks
        assert not (camp / "rounds" / "round-002.csv").exists()
    resumed = import_answers(camp, unlabelled, answers)  # the stale lock and temporary files do not block it
    assert not any(k.startswith(".state.json.") for k in snapshot(camp))
    assert resumed.round == 2 and resumed.batch_csv.is_file() and resumed.labels_used == report.tasks
    reference = tmp_path / "reference"
    plan_campaign(reference, unlabelled, strategy="iso-anchor", budget=0.3, seed=1, label_scale=LABEL_SCALE)
    expected = import_answers(reference, unlabelled, answers)
    assert resumed.batch["task_id"].tolist() == expected.batch["task_id"].tolist()
    assert (
        json.loads((camp / "state.json").read_text())["answers"]
        == json.loads((reference / "state.json").read_text())["answers"]
    )
