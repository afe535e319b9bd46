"""What annotators receive: a worklist CSV per round, the same tasks as a Label Studio import, and its config.

Label Studio formats (labelstud.io/guide/task_format, /guide/export): a tasks file is a JSON list of
``{"data": {...}}`` objects; the labelling configuration is XML whose ``$field`` placeholders name keys of
``data``. Our config shows the query and the item and asks one grade with a single-choice ``Choices`` tag named
``label``; Label Studio's JSON export then holds, per task, ``annotations[*].result[*]`` entries of
``{"from_name": "label", "type": "choices", "value": {"choices": ["<grade>"]}}``, and its JSON-MIN export
flattens that to ``"label": "<grade>"`` next to the task's data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pandas as pd

from smar_ltr.campaign.pool import DISPLAY_FIELDS, MODAL_RANK, QUERY_FIELD, TASK_ID
from smar_ltr.campaign.store import ROUNDS_DIR, write_durably
from smar_ltr.schema import ITEM_ID, MODALITY, QID

ROUND, LABEL, CAMPAIGN = "round", "label", "campaign"
#: Name of the Label Studio control that holds the grade (``from_name`` in its exports).
LS_CONTROL = "label"


def round_paths(directory: Path, round_number: int) -> tuple[Path, Path]:
    """``rounds/round-NNN.csv`` and ``rounds/round-NNN.labelstudio.json`` of a round."""
    stem = Path(directory) / ROUNDS_DIR / f"round-{round_number:03d}"
    return stem.with_suffix(".csv"), stem.with_suffix(".labelstudio.json")


def worklist(pool: pd.DataFrame, task_ids: list[str], round_number: int, campaign_id: str = "") -> pd.DataFrame:
    """One row per task: ``task_id, campaign, round, qid, item_id, modality, modal_rank``, the query and display
    fields the pages have, and an empty ``label``; rows in pool order (query by query). ``campaign`` (left out
    when ``campaign_id`` is empty: campaigns planned before it existed) lets an import refuse another campaign's
    answers, whose task ids look the same."""
    rows = pool[pool[TASK_ID].isin(set(task_ids))]
    text = [c for c in (QUERY_FIELD, *DISPLAY_FIELDS) if c in rows.columns]
    out = rows[[TASK_ID, QID, ITEM_ID, MODALITY, MODAL_RANK, *text]].copy()
    out.insert(1, ROUND, round_number)
    if campaign_id:
        out.insert(1, CAMPAIGN, campaign_id)
    out[LABEL] = ""
    return out.reset_index(drop=True)


def _display(row: dict[str, Any]) -> str:
    lines = [f"{f}: {row[f]}" for f in DISPLAY_FIELDS if str(row.get(f, "") or "")]
    lines.append(f"{row[MODALITY]} result #{row[MODAL_RANK]} (item {row[ITEM_ID]})")
    return "\n".join(lines)


def labelstudio_tasks(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Label Studio import tasks for a worklist: ``[{"data": {...}}]`` with every worklist column (but the empty
    label) plus ``display``, the item's fields as one text."""
    tasks = []
    for record in frame.drop(columns=[LABEL]).to_dict(orient="records"):
        row = {str(k): v for k, v in record.items()}
        data = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        data.setdefault(QUERY_FIELD, "")
        data["display"] = _display(row)
        tasks.append({"data": data})
    return tasks


def labelstudio_config(label_scale: tuple[int, int]) -> str:
    """Labelling configuration (XML) for the tasks: the query, the item, one required grade of the scale."""
    lo, hi = label_scale
    choices = "\n".join(f"    <Choice value={quoteattr(str(g))}/>" for g in range(lo, hi + 1))
    return (
        "<View>\n"
        '  <Header value="Query: $query"/>\n'
        '  <Text name="item" value="$display"/>\n'
        f'  <Header value="Relevance of this result to the whole page (grade {lo} = not relevant, {hi} = best)"/>\n'
        f'  <Choices name="{LS_CONTROL}" toName="item" choice="single-radio" showInline="true" required="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def write_round_files(
    directory: Path, pool: pd.DataFrame, task_ids: list[str], round_number: int, campaign_id: str = ""
) -> tuple[Path, Path]:
    """Write a round's CSV and Label Studio tasks unless they exist (an annotator may be filling them in place)."""
    csv_path, ls_path = round_paths(directory, round_number)
    frame = worklist(pool, task_ids, round_number, campaign_id)
    if not csv_path.is_file():
        write_durably(csv_path, lambda tmp: frame.to_csv(tmp, index=False))
    if not ls_path.is_file():
        text = json.dumps(labelstudio_tasks(frame), indent=1, ensure_ascii=False)
        write_durably(ls_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return csv_path, ls_path
