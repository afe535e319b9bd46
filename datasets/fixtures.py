"""Small file sets with exactly the real schema of each dataset (``smar-ltr datasets make-fixture``).

Each writer generates seeded, learnable toy data (labels follow a latent relevance that the features and the
single-modal scores see with noise, with score scales that differ per modality) in the real file layout,
column names and nested types, so the adapters, the tests and anyone trying an adapter can run without the
real data. Files are written atomically: into a temporary directory first, then moved into place.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.datasets.fixture_baidu import write_baidu
from smar_ltr.datasets.fixture_baidu_ultr import write_baidu_ultr
from smar_ltr.datasets.fixture_qilin import write_qilin
from smar_ltr.datasets.io import write_dir_atomic
from smar_ltr.errors import DatasetError

__all__ = ["FIXTURE_WRITERS", "make_fixture", "write_baidu", "write_baidu_ultr", "write_pages", "write_qilin"]


# -----------------------------------------------------------------------------------------------------------
# pages (bring your own data: the canonical page table)
# -----------------------------------------------------------------------------------------------------------
def _page_table(rng: np.random.Generator, n_queries: int, start: int, single_modal: bool) -> pd.DataFrame:
    modalities = ("web", "image", "video")
    scale = {"web": (1.0, 0.0), "image": (2.0, 1.0), "video": (0.5, -1.0)}
    rows = []
    for q in range(start, start + n_queries):
        n = int(rng.integers(5, 10))
        mods = (
            [modalities[int(rng.integers(3))]] * n
            if single_modal
            else [modalities[int(i)] for i in rng.integers(3, size=n)]
        )
        z = rng.normal(size=n)
        label = np.clip(np.rint(1.5 + 1.2 * z), 0, 4).astype(int)
        for j in range(n):
            a, b = scale[mods[j]]
            rows.append(
                {
                    "qid": f"q{q:04d}",
                    "item_id": f"d{q:04d}_{j}",
                    "modality": mods[j],
                    "page_label": None if single_modal else int(label[j]),
                    "modal_label": int(label[j]) if single_modal else None,
                    "upstream_score": float(a * z[j] + b + rng.normal(0, 0.5)),
                    "position": j,
                    "query": f"query {q}",
                    "title": f"title {q} {j}",
                    "f_shared": float(z[j] + rng.normal(0, 1.0)),
                    f"f_{mods[j]}_0": float(z[j] + rng.normal(0, 0.5)),
                }
            )
    frame = pd.DataFrame(rows)
    for m in modalities:  # every modality's view column exists; NaN on other modalities' rows
        if f"f_{m}_0" not in frame.columns:
            frame[f"f_{m}_0"] = np.nan
    label_col = "page_label" if single_modal else "modal_label"
    frame = frame.drop(columns=[label_col])
    frame["position"] = frame["position"].astype("int64")
    return frame


def write_pages(out: Path, seed: int = 0) -> None:
    """The ``pages`` layout: ``single_modal``, ``train``, ``valid`` and ``test`` parquet page tables."""
    rng = np.random.default_rng(seed)
    tables = {
        "single_modal": _page_table(rng, 40, 0, True),
        "train": _page_table(rng, 40, 1000, False),
        "valid": _page_table(rng, 10, 2000, False),
        "test": _page_table(rng, 20, 3000, False),
    }
    for name, frame in tables.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)


FIXTURE_WRITERS: dict[str, Callable[..., None]] = {
    "baidu": write_baidu,
    "qilin": write_qilin,
    "baidu-ultr": write_baidu_ultr,
    "pages": write_pages,
}


def make_fixture(name: str, out_dir: str | Path, seed: int = 0, **options: Any) -> list[Path]:
    """Write a small file set with the real schema of dataset ``name`` into ``out_dir`` (atomically).

    Parameters
    ----------
    name : {"baidu", "qilin", "baidu-ultr", "pages"}
        Dataset whose layout to write.
    out_dir : path
        Target directory (created; files already there with other names are kept).
    seed : int
        Seed of the generated data.
    **options
        Passed to the writer, e.g. ``layout="processed"`` for ``baidu-ultr``.

    Returns
    -------
    list of Path
        The files written.
    """
    if name not in FIXTURE_WRITERS:
        raise DatasetError(f"no fixture writer for {name!r}; available: {', '.join(sorted(FIXTURE_WRITERS))}")
    writer = FIXTURE_WRITERS[name]
    allowed = [p for p in inspect.signature(writer).parameters if p not in ("out", "seed")]
    for key in options:
        if key not in allowed:
            raise DatasetError(f"fixture {name!r} has no option {key!r}; options: {', '.join(allowed)}")
    return write_dir_atomic(out_dir, lambda tmp: writer(tmp, seed=seed, **options))
