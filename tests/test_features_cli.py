"""``smar-ltr features list | show | extract`` through Typer's CliRunner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from smar_ltr.cli.app import app
from smar_ltr.features import FEATURES

runner = CliRunner()

PLUGIN = """
import pandas as pd
from smar_ltr.features import Feature, register_feature


@register_feature("local.title_words.v1")
class TitleWords(Feature):
    '''Number of words in the title.'''

    inputs = ("title",)
    outputs = ("title_words",)

    def transform(self, frame):
        words = frame["title"].astype("str").str.split().str.len()
        return pd.DataFrame({"title_words": words.astype("float64")}, index=frame.index)
"""


@pytest.fixture
def plugin_file(tmp_path):
    path = tmp_path / "title_words.py"
    path.write_text(PLUGIN)
    yield path
    FEATURES.unregister("local.title_words.v1")


def test_list_json_has_every_builtin_with_its_metadata():
    result = runner.invoke(app, ["features", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) >= 20
    row = next(r for r in rows if r["name"] == "smar.text.query_title_bm25.v1")
    assert row["scope"] == "item" and row["inputs"] == ["query", "title"] and row["modalities"] is None
    assert row["description"].startswith("BM25") and row["outputs"] == ["q_title_bm25"]
    assert {r["scope"] for r in rows} == {"item", "query", "page"}


def test_list_table():
    result = runner.invoke(app, ["features", "list"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "scope", "inputs", "modalities", "description"]
    assert any(line.startswith("smar.align.zscore.v1 ") for line in lines)


def test_show_prints_doc_parameters_and_location():
    result = runner.invoke(app, ["features", "show", "smar.text.query_body_bm25.v1"])
    assert result.exit_code == 0, result.output
    assert "k1=1.2, b=0.75" in result.stdout and "features/text_features.py" in result.stdout
    data = json.loads(runner.invoke(app, ["features", "show", "smar.align.page_rank.v1", "-f", "json"]).stdout)
    assert data["parameters"] == [{"name": "norm", "default": "zscore"}] and data["requires_upstream"]
    assert data["file"].endswith("alignment_features.py") and data["line"] > 0


def test_unknown_feature_is_one_line_error_with_suggestion():
    result = runner.invoke(app, ["features", "show", "smar.text.query_titel_bm25.v1"])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "did you mean 'smar.text.query_title_bm25.v1'" in result.stderr


def test_plugins_file_is_listed_and_usable_in_extract(plugin_file, tmp_path):
    listed = runner.invoke(app, ["features", "list", "-f", "json", "--plugins", str(plugin_file)])
    assert listed.exit_code == 0, listed.output
    assert "local.title_words.v1" in [r["name"] for r in json.loads(listed.stdout)]
    out = tmp_path / "local.parquet"
    args = [
        "features",
        "extract",
        "-d",
        "synthetic",
        "-o",
        "size=small",
        "--features",
        "local.*",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)  # already registered in this process; --plugins again would clash
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert list(table.columns) == ["qid", "item_id", "modality", "title_words"]
    assert table.loc[table["modality"] == "web", "title_words"].gt(0).all()  # synthetic titles: web only


def test_extract_synthetic_writes_parquet_atomically(tmp_path, small_splits):
    out = tmp_path / "sub" / "features.parquet"
    saved = tmp_path / "set.json"
    args = ["features", "extract", "--dataset", "synthetic", "-o", "size=small", "--split", "test"]
    result = runner.invoke(app, [*args, "--out", str(out), "--save-set", str(saved)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert len(table) == len(small_splits.test)
    assert table["qid"].tolist() == small_splits.test["qid"].tolist()
    assert {"q_title_bm25", "modality_is_web", "ctr_smoothed", "query_terms"} <= set(table.columns)
    assert sorted(p.name for p in out.parent.iterdir()) == ["features.parquet"]  # no temporary file left
    assert json.loads(saved.read_text())["format"] == "smar_ltr.featureset/1"
    assert "wrote" in result.stdout and str(len(table)) in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--split", "holdout", "--out", "x.parquet"], "split 'holdout'"),
        (["--out", "x.csv"], "must end in .parquet"),
        (["--features", "nope.*", "--out", "x.parquet"], "matches no registered feature"),
        (["--out", "x.parquet", "-o", "size=huge"], "size='huge'"),
    ],
)
def test_extract_errors_are_one_line(tmp_path, extra, message):
    extra = [str(tmp_path / a) if a.endswith((".parquet", ".csv")) else a for a in extra]
    result = runner.invoke(app, ["features", "extract", "-d", "synthetic", "-o", "size=small", *extra])
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.startswith("error: ")


def test_bad_format_and_missing_plugin_file(tmp_path):
    result = runner.invoke(app, ["features", "list", "--format", "yaml"])
    assert result.exit_code == 1 and "--format must be table or json" in result.stderr
    result = runner.invoke(app, ["features", "list", "--plugins", str(tmp_path / "nope.py")])
    assert result.exit_code == 1 and "does not exist" in result.stderr
