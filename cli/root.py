"""The ``smar-ltr`` Typer application object (spaCy's ``cli/_util.py`` pattern): every command module imports it
from here and registers its commands on it; :mod:`smar_ltr.cli.app` imports the command modules and runs it."""

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
