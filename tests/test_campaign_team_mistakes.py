"""What an annotation team gets wrong, and what it must see: padded ids round trip, a file with no answer, another
campaign's answers, a hand-edited campaign, a plan that asks nothing, a re-export, and validation pages that only
cost labels when the fit reads them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from campaign_helpers import LABEL_SCALE, answer_worklist, hidden_key, labelled_pages, strip_labels
from typer.testing import CliRunner

from smar_ltr.campaign import campaign_status, export_campaign, import_answers, plan_campaign
from smar_ltr.cli.app import app
from smar_ltr.datasets import load_dataset
from smar_ltr.errors import CampaignError, ConfigError, PageTableError

runner = CliRunner()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    labelled = labelled_pages(tmp_path_factory.mktemp("pages") / "pages")
    return labelled, strip_labels(labelled)


def _plan(out: Path, unlabelled, strategy="top", **kw):
    return plan_campaign(out, unlabelled, strategy=strategy, budget=0.3, seed=1, label_scale=LABEL_SCALE, **kw)


def test_item_ids_with_spaces_round_trip(tmp_path, pages) -> None:
    labelled, unlabelled = pages
    ids = unlabelled.train["item_id"].astype(str)
    padded_ids = [f"{v} " if k % 2 else f"  {v}" for k, v in enumerate(ids)]  # as a spreadsheet export may pad
    padded = dataclasses.replace(unlabelled, train=unlabelled.train.assign(item_id=padded_ids))
    report = _plan(tmp_path / "c", padded)
    key = {(q, i.strip()): v for (q, i), v in hidden_key(labelled).items()}
    work = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
    assert work["item_id"].str.startswith(" ").any() and work["item_id"].str.endswith(" ").any()
    work["label"] = [str(key[(q, i.strip())]) for q, i in zip(work["qid"], work["item_id"], strict=True)]
    work.to_csv(tmp_path / "a.csv", index=False)  # the campaign's own file, only its label column filled
    assert import_answers(tmp_path / "c", padded, tmp_path / "a.csv").new_answers == len(work)


def test_a_file_without_any_answer_is_refused(tmp_path, pages) -> None:
    labelled, unlabelled = pages
    report = _plan(tmp_path / "c", unlabelled)
    with pytest.raises(CampaignError, match="holds no answer: its 'label' column is empty"):
        import_answers(tmp_path / "c", unlabelled, report.batch_csv)  # the worklist as written, unfilled
    with pytest.raises(CampaignError, match="no task has an annotation"):
        import_answers(tmp_path / "c", unlabelled, report.labelstudio_json)  # the import file, not an export
    tasks = json.loads(report.labelstudio_json.read_text())
    key = hidden_key(labelled)
    for task in tasks:
        grade = key[(task["data"]["qid"], task["data"]["item_id"])]
        value = {"choices": [str(grade)]}
        task["annotations"] = [{"result": [{"from_name": "relevance", "type": "choices", "value": value}]}]
    (tmp_path / "renamed.json").write_text(json.dumps(tasks))
    with pytest.raises(CampaignError, match="control\\(s\\) 'relevance', not 'label'"):
        import_answers(tmp_path / "c", unlabelled, tmp_path / "renamed.json")
    minimal = [{**t["data"], "rating": 3} for t in tasks]
    (tmp_path / "min.json").write_text(json.dumps(minimal))
    with pytest.raises(CampaignError, match="no record has a 'label' value"):
        import_answers(tmp_path / "c", unlabelled, tmp_path / "min.json")
    with pytest.raises(CampaignError, match="is a directory"):
        import_answers(tmp_path / "c", unlabelled, tmp_path)
    assert campaign_status(tmp_path / "c")["labels_used"] == 0


def test_answers_of_another_campaign_are_refused(tmp_path, pages) -> None:
    labelled, unlabelled = pages
    ours = _plan(tmp_path / "ours", unlabelled)
    other = plan_campaign(tmp_path / "other", unlabelled, strategy="top", budget=0.3, seed=1, label_scale=(0, 1))
    key = {k: min(v, 1) for k, v in hidden_key(labelled).items()}
    answers = answer_worklist(other.batch_csv, key, tmp_path / "binary.csv")
    with pytest.raises(CampaignError, match=r"is a task of campaign c[0-9a-f]{12}, not of this one"):
        import_answers(tmp_path / "ours", unlabelled, answers)
    assert pd.read_csv(ours.batch_csv)["campaign"].nunique() == 1
    again = _plan(tmp_path / "again", unlabelled)  # the same plan: the same worklist, byte for byte
    assert again.batch_csv.read_bytes() == ours.batch_csv.read_bytes()


def _edit(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        ("campaign.json", lambda d: d.pop("source"), "lacks 'source'"),
        ("campaign.json", lambda d: d.update(label_scale=[0]), "label_scale"),
        ("campaign.json", lambda d: d.update(budget="lots"), "'budget' = 'lots'"),
        ("campaign.json", lambda d: d.update(allowance={"train": -1}), "allowance"),
        ("state.json", lambda d: d["answers"].update({next(iter(d["answers"])): 99}), "outside the label scale"),
        ("state.json", lambda d: d["answers"].update({next(iter(d["answers"])): 2.7}), "not a campaign state"),
        ("state.json", lambda d: d.update(done="false"), "not a campaign state"),
        ("state.json", lambda d: d["answers"].update({"t999999": 1}), "no round asked"),
    ],
)
def test_a_hand_edited_campaign_is_one_clear_error(tmp_path, pages, file, edit, message) -> None:
    labelled, unlabelled = pages
    report = _plan(tmp_path / "c", unlabelled)
    half = pd.read_csv(answer_worklist(report.batch_csv, hidden_key(labelled), tmp_path / "a.csv"), dtype=str)
    half.iloc[: len(half) // 2].to_csv(tmp_path / "half.csv", index=False)
    import_answers(tmp_path / "c", unlabelled, tmp_path / "half.csv")
    _edit(tmp_path / "c" / file, edit)
    with pytest.raises(CampaignError, match=message):
        campaign_status(tmp_path / "c")
    with pytest.raises(CampaignError, match=message):
        export_campaign(tmp_path / "c", unlabelled, tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_plans_that_cannot_work_are_refused(tmp_path, pages) -> None:
    _, unlabelled = pages
    with pytest.raises(ConfigError, match="asks for no label"):
        plan_campaign(tmp_path / "b", unlabelled, strategy="band", budget=0.3, band=99, label_scale=LABEL_SCALE)
    with pytest.raises(ConfigError, match="LOW < HIGH"):
        plan_campaign(tmp_path / "s", unlabelled, strategy="top", budget=0.3, label_scale=(4, 0))
    assert not (tmp_path / "b").exists() and not (tmp_path / "s").exists()


def test_exporting_again_replaces_the_earlier_export_only(tmp_path, pages) -> None:
    labelled, unlabelled = pages
    report = _plan(tmp_path / "c", unlabelled)
    export_campaign(tmp_path / "c", unlabelled, tmp_path / "x")
    import_answers(
        tmp_path / "c", unlabelled, answer_worklist(report.batch_csv, hidden_key(labelled), tmp_path / "a.csv")
    )
    export_campaign(tmp_path / "c", unlabelled, tmp_path / "x")  # after the next round, into the same folder
    labels = sum(
        pd.read_parquet(tmp_path / "x" / f"{s}.parquet")["page_label"].notna().sum() for s in ("train", "valid")
    )
    assert labels == report.tasks
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(CampaignError, match=r"also holds 'notes\.txt'"):
        export_campaign(tmp_path / "c", unlabelled, tmp_path / "x")
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"


def _cli(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def test_validation_pages_are_labelled_only_when_the_fit_reads_them(tmp_path, pages) -> None:
    _, unlabelled = pages
    page_dir = tmp_path / "pages"
    labelled_pages(page_dir)  # the same pages, as files for the command line
    common = ("annotate", "plan", "--dataset", "pages", "--data-dir", page_dir, "--strategy", "top", "--budget", "0.3")
    default = _cli(*common, "--out", tmp_path / "d", "--format", "json")
    assert default.exit_code == 0, default.output
    on_labels = _cli(*common, "--set", "consistency.early_stopping=labels", "--out", tmp_path / "l", "--format", "json")
    assert on_labels.exit_code == 0, on_labels.output
    splits = {name: json.loads((tmp_path / name / "campaign.json").read_text())["splits"] for name in ("d", "l")}
    assert splits == {"d": ["train"], "l": ["train", "valid"]}
    assert json.loads(default.output)["label_budget"] < json.loads(on_labels.output)["label_budget"]
    # the export of a train-only campaign still carries the validation pages (early stopping needs them), unlabelled
    exported = export_campaign(tmp_path / "d", unlabelled, tmp_path / "dx")
    valid = pd.read_parquet(tmp_path / "dx" / "valid.parquet")
    assert (
        len(valid) == len(unlabelled.valid) and valid["page_label"].isna().all() and "valid" not in exported["labels"]
    )
    full = _cli(*common, "--validation", "full", "--set", "consistency.early_stopping=labels", "--out", tmp_path / "f")
    assert full.exit_code == 1 and "not at all (none)" in full.output
    bogus = _cli(*common[:-4], "--strategy", "bogus", "--out", tmp_path / "g")
    assert bogus.exit_code == 1 and "top, band, random, iso-anchor" in bogus.output
    no_dataset = _cli("annotate", "plan", "--data-dir", page_dir, "--out", tmp_path / "n")
    assert no_dataset.exit_code == 1 and "is generated and reads no files" in no_dataset.output


def test_an_unread_validation_flag_gets_a_note(tmp_path) -> None:
    result = _cli("fit", "--set", "dataset_options.size=small", "--validation", "full", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert "note: --validation full is not read" in result.output
    assert "0 validation" in result.output


def test_small_format_slips_get_a_hint(tmp_path, pages) -> None:
    labelled, unlabelled = pages
    report = _plan(tmp_path / "c", unlabelled)
    filled = pd.read_csv(answer_worklist(report.batch_csv, hidden_key(labelled), tmp_path / "a.csv"), dtype=str)
    filled.to_csv(tmp_path / "semi.csv", index=False, sep=";")  # a spreadsheet set to semicolons
    with pytest.raises(CampaignError, match="save it with commas as separators"):
        import_answers(tmp_path / "c", unlabelled, tmp_path / "semi.csv")
    tasks = json.loads(report.labelstudio_json.read_text())
    minimal = [
        {**t["data"], "label": str(hidden_key(labelled)[(t["data"]["qid"], t["data"]["item_id"])])} for t in tasks
    ]
    (tmp_path / "bom.json").write_text(json.dumps(minimal), encoding="utf-8-sig")
    assert import_answers(tmp_path / "c", unlabelled, tmp_path / "bom.json").new_answers == len(tasks)


def test_pages_without_a_page_label_column_are_told_to_add_an_empty_one(tmp_path) -> None:
    labelled_pages(tmp_path / "p")
    train = pd.read_parquet(tmp_path / "p" / "train.parquet").drop(columns="page_label")
    train.to_parquet(tmp_path / "p" / "train.parquet", index=False)
    with pytest.raises(PageTableError, match=r"missing column 'page_label'.*every value empty/null"):
        load_dataset("pages", tmp_path / "p")


def test_stopping_on_labels_the_campaign_did_not_collect_is_said(tmp_path, pages) -> None:
    from conftest import fast_config

    from smar_ltr.errors import SettingNote
    from smar_ltr.pipeline import fit

    labelled, unlabelled = pages
    report = _plan(tmp_path / "c", unlabelled, label_validation=False)
    import_answers(
        tmp_path / "c", unlabelled, answer_worklist(report.batch_csv, hidden_key(labelled), tmp_path / "a.csv")
    )
    export_campaign(tmp_path / "c", unlabelled, tmp_path / "x")
    exported = load_dataset("pages", tmp_path / "x")
    on_labels = fast_config(budget={"strategy": "given"}, consistency={"early_stopping": "labels"})
    with pytest.warns(SettingNote, match="validation pages carry none: the reranker trains without early stopping"):
        _, state = fit(on_labels, exported)
    assert state.cost.validation == 0
