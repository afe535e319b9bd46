"""Fixture of the ``qilin`` layout: Qilin's Hugging Face parquet tables plus the official qrels.

Moved out of :mod:`smar_ltr.datasets.fixtures` (which re-exports ``write_qilin``) unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smar_ltr.datasets.fixture_toy_text import VOCABULARY, sigmoid, toy_text

__all__ = ["write_qilin"]

_QILIN_DETAIL = pa.struct(
    [
        ("click", pa.float64()),
        ("collect", pa.float64()),
        ("comment", pa.float64()),
        ("like", pa.float64()),
        ("note_id", pa.string()),
        ("note_idx", pa.int64()),
        ("page_time", pa.float64()),
        ("position", pa.float64()),
        ("search_timestamp", pa.float64()),
        ("share", pa.float64()),
    ]
)
_QILIN_PAIRS = pa.list_(pa.list_(pa.float64()))
_QILIN_REQUEST = [
    ("query", pa.string()),
    ("query_from_type", pa.float64()),
    ("recent_clicked_note_idxs", pa.list_(pa.int64())),
    ("search_result_details_with_idx", pa.list_(_QILIN_DETAIL)),
    ("search_idx", pa.int64()),
    ("session_idx", pa.int64()),
    ("user_idx", pa.int64()),
    ("dpr_results", _QILIN_PAIRS),
]
_QILIN_TEST = pa.schema(
    [
        *_QILIN_REQUEST[:-1],
        ("bm25_results", _QILIN_PAIRS),
        _QILIN_REQUEST[-1],
        ("search_results", pa.list_(pa.int64())),
    ]
)
_QILIN_DQA = pa.schema(
    [
        ("query", pa.string()),
        ("query_from_type", pa.float64()),
        ("dqa_output", pa.string()),
        ("is_like_clk", pa.float64()),
        ("is_onebox_trace_clk", pa.float64()),
        ("is_content_clk", pa.float64()),
        ("is_experience_clk", pa.float64()),
        ("recent_clicked_note_idxs", pa.list_(pa.int64())),
        ("ref_note_idx_list", pa.list_(pa.int64())),
        ("search_result_details_with_idx", pa.list_(_QILIN_DETAIL)),
        ("session_idx", pa.int64()),
        ("search_idx", pa.int64()),
        ("user_idx", pa.int64()),
        ("bm25_results", _QILIN_PAIRS),
        ("dpr_results", _QILIN_PAIRS),
    ]
)
_NOTE_COUNTERS = (
    "imp_num imp_rec_num imp_search_num click_num click_rec_num click_search_num like_num collect_num "
    "comment_num share_num screenshot_num hide_num rec_like_num rec_collect_num rec_comment_num "
    "rec_share_num rec_follow_num search_like_num search_collect_num search_comment_num search_share_num "
    "search_follow_num accum_like_num accum_collect_num accum_comment_num view_time rec_view_time "
    "search_view_time valid_view_times full_view_times"
).split()
_QILIN_NOTES = pa.schema(
    [
        ("note_title", pa.string()),
        ("note_content", pa.string()),
        ("note_type", pa.float64()),
        *[(c, pa.float64()) for c in ("video_duration", "video_height", "video_width", "image_num")],
        *[(c, pa.float64()) for c in ("content_length", "commercial_flag")],
        *[(f"taxonomy{i}_id", pa.string()) for i in (1, 2, 3)],
        *[(c, pa.float64()) for c in _NOTE_COUNTERS],
        ("note_idx", pa.int64()),
        ("image_path", pa.list_(pa.string())),
    ]
)


def _qilin_request(rng: np.random.Generator, sid: int, quality: np.ndarray, n_notes: int) -> dict[str, Any]:
    q_tokens = rng.integers(10, VOCABULARY, size=3)
    n = int(rng.integers(6, 14))
    notes = rng.choice(n_notes, size=n, replace=False)
    appeal = quality[notes] + rng.normal(0, 0.7, size=n)
    order = np.argsort(-(appeal + rng.normal(0, 1.0, size=n)), kind="stable")
    details: list[dict[str, Any]] = []
    for rank, j in enumerate(order):
        click = float(sigmoid(2.0 * appeal[j] - 1.0) > rng.random())
        dwell = (
            float(np.round(np.exp(1.5 + appeal[j] + rng.normal(0, 0.3)), 3)) if click and rng.random() < 0.85 else None
        )
        details.append(
            {
                "click": click,
                "collect": float(click and rng.random() < 0.2),
                "comment": 0.0,
                "like": float(click and rng.random() < 0.3),
                "note_id": f"{int(notes[j]):024x}",
                "note_idx": int(notes[j]),
                "page_time": dwell,
                "position": float(rank + 1 + (rank > 0 and rng.random() < 0.1)),
                "search_timestamp": 1732475484.0 + sid,
                "share": 0.0,
            }
        )
    for k in range(1, len(details)):  # positions increase (gaps allowed, as in the real logs)
        details[k]["position"] = max(details[k]["position"], details[k - 1]["position"] + 1)
    return {
        "query": toy_text(list(q_tokens)),
        "query_from_type": float(rng.integers(1, 5)),
        "recent_clicked_note_idxs": [int(v) for v in rng.choice(n_notes, size=3)],
        "search_result_details_with_idx": details,
        "search_idx": sid,
        "session_idx": sid // 3,
        "user_idx": int(rng.integers(100)),
        "dpr_results": [[float(v), float(np.round(300 + rng.random(), 4))] for v in rng.choice(n_notes, size=5)],
        "bm25_results": [[float(v), float(np.round(20 * rng.random(), 4))] for v in rng.choice(n_notes, size=5)],
        "search_results": [d["note_idx"] for d in details],
    }


def write_qilin(
    out: Path, seed: int = 0, n_train: int = 40, n_test: int = 16, n_dqa: int = 30, n_notes: int = 240
) -> None:
    """Qilin's Hugging Face layout (``<table>/train-0000k-of-0000n.parquet``) plus the official qrels."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=n_notes)
    note_type = np.where(rng.random(n_notes) < 0.6, 1.0, 2.0)
    notes = []
    for i in range(n_notes):
        video = note_type[i] == 2.0
        imp = float(rng.integers(100, 20000))
        ctr = float(sigmoid(quality[i] - 1.5 + rng.normal(0, 0.3)))
        counters = {c: float(rng.integers(0, 50)) for c in _NOTE_COUNTERS}
        counters.update(
            {
                "imp_num": imp,
                "click_num": float(np.rint(imp * ctr)),
                "view_time": float(np.rint(imp * ctr * 20)),
            }
        )
        notes.append(
            {
                "note_title": f"note {i} " + toy_text(list(rng.integers(10, VOCABULARY, size=4))),
                "note_content": toy_text(list(rng.integers(10, VOCABULARY, size=20))),
                "note_type": note_type[i],
                "video_duration": float(rng.integers(10, 300)) if video else 0.0,
                "video_height": 1920.0 if video else 0.0,
                "video_width": 1080.0 if video else 0.0,
                "image_num": 1.0 if video else float(rng.integers(1, 10)),
                "content_length": float(rng.integers(20, 800)),
                "commercial_flag": float(rng.random() < 0.05),
                "taxonomy1_id": f"{int(rng.integers(1 << 30)):024x}",
                "taxonomy2_id": f"c{int(rng.integers(1000)):023d}",
                "taxonomy3_id": f"c{int(rng.integers(1000)):023d}",
                **counters,
                "note_idx": i,
                "image_path": [f"image/part_{i % 7}/{i}/{k}.jpg" for k in range(2)],
            }
        )
    half = n_notes // 2
    (out / "notes").mkdir()
    for part, rows in enumerate((notes[:half], notes[half:])):
        pq.write_table(
            pa.Table.from_pylist(rows, schema=_QILIN_NOTES),
            out / "notes" / f"train-0000{part}-of-00002.parquet",
        )
    train = [_qilin_request(rng, 20000 + k, quality, n_notes) for k in range(n_train)]
    test = [_qilin_request(rng, 50000 + k, quality, n_notes) for k in range(n_test)]
    dqa = []
    for k in range(n_dqa):
        # two DQA requests repeat a search_train / search_test request (their card joins that page)
        sid = train[0]["search_idx"] if k == 0 else test[0]["search_idx"] if k == 1 else 3000 + k
        row = _qilin_request(rng, sid, quality, n_notes)
        shown = k % 3 != 2
        clk = [float(v) for v in (rng.random(4) < 0.3)] if shown else [-1.0] * 4
        cited = [d["note_idx"] for d in row["search_result_details_with_idx"][:2]] if shown else []
        dqa.append(
            {
                **row,
                "dqa_output": f"answer {k}: {toy_text(list(rng.integers(10, VOCABULARY, size=12)))} [第1篇](#)"
                if shown
                else "-1",
                "is_like_clk": clk[0],
                "is_onebox_trace_clk": clk[1],
                "is_content_clk": clk[2],
                "is_experience_clk": clk[3],
                "ref_note_idx_list": cited,
            }
        )
    for table, rows, schema in (
        ("search_train", train, pa.schema(_QILIN_REQUEST)),
        ("search_test", test, _QILIN_TEST),
        ("dqa", dqa, _QILIN_DQA),
    ):
        (out / table).mkdir()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), out / table / "train-00000-of-00001.parquet")
    (out / "qrels").mkdir()
    qrels = [
        (i, d["note_idx"]) for i, r in enumerate(test) for d in r["search_result_details_with_idx"] if d["click"] == 1
    ]
    pd.DataFrame(qrels, columns=["qid", "pid"]).to_csv(out / "qrels" / "search.test.qrels.csv", index=False)
