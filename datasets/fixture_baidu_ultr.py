"""Fixture of the ``baidu-ultr`` layouts: raw gzip sessions plus the annotation file, or the processed parquet.

Moved out of :mod:`smar_ltr.datasets.fixtures` (which re-exports ``write_baidu_ultr``) unchanged.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from smar_ltr.datasets.baidu_ultr_processed import LEXICAL_LENGTHS, LEXICAL_SCORES
from smar_ltr.datasets.fixture_toy_text import VOCABULARY, sigmoid, toy_tokens
from smar_ltr.errors import DatasetError

__all__ = ["write_baidu_ultr"]


def _ultr_docs(rng: np.random.Generator, n_docs: int, queries: list[list[int]], start: int = 0) -> list[dict[str, Any]]:
    """A pool of documents: each has a topic (one of the queries) whose tokens its text repeats, a media type
    (0 web, 1/2 other display types) and a hidden quality."""
    docs = []
    for i in range(start, start + n_docs):
        media = int(rng.choice([0, 0, 0, 1, 2]))
        topic = int(rng.integers(len(queries)))
        docs.append(
            {
                "title": toy_tokens(rng, np.asarray(queries[topic]), 0.4, 5),
                "abstract": toy_tokens(rng, np.asarray(queries[topic]), 0.25, 12),
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
        click = int(sigmoid(rel - 0.3 * pos) > rng.random())
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
    queries = [[int(t) for t in rng.integers(10, VOCABULARY, size=3)] for _ in range(n_queries)]
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
                "click": [int(sigmoid(_ultr_relevance(d, q) - 0.3 * p) > rng.random()) for p, d in enumerate(docs, 1)],
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
