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

import csv
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smar_ltr.datasets.io import (
    canonical_order,
    check_choice,
    check_fraction,
    check_options,
    check_types,
    find_files,
    numeric_column,
    read_arrow,
    require_columns,
    split_queries,
)
from smar_ltr.datasets.qilin import click_dwell_tiers
from smar_ltr.datasets.registry import DatasetSpec, register_dataset
from smar_ltr.datasets.schema import validate_page_table
from smar_ltr.datasets.splits import PageSplits
from smar_ltr.errors import DatasetError

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
#: Raw document-line fields used (index -> name); the others are display counters.
RAW_FIELDS = {0: "position", 2: "title", 3: "body", 4: "multimedia_type", 5: "click", 16: "dwelling_time"}
ANNOTATION_FIELDS = ("qid", "query", "title", "body", "label", "frequency_bucket")
#: Processed-layout lexical scores (float lists) and lengths (int lists), per document.
LEXICAL_SCORES = (
    "bm25",
    "bm25_title",
    "bm25_abstract",
    "tf_idf",
    "tf",
    "idf",
    "ql_jelinek_mercer_short",
    "ql_jelinek_mercer_long",
    "ql_dirichlet",
)
LEXICAL_LENGTHS = ("document_length", "title_length", "abstract_length")
LEXICAL_FEATURES = LEXICAL_SCORES + LEXICAL_LENGTHS
#: Per-document columns of the processed layout.
PROCESSED_DOC_COLUMNS = ("text_md5", "title", "abstract", "position", "media_type", "click", "label", *LEXICAL_FEATURES)
#: Features computed for the raw layout (see :func:`add_raw_lexical_features`).
RAW_FEATURES = ("title_query_tf", "abstract_query_tf")
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


def _tokens(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).str.replace("\x01", " ", regex=False).str.strip()


def _query_tf(query: pd.Series, text: pd.Series) -> np.ndarray:
    """Occurrences of query tokens in ``text`` per row (vectorised: explode tokens, join on (row, token))."""
    q = query.reset_index(drop=True).str.split().explode().dropna()
    t = text.reset_index(drop=True).str.split().explode().dropna()
    q_pairs = pd.DataFrame({"row": q.index.to_numpy(), "tok": q.to_numpy()}).drop_duplicates()
    t_pairs = pd.DataFrame({"row": t.index.to_numpy(), "tok": t.to_numpy()})
    hits = t_pairs.merge(q_pairs, on=["row", "tok"]).groupby("row").size()
    return hits.reindex(np.arange(len(text)), fill_value=0).to_numpy(dtype=np.float64)


def add_raw_lexical_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Simple lexical features of the raw layout (which ships only token ids), in place and returned.

    ``query_length``, ``title_length``, ``abstract_length`` (tokens) and ``title_query_tf`` /
    ``abstract_query_tf`` (occurrences of query tokens in the title / abstract).
    """
    for col, src in (("query_length", "query"), ("title_length", "title"), ("abstract_length", "body")):
        frame[col] = frame[src].str.count(r"\S+").fillna(0).to_numpy(dtype=np.float64)
    frame["title_query_tf"] = _query_tf(frame["query"], frame["title"])
    frame["abstract_query_tf"] = _query_tf(frame["query"], frame["body"])
    return frame


def _read_tsv(path: Path, names: list[Any], usecols: list[Any] | None = None) -> pd.DataFrame:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            return pd.read_csv(
                handle,
                sep="\t",
                header=None,
                names=names,
                usecols=usecols,
                dtype=str,
                quoting=csv.QUOTE_NONE,
                keep_default_na=False,
                engine="c",
            )
    except (OSError, EOFError, UnicodeError, pd.errors.ParserError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(
            f"{path.name} could not be read as tab-separated text ({first}); is the file complete?"
        ) from exc


def _int_field(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    text = frame[column].replace({"-": "0", "": "0"})
    return np.nan_to_num(numeric_column(frame.assign(**{column: text}), column, path, ["qid"]))


def _raw_sessions(path: Path) -> pd.DataFrame:
    """Document rows of one raw session file, with the session's query and ids."""
    frame = _read_tsv(path, list(range(32)), [1, *RAW_FIELDS])
    if not len(frame):
        raise DatasetError(f"{path.name} has no lines; is the file complete?")
    is_query = (frame[5] == "").to_numpy()
    if not is_query[0]:
        raise DatasetError(
            f"{path.name} must start with a query line (qid, query tokens, reformulation); line 1 is a document"
        )
    session = np.cumsum(is_query) - 1
    queries = frame.loc[is_query, [0, 1]].reset_index(drop=True)
    docs = frame.loc[~is_query].rename(columns=RAW_FIELDS)
    docs["qid"] = queries[0].to_numpy()[session[~is_query]]
    out = pd.DataFrame(
        {
            "_session": f"{path.name.split('.')[0]}:" + pd.Series(session[~is_query]).astype(str).to_numpy(),
            "position": _int_field(docs, "position", path),
            "query": _tokens(queries[1]).to_numpy()[session[~is_query]],
            "title": _tokens(docs["title"]).to_numpy(),
            "body": _tokens(docs["body"]).to_numpy(),
            "_media": _int_field(docs, "multimedia_type", path).astype(np.int64),
            "_click": _int_field(docs, "click", path),
            "_dwell": _int_field(docs, "dwelling_time", path),
        }
    )
    out["_doc"] = out["title"] + "\t" + out["body"]
    return add_raw_lexical_features(out)


def _raw_annotations(path: Path) -> pd.DataFrame:
    frame = _read_tsv(path, list(ANNOTATION_FIELDS))
    if frame["frequency_bucket"].eq("").any():
        i = int(np.flatnonzero(frame["frequency_bucket"].eq("").to_numpy())[0])
        raise DatasetError(
            f"{path.name} line {i + 1} has fewer than 6 tab-separated fields (qid, query, title, abstract, "
            "label, frequency bucket)"
        )
    out = pd.DataFrame(
        {
            "qid": frame["qid"].astype(str).to_numpy(),
            "query": _tokens(frame["query"]).to_numpy(),
            "title": _tokens(frame["title"]).to_numpy(),
            "body": _tokens(frame["body"]).to_numpy(),
            "_label": numeric_column(frame, "label", path, ["qid"]),
        }
    )
    out["_doc"] = out["title"] + "\t" + out["body"]
    return add_raw_lexical_features(out)


# ---------------------------------------------------------------------------------------------------------
# processed layout
# ---------------------------------------------------------------------------------------------------------
def _join_tokens(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """list<int> -> space-joined strings (vectorised in Arrow)."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        return np.asarray(array.cast(pa.string()).fill_null(""), dtype=object)
    joined = pc.binary_join(array.cast(pa.list_(pa.string())), " ")
    return np.asarray(joined.fill_null(""), dtype=object)


def _processed_docs(path: Path, label: str) -> pd.DataFrame:
    """One row per document of a processed click / annotation file (nested or flat)."""
    wanted = ["query_no", "query_id", "query", *PROCESSED_DOC_COLUMNS, "query_length"]
    table = read_arrow(path, wanted)
    require_columns(table, ["query", label], path)
    nested = pa.types.is_list(table.schema.field(label).type) or pa.types.is_large_list(table.schema.field(label).type)
    doc_cols = [c for c in PROCESSED_DOC_COLUMNS if c in table.column_names]
    if nested:
        check_types(table, {c: "list" for c in doc_cols}, path)
        parents = np.asarray(pc.list_parent_indices(table.column(label).combine_chunks()))
        cols = {c: pc.list_flatten(table.column(c).combine_chunks()) for c in doc_cols}
        lengths = {c: len(v) for c, v in cols.items()}
        if len(set(lengths.values())) > 1:
            raise DatasetError(
                f"{path.name}: the per-document list columns differ in length ({lengths}); the file is inconsistent"
            )
        query_key = parents
        query_text = _join_tokens(table.column("query"))[parents]
        query_length = (
            np.asarray(table.column("query_length"), dtype=np.float64)[parents]
            if "query_length" in table.column_names
            else None
        )
    else:
        key = "query_no" if "query_no" in table.column_names else "query_id"
        require_columns(table, [key], path)
        cols = {c: table.column(c).combine_chunks() for c in doc_cols}
        query_key = np.asarray(pd.factorize(table.column(key).to_pandas())[0])
        query_text = _join_tokens(table.column("query"))
        query_length = (
            np.asarray(table.column("query_length"), dtype=np.float64) if "query_length" in table.column_names else None
        )
    tag = f"{path.parent.name}-{path.stem}"
    out = pd.DataFrame({"_session": f"{tag}:" + pd.Series(query_key).astype(str), "query": query_text})
    out["title"] = _join_tokens(cols["title"]) if "title" in cols else ""
    out["body"] = _join_tokens(cols["abstract"]) if "abstract" in cols else ""
    out["_doc"] = (
        np.asarray(cols["text_md5"].cast(pa.string()), dtype=object)
        if "text_md5" in cols
        else out["title"] + "\t" + out["body"]
    )
    for src, dst in (
        ("position", "position"),
        ("media_type", "_media"),
        ("click", "_click"),
        ("label", "_label"),
    ):
        if src in cols:
            out[dst] = np.asarray(cols[src].cast(pa.float64()).fill_null(np.nan), dtype=np.float64)
    for feat in LEXICAL_FEATURES:
        if feat in cols:
            out[feat] = np.asarray(cols[feat].cast(pa.float64()).fill_null(np.nan), dtype=np.float64)
    if query_length is not None:
        out["query_length"] = query_length
    return out


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
        sessions = pd.concat([_raw_sessions(p) for p in session_files], ignore_index=True)
        pages = _raw_annotations(annotation_files[0])
    else:
        sessions = pd.concat([_processed_docs(p, "click") for p in session_files], ignore_index=True)
        pages = pd.concat([_processed_docs(p, "label") for p in annotation_files], ignore_index=True)
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
