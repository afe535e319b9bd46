"""Census, Dask engine: ``rerank --engine dask`` end to end on a LocalCluster, pages folders refused, the
built-in datasets spread over the workers, a scheduler address that is not a Dask scheduler (issue 27, item 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from census import assert_one_line_error, invoke, tree

pytestmark = pytest.mark.xdist_group("dask")


def _read_parts(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in sorted(folder.glob("*.parquet"))], ignore_index=True)


def test_rerank_on_dask_scores_partition_folders_like_local_rerank(tmp_path: Path, census_run) -> None:
    run, test = census_run["run"], census_run["data"] / "test.parquet"
    parts = tmp_path / "parts"
    made = invoke(["datasets", "partition", str(test), str(parts), "--rows-per-partition", "40"])
    assert made.exit_code == 0, made.output
    assert len(list(parts.glob("*.parquet"))) > 2
    local = invoke(["rerank", "-m", str(run), "-i", str(test), "-o", str(tmp_path / "local.parquet")])
    assert local.exit_code == 0, local.output
    dask = ["--engine", "dask", "--workers", "2"]
    on_dask = invoke(["rerank", "-m", str(run), "-i", str(parts), "-o", str(tmp_path / "scored"), *dask])
    assert on_dask.exit_code == 0, on_dask.output
    assert "reranked" in on_dask.stdout and "partitions" in on_dask.stdout
    keys = ["qid", "item_id"]
    expected = pd.read_parquet(tmp_path / "local.parquet").sort_values(keys).reset_index(drop=True)
    got = _read_parts(tmp_path / "scored").sort_values(keys).reset_index(drop=True)
    assert len(got) == len(expected) == len(pd.read_parquet(test))
    pd.testing.assert_frame_equal(got[keys].astype(str), expected[keys].astype(str))
    np.testing.assert_allclose(got["score"].to_numpy(), expected["score"].to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got["rank"].to_numpy(), expected["rank"].to_numpy())


def test_rerank_on_dask_refuses_a_pages_folder(tmp_path: Path, census_run) -> None:
    data = tmp_path / "pages"
    import shutil

    shutil.copytree(census_run["data"], data)
    before = tree(tmp_path)
    dask = ["--engine", "dask", "--workers", "1"]
    result = invoke(["rerank", "-m", str(census_run["run"]), "-i", str(data), "-o", str(tmp_path / "scored"), *dask])
    assert_one_line_error(result, "is a pages folder")
    assert tree(tmp_path) == before


def test_a_built_in_dataset_is_spread_over_every_worker() -> None:
    from distributed import Client, wait

    from smar_ltr.datasets import load_dataset
    from smar_ltr.distributed import pages_from_splits
    from smar_ltr.distributed.cluster import local_cluster
    from smar_ltr.distributed.cluster_futures import ClusterFutures

    splits = load_dataset("synthetic", seed=0, size="small")
    with (
        local_cluster(2) as cluster,
        Client(cluster) as client,
    ):
        pages = pages_from_splits(splits, client)
        for table in (pages.train, pages.valid, pages.single_modal):
            assert table.npartitions >= 2  # one partition per worker at least (was 1: one worker trained alone)
        futures = ClusterFutures(client)
        pinned = futures.pin(futures.parts(pages.train))
        wait(pinned)
        who = client.who_has(pinned)
        assert {w for f in pinned for w in who[f.key]} == set(client.ncores())  # every worker holds rows
        rows = sum(client.gather(client.map(len, pinned)))
        assert rows == len(splits.train)


def test_eval_at_an_address_that_is_not_a_dask_scheduler_is_one_line(census_run) -> None:
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        result = invoke(["eval", "-m", str(census_run["run"]), "--engine", "dask", "--scheduler", address])
    finally:
        server.shutdown()
        server.server_close()
    assert_one_line_error(result, "it is not a Dask scheduler")


def test_a_real_scheduler_passes_the_probe() -> None:
    from distributed import LocalCluster

    from smar_ltr.distributed.cluster import check_scheduler_answers, dask_client

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        check_scheduler_answers(cluster.scheduler_address)
        with dask_client(cluster.scheduler_address) as client:
            assert client.submit(sum, [1, 2]).result() == 3
