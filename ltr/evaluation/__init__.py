"""The paper's protocol: SMAR next to every baseline of method.md section 4, on the same split.

The public names are re-exported here; they live in :mod:`smar_ltr.evaluation.paper_protocol` and
:mod:`smar_ltr.evaluation.baselines`.
"""

from smar_ltr.evaluation.paper_protocol import METHODS, EvalReport, MethodResult, evaluate_run

__all__ = ["METHODS", "EvalReport", "MethodResult", "evaluate_run"]
