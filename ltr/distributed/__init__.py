"""SMAR on a Dask cluster (optional extra ``smar-ltr[dask]``).

Page tables are Dask DataFrames partitioned by query (:func:`read_pages`, :func:`write_partitioned`); every stage
runs on the workers (:func:`fit_dask`) and the fitted run is an ordinary :class:`~smar_ltr.serving.model.SmarModel`.

>>> from distributed import Client                                   # doctest: +SKIP
>>> from smar_ltr.distributed import fit_dask, pages_from_splits     # doctest: +SKIP
>>> model = fit_dask(config, pages_from_splits(splits, client), client)  # doctest: +SKIP
>>> model = fit_dask(config, pages_from_folders("my_pages_parts"), client)  # doctest: +SKIP
"""

from __future__ import annotations

from smar_ltr.distributed.cluster import dask_client
from smar_ltr.distributed.fit import DaskPages, fit_dask, pages_from_splits
from smar_ltr.distributed.folders import pages_from_folders, partition_pages_folder
from smar_ltr.distributed.partitions import check_query_aligned, query_chunks, read_pages, write_partitioned

__all__ = [
    "DaskPages",
    "check_query_aligned",
    "dask_client",
    "fit_dask",
    "pages_from_folders",
    "pages_from_splits",
    "partition_pages_folder",
    "query_chunks",
    "read_pages",
    "write_partitioned",
]
