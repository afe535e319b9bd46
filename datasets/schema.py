"""The page-table schema lives in :mod:`smar_ltr.schema`; this module re-exports it for existing imports."""

from smar_ltr.schema import (
    INT_COLUMNS,
    ITEM_ID,
    KEY_COLUMNS,
    LABEL_COLUMNS,
    MAX_LABEL,
    MODAL_LABEL,
    MODALITY,
    PAGE_LABEL,
    POSITION,
    QID,
    RESERVED_COLUMNS,
    TEXT_COLUMNS,
    UPSTREAM_SCORE,
    feature_columns,
    sort_pages,
    validate_page_table,
)

__all__ = [
    "INT_COLUMNS",
    "ITEM_ID",
    "KEY_COLUMNS",
    "LABEL_COLUMNS",
    "MAX_LABEL",
    "MODALITY",
    "MODAL_LABEL",
    "PAGE_LABEL",
    "POSITION",
    "QID",
    "RESERVED_COLUMNS",
    "TEXT_COLUMNS",
    "UPSTREAM_SCORE",
    "feature_columns",
    "sort_pages",
    "validate_page_table",
]
