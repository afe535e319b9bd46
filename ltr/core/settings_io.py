"""Config settings as plain dicts: merge layers, parse ``KEY=VALUE`` items and ``--set`` overrides, read files.

:func:`smar_ltr.config.load_config` stacks these layers into a :class:`~smar_ltr.config.RunConfig`; they know
nothing of its fields, so the CLI's dataset options use the same parser.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from smar_ltr.errors import ConfigError

__all__ = ["merge_settings", "parse_key_values", "parse_overrides", "read_config_file"]


def merge_settings(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, nested tables merged key by key (a new dict; inputs untouched).

    ``params`` and ``dataset_options`` are replaced whole, not merged: they are free-form tables of one library
    or one dataset, and keys left over from ``base`` would silently change their meaning.
    """
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("params", "dataset_options"):
            out[key] = merge_settings(out[key], value)
        else:
            out[key] = value
    return out


def parse_key_values(
    items: list[str], what: str = "override", example: str = "reranker.learning_rate=0.1", decode: bool = False
) -> dict[str, Any]:
    """``["key=value", ...]`` -> ``{key: value}``: the one KEY=VALUE parser (``--set``, ``--option``).

    Parameters
    ----------
    items : list of str
        ``key=value`` strings (the value may contain ``=``).
    what, example : str
        How the error names an item and an example of a good one.
    decode : bool
        Parse each value as JSON when it can be (numbers, true, null), else keep the string.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {item!r} is not KEY=VALUE (e.g. {example})")
        value = value.strip()
        if decode:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        out[key.strip()] = value
    return out


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["reranker.learning_rate=0.1", ...]`` -> nested dict (values still strings, coerced later)."""
    out: dict[str, Any] = {}
    for key, value in parse_key_values(items).items():
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or TOML config file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    if path.suffix.lower() not in (".json", ".toml"):  # a YAML file would fail as "not valid JSON"
        raise ConfigError(f"config file {str(path)!r} must be .json or .toml, got {path.suffix or 'no suffix'!r}")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        return json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}"
        ) from None
