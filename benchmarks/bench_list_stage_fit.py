"""Training cost of the list stage: stages 3-4 of ``fit`` (annotation, supervision, reranker) without and with
``list_stage.mode=offsets``, side by side in one process.

The single-modal rankers and features are fitted once (:func:`smar_ltr.pipeline.prepare`); then
:func:`smar_ltr.pipeline.fit_prepared` runs alternately without and with the list stage, ``--repeats`` times each,
and the medians and their ratio are reported. Data: the simulator's large preset (``--n-candidates``), reranker
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
    staged = dataclasses.replace(base, list_stage=dataclasses.replace(base.list_stage, mode="offsets"))
    prepared = prepare(base, splits)
    seconds: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(args.repeats):
        for name, cfg in (("without", base), ("with", staged)):
            t0 = time.perf_counter()
            fit_prepared(cfg, prepared)
            seconds[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    md = "\n".join(
        [
            f"Stages 3-4 of `fit` on {len(prepared.train):,} training candidates (budget 0.1, `top`), {TREES} trees, "
            f"{THREADS} threads, median of {args.repeats} alternating runs:",
            "",
            "| list stage | seconds (runs) | ratio |",
            "|---|---|---|",
            f"| off | {med['without']:.2f} ({', '.join(f'{v:.2f}' for v in seconds['without'])}) | 1 |",
            f"| `offsets` (2 folds) | {med['with']:.2f} ({', '.join(f'{v:.2f}' for v in seconds['with'])}) | "
            f"{med['with'] / med['without']:.2f} |",
        ]
    )
    write_results("list_stage_fit", {"seconds": seconds, "medians": med, "n_train": len(prepared.train)}, md)
    print(md)


if __name__ == "__main__":
    main()
