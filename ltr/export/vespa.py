"""Vespa export: the model file its importer reads, per backend, plus a rank-profile snippet.

- XGBoost rerankers: XGBoost's JSON tree dump (``dump_model(dump_format="json")``, a top-level array; not the
  ``save_model`` JSON). Vespa's importer (``AbstractXGBoostParser``) writes ``if (x < c, yes, no)``, or
  ``if (!(x >= c), yes, no)`` when ``missing == yes``, so a missing (NaN) value follows ``missing``. The dump
  carries no ``base_score``: the intercept is a one-leaf tree.
- LightGBM rerankers: LightGBM's ``dump_model()`` JSON. Vespa's importer (``LightGBMParser``) writes every
  numeric split as ``x < threshold`` (``!(x >= threshold)`` when ``default_left``), i.e. strict where LightGBM
  uses ``<=``, and ignores ``missing_type``. The written thresholds are therefore the float32 boundaries of
  :mod:`smar_ltr.export.trees` and ``default_left`` is where LightGBM sends NaN, which makes Vespa's reading
  exact; the file is for Vespa, not for loading back into LightGBM.

Split names must resolve to Vespa rank features or rank-profile functions: the snippet defines one function per
reranker input (``attribute(<name>)`` to replace with the feature's real expression). Names that are not
identifiers (``[A-Za-z_][A-Za-z0-9_]*``) are rewritten, and the snippet lists the original next to each.
"""

from __future__ import annotations

import re
from typing import Any

from smar_ltr.export.trees import Ensemble, Leaf, Node
from smar_ltr.export.xgboost_dump import dump_ensemble

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def vespa_names(names: list[str]) -> list[str]:
    """Identifier-safe, distinct function names for the reranker inputs (unchanged where already valid)."""
    out: list[str] = []
    for name in names:
        safe = name if IDENTIFIER.fullmatch(name) else re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not safe or safe[0].isdigit():
            safe = f"f_{safe}"
        candidate, n = safe, 1
        while candidate in out or (candidate != name and candidate in names):
            n += 1
            candidate = f"{safe}_{n}"
        out.append(candidate)
    return out


def xgboost_model(ensemble: Ensemble) -> list[dict[str, Any]]:
    """The tree-dump array for ``models/<file>.json`` (split names are the Vespa function names)."""
    return dump_ensemble(ensemble, vespa_names(ensemble.feature_names))


def _lightgbm_node(node: Node) -> dict[str, Any]:
    if isinstance(node, Leaf):
        return {"leaf_value": node.value}
    return {
        "split_feature": node.feature,
        "threshold": node.boundary,
        "decision_type": "<=",
        "default_left": node.missing_left,
        "missing_type": "NaN",
        "left_child": _lightgbm_node(node.left),
        "right_child": _lightgbm_node(node.right),
    }


def lightgbm_model(ensemble: Ensemble) -> dict[str, Any]:
    """A ``dump_model()``-shaped document with the fields Vespa's importer reads."""
    trees = [_lightgbm_node(t) for t in ensemble.trees]
    if ensemble.intercept != 0.0:
        trees.append({"leaf_value": ensemble.intercept})
    return {
        "name": "tree",
        "version": "v4",
        "num_class": 1,
        "num_tree_per_iteration": 1,
        "objective": "lambdarank",  # Vespa applies no link function to lambdarank: the score is the raw margin
        "feature_names": vespa_names(ensemble.feature_names),
        "feature_infos": {},
        "pandas_categorical": [],
        "tree_info": [{"tree_index": i, "tree_structure": t} for i, t in enumerate(trees)],
    }


def rank_profile(ensemble: Ensemble, model_file: str, profile: str) -> str:
    """A rank-profile snippet: one function per input, the model in second phase."""
    kind = "xgboost" if ensemble.backend == "xgboost" else "lightgbm"
    lines = [
        f"# smar-ltr reranker ({ensemble.backend}, {len(ensemble.trees)} trees). Put {model_file} in the",
        "# application package's models/ directory and paste this into the schema. Replace each function body",
        "# with the Vespa expression that computes that feature exactly as smar-ltr does (check with",
        "# `smar-ltr features extract`); a feature without a value must be NaN, not 0.",
        f"rank-profile {profile} inherits default {{",
    ]
    for original, name in zip(ensemble.feature_names, vespa_names(ensemble.feature_names), strict=True):
        note = "" if original == name else f"  # smar-ltr feature {original!r}"
        lines.append(f"    function {name}() {{ expression: attribute({name}) }}{note}")
    lines += [
        "    first-phase { expression: nativeRank }",
        "    second-phase {",
        f'        expression: {kind}("{model_file}")',
        "        rerank-count: 100",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"
