"""CliRunner tests of ``smar-ltr datasets list | info | fetch | make-fixture``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from typer.testing import CliRunner

from smar_ltr.cli.app import app
from smar_ltr.datasets.baidu import EXPECTED_FILES

runner = CliRunner()


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_list_table_and_json(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SMAR_LTR_DATA", str(tmp_path))
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    for name in ("baidu", "baidu-ultr", "pages", "qilin"):
        assert name in result.output
    result = runner.invoke(app, ["datasets", "list", "--format", "json"])
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["baidu"]["present"] is False and "CC BY-NC" in rows["baidu"]["licence"]
    assert rows["qilin"]["location"] == str(tmp_path / "qilin")
    runner.invoke(app, ["datasets", "make-fixture", "baidu", "--out", str(tmp_path / "baidu")])
    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["datasets", "list", "-f", "json"]).output)}
    assert rows["baidu"]["present"] is True  # found in $SMAR_LTR_DATA/baidu


@pytest.mark.parametrize("name", ["baidu", "qilin", "baidu-ultr", "pages"])
def test_make_fixture_then_info(name, tmp_path) -> None:
    out = tmp_path / name
    result = runner.invoke(app, ["datasets", "make-fixture", name, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"to {out}" in result.output
    result = runner.invoke(app, ["datasets", "info", name, "--data-dir", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["name"] == name
    for role in ("train", "test"):
        split = summary["splits"][role]
        assert split["queries"] > 0 and sum(split["modalities"].values()) == split["candidates"]
        assert sum(split["labels"].values()) == split["candidates"]
    table = runner.invoke(app, ["datasets", "info", name, "--data-dir", str(out)])
    assert table.exit_code == 0 and "queries" in table.output and "single_modal" in table.output


def test_make_fixture_processed_layout_and_bad_layout(tmp_path) -> None:
    result = runner.invoke(
        app, ["datasets", "make-fixture", "baidu-ultr", "--out", str(tmp_path / "p"), "--layout", "processed"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "clicks" / "train" / "0000.parquet").exists()
    line = _one_line_error(
        runner.invoke(app, ["datasets", "make-fixture", "qilin", "--out", str(tmp_path / "q"), "--layout", "raw"])
    )
    assert "--layout applies to baidu-ultr only" in line and not (tmp_path / "q").exists()
    line = _one_line_error(runner.invoke(app, ["datasets", "make-fixture", "nope", "--out", str(tmp_path / "n")]))
    assert "no fixture writer for 'nope'" in line


def test_info_with_options(tmp_path) -> None:
    runner.invoke(app, ["datasets", "make-fixture", "baidu", "--out", str(tmp_path / "b")])
    result = runner.invoke(
        app,
        [
            "datasets",
            "info",
            "baidu",
            "--data-dir",
            str(tmp_path / "b"),
            "-f",
            "json",
            "-o",
            "valid_fraction=0",
        ],
    )
    assert json.loads(result.output)["splits"]["valid"]["queries"] == 0
    line = _one_line_error(
        runner.invoke(app, ["datasets", "info", "baidu", "--data-dir", str(tmp_path / "b"), "-o", "x"])
    )
    assert "is not KEY=VALUE" in line


def test_info_missing_baidu_files_exit_1_one_line(tmp_path) -> None:
    line = _one_line_error(runner.invoke(app, ["datasets", "info", "baidu", "--data-dir", str(tmp_path / "none")]))
    for needle in (*EXPECTED_FILES, "zzs97str/SMAR", "CrossRank/", "--data-dir", "$SMAR_LTR_DATA/baidu"):
        assert needle in line
    assert not (tmp_path / "none").exists()


def test_info_unknown_dataset_and_bad_format(tmp_path) -> None:
    line = _one_line_error(runner.invoke(app, ["datasets", "info", "qilim"]))
    assert "unknown dataset 'qilim'" in line and "qilin" in line
    line = _one_line_error(runner.invoke(app, ["datasets", "list", "--format", "xml"]))
    assert "--format must be table or json" in line


def test_fetch_errors_are_one_line(tmp_path, monkeypatch) -> None:
    line = _one_line_error(runner.invoke(app, ["datasets", "fetch", "baidu", "--dest", str(tmp_path / "b")]))
    assert "--accept-licence" in line

    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    line = _one_line_error(runner.invoke(app, ["datasets", "fetch", "qilin", "--dest", str(tmp_path / "q"), "-q"]))
    assert "could not reach" in line and "download manually from" in line
    line = _one_line_error(
        runner.invoke(app, ["datasets", "fetch", "baidu", "--dest", str(tmp_path / "b"), "--accept-licence", "-q"])
    )
    assert "could not reach https://github.com/zzs97str/SMAR/raw/main/CrossRank/Multimodal_Train.parquet" in line
    assert not any((tmp_path / "b").glob("*.parquet"))


def test_fetch_downloads_with_a_local_plan(tmp_path, monkeypatch) -> None:
    from smar_ltr.datasets.fetch import FETCH_PLANS, FetchPlan, RemoteFile

    (tmp_path / "src.csv").write_text("qid,pid\n0,1\n")
    plan = FetchPlan(page="local", files=lambda: [RemoteFile((tmp_path / "src.csv").as_uri(), "qrels/a.csv")])
    monkeypatch.setitem(FETCH_PLANS, "qilin", plan)
    result = runner.invoke(app, ["datasets", "fetch", "qilin", "--dest", str(tmp_path / "d"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"1 files ready in {tmp_path / 'd'}" in result.output
    assert (tmp_path / "d" / "qrels" / "a.csv").read_text() == "qid,pid\n0,1\n"
