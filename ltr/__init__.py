"""smar-ltr: gradient-boosted whole-page reranking with single-modal supervision (SMAR, arXiv 2510.16803).

The public API: :class:`SMARRanker` (a scikit-learn estimator on arrays) and the page-table functions
:func:`fit`, :func:`load` and :func:`rerank`. They are imported on first use, so ``import smar_ltr`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("smar-ltr")
except PackageNotFoundError:  # running from a source tree without installed metadata
    __version__ = "0.0.0+source"

if TYPE_CHECKING:
    from smar_ltr.api import fit, load, rerank
    from smar_ltr.estimator.ranker import SMARRanker

#: Public name -> module that defines it (imported lazily, PEP 562).
_LAZY = {
    "SMARRanker": "smar_ltr.estimator.ranker",
    "fit": "smar_ltr.api",
    "load": "smar_ltr.api",
    "rerank": "smar_ltr.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'smar_ltr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["SMARRanker", "__version__", "fit", "load", "rerank"]
