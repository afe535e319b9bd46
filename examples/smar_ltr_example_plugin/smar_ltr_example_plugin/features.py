"""Three example features: stateless, modality-restricted, and one that learns statistics in ``fit``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.features import Feature, register_feature


@register_feature("example.title_has_digit.v1")
class TitleHasDigit(Feature):
    """1 when the title contains a digit, else 0."""

    inputs = ("title",)
    outputs = ("title_has_digit",)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        title = frame["title"].astype("str")
        has = title.str.contains(r"\d", regex=True).astype("Float64")  # NA stays NA for a missing title
        values = has.to_numpy(dtype=float, na_value=np.nan)
        return pd.DataFrame({"title_has_digit": values}, index=frame.index)


@register_feature("example.caption_terms.v1")
class CaptionTerms(Feature):
    """Number of terms in the caption of image and video items."""

    inputs = ("caption",)
    modalities = ("image", "video")  # rows of other modalities get NaN automatically
    outputs = ("caption_terms",)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        terms = frame["caption"].astype("str").str.split().str.len()
        values = terms.to_numpy(dtype=float, na_value=np.nan)
        return pd.DataFrame({"caption_terms": values}, index=frame.index)


@register_feature("example.title_length_z.v1")
class TitleLengthZ(Feature):
    """Title length in characters, standardised with training mean and std."""

    inputs = ("title",)
    outputs = ("title_length_z",)

    def __init__(self, min_std: float = 1.0) -> None:
        self.min_std = min_std  # parameters: __init__ keyword arguments stored under the same name

    def fit(self, frame: pd.DataFrame) -> TitleLengthZ:
        lengths = frame["title"].astype("str").str.len().astype(float)
        self.mean_ = float(lengths.mean()) if lengths.notna().any() else 0.0
        self.std_ = max(float(lengths.std(ddof=0)) if lengths.notna().any() else 0.0, float(self.min_std))
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        lengths = frame["title"].astype("str").str.len().to_numpy(dtype=float, na_value=np.nan)
        return pd.DataFrame({"title_length_z": (lengths - self.mean_) / self.std_}, index=frame.index)

    def get_state(self) -> dict[str, Any]:
        return {"mean": self.mean_, "std": self.std_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.mean_, self.std_ = float(state["mean"]), float(state["std"])
