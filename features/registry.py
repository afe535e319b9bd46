"""The feature registry: versioned names, entry-point plugins, local plugin files.

Built-ins and third-party features take the same path: a package declares

.. code-block:: toml

    [project.entry-points."smar_ltr.features"]
    mypkg = "mypkg.features"

and ``mypkg.features`` registers its classes with :func:`register_feature` when imported. smar-ltr's own
built-ins are the entry point ``builtin = "smar_ltr.features.builtin"``. Entry points are imported lazily on
the first lookup; one that fails to import is reported as a :class:`~smar_ltr.core.plugin_registry.PluginWarning` and
kept
in ``FEATURES.failures`` (or raises :class:`~smar_ltr.errors.RegistryError` in strict mode).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from smar_ltr.core.plugin_registry import PluginWarning, Registry
from smar_ltr.errors import RegistryError
from smar_ltr.features.base import DTYPES, SCOPES, Feature

#: Feature names: lower-case dotted words ending in a version, e.g. ``smar.text.query_title_bm25.v1``.
NAME_PATTERN = r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\.v[0-9]+"

FEATURES: Registry[type[Feature]] = Registry(
    "feature", "smar_ltr.features", "smar_ltr.features.builtin", name_pattern=NAME_PATTERN
)

F = TypeVar("F", bound=type[Feature])

__all__ = ["FEATURES", "NAME_PATTERN", "PluginWarning", "feature_class", "load_plugins", "register_feature"]


def _check_class(name: str, cls: object) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Feature)):
        raise RegistryError(f"feature {name!r} must be a subclass of smar_ltr.features.Feature, got {cls!r}")
    if cls.scope not in SCOPES:
        raise RegistryError(f"feature {name!r} has scope {cls.scope!r}; use one of {', '.join(SCOPES)}")
    if cls.dtype not in DTYPES:
        raise RegistryError(f"feature {name!r} has dtype {cls.dtype!r}; use one of {', '.join(DTYPES)}")
    if not cls.description():
        raise RegistryError(f"feature {name!r} ({cls.__name__}) needs a docstring; its first line is the description")
    if not cls.outputs and cls.output_columns is Feature.output_columns:
        raise RegistryError(f"feature {name!r} declares no outputs; set the class attribute outputs = ('col', ...)")
    if isinstance(cls.inputs, str) or (cls.modalities is not None and isinstance(cls.modalities, str)):
        raise RegistryError(f"feature {name!r}: inputs and modalities must be tuples of str, not a single str")


def register_feature(name: str) -> Callable[[F], F]:
    """Class decorator registering a feature under a versioned name.

    Parameters
    ----------
    name : str
        Dotted lower-case name ending in ``.v<N>``, e.g. ``"mypkg.query_len.v1"``; a behaviour change gets a
        new version rather than reusing the name.

    Raises
    ------
    RegistryError
        Malformed or duplicate name, or a class that breaks the contract (no docstring, bad scope/dtype,
        no outputs).
    """

    def decorate(cls: F) -> F:
        _check_class(name, cls)
        if cls.name and cls.name != name and "name" in cls.__dict__:
            raise RegistryError(
                f"class {cls.__name__} is already registered as {cls.name!r}; subclass it to register {name!r}"
            )
        match = re.search(r"\.v([0-9]+)$", name)
        FEATURES.register(name, cls)
        cls.name = name
        cls.version = int(match.group(1)) if match else 0
        return cls

    return decorate


def feature_class(name: str) -> type[Feature]:
    """The class registered under ``name`` (unknown names list close matches)."""
    return FEATURES.get(name)


def load_plugins(files: Iterable[str | Path] = (), strict: bool = False) -> None:
    """Load entry-point plugins, then import local plugin files (the CLI's ``--plugins``).

    Parameters
    ----------
    files : iterable of path
        Python files whose ``@register_feature`` decorators should run.
    strict : bool
        Raise instead of warning when an entry-point plugin failed to import (also for failures recorded by
        an earlier, non-strict load).

    Raises
    ------
    RegistryError
        Strict mode and a failed plugin, or a plugin file that is missing or fails to import.
    """
    FEATURES.load(strict=strict)
    if strict and FEATURES.failures:
        f = FEATURES.failures[0]
        raise RegistryError(f"feature plugin {f.source} failed to load ({f.error}); fix or uninstall it")
    for path in files:
        FEATURES.load_file(path)
