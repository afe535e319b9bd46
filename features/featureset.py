"""A selected, fitted list of features: what a run extracts, saves and restores.

Selection is by name or glob (``"smar.text.*"``); the resolved names with their versions, parameters and
fitted state go into the run's JSON (:meth:`FeatureSet.to_dict`), so inference reuses the training statistics
exactly and a later plugin install cannot change a saved run.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.errors import ArtifactError, ConfigError, RegistryError
from smar_ltr.features.base import Feature
from smar_ltr.features.context import CacheScope, shared_cache
from smar_ltr.features.registry import FEATURES
from smar_ltr.features.text_kernels import one_thread_below

#: The default selection: every built-in feature (plugins are opt-in by name or glob).
DEFAULT_FEATURES: tuple[str, ...] = ("smar.*",)
#: Format tag of :meth:`FeatureSet.to_dict`.
FORMAT = "smar_ltr.featureset/1"
_GLOB_CHARS = "*?["


def resolve_selection(selection: Sequence[str] | None = None) -> list[str]:
    """Expand names and globs to registered feature names (first occurrence wins, globs sorted).

    Raises
    ------
    RegistryError
        An unknown name (close matches listed), a glob matching nothing, or an empty selection.
    """
    if isinstance(selection, str):
        selection = [selection]
    items = list(DEFAULT_FEATURES if selection is None else selection)
    if not items:
        raise RegistryError("the feature selection is empty; name at least one feature or glob (e.g. 'smar.*')")
    names = FEATURES.names()
    out: list[str] = []
    for item in items:
        if any(ch in item for ch in _GLOB_CHARS):
            matched = fnmatch.filter(names, item)
            if not matched:
                families = sorted({".".join(n.split(".")[:2]) + ".*" for n in names})
                close = difflib.get_close_matches(item, families, n=3, cutoff=0.5)
                close = close or difflib.get_close_matches(item, names, n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(families)}"
                raise RegistryError(
                    f"feature pattern {item!r} matches no registered feature{hint} (`smar-ltr features list`)"
                )
        else:
            FEATURES.get(item)
            matched = [item]
        out.extend(m for m in matched if m not in out)
    return out


def _instantiate(name: str, params: Mapping[str, Any]) -> Feature:
    cls = FEATURES.get(name)
    try:
        return cls(**dict(params))
    except TypeError as exc:
        allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        raise ConfigError(
            f"feature {name!r} rejects parameters {dict(params)!r} ({exc}); it accepts: {allowed or 'none'}"
        ) from None


class FeatureSet:
    """An ordered list of feature instances that is fitted, applied and saved together.

    Parameters
    ----------
    features : sequence of Feature
        Instances of registered features (distinct names).
    selection : sequence of str, optional
        The names / globs the user asked for (saved for reference).
    """

    def __init__(self, features: Sequence[Feature], selection: Sequence[str] | None = None) -> None:
        names = [f.name for f in features]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"feature {sorted(dup)[0]!r} is selected twice; select each feature once")
        unregistered = [type(f).__name__ for f in features if not f.name]
        if unregistered:
            raise RegistryError(
                f"feature class {unregistered[0]} is not registered; decorate it with @register_feature"
            )
        self.features: list[Feature] = list(features)
        self.selection: list[str] = list(selection) if selection is not None else names

    # construction --------------------------------------------------------------------------------
    @classmethod
    def from_selection(
        cls, selection: Sequence[str] | None = None, params: Mapping[str, Mapping[str, Any]] | None = None
    ) -> FeatureSet:
        """Instantiate the features matching ``selection`` (``None``: :data:`DEFAULT_FEATURES`).

        Parameters
        ----------
        selection : sequence of str, optional
            Feature names or globs like ``"smar.text.*"``.
        params : mapping of str to mapping, optional
            Constructor parameters per selected feature name, e.g. ``{"smar.text.query_title_bm25.v1":
            {"k1": 0.9}}``.

        Raises
        ------
        RegistryError
            Unknown name or a glob that matches nothing.
        ConfigError
            Parameters for a feature that is not selected, or that the feature does not accept.
        """
        names = resolve_selection(selection)
        params = dict(params or {})
        stray = [n for n in params if n not in names]
        if stray:
            raise ConfigError(
                f"parameters given for feature {stray[0]!r}, which is not in the selection {names[:5]}..."
            )
        chosen = (
            list(DEFAULT_FEATURES)
            if selection is None
            else [selection]
            if isinstance(selection, str)
            else list(selection)
        )
        return cls([_instantiate(n, params.get(n, {})) for n in names], selection=chosen)

    # properties ----------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Registered names of the features, in order."""
        return [f.name for f in self.features]

    @property
    def output_columns(self) -> list[str]:
        """Columns :meth:`transform` returns, in order (known after ``fit`` for per-modality features)."""
        return [c for f in self.features for c in f.output_columns]

    @property
    def is_fitted(self) -> bool:
        """True when every feature is fitted or stateless."""
        return all(f.is_fitted for f in self.features)

    @property
    def requires_upstream(self) -> bool:
        """True when some feature reads ``upstream_score`` (compute those after the single-modal rankers)."""
        return any(f.requires_upstream for f in self.features)

    def split_upstream(self) -> tuple[FeatureSet, FeatureSet]:
        """``(without, with)``: features that do not / do read ``upstream_score`` (same fitted objects)."""
        return (
            FeatureSet([f for f in self.features if not f.requires_upstream], self.selection),
            FeatureSet([f for f in self.features if f.requires_upstream], self.selection),
        )

    def __len__(self) -> int:
        return len(self.features)

    def __iter__(self) -> Iterator[Feature]:
        return iter(self.features)

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:4]) + (", ..." if len(self) > 4 else "")
        return f"FeatureSet({len(self)} features: {shown})"

    # fitting and applying ------------------------------------------------------------------------
    @staticmethod
    def _check_frame(frame: object) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise ConfigError(f"features need a pandas DataFrame page table, got {type(frame).__name__}")
        return frame

    def check_columns(self) -> None:
        """Raise :class:`ConfigError` when two features would write the same output column."""
        seen: dict[str, str] = {}
        for f in self.features:
            for c in f.output_columns:
                if c in seen:
                    raise ConfigError(f"features {seen[c]!r} and {f.name!r} both write column {c!r}; deselect one")
                seen[c] = f.name

    def _run(self, frame: pd.DataFrame, fit: bool, transform: bool) -> dict[str, np.ndarray]:
        """Fit and/or apply every feature in one cache scope, freeing each column's cache after its last use.

        Every feature is fitted before the first is applied, so a feature's ``transform`` can compute what a
        fitted later feature of the pass needs in the same kernel pass (:func:`pass_features`).
        """
        self._check_frame(frame)
        last_use = {c: i for i, f in enumerate(self.features) for c in f.inputs}
        columns: dict[str, np.ndarray] = {}
        with shared_cache(frame, tuple(self.features)) as scope, one_thread_below(len(frame)):
            for i, f in enumerate(self.features):
                if fit:
                    f.checked_fit(frame)
                if not transform:
                    self._release_after(scope, i, last_use)
            for i, f in enumerate(self.features if transform else ()):
                values = f.checked_values(frame)
                columns.update({c: values[:, j] for j, c in enumerate(f.output_columns)})
                self._release_after(scope, i, last_use)
        return columns

    def _release_after(self, scope: CacheScope, i: int, last_use: dict[str, int]) -> None:
        """Drop the cached results of the columns feature ``i`` is the last to read."""
        for c in self.features[i].inputs:
            if last_use[c] == i:
                scope.release(c)

    def fit(self, frame: pd.DataFrame) -> FeatureSet:
        """Learn every feature's statistics on training pages; returns ``self``."""
        self._run(frame, fit=True, transform=False)
        self.check_columns()
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns for every row of ``frame`` (index aligned, input untouched).

        Returns
        -------
        DataFrame, shape (n_rows, len(output_columns))
            float32 / float64 columns named :attr:`output_columns`, index ``frame.index``.
        """
        return pd.DataFrame(self.transform_columns(frame), index=frame.index, columns=self.output_columns)

    def transform_columns(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """:meth:`transform`'s columns as arrays, by output column name (no frame is built around them)."""
        self._check_frame(frame)
        self.check_columns()
        return self._run(frame, fit=False, transform=True)

    def fit_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``fit(frame)`` then ``transform(frame)`` in one pass, sharing the intermediate results."""
        columns = self._run(frame, fit=True, transform=True)
        self.check_columns()
        return pd.DataFrame(columns, index=frame.index, columns=self.output_columns)

    # description and persistence ---------------------------------------------------------------------------
    def describe(self) -> list[dict[str, Any]]:
        """Metadata per feature (name, version, scope, inputs, modalities, outputs, dtype, description)."""
        return [f.describe() for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description: names, versions, parameters and fitted state (no pickle).

        Raises
        ------
        ConfigError
            A feature's parameters or state are not JSON-serialisable.
        """
        entries = []
        for f in self.features:
            entry = {"name": f.name, "version": f.version, "params": f.get_params(), **f.saved_state()}
            try:
                json.dumps(entry, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"feature {f.name!r} has parameters or state that are not JSON-serialisable ({exc})"
                ) from None
            entries.append(entry)
        return {"format": FORMAT, "selection": list(self.selection), "features": entries}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSet:
        """Rebuild a (fitted) set written by :meth:`to_dict`.

        Raises
        ------
        RegistryError
            A saved feature is not registered (e.g. its plugin is not installed).
        ArtifactError
            The dict is not a saved feature set.
        """
        if not isinstance(data, Mapping) or data.get("format") != FORMAT or not isinstance(data.get("features"), list):
            raise ArtifactError(f"not a saved feature set (expected format {FORMAT!r} with a 'features' list)")
        features = []
        for entry in data["features"]:
            name = entry.get("name", "?")
            if name not in FEATURES:
                try:
                    FEATURES.get(name)
                except RegistryError as exc:
                    raise RegistryError(f"saved run uses {exc}; install the plugin that provides it") from None
            features.append(_instantiate(name, entry.get("params", {})).restore(entry))
        return cls(features, data.get("selection"))
