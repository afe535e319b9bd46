"""Training cost of the quality options: stages 3-4 of ``fit`` (annotation, supervision, reranker) with the
defaults, with the list stage (``list_stage.mode=offsets``), with single-modal pool pairs
(``consistency.pool_weight=1``) and with both, side by side in one process.

The single-modal rankers and features are fitted once (:func:`smar_ltr.pipeline.prepare`; the pool's reranker
inputs are computed before timing starts, as a sweep computes them once); then
:func:`smar_ltr.pipeline.fit_prepared` runs each setting in turn, ``--repeats`` rounds, and the medians and their
ratio to the defaults are reported. Data: the simulator's large preset (``--n-candidates``), reranker
settings as in ``bench_rerank.py`` (100 trees, 2 threads). Usage::

    python benchmarks/bench_list_stage_fit.py [--n-candidates 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results

from smar_ltr.config import load_config
from smar_ltr.datasets.synthetic import SyntheticConfig, make_synthetic
from smar_ltr.pipeline import fit_prepared, prepare

TREES, THREADS = 100, 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-candidates", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    splits = make_synthetic(SyntheticConfig.large(n_candidates=args.n_candidates, seed=args.seed))
    fast = {"n_estimators": TREES, "learning_rate": 0.1, "early_stopping_rounds": 0, "n_threads": THREADS}
    base = load_config(None, None, single_modal=fast, reranker=fast, seed=args.seed, budget={"budget": 0.1})
    stage = {"list_stage": {"mode": "offsets"}}
    pool = {"consistency": {"pool_weight": 1.0}}
    settings = {"defaults": {}, "list stage (`offsets`, 2 folds)": stage, "pool pairs (w=1)": pool}
    settings["pool pairs + list stage"] = {**stage, **pool}
    configs = {
        name: dataclasses.replace(base, **{k: dataclasses.replace(getattr(base, k), **v) for k, v in ch.items()})
        for name, ch in settings.items()
    }
    prepared = prepare(base, splits)
    t0 = time.perf_counter()
    pool_rows = prepared.pool_rows(configs["pool pairs (w=1)"])  # inputs computed once, timed on their own
    pool_inputs = time.perf_counter() - t0
    assert pool_rows is not None
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.repeats):
        for name, cfg in configs.items():
            t0 = time.perf_counter()
            fit_prepared(cfg, prepared)
            seconds[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    rows = [
        f"| {name} | {med[name]:.2f} ({', '.join(f'{v:.2f}' for v in seconds[name])}) | "
        f"{med[name] / med['defaults']:.2f} |"
        for name in configs
    ]
    md = "\n".join(
        [
            f"Stages 3-4 of `fit` on {len(prepared.train):,} training candidates (budget 0.1, `top`; the pool pairs "
            f"add {len(pool_rows.frame):,} pool rows), {TREES} trees, {THREADS} threads, median of {args.repeats} "
            "rounds (each round runs every setting in turn):",
            "",
            "| setting | seconds (runs) | ratio to defaults |",
            "|---|---|---|",
            *rows,
            "",
            f"Computing the pool rows' reranker inputs (features of {len(pool_rows.frame):,} rows and the single-modal "
            f"scores), once per prepared run, took {pool_inputs:.2f} s more (not in the rows above).",
        ]
    )
    write_results(
        "list_stage_fit",
        {
            "seconds": seconds,
            "medians": med,
            "n_train": len(prepared.train),
            "n_pool": len(pool_rows.frame),
            "pool_inputs_s": pool_inputs,
        },
        md,
    )
    print(md)


if __name__ == "__main__":
    main()
