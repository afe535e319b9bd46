"""The load -> fit -> save flow behind ``smar-ltr fit``, ``eval`` and ``tune`` (no Typer here).

The library (:mod:`smar_ltr.pipeline`, :mod:`smar_ltr.evaluation`, :mod:`smar_ltr.tuning`) takes data and
returns data; this module is the one place that resolves a run configuration's dataset name into pages, calls
the library and writes the run. The commands only parse options and format what these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smar_ltr.config import RunConfig
from smar_ltr.evaluation import EvalReport, evaluate_run
from smar_ltr.pipeline import FitState, SmarModel, fit
from smar_ltr.progress import Progress
from smar_ltr.splits import PageSplits


def load_splits(config: RunConfig) -> PageSplits:
    """The registered dataset ``config.dataset`` (files from ``config.data_dir``, options, seed)."""
    from smar_ltr.datasets import load_dataset

    return load_dataset(config.dataset, config.data_dir, config.seed, **config.dataset_options)


def default_out(config: RunConfig) -> Path:
    """``runs/<dataset>-<backend>-<strategy>-p<budget>-seed<seed>``."""
    b = config.budget
    return Path("runs") / f"{config.dataset}-{config.reranker.backend}-{b.strategy}-p{b.budget:g}-seed{config.seed}"


@dataclass
class FitOutcome:
    """What :func:`fit_and_save` did: the run directory, the model, its training products, validation metrics."""

    run_dir: Path
    model: SmarModel
    state: FitState
    valid_metrics: dict[str, float] | None


def fit_and_save(config: RunConfig, out: Path | None = None, progress: Progress | None = None) -> FitOutcome:
    """Load the pages, fit SMAR, report it on the validation pages (when there are any) and save the run."""
    from smar_ltr.artifacts import save_run

    splits = load_splits(config)
    model, state = fit(config, splits, progress=progress)
    valid_metrics = None
    if state.valid is not None:
        report = evaluate_run(config, model, state, splits, split="valid", methods=("smar",))
        valid_metrics = report.result("smar").metrics
    metrics = {"valid": valid_metrics} if valid_metrics is not None else None
    run_dir = save_run(model, out or default_out(config), metrics=metrics)
    return FitOutcome(run_dir, model, state, valid_metrics)


def evaluate(
    config: RunConfig, model: SmarModel | None = None, split: str = "test", progress: Progress | None = None
) -> EvalReport:
    """Evaluate a run (``model``, e.g. :func:`smar_ltr.artifacts.load_run`) or a fresh fit of ``config`` and every
    baseline on one split of the pages ``config`` names."""
    return evaluate_run(config, model=model, splits=load_splits(config), split=split, progress=progress)


def tune_study(config: RunConfig, out: Path, progress: Progress | None = None, **options: Any) -> Any:
    """Load the pages and run :func:`smar_ltr.tuning.tune` on them (``options`` are its keyword arguments)."""
    from smar_ltr.tuning import tune

    return tune(config, out, splits=load_splits(config), progress=progress, **options)
