"""What ``smar-ltr eval`` and ``rerank`` do with ``--engine dask``: library functions the CLI formats."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from smar_ltr.config import RunConfig
from smar_ltr.datasets import load_dataset
from smar_ltr.datasets.splits import PageSplits
from smar_ltr.distributed.cluster import dask_client
from smar_ltr.distributed.fit import check_dask_config, fit_dask, pages_from_splits
from smar_ltr.distributed.partitions import read_pages, scatter_pages
from smar_ltr.distributed.scoring import evaluate_dask, rerank_dask
from smar_ltr.errors import ConfigError, DatasetError
from smar_ltr.evaluation import EvalReport, MethodResult
from smar_ltr.pipeline import SmarModel, check_compatible
from smar_ltr.progress import Progress


def load_splits(config: RunConfig) -> PageSplits:
    """The dataset ``config`` names (as the CLI loads it)."""
    return load_dataset(config.dataset, config.data_dir, config.seed, **config.dataset_options)


def fit_run_dask(
    config: RunConfig, scheduler: str | None = None, workers: int | None = None, progress: Progress | None = None
) -> SmarModel:
    """Load ``config``'s dataset on the client, scatter it to a cluster and fit there (:func:`fit_dask`)."""
    check_dask_config(config)
    splits = load_splits(config)
    with dask_client(scheduler, workers) as client:
        return fit_dask(config, pages_from_splits(splits, client), client, progress=progress)


def evaluate_run_dask(
    config: RunConfig,
    model: SmarModel | None,
    split: str = "test",
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """SMAR's metrics on one split, scored and reduced on a Dask cluster (fitted there first without ``model``).

    Only the ``smar`` method is reported: the baselines run on one machine (``--engine local``).
    """
    say = progress or (lambda _: None)
    splits = load_splits(config)
    frame = splits.test if split == "test" else splits.valid
    if frame is None or len(frame) == 0:
        raise ConfigError(f"dataset '{config.dataset}' has no {split} pages to evaluate")
    with dask_client(scheduler, workers) as client:
        if model is None:
            model = fit_dask(config, pages_from_splits(splits, client), client, progress=say)
        check_compatible(model, splits)
        say(f"scoring the {split} pages on Dask")
        metrics, n_queries = evaluate_dask(model, scatter_pages(frame, client, 50_000), client, config.metrics)
    cost = model.summary.get("labels") or model.summary.get("annotation", {})
    result = MethodResult(
        method="smar",
        labels_used=int(cost.get("labels_used", 0)),
        label_fraction=float(cost.get("label_fraction", 0.0)),
        train_labels=int(cost.get("train_labels", cost.get("labels_used", 0))),
        validation_labels=int(cost.get("validation_labels", 0)),
        metrics=metrics,
    )
    return EvalReport(
        dataset=config.dataset,
        split=split,
        n_queries=n_queries,
        budget=float(model.config.budget.budget),
        strategy=model.config.budget.strategy,
        seed=model.config.seed,
        results=[result],
        notes={"engine": "dask: SMAR only; run --engine local for the baselines"},
    )


def rerank_folder(
    model: SmarModel, source: Path, out: Path, scheduler: str | None = None, workers: int | None = None
) -> int:
    """Score the query-aligned parquet partitions in ``source`` into a new folder ``out`` (written atomically).

    Returns the number of partitions written.
    """
    out = Path(out)
    if out.exists():
        raise DatasetError(f"{str(out)!r} already exists; choose a new output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        with dask_client(scheduler, workers) as client:
            scored = rerank_dask(model, read_pages(source), client)
            scored.to_parquet(str(tmp), write_index=False, name_function=lambda i: f"part-{i:05d}.parquet")
        n = len(list(tmp.glob("*.parquet")))
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return n
