"""The ``smar-ltr`` Typer application: each command a thin wrapper over one library function."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="smar-ltr",
    help="Whole-page reranking with single-modal supervision (SMAR) on gradient-boosted trees.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: Typer's rich panels print a "<bool>" placeholder after flags that take no value
    rich_markup_mode=None,
)


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
