"""Feature registration: versioned names, contract checks at registration, the framework's NaN policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smar_ltr.errors import RegistryError
from smar_ltr.features import (
    FEATURES,
    Feature,
    FeatureOutputError,
    FeatureSet,
    load_plugins,
    register_feature,
)
from smar_ltr.features.testing import sample_page_table


@pytest.fixture
def registered():
    """Names registered by a test, removed afterwards so the global registry stays clean."""
    names: list[str] = []
    yield names
    for name in names:
        FEATURES.unregister(name)


def _feature(**attrs):
    body = {"__doc__": "Doc line.", "inputs": ("title",), "outputs": ("x",)}
    body.update(attrs)
    if "transform" not in body:
        body["transform"] = lambda self, frame: pd.DataFrame({"x": np.ones(len(frame))}, index=frame.index)
    return type("Tmp", (Feature,), body)


def test_register_sets_name_and_version(registered):
    cls = register_feature("testpkg.ones.v3")(_feature())
    registered.append("testpkg.ones.v3")
    assert cls.name == "testpkg.ones.v3" and cls.version == 3
    assert FEATURES.get("testpkg.ones.v3") is cls
    assert FEATURES.origin("testpkg.ones.v3") == __name__


@pytest.mark.parametrize("name", ["NoDots", "testpkg.ones", "testpkg.Ones.v1", "testpkg..x.v1", "testpkg.x.v"])
def test_malformed_names_are_rejected(name):
    with pytest.raises(RegistryError, match="malformed"):
        register_feature(name)(_feature())


def test_duplicate_names_are_rejected(registered):
    register_feature("testpkg.dup.v1")(_feature())
    registered.append("testpkg.dup.v1")
    with pytest.raises(RegistryError, match="already registered"):
        register_feature("testpkg.dup.v1")(_feature())


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"__doc__": None}, "needs a docstring"),
        ({"scope": "session"}, "scope"),
        ({"dtype": "int64"}, "dtype"),
        ({"outputs": ()}, "declares no outputs"),
        ({"inputs": "title"}, "tuples of str"),
    ],
)
def test_contract_violations_are_rejected_at_registration(attrs, message):
    with pytest.raises(RegistryError, match=message):
        register_feature("testpkg.bad.v1")(_feature(**attrs))
    assert "testpkg.bad.v1" not in FEATURES


def test_only_feature_subclasses_register():
    with pytest.raises(RegistryError, match="subclass"):
        register_feature("testpkg.notafeature.v1")(object)  # type: ignore[arg-type]


def test_framework_gives_nan_for_missing_inputs_and_other_modalities(registered):
    register_feature("testpkg.images_only.v1")(_feature(modalities=("image",)))
    registered.append("testpkg.images_only.v1")
    frame = sample_page_table()
    fs = FeatureSet.from_selection(["testpkg.images_only.v1"]).fit(frame)
    out = fs.transform(frame)
    image = (frame["modality"] == "image").to_numpy()
    assert (out.loc[image, "x"] == 1).all() and out.loc[~image, "x"].isna().all()
    assert fs.transform(frame.drop(columns=["title"]))["x"].isna().all()
    assert out["x"].dtype == np.float32


def test_bad_transform_output_is_a_clear_error(registered):
    wrong_index = _feature(transform=lambda self, frame: pd.DataFrame({"x": np.ones(len(frame))}))
    wrong_cols = _feature(transform=lambda self, frame: pd.DataFrame({"y": np.ones(len(frame))}, index=frame.index))
    register_feature("testpkg.wrong_index.v1")(wrong_index)
    register_feature("testpkg.wrong_cols.v1")(wrong_cols)
    registered.extend(["testpkg.wrong_index.v1", "testpkg.wrong_cols.v1"])
    frame = sample_page_table().set_axis(pd.RangeIndex(10, 10 + len(sample_page_table())))
    with pytest.raises(FeatureOutputError, match="index"):
        FeatureSet.from_selection(["testpkg.wrong_index.v1"]).transform(frame)
    with pytest.raises(FeatureOutputError, match=r"columns \['y'\], declared \['x'\]"):
        FeatureSet.from_selection(["testpkg.wrong_cols.v1"]).transform(frame)


def test_output_column_collision_is_rejected(registered):
    register_feature("testpkg.clash.v1")(_feature(outputs=("q_title_bm25",)))
    registered.append("testpkg.clash.v1")
    fs = FeatureSet.from_selection(["smar.text.query_title_bm25.v1", "testpkg.clash.v1"])
    with pytest.raises(Exception, match="both write column 'q_title_bm25'"):
        fs.fit(sample_page_table())


def test_local_plugin_file_is_loaded_and_usable(tmp_path, registered):
    plugin = tmp_path / "my_features.py"
    plugin.write_text(
        "import pandas as pd\n"
        "from smar_ltr.features import Feature, register_feature\n\n"
        "@register_feature('local.query_has_digit.v1')\n"
        "class QueryHasDigit(Feature):\n"
        "    '''1 when the query contains a digit.'''\n"
        "    inputs = ('query',)\n"
        "    outputs = ('query_has_digit',)\n"
        "    scope = 'query'\n\n"
        "    def transform(self, frame):\n"
        "        has = frame['query'].astype(str).str.contains(r'[0-9]')\n"
        "        return pd.DataFrame({'query_has_digit': has.astype(float)}, index=frame.index)\n"
    )
    load_plugins([plugin])
    registered.append("local.query_has_digit.v1")
    frame = pd.DataFrame({"qid": ["a", "b"], "query": ["top 10 songs", "songs"]})
    out = FeatureSet.from_selection(["local.*"]).fit_transform(frame)
    assert out["query_has_digit"].tolist() == [1.0, 0.0]
    with pytest.raises(RegistryError, match="does not exist"):
        load_plugins([tmp_path / "missing.py"])
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('no such dependency')\n")
    with pytest.raises(RegistryError, match=r"failed to import.*no such dependency"):
        load_plugins([broken])
