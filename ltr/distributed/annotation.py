"""The annotation budget on query-aligned partitions, with the same result as
:func:`smar_ltr.annotation.budget.annotate`.

The global cap ``B = max(1, floor(p * N))`` needs ``N`` and its largest-remainder split over queries needs every
query's size in table order, so each partition reports its query sizes, one task on a worker splits ``B``
(:func:`split_allowance`) and hands each partition its queries' allowances; each partition then runs
:func:`~smar_ltr.annotation.budget.annotate` on its own rows with those allowances (the split over modalities, the
selection and the iso-anchor search are per query). ``random`` draws per-query streams, so every strategy
reveals exactly the rows it reveals on one machine.

Each annotated partition is the page table plus two columns: :data:`REVEALED` (bool) and :data:`INFERRED`
(``iso-anchor``'s inferred label, NaN elsewhere).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import annotate, check_strategy, global_allowance, largest_remainder
from smar_ltr.config import BudgetConfig
from smar_ltr.errors import ConfigError
from smar_ltr.page_table.schema import ITEM_ID, QID

if TYPE_CHECKING:
    from distributed import Client, Future

REVEALED = "_smar_revealed"
INFERRED = "_smar_inferred_label"


def query_sizes(part: pd.DataFrame) -> np.ndarray:
    """Rows per query of a partition, queries in first-appearance order."""
    codes, uniques = pd.factorize(part[QID], sort=False)
    return np.bincount(codes, minlength=len(uniques)).astype(np.int64)


def split_allowance(budget: float, strategy: str, *sizes: np.ndarray) -> list[np.ndarray]:
    """Per partition, the allowance of each of its queries (``B`` split over all queries in table order)."""
    all_sizes = np.concatenate(sizes) if sizes else np.array([], dtype=np.int64)
    n = int(all_sizes.sum())
    if strategy == "all" or n == 0:
        per_query = all_sizes
    else:
        per_query = largest_remainder(np.array([global_allowance(budget, n)]), all_sizes[None, :])[0]
    bounds = np.cumsum([0, *[len(s) for s in sizes]])
    return [per_query[a:b] for a, b in itertools.pairwise(bounds)]


def annotate_partition(
    part: pd.DataFrame,
    allowances: list[np.ndarray],
    index: int,
    cfg: BudgetConfig,
    seed: int,
    max_label: int | None,
    n: int,
) -> pd.DataFrame:
    """Annotate one partition's rows with its queries' allowances; returns it with the two annotation columns."""
    result = annotate(
        part,
        cfg.strategy,
        cfg.budget,
        seed=seed,
        band=cfg.band,
        modality_shares=cfg.modality_shares,
        max_label=max_label,
        query_allowance=allowances[index],
        allowance=global_allowance(cfg.budget, n),
    )
    inferred = result.inferred_label if result.inferred_label is not None else np.full(len(part), np.nan)
    return part.assign(**{REVEALED: np.asarray(result.mask, dtype=bool), INFERRED: inferred})


def summarise(part: pd.DataFrame) -> dict[str, Any]:
    """Revealed rows and counts of one annotated partition (reduced by :func:`annotate_parts`)."""
    mask = part[REVEALED].to_numpy(dtype=bool)
    return {"rows": len(part), "used": int(mask.sum()), "revealed": part.loc[mask, [QID, ITEM_ID]]}


def annotate_parts(
    parts: list[Future], cfg: BudgetConfig, seed: int, client: Client, max_label: int | None = None
) -> tuple[list[Future], dict[str, Any], pd.DataFrame]:
    """Annotate query-aligned training partitions (futures of pandas page tables).

    Returns
    -------
    (list of Future, dict, DataFrame)
        The annotated partitions (:data:`REVEALED`, :data:`INFERRED` added; masks stay on the workers), the
        summary of :meth:`smar_ltr.annotation.budget.Annotation.summary`, and ``qid, item_id`` of the revealed rows
        (what a
        team sends to annotators; saved with the run).
    """
    check_strategy(cfg.strategy)
    sizes = client.map(query_sizes, parts, pure=False)
    n = int(sum(client.gather(client.map(len, parts, pure=False))))
    if n == 0:
        raise ConfigError("the training pages are empty; nothing to annotate")
    allowances = client.submit(split_allowance, cfg.budget, cfg.strategy, *sizes, pure=False)
    annotated = [
        client.submit(annotate_partition, p, allowances, i, cfg, seed, max_label, n, pure=False)
        for i, p in enumerate(parts)
    ]
    pieces = client.gather(client.map(summarise, annotated, pure=False))
    used = sum(p["used"] for p in pieces)
    revealed = pd.concat([p["revealed"] for p in pieces], ignore_index=True)
    revealed = revealed.astype({QID: str, ITEM_ID: str}) if len(revealed) else revealed
    everything = cfg.strategy == "all"
    summary = {
        "strategy": cfg.strategy,
        "budget": 1.0 if everything else float(cfg.budget),
        "labels_used": int(used),
        "label_fraction": float(used / n),
        "oracle_calls": int(used),
        "allowance": n if everything else global_allowance(cfg.budget, n),
    }
    return annotated, summary, revealed
