"""The feature contract: what a feature declares and how it is fitted and applied.

A feature is a class (featuretools-primitive style) with class metadata and scikit-learn-style parameters::

    @register_feature("mypkg.title_len.v1")
    class TitleLength(Feature):
        \"\"\"Number of characters of the title.\"\"\"

        inputs = ("title",)
        outputs = ("title_len",)

        def transform(self, frame):
            return pd.DataFrame({"title_len": frame["title"].str.len()}, index=frame.index)

Metadata (class attributes):

* ``name`` / ``version``: set by :func:`~smar_ltr.features.register_feature` from the versioned name;
* ``inputs``: columns the feature reads; ``modalities``: modalities it applies to (``None`` = all);
* ``outputs``: the new columns (features whose columns depend on fitted state override ``output_columns``);
* ``dtype``: ``"float32"`` or ``"float64"``; ``scope``: ``"item"`` (varies per candidate), ``"query"``
  (a function of the query alone) or ``"page"`` (constant over a page, depends on the candidate set);
* the docstring's first line is the one-line description.

Parameters are ``__init__`` keyword arguments stored under the same attribute names (scikit-learn's rule), so
:meth:`Feature.get_params` can read them back. Learned statistics live in ``get_state`` / ``set_state`` as
JSON-friendly dicts; never pickle.

Users override ``fit`` (optional) and ``transform``. The framework calls :meth:`Feature.checked_fit` and
:meth:`Feature.checked_transform`, which enforce the policy every feature gets for free: a missing input
column gives NaN outputs (never a crash), and so does every later ``transform`` of a feature whose ``fit``
inputs were missing from the training pages; rows of modalities the feature does not apply to get NaN; the
result is checked to be exactly the declared columns on the input's index and is cast to the declared dtype.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from smar_ltr.errors import SmarError
from smar_ltr.features.context import positions_in

SCOPES: tuple[str, ...] = ("item", "query", "page")
DTYPES: tuple[str, ...] = ("float32", "float64")
UPSTREAM_COLUMN = "upstream_score"


class FeatureNotFittedError(SmarError):
    """A feature that learns statistics was applied before ``fit`` (or before its state was restored)."""


class FeatureOutputError(SmarError):
    """A feature's ``transform`` returned something other than its declared columns on the input's index."""


class Feature:
    """Base class of every feature; see the module docstring for the contract."""

    name: ClassVar[str] = ""
    version: ClassVar[int] = 0
    inputs: ClassVar[tuple[str, ...]] = ()
    #: Columns ``fit`` needs (default: ``inputs`` when the class overrides ``fit``, else nothing).
    fit_inputs: ClassVar[tuple[str, ...] | None] = None
    modalities: ClassVar[tuple[str, ...] | None] = None
    outputs: ClassVar[tuple[str, ...]] = ()
    dtype: ClassVar[str] = "float32"
    scope: ClassVar[str] = "item"

    _fitted: bool = False
    _fit_skipped: bool = False  # fit inputs were missing: the feature outputs NaN

    # metadata -----------------------------------------------------------------------------------------------
    @classmethod
    def description(cls) -> str:
        """First line of the class docstring (may come from a parent feature class, never ``Feature``)."""
        return cls.full_doc().splitlines()[0].strip() if cls.full_doc() else ""

    @classmethod
    def full_doc(cls) -> str:
        """The class docstring, cleaned; empty when only :class:`Feature`'s own docstring would apply."""
        for klass in cls.__mro__:
            if klass is Feature:
                break
            doc = klass.__dict__.get("__doc__")
            if doc and doc.strip():
                return inspect.cleandoc(doc)
        return ""

    @classmethod
    def stateful(cls) -> bool:
        """True when the class learns statistics in ``fit``."""
        return cls.fit is not Feature.fit

    @classmethod
    def required_fit_inputs(cls) -> tuple[str, ...]:
        """Columns ``fit`` reads."""
        if cls.fit_inputs is not None:
            return tuple(cls.fit_inputs)
        return tuple(cls.inputs) if cls.stateful() else ()

    @property
    def requires_upstream(self) -> bool:
        """True when the feature reads ``upstream_score`` (computed after the single-modal rankers)."""
        return UPSTREAM_COLUMN in self.inputs

    @property
    def output_columns(self) -> list[str]:
        """Names of the columns ``transform`` returns (may depend on fitted state)."""
        return list(self.outputs)

    @property
    def is_fitted(self) -> bool:
        """False only for a stateful feature that was neither fitted nor restored."""
        return self._fitted or not self.stateful()

    def get_params(self) -> dict[str, Any]:
        """Constructor keyword arguments and their current values."""
        sig = inspect.signature(type(self).__init__)
        return {
            p.name: getattr(self, p.name)
            for p in sig.parameters.values()
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def describe(self) -> dict[str, Any]:
        """Metadata as a JSON-friendly dict (what ``smar-ltr features list`` prints)."""
        try:
            outputs = self.output_columns
        except FeatureNotFittedError:
            outputs = list(self.outputs)
        return {
            "name": self.name,
            "version": self.version,
            "scope": self.scope,
            "inputs": list(self.inputs),
            "modalities": None if self.modalities is None else list(self.modalities),
            "outputs": outputs,
            "dtype": self.dtype,
            "requires_upstream": self.requires_upstream,
            "stateful": self.stateful(),
            "params": self.get_params(),
            "description": self.description(),
        }

    # to override --------------------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> Feature:
        """Learn statistics from training pages (default: nothing to learn)."""
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the output columns for every row of ``frame`` (same index, input untouched)."""
        raise NotImplementedError(f"{type(self).__name__} must implement transform(frame)")

    def get_state(self) -> dict[str, Any]:
        """Learned statistics as a JSON-serialisable dict (default: none)."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore statistics written by :meth:`get_state`."""

    # framework entry points ---------------------------------------------------------------------------------
    def load_state(self, state: dict[str, Any]) -> Feature:
        """Restore fitted statistics (``set_state``) and mark the feature fitted."""
        self.set_state(state)
        self._fitted = True
        self._fit_skipped = False
        return self

    def saved_state(self) -> dict[str, Any]:
        """``{"fitted", "fit_skipped", "state"}``: what a saved run stores for this feature."""
        stateful, fitted = self.stateful(), self.is_fitted
        keep = stateful and fitted and not self._fit_skipped
        return {
            "fitted": stateful and fitted,
            "fit_skipped": self._fit_skipped,
            "state": self.get_state() if keep else {},
        }

    def restore(self, saved: dict[str, Any]) -> Feature:
        """Inverse of :meth:`saved_state`."""
        if saved.get("fit_skipped"):
            self._fitted, self._fit_skipped = True, True
        elif saved.get("fitted"):
            self.load_state(saved.get("state", {}))
        return self

    def missing_inputs(self, frame: pd.DataFrame, columns: tuple[str, ...] | None = None) -> list[str]:
        """Input columns absent from ``frame``."""
        return [c for c in (self.inputs if columns is None else columns) if c not in frame.columns]

    def checked_fit(self, frame: pd.DataFrame) -> Feature:
        """Fit when every column ``fit`` needs is present; otherwise the feature outputs NaN from now on."""
        self._fit_skipped = bool(self.missing_inputs(frame, self.required_fit_inputs()))
        if not self._fit_skipped:
            self.fit(frame.copy(deep=False))
        self._fitted = True
        return self

    def nan_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """All-NaN output for every row of ``frame``."""
        cols = self.output_columns
        data = np.full((len(frame), len(cols)), np.nan, dtype=self.dtype)
        return pd.DataFrame(data, index=frame.index, columns=cols)

    def checked_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``transform`` with the NaN policy and output checks applied (what :class:`FeatureSet` calls).

        Raises
        ------
        FeatureNotFittedError
            A stateful feature was not fitted or restored.
        FeatureOutputError
            ``transform`` returned other columns, another index or non-numeric values.
        """
        return pd.DataFrame(self.checked_values(frame), index=frame.index, columns=self.output_columns)

    def checked_values(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`checked_transform`'s values as one ``(n_rows, n_outputs)`` array of :attr:`dtype` (no frame
        is built around them: what :class:`FeatureSet` reads on the scoring path)."""
        if not self.is_fitted:
            raise FeatureNotFittedError(
                f"feature {self.name!r} learns statistics; call fit on training pages (or restore a "
                "saved set) before transform"
            )
        cols = self.output_columns
        if self._fit_skipped or self.missing_inputs(frame):
            return np.full((len(frame), len(cols)), np.nan, dtype=self.dtype)
        applies = None
        if self.modalities is not None:
            applies = positions_in(frame, "modality", list(self.modalities)) >= 0 if "modality" in frame else None
            if applies is None or not applies.any():
                return np.full((len(frame), len(cols)), np.nan, dtype=self.dtype)
        out = self.transform(frame.copy(deep=False))
        if not isinstance(out, pd.DataFrame) or list(out.columns) != cols:
            got = list(out.columns) if isinstance(out, pd.DataFrame) else type(out).__name__
            raise FeatureOutputError(
                f"feature {self.name!r} returned columns {got}, declared {cols}; fix its transform"
            )
        if not out.index.equals(frame.index):
            raise FeatureOutputError(
                f"feature {self.name!r} returned an index that differs from the input's; build the result "
                "with "
                "index=frame.index"
            )
        try:
            values = out.to_numpy(dtype=self.dtype, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise FeatureOutputError(f"feature {self.name!r} returned non-numeric values ({exc})") from None
        if applies is not None and not applies.all():
            values = values.copy()
            values[~applies] = np.nan
        return values
