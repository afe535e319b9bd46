"""Fixture of the ``baidu`` (CrossRank) layout: request files, ``MultiModalCorpus``, single-modal corpus parts.

Moved out of :mod:`smar_ltr.datasets.fixtures` (which re-exports ``write_baidu``) unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from smar_ltr.datasets.fixture_toy_text import VOCABULARY, sigmoid, toy_text, toy_tokens

__all__ = ["write_baidu"]

_CROSSRANK_DETAIL = pa.struct(
    [
        ("upstream_label", pa.float64()),
        ("candidate_idx", pa.int64()),
        ("candidate_feat_5", pa.float64()),
        ("candidate_feat_4", pa.float64()),
        ("label", pa.float64()),
        ("position", pa.int64()),
    ]
)
_CROSSRANK_REQUEST = pa.schema(
    [
        ("query", pa.string()),
        ("search_idx", pa.int64()),
        ("search_results", pa.list_(pa.int64())),
        ("search_result_details_with_idx", pa.list_(_CROSSRANK_DETAIL)),
    ]
)
_CROSSRANK_CORPUS = pa.schema(
    [
        ("modal", pa.string()),
        ("query_intent", pa.string()),
        ("real_title", pa.string()),
        ("abs_basic", pa.string()),
        ("title_highlight_basic", pa.string()),
        *[(f"query_feat_{i}", pa.int64()) for i in range(1, 6)],
        *[(f"candidate_feat_{i}", pa.float64()) for i in range(1, 6)],
        ("upstream_label", pa.float64()),
    ]
)


def _crossrank_pages(
    rng: np.random.Generator, search_ids: range, corpus: list[dict[str, Any]], single_modal: bool
) -> list[dict[str, Any]]:
    """Request rows for ``search_ids``; appends their candidates to ``corpus`` (candidate_idx = row)."""
    scale = {
        "0": (2.0, 0.3),
        "1": (0.8, -0.6),
    }  # per-modality score calibration: not comparable across queues
    requests = []
    for sid in search_ids:
        q_tokens = rng.integers(10, VOCABULARY, size=int(rng.integers(2, 5)))
        n = int(rng.integers(5, 10))
        modals = (
            np.full(n, str(rng.integers(2)))
            if single_modal
            else rng.permutation(np.array(["0", "1"] + [str(m) for m in rng.integers(2, size=n - 2)]))
        )
        z = rng.normal(size=n) + rng.normal(0, 0.5)
        label = np.clip(np.rint(1.5 + 1.2 * z), 0, 4)
        order = np.argsort(-(z + rng.normal(0, 1.0, size=n)), kind="stable")
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        q_feats = [int(v) for v in rng.integers(0, 4, size=5)]
        details = []
        for j in range(n):
            a, b = scale[modals[j]]
            up = float(np.round(sigmoid(a * z[j] + b + rng.normal(0, 0.4)), 5))
            idx = len(corpus)
            corpus.append(
                {
                    "modal": modals[j],
                    "query_intent": f"intent{int(rng.integers(5))}",
                    "real_title": toy_text(toy_tokens(rng, q_tokens, float(sigmoid(z[j])), 6)),
                    "abs_basic": toy_text(toy_tokens(rng, q_tokens, float(sigmoid(z[j] - 1)), 14)),
                    "title_highlight_basic": toy_text(list(q_tokens[:1])),
                    **{f"query_feat_{i + 1}": q_feats[i] for i in range(5)},
                    "candidate_feat_1": float(np.round(sigmoid(z[j] + rng.normal(0, 0.8)), 4)),
                    "candidate_feat_2": float(rng.integers(0, 9)),
                    "candidate_feat_3": float(np.round(rng.random(), 4)),
                    "candidate_feat_4": float(rng.integers(0, 9)),
                    "candidate_feat_5": float(np.round(rng.random(), 4)),
                    "upstream_label": up,
                }
            )
            details.append(
                {
                    "upstream_label": up,
                    "candidate_idx": idx,
                    "candidate_feat_5": corpus[idx]["candidate_feat_5"],
                    "candidate_feat_4": corpus[idx]["candidate_feat_4"],
                    "label": float(label[j]),
                    "position": int(position[j]),
                }
            )
        shown = [d["candidate_idx"] for d in sorted(details, key=lambda d: d["position"])]
        requests.append(
            {
                "query": toy_text(list(q_tokens)),
                "search_idx": sid,
                "search_results": shown,
                "search_result_details_with_idx": details,
            }
        )
    return requests


def write_baidu(out: Path, seed: int = 0, n_train: int = 48, n_test: int = 24, n_single: int = 40) -> None:
    """CrossRank layout: three request files, ``MultiModalCorpus`` and three single-modal corpus parts."""
    rng = np.random.default_rng(seed)
    multi: list[dict[str, Any]] = []
    single: list[dict[str, Any]] = []
    train = _crossrank_pages(rng, range(1, n_train + 1), multi, False)
    test = _crossrank_pages(rng, range(n_train + 1, n_train + n_test + 1), multi, False)
    pool = _crossrank_pages(rng, range(24010, 24010 + n_single), single, True)
    for name, rows in (("Multimodal_Train", train), ("Multimodal_Test", test), ("SingleModal_Train", pool)):
        pq.write_table(pa.Table.from_pylist(rows, schema=_CROSSRANK_REQUEST), out / f"{name}.parquet")
    pq.write_table(pa.Table.from_pylist(multi, schema=_CROSSRANK_CORPUS), out / "MultiModalCorpus.parquet")
    bounds = np.linspace(0, len(single), 4).round().astype(int)
    for part in range(3):
        rows = single[bounds[part] : bounds[part + 1]]
        pq.write_table(
            pa.Table.from_pylist(rows, schema=_CROSSRANK_CORPUS),
            out / f"SingleModalCorpus_part{part + 1}.parquet",
        )
