"""Per-query metric values on ranked lists: the kernels behind :func:`smar_ltr.metrics.ranking.evaluate`.

Rows are sorted once by (query, score descending, input order) into :class:`RankedLists`; each kernel in
:data:`KERNELS` turns that into one value per query (definitions and citations in :mod:`smar_ltr.metrics.ranking`).
Moved out of :mod:`smar_ltr.metrics.ranking` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property

import numpy as np

from smar_ltr.errors import ConfigError
from smar_ltr.metrics.names import MetricSpec

__all__ = ["KERNELS", "RankedLists", "descending_within", "size_buckets"]


class RankedLists:
    """Rows sorted by (query, score desc, input order), with per-row rank and per-query offsets."""

    def __init__(self, label: np.ndarray, score: np.ndarray, codes: np.ndarray, n_queries: int) -> None:
        order = descending_within(codes, score)
        self.label = label[order]
        self.query = codes[order]
        self.n_queries = n_queries
        self.sizes = np.bincount(codes, minlength=n_queries)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        self.rank = np.arange(order.shape[0]) - np.repeat(self.starts, self.sizes) + 1
        self._relevant: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    @cached_property
    def discount(self) -> np.ndarray:
        return 1.0 / np.log2(self.rank + 1.0)

    @cached_property
    def ideal_label(self) -> np.ndarray:
        """Labels sorted descending within each query."""
        return self.label[descending_within(self.query, self.label, stable=False)]

    @cached_property
    def max_label(self) -> np.ndarray:
        return np.maximum.reduceat(self.label, self.starts)

    def relevant(self, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ``label >= threshold`` and per-query count R."""
        if threshold not in self._relevant:
            rel = self.label >= threshold
            self._relevant[threshold] = (rel, np.bincount(self.query, weights=rel, minlength=self.n_queries))
        return self._relevant[threshold]

    def top(self, k: int | None) -> np.ndarray | bool:
        return True if k is None else self.rank <= k

    def per_query(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.query, weights=weights, minlength=self.n_queries)


def descending_within(codes: np.ndarray, values: np.ndarray, stable: bool = True) -> np.ndarray:
    """Row order by (code ascending, value descending, input order): ``np.lexsort((-values, codes))``.

    Same result as the lexsort, about 4x faster: one SIMD quicksort of the values, ties put back in input
    order (skipped when ``stable=False``), then one sort of the unique int64 key ``code * n + position``
    (needs n < 3e9 rows).
    """
    n = values.shape[0]
    by_value = np.argsort(-values)
    if stable:  # quicksort is not stable: order each run of equal values by row index
        ordered = values[by_value]
        tied = ordered[1:] == ordered[:-1]
        if tied.any():
            run = np.concatenate(([0], np.cumsum(~tied)))
            by_value = by_value[np.argsort(run * n + by_value)]
    position = np.empty(n, dtype=np.int64)
    position[by_value] = np.arange(n)
    return np.argsort(codes * n + position)


def _finish(values: np.ndarray, empty: np.ndarray, spec: MetricSpec) -> np.ndarray:
    fill = {"one": 1.0, "zero": 0.0, "skip": np.nan}[str(spec.param("empty"))]
    return np.where(empty, fill, values)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return num / np.where(den > 0, den, 1.0)


# ---- metric kernels: each returns an array of shape (n_queries,) -------------------------------------------
def _ndcg(r: RankedLists, spec: MetricSpec) -> np.ndarray:
    def gain(label: np.ndarray) -> np.ndarray:
        return np.exp2(label) - 1.0 if spec.param("gain") == "exp" else label

    weight = r.discount * r.top(spec.k)
    dcg = r.per_query(gain(r.label) * weight)
    idcg = r.per_query(gain(r.ideal_label) * weight)
    return _finish(np.minimum(_safe_div(dcg, idcg), 1.0), idcg <= 0, spec)


def _bndcg(r: RankedLists, spec: MetricSpec) -> np.ndarray:
    rel, n_rel = r.relevant(float(spec.param("rel")))
    dcg = r.per_query(rel * (r.rank <= n_rel[r.query]) * r.discount)
    ideal = np.cumsum(1.0 / np.log2(np.arange(2.0, r.sizes.max() + 2.0)))
    idcg = ideal[np.maximum(n_rel.astype(np.int64) - 1, 0)]
    return _finish(np.minimum(dcg / idcg, 1.0), n_rel == 0, spec)


def _mrr(r: RankedLists, spec: MetricSpec) -> np.ndarray:
    rel, n_rel = r.relevant(float(spec.param("rel")))
    reciprocal = np.where(rel & r.top(spec.k), 1.0 / r.rank, 0.0)
    return _finish(np.maximum.reduceat(reciprocal, r.starts), n_rel == 0, spec)


def _precision(r: RankedLists, spec: MetricSpec) -> np.ndarray:
    rel, n_rel = r.relevant(float(spec.param("rel")))
    hits = r.per_query(rel & r.top(spec.k))
    return _finish(hits / (r.sizes if spec.k is None else spec.k), n_rel == 0, spec)


def _recall(r: RankedLists, spec: MetricSpec) -> np.ndarray:
    rel, n_rel = r.relevant(float(spec.param("rel")))
    return _finish(_safe_div(r.per_query(rel & r.top(spec.k)), n_rel), n_rel == 0, spec)


def _map(r: RankedLists, spec: MetricSpec) -> np.ndarray:
    rel, n_rel = r.relevant(float(spec.param("rel")))
    running = np.cumsum(rel)  # integer counts: exact
    hits_so_far = running - (running[r.starts] - rel[r.starts])[r.query]
    ap = r.per_query(np.where(rel & r.top(spec.k), hits_so_far / r.rank, 0.0))
    denominator = n_rel if spec.k is None else np.minimum(n_rel, spec.k)
    return _finish(_safe_div(ap, denominator), n_rel == 0, spec)


def _err(r: RankedLists, spec: MetricSpec) -> np.ndarray:
    gmax = float(spec.param("gmax"))
    if r.max_label.max() > gmax:
        raise ConfigError(f"{spec}: label {r.max_label.max():g} exceeds gmax={gmax:g}; use err(gmax=<largest label>)")
    stop = (np.exp2(r.label) - 1.0) / 2.0**gmax
    lengths = r.sizes if spec.k is None else np.minimum(r.sizes, spec.k)
    out = np.zeros(r.n_queries)
    for size, queries in size_buckets(lengths):  # loop over distinct list lengths, not over queries
        p = stop[r.starts[queries, None] + np.arange(size)]
        survive = np.cumprod(1.0 - p, axis=1)
        before = np.concatenate([np.ones((len(queries), 1)), survive[:, :-1]], axis=1)
        out[queries] = (p * before / np.arange(1.0, size + 1.0)).sum(axis=1)
    return _finish(out, r.max_label <= 0, spec)


KERNELS: dict[str, Callable[[RankedLists, MetricSpec], np.ndarray]] = {
    "ndcg": _ndcg,
    "bndcg": _bndcg,
    "mrr": _mrr,
    "map": _map,
    "precision": _precision,
    "recall": _recall,
    "err": _err,
}


def size_buckets(lengths: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(size, group indices)`` for each distinct positive size (at most sqrt(2 n) of them)."""
    order = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[order])) + 1
    for groups in np.split(order, bounds):
        if lengths[groups[0]] > 0:
            yield int(lengths[groups[0]]), groups
