"""Run configuration: frozen dataclasses, unknown keys rejected, dotted ``--set key=value`` overrides.

Every *[interpretation]* of method.md is a field here with its default documented; the exact config of a run is
written next to its outputs (``config.json``) and ``smar-ltr fit --config`` reads JSON or TOML back.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from smar_ltr.core.coercion import from_dict
from smar_ltr.core.settings_io import merge_settings, parse_key_values, parse_overrides, read_config_file
from smar_ltr.errors import ConfigError, SettingNote

__all__ = [
    "BACKENDS",
    "DEFAULT_MARGIN",
    "MARGIN_DEFAULTS",
    "SIMULATED",
    "STRATEGIES",
    "STRATEGY_CHOICES",
    "VALIDATION_MODES",
    "BudgetConfig",
    "ConsistencyConfig",
    "GBDTConfig",
    "RunConfig",
    "from_dict",
    "load_config",
    "merge_settings",
    "parse_key_values",
    "parse_overrides",
    "read_config_file",
]


#: GBDT libraries a ranker may use (:mod:`smar_ltr.rankers`).
BACKENDS: tuple[str, ...] = ("lightgbm", "xgboost", "catboost")
#: Annotation strategies (:mod:`smar_ltr.annotation.budget`): ``given`` trains on the annotated rows, the others
#: simulate a budget on fully labelled pages.
STRATEGIES: tuple[str, ...] = ("given", "all", "top", "band", "random", "iso-anchor")
#: Strategies that simulate annotation by reading labels that are all known.
SIMULATED: tuple[str, ...] = ("all", "top", "band", "random", "iso-anchor")
#: What a configuration may name: ``auto`` plus every strategy.
STRATEGY_CHOICES: tuple[str, ...] = ("auto", *STRATEGIES)
#: Which validation labels early stopping on labels reads (:mod:`smar_ltr.annotation.label_cost`).
VALIDATION_MODES: tuple[str, ...] = ("budgeted", "full", "none")


@dataclass(frozen=True)
class GBDTConfig:
    """A GBDT ranker: backend and its main parameters (see :class:`smar_ltr.rankers.GBDTRanker`)."""

    backend: str = "lightgbm"
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    early_stopping_rounds: int = 30
    eval_at: int = 10
    n_threads: int = 2
    params: dict[str, Any] = field(default_factory=dict)

    def ranker_kwargs(self, seed: int) -> dict[str, Any]:
        """Constructor arguments of a :class:`~smar_ltr.rankers.GBDTRanker` (``make_ranker(backend, **kwargs)``)."""
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "early_stopping_rounds": self.early_stopping_rounds,
            "eval_at": self.eval_at,
            "n_threads": self.n_threads,
            "seed": seed,
            "params": dict(self.params) or None,
        }


@dataclass(frozen=True)
class BudgetConfig:
    """Which page candidates get page labels (method.md 2.2).

    ``budget`` is the fraction p of page candidates whose label is revealed; ``strategy`` one of ``auto``,
    ``given``, ``all``, ``top``, ``band``, ``random``, ``iso-anchor`` (:mod:`smar_ltr.annotation.budget`): ``auto``
    (default)
    trains on the annotated rows (``given``) when some training page labels are missing and simulates ``top``
    when every row is labelled; the choice made is recorded in the run summary. ``band`` is the slice index for
    ``band`` (-1 = bottom); ``modality_shares`` an optional per-modality split of each query's allowance
    (default: proportional to the modality's count). ``max_label`` declares the label scale's highest grade
    (iso-anchor searches levels ``max_label .. 1``); None takes the dataset's declared ``max_label``.
    ``validation`` says which validation page labels early stopping reads, all of them counted in the label
    cost (:mod:`smar_ltr.annotation.label_cost`): ``budgeted`` (default: the same strategy and budget choose them on the
    validation pages), ``full`` (every annotated validation row) or ``none`` (no early stopping).
    """

    strategy: str = "auto"
    budget: float = 0.3
    band: int = 0
    modality_shares: dict[str, float] | None = None
    max_label: int | None = None
    validation: str = "budgeted"


#: The smooth hinge's ``(gamma, kappa)`` when the user sets neither: the method's default margin ...
DEFAULT_MARGIN: tuple[float, float] = (0.5, 1.0)
#: ... and per reranker backend. CatBoost learns constraint pairs with PairLogit, ``log(1 + exp(-d))``: the hinge at
#: gamma=0, kappa=1, the only one it can express.
MARGIN_DEFAULTS: dict[str, tuple[float, float]] = {
    "lightgbm": DEFAULT_MARGIN,
    "xgboost": DEFAULT_MARGIN,
    "catboost": (0.0, 1.0),
}


#: Why the settings the real-data protocol retired are gone (``benchmarks/README.md``, issue 25).
_NO_GAIN = (
    "it did not improve SMAR on the real-data selection protocol (benchmarks/protocol.py; the table is in "
    "benchmarks/README.md), so it left the product; remove the key (a run fitted with it must be refitted)"
)


def _any(_value: Any) -> bool:
    return True


@dataclass(frozen=True)
class ConsistencyConfig:
    """The single-modal supervision terms of the reranker loss (method.md 2.4).

    Attributes
    ----------
    mode : {"pairwise", "listwise", "none"}
        Intra-modal constraint pairs (ii), listwise distillation (iii), or neither.
    gamma, kappa : float or None
        Margin and smoothness of the smooth hinge ``(1/kappa) log(1 + exp(kappa (gamma - d)))``; kappa=1 is the
        logistic surrogate. None (the default) takes the reranker backend's values, :data:`MARGIN_DEFAULTS`:
        gamma 0.5 *[interpretation]* and kappa 1 on LightGBM and XGBoost, gamma 0 and kappa 1 on CatBoost,
        whose PairLogit loss is exactly that hinge and can express no other (:meth:`for_backend`).
    lam : float
        Weight lambda of the consistency term.
    beta : float or dict
        Per-modality weights beta_m (one number for all).
    mu : float
        Weight of cross-modal anchor pairs (``iso-anchor`` only).
    pair_scheme : {"neighbors", "all", "sample"}
        How intra-modal pairs are drawn; ``max_pairs_per_item`` caps them (pair count linear in list length).
    normalize_pairs : bool
        Average pair weights per (query, modality) list so long lists do not dominate *[interpretation]*.
    (``mode=listwise`` is ListMLE over each modality's list in single-modal order, as in the authors' code.)
    page_weight : float
        Weight of the LambdaMART page term (0 gives the "without page term" ablation).
    lambdarank_norm : bool
        LightGBM-style per-query lambda normalisation of the page term.
    early_stopping : {"consistency", "labels"}
        ``consistency`` (default): early stopping on the intra-modal consistency loss of the validation pages
        (:func:`smar_ltr.training.early_stopping.consistency_metric`), which reads no page label, so
        ``budget.validation`` is
        not applied and no validation label is read or counted; ``labels``: on NDCG of the validation labels
        ``budget.validation`` reads. Chosen on the real-data protocol (``benchmarks/protocol.py``, validation
        folds of MQ2008 and Yahoo): ``labels`` at a 10% budget scored 0.013 / 0.027 NDCG@10 lower (paired p <=
        0.0004 over queries), as 10% of the validation labels are too few to stop on. The local pipeline,
        :class:`smar_ltr.SMARRanker` (its ``eval_set`` lists) and the Dask engine (after training, round by round)
        honour it; CatBoost stops on labels.
    pool_weight : float or None
        Weight of the single-modal pool's own lists as extra intra-modal pairs of the reranker, ordered by their
        single-modal labels (:mod:`smar_ltr.supervision.pool_pairs`), relative to a page list's consistency pairs. None
        (default): 1 where the run has a single-modal pool whose lists carry the reranker's inputs and differing
        modal labels and the consistency term is pairwise, else 0 (the run summary's ``pool`` says which and
        why); 0 leaves them out; a number > 0 requires the pool. Chosen on the real-data protocol: +0.016 NDCG@10
        on Yahoo (paired p = 0.005 over queries), equal on MQ2008. The Dask engine and
        :class:`smar_ltr.SMARRanker`, which receive no single-modal pool, resolve None to 0 and refuse a number.
        No page label is read.
    """

    mode: str = "pairwise"
    gamma: float | None = None
    kappa: float | None = None
    lam: float = 1.0
    beta: float | dict[str, float] = 1.0
    mu: float = 1.0
    pair_scheme: str = "neighbors"
    max_pairs_per_item: int = 4
    normalize_pairs: bool = True
    page_weight: float = 1.0
    lambdarank_norm: bool = True
    early_stopping: str = "consistency"
    pool_weight: float | None = None

    #: Retired settings (:func:`smar_ltr.core.coercion.from_dict`): accepted at the value that did nothing.
    RETIRED_KEYS: ClassVar[dict[str, tuple[Callable[[Any], bool], str]]] = {
        "pseudo_labels": (lambda v: v == "none", "pseudo-label targets: " + _NO_GAIN),
        "pseudo_weight": (_any, _NO_GAIN),
        "lam_schedule": (lambda v: v == "constant", "the consistency-weight schedule: " + _NO_GAIN),
        "lam_end": (_any, _NO_GAIN),
        "listwise_loss": (
            lambda v: v == "listmle",
            "KL distillation scored below ListMLE on both real tasks (benchmarks/README.md, issue 25); "
            "consistency.mode=listwise is ListMLE, remove the key",
        ),
        "tau": (_any, "the KL temperature left with KL distillation; remove the key"),
    }

    def margin(self, backend: str) -> tuple[float, float]:
        """``(gamma, kappa)`` a ``backend`` reranker trains with: the values set, else :data:`MARGIN_DEFAULTS`."""
        gamma, kappa = MARGIN_DEFAULTS.get(backend, DEFAULT_MARGIN)
        return (gamma if self.gamma is None else self.gamma, kappa if self.kappa is None else self.kappa)

    def for_backend(self, backend: str) -> ConsistencyConfig:
        """This configuration with an unset ``gamma`` / ``kappa`` filled in by :meth:`margin` (``self`` when both
        are set). Values the user set are kept, also where ``backend`` cannot express them: CatBoost refuses
        them when it trains, with one line."""
        if self.gamma is not None and self.kappa is not None:
            return self
        gamma, kappa = self.margin(backend)
        return dataclasses.replace(self, gamma=gamma, kappa=kappa)


@dataclass(frozen=True)
class RunConfig:
    """Everything ``smar-ltr fit`` needs.

    Attributes
    ----------
    dataset : str
        Registry name of the dataset; ``data_dir`` its files; ``dataset_options`` adapter options.
    seed : int
        Seed of data generation, annotation sampling and every GBDT.
    features : list of str or None
        Feature names or globs from the registry (None: the default set).
    upstream_as_feature : bool
        Feed the single-modal score, and the features computed from it (``smar.align.*``), as reranker inputs.
        The authors' Baidu code does; off by default, so the reranker learns from the single-modal rankers only
        through SMAR's consistency loss. The default was chosen on validation pages of the synthetic task
        (``benchmarks/results/select_defaults_*.md``): "off" beat every "on" setting at budgets 0.1 and 0.3 for
        every ``lam`` tried. With it off, ``lam`` from 0.1 to 1 scored within 0.001 of each other, so ``lam`` keeps
        the paper's weight of 1.
    single_modal_source : {"auto", "shipped", "trained"}
        Where ``upstream_score`` comes from: the dataset's own scores when every page row has one (``auto``,
        e.g. CrossRank's ``upstream_label``), always those (``shipped``), or single-modal rankers trained on the
        single-modal pool, replacing shipped scores (``trained``).
    single_modal, reranker : GBDTConfig
        The per-modality rankers and the whole-page reranker.
    budget : BudgetConfig
    consistency : ConsistencyConfig
        An unset ``gamma`` / ``kappa`` is resolved here, once, for ``reranker.backend``
        (:meth:`ConsistencyConfig.for_backend`), so the saved ``config.json`` holds the values the run used. When
        that gives CatBoost's gamma=0 instead of the method's 0.5, a :class:`~smar_ltr.errors.SettingNote` says so
        (the CLI prints it as one ``note:`` line).
    metrics : list of str
        Reported metrics.
    """

    dataset: str = "synthetic"
    data_dir: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    features: list[str] | None = None
    upstream_as_feature: bool = False
    single_modal_source: str = "auto"
    single_modal: GBDTConfig = field(default_factory=GBDTConfig)
    reranker: GBDTConfig = field(default_factory=GBDTConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)
    #: Retired settings (:func:`smar_ltr.core.coercion.from_dict`): accepted at the value that did nothing.
    RETIRED_KEYS: ClassVar[dict[str, tuple[Callable[[Any], bool], str]]] = {
        "list_stage": (
            lambda v: isinstance(v, dict) and v.get("mode", "none") == "none",
            "the list stage lowered SMAR on MQ2008 and left Yahoo unchanged on the real-data protocol "
            "(benchmarks/README.md, issue 25), and no search engine could run it; remove the section "
            "(a run fitted with it must be refitted)",
        ),
    }
    metrics: list[str] = field(
        default_factory=lambda: [
            "ndcg@1",
            "ndcg@5",
            "ndcg@10",
            "mrr@1",
            "mrr@10",
            "map@10",
            "modal_agreement",
        ]
    )

    def __post_init__(self) -> None:
        c, backend = self.consistency, getattr(self.reranker, "backend", None)
        if not isinstance(c, ConsistencyConfig) or not isinstance(backend, str):
            return  # a malformed config: validate() names the problem
        resolved = c.for_backend(backend)
        if resolved is c:
            return
        object.__setattr__(self, "consistency", resolved)  # frozen: resolved once, at construction
        if c.gamma is None and resolved.gamma != DEFAULT_MARGIN[0] and c.mode == "pairwise":
            warnings.warn(
                f"the {backend} reranker learns constraint pairs with PairLogit, which has no margin: using "
                f"consistency.gamma={resolved.gamma:g}, consistency.kappa={resolved.kappa:g} "
                f"(lightgbm/xgboost default to gamma={DEFAULT_MARGIN[0]:g})",
                SettingNote,
                stacklevel=3,
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return dataclasses.asdict(self)

    def validate(self) -> RunConfig:
        """Range checks that a type alone does not express; returns self."""
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be an integer in [0, 2**32 - 1] (numpy's range), got {self.seed}")
        b = self.budget
        if b.strategy not in STRATEGY_CHOICES:
            raise ConfigError(f"budget.strategy {b.strategy!r} is unknown; choose one of {', '.join(STRATEGY_CHOICES)}")
        if not 0 < b.budget <= 1:
            raise ConfigError(f"budget.budget must be in (0, 1], got {b.budget}")
        if b.validation not in VALIDATION_MODES:
            raise ConfigError(
                f"budget.validation {b.validation!r} is unknown; choose one of {', '.join(VALIDATION_MODES)}"
            )
        if b.max_label is not None and not 1 <= b.max_label <= 30:
            raise ConfigError(f"budget.max_label must be an integer in 1..30 (the highest grade), got {b.max_label}")
        for name, g in (("single_modal", self.single_modal), ("reranker", self.reranker)):
            if g.backend not in BACKENDS:
                raise ConfigError(f"{name}.backend {g.backend!r} is unknown; choose one of {', '.join(BACKENDS)}")
        for name, g in (("single_modal", self.single_modal), ("reranker", self.reranker)):
            if g.n_estimators < 1 or not 0 < g.learning_rate <= 1 or g.num_leaves < 2 or g.min_data_in_leaf < 1:
                raise ConfigError(
                    f"{name}: need n_estimators >= 1, 0 < learning_rate <= 1, num_leaves >= 2, min_data_in_leaf >= 1"
                )
            if g.eval_at < 1 or g.n_threads < 1 or g.early_stopping_rounds < 0:
                raise ConfigError(f"{name}: need eval_at >= 1, n_threads >= 1, early_stopping_rounds >= 0")
        if self.single_modal_source not in ("auto", "shipped", "trained"):
            raise ConfigError(
                f"single_modal_source {self.single_modal_source!r} is unknown; choose auto, shipped or trained"
            )
        c = self.consistency
        if c.mode not in ("pairwise", "listwise", "none"):
            raise ConfigError(f"consistency.mode {c.mode!r} is unknown; choose pairwise, listwise or none")
        if c.early_stopping not in ("labels", "consistency"):
            raise ConfigError(
                f"consistency.early_stopping {c.early_stopping!r} is unknown; choose labels or consistency"
            )
        if c.pool_weight is not None and (c.pool_weight < 0 or not math.isfinite(c.pool_weight)):
            raise ConfigError("consistency.pool_weight must be a finite number >= 0 (or unset: automatic)")
        if c.pool_weight is not None and c.pool_weight > 0 and (c.mode != "pairwise" or c.lam <= 0):
            raise ConfigError(
                "consistency.pool_weight adds pairs to the consistency term: it needs consistency.mode=pairwise and "
                "lam > 0 (or set pool_weight to 0)"
            )
        gamma, kappa = c.margin(self.reranker.backend)
        numbers = [gamma, kappa, c.lam, c.mu, c.page_weight]
        betas = list(c.beta.values()) if isinstance(c.beta, dict) else [c.beta]
        if not all(math.isfinite(v) for v in numbers + betas):
            raise ConfigError("consistency: gamma, kappa, lam, mu, page_weight and beta must be finite numbers")
        if kappa <= 0 or c.lam < 0 or c.mu < 0 or c.page_weight < 0 or min(betas) < 0:
            raise ConfigError("consistency: kappa must be > 0; lam, mu, page_weight and beta must be >= 0")
        if c.max_pairs_per_item < 1:
            raise ConfigError("consistency.max_pairs_per_item must be >= 1")
        return self


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, **fields: Any) -> RunConfig:
    """Defaults, then a config file, then ``--set`` overrides, then explicit keyword fields (CLI flags)."""
    data: dict[str, Any] = {}
    if path is not None:
        data = read_config_file(path)
        data.pop("_comment", None)
    if overrides:
        data = merge_settings(data, parse_overrides(overrides))
    data = merge_settings(data, {k: v for k, v in fields.items() if v is not None})
    return from_dict(RunConfig, data).validate()
