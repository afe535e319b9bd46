"""A campaign directory on disk: durable atomic writes, one lock, the state that imports advance.

Layout::

    campaign.json              settings fixed at plan time (dataset, strategy, budget, seed, label scale,
                               fingerprint of the pages)
    pool.parquet               every candidate of the annotated splits: task id, keys, single-modal score and rank,
                               display fields (never the page label)
    state.json                 the commit point: rounds issued, answers (per copy and aggregated), the log of
                               every answer, skip and correction, imports seen, done
    labelstudio-config.xml     labelling configuration for Label Studio
    rounds/round-NNN.csv       worklist of round NNN (fill the ``label`` column)
    rounds/round-NNN.labelstudio.json   the same tasks as a Label Studio import file
    rounds/round-NNN.pending.*  after a partial import: the tasks of the round still open (CSV and Label Studio)

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

from smar_ltr.core.atomic import write_atomic
from smar_ltr.errors import CampaignError
from smar_ltr.page_table.identity import table_fingerprint
from smar_ltr.page_table.schema import PAGE_LABEL
from smar_ltr.page_table.splits import PageSplits

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
    """:func:`~smar_ltr.core.atomic.write_atomic`, with the file and its directory flushed to disk."""

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


#: The value a vote records for a task an annotator could not judge (a skip).
SKIP = "skip"


@dataclass
class CampaignState:
    """What imports advance; saved as ``state.json``.

    Attributes
    ----------
    rounds : list of list of str
        Task ids issued in each round (round ``r`` is ``rounds[r - 1]``); a skip can add the item that replaces it
        to the current round.
    answers : dict of str to int
        The grade of every item whose answers are all in (aggregated over its copies); what the rounds replay.
    imports : list of dict
        One entry per import that recorded something: file name, sha256, answers, skips and corrections added.
    done : bool
        No further round will be issued.
    votes : dict of str to dict of str to dict
        The current answer of each copy of each task: ``votes[task][copy] = {"value": grade or "skip", "who",
        "when"}`` (``copy`` is ``"1"`` .. ``"K"``).
    log : list of dict
        Every change ever recorded, oldest first: ``{"event": "answer" | "correction" | "skip" | "round", "when",
        "source", "task", "copy", "who", "old", "new", "reason"}``; nothing in it is ever removed.
    open : list of str or None
        Task ids the campaign needs answered now (None: a state written before it was kept; then the current
        round's unanswered tasks).
    """

    rounds: list[list[str]] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    imports: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    votes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    open: list[str] | None = None

    @property
    def round(self) -> int:
        """Number of the current (last issued) round; 0 before any."""
        return len(self.rounds)

    def round_of(self) -> dict[str, int]:
        """Round number of every issued task id (the first round that asked it)."""
        out: dict[str, int] = {}
        for r, tasks in enumerate(self.rounds, start=1):
            for t in tasks:
                out.setdefault(t, r)
        return out

    def unjudgeable(self) -> set[str]:
        """Task ids of which a copy was skipped (marked unjudgeable)."""
        return {t for t, copies in self.votes.items() if any(v["value"] == SKIP for v in copies.values())}

    def pending(self) -> list[str]:
        """Task ids the campaign needs answered now and that are still without a grade or a skip."""
        skipped = self.unjudgeable()
        wanted = self.open if self.open is not None else (self.rounds[-1] if self.rounds else [])
        return [t for t in wanted if t not in self.answers and t not in skipped]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rounds": self.rounds,
            "answers": self.answers,
            "imports": self.imports,
            "done": self.done,
            "votes": self.votes,
            "log": self.log,
            "open": self.open,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignState:
        """Inverse of :meth:`to_dict` (a state written before votes and the log were kept reads as one copy)."""
        damaged = CampaignError(f"{STATE} is not a campaign state; the campaign directory is damaged")
        try:
            rounds, answers, imports, done = data["rounds"], data["answers"], data["imports"], data["done"]
        except (KeyError, TypeError):
            raise damaged from None
        votes = data.get("votes")
        if votes is None and isinstance(answers, dict):
            votes = {t: {"1": {"value": g, "who": "", "when": ""}} for t, g in answers.items()}
        log, open_ = data.get("log", []), data.get("open")
        # exact types: int("2.7") or bool("false") would quietly turn a hand edit into other answers
        if not (
            isinstance(rounds, list)
            and all(isinstance(r, list) and all(isinstance(t, str) for t in r) for r in rounds)
            and isinstance(answers, dict)
            and all(type(v) is int for v in answers.values())
            and isinstance(imports, list)
            and isinstance(done, bool)
            and isinstance(votes, dict)
            and all(
                isinstance(copies, dict)
                and all(
                    isinstance(v, dict) and (type(v.get("value")) is int or v.get("value") == SKIP)
                    for v in copies.values()
                )
                for copies in votes.values()
            )
            and isinstance(log, list)
            and all(isinstance(e, dict) for e in log)
            and (open_ is None or (isinstance(open_, list) and all(isinstance(t, str) for t in open_)))
        ):
            raise damaged
        return cls(
            rounds=[list(r) for r in rounds],
            answers=dict(answers),
            imports=list(imports),
            done=done,
            votes={t: {c: dict(v) for c, v in copies.items()} for t, copies in votes.items()},
            log=list(log),
            open=None if open_ is None else list(open_),
        )


def load_state(directory: Path) -> CampaignState:
    """The committed state of a campaign."""
    return CampaignState.from_dict(read_json(Path(directory) / STATE))


def save_state(directory: Path, state: CampaignState) -> None:
    """Commit a new state (atomic: the campaign is either before or after)."""
    write_json(Path(directory) / STATE, state.to_dict())


def pages_fingerprint(splits: PageSplits, roles: tuple[str, ...]) -> str:
    """The identity of the annotated splits (every column but ``page_label``) and the single-modal pool:
    :func:`smar_ltr.page_table.identity.table_fingerprint` of each, in order (arrays hashed, not Python objects).

    It changes when a candidate, a feature or a single-modal list changes, not when page labels are filled in.
    """
    parts = []
    for role in (*roles, "single_modal"):
        frame = getattr(splits, role)
        frame = None if frame is None else frame.drop(columns=[PAGE_LABEL], errors="ignore")
        parts.append(f"{role}:{table_fingerprint(frame)}")
    return "v2:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def pages_fingerprint_v1(splits: PageSplits, roles: tuple[str, ...]) -> str:
    """The fingerprint campaigns planned before :func:`pages_fingerprint` recorded (every value as text)."""
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
