"""Slips a user makes on the command line that must not cost data or quietly change a result: the output named as
the input, and a declared label scale below the labels (allowed for a coarser search, but said)."""

from __future__ import annotations

import pytest
from conftest import fast_config
from typer.testing import CliRunner

from smar_ltr.cli.app import app
from smar_ltr.errors import SettingNote
from smar_ltr.pipeline import fit


def test_rerank_refuses_to_overwrite_its_input(tmp_path, small_splits) -> None:
    pages = tmp_path / "pages.parquet"
    small_splits.test.to_parquet(pages)
    before = pages.read_bytes()
    result = CliRunner().invoke(app, ["rerank", "-m", str(tmp_path / "run"), "-i", str(pages), "-o", str(pages)])
    assert result.exit_code == 1 and "--output is the --input file" in result.output
    assert pages.read_bytes() == before


def test_a_label_scale_below_the_labels_is_said(small_splits) -> None:
    top = int(small_splits.train["page_label"].max())
    with pytest.warns(SettingNote, match=f"labels reach grade {top} but the declared label scale tops at"):
        fit(fast_config(budget={"strategy": "iso-anchor", "max_label": top - 1}), small_splits)


def test_a_config_file_of_another_format_is_named(tmp_path) -> None:
    from smar_ltr.config import load_config
    from smar_ltr.errors import ConfigError

    (tmp_path / "run.yaml").write_text("seed: 3\n")
    with pytest.raises(ConfigError, match=r"must be \.json or \.toml, got '\.yaml'"):
        load_config(tmp_path / "run.yaml")
