"""Baidu-ULTR (Zou et al., NeurIPS 2022): click sessions as single-modal lists, expert annotations as pages.

Two layouts are read from ``data_dir`` (``$SMAR_LTR_DATA/baidu-ultr`` by default; option ``layout`` picks one,
``auto`` takes raw when session files exist):

* **raw**: gzip session files (``part-*.gz``, else any ``*.gz``), tab-separated: a query line ``qid, query
  tokens, reformulation`` followed by document lines of 32 fields (0 position, 1 url_md5, 2 title tokens, 3
  abstract tokens, 4 ``multimedia_type``, 5 click, 16 dwelling_time, ...); and the expert annotation file
  (``annotation*.txt`` or ``.txt.gz``): ``qid, query, title, abstract, label 0-4, frequency bucket``. Tokens
  are ids joined by ``\\x01``; they become space-joined text (``query``, ``title``, ``body``), so the text
  features work on token ids. Numeric fields shown as ``-`` (e.g. ``multimedia_type``) read as 0, as in the
  reference parsers. Simple lexical features are computed from the tokens (lengths and query-token counts in
  title and abstract, :func:`add_raw_lexical_features`).
* **processed** (Hugging Face ``philipphager/baidu-ultr_*``): click files under ``clicks/`` (or
  ``parts/part-*.feather``) and annotation files under ``annotations/`` (or ``parts/validation*.feather``), in
  parquet or feather, either one row per query with list columns (the datasets-library layout) or one row per
  document (the ``parts/*.feather`` layout, keyed by ``query_no``); ``media_type`` is the modality and the
  lexical features (bm25, tf-idf, query likelihood, lengths) become numeric features.

Mapping: ``modality`` = ``"mm" + multimedia_type`` (``media_type``). Session rows (single-modal pool) get
``modal_label`` from clicks with :func:`smar_ltr.datasets.qilin.click_dwell_tiers` within each (session,
modality) list: 3 / 2 = clicked with dwell at/above or below the list's median, 1 = clicked without dwell,
0 = not clicked (the processed clicks have no dwell: 1 = clicked); one list per (session, modality) with
``qid = "<file>:<session>:<modality>"``. Annotated queries are the pages, ``page_label`` = the expert label.
Annotations carry no media type, so an annotated document takes the most frequent media type of the session
rows with the same document text (raw: identical title and abstract tokens; processed: ``text_md5``).
Unmatched documents (counted in ``info["unjoined_documents"]``) get the sessions' most frequent media type
(``unjoined="majority"``, default: dropping them would change the benchmark's pages, and a modality without
session lists would have no single-modal ranker), are dropped (``"drop"``), or keep modality ``mm_unknown``
(``"unknown"``; only usable when ``upstream_score`` comes from elsewhere). Pages are
split by query (seeded) into test (``test_fraction``), validation (``valid_fraction``) and page pool.
No single-modal scores ship: stage 2.1 trains them on the session lists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.datasets.baidu_ultr_processed import (
    LEXICAL_FEATURES,
    LEXICAL_LENGTHS,
    LEXICAL_SCORES,
    PROCESSED_DOC_COLUMNS,
    read_processed_docs,
)
from smar_ltr.datasets.baidu_ultr_raw import (
    ANNOTATION_FIELDS,
    RAW_FEATURES,
    RAW_FIELDS,
    add_raw_lexical_features,
    read_raw_annotations,
    read_raw_sessions,
)
from smar_ltr.datasets.io import (
    canonical_order,
    check_choice,
    check_fraction,
    check_options,
    find_files,
    split_queries,
)
from smar_ltr.datasets.qilin import click_dwell_tiers
from smar_ltr.datasets.registry import DatasetSpec, register_dataset
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import validate_page_table
from smar_ltr.page_table.splits import PageSplits

__all__ = [
    "ANNOTATED_PATTERNS",
    "ANNOTATION_FIELDS",
    "ANNOTATION_PATTERNS",
    "BAIDU_ULTR",
    "CITATION",
    "CLICK_PATTERNS",
    "LEXICAL_FEATURES",
    "LEXICAL_LENGTHS",
    "LEXICAL_SCORES",
    "LICENCE",
    "NAME",
    "OPTIONS",
    "PROCESSED_DOC_COLUMNS",
    "RAW_FEATURES",
    "RAW_FIELDS",
    "SESSION_PATTERNS",
    "SOURCE",
    "UNJOINED_MODALITY",
    "add_raw_lexical_features",
    "find_layout",
    "load_baidu_ultr",
]

NAME = "baidu-ultr"
SOURCE = (
    "Baidu-ULTR, https://github.com/ChuXiaokai/baidu_ultr_dataset (raw logs and annotations); processed: "
    "Hugging Face philipphager/baidu-ultr_uva-mlm-ctr"
)
LICENCE = "raw: Baidu-ULTR terms on the project page (research use); processed Hugging Face copies: CC BY-NC 4.0"
CITATION = (
    "Zou, Mao, Chu, Tang, Ye, Wang, Yin. A Large Scale Search Dataset for Unbiased Learning to Rank. "
    "NeurIPS 2022 Datasets and Benchmarks. arXiv:2207.03051"
)
SESSION_PATTERNS = ("part-*.gz", "*.gz")
ANNOTATION_PATTERNS = ("annotation*.txt", "annotation*.txt.gz", "*annotation*")
CLICK_PATTERNS = (
    "clicks/**/*.parquet",
    "clicks/**/*.feather",
    "parts/part-*.feather",
    "parts/part-*.parquet",
)
ANNOTATED_PATTERNS = (
    "annotations/**/*.parquet",
    "annotations/**/*.feather",
    "parts/validation*.feather",
    "parts/validation*.parquet",
)
UNJOINED_MODALITY = "mm_unknown"
OPTIONS: dict[str, Any] = {
    "layout": "auto",
    "unjoined": "majority",
    "valid_fraction": 0.1,
    "test_fraction": 0.3,
}


def find_layout(data_dir: Path) -> tuple[str, list[Path], list[Path]] | None:
    """``(layout, session_or_click_files, annotation_files)`` found in ``data_dir``, or None."""
    annotations = find_files(data_dir, ANNOTATION_PATTERNS)
    sessions = [p for p in find_files(data_dir, SESSION_PATTERNS) if p not in annotations]
    if sessions and annotations:
        return "raw", sessions, annotations[:1]
    clicks, annotated = find_files(data_dir, CLICK_PATTERNS), find_files(data_dir, ANNOTATED_PATTERNS)
    if clicks and annotated:
        return "processed", clicks, annotated
    return None


def _missing_files_error(data_dir: Path, layout: str) -> DatasetError:
    return DatasetError(
        f"Baidu-ULTR files not found in {str(data_dir)!r} (layout {layout!r}): expected raw session logs "
        "part-*.gz plus the annotation file annotation_data_*.txt (download them from "
        "https://github.com/ChuXiaokai/baidu_ultr_dataset after accepting its terms), or the processed "
        "files clicks/ and annotations/ (or parts/*.feather) of Hugging Face "
        "philipphager/baidu-ultr_uva-mlm-ctr (`smar-ltr datasets fetch baidu-ultr`); pass --data-dir or "
        "put them in $SMAR_LTR_DATA/baidu-ultr"
    )


# ---------------------------------------------------------------------------------------------------------
# assembling
# ---------------------------------------------------------------------------------------------------------
def _media_by_document(sessions: pd.DataFrame) -> pd.Series:
    """The most frequent media type of each document text (ties: smallest code)."""
    counts = sessions.groupby(["_doc", "_media"], sort=True).size().rename("n").reset_index()
    counts = counts.sort_values(["_doc", "n", "_media"], ascending=[True, False, True], kind="stable")
    first = counts.drop_duplicates("_doc")
    return pd.Series(first["_media"].to_numpy(), index=first["_doc"].to_numpy())


def _document_ids(docs: pd.Series, layout: str) -> np.ndarray:
    """Stable document ids: ``text_md5`` (processed) or a 64-bit hash of title and abstract tokens (raw)."""
    if layout == "processed":
        return docs.astype(str).to_numpy()
    hashed = pd.util.hash_pandas_object(docs.reset_index(drop=True), index=False).to_numpy()
    return np.char.mod("%016x", hashed.astype(np.uint64))


def _finish(frame: pd.DataFrame, label: str, what: str) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_")])
    frame = frame.sort_values(["qid", "position"], kind="stable", na_position="last").reset_index(drop=True)
    return validate_page_table(
        canonical_order(frame), require=(label,), non_null=(label,), require_sorted=True, what=what
    )


def load_baidu_ultr(data_dir: Path | None, seed: int = 0, **options: Any) -> PageSplits:
    """Load Baidu-ULTR as :class:`PageSplits` (layouts, mapping and joins in the module docstring).

    Parameters
    ----------
    data_dir : Path
        Directory with the raw or processed files.
    seed : int
        Seed of the page split.
    **options
        ``layout`` ("auto" | "raw" | "processed"), ``unjoined`` ("majority" | "drop" | "unknown"),
        ``valid_fraction``,
        ``test_fraction``.
    """
    opts = check_options(NAME, options, OPTIONS)
    check_choice(NAME, "layout", opts["layout"], ("auto", "raw", "processed"))
    check_choice(NAME, "unjoined", opts["unjoined"], ("majority", "drop", "unknown"))
    tf = check_fraction(NAME, "test_fraction", opts["test_fraction"])
    vf = check_fraction(NAME, "valid_fraction", opts["valid_fraction"], 1.0 - tf)
    data_dir = Path(data_dir) if data_dir is not None else BAIDU_ULTR.default_dir()
    found = find_layout(data_dir) if data_dir.is_dir() else None
    if found is None or opts["layout"] not in ("auto", found[0]):
        raise _missing_files_error(data_dir, opts["layout"])
    layout, session_files, annotation_files = found
    if layout == "raw":
        sessions = pd.concat([read_raw_sessions(p) for p in session_files], ignore_index=True)
        pages = read_raw_annotations(annotation_files[0])
    else:
        sessions = pd.concat([read_processed_docs(p, "click") for p in session_files], ignore_index=True)
        pages = pd.concat([read_processed_docs(p, "label") for p in annotation_files], ignore_index=True)
        pages["qid"] = pages.pop("_session")
        sessions["_dwell"] = np.nan
        if "_media" not in sessions.columns:
            raise DatasetError(f"{session_files[0].name} has no column 'media_type'; it is needed for the modality")
    media = _media_by_document(sessions)
    code = pages["_doc"].map(media)
    joined = code.notna().to_numpy()
    info: dict[str, Any] = {
        "source": SOURCE,
        "licence": LICENCE,
        "citation": CITATION,
        "simulated": False,
        "layout": layout,
        "files": [str(p.relative_to(data_dir)) for p in (*session_files, *annotation_files)],
        "unjoined_policy": opts["unjoined"],
        "unjoined_documents": int((~joined).sum()),
        "join_rule": "annotated document -> most frequent media type of session rows with the same text",
        "label_rule": "page_label = expert label; modal_label = click/dwell tiers per (session, modality)",
    }
    if opts["unjoined"] == "drop":
        pages, code = pages[joined], code[joined]
    elif opts["unjoined"] == "majority":
        majority = sessions["_media"].mode()
        info["unjoined_assigned"] = f"mm{int(majority.iloc[0])}" if len(majority) else UNJOINED_MODALITY
        code = code.fillna(majority.iloc[0]) if len(majority) else code
    pages["modality"] = ("mm" + code.astype("Int64").astype(str)).where(code.notna(), UNJOINED_MODALITY).to_numpy()
    pages["item_id"] = _document_ids(pages["_doc"], layout)
    pages["page_label"] = pages.pop("_label")
    if "position" not in pages.columns:
        pages["position"] = pd.NA
    dup = pages.duplicated(["qid", "_doc"]).to_numpy()
    info["duplicate_documents_dropped"] = int(dup.sum())
    pages = pages[~dup]
    sessions["modality"] = "mm" + sessions["_media"].astype(np.int64).astype(str)
    sessions["modal_label"] = click_dwell_tiers(
        [sessions["_session"].to_numpy(), sessions["modality"].to_numpy()],
        sessions["_click"],
        sessions["_dwell"],
    )
    sessions["qid"] = sessions["_session"] + ":" + sessions["modality"]
    sessions["item_id"] = _document_ids(sessions["_doc"], layout)
    sessions = sessions[~sessions.duplicated(["qid", "item_id"]).to_numpy()]
    if not len(pages):
        raise DatasetError(
            f"no annotated document of {annotation_files[0].name} joined a session row; set the option "
            "unjoined=majority"
        )
    test_q, valid_q, train_q = split_queries(pages["qid"].to_numpy(), [tf, vf], seed)
    what = annotation_files[0].name
    train = _finish(pages[pages["qid"].isin(train_q)], "page_label", f"{what} (page pool)")
    valid = _finish(pages[pages["qid"].isin(valid_q)], "page_label", f"{what} (validation)") if len(valid_q) else None
    test = _finish(pages[pages["qid"].isin(test_q)], "page_label", f"{what} (test)")
    single = _finish(sessions, "modal_label", "Baidu-ULTR sessions")
    features = [c for c in (*LEXICAL_FEATURES, *RAW_FEATURES, "query_length") if c in train.columns]
    modalities = sorted(
        set(single["modality"].astype(str)) | set(train["modality"].astype(str)) | set(test["modality"].astype(str))
    )
    return PageSplits(NAME, single, train, valid, test, {m: list(features) for m in modalities}, features, info)


class _BaiduUltrSpec(DatasetSpec):
    def is_present(self, data_dir: str | Path | None = None) -> bool:
        d = Path(data_dir) if data_dir is not None else self.default_dir()
        return d.is_dir() and find_layout(d) is not None


BAIDU_ULTR = register_dataset(
    _BaiduUltrSpec(
        name=NAME,
        description="Baidu-ULTR: click sessions by multimedia type (single-modal) and expert-annotated pages",
        loader=load_baidu_ultr,
        licence=LICENCE,
        citation=CITATION,
        source=SOURCE,
        expected_files=("part-*.gz + annotation_data_*.txt", "or clicks/ + annotations/ (processed)"),
        options=dict(OPTIONS),
    )
)
