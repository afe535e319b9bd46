"""The one atomic writer: files, directories and tables appear complete or not at all.

A writer fills a temporary sibling (same filesystem), then ``os.replace`` moves it into place, so a crash or an
error never leaves a half-written file where a reader expects a whole one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.errors import ArtifactError


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Write one file atomically: ``writer(tmp)`` fills a temporary file in the same directory, then
    ``os.replace`` moves it into place. On any error the temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path : path
        Final file name (its directory is created if needed).
    writer : callable
        Called with the temporary path; must write the whole file there.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_dir_atomic(out_dir: str | Path, writer: Callable[[Path], Any]) -> list[Path]:
    """Write a set of files atomically: ``writer(tmp_dir)`` fills a temporary sibling directory; then the
    directory is renamed into place (or, when ``out_dir`` already exists, each file is ``os.replace``-d into
    it). Nothing is left behind when ``writer`` fails.

    Returns
    -------
    list of Path
        The files written, under ``out_dir``, sorted.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists() and not out_dir.is_dir():
        raise ArtifactError(f"{str(out_dir)!r} exists and is not a directory; choose another output directory")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        writer(tmp)
        files = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
        if not out_dir.exists():
            os.replace(tmp, out_dir)
        else:
            for rel in files:
                (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / rel, out_dir / rel)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out_dir / rel for rel in files]


def replace_dir_atomically(tmp: Path, out: Path) -> None:
    """Move a fully written ``tmp`` directory to ``out``, replacing an existing run only at the last step."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame atomically as CSV (``.csv`` suffix) or parquet (anything else), without its index."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))
    return write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
