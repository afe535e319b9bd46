"""Ranking metrics by name (``ndcg@10``, ``mrr(rel=2)``, ``modal_agreement``, ...), per query or averaged.

The public functions are re-exported here; they live in :mod:`smar_ltr.metrics.ranking`.
"""

from smar_ltr.metrics.ranking import (
    DEFAULT_METRICS,
    MetricSpec,
    constant_label_queries,
    evaluate,
    evaluate_per_query,
    parse_metric,
    valid_metrics_line,
)

__all__ = [
    "DEFAULT_METRICS",
    "MetricSpec",
    "constant_label_queries",
    "evaluate",
    "evaluate_per_query",
    "parse_metric",
    "valid_metrics_line",
]
