"""``smar-ltr annotate plan | import | correct | skip | status | export``: thin wrappers over
:mod:`smar_ltr.campaign`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from smar_ltr.cli.errors import one_line_errors
from smar_ltr.cli.options import Backend, Budget, ConfigFile, DataDir, Overrides, Quiet, Seed, Strategy, Validation
from smar_ltr.cli.root import app
from smar_ltr.errors import ConfigError

annotate_app = typer.Typer(
    name="annotate",
    help="Run an annotation campaign: plan a budgeted worklist, import answers round by round, export tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(annotate_app, name="annotate")

Campaign = Annotated[Path, typer.Argument(help="Campaign directory (written by `annotate plan`).")]
OutputFormat = Annotated[str, typer.Option("--format", "-f", help="table | json.")]
PagesDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where the campaign's pages are now (default: where they were).")
]


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, got {fmt!r}")


def _campaign_pages(campaign: Path, data_dir: Path | None) -> Any:
    from smar_ltr.campaign import load_settings
    from smar_ltr.datasets import load_dataset

    source = load_settings(campaign)["source"]
    where = data_dir if data_dir is not None else source.get("data_dir")
    return load_dataset(source["dataset"], where, seed=source.get("seed", 0), **source.get("options", {}))


def _print_round(report: Any, campaign: Path, fmt: str, source: Path | None = None) -> None:
    if fmt == "json":
        typer.echo(json.dumps(report.to_dict()))
        return
    if report.all_skipped and source is not None:
        typer.echo(f"every task answered in {source.name} was skipped: {report.new_skips} marked unjudgeable")
    recorded = [
        f"{n} {what}"
        for n, what in (
            (report.new_answers, "new answers"),
            (report.new_skips, "skips (unjudgeable)"),
            (report.corrections, "corrections"),
        )
        if n
    ]
    if recorded:
        typer.echo(f"recorded {', '.join(recorded)}")
    for tie in report.ties:
        typer.echo(f"  tie: task {tie['task_id']} answers {tie['grades']} -> grade {tie['grade']}")
    if report.asked and report.reopened:
        typer.echo(
            f"{len(report.asked)} more tasks asked in round {report.round} (in place of skipped tasks, or what "
            "corrected answers require)"
        )
    if report.done:
        typer.echo(
            f"campaign done: {report.labels_used} labels (budget {report.label_budget}) in {report.round} rounds; "
            f"export it with: smar-ltr annotate export {campaign} --out DIR"
        )
        return
    typer.echo(
        f"round {report.round}: {report.tasks} tasks to answer "
        f"(labels used {report.labels_used} of {report.label_budget})"
    )
    typer.echo(f"  worklist:     {report.batch_csv}  (fill the label column)")
    typer.echo(f"  Label Studio: {report.labelstudio_json}  (config: {campaign / 'labelstudio-config.xml'})")
    shown = report.batch.drop(columns=["label", "annotator", "page"]).head(10)
    typer.echo(shown.to_string(index=False, max_colwidth=40))
    if report.tasks > len(shown):
        typer.echo(f"... and {report.tasks - len(shown)} more")
    typer.echo(f"then: smar-ltr annotate import {campaign} {report.batch_csv}")


@annotate_app.command("plan")
@one_line_errors
def plan_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="New campaign directory.")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name (e.g. pages).")] = None,
    data_dir: DataDir = None,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Reuse this run's single-modal rankers instead of training.")
    ] = None,
    budget: Budget = None,
    strategy: Strategy = None,
    validation: Validation = None,
    seed: Seed = None,
    label_scale: Annotated[
        str | None,
        typer.Option("--label-scale", help="Grades annotators give, LOW..HIGH (default 0..max_label, else 0..4)."),
    ] = None,
    annotators: Annotated[
        int, typer.Option("--annotators", help="Answers per item: K copies of every task, one per annotator.")
    ] = 1,
    aggregate: Annotated[
        str,
        typer.Option(
            "--aggregate",
            help="How an item's K answers become its grade: majority (a tie goes to the lower median), median "
            "(lower median) or strict (answers must agree).",
        ),
    ] = "majority",
    grade_notes: Annotated[
        Path | None,
        typer.Option("--grade-notes", help='JSON {"GRADE": "description"} shown next to each grade.'),
    ] = None,
    show_modal_rank: Annotated[
        bool, typer.Option("--show-modal-rank", help="Show annotators each item's single-modal rank (hidden).")
    ] = False,
    config: ConfigFile = None,
    overrides: Overrides = None,
    backend: Backend = None,
    fmt: OutputFormat = "table",
    quiet: Quiet = False,
) -> None:
    """Score the unlabelled training and validation pages and write round 1 of a campaign."""
    from smar_ltr.annotation.budget import AUTO_DEFAULT
    from smar_ltr.annotation.label_cost import label_scale as label_scale_of
    from smar_ltr.annotation.label_cost import validation_read_mode
    from smar_ltr.campaign import parse_label_scale, plan_campaign
    from smar_ltr.campaign.agreement import AGGREGATES
    from smar_ltr.campaign.campaign import CAMPAIGN_STRATEGIES, MAX_ANNOTATORS
    from smar_ltr.campaign.worklist import read_grade_notes
    from smar_ltr.cli.progress import stage_progress
    from smar_ltr.cli.run_settings import build_config
    from smar_ltr.cli.workflow import load_splits
    from smar_ltr.pipeline import fit_upstream_models
    from smar_ltr.serving.run_dir import load_run

    _check_format(fmt)
    if strategy is not None and strategy != "auto" and strategy not in CAMPAIGN_STRATEGIES:
        raise ConfigError(f"campaign strategy must be one of {', '.join(CAMPAIGN_STRATEGIES)}, got {strategy!r}")
    if not 1 <= annotators <= MAX_ANNOTATORS:
        raise ConfigError(f"--annotators must be from 1 to {MAX_ANNOTATORS}, got {annotators}")
    if aggregate not in AGGREGATES:
        raise ConfigError(f"--aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    cfg = build_config(dataset, data_dir, config, overrides, budget, strategy, backend, seed, validation)
    reads = validation_read_mode(cfg)
    if reads == "full":
        raise ConfigError(
            "a campaign labels validation pages under the budget (--validation budgeted) or not at all (none); "
            "--validation full would need every validation label"
        )
    splits = load_splits(cfg)
    declared = label_scale_of(cfg.budget, splits.info)
    scale = parse_label_scale(label_scale if label_scale is not None else f"0..{declared or 4}")
    notes = read_grade_notes(grade_notes, scale) if grade_notes is not None else None
    if model is not None:
        run = load_run(model)
        models, modal_features = run.single_modal, run.modal_features
    else:
        with stage_progress(quiet) as say:
            models = fit_upstream_models(cfg, splits, say)
        modal_features = splits.modal_features
    source = {
        "dataset": cfg.dataset,
        "data_dir": str(Path(cfg.data_dir).resolve()) if cfg.data_dir else None,
        "options": cfg.dataset_options,
        "seed": cfg.seed,
    }
    b = cfg.budget
    report = plan_campaign(
        out,
        splits,
        strategy=AUTO_DEFAULT if b.strategy == "auto" else b.strategy,
        budget=b.budget,
        seed=cfg.seed,
        band=b.band,
        label_scale=scale,
        models=models,
        modal_features=modal_features,
        source=source,
        label_validation=reads == "budgeted",
        annotators=annotators,
        aggregate=aggregate,
        grade_notes=notes,
        show_modal_rank=show_modal_rank,
    )
    _print_round(report, out, fmt)


@annotate_app.command("import")
@one_line_errors
def import_command(
    campaign: Campaign,
    answers: Annotated[Path, typer.Argument(help="Filled worklist CSV or Label Studio JSON / JSON-MIN export.")],
    data_dir: PagesDir = None,
    fmt: OutputFormat = "table",
) -> None:
    """Record answers and write the next round (or say that the campaign is done)."""
    from smar_ltr.campaign import import_answers

    _check_format(fmt)
    report = import_answers(campaign, _campaign_pages(campaign, data_dir), answers)
    _print_round(report, campaign, fmt, answers)


TaskId = Annotated[str, typer.Argument(help="Task id (the task_id column of a worklist).")]
CopyOption = Annotated[
    int | None, typer.Option("--copy", help="Which copy of the task (1..K) when several annotators answer it.")
]
ByOption = Annotated[str, typer.Option("--by", help="Who makes the change (kept in the campaign's log).")]


@annotate_app.command("correct")
@one_line_errors
def correct_command(
    campaign: Campaign,
    task: TaskId,
    label: Annotated[str, typer.Argument(help="The right grade.")],
    copy: CopyOption = None,
    by: ByOption = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the log).")] = "",
    fmt: OutputFormat = "table",
) -> None:
    """Change a recorded answer (logged with the old one); lists it changes are re-opened."""
    from smar_ltr.campaign import correct_answer

    _check_format(fmt)
    report = correct_answer(campaign, task, label, copy=copy, who=by, reason=reason)
    if fmt == "table" and not report.corrections:
        typer.echo(f"task {task} already has that answer; nothing changed")
    _print_round(report, campaign, fmt)


@annotate_app.command("skip")
@one_line_errors
def skip_command(
    campaign: Campaign,
    task: TaskId,
    reason: Annotated[str, typer.Option("--reason", help="Why it cannot be judged, e.g. 'broken link'.")],
    copy: CopyOption = None,
    by: ByOption = "",
    fmt: OutputFormat = "table",
) -> None:
    """Mark a task unjudgeable: iso-anchor searches around it, top/band/random take the next candidate."""
    from smar_ltr.campaign import skip_task

    _check_format(fmt)
    report = skip_task(campaign, task, reason, copy=copy, who=by)
    _print_round(report, campaign, fmt)


@annotate_app.command("status")
@one_line_errors
def status_command(campaign: Campaign, fmt: OutputFormat = "table") -> None:
    """Labels spent and budget, rounds done, lists settled, rounds likely left."""
    from smar_ltr.campaign import campaign_status

    _check_format(fmt)
    status = campaign_status(campaign)
    if fmt == "json":
        typer.echo(json.dumps(status))
        return
    typer.echo(f"strategy {status['strategy']} at budget {status['budget']:g}")
    typer.echo(f"labels used: {status['labels_used']} of {status['label_budget']}")
    typer.echo(
        f"rounds: {status['rounds_done']} answered, {status['rounds']} issued ({status['pending']} tasks pending)"
    )
    typer.echo(f"lists settled: {status['lists_settled']} of {status['lists_total']}")
    if status["annotators"] > 1 or len(status["annotator_counts"]) > 1:
        alpha = status["agreement"]["alpha"]
        shown = "n/a" if alpha is None else f"{alpha:.3f}"
        typer.echo(
            f"annotators per item: {status['annotators']} ({status['aggregate']}); agreement (Krippendorff's "
            f"ordinal alpha): {shown} over {status['agreement']['items']} items"
        )
    for who, n in sorted(status["annotator_counts"].items()):
        typer.echo(f"  {who}: {n['answers']} answers, {n['skips']} skips")
    if status["ties"]:
        ties = ", ".join(f"{t['task_id']} {t['grades']}->{t['grade']}" for t in status["ties"])
        typer.echo(f"ties ({len(status['ties'])}, resolved by the {status['aggregate']} rule): {ties}")
    for skip in status["skipped"]:
        typer.echo(f"skipped: {skip['task_id']} by {skip['who']}: {skip['reason'] or 'no reason given'}")
    for fix in status["corrections"]:
        who = fix["who"] or "unnamed"
        typer.echo(
            f"corrected: {fix['task_id']} copy {fix['copy']} {fix['old']} -> {fix['new']} by {who} at {fix['when']}"
        )
    for again in status["reopened"]:
        typer.echo(f"re-opened: round {again['round']} asks {again['tasks']} tasks in {again['lists']} lists")
    typer.echo("done" if status["done"] else f"rounds likely left: about {status['rounds_left']}")


@annotate_app.command("export")
@one_line_errors
def export_command(
    campaign: Campaign,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the labelled page tables.")],
    data_dir: PagesDir = None,
    fmt: OutputFormat = "table",
) -> None:
    """Write page tables with the collected labels for `smar-ltr fit --dataset pages --data-dir OUT`."""
    from smar_ltr.campaign import export_campaign

    _check_format(fmt)
    result = export_campaign(campaign, _campaign_pages(campaign, data_dir), out)
    if fmt == "json":
        typer.echo(json.dumps(result))
        return
    labels = ", ".join(f"{role} {n}" for role, n in result["labels"].items())
    typer.echo(f"wrote {len(result['files'])} files to {out} (page labels: {labels})")
    if not result["done"]:
        typer.echo("note: the campaign is not done; the tables hold the answers recorded so far", err=True)
    typer.echo(f"train on them with: smar-ltr fit --dataset pages --data-dir {out} --strategy given")
