"""``smar-ltr tune``: a thin wrapper over :func:`smar_ltr.experiments.tuning.tune`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.options import ConfigFile, DataDir, Overrides, Plugins, Quiet, Seed, Validation
from smar_ltr.cli.progress import stage_progress
from smar_ltr.cli.root import app
from smar_ltr.cli.run_settings import build_config, load_plugins
from smar_ltr.core.atomic import check_output_location
from smar_ltr.errors import ConfigError


@app.command("tune")
@one_line_errors
def tune_command(
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name (default: synthetic).")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    overrides: Overrides = None,
    seed: Seed = None,
    validation: Validation = None,
    trials: Annotated[int, typer.Option("--trials", "-n", help="New trials to run in this call.")] = 20,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop starting trials after this many seconds.")
    ] = None,
    storage: Annotated[str | None, typer.Option("--storage", help="Optuna RDB URL (default: sqlite in --out).")] = None,
    study_name: Annotated[str, typer.Option("--study-name", help="Study to create or resume.")] = "smar-ltr",
    metric: Annotated[str, typer.Option("--metric", help="Validation metric to maximise.")] = "ndcg@10",
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Recommend the cheapest point within this of the best.")
    ] = 0.005,
    budget: Annotated[
        float | None, typer.Option("--budget", "-p", help="Fix the budget: single-objective mode.")
    ] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs", help="Parallel trials (not reproducible when > 1).")] = 1,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("runs/tune"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json.")] = "table",
    plugins: Plugins = None,
    quiet: Quiet = False,
) -> None:
    """Tune budget, strategy, consistency weights and GBDT parameters: metric against labels spent."""
    from smar_ltr.cli.workflow import tune_study
    from smar_ltr.metrics.ranking import parse_metric

    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, got {fmt!r}")
    if trials < 1:
        raise ConfigError("--trials must be >= 1")
    if n_jobs < 1:
        raise ConfigError("--n-jobs must be >= 1")
    parse_metric(metric)
    check_output_location(out, "folder", "--out")
    load_plugins(plugins, False)
    cfg = build_config(dataset, data_dir, config, overrides, None, None, None, seed, validation, False)
    with stage_progress(quiet or fmt == "json") as say:
        result = tune_study(
            cfg,
            out,
            progress=say,
            n_trials=trials,
            timeout=timeout,
            storage=storage,
            study_name=study_name,
            metric=metric,
            tolerance=tolerance,
            fixed_budget=budget,
            n_jobs=n_jobs,
        )
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict()))
        return
    typer.echo(f"study {result.study_name!r} in {result.storage}: {result.n_trials} completed trials")
    typer.echo(
        f"every trial scored on the same {result.study_labels} validation page labels "
        f"({result.study_label_fraction:.1%} of the candidates), read once by the study on top of what each trial reads"
    )
    typer.echo(f"Pareto front ({metric} against fraction of page labels):")
    for p in result.pareto:
        typer.echo(
            f"  labels={p['label_fraction']:.3f}  {metric}={p['metric']:.4f}  strategy={p['params'].get('strategy')}"
        )
    r = result.recommended
    typer.echo(f"recommended: labels={r['label_fraction']:.3f} {metric}={r['metric']:.4f} -> {r['config_path']}")
    typer.echo(f"fit it with: smar-ltr fit --config {r['config_path']}")
    for plot in result.plots:
        typer.echo(f"plot: {plot}")
