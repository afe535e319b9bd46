"""Feature registry and built-in cross-modal feature extractors (``smar_ltr.features``).

Quick use::

    from smar_ltr.features import FeatureSet

    fs = FeatureSet.from_selection(["smar.text.*", "smar.modality.*"])
    X_train = fs.fit_transform(train)     # statistics (IDF, priors, modalities) from training pages only
    X_test = fs.transform(test)           # same columns, training statistics reused
    saved = fs.to_dict()                  # JSON: names, versions, parameters, fitted state
    fs2 = FeatureSet.from_dict(saved)

Writing a feature takes a class and a decorator (see :mod:`smar_ltr.features.base`); packages contribute
features through the ``smar_ltr.features`` entry-point group, and :mod:`smar_ltr.features.testing` holds a
contract test class for plugin authors.
"""

from __future__ import annotations

from smar_ltr.features.base import Feature, FeatureNotFittedError, FeatureOutputError
from smar_ltr.features.featureset import DEFAULT_FEATURES, FeatureSet, resolve_selection
from smar_ltr.features.registry import FEATURES, PluginWarning, feature_class, load_plugins, register_feature

__all__ = [
    "DEFAULT_FEATURES",
    "FEATURES",
    "Feature",
    "FeatureNotFittedError",
    "FeatureOutputError",
    "FeatureSet",
    "PluginWarning",
    "feature_class",
    "load_plugins",
    "register_feature",
    "resolve_selection",
]
