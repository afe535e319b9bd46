"""Feature extraction for inspection: fit on a dataset's training pages, apply to one split, write parquet."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import pandas as pd

from smar_ltr.errors import ConfigError
from smar_ltr.features.featureset import FeatureSet
from smar_ltr.features.registry import FEATURES

SPLITS = ("train", "valid", "test")
KEY_COLUMNS = ("qid", "item_id", "modality")


def extract_split(
    splits: Any, split: str = "test", selection: Sequence[str] | None = None
) -> tuple[pd.DataFrame, FeatureSet]:
    """Fit a feature set on ``splits.train`` and apply it to one split.

    Parameters
    ----------
    splits : PageSplits
        A loaded dataset (:func:`smar_ltr.datasets.load_dataset`).
    split : {"train", "valid", "test"}
        Which pages to extract features for.
    selection : sequence of str, optional
        Feature names / globs (default: every built-in).

    Returns
    -------
    table : DataFrame
        The split's key columns (``qid``, ``item_id``, ``modality`` where present) followed by the features.
    features : FeatureSet
        The fitted set (save it with ``to_dict``).
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    frame = getattr(splits, split)
    if frame is None or len(frame) == 0:
        raise ConfigError(f"dataset {splits.name!r} has no {split!r} pages; choose another --split")
    fs = FeatureSet.from_selection(selection)
    fs.fit(splits.train)
    values = fs.transform(frame)
    keys = frame[[c for c in KEY_COLUMNS if c in frame.columns]]
    return pd.concat([keys, values], axis=1), fs


def feature_details(name: str) -> dict[str, Any]:
    """What ``smar-ltr features show`` prints: metadata, docstring, parameters, where it is defined."""
    cls = FEATURES.get(name)
    info = cls().describe()
    params = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        params.append({"name": p.name, "default": None if p.default is p.empty else p.default})
    try:
        source = inspect.getsourcefile(cls)
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):  # classes built with type() have no source lines of their own
        module = inspect.getmodule(cls)
        source = getattr(module, "__file__", None)
        line = None
    info.update(
        {
            "doc": cls.full_doc(),
            "parameters": params,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "module": FEATURES.origin(name),
            "file": source,
            "line": line,
        }
    )
    return info
