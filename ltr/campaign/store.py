"""A campaign directory on disk: durable atomic writes, one lock, the state that imports advance.

Layout::

    campaign.json              settings fixed at plan time (dataset, strategy, budget, seed, label scale,
                               fingerprint of the pages)
    pool.parquet               every candidate of the annotated splits: task id, keys, single-modal score and rank,
                               display fields (never the page label)
    state.json                 the commit point: rounds issued, answers recorded, imports seen, done
    labelstudio-config.xml     labelling configuration for Label Studio
    rounds/round-NNN.csv       worklist of round NNN (fill the ``label`` column)
    rounds/round-NNN.labelstudio.json   the same tasks as a Label Studio import file

Every write goes to a temporary file that is flushed to disk and renamed into place, so a crash (even ``kill -9``)
leaves each file either old or new. ``state.json`` is written last by an import: until it is replaced, the
campaign is exactly as before. Round files are derived from the state and rewritten when missing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.atomic import write_atomic
from smar_ltr.errors import CampaignError
from smar_ltr.schema import PAGE_LABEL
from smar_ltr.splits import PageSplits

SETTINGS, POOL, STATE, LOCK = "campaign.json", "pool.parquet", "state.json", ".lock"
ROUNDS_DIR, LS_CONFIG = "rounds", "labelstudio-config.xml"
FORMAT_VERSION = 1


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, writer: Any) -> Path:
    """:func:`~smar_ltr.atomic.write_atomic`, with the file and its directory flushed to disk."""

    def write_and_sync(tmp: Path) -> None:
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())

    write_atomic(path, write_and_sync)
    _fsync_dir(path.parent)
    return path


def write_json(path: Path, data: Any) -> Path:
    """Write JSON durably and atomically."""
    text = json.dumps(data, indent=1, sort_keys=True)
    return write_durably(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_json(path: Path) -> Any:
    """Read a campaign JSON file; a broken one is a :class:`CampaignError` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignError(f"{str(path)!r} is missing; the campaign directory is incomplete") from None
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise CampaignError(f"{str(path)!r} cannot be read ({exc}); the campaign directory is damaged") from None


def check_campaign_dir(directory: Path) -> Path:
    """The campaign directory, refused when it holds no campaign."""
    directory = Path(directory)
    if not (directory / SETTINGS).is_file():
        raise CampaignError(
            f"{str(directory)!r} holds no annotation campaign ({SETTINGS} missing); "
            "start one with `smar-ltr annotate plan --out DIR`"
        )
    return directory


def clean_stale_temporaries(directory: Path) -> None:
    """Remove temporary files a killed writer left behind (``.<name>.<random>.tmp``); call under the lock."""
    for sub in (directory, directory / ROUNDS_DIR):
        if sub.is_dir():
            for tmp in sub.glob(".*.tmp"):
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)


@contextmanager
def campaign_lock(directory: Path) -> Iterator[None]:
    """Hold the campaign's exclusive lock (``fcntl.flock`` on ``.lock``) or refuse at once.

    The kernel drops the lock when its holder exits, however it exits, so a lock file left by a killed process
    never blocks the next command.
    """
    path = Path(directory) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise CampaignError(
                f"campaign {str(directory)!r} is busy: an import is running (pid {holder}); wait for it to finish "
                "and run this command again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        clean_stale_temporaries(Path(directory))
        yield
    finally:
        os.close(fd)  # closing releases the flock


@dataclass
class CampaignState:
    """What imports advance; saved as ``state.json``.

    Attributes
    ----------
    rounds : list of list of str
        Task ids issued in each round (round ``r`` is ``rounds[r - 1]``).
    answers : dict of str to int
        Recorded label per task id; never changed once recorded.
    imports : list of dict
        One entry per import that recorded something: file name, sha256, answers added.
    done : bool
        No further round will be issued.
    """

    rounds: list[list[str]] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    imports: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False

    @property
    def round(self) -> int:
        """Number of the current (last issued) round; 0 before any."""
        return len(self.rounds)

    def round_of(self) -> dict[str, int]:
        """Round number of every issued task id."""
        return {t: r for r, tasks in enumerate(self.rounds, start=1) for t in tasks}

    def pending(self) -> list[str]:
        """Task ids of the current round without an answer."""
        return [t for t in (self.rounds[-1] if self.rounds else []) if t not in self.answers]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"rounds": self.rounds, "answers": self.answers, "imports": self.imports, "done": self.done}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignState:
        """Inverse of :meth:`to_dict`."""
        damaged = CampaignError(f"{STATE} is not a campaign state; the campaign directory is damaged")
        try:
            rounds, answers, imports, done = data["rounds"], data["answers"], data["imports"], data["done"]
        except (KeyError, TypeError):
            raise damaged from None
        # exact types: int("2.7") or bool("false") would quietly turn a hand edit into other answers
        if not (
            isinstance(rounds, list)
            and all(isinstance(r, list) and all(isinstance(t, str) for t in r) for r in rounds)
            and isinstance(answers, dict)
            and all(type(v) is int for v in answers.values())
            and isinstance(imports, list)
            and isinstance(done, bool)
        ):
            raise damaged
        return cls(rounds=[list(r) for r in rounds], answers=dict(answers), imports=list(imports), done=done)


def load_state(directory: Path) -> CampaignState:
    """The committed state of a campaign."""
    return CampaignState.from_dict(read_json(Path(directory) / STATE))


def save_state(directory: Path, state: CampaignState) -> None:
    """Commit a new state (atomic: the campaign is either before or after)."""
    write_json(Path(directory) / STATE, state.to_dict())


def pages_fingerprint(splits: PageSplits, roles: tuple[str, ...]) -> str:
    """sha256 of the annotated splits (without ``page_label``) and the single-modal pool.

    It changes when a candidate, a feature or a single-modal list changes, not when page labels are filled in.
    """
    digest = hashlib.sha256()
    for role in (*roles, "single_modal"):
        frame = getattr(splits, role)
        if frame is None:
            digest.update(f"{role}:none".encode())
            continue
        frame = frame.drop(columns=[PAGE_LABEL], errors="ignore")
        digest.update(f"{role}:{len(frame)}:{','.join(map(str, frame.columns))}".encode())
        if len(frame):
            digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()
