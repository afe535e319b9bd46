"""Readers of Baidu-ULTR's raw layout: gzip session logs and the expert annotation file (token ids as text).

Layout and mapping in :mod:`smar_ltr.datasets.baidu_ultr` (which re-exports the public names here); moved out of
it unchanged.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.datasets.io import numeric_column
from smar_ltr.errors import DatasetError

__all__ = [
    "ANNOTATION_FIELDS",
    "RAW_FEATURES",
    "RAW_FIELDS",
    "add_raw_lexical_features",
    "read_raw_annotations",
    "read_raw_sessions",
]

#: Raw document-line fields used (index -> name); the others are display counters.
RAW_FIELDS = {0: "position", 2: "title", 3: "body", 4: "multimedia_type", 5: "click", 16: "dwelling_time"}
ANNOTATION_FIELDS = ("qid", "query", "title", "body", "label", "frequency_bucket")
#: Features computed for the raw layout (see :func:`add_raw_lexical_features`).
RAW_FEATURES = ("title_query_tf", "abstract_query_tf")


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


def read_raw_sessions(path: Path) -> pd.DataFrame:
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


def read_raw_annotations(path: Path) -> pd.DataFrame:
    """Rows of one raw annotation file: query, title and abstract as text, the expert label in ``_label``."""
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
