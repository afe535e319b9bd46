"""GBDT ranking backends behind one interface: ``make_ranker("lightgbm" | "xgboost" | "catboost", **params)``,
``load_ranker(path)`` for a saved one, and the single-modal rankers of stage 1
(:mod:`smar_ltr.rankers.single_modal`)."""

from smar_ltr.config import BACKENDS
from smar_ltr.rankers.base import GBDTRanker, NotFittedError
from smar_ltr.rankers.factory import load_ranker, make_ranker, ranker_class

__all__ = ["BACKENDS", "GBDTRanker", "NotFittedError", "load_ranker", "make_ranker", "ranker_class"]
