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

    python benchmarks/bench_quality.py [--cache DIR]   # 5 seeds, budgets 0.05-1, top + iso-anchor, ablations
    python benchmarks/bench_quality.py --strategies top random iso-anchor
    python benchmarks/bench_quality.py --quick         # 2 seeds, budgets 0.1 / 0.3, strategy top

Baselines: ``full_supervision`` and ``full_supervision_up`` (every page label; the latter also reads the
single-modal score), ``budget_only`` / ``budget_only_up`` and the calibrated ``single_modal`` merge on SMAR's
revealed labels, and the label-free fusions. Every SMAR budget is compared with both fully supervised baselines by
paired tests over seeds and over test queries (:func:`smar_ltr.experiments.significance.paired_test`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_results

from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import RunConfig, load_config
from smar_ltr.evaluation.paper_protocol import evaluate_run
from smar_ltr.experiments.significance import paired_test
from smar_ltr.page_table.identity import splits_fingerprint
from smar_ltr.pipeline import fit_prepared, prepare

METRICS = ["ndcg@10", "mrr@1", "mrr@1(rel=3)", "ndcg@5", "map@10", "modal_agreement"]
YAHOO = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightgbm_yahoo_sample"
FIXED = ("full_supervision", "full_supervision_up", "fusion_minmax", "fusion_zscore", "interleave")
#: Baselines that read the same revealed labels as SMAR (fitted once per budget and strategy).
BUDGETED = ("budget_only", "budget_only_up", "single_modal")
#: The strongest fully supervised baselines SMAR is tested against (issue 15).
REFERENCES = ("full_supervision", "full_supervision_up")
TOLERANCE = 0.005  # paired equivalence (TOST) margin in NDCG@10


def task_config(task: str, seed: int, yahoo_dir: Path) -> RunConfig:
    """``<data>`` uses the default config (the single-modal score and its alignment features are withheld, so
    the reranker sees the single-modal rankers only through SMAR's loss); ``<data>-up`` feeds them as inputs."""
    data, _, setting = task.partition("-")
    # single-threaded: on a shared 2-core machine, OpenMP threads of tiny fits wait for each other far longer
    # than they compute (the Yahoo task ran 10x slower with 2 threads at load 4)
    fields: dict = {
        "seed": seed,
        "metrics": METRICS,
        "reranker": {"n_threads": 1},
        "single_modal": {"n_threads": 1},
    }
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
        for p in (0.1,):
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
    tasks: list[str],
    seeds: list[int],
    budgets: list[float],
    strategies: list[str],
    ablations: bool,
    yahoo_dir: Path,
    cache: Path | None = None,
) -> list[dict]:
    rows: list[dict] = []
    for task in tasks:
        for seed in seeds:
            base = task_config(task, seed, yahoo_dir)
            splits = load_splits(base)  # read first: the cache is keyed by every column of the data
            key = {
                "task": task,
                "seed": seed,
                "budgets": budgets,
                "strategies": strategies,
                "ablations": ablations,
                "threads": 1,
                "config": json.loads(json.dumps(base.to_dict(), default=str)),
                "data": splits_fingerprint(splits),
            }
            cached = cache / f"{task}_seed{seed}.json" if cache else None
            if cached and cached.exists() and json.loads(cached.read_text())["key"] == key:
                rows += json.loads(cached.read_text())["rows"]
                print(f"{task} seed {seed}: from {cached}", flush=True)
                continue
            if cached and cached.exists():
                print(f"{task} seed {seed}: {cached} was computed on other data or settings; recomputing", flush=True)
            first_row = len(rows)
            t0 = time.perf_counter()
            prepared = prepare(base, splits)
            first = True
            # in "-up" tasks every method already reads upstream_score: the "_up" baselines would repeat the others
            up_task = task.endswith("-up")
            for label, changes in variants(budgets, strategies, ablations):
                cfg = apply(base, changes)
                model, state = fit_prepared(cfg, prepared)
                budgeted = label.startswith("smar[")  # ablation rows reuse the main rows' budgeted baselines
                methods = ("smar",) + (BUDGETED if budgeted else ()) + (FIXED if first else ())
                if up_task:
                    methods = tuple(m for m in methods if not m.endswith("_up"))
                report = evaluate_run(cfg, model, state, splits, methods=methods, per_query=("ndcg@10",))
                first = False
                for r in report.results:
                    if r.method == "smar":
                        method = label
                    elif r.method in BUDGETED:
                        method = f"{r.method}[{cfg.budget.strategy}]"
                    else:
                        method = r.method
                    rows.append(
                        {
                            "task": task,
                            "seed": seed,
                            "method": method,
                            "budget": cfg.budget.budget
                            if r.method == "smar" or r.method in BUDGETED
                            else (1.0 if r.method.startswith("full_supervision") else 0.0),
                            "labels_used": r.labels_used,
                            "label_fraction": r.label_fraction,
                            **r.metrics,
                            "per_query_ndcg@10": (r.per_query or {}).get("ndcg@10"),
                        }
                    )
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(".tmp")
                tmp.write_text(json.dumps({"key": key, "rows": rows[first_row:]}))
                tmp.replace(cached)
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


def _by_seed(rows: list[dict], task: str, method: str, budget: float) -> dict[int, dict]:
    return {
        r["seed"]: r for r in rows if r["task"] == task and r["method"] == method and abs(r["budget"] - budget) < 1e-12
    }


def compare(rows: list[dict], task: str, a: tuple[str, float], b: tuple[str, float], metric: str = "ndcg@10") -> dict:
    """Paired tests of method ``a`` against ``b`` (each ``(method, budget)``): over seeds, and over every
    (seed, test query) pair pooled (same seeds, same test queries in the same order)."""
    ra, rb = _by_seed(rows, task, *a), _by_seed(rows, task, *b)
    seeds = sorted(set(ra) & set(rb))
    over_seeds = paired_test(
        np.array([ra[s][metric] for s in seeds]), np.array([rb[s][metric] for s in seeds]), TOLERANCE
    )
    qa = np.concatenate([np.asarray(ra[s][f"per_query_{metric}"], dtype=float) for s in seeds])
    qb = np.concatenate([np.asarray(rb[s][f"per_query_{metric}"], dtype=float) for s in seeds])
    keep = ~(np.isnan(qa) | np.isnan(qb))
    return {"seeds": over_seeds, "queries": paired_test(qa[keep], qb[keep], TOLERANCE)}


def strongest_reference(summary: dict, task: str, metric: str = "ndcg@10") -> str | None:
    """The fully supervised baseline with the highest mean on ``task``."""
    refs = [m for m in REFERENCES if f"{task}|{m}|1.0" in summary]
    return max(refs, key=lambda m: summary[f"{task}|{m}|1.0"][metric]["mean"]) if refs else None


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def headline(
    summary: dict, rows: list[dict], tasks: list[str], strategies: list[str], metric: str = "ndcg@10"
) -> list[str]:
    """The paper's claim per task: does SMAR at 10-30% of the labels (honest count) match or beat the strongest
    fully supervised baseline? Verdicts come from paired tests over test queries (seeds pooled)."""
    lines = []
    for task in tasks:
        ref = strongest_reference(summary, task, metric)
        if ref is None:
            continue
        full = summary[f"{task}|{ref}|1.0"]
        fm, fs = full[metric]["mean"], full[metric]["std"]
        lines.append(f"**{task}**: strongest fully supervised baseline `{ref}`, {metric} = {fm:.4f} ± {fs:.4f}.")
        for s in strategies:
            pts = sorted((float(k.split("|")[2]), v) for k, v in summary.items() if k.startswith(f"{task}|smar[{s}]|"))
            frac = {p: v["label_fraction"] for p, v in pts}
            verdict = {
                p: compare(rows, task, (f"smar[{s}]", p), (ref, 1.0), metric)["queries"]["verdict"] for p, _ in pts
            }
            at = ", ".join(
                f"p={p:g} ({frac[p]:.0%} of labels): {v[metric]['mean']:.4f}±{v[metric]['std']:.4f} ({verdict[p]})"
                for p, v in pts
            )
            in_range = [p for p, _ in pts if frac[p] <= 0.305]
            claim = (
                "reproduced (beats it)"
                if any(verdict[p] == "beats" for p in in_range)
                else "reproduced (matches it)"
                if any(verdict[p] == "matches" for p in in_range)
                else "NOT reproduced (worse)"
                if all(verdict[p] == "worse" for p in in_range)
                else "NOT reproduced (inconclusive or worse)"
            )
            parity = [p for p, _ in pts if verdict[p] in ("beats", "matches")]
            cheapest = min(parity, key=lambda p: frac[p]) if parity else None
            saving = (
                f"cheapest budget that matches or beats it: {cheapest:g} ({frac[cheapest]:.0%} of labels)"
                if cheapest is not None
                else "no budget matches or beats it"
            )
            lines.append(f"- SMAR [{s}]: {at}. Claim at <= 30% of labels: **{claim}**; {saving}.")
    return lines


def significance(summary: dict, rows: list[dict], tasks: list[str], strategies: list[str]) -> list[str]:
    """Paired tests of every SMAR budget against each fully supervised baseline."""
    md = [
        "| task | SMAR | budget | label fraction | vs | diff | over seeds: t p, verdict | over queries: n, t p, verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task in tasks:
        refs = [m for m in REFERENCES if f"{task}|{m}|1.0" in summary]
        for s in strategies:
            pts = sorted(float(k.split("|")[2]) for k in summary if k.startswith(f"{task}|smar[{s}]|"))
            for p in pts:
                frac = summary[f"{task}|smar[{s}]|{p}"]["label_fraction"]
                for ref in refs:
                    t = compare(rows, task, (f"smar[{s}]", p), (ref, 1.0))
                    ts, tq = t["seeds"], t["queries"]
                    md.append(
                        f"| {task} | {s} | {p:g} | {frac:.3f} | {ref} | {ts['mean_diff']:+.4f} | "
                        f"{_p(ts['t_p'])}, {ts['verdict']} | {tq['n']}, {_p(tq['t_p'])}, {tq['verdict']} |"
                    )
    return md


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
    parser.add_argument("--strategies", nargs="+", default=["top", "iso-anchor"])
    parser.add_argument(
        "--cache", type=Path, help="folder of per-(task, seed) results: an interrupted run resumes from it"
    )
    args = parser.parse_args()
    strategies = args.strategies
    if args.quick:
        seeds, budgets, strategies, ablations, name = [0, 1], [0.1, 0.3], ["top"], False, "quality_quick"
    else:
        seeds, budgets, ablations, name = [0, 1, 2, 3, 4], [0.05, 0.1, 0.2, 0.3, 1.0], True, "quality"
    t0 = time.perf_counter()
    rows = run(args.tasks, seeds, budgets, strategies, ablations, args.yahoo_dir, args.cache)
    summary = summarise(rows)
    plots = plot(summary, args.tasks, name)
    md = [
        f"Seeds {seeds}; budgets {budgets}; strategies {strategies}; ablations {'on' if ablations else 'off'}. "
        f"Wall time {time.perf_counter() - t0:.0f} s (on a machine shared with other jobs: wall time is inflated; "
        "quality numbers are not affected).",
        "",
        "## The paper's claim, checked",
        "",
        *headline(summary, rows, args.tasks, strategies),
        "",
        "## Paired tests against full supervision",
        "",
        "`smar_ltr.experiments.significance.paired_test`: two-sided paired t; `matches` = equivalence (TOST) within "
        f"±{TOLERANCE} NDCG@10; over queries, every (seed, test query) pair is pooled. Label fraction is the honest "
        "count (training labels plus every validation label that early stopping reads).",
        "",
        *significance(summary, rows, args.tasks, strategies),
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
