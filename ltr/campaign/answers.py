"""Read annotators' answers (a filled worklist CSV or a Label Studio JSON / JSON-MIN export) and check them.

An answers file is accepted whole or refused whole: the first problem is one :class:`CampaignError` line that
names the row and the fix. Rows with an empty label are tasks not answered yet and are passed over; a row that
repeats an answer already recorded is a no-op (importing a file twice changes nothing), and a row that gives a
recorded copy another answer is a correction (the campaign logs the old and the new answer).

Unjudgeable tasks: Label Studio's skip (an annotation with ``was_cancelled``, when the task has no graded
annotation) and the label ``skip`` in a worklist CSV. Who answered: Label Studio's ``completed_by`` (JSON) or
``annotator`` (JSON-MIN), the CSV's ``annotator`` column.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.campaign.pool import TASK_ID
from smar_ltr.campaign.store import SKIP, CampaignState
from smar_ltr.campaign.worklist import ANNOTATOR, CAMPAIGN, COPY, LABEL, LS_CONTROL, ROUND
from smar_ltr.errors import CampaignError
from smar_ltr.page_table.schema import ITEM_ID, QID


@dataclass
class AnswerRow:
    """One answer as read: where it came from, the task it names and the label value(s) given (raw text)."""

    where: str
    task_id: str
    labels: list[str] = field(default_factory=list)
    round: str = ""
    campaign: str = ""
    qid: str = ""
    item_id: str = ""
    #: False for Label Studio records, where one task may come back once per annotator.
    once: bool = True
    copy: str = ""
    who: str = ""
    skipped: bool = False
    when: str = ""


@dataclass(frozen=True)
class Vote:
    """An answer to record: copy ``copy`` of task ``task_id`` gets ``value`` (a grade or ``"skip"``)."""

    task_id: str
    copy: str
    value: int | str
    who: str
    when: str
    where: str


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def read_csv_answers(path: Path) -> list[AnswerRow]:
    """Rows of a filled worklist CSV (``task_id`` and ``label`` columns required)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CampaignError(
            f"{path.name} is not a readable CSV ({exc}); import the worklist CSV a round wrote"
        ) from None
    for col in (TASK_ID, LABEL):
        if col not in frame.columns:
            semicolons = len(frame.columns) == 1 and ";" in str(frame.columns[0])
            how = "save it with commas as separators" if semicolons else "with its label column filled"
            raise CampaignError(f"{path.name} has no column {col!r}; import the worklist CSV a round wrote, {how}")
    if not len(frame):
        raise CampaignError(f"{path.name} holds no row; import the worklist CSV a round wrote, its labels filled in")
    if not frame[LABEL].map(_cell).any():
        raise CampaignError(
            f"{path.name} holds no answer: its {LABEL!r} column is empty; fill in the grades of the tasks answered"
        )
    rows = []
    for i, rec in enumerate(frame.to_dict(orient="records")):
        label = _cell(rec[LABEL])
        skipped = label.lower() == SKIP
        rows.append(
            AnswerRow(
                where=f"{path.name} line {i + 2}",
                task_id=_cell(rec[TASK_ID]),
                labels=[label] if label and not skipped else [],
                round=_cell(rec.get(ROUND)),
                campaign=_cell(rec.get(CAMPAIGN)),
                qid=_cell(rec.get(QID)),
                item_id=_cell(rec.get(ITEM_ID)),
                copy=_cell(rec.get(COPY)),
                who=_cell(rec.get(ANNOTATOR)),
                skipped=skipped,
            )
        )
    return rows


def _choices(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = value.get("choices", [])
    if isinstance(value, list):
        return [_cell(v) for v in value if _cell(v)]
    return [_cell(value)] if _cell(value) else []


def _who(value: Any) -> str:
    """Label Studio's ``completed_by`` (a user id, or an object with an email) as text."""
    if isinstance(value, dict):
        value = value.get("email") or value.get("id")
    return _cell(value)


def read_labelstudio_answers(path: Path) -> list[AnswerRow]:
    """Tasks of a Label Studio JSON export (``data`` + ``annotations``) or JSON-MIN export (flat records)."""
    try:
        tasks = json.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is accepted, as in the CSV reader
    except (UnicodeError, json.JSONDecodeError) as exc:
        raise CampaignError(
            f"{path.name} is not valid JSON ({exc}); export the project from Label Studio as JSON"
        ) from None
    if not isinstance(tasks, list):
        raise CampaignError(f"{path.name} must hold a JSON list of tasks, as Label Studio's JSON export does")
    if not tasks:
        raise CampaignError(
            f"{path.name} holds no task (an empty list); export the project from Label Studio after annotating"
        )
    rows = []
    controls: set[str] = set()  # from_name of every result, to name a renamed control when no label is found
    minimal = False  # a JSON-MIN export: no control names to report
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise CampaignError(f"{path.name} task #{i + 1} is not a JSON object; export the project as JSON")
        where = f"{path.name} task #{i + 1} (Label Studio id {task.get('id', '?')})"
        cancelled, skipped_by = False, ""
        who: list[str] = []
        when: list[str] = []
        if "data" in task or "annotations" in task:
            data = task.get("data") or {}
            labels: list[str] = []
            for annotation in task.get("annotations") or []:
                if not isinstance(annotation, dict):
                    continue
                if annotation.get("was_cancelled"):
                    cancelled = True
                    skipped_by = _who(annotation.get("completed_by"))
                    continue
                given = []
                for result in annotation.get("result") or []:
                    if isinstance(result, dict):
                        controls.add(str(result.get("from_name")))
                    if isinstance(result, dict) and result.get("from_name") == LS_CONTROL:
                        given.extend(_choices(result.get("value")))
                if given:
                    labels.extend(given)
                    who.append(_who(annotation.get("completed_by")))
                    when.append(_cell(annotation.get("updated_at") or annotation.get("created_at")))
            if cancelled and not labels:
                who, when = [skipped_by], []
        else:  # JSON-MIN: data fields and the control's value side by side
            data, labels = task, _choices(task.get(LS_CONTROL))
            who, when = [_who(task.get("annotator"))], [_cell(task.get("updated_at") or task.get("created_at"))]
            minimal = True
        rows.append(
            AnswerRow(
                where=where,
                task_id=_cell(data.get(TASK_ID)),
                labels=labels,
                round=_cell(data.get(ROUND)),
                campaign=_cell(data.get(CAMPAIGN)),
                qid=_cell(data.get(QID)),
                item_id=_cell(data.get(ITEM_ID)),
                once=False,
                copy=_cell(data.get(COPY)),
                who=", ".join(sorted({w for w in who if w})),
                skipped=cancelled and not labels,
                when=max(when, default=""),
            )
        )
    if not any(row.labels or row.skipped for row in rows):
        other = sorted(controls - {LS_CONTROL})
        keep = f"; keep the labelling config the campaign wrote (its choice control is named {LS_CONTROL!r})"
        if other:
            why = f"its results come from control(s) {', '.join(map(repr, other))}, not {LS_CONTROL!r}{keep}"
        elif minimal:
            why = f"no record has a {LS_CONTROL!r} value{keep}"
        else:
            why = "no task has an annotation; export the project after annotating (not the tasks file imported)"
        raise CampaignError(f"{path.name} holds no answer: {why}")
    return rows


def read_answers(path: Path) -> list[AnswerRow]:
    """Answers of a ``.csv`` worklist or a ``.json`` Label Studio export."""
    path = Path(path)
    if path.is_dir():
        raise CampaignError(
            f"answers file {str(path)!r} is a directory; pass the filled worklist CSV or the Label Studio export"
        )
    if not path.is_file():
        raise CampaignError(f"answers file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv_answers(path)
    if suffix == ".json":
        return read_labelstudio_answers(path)
    raise CampaignError(f"answers file {path.name!r} must be a filled worklist .csv or a Label Studio .json export")


def parse_label(row: AnswerRow, label_scale: tuple[int, int]) -> int | None:
    """The row's grade, None when unanswered; refuses non-numeric, fractional, out-of-scale or conflicting labels."""
    lo, hi = label_scale
    fix = f"write an integer grade from {lo} to {hi}"
    grades = set()
    for raw in row.labels:
        try:
            value = float(raw)
        except ValueError:
            raise CampaignError(f"{row.where}: label {raw!r} of task {row.task_id} is not a number; {fix}") from None
        if not math.isfinite(value) or value != round(value) or not lo <= value <= hi:
            raise CampaignError(
                f"{row.where}: label {raw!r} of task {row.task_id} is outside the label scale {lo}..{hi}; {fix}"
            )
        grades.add(int(value))
    if len(grades) > 1:
        shown = ", ".join(map(str, sorted(grades)))
        raise CampaignError(
            f"{row.where}: task {row.task_id} has different labels ({shown}) from its annotators; keep one annotation "
            "per task (delete the others in Label Studio), or plan the campaign with several annotators per item "
            "(one copy of each task per annotator)"
        )
    return grades.pop() if grades else None


def check_answers(
    rows: list[AnswerRow],
    pool: pd.DataFrame,
    state: CampaignState,
    label_scale: tuple[int, int],
    campaign_id: str = "",
    copies: int = 1,
) -> list[Vote]:
    """The answers of a file that change something (new ones and corrections), or a :class:`CampaignError` for its
    first bad row.

    Refused: a row of another campaign (its ``campaign`` column), a row without a task id, an unknown task id, a
    task not asked in any round yet, a row whose round, qid or item_id disagree with the task, a copy outside
    ``1..copies``, a task copy given twice in a CSV, conflicting labels for one task copy, a non-numeric or
    out-of-scale label.
    """
    keys = pool.set_index(TASK_ID)[[QID, ITEM_ID]]
    issued = state.round_of()
    seen: dict[tuple[str, str], tuple[AnswerRow, int | str | None]] = {}
    votes: dict[tuple[str, str], Vote] = {}
    for row in rows:
        tid = row.task_id
        if not tid:
            raise CampaignError(
                f"{row.where} has no task_id; keep the task_id column of the worklist as it was written"
            )
        if campaign_id and row.campaign and row.campaign != campaign_id:
            raise CampaignError(
                f"{row.where} is a task of campaign {row.campaign}, not of this one ({campaign_id}); import it into "
                "the campaign that wrote it"
            )
        if tid not in keys.index:
            raise CampaignError(
                f"{row.where}: task_id {tid!r} is not a task of this campaign; import only files this campaign wrote"
            )
        if tid not in issued:
            raise CampaignError(
                f"{row.where}: task {tid} has not been asked in any round yet (current round {state.round}); "
                "remove the row"
            )
        if row.round and row.round != str(issued[tid]):
            raise CampaignError(
                f"{row.where}: task {tid} belongs to round {issued[tid]}, not round {row.round}; "
                "do not edit the round column, or remove the row"
            )
        qid, item = keys.loc[tid, QID], keys.loc[tid, ITEM_ID]
        # the readers strip cells (a spreadsheet pads or trims them), so the pool's ids are compared stripped too
        if (row.qid and row.qid != _cell(qid)) or (row.item_id and row.item_id != _cell(item)):
            raise CampaignError(
                f"{row.where}: task {tid} is item {item!r} of query {qid!r}, but the row says item {row.item_id!r} of "
                f"query {row.qid!r}; do not edit the qid and item_id columns"
            )
        copy = row.copy or "1"
        if copy not in {str(c) for c in range(1, copies + 1)}:
            raise CampaignError(
                f"{row.where}: copy {copy!r} of task {tid} is not one of 1..{copies} (the answers this campaign "
                "collects per item); do not edit the copy column"
            )
        grade = parse_label(row, label_scale)
        value: int | str | None = SKIP if grade is None and row.skipped else grade
        slot = (tid, copy)
        if slot in seen:
            first, earlier = seen[slot]
            if earlier is not None and value is not None and earlier != value:
                what = f"copy {copy} of task {tid}" if copies > 1 else f"task {tid}"
                raise CampaignError(
                    f"{row.where} gives {what} label {value} but {first.where} gave {earlier}; "
                    "keep one answer per task, with the right grade"
                )
            if row.once:
                raise CampaignError(f"{row.where} repeats task {tid} of {first.where}; keep one row per task")
            value = value if value is not None else earlier
        seen[slot] = (row, value)
        if value is None:
            continue
        recorded = state.votes.get(tid, {}).get(copy)
        if recorded is not None and recorded["value"] == value:
            votes.pop(slot, None)
            continue
        votes[slot] = Vote(tid, copy, value, row.who, row.when, row.where)
    return list(votes.values())
