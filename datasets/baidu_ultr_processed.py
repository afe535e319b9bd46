"""Reader of Baidu-ULTR's processed (Hugging Face) layout: click and annotation files, nested or flat.

Layout and mapping in :mod:`smar_ltr.datasets.baidu_ultr` (which re-exports the public names here); moved out of
it unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smar_ltr.datasets.io import check_types, read_arrow, require_columns
from smar_ltr.errors import DatasetError

__all__ = ["LEXICAL_FEATURES", "LEXICAL_LENGTHS", "LEXICAL_SCORES", "PROCESSED_DOC_COLUMNS", "read_processed_docs"]

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


def _join_tokens(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """list<int> -> space-joined strings (vectorised in Arrow)."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        return np.asarray(array.cast(pa.string()).fill_null(""), dtype=object)
    joined = pc.binary_join(array.cast(pa.list_(pa.string())), " ")
    return np.asarray(joined.fill_null(""), dtype=object)


def read_processed_docs(path: Path, label: str) -> pd.DataFrame:
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
