"""The one atomic writer, and output checks: files, folders and tables appear complete or not at all, with the
user's umask.

Temporaries are named ``.<target>.tmp-<pid>-<random>`` next to their target, so a writer killed half-way
(``kill -9``) leaves an orphan that the next write to the same target recognises (its process is gone) and
removes. Output locations are checked with :func:`check_output_location` before any work starts.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.errors import ArtifactError, DatasetError, SmarError


def current_umask() -> int:
    """The process umask (read from ``/proc`` on Linux; elsewhere set and restored at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _with_umask(path: Path, directory: bool) -> None:
    """Give a ``mkstemp`` / ``mkdtemp`` result (created 0600 / 0700) the mode an ordinary ``open`` would."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


#: Targets this process has made temporaries for (registered before each is created, so an interrupt that lands
#: between creating a temporary and entering its writer's cleanup still finds it: see remove_own_temporaries).
_TARGETS: set[Path] = set()


def temporary_prefix(target: Path) -> str:
    """Name prefix of the temporaries written next to ``target``: ``.<name>.tmp-<pid>-``.

    The process id lets :func:`remove_stale_temporaries` tell an orphan (its writer was killed) from the
    temporary of a writer still running.
    """
    _TARGETS.add(Path(target).absolute())
    return f".{target.name}.tmp-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Delete the ``.<name>.tmp-<pid>-*`` and ``.<name>.old-<pid>`` siblings of ``target`` left by a writer
    that was killed (its process no longer exists). A killed run replacement that had already moved the
    previous version aside gets that version back when ``target`` itself is missing.

    Returns
    -------
    list of Path
        What was removed or restored.
    """
    return _remove_temporaries(Path(target), lambda pid: not _pid_alive(pid))


def remove_own_temporaries() -> list[Path]:
    """Delete the temporaries this process left next to any target it wrote to (restoring a moved-aside
    previous version where the target is missing). The CLI calls this when a command is interrupted: a signal
    can land between the creation of a temporary and the ``try`` of the writer that would remove it."""
    own = os.getpid()
    cleaned: list[Path] = []
    for target in sorted(_TARGETS):
        cleaned += _remove_temporaries(target, lambda pid: pid == own)
    return cleaned


def _remove_temporaries(target: Path, owner_gone: Callable[[int], bool]) -> list[Path]:
    parent = target.parent
    if not parent.is_dir():
        return []
    cleaned: list[Path] = []
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(tmp|old)-(\d+)")
    for sibling in sorted(parent.iterdir()):
        match = pattern.match(sibling.name)
        if match is None or not owner_gone(int(match.group(2))):
            continue
        if match.group(1) == "old" and not target.exists():
            os.replace(sibling, target)
        elif sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            sibling.unlink(missing_ok=True)
        cleaned.append(sibling)
    return cleaned


def make_temporary_dir(target: Path) -> Path:
    """A fresh temporary directory next to ``target`` (named by :func:`temporary_prefix`, umask mode)."""
    remove_stale_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(target), dir=target.parent))
    _with_umask(tmp, directory=True)
    return tmp


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_output_location(
    path: str | Path, kind: str = "folder", what: str = "output", error: type[SmarError] = DatasetError
) -> Path:
    """Check, before any work starts, that ``path`` can be written; return it absolute.

    Parameters
    ----------
    path : path
        The output to be written.
    kind : {"folder", "file"}
        Whether a directory or a single file will be written there.
    what : str
        Named in the message, e.g. ``"run folder"``.
    error : SmarError subclass
        What to raise.

    Raises
    ------
    SmarError
        ``path`` is of the other kind, a parent is a file, or the nearest existing folder refuses a probe
        write (read-only, ``/proc``, no permission). The probe is removed at once: nothing is left behind.
    """
    path = Path(os.path.abspath(Path(path).expanduser()))
    if kind == "folder" and path.exists() and not path.is_dir():
        raise error(f"{what} {str(path)!r} is a file; pass a folder")
    if kind == "file" and path.is_dir():
        raise error(f"{what} {str(path)!r} is a folder; pass a file name such as {str(path / 'out.parquet')!r}")
    anchor = _nearest_existing(path.parent if kind == "file" or not path.exists() else path)
    if not anchor.is_dir():
        raise error(f"cannot create {what} {str(path)!r}: {str(anchor)!r} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".smar-ltr-probe-", dir=anchor))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise error(
            f"cannot write {what} {str(path)!r}: {str(anchor)!r} is not writable ({reason}); choose another location"
        ) from None
    return path


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Write one file atomically: ``writer(tmp)`` fills a temporary file in the same directory, then
    ``os.replace`` moves it into place. On any error the temporary file is removed and ``path`` is untouched.
    The file gets the mode an ordinary ``open`` gives (umask respected); orphans of killed writers are removed.

    Parameters
    ----------
    path : path
        Final file name (its directory is created if needed).
    writer : callable
        Called with the temporary path; must write the whole file there.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(path), dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _with_umask(tmp, directory=False)
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_dir_atomic(out_dir: str | Path, writer: Callable[[Path], Any], overwrite: bool = False) -> list[Path]:
    """Write a set of files atomically: ``writer(tmp_dir)`` fills a temporary sibling directory; then the
    directory is renamed into place (or, when ``out_dir`` already exists, each file is ``os.replace``-d into
    it). Nothing is left behind when ``writer`` fails.

    Parameters
    ----------
    out_dir : path
        Target folder; files already there with other names are kept.
    writer : callable
        Called with the temporary folder.
    overwrite : bool
        Replace files of ``out_dir`` that have the names written; by default such a clash is refused with
        :class:`DatasetError` before anything is moved (the user's own files are never replaced silently).

    Returns
    -------
    list of Path
        The files written, under ``out_dir``, sorted.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists() and not out_dir.is_dir():
        raise ArtifactError(f"{str(out_dir)!r} exists and is not a directory; choose another output directory")
    tmp = make_temporary_dir(out_dir)
    try:
        writer(tmp)
        files = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
        clash = [rel for rel in files if (out_dir / rel).exists()] if not overwrite else []
        if clash:
            raise DatasetError(
                f"{str(out_dir)!r} already holds {clash[0].as_posix()!r} ({len(clash)} of the {len(files)} files "
                "to write); choose a new or empty folder, or remove those files first"
            )
        if not out_dir.exists():
            os.replace(tmp, out_dir)
        else:
            for rel in files:
                (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / rel, out_dir / rel)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out_dir / rel for rel in files]


@contextmanager
def replacing_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``target`` to fill; on success it replaces ``target`` (new or existing) in one
    rename, on any error it is removed and ``target`` is left as it was."""
    tmp = make_temporary_dir(target)
    try:
        yield tmp
        replace_dir_atomically(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
