"""Registers the built-in dataset adapters (loaded through the ``smar_ltr.datasets`` entry point)."""

from __future__ import annotations

import importlib

# Each module registers its adapter on import; a module that is not written yet is simply absent.
for _module in ("synthetic", "letor", "pages", "baidu", "qilin", "baidu_ultr"):
    try:
        importlib.import_module(f"smar_ltr.datasets.{_module}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while adapters are being added
        if exc.name != f"smar_ltr.datasets.{_module}":
            raise
