"""Shared checks of the bad-input census (tests/test_census_*.py).

A census case runs one command on one bad input and asserts the project's contract for bad input: exit status
1, exactly one line on stderr that starts with ``error:`` and names the problem, no traceback, and nothing
written (the folder tree is byte-for-byte the same before and after). Inputs that are accepted under a stated
policy are checked for their ``warning:`` line instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import FAST_GBDT
from typer.testing import CliRunner

from smar_ltr.cli.app import app

runner = CliRunner()


@dataclass(frozen=True)
class Case:
    """One census row: ``setup(tmp)`` builds the input and returns the command line; ``expect`` must appear
    in the single error line."""

    id: str
    setup: Callable[[Path], list[str]]
    expect: str


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with the sha256 of its bytes (folders as ``dir``): what "nothing written" compares."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def invoke(args: list[str]):
    """Run the CLI in-process."""
    return runner.invoke(app, args)


def assert_one_line_error(result, expect: str) -> None:
    """Exit 1, one ``error:`` line naming ``expect``, nothing on stdout, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert expect in lines[0], (expect, lines[0])
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert result.exception is None or isinstance(result.exception, SystemExit)


def check_case(case: Case, tmp_path: Path, watch: Path | None = None) -> None:
    """Build the case, run it, and check the contract; ``watch`` (default ``tmp_path``) must not change."""
    args = case.setup(tmp_path)
    watch = watch or tmp_path
    before = tree(watch)
    result = invoke(args)
    assert_one_line_error(result, case.expect)
    assert tree(watch) == before, "a failed command wrote or changed files"


def fast_config(path: Path, **fields) -> Path:
    """A run config with fast GBDTs (plus ``fields``) written to ``path``."""
    path.write_text(json.dumps({"single_modal": FAST_GBDT, "reranker": FAST_GBDT, **fields}))
    return path
