"""Page tables with discretised features for the Dask tests: every worker then builds the same histogram bins, so
XGBoost on a cluster grows the single-machine trees and scores can be compared exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = [f"x{i}" for i in range(4)]


def pages(n_queries: int = 60, seed: int = 0) -> pd.DataFrame:
    """Whole-page table with discretised features (identical histogram bins on every worker)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(8, 20, size=n_queries)
    n = int(sizes.sum())
    x = rng.integers(0, 8, size=(n, len(FEATURES))).astype(np.float64)
    signal = x[:, 0] - 0.5 * x[:, 1] + rng.normal(scale=1.0, size=n)
    return pd.DataFrame(
        {
            "qid": np.repeat([f"q{i:03d}" for i in range(n_queries)], sizes),
            "item_id": [f"i{j}" for j in range(n)],
            "modality": rng.choice(["web", "image", "video"], size=n),
            "upstream_score": signal + rng.normal(scale=0.5, size=n),
            "page_label": np.clip(np.round(signal / 2 + 1), 0, 3).astype(int),
            **{c: x[:, i] for i, c in enumerate(FEATURES)},
        }
    )


def pool(n_lists: int = 30, seed: int = 2) -> pd.DataFrame:
    """Single-modal lists (one modality each) with modal labels and the reranker's input columns."""
    rng = np.random.default_rng(seed)
    frame = pages(n_lists, seed=seed).drop(columns=["page_label"])
    modality = np.array(["web", "image", "video"])[np.arange(n_lists) % 3]
    codes = pd.factorize(frame["qid"])[0]
    frame["modality"] = modality[codes]
    frame["qid"] = "sm-" + frame["qid"] + "-" + frame["modality"]
    signal = frame["x0"] - 0.5 * frame["x1"] + rng.normal(scale=1.0, size=len(frame))
    frame["modal_label"] = pd.array(np.clip(np.round(signal / 2 + 1), 0, 3).astype(int), dtype="Int64")
    return frame
