"""One process vs a 2-worker Dask LocalCluster on the same synthetic pool: wall time, peak memory, quality.

Usage::

    python benchmarks/bench_dask.py --candidates 2000000                     # the issue's size
    python benchmarks/bench_dask.py --candidates 200000 --tight-memory 1GiB  # a quick check

The simulator (``size=large``, ``n_candidates`` rows over all tables) is written once as a ``pages`` folder of
parquet tables and partitioned by query (``smar-ltr datasets partition``). The one-process run loads the tables
(``--dataset pages``); the Dask runs read the partitions on the workers (nothing is loaded on the client). Both fit
the XGBoost SMAR run with the same config and seed and score the test pages. Reported: wall time of each fit
(side by side in one run) and the ratio, peak RSS of the single process and of each Dask worker
(``ru_maxrss``), and the SMAR NDCG@10 of both. ``--tight-memory`` adds a third run whose workers get that
``memory_limit``, below the peak memory of the one-process fit of the same pool, and must still complete. Results go to
``benchmarks/results/dask.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import write_results

from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import load_config
from smar_ltr.datasets.pages import load_pages
from smar_ltr.distributed import dask_client, fit_dask
from smar_ltr.distributed.folders import pages_from_folders, partition_pages_folder
from smar_ltr.metrics.ranking import evaluate
from smar_ltr.pipeline import fit


def _peak_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` would be inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _ndcg(model, frame) -> float:
    scores = model.score(frame)
    return evaluate(frame["page_label"].to_numpy(float), scores, frame["qid"].to_numpy(), ["ndcg@10"])["ndcg@10"]


def _write_pages_folder(cfg, out: Path) -> dict:
    """The simulator's tables as a ``pages`` folder (with meta.json), and their sizes."""
    splits = load_splits(cfg)
    out.mkdir(parents=True)
    sizes = {}
    for role in ("single_modal", "train", "valid", "test"):
        frame = getattr(splits, role)
        frame.to_parquet(out / f"{role}.parquet", index=False)
        sizes[role] = len(frame)
    meta = {"modal_features": splits.modal_features, "page_features": splits.page_features}
    if "max_label" in splits.info:
        meta["max_label"] = int(splits.info["max_label"])
    (out / "meta.json").write_text(json.dumps(meta))
    sizes["train_table_mib"] = round(float(splits.train.memory_usage(deep=True).sum() / 2**20), 1)
    return sizes


def _dask_run(cfg, parts: Path, test, memory_limit: str) -> dict:
    start = time.perf_counter()
    with dask_client(workers=2, memory_limit=memory_limit) as client:
        model = fit_dask(cfg, pages_from_folders(parts), client)
        peaks = client.run(_peak_rss_mib)
    return {
        "fit_s": time.perf_counter() - start,
        "worker_peak_rss_mib": sorted(round(v, 1) for v in peaks.values()),
        "memory_limit": memory_limit,
        "ndcg@10": _ndcg(model, test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2_000_000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--tight-memory", default=None, help="memory_limit of a third run, e.g. 600MiB")
    parser.add_argument("--rows-per-partition", type=int, default=100_000)
    args = parser.parse_args()
    gbdt = {"backend": "xgboost", "n_estimators": args.trees, "early_stopping_rounds": 20}
    simulator = load_config(
        None, None, dataset="synthetic", dataset_options={"size": "large", "n_candidates": args.candidates}
    )
    work = Path(tempfile.mkdtemp(prefix="bench_dask."))
    sizes = _write_pages_folder(simulator, work / "pages")
    counts = partition_pages_folder(work / "pages", work / "parts", args.rows_per_partition)
    cfg = load_config(None, None, dataset="pages", data_dir=str(work / "pages"), single_modal=gbdt, reranker=gbdt)
    splits = load_pages(work / "pages")
    start = time.perf_counter()
    local, _ = fit(cfg, splits)
    local_s = time.perf_counter() - start
    train_mib = sizes["train_table_mib"]
    test = splits.test
    result = {
        "candidates_all_tables": sum(sizes[r] for r in ("single_modal", "train", "valid", "test")),
        "train_candidates": sizes["train"],
        "train_table_mib": train_mib,
        "partitions": counts,
        "local": {"fit_s": local_s, "peak_rss_mib": round(_peak_rss_mib(), 1), "ndcg@10": _ndcg(local, test)},
    }
    del splits, local
    dask_cfg = load_config(None, None, dataset="pages", data_dir=str(work / "parts"), single_modal=gbdt, reranker=gbdt)
    result["dask_2_workers"] = _dask_run(dask_cfg, work / "parts", test, "auto")
    result["wall_time_ratio_dask_over_local"] = result["dask_2_workers"]["fit_s"] / local_s
    if args.tight_memory:
        result["dask_tight_memory"] = _dask_run(dask_cfg, work / "parts", test, args.tight_memory)
    lines = [
        f"Pool: {result['candidates_all_tables']:,} candidates over all tables ({result['train_candidates']:,} training "
        f"candidates, {train_mib:.0f} MiB in memory; partitions per table {counts}); XGBoost, {args.trees} trees max, "
        "early stopping 20. The Dask runs read the partitions on the workers.",
        f"Load average (1, 5, 15 min) at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}; the machine (2 "
        "cores) was shared with other engineers' jobs, so absolute times are inflated and the ratio indicative. "
        "The Dask fit time includes starting the cluster and reading the partitions.",
        "",
        "| run | fit wall time (s) | peak RSS (MiB) | test NDCG@10 |",
        "|---|---|---|---|",
        f"| one process | {local_s:.1f} | {result['local']['peak_rss_mib']} | {result['local']['ndcg@10']:.4f} |",
    ]
    for key in ("dask_2_workers", "dask_tight_memory"):
        if key in result:
            r = result[key]
            lines.append(
                f"| Dask LocalCluster, 2 workers, memory_limit={r['memory_limit']} | {r['fit_s']:.1f} | "
                f"per worker {', '.join(map(str, r['worker_peak_rss_mib']))} | {r['ndcg@10']:.4f} |"
            )
    lines.append("")
    lines.append(f"Wall-time ratio Dask / one process: {result['wall_time_ratio_dask_over_local']:.2f}.")
    shutil.rmtree(work, ignore_errors=True)
    _, md = write_results("dask", result, "\n".join(lines))
    print(md.read_text())
    assert np.isfinite(result["local"]["ndcg@10"])


if __name__ == "__main__":
    main()
