"""Reading Qilin's tables, and tolerant parsers for the nested columns of its CSV dumps (Python reprs).

pandas wrote the Hugging Face tables to CSV with ``str()`` of each cell, so a list of structs looks like::

    [{'click': 1.0, 'note_idx': 785089, 'page_time': 5.974, ...}
     {'click': 0.0, 'note_idx': 12, 'page_time': nan, ...}]

(elements separated by newlines without commas, missing values as bare ``nan``), and integer arrays look like
``[1151720  927325 1158042\\n 1151720]``. ``ast.literal_eval`` of the whole string fails, and ``eval`` must
never be used on data, so each ``{...}`` element is extracted and literal-evaluated on its own after ``nan``
(outside quoted strings) becomes ``None`` and NumPy scalar reprs such as ``np.float64(1.0)`` are unwrapped.
Values that are already lists / arrays (the parquet layout) pass through unchanged.

The table readers (:func:`find_tables`, :func:`read_requests`, :func:`read_notes`, :func:`read_qrels`) accept
both layouts and report problems as one line naming the file, the column (or struct field) and an example row.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from smar_ltr.datasets.io import (
    check_types,
    example_row,
    explode_struct_list,
    find_files,
    numeric_column,
    read_arrow,
    read_frame,
    require_columns,
)
from smar_ltr.errors import DatasetError

# A quoted string (kept as is) or a bare nan / inf token (replaced).
_QUOTED_OR_NAN = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|\b(nan|NaN|inf)\b""")
# NumPy 2 scalar reprs: np.float64(1.0), np.int64(3), np.str_('x').
_NUMPY_SCALAR = re.compile(r"""np\.[a-z_]+[0-9]*\(((?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^()'"])*)\)""")
# One {...} element: braces inside quoted strings are skipped.
_DICT = re.compile(r"""\{(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^{}'"])*\}""")
_INT = re.compile(r"-?\d+")
_PAIR = re.compile(r"array\(\[([^\]]*)\]\)")


def _clean(text: str) -> str:
    text = _NUMPY_SCALAR.sub(r"\1", text)
    return _QUOTED_OR_NAN.sub(lambda m: m.group(1) if m.group(1) is not None else "None", text)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def parse_dict_list(value: Any, *, what: str = "value") -> list[dict[str, Any]]:
    """Parse a repr'd list of dicts (or pass a real list / array of dicts through).

    Parameters
    ----------
    value : str, list, ndarray or None
        A cell of e.g. ``search_result_details_with_idx``.
    what : str
        Named in the error message (file, column, row).

    Returns
    -------
    list of dict
        ``nan`` values become ``None``; an empty or missing cell gives ``[]``.

    Raises
    ------
    DatasetError
        An element is not a valid Python literal.
    """
    if _is_missing(value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [dict(v) for v in value]
    if not isinstance(value, str):
        raise DatasetError(f"{what}: expected a list of records, found {type(value).__name__} {value!r:.60}")
    out: list[dict[str, Any]] = []
    for match in _DICT.finditer(value):
        chunk = match.group(0)
        try:
            parsed = ast.literal_eval(_clean(chunk))
        except (ValueError, SyntaxError) as exc:
            raise DatasetError(f"{what}: cannot parse record {chunk[:80]!r} ({type(exc).__name__})") from exc
        if not isinstance(parsed, dict):  # pragma: no cover - the regex only matches {...}
            raise DatasetError(f"{what}: expected a record, found {chunk[:80]!r}")
        out.append(parsed)
    if not out and value.strip() not in ("[]", ""):
        raise DatasetError(f"{what}: expected a list of records like [{{'note_idx': 1, ...}}], found {value[:80]!r}")
    return out


def parse_int_list(value: Any, *, what: str = "value") -> list[int]:
    """Parse a NumPy int-array repr such as ``[1151720  927325\\n 1158042]`` (or pass a list through)."""
    if _is_missing(value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [int(v) for v in value]
    if not isinstance(value, str):
        raise DatasetError(f"{what}: expected a list of integers, found {type(value).__name__} {value!r:.60}")
    body = value.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise DatasetError(f"{what}: expected a list of integers like [1 2 3], found {value[:80]!r}")
    if "." in body or "e" in body.lower():
        raise DatasetError(f"{what}: expected integers, found non-integer values in {value[:80]!r}")
    return [int(v) for v in _INT.findall(body)]


def parse_score_pairs(value: Any, *, what: str = "value") -> list[tuple[int, float]]:
    """Parse ``bm25_results`` / ``dpr_results``: a repr of ``array([note_idx, score])`` pairs."""
    if _is_missing(value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [(int(p[0]), float(p[1])) for p in value]
    if not isinstance(value, str):
        raise DatasetError(f"{what}: expected (note_idx, score) pairs, found {type(value).__name__}")
    out: list[tuple[int, float]] = []
    for match in _PAIR.finditer(value):
        parts = [p for p in re.split(r"[,\s]+", match.group(1).strip()) if p]
        if len(parts) != 2:
            raise DatasetError(f"{what}: expected a pair array([note_idx, score]), found {match.group(0)[:80]!r}")
        try:
            out.append((round(float(parts[0])), float(parts[1])))
        except ValueError as exc:
            raise DatasetError(f"{what}: cannot parse pair {match.group(0)[:80]!r}") from exc
    return out


TABLES_REQUIRED = ("search_train", "search_test", "notes")
DETAILS = "search_result_details_with_idx"
RESULT_FIELDS = ("note_idx", "position", "click", "page_time")
NOTE_TEXT = ("note_title", "note_content")
#: Note columns renamed to the canonical engagement names.
ENGAGEMENT = {"imp_num": "impressions", "click_num": "clicks", "like_num": "likes", "view_time": "dwell_time"}


# ---------------------------------------------------------------------------------------------------------
# reading Qilin's tables (parquet or the CSV dumps)
# ---------------------------------------------------------------------------------------------------------
def find_tables(data_dir: Path) -> dict[str, list[Path]]:
    """The files of each Qilin table found in ``data_dir`` (layouts in the module docstring)."""
    found: dict[str, list[Path]] = {}
    for table in (*TABLES_REQUIRED, "dqa"):
        pats = (f"{table}.parquet", f"{table}/*.parquet", f"{table}-*.parquet", f"{table}.csv")
        files = find_files(data_dir, pats)
        if files:
            found[table] = files
    return found


@dataclass
class Requests:
    """Request rows of one table and their exploded results (``_row`` = row of the concatenated table)."""

    frame: pd.DataFrame
    results: pd.DataFrame
    files: list[Path] = field(default_factory=list)


def _results_from_csv(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    # Per-row parsing is unavoidable for repr'd cells; only the small CSV dumps take this path.
    records: list[dict[str, Any]] = []
    parents: list[int] = []
    for i, cell in enumerate(frame[DETAILS].to_numpy(dtype=object)):
        recs = parse_dict_list(cell, what=f"{path.name} column {DETAILS!r} row {i}")
        records.extend(recs)
        parents.extend([i] * len(recs))
    results = pd.DataFrame.from_records(records) if records else pd.DataFrame({f: [] for f in RESULT_FIELDS})
    results["_row"] = np.asarray(parents, dtype=np.int64)
    return results


def read_requests(paths: list[Path], extra: tuple[str, ...] = ()) -> Requests:
    frames, results = [], []
    offset = 0
    for path in paths:
        wanted = ["query", "search_idx", DETAILS, "query_from_type", *extra]
        if path.suffix == ".csv":
            frame = read_frame(path)
            require_columns(frame, ["query", "search_idx", DETAILS], path)
            res = _results_from_csv(frame, path)
            frame = frame[[c for c in wanted if c in frame.columns and c != DETAILS]]
        else:
            table = read_arrow(path, wanted)
            require_columns(table, ["query", "search_idx", DETAILS], path)
            check_types(table, {"query": "string", "search_idx": "int-like", DETAILS: "struct-list"}, path)
            res = explode_struct_list(table, DETAILS, path)
            frame = table.drop_columns([DETAILS]).to_pandas()
        for name in RESULT_FIELDS:
            if name not in res.columns:
                raise DatasetError(
                    f"{path.name} column {DETAILS!r} has no field {name!r} (fields: "
                    f"{', '.join(map(str, res.columns))}); first "
                    f"{example_row(frame, 0, ['search_idx', 'query'])}"
                )
        for name in (*RESULT_FIELDS, "like"):
            if name in res.columns:
                res[name] = numeric_column(res, name, path, ["note_idx"])
        if res["note_idx"].isna().any():
            i = int(np.flatnonzero(res["note_idx"].isna().to_numpy())[0])
            raise DatasetError(f"{path.name} column {DETAILS!r} has a result without note_idx at {example_row(res, i)}")
        frame["search_idx"] = numeric_column(frame, "search_idx", path, ["query"])
        res["_row"] = res["_row"].to_numpy() + offset
        frame["_row"] = np.arange(len(frame)) + offset
        offset += len(frame)
        frames.append(frame)
        results.append(res)
    return Requests(pd.concat(frames, ignore_index=True), pd.concat(results, ignore_index=True), paths)


def read_notes(paths: list[Path], needed: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """The ``needed`` notes, keyed by ``note_idx`` (the column, or the row position in the concatenated parts
    when the column is absent, as the authors' loaders index them), and the names of the numeric features."""
    frames = []
    offset = 0
    features: list[str] | None = None
    wanted = pa.array(np.unique(needed).astype(np.int64))
    for path in paths:
        if path.suffix == ".csv":
            table = pa.Table.from_pandas(read_frame(path), preserve_index=False)
        else:
            schema = pq.read_schema(path) if path.suffix == ".parquet" else read_arrow(path).schema
            numeric = [f.name for f in schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
            cols = [c for c in schema.names if c in numeric or c in NOTE_TEXT]
            keyed = path.suffix == ".parquet" and "note_idx" in numeric  # push the join down to the reader
            table = read_arrow(path, cols, pc.field("note_idx").isin(wanted) if keyed else None)
        require_columns(table, ["note_type"], path)
        check_types(table, {"note_type": "numeric", "note_idx": "int-like"}, path)
        numeric = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
        if features is None:
            features = [c for c in numeric if c not in ("note_idx", "note_type")]
        if "note_idx" in table.column_names:
            idx = pc.cast(table.column("note_idx"), pa.int64())
        else:
            idx = pa.chunked_array([pa.array(np.arange(offset, offset + len(table), dtype=np.int64))])
        offset += len(table)
        mask = pc.is_in(idx, value_set=wanted)
        keep = [c for c in ("note_type", *NOTE_TEXT, *features) if c in table.column_names]
        frame = table.select(keep).filter(mask).to_pandas()
        frame["note_idx"] = np.asarray(idx.filter(mask), dtype=np.int64)
        frames.append(frame)
    notes = pd.concat(frames, ignore_index=True).drop_duplicates("note_idx")
    notes = notes.rename(columns={"note_title": "title", "note_content": "body", **ENGAGEMENT})
    return notes, [ENGAGEMENT.get(c, c) for c in features or []]


def read_qrels(data_dir: Path) -> tuple[pd.DataFrame | None, Path | None]:
    files = find_files(data_dir, ("qrels/search.test.qrels.csv", "search.test.qrels.csv"))
    if not files:
        return None, None
    qrels = read_frame(files[0])
    require_columns(qrels, ["qid", "pid"], files[0])
    out = pd.DataFrame(
        {"_row": numeric_column(qrels, "qid", files[0]), "note_idx": numeric_column(qrels, "pid", files[0])}
    )
    return out.dropna().round().astype(np.int64), files[0]


# ---------------------------------------------------------------------------------------------------------
# building pages
# ---------------------------------------------------------------------------------------------------------
