"""Census, leftovers of earlier work (issue 27): a killed ``annotate plan`` leaves nothing behind, Ctrl-C before a
command starts and a closed pipe (``| head``) are one line, ``fit`` refuses test pages of a modality it never saw."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from census import assert_one_line_error, invoke, tree


def _plan_args(data: Path, out: Path) -> list[str]:
    plan = ["annotate", "plan", "--dataset", "pages", "--data-dir", str(data), "--budget", "0.3"]
    return [*plan, "--strategy", "top", "--out", str(out), "--format", "json"]


def test_a_killed_plan_leaves_no_temporary_folder(tmp_path, census_run) -> None:
    out = tmp_path / "camp"
    script = textwrap.dedent(
        f"""
        import os
        from smar_ltr.campaign import store
        store.save_state = lambda *a, **k: os._exit(9)  # killed while writing the campaign
        from census import invoke
        invoke({_plan_args(census_run["data"], out)!r})
        """
    )
    tests = Path(__file__).resolve().parent
    killed = subprocess.run([sys.executable, "-c", script], cwd=tests, capture_output=True, timeout=300)
    assert killed.returncode == 9, killed.stderr.decode()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".camp.")]  # what the kill left
    result = invoke(_plan_args(census_run["data"], out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["camp"]  # the orphan was removed


def test_fit_refuses_test_pages_of_a_modality_it_never_saw(tmp_path, census_run) -> None:
    import shutil

    import pandas as pd

    data = tmp_path / "pages"
    shutil.copytree(census_run["data"], data)
    test = pd.read_parquet(data / "test.parquet")
    test.loc[test.index[:3], "modality"] = "audio"
    test.to_parquet(data / "test.parquet", index=False)
    before = tree(tmp_path)
    fit = ["fit", "-d", "pages", "--data-dir", str(data), "-c", str(census_run["config"])]
    result = invoke([*fit, "-o", str(tmp_path / "run"), "-q"])
    assert_one_line_error(result, "test pages: 3 page rows have modality 'audio'")
    assert tree(tmp_path) == before


def test_ctrl_c_before_the_command_starts_is_one_line(monkeypatch, capsys) -> None:
    import importlib.abc

    from smar_ltr.cli import entry

    class Interrupt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "smar_ltr.cli.app":
                raise KeyboardInterrupt  # Ctrl-C while the command modules are imported
            return None

    monkeypatch.delitem(sys.modules, "smar_ltr.cli.app")
    monkeypatch.setattr(sys, "meta_path", [Interrupt(), *sys.meta_path])
    with pytest.raises(SystemExit) as stop:
        entry.main()
    assert stop.value.code == 130
    err = capsys.readouterr().err
    assert err.startswith("error: interrupted") and err.count("\n") == 1 and "Traceback" not in err


def test_a_closed_pipe_is_quiet() -> None:
    import os

    script = "import sys; sys.argv = ['smar-ltr', 'datasets', 'list']; from smar_ltr.cli.entry import main; main()"
    tests = Path(__file__).resolve().parent
    read, write = os.pipe()
    os.close(read)  # the reader is gone (``| head`` exited): every write fails with EPIPE
    try:
        command = [sys.executable, "-c", script]
        result = subprocess.run(command, cwd=tests, stdout=write, stderr=subprocess.PIPE, timeout=300)
    finally:
        os.close(write)
    err = result.stderr.decode()
    assert "BrokenPipeError" not in err and "Traceback" not in err and "Exception ignored" not in err, err
    assert result.returncode == 1, err


@pytest.mark.parametrize("keep", [0.1, 0.5])
def test_a_re_signed_run_over_a_truncated_lightgbm_model_is_one_line(tmp_path, census_run, keep) -> None:
    import json
    import shutil

    from smar_ltr.serving.run_dir import _digest, sha256_file

    run = tmp_path / "run"
    shutil.copytree(census_run["run"], run)
    model = run / "reranker.txt"
    model.write_bytes(model.read_bytes()[: int(model.stat().st_size * keep)])
    manifest = json.loads((run / "manifest.json").read_text())  # re-signed: checksums and digest renewed
    manifest["files"]["reranker.txt"] = sha256_file(model)
    manifest["digest"] = _digest(manifest)
    (run / "manifest.json").write_text(json.dumps(manifest))
    script = f"import sys; sys.argv = ['smar-ltr', 'eval', '-m', {str(run)!r}, '-q']\n"
    script += "from smar_ltr.cli.entry import main; main()"
    tests = Path(__file__).resolve().parent
    result = subprocess.run([sys.executable, "-c", script], cwd=tests, capture_output=True, timeout=300)
    err = result.stderr.decode()
    assert result.returncode == 1, (result.returncode, err)  # LightGBM aborted the process (-6) before
    assert err.startswith("error: ") and err.count("\n") == 1 and "not a complete LightGBM model" in err, err
