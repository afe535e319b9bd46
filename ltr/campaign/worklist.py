"""What annotators receive: a worklist CSV per round, the same tasks as a Label Studio import, and its config.

Label Studio formats (labelstud.io/guide/task_format, /guide/export): a tasks file is a JSON list of
``{"data": {...}}`` objects; the labelling configuration is XML whose ``$field`` placeholders name keys of
``data``. Our config shows the query, the item to grade and the page it belongs to (every candidate of the query in
the page's order, the item highlighted), and asks one grade with a single-choice ``Choices`` tag named ``label``
whose choices carry the grade as value and as hotkey, with a short description of the grade. Label Studio's JSON
export then holds, per task, ``annotations[*].result[*]`` entries of ``{"from_name": "label", "type": "choices",
"value": {"choices": ["<grade>"]}}`` (a skipped task: an annotation with ``was_cancelled``), and its JSON-MIN
export flattens that to ``"label": "<grade>"`` next to the task's data.

The single-modal rank of an item (``modal_rank``, "web result #1") is left out of what annotators see unless the
campaign was planned to show it: it tells a grader how another system ranked the item.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pandas as pd

from smar_ltr.campaign.pool import DISPLAY_FIELDS, MODAL_RANK, QUERY_FIELD, ROW, SPLIT, TASK_ID
from smar_ltr.campaign.store import ROUNDS_DIR, write_durably
from smar_ltr.errors import ConfigError
from smar_ltr.page_table.schema import ITEM_ID, MODALITY, QID

ROUND, LABEL, CAMPAIGN, COPY, ANNOTATOR = "round", "label", "campaign", "copy", "annotator"
PAGE_POSITION, PAGE = "page_position", "page"
#: Name of the Label Studio control that holds the grade (``from_name`` in its exports).
LS_CONTROL = "label"
#: Item fields that make a candidate's snippet on the page, first non-empty wins (then the url).
SNIPPET_FIELDS: tuple[str, ...] = ("text", "body", "caption", "answer")
SNIPPET_CHARS = 160
#: Default grade descriptions for scales of 2 to 5 grades (lowest first); longer scales interpolate the 5-grade one.
DEFAULT_NOTES: dict[int, tuple[str, ...]] = {
    2: ("not relevant", "relevant"),
    3: ("not relevant", "partly relevant", "highly relevant"),
    4: ("not relevant", "marginally relevant", "relevant", "highly relevant"),
    5: ("not relevant", "marginally relevant", "relevant", "highly relevant", "perfect: the best this page can show"),
}


def round_paths(directory: Path, round_number: int, pending: bool = False) -> tuple[Path, Path]:
    """``rounds/round-NNN.csv`` and ``rounds/round-NNN.labelstudio.json`` of a round (``round-NNN.pending.*``:
    the tasks of the round still open after a partial import)."""
    name = f"round-{round_number:03d}" + (".pending" if pending else "")
    stem = Path(directory) / ROUNDS_DIR / name
    return stem.parent / f"{name}.csv", stem.parent / f"{name}.labelstudio.json"


def default_grade_notes(label_scale: tuple[int, int]) -> dict[int, str]:
    """A short description of every grade of ``lo..hi`` (module :data:`DEFAULT_NOTES`)."""
    lo, hi = label_scale
    size = hi - lo + 1
    words = DEFAULT_NOTES.get(size)
    if words is not None:
        return {lo + i: w for i, w in enumerate(words)}
    ladder = DEFAULT_NOTES[5]
    return {g: f"{ladder[round((g - lo) / (hi - lo) * 4)]} ({g} of {lo}..{hi})" for g in range(lo, hi + 1)}


def read_grade_notes(path: str | Path, label_scale: tuple[int, int]) -> dict[int, str]:
    """Grade descriptions from a JSON file ``{"0": "not relevant", ...}`` over the defaults of the scale."""
    path = Path(path)
    lo, hi = label_scale
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"grade notes file {str(path)!r} does not exist") from None
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"grade notes file {path.name} is not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f'grade notes file {path.name} must hold a JSON object {{"GRADE": "description", ...}}')
    notes = default_grade_notes(label_scale)
    for key, text in data.items():
        if not str(key).strip().lstrip("-").isdigit() or not lo <= int(key) <= hi:
            raise ConfigError(f"grade notes file {path.name} describes grade {key!r}, not a grade of {lo}..{hi}")
        if not isinstance(text, str) or not text.strip() or "\n" in text.strip():
            raise ConfigError(f"grade notes file {path.name}: grade {key} needs a one-line text description")
        notes[int(key)] = text.strip()
    return notes


def _snippet(row: dict[Any, Any]) -> str:
    for field in (*SNIPPET_FIELDS, "url"):
        text = " ".join(str(row.get(field, "") or "").split())
        if text:
            return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"
    return ""


def page_context(pool: pd.DataFrame) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every page (split, qid) as its candidates in the page's order (table order): task id, item, modality,
    title (the item id when the pages have none), snippet and single-modal rank."""
    pages: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in pool.sort_values([SPLIT, ROW], kind="stable").to_dict(orient="records"):
        title = " ".join(str(rec.get("title", "") or "").split()) or str(rec[ITEM_ID])
        pages.setdefault((str(rec[SPLIT]), str(rec[QID])), []).append(
            {
                TASK_ID: rec[TASK_ID],
                ITEM_ID: str(rec[ITEM_ID]),
                MODALITY: str(rec[MODALITY]),
                "title": title,
                "snippet": _snippet(rec),
                MODAL_RANK: int(rec[MODAL_RANK]),
            }
        )
    return pages


def _page_text(page: list[dict[str, Any]], task_id: str, show_modal_rank: bool) -> str:
    lines = []
    for pos, cand in enumerate(page, start=1):
        mark = ">>" if cand[TASK_ID] == task_id else "  "
        rank = f" #{cand[MODAL_RANK]}" if show_modal_rank else ""
        snippet = f" - {cand['snippet']}" if cand["snippet"] else ""
        lines.append(f"{mark} {pos}. [{cand[MODALITY]}{rank}] {cand['title']}{snippet}")
    return "\n".join(lines)


def page_html(page: list[dict[str, Any]], task_id: str, show_modal_rank: bool) -> str:
    """The page as an HTML list for Label Studio's ``HyperText``: the item to grade highlighted."""
    items = []
    for cand in page:
        ours = cand[TASK_ID] == task_id
        style = "background:#fff3b0;border:2px solid #d08700;" if ours else "border:1px solid #ddd;"
        rank = f" #{cand[MODAL_RANK]}" if show_modal_rank else ""
        tag = "<b>&#9654; grade this result</b><br/>" if ours else ""
        snippet = f"<br/><span style='color:#555'>{html.escape(cand['snippet'])}</span>" if cand["snippet"] else ""
        items.append(
            f"<li style='{style}padding:4px 6px;margin:3px 0;list-style-position:inside'>{tag}"
            f"<span style='color:#1a6;font-size:90%'>[{html.escape(cand[MODALITY])}{rank}]</span> "
            f"<b>{html.escape(cand['title'])}</b>{snippet}</li>"
        )
    return "<ol style='margin:0;padding:0'>" + "".join(items) + "</ol>"


def worklist(
    pool: pd.DataFrame,
    slots: list[tuple[str, str]],
    round_of: dict[str, int],
    campaign_id: str = "",
    copies: int = 1,
    show_modal_rank: bool = False,
) -> pd.DataFrame:
    """One row per task copy to answer.

    Columns: ``task_id, campaign, round`` (``copy`` when several annotators answer each item), ``qid, item_id,
    modality`` (``modal_rank`` when shown), the query and display fields the pages have, ``page_position`` and
    ``page`` (the item's place on its page and the whole page as text, the item marked ``>>``), an empty
    ``annotator`` and an empty ``label``. Rows copy by copy (copy 1 first), then in pool order (query by query).
    ``campaign`` (left out when ``campaign_id`` is empty: campaigns planned before it existed) lets an import
    refuse another campaign's answers, whose task ids look the same.
    """
    wanted = pd.DataFrame(slots, columns=[TASK_ID, COPY], dtype=object)
    rows = pool.reset_index(drop=True).reset_index(names="_order").merge(wanted, on=TASK_ID, how="inner")
    rows = rows.assign(_copy=rows[COPY].astype(int)).sort_values(["_copy", "_order"], kind="stable")
    text = [c for c in (QUERY_FIELD, *DISPLAY_FIELDS) if c in rows.columns]
    ids = [TASK_ID, QID, ITEM_ID, MODALITY] + ([MODAL_RANK] if show_modal_rank else [])
    out = rows[ids + text].copy()
    if copies > 1:
        out.insert(1, COPY, rows["_copy"].to_numpy())
    out.insert(1, ROUND, [round_of[t] for t in rows[TASK_ID]])
    if campaign_id:
        out.insert(1, CAMPAIGN, campaign_id)
    pages = page_context(pool)
    where = [(str(s), str(q)) for s, q in zip(rows[SPLIT], rows[QID], strict=True)]
    positions = [[c[TASK_ID] for c in pages[w]].index(t) + 1 for w, t in zip(where, rows[TASK_ID], strict=True)]
    out[PAGE_POSITION] = positions
    out[PAGE] = [_page_text(pages[w], t, show_modal_rank) for w, t in zip(where, rows[TASK_ID], strict=True)]
    out[ANNOTATOR] = ""
    out[LABEL] = ""
    return out.reset_index(drop=True)


def _display(row: dict[str, Any], show_modal_rank: bool) -> str:
    lines = [f"{f}: {row[f]}" for f in DISPLAY_FIELDS if str(row.get(f, "") or "")]
    rank = f" #{row[MODAL_RANK]}" if show_modal_rank and MODAL_RANK in row else ""
    lines.append(f"{row[MODALITY]} result{rank} (item {row[ITEM_ID]})")
    return "\n".join(lines)


def labelstudio_tasks(frame: pd.DataFrame, pool: pd.DataFrame, show_modal_rank: bool = False) -> list[dict[str, Any]]:
    """Label Studio import tasks for a worklist: ``[{"data": {...}}]`` with every worklist column (but the empty
    label and annotator, and the page as text) plus ``display`` (the item's fields as one text) and ``page_html``
    (the page, the item highlighted)."""
    pages = page_context(pool)
    split_of = dict(zip(pool[TASK_ID], pool[SPLIT].astype(str), strict=True))
    tasks = []
    for record in frame.drop(columns=[LABEL, ANNOTATOR, PAGE]).to_dict(orient="records"):
        row = {str(k): v for k, v in record.items()}
        data = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        data.setdefault(QUERY_FIELD, "")
        data["display"] = _display(row, show_modal_rank)
        page = pages[(split_of[row[TASK_ID]], str(row[QID]))]
        data["page_html"] = page_html(page, row[TASK_ID], show_modal_rank)
        tasks.append({"data": data})
    return tasks


def labelstudio_config(label_scale: tuple[int, int], notes: dict[int, str] | None = None) -> str:
    """Labelling configuration (XML): the query, the item, one required grade of the scale, the page in view.

    Each ``<Choice>`` has the grade as ``value`` and as ``hotkey`` (grades 0..9; a higher grade has no single
    key), and shows its description; without explicit hotkeys Label Studio numbers the choices 1, 2, ..., so that
    pressing "3" would record grade 2 on a 0..4 scale.
    """
    lo, hi = label_scale
    notes = {**default_grade_notes(label_scale), **(notes or {})}
    choices = []
    for g in range(lo, hi + 1):
        key = f" hotkey={quoteattr(str(g))}" if g <= 9 else ""
        shown = f"<b>{g}</b> {html.escape(notes[g])}"
        choices.append(
            f"    <Choice value={quoteattr(str(g))}{key} hint={quoteattr(notes[g])} html={quoteattr(shown)}/>"
        )
    return (
        "<View>\n"
        '  <Header value="Query: $query"/>\n'
        '  <Header value="Grade this result for the whole page below (keys: the grade)" size="5"/>\n'
        '  <Text name="item" value="$display"/>\n'
        f'  <Choices name="{LS_CONTROL}" toName="item" choice="single-radio" showInline="true" required="true">\n'
        + "\n".join(choices)
        + "\n  </Choices>\n"
        '  <Header value="The page this result belongs to (highlighted), in its order" size="6"/>\n'
        '  <HyperText name="page" value="$page_html" inline="true"/>\n'
        "</View>\n"
    )


def _write_text(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_durably(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_round_files(
    directory: Path,
    frame: pd.DataFrame,
    pool: pd.DataFrame,
    round_number: int,
    show_modal_rank: bool = False,
    pending: bool = False,
) -> tuple[Path, Path]:
    """Write a round's CSV and Label Studio tasks (``pending``: the round's open tasks, replaced when they change;
    else written once: an annotator may be filling them in place)."""
    csv_path, ls_path = round_paths(directory, round_number, pending)
    csv_text = frame.to_csv(index=False)
    ls_text = json.dumps(labelstudio_tasks(frame, pool, show_modal_rank), indent=1, ensure_ascii=False)
    if pending or not csv_path.is_file():
        _write_text(csv_path, csv_text)
    if pending or not ls_path.is_file():
        _write_text(ls_path, ls_text)
    return csv_path, ls_path


def remove_pending_files(directory: Path, keep: int | None) -> None:
    """Remove the ``round-NNN.pending.*`` files of every round but ``keep`` (their tasks are answered)."""
    rounds = Path(directory) / ROUNDS_DIR
    if not rounds.is_dir():
        return
    for path in sorted(rounds.glob("round-*.pending.*")):
        number = path.name.split(".")[0].removeprefix("round-")
        if keep is None or not number.isdigit() or int(number) != keep:
            path.unlink(missing_ok=True)
