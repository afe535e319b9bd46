"""CliRunner tests of fit / eval / rerank / tune: outputs, JSON shape, one-line errors with exit code 1."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import FAST_GBDT
from typer.testing import CliRunner

from smar_ltr.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def fast_cfg(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "fast.json"
    path.write_text(
        json.dumps({"dataset_options": {"size": "small"}, "single_modal": FAST_GBDT, "reranker": FAST_GBDT})
    )
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, fast_cfg):
    out = tmp_path_factory.mktemp("runs") / "run"
    result = runner.invoke(app, ["fit", "--config", str(fast_cfg), "--budget", "0.2", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"run written to {out}" in result.output
    return out


def test_fit_writes_a_run(run_dir) -> None:
    for name in (
        "config.json",
        "manifest.json",
        "revealed.parquet",
        "reranker.txt",
        "features.json",
        "metrics.json",
    ):
        assert (run_dir / name).exists(), name
    assert json.loads((run_dir / "config.json").read_text())["budget"]["budget"] == 0.2


def test_eval_json_has_the_documented_shape(run_dir) -> None:
    result = runner.invoke(app, ["eval", "--model", str(run_dir), "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"dataset", "split", "n_queries", "budget", "strategy", "seed", "results"}
    methods = [r["method"] for r in data["results"]]
    assert methods == [
        "smar",
        "full_supervision",
        "budget_only",
        "full_supervision_up",
        "budget_only_up",
        "single_modal",
        "fusion_minmax",
        "fusion_zscore",
        "interleave",
    ]
    for r in data["results"]:
        assert set(r) == {"method", "labels_used", "label_fraction", "train_labels", "validation_labels", "metrics"}
        assert {"ndcg@1", "ndcg@5", "ndcg@10", "mrr@1", "mrr@10", "map@10", "modal_agreement"} <= set(r["metrics"])
    assert data["budget"] == 0.2


def test_eval_markdown_and_table(run_dir) -> None:
    md = runner.invoke(app, ["eval", "--model", str(run_dir), "--format", "markdown", "--quiet"])
    assert md.exit_code == 0 and "| smar |" in md.stdout
    table = runner.invoke(app, ["eval", "--model", str(run_dir), "--quiet", "--split", "valid"])
    assert table.exit_code == 0 and "simulated" in table.stdout and "split=valid" in table.stdout


def test_rerank_round_trip(tmp_path, run_dir, small_splits) -> None:
    pages = tmp_path / "pages.parquet"
    small_splits.test.drop(columns=["page_label"]).to_parquet(pages)
    out = tmp_path / "ranked.parquet"
    result = runner.invoke(app, ["rerank", "--model", str(run_dir), "--input", str(pages), "--output", str(out)])
    assert result.exit_code == 0, result.output
    ranked = pd.read_parquet(out)
    assert {"score", "rank"} <= set(ranked.columns) and len(ranked) == len(small_splits.test)
    from smar_ltr.serving.ranking import rerank
    from smar_ltr.serving.run_dir import load_run

    in_memory = rerank(load_run(run_dir), small_splits.test)
    assert (ranked["score"].to_numpy() == in_memory["score"].to_numpy()).all()


def test_rerank_keeps_csv_ids_as_strings(tmp_path, run_dir, small_splits) -> None:
    test = small_splits.test.drop(columns=["page_label"])
    codes = {q: f"{i:03d}" for i, q in enumerate(test["qid"].unique())}  # "000", "001", ...: leading zeros
    test = test.assign(qid=test["qid"].map(codes), item_id="0" + test["item_id"].astype(str))
    pages, out = tmp_path / "pages.csv", tmp_path / "ranked.csv"
    test.to_csv(pages, index=False)
    result = runner.invoke(app, ["rerank", "--model", str(run_dir), "--input", str(pages), "--output", str(out)])
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(out, dtype={"qid": str, "item_id": str})
    assert ranked["qid"].tolist() == test["qid"].tolist() and ranked["qid"].iloc[0] == "000"
    assert ranked["item_id"].tolist() == test["item_id"].tolist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["fit", "--set", "reranker.learnin_rate=0.1"], "did you mean reranker.learning_rate"),
        (["fit", "--strategy", "best"], "budget.strategy 'best' is unknown"),
        (["fit", "--budget", "1.5"], "budget.budget must be in (0, 1]"),
        (["fit", "--backend", "sklearn"], "backend 'sklearn' is unknown"),
        (["eval", "--model", "/nonexistent/run"], "does not exist"),
        (["eval", "--format", "yaml"], "--format must be"),
        (
            ["rerank", "--model", "/nonexistent/run", "--input", "x.parquet", "--output", "y.parquet"],
            "does not exist",
        ),
        (["tune", "--storage", "notaurl://x", "--trials", "1"], "cannot open Optuna storage"),
    ],
)
def test_errors_are_one_line_and_exit_1(tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)  # default output paths (runs/...) must land here, never in the repository
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_rerank_rejects_a_bad_table_without_writing(tmp_path, run_dir, small_splits) -> None:
    pages = tmp_path / "pages.parquet"
    small_splits.test.drop(columns=["qid"]).to_parquet(pages)
    out = tmp_path / "ranked.parquet"
    result = runner.invoke(app, ["rerank", "--model", str(run_dir), "--input", str(pages), "--output", str(out)])
    assert result.exit_code == 1 and "missing column 'qid'" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".ranked*"))


def test_tune_cli_json(tmp_path, fast_cfg) -> None:
    result = runner.invoke(
        app,
        [
            "tune",
            "--config",
            str(fast_cfg),
            "--trials",
            "2",
            "--out",
            str(tmp_path / "tune"),  # the run below is fitted beside the study, never inside it
            "--format",
            "json",
            "--set",
            "reranker.n_estimators=15",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"pareto", "recommended", "n_trials", "storage", "study_name"}
    assert set(data["recommended"]) == {"label_fraction", "metric", "params", "config_path"}
    fit = runner.invoke(
        app, ["fit", "--config", data["recommended"]["config_path"], "--out", str(tmp_path / "r"), "-q"]
    )
    assert fit.exit_code == 0, fit.output
