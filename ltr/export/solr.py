"""Solr LTR export: a ``MultipleAdditiveTreesModel`` for the model store and the matching feature store.

Solr's tree walk (``MultipleAdditiveTreesModel.scoreNodeWithNullSupport``, Solr >= 9.2, SOLR-16596) reads
every ``threshold`` as ``Float.parseFloat(t) + 1e-6f`` (``NODE_SPLIT_SLACK``, float32 arithmetic) and sends
``x <= that`` left, ``x >`` right, and NaN to the node's ``missing`` side when the model sets
``isNullSameAsZero: false``; a feature is NaN when its ``defaultValue`` is ``"NaN"`` and the document has no
value. Tree outputs are ``weight * value`` in float32. So each written threshold ``a`` is the largest float32
with ``float32(a + 1e-6f)`` not above the last float32 that goes left: the split is exact for every float32
feature value, except where float32 rounding of ``a + 1e-6f`` skips values (only for boundaries within about
1e-6 of zero); :func:`model_store_body` returns those value ranges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smar_ltr.export.trees import Ensemble, Leaf, Node, float32_text

MODEL_CLASS = "org.apache.solr.ltr.model.MultipleAdditiveTreesModel"
NODE_SPLIT_SLACK = np.float32(1e-6)


def solr_threshold(boundary: float) -> tuple[str, tuple[float, float]]:
    """Threshold text for a split whose left side is ``x < boundary``, and the range ``(low, high]`` of float32
    values Solr sends right instead of left (empty, ``low == high``, unless the boundary is within ~1e-6 of 0)."""
    target = np.nextafter(np.float32(boundary), np.float32(-np.inf))  # last float32 that goes left
    a = np.float32(target - NODE_SPLIT_SLACK)
    down, up = np.float32(-np.inf), np.float32(np.inf)
    while np.float32(a + NODE_SPLIT_SLACK) > target:
        a = np.nextafter(a, down)
    while np.float32(np.nextafter(a, up) + NODE_SPLIT_SLACK) <= target:
        a = np.nextafter(a, up)
    reached = np.float32(a + NODE_SPLIT_SLACK)
    return float32_text(float(a)), (float(reached), float(target))


def _node(node: Node, names: list[str], gaps: list[tuple[str, float, float]]) -> dict[str, Any]:
    if isinstance(node, Leaf):
        return {"value": float32_text(node.value)}
    threshold, (low, high) = solr_threshold(node.boundary)
    if high > low:
        gaps.append((names[node.feature], low, high))
    return {
        "feature": names[node.feature],
        "threshold": threshold,
        "missing": "left" if node.missing_left else "right",
        "left": _node(node.left, names, gaps),
        "right": _node(node.right, names, gaps),
    }


def model_store_body(
    ensemble: Ensemble, name: str, store: str
) -> tuple[dict[str, Any], list[tuple[str, float, float]]]:
    """Body of ``PUT /solr/<collection>/schema/model-store`` and its inexact ranges.

    Returns
    -------
    body : dict
        The model.
    inexact : list of (feature, low, high)
        Values ``low < x <= high`` of ``feature`` that Solr sends right where the reranker goes left.
    """
    gaps: list[tuple[str, float, float]] = []
    trees = [{"weight": "1", "root": _node(t, ensemble.feature_names, gaps)} for t in ensemble.trees]
    if ensemble.intercept != 0.0:
        trees.append({"weight": "1", "root": {"value": float32_text(ensemble.intercept)}})
    body = {
        "store": store,
        "name": name,
        "class": MODEL_CLASS,
        "features": [{"name": f} for f in ensemble.feature_names],
        "params": {"isNullSameAsZero": False, "trees": trees},
    }
    return body, gaps


def feature_store_body(ensemble: Ensemble, store: str, fields: set[str]) -> list[dict[str, Any]]:
    """Body of ``PUT /solr/<collection>/schema/feature-store``: every reranker input with ``defaultValue`` NaN.

    Dataset columns read a document field of the same name (``FieldValueFeature``); every other feature is a
    ``SolrFeature`` whose ``q`` placeholder the user replaces with the query that reproduces it.
    """
    out: list[dict[str, Any]] = []
    for f in ensemble.feature_names:
        if f in fields:
            klass, params = "org.apache.solr.ltr.feature.FieldValueFeature", {"field": f}
        else:
            klass, params = "org.apache.solr.ltr.feature.SolrFeature", {"q": f"{{!func}}REPLACE_ME_{f}"}
        out.append({"store": store, "name": f, "class": klass, "params": {**params, "defaultValue": "NaN"}})
    return out
