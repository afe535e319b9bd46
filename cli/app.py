"""The ``smar-ltr`` command line: registers every command on the app (:mod:`smar_ltr.cli.root`) and runs it.

Each command is a thin wrapper over one library function. The command modules import the app from
:mod:`smar_ltr.cli.root`, never this module or each other, so the import graph has no circle.
"""

from __future__ import annotations

from smar_ltr.cli.root import app


def _register() -> None:
    # Imported for their side effect of adding commands to ``app``.
    from smar_ltr.cli import (  # noqa: F401
        commands_annotate,
        commands_datasets,
        commands_export,
        commands_features,
        commands_run,
        commands_sweep,
        commands_tune,
    )


def main() -> None:
    """Console-script entry point."""
    from smar_ltr.cli.errors import interrupt_on_sigterm
    from smar_ltr.core.openmp_env import bound_openmp_spinning

    # libgomp reads it once, when it loads: the command modules (registered when this module is imported) load
    # LightGBM, XGBoost, scikit-learn and the numba kernels only inside their commands (test_openmp_wait_policy.py)
    bound_openmp_spinning()
    interrupt_on_sigterm()
    _register()
    app()


_register()
