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
import re
from typing import Any

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
    valid = {
        "binary:logistic",
        "binary:logitraw",
        "rank:ndcg",
        "rank:map",
        "rank:pairwise",
        "reg:linear",
        "reg:logistic",
    }
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


# ------------------------------------------------------------------------------------------------------------
# probes: rows that reach every split of the library's own model with the value on its threshold
# ------------------------------------------------------------------------------------------------------------
def library_splits(booster: Any) -> list[tuple[dict[int, tuple[float, float]], int, float]]:
    """Every split of the library's own model (its ``trees_to_dataframe`` table) with the path reaching it.

    Returns ``(constraints, feature, threshold)``: ``constraints`` maps a feature index to the open interval its
    value must lie in to follow the path from the root to that split.
    """
    table = booster.trees_to_dataframe()
    lightgbm = "split_feature" in table.columns
    if lightgbm:  # columns Column_<i>; children by node_index
        table = table.rename(columns={"node_index": "id", "split_feature": "feature", "left_child": "yes"})
        table = table.rename(columns={"right_child": "no", "tree_index": "tree"})
    else:  # XGBoost: f<i>, children by ID
        table = table.rename(columns={"ID": "id", "Feature": "feature", "Split": "threshold", "Yes": "yes"})
        table = table.rename(columns={"No": "no", "Tree": "tree"})
        table.loc[table["feature"] == "Leaf", "feature"] = None
    nodes = {row.id: row for row in table.itertuples()}
    out = []

    def visit(node_id, constraints):
        row = nodes[node_id]
        if row.feature is None or (isinstance(row.feature, float) and np.isnan(row.feature)):
            return
        feature = int(re.sub(r"\D", "", str(row.feature).rsplit("_", 1)[-1]))
        t = float(row.threshold)
        out.append((constraints, feature, t))
        low, high = constraints.get(feature, (-np.inf, np.inf))
        visit(row.yes, {**constraints, feature: (low, min(high, t))})
        visit(row.no, {**constraints, feature: (max(low, t), high)})

    for root in table.groupby("tree")["id"].first():
        visit(root, {})
    return out


def _inside(low: float, high: float) -> float:
    """A float32 strictly inside (low, high), away from both ends."""
    if np.isinf(low) and np.isinf(high):
        return 0.5
    if np.isinf(low):
        return high - 1.0 - abs(high)
    if np.isinf(high):
        return low + 1.0 + abs(low)
    return (low + high) / 2


def threshold_probes(booster: Any, n_features: int) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Rows reaching every split with its feature just below, on and just above the threshold (other features
    NaN unless the path constrains them), plus an all-NaN and an all-zero row; and each row's (feature, value)."""
    rows = [np.full(n_features, np.nan, np.float32), np.zeros(n_features, np.float32)]
    probed: list[tuple[int, float]] = [(-1, np.nan), (-1, np.nan)]
    for constraints, feature, threshold in library_splits(booster):
        path = np.full(n_features, np.nan, np.float32)
        for f, (low, high) in constraints.items():
            path[f] = _inside(low, high)
        t = np.float32(threshold)
        for value in (np.nextafter(t, np.float32(-np.inf)), t, np.nextafter(t, np.float32(np.inf))):
            row = path.copy()
            row[feature] = value
            rows.append(row)
            probed.append((feature, float(value)))
    return np.array(rows, np.float32), probed


def solr_rows_outside(inexact: list, names: list[str], probed: list[tuple[int, float]]) -> np.ndarray:
    """Mask of probe rows whose probed value is outside every range the Solr export declared inexact."""
    ranges = [(names.index(f), low, high) for f, low, high in inexact]
    keep = np.array([not any(f == g and low < v <= high for g, low, high in ranges) for f, v in probed])
    assert (~keep).sum() <= 2 * len(ranges), "at most the on- and below-threshold probes of each such split"
    return keep


def assert_same_scores(engine: np.ndarray, own: np.ndarray) -> None:
    """Engine and reranker scores agree to float32 rounding of the summed leaves."""
    scale = max(1.0, float(np.abs(own).max()))
    np.testing.assert_allclose(engine, own, rtol=0, atol=2e-5 * scale)
