"""Artifacts that know their kind: what a folder smar-ltr wrote is, and the one output check every writer uses.

Every folder smar-ltr writes is recognised by the file that records its kind:

==================  =====================================================  ======================================
kind                recorded in                                            id (what "the same artifact" means)
==================  =====================================================  ======================================
``run``             ``manifest.json`` (``kind: run``; older runs: no kind)  none: a fit replaces an earlier run
``estimator``       ``manifest.json`` (``kind: estimator``)                none: a save replaces an earlier save
``campaign``        ``campaign.json`` + ``state.json``                      the campaign folder (never replaced)
``campaign-export`` ``campaign.json`` naming its ``campaign``               the campaign exported
``sweep``           ``results.json`` or ``cells/``                          none: a sweep resumes an earlier one
``tune-study``      ``tune.db``, ``pareto.csv`` or ``recommended.json``     none: a study resumes an earlier one
``export``          the files of a search-engine export (not a folder)      the format
==================  =====================================================  ======================================

:func:`check_output` is the one guard: a write goes to a new path, an empty folder, or a folder of the same kind
and id (replaced or resumed); any other folder is refused with one line naming what is there and what to do, and
no output may lie inside another artifact (a run's ``manifest.json``, a campaign's folder, ...).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smar_ltr.core.atomic import check_output_location
from smar_ltr.errors import ArtifactError, SmarError

RUN, ESTIMATOR, CAMPAIGN, CAMPAIGN_EXPORT = "run", "estimator", "campaign", "campaign-export"
SWEEP, TUNE_STUDY, EXPORT = "sweep", "tune-study", "export"
#: Every kind of folder smar-ltr writes.
KINDS = (RUN, ESTIMATOR, CAMPAIGN, CAMPAIGN_EXPORT, SWEEP, TUNE_STUDY)
#: How each kind is named in messages, and what writes it.
DESCRIPTIONS = {
    RUN: "a run (written by `smar-ltr fit`)",
    ESTIMATOR: "a saved SMARRanker (SMARRanker.save)",
    CAMPAIGN: "an annotation campaign (`smar-ltr annotate plan`)",
    CAMPAIGN_EXPORT: "a campaign export (`smar-ltr annotate export`)",
    SWEEP: "a sweep (`smar-ltr sweep`)",
    TUNE_STUDY: "a tune study (`smar-ltr tune`)",
}


@dataclass(frozen=True)
class Found:
    """A smar-ltr artifact found at ``path``: its ``kind`` and ``id`` (None when any one of the kind is the same)."""

    kind: str
    id: str | None
    path: Path

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.kind, self.kind)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def artifact_at(folder: str | Path) -> Found | None:
    """The smar-ltr artifact the folder ``folder`` holds, or None (not a folder, empty, or someone else's)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    manifest = _json(folder / "manifest.json") if (folder / "manifest.json").is_file() else None
    if isinstance(manifest, dict) and manifest.get("package") == "smar-ltr":
        return Found(str(manifest.get("kind", RUN)), None, folder)
    if (folder / "campaign.json").is_file():
        note = _json(folder / "campaign.json")
        if (folder / "state.json").is_file() or (folder / "pool.parquet").is_file():
            return Found(CAMPAIGN, str(folder.resolve()), folder)
        if isinstance(note, dict) and isinstance(note.get("campaign"), str):
            return Found(CAMPAIGN_EXPORT, note["campaign"], folder)
    results = _json(folder / "results.json") if (folder / "results.json").is_file() else None
    if isinstance(results, dict) and (results.get("kind") == SWEEP or {"rows", "comparisons"} <= set(results)):
        return Found(SWEEP, None, folder)
    cells = folder / "cells"
    if cells.is_dir() and all(CELL_FILE.fullmatch(p.name) for p in cells.iterdir() if not p.name.startswith(".")):
        return Found(SWEEP, None, folder)  # an interrupted sweep: finished cells only
    finished_study = (folder / "recommended.json").is_file() and (folder / "pareto.csv").is_file()
    if _is_sqlite(folder / "tune.db") or finished_study:
        return Found(TUNE_STUDY, None, folder)
    return None


#: A sweep cell's file name (:attr:`smar_ltr.experiments.sweep.Cell.filename`).
CELL_FILE = re.compile(r".+__.+__p[^_]+__seed-?\d+\.json")


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def enclosing_artifact(path: str | Path) -> Found | None:
    """The nearest folder above ``path`` (``path`` itself excluded) that is a smar-ltr artifact, or None."""
    path = Path(path).absolute()
    for parent in path.parents:
        found = artifact_at(parent)
        if found is not None:
            return found
    return None


def check_not_inside(path: str | Path, what: str, error: type[SmarError] = ArtifactError) -> None:
    """Refuse an output ``path`` that lies inside another artifact (its files belong to that artifact)."""
    found = enclosing_artifact(path)
    if found is not None:
        raise error(
            f"{what} {str(path)!r} lies inside {found.description} at {str(found.path)!r}; writing there would "
            "change that artifact: choose a location outside it"
        )


def check_output(
    path: str | Path,
    kind: str,
    what: str,
    *,
    id: str | None = None,
    replace: bool = True,
    error: type[SmarError] = ArtifactError,
) -> Path:
    """Check, before any work starts, that a folder of ``kind`` may be written at ``path``; return it absolute.

    Parameters
    ----------
    path : path
        The output folder.
    kind : str
        What will be written (one of :data:`KINDS`).
    what : str
        Named in the message, e.g. ``"run folder"`` or ``"--out"``.
    id : str, optional
        The identity of what will be written (e.g. the campaign an export comes from): a folder of the same kind
        but another id is refused.
    replace : bool
        Whether an earlier folder of the same kind and id may be replaced or resumed (False: only a new or empty
        folder is accepted, e.g. a campaign is never planned over another).
    error : SmarError subclass
        What to raise.

    Raises
    ------
    SmarError
        ``path`` is a file, cannot be written, lies inside another artifact, or holds anything but an empty
        folder or (with ``replace``) an artifact of the same kind and id: one line naming what is there.
    """
    path = check_output_location(path, "folder", what, error)
    if path.parent == path:
        raise error(f"{what} {str(path)!r} is a filesystem root; choose a folder for {DESCRIPTIONS[kind]}")
    check_not_inside(path, what, error)
    if not path.exists() or not any(path.iterdir()):
        return path
    found = artifact_at(path)
    new = DESCRIPTIONS[kind]
    if found is None:
        raise error(
            f"{what} {str(path)!r} is a non-empty folder that is not a smar-ltr artifact; refusing to replace its "
            f"files with {new}: choose a new or empty folder"
        )
    if found.kind != kind:
        raise error(
            f"{what} {str(path)!r} holds {found.description}, not {new}; refusing to replace it: choose a new "
            "or empty folder"
        )
    if not replace:
        raise error(f"{what} {str(path)!r} already holds {found.description}; choose a new or empty folder")
    if id is not None and found.id is not None and found.id != id:
        raise error(
            f"{what} {str(path)!r} holds {found.description} of {found.id!r}, not of {id!r}; refusing to "
            "replace it: choose a new or empty folder"
        )
    return path
