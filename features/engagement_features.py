"""Item quality / engagement features: log counts and Bayesian-smoothed rates.

Counts (``impressions``, ``clicks``, ``likes``, ``dwell_time``) are heavy-tailed, so they enter as
``log1p(max(x, 0))``. Rates are smoothed with a Beta prior fitted on the training items by the method of
moments: with ``m`` and ``v`` the mean and variance of the raw rates of items shown at least once,
``alpha + beta = m (1 - m) / v - 1`` (clipped to [1, 10_000]; 10 when the moments are degenerate), and
``rate = (num + alpha) / (den + alpha + beta)``. Unseen items therefore get the training mean, not 0 or NaN.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from smar_ltr.features.base import Feature
from smar_ltr.features.context import numeric
from smar_ltr.features.registry import register_feature

ENGAGEMENT_COLUMNS: tuple[str, ...] = ("impressions", "clicks", "likes", "dwell_time")
_FALLBACK_STRENGTH = 10.0


class _LogCount(Feature):
    """log1p of the item's {column} (negative values clipped to 0)."""

    column: ClassVar[str] = ""

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = numeric(frame, self.column)
        with np.errstate(invalid="ignore"):
            out = np.log1p(np.maximum(values, 0.0))
        return pd.DataFrame({self.outputs[0]: out}, index=frame.index)


for _col in ENGAGEMENT_COLUMNS:
    register_feature(f"smar.engagement.log_{_col}.v1")(
        type(
            f"Log_{_col}",
            (_LogCount,),
            {
                "__doc__": (_LogCount.__doc__ or "").format(column=_col),
                "__module__": __name__,
                "column": _col,
                "inputs": (_col,),
                "outputs": (f"log_{_col}",),
            },
        )
    )


def fit_beta_prior(num: np.ndarray, den: np.ndarray, strength: float | None = None) -> tuple[float, float] | None:
    """Beta prior ``(alpha, beta)`` of the rates ``num / den`` over rows with ``den > 0`` (None if none).

    Parameters
    ----------
    num, den : ndarray, shape (n,)
        Successes and trials per item (NaN = unknown).
    strength : float, optional
        Fixed ``alpha + beta``; fitted by the method of moments when None.
    """
    rate = observed_rates(num, den)
    if rate.size == 0:
        return None
    return beta_prior_from_moments(float(rate.mean()), float(rate.var()), strength)


def observed_rates(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``clip(num / den, 0, 1)`` over the rows with ``den > 0`` and both values known."""
    ok = (den > 0) & ~np.isnan(num) & ~np.isnan(den)
    return np.clip(num[ok] / den[ok], 0.0, 1.0)


def beta_prior_from_moments(m: float, v: float, strength: float | None = None) -> tuple[float, float]:
    """``(alpha, beta)`` from the mean ``m`` and population variance ``v`` of the rates (module docstring)."""
    if strength is None:
        strength = m * (1.0 - m) / v - 1.0 if v > 0 and 0.0 < m < 1.0 else _FALLBACK_STRENGTH
        strength = float(np.clip(strength, 1.0, 1e4))
    return m * strength, (1.0 - m) * strength


class SmoothedRate(Feature):
    """Base of the smoothed rates (not registered)."""

    numerator: ClassVar[str] = ""
    denominator: ClassVar[str] = "impressions"
    prior_: tuple[float, float] | None = None

    def __init__(self, prior_strength: float | None = None) -> None:
        self.prior_strength = prior_strength

    def fit(self, frame: pd.DataFrame) -> SmoothedRate:
        strength = None if self.prior_strength is None else float(self.prior_strength)
        self.prior_ = fit_beta_prior(numeric(frame, self.numerator), numeric(frame, self.denominator), strength)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = np.full(len(frame), np.nan)
        if self.prior_ is not None:
            a, b = self.prior_
            num = np.maximum(numeric(frame, self.numerator), 0.0)
            den = np.maximum(numeric(frame, self.denominator), 0.0)
            with np.errstate(invalid="ignore"):
                out = (num + a) / (den + a + b)
        return pd.DataFrame({self.outputs[0]: out}, index=frame.index)

    def get_state(self) -> dict[str, Any]:
        return (
            {"alpha": None, "beta": None} if self.prior_ is None else {"alpha": self.prior_[0], "beta": self.prior_[1]}
        )

    def set_state(self, state: dict[str, Any]) -> None:
        a, b = state.get("alpha"), state.get("beta")
        self.prior_ = None if a is None or b is None else (float(a), float(b))


@register_feature("smar.engagement.smoothed_ctr.v1")
class SmoothedCTR(SmoothedRate):
    """Click-through rate (clicks + alpha) / (impressions + alpha + beta), Beta prior fitted in training."""

    numerator = "clicks"
    inputs = ("impressions", "clicks")
    outputs = ("ctr_smoothed",)


@register_feature("smar.engagement.smoothed_like_rate.v1")
class SmoothedLikeRate(SmoothedRate):
    """Like rate (likes + alpha) / (impressions + alpha + beta), Beta prior fitted on training items."""

    numerator = "likes"
    inputs = ("impressions", "likes")
    outputs = ("like_rate_smoothed",)
