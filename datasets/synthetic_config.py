"""The settings of the ``synthetic`` simulator (:mod:`smar_ltr.datasets.synthetic`): sizes, modalities, noise.

Moved out of :mod:`smar_ltr.datasets.synthetic` (which re-exports :class:`SyntheticConfig` and
:data:`TABLE_SHARES`) unchanged.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from smar_ltr.errors import ConfigError

__all__ = ["TABLE_SHARES", "SyntheticConfig"]

#: How :meth:`SyntheticConfig.with_candidates` shares the rows out over the four tables.
TABLE_SHARES = {"single_modal": 0.30, "train": 0.45, "valid": 0.10, "test": 0.15}
_MODALITY_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class SyntheticConfig:
    """Size and difficulty of the simulated data (see the module docstring for the model).

    Presets: :meth:`small` (unit tests), :meth:`default` (the ``make run`` demo, fit + eval in about a
    minute), :meth:`large` (speed benchmarks, a given number of candidates).
    """

    seed: int = 0
    n_single_modal_queries: int = 400
    n_train_pages: int = 600
    n_valid_pages: int = 150
    n_test_pages: int = 300
    page_size: tuple[int, int] = (20, 40)
    list_size: tuple[int, int] = (20, 40)
    modalities: tuple[str, ...] = ("web", "image", "video")
    include_llm: bool = False
    llm_rate: float = 0.5
    n_topics: int = 40
    mix_alpha: float = 2.0
    on_topic_rate: float = 0.55
    intent_strength: float = 1.0
    intent_text_rate: float = 0.75
    misleading_intent_rate: float = 0.1
    page_noise: float = 0.5
    modal_label_noise: float = 0.35
    feature_noise: float = 0.6
    upstream_noise: float = 0.8
    engagement_noise: float = 0.8

    def __post_init__(self) -> None:
        for name in ("n_single_modal_queries", "n_train_pages", "n_valid_pages", "n_test_pages", "n_topics"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < (2 if name == "n_topics" else 0):
                raise ConfigError(f"synthetic option {name}={value!r} must be a non-negative integer (n_topics >= 2)")
        if self.n_train_pages < 1 or self.n_test_pages < 1:
            raise ConfigError("synthetic options n_train_pages and n_test_pages must be at least 1")
        for name in ("page_size", "list_size"):
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not 1 <= lo_hi[0] <= lo_hi[1] <= 10_000:
                raise ConfigError(f"synthetic option {name}={lo_hi!r} must be (min, max) with 1 <= min <= max <= 10000")
        mods = self.modalities
        if not mods or len(set(mods)) != len(mods) or not all(_MODALITY_NAME.fullmatch(str(m)) for m in mods):
            raise ConfigError(f"synthetic option modalities={mods!r} must be distinct lower-case names like 'web'")
        if self.include_llm and "llm" in mods:
            raise ConfigError("synthetic option modalities contains 'llm'; use include_llm=True instead")
        for name in ("llm_rate", "on_topic_rate", "intent_text_rate", "misleading_intent_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"synthetic option {name}={getattr(self, name)!r} must be a probability in [0, 1]")
        if self.intent_text_rate + self.misleading_intent_rate > 1.0:
            raise ConfigError("synthetic options intent_text_rate + misleading_intent_rate must not exceed 1")
        for name in (
            "mix_alpha",
            "intent_strength",
            "page_noise",
            "modal_label_noise",
            "feature_noise",
            "upstream_noise",
            "engagement_noise",
        ):
            if getattr(self, name) < 0 or (name == "mix_alpha" and self.mix_alpha == 0):
                raise ConfigError(
                    f"synthetic option {name}={getattr(self, name)!r} must be non-negative (mix_alpha > 0)"
                )

    @property
    def all_modalities(self) -> tuple[str, ...]:
        """The page modalities, plus ``llm`` when answer cards are on."""
        return (*self.modalities, "llm") if self.include_llm else self.modalities

    @classmethod
    def default(cls, seed: int = 0) -> SyntheticConfig:
        """About 18k page rows (600 / 150 / 300 pages of ~30) and 36k single-modal rows."""
        return cls(seed=seed)

    @classmethod
    def small(cls, seed: int = 0) -> SyntheticConfig:
        """A tiny task for unit tests (about 1,400 rows in all)."""
        return cls(
            seed=seed,
            n_single_modal_queries=40,
            n_train_pages=60,
            n_valid_pages=20,
            n_test_pages=30,
            page_size=(8, 16),
            list_size=(8, 16),
            n_topics=20,
        )

    @classmethod
    def large(cls, n_candidates: int = 1_000_000, seed: int = 0) -> SyntheticConfig:
        """Benchmark scale: about ``n_candidates`` rows over all four tables, pages of 60-140 candidates."""
        return cls(seed=seed, page_size=(60, 140), list_size=(60, 140)).with_candidates(n_candidates)

    def with_candidates(self, n_candidates: int) -> SyntheticConfig:
        """Rescale the query counts so that all tables hold about ``n_candidates`` rows.

        The rows are shared out as :data:`TABLE_SHARES` (30% single-modal pool, 45% train, 10% valid,
        15% test); page and list sizes stay as configured.
        """
        if n_candidates < 10:
            raise ConfigError(f"synthetic option n_candidates={n_candidates!r} must be at least 10")
        page = sum(self.page_size) / 2 + (self.llm_rate if self.include_llm else 0.0)
        lst = sum(self.list_size) / 2

        def count(share: float, mean: float, parts: int = 1) -> int:
            return max(1, round(share * n_candidates / (mean * parts)))

        return dataclasses.replace(
            self,
            n_single_modal_queries=count(TABLE_SHARES["single_modal"], lst, len(self.all_modalities)),
            n_train_pages=count(TABLE_SHARES["train"], page),
            n_valid_pages=count(TABLE_SHARES["valid"], page),
            n_test_pages=count(TABLE_SHARES["test"], page),
        )
