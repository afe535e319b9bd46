"""Query and page-composition features: query length, term count, page size, number of modalities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smar_ltr.features.base import Feature
from smar_ltr.features.context import group_codes, text_codes
from smar_ltr.features.modality_features import MODALITY, QID
from smar_ltr.features.registry import register_feature
from smar_ltr.features.text_hashing import DEFAULT_N_FEATURES
from smar_ltr.features.text_match import QUERY, hashed_column


@register_feature("smar.query.char_len.v1")
class QueryCharLength(Feature):
    """Number of characters of the query (surrounding whitespace stripped)."""

    inputs = (QUERY,)
    outputs = ("query_chars",)
    scope = "query"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        codes, uniques = text_codes(frame, QUERY)
        lengths = uniques.str.strip().str.len().to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.where(codes >= 0, lengths[np.maximum(codes, 0)] if len(lengths) else np.nan, np.nan)
        return pd.DataFrame({self.outputs[0]: out}, index=frame.index)


@register_feature("smar.query.term_count.v1")
class QueryTermCount(Feature):
    """Number of terms in the query (language-agnostic tokeniser: every CJK character is a term)."""

    inputs = (QUERY,)
    outputs = ("query_terms",)
    scope = "query"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        codes, _ = text_codes(frame, QUERY)
        _, matrix = hashed_column(frame, QUERY, "terms", DEFAULT_N_FEATURES)
        counts = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
        out = np.where(codes >= 0, counts[np.maximum(codes, 0)] if len(counts) else np.nan, np.nan)
        return pd.DataFrame({self.outputs[0]: out}, index=frame.index)


@register_feature("smar.page.n_candidates.v1")
class PageCandidateCount(Feature):
    """Number of candidates on the page."""

    inputs = (QID,)
    outputs = ("page_n_candidates",)
    scope = "page"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        codes, n = group_codes(frame, QID)
        return pd.DataFrame({self.outputs[0]: np.bincount(codes, minlength=n)[codes]}, index=frame.index)


@register_feature("smar.page.n_modalities.v1")
class PageModalityCount(Feature):
    """Number of distinct modalities on the page."""

    inputs = (QID, MODALITY)
    outputs = ("page_n_modalities",)
    scope = "page"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        page, n_pages = group_codes(frame, QID)
        pm, n_pm = group_codes(frame, QID, MODALITY)
        first = np.zeros(n_pm, dtype=np.int64)
        first[pm] = page  # page of each (page, modality) group
        return pd.DataFrame({self.outputs[0]: np.bincount(first, minlength=n_pages)[page]}, index=frame.index)
