"""GBDT ranking backends behind one interface: ``make_ranker("lightgbm" | "xgboost" | "catboost", **params)``."""

from __future__ import annotations

from typing import Any

from smar_ltr.errors import ConfigError
from smar_ltr.rankers.base import GBDTRanker, NotFittedError

BACKENDS = ("lightgbm", "xgboost", "catboost")


def ranker_class(backend: str) -> type[GBDTRanker]:
    """The ranker class of a backend name (imports the library lazily)."""
    if backend == "lightgbm":
        from smar_ltr.rankers.lightgbm_ranker import LightGBMRanker

        return LightGBMRanker
    if backend == "xgboost":
        from smar_ltr.rankers.xgboost_ranker import XGBoostRanker

        return XGBoostRanker
    if backend == "catboost":
        from smar_ltr.rankers.catboost_ranker import CatBoostRanker

        return CatBoostRanker
    raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def make_ranker(backend: str, **params: Any) -> GBDTRanker:
    """A new, unfitted ranker of ``backend`` with constructor ``params``."""
    return ranker_class(backend)(**params)


__all__ = ["BACKENDS", "GBDTRanker", "NotFittedError", "make_ranker", "ranker_class"]
