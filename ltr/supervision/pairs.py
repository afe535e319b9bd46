"""Pairwise constraint builders of SMAR (method.md 2.4 ii and iv): pure functions from a page table to pairs.

Every builder returns a table with one row per preference ``winner > loser``:

========= ========== ================================================================
column    dtype      meaning
========= ========== ================================================================
qid       str        query of both rows (pairs never cross queries)
winner    int64      row position (0-based, input order) of the preferred row
loser     int64      row position of the other row
weight    float64    pair weight (> 0)
kind      category   ``intra`` (same modality, single-modal score), ``cross`` (anchors) or ``page`` (revealed labels)
========= ========== ================================================================

Rows come grouped by query (first-appearance order). Everything is vectorised: rows are sorted once into
per-(query, modality) lists (:class:`smar_ltr.annotation.budget.ModalLists`) and each item's candidate partners form
index ranges in that order, so building pairs is offset arithmetic plus, for ``sample``, Floyd's sampling
without replacement run for all items at once (``max_pairs_per_item`` numpy steps).

Sampling is per query: each item draws from its own stream keyed by ``(seed, qid, position of the item in its
query)`` (:mod:`smar_ltr.page_table.query_seeds`), so a query gets the same pairs whether it is built alone, with other
queries, or on a Dask worker holding one partition of the table.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import ModalLists
from smar_ltr.config import ConsistencyConfig
from smar_ltr.errors import ConfigError, PageTableError, SettingNote
from smar_ltr.page_table.query_seeds import row_streams, stream_integers
from smar_ltr.page_table.schema import QID, UPSTREAM_SCORE

PAIR_COLUMNS: tuple[str, ...] = ("qid", "winner", "loser", "weight", "kind")
PAIR_KINDS: tuple[str, ...] = ("intra", "cross", "page")
INTRA_SCHEMES: tuple[str, ...] = ("all", "neighbors", "sample")


def empty_pairs() -> pd.DataFrame:
    """A pair table with no rows and the canonical dtypes."""
    return pd.DataFrame(
        {
            "qid": pd.Series([], dtype="str"),
            "winner": np.array([], dtype=np.int64),
            "loser": np.array([], dtype=np.int64),
            "weight": np.array([], dtype=np.float64),
            "kind": pd.Categorical([], categories=PAIR_KINDS),
        }
    )


def concat_pairs(*tables: pd.DataFrame | None) -> pd.DataFrame:
    """Stack pair tables (``None`` entries skipped) into one with the canonical dtypes and a fresh index."""
    parts = [t for t in tables if t is not None and len(t)]
    if not parts:
        return empty_pairs()
    out = pd.concat([t.loc[:, list(PAIR_COLUMNS)] for t in parts], ignore_index=True)
    return out.astype({"qid": "str", "winner": np.int64, "loser": np.int64, "weight": np.float64}).assign(
        kind=pd.Categorical(out["kind"].astype(str), categories=PAIR_KINDS)
    )


def _check_count(name: str, value: int | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def _check_weight(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number >= 0, got {value!r}")
    if not (np.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be finite and >= 0, got {value!r}")
    return float(value)


def _numeric(frame: pd.DataFrame, col: str, what: str) -> np.ndarray:
    if col not in frame.columns:
        raise PageTableError(f"page table is missing column {col!r}, needed for {what}")
    values = pd.to_numeric(frame[col], errors="coerce").astype("Float64")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, index)`` enumerating ``index in [0, counts[owner])`` for every owner, in owner order."""
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    return owner, np.arange(owner.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)


def _choose(
    counts: np.ndarray, k: int | None, how: str, streams: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each owner ``t`` pick indices in ``[0, counts[t])``: ``all``, the ``first`` k, or k ``sample``-d.

    ``sample`` draws owner ``t``'s subset from the random stream ``streams[t]`` (uint64, one per owner), so an
    owner's picks depend on its stream alone. Returns ``(owner, index)`` arrays, grouped by owner (ascending),
    indices distinct within an owner.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if how == "all" or k is None:
        return _expand(counts)
    k = int(k)
    if how == "first":
        return _expand(np.minimum(counts, k))
    small = counts <= k
    owner, index = _expand(np.where(small, counts, 0))
    if small.all():
        return owner, index
    if streams is None:
        raise ValueError("sampling needs one random stream per owner")
    big = np.flatnonzero(~small)
    m = counts[big]
    big_streams = np.asarray(streams, dtype=np.uint64)[big]
    chosen = np.empty((big.shape[0], k), dtype=np.int64)
    for step in range(k):  # Floyd: a uniform k-subset of [0, m) per row, k vectorised steps
        j = m - k + step
        r = stream_integers(big_streams, step, j + 1)
        seen = (chosen[:, :step] == r[:, None]).any(axis=1)
        chosen[:, step] = np.where(seen, j, r)
    owner = np.concatenate([owner, np.repeat(big, k)])
    index = np.concatenate([index, np.sort(chosen, axis=1).reshape(-1)])
    order = np.argsort(owner, kind="stable")
    return owner[order], index[order]


def _list_keys(
    cell_sorted: np.ndarray, value_sorted: np.ndarray, probe: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.int64]:
    """Integer keys making ``(list, value)`` one sorted array, so ``np.searchsorted`` finds in-list ranges.

    ``cell_sorted`` is ascending and ``value_sorted`` ascending within each list; returns ``(keys, probe_rank,
    width)``: search ``cell * width + probe_rank`` in ``keys`` to locate ``probe`` inside list ``cell``.
    """
    _, inv = np.unique(np.concatenate([value_sorted, probe]), return_inverse=True)
    width = np.int64(inv.max() + 2)
    keys = cell_sorted * width + inv[: value_sorted.shape[0]]
    return keys, inv[value_sorted.shape[0] :], width


def _pairs_frame(
    qid: pd.Series,
    query_codes: np.ndarray,
    winner: np.ndarray,
    loser: np.ndarray,
    weight: np.ndarray,
    kind: str,
) -> pd.DataFrame:
    labels = pd.Index(pd.unique(qid)).astype("str")
    return pd.DataFrame(
        {
            "qid": pd.Series(labels.take(query_codes[winner]), dtype="str"),
            "winner": winner.astype(np.int64),
            "loser": loser.astype(np.int64),
            "weight": weight.astype(np.float64),
            "kind": pd.Categorical.from_codes(np.full(winner.shape[0], PAIR_KINDS.index(kind)), pd.Index(PAIR_KINDS)),
        }
    )


def note_unknown_beta_modalities(beta: float | Mapping[str, float], modalities: Iterable[str]) -> None:
    """A :class:`~smar_ltr.errors.SettingNote` when a ``beta`` dict names a modality the training pages lack (a
    misspelling would otherwise silently keep weight 1). Called once on the whole training set: a fold or
    partition may lack a rare modality legitimately."""
    if not isinstance(beta, Mapping):
        return
    present = sorted({str(m) for m in modalities})
    unknown = sorted(set(map(str, beta)) - set(present))
    if unknown:
        warnings.warn(
            f"consistency.beta names modality {unknown[0]!r}, which the training pages do not have, so it has no "
            f"effect; their modalities: {', '.join(present)}",
            SettingNote,
            stacklevel=3,
        )


def _beta_vector(beta: float | Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    """``beta_m`` per modality code; a dict's missing modalities get method.md's default 1.0."""
    if not isinstance(beta, Mapping):
        return np.full(len(names), _check_weight("beta", beta))
    for m, value in beta.items():
        _check_weight(f"beta[{m!r}]", value)
    return np.array([float(beta.get(m, 1.0)) for m in names])


def intra_modal_pairs(
    frame: pd.DataFrame,
    *,
    score_col: str = UPSTREAM_SCORE,
    beta: float | dict[str, float] = 1.0,
    scheme: str = "neighbors",
    max_pairs_per_item: int = 4,
    min_gap: float = 0.0,
    seed: int = 0,
    normalize: bool = True,
) -> pd.DataFrame:
    """Single-modal preference pairs (method.md 2.4 ii): same query and modality, ``s_i > s_j + min_gap``.

    Parameters
    ----------
    frame : DataFrame
        Page table with ``qid``, ``modality`` and ``score_col`` (no NaN).
    score_col : str
        Single-modal score ``g^m``.
    beta : float or dict of str to float
        Weight ``beta_m`` per modality (modalities a dict does not name get 1.0); 0 drops a modality.
    scheme : {"neighbors", "sample", "all"}
        ``neighbors``: each item with the next ``max_pairs_per_item`` items strictly below it in the sorted
        list (the nearest lower scores, linear size); ``sample``: each item with up to ``max_pairs_per_item``
        items drawn uniformly from those below it (seeded); ``all``: every pair (quadratic in list length).
    max_pairs_per_item : int
        Cap of ``neighbors`` and ``sample``; at most ``max_pairs_per_item * n_rows`` pairs.
    min_gap : float
        Only pairs whose scores differ by more than this (ties are never paired).
    seed : int
        Seed of ``sample`` (per query: module docstring).
    normalize : bool
        Weight ``beta_m / (pairs of the list)`` so each (query, modality) list contributes ``beta_m`` in
        total (method.md's per-(query, modality) averaging, *interpretation*); ``False``: every pair weighs
        ``beta_m``.

    Returns
    -------
    DataFrame
        Pair table (module docstring), ``kind == "intra"``; winners have the strictly higher score.
    """
    if scheme not in INTRA_SCHEMES:
        raise ConfigError(f"unknown intra-modal pair scheme {scheme!r}; choose one of {', '.join(INTRA_SCHEMES)}")
    _check_count("max_pairs_per_item", max_pairs_per_item)
    gap = _check_weight("min_gap", min_gap)
    score = _numeric(frame, score_col, "intra-modal pairs")
    if np.isnan(score).any():
        i = int(np.flatnonzero(np.isnan(score))[0])
        raise PageTableError(f"column {score_col!r} is missing at row {i}; intra-modal pairs need every score")
    lists = ModalLists.from_frame(frame, score)
    betas = _beta_vector(beta, lists.modality_names)
    order = lists.order
    cell_sorted = lists.cell[order]
    neg = -score[order]  # ascending within each list
    keys, probe, width = _list_keys(cell_sorted, neg, -(score[order] - gap))
    first = np.searchsorted(keys, cell_sorted * width + probe, side="right")
    end = lists.starts[cell_sorted] + lists.sizes[cell_sorted]
    how = {"neighbors": "first", "sample": "sample", "all": "all"}[scheme]
    streams = row_streams(seed, frame[QID])[order] if how == "sample" else None
    owner, index = _choose(end - first, max_pairs_per_item, how, streams)
    winner, loser = order[owner], order[first[owner] + index]
    keep = (score[winner] > score[loser] + gap) & (betas[lists.modality_codes[winner]] > 0)
    winner, loser = winner[keep], loser[keep]
    pair_cell = lists.cell[winner]
    weight = betas[lists.modality_codes[winner]]
    if normalize:
        weight = weight / np.bincount(pair_cell, minlength=lists.sizes.shape[0])[pair_cell]
    return _pairs_frame(frame[QID], lists.query_codes, winner, loser, weight, "intra")


def consistency_pairs(
    frame: pd.DataFrame, cfg: ConsistencyConfig, seed: int, score_col: str = UPSTREAM_SCORE
) -> pd.DataFrame:
    """:func:`intra_modal_pairs` of ``frame`` drawn as ``cfg`` says (beta, pair scheme and cap, per-list
    averaging): the one way training, early stopping and the single-modal pool build their pairs."""
    return intra_modal_pairs(
        frame,
        score_col=score_col,
        beta=cfg.beta if isinstance(cfg.beta, dict) else float(cfg.beta),
        scheme=cfg.pair_scheme,
        max_pairs_per_item=cfg.max_pairs_per_item,
        normalize=cfg.normalize_pairs,
        seed=seed,
    )


def cross_modal_pairs(
    frame: pd.DataFrame,
    inferred_label: np.ndarray,
    *,
    mu: float = 1.0,
    max_pairs_per_item: int | None = 4,
    seed: int = 0,
    normalize: bool = True,
) -> pd.DataFrame:
    """Cross-modal pairs from inferred labels (method.md 2.3-2.4 iv): same query, different modalities.

    Parameters
    ----------
    frame : DataFrame
        Page table with ``qid`` and ``modality``.
    inferred_label : ndarray of float, shape (n_rows,)
        Inferred (or revealed) label per row; NaN rows are never paired.
    mu : float
        Weight of the cross-modal term; 0 gives no pairs.
    max_pairs_per_item : int or None
        Each item ``i`` is paired with up to this many items of *other* modalities with a lower label, sampled
        uniformly (seeded); ``None``: with all of them.
    seed : int
        Sampling seed (per query: module docstring).
    normalize : bool
        Weight ``mu / (pairs of the query)`` so each query contributes ``mu`` (*interpretation*); ``False``:
        every pair weighs ``mu``.

    Returns
    -------
    DataFrame
        Pair table, ``kind == "cross"``; winners have the strictly higher inferred label.
    """
    _check_count("max_pairs_per_item", max_pairs_per_item, allow_none=True)
    weight_mu = _check_weight("mu", mu)
    y = np.asarray(inferred_label, dtype=np.float64).reshape(-1)
    if y.shape[0] != len(frame):
        raise ConfigError(f"inferred_label has {y.shape[0]} values but the table has {len(frame)} rows")
    lists = ModalLists.from_frame(frame, -np.where(np.isnan(y), np.inf, y))  # ascending label, NaN last
    n_mod = lists.n_modalities
    if weight_mu == 0 or n_mod < 2:
        return empty_pairs()
    valid = np.flatnonzero(~np.isnan(y))
    y_sorted = np.where(np.isnan(y), np.inf, y)[lists.order]
    keys, probe, width = _list_keys(lists.cell[lists.order], y_sorted, y[valid])
    # for item i and modality m': how many rows of list (q_i, m') have a label < y_i
    other_cells = lists.query_codes[valid][:, None] * n_mod + np.arange(n_mod)[None, :]
    starts = lists.starts[other_cells]
    below = np.searchsorted(keys, other_cells * width + probe[:, None], side="left") - starts
    below[lists.modality_codes[valid][:, None] == np.arange(n_mod)[None, :]] = 0
    how = "all" if max_pairs_per_item is None else "sample"
    streams = row_streams(seed, frame[QID])[valid] if how == "sample" else None
    owner, index = _choose(below.sum(axis=1), max_pairs_per_item, how, streams)
    cum = np.cumsum(below, axis=1)[owner]
    which = (index[:, None] >= cum).sum(axis=1)
    offset = index - (cum[np.arange(owner.shape[0]), which] - below[owner, which])
    winner = valid[owner]
    loser = lists.order[starts[owner, which] + offset]
    by_query = np.argsort(lists.query_codes[winner], kind="stable")
    winner, loser = winner[by_query], loser[by_query]
    weight = np.full(winner.shape[0], weight_mu)
    if normalize:
        qc = lists.query_codes[winner]
        weight = weight / np.bincount(qc, minlength=lists.n_queries)[qc]
    return _pairs_frame(frame[QID], lists.query_codes, winner, loser, weight, "cross")
