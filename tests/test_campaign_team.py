"""A campaign a team can run: keys that record the grade pressed, several annotators per item and their agreement,
corrections after an import, unjudgeable tasks in every strategy, the pending tasks of a partial round, empty and
all-skipped exports, and the page the label is about in view."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from campaign_helpers import LABEL_SCALE, answer_worklist, hidden_key, labelled_pages, strip_labels

from smar_ltr.campaign import (
    campaign_status,
    correct_answer,
    export_campaign,
    import_answers,
    plan_campaign,
    skip_task,
)
from smar_ltr.campaign.agreement import aggregate_grades, ordinal_alpha
from smar_ltr.campaign.worklist import default_grade_notes, labelstudio_config, read_grade_notes
from smar_ltr.errors import CampaignError, ConfigError

BUDGET, SEED = 0.3, 7
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    labelled = labelled_pages(tmp_path_factory.mktemp("pages") / "pages")
    return labelled, strip_labels(labelled)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()} | {
        ".lock": b""
    }


def fill(csv: Path, out: Path, grade) -> Path:
    """A filled copy of a worklist; ``grade(row) -> str`` gives each row's label (``""``: left unanswered)."""
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame["label"] = [grade(row) for row in frame.to_dict(orient="records")]
    frame.to_csv(out, index=False)
    return out


def _plan(tmp_path, unlabelled, strategy="iso-anchor", name="camp", **kw):
    kw.setdefault("budget", BUDGET)
    kw.setdefault("label_scale", LABEL_SCALE)
    return plan_campaign(tmp_path / name, unlabelled, strategy=strategy, seed=SEED, **kw)


# 1. the labelling config -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [(0, 4), (1, 3), (0, 1)])
def test_config_choices_carry_the_grade_as_value_and_hotkey_in_order(scale):
    root = ET.fromstring(labelstudio_config(scale))
    [choices] = root.iter("Choices")
    assert choices.get("name") == "label" and choices.get("toName") == "item" and choices.get("required") == "true"
    found = [(c.get("value"), c.get("hotkey")) for c in choices.iter("Choice")]
    grades = [str(g) for g in range(scale[0], scale[1] + 1)]
    assert found == list(zip(grades, grades, strict=True))  # pressing "3" records grade 3
    notes = default_grade_notes(scale)
    assert all(c.get("hint") == notes[int(c.get("value"))] for c in choices.iter("Choice"))
    assert len(set(notes.values())) == len(notes)  # every grade its own description
    assert {t.get("name") for t in root.iter("HyperText")} == {"page"}  # the page in view


def test_grade_notes_from_a_file_and_bad_files(tmp_path, pages):
    path = tmp_path / "notes.json"
    path.write_text(json.dumps({"3": "answers the query fully", "0": "off topic"}))
    notes = read_grade_notes(path, LABEL_SCALE)
    assert notes[3] == "answers the query fully" and notes[0] == "off topic" and notes[1] == "marginally relevant"
    _, unlabelled = pages
    _plan(tmp_path, unlabelled, "top", grade_notes=notes)
    config = ET.fromstring((tmp_path / "camp" / "labelstudio-config.xml").read_text())
    assert [c.get("hint") for c in config.iter("Choice")][3] == "answers the query fully"
    for bad, message in [({"7": "x"}, "not a grade of 0..4"), ({"2": ""}, "one-line text"), ([1], "JSON object")]:
        path.write_text(json.dumps(bad))
        with pytest.raises(ConfigError, match=message):
            read_grade_notes(path, LABEL_SCALE)


# 2. several annotators -------------------------------------------------------------------------------------------


def test_aggregation_rules_and_ties():
    assert aggregate_grades([2, 2, 3], "majority") == (2, False)
    assert aggregate_grades([1, 2, 3], "majority") == (2, True)  # a tie: the lower median of all the answers
    assert aggregate_grades([1, 1, 3, 3], "majority") == (1, True)
    assert aggregate_grades([0, 3, 4], "median") == (3, False)
    assert aggregate_grades([1, 3], "median") == (1, True)
    assert aggregate_grades([2, 2], "strict") == (2, False) and aggregate_grades([2, 3], "strict") == (None, False)


def test_ordinal_alpha_matches_krippendorffs_worked_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units,
    # missing values left out; published ordinal alpha 0.815 (the `krippendorff` package gives 0.8153875...)
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[o[u] for o in observers if o[u] is not None] for u in range(12)]
    assert ordinal_alpha(units) == pytest.approx(0.8153875037548814, abs=1e-12)
    assert ordinal_alpha([[2, 2], [3, 3], [0, 0]]) == pytest.approx(1.0)
    assert ordinal_alpha([[1, 1], [1, 1]]) is None and ordinal_alpha([[1]]) is None


def test_three_annotators_majority_and_median_with_a_tie(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    results = {}
    for rule in ("majority", "median"):
        report = _plan(tmp_path, unlabelled, "top", name=f"camp-{rule}", annotators=3, aggregate=rule)
        frame = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
        assert frame["copy"].tolist() == sorted(frame["copy"].tolist()) and set(frame["copy"]) == {"1", "2", "3"}
        assert len(frame) == 3 * frame["task_id"].nunique() == report.tasks
        first, second = frame["task_id"].iloc[0], frame["task_id"].iloc[1]
        truth = {t: key[(q, i)] for t, q, i in zip(frame["task_id"], frame["qid"], frame["item_id"], strict=True)}

        def grade(row, first=first, second=second, truth=truth):
            g = truth[row["task_id"]]
            if row["task_id"] == first:  # a tie: three different grades
                return str({"1": 0, "2": 2, "3": 4}[row["copy"]])
            if row["task_id"] == second:  # majority 0, median 0, but two different answers
                return str({"1": 0, "2": 0, "3": 4}[row["copy"]])
            return str(g)

        done = import_answers(tmp_path / f"camp-{rule}", unlabelled, fill(report.batch_csv, tmp_path / "a.csv", grade))
        assert done.done and done.new_answers == len(frame)
        state = json.loads((tmp_path / f"camp-{rule}" / "state.json").read_text())
        assert state["answers"][first] == 2 and state["answers"][second] == 0
        others = set(truth) - {first, second}
        assert all(state["answers"][t] == truth[t] for t in others)
        status = campaign_status(tmp_path / f"camp-{rule}")
        # majority: three different grades are a tie, resolved to the lower median and listed; median: no tie
        tie = [{"task_id": first, "grades": [0, 2, 4], "grade": 2}]
        assert status["ties"] == (tie if rule == "majority" else [])
        assert done.ties == status["ties"]
        assert status["annotator_counts"] == {f"copy {c}": {"answers": len(truth), "skips": 0} for c in "123"}
        assert 0 < status["agreement"]["alpha"] < 1 and status["agreement"]["items"] == len(truth)
        results[rule] = state["answers"]
    assert results["majority"] == results["median"]


def test_strict_refuses_disagreement_and_changes_nothing(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    report = _plan(tmp_path, unlabelled, "top", annotators=2, aggregate="strict")
    first = pd.read_csv(report.batch_csv, dtype=str)["task_id"].iloc[0]
    before = snapshot(tmp_path / "camp")

    def grade(row):
        g = key[(row["qid"], row["item_id"])]
        return str((g + 1) % 5) if row["task_id"] == first and row["copy"] == "2" else str(g)

    with pytest.raises(CampaignError, match=rf"the 2 answers of task {first} disagree .* aggregates strictly"):
        import_answers(tmp_path / "camp", unlabelled, fill(report.batch_csv, tmp_path / "a.csv", grade))
    assert snapshot(tmp_path / "camp") == before


def test_labelstudio_annotators_and_their_copies(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    report = _plan(tmp_path, unlabelled, "top", annotators=2)
    tasks = json.loads(report.labelstudio_json.read_text())
    export = []
    for i, task in enumerate(tasks):
        d = task["data"]
        grade = str(key[(d["qid"], d["item_id"])])
        result = {"from_name": "label", "to_name": "item", "type": "choices", "value": {"choices": [grade]}}
        who = {"1": "ana@team", "2": "ben@team"}[str(d["copy"])]
        annotation = {"result": [result], "completed_by": {"id": 1, "email": who}, "updated_at": "2026-01-02T03:04"}
        export.append({"id": i, "data": d, "annotations": [annotation]})
    (tmp_path / "ls.json").write_text(json.dumps(export))
    done = import_answers(tmp_path / "camp", unlabelled, tmp_path / "ls.json")
    assert done.done and done.new_answers == len(tasks)
    status = campaign_status(tmp_path / "camp")
    assert status["annotator_counts"] == {w: {"answers": len(tasks) // 2, "skips": 0} for w in ("ana@team", "ben@team")}
    assert status["agreement"]["alpha"] == pytest.approx(1.0)


# 3. corrections --------------------------------------------------------------------------------------------------


def test_a_correction_after_import_reopens_an_iso_anchor_list_and_the_next_round_asks_it(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    camp = tmp_path / "camp"
    report = _plan(tmp_path, unlabelled, budget=0.5)  # lists with room for more than one judgement
    first_round = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
    while not report.done:
        report = import_answers(camp, unlabelled, answer_worklist(report.batch_csv, key, tmp_path / "a.csv"))
    done_state = json.loads((camp / "state.json").read_text())
    rounds_before = len(done_state["rounds"])
    pool = pd.read_parquet(camp / "pool.parquet").set_index("task_id")
    lists = ["split", "qid", "modality"]
    asked = pool.loc[list(done_state["answers"])].groupby(lists).size()
    sizes = pool.groupby(lists).size()

    def reopens(r):  # a first midpoint graded 0, in a list searched further, with unasked items below it
        where = tuple(pool.loc[r["task_id"], lists])
        deeper = sizes[where] - pool.loc[r["task_id"], "modal_rank"]
        return key[(r["qid"], r["item_id"])] == 0 and asked[where] >= 2 and deeper >= 1

    # corrected to the top grade: every level's boundary now lies below it, where nothing was asked
    row = next(r for r in first_round.to_dict(orient="records") if reopens(r))
    old, new = 0, 4
    before = snapshot(camp)
    fixed = correct_answer(camp, row["task_id"], new, who="lead", reason="misread")
    assert fixed.corrections == 1 and fixed.reopened and not fixed.done and fixed.asked
    assert fixed.round == rounds_before + 1 and fixed.tasks == len(fixed.asked)
    assert set(pool.loc[fixed.asked, "qid"]) == {row["qid"]}  # only the corrected query's lists re-open
    assert not (set(fixed.asked) & set(done_state["answers"]))  # it asks what the new answer requires
    state = json.loads((camp / "state.json").read_text())
    assert state["answers"][row["task_id"]] == new
    entry = [e for e in state["log"] if e["event"] == "correction"]
    assert entry == [entry[0]] and (entry[0]["old"], entry[0]["new"], entry[0]["who"]) == (old, new, "lead")
    assert entry[0]["reason"] == "misread"
    assert any(e["event"] == "answer" and e["task"] == row["task_id"] and e["new"] == old for e in state["log"])
    status = campaign_status(camp)
    assert status["reopened"] == [
        {"round": fixed.round, "tasks": len(fixed.asked), "lists": status["reopened"][0]["lists"]}
    ]
    assert status["corrections"][0]["task_id"] == row["task_id"] and not status["done"]
    assert snapshot(camp) != before
    # the team answers the re-opened round, and the export carries the corrected grade
    while not fixed.done:
        fixed = import_answers(camp, unlabelled, answer_worklist(fixed.batch_csv, key, tmp_path / "b.csv"))
    export_campaign(camp, unlabelled, tmp_path / "x")
    train = pd.read_parquet(tmp_path / "x" / "train.parquet")
    valid = pd.read_parquet(tmp_path / "x" / "valid.parquet")
    both = pd.concat([train, valid])
    got = both.set_index(["qid", "item_id"])["page_label"]
    assert got[(row["qid"], row["item_id"])] == new
    assert both["page_label"].notna().sum() == campaign_status(camp)["labels_used"]
    # refusals of `correct` change nothing
    frozen = snapshot(camp)
    for args, message in [
        (("t999999", 1), "not a task of this campaign"),
        ((row["task_id"], 9), "not a grade of the label scale 0..4"),
        ((row["task_id"], "good"), "not a grade"),
    ]:
        with pytest.raises(CampaignError, match=message):
            correct_answer(camp, *args)
    assert snapshot(camp) == frozen


def test_a_correction_in_a_later_export_does_not_block_it(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    report = _plan(tmp_path, unlabelled, "top")
    answers = answer_worklist(report.batch_csv, key, tmp_path / "a.csv")
    import_answers(tmp_path / "camp", unlabelled, answers)
    frame = pd.read_csv(answers, dtype=str, keep_default_na=False)
    frame.loc[2, "label"] = str((int(frame.loc[2, "label"]) + 2) % 5)
    frame.to_csv(tmp_path / "later.csv", index=False)
    later = import_answers(tmp_path / "camp", unlabelled, tmp_path / "later.csv")
    assert later.corrections == 1 and later.done and not later.reopened  # top asks the same rows whatever the grade
    assert export_campaign(tmp_path / "camp", unlabelled, tmp_path / "x")["done"]


# 4. unjudgeable tasks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["top", "band", "random"])
def test_a_skipped_task_is_replaced_by_the_next_candidate_of_its_list(tmp_path, pages, strategy):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    band = 1 if strategy == "band" else 0
    report = _plan(tmp_path, unlabelled, strategy, band=band)
    camp = tmp_path / "camp"
    frame = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
    skipped = frame["task_id"].iloc[0]
    skip = skip_task(camp, skipped, "broken link", who="ana")
    assert skip.new_skips == 1 and skip.reopened and len(skip.asked) == 1 and skip.round == 1
    pool = pd.read_parquet(camp / "pool.parquet").set_index("task_id")
    new = skip.asked[0]
    lists = ["split", "qid", "modality"]
    assert pool.loc[new, lists].tolist() == pool.loc[skipped, lists].tolist()  # same list
    if strategy == "top":
        assert (
            pool.loc[new, "modal_rank"]
            == frame[frame["task_id"].isin(pool.index[(pool[lists] == pool.loc[skipped, lists]).all(axis=1)])].shape[0]
            + 1
        )  # the next rank after the list's chosen ones
    assert skip.batch_csv.name == "round-001.pending.csv" and new in set(skip.batch["task_id"])
    assert skipped not in set(skip.batch["task_id"])
    done = import_answers(camp, unlabelled, answer_worklist(skip.batch_csv, key, tmp_path / "a.csv"))
    assert done.done
    status = campaign_status(camp)
    assert status["labels_used"] == len(frame) <= status["label_budget"]  # the list keeps its allowance
    assert status["skipped"] == [{"task_id": skipped, "who": "ana", "reason": "broken link"}]
    export_campaign(camp, unlabelled, tmp_path / "x")
    train = pd.read_parquet(tmp_path / "x" / "train.parquet")
    valid = pd.read_parquet(tmp_path / "x" / "valid.parquet")
    got = pd.concat([train, valid]).set_index(["qid", "item_id"])["page_label"]
    assert pd.isna(got[(pool.loc[skipped, "qid"], pool.loc[skipped, "item_id"])])
    assert (
        got[(pool.loc[new, "qid"], pool.loc[new, "item_id"])] == key[(pool.loc[new, "qid"], pool.loc[new, "item_id"])]
    )


def test_iso_anchor_searches_around_a_skipped_task(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    report = _plan(tmp_path, unlabelled)
    camp = tmp_path / "camp"
    frame = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
    skipped = frame["task_id"].iloc[0]
    tasks = json.loads(report.labelstudio_json.read_text())
    export = []
    for i, task in enumerate(tasks):  # Label Studio: the first task skipped, the others graded
        d = task["data"]
        if d["task_id"] == skipped:
            annotations = [{"result": [], "was_cancelled": True, "completed_by": 7}]
        else:
            value = {"choices": [str(key[(d["qid"], d["item_id"])])]}
            annotations = [{"result": [{"from_name": "label", "type": "choices", "value": value}]}]
        export.append({"id": i, "data": d, "annotations": annotations})
    (tmp_path / "ls.json").write_text(json.dumps(export))
    first = import_answers(camp, unlabelled, tmp_path / "ls.json")
    # the rest of round 1 is answered: round 2 asks the skipped task's neighbour alone
    assert first.new_skips == 1 and first.new_answers == len(tasks) - 1 and first.round == 2
    pool = pd.read_parquet(camp / "pool.parquet").set_index("task_id")
    [neighbour] = first.asked  # the same list's nearest item inside the bracket: rank +-1 of the skipped one
    lists = ["split", "qid", "modality"]
    assert pool.loc[neighbour, lists].tolist() == pool.loc[skipped, lists].tolist()
    assert abs(int(pool.loc[neighbour, "modal_rank"]) - int(pool.loc[skipped, "modal_rank"])) == 1
    assert first.tasks == 1 and first.batch_csv.name == "round-002.csv"
    report = first
    while not report.done:
        report = import_answers(camp, unlabelled, answer_worklist(report.batch_csv, key, tmp_path / "a.csv"))
    status = campaign_status(camp)
    assert status["done"] and status["labels_used"] <= status["label_budget"]
    assert status["skipped"] == [{"task_id": skipped, "who": "7", "reason": ""}]
    state = json.loads((camp / "state.json").read_text())
    assert skipped not in state["answers"]


# 5. pending files, empty and all-skipped exports ------------------------------------------------------------------


def test_a_partial_import_writes_the_open_tasks_as_their_own_files(tmp_path, pages):
    labelled, unlabelled = pages
    key = hidden_key(labelled)
    report = _plan(tmp_path, unlabelled, "top")
    camp = tmp_path / "camp"
    frame = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
    half = set(frame["task_id"].iloc[: len(frame) // 2])
    partial = import_answers(
        camp,
        unlabelled,
        fill(
            report.batch_csv,
            tmp_path / "h.csv",
            lambda r: str(key[(r["qid"], r["item_id"])]) if r["task_id"] in half else "",
        ),
    )
    pending_csv = camp / "rounds" / "round-001.pending.csv"
    pending_ls = camp / "rounds" / "round-001.pending.labelstudio.json"
    assert (partial.batch_csv, partial.labelstudio_json) == (pending_csv, pending_ls)
    open_rows = pd.read_csv(pending_csv, dtype=str, keep_default_na=False)
    assert set(open_rows["task_id"]) == set(frame["task_id"]) - half and partial.tasks == len(open_rows)
    assert {t["data"]["task_id"] for t in json.loads(pending_ls.read_text())} == set(open_rows["task_id"])
    assert (camp / "rounds" / "round-001.csv").read_bytes() == report.batch_csv.read_bytes()  # the round as asked
    done = import_answers(camp, unlabelled, answer_worklist(pending_csv, key, tmp_path / "rest.csv"))
    assert done.done and not pending_csv.exists() and not pending_ls.exists()


def test_empty_exports_are_refused_and_all_skipped_ones_say_so(tmp_path, pages):
    _, unlabelled = pages
    report = _plan(tmp_path, unlabelled, "top")
    camp = tmp_path / "camp"
    before = snapshot(camp)
    (tmp_path / "empty.json").write_text("[]")
    with pytest.raises(CampaignError, match=r"empty\.json holds no task \(an empty list\)"):
        import_answers(camp, unlabelled, tmp_path / "empty.json")
    pd.read_csv(report.batch_csv).iloc[:0].to_csv(tmp_path / "header.csv", index=False)
    with pytest.raises(CampaignError, match=r"header\.csv holds no row"):
        import_answers(camp, unlabelled, tmp_path / "header.csv")
    assert snapshot(camp) == before
    tasks = json.loads(report.labelstudio_json.read_text())[:5]
    export = [
        {"id": i, "data": t["data"], "annotations": [{"result": [], "was_cancelled": True}]}
        for i, t in enumerate(tasks)
    ]
    (tmp_path / "skipped.json").write_text(json.dumps(export))
    skipped = import_answers(camp, unlabelled, tmp_path / "skipped.json")
    assert skipped.all_skipped and skipped.new_skips == 5 and skipped.new_answers == 0
    assert len(campaign_status(camp)["skipped"]) == 5


# 6. the page in view -----------------------------------------------------------------------------------------------


def test_tasks_show_the_page_and_hide_the_single_modal_rank(tmp_path, pages):
    _, unlabelled = pages
    report = _plan(tmp_path, unlabelled, "top")
    frame = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
    pool = pd.read_parquet(tmp_path / "camp" / "pool.parquet")
    row = frame.iloc[0]
    page = pool[(pool["split"] == "train") & (pool["qid"] == row["qid"])].sort_values("row")
    lines = row["page"].splitlines()
    assert len(lines) == len(page)  # every candidate of the query, in the page's order
    assert [ln.startswith(">>") for ln in lines] == [t == row["task_id"] for t in page["task_id"]]
    assert int(row["page_position"]) == page["task_id"].tolist().index(row["task_id"]) + 1
    assert all(f"[{m}]" in ln for m, ln in zip(page["modality"], lines, strict=True))
    assert all(t in ln for t, ln in zip(page["title"], lines, strict=True))
    task = json.loads(report.labelstudio_json.read_text())[0]["data"]
    assert "#" not in task["display"] and "modal_rank" not in task
    assert task["page_html"].count("<li") == len(page) and task["page_html"].count("grade this result") == 1
    shown = _plan(tmp_path, unlabelled, "top", name="shown", show_modal_rank=True)
    again = json.loads(shown.labelstudio_json.read_text())[0]["data"]
    assert "modal_rank" in again and f"result #{again['modal_rank']}" in again["display"]
    assert "modal_rank" in pd.read_csv(shown.batch_csv).columns


# the team simulation ------------------------------------------------------------------------------------------------


def test_three_annotators_one_flipping_end_with_the_majority_labels(tmp_path, pages):
    """3 simulated annotators per task, one flipping 20% of grades by one: the labels are the true ones
    (``benchmarks/campaign_team.py`` prints the same figures)."""
    spec = importlib.util.spec_from_file_location("campaign_team", BENCHMARKS / "campaign_team.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    labelled, unlabelled = pages
    result = module.simulate_team(labelled, unlabelled, tmp_path, flip=0.2, seed=0, budget=BUDGET)
    assert result["done"] and result["flipped"] > 0 and result["ties"] == 0
    assert result["labels_equal_truth"] and result["revealed_rows_equal_simulation"]
    assert 0.5 < result["alpha"] < 1.0
    assert result["answers_given"] == 3 * result["items_labelled"]
