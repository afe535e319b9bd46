"""Short OpenMP spin waits, so LightGBM and XGBoost do not stall when their cores are busy with other work.

Both boost on OpenMP, which on Linux wheels is GNU libgomp. Between parallel regions libgomp's idle threads spin up
to 300,000 times before they sleep. On a machine whose cores are also taken by something else (a second job, a
parallel test run, ``smar-ltr tune --n-jobs 2``), the spinning threads use the time slices the working thread
needs, and a boosting round waits for teammates that are descheduled: on a 2-core machine ``fit`` took 117 s
instead of 3.5 s with LightGBM and 77 s instead of 5 s with XGBoost (``benchmarks/bench_wait_policy.py``,
``benchmarks/results/wait_policy.md``). ``GOMP_SPINCOUNT=1000`` bounds the spinning and removed the stall; on an
idle machine it cost LightGBM nothing measurable and made XGBoost 1.7x faster. ``OMP_WAIT_POLICY=PASSIVE`` (no
spinning at all) removed the stall too, but made an idle LightGBM fit 2.6x slower.

libgomp reads these variables once, when it is loaded, so :func:`bound_openmp_spinning` has to run before
LightGBM, XGBoost or scikit-learn is imported and before smar_ltr's numba kernels first run. The ``smar-ltr``
command calls it first thing; a Python program can call it at its top, or set ``GOMP_SPINCOUNT=1000`` in its
environment. Other OpenMP runtimes (LLVM's libomp on macOS) ignore ``GOMP_SPINCOUNT``.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["SPINCOUNT", "WAIT_VARIABLES", "bound_openmp_spinning"]

#: Spins before an idle libgomp thread sleeps (libgomp's default: 300,000).
SPINCOUNT = "1000"
#: The environment variables that choose libgomp's wait behaviour; one already set is the user's choice.
WAIT_VARIABLES: tuple[str, ...] = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def bound_openmp_spinning(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set ``GOMP_SPINCOUNT`` to :data:`SPINCOUNT` unless a wait setting was chosen already.

    Parameters
    ----------
    environ : MutableMapping of str to str, optional
        The environment to change (default ``os.environ``, which child processes inherit).

    Returns
    -------
    bool
        Whether it was set: False when ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is present, which is left as is.
    """
    env = os.environ if environ is None else environ
    if any(name in env for name in WAIT_VARIABLES):
        return False
    env["GOMP_SPINCOUNT"] = SPINCOUNT
    return True
