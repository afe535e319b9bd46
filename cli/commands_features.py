"""``smar-ltr features list | show | extract``: thin wrappers over :mod:`smar_ltr.features`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.formatting import table
from smar_ltr.cli.options import DataDir, Plugins, StrictPlugins
from smar_ltr.cli.root import app
from smar_ltr.cli.run_settings import parse_options
from smar_ltr.errors import ConfigError

features_app = typer.Typer(
    name="features",
    help="List, inspect and extract the registered features (built-ins and plugins).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(features_app, name="features")

ListFormat = Annotated[str, typer.Option("--format", "-f", help="table | json.")]
Selection = Annotated[
    list[str] | None,
    typer.Option("--features", help="Feature name or glob, e.g. 'smar.text.*' (repeatable; default: all built-ins)."),
]
Options = Annotated[
    list[str] | None,
    typer.Option("--option", "-o", help="Dataset option KEY=VALUE, e.g. -o size=small (repeatable)."),
]


def _prepare(plugins: list[Path] | None, strict: bool) -> None:
    from smar_ltr.features import load_plugins

    load_plugins(plugins or (), strict=strict)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, got {fmt!r}")


@features_app.command("list")
@one_line_errors
def list_command(fmt: ListFormat = "table", plugins: Plugins = None, strict_plugins: StrictPlugins = False) -> None:
    """Registered features: name, scope, inputs, modalities and a one-line description."""
    from smar_ltr.features import FEATURES

    _check_format(fmt)
    _prepare(plugins, strict_plugins)
    rows = []
    for name in FEATURES.names():
        info = FEATURES.get(name)().describe()
        info["module"] = FEATURES.origin(name)
        rows.append(info)
    if fmt == "json":
        typer.echo(json.dumps(rows))
        return
    cells = [
        [
            r["name"], r["scope"], ",".join(r["inputs"]) or "-",
            "all" if r["modalities"] is None else ",".join(r["modalities"]), r["description"],
        ]
        for r in rows
    ]  # fmt: skip
    typer.echo(table(["name", "scope", "inputs", "modalities", "description"], cells))


@features_app.command("show")
@one_line_errors
def show_command(
    name: Annotated[str, typer.Argument(help="Feature name (see `smar-ltr features list`).")],
    fmt: ListFormat = "table",
    plugins: Plugins = None,
    strict_plugins: StrictPlugins = False,
) -> None:
    """Full documentation of one feature: metadata, parameters and where it is defined."""
    from smar_ltr.features.extract import feature_details

    _check_format(fmt)
    _prepare(plugins, strict_plugins)
    info = feature_details(name)
    if fmt == "json":
        typer.echo(json.dumps(info, default=str))
        return
    where = f"{info['file']}:{info['line']}" if info["line"] else str(info["file"])
    params = ", ".join(f"{p['name']}={p['default']!r}" for p in info["parameters"]) or "none"
    learns = "statistics in fit (saved with the run)" if info["stateful"] else "nothing (stateless)"
    upstream = "reads upstream_score (after the single-modal rankers)" if info["requires_upstream"] else "no"
    lines = [
        f"{info['name']}  (version {info['version']}, scope {info['scope']}, dtype {info['dtype']})",
        "",
        info["doc"],
        "",
        f"inputs:      {', '.join(info['inputs']) or '-'}",
        f"modalities:  {'all' if info['modalities'] is None else ', '.join(info['modalities'])}",
        f"outputs:     {', '.join(info['outputs'])}",
        f"parameters:  {params}",
        f"learns:      {learns}",
        f"upstream:    {upstream}",
        f"class:       {info['class']}",
        f"module:      {info['module']}",
        f"defined in:  {where}",
    ]
    typer.echo("\n".join(lines))


@features_app.command("extract")
@one_line_errors
def extract_command(
    out: Annotated[
        Path, typer.Option("--out", "--output", help="File to write (parquet; CSV too with --model), atomically.")
    ],
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help="Dataset name (see `smar-ltr datasets list`).")
    ] = None,
    data_dir: DataDir = None,
    split: Annotated[str, typer.Option("--split", help="train | valid | test.")] = "test",
    features: Selection = None,
    options: Options = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of generated data and seeded splits.")] = 0,
    save_set: Annotated[
        Path | None, typer.Option("--save-set", help="Also write the fitted feature set (JSON) here.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Run directory: write its reranker's exact input matrix for --input."),
    ] = None,
    input: Annotated[
        Path | None, typer.Option("--input", "-i", help="Pages (parquet or CSV) to featurize with --model.")
    ] = None,
    plugins: Plugins = None,
    strict_plugins: StrictPlugins = False,
) -> None:
    """Write features: a dataset split's features, or (with --model) the exact reranker inputs of some pages."""
    from smar_ltr.core.artifact_kinds import check_not_inside
    from smar_ltr.core.atomic import check_output_location, write_atomic, write_table

    for path, flag in ((out, "--out"), (save_set, "--save-set")):
        if path is not None:
            check_not_inside(path, flag, ConfigError)  # never into a run, a campaign, ...
    if model is not None:
        if any(v is not None for v in (dataset, data_dir, features, options, save_set)) or split != "test":
            raise ConfigError(
                "--model brings its own features; drop --dataset/--data-dir/--split/--features/--option/--save-set"
            )
        _extract_for_model(model, input, out, plugins, strict_plugins)
        return
    from smar_ltr.datasets import load_dataset
    from smar_ltr.features.extract import extract_split

    if dataset is None:
        raise ConfigError("features extract needs --dataset NAME, or --model RUN --input PAGES")
    if input is not None:
        raise ConfigError("--input is for --model RUN; with --dataset the pages come from the dataset's --split")
    if out.suffix != ".parquet":
        raise ConfigError(f"--out must end in .parquet, got {str(out)!r}")
    check_output_location(out, "file", "--out")
    if save_set is not None:  # both locations checked before any work, so a bad one costs no output
        if save_set.suffix != ".json":
            raise ConfigError(f"--save-set must be a .json file, got {str(save_set)!r}")
        check_output_location(save_set, "file", "--save-set")
    _prepare(plugins, strict_plugins)
    splits = load_dataset(dataset, data_dir, seed=seed, **parse_options(options))
    frame, fs = extract_split(splits, split, features)
    if save_set is not None:
        text = json.dumps(fs.to_dict())
        write_atomic(save_set, lambda tmp: tmp.write_text(text))
    write_table(frame, out)
    typer.echo(f"wrote {len(frame)} rows x {len(fs.output_columns)} feature columns ({len(fs)} features) to {out}")


def _extract_for_model(
    model: Path, pages: Path | None, out: Path, plugins: list[Path] | None, strict_plugins: bool
) -> None:
    """``features extract --model``: the run's reranker inputs for ``pages``, named as in `smar-ltr export`."""
    from smar_ltr.core.atomic import write_table
    from smar_ltr.datasets.io import read_frame
    from smar_ltr.export import reranker_input_matrix
    from smar_ltr.serving.run_dir import load_run

    if pages is None:
        raise ConfigError("--model needs --input PAGES (the page table to featurize)")
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigError(f"--output must end in .parquet or .csv, got {str(out)!r}")
    _prepare(plugins, strict_plugins)
    run = load_run(model)
    frame = read_frame(pages, dtype={"qid": str, "item_id": str, "modality": str})  # ids such as "007" stay intact
    table = reranker_input_matrix(run, frame)
    write_table(table, out)
    typer.echo(f"wrote {len(table)} rows x {len(run.feature_names)} reranker inputs (+ qid, item_id) to {out}")
