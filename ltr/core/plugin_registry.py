"""A small catalogue-style registry shared by features and datasets.

Objects register under a name with a decorator. Third-party packages contribute through an entry-point group
(``smar_ltr.features``, ``smar_ltr.datasets``); the groups are loaded lazily, on the first lookup, and the
built-ins are registered through the very same entry point (with a direct import as fallback when smar-ltr
runs from a source tree without installed metadata). A plugin that fails to import is reported, as a warning
or, in strict mode, as an error, and never silently dropped.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Generic, TypeVar

from smar_ltr.errors import RegistryError

T = TypeVar("T")


class PluginWarning(UserWarning):
    """A plugin module could not be loaded; its registrations are missing."""


@dataclass(frozen=True)
class PluginFailure:
    """One plugin that failed to load: where it came from and why."""

    source: str
    error: str


class Registry(Generic[T]):
    """Name -> object catalogue with lazy entry-point loading.

    Parameters
    ----------
    kind : str
        What is registered, for messages (``"feature"``, ``"dataset"``).
    group : str
        Entry-point group scanned on first lookup.
    builtin_module : str
        Module holding the built-ins; imported directly when no entry point provides it.
    name_pattern : str or None
        Regular expression every name must match (e.g. versioned feature names).
    """

    def __init__(self, kind: str, group: str, builtin_module: str, name_pattern: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self.builtin_module = builtin_module
        self._pattern = re.compile(name_pattern) if name_pattern else None
        self._items: dict[str, T] = {}
        self._origin: dict[str, str] = {}
        self._loaded = False
        self._loading = False
        self.failures: list[PluginFailure] = []
        self.strict = False

    # registration -------------------------------------------------------------------------------------------
    def register(self, name: str, obj: T | None = None) -> Callable[[T], T]:
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``.

        Raises
        ------
        RegistryError
            The name is malformed or already taken.
        """

        def add(item: T) -> T:
            if self._pattern is not None and not self._pattern.fullmatch(name):
                raise RegistryError(
                    f"{self.kind} name {name!r} is malformed; use a dotted versioned name like "
                    f"'mypkg.query_len.v1' (pattern {self._pattern.pattern})"
                )
            if name in self._items and self._items[name] is not item:
                raise RegistryError(
                    f"{self.kind} {name!r} is already registered (by {self._origin[name]}); choose another name "
                    "or bump the version suffix"
                )
            self._items[name] = item
            self._origin[name] = getattr(item, "__module__", "?")
            return item

        if obj is not None:
            add(obj)
        return add

    def unregister(self, name: str) -> None:
        """Remove a registration (for tests and interactive use)."""
        self._items.pop(name, None)
        self._origin.pop(name, None)

    # loading ------------------------------------------------------------------------------------------------
    def _fail(self, source: str, exc: BaseException) -> None:
        failure = PluginFailure(source=source, error=f"{type(exc).__name__}: {exc}")
        self.failures.append(failure)
        message = f"{self.kind} plugin {source} failed to load ({failure.error}); its {self.kind}s are unavailable"
        if self.strict:
            raise RegistryError(message) from exc
        warnings.warn(message, PluginWarning, stacklevel=3)

    def load(self, strict: bool | None = None) -> None:
        """Import every entry point of the group once (idempotent)."""
        if strict is not None:
            self.strict = strict
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            seen_builtin = False
            for ep in entry_points(group=self.group):
                if ep.value.split(":")[0] == self.builtin_module:
                    seen_builtin = True
                try:
                    ep.load()
                except Exception as exc:  # a broken plugin must be reported, not crash the registry
                    self._fail(f"entry point {ep.name!r} ({ep.value})", exc)
            if not seen_builtin:
                importlib.import_module(self.builtin_module)
            self._loaded = True
        finally:
            self._loading = False

    def load_file(self, path: str | Path) -> None:
        """Import a local Python file so its ``register`` decorators run (the CLI's ``--plugins``)."""
        path = Path(path)
        if not path.is_file():
            raise RegistryError(f"plugin file {str(path)!r} does not exist; pass the path of a .py file")
        module_name = f"smar_ltr_local_plugin_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise RegistryError(f"plugin file {str(path)!r} is not an importable Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except RegistryError:
            raise
        except Exception as exc:
            del sys.modules[module_name]
            raise RegistryError(f"plugin file {str(path)!r} failed to import: {type(exc).__name__}: {exc}") from exc

    # lookup -------------------------------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The object registered under ``name``.

        Raises
        ------
        RegistryError
            Unknown name; the message lists close matches.
        """
        self.load()
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"known: {', '.join(self.names()[:20])}"
            raise RegistryError(f"unknown {self.kind} {name!r}; {hint}") from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self.load()
        return sorted(self._items)

    def origin(self, name: str) -> str:
        """Module that registered ``name``."""
        self.get(name)
        return self._origin[name]

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
