"""A fitted SMAR run (:class:`SmarModel`) and the reranker's design matrix (:func:`design_matrix`).

Moved out of :mod:`smar_ltr.pipeline` (which re-exports all three names) unchanged: the pipeline fits a run, this
module is what a fitted or loaded run is and how it scores pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.config import RunConfig
from smar_ltr.errors import ConfigError, DatasetError
from smar_ltr.features import FeatureSet
from smar_ltr.features.text_kernels import SERIAL_ROWS
from smar_ltr.page_table.schema import UPSTREAM_SCORE, validate_page_table
from smar_ltr.rankers import GBDTRanker
from smar_ltr.rankers.single_modal import check_modalities_seen, with_upstream_scores
from smar_ltr.serving.chunked_scoring import score_in_chunks

__all__ = ["SmarModel", "design_matrix", "select_features"]


@dataclass
class SmarModel:
    """A fitted SMAR run: single-modal rankers, feature set and whole-page reranker.

    Attributes
    ----------
    config : RunConfig
        The exact configuration used.
    single_modal : dict of str to GBDTRanker
        Per-modality rankers (empty when the dataset ships ``upstream_score``).
    modal_features : dict of str to list of str
        Input columns of each single-modal ranker.
    features : FeatureSet
        Fitted feature extractors (training statistics included).
    raw_features : list of str
        Dataset-provided numeric columns fed to the reranker.
    reranker : GBDTRanker
        The whole-page reranker.
    revealed : DataFrame
        ``qid, item_id`` of the training candidates whose page label was used.
    summary : dict
        Annotation summary, label cost, supervision counts, data fingerprint.
    revealed_valid : DataFrame or None
        ``qid, item_id`` of the validation candidates whose page label early stopping read (None: none read).
    """

    config: RunConfig
    single_modal: dict[str, GBDTRanker]
    modal_features: dict[str, list[str]]
    features: FeatureSet
    raw_features: list[str]
    reranker: GBDTRanker
    revealed: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    revealed_valid: pd.DataFrame | None = None

    @property
    def feature_names(self) -> list[str]:
        """Reranker input columns, in order."""
        return list(self.reranker.feature_names_in_)

    @property
    def needs_upstream(self) -> bool:
        """True when the reranker's inputs read ``upstream_score`` (itself, or a feature computed from it)."""
        return bool(self.config.upstream_as_feature or self.features.requires_upstream)

    def prepare(self, frame: pd.DataFrame, upstream: bool = True) -> pd.DataFrame:
        """Validated copy of ``frame`` with ``upstream_score`` filled (computed, or required when shipped).

        ``upstream=False`` skips the single-modal rankers (what :meth:`score` does when the reranker does not
        read ``upstream_score``: its scores cannot depend on it).
        """
        frame = validate_page_table(frame, what="input pages")
        check_modalities_seen(frame, self.summary.get("modalities"))
        self.check_feature_inputs(frame)
        if not upstream:
            return frame
        if self.single_modal:
            return with_upstream_scores(frame, self.single_modal, self.modal_features)
        if UPSTREAM_SCORE not in frame.columns:
            raise DatasetError(
                "input pages lack 'upstream_score': this run was trained on shipped single-modal scores, "
                "so inputs must carry them too"
            )
        return frame

    @cached_property
    def reading_features(self) -> list[Any]:
        """The extracted features whose columns some tree splits on (found once: listing an XGBoost booster's
        splits costs milliseconds, and every rerank asks)."""
        used = set(self.reranker.used_features())
        return [f for f in self.features if used.intersection(f.output_columns)]

    def check_feature_inputs(self, frame: pd.DataFrame) -> None:
        """Refuse pages that lack a column the training pages had and a feature the reranker splits on reads:
        the feature would be NaN and the scores silently different (runs saved before this check list none)."""
        seen = set(self.summary.get("feature_inputs", ()))
        if not seen:
            return
        reading = self.reading_features
        missing = sorted({c for f in reading for c in f.inputs if c in seen and c not in frame.columns})
        if missing:
            names = sorted(f.name for f in reading if missing[0] in f.inputs)
            raise DatasetError(
                f"input pages lack column {missing[0]!r}, which the training pages had and feature {names[0]!r} "
                "reads; without it that feature is NaN and the scores change: add the column"
            )

    def featurize(self, frame: pd.DataFrame, used_only: bool = False) -> pd.DataFrame:
        """Reranker feature matrix of a prepared frame (training statistics reused).

        ``used_only`` computes only the extracted features whose columns some tree of the reranker splits on, or
        the list stage reads, and leaves the others NaN: the scores are the same (an input no split reads cannot
        change them), the matrix is not the full one.
        """
        if not used_only:
            return design_matrix(frame, self.features, self.raw_features, self.config.upstream_as_feature)
        needed = FeatureSet(self.reading_features, self.features.selection)
        extracted = needed.transform_columns(frame)
        return design_matrix(frame, self.features, self.raw_features, self.config.upstream_as_feature, extracted)

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Whole-page scores of a page table, in input order (only the features the reranker reads are computed)."""
        return self.prepare_and_score(frame)[1]

    def prepare_and_score(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """``(prepared frame, scores)``: :meth:`score` that also returns the validated frame it scored.

        A large table is scored in query-aligned chunks on parallel threads (:mod:`smar_ltr.serving.chunked_scoring`;
        same scores).
        """
        prepared = self.prepare(frame, upstream=self.needs_upstream)
        scores = score_in_chunks(prepared, lambda chunk: self._score_prepared(chunk, n_threads=1))
        if scores is None:  # one pass; a small table on one booster thread (waking a second costs more: SERIAL_ROWS)
            scores = self._score_prepared(prepared, n_threads=1 if len(prepared) < SERIAL_ROWS else None)
        return prepared, scores

    def _score_prepared(self, prepared: pd.DataFrame, n_threads: int | None = None) -> np.ndarray:
        return self.score_features(prepared, self.featurize(prepared, used_only=True), n_threads)

    def score_features(self, prepared: pd.DataFrame, X: pd.DataFrame, n_threads: int | None = None) -> np.ndarray:
        """The reranker's scores of prepared pages from their feature matrix ``X`` (:meth:`featurize`)."""
        return self.reranker.predict(X, n_threads=n_threads)


def design_matrix(
    frame: pd.DataFrame,
    features: FeatureSet,
    raw: list[str],
    upstream: bool,
    extracted: pd.DataFrame | Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Raw dataset features + extracted features (+ ``upstream_score``) as one float frame, rows as ``frame``.

    ``extracted`` may pass ``features.transform(frame)`` (or its arrays, ``transform_columns``) when it was
    already computed (e.g. by ``fit_transform``); columns of ``features`` it lacks are NaN.
    """
    missing = [c for c in raw if c not in frame.columns]
    if missing:
        raise DatasetError(f"input pages lack feature column {missing[0]!r} that the model was trained with")
    dtypes = frame.dtypes
    for col in raw:
        if not pd.api.types.is_numeric_dtype(dtypes[col]) or pd.api.types.is_bool_dtype(dtypes[col]):
            bad = frame[col][pd.to_numeric(frame[col], errors="coerce").isna() & frame[col].notna()]
            example = bad.iloc[0] if len(bad) else frame[col].iloc[0]
            raise DatasetError(
                f"feature column {col!r} must be numeric, found {example!r}; fix the value or write NaN for missing"
            )
    front = [*raw, UPSTREAM_SCORE] if upstream else list(raw)
    if extracted is None:
        extracted = features.transform_columns(frame)
    names = [*front, *features.output_columns]
    # one float32 block, filled column by column: the reranker reads it without another copy
    values = np.full((len(frame), len(names)), np.nan, dtype=np.float32)
    if front:  # one 2-D conversion of the dataset's columns (float64 columns share one block)
        values[:, : len(front)] = frame[front].to_numpy(dtype=np.float32, na_value=np.nan)
    for i, col in enumerate(features.output_columns, start=len(front)):
        if col in extracted:  # absent: a feature left out because the reranker does not read it
            column = extracted[col]
            values[:, i] = column if isinstance(column, np.ndarray) else column.to_numpy(np.float32, na_value=np.nan)
    return pd.DataFrame(values, index=frame.index, columns=names, copy=False)


def select_features(config: RunConfig) -> FeatureSet:
    """The configured feature set; without ``upstream_as_feature`` the features computed from the single-modal
    score are left out too (silently for the default selection, with an error when named explicitly)."""
    features = FeatureSet.from_selection(config.features)
    if config.upstream_as_feature:
        return features
    plain, aligned = features.split_upstream()
    if config.features is not None and aligned.features:
        raise ConfigError(
            f"feature {aligned.names[0]!r} reads upstream_score, but upstream_as_feature is false; "
            "set upstream_as_feature=true or leave that feature out"
        )
    return plain
