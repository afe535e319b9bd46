"""The campaign's pool: every candidate of the annotated splits, scored, ranked and given a task id.

The pool never holds a page label: a campaign planned on labelled pages (a simulation) sees exactly what a
campaign on unlabelled pages sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import ModalLists
from smar_ltr.errors import CampaignError
from smar_ltr.page_table.schema import ITEM_ID, MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE, validate_page_table
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.rankers import GBDTRanker
from smar_ltr.rankers.single_modal import with_upstream_scores

TASK_ID, SPLIT, ROW, MODAL_RANK = "task_id", "split", "row", "modal_rank"
QUERY_FIELD = "query"
#: Item fields shown to annotators when the page tables have them, in this order.
DISPLAY_FIELDS: tuple[str, ...] = ("title", "url", "text", "body", "caption", "answer")


def annotated_roles(splits: PageSplits) -> tuple[str, ...]:
    """The splits a campaign labels: ``train`` and, when present, ``valid``."""
    has_valid = splits.valid is not None and len(splits.valid) > 0
    return ("train", "valid") if has_valid else ("train",)


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna("").astype(object)


def build_pool(
    splits: PageSplits,
    roles: tuple[str, ...],
    models: dict[str, GBDTRanker],
    modal_features: dict[str, list[str]],
) -> pd.DataFrame:
    """Score the annotated splits and list every candidate as a potential task.

    Parameters
    ----------
    splits : PageSplits
        The pages (page labels, if any, are dropped unread).
    roles : tuple of str
        Splits to annotate, e.g. ``("train", "valid")``.
    models, modal_features : dict
        Single-modal rankers and their input columns; empty ``models`` means the pages ship ``upstream_score``.

    Returns
    -------
    DataFrame
        One row per candidate, splits in ``roles`` order and rows in table order: ``task_id`` (``t000001`` ...),
        ``split``, ``row`` (position in its split's table), ``qid``, ``item_id``, ``modality``,
        ``upstream_score``, ``modal_rank`` (1 = best of its (query, modality) list), then ``query`` and the
        :data:`DISPLAY_FIELDS` the tables have (as text).
    """
    parts = []
    for role in roles:
        frame = getattr(splits, role)
        if frame is None or not len(frame):
            raise CampaignError(f"the {role} split has no pages to annotate")
        table = validate_page_table(frame.drop(columns=[PAGE_LABEL], errors="ignore"), what=f"{role} pages")
        if models:
            table = with_upstream_scores(table, models, modal_features)
        elif UPSTREAM_SCORE not in table.columns or table[UPSTREAM_SCORE].isna().any():
            raise CampaignError(
                f"the {role} pages have no upstream_score on every row and there are no single-modal rankers to "
                "score them; add a single-modal pool (single_modal.parquet) or pass --model RUN"
            )
        score = table[UPSTREAM_SCORE].to_numpy(dtype=np.float64)
        lists = ModalLists.from_frame(table, score)
        part = pd.DataFrame(
            {
                SPLIT: role,
                ROW: np.arange(len(table), dtype=np.int64),
                QID: table[QID].astype(str).to_numpy(),
                ITEM_ID: table[ITEM_ID].astype(str).to_numpy(),
                MODALITY: table[MODALITY].astype(str).to_numpy(),
                UPSTREAM_SCORE: score,
                MODAL_RANK: lists.rank + 1,
            }
        )
        for col in (QUERY_FIELD, *DISPLAY_FIELDS):
            if col in table.columns:
                part[col] = _text(table[col]).to_numpy()
        parts.append(part)
    pool = pd.concat(parts, ignore_index=True)
    width = max(6, len(str(len(pool))))
    pool.insert(0, TASK_ID, [f"t{i:0{width}d}" for i in range(1, len(pool) + 1)])
    return pool


def split_part(pool: pd.DataFrame, role: str) -> pd.DataFrame:
    """The pool rows of one split, in that split's table order, as a page table for :func:`budget.annotate`."""
    part = pool[pool[SPLIT] == role].sort_values(ROW, kind="stable").reset_index(drop=True)
    return part
