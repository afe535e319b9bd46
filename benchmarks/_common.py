"""Helpers shared by the benchmark scripts: machine description, CPU time, cProfile tables, result writing."""

from __future__ import annotations

import cProfile
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent, check=False)
    return out.stdout.strip()


def machine() -> dict:
    """Where and with what a benchmark ran."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        if commit and _git("status", "--porcelain", "--untracked-files=no"):  # what ran is not that commit's code
            commit += " + uncommitted changes"
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "memory_gib": mem_gb,
        "git_commit": commit,
        "versions": {
            p: version(p)
            for p in ("smar-ltr", "numpy", "pandas", "pyarrow", "scipy", "numba", "lightgbm", "xgboost", "catboost")
        },
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def profile_tables(prof: cProfile.Profile, n: int = 15) -> dict:
    """cProfile's top ``n`` entries by cumulative and by own time, as text."""
    out = {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(n)
        out[key] = buf.getvalue().strip()
    return out


def write_results(name: str, payload: dict, markdown: str) -> tuple[Path, Path]:
    """Write ``results/<name>.json`` and ``results/<name>.md`` (machine info included)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **payload}
    js = RESULTS / f"{name}.json"
    md = RESULTS / f"{name}.md"
    js.write_text(json.dumps(payload, indent=2))
    m = payload["machine"]
    header = (
        f"Machine: {m['cpu']} ({m['cpu_count']} cores, {m['memory_gib']} GiB), {m['platform']}, Python {m['python']}; "
        f"commit {m['git_commit']}; {m['date']}; load average at the end {m['load_avg']} (1, 5, 15 min).\n"
        f"Command: `{m['command']}`\n\n"
    )
    md.write_text(header + markdown + "\n")
    return js, md
