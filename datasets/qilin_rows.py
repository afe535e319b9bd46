"""Qilin's requests as page-table rows: displayed notes, LLM answer cards, and labels from clicks and dwell.

Mapping and label rule in :mod:`smar_ltr.datasets.qilin` (which re-exports the public names here); moved out of
it unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from smar_ltr.datasets.io import canonical_order
from smar_ltr.datasets.qilin_parsing import Requests, parse_int_list
from smar_ltr.page_table.schema import validate_page_table

__all__ = [
    "CARD_CLICKS",
    "LLM",
    "MODALITY_BY_NOTE_TYPE",
    "UNJOINED_MODALITY",
    "answer_cards",
    "click_dwell_tiers",
    "finish_page_table",
    "note_rows",
    "request_qids",
    "single_modal_lists",
]

CARD_CLICKS = ("is_like_clk", "is_onebox_trace_clk", "is_content_clk", "is_experience_clk")
MODALITY_BY_NOTE_TYPE = {1: "image_text", 2: "video"}
UNJOINED_MODALITY = "note_unknown"
LLM = "llm"


def click_dwell_tiers(groups: Any, click: ArrayLike, dwell: ArrayLike) -> np.ndarray:
    """Graded labels from clicks and dwell time, ranked within each group.

    Parameters
    ----------
    groups : array-like of shape (n,) or list of such arrays
        Group key(s) per row (e.g. qid, or qid and modality).
    click : ndarray of shape (n,)
        1 when clicked (anything > 0 counts), 0 otherwise.
    dwell : ndarray of shape (n,)
        Dwell seconds; NaN or <= 0 means no dwell was recorded.

    Returns
    -------
    ndarray of int64, shape (n,)
        3 = clicked with dwell >= the group's median dwell over clicked-with-dwell rows, 2 = clicked with a
        shorter dwell, 1 = clicked without dwell, 0 = not clicked.
    """
    clicked = np.nan_to_num(np.asarray(click, dtype=np.float64)) > 0
    seconds = np.asarray(dwell, dtype=np.float64)
    with_dwell = clicked & np.isfinite(seconds) & (seconds > 0)
    keys = groups if isinstance(groups, list) else [groups]
    masked = pd.Series(np.where(with_dwell, seconds, np.nan))
    median = masked.groupby([pd.Series(np.asarray(k)) for k in keys], sort=False).transform("median").to_numpy()
    tiers = np.zeros(len(clicked), dtype=np.int64)
    tiers[clicked] = 1
    tiers[with_dwell] = 2
    tiers[with_dwell & (seconds >= median)] = 3
    return tiers


def request_qids(frame: pd.DataFrame) -> pd.Series:
    """``qid`` per request (indexed by ``_row``): ``search_idx``, suffixed ``-<row>`` where it repeats."""
    ids = frame["search_idx"].round().astype(np.int64).astype(str)
    dup = frame["search_idx"].duplicated(keep=False).to_numpy()
    qids = ids.where(~dup, ids + "-" + frame["_row"].astype(str))
    return pd.Series(qids.to_numpy(), index=frame["_row"].to_numpy())


def note_rows(req: Requests, notes: pd.DataFrame, unjoined: str, info: dict[str, Any]) -> pd.DataFrame:
    """One row per displayed note: keys, labels, text and note features (see the module docstring)."""
    res = req.results
    head = req.frame.set_index("_row")
    parent = res["_row"].to_numpy()
    rows = pd.DataFrame(
        {
            "_row": parent,
            "qid": request_qids(req.frame).reindex(parent).to_numpy(),
            "note_idx": res["note_idx"].round().astype(np.int64).to_numpy(),
            "position": res["position"].to_numpy(),
            "_click": res["click"].to_numpy(),
            "_dwell": res["page_time"].to_numpy(),
            "query": head["query"].reindex(parent).to_numpy(),
        }
    )
    rows["item_id"] = rows["note_idx"].astype(str)
    if "query_from_type" in head.columns:
        rows["query_from_type"] = pd.to_numeric(head["query_from_type"], errors="coerce").reindex(parent).to_numpy()
    dup = rows.duplicated(["qid", "item_id"]).to_numpy()
    info["duplicate_results_dropped"] = info.get("duplicate_results_dropped", 0) + int(dup.sum())
    rows = rows[~dup]
    joined = rows["note_idx"].isin(notes["note_idx"]).to_numpy()
    info["unjoined_notes"] = info.get("unjoined_notes", 0) + int((~joined).sum())
    if unjoined == "drop":
        rows = rows[joined]
    rows = rows.merge(notes, on="note_idx", how="left")
    code = rows["note_type"].round()
    named = code.map(MODALITY_BY_NOTE_TYPE)
    other = "note_type" + code.astype("Int64").astype(str)
    rows["modality"] = named.where(named.notna(), other).where(code.notna(), UNJOINED_MODALITY).astype(str)
    rows["page_label"] = click_dwell_tiers(rows["qid"].to_numpy(), rows["_click"], rows["_dwell"])
    return rows.drop(columns=["note_type"])


def answer_cards(dqa: Requests) -> pd.DataFrame:
    """The LLM answer card of each DQA request that showed one (``dqa_output != '-1'``)."""
    frame = dqa.frame
    output = frame["dqa_output"].astype("string").fillna("-1").str.strip()
    frame = frame[(output != "-1").to_numpy()]
    answer = frame["dqa_output"].astype(str)
    clicks = {c: pd.to_numeric(frame[c], errors="coerce").fillna(0).to_numpy() for c in CARD_CLICKS if c in frame}
    liked = clicks.get("is_like_clk", np.zeros(len(frame))) == 1
    other = np.zeros(len(frame), dtype=bool)
    for name, values in clicks.items():
        other |= (values == 1) & (name != "is_like_clk")
    refs = frame["ref_note_idx_list"] if "ref_note_idx_list" in frame else pd.Series([None] * len(frame))
    return pd.DataFrame(
        {
            "_row": frame["_row"].to_numpy(),
            "qid": request_qids(dqa.frame).reindex(frame["_row"]).to_numpy(),
            "search_idx": frame["search_idx"].to_numpy(),
            "item_id": "llm:" + frame["search_idx"].round().astype(np.int64).astype(str).to_numpy(),
            "modality": LLM,
            "position": 0,
            "page_label": np.where(liked, 2, np.where(other, 1, 0)),
            "query": frame["query"].to_numpy(),
            "query_from_type": pd.to_numeric(frame["query_from_type"], errors="coerce").to_numpy(dtype=np.float64)
            if "query_from_type" in frame
            else np.nan,
            "answer": answer.to_numpy(),
            "answer_length": answer.str.len().to_numpy(dtype=np.float64),
            # one small list per card (thousands of cards at most)
            "ref_note_count": [float(len(parse_int_list(v, what="dqa column 'ref_note_idx_list'"))) for v in refs],
        }
    )


def finish_page_table(frame: pd.DataFrame, what: str, label: str = "page_label") -> pd.DataFrame:
    """Drop helper columns, stable-sort by (qid, position) and validate."""
    frame = frame.drop(columns=[c for c in ("_row", "_click", "_dwell", "note_idx", "search_idx") if c in frame])
    frame = frame.sort_values(["qid", "position"], kind="stable", na_position="last").reset_index(drop=True)
    return validate_page_table(
        canonical_order(frame), require=(label,), non_null=(label,), require_sorted=True, what=what
    )


def single_modal_lists(rows: pd.DataFrame) -> pd.DataFrame:
    """Note rows as one list per (query, modality), ``qid = "<qid>:<modality>"``, tiers as modal_label."""
    rows = rows[rows["modality"] != LLM].drop(columns=["page_label"])
    rows["modal_label"] = click_dwell_tiers(
        [rows["qid"].to_numpy(), rows["modality"].to_numpy()], rows["_click"], rows["_dwell"]
    )
    rows["qid"] = rows["qid"] + ":" + rows["modality"]
    return finish_page_table(rows, "qilin single-modal pool", "modal_label")
