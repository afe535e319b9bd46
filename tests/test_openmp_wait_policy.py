"""The CLI makes idle OpenMP threads sleep (``OMP_WAIT_POLICY=PASSIVE``) unless the user chose a policy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: Runs the console-script entry point on ``--help`` and prints the policy the process ends with, and whether an
#: OpenMP library was loaded before the entry point set it (it must not be: libgomp reads the variable at load).
PROBE = """
import os, sys
from smar_ltr.cli.app import main
loaded_early = any(m in sys.modules for m in ("lightgbm", "xgboost", "sklearn", "catboost"))
sys.argv = ["smar-ltr", "--help"]
try:
    main()
except SystemExit:
    pass
print(os.environ.get("OMP_WAIT_POLICY"), loaded_early)
"""


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE"), ("passive", "passive")])
def test_the_cli_sets_a_passive_wait_policy_unless_one_is_given(given, expected) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == [expected, "False"]
