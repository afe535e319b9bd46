"""Annotation cost against ranking quality: SMAR and every baseline over budgets, strategies and seeds.

Tasks (settings fixed before the sweep; never adjusted to make a method win):

* ``synthetic``: the built-in simulator, default preset (``datasets/synthetic.py`` documents its generative model;
  results describe the simulator, not real users);
* ``yahoo``: the semi-synthetic whole-page task built from the real Yahoo LTR sample
  (``shared/data/lightgbm_yahoo_sample``) with the default ``SemiSyntheticConfig`` (datasets.md section 5).

Each task runs in two settings: the default config, where the single-modal score and the features computed from
it are withheld so the reranker learns from the single-modal rankers only through SMAR's consistency loss, and
``-up``, where they are reranker inputs (as in the authors' Baidu code).

For every seed the single-modal rankers and features are fitted once (:func:`smar_ltr.pipeline.prepare`); each
(budget, strategy) then fits SMAR and the budget-only baseline on the same revealed labels. Reported: mean and
standard deviation over seeds of test NDCG@10 and MRR@1 (plus MRR@1 at relevance >= 3, because MRR@1 at
relevance >= 1 saturates when most candidates are relevant), and page labels read: training labels plus the
validation labels early stopping reads (``budget.validation = budgeted``), as a fraction of the training and
validation candidates (full supervision = 1.0). Usage::

    python benchmarks/bench_quality.py            # full sweep (5 seeds, 6 budgets, 3 strategies, ablations)
    python benchmarks/bench_quality.py --quick    # 2 seeds, budgets 0.1 / 0.3, strategy top
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_results

from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import RunConfig, load_config
from smar_ltr.evaluation import evaluate_run
from smar_ltr.pipeline import fit_prepared, prepare

METRICS = ["ndcg@10", "mrr@1", "mrr@1(rel=3)", "ndcg@5", "map@10", "modal_agreement"]
YAHOO = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightgbm_yahoo_sample"
FIXED = ("full_supervision", "fusion_minmax", "fusion_zscore", "interleave")


def task_config(task: str, seed: int, yahoo_dir: Path) -> RunConfig:
    """``<data>`` uses the default config (the single-modal score and its alignment features are withheld, so
    the reranker sees the single-modal rankers only through SMAR's loss); ``<data>-up`` feeds them as inputs."""
    data, _, setting = task.partition("-")
    fields: dict = {"seed": seed, "metrics": METRICS}
    if data == "synthetic":
        fields["dataset"] = "synthetic"
    else:
        fields.update(dataset="letor", data_dir=str(yahoo_dir))
    if setting == "up":
        fields.update(upstream_as_feature=True)
    elif setting:
        raise SystemExit(f"unknown task setting {setting!r}; tasks are <synthetic|yahoo>[-up]")
    return load_config(None, None, **fields)


def variants(budgets: list[float], strategies: list[str], ablations: bool) -> list[tuple[str, dict]]:
    """(method label, config changes) of every SMAR run per seed."""
    out = []
    for s in strategies:
        for p in budgets:
            out.append((f"smar[{s}]", {"budget": {"strategy": s, "budget": p}}))
    if ablations:
        for p in (0.1, 0.3):
            b = {"strategy": "top", "budget": p}
            out.append(("smar_no_page[top]", {"budget": b, "consistency": {"page_weight": 0.0}}))
            out.append(("smar_no_pairs[top]", {"budget": b, "consistency": {"mode": "none"}}))
            out.append(("smar_listwise[top]", {"budget": b, "consistency": {"mode": "listwise"}}))
    return out


def apply(base: RunConfig, changes: dict) -> RunConfig:
    cfg = base
    for section, values in changes.items():
        cfg = dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **values)})
    return cfg.validate()


def run(
    tasks: list[str], seeds: list[int], budgets: list[float], strategies: list[str], ablations: bool, yahoo_dir: Path
) -> list[dict]:
    rows = []
    for task in tasks:
        for seed in seeds:
            t0 = time.perf_counter()
            base = task_config(task, seed, yahoo_dir)
            splits = load_splits(base)
            prepared = prepare(base, splits)
            first = True
            for label, changes in variants(budgets, strategies, ablations):
                cfg = apply(base, changes)
                model, state = fit_prepared(cfg, prepared)
                methods = ("smar", "budget_only") + (FIXED if first else ())
                report = evaluate_run(cfg, model, state, splits, methods=methods)
                first = False
                for r in report.results:
                    method = (
                        label
                        if r.method == "smar"
                        else (f"budget_only[{cfg.budget.strategy}]" if r.method == "budget_only" else r.method)
                    )
                    if r.method == "budget_only" and not label.startswith("smar["):
                        continue  # ablation rows reuse the same budget-only baseline
                    rows.append(
                        {
                            "task": task,
                            "seed": seed,
                            "method": method,
                            "budget": cfg.budget.budget
                            if r.method in ("smar", "budget_only")
                            else (1.0 if r.method == "full_supervision" else 0.0),
                            "labels_used": r.labels_used,
                            "label_fraction": r.label_fraction,
                            **r.metrics,
                        }
                    )
            print(f"{task} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    return rows


def summarise(rows: list[dict]) -> dict:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["task"], r["method"], r["budget"])].append(r)
    out = {}
    for (task, method, budget), rs in groups.items():
        entry = {
            "n_seeds": len(rs),
            "labels_used": statistics.mean(r["labels_used"] for r in rs),
            "label_fraction": statistics.mean(r["label_fraction"] for r in rs),
        }
        for m in METRICS:
            vals = [r[m] for r in rs]
            entry[m] = {"mean": statistics.mean(vals), "std": statistics.pstdev(vals) if len(vals) > 1 else 0.0}
        out[f"{task}|{method}|{budget}"] = entry
    return out


def headline(summary: dict, tasks: list[str], strategies: list[str], metric: str = "ndcg@10") -> list[str]:
    """The paper's claim per task: SMAR at 10-30% of labels matches or beats full supervision?"""
    lines = []
    for task in tasks:
        full = summary.get(f"{task}|full_supervision|1.0")
        if not full:
            continue
        fm, fs = full[metric]["mean"], full[metric]["std"]
        lines.append(f"**{task}**: full supervision {metric} = {fm:.4f} ± {fs:.4f}.")
        for s in strategies:
            pts = sorted((float(k.split("|")[2]), v) for k, v in summary.items() if k.startswith(f"{task}|smar[{s}]|"))
            # honest label fraction: training labels plus the validation labels early stopping read
            frac = {p: v["label_fraction"] for p, v in pts}
            parity = [p for p, v in pts if v[metric]["mean"] >= fm - fs]
            beats = [p for p, v in pts if frac[p] <= 0.305 and v[metric]["mean"] > fm]
            within = [p for p, v in pts if 0.095 <= frac[p] <= 0.305 and v[metric]["mean"] >= fm - fs]
            at = ", ".join(
                f"p={p:g} ({frac[p]:.0%} of labels): {v[metric]['mean']:.4f}±{v[metric]['std']:.4f}" for p, v in pts
            )
            verdict = (
                "reproduced (beats full supervision)"
                if beats
                else "partly reproduced (within one std of full supervision)"
                if within
                else "NOT reproduced"
            )
            cheapest = min(parity, key=lambda p: frac[p]) if parity else None
            saving = (
                f"annotation saving at parity: {1 - frac[cheapest]:.0%} (budget {cheapest:g})"
                if cheapest is not None
                else "no budget reaches parity"
            )
            lines.append(f"- SMAR [{s}]: {at}. Claim at 10-30% of labels: **{verdict}**; {saving}.")
    return lines


def tables(summary: dict, tasks: list[str]) -> list[str]:
    md = []
    for task in tasks:
        md += [
            "",
            f"### {task}",
            "",
            "| method | budget | labels used (mean) | label fraction | NDCG@10 | MRR@1 | MRR@1 (rel>=3) | modal agreement |",
            "|---|---|---|---|---|---|---|---|",
        ]
        keys = sorted(
            (k for k in summary if k.startswith(f"{task}|")),
            key=lambda k: (k.split("|")[1].split("[")[0], k.split("|")[1], float(k.split("|")[2])),
        )
        for k in keys:
            v = summary[k]
            _, method, budget = k.split("|")
            cells = [
                f"{v[m]['mean']:.4f} ± {v[m]['std']:.4f}"
                for m in ("ndcg@10", "mrr@1", "mrr@1(rel=3)", "modal_agreement")
            ]
            head = f"| {method} | {float(budget):g} | {v['labels_used']:.0f} | {v['label_fraction']:.3f} | "
            md.append(head + " | ".join(cells) + " |")
    return md


def plot(summary: dict, tasks: list[str], name: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for task in tasks:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        series: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for k, v in summary.items():
            t, method, _ = k.split("|")
            if t == task:
                series[method].append((v["label_fraction"], v["ndcg@10"]["mean"], v["ndcg@10"]["std"]))
        for i, (method, pts) in enumerate(sorted(series.items())):
            pts.sort()
            xs, ys, es = zip(*pts, strict=True)
            style = "o-" if len(pts) > 1 else "s"
            ax.errorbar(xs, ys, yerr=es, fmt=style, label=method, color=plt.cm.tab20(i % 20), capsize=2, ms=4)
        ax.set_xlabel("fraction of training + validation page labels read")
        ax.set_ylabel("test NDCG@10 (mean ± std over seeds)")
        ax.set_title(f"{task}: quality against labels spent")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = RESULTS / f"{name}_{task}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(str(path))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tasks", nargs="+", default=["synthetic", "synthetic-up", "yahoo", "yahoo-up"])
    parser.add_argument("--yahoo-dir", type=Path, default=YAHOO)
    args = parser.parse_args()
    if args.quick:
        seeds, budgets, strategies, ablations, name = [0, 1], [0.1, 0.3], ["top"], False, "quality_quick"
    else:
        seeds, budgets, strategies, ablations = (
            [0, 1, 2, 3, 4],
            [0.05, 0.1, 0.2, 0.3, 0.5, 1.0],
            ["top", "random", "iso-anchor"],
            True,
        )
        name = "quality"
    t0 = time.perf_counter()
    rows = run(args.tasks, seeds, budgets, strategies, ablations, args.yahoo_dir)
    summary = summarise(rows)
    plots = plot(summary, args.tasks, name)
    md = [
        f"Seeds {seeds}; budgets {budgets}; strategies {strategies}; ablations {'on' if ablations else 'off'}. "
        f"Wall time {time.perf_counter() - t0:.0f} s (on a machine shared with other jobs: wall time is inflated; "
        "quality numbers are not affected).",
        "",
        "## The paper's claim, checked",
        "",
        *headline(summary, args.tasks, strategies),
        "",
        "## All results (test split, mean ± std over seeds)",
        *tables(summary, args.tasks),
        "",
        *[f"![{Path(p).stem}]({Path(p).name})" for p in plots],
    ]
    write_results(
        name,
        {
            "seeds": seeds,
            "budgets": budgets,
            "strategies": strategies,
            "rows": rows,
            "summary": summary,
            "plots": plots,
        },
        "\n".join(md),
    )
    print("\n".join(md))


if __name__ == "__main__":
    main()
