"""`eval` / `fit` on every dataset layout through the CLI: fixtures with the real schemas, the real Yahoo sample,
the three backends, and a local feature plugin file."""

from __future__ import annotations

import json

import pytest
from conftest import FAST_GBDT, TEST_DATA
from typer.testing import CliRunner

from smar_ltr.cli.app import app
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.features import FEATURES

runner = CliRunner()
FAST_SET = [f"--set=reranker.{k}={v}" for k, v in FAST_GBDT.items()] + [
    f"--set=single_modal.{k}={v}" for k, v in FAST_GBDT.items()
]


def _eval_json(args: list[str]) -> dict:
    result = runner.invoke(app, ["eval", *args, "--format", "json", "--quiet", *FAST_SET])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("name", "options"),
    [("baidu", {}), ("qilin", {}), ("baidu-ultr", {}), ("baidu-ultr", {"layout": "processed"}), ("pages", {})],
)
def test_eval_on_fixture(tmp_path, name: str, options: dict) -> None:
    make_fixture(name, tmp_path / "data", **options)
    data = _eval_json(["--dataset", name, "--data-dir", str(tmp_path / "data")])
    assert data["dataset"] == name and data["n_queries"] > 0
    assert data["results"][0]["method"] == "smar"
    if name == "baidu":  # the authors' metric set is reported next to graded NDCG
        assert {"mrr@1", "mrr@2", "map@2", "recall@2", "precision@1", "bndcg", "ndcg@10"} <= set(
            data["results"][0]["metrics"]
        )


def test_eval_baidu_without_files_names_what_to_do(tmp_path) -> None:
    result = runner.invoke(app, ["eval", "--dataset", "baidu", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert err.count("\n") == 0 and "Multimodal_Train.parquet" in err and "--data-dir" in err


def test_eval_letor_on_the_real_yahoo_sample() -> None:
    data = _eval_json(["--dataset", "letor", "--data-dir", str(TEST_DATA / "lightgbm_yahoo_sample")])
    assert data["n_queries"] == 50  # rank.test is the test split
    full = next(r for r in data["results"] if r["method"] == "full_supervision")
    assert full["metrics"]["ndcg@10"] > 0.65


@pytest.mark.parametrize("backend", ["xgboost", "catboost"])
def test_fit_then_eval_with_each_backend(tmp_path, backend: str) -> None:
    out = tmp_path / "run"
    fit = runner.invoke(
        app, ["fit", "--backend", backend, "--out", str(out), "-q", "--set=dataset_options.size=small", *FAST_SET]
    )
    assert fit.exit_code == 0, fit.output
    assert (out / f"reranker{'.json' if backend == 'xgboost' else '.cbm'}").exists()
    # CatBoost's PairLogit has no margin: an unset gamma becomes 0 there, said once and recorded with the run
    margin = json.loads((out / "config.json").read_text())["consistency"]
    notes = [line for line in fit.stderr.splitlines() if line.startswith("note:")]
    if backend == "catboost":
        assert (margin["gamma"], margin["kappa"]) == (0.0, 1.0)
        assert len(notes) == 1 and "consistency.gamma=0, consistency.kappa=1" in notes[0], fit.stderr
    else:
        assert (margin["gamma"], margin["kappa"]) == (0.5, 1.0) and not notes
    result = runner.invoke(app, ["eval", "--model", str(out), "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {r["method"] for r in data["results"]} >= {"smar", "full_supervision"}


def test_fit_with_catboost_refuses_an_explicit_margin_in_one_line(tmp_path) -> None:
    out = tmp_path / "run"
    args = ["fit", "--backend", "catboost", "--set=consistency.gamma=0.5", "--out", str(out), "-q"]
    fit = runner.invoke(app, [*args, "--set=dataset_options.size=small", *FAST_SET])
    assert fit.exit_code == 1
    assert fit.stderr.count("\n") == 1 and fit.stderr.startswith("error: the CatBoost backend learns constraint")
    assert "(gamma=0.5, kappa=1.0 given)" in fit.stderr and "note:" not in fit.stderr
    assert not out.exists()


def test_plugins_file_is_usable_in_fit(tmp_path, request) -> None:
    plugin = tmp_path / "my_feature.py"
    plugin.write_text(
        "import numpy as np, pandas as pd\n"
        "from smar_ltr.features import Feature, register_feature\n\n"
        "@register_feature('localtest.query_chars.v1')\n"
        "class QueryChars(Feature):\n"
        '    """Characters in the query."""\n'
        "    inputs = ('query',)\n"
        "    outputs = ('localtest_query_chars',)\n\n"
        "    def transform(self, frame):\n"
        "        n = frame['query'].astype('str').str.len().to_numpy(dtype=float)\n"
        "        return pd.DataFrame({'localtest_query_chars': n}, index=frame.index)\n"
    )
    out = tmp_path / "run"
    # The plugin registers into the process-wide registry; remove it so later tests in this worker see the
    # built-ins only.
    request.addfinalizer(lambda: FEATURES.unregister("localtest.query_chars.v1"))
    result = runner.invoke(
        app,
        [
            "fit",
            "--plugins",
            str(plugin),
            "--out",
            str(out),
            "-q",
            "--set=dataset_options.size=small",
            '--set=features=["localtest.*","smar.modality.*"]',
            *FAST_SET,
        ],
    )
    assert result.exit_code == 0, result.output
    features = json.loads((out / "features.json").read_text())
    assert "localtest_query_chars" in features["reranker_inputs"]


def test_baidu_top_label_rule_changes_only_binary_metrics(tmp_path) -> None:
    make_fixture("baidu", tmp_path / "data")
    base = ["--dataset", "baidu", "--data-dir", str(tmp_path / "data")]
    positive = _eval_json(base)["results"][0]["metrics"]
    top = _eval_json([*base, "--set=dataset_options.relevance=top"])["results"][0]["metrics"]
    assert positive["ndcg@10"] == pytest.approx(top["ndcg@10"])  # graded metric: same labels, same model
    assert any(positive[m] != pytest.approx(top[m]) for m in ("mrr@2", "map@2", "precision@2", "recall@2", "bndcg"))


def test_baidu_single_modal_rankers_can_be_trained_on_its_pool(tmp_path) -> None:
    from smar_ltr.config import load_config
    from smar_ltr.datasets import load_dataset
    from smar_ltr.pipeline import fit

    make_fixture("baidu", tmp_path / "data")
    splits = load_dataset("baidu", tmp_path / "data")
    fast = {"n_estimators": 10, "early_stopping_rounds": 0}
    shipped, _ = fit(load_config(None, None, dataset="baidu", reranker=fast), splits)
    trained, _ = fit(
        load_config(
            None,
            None,
            dataset="baidu",
            reranker=fast,
            single_modal=fast,
            single_modal_source="trained",
        ),
        splits,
    )
    assert shipped.single_modal == {} and set(trained.single_modal) == {"modal0", "modal1"}
    with pytest.raises(Exception, match="single_modal_source 'ghost' is unknown"):
        load_config(None, None, single_modal_source="ghost")


def test_eval_json_is_valid_when_a_metric_is_undefined() -> None:
    """The real Qilin toy rows: no modality list has two scored items, so modal_agreement is undefined."""
    result = runner.invoke(
        app,
        [
            "eval",
            "--dataset",
            "qilin",
            "--data-dir",
            str(TEST_DATA / "qilin_toy"),
            "--set=dataset_options.unjoined=keep",
            "--format",
            "json",
            "--quiet",
            *FAST_SET,
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # strict JSON: no NaN literal
    assert "NaN" not in result.stdout
    assert all(set(r["metrics"]) >= {"ndcg@10", "modal_agreement"} for r in data["results"])


def test_eval_model_uses_the_data_dir_given_now(tmp_path) -> None:
    import shutil

    data = tmp_path / "yahoo"
    shutil.copytree(TEST_DATA / "lightgbm_yahoo_sample", data)
    out = tmp_path / "run"
    fit = runner.invoke(app, ["fit", "--dataset", "letor", "--data-dir", str(data), "--out", str(out), "-q", *FAST_SET])
    assert fit.exit_code == 0, fit.output
    moved = tmp_path / "moved"
    data.rename(moved)
    result = runner.invoke(app, ["eval", "--model", str(out), "--data-dir", str(moved), "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    gone = runner.invoke(app, ["eval", "--model", str(out), "--data-dir", str(tmp_path / "nowhere"), "-q"])
    assert gone.exit_code == 1 and "nowhere" in gone.stderr
