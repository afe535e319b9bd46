"""Make a GBDT ranker by backend name, and load one a run saved (the backend libraries are imported lazily)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smar_ltr.config import BACKENDS
from smar_ltr.errors import ArtifactError, ConfigError
from smar_ltr.rankers.base import GBDTRanker


def ranker_class(backend: str) -> type[GBDTRanker]:
    """The ranker class of a backend name (imports the library lazily)."""
    if backend == "lightgbm":
        from smar_ltr.rankers.lightgbm_ranker import LightGBMRanker

        return LightGBMRanker
    if backend == "xgboost":
        from smar_ltr.rankers.xgboost_ranker import XGBoostRanker

        return XGBoostRanker
    if backend == "catboost":
        from smar_ltr.rankers.catboost_ranker import CatBoostRanker

        return CatBoostRanker
    raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def make_ranker(backend: str, **params: Any) -> GBDTRanker:
    """A new, unfitted ranker of ``backend`` with constructor ``params``."""
    return ranker_class(backend)(**params)


def load_ranker(path: str | Path) -> GBDTRanker:
    """Load a ranker written by :meth:`GBDTRanker.save` (``path`` is the stem given to ``save``).

    Raises
    ------
    ArtifactError
        A missing or unreadable model or metadata file.
    """
    path = Path(path)
    meta_file = path.with_name(path.name + ".meta.json")
    try:
        meta = json.loads(meta_file.read_text())
        klass = ranker_class(meta["backend"])
        obj = klass(**meta["params"])
        obj.feature_names_in_ = list(meta["feature_names"])
        obj.n_features_in_ = len(obj.feature_names_in_)
        obj.best_iteration_ = int(meta["best_iteration"])
        obj._load_model(meta_file.parent / meta["model_file"])
    except ArtifactError:
        raise
    except FileNotFoundError as exc:
        raise ArtifactError(f"model file {exc.filename} is missing; the run directory is incomplete") from None
    except Exception as exc:
        raise ArtifactError(
            f"cannot load model {path}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        ) from None
    return obj
