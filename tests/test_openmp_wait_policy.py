"""The CLI bounds libgomp's spin waits (``GOMP_SPINCOUNT``) before any OpenMP library loads, unless told otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from smar_ltr.core.openmp_env import SPINCOUNT, WAIT_VARIABLES, bound_openmp_spinning

#: Runs the console-script entry point on ``--help`` and prints the wait settings the process ends with, and
#: whether an OpenMP runtime was loaded before the entry point ran (it must not be: libgomp reads them at load): a
#: GBDT library or scikit-learn imported, or (on Linux) any libgomp / libomp mapped into the process, e.g. by a numba
#: kernel compiled at import time.
PROBE = """
import os, sys
from smar_ltr.cli.app import main
loaded_early = any(m in sys.modules for m in ("lightgbm", "xgboost", "sklearn", "catboost"))
if os.path.exists("/proc/self/maps"):
    with open("/proc/self/maps") as maps:
        loaded_early = loaded_early or any(lib in maps.read() for lib in ("libgomp", "libomp", "libiomp"))
sys.argv = ["smar-ltr", "--help"]
try:
    main()
except SystemExit:
    pass
print(os.environ.get("GOMP_SPINCOUNT"), os.environ.get("OMP_WAIT_POLICY"), loaded_early)
"""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, [SPINCOUNT, "None"]),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, ["None", "ACTIVE"]),
        ({"OMP_WAIT_POLICY": "passive"}, ["None", "passive"]),
        ({"GOMP_SPINCOUNT": "5"}, ["5", "None"]),
    ],
)
def test_the_cli_bounds_spinning_unless_a_wait_setting_is_given(given, expected) -> None:
    env = {k: v for k, v in os.environ.items() if k not in WAIT_VARIABLES}
    env.update(given)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-3:] == [*expected, "False"]


def test_bound_openmp_spinning_changes_only_an_environment_without_a_wait_setting() -> None:
    env: dict[str, str] = {"PATH": "/bin"}
    assert bound_openmp_spinning(env) is True
    assert env == {"PATH": "/bin", "GOMP_SPINCOUNT": SPINCOUNT}
    assert bound_openmp_spinning(env) is False  # already set: left alone
    chosen = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert bound_openmp_spinning(chosen) is False
    assert chosen == {"OMP_WAIT_POLICY": "ACTIVE"}
