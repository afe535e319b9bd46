"""Toy text and scores shared by the dataset fixture writers (:mod:`smar_ltr.datasets.fixtures`).

Moved out of :mod:`smar_ltr.datasets.fixtures` unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["VOCABULARY", "sigmoid", "toy_text", "toy_tokens"]

VOCABULARY = 400  # vocabulary of the generated token ids / words


def sigmoid(x: Any) -> Any:
    """The logistic function, elementwise, as float64."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def toy_tokens(rng: np.random.Generator, query: np.ndarray, overlap: float, n: int) -> list[int]:
    """``n`` token ids, each copied from the query with probability ``overlap``."""
    own = rng.integers(10, VOCABULARY, size=n)
    copy = rng.random(n) < overlap
    return [int(query[rng.integers(len(query))]) if c else int(t) for c, t in zip(copy, own, strict=True)]


def toy_text(tokens: list[int]) -> str:
    """Token ids as words ``w<id>`` joined by spaces."""
    return " ".join(f"w{t}" for t in tokens)
