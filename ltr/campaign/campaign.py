"""An annotation campaign in a directory: plan, import answers round by round, correct, skip, status.

Each function takes data (page splits, paths) and returns data; the CLI (``smar-ltr annotate``) loads the pages
named in the campaign's settings and formats what these return. Layout and durability: :mod:`.store`.

A team: ``annotators=K`` writes K copies of every task (one per annotator); an item's grade is aggregated from its
K answers once they are all in (:mod:`.agreement`). Every answer, skip and correction is logged in ``state.json``
with who, when, the old and the new value; after any change the rounds are replayed from the answers, so a
correction that changes what iso-anchor inferred re-opens the lists it touches (the next round asks what the new
answer requires) and a skipped task is searched around or replaced (:mod:`.rounds`).
"""

from __future__ import annotations

import copy as copy_module
import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.annotation.budget import global_allowance
from smar_ltr.campaign import store
from smar_ltr.campaign.agreement import AGGREGATES, aggregate_grades, ordinal_alpha
from smar_ltr.campaign.answers import Vote, check_answers, read_answers
from smar_ltr.campaign.integrity import check_settings, check_state
from smar_ltr.campaign.pool import SPLIT, TASK_ID, annotated_roles, build_pool, split_part
from smar_ltr.campaign.rounds import estimate_rounds_left, levels_of, next_batch, split_progress
from smar_ltr.campaign.store import SKIP, CampaignState, campaign_lock, check_campaign_dir, read_json
from smar_ltr.campaign.worklist import (
    default_grade_notes,
    labelstudio_config,
    remove_pending_files,
    round_paths,
    worklist,
    write_round_files,
)
from smar_ltr.core.artifact_kinds import CAMPAIGN, artifact_at, check_output
from smar_ltr.core.atomic import make_temporary_dir
from smar_ltr.errors import CampaignError, ConfigError
from smar_ltr.page_table.schema import MODALITY, QID
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.rankers import GBDTRanker

#: Strategies a campaign runs (``all`` labels everything; ``given``/``auto`` choose nothing to ask).
CAMPAIGN_STRATEGIES: tuple[str, ...] = ("top", "band", "random", "iso-anchor")
#: Most annotators (copies of each task) a campaign collects per item.
MAX_ANNOTATORS = 20


@dataclass(frozen=True)
class RoundReport:
    """Where a campaign stands after ``plan`` or ``import``.

    Attributes
    ----------
    round : int
        Current round (the last issued).
    batch_csv, labelstudio_json : Path or None
        Files of the tasks to answer now: the round's files, or its ``round-NNN.pending.*`` files after a partial
        import; None once the campaign is done.
    tasks : int
        Task copies still without an answer (0 when done).
    done : bool
        Every round is answered; export the campaign.
    new_answers : int
        Answers (grades, one per task copy) this call recorded for the first time.
    labels_used, label_budget : int
        Items with a grade so far (what an export labels), and the budget's judgement allowance.
    batch : DataFrame
        The task copies still to answer (worklist rows).
    new_skips, corrections : int
        Skips (unjudgeable) and changed answers this call recorded.
    all_skipped : bool
        Every answer of the file imported was a skip.
    ties : list of dict
        Items this call aggregated by breaking a tie: ``{"task_id", "grades", "grade"}``.
    asked : list of str
        Tasks this call added to what the campaign asks (a new round, or the current one extended around a skip).
    reopened : bool
        A correction or a skip changed what the campaign had inferred, and ``asked`` is what it now requires.
    """

    round: int
    batch_csv: Path | None
    labelstudio_json: Path | None
    tasks: int
    done: bool
    new_answers: int
    labels_used: int
    label_budget: int
    batch: pd.DataFrame
    new_skips: int = 0
    corrections: int = 0
    all_skipped: bool = False
    ties: list[dict[str, Any]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    reopened: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the batch as a count)."""
        return {
            "round": self.round,
            "batch_csv": str(self.batch_csv) if self.batch_csv else None,
            "labelstudio_json": str(self.labelstudio_json) if self.labelstudio_json else None,
            "tasks": self.tasks,
            "done": self.done,
            "new_answers": self.new_answers,
            "new_skips": self.new_skips,
            "corrections": self.corrections,
            "all_skipped": self.all_skipped,
            "ties": self.ties,
            "asked": len(self.asked),
            "reopened": self.reopened,
            "labels_used": self.labels_used,
            "label_budget": self.label_budget,
        }


def parse_label_scale(text: str) -> tuple[int, int]:
    """``"0..4"`` to ``(0, 4)``; the grades annotators may give, at least two of them."""
    lo, sep, hi = str(text).partition("..")
    try:
        scale = (int(lo), int(hi))
    except ValueError:
        raise ConfigError(f"label scale {text!r} is not LOW..HIGH with integers, e.g. 0..4") from None
    if not sep or not 0 <= scale[0] < scale[1] <= 30:
        raise ConfigError(f"label scale {text!r} must be LOW..HIGH with 0 <= LOW < HIGH <= 30, e.g. 0..4")
    return scale


def load_settings(directory: str | Path) -> dict[str, Any]:
    """The settings a campaign was planned with (``campaign.json``)."""
    return check_settings(read_json(check_campaign_dir(Path(directory)) / store.SETTINGS))


def _check_new_dir(out: Path) -> None:
    """A campaign is planned into a new or empty folder outside any other artifact (never over a campaign)."""
    found = artifact_at(out)
    if found is not None and found.kind == CAMPAIGN:
        raise CampaignError(
            f"{str(out)!r} already holds an annotation campaign; continue it with `smar-ltr annotate import`, "
            "or plan into a new directory"
        )
    check_output(out, CAMPAIGN, "campaign folder", replace=False, error=CampaignError)


def plan_campaign(
    out: str | Path,
    splits: PageSplits,
    *,
    strategy: str,
    budget: float,
    seed: int = 0,
    band: int = 0,
    label_scale: tuple[int, int] = (0, 4),
    models: dict[str, GBDTRanker] | None = None,
    modal_features: dict[str, list[str]] | None = None,
    source: dict[str, Any] | None = None,
    label_validation: bool = True,
    annotators: int = 1,
    aggregate: str = "majority",
    grade_notes: dict[int, str] | None = None,
    show_modal_rank: bool = False,
) -> RoundReport:
    """Start a campaign: score the pool, fix the settings and write round 1.

    Parameters
    ----------
    out : path
        New (or empty) campaign directory; an existing campaign is refused.
    splits : PageSplits
        The pages; ``train`` and ``valid`` (when present) are annotated, their page labels are never read.
    strategy, budget, seed, band :
        As for :func:`smar_ltr.annotation.budget.annotate` (``all`` is not a campaign strategy).
    label_scale : (int, int)
        Lowest and highest grade; iso-anchor searches the levels ``high .. low + 1``.
    models, modal_features : dict, optional
        Single-modal rankers scoring the pool (none: the pages ship ``upstream_score``).
    source : dict, optional
        How to load the pages again (dataset name, data_dir, options, seed), stored for import and export.
    label_validation : bool
        Also annotate the validation pages under the budget. Only early stopping on labels reads them
        (:func:`smar_ltr.annotation.label_cost.validation_read_mode`); stopping on the consistency loss needs the pages
        but no label, so a campaign for such a fit leaves them out and spends the whole budget on training pages.
    annotators : int
        Answers collected per item (K copies of each task, one per annotator), 1 to :data:`MAX_ANNOTATORS`.
    aggregate : str
        How an item's K answers become its grade: ``majority``, ``median`` or ``strict`` (:mod:`.agreement`).
    grade_notes : dict of int to str, optional
        A short description of grades shown to annotators (default: :func:`.worklist.default_grade_notes`).
    show_modal_rank : bool
        Show annotators each item's single-modal rank (hidden by default: it can bias a grader).
    """
    if strategy not in CAMPAIGN_STRATEGIES:
        raise ConfigError(f"campaign strategy must be one of {', '.join(CAMPAIGN_STRATEGIES)}, got {strategy!r}")
    label_scale = parse_label_scale(f"{label_scale[0]}..{label_scale[1]}")  # the CLI's check, for API callers
    if isinstance(annotators, bool) or not isinstance(annotators, int) or not 1 <= annotators <= MAX_ANNOTATORS:
        raise ConfigError(f"annotators per item must be an integer from 1 to {MAX_ANNOTATORS}, got {annotators!r}")
    if aggregate not in AGGREGATES:
        raise ConfigError(f"aggregation rule must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    notes = {**default_grade_notes(label_scale), **(grade_notes or {})}
    if set(notes) != set(range(label_scale[0], label_scale[1] + 1)):
        raise ConfigError(f"grade notes describe grades outside the label scale {label_scale[0]}..{label_scale[1]}")
    out = Path(out)
    _check_new_dir(out)
    roles = annotated_roles(splits) if label_validation else ("train",)
    pool = build_pool(splits, roles, models or {}, modal_features or {})
    settings: dict[str, Any] = {
        "format_version": store.FORMAT_VERSION,
        "source": source or {},
        "strategy": strategy,
        "budget": float(budget),
        "seed": int(seed),
        "band": int(band),
        "label_scale": list(label_scale),
        "levels": levels_of(label_scale),
        "splits": list(roles),
        "allowance": {r: global_allowance(float(budget), int((pool["split"] == r).sum())) for r in roles},
        "fingerprint": store.pages_fingerprint(splits, roles),
        "annotators": annotators,
        "aggregate": aggregate,
        "show_modal_rank": bool(show_modal_rank),
        "grade_notes": {str(g): notes[g] for g in sorted(notes)},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # what the answers depend on, not when it was planned: the same plan gives the same worklists byte for byte
    keys = ("strategy", "budget", "seed", "band", "label_scale", "splits", "fingerprint", "annotators", "aggregate")
    identity = json.dumps({k: settings[k] for k in keys}, sort_keys=True)
    # a leading letter: spreadsheets keep it text (an all-digit or "123e45..." id would be turned into a number)
    settings["campaign_id"] = "c" + hashlib.sha256(identity.encode()).hexdigest()[:12]
    state = CampaignState()
    _advance(state, pool, settings)  # validates strategy and budget through budget.annotate
    if state.done:  # e.g. a band past the end of every list: a campaign that asks nothing is a mistake
        raise ConfigError(
            f"strategy {strategy} at budget {budget} (band {band}) asks for no label on these pages; "
            "choose a smaller band or another strategy"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    # named like every atomic writer's temporary (``.<name>.tmp-<pid>-``): a plan that was killed leaves one that
    # the next write next to ``out`` removes, and an interrupted command removes its own
    tmp = make_temporary_dir(out)
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a campaign directory is shared with annotators
        store.write_json(tmp / store.SETTINGS, settings)
        store.write_durably(tmp / store.POOL, lambda p: pool.to_parquet(p, index=False))
        config = labelstudio_config(label_scale, notes)
        store.write_durably(tmp / store.LS_CONFIG, lambda p: Path(p).write_text(config))
        store.save_state(tmp, state)
        _ensure_round_files(tmp, pool, state, settings)
        try:
            os.replace(tmp, out)  # atomic; fails if another plan filled ``out`` meanwhile
        except OSError:
            raise CampaignError(
                f"{str(out)!r} was filled by another command meanwhile; plan into a new directory"
            ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _report(out, pool, settings, state)


def copies_of(settings: dict[str, Any]) -> int:
    """Answers a campaign collects per item (1 for campaigns planned before several annotators existed)."""
    return int(settings.get("annotators", 1))


def _advance(state: CampaignState, pool: pd.DataFrame, settings: dict[str, Any]) -> list[str]:
    """Replay the rounds from the answers and skips: what the campaign needs now becomes ``state.open``; tasks never
    asked before extend the current round while it still has open tasks, else they are the next round; nothing
    needed marks the campaign done. Returns the tasks newly asked."""
    needed = next_batch(pool, settings, state.answers, frozenset(state.unjudgeable()))
    if not needed:
        state.done, state.open = True, []
        return []
    state.done = False
    issued = state.round_of()
    fresh = [t for t in needed if t not in issued]
    if fresh:
        current = set(state.rounds[-1]) if state.rounds else set()
        if any(t in current for t in needed if t in issued):
            state.rounds[-1].extend(fresh)
        else:
            state.rounds.append(fresh)
    state.open = needed
    return fresh


def _open_slots(state: CampaignState, settings: dict[str, Any], tasks: list[str]) -> list[tuple[str, str]]:
    """(task, copy) of every copy of ``tasks`` without an answer."""
    k = copies_of(settings)
    return [(t, str(c)) for t in tasks for c in range(1, k + 1) if str(c) not in state.votes.get(t, {})]


def _worklist(
    pool: pd.DataFrame, state: CampaignState, settings: dict[str, Any], slots: list[tuple[str, str]]
) -> pd.DataFrame:
    return worklist(
        pool,
        slots,
        state.round_of(),
        settings.get("campaign_id", ""),
        copies_of(settings),
        bool(settings.get("show_modal_rank", False)),
    )


def _ensure_round_files(directory: Path, pool: pd.DataFrame, state: CampaignState, settings: dict[str, Any]) -> None:
    """The current round's files (written once), and its pending files while only part of it is open."""
    if not state.rounds or state.done:
        remove_pending_files(directory, None)
        return
    show = bool(settings.get("show_modal_rank", False))
    k = copies_of(settings)
    every = [(t, str(c)) for t in state.rounds[-1] for c in range(1, k + 1)]
    write_round_files(directory, _worklist(pool, state, settings, every), pool, state.round, show)
    open_slots = _open_slots(state, settings, state.pending())
    if open_slots and set(open_slots) != set(every):
        write_round_files(directory, _worklist(pool, state, settings, open_slots), pool, state.round, show, True)
        remove_pending_files(directory, state.round)
    else:
        remove_pending_files(directory, None)


def _read_pool(directory: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(directory / store.POOL)
    except (OSError, ValueError) as exc:
        raise CampaignError(
            f"{store.POOL} of {str(directory)!r} cannot be read ({exc}); the campaign is damaged"
        ) from None


def check_pages(settings: dict[str, Any], splits: PageSplits) -> None:
    """Refuse pages that differ from those the campaign was planned on."""
    roles, recorded = tuple(settings["splits"]), settings["fingerprint"]
    legacy = not str(recorded).startswith("v2:")  # planned before the fingerprint hashed arrays
    current = store.pages_fingerprint_v1(splits, roles) if legacy else store.pages_fingerprint(splits, roles)
    if current != recorded:
        raise CampaignError(
            "the pages changed since this campaign was planned (fingerprint differs); use the same page tables, "
            "or plan a new campaign on the new pages"
        )


def _report(
    directory: Path,
    pool: pd.DataFrame,
    settings: dict[str, Any],
    state: CampaignState,
    change: dict[str, Any] | None = None,
) -> RoundReport:
    slots = _open_slots(state, settings, state.pending())
    csv_path: Path | None = None
    ls_path: Path | None = None
    if not state.done:
        pending_csv, pending_ls = round_paths(directory, state.round, pending=True)
        use_pending = pending_csv.is_file() and pending_ls.is_file()
        csv_path, ls_path = (pending_csv, pending_ls) if use_pending else round_paths(directory, state.round)
    change = change or {}
    return RoundReport(
        round=state.round,
        batch_csv=csv_path,
        labelstudio_json=ls_path,
        tasks=len(slots),
        done=state.done,
        new_answers=change.get("answers", 0),
        labels_used=len(state.answers),
        label_budget=int(sum(settings["allowance"].values())),
        batch=_worklist(pool, state, settings, slots),
        new_skips=change.get("skips", 0),
        corrections=change.get("corrections", 0),
        all_skipped=change.get("all_skipped", False),
        ties=change.get("ties", []),
        asked=change.get("asked", []),
        reopened=change.get("reopened", False),
    )


def _open(directory: Path) -> tuple[dict[str, Any], pd.DataFrame, CampaignState]:
    settings = load_settings(directory)
    pool = _read_pool(directory)
    return settings, pool, check_state(store.load_state(directory), pool, settings)


def open_campaign(directory: Path, splits: PageSplits) -> tuple[dict[str, Any], pd.DataFrame, CampaignState]:
    """Settings, pool and state of a campaign whose pages are ``splits`` (call under the lock)."""
    check_pages(load_settings(directory), splits)
    return _open(directory)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def item_ties(state: CampaignState, settings: dict[str, Any], tasks: Any = None) -> list[dict[str, Any]]:
    """Items (of ``tasks``, default all) whose grade came from breaking a tie: ``{"task_id", "grades", "grade"}``."""
    rule = str(settings.get("aggregate", "majority"))
    out = []
    for t in sorted(state.answers if tasks is None else set(tasks) & set(state.answers)):
        grades = sorted(int(v["value"]) for v in state.votes.get(t, {}).values() if v["value"] != SKIP)
        if len(grades) > 1 and aggregate_grades(grades, rule)[1]:
            out.append({"task_id": t, "grades": grades, "grade": state.answers[t]})
    return out


def _settle(state: CampaignState, settings: dict[str, Any], task: str, where: str) -> None:
    """The item's grade from its copies: none while one is skipped or an answer is missing."""
    values = [v["value"] for v in state.votes.get(task, {}).values()]
    if SKIP in values or len(values) < copies_of(settings):
        state.answers.pop(task, None)
        return
    grades = [int(v) for v in values]
    grade, _ = aggregate_grades(grades, str(settings.get("aggregate", "majority")))
    if grade is None:
        shown = ", ".join(map(str, sorted(grades)))
        raise CampaignError(
            f"{where}: the {len(grades)} answers of task {task} disagree ({shown}) and this campaign aggregates "
            "strictly (every answer the same grade); correct the answers to agree, or plan the campaign with the "
            "majority or median rule"
        )
    state.answers[task] = grade


def _commit(
    directory: Path,
    pool: pd.DataFrame,
    settings: dict[str, Any],
    state: CampaignState,
    votes: list[Vote],
    source: str,
    reason: str = "",
    import_entry: dict[str, Any] | None = None,
) -> tuple[CampaignState, dict[str, Any]]:
    """Record ``votes`` in a copy of ``state``, log them, settle their items, replay the rounds and commit (one
    atomic write of ``state.json``, only when something changed). Returns the new state and what changed."""
    new = copy_module.deepcopy(state)
    now = _now()
    counts: Counter[str] = Counter()
    changed: set[str] = set()
    for vote in votes:
        slot = new.votes.setdefault(vote.task_id, {})
        old = slot.get(vote.copy, {}).get("value")
        entry: dict[str, Any] = {"value": vote.value, "who": vote.who, "when": vote.when or now}
        if reason:
            entry["reason"] = reason
        slot[vote.copy] = entry
        event = "correction" if old is not None else ("skip" if vote.value == SKIP else "answer")
        counts[event if event != "answer" else "answers"] += 1
        if vote.value == SKIP and old is not None:
            counts["skips"] += 1
        record: dict[str, Any] = {"event": event, "when": vote.when or now, "recorded": now, "source": source}
        record |= {"task": vote.task_id, "copy": vote.copy, "who": vote.who, "old": old, "new": vote.value}
        if reason:
            record["reason"] = reason
        new.log.append(record)
        changed.add(vote.task_id)
    before = {t: state.answers.get(t) for t in changed}
    for task in sorted(changed):
        _settle(new, settings, task, source)
    revised = any(before[t] is not None and before[t] != new.answers.get(t) for t in changed) or any(
        v.value == SKIP for v in votes
    )
    fresh = _advance(new, pool, settings)
    reopened = bool(fresh) and revised
    if fresh:
        new.log.append(
            {"event": "round", "when": now, "source": source, "round": new.round, "tasks": fresh, "reopened": reopened}
        )
    if import_entry is not None and votes:
        new.imports.append(
            {**import_entry, "answers": counts["answers"], "skips": counts["skip"], "corrections": counts["correction"]}
        )
    if new.to_dict() != state.to_dict():
        store.save_state(directory, new)
    _ensure_round_files(directory, pool, new, settings)
    return new, {
        "answers": counts["answers"],
        "skips": counts["skip"] + counts["skips"],
        "corrections": counts["correction"],
        "ties": item_ties(new, settings, changed),
        "asked": fresh,
        "reopened": reopened,
    }


def import_answers(directory: str | Path, splits: PageSplits, answers_file: str | Path) -> RoundReport:
    """Record the answers of a filled worklist or Label Studio export and issue the next round when due.

    Accepted whole or refused whole (:func:`~smar_ltr.campaign.answers.check_answers`); the new state is committed
    by one atomic rename, so a crash leaves the campaign as before, and a file imported twice changes nothing. A
    changed answer is a correction (logged with the old value); a skip marks its task unjudgeable.
    """
    directory = check_campaign_dir(Path(directory))
    answers_file = Path(answers_file)
    with campaign_lock(directory):
        settings, pool, state = open_campaign(directory, splits)
        rows = read_answers(answers_file)
        scale = (int(settings["label_scale"][0]), int(settings["label_scale"][1]))
        votes = check_answers(rows, pool, state, scale, settings.get("campaign_id", ""), copies_of(settings))
        entry = {"file": answers_file.name, "sha256": store.sha256_bytes(answers_file.read_bytes())}
        state, change = _commit(
            directory, pool, settings, state, votes, f"import {answers_file.name}", import_entry=entry
        )
        given = [r for r in rows if r.labels or r.skipped]
        change["all_skipped"] = bool(given) and all(r.skipped and not r.labels for r in given)
        return _report(directory, pool, settings, state, change)


def _check_task(pool: pd.DataFrame, state: CampaignState, task: str) -> None:
    if task not in set(pool[TASK_ID]):
        raise CampaignError(f"task_id {task!r} is not a task of this campaign; use a task_id of its worklists")
    if task not in state.round_of():
        raise CampaignError(f"task {task} has not been asked in any round yet (current round {state.round})")


def _copy_for(settings: dict[str, Any], task: str, copy: int | None, what: str) -> str:
    k = copies_of(settings)
    if copy is None:
        if k > 1:
            raise CampaignError(f"task {task} has {k} copies (one per annotator); name the copy to {what} (1..{k})")
        return "1"
    if isinstance(copy, bool) or not isinstance(copy, int) or not 1 <= copy <= k:
        raise CampaignError(f"copy {copy!r} of task {task} is not one of 1..{k}")
    return str(copy)


def correct_answer(
    directory: str | Path, task: str, label: int | str, *, copy: int | None = None, who: str = "", reason: str = ""
) -> RoundReport:
    """Change the recorded answer of a task (copy) to ``label``, logged with the old one; replays the rounds.

    A correction that changes what iso-anchor inferred re-opens the lists it touches: the report's ``asked`` are
    the tasks the new answer requires. Refused (nothing written): an unknown task, a task not asked yet, a copy
    without an answer to correct, a label outside the scale.
    """
    directory = check_campaign_dir(Path(directory))
    with campaign_lock(directory):
        settings, pool, state = _open(directory)
        _check_task(pool, state, task)
        slot = _copy_for(settings, task, copy, "correct")
        lo, hi = settings["label_scale"]
        try:
            grade = int(str(label).strip())
        except ValueError:
            grade = None
        if grade is None or not lo <= grade <= hi:
            raise CampaignError(f"label {label!r} is not a grade of the label scale {lo}..{hi}; give an integer")
        if slot not in state.votes.get(task, {}):
            raise CampaignError(
                f"task {task}{f' copy {slot}' if copies_of(settings) > 1 else ''} has no answer yet; answer it in "
                "the round's worklist (a correction changes a recorded answer)"
            )
        votes = [] if state.votes[task][slot]["value"] == grade else [Vote(task, slot, grade, who, "", "correct")]
        state, change = _commit(directory, pool, settings, state, votes, "annotate correct", reason)
        return _report(directory, pool, settings, state, change)


def skip_task(directory: str | Path, task: str, reason: str, *, copy: int | None = None, who: str = "") -> RoundReport:
    """Mark a task unjudgeable (broken link, foreign language, ...), logged with the reason; replays the rounds.

    iso-anchor then searches around it and ``top``/``band``/``random`` replace it by the next candidate of its
    list; with several annotators one skipped copy makes the item unjudgeable. Without ``copy`` the skip goes to
    the first copy still without an answer (copy 1 when all have one).
    """
    directory = check_campaign_dir(Path(directory))
    if not str(reason).strip():
        raise CampaignError(f"say why task {task} cannot be judged (a reason, e.g. 'broken link')")
    with campaign_lock(directory):
        settings, pool, state = _open(directory)
        _check_task(pool, state, task)
        recorded = state.votes.get(task, {})
        if copy is None:
            free = [str(c) for c in range(1, copies_of(settings) + 1) if str(c) not in recorded]
            slot = free[0] if free else "1"
        else:
            slot = _copy_for(settings, task, copy, "skip")
        votes = [] if recorded.get(slot, {}).get("value") == SKIP else [Vote(task, slot, SKIP, who, "", "skip")]
        state, change = _commit(directory, pool, settings, state, votes, "annotate skip", str(reason).strip())
        return _report(directory, pool, settings, state, change)


def _who(vote: dict[str, Any], copy: str, copies: int) -> str:
    return str(vote.get("who") or "") or (f"copy {copy}" if copies > 1 else "unnamed")


def campaign_status(directory: str | Path) -> dict[str, Any]:
    """Labels spent and budget, rounds, lists settled, rounds likely left, done; the team's agreement and work.

    Returns
    -------
    dict
        ``labels_used, label_budget, rounds, rounds_done, pending, lists_settled, lists_total, rounds_left, done,
        strategy, budget``; and ``annotators, aggregate, agreement`` (``{"alpha", "items"}``: Krippendorff's
        ordinal alpha over the items with two or more grades), ``annotator_counts`` (``{who: {"answers",
        "skips"}}``, who as the annotator named it, else the copy), ``ties``, ``skipped`` (``{"task_id", "who",
        "reason"}``), ``corrections`` (``{"task_id", "copy", "who", "when", "old", "new"}``, oldest first) and
        ``reopened`` (``{"round", "tasks", "lists"}``: rounds a correction or a skip made the campaign ask).
    """
    directory = check_campaign_dir(Path(directory))
    settings, pool, state = _open(directory)
    skipped = frozenset(state.unjudgeable())
    parts = {r: split_part(pool, r) for r in settings["splits"]}
    progress = [split_progress(parts[r], settings, state.answers, skipped) for r in settings["splits"]]
    pending = len(_open_slots(state, settings, state.pending()))
    k = copies_of(settings)
    counts: dict[str, dict[str, int]] = {}
    units = []
    for task in sorted(state.votes):
        grades = []
        for c, vote in sorted(state.votes[task].items()):
            who = _who(vote, c, k)
            kind = "skips" if vote["value"] == SKIP else "answers"
            counts.setdefault(who, {"answers": 0, "skips": 0})[kind] += 1
            if vote["value"] != SKIP:
                grades.append(int(vote["value"]))
        units.append(grades)
    alpha = ordinal_alpha(units)
    lists_of = pool.set_index(TASK_ID)[[SPLIT, QID, MODALITY]]
    reopened = [
        {"round": e["round"], "tasks": len(e["tasks"]), "lists": len(lists_of.loc[e["tasks"]].drop_duplicates())}
        for e in state.log
        if e.get("event") == "round" and e.get("reopened")
    ]
    return {
        "strategy": settings["strategy"],
        "budget": settings["budget"],
        "labels_used": len(state.answers),
        "label_budget": int(sum(settings["allowance"].values())),
        "rounds": state.round,
        "rounds_done": state.round - (1 if pending else 0),
        "pending": pending,
        "lists_settled": sum(p.lists_settled for p in progress),
        "lists_total": sum(p.lists_total for p in progress),
        "rounds_left": 0 if state.done else estimate_rounds_left(progress, pending),
        "done": state.done,
        "annotators": k,
        "aggregate": settings.get("aggregate", "majority"),
        "agreement": {"alpha": alpha, "items": sum(len(u) >= 2 for u in units)},
        "annotator_counts": counts,
        "ties": item_ties(state, settings),
        "skipped": [
            {"task_id": t, "who": _who(v, c, k), "reason": v.get("reason", "")}
            for t in sorted(skipped)
            for c, v in sorted(state.votes[t].items())
            if v["value"] == SKIP
        ],
        "corrections": [
            {key: e[key if key != "task_id" else "task"] for key in ("task_id", "copy", "who", "when", "old", "new")}
            for e in state.log
            if e.get("event") == "correction"
        ],
        "reopened": reopened,
    }
