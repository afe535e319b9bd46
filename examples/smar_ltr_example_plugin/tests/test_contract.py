"""The plugin's features checked against smar-ltr's feature contract (run once the plugin is installed)."""

from typing import Any, ClassVar

from smar_ltr.features.testing import FeatureContract


class TestTitleHasDigit(FeatureContract):
    feature_name = "example.title_has_digit.v1"


class TestCaptionTerms(FeatureContract):
    feature_name = "example.caption_terms.v1"


class TestTitleLengthZ(FeatureContract):
    feature_name = "example.title_length_z.v1"
    params: ClassVar[dict[str, Any]] = {"min_std": 2.0}
