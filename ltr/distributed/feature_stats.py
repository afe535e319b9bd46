"""Fit a :class:`~smar_ltr.features.FeatureSet` on partitions by a distributed reduce, apply it per partition.

Each stateful built-in feature learns statistics that are sums over rows, so a partition computes its partial
statistics, a tree of merges combines them on the workers, and the client receives only the merged state:

* BM25 / TF-IDF (``smar.text.*``): document count, total document length and the per-bucket document
  frequencies (added);
* smoothed engagement rates (``smar.engagement.smoothed_*``): count, mean and sum of squared deviations of
  the observed rates (Chan et al.'s pairwise update), giving the same Beta prior as one pass;
* per-modality columns (``smar.modality.*``, ``smar.align.up_diff_best_*``): the set of modalities (union).

The result is loaded into the features with their own ``load_state``, so a distributed run saves exactly what
a single-machine run saves. A stateful feature without a known reduce (a plugin) is refused with one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from smar_ltr.errors import ConfigError
from smar_ltr.features import FeatureSet
from smar_ltr.features.base import Feature
from smar_ltr.features.context import numeric
from smar_ltr.features.engagement_features import SmoothedRate, beta_prior_from_moments, observed_rates
from smar_ltr.features.modality_features import ModalityColumns
from smar_ltr.features.text_features import CorpusStatsMatch
from smar_ltr.features.text_match import CorpusStats, hashed_column
from smar_ltr.page_table.schema import MODALITY

if TYPE_CHECKING:
    from distributed import Client, Future

Partial = tuple[str, Any]


def _partial(feature: Feature, part: pd.DataFrame) -> Partial:
    """The mergeable statistics of one feature on one partition."""
    if isinstance(feature, CorpusStatsMatch):
        codes, matrix = hashed_column(part, feature.field, feature.analyzer, feature.n_features, feature.ngram_range())
        stats = CorpusStats.learn(codes, matrix)
        df = stats.df if stats.df is not None else np.zeros(feature.n_features)
        return "corpus", (stats.n_docs, stats.avgdl * stats.n_docs, df)
    if isinstance(feature, SmoothedRate):
        rate = observed_rates(numeric(part, feature.numerator), numeric(part, feature.denominator))
        mean = float(rate.mean()) if rate.size else 0.0
        return "moments", (int(rate.size), mean, float(((rate - mean) ** 2).sum()))
    if isinstance(feature, ModalityColumns):
        return "modalities", set(part[MODALITY].dropna().astype(str).unique().tolist())
    return "none", None


def _merge_two(a: Partial, b: Partial) -> Partial:
    kind, x = a
    _, y = b
    if kind == "corpus":
        return kind, (x[0] + y[0], x[1] + y[1], x[2] + y[2])
    if kind == "moments":
        (na, ma, sa), (nb, mb, sb) = x, y
        n = na + nb
        if n == 0:
            return kind, (0, 0.0, 0.0)
        delta = mb - ma
        return kind, (n, ma + delta * nb / n, sa + sb + delta * delta * na * nb / n)
    if kind == "modalities":
        return kind, x | y
    return a


def partition_partials(part: pd.DataFrame, features: FeatureSet, fitted: list[bool]) -> list[Partial]:
    """Partial statistics of every feature to fit (``fitted[i]`` False: the feature is skipped)."""
    return [_partial(f, part) if todo else ("none", None) for f, todo in zip(features, fitted, strict=True)]


def merge_partials(*lists: list[Partial]) -> list[Partial]:
    """Merge the per-feature partials of several partitions (associative; used as a tree reduce)."""
    out = list(lists[0])
    for other in lists[1:]:
        out = [_merge_two(a, b) for a, b in zip(out, other, strict=True)]
    return out


def _state(feature: Feature, merged: Partial) -> dict[str, Any]:
    kind, value = merged
    if kind == "corpus":
        n_docs, total, df = value
        stats = CorpusStats(int(n_docs), float(total / n_docs) if n_docs else 0.0, np.rint(df))
        return {"n_features": int(feature.n_features), **stats.to_state()}  # type: ignore[attr-defined]
    if kind == "moments":
        n, mean, m2 = value
        if n == 0:
            return {"alpha": None, "beta": None}
        strength = None if feature.prior_strength is None else float(feature.prior_strength)  # type: ignore[attr-defined]
        alpha, beta = beta_prior_from_moments(mean, m2 / n, strength)
        return {"alpha": alpha, "beta": beta}
    if kind == "modalities":
        return {"modalities": sorted(value)}
    return {}


def _tree_reduce(client: Client, futures: list[Future], width: int = 8) -> Future:
    """Merge futures of partial lists pairwise-in-groups on the workers until one remains."""
    level = list(futures)
    while len(level) > 1:
        level = [client.submit(merge_partials, *level[i : i + width]) for i in range(0, len(level), width)]
    return level[0]


def fit_features(features: FeatureSet, parts: list[Future], columns: list[str], client: Client) -> FeatureSet:
    """Fit ``features`` on the training partitions ``parts`` (futures of pandas page tables) by a reduce.

    Parameters
    ----------
    features : FeatureSet
        Unfitted features (fitted in place and returned).
    parts : list of Future
        Query-aligned partitions of the training pages (with ``upstream_score``).
    columns : list of str
        Columns of every partition (missing fit inputs make a feature output NaN, as on one machine).
    client : distributed.Client

    Raises
    ------
    ConfigError
        A stateful feature whose statistics have no distributed reduce.
    """
    todo = []
    for f in features:
        unknown = f.stateful() and not isinstance(f, CorpusStatsMatch | SmoothedRate | ModalityColumns)
        if unknown:
            raise ConfigError(
                f"feature {f.name!r} learns statistics that the Dask engine cannot reduce; deselect it or use "
                "the local engine"
            )
        todo.append(f.stateful() and not f.missing_inputs(pd.DataFrame(columns=columns), f.required_fit_inputs()))
    if any(todo):
        shared = client.scatter(features, broadcast=True)
        partials = client.map(partition_partials, parts, features=shared, fitted=todo, pure=False)
        merged = _tree_reduce(client, partials).result()
    else:
        merged = [("none", None)] * len(features)
    for f, fit_it, part in zip(features, todo, merged, strict=True):
        if not f.stateful():
            continue
        if fit_it:
            f.load_state(_state(f, part))
        else:
            f.restore({"fit_skipped": True})
    features.check_columns()
    return features


def design_meta(raw: list[str], upstream: bool, features: FeatureSet) -> pd.DataFrame:
    """Empty frame with the columns and dtypes of :func:`smar_ltr.serving.model.design_matrix`."""
    cols = [*raw, *(["upstream_score"] if upstream else []), *features.output_columns]
    return pd.DataFrame({c: pd.Series([], dtype="float32") for c in cols})
