"""The ``smar-ltr`` Typer application: each command a thin wrapper over one library function."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="smar-ltr",
    help="Whole-page reranking with single-modal supervision (SMAR) on gradient-boosted trees.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
    _register()
    app()


_register()
