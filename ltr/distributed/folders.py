"""A page-table folder whose tables are folders of query-aligned parquet partitions, read on the workers.

Layout (the ``pages`` dataset's, with each table a folder instead of a file)::

    DIR/train/part-00000.parquet ...     required: the page pool (page_label may be partial)
    DIR/valid/part-*.parquet             optional: validation pages
    DIR/test/part-*.parquet              optional here: test pages (``eval``)
    DIR/single_modal/part-*.parquet      optional: single-modal lists with modal_label
    DIR/meta.json                        optional: modal_features, page_features, max_label, ...

``smar-ltr datasets partition DIR_OF_TABLES DIR`` writes it from a ``pages`` folder of single files. Nothing is
read on the client but each table's schema (one file's footer), ``meta.json`` and, without ``meta.json``'s
``modal_features``, one reduce that finds which numeric columns each modality fills.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from smar_ltr.distributed.fit import DaskPages
from smar_ltr.distributed.partitions import read_pages
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import feature_columns

if TYPE_CHECKING:
    import dask.dataframe as dd

#: Tables of a partitioned pages folder, each a sub-folder of parquet files.
PARTITIONED_ROLES = ("single_modal", "train", "valid", "test")


def is_partitioned_pages(data_dir: str | Path | None) -> bool:
    """Whether ``data_dir`` holds its training pages as a folder ``train/`` of parquet partitions."""
    return data_dir is not None and (Path(data_dir) / "train").is_dir()


def read_role(data_dir: str | Path, role: str) -> dd.DataFrame | None:
    """The table ``role`` of a partitioned pages folder (query alignment checked), or None when absent."""
    folder = Path(data_dir) / role
    return read_pages(folder) if folder.is_dir() else None


def _present(part: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    return part[features].notna().groupby(part["modality"].astype(str), observed=True).any()


def _modal_features(frame: dd.DataFrame) -> dict[str, list[str]]:
    """Per modality, the numeric columns with at least one value on its rows (a reduce over the partitions)."""
    features = feature_columns(frame._meta)
    meta = pd.DataFrame({c: pd.Series(dtype=bool) for c in features})
    present = frame.map_partitions(_present, features, meta=meta).compute()
    present = present.groupby(level=0).any()
    return {str(m): [c for c in features if bool(present.loc[m, c])] for m in present.index}


def pages_from_folders(data_dir: str | Path) -> DaskPages:
    """The training side of a partitioned pages folder as :class:`DaskPages` (tables read on the workers).

    Parameters
    ----------
    data_dir : path
        Folder laid out as in the module docstring.

    Raises
    ------
    DatasetError
        No ``train/`` folder, a table that is not a folder of parquet files or whose queries straddle
        partitions, or a bad ``meta.json``.
    """
    from smar_ltr.datasets.pages import NAME, check_feature_list, read_meta

    data_dir = Path(data_dir)
    train = read_role(data_dir, "train")
    if train is None:
        raise DatasetError(
            f"{str(data_dir)!r} has no train/ folder of parquet partitions; write one with "
            "`smar-ltr datasets partition`"
        )
    valid, single = read_role(data_dir, "valid"), read_role(data_dir, "single_modal")
    meta = read_meta(data_dir)
    if "page_features" in meta:
        page_features = check_feature_list(meta["page_features"], train._meta, "page_features")
    else:
        page_features = feature_columns(train._meta)
    pool = single if single is not None else train
    if "modal_features" in meta:
        if not isinstance(meta["modal_features"], dict):
            raise DatasetError("meta.json modal_features must map each modality to a list of columns")
        modal_features = {
            str(m): check_feature_list(cols, pool._meta, f"modal_features[{m!r}]")
            for m, cols in meta["modal_features"].items()
        }
    else:
        modal_features = _modal_features(pool)
    info = {
        "source": meta.get("source", f"user files in {data_dir}"),
        "licence": meta.get("licence", "user data"),
        "description": meta.get("description", ""),
        "simulated": False,
        **({"max_label": meta["max_label"]} if "max_label" in meta else {}),
    }
    return DaskPages(NAME, train, valid, single, modal_features, page_features, info)


def partition_pages_folder(source: str | Path, out: str | Path, rows_per_partition: int) -> dict[str, int]:
    """Rewrite a ``pages`` folder of single tables as a partitioned pages folder (written atomically).

    Each table (``train``, ``valid``, ``test``, ``single_modal``; parquet or CSV) becomes ``out/<table>/`` of
    query-aligned parquet partitions of about ``rows_per_partition`` rows; ``meta.json`` is copied.

    Returns
    -------
    dict
        Partitions written per table.

    Raises
    ------
    DatasetError
        ``source`` has no ``train`` table, or ``out`` exists and is not an empty folder.
    """
    from smar_ltr.datasets.io import read_frame, write_dir_atomic
    from smar_ltr.datasets.pages import META, find_role
    from smar_ltr.distributed.partitions import PART_PATTERN, query_chunks

    source, out = Path(source), Path(out)
    paths = {role: find_role(source, role) for role in PARTITIONED_ROLES}
    if paths["train"] is None:
        raise DatasetError(f"{str(source)!r} has no train.parquet or train.csv; pass a pages folder or one table")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError(f"{str(out)!r} already exists and is not an empty folder; choose a new output folder")
    counts: dict[str, int] = {}

    def write(tmp: Path) -> None:
        for role, path in paths.items():
            if path is None:
                continue
            frame = read_frame(path, dtype={"qid": str, "item_id": str, "modality": str})
            (tmp / role).mkdir()
            chunks = query_chunks(frame, rows_per_partition)
            for i, chunk in enumerate(chunks):
                chunk.to_parquet(tmp / role / PART_PATTERN.format(i), index=False)
            counts[role] = len(chunks)
        if (source / META).is_file():
            (tmp / META).write_bytes((source / META).read_bytes())

    write_dir_atomic(out, write)
    return counts
