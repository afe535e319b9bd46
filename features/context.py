"""Work shared between the features of one ``FeatureSet.fit`` / ``transform`` call.

Several features need the same intermediate results: the query's term vector is used by every text feature,
per-page group codes by every page-level feature. :func:`shared_cache` opens a scope in which
:func:`cached` computes each keyed result once; outside such a scope :func:`cached` simply computes. The cache
lives in a :class:`contextvars.ContextVar`, so features keep the plain ``transform(frame)`` signature and
threads or async tasks do not see each other's caches.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")


#: Cache entries tied to one column (``(kind, column, ...)`` keys) that :meth:`CacheScope.release` may drop.
COLUMN_KINDS = frozenset({"text", "hashed", "matches"})


class CacheScope:
    """The intermediate results of one pass over one frame."""

    def __init__(self, frame: pd.DataFrame, owned: bool = True, features: tuple[Any, ...] = ()) -> None:
        self.index = frame.index
        self.store: dict[Hashable, Any] = {}
        self.owned = owned
        self.features = features

    def release(self, column: str) -> None:
        """Drop the cached results derived from ``column`` (to bound memory once no feature needs them)."""
        if not self.owned:
            return
        for key in [k for k in self.store if isinstance(k, tuple) and k[0] in COLUMN_KINDS and k[1] == column]:
            del self.store[key]

    def serves(self, frame: pd.DataFrame) -> bool:
        # Features receive shallow copies of the scope's frame: same length and index (cheap for RangeIndex).
        return frame.index is self.index or (len(frame) == len(self.index) and frame.index.equals(self.index))


_SCOPE: contextvars.ContextVar[CacheScope | None] = contextvars.ContextVar("smar_features_cache", default=None)


@contextmanager
def shared_cache(frame: pd.DataFrame, features: tuple[Any, ...] = ()) -> Iterator[CacheScope]:
    """Open a cache scope for one pass of several features over ``frame``.

    ``features`` are the features of the pass (see :func:`pass_features`).

    Within the scope every frame with the same index is assumed to hold the same data (features get shallow
    copies of ``frame``); results for other frames are computed without caching. A nested scope for the same
    frame (``fit_transform`` calling ``fit`` and ``transform``) shares the outer scope's results.
    """
    outer = _SCOPE.get()
    if outer is not None and outer.serves(frame):  # nested pass over the same frame: share the results
        view = CacheScope(frame, owned=False, features=outer.features)
        view.store = outer.store
        yield view
        return
    scope = CacheScope(frame, features=features)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def cached(frame: pd.DataFrame, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, memoised under ``key`` when ``frame`` is the current :func:`shared_cache` frame."""
    scope = _SCOPE.get()
    if scope is None or not scope.serves(frame):
        return compute()
    if key not in scope.store:
        scope.store[key] = compute()
    return scope.store[key]


def pass_features(frame: pd.DataFrame) -> tuple[Any, ...]:
    """The features of the current :func:`shared_cache` pass over ``frame`` (empty outside one).

    A feature may compute a result a later feature of the same pass will ask for (e.g. the query-field overlap
    comes out of the same kernel pass as the TF-IDF cosine) and leave it in the cache.
    """
    scope = _SCOPE.get()
    return scope.features if scope is not None and scope.serves(frame) else ()


def group_codes(frame: pd.DataFrame, *columns: str) -> tuple[np.ndarray, int]:
    """Dense integer codes of the row groups defined by ``columns`` (e.g. ``qid`` or ``qid, modality``).

    Returns
    -------
    codes : ndarray of int64, shape (n_rows,)
        Group of each row, numbered in order of first appearance.
    n_groups : int
    """

    def compute() -> tuple[np.ndarray, int]:
        codes = np.zeros(len(frame), dtype=np.int64)
        n = 1
        for col in columns:
            c, uniques = pd.factorize(frame[col], use_na_sentinel=False)
            codes = codes * max(len(uniques), 1) + c
            n *= max(len(uniques), 1)
        if len(columns) > 1:
            codes, combined = pd.factorize(codes)
            n = len(combined)
        return codes.astype(np.int64), n

    return cached(frame, ("groups", columns), compute)


def positions_in(frame: pd.DataFrame, column: str, values: list[str]) -> np.ndarray:
    """Position of each row's value of ``column`` (as a string) in ``values``; -1 where absent or missing.

    A categorical column is looked up once per category, not once per row (no per-row string conversion).
    """
    s = frame[column]
    index = pd.Index(values, dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):
        lookup = np.append(index.get_indexer(pd.Index(s.cat.categories.astype(str), dtype=object)), -1)
        return lookup[s.cat.codes.to_numpy()]  # code -1 (missing) picks the appended -1
    return index.get_indexer(pd.Index(s.astype(str), dtype=object))


def numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with NaN for missing or non-numeric values."""
    s = pd.to_numeric(frame[column], errors="coerce")
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def text_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Series]:
    """Factorised text column: per-row code into the unique values (-1 for missing) and the unique values."""

    def compute() -> tuple[np.ndarray, pd.Series]:
        codes, uniques = pd.factorize(frame[column].astype("str"))
        return codes.astype(np.int64), pd.Series(uniques, dtype="str")

    return cached(frame, ("text", column), compute)
