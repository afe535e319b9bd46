"""Small file sets with exactly the real schema of each dataset (``smar-ltr datasets make-fixture``).

Each writer generates seeded, learnable toy data (labels follow a latent relevance that the features and the
single-modal scores see with noise, with score scales that differ per modality) in the real file layout,
column names and nested types, so the adapters, the tests and anyone trying an adapter can run without the
real data. Files are written atomically: into a temporary directory first, then moved into place.
"""

from __future__ import annotations

import gzip
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smar_ltr.datasets.baidu_ultr import LEXICAL_LENGTHS, LEXICAL_SCORES
from smar_ltr.datasets.io import write_dir_atomic
from smar_ltr.errors import DatasetError

_WORDS = 400  # vocabulary of the generated token ids / words


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _words(rng: np.random.Generator, query: np.ndarray, overlap: float, n: int) -> list[int]:
    """``n`` token ids, each copied from the query with probability ``overlap``."""
    own = rng.integers(10, _WORDS, size=n)
    copy = rng.random(n) < overlap
    return [int(query[rng.integers(len(query))]) if c else int(t) for c, t in zip(copy, own, strict=True)]


def _text(tokens: list[int]) -> str:
    return " ".join(f"w{t}" for t in tokens)


# -----------------------------------------------------------------------------------------------------------
# baidu (CrossRank)
# -----------------------------------------------------------------------------------------------------------
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
        q_tokens = rng.integers(10, _WORDS, size=int(rng.integers(2, 5)))
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
            up = float(np.round(_sigmoid(a * z[j] + b + rng.normal(0, 0.4)), 5))
            idx = len(corpus)
            corpus.append(
                {
                    "modal": modals[j],
                    "query_intent": f"intent{int(rng.integers(5))}",
                    "real_title": _text(_words(rng, q_tokens, float(_sigmoid(z[j])), 6)),
                    "abs_basic": _text(_words(rng, q_tokens, float(_sigmoid(z[j] - 1)), 14)),
                    "title_highlight_basic": _text(list(q_tokens[:1])),
                    **{f"query_feat_{i + 1}": q_feats[i] for i in range(5)},
                    "candidate_feat_1": float(np.round(_sigmoid(z[j] + rng.normal(0, 0.8)), 4)),
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
                "query": _text(list(q_tokens)),
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


# -----------------------------------------------------------------------------------------------------------
# qilin (Hugging Face parquet layout)
# -----------------------------------------------------------------------------------------------------------
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
    q_tokens = rng.integers(10, _WORDS, size=3)
    n = int(rng.integers(6, 14))
    notes = rng.choice(n_notes, size=n, replace=False)
    appeal = quality[notes] + rng.normal(0, 0.7, size=n)
    order = np.argsort(-(appeal + rng.normal(0, 1.0, size=n)), kind="stable")
    details: list[dict[str, Any]] = []
    for rank, j in enumerate(order):
        click = float(_sigmoid(2.0 * appeal[j] - 1.0) > rng.random())
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
        "query": _text(list(q_tokens)),
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
        ctr = float(_sigmoid(quality[i] - 1.5 + rng.normal(0, 0.3)))
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
                "note_title": f"note {i} " + _text(list(rng.integers(10, _WORDS, size=4))),
                "note_content": _text(list(rng.integers(10, _WORDS, size=20))),
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
                "dqa_output": f"answer {k}: {_text(list(rng.integers(10, _WORDS, size=12)))} [第1篇](#)"
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


# -----------------------------------------------------------------------------------------------------------
# baidu-ultr (raw gzip sessions + annotation file, or the processed Hugging Face layout)
# -----------------------------------------------------------------------------------------------------------
def _ultr_docs(rng: np.random.Generator, n_docs: int, queries: list[list[int]], start: int = 0) -> list[dict[str, Any]]:
    """A pool of documents: each has a topic (one of the queries) whose tokens its text repeats, a media type
    (0 web, 1/2 other display types) and a hidden quality."""
    docs = []
    for i in range(start, start + n_docs):
        media = int(rng.choice([0, 0, 0, 1, 2]))
        topic = int(rng.integers(len(queries)))
        docs.append(
            {
                "title": _words(rng, np.asarray(queries[topic]), 0.4, 5),
                "abstract": _words(rng, np.asarray(queries[topic]), 0.25, 12),
                "media": media,
                "topic": topic,
                "quality": float(rng.normal() + (0.3 if media == 1 else 0.0)),
                "url_md5": f"{i:032x}",
                "text_md5": f"{i * 7919 + 13:032x}",
            }
        )
    return docs


def _ultr_pick(rng: np.random.Generator, pool: list[dict[str, Any]], q: int, n: int) -> list[dict[str, Any]]:
    """``n`` documents for query ``q``: about half on its topic, the rest from anywhere."""
    on = [d for d in pool if d["topic"] == q]
    k = min(len(on), n // 2)
    picked = [on[i] for i in rng.choice(len(on), size=k, replace=False)] if k else []
    rest = [d for d in pool if d not in picked]
    picked += [rest[i] for i in rng.choice(len(rest), size=n - k, replace=False)]
    return [picked[i] for i in rng.permutation(len(picked))]


def _ultr_relevance(doc: dict[str, Any], q: int) -> float:
    return doc["quality"] + (1.5 if doc["topic"] == q else -0.5)


def _ultr_session_lines(
    rng: np.random.Generator, qid: int, q: int, query: list[int], docs: list[dict[str, Any]]
) -> list[str]:
    lines = [f"{qid}\t{chr(1).join(map(str, query))}\t0"]
    for pos, doc in enumerate(docs, start=1):
        rel = _ultr_relevance(doc, q)
        click = int(_sigmoid(rel - 0.3 * pos) > rng.random())
        dwell = float(np.round(np.exp(2 + rel + rng.normal(0, 0.3)), 1)) if click else 0.0
        fields = ["0"] * 32
        fields[0], fields[1] = str(pos), doc["url_md5"]
        fields[2], fields[3] = chr(1).join(map(str, doc["title"])), chr(1).join(map(str, doc["abstract"]))
        fields[4] = str(doc["media"]) if rng.random() > 0.05 else "-"
        fields[5] = str(click)
        fields[6] = fields[7] = fields[22] = fields[27] = fields[31] = "-"
        fields[9], fields[10] = str(int(rng.integers(100, 400))), str(float(np.round(rng.random() * 10, 2)))
        fields[12], fields[16], fields[25] = str(click), str(dwell), str(click)
        lines.append("\t".join(fields))
    return lines


def write_baidu_ultr(out: Path, seed: int = 0, layout: str = "raw", n_sessions: int = 80, n_queries: int = 30) -> None:
    """Raw layout (``part-00000.gz`` + ``annotation_data_0522.txt``) or processed layout (``clicks/``,
    ``annotations/`` parquet with the Hugging Face features)."""
    rng = np.random.default_rng(seed)
    queries = [[int(t) for t in rng.integers(10, _WORDS, size=3)] for _ in range(n_queries)]
    pool = _ultr_docs(rng, 160, queries)
    sessions = []
    for _ in range(n_sessions):
        q = int(rng.integers(n_queries))
        sessions.append((q, _ultr_pick(rng, pool, q, int(rng.integers(6, 11)))))
    annotated = []
    for q in range(n_queries):
        # plus two documents never shown in the sessions: they do not join
        docs = _ultr_pick(rng, pool, q, int(rng.integers(5, 9))) + _ultr_docs(rng, 2, queries, 10_000 + 2 * q)
        labels = [int(np.clip(np.rint(1.2 + _ultr_relevance(d, q) + rng.normal(0, 0.4)), 0, 4)) for d in docs]
        annotated.append((q, docs, labels))
    if layout == "raw":
        lines: list[str] = []
        for s, (q, docs) in enumerate(sessions):
            lines += _ultr_session_lines(rng, 1000 + s, q, queries[q], docs)
        with gzip.open(out / "part-00000.gz", "wt", encoding="utf-8", newline="\n") as handle:
            handle.write("\n".join(lines) + "\n")
        rows = []
        for q, docs, labels in annotated:
            for d, lab in zip(docs, labels, strict=True):
                text = [chr(1).join(map(str, x)) for x in (queries[q], d["title"], d["abstract"])]
                rows.append(f"{7000 + q}\t{text[0]}\t{text[1]}\t{text[2]}\t{lab}\t{q % 10}")
        (out / "annotation_data_0522.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
        return
    if layout != "processed":
        raise DatasetError(f"baidu-ultr fixture layout {layout!r} is not one of 'raw', 'processed'")
    _write_ultr_processed(out, rng, queries, sessions, annotated)


def _ultr_lexical(rng: np.random.Generator, doc: dict[str, Any], query: list[int]) -> dict[str, float]:
    overlap = float(len(set(query) & set(doc["title"] + doc["abstract"])))
    base = overlap + 0.5 * doc["quality"] + rng.normal(0, 0.3)
    return {
        "bm25": base * 3,
        "bm25_title": base,
        "bm25_abstract": base * 2,
        "tf_idf": base * 1.5,
        "tf": overlap,
        "idf": float(rng.random() * 5),
        "ql_jelinek_mercer_short": -10 + base,
        "ql_jelinek_mercer_long": -12 + base,
        "ql_dirichlet": -11 + base,
    }


def _write_ultr_processed(
    out: Path, rng: np.random.Generator, queries: list[list[int]], sessions: list, annotated: list
) -> None:
    f32, i32 = pa.float32(), pa.int32()
    lexical = [(c, pa.list_(f32)) for c in LEXICAL_SCORES]
    lengths = [(c, pa.list_(i32)) for c in LEXICAL_LENGTHS]
    emb = ("query_document_embedding", pa.list_(pa.list_(pa.float16())))
    head = [
        ("query_id", pa.string()),
        ("query_md5", pa.string()),
        ("query", pa.list_(i32)),
        ("query_length", i32),
    ]
    docs_text = [
        ("text_md5", pa.list_(pa.string())),
        ("title", pa.list_(pa.list_(i32))),
        ("abstract", pa.list_(pa.list_(i32))),
        emb,
    ]
    clicks_schema = pa.schema(
        [
            *head,
            ("n", i32),
            ("url_md5", pa.list_(pa.string())),
            *docs_text,
            ("click", pa.list_(i32)),
            ("position", pa.list_(i32)),
            ("media_type", pa.list_(i32)),
            ("displayed_time", pa.list_(f32)),
            ("serp_height", pa.list_(i32)),
            ("slipoff_count_after_click", pa.list_(i32)),
            *lexical,
            *lengths,
        ]
    )
    ann_schema = pa.schema(
        [
            *head,
            ("frequency_bucket", i32),
            ("n", i32),
            *docs_text,
            ("label", pa.list_(i32)),
            *lexical,
            *lengths,
        ]
    )

    def common(q: int, docs: list[dict[str, Any]]) -> dict[str, Any]:
        feats = [_ultr_lexical(rng, d, queries[q]) for d in docs]
        row = {
            "query_id": str(7000 + q),
            "query_md5": f"{q:032x}",
            "query": queries[q],
            "query_length": len(queries[q]),
            "n": len(docs),
            "text_md5": [d["text_md5"] for d in docs],
            "title": [d["title"] for d in docs],
            "abstract": [d["abstract"] for d in docs],
            "query_document_embedding": [list(rng.normal(size=768).astype(np.float16)) for _ in docs],
            "document_length": [len(d["title"]) + len(d["abstract"]) for d in docs],
            "title_length": [len(d["title"]) for d in docs],
            "abstract_length": [len(d["abstract"]) for d in docs],
        }
        row.update({c: [f[c] for f in feats] for c in feats[0]})
        return row

    click_rows = []
    for q, docs in sessions:
        row = common(q, docs)
        row.update(
            {
                "url_md5": [d["url_md5"] for d in docs],
                "click": [int(_sigmoid(_ultr_relevance(d, q) - 0.3 * p) > rng.random()) for p, d in enumerate(docs, 1)],
                "position": list(range(1, len(docs) + 1)),
                "media_type": [d["media"] for d in docs],
                "displayed_time": [float(rng.random() * 10) for _ in docs],
                "serp_height": [int(rng.integers(100, 400)) for _ in docs],
                "slipoff_count_after_click": [0 for _ in docs],
            }
        )
        click_rows.append(row)
    ann_rows = [{**common(q, docs), "frequency_bucket": q % 10, "label": labels} for q, docs, labels in annotated]
    for sub, rows, schema in (
        ("clicks/train", click_rows, clicks_schema),
        ("annotations/test", ann_rows, ann_schema),
    ):
        (out / sub).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), out / sub / "0000.parquet")


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
