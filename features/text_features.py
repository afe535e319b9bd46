"""Query-text matching features against every text field a modality may have.

For each field in :data:`TEXT_FIELDS` four features are registered (24 in all):

============================================ ===============================================
name (output column ``q_<field>_<metric>``)  what
============================================ ===============================================
``smar.text.query_<field>_bm25.v1``          BM25 of the query against the field
``smar.text.query_<field>_term_overlap.v1``  share of the query's terms found in the field
``smar.text.query_<field>_char_overlap.v1``  share of the query's char 2-3-grams in the field
``smar.text.query_<field>_tfidf_cosine.v1``  char 2-3-gram TF-IDF cosine
============================================ ===============================================

Tokenisation is language-agnostic (see :mod:`smar_ltr.features.text_hashing`): terms split on separators and
every CJK character is a term, so Chinese data (Qilin, CrossRank) gets meaningful BM25 and overlaps without a
segmenter. BM25 and TF-IDF learn document frequencies of the field on the training pages (``fit``) and store
them compressed in the state; a dataset without the field gets NaN columns.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from smar_ltr.errors import ArtifactError
from smar_ltr.features.base import Feature
from smar_ltr.features.context import pass_features
from smar_ltr.features.registry import register_feature
from smar_ltr.features.text_hashing import DEFAULT_N_FEATURES
from smar_ltr.features.text_match import QUERY, Companion, CorpusStats, field_stats, score_pairs

#: Text fields matched against the query (``datasets.md``: title, body, caption, OCR / ASR text, LLM answer).
TEXT_FIELDS: tuple[str, ...] = ("title", "body", "caption", "ocr", "asr", "answer")


class _QueryFieldMatch(Feature):
    """Base of the query-field matching features (not registered)."""

    field: ClassVar[str] = ""
    metric: ClassVar[str] = ""
    analyzer: ClassVar[str] = "terms"
    suffix: ClassVar[str] = ""

    def __init__(self, n_features: int = DEFAULT_N_FEATURES) -> None:
        self.n_features = n_features

    def ngram_range(self) -> tuple[int, int]:
        """Character n-gram sizes ``(low, high)`` of the ``chars`` analyzer."""
        return (2, 3)

    def _score(self, frame: pd.DataFrame, stats: CorpusStats | None = None) -> pd.DataFrame:
        values = score_pairs(
            frame, self.field, self.analyzer, self.n_features, self.metric, stats, self.ngram_range(),
            companion=self._companion(frame) if self.metric == "overlap" else None, **self._metric_params(),
        )  # fmt: skip
        return pd.DataFrame({self.outputs[0]: values}, index=frame.index)

    def _companion(self, frame: pd.DataFrame) -> Companion | None:
        """A fitted BM25 / TF-IDF feature of the pass on the same field and analyzer: its kernel pass also gives
        this overlap, so the texts are hashed once for both."""
        for f in pass_features(frame):
            if (
                isinstance(f, CorpusStatsMatch)
                and (f.field, f.analyzer, f.n_features, f.ngram_range())
                == (self.field, self.analyzer, self.n_features, self.ngram_range())
                and getattr(f, "stats_", None) is not None
                and not f.missing_inputs(frame)
            ):
                params = f._metric_params()
                return Companion(f.metric, f.stats_, params.get("k1", 1.2), params.get("b", 0.75))
        return None

    def _metric_params(self) -> dict[str, float]:
        return {}


class CorpusStatsMatch(_QueryFieldMatch):
    """Base of matching features that learn document frequencies (not registered; the Dask engine merges
    their :class:`CorpusStats` across partitions)."""

    stats_: CorpusStats

    def fit(self, frame: pd.DataFrame) -> CorpusStatsMatch:
        self.stats_ = field_stats(frame, self.field, self.analyzer, self.n_features, self.ngram_range())
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self._score(frame, getattr(self, "stats_", None))

    def get_state(self) -> dict[str, Any]:
        stats = getattr(self, "stats_", None) or CorpusStats()
        return {"n_features": int(self.n_features), **stats.to_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        if int(state.get("n_features", self.n_features)) != self.n_features:
            raise ArtifactError(
                f"feature {self.name!r}: saved state uses n_features={state['n_features']}, parameters say "
                f"{self.n_features}; restore with the saved parameters"
            )
        self.stats_ = CorpusStats.from_state(state)


class QueryFieldBM25(CorpusStatsMatch):
    """BM25 of the query's terms against the {field} (k1, b parameters; IDF and avgdl from training pages)."""

    metric = "bm25"
    suffix = "bm25"

    def __init__(self, n_features: int = DEFAULT_N_FEATURES, k1: float = 1.2, b: float = 0.75) -> None:
        self.n_features = n_features
        self.k1 = k1
        self.b = b

    def _metric_params(self) -> dict[str, float]:
        return {"k1": float(self.k1), "b": float(self.b)}


class QueryFieldTermOverlap(_QueryFieldMatch):
    """Share of the query's distinct terms that occur in the {field} (0..1)."""

    metric = "overlap"
    suffix = "term_overlap"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self._score(frame)


class QueryFieldCharOverlap(_QueryFieldMatch):
    """Share of the query's distinct character 2-3-grams that occur in the {field} (0..1)."""

    metric = "overlap"
    analyzer = "chars"
    suffix = "char_overlap"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self._score(frame)


class QueryFieldTfidfCosine(CorpusStatsMatch):
    """Cosine of the character 2-3-gram TF-IDF vectors of the query and the {field} (IDF from training)."""

    metric = "cosine"
    analyzer = "chars"
    suffix = "tfidf_cosine"


def _register_field_features() -> None:
    for field in TEXT_FIELDS:
        for base in (QueryFieldBM25, QueryFieldTermOverlap, QueryFieldCharOverlap, QueryFieldTfidfCosine):
            doc = (base.__doc__ or "").format(field=field)
            cls = type(
                f"{base.__name__}_{field}",
                (base,),
                {
                    "__doc__": doc,
                    "__module__": __name__,
                    "field": field,
                    "inputs": (QUERY, field),
                    "outputs": (f"q_{field}_{base.suffix}",),
                },
            )
            register_feature(f"smar.text.query_{field}_{base.suffix}.v1")(cls)


_register_field_features()
