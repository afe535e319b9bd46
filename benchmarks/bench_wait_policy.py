"""What OpenMP's wait settings cost ``fit`` on an idle and on a busy machine, side by side in one run.

LightGBM and XGBoost run their boosting rounds on OpenMP (GNU libgomp on Linux wheels). Between parallel regions
libgomp's idle threads spin, unless ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep. When every core is also wanted by
something else (a second job, a parallel test run, ``tune --n-jobs 2``), the spinning threads take the time slices
the working thread needs and each round waits for descheduled teammates (LightGBM issue 5039 describes the same
stall). ``GOMP_SPINCOUNT`` bounds the spinning instead (libgomp's default is 300,000 spins, 0 with ``PASSIVE``).
Both are read once, when libgomp loads, so each measurement is a fresh interpreter.

Each cell is the wall time of ``smar_ltr.fit`` (imports and data generation excluded) on the simulator's small
preset at budget 0.1, default GBDT settings (2 threads), one backend for both the single-modal rankers and the
reranker; ``busy`` starts one spinning Python process per usable core first. One untimed warm-up fit per backend
runs first; rounds interleave the conditions and the medians of ``--repeats`` rounds are reported. Usage::

    python benchmarks/bench_wait_policy.py [--repeats 5] [--backends lightgbm xgboost]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results

from smar_ltr.core.openmp_env import SPINCOUNT, WAIT_VARIABLES

#: The timed job, run in a fresh interpreter per cell; prints its seconds as JSON.
JOB = """
import json, sys, time
import smar_ltr
from smar_ltr.datasets import load_dataset
backend = sys.argv[1]
splits = load_dataset("synthetic", size="small", seed=0)
gbdt = {"backend": backend}
t0 = time.perf_counter()
smar_ltr.fit(splits, budget={"budget": 0.1}, single_modal=gbdt, reranker=gbdt)
print(json.dumps(time.perf_counter() - t0))
"""
#: The settings compared: libgomp's default (spin up to 300,000 times before sleeping), sleep at once, and short spins.
POLICIES: dict[str, dict[str, str]] = {
    "unset (libgomp default)": {},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    f"GOMP_SPINCOUNT={SPINCOUNT}": {"GOMP_SPINCOUNT": SPINCOUNT},  # what the smar-ltr command sets
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
}


@contextlib.contextmanager
def spinners(n: int) -> Iterator[None]:
    """``n`` processes that each keep one core busy for as long as the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def run_job(backend: str, policy: dict[str, str]) -> float:
    """Seconds of one ``fit`` in a fresh interpreter with the variables ``policy`` (and no other wait setting)."""
    env = {k: v for k, v in os.environ.items() if k not in WAIT_VARIABLES}
    env.update(policy)
    out = subprocess.run([sys.executable, "-c", JOB, backend], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"the timed fit failed ({backend}, {policy}):\n{out.stderr}")
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["lightgbm", "xgboost"])
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    seconds: dict[str, list[float]] = {}
    loads: dict[str, list[float]] = {}  # 1-minute load average before each cell: was "idle" idle?
    for backend in args.backends:  # warm-up, not timed: compiles numba's cached kernels and warms the file cache
        run_job(backend, {})
    for _ in range(args.repeats):
        for load in ("idle", "busy"):
            with spinners(cores if load == "busy" else 0):
                for backend in args.backends:
                    for name, policy in POLICIES.items():
                        key = f"{backend} | {load} | {name}"
                        loads.setdefault(key, []).append(round(os.getloadavg()[0], 2))
                        seconds.setdefault(key, []).append(run_job(backend, policy))
                        print(key, round(seconds[key][-1], 2), "load", loads[key][-1], flush=True)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    rows = []
    for key, values in seconds.items():
        backend, load, name = key.split(" | ")
        unset = med[f"{backend} | {load} | {next(iter(POLICIES))}"]
        runs = ", ".join(f"{v:.2f}" for v in values)
        rows.append(f"| {backend} | {load} | {name} | {med[key]:.2f} ({runs}) | {med[key] / unset:.2f} |")
    md = "\n".join(
        [
            f"`smar_ltr.fit` on the simulator's small preset (budget 0.1, default GBDT settings: 2 threads), seconds "
            f"without imports; `busy` = {cores} spinning processes, one per usable core; median of {args.repeats} "
            "interleaved rounds, each cell a fresh interpreter:",
            "",
            "| backend | machine | wait setting | seconds (runs) | ratio to unset |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    idle = [v for k, values in loads.items() if " | idle | " in k for v in values]
    md += (
        f"\n\n1-minute load average before the idle cells: {min(idle):.2f}-{max(idle):.2f} (the cell before, and "
        f"the spinners of the busy block, still weigh in it); before the busy cells it includes the {cores} spinners."
    )
    write_results("wait_policy", {"seconds": seconds, "medians": med, "load_before": loads, "cores": cores}, md)
    print(md)


if __name__ == "__main__":
    main()
