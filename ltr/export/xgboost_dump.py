"""Trees as XGBoost's JSON tree dump (``Booster.get_dump(dump_format="json")``): nodes with ``nodeid``,
``depth``, ``split`` (a feature *name*), ``split_condition``, ``yes``, ``no``, ``missing`` and ``children``
(the ``yes`` child first), leaves with ``nodeid`` and ``leaf``. The Elasticsearch / OpenSearch LTR plugins
(``model/xgboost+json``) and Vespa's XGBoost importer read this shape; both send ``x < split_condition`` to
``yes`` and a missing value to ``missing``.
"""

from __future__ import annotations

from typing import Any

from smar_ltr.export.trees import Ensemble, Leaf, Node


def dump_tree(root: Node, names: list[str]) -> dict[str, Any]:
    """One tree in XGBoost dump form; node ids are assigned breadth-first, like XGBoost's own."""
    ids: dict[int, int] = {}
    queue = [root]
    while queue:
        node = queue.pop(0)
        ids[id(node)] = len(ids)
        if not isinstance(node, Leaf):
            queue.extend([node.left, node.right])
    return _dump(root, names, ids, 0)


def _dump(node: Node, names: list[str], ids: dict[int, int], depth: int) -> dict[str, Any]:
    if isinstance(node, Leaf):
        return {"nodeid": ids[id(node)], "leaf": node.value}
    yes, no = ids[id(node.left)], ids[id(node.right)]
    return {
        "nodeid": ids[id(node)],
        "depth": depth,
        "split": names[node.feature],
        "split_condition": node.boundary,  # a float32 held in a double: its repr parses back exactly
        "yes": yes,
        "no": no,
        "missing": yes if node.missing_left else no,
        "children": [_dump(node.left, names, ids, depth + 1), _dump(node.right, names, ids, depth + 1)],
    }


def dump_ensemble(ensemble: Ensemble, names: list[str]) -> list[dict[str, Any]]:
    """Every tree, plus the intercept as a one-leaf tree when it is not zero."""
    trees = [dump_tree(t, names) for t in ensemble.trees]
    if ensemble.intercept != 0.0:
        trees.append({"nodeid": 0, "leaf": ensemble.intercept})
    return trees
