"""A fitted reranker's trees in one engine-neutral form, exact for float32 feature values.

Every split is stored as *"a float32 feature value ``x`` goes left when ``x < boundary``; NaN goes left when
``missing_left``"*, whatever the library wrote:

- XGBoost splits are already ``x < split_condition`` (a float32) with a learned ``default_left``.
- LightGBM splits are ``x <= threshold`` on a double. Because the reranker reads its features as float32
  (:func:`smar_ltr.rankers.base.as_matrix`), ``x <= threshold`` holds exactly when ``x < boundary`` for
  ``boundary`` = the next float32 above the largest float32 not above ``threshold``. LightGBM's missing types are
  mapped too: ``NaN`` keeps ``default_left``; ``None`` treats NaN as 0, so NaN goes where 0 goes; ``Zero``
  (``zero_as_missing=true``) sends 0 and NaN the default way and has no single-boundary form: refused.

The intercept (XGBoost's ``base_score`` in margin space) is kept apart so each format can write it as a
constant tree. Engine writers then only translate the comparison operator and the missing-value rule.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from smar_ltr.errors import ExportError
from smar_ltr.rankers import GBDTRanker

EXPORTABLE = ("lightgbm", "xgboost")


@dataclass(frozen=True)
class Split:
    """An inner node: ``x < boundary`` (float32) goes to ``left``; NaN goes left when ``missing_left``."""

    feature: int
    boundary: float
    missing_left: bool
    left: Node
    right: Node


@dataclass(frozen=True)
class Leaf:
    """A leaf: its output added to the score."""

    value: float


Node = Split | Leaf


@dataclass(frozen=True)
class Ensemble:
    """An additive tree model: ``score(x) = intercept + sum(tree(x) for tree in trees)``.

    Attributes
    ----------
    backend : str
        ``"lightgbm"`` or ``"xgboost"``: the library the trees came from.
    feature_names : list of str
        Reranker inputs, in order; ``Split.feature`` indexes this list.
    trees : list of Node
        Roots of the trees.
    intercept : float
        Constant added to the tree sum (0 when the library folds it into the trees).
    """

    backend: str
    feature_names: list[str]
    trees: list[Node]
    intercept: float


def float32_text(value: float) -> str:
    """Decimal text of ``float32(value)`` that parses back to that float32 whether read as float or double."""
    return repr(float(np.float32(value)))


def boundary_of_le(threshold: float) -> float:
    """The float32 ``b`` with ``x <= threshold`` iff ``x < b`` for every float32 ``x``."""
    below = np.float32(threshold)
    if float(below) > threshold:
        below = np.nextafter(below, np.float32(-np.inf))
    return float(np.nextafter(below, np.float32(np.inf)))


# ---------------------------------------------------------------------------------------------------------
def ensemble_of(ranker: GBDTRanker) -> Ensemble:
    """The trees of a fitted LightGBM or XGBoost ranker (CatBoost and other backends are refused)."""
    backend = getattr(ranker, "backend", type(ranker).__name__)
    if backend == "lightgbm":
        return _from_lightgbm(ranker)
    if backend == "xgboost":
        return _from_xgboost(ranker)
    raise ExportError(
        f"a {backend} reranker cannot be exported to search-engine tree formats (its trees are not plain "
        f"binary threshold trees); refit with --backend lightgbm or --backend xgboost, which every format supports"
    )


def _from_xgboost(ranker: Any) -> Ensemble:
    learner = json.loads(ranker.booster_.save_raw("json"))["learner"]
    booster = learner["gradient_booster"]
    if booster.get("name") != "gbtree":
        raise ExportError(f"XGBoost booster {booster.get('name')!r} cannot be exported; only 'gbtree' models can")
    params = learner["learner_model_param"]
    if int(params.get("num_class", "0")) > 1 or int(params.get("num_target", "1")) > 1:
        raise ExportError("a multi-output XGBoost model cannot be exported; the reranker must have one output")
    trees = []
    for raw in booster["model"]["trees"]:
        if any(int(t) != 0 for t in raw.get("split_type", [])):
            raise ExportError("the XGBoost reranker has categorical splits, which the export formats cannot express")
        trees.append(_xgboost_node(raw, 0))
    return Ensemble("xgboost", list(ranker.feature_names_in_), trees, _xgboost_intercept(learner))


def _xgboost_node(raw: dict[str, Any], i: int) -> Node:
    left = raw["left_children"][i]
    if left == -1:
        return Leaf(float(np.float32(raw["split_conditions"][i])))
    return Split(
        feature=int(raw["split_indices"][i]),
        boundary=float(np.float32(raw["split_conditions"][i])),
        missing_left=bool(raw["default_left"][i]),
        left=_xgboost_node(raw, left),
        right=_xgboost_node(raw, raw["right_children"][i]),
    )


def _xgboost_intercept(learner: dict[str, Any]) -> float:
    """``base_score`` in margin space (XGBoost stores it on the objective's output scale)."""
    text = str(learner["learner_model_param"]["base_score"]).strip("[]")
    base = float(np.float32(float(text)))
    objective = learner["objective"]["name"]
    if objective in ("binary:logistic", "reg:logistic", "binary:logitraw"):
        return math.log(base / (1.0 - base))
    if objective in ("count:poisson", "reg:gamma", "reg:tweedie", "survival:cox", "survival:aft"):
        return math.log(base)
    return base


def _from_lightgbm(ranker: Any) -> Ensemble:
    dump = ranker.booster_.dump_model(num_iteration=ranker.best_iteration_)
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise ExportError("a multi-class LightGBM model cannot be exported; the reranker must have one output")
    if dump.get("average_output"):
        raise ExportError("a LightGBM random-forest model (average_output) cannot be exported; use boosting")
    if any(info.get("is_linear") for info in dump["tree_info"]):
        raise ExportError("a LightGBM model with linear trees cannot be exported; refit without linear_tree")
    trees = [_lightgbm_node(info["tree_structure"]) for info in dump["tree_info"]]
    return Ensemble("lightgbm", list(ranker.feature_names_in_), trees, 0.0)


def _lightgbm_node(raw: dict[str, Any]) -> Node:
    if "leaf_value" in raw:
        return Leaf(float(raw["leaf_value"]))
    if raw["decision_type"] != "<=":
        raise ExportError("the LightGBM reranker has categorical splits, which the export formats cannot express")
    threshold = float(raw["threshold"])
    boundary = boundary_of_le(threshold)
    if not math.isfinite(boundary):
        raise ExportError(f"a LightGBM split threshold ({threshold!r}) is outside the float32 range")
    missing = raw.get("missing_type", "None")
    if missing == "NaN":
        missing_left = bool(raw["default_left"])
    elif missing == "None":
        missing_left = 0.0 < boundary  # LightGBM reads NaN as 0 here
    else:
        raise ExportError(
            "the LightGBM reranker treats zero as missing (zero_as_missing=true), which no export format can "
            "express; refit without zero_as_missing"
        )
    return Split(
        int(raw["split_feature"]),
        boundary,
        missing_left,
        _lightgbm_node(raw["left_child"]),
        _lightgbm_node(raw["right_child"]),
    )


def count_nodes(node: Node) -> int:
    """Number of nodes under (and including) ``node``."""
    if isinstance(node, Leaf):
        return 1
    return 1 + count_nodes(node.left) + count_nodes(node.right)
