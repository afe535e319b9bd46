"""smar-ltr: gradient-boosted whole-page reranking with single-modal supervision (SMAR, arXiv 2510.16803)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("smar-ltr")
except PackageNotFoundError:  # running from a source tree without installed metadata
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
