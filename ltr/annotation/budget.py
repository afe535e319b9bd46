"""Annotation-budget strategies: which page candidates get a page label (method.md sections 2.2-2.3).

A budget ``p`` is the fraction of page candidates whose page label may be revealed. Every strategy works on
the per-(query, modality) lists of the page table, each sorted by the single-modal score ``g^m``
(descending, ties by input order), and spends at most the global allowance ``B = max(1, floor(p * N))``
judgements:

1. ``B`` is split over queries proportionally to query size by the largest-remainder method (remainder ties go
   to the query seen first), so ``b_q <= n_q``;
2. each ``b_q`` is split over the query's modalities proportionally to ``n_m`` (or to ``modality_shares``,
   normalised) by largest remainder (ties to the modality first in sorted order), never more than ``n_m`` to a
   modality; what a full modality cannot take is handed to the others (water-filling). A modality whose share
   is 0 (or that ``modality_shares`` omits) gets nothing, and budget no modality can take stays unspent.

Strategies (``k`` = the (query, modality) allowance, ``n`` = the list length):

``given``
    exactly the rows that carry a page label (a real, partially annotated table: a missing ``page_label`` means
    "not annotated"); ignores ``p`` and reports the annotated fraction as its budget. An ``inferred_label``
    column (iso-anchor's inferred labels, as an annotation campaign exports them) becomes the annotation's
    inferred labels, so the cross-modal anchor pairs are those of the simulated ``iso-anchor``.
``all``
    every row (the fully supervised baseline); ignores ``p`` (still checked) and reports budget 1.0.
``top``
    the first ``k`` of each list.
``band``
    the slice ``[b*k, (b+1)*k)`` of each list for ``band=b >= 0``; negative ``b`` counts from the end
    (``-1`` = the last ``k``, "bottom", ``-2`` the ``k`` before those); clipped to the list.
``random``
    ``k`` rows of each list uniformly at random (seeded per query: :mod:`smar_ltr.page_table.query_seeds`).
``iso-anchor``
    binary search for label boundaries along each list (:mod:`smar_ltr.annotation.iso_anchor`), asking the oracle one
    item per list per round and never the same item twice; yields inferred labels and anchors.

All strategies but ``given`` *simulate* annotation on a table whose labels are all known, so they refuse a
table where some ``page_label`` values are missing (:data:`SIMULATED`); a table without the label column, or
with no label at all, may still be annotated (choosing rows to send to annotators). :func:`resolve_strategy`
turns ``auto`` into ``given`` for partial tables and ``top`` otherwise.

The page labels are read only through an *oracle* (``rows -> labels``); by default it reads ``label_col``
of the rows asked, and only ``iso-anchor`` asks it. Pass ``oracle=`` to plug in real annotators or to count
calls. Iso-anchor's label levels come from the declared label scale (``max_label`` or ``levels``), never from
the labels themselves.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from smar_ltr.annotation.allocation import ModalLists, allocate, global_allowance, largest_remainder
from smar_ltr.annotation.iso_anchor import search_boundaries
from smar_ltr.annotation.result import Annotation, annotation_from_rows, build_annotation, monotonicity_violation_rate
from smar_ltr.config import SIMULATED, STRATEGIES, STRATEGY_CHOICES
from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.page_table.query_seeds import row_streams, stream_uniform
from smar_ltr.page_table.schema import (
    INFERRED_LABEL,
    PAGE_LABEL,
    QID,
    UPSTREAM_SCORE,
    validate_page_table,
)

__all__ = [
    "AUTO_DEFAULT",
    "SIMULATED",
    "STRATEGIES",
    "STRATEGY_CHOICES",
    "Annotation",
    "ModalLists",
    "Oracle",
    "allocate",
    "annotate",
    "annotated_rows",
    "annotation_from_rows",
    "check_strategy",
    "column_oracle",
    "global_allowance",
    "largest_remainder",
    "monotonicity_violation_rate",
    "resolve_strategy",
]

#: The strategy ``auto`` becomes for a fully labelled table (``given`` for a partially labelled one).
AUTO_DEFAULT = "top"
_SCORED = frozenset({"top", "band", "iso-anchor"})

#: ``oracle(rows) -> labels``: page labels (float, shape ``(len(rows),)``) of the given row positions.
Oracle = Callable[[np.ndarray], np.ndarray]


def check_strategy(strategy: str) -> str:
    """``strategy`` when it is one of :data:`STRATEGY_CHOICES`, else one :class:`ConfigError` with a close match."""
    if strategy not in STRATEGY_CHOICES:
        close = difflib.get_close_matches(str(strategy), STRATEGY_CHOICES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown annotation strategy {strategy!r}{hint}; choose one of {', '.join(STRATEGY_CHOICES)}"
        )
    return strategy


def annotated_rows(frame: pd.DataFrame, label_col: str = PAGE_LABEL) -> np.ndarray:
    """Bool mask ``(n_rows,)`` of rows that carry a page label (all False when the column is absent)."""
    if label_col not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return pd.Series(frame[label_col]).notna().to_numpy()


def resolve_strategy(strategy: str, frame: pd.DataFrame, label_col: str = PAGE_LABEL) -> str:
    """The concrete strategy for ``frame``: ``auto`` becomes ``given`` when some page labels are missing (a
    partially annotated table) and :data:`AUTO_DEFAULT` when every row has one; others are returned unchanged."""
    check_strategy(strategy)
    if strategy != "auto":
        return strategy
    return AUTO_DEFAULT if annotated_rows(frame, label_col).all() else "given"


def _refuse_partial(strategy: str, frame: pd.DataFrame, label_col: str) -> None:
    """Simulated strategies need every label (or none: choosing rows for annotators); refuse partial tables."""
    have = annotated_rows(frame, label_col)
    if have.any() and not have.all():
        raise PageTableError(
            f"the {strategy!r} strategy simulates annotation on fully labelled pages, but {int((~have).sum())} of "
            f"{have.size} rows have no {label_col} (not annotated); use strategy 'given' (or 'auto') to train on "
            "the annotated rows, or complete the labels"
        )


def _check_budget(strategy: str, budget: float) -> float:
    check_strategy(strategy)
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.integer, np.floating)):
        raise ConfigError(f"budget must be a number in (0, 1], got {budget!r}")
    p = float(budget)
    if not (0.0 < p <= 1.0):
        raise ConfigError(f"budget must be in (0, 1] (the fraction of candidates to label), got {budget!r}")
    return p


def _shares_vector(shares: Mapping[str, float] | None, names: Sequence[str]) -> np.ndarray | None:
    if shares is None:
        return None
    if not isinstance(shares, Mapping):
        raise ConfigError(f"modality_shares must map modality -> share, got {type(shares).__name__}")
    bad = [
        k
        for k, v in shares.items()
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (np.isfinite(v) and v >= 0)
    ]
    if bad:
        raise ConfigError(f"modality_shares[{bad[0]!r}] = {shares[bad[0]]!r}; shares must be finite and >= 0")
    values = np.array([float(shares.get(str(m), 0.0)) for m in names])
    if not (values > 0).any():
        raise ConfigError(
            f"modality_shares {dict(shares)!r} gives no positive share to any modality of the table "
            f"({', '.join(map(str, names))}); name at least one of them"
        )
    return values


def column_oracle(labels: pd.Series | np.ndarray) -> Oracle:
    """The default oracle: reads the page labels of the rows asked from a label column."""
    values = pd.Series(labels).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    def oracle(rows: np.ndarray) -> np.ndarray:
        return values[rows]

    return oracle


def _select(strategy: str, lists: ModalLists, k: np.ndarray, band: int, seed: int, qid: pd.Series) -> np.ndarray:
    """Boolean mask (input row order) of rows chosen by ``top``, ``band`` or ``random``."""
    n_row = lists.sizes[lists.cell]
    k_row = k[lists.cell]
    if strategy == "top":
        return lists.rank < k_row
    if strategy == "band":
        start = band * k_row if band >= 0 else n_row + band * k_row
        lo, hi = np.clip(start, 0, n_row), np.clip(start + k_row, 0, n_row)
        return (lists.rank >= lo) & (lists.rank < hi)
    key = stream_uniform(row_streams(seed, qid), 0)
    shuffled = ModalLists.from_codes(lists.query_codes, lists.modality_codes, key, lists.n_modalities)
    return shuffled.rank < k_row


def annotate(
    frame: pd.DataFrame,
    strategy: str,
    budget: float,
    *,
    seed: int = 0,
    band: int = 0,
    score_col: str = UPSTREAM_SCORE,
    label_col: str = PAGE_LABEL,
    modality_shares: dict[str, float] | None = None,
    oracle: Oracle | None = None,
    levels: Sequence[int] | None = None,
    max_label: int | None = None,
    query_allowance: np.ndarray | None = None,
    allowance: int | None = None,
) -> Annotation:
    """Choose the page candidates whose page label is revealed, within the budget.

    Parameters
    ----------
    frame : DataFrame
        Page table (contiguous qids) with ``modality``, ``score_col`` (needed, non-null, by ``top``, ``band``,
        ``iso-anchor``) and, for ``iso-anchor`` without ``oracle``, ``label_col``.
    strategy : str
        One of :data:`STRATEGY_CHOICES` (``auto`` is resolved by :func:`resolve_strategy`).
    budget : float
        Fraction ``p`` in (0, 1] of candidates to label (checked, but unused by ``given`` and ``all``).
    seed : int
        Seed of ``random``.
    band : int
        Band index of ``band`` (0 = top, -1 = bottom).
    score_col, label_col : str
        Single-modal score column and page-label column.
    modality_shares : dict of str to float, optional
        Relative share of each modality in a query's allowance (normalised); default proportional to ``n_m``.
    oracle : callable, optional
        ``oracle(rows) -> labels`` for ``iso-anchor``: page labels of row positions (int64 array, each row
        asked once); default reads ``label_col``.
    levels : sequence of int, optional
        ``iso-anchor`` label levels in search order; default ``max_label .. 1`` descending.
    max_label : int, optional
        The declared label scale's highest grade (``iso-anchor`` needs it or ``levels``); never inferred from
        the labels, which the strategy has not revealed.
    query_allowance : ndarray of int64, shape (n_queries,), optional
        Judgements per query (first-appearance order) when the global cap was already split over a larger
        table of which ``frame`` holds whole queries (the Dask engine); ``allowance`` then reports that cap.
    allowance : int, optional
        The global cap to report with ``query_allowance``.

    Returns
    -------
    Annotation

    Raises
    ------
    ConfigError
        Unknown strategy, budget outside (0, 1], bad shares or levels, iso-anchor without a label scale.
    PageTableError
        Missing columns or NaN scores where the strategy needs them; a simulated strategy on a partially
        labelled table.
    """
    strategy = resolve_strategy(strategy, frame, label_col)
    p = _check_budget(strategy, budget)
    if isinstance(band, bool) or not isinstance(band, (int, np.integer)):
        raise ConfigError(f"band must be an integer (0 = top, -1 = bottom), got {band!r}")
    iso = strategy == "iso-anchor"
    needs_labels = (iso and oracle is None) or strategy == "given"
    table = validate_page_table(
        frame,
        non_null=(score_col,) if strategy in _SCORED else (),
        require=(label_col,) if needs_labels else (),
        what="page table to annotate",
    )
    n = len(table)
    if strategy == "given":
        mask = annotated_rows(table, label_col)
        used = int(mask.sum())
        given = build_annotation(table, "given", used / n if n else 0.0, mask, used)
        if INFERRED_LABEL not in table.columns:
            return given
        inferred = table[INFERRED_LABEL].to_numpy(dtype=np.float64, na_value=np.nan)
        return replace(given, inferred_label=inferred)  # iso-anchor's labels, collected by a campaign
    if oracle is None:
        _refuse_partial(strategy, table, label_col)
    if strategy == "all":
        mask = np.ones(n, dtype=bool)
        return build_annotation(table, "all", 1.0, mask, n)
    score = table[score_col].to_numpy(dtype=np.float64) if strategy in _SCORED else None
    lists = ModalLists.from_frame(table, score)
    if query_allowance is None or allowance is None:
        allowance = global_allowance(p, n)
    shares = _shares_vector(modality_shares, lists.modality_names)
    k = allocate(lists, allowance, shares, query_allowance)
    if not iso:
        mask = _select(strategy, lists, k, int(band), seed, table[QID])
        return build_annotation(table, strategy, p, mask, allowance)
    if levels is None:
        levels = _scale_levels(max_label)
    ask = column_oracle(table[label_col]) if oracle is None else oracle
    search = search_boundaries(lists, k, levels, ask)
    return build_annotation(table, strategy, p, search.judged, allowance, search)


def _scale_levels(max_label: int | None) -> range:
    """Levels ``max_label .. 1`` of a declared label scale."""
    if max_label is None:
        raise ConfigError(
            "iso-anchor needs the label scale: declare the highest page-label grade (max_label, e.g. 4 for 0..4) "
            "or pass the label levels"
        )
    if isinstance(max_label, bool) or not isinstance(max_label, (int, np.integer)) or max_label < 1:
        raise ConfigError(f"max_label must be an integer >= 1 (the highest page-label grade), got {max_label!r}")
    return range(int(max_label), 0, -1)
