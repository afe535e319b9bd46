"""The README sections "Annotating your own pages" and "Running a campaign with a team" work verbatim: each shell
block runs in an empty directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


SECTIONS = ("Annotating your own pages", "Running a campaign with a team")


def section_script(title: str = SECTIONS[0]) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section should hold one bash block"
    return blocks[0]


@pytest.mark.slow
def test_readme_annotation_walkthrough_runs_verbatim(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "smar-ltr").exists(), "the smar-ltr console script must be installed next to python"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "SMAR_LTR_DATA": str(tmp_path)}
    script = "set -euo pipefail\n" + section_script()
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "campaign done" in proc.stdout and "ndcg@10" in proc.stdout
    summary = json.loads((tmp_path / "runs" / "my_campaign" / "summary.json").read_text())
    assert summary["annotation"]["strategy"] == "given" and summary["supervision"]["cross_pairs"] > 0


@pytest.mark.slow
def test_readme_team_walkthrough_runs_verbatim(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "SMAR_LTR_DATA": str(tmp_path)}
    script = "set -euo pipefail\n" + section_script(SECTIONS[1])
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for said in ("recorded 1 skips", "recorded 1 corrections", "Krippendorff's ordinal alpha", "skipped: t", "done"):
        assert said in proc.stdout, said
    state = json.loads((tmp_path / "team_campaign" / "state.json").read_text())
    events = [e["event"] for e in state["log"] if e["event"] != "answer"]
    assert events == ["skip", "round", "correction"]  # the skip asked its replacement, then the correction
    assert (tmp_path / "team_labelled" / "train.parquet").is_file()


@pytest.mark.parametrize("title", SECTIONS)
def test_readme_walkthrough_uses_only_existing_commands(title):
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    runner = CliRunner()
    for line in section_script(title).splitlines():
        if line.startswith("smar-ltr "):
            words = line.split()
            command = [w for w in words[1:4] if not w.startswith("-")][:2]
            result = runner.invoke(app, [*command, "--help"])
            assert result.exit_code == 0, f"{' '.join(command)}: {result.output}"
