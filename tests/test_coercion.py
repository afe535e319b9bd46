"""smar_ltr.core.coercion: one coercer behind ``--set`` (run config) and ``--option`` (dataset simulators).

The two call sites are driven through their real entry points: :func:`smar_ltr.config.load_config` with ``--set``
overrides, and the ``synthetic`` dataset loader with its options (its data generator is replaced by a stand-in
that returns the configuration it was handed, so nothing is simulated).
"""

from __future__ import annotations

from typing import Any

import pytest

import smar_ltr.datasets.synthetic as synthetic
from smar_ltr.config import load_config
from smar_ltr.core.coercion import coerce_value, replace_with_options
from smar_ltr.datasets.registry import load_dataset
from smar_ltr.datasets.semisynthetic import SemiSyntheticConfig
from smar_ltr.errors import ConfigError

_REFUSED = object()


@pytest.fixture
def synthetic_option(monkeypatch):
    """``name=value`` through the synthetic loader; returns the coerced field, or ``_REFUSED`` on ConfigError."""
    monkeypatch.setattr(synthetic, "make_synthetic", lambda config: config)

    def read(name: str, value: Any) -> Any:
        try:
            config = load_dataset("synthetic", size="small", **{name: value})
        except ConfigError:
            return _REFUSED
        return getattr(config, name)

    return read


def config_override(key: str, value: Any) -> Any:
    """``--set key=value`` (the string the command line passes) through load_config; ``_REFUSED`` on ConfigError."""
    try:
        config = load_config(overrides=[f"{key}={value}"])
    except ConfigError:
        return _REFUSED
    node: Any = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


BOOLEANS = [
    ("yes", True),
    ("no", False),
    ("true", True),
    ("True", True),
    ("FALSE", False),
    ("1", True),
    ("0", False),
    ("2", _REFUSED),
    ("maybe", _REFUSED),
    ("0.5", _REFUSED),
]


@pytest.mark.parametrize(("text", "expected"), BOOLEANS)
def test_booleans_read_the_same_at_both_call_sites(synthetic_option, text: str, expected: Any) -> None:
    from_config = config_override("upstream_as_feature", text)
    from_dataset = synthetic_option("include_llm", text)
    assert from_config is expected and from_dataset is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), ("7.0", 7), ("1e1", 10), ("7.5", _REFUSED), ("many", _REFUSED), ("true", _REFUSED)],
)
def test_integers_read_the_same_at_both_call_sites(synthetic_option, text: str, expected: Any) -> None:
    from_config = config_override("seed", text)
    from_dataset = synthetic_option("n_train_pages", text)
    assert from_config == from_dataset
    assert from_config is expected or (from_config == expected and type(from_config) is int)


@pytest.mark.parametrize(("text", "expected"), [("0.25", 0.25), ("1", 1.0), ("1e-1", 0.1), ("half", _REFUSED)])
def test_floats_read_the_same_at_both_call_sites(synthetic_option, text: str, expected: Any) -> None:
    from_config = config_override("budget.budget", text)
    from_dataset = synthetic_option("llm_rate", text)
    assert from_config == from_dataset
    assert from_config is expected or (from_config == expected and type(from_config) is float)


@pytest.mark.parametrize(
    ("text", "items"),
    [("web,image", ["web", "image"]), (" web , image ,", ["web", "image"]), ('["web", "image"]', ["web", "image"])],
)
def test_sequences_read_the_same_items_at_both_call_sites(synthetic_option, text: str, items: list[str]) -> None:
    assert config_override("metrics", text) == items  # a list field
    assert synthetic_option("modalities", text) == tuple(items)  # a tuple field


def test_tuples_coerce_each_item_and_check_a_fixed_length(synthetic_option) -> None:
    assert synthetic_option("page_size", "5, 6") == (5, 6)
    assert synthetic_option("page_size", [5, 6.0]) == (5, 6)
    assert synthetic_option("page_size", "5") is _REFUSED  # tuple[int, int] needs two items
    assert synthetic_option("page_size", "5,x") is _REFUSED
    assert coerce_value(("1", 2), tuple[float, ...], "k") == (1.0, 2.0)
    semi = replace_with_options(SemiSyntheticConfig(), {"label_shifts": "0, 2, -1"}, "letor")
    assert semi.label_shifts == (0, 2, -1)


def test_none_only_where_the_type_allows_it(synthetic_option) -> None:
    assert config_override("budget.max_label", "4") == 4
    assert config_override("budget.max_label", "null") is None
    assert config_override("budget.max_label", "None") is None
    assert config_override("seed", "null") is _REFUSED  # seed: int, not optional
    assert synthetic_option("n_train_pages", None) is _REFUSED
    assert coerce_value(None, int | None, "k") is None
    with pytest.raises(ConfigError, match=r"^k must be an integer, got None$"):
        coerce_value(None, int, "k")


def test_errors_name_the_setting_the_type_and_the_value() -> None:
    with pytest.raises(ConfigError, match=r"^synthetic option include_llm must be true or false .*got 'maybe'$"):
        load_dataset("synthetic", size="small", include_llm="maybe")
    with pytest.raises(ConfigError, match=r"^upstream_as_feature must be true or false .*got 'maybe'$"):
        load_config(overrides=["upstream_as_feature=maybe"])
    with pytest.raises(ConfigError, match=r"^k must be a number, got True$"):
        coerce_value(True, float, "k")  # a bool is not a number
    with pytest.raises(ConfigError, match=r"^k must be an integer, got nan$"):
        coerce_value("NaN", int, "k")
    with pytest.raises(ConfigError, match=r"^k must be a string, got 3$"):
        coerce_value(3, str, "k")
