"""Bad-input census, part 3: signals and what a killed command leaves behind.

``kill -9`` cannot be caught, so the writers name their temporaries ``.<target>.tmp-<pid>-*`` and the next write
to the same target removes those of dead processes (and puts a run back that a replacement had moved aside).
Ctrl-C and SIGTERM are caught: temporaries are removed at once and the command ends with one line, exit 130.
Files and folders get the user's umask.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from census import invoke

from smar_ltr.core.atomic import (
    make_temporary_dir,
    remove_own_temporaries,
    remove_stale_temporaries,
    write_atomic,
    write_dir_atomic,
)
from smar_ltr.serving.run_dir import load_run, save_run


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_orphans_of_killed_writers_are_removed_by_the_next_write(tmp_path: Path, census_run) -> None:
    model = load_run(census_run["run"])
    pid = dead_pid()
    orphan = tmp_path / f".run.tmp-{pid}-abc"
    orphan.mkdir()
    (orphan / "reranker.txt").write_text("half a model")
    (tmp_path / f".table.parquet.tmp-{pid}-xyz").write_text("half a table")
    alive = tmp_path / f".run.tmp-{os.getpid()}-live"  # a writer still running: kept
    alive.mkdir()
    save_run(model, tmp_path / "run")
    write_atomic(tmp_path / "table.parquet", lambda p: p.write_text("whole"))
    assert leftovers(tmp_path) == [alive.name]
    load_run(tmp_path / "run")


def test_a_run_moved_aside_by_a_killed_replacement_comes_back(tmp_path: Path, census_run) -> None:
    pid = dead_pid()
    shutil.copytree(census_run["run"], tmp_path / f".run.old-{pid}")  # killed between the two renames
    assert remove_stale_temporaries(tmp_path / "run") == [tmp_path / f".run.old-{pid}"]
    load_run(tmp_path / "run")
    assert leftovers(tmp_path) == []


def test_interrupt_before_a_writer_enters_its_cleanup_still_removes_the_temporary(tmp_path: Path) -> None:
    """A signal can land between the creation of a temporary and the writer's ``try``; the CLI's interrupt
    handler then removes this process's temporaries by name (and nobody else's)."""
    mine = make_temporary_dir(tmp_path / "run")  # created, never handed to a writer's cleanup
    (mine / "model.txt").write_text("half")
    other = tmp_path / f".run.tmp-{os.getppid()}-live"  # a live process's temporary: not ours to remove
    other.mkdir()
    assert mine in remove_own_temporaries()
    assert leftovers(tmp_path) == [other.name]


def _start_fit(tmp: Path, census_run, out: Path) -> subprocess.Popen:
    args = ["fit", "-d", "pages", "--data-dir", str(census_run["data"]), "-c", str(census_run["config"])]
    return subprocess.Popen(
        [sys.executable, "-m", "smar_ltr", *args, "-o", str(out)],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_temporary(proc: subprocess.Popen, folder: Path, limit: float = 300.0) -> bool:
    """Poll until a run temporary appears next to the target (True), or the process ends (False)."""
    end = time.monotonic() + limit
    while time.monotonic() < end and proc.poll() is None:
        if any(".tmp-" in name for name in os.listdir(folder)):
            return True
        time.sleep(0.001)
    return False


@pytest.mark.parametrize("moment", ["while writing the run", "while fitting"])
def test_kill_9_during_fit_leaves_nothing_that_breaks_or_clutters_the_next_run(
    tmp_path: Path, census_run, moment: str
) -> None:
    out = tmp_path / "runs" / "run"
    shutil.copytree(census_run["run"], out)  # the fit replaces an earlier run
    proc = _start_fit(tmp_path, census_run, out)
    if moment == "while writing the run":
        _wait_for_temporary(proc, out.parent)
    else:
        time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    load_run(out)  # the earlier run (or the new one, if the kill came late) is intact
    again = invoke(["fit", "-d", "pages", "--data-dir", str(census_run["data"]), "-c", str(census_run["config"]),
                    "-o", str(out), "-q"])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert leftovers(out.parent) == []
    load_run(out)


def _wait_for(proc: subprocess.Popen, found, limit: float = 300.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end and proc.poll() is None:
        if found():
            return True
        time.sleep(0.001)
    return False


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


@pytest.mark.parametrize("moment", ["while storing the baselines", "while fitting the baselines"])
def test_kill_9_during_eval_leaves_a_run_that_loads_and_evaluates(tmp_path: Path, census_run, moment: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(census_run["run"], run)
    proc = subprocess.Popen(
        [sys.executable, "-m", "smar_ltr", "eval", "-m", str(run), "-q"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if moment == "while storing the baselines":
        _wait_for(proc, lambda: any(".tmp-" in n for n in os.listdir(run)) or (run / "baselines").exists())
    else:
        time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    load_run(run)
    again = invoke(["eval", "-m", str(run), "-q"])
    assert again.exit_code == 0, again.output
    assert _hidden(run) == []
    load_run(run)


@pytest.mark.slow
def test_kill_9_during_tune_then_the_study_resumes(tmp_path: Path, census_run) -> None:
    out = tmp_path / "tune"
    args = [
        "tune",
        "-d",
        "pages",
        "--data-dir",
        str(census_run["data"]),
        "-c",
        str(census_run["config"]),
        "-o",
        str(out),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "smar_ltr", *args, "--trials", "20"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(proc, lambda: (out / "tune.db").exists())
    time.sleep(4.0)  # inside the trials
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = invoke([*args, "--trials", "2", "-q", "-f", "json"])
    assert again.exit_code == 0, again.output
    assert _hidden(out) == []
    assert json.loads((out / "recommended.json").read_text())["dataset"] == "pages"


def test_sigterm_during_fit_is_one_line_and_removes_its_temporaries(tmp_path: Path, census_run) -> None:
    out = tmp_path / "runs" / "run"
    out.parent.mkdir()
    proc = _start_fit(tmp_path, census_run, out)
    caught = _wait_for_temporary(proc, out.parent)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    if caught:  # the signal came while the run was being written
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1].startswith("error: interrupted; nothing is left half-written")
        assert "Traceback" not in err
        assert not out.exists()
    assert leftovers(out.parent) == []


def test_outputs_get_the_users_umask(tmp_path: Path, census_run) -> None:
    old = os.umask(0o022)
    try:
        result = invoke(["datasets", "make-fixture", "pages", "--out", str(tmp_path / "fixture")])
        assert result.exit_code == 0, result.output
        save_run(load_run(census_run["run"]), tmp_path / "run")
        write_dir_atomic(tmp_path / "more", lambda d: (d / "a.txt").write_text("a"))
    finally:
        os.umask(old)
    for folder in (tmp_path / "fixture", tmp_path / "run", tmp_path / "more"):
        assert folder.stat().st_mode & 0o777 == 0o755, folder
    for file in (
        tmp_path / "fixture" / "train.parquet",
        tmp_path / "run" / "manifest.json",
        tmp_path / "more" / "a.txt",
    ):
        assert file.stat().st_mode & 0o777 == 0o644, file
