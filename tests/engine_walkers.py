"""Independent scorers of exported models, each following its engine's documented evaluation rules.

Written for the tests from the engines' sources, not from smar-ltr's export code:

- Elasticsearch / OpenSearch LTR (``NaiveAdditiveDecisionTree.Split.eval`` + ``XGBoostJsonParser``): floats are
  float32; NaN goes to ``children[0]`` when ``missing == yes`` else ``children[1]``; otherwise
  ``threshold > x`` goes to ``children[0]``; tree outputs summed in float32; ``reg:logistic`` /
  ``binary:logistic`` apply a sigmoid.
- Vespa XGBoost importer (``AbstractXGBoostParser.treeToRankExp``): ``if (!(x >= float(c)), yes, no)`` when
  ``missing == yes`` else ``if (x < float(c), yes, no)``; doubles; NaN compares false.
- Vespa LightGBM importer (``LightGBMParser.nodeToRankingExpression``): ``!(x >= t)`` when ``default_left`` else
  ``x < t``, ``t`` a double; ``sigmoid`` for binary objectives, ``exp`` for poisson/gamma/tweedie.
- Solr (``MultipleAdditiveTreesModel.scoreNodeWithNullSupport``): threshold = ``float(t) + 1e-6f`` in float32;
  ``x <= thr`` left, ``x > thr`` right, NaN to ``missing``; tree score ``weight * value`` and the sum in float32.
"""

from __future__ import annotations

import json
import math

import numpy as np

F32 = np.float32


def _es_tree(node: dict, x: np.ndarray, index: dict[str, int]) -> np.float32:
    while "leaf" not in node:
        value = F32(x[index[node["split"]]])
        left, right = node["children"]
        assert left["nodeid"] == node["yes"] and right["nodeid"] == node["no"], "children must be [yes, no]"
        if np.isnan(value):
            node = left if node["missing"] == node["yes"] else right
        elif F32(node["split_condition"]) > value:
            node = left
        else:
            node = right
    return F32(node["leaf"])


def score_es_ltr(body: dict, featureset: dict, X: np.ndarray) -> np.ndarray:
    """Scores of a ``_createmodel`` body on feature rows ``X`` ordered as the feature set."""
    model = body["model"]["model"]
    assert model["type"] == "model/xgboost+json"
    definition = json.loads(model["definition"])
    objective = definition["objective"]
    valid = {"binary:logistic", "binary:logitraw", "rank:ndcg", "rank:map", "rank:pairwise", "reg:linear", "reg:logistic"}
    assert objective in valid, f"the plugins refuse objective {objective!r}"
    index = {f["name"]: i for i, f in enumerate(featureset["featureset"]["features"])}
    out = np.empty(X.shape[0], dtype=np.float64)
    for r in range(X.shape[0]):
        total = F32(0.0)
        for tree in definition["splits"]:
            total = F32(total + _es_tree(tree, X[r], index))
        out[r] = 1 / (1 + math.exp(-total)) if objective in ("binary:logistic", "reg:logistic") else total
    return out


def score_vespa_xgboost(trees: list, names: list[str], X: np.ndarray) -> np.ndarray:
    """Vespa's reading of an XGBoost JSON dump; ``names`` are the functions in the rank profile, in X's order."""
    index = {n: i for i, n in enumerate(names)}

    def walk(node: dict, x: np.ndarray) -> float:
        if "leaf" in node:
            return float(node["leaf"])
        first, second = node["children"]
        yes, no = (first, second) if node["yes"] == first["nodeid"] else (second, first)
        value = float(x[index[node["split"]]])
        split = float(F32(node["split_condition"]))
        cond = not (value >= split) if node["missing"] == node["yes"] else value < split
        return walk(yes if cond else no, x)

    return np.array([sum(walk(t, X[r]) for t in trees) for r in range(X.shape[0])])


def score_vespa_lightgbm(model: dict, X: np.ndarray) -> np.ndarray:
    """Vespa's reading of a LightGBM ``dump_model`` JSON; X columns ordered as ``feature_names``."""

    def walk(node: dict, x: np.ndarray) -> float:
        if node.get("left_child") is None and node.get("right_child") is None:
            return float(node["leaf_value"])
        assert node["decision_type"] != "==", "categorical splits are not expected"
        value, t = float(x[node["split_feature"]]), float(node["threshold"])
        cond = not (value >= t) if node["default_left"] else value < t
        return walk(node["left_child"] if cond else node["right_child"], x)

    raw = np.array([sum(walk(t["tree_structure"], X[r]) for t in model["tree_info"]) for r in range(X.shape[0])])
    objective = model["objective"]
    if objective.startswith("binary") or objective == "cross_entropy":
        return 1 / (1 + np.exp(-raw))
    if objective in ("poisson", "gamma", "tweedie"):
        return np.exp(raw)
    return raw


def score_solr(model: dict, X: np.ndarray) -> np.ndarray:
    """Solr's reading of a model-store body; X columns ordered as the model's ``features``."""
    assert model["class"] == "org.apache.solr.ltr.model.MultipleAdditiveTreesModel"
    assert model["params"]["isNullSameAsZero"] is False
    index = {f["name"]: i for i, f in enumerate(model["features"])}
    slack = F32(1e-6)

    def walk(node: dict, x: np.ndarray) -> np.float32:
        while "feature" in node:
            value = F32(x[index[node["feature"]]])
            threshold = F32(F32(float(node["threshold"])) + slack)
            if value <= threshold:
                node = node["left"]
            elif value > threshold:
                node = node["right"]
            else:  # NaN
                node = node["left"] if node["missing"] == "left" else node["right"]
        return F32(float(node["value"]))

    out = np.empty(X.shape[0], dtype=np.float64)
    for r in range(X.shape[0]):
        total = F32(0.0)
        for tree in model["params"]["trees"]:
            total = F32(total + F32(F32(float(tree["weight"])) * walk(tree["root"], X[r])))
        out[r] = total
    return out
