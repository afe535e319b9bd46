"""The one coercer of settings: a value from a file, ``--set``, ``--option`` or Python, to a field's declared type.

Used by the run configuration (:func:`smar_ltr.config.load_config`, :func:`from_dict`) and by the dataset
options of the simulators (:func:`replace_with_options`: ``smar_ltr.datasets.synthetic``, ``letor``), so a
setting means the same thing wherever it is given. The target is the field's *type annotation*, never the type
of its default value. Rules, by target type:

``bool``
    ``True``/``False``; the integers 0 and 1; the strings ``true``/``false``, ``yes``/``no``, ``1``/``0``
    (any case). Anything else (2, 0.5, ``"on"``) is refused.
``int``
    An integer, or a float / numeric string with an integral value (``"3"``, ``"3.0"``, ``"1e3"``); ``True`` and
    ``False`` are refused (a bool is not a count).
``float``
    An integer or float, or a numeric string (``"0.5"``, ``"1e-3"``); bools refused.
``str``
    A string, kept as it is (never JSON-decoded); anything else refused.
``list[T]`` / ``tuple[T, ...]`` / ``tuple[T1, T2]``
    A list or tuple, a JSON list string (``"[1, 2]"``) or a comma-separated string (``"web, image"``: items
    stripped, empty ones dropped); each item coerced to its declared type; returns a list or a tuple. A fixed-length
    tuple needs exactly that many items.
``dict[str, T]``
    A mapping (or a JSON object string); values coerced to ``T``.
``X | None``
    ``None`` or the strings ``none`` / ``null`` (any case) give ``None``; other values are coerced to ``X``.
A dataclass
    A mapping, built with :func:`from_dict` (unknown keys refused).

Strings for ``int``, ``float``, ``list`` and ``dict`` targets are parsed as JSON first. Every refusal is one
:class:`~smar_ltr.errors.ConfigError` line naming the setting, the expected type and the value given.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from typing import Any

import numpy as np

from smar_ltr.errors import ConfigError

__all__ = ["coerce_value", "from_dict", "plain", "replace_with_options"]

_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def coerce_value(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` to the declared type ``tp`` by the rules of this module's docstring.

    Parameters
    ----------
    value : object
        What the user gave: often a string from the command line, else a JSON/TOML/Python value.
    tp : type or typing annotation
        The field's annotation, e.g. ``int``, ``float | None``, ``tuple[str, ...]``, ``dict[str, Any]``.
    key : str
        The setting's name as the user wrote it (``reranker.learning_rate``); used in the error.

    Returns
    -------
    object
        ``value`` as ``tp``.

    Raises
    ------
    ConfigError
        ``value`` cannot be read as ``tp``.

    Examples
    --------
    >>> coerce_value("yes", bool, "include_llm")
    True
    >>> coerce_value("20, 40", tuple[int, int], "page_size")
    (20, 40)
    >>> coerce_value("null", int | None, "max_label") is None
    True
    """
    if isinstance(value, np.generic):  # np.int64(3) from a grid search is 3; np.float32 is not a float subclass
        value = value.item()
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, typing.get_args(tp), key)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table of settings, got {value!r}")
        return from_dict(tp, value, prefix=f"{key}.")
    if tp is bool:
        return _coerce_bool(value, key)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    if tp in (list, tuple) or origin in (list, tuple):
        return _coerce_sequence(value, tp, key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if tp is int:
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not integral:
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table, got {value!r}")
        args = typing.get_args(tp)
        inner = args[1] if len(args) == 2 else Any
        return {str(k): (coerce_value(v, inner, key) if inner is not Any else plain(v)) for k, v in value.items()}
    return value


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays, at any depth of dicts and lists, as plain Python values.

    Settings typed ``Any`` (a GBDT's extra ``params``) keep what the user gave, and a ``np.int64`` from a grid
    search would otherwise reach JSON files and native libraries as it is.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


def _coerce_union(value: Any, args: tuple[Any, ...], key: str) -> Any:
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
        if type(None) in args:
            return None
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return coerce_value(value, arg, key)
        except ConfigError as exc:
            errors.append(str(exc))
    raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")


def _coerce_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ConfigError(f"{key} must be true or false (or yes/no, 1/0), got {value!r}")


def _coerce_sequence(value: Any, tp: Any, key: str) -> list[Any] | tuple[Any, ...]:
    kind = typing.get_origin(tp) or tp
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = None
        value = decoded if isinstance(decoded, list) else [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key} must be a list, got {value!r}")
    args = typing.get_args(tp)
    if kind is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise ConfigError(f"{key} must have {len(args)} items, got {value!r}")
        inner = list(args)
    else:
        inner = [args[0] if args else Any] * len(value)
    items = [v if t is Any else coerce_value(v, t, key) for v, t in zip(value, inner, strict=True)]
    return tuple(items) if kind is tuple else items


def without_retired(cls: type, data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``data`` without the retired settings ``cls`` declares in ``RETIRED_KEYS`` (``{key: (inert, advice)}``).

    A retired key whose value does nothing (``inert(value)``, e.g. the old default a saved run recorded) is dropped;
    one that would change the run is refused with one :class:`ConfigError` line carrying ``advice``.
    """
    retired = getattr(cls, "RETIRED_KEYS", {})
    out = {}
    for key, value in data.items():
        if key in retired:
            inert, advice = retired[key]
            if not inert(value):
                raise ConfigError(f"{prefix}{key}={value!r} names a retired setting: {advice}")
            continue
        out[key] = value
    return out


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``data``, each value coerced to its field's type.

    Parameters
    ----------
    cls : dataclass type
        What to build (nested dataclass fields are built from nested mappings).
    data : dict
        Field values; fields not named keep their defaults.
    prefix : str
        Dotted path of ``cls`` inside a larger config, for the error messages.

    Retired settings are dropped or refused first (:func:`without_retired`), so configs and runs saved with a
    retired key's old default still load.

    Raises
    ------
    ConfigError
        An unknown key (with the closest valid one), a retired setting that would change the run, or a value of
        the wrong type.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in without_retired(cls, data, prefix).items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown config key {prefix}{key!r}{hint}")
        kwargs[key] = coerce_value(value, hints[key], f"{prefix}{key}")
    return cls(**kwargs)


def replace_with_options(config: Any, options: dict[str, Any], what: str) -> Any:
    """``dataclasses.replace(config, **options)`` with every option coerced to its field's type.

    Parameters
    ----------
    config : dataclass instance
        The configuration to start from (e.g. a dataset preset).
    options : dict
        ``name -> value`` (strings from ``--option`` are fine).
    what : str
        Whose options these are (``synthetic``), for the error messages.

    Raises
    ------
    ConfigError
        An unknown option (the valid ones are listed) or a value of the wrong type.
    """
    hints = typing.get_type_hints(type(config))
    names = sorted(f.name for f in dataclasses.fields(config))
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ConfigError(f"unknown {what} option {unknown[0]!r}; valid options: {', '.join(names)}")
    changes = {k: coerce_value(v, hints[k], f"{what} option {k}") for k, v in options.items()}
    return dataclasses.replace(config, **changes)
