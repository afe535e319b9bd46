"""CliRunner tests of ``smar-ltr annotate plan | import | status | export``: JSON shapes, progress, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from campaign_helpers import answer_worklist
from typer.testing import CliRunner

from smar_ltr.cli.app import app
from smar_ltr.datasets import load_dataset
from smar_ltr.datasets.fixtures import make_fixture

runner = CliRunner()


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages") / "pages"
    make_fixture("pages", out, seed=3)
    return out


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def plan(page_dir, out, strategy="top", *extra):
    return invoke(
        "annotate", "plan", "--dataset", "pages", "--data-dir", page_dir, "--budget", "0.3", "--strategy", strategy,
        "--seed", "0", "--out", out, "--format", "json", *extra,
    )  # fmt: skip


def key_of(page_dir):
    splits = load_dataset("pages", page_dir)
    both = pd.concat([splits.train, splits.valid])
    return {(q, i): int(v) for q, i, v in zip(both["qid"], both["item_id"], both["page_label"], strict=True)}


def test_plan_import_status_export_round_trip(tmp_path, page_dir):
    camp = tmp_path / "camp"
    result = plan(page_dir, camp, "iso-anchor")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"round", "batch_csv", "labelstudio_json", "tasks", "done"} <= set(report)
    assert report["round"] == 1 and not report["done"] and report["tasks"] > 0
    header = pd.read_csv(report["batch_csv"]).columns.tolist()
    assert header[:6] == ["task_id", "campaign", "round", "qid", "item_id", "modality"]
    assert {"query", "title", "page_position", "page"} <= set(header) and header[-2:] == ["annotator", "label"]
    assert "page_label" not in header and "modal_rank" not in header  # the single-modal rank is hidden
    key, rounds = key_of(page_dir), 0
    while not report["done"]:
        answers = answer_worklist(report["batch_csv"], key, tmp_path / f"a{rounds}.csv")
        result = invoke("annotate", "import", camp, answers, "--format", "json")
        assert result.exit_code == 0, result.output
        report, rounds = json.loads(result.output), rounds + 1
    assert report["batch_csv"] is None and report["tasks"] == 0
    status = json.loads(invoke("annotate", "status", camp, "--format", "json").output)
    assert {"labels_used", "label_budget", "rounds", "done"} <= set(status)
    assert status["done"] and status["rounds"] == rounds and 0 < status["labels_used"] <= status["label_budget"]
    table = invoke("annotate", "status", camp)
    assert "labels used:" in table.output and "lists settled:" in table.output
    exported = invoke("annotate", "export", camp, "--out", tmp_path / "labelled")
    assert exported.exit_code == 0, exported.output
    train = pd.read_parquet(tmp_path / "labelled" / "train.parquet")
    assert (
        train["page_label"].notna().sum()
        + pd.read_parquet(tmp_path / "labelled" / "valid.parquet")["page_label"].notna().sum()
        == status["labels_used"]
    )
    assert "inferred_label" in train.columns
    assert (tmp_path / "labelled" / "test.parquet").is_file() and (tmp_path / "labelled" / "meta.json").is_file()


def test_table_output_prints_the_batch_and_the_next_command(tmp_path, page_dir):
    result = invoke(
        "annotate", "plan", "--dataset", "pages", "--data-dir", page_dir, "--budget", "0.2", "--strategy", "top",
        "--out", tmp_path / "camp",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "round 1:" in result.output and "round-001.csv" in result.output and "labelstudio.json" in result.output
    assert "smar-ltr annotate import" in result.output and "item_id" in result.output
    assert "modal_rank" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "nowhere"], "holds no annotation campaign"),
        (["plan", "--dataset", "pages", "--strategy", "all", "--out", "x"], "campaign strategy must be one of"),
        (["plan", "--dataset", "pages", "--label-scale", "4..0", "--out", "x"], "label scale '4..0' must be"),
        (["plan", "--dataset", "pages", "--format", "yaml", "--out", "x"], "--format must be table or json"),
    ],
)
def test_errors_are_one_line(tmp_path, page_dir, args, message):
    if "--dataset" in args:
        args = [*args, "--data-dir", str(page_dir)]
    result = invoke("annotate", *[str(tmp_path / a) if a in ("nowhere", "x") else a for a in args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output


def test_second_plan_and_bad_import_fail_with_one_line(tmp_path, page_dir):
    camp = tmp_path / "camp"
    assert plan(page_dir, camp).exit_code == 0
    again = plan(page_dir, camp)
    assert again.exit_code == 1 and "already holds an annotation campaign" in again.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"task_id": ["t000001"], "label": ["x"]}).to_csv(bad, index=False)
    result = invoke("annotate", "import", camp, bad)
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "bad.csv line 2:" in result.output


def test_plan_with_model_reuses_the_runs_single_modal_rankers(tmp_path, fitted_small, small_splits):
    from smar_ltr.rankers.single_modal import upstream_scores
    from smar_ltr.serving.run_dir import save_run

    model, _ = fitted_small
    assert model.single_modal, "the small synthetic run trains single-modal rankers"
    run = save_run(model, tmp_path / "run")
    camp = tmp_path / "camp"
    result = invoke(
        "annotate", "plan", "--dataset", "synthetic", "--set", "dataset_options.size=small", "--model", run,
        "--strategy", "top", "--budget", "0.2", "--out", camp, "--format", "json", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pool = pd.read_parquet(camp / "pool.parquet")
    train = pool[pool["split"] == "train"]
    expected = upstream_scores(small_splits.train, model.single_modal, model.modal_features)
    np.testing.assert_allclose(train["upstream_score"].to_numpy(), expected)
    assert "page_label" not in pool.columns
