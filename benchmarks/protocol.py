"""The real-data selection protocol: every quality decision of smar-ltr goes through this script (issue 25).

Tasks
    ``mq2008``  LETOR 4.0 MQ2008, all 784 queries (``shared/data/mq2008``: train + vali + test pooled);
    ``yahoo``   the Yahoo LTR sample, all 251 queries (``shared/data/lightgbm_yahoo_sample``);
    ``synthetic`` the built-in simulator (its own split, seeds only): reported beside them, never decides.

Both real tasks go through the ``letor`` adapter's page construction (:mod:`smar_ltr.datasets.semisynthetic`:
hashed modalities, distorted per-modality feature views, single-modal labels shifted per modality with the
default ``modal_label_noise`` 0.3, i.e. realistically noisy single-modal judges).

Folds
    The queries of a task are permuted once (``default_rng([2026, 5])``) and cut into five folds, so every query
    is tested exactly once. For fold k the other four folds are the training folds: the page construction cuts
    them into the single-modal pool (50%), validation pages (10%) and the page pool. Seeds 0, 1, 2 change the
    page construction (modalities, views, label noise) and every GBDT seed.

Phases
    ``select``  choices. The outer test fold is not read at all: the page construction also cuts an inner
                held-out part (20% of the training folds' queries) and the variants are scored there. Every
                ablation of :data:`ABLATIONS` is one row against the default, paired over (seed, query).
    ``test``    the table the README quotes, read once with the settings ``select`` left: SMAR at 5 / 10 / 30%
                of the page labels (``top``) and at 10% with ``iso-anchor``, against every baseline.

Label fractions are honest and use one denominator: page labels read (training + validation) over the
candidates of the training and validation pages. Paired tests: two-sided paired t over queries (each query's
value averaged over the seeds; per task and pooled over both real tasks) and over the 15 (fold, seed) cells,
``matches`` = TOST within +-0.005 (:func:`smar_ltr.experiments.significance.paired_test`).

Usage::

    python benchmarks/protocol.py --write                    # end to end: select, then test, written to results/
    python benchmarks/protocol.py --phase select            # choices only (inner validation folds)
    python benchmarks/protocol.py --phase test --tasks mq2008 --folds 0 --seeds 0   # a quick look

On the project's 2-core machine a fresh run takes about 16 minutes for ``select`` and 13 for ``test`` (each cell
prints one ``[protocol]`` progress line with its seconds and the elapsed time); a rerun reads the cache in
seconds.

Every (task, fold, seed, variant) is cached under ``benchmarks/results/protocol_cache/`` keyed by the input
files' sha256, the fold's query list and the variant's full configuration, so an interrupted run resumes and a
change of data or settings recomputes. Results are written only with ``--write``.
"""

from __future__ import annotations

# ruff: noqa: E402  (libgomp reads its wait setting when it loads: it is bounded before the imports that load it)
import argparse
import hashlib
import json
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from smar_ltr.core.openmp_env import bound_openmp_spinning

bound_openmp_spinning()  # as the CLI does, before any OpenMP runtime loads (a busy 2-core machine stalls otherwise)

from _common import RESULTS, machine, write_results

from smar_ltr.config import RunConfig, load_config
from smar_ltr.datasets import load_dataset
from smar_ltr.datasets.letor import load_letor_dir
from smar_ltr.datasets.semisynthetic import SemiSyntheticConfig, build_semisynthetic
from smar_ltr.errors import SettingNote
from smar_ltr.evaluation.paper_protocol import evaluate_run
from smar_ltr.experiments.significance import paired_test
from smar_ltr.pipeline import fit_prepared, prepare

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TASK_DIRS = {"mq2008": DATA / "mq2008", "yahoo": DATA / "lightgbm_yahoo_sample"}
REAL_TASKS = tuple(TASK_DIRS)
METRIC = "ndcg@10"
TOLERANCE = 0.005
N_FOLDS = 5
FOLD_SEED = [2026, 5]
CACHE = RESULTS / "protocol_cache"
CACHE_VERSION = 2  # 2: per-query values keyed by the source query
BASELINES = (
    "full_supervision",
    "full_supervision_up",
    "budget_only",
    "budget_only_up",
    "single_modal",
    "fusion_minmax",
    "fusion_zscore",
    "interleave",
)


@dataclass(frozen=True)
class Variant:
    """One row: settings on top of the task's config, and the methods it reports (``smar`` named ``name``)."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    methods: tuple[str, ...] = ("smar",)
    reference: str = "smar"  # the row an ablation is compared with


def _v(name: str, reference: str = "smar", methods: tuple[str, ...] = ("smar",), **settings: Any) -> Variant:
    return Variant(name, settings, methods, reference)


ISO = {"budget": {"strategy": "iso-anchor"}}
#: What ``select`` measures at a 10% budget: the default, the paper's ablations, and every setting outside the
#: paper's method (method.md) that the product keeps. Settings the first run retired (pseudo-label targets, the
#: consistency-weight schedule, KL distillation, the list stage; ``--set`` now refuses them) are no longer rows:
#: their table, measured at commit 79391bc, is in ``benchmarks/README.md``.
ABLATIONS: tuple[Variant, ...] = (
    _v("smar", methods=("smar", "full_supervision", "full_supervision_up", "budget_only")),
    _v("smar[iso-anchor]", **ISO),
    _v("no pairwise term (consistency.mode=none)", consistency={"mode": "none"}),
    _v("no page term (consistency.page_weight=0)", consistency={"page_weight": 0.0}),
    _v("listwise ListMLE (consistency.mode=listwise)", consistency={"mode": "listwise"}),
    _v("early stopping on labels", consistency={"early_stopping": "labels"}),
    _v("upstream_as_feature=true", upstream_as_feature=True),
    _v("pair_scheme=all", consistency={"pair_scheme": "all"}),
    _v("normalize_pairs=false", consistency={"normalize_pairs": False}),
    _v("lambdarank_norm=false", consistency={"lambdarank_norm": False}),
    _v("gamma=1.0", consistency={"gamma": 1.0}),
    _v("no pool pairs (pool_weight=0)", consistency={"pool_weight": 0.0}),
)
#: What ``test`` reports: the defaults at three budgets and with iso-anchor, the default without pool pairs, and
#: every baseline at 10%.
FINAL: tuple[Variant, ...] = (
    _v("smar@0.05", budget={"budget": 0.05}),
    _v("smar@0.1", budget={"budget": 0.1}, methods=("smar", *BASELINES)),
    _v("smar@0.3", budget={"budget": 0.3}),
    _v("smar[iso-anchor]@0.1", budget={"budget": 0.1, "strategy": "iso-anchor"}),
    _v("smar@0.1, no pool pairs", budget={"budget": 0.1}, consistency={"pool_weight": 0.0}),
)
PHASES = {"select": ABLATIONS, "test": FINAL}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def task_frames(task: str) -> tuple[pd.DataFrame, str]:
    """Every query of a real task as one LETOR frame (qids made unique per source file), and its files' digest."""
    root = TASK_DIRS[task]
    if not root.is_dir():
        raise SystemExit(
            f"task {task!r} needs {root} (the project's shared data: shared/data/mq2008 or "
            "shared/data/lightgbm_yahoo_sample beside the repository); see benchmarks/README.md"
        )
    frames = load_letor_dir(root)
    parts = []
    for role, frame in frames.items():
        frame = frame.copy()
        frame["qid"] = role + ":" + frame["qid"].astype(str)
        parts.append(frame)
    files = sorted(p for p in root.iterdir() if p.is_file() and p.name != "README.md")
    digest = hashlib.sha256("".join(_sha(p) for p in files).encode()).hexdigest()
    return pd.concat(parts, ignore_index=True), digest


def fold_of_queries(qids: pd.Series) -> dict[str, int]:
    """Each query's fold: a seeded permutation of the distinct qids cut into :data:`N_FOLDS` equal parts."""
    unique = pd.unique(qids)
    order = np.random.default_rng(FOLD_SEED).permutation(len(unique))
    return {str(unique[i]): int(k * N_FOLDS // len(unique)) for k, i in enumerate(order)}


def real_splits(frame: pd.DataFrame, folds: dict[str, int], fold: int, seed: int, phase: str):
    """The page construction of one (fold, seed): training folds -> pool / pages / validation [/ inner test]."""
    in_fold = frame["qid"].map(folds).to_numpy() == fold
    training = frame.loc[~in_fold].reset_index(drop=True)
    if phase == "select":  # the outer fold is not read: an inner 20% of the training folds is scored instead
        config = SemiSyntheticConfig(seed=seed, test_fraction=0.2)
        return build_semisynthetic({"train": training}, config, source="protocol select")
    config = SemiSyntheticConfig(seed=seed)
    test = frame.loc[in_fold].reset_index(drop=True)
    return build_semisynthetic({"train": training, "test": test}, config, source="protocol test")


def base_config(task: str, seed: int, n_threads: int) -> RunConfig:
    fields: dict[str, Any] = {
        "seed": seed,
        "budget": {"budget": 0.1, "strategy": "top"},
        "reranker": {"n_threads": n_threads},
        "single_modal": {"n_threads": n_threads},
        "dataset": "synthetic" if task == "synthetic" else "letor",
    }
    return load_config(None, None, **fields)


def variant_config(base: RunConfig, variant: Variant) -> RunConfig:
    data = base.to_dict()
    for key, value in variant.settings.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return load_config(None, None, **data)


def _cell_key(task_digest: str, fold_qids: list[str], config: RunConfig, variant: Variant, phase: str) -> str:
    blob = json.dumps(
        [CACHE_VERSION, task_digest, fold_qids, config.to_dict(), list(variant.methods), phase, METRIC],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def run_cell(cfg: RunConfig, prepared, splits, variant: Variant, baselines: dict) -> dict:
    """Fit one variant on a prepared (task, fold, seed) and evaluate it on the split's test part."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SettingNote)
        model, state = fit_prepared(cfg, prepared)
        report = evaluate_run(
            cfg, model, state, splits, methods=variant.methods, per_query=(METRIC,), baselines=baselines
        )
    # per-query values keyed by the source query (the page construction renumbers queries per fold and seed)
    test = splits.test
    source = dict(zip(test["qid"], test["source_qid"], strict=True)) if "source_qid" in test else {}
    keys = [str(source.get(q, q)) for q in report.query_ids or []]
    rows = {}
    for r in report.results:
        name = variant.name if r.method == "smar" else r.method
        assert r.per_query is not None
        rows[name] = {
            "value": r.metrics[METRIC],
            "label_fraction": r.label_fraction,
            "labels_used": r.labels_used,
            "per_query": dict(zip(keys, r.per_query[METRIC], strict=True)),
        }
    return {"rows": rows, "seconds": time.perf_counter() - t0}


def run_phase(phase: str, tasks: list[str], folds: list[int], seeds: list[int], n_threads: int) -> tuple[dict, float]:
    """Every (task, fold, seed, variant) of ``phase`` (cached), as ``{task: {row: [cell results]}}``, and the
    seconds the cells took when they were computed (cached or not: the cost of a fresh run)."""
    variants = PHASES[phase]
    out: dict[str, dict[str, list[dict]]] = {}
    total = sum(len(folds if t != "synthetic" else [0]) for t in tasks) * len(seeds) * len(variants)
    done, t_start, cell_seconds = 0, time.perf_counter(), 0.0
    for task in tasks:
        rows: dict[str, list[dict]] = {}
        if task == "synthetic":
            frame, digest, fold_map, task_folds = None, "synthetic", {}, [0]
        else:
            frame, digest = task_frames(task)
            fold_map, task_folds = fold_of_queries(frame["qid"]), folds
        for fold in task_folds:
            fold_qids = sorted(q for q, k in fold_map.items() if k == fold)
            for seed in seeds:
                base = base_config(task, seed, n_threads)
                splits = None
                prepared: dict[bool, Any] = {}  # by upstream_as_feature, the one prepare-time setting varied
                baselines: dict = {}
                for variant in variants:
                    cfg = variant_config(base, variant)
                    path = (
                        CACHE
                        / task
                        / f"{phase}-f{fold}-s{seed}-{_cell_key(digest, fold_qids, cfg, variant, phase)}.json"
                    )
                    if path.is_file():
                        cell = json.loads(path.read_text())
                    else:
                        if splits is None:
                            if task == "synthetic":
                                splits = load_dataset("synthetic", seed=seed)
                            else:
                                assert frame is not None
                                splits = real_splits(frame, fold_map, fold, seed, phase)
                        if cfg.upstream_as_feature not in prepared:
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore", SettingNote)
                                prepared[cfg.upstream_as_feature] = prepare(cfg, splits)
                        cell = run_cell(cfg, prepared[cfg.upstream_as_feature], splits, variant, baselines)
                        cell.update(task=task, fold=fold, seed=seed, variant=variant.name)
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_suffix(".tmp")
                        tmp.write_text(json.dumps(cell))
                        tmp.replace(path)
                    for name, row in cell["rows"].items():
                        rows.setdefault(name, []).append({"fold": fold, "seed": seed, **row})
                    done += 1
                    cell_seconds += cell["seconds"]
                    elapsed = time.perf_counter() - t_start
                    print(
                        f"[protocol {phase}] {done}/{total} {task} fold {fold} seed {seed} {variant.name}: "
                        f"{cell['rows'][variant.name]['value']:.4f} ({cell['seconds']:.1f} s; {elapsed:.0f} s so far)",
                        flush=True,
                    )
        out[task] = rows
    return out, cell_seconds


def per_query_means(cells: list[dict]) -> pd.Series:
    """Each test query's value averaged over the seeds (queries of every fold pooled)."""
    values = [(q, v) for c in cells for q, v in c["per_query"].items() if v is not None and np.isfinite(v)]
    frame = pd.DataFrame(values, columns=["qid", "value"])
    return frame.groupby("qid", sort=True)["value"].mean()


def compare(a: list[dict], b: list[dict]) -> dict[str, Any]:
    """``a - b`` paired over test queries (seed means) and over (fold, seed) cells, with a 95% CI over queries."""
    qa, qb = per_query_means(a), per_query_means(b)
    common = qa.index.intersection(qb.index)
    over_queries = paired_test(qa[common].to_numpy(), qb[common].to_numpy(), TOLERANCE)
    cb = {(c["fold"], c["seed"]): c["value"] for c in b}
    pairs = [(c["value"], cb[(c["fold"], c["seed"])]) for c in a if (c["fold"], c["seed"]) in cb]
    over_cells = paired_test(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), TOLERANCE)
    diffs = qa[common].to_numpy() - qb[common].to_numpy()
    half = 1.96 * diffs.std(ddof=1) / np.sqrt(diffs.size) if diffs.size > 1 else float("nan")
    return {
        "queries": over_queries,
        "cells": over_cells,
        "ci95": [float(diffs.mean() - half), float(diffs.mean() + half)],
    }


def pooled(results: dict, tasks: list[str], row: str) -> list[dict]:
    """Cells of ``row`` over the real tasks, query ids prefixed by the task (about 1,000 test queries)."""
    out = []
    for task in tasks:
        for c in results[task].get(row, []):
            out.append(
                {**c, "fold": (task, c["fold"]), "per_query": {f"{task}|{q}": v for q, v in c["per_query"].items()}}
            )
    return out


def summarise(phase: str, results: dict) -> tuple[dict, str]:
    """Means, honest fractions and paired tests per task (and pooled over the real tasks) as JSON and markdown."""
    real = [t for t in results if t in REAL_TASKS]
    views = {t: results[t] for t in results}
    if len(real) > 1:
        views["pooled (real tasks)"] = {r: pooled(results, real, r) for r in results[real[0]]}
    summary: dict[str, Any] = {}
    md: list[str] = []
    for task, rows in views.items():
        entry: dict[str, Any] = {"rows": {}, "tests": []}
        for name, cells in rows.items():
            entry["rows"][name] = {
                "mean": statistics.mean(c["value"] for c in cells),
                "query_mean": float(per_query_means(cells).mean()),
                "label_fraction": statistics.mean(c["label_fraction"] for c in cells),
                "cells": len(cells),
            }
        if phase == "select":
            pairs = [(v.name, v.reference) for v in ABLATIONS if v.name != v.reference and v.name in rows]
            pairs += [("smar", b) for b in ("full_supervision", "full_supervision_up", "budget_only") if b in rows]
        else:
            smar_rows = [v.name for v in FINAL if v.name in rows]
            refs = [b for b in ("full_supervision", "full_supervision_up", "budget_only") if b in rows]
            pairs = [(a, b) for a in smar_rows for b in refs]
        for a, b in pairs:
            entry["tests"].append({"a": a, "b": b, **compare(rows[a], rows[b])})
        summary[task] = entry
        n_q = len(per_query_means(next(iter(rows.values()))))
        md += [f"### {task} ({n_q} test queries, {entry['rows'][next(iter(rows))]['cells']} (fold, seed) cells)", ""]
        md += [f"| row | honest label fraction | {METRIC} (mean over cells) |", "|---|---|---|"]
        for name, r in sorted(entry["rows"].items(), key=lambda kv: -kv[1]["mean"]):
            md.append(f"| {name} | {r['label_fraction']:.3f} | {r['mean']:.4f} |")
        md += ["", "| a | b | diff (queries) | 95% CI | t p | TOST p | verdict | over cells: diff, p, verdict |"]
        md.append("|---|---|---|---|---|---|---|---|")
        for t in entry["tests"]:
            q, c = t["queries"], t["cells"]
            md.append(
                f"| {t['a']} | {t['b']} | {q['mean_diff']:+.4f} | [{t['ci95'][0]:+.4f}, {t['ci95'][1]:+.4f}] | "
                f"{_p(q['t_p'])} | {_p(q['tost_p'])} | **{q['verdict']}** | "
                f"{c['mean_diff']:+.4f}, {_p(c['t_p'])}, {c['verdict']} |"
            )
        md.append("")
    return summary, "\n".join(md)


def headline(summary: dict) -> str:
    """The lines ``make run`` closes with: what holds on the real tasks' test folds, and how to reproduce it."""
    lines = ["What holds on real data (benchmarks/protocol.py: 5 folds over queries x 3 seeds, test folds read once):"]
    for task in REAL_TASKS:
        if task not in summary:
            continue
        rows = summary[task]["rows"]
        tests = {(t["a"], t["b"]): t for t in summary[task]["tests"]}
        n = tests[("smar@0.1", "full_supervision")]["queries"]["n"]
        parts = []
        for ref in ("full_supervision", "full_supervision_up"):
            q = tests[("smar@0.1", ref)]["queries"]
            parts.append(
                f"{ref} {rows[ref]['query_mean']:.4f} ({q['mean_diff']:+.4f}, p={_p(q['t_p'])}, {q['verdict']})"
            )
        lines.append(
            f"  {task} ({n} test queries): SMAR at {rows['smar@0.1']['label_fraction']:.0%} of the page labels "
            f"{rows['smar@0.1']['query_mean']:.4f} NDCG@10 vs " + "; ".join(parts)
        )
    lines.append("  reproduce: python benchmarks/protocol.py --write  (tables: benchmarks/results/protocol_test.md)")
    return "\n".join(lines)


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def plot(results: dict, path: Path) -> None:
    """NDCG@10 against honest label fraction per task: SMAR's curve and each baseline, 95% CI over queries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(results)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        rows = results[task]

        def point(name: str, rows: dict = rows) -> tuple[float, float, float]:
            q = per_query_means(rows[name])
            frac = statistics.mean(c["label_fraction"] for c in rows[name])
            return frac, float(q.mean()), 1.96 * float(q.std(ddof=1)) / np.sqrt(len(q))

        curve = [point(n) for n in ("smar@0.05", "smar@0.1", "smar@0.3") if n in rows]
        if curve:
            xs, ys, es = zip(*curve, strict=True)
            ax.errorbar(xs, ys, yerr=es, marker="o", lw=2.2, color="tab:red", capsize=3, label="SMAR (top)", zorder=5)
        if "smar[iso-anchor]@0.1" in rows:
            x, y, e = point("smar[iso-anchor]@0.1")
            ax.errorbar(
                [x], [y], yerr=[e], marker="D", color="darkred", capsize=3, ls="none", label="SMAR (iso-anchor)"
            )
        styles = {
            "full_supervision": ("s", "black"),
            "full_supervision_up": ("^", "dimgray"),
            "budget_only": ("v", "tab:blue"),
            "budget_only_up": ("<", "tab:cyan"),
            "single_modal": ("P", "tab:green"),
            "fusion_minmax": ("x", "tab:olive"),
            "fusion_zscore": ("*", "tab:purple"),
            "interleave": ("h", "tab:brown"),
        }
        for name, (marker, color) in styles.items():
            if name in rows:
                x, y, e = point(name)
                if x > 0:
                    ax.errorbar([x], [y], yerr=[e], marker=marker, color=color, capsize=3, ls="none", label=name)
                else:  # reads no page label: no place on a log axis, a level line instead
                    ax.axhline(y, color=color, lw=1.0, ls=":", label=f"{name} (0 page labels)")
        if "full_supervision" in rows:
            ax.axhline(point("full_supervision")[1], color="black", lw=0.8, ls="--", label="full_supervision level")
        ax.set_xscale("log")
        ax.set_xlabel("honest label fraction (labels read / train+valid candidates)")
        ax.set_ylabel(f"{METRIC} on the test folds (mean over queries)")
        ax.set_title(task)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def run_and_report(
    phase: str, tasks: list[str] | None, folds: list[int], seeds: list[int], n_threads: int, write: bool
) -> None:
    """One phase end to end: the cells (cached), the tables, and with ``write`` the result files."""
    tasks = tasks or (["mq2008", "yahoo"] + (["synthetic"] if phase == "test" else []))
    started = machine()  # the code that runs is the code at the start (the tree may change during a long run)
    t0 = time.perf_counter()
    try:
        results, cell_seconds = run_phase(phase, tasks, folds, seeds, n_threads)
    except KeyboardInterrupt:
        raise SystemExit("interrupted: the finished cells are cached; run the same command again to resume") from None
    wall = time.perf_counter() - t0
    summary, md = summarise(phase, results)
    print(md)
    print(f"wall {wall:.0f} s; the cells' own fitting and scoring took {cell_seconds:.0f} s")
    if not write:
        return
    name = f"protocol_{phase}"
    plot(results, RESULTS / f"{name}.png")
    header = (
        f"Phase `{phase}`; tasks {tasks}; folds {folds}; seeds {seeds}; this run's wall {wall:.0f} s; fitting and "
        f"scoring every cell took {cell_seconds:.0f} s on {n_threads} GBDT threads (what a fresh run costs, without "
        "the page construction and single-modal rankers). Honest label fraction: (training + validation labels "
        "read) / (training + validation candidates). Tests over queries: each test query's "
        f"{METRIC} averaged over seeds, paired t (two-sided) and TOST within +-{TOLERANCE}.\n\n"
    )
    started["load_avg"] = machine()["load_avg"]
    payload = {"machine": started, "phase": phase, "tolerance": TOLERANCE, "summary": summary, "wall_s": wall}
    write_results(name, {**payload, "cell_s": cell_seconds}, header + md)
    print(f"wrote {RESULTS / name}.md, .json, .png")
    if phase == "test":
        (RESULTS / "protocol_headline.txt").write_text(headline(summary) + "\n")
        print(f"wrote {RESULTS / 'protocol_headline.txt'} (make run prints it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=(*PHASES, "all"), default="all", help="all: select, then test")
    parser.add_argument("--tasks", nargs="+", default=None, help="default: mq2008 yahoo (+ synthetic in test)")
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(N_FOLDS)))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-threads", type=int, default=2, help="GBDT threads (2 for the committed tables)")
    parser.add_argument("--write", action="store_true", help="write results/protocol_<phase>.{md,json,png}")
    args = parser.parse_args()
    for task in args.tasks or REAL_TASKS:
        if task not in (*REAL_TASKS, "synthetic"):
            parser.error(f"unknown task {task!r}; choose from {', '.join((*REAL_TASKS, 'synthetic'))}")
        if task in TASK_DIRS and not TASK_DIRS[task].is_dir():
            parser.error(
                f"task {task!r} needs {TASK_DIRS[task]}: the project's shared data folder beside the repository "
                "(LETOR 4.0 MQ2008 and the Yahoo LTR sample, research licences; see benchmarks/README.md)"
            )
    for phase in ("select", "test") if args.phase == "all" else (args.phase,):
        run_and_report(phase, args.tasks, args.folds, args.seeds, args.n_threads, args.write)


if __name__ == "__main__":
    main()
