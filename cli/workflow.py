"""The load -> fit -> save flow behind ``smar-ltr fit``, ``eval`` and ``tune`` (no Typer here).

The library (:mod:`smar_ltr.pipeline`, :mod:`smar_ltr.evaluation.paper_protocol`, :mod:`smar_ltr.experiments.tuning`)
takes data and
returns data; this module is the one place that resolves a run configuration's dataset name into pages, calls
the library and writes the run. The commands only parse options and format what these functions return.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smar_ltr.config import RunConfig
from smar_ltr.core.progress import Progress, quiet
from smar_ltr.errors import SmarError, SmarWarning
from smar_ltr.evaluation.paper_protocol import EvalReport, evaluate_run
from smar_ltr.page_table.schema import PAGE_LABEL
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.pipeline import FitState, fit
from smar_ltr.serving.model import SmarModel


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


def fit_and_save(
    config: RunConfig, out: Path | None = None, progress: Progress | None = None, announce_loading: bool = False
) -> FitOutcome:
    """Load the pages, fit SMAR, report it on the validation pages (when there are any) and save the run.

    The run directory is checked before any work (a bad location costs nothing). ``announce_loading`` reports
    the dataset load as a stage of its own (a sign of life on a terminal; plain logs start with the first stage).
    """
    from smar_ltr.serving.run_dir import check_output_dir, save_run

    say = progress or quiet
    run_dir = check_output_dir(out or default_out(config))
    if announce_loading:
        say(f"loading dataset '{config.dataset}'")
    splits = load_splits(config)
    model, state = fit(config, splits, progress=say)
    valid_metrics = None
    # pages exported by a campaign that did not annotate them (early stopping reads no label) have none to score
    if state.valid is not None and splits.valid is not None and splits.valid[PAGE_LABEL].notna().any():
        say("scoring the validation split")
        report = evaluate_run(config, model, state, splits, split="valid", methods=("smar",))
        valid_metrics = report.result("smar").metrics
    metrics = {"valid": valid_metrics} if valid_metrics is not None else None
    say(f"writing {run_dir}")
    run_dir = save_run(model, run_dir, metrics=metrics)
    return FitOutcome(run_dir, model, state, valid_metrics)


def evaluate(
    config: RunConfig,
    model: SmarModel | None = None,
    split: str = "test",
    progress: Progress | None = None,
    exclude_constant_queries: bool = False,
    run_dir: Path | None = None,
) -> EvalReport:
    """Evaluate a run (``model``, e.g. :func:`smar_ltr.serving.run_dir.load_run`) or a fresh fit of ``config`` and every
    baseline on one split of the pages ``config`` names.

    With ``run_dir`` (the folder ``model`` was loaded from) the native baselines stored there are reused, and
    the ones fitted here are stored with the run for the next evaluation (see :func:`store_baselines`).
    """
    from smar_ltr.serving.run_dir import baselines_fingerprint, load_baselines

    splits = load_splits(config)
    data = baselines_fingerprint(splits) if run_dir is not None else None
    stored = load_baselines(run_dir, data) if run_dir is not None else None
    report = evaluate_run(
        config,
        model=model,
        splits=splits,
        split=split,
        progress=progress,
        exclude_constant_queries=exclude_constant_queries,
        baselines=stored,
    )
    if run_dir is not None and stored:
        store_baselines(run_dir, stored, data)
    return report


def store_baselines(run_dir: Path, models: dict[str, Any], data: str | None = None) -> None:
    """Keep the baselines an evaluation fitted with the run; a run folder that cannot be written only warns
    (:class:`~smar_ltr.errors.SmarWarning`)."""
    from smar_ltr.serving.run_dir import save_baselines

    try:
        save_baselines(run_dir, models, data)
    except (OSError, SmarError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        warnings.warn(
            f"baseline models not stored in {str(run_dir)!r} ({reason}); the next eval fits them again",
            SmarWarning,
            stacklevel=2,
        )


def tune_study(config: RunConfig, out: Path, progress: Progress | None = None, **options: Any) -> Any:
    """Load the pages and run :func:`smar_ltr.experiments.tuning.tune` on them (``options`` are its keyword
    arguments)."""
    from smar_ltr.experiments.tuning import tune

    return tune(config, out, splits=load_splits(config), progress=progress, **options)
