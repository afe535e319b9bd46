"""``smar-ltr export``: a thin wrapper over :func:`smar_ltr.export.export_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.root import app


@app.command("export")
@one_line_errors
def export_command(
    model: Annotated[Path, typer.Option("--model", "-m", help="Run directory from `smar-ltr fit`.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="es-ltr | opensearch-ltr | vespa | solr.")],
    out: Annotated[Path, typer.Option("--out", help="Model file to write (.json); companions go next to it.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Model / feature-set / store name (default: the file's stem).")
    ] = None,
) -> None:
    """Write the run's reranker for a search engine: model file plus feature-set template / rank profile."""
    from smar_ltr.errors import ExportError
    from smar_ltr.export import FORMATS, export_model
    from smar_ltr.serving.run_dir import load_run

    if fmt not in FORMATS:  # checked before loading the run, so a typo costs nothing
        raise ExportError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    export = export_model(load_run(model), fmt, out, name)
    for line in export.notes:
        typer.echo(f"[smar-ltr] {line}", err=True)
    for path in export.files:
        typer.echo(f"wrote {path}")
