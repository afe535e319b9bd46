"""``fit_dask``: the SMAR pipeline with every stage on a Dask cluster, returning an ordinary ``SmarModel``.

single-modal rankers (XGBoost / LightGBM on Dask) -> ``upstream_score`` per partition -> feature statistics by a
reduce, features per partition -> annotation budget (global cap by a reduce, selection per partition) ->
constraint pairs per partition (per-query sampling) -> whole-page reranker (``xgboost.dask.train`` with the
SMAR objective rebuilt on each worker, or LightGBM's Dask ranker with it).

Partitions travel as futures in partition order; the client receives only what the run saves (models, feature
statistics, the list of revealed rows) and counts. The model it returns is scored, saved and evaluated like a
single-machine one. CatBoost has no Dask ranker and is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from smar_ltr.annotation.budget import AUTO_DEFAULT
from smar_ltr.annotation.label_cost import label_cost, label_scale, stops_on_consistency, validation_read_mode
from smar_ltr.config import RunConfig
from smar_ltr.core.progress import Progress
from smar_ltr.distributed import partition_ops as ops
from smar_ltr.distributed.annotation import annotate_parts
from smar_ltr.distributed.cluster_futures import ClusterFutures, fit_single_modal_dask, group_sizes
from smar_ltr.distributed.feature_stats import fit_features
from smar_ltr.distributed.objective import LightGBMPartitionObjective, PartitionObjective, row_keys, support_columns
from smar_ltr.distributed.partition_ops import supervision_counts
from smar_ltr.distributed.partitions import check_query_aligned, require_dask, scatter_pages
from smar_ltr.distributed.training import DEFAULT_TIMEOUT, lightgbm_dask, xgboost_dask
from smar_ltr.errors import ConfigError, DatasetError
from smar_ltr.page_table.schema import PAGE_LABEL
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.pipeline import data_fingerprint
from smar_ltr.rankers import GBDTRanker
from smar_ltr.rankers.single_modal import with_upstream_scores
from smar_ltr.serving.model import SmarModel, design_matrix, select_features
from smar_ltr.supervision.pool_pairs import NO_PAIRS, pool_frame, pool_summary, pool_unavailable, requested_pool_weight
from smar_ltr.training.early_stopping import first_best_round

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client, Future

#: Rows per partition when a table on the client is scattered to the workers.
DEFAULT_ROWS_PER_PARTITION = 50_000


@dataclass
class DaskPages:
    """A dataset as query-aligned Dask DataFrames (the roles of :class:`~smar_ltr.page_table.splits.PageSplits`)."""

    name: str
    train: dd.DataFrame
    valid: dd.DataFrame | None = None
    single_modal: dd.DataFrame | None = None
    modal_features: dict[str, list[str]] = field(default_factory=dict)
    page_features: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def pages_from_splits(
    splits: PageSplits, client: Client, rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION
) -> DaskPages:
    """Scatter a dataset loaded on the client (e.g. a built-in one) to the workers in query-aligned partitions.

    Each table is cut into at least one partition per worker (at most ``rows_per_partition`` rows each, whole
    queries), so that partition ``i`` trains on worker ``i mod n`` and every worker holds a share: a small
    built-in table is never one partition that one worker trains on alone.
    """
    require_dask()
    n_workers = max(1, len(client.ncores()))

    def scatter(frame: pd.DataFrame | None) -> dd.DataFrame | None:
        if frame is None or len(frame) == 0:
            return None
        rows = max(1, min(rows_per_partition, -(-len(frame) // n_workers)))
        return scatter_pages(frame, client, rows)

    train = scatter(splits.train)
    if train is None:
        raise DatasetError(f"dataset '{splits.name}' has no training pages")
    return DaskPages(
        splits.name, train, scatter(splits.valid), scatter(splits.single_modal),
        dict(splits.modal_features), list(splits.page_features), dict(splits.info),
    )  # fmt: skip


def check_dask_config(config: RunConfig) -> None:
    """Refuse what the Dask engine cannot run (before a cluster is started): CatBoost, missing extras."""
    require_dask()
    config.validate()
    if config.reranker.backend not in ("xgboost", "lightgbm") or config.single_modal.backend not in (
        "xgboost",
        "lightgbm",
    ):
        raise ConfigError(
            "the Dask engine trains XGBoost or LightGBM only (CatBoost has no Dask ranker); use --backend xgboost "
            "or lightgbm, or the local engine"
        )


def pool_partitions(
    c: ClusterFutures,
    pages: DaskPages,
    models: Any,
    features: Any,
    raw: list[str],
    upstream: bool,
    config: RunConfig,
) -> tuple[list[Future], dict[str, Any]]:
    """The single-modal pool's lists as extra training partitions (``consistency.pool_weight``), and what the run
    summary records: the decision :meth:`smar_ltr.pipeline.Prepared.pool_decision` makes on one machine.

    Each pool partition becomes training rows on its worker (:func:`~smar_ltr.distributed.partition_ops.pool_part`,
    scored by the single-modal rankers ``models`` when they were trained); the worker objective draws their pairs
    by ``modal_label`` (:func:`~smar_ltr.distributed.objective.local_supervision`).
    """
    k = config.consistency
    weight, unused = requested_pool_weight(k)
    if unused is not None:
        return [], unused
    client = c.client
    try:
        parts: list[Future] = []
        if pages.single_modal is not None:
            parts = c.map(ops.pool_part, c.parts(pages.single_modal), pages.name)
            if models is not None:
                parts = c.map(with_upstream_scores, parts, models, pages.modal_features)
            parts = c.non_empty(parts)
        if not parts:
            pool_frame(None, pages.name)  # raises: no single-modal pool with modal labels
        client.submit(design_matrix, parts[0], features, raw, upstream, pure=False).result()  # the inputs are there
        n_pairs = int(sum(client.gather(c.map(ops.pool_pair_count, parts, k, config.seed))))
        if n_pairs == 0:
            raise ConfigError(NO_PAIRS)
    except (ConfigError, DatasetError, KeyError) as exc:
        problem = (
            exc
            if isinstance(exc, ConfigError)
            else ConfigError(
                f"consistency.pool_weight: the single-modal pool lacks the reranker's inputs ({exc}); "
                "set consistency.pool_weight=0"
            )
        )
        return [], pool_unavailable(k, problem)
    return parts, pool_summary(k, weight, int(sum(client.gather(c.map(len, parts)))), n_pairs)


def stop_on_consistency(
    c: ClusterFutures,
    reranker: GBDTRanker,
    valid: list[Future],
    features: Any,
    raw: list[str],
    upstream: bool,
    config: RunConfig,
) -> dict[str, Any]:
    """Keep the rounds of ``reranker`` that early stopping on the validation pages' consistency loss keeps.

    Each validation partition sums its pairs' loss round by round on its worker
    (:func:`~smar_ltr.distributed.partition_ops.consistency_losses`); the sums over partitions divided by the total
    pair weight are the single-machine metric (:func:`smar_ltr.training.early_stopping.consistency_metric`) of every
    round, and
    :func:`smar_ltr.training.early_stopping.first_best_round` picks the round its early stopping keeps. Sets
    ``reranker.best_iteration_`` and returns what the run summary records.
    """
    shared = c.client.scatter(reranker, broadcast=True)
    k = config.consistency
    parts = [
        p
        for p in c.client.gather(c.map(ops.consistency_losses, valid, shared, features, raw, upstream, k, config.seed))
        if p is not None
    ]
    rounds = int(getattr(reranker, "best_iteration_", 0))
    if not parts:  # no intra-modal pair on the validation pages: nothing to stop on, every round stays
        return {"on": "consistency", "best_iteration": rounds, "rounds_trained": rounds, "pairs": 0}
    losses = sum(p[0] for p in parts) / sum(p[1] for p in parts)
    best = first_best_round(losses, config.reranker.early_stopping_rounds)
    reranker.best_iteration_ = best
    return {"on": "consistency", "best_iteration": best, "rounds_trained": len(losses)}


def fit_dask(
    config: RunConfig,
    pages: DaskPages,
    client: Client,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> SmarModel:
    """Fit SMAR on a Dask cluster; the same stages, seeds and supervision as :func:`smar_ltr.pipeline.fit`.

    Parameters
    ----------
    config : RunConfig
        What to fit (``reranker.backend`` xgboost or lightgbm).
    pages : DaskPages
        Query-aligned Dask DataFrames (:func:`pages_from_splits`, or :func:`~smar_ltr.distributed.read_pages`).
    client : distributed.Client
        The cluster.
    progress : callable, optional
        Receives one line per stage.
    timeout : float
        Seconds one training call may take before it is abandoned with a :class:`ClusterError`.

    Returns
    -------
    SmarModel
        Saved with :func:`smar_ltr.serving.run_dir.save_run` like a single-machine run; ``summary["engine"]`` records
        the cluster.
    """
    check_dask_config(config)
    with client.as_current():  # implicit computes (query-alignment checks) run here, not on another default client
        return _fit_on(config, pages, client, progress, timeout)


def _fit_on(
    config: RunConfig, pages: DaskPages, client: Client, progress: Progress | None, timeout: float
) -> SmarModel:
    say = progress or (lambda _: None)
    backend = config.reranker.backend
    c = ClusterFutures(client)
    for name, frame in (
        ("training pages", pages.train),
        ("validation pages", pages.valid),
        ("single-modal pool", pages.single_modal),
    ):
        if frame is not None:
            check_query_aligned(frame, what=f"the {name}")
    train = c.map(ops.validated, c.parts(pages.train), PAGE_LABEL, "training pages", False)
    valid = (
        c.map(ops.validated, c.parts(pages.valid), PAGE_LABEL, "validation pages", False)
        if pages.valid is not None
        else []
    )
    shipped = all(client.gather(c.map(ops.has_upstream, train)))
    source = config.single_modal_source
    if source == "shipped" and not shipped:
        raise DatasetError(
            f"single_modal_source is 'shipped' but dataset '{pages.name}' ships no upstream_score on every page row; "
            "use 'auto' or 'trained'"
        )
    models: dict[str, GBDTRanker] = {}
    shared_models = None
    if source == "trained" or (source == "auto" and not shipped):
        if pages.single_modal is None:
            raise DatasetError(f"dataset '{pages.name}' has no single-modal pool to train the single-modal rankers on")
        say("stage 1/4: single-modal rankers (Dask)")
        lists = c.parts(pages.single_modal)
        models = fit_single_modal_dask(c, lists, pages.modal_features, config.single_modal, config.seed, timeout, say)
        shared_models = client.scatter(models, broadcast=True)
        train = c.map(with_upstream_scores, train, shared_models, pages.modal_features)
        valid = c.map(with_upstream_scores, valid, shared_models, pages.modal_features)
    say("stage 2/4: features (distributed reduce)")
    columns = list(client.submit(ops.empty, train[0], pure=False).result().columns)
    features = fit_features(select_features(config), train, columns, client)
    raw = [col for col in pages.page_features if col in columns]
    upstream = config.upstream_as_feature
    shared_features = client.scatter(features, broadcast=True)
    b = config.budget
    fully = all(client.gather(c.map(ops.fully_labelled, train)))
    strategy = (AUTO_DEFAULT if fully else "given") if b.strategy == "auto" else b.strategy
    max_label = label_scale(config.budget, pages.info)
    say(f"stage 3/4: annotation budget ({strategy}, p={b.budget}; split by a reduce)")
    annotated, annotation, revealed = annotate_parts(
        train, replace(b, strategy=strategy), config.seed, client, max_label
    )
    v_annotated: list[Future] = []
    v_summary: dict[str, Any] | None = None
    v_revealed: pd.DataFrame | None = None
    # Early stopping on the consistency loss (the default, no label read) runs after training: every round is
    # trained, each validation partition scores its pairs round by round, and the rounds early stopping would
    # have kept on one machine are kept (first_best_round). On labels it is XGBoost's own (LightGBM's Dask
    # ranker cannot early-stop: every round is kept).
    v_mode = validation_read_mode(config)
    if v_mode != "none" and valid:
        v_full = all(client.gather(c.map(ops.fully_labelled, valid)))
        v_strategy = "given" if v_mode == "full" or not v_full else strategy
        v_annotated, v_summary, v_revealed = annotate_parts(
            valid, replace(b, strategy=v_strategy), config.seed, client, max_label
        )
        if v_summary["labels_used"] == 0:
            v_annotated, v_summary, v_revealed = [], None, None
    if annotation["labels_used"] == 0 and strategy == "given":
        raise ConfigError(
            "the training pages carry no page label: annotate at least some candidates "
            "(a missing page_label means 'not annotated')"
        )
    if annotation["labels_used"] == 0:
        raise ConfigError(
            f"the {b.strategy} strategy (budget {b.budget}, band {b.band}) revealed no page label: every slice is "
            "past the end of its list; use a smaller band or a larger budget"
        )
    counts_parts = client.gather(c.map(supervision_counts, annotated, config.consistency, config.seed))
    counts = {k: int(sum(p[k] for p in counts_parts)) for k in counts_parts[0]}
    pool, pool_summary = pool_partitions(c, pages, shared_models, shared_features, raw, upstream, config)
    consistency = replace(config.consistency, pool_weight=pool_summary["weight"])  # resolved for the workers
    say(
        f"stage 4/4: reranker ({backend} on Dask; {annotation['labels_used']} page labels, "
        f"{counts['intra_pairs']} intra pairs, {counts['cross_pairs']} cross pairs"
        + (f", {pool_summary['pairs']} single-modal pool pairs on {pool_summary['rows']} pool rows" if pool else "")
        + ")"
    )
    rows = annotated + pool  # pool partitions after the pages, as one machine appends the pool's rows
    X = c.frame(c.map(design_matrix, rows, shared_features, raw, upstream))
    keys = c.frame([client.submit(row_keys, p, i, pure=False) for i, p in enumerate(rows)])
    dataset = f"smar-support-{uuid.uuid4().hex}"
    client.publish_dataset(c.map(support_columns, rows), name=dataset)
    try:
        if backend == "xgboost":
            vset = None
            if v_annotated:
                labelled = c.map(ops.eval_labels, v_annotated)
                vx = c.frame(c.map(ops.eval_rows, v_annotated, shared_features, raw, upstream))
                vset = (vx, c.frame(c.map(ops.column, labelled, PAGE_LABEL)), c.frame(c.query_codes(labelled)))
            objective = PartitionObjective(dataset, consistency, config.seed)
            reranker = xgboost_dask(
                client, config.reranker, config.seed, X, keys=keys, valid=vset, objective=objective, timeout=timeout
            )
        else:
            reranker = lightgbm_dask(
                client, config.reranker, config.seed, X, keys["part"], group_sizes(c, rows),
                weight=keys["row"] + 1.0,
                objective=LightGBMPartitionObjective(dataset, consistency, config.seed),
                timeout=timeout,
            )  # fmt: skip
    finally:
        client.unpublish_dataset(dataset)
    stopping: dict[str, Any] = {"on": "labels" if v_mode != "none" else "none"}
    if valid and stops_on_consistency(config):
        stopping = stop_on_consistency(c, reranker, valid, shared_features, raw, upstream, config)
        say(
            f"stage 4/4: early stopping on the validation pages' consistency loss: {stopping['best_iteration']} of "
            f"{stopping['rounds_trained']} rounds kept (no page label read)"
        )
    n_rows = int(sum(client.gather(c.map(len, train))))
    n_valid = int(sum(client.gather(c.map(len, valid)))) if valid else 0
    v_used = 0 if v_summary is None else v_summary["labels_used"]
    cost = label_cost(annotation["labels_used"], n_rows, v_used, n_valid)
    choice: dict[str, Any] = {"requested": b.strategy, "used": strategy}
    if b.strategy == "auto":
        choice["reason"] = (
            "every training row is annotated: simulating the budget"
            if fully
            else ("some training rows are not annotated: training on the annotated rows")
        )
    summary = {
        "annotation": annotation,
        "labels": {**cost.to_dict(), "validation_mode": v_mode},
        "strategy_choice": choice,
        "supervision": {
            "page_rows": annotation["labels_used"],
            **{k: v for k, v in counts.items() if k != "page_rows"},
            **({"pool_rows": pool_summary["rows"], "pool_pairs": pool_summary["pairs"]} if pool else {}),
        },
        "data_fingerprint": client.submit(
            ops.digest, *c.map(ops.row_hashes, c.parts(pages.train)), pure=False
        ).result(),
        "dataset": pages.name,
        "dataset_info": {k: v for k, v in pages.info.items() if isinstance(v, str | int | float | bool)},
        "n_train_queries": int(sum(client.gather(c.map(ops.n_queries, train)))),
        "n_train_candidates": n_rows,
        "best_iteration": int(getattr(reranker, "best_iteration_", 0)),
        "early_stopping": stopping,
        "pool": pool_summary,
        "engine": {
            "name": "dask",
            "workers": len(client.ncores()),
            "partitions": len(train),
        },
    }
    return SmarModel(
        config=config,
        single_modal=models,
        modal_features={m: list(pages.modal_features[m]) for m in models},
        features=features,
        raw_features=raw,
        reranker=reranker,
        revealed=revealed.reset_index(drop=True),
        summary=summary,
        revealed_valid=None if v_revealed is None else v_revealed.reset_index(drop=True),
    )


__all__ = [
    "DEFAULT_ROWS_PER_PARTITION",
    "DaskPages",
    "check_dask_config",
    "data_fingerprint",
    "fit_dask",
    "fit_single_modal_dask",
    "pages_from_splits",
    "supervision_counts",
]
