"""Shared ``Annotated`` option types of the smar-ltr commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Dataset = Annotated[str, typer.Option("--dataset", "-d", help="Dataset name (see `smar-ltr datasets list`).")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Directory with the dataset files.")]
ConfigFile = Annotated[Path | None, typer.Option("--config", "-c", help="Run config (JSON or TOML).")]
Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set reranker.learning_rate=0.1."),
]
Budget = Annotated[float | None, typer.Option("--budget", "-p", help="Fraction of page candidates to label (0, 1].")]
Strategy = Annotated[
    str | None, typer.Option("--strategy", "-s", help="auto | given | all | top | band | random | iso-anchor.")
]
Validation = Annotated[
    str | None,
    typer.Option(
        "--validation",
        help=(
            "Validation labels that early stopping on labels reads (counted): budgeted (default) | full | none. "
            "The default early stopping, on the consistency loss, reads none."
        ),
    ),
]
Backend = Annotated[str | None, typer.Option("--backend", "-b", help="lightgbm | xgboost | catboost.")]
Seed = Annotated[int | None, typer.Option("--seed", help="Random seed (same seed + data = same model).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages on stderr.")]
Plugins = Annotated[
    list[Path] | None, typer.Option("--plugins", help="Python file(s) registering features, imported first.")
]
StrictPlugins = Annotated[bool, typer.Option("--strict-plugins", help="Fail when a feature plugin cannot load.")]
Format = Annotated[str, typer.Option("--format", "-f", help="table | json | markdown.")]
Engine = Annotated[str, typer.Option("--engine", help="local | dask (needs smar-ltr[dask]).")]
Scheduler = Annotated[
    str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (--engine dask).")
]
Workers = Annotated[
    int | None, typer.Option("--workers", help="Start a local Dask cluster of N worker processes (--engine dask).")
]
