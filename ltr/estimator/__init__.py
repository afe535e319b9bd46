"""``SMARRanker``, the scikit-learn estimator on arrays (in :mod:`smar_ltr.estimator.ranker`), with its input
checks, eval set and saved files."""

from smar_ltr.estimator.ranker import SMARRanker

__all__ = ["SMARRanker"]
