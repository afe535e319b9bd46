"""Ranking metrics, vectorised over queries (no Python loop over queries).

Rows are grouped by ``qid`` (queries in order of first appearance) and ranked within a query by **score
descending, ties kept in input order** (a stable sort; Python's ``sorted(..., reverse=True)`` gives the same
order, and so does the SMAR authors' evaluator). ``rank`` is 1-based. ``k`` omitted means the whole list.
A query's metric is computed on its own list; :func:`evaluate` returns the mean over queries, skipping
queries whose value is NaN (the ``empty=skip`` policy, or no eligible pairs for the modal metrics); the mean
is NaN when every query is skipped.

Definitions (``rel_i = label_i >= rel``, ``R`` = number of relevant items of the query, counted over the whole
list, not just the top k):

``ndcg@k(gain=exp|linear, empty=one|zero|skip)``
    ``DCG@k = sum_{rank<=k} gain(label) / log2(rank + 1)``; IDCG@k is the same with the labels sorted
    descending; NDCG = DCG / IDCG [Jarvelin & Kekalainen, ACM TOIS 20(4), 2002]. ``gain=exp`` is
    ``2^label - 1`` [Burges et al., ICML 2005], ``linear`` is ``label`` (sklearn, trec_eval). A query with
    IDCG = 0 (every label 0) scores ``empty``: ``one`` by default, the convention of LightGBM's and XGBoost's
    ``ndcg`` metrics; ``zero`` is sklearn's ``ndcg_score`` and trec_eval's; ``skip`` drops the query from the
    mean. Values are capped at 1 to absorb last-bit rounding.
``bndcg(rel=1, empty=zero)``
    Binary NDCG cut at k = R: ``sum_{rank<=R} rel_i / log2(rank + 1)`` over ``sum_{i=1..R} 1 / log2(i + 1)``;
    the SMAR authors' "NDCG" (``calculate_ndcg`` in github.com/zzs97str/SMAR, ``evaluator.py``). Their
    evaluator iterates only over queries present in the qrels, i.e. it *skips* queries with R = 0; write
    ``bndcg(empty=skip)`` (and ``empty=skip`` on the other binary metrics) to reproduce their averages.
``mrr@k(rel=1, empty=zero)``
    ``1 / rank`` of the first relevant item within the top k, 0 when there is none [Voorhees, TREC-8 QA,
    1999].
``map@k(rel=1, empty=zero)``
    ``AP@k = sum_{i<=k} P@i * rel_i / min(R, k)`` (``/ R`` without k), mean over queries [Manning, Raghavan &
    Schutze, *Introduction to IR*, 2008, ch. 8; the ``min(R, k)`` denominator as in the SMAR authors' code].
``precision@k(rel=1, empty=zero)``
    Relevant items in the top k divided by k, even when the list is shorter than k (trec_eval's P@k and the
    SMAR authors' convention); without k, divided by the list length [Manning et al. 2008, ch. 8].
``recall@k(rel=1, empty=zero)``
    Relevant items in the top k divided by R [Manning et al. 2008, ch. 8].
``err@k(gmax=4, empty=zero)``
    Expected reciprocal rank [Chapelle, Metzler, Zhang & Grinspan, CIKM 2009]:
    ``sum_{r<=k} (1/r) R_r prod_{i<r} (1 - R_i)`` with ``R_i = (2^label_i - 1) / 2^gmax``. Labels above
    ``gmax`` raise :class:`~smar_ltr.errors.ConfigError`. ``empty`` applies when every label is 0.
``modal_agreement`` / ``modal_tau``
    Agreement of the ranking with each modality's single-modal order ``reference`` (``g^m``, the signal of
    SMAR's single-modal consistency term). For every (query, modality), over the unordered pairs with
    ``reference_i != reference_j`` (reference ties are skipped): accuracy = ``(C + T / 2) / P``, where C
    counts pairs whose scores are ordered like their references, T pairs with equal scores, P the pairs
    counted. ``modal_tau = 2 * accuracy - 1 = (C - D) / P`` (D = discordant pairs): Kendall's tau-a
    [Kendall, Biometrika 30, 1938] restricted to the pairs the reference orders, score ties counting 0 (not
    tau-b). A (query, modality) with no such pair (fewer than 2 items, or all references tied) is not
    eligible. Per query: unweighted mean over its eligible modalities; queries with none are NaN (skipped).
    Rows whose modality or reference is missing (NA/NaN) take no part.
    Cost: O(sum of squared (query, modality) sizes), computed in bounded-memory blocks.

Binary metrics (bndcg, mrr, map, precision, recall) apply ``empty`` to queries with R = 0; their default is
``zero`` (a query without relevant items contributes 0), ``one`` counts it as solved, ``skip`` drops it.

Queries whose labels are all equal (one item, or every item labelled alike) are *constant-label* queries:
every ranking of them scores the same (NDCG, bndcg, MRR and MAP are 1 when the common label is relevant, the
``empty`` value when it is not), so they cannot tell methods apart and pull every method's mean towards the
same number. Policy: :func:`evaluate` keeps them (the averages then match LightGBM's, XGBoost's and
trec_eval's); :func:`constant_label_queries` finds them so a report can state how many there are, and
``smar_ltr.evaluation.paper_protocol.evaluate_run(..., exclude_constant_queries=True)`` (``smar-ltr eval
--exclude-constant-queries``) leaves them out of every metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.metrics.inputs import as_float, check_finite, check_length, factorize_qid
from smar_ltr.metrics.modal_agreement import modal_accuracy
from smar_ltr.metrics.names import MetricSpec, parse_metric, valid_metrics_line
from smar_ltr.metrics.per_query import KERNELS, RankedLists

__all__ = [
    "DEFAULT_METRICS",
    "MetricSpec",
    "constant_label_queries",
    "evaluate",
    "evaluate_per_query",
    "parse_metric",
    "valid_metrics_line",
]

#: Metrics computed when none are named: the SMAR authors' set (MRR, MAP, P, R, bndcg) plus NDCG@10.
DEFAULT_METRICS = ("ndcg@10", "mrr@10", "map@10", "precision@10", "recall@10", "bndcg")
_MODAL = ("modal_agreement", "modal_tau")


def evaluate(
    labels: Any,
    scores: Any,
    qid: Any,
    metrics: Sequence[str | MetricSpec] | str | MetricSpec = DEFAULT_METRICS,
    *,
    modality: Any = None,
    reference: Any = None,
) -> dict[str, float]:
    """Mean of each metric over queries.

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
        Graded relevance, non-negative (ints or floats; nullable Int64 without NA is fine).
    scores : array-like of shape (n_rows,)
        Model scores, finite; higher ranks first.
    qid : array-like of shape (n_rows,)
        Any hashable query id per row; rows of a query need not be contiguous.
    metrics : sequence of str or MetricSpec
        Metric names (module docstring); default :data:`DEFAULT_METRICS`.
    modality, reference : array-like of shape (n_rows,), optional
        Per-row modality and single-modal score ``g^m``; required by ``modal_agreement`` / ``modal_tau`` only.

    Returns
    -------
    dict of str to float
        Keyed by the metric strings exactly as given (``str(spec)`` for a :class:`MetricSpec`), in order.
        Queries with a NaN value are left out of the mean; NaN when all are.

    Raises
    ------
    ConfigError
        A bad metric name, or a modal metric without ``modality`` / ``reference``.
    PageTableError
        Empty input, unequal lengths, NaN/inf scores or labels, negative labels, missing qid.
    """
    _, values = _compute(labels, scores, qid, metrics, modality, reference)
    return {key: _nanmean(column) for key, column in values.items()}


def evaluate_per_query(
    labels: Any,
    scores: Any,
    qid: Any,
    metrics: Sequence[str | MetricSpec] | str | MetricSpec = DEFAULT_METRICS,
    *,
    modality: Any = None,
    reference: Any = None,
) -> pd.DataFrame:
    """Every metric for every query, arguments as :func:`evaluate`.

    Returns
    -------
    pandas.DataFrame of shape (n_queries, n_metrics)
        Index ``qid`` (the query ids in order of first appearance), one float column per metric named as
        given; NaN where a query is skipped.
    """
    index, values = _compute(labels, scores, qid, metrics, modality, reference)
    return pd.DataFrame(values, index=index, columns=list(values))


def constant_label_queries(labels: Any, qid: Any) -> np.ndarray:
    """Which rows belong to a query whose labels are all equal (see the module docstring for the policy).

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
        Graded relevance.
    qid : array-like of shape (n_rows,)
        Query id per row.

    Returns
    -------
    ndarray of bool, shape (n_rows,)
        True on every row of a constant-label query.
    """
    label = as_float(labels, "labels")
    codes, index = factorize_qid(qid, label.shape[0])
    n = len(index)
    high = np.full(n, -np.inf)
    low = np.full(n, np.inf)
    np.maximum.at(high, codes, label)
    np.minimum.at(low, codes, label)
    return (high == low)[codes]


# ---- one pass over the rows for every requested metric ---------------------------------------------------
def _compute(
    labels: Any,
    scores: Any,
    qid: Any,
    metrics: Sequence[str | MetricSpec] | str | MetricSpec,
    modality: Any,
    reference: Any,
) -> tuple[pd.Index, dict[str, np.ndarray]]:
    specs = _parse_all(metrics)
    label = as_float(labels, "labels")
    score = as_float(scores, "scores")
    n = label.shape[0]
    if n == 0:
        raise PageTableError("no rows to evaluate: labels, scores and qid are empty")
    check_length(score, n, "scores")
    check_finite(label, "labels")
    check_finite(score, "scores")
    if (label < 0).any():
        row = int(np.flatnonzero(label < 0)[0])
        raise PageTableError(f"labels must be >= 0; row {row} has {label[row]:g}")
    codes, index = factorize_qid(qid, n)
    ranked = RankedLists(label, score, codes, len(index))
    out: dict[str, np.ndarray] = {}
    modal_acc: np.ndarray | None = None
    for key, spec in specs.items():
        if spec.name in _MODAL:
            if modal_acc is None:
                modal_acc = modal_accuracy(codes, len(index), score, modality, reference, key)
            out[key] = modal_acc if spec.name == "modal_agreement" else 2.0 * modal_acc - 1.0
        else:
            out[key] = KERNELS[spec.name](ranked, spec)
    return index, out


def _parse_all(metrics: Sequence[str | MetricSpec] | str | MetricSpec) -> dict[str, MetricSpec]:
    if isinstance(metrics, (str, MetricSpec)):
        metrics = [metrics]
    specs = {m if isinstance(m, str) else str(m): parse_metric(m) for m in metrics}
    if not specs:
        raise ConfigError(f"no metrics requested; {valid_metrics_line()}")
    return specs


def _nanmean(values: np.ndarray) -> float:
    kept = values[~np.isnan(values)]
    return float(kept.mean()) if kept.size else float("nan")
