"""Page-table schema, dataset adapters and synthetic generators (``smar_ltr.datasets``)."""

from __future__ import annotations

from smar_ltr.datasets.registry import DATASETS, DatasetSpec, get_dataset, load_dataset, register_dataset
from smar_ltr.page_table.schema import feature_columns, sort_pages, validate_page_table
from smar_ltr.page_table.splits import PageSplits

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "PageSplits",
    "feature_columns",
    "get_dataset",
    "load_dataset",
    "register_dataset",
    "sort_pages",
    "validate_page_table",
]
