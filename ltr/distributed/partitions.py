"""Page tables as Dask DataFrames partitioned by query: build, write, read and check them.

Every SMAR stage works on whole queries, so a Dask partition must hold whole queries, each query's rows
contiguous. :func:`query_chunks` cuts a pandas table at query boundaries, :func:`write_partitioned` writes the
chunks as a parquet dataset directory (``part-00000.parquet``, ...), :func:`read_pages` reads such a directory
back one file per partition, and :func:`check_query_aligned` refuses a Dask table in which a query straddles
two partitions.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smar_ltr.datasets.io import write_dir_atomic
from smar_ltr.errors import ConfigError, DatasetError
from smar_ltr.page_table.schema import QID

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

PART_PATTERN = "part-{:05d}.parquet"


def require_dask() -> None:
    """Raise :class:`ConfigError` with the install command when the optional Dask dependencies are missing."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError("the Dask engine needs the optional dependencies: pip install 'smar-ltr[dask]'") from None


def _check_rows_per_partition(rows: int) -> int:
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise ConfigError(f"rows per partition must be a positive integer, got {rows!r}")
    return int(rows)


def query_chunks(frame: pd.DataFrame, rows_per_partition: int) -> list[pd.DataFrame]:
    """Cut ``frame`` into chunks of whole queries of about ``rows_per_partition`` rows each.

    Queries keep their order of first appearance and their rows their table order (a query whose rows are
    scattered is gathered); a chunk closes at the first query boundary at or after ``rows_per_partition`` rows,
    so a query longer than that is a chunk of its own.

    Returns
    -------
    list of DataFrame
        At least one chunk (an empty table gives one empty chunk); fresh ``RangeIndex`` per chunk.
    """
    rows = _check_rows_per_partition(rows_per_partition)
    if QID not in frame.columns:
        raise DatasetError(f"page table has no {QID!r} column; partitions are cut at query boundaries")
    codes, _ = pd.factorize(frame[QID], sort=False)
    if (codes < 0).any():
        raise DatasetError(f"column {QID!r} has a missing value; every row needs a query id")
    order = np.argsort(codes, kind="stable")
    grouped = frame.iloc[order].reset_index(drop=True)
    sizes = np.bincount(codes) if len(codes) else np.array([], dtype=np.int64)
    ends = np.cumsum(sizes)
    cuts, start = [], 0
    for end in ends:  # one Python step per query: partitioning is I/O bound anyway
        if end - start >= rows:
            cuts.append(int(end))
            start = int(end)
    if not cuts or cuts[-1] != len(grouped):
        cuts.append(len(grouped))
    bounds = [0, *cuts]
    return [grouped.iloc[a:b].reset_index(drop=True) for a, b in itertools.pairwise(bounds)]


def write_partitioned(frame: pd.DataFrame, out_dir: str | Path, rows_per_partition: int) -> list[Path]:
    """Write ``frame`` as query-aligned parquet files ``part-NNNNN.parquet`` into ``out_dir`` (atomically).

    Raises
    ------
    DatasetError
        ``out_dir`` exists and is not empty (nothing is overwritten), or the table has no ``qid``.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError(f"{str(out)!r} already exists and is not an empty folder; choose a new output folder")
    chunks = query_chunks(frame, rows_per_partition)

    def write(tmp: Path) -> None:
        for i, chunk in enumerate(chunks):
            chunk.to_parquet(tmp / PART_PATTERN.format(i), index=False)

    return write_dir_atomic(out, write)


#: Tables of a ``pages`` folder (``datasets.md``): never partitions of one table.
PAGE_ROLES = ("single_modal", "train", "valid", "test")


def refuse_pages_folder(folder: Path) -> None:
    """Refuse a ``pages`` folder (its role tables as files, or as folders of partitions) where one table's
    partitions are expected: its four tables are not one input."""
    if not folder.is_dir():
        return
    roles = [r for r in PAGE_ROLES if (folder / f"{r}.parquet").is_file() or (folder / r).is_dir()]
    if roles:
        raise DatasetError(
            f"{str(folder)!r} is a pages folder ({', '.join(roles)}), not the partitions of one table; pass one "
            "table's partitions (`smar-ltr datasets partition TABLE.parquet OUT`, or a table folder of a "
            "partitioned pages folder such as OUT/test)"
        )


def read_pages(path: str | Path, check: bool = True) -> dd.DataFrame:
    """A parquet dataset directory as a Dask DataFrame, one partition per file (files in name order).

    Parameters
    ----------
    path : path
        Folder of ``*.parquet`` files (e.g. from :func:`write_partitioned` / ``smar-ltr datasets partition``).
    check : bool
        Run :func:`check_query_aligned` (one pass over the ``qid`` column).
    """
    require_dask()
    import dask.dataframe as dd

    folder = Path(path)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    refuse_pages_folder(folder)
    if not files:
        raise DatasetError(
            f"{str(folder)!r} is not a folder of parquet files; write one with `smar-ltr datasets partition`"
        )
    frame = dd.from_map(pd.read_parquet, [str(f) for f in files], meta=pd.read_parquet(files[0]).iloc[:0])
    if check:
        check_query_aligned(frame, what=str(folder))
    return frame


def scatter_pages(frame: pd.DataFrame, client: Client, rows_per_partition: int) -> dd.DataFrame:
    """A pandas table already on the client (e.g. a built-in dataset) as a query-aligned Dask DataFrame.

    The chunks are scattered to the workers, so later stages read them there.
    """
    require_dask()
    import dask.dataframe as dd

    chunks = query_chunks(frame, rows_per_partition)
    futures = client.scatter(chunks)
    return dd.from_delayed(futures, meta=chunks[0].iloc[:0], verify_meta=False)


def _query_runs(part: pd.DataFrame) -> pd.DataFrame:
    """Distinct queries of a partition in order, and whether each one's rows are contiguous."""
    q = part[QID].astype(str).to_numpy()
    starts = np.concatenate([[True], q[1:] != q[:-1]]) if len(q) else np.array([], dtype=bool)
    runs = q[starts]
    uniques = pd.unique(runs)
    return pd.DataFrame({"qid": uniques, "runs": pd.Series(runs).value_counts().reindex(uniques).to_numpy()})


def _first_straddle(*parts: pd.DataFrame) -> tuple[str, int, int] | None:
    """``(qid, partition_a, partition_b)`` of the first query found in two partitions (or split within one)."""
    seen: dict[str, int] = {}
    for i, part in enumerate(parts):
        split = part.loc[part["runs"] > 1, "qid"]
        if len(split):
            return str(split.iloc[0]), i, i
        for q in part["qid"]:
            if q in seen:
                return str(q), seen[q], i
            seen[q] = i
    return None


def check_query_aligned(frame: dd.DataFrame, what: str = "the page table") -> None:
    """Refuse a Dask table in which a query's rows are not one contiguous block of one partition.

    The per-partition query lists are reduced on a worker; only the verdict reaches the client.

    Raises
    ------
    DatasetError
        One line naming the query, the partitions and the fix.
    """
    import dask

    if QID not in frame.columns:
        raise DatasetError(f"{what} has no {QID!r} column; the Dask engine partitions by query")
    runs = frame.map_partitions(_query_runs, meta=pd.DataFrame({"qid": pd.Series([], dtype=object), "runs": []}))
    found = dask.delayed(_first_straddle)(*runs.to_delayed()).compute()
    if found is not None:
        qid, a, b = found
        where = f"partition {a} holds it in separate blocks" if a == b else f"it is in partitions {a} and {b}"
        raise DatasetError(
            f"query {qid!r} of {what} straddles partitions ({where}); rewrite the table with "
            "`smar-ltr datasets partition IN OUT --rows-per-partition N` so every query sits in one partition"
        )
