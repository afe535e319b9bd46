"""Shared readers and writers of the dataset adapters.

Every problem with a user's files becomes one :class:`~smar_ltr.errors.DatasetError` line that names the file,
the column and an example row, never a traceback from pyarrow or pandas. Writers are atomic: a file (or a
whole directory of files) appears complete or not at all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq

from smar_ltr.core.atomic import (  # noqa: F401  (re-exported: the one atomic writer)
    check_output_location,
    remove_stale_temporaries,
    write_atomic,
    write_dir_atomic,
)
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import PAGE_LABEL, UNLABELLED_HINT
from smar_ltr.page_table.splits import split_queries  # noqa: F401  (re-exported: the one query split)

#: Table file suffixes the readers understand.
TABLE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".feather")


# --------------------------------------------------------------------------------------------------------
# messages
# --------------------------------------------------------------------------------------------------------
def _short(value: Any, limit: int = 60) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def example_row(frame: pd.DataFrame | pa.Table, i: int = 0, columns: Sequence[str] | None = None) -> str:
    """A short description of row ``i`` (a few columns, long values cut), for error messages."""
    names = list(frame.column_names if isinstance(frame, pa.Table) else frame.columns)
    shown = [c for c in (columns or names) if c in names][:4]
    if isinstance(frame, pa.Table):
        values = {c: frame.column(c)[i].as_py() for c in shown}
    else:
        values = {c: frame[c].iloc[i] for c in shown}
    return f"row {i} (" + ", ".join(f"{c}={_short(v)}" for c, v in values.items()) + ")"


def missing_column_error(file: str | Path, column: str, present: Sequence[str], example: str = "") -> DatasetError:
    """The error for a column a file lacks: file, column, close match, columns present and an example row."""
    close = difflib.get_close_matches(column, [str(c) for c in present], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if column == PAGE_LABEL and not close:
        hint = UNLABELLED_HINT
    shown = ", ".join(map(str, list(present)[:10])) + (", ..." if len(present) > 10 else "")
    where = f"; first {example}" if example else ""
    return DatasetError(f"{Path(file).name} is missing column {column!r}{hint}; columns present: {shown}{where}")


# --------------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------------
def read_arrow(
    path: str | Path, columns: Sequence[str] | None = None, row_filter: pc.Expression | None = None
) -> pa.Table:
    """Read a parquet / feather / CSV file into an Arrow table; unreadable files raise one clear line.

    Parameters
    ----------
    path : path
        ``.parquet``, ``.feather`` or ``.csv`` file.
    columns : sequence of str, optional
        Read only these columns (those the file lacks are reported by :func:`require_columns`).
    row_filter : pyarrow.compute.Expression, optional
        Parquet only: keep the rows matching it (pushed down to row groups), e.g.
        ``pc.field("id").isin(ids)``.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            names = pq.read_schema(path).names
            wanted = [c for c in columns if c in names] if columns else None
            return pq.read_table(path, columns=wanted, filters=row_filter)
        if suffix == ".feather":
            table = feather.read_table(path)
            return table.select([c for c in columns if c in table.column_names]) if columns else table
        if suffix == ".csv":
            return pa.Table.from_pandas(read_frame(path), preserve_index=False)
    except DatasetError:
        raise
    except (OSError, pa.ArrowException, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{path.name} could not be read as {suffix[1:]} ({first}); is the file complete?") from exc
    raise DatasetError(f"{path.name}: unsupported file type {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}")


def read_frame(
    path: str | Path, columns: Sequence[str] | None = None, dtype: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Read a parquet / feather / CSV file into a DataFrame (nested parquet columns become Python objects).

    ``dtype`` applies to CSV only (e.g. ``{"qid": str}`` keeps ids such as ``007`` intact).
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return read_arrow(path, columns).to_pandas()
    if not path.is_file():
        raise DatasetError(f"file {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path, usecols=lambda c: columns is None or c in columns, dtype=dict(dtype or {}))
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{path.name} could not be read as CSV ({first})") from exc
    check_csv_separator(path)
    return frame


def check_csv_separator(path: Path) -> None:
    """Refuse a CSV whose header line is one field holding another separator (``;``, tab or ``|``).

    pandas reads such a file as a single column, which would later be reported as every required column
    missing; this names the separator instead.
    """
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if "," in header:
        return
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
        if header.count(sep) >= 1:
            raise DatasetError(
                f"{path.name} separates its columns with {name} ({header[:60]!r}); write it comma-separated "
                "(e.g. pandas.read_csv(path, sep=...).to_csv(path, index=False)) or save it as parquet"
            )


def read_many(paths: Sequence[Path], columns: Sequence[str] | None = None) -> pa.Table:
    """Read and concatenate several files of one table in the given order (e.g. corpus parts)."""
    tables = [read_arrow(p, columns) for p in paths]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as exc:
        raise DatasetError(
            f"{', '.join(p.name for p in paths)} do not share one schema ({str(exc).splitlines()[0]}); are "
            "all parts from the same release?"
        ) from exc


def require_columns(table: pa.Table | pd.DataFrame, columns: Iterable[str], file: str | Path) -> None:
    """Raise :class:`DatasetError` naming the file, the first missing column and an example row."""
    names = list(table.column_names if isinstance(table, pa.Table) else table.columns)
    for col in columns:
        if col not in names:
            example = example_row(table, 0) if len(table) else "(file has no rows)"
            raise missing_column_error(file, col, names, example)


_KIND_CHECKS: dict[str, Callable[[pa.DataType], bool]] = {
    "int": pa.types.is_integer,
    "numeric": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t),
    "int-like": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t),
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t),
    "key": lambda t: pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t),
    "list": lambda t: pa.types.is_list(t) or pa.types.is_large_list(t),
    "struct-list": lambda t: (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_struct(t.value_type),
}
_KIND_WORDS = {
    "int": "integers",
    "numeric": "numbers",
    "int-like": "integer numbers",
    "string": "text",
    "key": "integer or text ids",
    "list": "a list per row",
    "struct-list": "a list of structs per row",
}


def check_types(table: pa.Table, kinds: Mapping[str, str], file: str | Path) -> None:
    """Check Arrow column types; a mismatch raises one line with file, column, type found and an example row.

    Parameters
    ----------
    table : pyarrow.Table
    kinds : mapping of column to kind
        Kinds: ``int``, ``int-like`` (integers or floats holding integers), ``numeric``, ``string``, ``key``,
        ``list``, ``struct-list``. Columns the table lacks are skipped (see :func:`require_columns`).
    file : path
        Named in the message.
    """
    for col, kind in kinds.items():
        if col not in table.column_names:
            continue
        dtype = table.schema.field(col).type
        if not _KIND_CHECKS[kind](dtype):
            raise DatasetError(
                f"{Path(file).name} column {col!r} must hold {_KIND_WORDS[kind]}, found type {dtype}; first "
                f"{example_row(table, 0, [col])}"
            )


def struct_fields(table: pa.Table, column: str, file: str | Path) -> list[str]:
    """Field names of a list-of-struct column (checked to be one)."""
    check_types(table, {column: "struct-list"}, file)
    return [f.name for f in table.schema.field(column).type.value_type]


def check_struct_fields(
    table: pa.Table, column: str, kinds: Mapping[str, str], file: str | Path, required: Iterable[str] = ()
) -> None:
    """Check the fields of a ``list<struct>`` column: required ones present, each of the kind given.

    Errors name the file, the column, the field and an example row (see :func:`check_types` for kinds).
    """
    fields = {f.name: f.type for f in table.schema.field(column).type.value_type}
    for name in required:
        if name not in fields:
            raise DatasetError(
                f"{Path(file).name} column {column!r} has no field {name!r} (fields: {', '.join(fields)}); "
                f"first {example_row(table, 0, [c for c in table.column_names if c != column])}"
            )
    for name, kind in kinds.items():
        if name in fields and not _KIND_CHECKS[kind](fields[name]):
            first: Any = next(iter(table.column(column)[0].as_py() or []), {}) if len(table) else {}
            raise DatasetError(
                f"{Path(file).name} column {column!r} field {name!r} must hold {_KIND_WORDS[kind]}, found "
                f"type {fields[name]}; first element of row 0: {_short(first, 120)}"
            )


def explode_struct_list(table: pa.Table, column: str, file: str | Path) -> pd.DataFrame:
    """Explode a ``list<struct>`` column into one row per element (vectorised in Arrow).

    Returns
    -------
    DataFrame
        The struct's fields as columns plus ``_row``: the 0-based row of ``table`` each element came from.
        Elements keep their order within a row.
    """
    check_types(table, {column: "struct-list"}, file)
    lists = table.column(column).combine_chunks()
    parents = pc.list_parent_indices(lists)
    flat = pc.list_flatten(lists)
    frame = pa.Table.from_arrays(flat.flatten(), names=[f.name for f in flat.type]).to_pandas()
    frame["_row"] = np.asarray(parents, dtype=np.int64)
    return frame


def numeric_column(frame: pd.DataFrame, column: str, file: str | Path, context: Sequence[str] = ()) -> np.ndarray:
    """A column as float64; non-numeric entries raise one line with file, column and an example row."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DatasetError(
            f"{Path(file).name} column {column!r} must be numeric, found {frame[column].iloc[i]!r} at "
            f"{example_row(frame, i, [*context, column])}"
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def find_files(directory: Path, patterns: Sequence[str]) -> list[Path]:
    """Files matching the first glob pattern that matches anything (sorted); empty list when none do."""
    for pattern in patterns:
        hits = sorted(p for p in directory.glob(pattern) if p.is_file())
        if hits:
            return hits
    return []


def check_options(dataset: str, options: Mapping[str, Any], allowed: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``options`` over the documented defaults; an unknown option names the known ones."""
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise DatasetError(
                f"unknown option {key!r} for dataset {dataset!r}; {hint}known options: {', '.join(sorted(allowed))}"
            )
    return {**allowed, **options}


def check_choice(dataset: str, option: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise when an option is not one of its choices."""
    if value not in choices:
        raise DatasetError(
            f"dataset {dataset!r} option {option}={value!r} is not one of {', '.join(map(repr, choices))}"
        )


def check_fraction(dataset: str, option: str, value: Any, upper: float = 1.0) -> float:
    """Raise unless ``0 <= value < upper``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not 0.0 <= number < upper:
        raise DatasetError(f"dataset {dataset!r} option {option}={value!r} must be a number in [0, {upper})")
    return number


# --------------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------------
def write_parquet(table: pa.Table | pd.DataFrame, path: str | Path) -> Path:
    """Write a parquet file atomically."""
    arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
    return write_atomic(path, lambda tmp: pq.write_table(arrow, tmp))


def canonical_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in a readable order: keys, labels, position, text, then everything else as it came."""
    first = ["qid", "item_id", "modality", "page_label", "modal_label", "upstream_score", "position"]
    text = ["query", "title", "body", "caption", "answer"]
    head = [c for c in (*first, *text) if c in frame.columns]
    return frame[head + [c for c in frame.columns if c not in head]]
