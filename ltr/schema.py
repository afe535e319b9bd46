"""The canonical page table (``datasets.md`` section 1) and its one validation function.

One row per candidate of a query's page. Core columns:

============== ============== ==========================================================
column         dtype          meaning
============== ============== ==========================================================
qid            str            query / page id; rows of one query are contiguous
item_id        str            candidate id, unique within a query
modality       category       ``web``, ``image``, ``video``, ``llm`` or a dataset's codes
page_label     Int64 (NA ok)  graded whole-page relevance (hidden unless annotated)
modal_label    Int64 (NA ok)  single-modal label (trains that modality's ranker)
upstream_score float64        single-modal ranker score ``g^m``
position       Int64 (NA ok)  position on the displayed / annotated page
============== ============== ==========================================================

Text columns (``query``, ``title``, ``body``, ``caption``, ``answer``, ...) are strings; any other numeric
column is a feature. :func:`validate_page_table` is called at every public entry and returns a copy with the
canonical dtypes; each problem is one :class:`~smar_ltr.errors.PageTableError` naming the column, the
offending value and a row example.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.errors import PageTableError
from smar_ltr.groups import LIGHTGBM_MAX_GROUP_ROWS, block_starts

QID, ITEM_ID, MODALITY = "qid", "item_id", "modality"
PAGE_LABEL, MODAL_LABEL, UPSTREAM_SCORE, POSITION = "page_label", "modal_label", "upstream_score", "position"
#: iso-anchor's inferred page label of a row (an annotation campaign's export; NA where undetermined).
INFERRED_LABEL = "inferred_label"
KEY_COLUMNS: tuple[str, ...] = (QID, ITEM_ID, MODALITY)
LABEL_COLUMNS: tuple[str, ...] = (PAGE_LABEL, MODAL_LABEL, INFERRED_LABEL)
INT_COLUMNS: tuple[str, ...] = (PAGE_LABEL, MODAL_LABEL, INFERRED_LABEL, POSITION)
#: Columns with a schema meaning; every other numeric column is a feature.
RESERVED_COLUMNS: frozenset[str] = frozenset(
    (*KEY_COLUMNS, PAGE_LABEL, MODAL_LABEL, INFERRED_LABEL, UPSTREAM_SCORE, POSITION)
)
#: Text columns the built-in features know about (a dataset may add others).
TEXT_COLUMNS: tuple[str, ...] = ("query", "title", "body", "caption", "ocr", "asr", "answer")
#: Label gains ``2^l - 1`` of LightGBM/XGBoost are defined for labels 0..30.
MAX_LABEL = 30


def _row(frame: pd.DataFrame, i: int) -> str:
    """A short row example: position and key."""
    parts = [f"row {i}"]
    for col in (QID, ITEM_ID):
        if col in frame.columns:
            parts.append(f"{col}={frame[col].iloc[i]!r}")
    return " ".join(parts)


#: Said when ``page_label`` is absent: pages before annotation keep the column, with every value missing.
UNLABELLED_HINT = " (pages nobody has labelled yet need it too, with every value empty/null)"


def _missing_column(name: str, present: Sequence[str], what: str) -> PageTableError:
    close = difflib.get_close_matches(name, [str(c) for c in present], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}? rename it)" if close else ""
    if name == PAGE_LABEL and not close:
        hint = UNLABELLED_HINT
    shown = ", ".join(map(str, list(present)[:12])) + (", ..." if len(present) > 12 else "")
    return PageTableError(f"{what} is missing column {name!r}{hint}; columns present: {shown}")


def check_id_types(values: Any, col: str, what: str) -> None:
    """Refuse ids where one id appears as two types (``1`` and ``"1"``): they are compared as given, so they would
    be two ids in one place and one id wherever ids are written as text (a page table, a saved run).

    Only an object column holding several types is examined (a per-element pass over it); others return at once.
    """
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series | pd.Index) else values)
    if arr.dtype != object or pd.api.types.infer_dtype(arr, skipna=True) in ("string", "integer", "bytes", "empty"):
        return
    types = pd.Series(arr, dtype=object).map(type)
    family = {t: _id_family(t) for t in types.unique()}
    if len(set(family.values())) < 2:
        return
    kinds = types.map(family)
    text = pd.Series(arr, dtype=object).astype(str)
    per_text = kinds.groupby(text.to_numpy(), sort=False).unique()
    twice = per_text[per_text.map(len) > 1]
    if len(twice):
        both = " and ".join(sorted(twice.iloc[0]))
        raise PageTableError(
            f"{what} {col!r} holds the id {str(twice.index[0])!r} as two types ({both}); give every id one type "
            "(e.g. all str), or they would be compared as two ids here and one id once written as text"
        )


def _id_family(tp: type) -> str:
    """How an id's type is named: NumPy and Python integers are one family (they compare equal as given)."""
    if issubclass(tp, bool | np.bool_):
        return "bool"
    if issubclass(tp, int | np.integer):
        return "int"
    if issubclass(tp, float | np.floating):
        return "float"
    return "str" if issubclass(tp, str | np.str_) else tp.__name__


def check_not_datetime(frame: pd.DataFrame, columns: Iterable[Any], what: str) -> None:
    """Refuse datetime and timedelta columns among ``columns`` by name: they are not numeric features (LightGBM
    and XGBoost refuse them too), and reading them as integer nanoseconds would be a silent choice."""
    for col in columns:
        dtype = frame[col].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            kind = "timedelta" if pd.api.types.is_timedelta64_dtype(dtype) else "datetime"
            raise PageTableError(
                f"{what} column {str(col)!r} holds {kind} values ({dtype}); features must be numbers: convert it "
                "(e.g. to seconds) or leave it out of the features"
            )


def _as_str(frame: pd.DataFrame, col: str, what: str) -> pd.Series:
    s = frame[col]
    if col == QID:
        check_id_types(s, col, f"{what} column")
    bad = s.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PageTableError(f"{what} column {col!r} has a missing value at {_row(frame, i)}; fill it or drop the row")
    if pd.api.types.is_float_dtype(s) and not np.all(np.mod(s.to_numpy(), 1) == 0):
        i = int(np.flatnonzero(np.mod(s.to_numpy(), 1) != 0)[0])
        raise PageTableError(
            f"{what} column {col!r} must hold ids, found fractional value {s.iloc[i]!r} at {_row(frame, i)}"
        )
    if pd.api.types.is_float_dtype(s):
        s = s.astype(np.int64)
    return s.astype(str)


def _check_int_labels(frame: pd.DataFrame, col: str, lo: int, hi: int, allow_na: bool, what: str) -> pd.Series:
    s = frame[col]
    if not (pd.api.types.is_numeric_dtype(s) or s.isna().all()) or pd.api.types.is_bool_dtype(s):
        first = s.dropna()
        example = first.iloc[0] if len(first) else None
        raise PageTableError(
            f"{what} column {col!r} must be integer labels, found dtype {s.dtype} (e.g. {example!r}); "
            "convert it with pd.to_numeric or map the grades to integers"
        )
    exact = isinstance(s.dtype, pd.Int64Dtype)  # already canonical: checked as it is, returned without a copy
    values = s if exact else pd.to_numeric(s, errors="coerce").astype("Float64")
    na = values.isna().to_numpy()
    if na.any() and not allow_na:
        i = int(np.flatnonzero(na)[0])
        raise PageTableError(f"{what} column {col!r} has a missing label at {_row(frame, i)}; every row needs one here")
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = ~np.isnan(arr)
    bad = finite & ((arr != np.round(arr)) | (arr < lo) | (arr > hi))
    inf = np.isinf(arr)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise PageTableError(f"{what} column {col!r} has an infinite value at {_row(frame, i)}")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PageTableError(
            f"{what} column {col!r} has value {float(arr[i]):g} at {_row(frame, i)}, outside the allowed integer "
            f"range {lo}..{hi}; relabel to integer grades in that range"
        )
    return s if exact else values.round().astype("Int64")


def _check_float(frame: pd.DataFrame, col: str, allow_nan: bool, what: str) -> pd.Series:
    s = frame[col]
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        first = s.dropna()
        example = first.iloc[0] if len(first) else None
        raise PageTableError(
            f"{what} column {col!r} must be numeric, found dtype {s.dtype} (e.g. {example!r}); "
            "convert it with pd.to_numeric"
        )
    arr = pd.to_numeric(s).astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(arr).any():
        i = int(np.flatnonzero(np.isinf(arr))[0])
        raise PageTableError(f"{what} column {col!r} has an infinite value at {_row(frame, i)}; replace it")
    if not allow_nan and np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise PageTableError(f"{what} column {col!r} has NaN at {_row(frame, i)}; NaN is not allowed in this column")
    return pd.Series(arr, index=s.index, name=col)


def _check_grouping(
    frame: pd.DataFrame, qid: pd.Series, require_sorted: bool, max_rows: int | None, what: str
) -> np.ndarray:
    """Refuse non-contiguous (or, with ``require_sorted``, unsorted) and oversized queries; returns the qid codes.

    Works on integer codes (``pd.factorize``), not on the strings: turning a string column into Python objects
    costs more than the whole check.
    """
    codes = pd.factorize(qid)[0]
    starts = block_starts(codes)
    block_codes = codes[starts]
    if len(block_codes) != int(codes.max()) + 1:  # a code starts more than one block: it is not contiguous
        seen = np.zeros(len(block_codes), dtype=bool)
        for c in block_codes:
            if seen[c]:
                break
            seen[c] = True
        rows = np.flatnonzero(codes == c)
        gap = int(rows[np.flatnonzero(np.diff(rows) > 1)[0] + 1])
        raise PageTableError(
            f"{what} column 'qid' is not contiguous: query {qid.iloc[gap]!r} appears again at {_row(frame, gap)} "
            "after other queries; stable-sort the table by qid (smar_ltr.datasets.sort_pages)"
        )
    if require_sorted and len(block_codes) > 1:
        block_qids = qid.iloc[starts].to_numpy()
        desc = np.flatnonzero(block_qids[1:] < block_qids[:-1])
        if desc.size:
            i = int(starts[desc[0] + 1])
            raise PageTableError(
                f"{what} column 'qid' is not sorted: {qid.iloc[i]!r} at {_row(frame, i)} comes after "
                f"{block_qids[desc[0]]!r}; stable-sort the table by qid (smar_ltr.datasets.sort_pages)"
            )
    if max_rows is not None:
        sizes = np.diff(np.concatenate([starts, [len(codes)]]))
        big = np.flatnonzero(sizes > max_rows)
        if big.size:
            q = qid.iloc[int(starts[big[0]])]
            raise PageTableError(
                f"{what}: query {q!r} has {int(sizes[big[0]])} rows, over the limit of {max_rows} rows per query "
                "(LightGBM's lambdarank limit); keep the top rows by position or split the page"
            )
    return codes


def _duplicate_rows(qid_codes: np.ndarray, item_id: pd.Series) -> np.ndarray:
    """Rows whose ``(qid, item_id)`` appeared on an earlier row (one integer key per row, no string tuples)."""
    item_codes, items = pd.factorize(item_id)
    key = qid_codes.astype(np.int64) * max(len(items), 1) + item_codes
    return pd.Index(key).duplicated()


def _as_category(mod: pd.Series) -> pd.Series:
    """``mod.astype(str).astype("category")`` (categories: the values present, as strings, sorted).

    A categorical column is converted through its categories, not its rows: the row-wise route builds one
    Python string per row and costs more than the rest of the validation.
    """
    if not isinstance(mod.dtype, pd.CategoricalDtype):
        return mod.astype(str).astype("category")
    used = mod.cat.remove_unused_categories()
    names = used.cat.categories.astype(str)
    if not names.is_unique:  # e.g. categories 1 and "1": the row-wise route merges them
        return mod.astype(str).astype("category")
    order = np.argsort(np.asarray(names, dtype=object), kind="stable")
    remap = np.empty(len(names), dtype=np.int64)
    remap[order] = np.arange(len(names))
    dtype = pd.Series(names[order]).astype("category").dtype
    assert isinstance(dtype, pd.CategoricalDtype)
    return pd.Series(
        pd.Categorical.from_codes(remap[used.cat.codes.to_numpy()], dtype=dtype), index=mod.index, name=mod.name
    )


def validate_page_table(
    frame: pd.DataFrame,
    *,
    require: Iterable[str] = (),
    non_null: Iterable[str] = (),
    max_label: int = MAX_LABEL,
    require_sorted: bool = False,
    max_rows_per_query: int | None = LIGHTGBM_MAX_GROUP_ROWS,
    what: str = "page table",
) -> pd.DataFrame:
    """Check a page table and return a copy with canonical dtypes.

    Parameters
    ----------
    frame : DataFrame
        One row per candidate; see the module docstring for the columns.
    require : iterable of str
        Columns needed beyond ``qid``, ``item_id``, ``modality`` (e.g. ``page_label``).
    non_null : iterable of str
        Columns that must have no missing value (e.g. ``upstream_score`` at inference).
    max_label : int
        Largest allowed label (LightGBM/XGBoost label gains cover 0..30).
    require_sorted : bool
        Also require qids in ascending order (contiguity is always required).
    max_rows_per_query : int or None
        Reject queries with more rows (LightGBM's limit is 10,000); ``None`` disables the check.
    what : str
        Name of the table in error messages (e.g. the file it came from).

    Returns
    -------
    DataFrame
        A new frame (the input is never modified): ``qid``/``item_id`` as str, ``modality`` as category, label
        and position columns as nullable ``Int64``, ``upstream_score`` as float64.

    Raises
    ------
    PageTableError
        One error for the first problem found, naming the column, the value and a row example.
    """
    if not isinstance(frame, pd.DataFrame):
        raise PageTableError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    non_null = tuple(non_null)
    needed = [*KEY_COLUMNS, *[c for c in (*require, *non_null) if c not in KEY_COLUMNS]]
    for col in needed:
        if col not in frame.columns:
            raise _missing_column(col, list(frame.columns), what)
    if len(frame) == 0:
        raise PageTableError(f"{what} has no rows; a page table needs at least one query with one candidate")
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise PageTableError(f"{what} has column {dup!r} twice; column names must be unique")
    out = frame.reset_index(drop=True).copy()
    out[QID] = _as_str(out, QID, what)
    out[ITEM_ID] = _as_str(out, ITEM_ID, what)
    qid_codes = _check_grouping(out, out[QID], require_sorted, max_rows_per_query, what)
    dup_rows = _duplicate_rows(qid_codes, out[ITEM_ID])
    if dup_rows.any():
        i = int(np.flatnonzero(dup_rows)[0])
        raise PageTableError(
            f"{what} has duplicate (qid, item_id) at {_row(out, i)}; each candidate may appear once per query"
        )
    mod = out[MODALITY]
    if mod.isna().any():
        i = int(np.flatnonzero(mod.isna().to_numpy())[0])
        raise PageTableError(f"{what} column 'modality' has a missing value at {_row(out, i)}")
    out[MODALITY] = _as_category(mod)
    for col in INT_COLUMNS:
        if col in out.columns:
            hi = max_label if col in LABEL_COLUMNS else np.iinfo(np.int32).max
            out[col] = _check_int_labels(out, col, 0, hi, allow_na=col not in non_null, what=what)
    if UPSTREAM_SCORE in out.columns:
        out[UPSTREAM_SCORE] = _check_float(out, UPSTREAM_SCORE, UPSTREAM_SCORE not in non_null, what)
    out = _check_float_columns(out, non_null, what)
    return out


def _check_float_columns(out: pd.DataFrame, non_null: tuple[str, ...], what: str) -> pd.DataFrame:
    """Every numeric feature column as float64, refusing infinities (and NaN where ``non_null``): one 2-D pass
    instead of one per column, which matters for wide tables (the Yahoo set has 700 features)."""
    cols: list[Any] = [  # column labels as they are (a user's table may have non-string labels)
        c
        for c, dtype in out.dtypes.items()  # dtypes, not columns: no Series built per column
        if c not in RESERVED_COLUMNS and c not in TEXT_COLUMNS and pd.api.types.is_numeric_dtype(dtype)
    ]
    if not cols:
        return out
    block = out[cols].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isinf(block).any(axis=0)
    strict = np.array([c in non_null for c in cols])
    if strict.any():
        bad |= strict & np.isnan(block).any(axis=0)
    for j in np.flatnonzero(bad):
        _check_float(out, cols[j], cols[j] not in non_null, what)  # raises the column's own error line
    dtypes = out.dtypes
    converted = {c: block[:, j] for j, c in enumerate(cols) if dtypes[c] != np.float64}
    if not converted:
        return out
    # one rebuild with the converted columns: assigning them one by one fragments a wide table into a block per
    # column (pandas then warns on every later insert, and every later copy is slow)
    return pd.DataFrame({c: converted.get(c, out[c]) for c in out.columns}, index=out.index)


def sort_pages(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable-sort a table by ``qid`` (rows of a query keep their order); returns a new frame."""
    if QID not in frame.columns:
        raise _missing_column(QID, list(frame.columns), "page table")
    return frame.sort_values(QID, kind="stable").reset_index(drop=True)


def feature_columns(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Numeric columns that are features: everything numeric that the schema does not reserve."""
    skip = set(RESERVED_COLUMNS) | set(exclude)
    # bool columns are features read as 0/1 (validate_page_table converts them), as SMARRanker reads them
    return [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])]
