"""What ``smar-ltr fit``, ``eval`` and ``rerank`` do with ``--engine dask`` (the CLI formats the results).

A ``pages`` folder whose tables are folders of query-aligned parquet partitions
(:mod:`smar_ltr.distributed.folders`) is read on the workers; any other dataset is loaded on the client and
scattered to them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import RunConfig
from smar_ltr.core.progress import Progress
from smar_ltr.distributed.cluster import dask_client
from smar_ltr.distributed.fit import DaskPages, check_dask_config, fit_dask, pages_from_splits
from smar_ltr.distributed.folders import is_partitioned_pages, pages_from_folders, read_role
from smar_ltr.distributed.partitions import read_pages, scatter_pages
from smar_ltr.distributed.scoring import evaluate_dask, rerank_dask
from smar_ltr.errors import ConfigError, DatasetError
from smar_ltr.evaluation.paper_protocol import EvalReport, MethodResult
from smar_ltr.pipeline import check_compatible
from smar_ltr.serving.model import SmarModel

if TYPE_CHECKING:
    from distributed import Client


def _partitioned(config: RunConfig) -> bool:
    return config.dataset == "pages" and is_partitioned_pages(config.data_dir)


def _training_pages(config: RunConfig, client: Client) -> DaskPages:
    if _partitioned(config):
        assert config.data_dir is not None
        return pages_from_folders(config.data_dir)
    return pages_from_splits(load_splits(config), client)


def fit_run_dask(
    config: RunConfig, scheduler: str | None = None, workers: int | None = None, progress: Progress | None = None
) -> SmarModel:
    """Load ``config``'s dataset on the client, scatter it to a cluster and fit there (:func:`fit_dask`)."""
    check_dask_config(config)
    with dask_client(scheduler, workers) as client:
        return fit_dask(config, _training_pages(config, client), client, progress=progress)


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
    role = "test" if split == "test" else "valid"
    with dask_client(scheduler, workers) as client:
        if _partitioned(config):
            assert config.data_dir is not None
            frame = read_role(config.data_dir, role)
            name = "pages"
        else:
            splits = load_splits(config)
            table = getattr(splits, role)
            frame = None if table is None or len(table) == 0 else scatter_pages(table, client, 50_000)
            name = splits.name
        if frame is None:
            raise ConfigError(f"dataset '{config.dataset}' has no {split} pages to evaluate")
        if model is None:
            model = fit_dask(config, _training_pages(config, client), client, progress=say)
        check_compatible(model, name)
        say(f"scoring the {split} pages on Dask")
        metrics, n_queries = evaluate_dask(model, frame, client, config.metrics)
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
        notes={"engine": "dask: SMAR only; the baselines run with the local engine"},
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
