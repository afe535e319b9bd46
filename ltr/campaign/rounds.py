"""Which items a campaign asks next, decided by the very code the simulation runs.

:func:`next_batch` replays :func:`smar_ltr.annotation.budget.annotate` on each annotated split with an oracle that
answers
from the recorded answers. ``top``, ``band`` and ``random`` never ask the oracle: their one round is the rows
``annotate`` reveals. ``iso-anchor`` asks one batch per binary-search step (one item of every unsettled list, all
queries at once); the first batch that holds an unanswered item is the next round, and when the search finishes
without one the campaign is done. Because the replay is the simulation, a campaign answered from the true labels
reveals exactly the rows :func:`~smar_ltr.annotation.budget.annotate` reveals on the labelled pages.

Unjudgeable (skipped) items: iso-anchor asks the nearest judgeable item inside the same bracket instead
(:func:`smar_ltr.annotation.iso_anchor.search_boundaries`, ``unjudgeable=``); ``top``, ``band`` and ``random`` replace
each
skipped item of a list by the list's next candidate in the strategy's own order (``top``: the next rank; ``band``:
the ranks after the band, then those just above it; ``random``: the next in the seeded shuffle), so every list keeps
its allowance and no label is added to it.

:func:`search_state` rebuilds the iso-anchor brackets from the answers alone (``lo(l)`` = deepest answered rank
with label ``>= l``, ``hi(l)`` = shallowest with label ``< l``: exactly what the search keeps), for progress
reports and for the inferred labels of an export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import ModalLists, allocate, annotate, global_allowance
from smar_ltr.annotation.iso_anchor import IsoSearch, search_boundaries
from smar_ltr.campaign.pool import TASK_ID, split_part
from smar_ltr.page_table.query_seeds import row_streams, stream_uniform
from smar_ltr.page_table.schema import ITEM_ID, MODALITY, QID, UPSTREAM_SCORE

ISO = "iso-anchor"


class _AnswersNeeded(Exception):
    """Raised by the replay oracle at the first batch holding an unanswered item."""

    def __init__(self, rows: np.ndarray) -> None:
        super().__init__(f"{rows.size} items need answers")
        self.rows = rows


def levels_of(label_scale: tuple[int, int]) -> list[int]:
    """iso-anchor levels of a label scale ``lo..hi``: ``hi`` down to 1, the levels ``fit`` searches for
    ``max_label = hi`` (the top is settled first)."""
    return list(range(label_scale[1], 0, -1))


def answered_labels(part: pd.DataFrame, answers: dict[str, int]) -> np.ndarray:
    """Recorded label of each row of a split (NaN where unanswered), shape ``(len(part),)``."""
    return np.array(part[TASK_ID].map(answers).to_numpy(dtype=np.float64, na_value=np.nan))


def _replaced(keys: pd.DataFrame, settings: dict[str, Any], mask: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """``top``/``band``/``random`` rows with each skipped one replaced by its list's next candidate (module docs)."""
    if settings["strategy"] == "random":  # the order budget.annotate draws: one seeded key per row, per query
        codes = ModalLists.from_frame(keys)
        key = stream_uniform(row_streams(int(settings["seed"]), keys[QID]), 0)
        lists = ModalLists.from_codes(codes.query_codes, codes.modality_codes, key, codes.n_modalities)
    else:
        lists = ModalLists.from_frame(keys, keys[UPSTREAM_SCORE].to_numpy(dtype=np.float64))
    out = mask.copy()
    for c in np.unique(lists.cell[mask & skip]):
        rows = lists.order[lists.starts[c] : lists.starts[c] + lists.sizes[c]]
        chosen = np.flatnonzero(mask[rows])
        after, before = rows[chosen.max() + 1 :], rows[: chosen.min()][::-1]
        order = np.concatenate([rows[chosen], after, before])
        out[rows] = False
        out[order[~skip[order]][: chosen.size]] = True
    return out


def replay_split(
    part: pd.DataFrame, settings: dict[str, Any], answers: dict[str, int], skipped: frozenset[str] = frozenset()
) -> tuple[list[str], np.ndarray | None]:
    """Replay one split's annotation against the answers, around the skipped (unjudgeable) tasks.

    Returns
    -------
    (pending, mask)
        Task ids still to ask (in table order) and, when nothing is pending, the bool mask ``(len(part),)`` of
        the rows the finished annotation judged (else None).
    """
    skip = part[TASK_ID].isin(skipped).to_numpy()
    labels = answered_labels(part, answers)
    labels[skip] = np.nan
    strategy = settings["strategy"]

    def oracle(rows: np.ndarray) -> np.ndarray:
        values = labels[rows]
        if np.isnan(values).any():
            raise _AnswersNeeded(np.sort(rows[np.isnan(values)]))
        return values

    keys = part[[QID, ITEM_ID, MODALITY, UPSTREAM_SCORE]]
    if strategy == ISO:  # budget.annotate's iso-anchor path, with the unjudgeable rows
        lists = ModalLists.from_frame(keys, keys[UPSTREAM_SCORE].to_numpy(dtype=np.float64))
        allowance = allocate(lists, global_allowance(settings["budget"], len(keys)))
        try:
            mask = search_boundaries(lists, allowance, settings["levels"], oracle, unjudgeable=skip).judged
        except _AnswersNeeded as need:
            return part[TASK_ID].to_numpy()[need.rows].tolist(), None
    else:
        mask = annotate(keys, strategy, settings["budget"], seed=settings["seed"], band=settings["band"]).mask
        if (mask & skip).any():
            mask = _replaced(keys, settings, mask, skip)
    unanswered = mask & np.isnan(labels) & ~skip
    if unanswered.any():
        return part[TASK_ID].to_numpy()[unanswered].tolist(), None
    return [], mask & ~skip


def next_batch(
    pool: pd.DataFrame, settings: dict[str, Any], answers: dict[str, int], skipped: frozenset[str] = frozenset()
) -> list[str]:
    """Task ids the campaign needs answered now over all annotated splits; empty when the campaign is done."""
    batch: list[str] = []
    for role in settings["splits"]:
        pending, _ = replay_split(split_part(pool, role), settings, answers, skipped)
        batch.extend(pending)
    return batch


@dataclass(frozen=True)
class SplitProgress:
    """Progress of one split: lists settled, an estimate of rounds left, iso-anchor inferred labels."""

    lists_total: int
    lists_settled: int
    rounds_left: int
    inferred_label: np.ndarray | None


def search_state(
    part: pd.DataFrame, settings: dict[str, Any], answers: dict[str, int], skipped: frozenset[str] = frozenset()
) -> tuple[IsoSearch, np.ndarray]:
    """iso-anchor brackets implied by the answers of one split, and each list's allowance (no pooling)."""
    lists = ModalLists.from_frame(part, part[UPSTREAM_SCORE].to_numpy(dtype=np.float64))
    allowance = np.minimum(allocate(lists, global_allowance(settings["budget"], len(part))), lists.sizes)
    levels = np.asarray(settings["levels"], dtype=np.int64)
    labels = answered_labels(part, answers)
    labels[part[TASK_ID].isin(skipped).to_numpy()] = np.nan
    judged = ~np.isnan(labels)
    lo = np.full((lists.sizes.size, levels.size), -1, dtype=np.int64)
    hi = np.repeat(lists.sizes[:, None], levels.size, axis=1).astype(np.int64)
    rows = np.flatnonzero(judged)
    for j, level in enumerate(levels):
        at_least = labels[rows] >= level
        np.maximum.at(lo[:, j], lists.cell[rows[at_least]], lists.rank[rows[at_least]])
        np.minimum.at(hi[:, j], lists.cell[rows[~at_least]], lists.rank[rows[~at_least]])
    spent = np.bincount(lists.cell[rows], minlength=lists.sizes.size).astype(np.int64)
    search = IsoSearch(lists=lists, levels=levels, lo=lo, hi=hi, judged=judged, judged_label=labels, spent=spent)
    return search, allowance


def _stuck(search: IsoSearch, skip: np.ndarray) -> np.ndarray:
    """Bool ``(n_lists, L)``: open levels whose bracket interior holds only unjudgeable rows (no item left to ask)."""
    stuck = np.zeros(search.lo.shape, dtype=bool)
    lists = search.lists
    for c in np.unique(lists.cell[skip]):
        rows = lists.order[lists.starts[c] : lists.starts[c] + lists.sizes[c]]
        for j in np.flatnonzero(search.hi[c] - search.lo[c] > 1):
            stuck[c, j] = bool(skip[rows[search.lo[c, j] + 1 : search.hi[c, j]]].all())
    return stuck


def split_progress(
    part: pd.DataFrame, settings: dict[str, Any], answers: dict[str, int], skipped: frozenset[str] = frozenset()
) -> SplitProgress:
    """Lists settled and rounds likely left for one split.

    ``top``/``band``/``random``: a list is settled when its chosen rows are answered; one round is left until then.
    ``iso-anchor``: a list is settled when every level's boundary is known; the rounds left are estimated as the
    largest, over unsettled lists, of ``min(allowance left, sum of ceil(log2(hi - lo)) over open levels)``
    (judgements pooled from settled lists can add a few).
    """
    if settings["strategy"] != ISO:
        pending, _ = replay_split(part, settings, answers, skipped)
        lists = ModalLists.from_frame(part)
        nonempty = lists.sizes > 0
        open_lists = set(lists.cell[part[TASK_ID].isin(pending).to_numpy()].tolist())
        total = int(nonempty.sum())
        return SplitProgress(total, total - len(open_lists), 1 if pending else 0, None)
    search, allowance = search_state(part, settings, answers, skipped)
    width = np.maximum(search.hi - search.lo, 1)
    open_ = ~search.settled & ~_stuck(search, part[TASK_ID].isin(skipped).to_numpy())
    need = np.where(open_, np.ceil(np.log2(width)), 0).sum(axis=1).astype(np.int64)
    left = np.minimum(need, np.maximum(allowance - search.spent, 0))
    nonempty = search.lists.sizes > 0
    settled = nonempty & ~open_.any(axis=1)
    rounds_left = int(left.max()) if left.size else 0
    return SplitProgress(int(nonempty.sum()), int(settled.sum()), rounds_left, search.inferred_label())


def estimate_rounds_left(progress: list[SplitProgress], pending: int) -> int:
    """Rounds still to answer, the current one included (at least 1 while tasks are pending)."""
    left = max((p.rounds_left for p in progress), default=0)
    return max(left, 1) if pending else left
