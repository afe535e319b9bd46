"""``smar-ltr fit``, ``eval`` and ``rerank``: thin wrappers over :mod:`smar_ltr.pipeline` and friends."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from smar_ltr.cli.app import app
from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.formatting import render_report
from smar_ltr.cli.options import (
    Backend,
    Budget,
    ConfigFile,
    DataDir,
    Format,
    Overrides,
    Plugins,
    Quiet,
    Seed,
    Strategy,
    StrictPlugins,
    Validation,
)
from smar_ltr.cli.progress import stage_progress
from smar_ltr.config import RunConfig, load_config
from smar_ltr.datasets.io import check_output_location, read_frame, write_atomic
from smar_ltr.errors import ConfigError, DatasetError, SmarError, SmarWarning


def _load_plugins(plugins: list[Path] | None, strict: bool) -> None:
    from smar_ltr.features import FEATURES

    FEATURES.load(strict=strict)
    for path in plugins or []:
        FEATURES.load_file(path)


def build_config(
    dataset: str | None,
    data_dir: Path | None,
    config: Path | None,
    overrides: list[str] | None,
    budget: float | None,
    strategy: str | None,
    backend: str | None,
    seed: int | None,
    validation: str | None = None,
) -> RunConfig:
    """Defaults < config file < --set < explicit flags."""
    fields: dict[str, Any] = {
        "dataset": dataset,
        "data_dir": checked_data_dir(data_dir),
        "seed": seed,
    }
    b = {k: v for k, v in (("budget", budget), ("strategy", strategy), ("validation", validation)) if v is not None}
    if b:
        fields["budget"] = b
    if backend is not None:
        fields["reranker"] = {"backend": backend}
        fields["single_modal"] = {"backend": backend}
    return load_config(config, overrides, **fields)


def checked_data_dir(data_dir: Path | None) -> str | None:
    """``--data-dir`` as an absolute path (a run stays usable from any folder), refused when it is a file."""
    if data_dir is None:
        return None
    if data_dir.exists() and not data_dir.is_dir():  # a missing folder: the dataset's adapter names its files
        raise ConfigError(f"--data-dir {str(data_dir)!r} is a file; pass the folder that holds it")
    return str(data_dir.resolve())


def default_out(cfg: RunConfig) -> Path:
    """``runs/<dataset>-<backend>-<strategy>-p<budget>-seed<seed>``."""
    return (
        Path("runs")
        / f"{cfg.dataset}-{cfg.reranker.backend}-{cfg.budget.strategy}-p{cfg.budget.budget:g}-seed{cfg.seed}"
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
) -> None:
    """Fit single-modal rankers, pick the annotation budget and train the SMAR whole-page reranker."""
    from smar_ltr.artifacts import check_output_dir, save_run
    from smar_ltr.evaluation import evaluate_run
    from smar_ltr.pipeline import fit, load_splits

    _load_plugins(plugins, strict_plugins)
    cfg = build_config(dataset, data_dir, config, overrides, budget, strategy, backend, seed, validation)
    run_dir = check_output_dir(out or default_out(cfg))  # before any work: a bad --out costs nothing
    with stage_progress(quiet) as say:
        if say.live:  # a sign of life on a terminal; plain logs start with the first stage
            say(f"loading dataset '{cfg.dataset}'")
        splits = load_splits(cfg)
        model, state = fit(cfg, splits, progress=say)
        metrics = None
        if splits.valid is not None and len(splits.valid):
            say("scoring the validation split")
            report = evaluate_run(cfg, model, state, splits, split="valid", methods=("smar",))
            metrics = {"valid": report.result("smar").metrics}
        say(f"writing {run_dir}")
        run_dir = save_run(model, run_dir, metrics=metrics)
    a, cost = model.summary["annotation"], model.summary["labels"]
    typer.echo(f"run written to {run_dir}")
    line = (
        f"dataset={cfg.dataset} backend={cfg.reranker.backend} strategy={a['strategy']} "
        f"page labels used={cost['labels_used']} ({cost['train_labels']} training + {cost['validation_labels']} "
        f"validation = {cost['label_fraction']:.1%} of {cost['candidates']} candidates)"
    )
    if metrics:
        ndcg = metrics["valid"].get("ndcg@10")
        if ndcg is not None:
            line += f" valid ndcg@10={ndcg:.4f}"
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
) -> None:
    """Report SMAR and every baseline on the test split (fits first when --model is not given)."""
    from smar_ltr.artifacts import load_baselines, load_run
    from smar_ltr.evaluation import evaluate_run

    if fmt not in ("table", "json", "markdown"):
        raise ConfigError(f"--format must be table, json or markdown, got {fmt!r}")
    if split not in ("test", "valid"):
        raise ConfigError(f"--split must be test or valid, got {split!r}")
    _load_plugins(plugins, strict_plugins)
    loaded = None
    if model is not None:
        loaded = load_run(model)
        if any(v is not None for v in (config, budget, strategy, validation, backend, seed)) or overrides:
            raise ConfigError(
                "--model brings its own config; drop --config/--set/--budget/--strategy/--validation/--backend/--seed"
            )
        cfg = loaded.config
        if dataset is not None or data_dir is not None:
            fields = {
                **cfg.to_dict(),
                "dataset": dataset or cfg.dataset,
                "data_dir": checked_data_dir(data_dir) or cfg.data_dir,
            }
            from smar_ltr.config import from_dict

            cfg = from_dict(RunConfig, fields)
        elif cfg.data_dir and not Path(cfg.data_dir).is_dir():
            where = "is relative to the folder the run was fitted in" if not Path(cfg.data_dir).is_absolute() else ""
            raise ConfigError(
                f"the run's data folder {cfg.data_dir!r} {where or 'no longer exists'}"
                f"{' and does not exist from here' if where else ''}; pass --data-dir with the folder of its data"
            )
    else:
        cfg = build_config(dataset, data_dir, config, overrides, budget, strategy, backend, seed, validation)
    stored = load_baselines(model) if model is not None else None
    with stage_progress(quiet) as say:
        report = evaluate_run(
            cfg,
            model=loaded,
            split=split,
            progress=say,
            exclude_constant_queries=exclude_constant,
            baselines=stored,
        )
    if model is not None and stored:
        store_baselines(model, stored)
    typer.echo(render_report(report, fmt))


def store_baselines(run_dir: Path, models: dict[str, Any]) -> None:
    """Keep the baselines ``eval --model`` fitted with the run; a run folder that cannot be written only warns."""
    from smar_ltr.artifacts import save_baselines

    try:
        save_baselines(run_dir, models)
    except (OSError, SmarError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        warnings.warn(
            f"baseline models not stored in {str(run_dir)!r} ({reason}); the next eval fits them again",
            SmarWarning,
            stacklevel=2,
        )


#: Table formats ``rerank`` reads and writes, by file suffix.
RERANK_SUFFIXES = (".parquet", ".csv")


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"input file {str(path)!r} does not exist")
    if path.suffix.lower() not in (*RERANK_SUFFIXES, ".feather"):
        raise DatasetError(f"input file {str(path)!r} must end in .parquet, .csv or .feather")
    return read_frame(path, dtype={"qid": str, "item_id": str, "modality": str} if path.suffix == ".csv" else None)


def write_table_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write parquet (or CSV by suffix) to a temporary sibling, then rename into place."""
    if path.suffix.lower() == ".csv":
        write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))
    else:
        write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


@app.command("rerank")
@one_line_errors
def rerank_command(
    model: Annotated[Path, typer.Option("--model", "-m", help="Run directory from `smar-ltr fit`.")],
    input: Annotated[Path, typer.Option("--input", "-i", help="Pages to rerank (parquet or CSV).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the pages with score and rank.")],
    plugins: Plugins = None,
) -> None:
    """Score and rank pages with a saved run; adds ``score`` and ``rank`` columns."""
    from smar_ltr.artifacts import load_run
    from smar_ltr.pipeline import rerank

    check_output_location(output, "file", "--output")
    if output.suffix.lower() not in RERANK_SUFFIXES:
        raise ConfigError(f"--output {str(output)!r} must end in .parquet or .csv (the format is taken from it)")
    _load_plugins(plugins, False)
    run = load_run(model)
    frame = _read_table(input)
    out = rerank(run, frame)
    write_table_atomically(out, output)
    typer.echo(f"reranked {out['qid'].nunique()} queries ({len(out)} candidates) -> {output}")
