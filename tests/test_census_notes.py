"""Census, notes: a setting the data silently overrides is said (issue 27, item 5): an explicit ``--budget`` that
strategy ``auto`` does not simulate, a selected feature whose input columns the pages lack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from census import invoke


def _one_label_missing(tmp_path: Path, census_run) -> Path:
    data = tmp_path / "pages"
    shutil.copytree(census_run["data"], data)
    train = pd.read_parquet(data / "train.parquet")
    train["page_label"] = train["page_label"].astype("Int64")
    train.loc[0, "page_label"] = pd.NA
    train.to_parquet(data / "train.parquet", index=False)
    return data


def test_an_explicit_budget_that_auto_does_not_simulate_gets_a_note(tmp_path, census_run) -> None:
    data = _one_label_missing(tmp_path, census_run)
    args = ["fit", "-d", "pages", "--data-dir", str(data), "-c", str(census_run["config"]), "-q"]
    result = invoke([*args, "--budget", "0.1", "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: --budget 0.1 is not used")]
    assert len(notes) == 1, result.stderr
    assert "strategy auto -> given" in notes[0] and "--strategy top" in notes[0]
    assert "strategy=given" in result.stdout
    quiet = invoke([*args, "-o", str(tmp_path / "run2")])  # no --budget given: nothing overridden, no note
    assert quiet.exit_code == 0 and "note: --budget" not in quiet.stderr


def test_selected_features_without_their_input_columns_are_named_in_a_note(tmp_path, census_run) -> None:
    import json

    cfg = json.loads(Path(census_run["config"]).read_text())
    (tmp_path / "text.json").write_text(json.dumps({**cfg, "features": ["smar.text.*"]}))
    args = ["fit", "-d", "pages", "--data-dir", str(census_run["data"]), "-c", str(tmp_path / "text.json"), "-q"]
    result = invoke([*args, "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "selected feature(s) read columns" in line]
    assert len(notes) == 1 and notes[0].startswith("note: "), result.stderr
    assert "smar.text." in notes[0] and "(needs '" in notes[0]
    default = invoke([*args[:-3], "-c", str(census_run["config"]), "-q", "-o", str(tmp_path / "run2")])
    assert default.exit_code == 0 and "selected feature(s)" not in default.stderr  # the default selection: no note
