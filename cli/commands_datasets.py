"""``smar-ltr datasets list | info | fetch | make-fixture``: thin wrappers over :mod:`smar_ltr.datasets`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.formatting import table
from smar_ltr.cli.options import DataDir
from smar_ltr.cli.root import app
from smar_ltr.cli.run_settings import parse_options
from smar_ltr.errors import ConfigError

datasets_app = typer.Typer(
    name="datasets",
    help="List, inspect, download and generate datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets_app, name="datasets")

ListFormat = Annotated[str, typer.Option("--format", "-f", help="table | json.")]
Options = Annotated[
    list[str] | None,
    typer.Option("--option", "-o", help="Adapter option KEY=VALUE, e.g. -o unjoined=keep (repeatable)."),
]


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, got {fmt!r}")


def check_seed(seed: int) -> None:
    """Refuse a seed numpy cannot take."""
    if not 0 <= seed < 2**32:
        raise ConfigError(f"--seed must be an integer in [0, 2**32 - 1], got {seed}")


@datasets_app.command("list")
@one_line_errors
def list_command(fmt: ListFormat = "table") -> None:
    """Registered datasets: name, description, licence and whether the files are present locally."""
    from smar_ltr.datasets import DATASETS, get_dataset

    _check_format(fmt)
    rows: list[dict[str, Any]] = []
    for name in DATASETS.names():
        spec = get_dataset(name)
        rows.append(
            {
                "name": name,
                "description": spec.description,
                "licence": spec.licence,
                "present": spec.is_present(),
                "location": "generated" if not spec.needs_files else str(spec.default_dir()),
            }
        )
    if fmt == "json":
        typer.echo(json.dumps(rows))
        return
    headers = ["name", "present", "licence", "description"]
    typer.echo(
        table(
            headers,
            [[r["name"], "yes" if r["present"] else "no", r["licence"], r["description"]] for r in rows],
        )
    )


@datasets_app.command("info")
@one_line_errors
def info_command(
    name: Annotated[str, typer.Argument(help="Dataset name (see `smar-ltr datasets list`).")],
    data_dir: DataDir = None,
    fmt: ListFormat = "table",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the dataset's splits.")] = 0,
    options: Options = None,
) -> None:
    """Load a dataset and show queries, candidates, modality mix and label distribution per split."""
    from smar_ltr.datasets import load_dataset
    from smar_ltr.datasets.pages import summarize_splits

    _check_format(fmt)
    check_seed(seed)
    summary = summarize_splits(load_dataset(name, data_dir, seed=seed, **parse_options(options)))
    if fmt == "json":
        typer.echo(json.dumps(summary))
        return
    info = summary["info"]
    typer.echo(f"dataset {summary['name']}: {info.get('source', '')}")
    typer.echo(f"licence: {info.get('licence', '')}")
    if info.get("citation"):
        typer.echo(f"citation: {info['citation']}")
    rows = []
    for role, s in summary["splits"].items():
        mix = ", ".join(f"{m} {n}" for m, n in s["modalities"].items()) or "-"
        labels = ", ".join(f"{k}:{v}" for k, v in s["labels"].items()) or "-"
        rows.append([role, str(s["queries"]), str(s["candidates"]), mix, f"{s['label'] or '-'} {labels}"])
    typer.echo(table(["split", "queries", "candidates", "modalities", "labels"], rows))
    feats = ", ".join(f"{m} {n}" for m, n in summary["modal_features"].items()) or "-"
    typer.echo(f"features: page {summary['page_features']}; per modality: {feats}")
    typer.echo(f"shipped upstream scores: {'yes' if summary['has_upstream_scores'] else 'no'}")
    for key in ("label_rule", "relevance_rule_text", "join_rule", "unjoined_notes", "unjoined_documents"):
        if key in info:
            typer.echo(f"{key}: {info[key]}")


@datasets_app.command("fetch")
@one_line_errors
def fetch_command(
    name: Annotated[str, typer.Argument(help="Dataset to download (qilin, baidu, baidu-ultr).")],
    dest: Annotated[Path | None, typer.Option("--dest", help="Target directory (default $SMAR_LTR_DATA/NAME).")] = None,
    accept_licence: Annotated[
        bool, typer.Option("--accept-licence", help="Accept the dataset's terms where they must be accepted.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Download a dataset's files with progress and sha256 verification."""
    from smar_ltr.datasets import get_dataset
    from smar_ltr.datasets.fetch import fetch

    target = dest if dest is not None else get_dataset(name).default_dir()
    files = fetch(name, target, accept_licence=accept_licence, progress=not quiet)
    typer.echo(f"{len(files)} files ready in {target}")


@datasets_app.command("make-fixture")
@one_line_errors
def make_fixture_command(
    name: Annotated[str, typer.Argument(help="baidu | qilin | baidu-ultr | pages.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files into.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated data.")] = 0,
    layout: Annotated[str | None, typer.Option("--layout", help="baidu-ultr only: raw (default) | processed.")] = None,
) -> None:
    """Write a small file set with exactly the real schema of a dataset (for tests and trying an adapter)."""
    from smar_ltr.core.artifact_kinds import check_not_inside
    from smar_ltr.datasets.fixtures import make_fixture
    from smar_ltr.datasets.io import check_output_location

    if layout is not None and name != "baidu-ultr":
        raise ConfigError(f"--layout applies to baidu-ultr only, not {name!r}")
    check_seed(seed)
    check_output_location(out, "folder", "--out")
    check_not_inside(out, "--out", ConfigError)
    extra = {"layout": layout} if layout is not None else {}
    files = make_fixture(name, out, seed=seed, **extra)
    typer.echo(f"wrote {len(files)} files to {out}")


@datasets_app.command("partition")
@one_line_errors
def partition_command(
    source: Annotated[
        Path, typer.Argument(help="Page table file (parquet or CSV), or a `pages` folder (train, valid, test, ...).")
    ],
    out: Annotated[Path, typer.Argument(help="New folder for the query-aligned parquet partitions.")],
    rows_per_partition: Annotated[
        int, typer.Option("--rows-per-partition", help="Rows per partition (cut at the next query boundary).")
    ] = 100_000,
) -> None:
    """Rewrite a page table as parquet partitions that each hold whole queries (input of --engine dask).

    A `pages` folder becomes a folder with one sub-folder of partitions per table (and its meta.json): pass it to
    `fit`/`eval --engine dask --dataset pages --data-dir OUT` and the workers read it, nothing on the client.
    """
    from smar_ltr.core.artifact_kinds import check_not_inside
    from smar_ltr.datasets.io import read_frame
    from smar_ltr.distributed.partitions import write_partitioned

    check_not_inside(out, "the output folder", ConfigError)  # never into a run, a campaign, ...
    if source.is_dir():
        from smar_ltr.distributed.folders import partition_pages_folder

        counts = partition_pages_folder(source, out, rows_per_partition)
        done = ", ".join(f"{role} {n}" for role, n in counts.items())
        typer.echo(f"wrote partitions to {out} ({done})")
        return
    frame = read_frame(source, dtype={"qid": str, "item_id": str, "modality": str})
    files = write_partitioned(frame, out, rows_per_partition)
    typer.echo(f"wrote {len(files)} partitions to {out}")
