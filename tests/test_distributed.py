"""The Dask engine on a real 2-process LocalCluster: partitions, budget, worker objectives, training, failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from discrete_pages import FEATURES
from discrete_pages import pages as _pages
from discrete_pages import pool as _pool
from distributed import Client, wait

from smar_ltr.annotation.budget import annotate
from smar_ltr.config import BudgetConfig, ConsistencyConfig, GBDTConfig
from smar_ltr.distributed.annotation import REVEALED, annotate_parts
from smar_ltr.distributed.objective import (
    LightGBMPartitionObjective,
    PartitionObjective,
    row_keys,
    support_columns,
)
from smar_ltr.distributed.partitions import query_chunks, read_pages, write_partitioned
from smar_ltr.distributed.training import lightgbm_dask, xgboost_dask
from smar_ltr.errors import ClusterError, DatasetError
from smar_ltr.metrics.ranking import evaluate
from smar_ltr.training.reranker import build_objective, build_supervision, train_reranker

pytestmark = pytest.mark.xdist_group("dask")

CONSISTENCY = ConsistencyConfig(pair_scheme="sample", max_pairs_per_item=3)
BUDGET = BudgetConfig(strategy="random", budget=0.3)
GBDT = GBDTConfig(backend="xgboost", n_estimators=15, learning_rate=0.3, num_leaves=7, early_stopping_rounds=0)


def _scatter(client: Client, frame: pd.DataFrame, rows: int) -> list:
    chunks = query_chunks(frame, rows)
    return client.scatter(chunks), chunks


def _single_machine(frame: pd.DataFrame):
    ann = annotate(frame, BUDGET.strategy, BUDGET.budget, seed=3)
    sup = build_supervision(frame, ann, CONSISTENCY, 3)
    return ann, sup, build_objective(frame, sup, CONSISTENCY)


def _distributed_inputs(client: Client, frame: pd.DataFrame, rows: int = 200):
    parts, chunks = _scatter(client, frame, rows)
    annotated, summary, revealed = annotate_parts(parts, BUDGET, 3, client)
    import dask.dataframe as dd

    # partition i on worker i mod n, as the library's ClusterFutures.pin places them: left to the scheduler, a
    # loaded machine sometimes ran every task on one worker and the other trained on nothing
    workers = sorted(client.ncores())

    def on(i: int) -> dict:
        return {"workers": [workers[i % len(workers)]], "allow_other_workers": False}

    X = dd.from_delayed(
        [client.submit(lambda p: p[FEATURES], a, **on(i)) for i, a in enumerate(annotated)],
        meta=frame[FEATURES].iloc[:0],
    )
    keys = dd.from_delayed(
        [client.submit(row_keys, a, i, **on(i)) for i, a in enumerate(annotated)], meta=row_keys(frame[:0], 0)
    )
    return annotated, summary, revealed, X, keys, chunks


# ---- partitions -----------------------------------------------------------------------------------------------
def test_query_chunks_hold_whole_queries_in_table_order() -> None:
    frame = _pages(30)
    chunks = query_chunks(frame, 50)
    assert len(chunks) > 3
    seen = [set(c["qid"]) for c in chunks]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame)
    assert all(len(c) >= 50 for c in chunks[:-1])


def test_read_pages_refuses_a_query_that_straddles_partitions(tmp_path: Path) -> None:
    frame = _pages(10)
    good = tmp_path / "good"
    write_partitioned(frame, good, 40)
    assert len(read_pages(good).compute()) == len(frame)
    bad = tmp_path / "bad"
    bad.mkdir()
    cut = int(np.flatnonzero(frame["qid"] == "q003")[2])  # inside query q003
    frame.iloc[:cut].to_parquet(bad / "part-00000.parquet", index=False)
    frame.iloc[cut:].to_parquet(bad / "part-00001.parquet", index=False)
    with pytest.raises(DatasetError, match=r"query 'q003' .* straddles partitions .* datasets partition"):
        read_pages(bad)


# ---- budget and worker objective ---------------------------------------------------------------------------------
def test_budget_reduce_reveals_the_single_machine_rows(client: Client) -> None:
    frame = _pages()
    ann, _, _ = _single_machine(frame)
    annotated, summary, revealed = annotate_parts(_scatter(client, frame, 150)[0], BUDGET, 3, client)
    mask = np.concatenate([p[REVEALED].to_numpy() for p in client.gather(annotated)])
    np.testing.assert_array_equal(mask, ann.mask)
    assert summary["labels_used"] == ann.labels_used and summary["allowance"] == ann.allowance
    pd.testing.assert_frame_equal(revealed, ann.revealed)


def test_each_worker_objective_gets_exactly_its_rows_and_the_single_machine_gradients(
    client: Client, tmp_path: Path
) -> None:
    frame = _pages()
    _, _, full = _single_machine(frame)
    expected_grad, expected_hess = full.gradients(np.zeros(len(frame)))
    annotated, _, _, X, keys, chunks = _distributed_inputs(client, frame)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])])
    client.publish_dataset(test_support=client.map(support_columns, annotated))
    inner = PartitionObjective("test_support", CONSISTENCY, 3)
    out_dir = str(tmp_path)

    def recording(preds, dtrain):
        grad, hess = inner(preds, dtrain)
        path = os.path.join(out_dir, f"{os.getpid()}.npz")
        if not os.path.exists(path):  # first round: scores are all base_score = 0
            part, row = dtrain.get_float_info("label_lower_bound"), dtrain.get_float_info("label_upper_bound")
            np.savez(path, part=part, row=row, grad=grad, hess=hess)
        return grad, hess

    try:
        xgboost_dask(client, GBDT, 3, X, keys=keys, objective=recording, timeout=300)
    finally:
        client.unpublish_dataset("test_support")
    files = sorted(tmp_path.glob("*.npz"))
    assert len(files) == 2  # both workers trained on rows
    seen = []
    for f in files:
        got = np.load(f)
        rows = offsets[got["part"].astype(int)] + got["row"].astype(int)
        held = set(got["part"].astype(int).tolist())
        assert len(rows) == sum(len(chunks[p]) for p in held)  # whole partitions, nothing else
        np.testing.assert_allclose(got["grad"], expected_grad[rows], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got["hess"], expected_hess[rows], rtol=1e-9, atol=1e-12)
        seen.append(rows)
    everything = np.concatenate(seen)
    assert np.array_equal(np.sort(everything), np.arange(len(frame)))  # every row exactly once


def test_xgboost_on_dask_predicts_like_one_machine(client: Client) -> None:
    frame = _pages()
    _, sup, _ = _single_machine(frame)
    local = train_reranker(frame[FEATURES], frame, sup, GBDT, CONSISTENCY, 3)
    annotated, _, _, X, keys, _ = _distributed_inputs(client, frame)
    client.publish_dataset(test_support2=client.map(support_columns, annotated))
    try:
        remote = xgboost_dask(
            client, GBDT, 3, X, keys=keys, objective=PartitionObjective("test_support2", CONSISTENCY, 3), timeout=300
        )
    finally:
        client.unpublish_dataset("test_support2")
    assert remote.best_iteration_ == local.best_iteration_ == GBDT.n_estimators
    np.testing.assert_allclose(remote.predict(frame[FEATURES]), local.predict(frame[FEATURES]), rtol=1e-6, atol=1e-6)


def test_lightgbm_on_dask_ranks_within_tolerance_of_one_machine(client: Client) -> None:
    # LightGBM builds its histograms per worker, so trees differ slightly: NDCG@10 within 0.03 on the pages
    cfg = GBDTConfig(backend="lightgbm", n_estimators=15, learning_rate=0.3, num_leaves=7, min_data_in_leaf=5)
    frame = _pages()
    _, sup, _ = _single_machine(frame)
    local = train_reranker(frame[FEATURES], frame, sup, cfg, CONSISTENCY, 3)
    annotated, _, _, X, keys, chunks = _distributed_inputs(client, frame)
    import dask.array as da

    group = da.concatenate(
        [da.from_array(c.groupby("qid", sort=False).size().to_numpy()) for c in chunks]
    )  # sizes per partition
    client.publish_dataset(test_support3=client.map(support_columns, annotated))
    try:
        remote = lightgbm_dask(
            client, cfg, 3, X, keys["part"], group, weight=keys["row"] + 1.0,
            objective=LightGBMPartitionObjective("test_support3", CONSISTENCY, 3), timeout=300,
        )  # fmt: skip
    finally:
        client.unpublish_dataset("test_support3")
    labels, qid = frame["page_label"].to_numpy(float), frame["qid"].to_numpy()
    a = evaluate(labels, local.predict(frame[FEATURES]), qid, ["ndcg@10"])["ndcg@10"]
    b = evaluate(labels, remote.predict(frame[FEATURES]), qid, ["ndcg@10"])["ndcg@10"]
    assert abs(a - b) <= 0.03, (a, b)
    assert b > evaluate(labels, np.zeros(len(frame)), qid, ["ndcg@10"])["ndcg@10"]  # it learned something


def test_a_worker_dying_during_training_ends_in_a_clear_error(client: Client) -> None:
    frame = _pages(40)
    annotated, _, _, X, keys, _ = _distributed_inputs(client, frame)
    client.publish_dataset(test_support4=client.map(support_columns, annotated))
    inner = PartitionObjective("test_support4", CONSISTENCY, 3)
    calls = {"n": 0}

    def dies_on_third_round(preds, dtrain):
        calls["n"] += 1
        if calls["n"] == 3 and dtrain.get_float_info("label_lower_bound").min() == 0:
            os._exit(1)  # the worker holding partition 0 dies mid-training
        return inner(preds, dtrain)

    try:
        with pytest.raises(ClusterError, match=r"left the cluster during XGBoost training|failed on the cluster"):
            xgboost_dask(client, GBDT, 3, X, keys=keys, objective=dies_on_third_round, timeout=120)
    finally:
        client.unpublish_dataset("test_support4")
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it; later tests get a whole cluster


def test_cli_partition_writes_query_aligned_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    frame = _pages(12)
    src = tmp_path / "pages.parquet"
    frame.to_parquet(src, index=False)
    result = CliRunner().invoke(
        app, ["datasets", "partition", str(src), str(tmp_path / "out"), "--rows-per-partition", "50"]
    )
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "out").glob("*.parquet"))
    assert len(files) > 2 and f"wrote {len(files)} partitions" in result.output
    parts = [pd.read_parquet(f) for f in files]
    assert sum(len(p) for p in parts) == len(frame)
    assert len({q for p in parts for q in set(p["qid"])}) == sum(p["qid"].nunique() for p in parts)
    again = CliRunner().invoke(app, ["datasets", "partition", str(src), str(tmp_path / "out")])
    assert again.exit_code == 1 and "already exists" in again.output


def test_cli_refuses_cluster_flags_without_dask_and_catboost_on_dask() -> None:
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    runner = CliRunner()
    r = runner.invoke(app, ["fit", "--workers", "2"])
    assert r.exit_code == 1 and "need --engine dask" in r.output
    r = runner.invoke(app, ["fit", "--engine", "dask", "--workers", "2", "--backend", "catboost"])
    assert r.exit_code == 1 and "CatBoost has no Dask ranker" in r.output
    assert "Traceback" not in r.output
    assert json  # keeps the import used by the slow CLI test below


@pytest.mark.slow
def test_cli_fit_on_dask_matches_one_machine(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from smar_ltr.cli.app import app

    runner = CliRunner()
    ndcg = {}
    for engine in ("local", "dask"):
        run = tmp_path / engine
        extra = ["--engine", "dask", "--workers", "2"] if engine == "dask" else []
        args = ["fit", "-q", "--backend", "xgboost", "--set", "dataset_options.size=small", "--out", str(run), *extra]
        args += ["--set", "consistency.early_stopping=labels"]  # the Dask trainers stop on labels only
        assert runner.invoke(app, args).exit_code == 0
        out = runner.invoke(app, ["eval", "--model", str(run), "--format", "json", "-q"])
        ndcg[engine] = next(r for r in json.loads(out.output)["results"] if r["method"] == "smar")["metrics"]["ndcg@10"]
    assert abs(ndcg["local"] - ndcg["dask"]) <= 0.005, ndcg


def test_a_partitioned_pages_folder_trains_on_the_workers_like_one_machine(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smar_ltr.cli import workflow_dask
    from smar_ltr.config import load_config
    from smar_ltr.datasets.fixtures import write_pages
    from smar_ltr.datasets.pages import load_pages
    from smar_ltr.distributed import fit_dask
    from smar_ltr.distributed.folders import partition_pages_folder
    from smar_ltr.pipeline import fit

    (tmp_path / "pg").mkdir()
    write_pages(tmp_path / "pg", seed=0)
    counts = partition_pages_folder(tmp_path / "pg", tmp_path / "parts", rows_per_partition=40)
    assert counts["train"] >= 4 and set(counts) <= {"train", "valid", "test", "single_modal"}
    with pytest.raises(DatasetError, match="already exists"):
        partition_pages_folder(tmp_path / "pg", tmp_path / "parts", rows_per_partition=40)
    gbdt = {"backend": "xgboost", "n_estimators": 15, "early_stopping_rounds": 0}
    cfg = load_config(None, None, dataset="pages", data_dir=str(tmp_path / "parts"), single_modal=gbdt, reranker=gbdt)

    def no_client_loading(_config):
        raise AssertionError("a partitioned folder must be read on the workers, not loaded on the client")

    monkeypatch.setattr(workflow_dask, "load_splits", no_client_loading)
    pages = workflow_dask._training_pages(cfg, client)
    assert pages.train.npartitions == counts["train"] and pages.modal_features
    on_dask = fit_dask(cfg, pages, client)
    again = fit_dask(cfg, workflow_dask._training_pages(cfg, client), client)
    splits = load_pages(tmp_path / "pg")
    local, _ = fit(cfg, splits)
    assert on_dask.summary["labels"]["labels_used"] == local.summary["labels"]["labels_used"]
    test = splits.test
    np.testing.assert_array_equal(on_dask.score(test), again.score(test))  # same data, same workers: same model
    labels, qids = test["page_label"].to_numpy(float), test["qid"].to_numpy()
    scores = {
        name: evaluate(labels, m.score(test), qids, ["ndcg@10"])["ndcg@10"]
        for name, m in [("dask", on_dask), ("local", local)]
    }
    assert abs(scores["dask"] - scores["local"]) <= 0.02, scores


def test_training_partitions_sit_on_a_fixed_worker_whatever_ran_them(client: Client) -> None:
    from smar_ltr.distributed.cluster_futures import ClusterFutures

    parts, chunks = _scatter(client, _pages(30), 40)  # scatter places them wherever it likes
    workers = sorted(client.ncores())
    pinned = ClusterFutures(client).pin(parts)
    wait(pinned)
    assert len(pinned) == len(parts) > 2
    who = client.who_has(pinned)
    assert [who[f.key] for f in pinned] == [(workers[i % len(workers)],) for i in range(len(pinned))]
    for f, chunk in zip(pinned, chunks, strict=True):
        pd.testing.assert_frame_equal(f.result(), chunk)


def test_the_python_api_fits_on_a_client(client: Client) -> None:
    import smar_ltr
    from smar_ltr.errors import ConfigError

    frame = _pages(40)
    fast = {"backend": "xgboost", "n_estimators": 10, "early_stopping_rounds": 0}
    model = smar_ltr.fit(frame, client=client, page_features=FEATURES, reranker=fast, seed=3)
    assert model.summary["engine"]["name"] == "dask" and model.summary["engine"]["workers"] == 2
    assert model.summary["dataset"] == "in-memory"
    local = smar_ltr.fit(frame, page_features=FEATURES, reranker=fast, seed=3)
    assert model.summary["labels"]["labels_used"] == local.summary["labels"]["labels_used"]
    np.testing.assert_allclose(model.score(frame), local.score(frame), atol=1e-5)  # discretised features
    from smar_ltr.distributed import pages_from_splits

    with pytest.raises(ConfigError, match="pass client="):
        smar_ltr.fit(pages_from_splits(smar_ltr.api._splits(frame, None, None, None, FEATURES), client))


@pytest.mark.parametrize("backend", ["xgboost", "lightgbm"])
def test_dask_early_stops_on_the_consistency_loss_like_one_machine(client: Client, backend: str) -> None:
    """The default early stopping reads no page label: the cluster trains every round, scores the validation
    partitions' pairs round by round and keeps the round one machine keeps (XGBoost builds the same trees)."""
    import smar_ltr
    from smar_ltr.training.early_stopping import consistency_metric, first_best_round

    frame, valid = _pages(50, seed=0), _pages(30, seed=1)
    valid["qid"] = "v" + valid["qid"]
    fast = {"backend": backend, "n_estimators": 60, "learning_rate": 0.5, "num_leaves": 15, "min_data_in_leaf": 2}
    fast["early_stopping_rounds"] = 3
    settings = {"reranker": fast, "seed": 3, "budget": {"strategy": "top", "budget": 0.3}}
    remote = smar_ltr.fit(frame, valid=valid, client=client, page_features=FEATURES, **settings)
    stopping = remote.summary["early_stopping"]
    assert stopping["on"] == "consistency" and stopping["rounds_trained"] == 60
    assert stopping["best_iteration"] == remote.reranker.best_iteration_ == remote.summary["best_iteration"] < 60
    assert remote.summary["labels"]["validation_labels"] == 0  # no validation label read
    # the distributed reduction is the single-machine metric on the whole validation table
    prepared = remote.prepare(valid)
    metric = consistency_metric(prepared, remote.config.consistency, remote.config.seed)
    losses = [metric(s) for s in remote.reranker.round_scores(remote.featurize(prepared))]
    assert first_best_round(np.array(losses), 3) == stopping["best_iteration"]
    if backend == "xgboost":  # identical trees: one machine keeps the same round
        local = smar_ltr.fit(frame, valid=valid, page_features=FEATURES, **settings)
        assert local.reranker.best_iteration_ == stopping["best_iteration"]


def test_pool_pairs_train_on_the_cluster_like_one_machine(client: Client) -> None:
    """The default (pool pairs where the run has a pool) on Dask: the pool's lists become training partitions
    and XGBoost builds the single-machine trees from them."""
    import smar_ltr

    frame, pool = _pages(40), _pool()
    fast = {"backend": "xgboost", "n_estimators": 10, "early_stopping_rounds": 0}
    args = {"single_modal_pool": pool, "page_features": FEATURES, "reranker": fast, "seed": 3}
    remote = smar_ltr.fit(frame, client=client, **args)
    local = smar_ltr.fit(frame, **args)
    assert remote.summary["pool"]["weight"] == local.summary["pool"]["weight"] == 1.0
    assert remote.summary["pool"]["pairs"] == local.summary["pool"]["pairs"] > 0
    assert remote.summary["supervision"]["pool_rows"] == local.summary["supervision"]["pool_rows"]
    np.testing.assert_allclose(remote.score(frame), local.score(frame), atol=1e-5)
    without = smar_ltr.fit(frame, client=client, **{**args, "consistency": {"pool_weight": 0.0}})
    assert without.summary["pool"] == {"weight": 0.0, "reason": "consistency.pool_weight=0"}
    assert not np.allclose(without.score(frame), remote.score(frame))
    no_pool = smar_ltr.fit(frame, client=client, page_features=FEATURES, reranker=fast, seed=3)
    assert no_pool.summary["pool"]["weight"] == 0.0 and "single-modal pool" in no_pool.summary["pool"]["reason"]
