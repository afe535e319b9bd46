"""``tune --n-jobs 2`` under OpenMP's wait settings: parallel trials share the cores like two jobs would.

``tune --n-jobs N`` runs Optuna trials as N threads of one process, each fitting LightGBM with its own OpenMP team,
so on a 2-core machine two teams of 2 threads take turns on 2 cores: the oversubscription that makes libgomp's
default spinning stall a busy machine (``bench_wait_policy.py``). This times the whole ``smar-ltr tune`` command
(imports, data and the shared single-modal stage included) with ``--n-jobs`` 1 and 2, with libgomp's default and
with the ``GOMP_SPINCOUNT`` the command sets. "Unset" runs the Typer app without ``main()``, the entry point that
sets the variable; each cell is a fresh interpreter, rounds interleave the cells, medians are reported. Usage::

    python benchmarks/bench_tune_wait.py [--repeats 3] [--trials 6]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results

from smar_ltr.core.openmp_env import SPINCOUNT, WAIT_VARIABLES

#: ``smar-ltr`` without ``main()``: the Typer app alone never touches the wait variables.
APP = "import sys; from smar_ltr.cli.app import app; sys.argv[0] = 'smar-ltr'; app()"
POLICIES: dict[str, dict[str, str]] = {
    "unset (libgomp default)": {},
    f"GOMP_SPINCOUNT={SPINCOUNT}": {"GOMP_SPINCOUNT": SPINCOUNT},
}


def run_tune(n_jobs: int, trials: int, policy: dict[str, str], limit: float) -> float:
    """Wall seconds of one ``smar-ltr tune`` in a fresh interpreter; ``inf`` past ``limit``."""
    env = {k: v for k, v in os.environ.items() if k not in WAIT_VARIABLES}
    env.update(policy)
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, "-c", APP, "tune", "--set", "dataset_options.size=small", "--trials", str(trials)]
        argv += ["--n-jobs", str(n_jobs), "--out", out, "--quiet", "--seed", "0"]
        t0 = time.perf_counter()
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            return float("inf")
        if done.returncode != 0:
            raise SystemExit(f"tune failed (n_jobs={n_jobs}, {policy}):\n{done.stderr}")
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--limit", type=float, default=600.0, help="seconds before a cell counts as stalled")
    args = parser.parse_args()
    run_tune(1, 1, POLICIES[f"GOMP_SPINCOUNT={SPINCOUNT}"], args.limit)  # warm-up: numba cache, file cache
    seconds: dict[str, list[float]] = {}
    loads: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            for name, policy in POLICIES.items():
                key = f"{n_jobs} | {name}"
                loads.setdefault(key, []).append(round(os.getloadavg()[0], 2))
                seconds.setdefault(key, []).append(run_tune(n_jobs, args.trials, policy, args.limit))
                print(key, round(seconds[key][-1], 1), "load", loads[key][-1], flush=True)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    rows = [
        f"| {key.split(' | ')[0]} | {key.split(' | ')[1]} | {med[key]:.1f} ({', '.join(f'{v:.1f}' for v in values)}) "
        f"| {min(loads[key]):.2f}-{max(loads[key]):.2f} |"
        for key, values in seconds.items()
    ]
    md = "\n".join(
        [
            f"`smar-ltr tune --set dataset_options.size=small --trials {args.trials} --n-jobs N` (LightGBM, default "
            f"settings: 2 threads per fit), wall seconds of the whole command; median of {args.repeats} interleaved "
            f"rounds, each a fresh interpreter; `inf` = still running after {args.limit:.0f} s:",
            "",
            "| n_jobs | wait setting | seconds (runs) | 1-min load before |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    finite = {k: [v if math.isfinite(v) else None for v in values] for k, values in seconds.items()}  # JSON has no inf
    med_json = {k: v if math.isfinite(v) else None for k, v in med.items()}
    write_results("wait_policy_tune", {"seconds": finite, "medians": med_json, "load_before": loads}, md)
    print(md)


if __name__ == "__main__":
    main()
