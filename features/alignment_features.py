"""Alignment of single-modal scores across modalities (SMAR, arXiv 2510.16803, section 2.1).

Single-modal scores ``g^m`` are not comparable across modalities; these features put them on common scales.
Groups are (query, modality) lists; statistics ignore missing scores, and a row without a score gets NaN.

* ``up_z``: ``(g - mean) / std`` within the list (population std; 0 when the list is constant);
* ``up_minmax``: ``(g - min) / (max - min)`` within the list (1 when the list is constant);
* ``up_pct``: share of the list scoring at most ``g`` (the list's top item gets 1);
* ``up_gap_top``: ``max - g`` within the list, on the modality's raw scale;
* ``up_modal_rank``: 1-based rank in the list (1 = best, ties share the best rank);
* ``up_page_rank`` / ``up_page_rank_frac``: rank of the item's normalised score among all page candidates;
* ``up_diff_best_<m>``: normalised score minus the best normalised score of modality ``m`` on the page
  (NaN when ``m`` is not on the page; for the item's own modality it is the gap to its list's top);
* ``up_diff_other_best``: normalised score minus the best normalised score of any *other* modality on the
  page (NaN on single-modality pages).

The "normalised score" is the z-score by default (parameter ``norm``: ``zscore``, ``minmax``,
``percentile``).
These features read ``upstream_score``, so the pipeline computes them after the single-modal rankers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from smar_ltr.errors import ConfigError
from smar_ltr.features.base import UPSTREAM_COLUMN, Feature
from smar_ltr.features.context import cached, group_codes, numeric, positions_in
from smar_ltr.features.modality_features import MODALITY, QID, ModalityColumns
from smar_ltr.features.registry import register_feature

NORMS = ("zscore", "minmax", "percentile")
_INPUTS = (QID, MODALITY, UPSTREAM_COLUMN)


def _grouped(frame: pd.DataFrame) -> tuple[pd.api.typing.SeriesGroupBy, np.ndarray]:
    codes, _ = group_codes(frame, QID, MODALITY)
    score = numeric(frame, UPSTREAM_COLUMN)
    return pd.Series(score).groupby(codes), score


def modal_stat(frame: pd.DataFrame, stat: str) -> np.ndarray:
    """Per-row statistic of the row's (query, modality) score list, cached per pass.

    ``stat`` is a pandas group transform (``mean``, ``std``, ``min``, ``max``, ``count``) or ``rank_max`` /
    ``rank_desc`` (ranks ascending with ties at the highest rank / descending with ties at the best rank).
    """

    def compute() -> np.ndarray:
        groups, _ = _grouped(frame)
        if stat == "rank_max":
            out = groups.rank(method="max", ascending=True)
        elif stat == "rank_desc":
            out = groups.rank(method="min", ascending=False)
        elif stat == "std":
            out = groups.transform("std", ddof=0)
        elif stat in ("mean", "min", "max", "count"):
            out = groups.transform(stat)  # type: ignore[call-overload]  # pandas-stubs: str literal union
        else:  # pragma: no cover - internal callers only
            raise ValueError(f"unknown statistic {stat!r}")
        return out.to_numpy(dtype=np.float64, na_value=np.nan)

    return cached(frame, ("modal_stat", stat), compute)


def normalised_score(frame: pd.DataFrame, norm: str) -> np.ndarray:
    """The upstream score normalised within its (query, modality) list."""
    if norm not in NORMS:
        raise ConfigError(f"norm {norm!r} is not one of {', '.join(NORMS)}")

    def compute() -> np.ndarray:
        score = numeric(frame, UPSTREAM_COLUMN)
        with np.errstate(invalid="ignore", divide="ignore"):
            if norm == "zscore":
                std = modal_stat(frame, "std")
                out = np.where(std > 0, (score - modal_stat(frame, "mean")) / np.where(std > 0, std, 1.0), 0.0)
            elif norm == "minmax":
                lo, hi = modal_stat(frame, "min"), modal_stat(frame, "max")
                out = np.where(hi > lo, (score - lo) / np.where(hi > lo, hi - lo, 1.0), 1.0)
            else:
                out = modal_stat(frame, "rank_max") / modal_stat(frame, "count")
        out[np.isnan(score)] = np.nan
        return out

    return cached(frame, ("normalised", norm), compute)


def _simple(name: str, output: str, doc: str, compute: Callable[[pd.DataFrame], np.ndarray]) -> type[Feature]:
    """Register a stateless one-column alignment feature computed by ``compute(frame)``."""

    def transform(self: Feature, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({output: compute(frame)}, index=frame.index)

    cls = type(
        f"Upstream_{output}",
        (Feature,),
        {
            "__doc__": doc,
            "__module__": __name__,
            "inputs": _INPUTS,
            "outputs": (output,),
            "transform": transform,
        },
    )
    return register_feature(name)(cls)


_simple("smar.align.zscore.v1", "up_z", "Upstream score z-normalised within its (query, modality) list.",
        lambda f: normalised_score(f, "zscore"))  # fmt: skip
_simple("smar.align.minmax.v1", "up_minmax", "Upstream score min-max scaled in its (query, modality) list.",
        lambda f: normalised_score(f, "minmax"))  # fmt: skip
_simple("smar.align.percentile.v1", "up_pct",
        "Percentile rank of the upstream score within its (query, modality) list (top item = 1).",
        lambda f: normalised_score(f, "percentile"))  # fmt: skip
_simple("smar.align.gap_to_top.v1", "up_gap_top",
        "Raw gap between the best upstream score of the item's (query, modality) list and the item's score.",
        lambda f: modal_stat(f, "max") - numeric(f, UPSTREAM_COLUMN))  # fmt: skip
_simple("smar.align.modal_rank.v1", "up_modal_rank",
        "Rank of the item within its modality's list by upstream score (1 = best).",
        lambda f: modal_stat(f, "rank_desc"))  # fmt: skip


class _NormParam(Feature):
    """Base of the page-level comparisons with a ``norm`` parameter (not registered)."""

    inputs = _INPUTS

    def __init__(self, norm: str = "zscore") -> None:
        self.norm = norm


@register_feature("smar.align.page_rank.v1")
class UpstreamPageRank(_NormParam):
    """Rank of the item's normalised upstream score among page candidates (1 = best), and as 0..1."""

    outputs = ("up_page_rank", "up_page_rank_frac")

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        codes, _ = group_codes(frame, QID)
        s = pd.Series(normalised_score(frame, self.norm)).groupby(codes)
        rank = s.rank(method="min", ascending=False).to_numpy(dtype=np.float64, na_value=np.nan)
        size = s.transform("count").to_numpy(dtype=np.float64, na_value=np.nan)
        frac = np.where(size > 1, (rank - 1.0) / np.maximum(size - 1.0, 1.0), 0.0)
        frac[np.isnan(rank)] = np.nan
        return pd.DataFrame({"up_page_rank": rank, "up_page_rank_frac": frac}, index=frame.index)


def _page_modality_best(frame: pd.DataFrame, norm: str, modalities: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n_rows, k) best normalised score per modality on the row's page (NaN if absent); modality codes."""
    page, n_pages = group_codes(frame, QID)
    mod = positions_in(frame, MODALITY, modalities)
    z = normalised_score(frame, norm)
    best = np.full((n_pages, len(modalities)), -np.inf)
    ok = (mod >= 0) & ~np.isnan(z)
    np.maximum.at(best, (page[ok], mod[ok]), z[ok])
    best[np.isneginf(best)] = np.nan
    return best[page], mod


@register_feature("smar.align.diff_to_modality_best.v1")
class DiffToModalityBest(ModalityColumns, _NormParam):
    """Normalised upstream score minus the best normalised score of each modality on the page."""

    prefix = "up_diff_best_"
    outputs = ("up_diff_best_<m>",)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        best, _ = _page_modality_best(frame, self.norm, getattr(self, "modalities_", []))
        values = normalised_score(frame, self.norm)[:, None] - best
        return pd.DataFrame(values, index=frame.index, columns=self.output_columns)


@register_feature("smar.align.diff_to_other_best.v1")
class DiffToOtherBest(_NormParam):
    """Normalised upstream score minus the best normalised score of any other modality on the page."""

    outputs = ("up_diff_other_best",)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        modalities = sorted(frame[MODALITY].dropna().astype(str).unique().tolist())
        best, mod = _page_modality_best(frame, self.norm, modalities)
        if best.shape[1]:
            best[np.arange(len(frame)), np.maximum(mod, 0)] = np.where(mod >= 0, np.nan, best[:, 0])
        with np.errstate(invalid="ignore"):
            other = np.fmax.reduce(best, axis=1) if best.shape[1] else np.full(len(frame), np.nan)
        return pd.DataFrame({self.outputs[0]: normalised_score(frame, self.norm) - other}, index=frame.index)
