"""Saving and loading :class:`smar_ltr.SMARRanker`: a run directory of native model files plus JSON.

``estimator.json`` holds the hyperparameters, feature names and fit summary; the reranker and the single-modal
rankers are in their libraries' own formats, listed with checksums in ``manifest.json`` (nothing is pickled).
Moved out of :mod:`smar_ltr.estimator.ranker` unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, TypeVar

from smar_ltr.config import ConsistencyConfig
from smar_ltr.core.coercion import without_retired
from smar_ltr.errors import ArtifactError
from smar_ltr.page_table.schema import UPSTREAM_SCORE
from smar_ltr.rankers import GBDTRanker, load_ranker
from smar_ltr.serving.run_dir import load_rankers, read_manifest, save_rankers, staged_dir, write_json, write_manifest

__all__ = ["ESTIMATOR_KIND", "load_estimator", "save_estimator"]

#: ``kind`` written in the manifest of a saved :class:`SMARRanker`.
ESTIMATOR_KIND = "estimator"


class SavedRanker(Protocol):
    """What saving and loading read and set on a :class:`~smar_ltr.estimator.ranker.SMARRanker` (named by its
    attributes: the estimator imports this module)."""

    feature_names_in_: list[str]
    n_features_in_: int
    single_modal_rankers_: dict[str, GBDTRanker]
    reranker_: GBDTRanker
    fit_summary_: dict[str, Any]
    seed: int

    @property
    def reads_upstream_(self) -> bool: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


_Model = TypeVar("_Model", bound=SavedRanker)


def save_estimator(model: SavedRanker, path: str | Path) -> Path:
    """Write the fitted ``model`` as a run directory: native model files, ``estimator.json``, ``manifest.json``.

    ``path`` must be new, empty, or an earlier saved model (replaced only once the new one is complete); a run
    folder or any other artifact is refused.
    Returns the resolved path.
    """
    with staged_dir(path, ESTIMATOR_KIND) as tmp:
        write_json(
            tmp / "estimator.json",
            {
                "params": model.get_params(),
                "feature_names_in": model.feature_names_in_,
                "fit_summary": model.fit_summary_,
            },
        )
        stems = save_rankers(tmp / "single_modal", model.single_modal_rankers_)
        model.reranker_.save(tmp / "reranker")
        write_manifest(tmp, ESTIMATOR_KIND, model.seed, single_modal=stems)
    return Path(path).resolve()


def load_estimator(cls: type[_Model], path: str | Path) -> _Model:
    """An instance of ``cls`` loaded from a directory written by :func:`save_estimator` (checksums verified)."""
    manifest = read_manifest(path, ESTIMATOR_KIND)
    root = Path(path)
    try:
        saved = json.loads((root / "estimator.json").read_text())
        # a model saved before a setting was retired: dropped at its inert default, refused otherwise
        model = cls(**without_retired(ConsistencyConfig, saved["params"]))
        model.feature_names_in_ = list(saved["feature_names_in"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{root / 'estimator.json'} is not a SMARRanker description ({exc})") from None
    model.single_modal_rankers_ = load_rankers(root / "single_modal", manifest.get("single_modal", {}))
    model.reranker_ = load_ranker(root / "reranker")
    expected = model.feature_names_in_ + ([UPSTREAM_SCORE] if model.reads_upstream_ else [])
    if list(model.reranker_.feature_names_in_) != expected:
        raise ArtifactError(
            f"{root / 'estimator.json'} lists other inputs than the reranker reads; the saved model was altered"
        )
    model.n_features_in_ = len(model.feature_names_in_)
    model.fit_summary_ = saved.get("fit_summary", {})
    return model
