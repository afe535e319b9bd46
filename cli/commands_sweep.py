"""``smar-ltr sweep``: the annotation-cost curve, a thin wrapper over :func:`smar_ltr.experiments.sweep.sweep`."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.options import (
    Backend,
    ConfigFile,
    DataDir,
    Dataset,
    Overrides,
    Plugins,
    Quiet,
    StrictPlugins,
    Validation,
)
from smar_ltr.cli.root import app
from smar_ltr.cli.run_settings import build_config, load_plugins
from smar_ltr.errors import ConfigError


def parse_list(text: str, what: str, cast: Any) -> tuple:
    """``"0.1, 0.2"`` -> ``(0.1, 0.2)``; one clear error naming ``what`` on a bad item."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ConfigError(f"{what} is empty; give a comma-separated list")
    out = []
    for item in items:
        try:
            out.append(cast(item))
        except ValueError:
            raise ConfigError(f"{what}: {item!r} is not a valid {cast.__name__}") from None
    return tuple(out)


def _progress_bar(enabled: bool):
    """A rich progress bar on stderr, or nothing (quiet, or stderr is not a terminal)."""
    if not enabled:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


@app.command("sweep")
@one_line_errors
def sweep_command(
    dataset: Dataset = "synthetic",
    data_dir: DataDir = None,
    budgets: Annotated[str, typer.Option("--budgets", help="Comma-separated budgets p in (0, 1].")] = (
        "0.05,0.1,0.2,0.3,1"
    ),
    strategies: Annotated[str, typer.Option("--strategies", help="Comma-separated strategies.")] = "top,iso-anchor",
    seeds: Annotated[int, typer.Option("--seeds", help="Number of seeds (0 .. N-1).", min=1)] = 3,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default sweeps/<dataset>).")] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Report the cheapest budget within this much of full supervision.")
    ] = 0.005,
    metric: Annotated[str, typer.Option("--metric", help="Metric of the curve.")] = "ndcg@10",
    reference: Annotated[
        str, typer.Option("--reference", help="full_supervision | full_supervision_up.")
    ] = "full_supervision",
    config: ConfigFile = None,
    overrides: Overrides = None,
    backend: Backend = None,
    validation: Validation = None,
    plugins: Plugins = None,
    strict_plugins: StrictPlugins = False,
    quiet: Quiet = False,
) -> None:
    """Annotation-cost curve: SMAR and the baselines over budgets, strategies and seeds (resumable)."""
    from smar_ltr.cli.workflow import load_splits
    from smar_ltr.experiments.sweep import SweepSpec, sweep

    load_plugins(plugins, strict_plugins)
    base = build_config(dataset, data_dir, config, overrides, None, None, backend, None, validation)
    spec = SweepSpec(
        base=base,
        budgets=parse_list(budgets, "--budgets", float),
        strategies=parse_list(strategies, "--strategies", str),
        seeds=tuple(range(seeds)),
    ).validate()
    out_dir = out or Path("sweeps") / dataset
    with _progress_bar(not quiet and sys.stderr.isatty()) as bar:
        task = bar.add_task(f"sweep {dataset}", total=len(spec.cells())) if bar is not None else None

        def on_cell(cell, index, total, reused) -> None:
            if bar is not None:
                what = f"{cell.strategy} p={cell.budget:g} seed {cell.seed}" + (" (cached)" if reused else "")
                bar.update(task, completed=index + 1, description=what)

        result = sweep(
            spec, load_splits, out_dir, metric=metric, tolerance=tolerance, reference=reference, on_cell=on_cell
        )
    for c in result.cheapest:
        at = "none" if c["budget"] is None else f"budget {c['budget']:g} ({c['label_fraction']:.1%} of labels)"
        typer.echo(f"{c['method']}: cheapest within {tolerance:g} of {reference}: {at}")
    typer.echo(f"sweep written to {out_dir} ({', '.join(p.name for p in result.paths.values())})")
