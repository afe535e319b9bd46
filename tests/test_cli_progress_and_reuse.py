"""Signs of life (stage rows on a terminal, plain lines otherwise, nothing with --quiet) and ``eval --model``
reusing the baseline models it stored with the run instead of refitting them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from census import invoke

from smar_ltr.cli.progress import StageProgress, stage_progress
from smar_ltr.evaluation.paper_protocol import NATIVE_BASELINES
from smar_ltr.serving.run_dir import load_baselines, load_run, read_manifest


def test_live_progress_shows_every_stage_with_its_time(capsys) -> None:
    with stage_progress(quiet=False, live=True) as say:
        say("stage 1/2: single-modal rankers")
        say("stage 2/2: reranker")
    err = capsys.readouterr().err
    assert "stage 1/2: single-modal rankers" in err and "stage 2/2: reranker" in err
    assert "0:00:0" in err  # elapsed time column
    assert err.count("done") == 2  # both stages finished


def test_plain_lines_off_a_terminal_and_nothing_when_quiet(capsys) -> None:
    StageProgress(quiet=False, live=False)("stage 1/4: features")
    assert capsys.readouterr().err == "[smar-ltr] stage 1/4: features\n"
    progress = StageProgress(quiet=True, live=True)
    progress("stage 1/4: features")
    progress.close()
    assert capsys.readouterr().err == ""


def test_eval_model_stores_baselines_once_and_reuses_them(tmp_path: Path, census_run) -> None:
    run = tmp_path / "run"
    shutil.copytree(census_run["run"], run)
    first = invoke(["eval", "-m", str(run), "-f", "json"])
    assert first.exit_code == 0, first.output
    assert "evaluating full_supervision\n" in first.stderr and "(stored model)" not in first.stderr
    assert read_manifest(run)["baselines"] == sorted(NATIVE_BASELINES)
    assert set(load_baselines(run)) == set(NATIVE_BASELINES)
    load_run(run)  # the renewed manifest still verifies
    before = {p.name: p.stat().st_mtime_ns for p in (run / "baselines").iterdir()}
    second = invoke(["eval", "-m", str(run), "-f", "json"])
    assert second.exit_code == 0, second.output
    assert "evaluating full_supervision (stored model)" in second.stderr
    assert "evaluating budget_only (stored model)" in second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)  # same models, same numbers
    assert {p.name: p.stat().st_mtime_ns for p in (run / "baselines").iterdir()} == before  # nothing refitted
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_a_read_only_run_is_evaluated_with_a_warning(tmp_path: Path, census_run, monkeypatch) -> None:
    import smar_ltr.serving.run_dir as artifacts

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(artifacts, "save_baselines", refuse)
    run = tmp_path / "run"
    shutil.copytree(census_run["run"], run)
    result = invoke(["eval", "-m", str(run), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().startswith("warning: baseline models not stored")
    assert "Permission denied" in result.stderr and "fits them again" in result.stderr


def test_help_shows_no_placeholder_after_flags() -> None:
    for command in (["fit"], ["eval"], ["tune"], ["rerank"], ["datasets", "make-fixture"]):
        result = invoke([*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.stdout
        assert "--quiet" in result.stdout or "--out" in result.stdout
