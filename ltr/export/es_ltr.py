"""Elasticsearch / OpenSearch LTR plugin export: a ``_createmodel`` request body and a feature-set template.

Model: ``model/xgboost+json`` in its object form ``{"objective": ..., "splits": [tree dump, ...]}`` (o19s
``XGBoostJsonParser``; the OpenSearch fork keeps the same parser). The plugins accept a fixed objective list
(``binary:logistic``, ``binary:logitraw``, ``rank:ndcg``, ``rank:map``, ``rank:pairwise``, ``reg:linear``,
``reg:logistic``) and apply a sigmoid for the two logistic ones; ``rank:pairwise`` is written, a no-op
normaliser present in every plugin version since 2019, so the engine's score is the reranker's raw margin.
The intercept becomes a one-leaf tree. The plugins evaluate ``threshold > x`` → ``yes`` (float32) and send a
missing feature (NaN: a feature query that does not match the document) to the ``missing`` child.

Feature set: one stored feature per reranker input, in the reranker's order. Dataset columns get a working
``function_score`` / ``field_value_factor`` template over a document field of the same name (documents without
the field do not match, so the feature is missing, as NaN is in smar-ltr); every other feature gets a mustache
placeholder whose field name the user replaces with the query that reproduces it. The engines refuse a negative
``field_value_factor`` score, so the export notes fields whose splits test negative values
(:func:`negative_field_splits`).
"""

from __future__ import annotations

import json
from typing import Any

from smar_ltr.export.trees import Ensemble, Split
from smar_ltr.export.xgboost_dump import dump_ensemble

MODEL_TYPE = "model/xgboost+json"
NOOP_OBJECTIVE = "rank:pairwise"
PLACEHOLDER = "REPLACE_WITH_FIELD_FOR_"


def model_definition(ensemble: Ensemble) -> dict[str, Any]:
    """The ``definition`` object: objective plus the tree dump, split names being the feature names."""
    return {"objective": NOOP_OBJECTIVE, "splits": dump_ensemble(ensemble, ensemble.feature_names)}


def createmodel_body(ensemble: Ensemble, name: str) -> dict[str, Any]:
    """Body of ``POST _ltr/_featureset/<name>/_createmodel`` (the definition travels as a JSON string)."""
    definition = json.dumps(model_definition(ensemble), separators=(",", ":"))
    return {"model": {"name": name, "model": {"type": MODEL_TYPE, "definition": definition}}}


def feature_template(feature: str, is_field: bool) -> dict[str, Any]:
    """One stored feature: a working template for a numeric document field, else a placeholder to fill in."""
    if is_field:
        return {
            "name": feature,
            "params": [],
            "template_language": "mustache",
            "template": {
                "function_score": {
                    "query": {"exists": {"field": feature}},
                    "functions": [{"field_value_factor": {"field": feature}}],
                    "boost_mode": "replace",
                }
            },
        }
    return {
        "name": feature,
        "params": ["keywords"],
        "template_language": "mustache",
        "template": {"match": {f"{PLACEHOLDER}{feature}": "{{keywords}}"}},
    }


def featureset_body(ensemble: Ensemble, fields: set[str]) -> dict[str, Any]:
    """Body of ``POST _ltr/_featureset/<name>``: every reranker input, in order."""
    return {"featureset": {"features": [feature_template(f, f in fields) for f in ensemble.feature_names]}}


def negative_field_splits(ensemble: Ensemble, fields: set[str]) -> list[tuple[str, float]]:
    """``(feature, lowest boundary)`` of each document-field feature some split tests below 0, lowest first.

    Elasticsearch's ``field_value_factor`` (and OpenSearch's) refuses to produce a negative score, so such a
    feature's negative values cannot reach the engine's trees through the generated template.
    """
    lowest: dict[str, float] = {}
    stack = list(ensemble.trees)
    while stack:
        node = stack.pop()
        if isinstance(node, Split):
            name = ensemble.feature_names[node.feature]
            if name in fields and node.boundary <= 0:
                lowest[name] = min(node.boundary, lowest.get(name, node.boundary))
            stack += [node.left, node.right]
    return sorted(lowest.items(), key=lambda item: item[1])
