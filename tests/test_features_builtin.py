"""Every built-in feature passes the plugin contract (smar_ltr.features.testing); catalogue checks."""

from __future__ import annotations

import importlib

import pytest

from smar_ltr.features import DEFAULT_FEATURES, FEATURES, FeatureSet
from smar_ltr.features.testing import FeatureContract


def _builtin_names() -> list[str]:
    importlib.import_module("smar_ltr.features.builtin")
    return [n for n in FEATURES.names() if FEATURES.origin(n).startswith("smar_ltr.features.")]


BUILTINS = _builtin_names()

# One contract test class per built-in feature, generated exactly as a plugin author would write them.
for _name in BUILTINS:
    _cls_name = "TestContract_" + _name.replace(".", "_")
    globals()[_cls_name] = type(_cls_name, (FeatureContract,), {"feature_name": _name})


def test_at_least_twenty_builtins_covering_every_family():
    assert len(BUILTINS) >= 20
    families = {n.split(".")[1] for n in BUILTINS}
    assert {"text", "modality", "position", "align", "engagement", "query", "page"} <= families


def test_builtins_are_registered_through_the_entry_point():
    from importlib.metadata import entry_points

    values = [ep.value for ep in entry_points(group="smar_ltr.features")]
    assert "smar_ltr.features.builtin" in values


def test_default_selection_is_every_builtin():
    fs = FeatureSet.from_selection(None)
    assert fs.names == sorted(BUILTINS)
    assert fs.selection == list(DEFAULT_FEATURES)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_names_are_versioned_and_described(name):
    cls = FEATURES.get(name)
    assert name.startswith("smar.") and name.endswith(".v1")
    assert cls.description().endswith(".") and "{" not in cls.description()
