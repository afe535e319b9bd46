"""The annotation-cost curve with every baseline and paired tests over seeds (``smar_ltr.experiments.sweep``), small settings.

Tasks (settings fixed before running, the library's defaults; nothing tuned on a seed or on the test split):

* ``synthetic-small``: the built-in simulator, ``size=small`` preset (results describe the simulator, not users);
* ``yahoo``: the semi-synthetic whole-page task from the real Yahoo LTR sample (``letor`` adapter on
  ``shared/data/lightgbm_yahoo_sample``, default ``SemiSyntheticConfig``).

Per task: budgets 0.1 and 0.3, strategy ``top``, seeds 0-4, default GBDT settings. Outputs per task in
``results/sweep_<task>/`` (``curve.png``, ``results.md``, ``results.json``) and a summary with the machine in
``results/sweep.md`` / ``.json``. The cell cache lives in ``build/sweep_cache`` (resumable, not committed)::

    python benchmarks/bench_sweep.py [--tasks synthetic-small yahoo] [--seeds 5] [--budgets 0.1 0.3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_results

from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import load_config
from smar_ltr.experiments.sweep import SweepSpec, sweep

YAHOO = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightgbm_yahoo_sample"
CACHE = Path(__file__).resolve().parents[1] / "build" / "sweep_cache"
TOLERANCE = 0.005


def task_fields(task: str) -> dict:
    if task == "synthetic-small":
        return {"dataset": "synthetic", "dataset_options": {"size": "small"}}
    if task == "yahoo":
        return {"dataset": "letor", "data_dir": str(YAHOO)}
    raise SystemExit(f"unknown task {task!r}; tasks: synthetic-small, yahoo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["synthetic-small", "yahoo"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--strategies", nargs="+", default=["top"])
    args = parser.parse_args()
    summary = {}
    md = []
    for task in args.tasks:
        t0 = time.perf_counter()
        spec = SweepSpec(
            base=load_config(None, None, **task_fields(task)),
            budgets=tuple(args.budgets),
            strategies=tuple(args.strategies),
            seeds=tuple(range(args.seeds)),
        )
        out = RESULTS / f"sweep_{task}"
        result = sweep(spec, load_splits, out, tolerance=TOLERANCE, cache_dir=CACHE / task)
        wall = time.perf_counter() - t0
        summary[task] = {"wall_s": round(wall, 1), "cheapest": result.cheapest, "comparisons": result.comparisons}
        md += [
            f"## {task} (wall {wall:.0f} s)",
            "",
            f"Details: `sweep_{task}/results.md`, plot `sweep_{task}/curve.png`.",
            "",
        ]
        md += [
            f"- {c['a']} vs {c['b']} at p={c['budget']:g}: diff {c['mean_diff']:+.4f}, paired t p="
            f"{'n/a' if c['t_p'] is None else format(c['t_p'], '.3f')}, {c['verdict']}"
            for c in result.comparisons
        ]
        md.append("")
        print(f"{task}: {wall:.0f} s", flush=True)
    write_results(
        "sweep",
        {
            "tasks": args.tasks,
            "seeds": args.seeds,
            "budgets": args.budgets,
            "strategies": args.strategies,
            "tolerance": TOLERANCE,
            "summary": summary,
        },
        "Machine shared with ~8 other engineers' jobs while this ran: wall times are not speed measurements.\n\n"
        + "\n".join(md),
    )


if __name__ == "__main__":
    main()
