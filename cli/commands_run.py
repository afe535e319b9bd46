"""``smar-ltr fit``, ``eval`` and ``rerank``: thin wrappers over :mod:`smar_ltr.pipeline` and friends."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.formatting import render_report
from smar_ltr.cli.options import (
    Backend,
    Budget,
    ConfigFile,
    DataDir,
    Engine,
    Format,
    Overrides,
    Plugins,
    Quiet,
    Scheduler,
    Seed,
    Strategy,
    StrictPlugins,
    Validation,
    Workers,
)
from smar_ltr.cli.progress import stage_progress
from smar_ltr.cli.root import app
from smar_ltr.cli.run_settings import build_config, checked_data_dir, load_plugins
from smar_ltr.config import RunConfig
from smar_ltr.core.artifact_kinds import check_not_inside
from smar_ltr.core.atomic import check_output_location, write_table
from smar_ltr.datasets.io import read_frame
from smar_ltr.errors import ConfigError, DatasetError, SettingNote


def _check_engine(engine: str, scheduler: str | None, workers: int | None) -> bool:
    """True for ``--engine dask``; refuses cluster flags without it."""
    if engine not in ("local", "dask"):
        raise ConfigError(f"--engine must be local or dask, got {engine!r}")
    if engine == "local" and (scheduler is not None or workers is not None):
        raise ConfigError("--scheduler/--workers need --engine dask")
    return engine == "dask"


def note_budget_not_simulated(budget: float | None, summary: dict[str, Any]) -> None:
    """A note when an explicit ``--budget`` was not simulated because strategy ``auto`` found annotated rows
    missing and trained on the annotated rows (``given``): the labels read are then the table's, not the budget's."""
    choice = summary.get("strategy_choice") or {}
    if budget is None or choice.get("requested") != "auto" or choice.get("used") != "given":
        return
    cost = summary.get("labels", {})
    warnings.warn(
        f"--budget {budget:g} is not used: {choice.get('reason', 'some training rows are not annotated')} "
        f"(strategy auto -> given, {cost.get('label_fraction', 0.0):.1%} of the candidates' labels read); pass "
        "--strategy top (or another) to simulate the budget on the annotated rows",
        SettingNote,
        stacklevel=2,
    )


@app.command("fit")
@one_line_errors
def fit_command(
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name (default: synthetic).")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    overrides: Overrides = None,
    budget: Budget = None,
    strategy: Strategy = None,
    validation: Validation = None,
    backend: Backend = None,
    seed: Seed = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run directory to write.")] = None,
    plugins: Plugins = None,
    strict_plugins: StrictPlugins = False,
    quiet: Quiet = False,
    engine: Engine = "local",
    scheduler: Scheduler = None,
    workers: Workers = None,
) -> None:
    """Fit single-modal rankers, pick the annotation budget and train the SMAR whole-page reranker."""
    from smar_ltr.cli.workflow import default_out, fit_and_save
    from smar_ltr.serving.run_dir import check_output_dir

    load_plugins(plugins, strict_plugins)
    cfg = build_config(dataset, data_dir, config, overrides, budget, strategy, backend, seed, validation)
    run_dir = check_output_dir(out or default_out(cfg))  # before any work: a bad --out costs nothing
    with stage_progress(quiet) as say:
        if _check_engine(engine, scheduler, workers):
            from smar_ltr.cli.workflow_dask import fit_run_dask
            from smar_ltr.serving.run_dir import save_run

            model = fit_run_dask(cfg, scheduler, workers, say)
            run_dir, valid_metrics = save_run(model, run_dir), None
        else:
            outcome = fit_and_save(cfg, run_dir, progress=say, announce_loading=say.live)
            model, run_dir, valid_metrics = outcome.model, outcome.run_dir, outcome.valid_metrics
    note_budget_not_simulated(budget, model.summary)
    a, cost = model.summary["annotation"], model.summary["labels"]
    typer.echo(f"run written to {run_dir}")
    line = (
        f"dataset={cfg.dataset} backend={cfg.reranker.backend} strategy={a['strategy']} "
        f"page labels used={cost['labels_used']} ({cost['train_labels']} training + {cost['validation_labels']} "
        f"validation = {cost['label_fraction']:.1%} of {cost['candidates']} candidates)"
    )
    ndcg = (valid_metrics or {}).get("ndcg@10")
    if ndcg is not None:
        # a report over every labelled validation row, read after training: outside the label count (say so)
        line += f" valid ndcg@10={ndcg:.4f} (report on all labelled validation rows; not in the count)"
    typer.echo(line)


@app.command("eval")
@one_line_errors
def eval_command(
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name (default: synthetic).")] = None,
    data_dir: DataDir = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Run directory from `smar-ltr fit`.")] = None,
    config: ConfigFile = None,
    overrides: Overrides = None,
    budget: Budget = None,
    strategy: Strategy = None,
    validation: Validation = None,
    backend: Backend = None,
    seed: Seed = None,
    split: Annotated[str, typer.Option("--split", help="test | valid.")] = "test",
    fmt: Format = "table",
    exclude_constant: Annotated[
        bool,
        typer.Option(
            "--exclude-constant-queries", help="Leave queries whose labels are all equal out of every metric."
        ),
    ] = False,
    plugins: Plugins = None,
    strict_plugins: StrictPlugins = False,
    quiet: Quiet = False,
    engine: Engine = "local",
    scheduler: Scheduler = None,
    workers: Workers = None,
) -> None:
    """Report SMAR and every baseline on the test split (fits first when --model is not given)."""
    from smar_ltr.cli.workflow import evaluate
    from smar_ltr.serving.run_dir import load_run

    if fmt not in ("table", "json", "markdown"):
        raise ConfigError(f"--format must be table, json or markdown, got {fmt!r}")
    if split not in ("test", "valid"):
        raise ConfigError(f"--split must be test or valid, got {split!r}")
    load_plugins(plugins, strict_plugins)
    loaded = None
    if model is not None:
        if any(v is not None for v in (config, budget, strategy, validation, backend, seed)) or overrides:
            raise ConfigError(
                "--model brings its own config; drop --config/--set/--budget/--strategy/--validation/--backend/--seed"
            )
        loaded = load_run(model)
        cfg = loaded.config
        if dataset is not None or data_dir is not None:
            fields = {
                **cfg.to_dict(),
                "dataset": dataset or cfg.dataset,
                "data_dir": checked_data_dir(data_dir) or cfg.data_dir,
            }
            from smar_ltr.config import from_dict
            from smar_ltr.pipeline import check_compatible

            check_compatible(loaded, fields["dataset"])  # before the run's data folder is read as another dataset's
            cfg = from_dict(RunConfig, fields)
        elif cfg.data_dir and not Path(cfg.data_dir).is_dir():
            where = "is relative to the folder the run was fitted in" if not Path(cfg.data_dir).is_absolute() else ""
            raise ConfigError(
                f"the run's data folder {cfg.data_dir!r} {where or 'no longer exists'}"
                f"{' and does not exist from here' if where else ''}; pass --data-dir with the folder of its data"
            )
    else:
        cfg = build_config(dataset, data_dir, config, overrides, budget, strategy, backend, seed, validation)
    with stage_progress(quiet) as say:
        if _check_engine(engine, scheduler, workers):
            from smar_ltr.cli.workflow_dask import evaluate_run_dask

            report = evaluate_run_dask(cfg, loaded, split, scheduler, workers, say)
        else:
            report = evaluate(
                cfg, loaded, split=split, progress=say, exclude_constant_queries=exclude_constant, run_dir=model
            )
    typer.echo(render_report(report, fmt))


#: Table formats ``rerank`` writes, by file suffix.
RERANK_SUFFIXES = (".parquet", ".csv")


@app.command("rerank")
@one_line_errors
def rerank_command(
    model: Annotated[Path, typer.Option("--model", "-m", help="Run directory from `smar-ltr fit`.")],
    input: Annotated[Path, typer.Option("--input", "-i", help="Pages to rerank (parquet or CSV).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the pages with score and rank.")],
    plugins: Plugins = None,
    engine: Engine = "local",
    scheduler: Scheduler = None,
    workers: Workers = None,
) -> None:
    """Score and rank pages with a saved run; adds ``score`` and ``rank`` columns.

    With ``--engine dask``, ``--input`` is a folder of query-aligned parquet partitions
    (``smar-ltr datasets partition``) and ``--output`` a new folder of scored partitions.
    """
    from smar_ltr.serving.ranking import rerank
    from smar_ltr.serving.run_dir import load_run

    dask = _check_engine(engine, scheduler, workers)
    check_output_location(output, "folder" if dask else "file", "--output")  # before any work
    check_not_inside(output, "--output", ConfigError)  # never into a run, a campaign, ...
    if output.resolve() == input.resolve():
        raise ConfigError("--output is the --input file; write the ranked pages to another file (the input is kept)")
    if not dask and output.suffix.lower() not in RERANK_SUFFIXES:
        raise ConfigError(f"--output {str(output)!r} must end in .parquet or .csv (the format is taken from it)")
    if not dask and input.suffix.lower() not in (*RERANK_SUFFIXES, ".feather"):
        raise DatasetError(f"input file {str(input)!r} must end in .parquet, .csv or .feather")
    load_plugins(plugins, False)
    run = load_run(model)
    if dask:
        from smar_ltr.cli.workflow_dask import rerank_folder

        n_parts = rerank_folder(run, input, output, scheduler, workers)
        typer.echo(f"reranked {n_parts} partitions -> {output}")
        return
    frame = read_frame(input, dtype={"qid": str, "item_id": str, "modality": str})  # ids such as "007" stay intact
    out = rerank(run, frame)
    write_table(out, output)
    typer.echo(f"reranked {out['qid'].nunique()} queries ({len(out)} candidates) -> {output}")
