"""Same seed, same data: every backend writes byte-identical model files (CatBoost's random model_guid and
training end time are dropped before saving; see ``smar_ltr.rankers.catboost_ranker.VOLATILE_METADATA``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from smar_ltr.rankers import make_ranker


def _fit_and_save(backend: str, folder: Path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 4)).astype(np.float32)
    y = rng.integers(0, 3, 240).astype(float)
    qid = np.repeat(np.arange(24), 10)
    ranker = make_ranker(backend, n_estimators=8, num_leaves=7, min_data_in_leaf=5, seed=3, n_threads=2)
    files = ranker.fit(X, y, qid).save(folder / "model")
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost", "catboost"])
def test_two_fits_with_one_seed_write_the_same_bytes(backend: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _fit_and_save(backend, tmp_path / "a") == _fit_and_save(backend, tmp_path / "b")
