"""The dataset registry: adapters by name, extensible through the ``smar_ltr.datasets`` entry-point group."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smar_ltr.core.plugin_registry import Registry
from smar_ltr.page_table.splits import PageSplits

#: Environment variable holding the root directory of local dataset copies (``$SMAR_LTR_DATA/<name>``).
DATA_ENV = "SMAR_LTR_DATA"


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one dataset.

    Attributes
    ----------
    name : str
        Registry name.
    description : str
        One line for ``smar-ltr datasets list``.
    loader : callable
        ``loader(data_dir: Path | None, seed: int, **options) -> PageSplits``.
    licence, citation, source : str
        Shown by ``datasets list`` / ``info`` and written into reports.
    expected_files : tuple of str
        Files (relative to the data directory) that must exist; empty for generated data.
    needs_files : bool
        False for generated datasets (``synthetic``).
    options : dict
        Documented loader options and their defaults.
    """

    name: str
    description: str
    loader: Callable[..., PageSplits]
    licence: str = ""
    citation: str = ""
    source: str = ""
    expected_files: tuple[str, ...] = ()
    needs_files: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    def default_dir(self) -> Path:
        """``$SMAR_LTR_DATA/<name>``, or ``~/.cache/smar_ltr/data/<name>`` when the variable is unset."""
        root = os.environ.get(DATA_ENV)
        base = Path(root) if root else Path.home() / ".cache" / "smar_ltr" / "data"
        return base / self.name

    def is_present(self, data_dir: str | Path | None = None) -> bool:
        """True when the files the adapter needs are all there (always true for generated data)."""
        if not self.needs_files:
            return True
        d = Path(data_dir) if data_dir is not None else self.default_dir()
        return all((d / f).exists() for f in self.expected_files)


DATASETS: Registry[DatasetSpec] = Registry("dataset", "smar_ltr.datasets", "smar_ltr.datasets.builtin")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add a dataset adapter to the registry; returns the spec."""
    DATASETS.register(spec.name, spec)
    return spec


def get_dataset(name: str) -> DatasetSpec:
    """The spec registered under ``name`` (unknown names list close matches)."""
    return DATASETS.get(name)


def load_dataset(name: str, data_dir: str | Path | None = None, seed: int = 0, **options: Any) -> PageSplits:
    """Load a registered dataset by name.

    Parameters
    ----------
    name : str
        Registry name (``smar-ltr datasets list``).
    data_dir : path, optional
        Directory holding the files; defaults to ``$SMAR_LTR_DATA/<name>``.
    seed : int
        Seed for generated data and seeded splits.
    **options
        Adapter-specific options (see the spec's ``options``).
    """
    spec = get_dataset(name)
    d = Path(data_dir) if data_dir is not None else (spec.default_dir() if spec.needs_files else None)
    return spec.loader(d, seed, **options)
