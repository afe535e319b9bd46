"""Modality features: which modality an item is, how the page is composed, where the item sits.

Modalities are learned in ``fit`` (sorted, as strings), so the columns are fixed by the training pages: a
modality unseen in training gets all-zero indicator and share columns at inference.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pandas as pd

from smar_ltr.features.base import Feature, FeatureNotFittedError
from smar_ltr.features.context import group_codes, numeric, positions_in
from smar_ltr.features.registry import register_feature

QID, MODALITY, POSITION = "qid", "modality", "position"


def _column_safe(value: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in value.lower()) or "_"


class ModalityColumns(Feature):
    """Base of features with one output column per training modality (not registered): ``fit`` learns the
    modalities, ``output_columns`` are ``<prefix><modality>``, and the modalities are the saved state."""

    prefix = ""
    fit_inputs = (MODALITY,)
    modalities_: list[str]

    def fit(self, frame: pd.DataFrame) -> ModalityColumns:
        self.modalities_ = sorted(frame[MODALITY].dropna().astype(str).unique().tolist())
        return self

    @property
    def output_columns(self) -> list[str]:
        if not hasattr(self, "modalities_"):
            if self._fitted:
                return []
            raise FeatureNotFittedError(f"feature {self.name!r} learns the modalities in fit; fit it first")
        return [f"{self.prefix}{_column_safe(m)}" for m in self.modalities_]

    def get_state(self) -> dict[str, Any]:
        return {"modalities": list(getattr(self, "modalities_", []))}

    def set_state(self, state: dict[str, Any]) -> None:
        self.modalities_ = [str(m) for m in state.get("modalities", [])]


class _PerModality(ModalityColumns):
    """Base of the modality features with one column per training modality (not registered)."""

    def _indicator(self, frame: pd.DataFrame) -> np.ndarray:
        """(n_rows, n_modalities) 0/1 matrix of each row's modality among the training modalities."""
        mods = getattr(self, "modalities_", [])
        codes = positions_in(frame, MODALITY, mods)
        ind = np.zeros((len(frame), len(mods)), dtype=np.float64)
        ok = codes >= 0
        ind[np.flatnonzero(ok), codes[ok]] = 1.0
        return ind


@register_feature("smar.modality.onehot.v1")
class ModalityOneHot(_PerModality):
    """One-hot indicator of the item's modality (one column per modality seen in training)."""

    inputs = (MODALITY,)
    outputs = ("modality_is_<m>",)
    prefix = "modality_is_"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self._indicator(frame), index=frame.index, columns=self.output_columns)


@register_feature("smar.modality.page_shares.v1")
class PageModalityShares(_PerModality):
    """Share of the page's candidates in each modality (one column per training modality)."""

    inputs = (QID, MODALITY)
    outputs = ("page_share_<m>",)
    scope = "page"
    prefix = "page_share_"

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        codes, n = group_codes(frame, QID)
        ind = self._indicator(frame)
        if ind.shape[1] == 0 or len(frame) == 0:
            return pd.DataFrame(ind, index=frame.index, columns=self.output_columns)
        size = np.bincount(codes, minlength=n).astype(np.float64)
        counts = np.column_stack([np.bincount(codes, weights=ind[:, j], minlength=n) for j in range(ind.shape[1])])
        return pd.DataFrame(counts[codes] / size[codes, None], index=frame.index, columns=self.output_columns)


@register_feature("smar.modality.own_share.v1")
class OwnModalityShare(Feature):
    """Share of the page's candidates that have the item's own modality (0..1]."""

    inputs = (QID, MODALITY)
    outputs = ("modality_page_share",)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        page, n_pages = group_codes(frame, QID)
        pm, n_pm = group_codes(frame, QID, MODALITY)
        share = np.bincount(pm, minlength=n_pm)[pm] / np.bincount(page, minlength=n_pages)[page]
        return pd.DataFrame({self.outputs[0]: share.astype(np.float64)}, index=frame.index)


@numba.njit(cache=True)
def _rank_within(  # pragma: no cover - compiled
    codes: np.ndarray, n_groups: int, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """1-based rank of ``values`` (ascending, ties share the lowest rank) in each group, and the group's count of
    non-NaN values, per row; NaN values get NaN ranks (pandas' ``groupby(codes).rank(method="min")`` and
    ``transform("count")``, without a sort of the whole table: rows are bucketed by group, then each group is
    sorted on its own)."""
    n = values.shape[0]
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        starts[codes[i] + 1] += 1
    for g in range(n_groups):
        starts[g + 1] += starts[g]
    fill = starts[:-1].copy()
    rows = np.empty(n, dtype=np.int64)
    for i in range(n):  # rows of each group, in row order
        rows[fill[codes[i]]] = i
        fill[codes[i]] += 1
    rank = np.full(n, np.nan)
    size = np.zeros(n)
    for g in range(n_groups):
        members = rows[starts[g] : starts[g + 1]]
        vals = values[members]
        order = np.argsort(vals, kind="mergesort")  # NaN last
        count = 0
        for k in range(order.shape[0]):
            v = vals[order[k]]
            if np.isnan(v):
                break
            if k == 0 or v != vals[order[k - 1]]:
                first = k + 1
            rank[members[order[k]]] = first
            count += 1
        for r in members:
            size[r] = count
    return rank, size


def _position_frame(feature: Feature, frame: pd.DataFrame, *group: str) -> pd.DataFrame:
    codes, n_groups = group_codes(frame, *group)
    rank, size = _rank_within(codes, n_groups, numeric(frame, POSITION))
    frac = np.where(size > 1, (rank - 1.0) / np.maximum(size - 1.0, 1.0), 0.0)
    frac[np.isnan(rank)] = np.nan
    return pd.DataFrame(dict(zip(feature.outputs, (rank, frac), strict=True)), index=frame.index)


@register_feature("smar.position.in_page.v1")
class PositionInPage(Feature):
    """Rank of the item's displayed position among the page's candidates (1 = top) and as a 0..1 fraction."""

    inputs = (QID, POSITION)
    outputs = ("pos_page", "pos_page_frac")

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return _position_frame(self, frame, QID)


@register_feature("smar.position.in_modality.v1")
class PositionInModality(Feature):
    """Rank of the item's displayed position among same-modality candidates (1 = top), also as a fraction."""

    inputs = (QID, MODALITY, POSITION)
    outputs = ("pos_modality", "pos_modality_frac")

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return _position_frame(self, frame, QID, MODALITY)
