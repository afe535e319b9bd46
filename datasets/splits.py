"""The splits container lives in :mod:`smar_ltr.splits`; this module re-exports it for existing imports."""

from smar_ltr.splits import PageSplits, split_queries

__all__ = ["PageSplits", "split_queries"]
