"""Serving speed of a saved run: ``rerank`` throughput against raw reranker ``predict``, single-page latency, profile.

What is measured (issue 13 item 1), default feature set, 2 threads (LightGBM and the numba text kernels):

1. Throughput: ``rerank(run, pages)`` end to end on an in-memory page table (validation, single-modal scores
   when the reranker reads them, feature extraction, reranker, ranks) against ``booster.predict(X)`` of the same
   reranker on the same rows' already-built float32 matrix. ``rerank`` scores a table this large in
   query-aligned chunks, one per thread, each with one kernel thread and one booster thread
   (``smar_ltr.serving.chunked_scoring``); the same ``rerank`` in one pass (two threads per stage, what it did before)
   is timed beside it. The three alternate within one run, ``--repeats`` times each; medians and the ratios
   (target: >= 0.5). Wall and CPU (user + system) seconds are both kept: on a shared machine CPU time is the
   steadier of the two.
2. Single-page latency: ``rerank`` of one query's first 50 candidates, for ``--pages`` different queries
   (after one warm-up call); p50 and p99 of wall and CPU milliseconds.
3. Where the time goes: wall and CPU seconds per stage of one pass, and cProfile's top entries of one
   ``rerank``.

Data: the synthetic simulator (``SyntheticConfig.large``, 1M candidates -> its 150k-row test split; set with
``--n-candidates``), a run
fitted with 100 trees per ranker, saved and loaded back. Usage::

    python benchmarks/bench_rerank.py                 # writes benchmarks/results/speed_rerank.{json,md}
    python benchmarks/bench_rerank.py --repeats 3 --no-write
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_seconds, profile_tables, write_results

TREES = 100
THREADS = 2
PAGE_SIZE = 50


def _timed(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn(*args)``."""
    w, c = time.perf_counter(), cpu_seconds()
    fn(*args)
    return time.perf_counter() - w, cpu_seconds() - c


def fit_run(seed: int, n_candidates: int, workdir: Path):
    """Fit, save and load back a run on the synthetic preset; returns ``(run, test pages without labels)``."""
    from smar_ltr.config import load_config
    from smar_ltr.datasets.synthetic import SyntheticConfig, make_synthetic
    from smar_ltr.pipeline import fit
    from smar_ltr.serving.run_dir import load_run, save_run

    splits = make_synthetic(SyntheticConfig.large(n_candidates=n_candidates, seed=seed))
    fast = {"n_estimators": TREES, "learning_rate": 0.1, "early_stopping_rounds": 0, "n_threads": THREADS}
    cfg = load_config(None, None, single_modal=fast, reranker=fast, seed=seed)
    model, _ = fit(cfg, splits)
    return load_run(save_run(model, workdir / "run")), splits.test.drop(columns=["page_label"])


def stage_seconds(run, pages) -> dict:
    """(wall, CPU) seconds per stage of one pass, as ``rerank`` runs them."""
    from smar_ltr.rankers.single_modal import with_upstream_scores
    from smar_ltr.serving.ranking import rank_within_query

    stages: dict[str, tuple[float, float]] = {}
    out: dict = {}

    def stage(name, fn, *args):
        w, c = time.perf_counter(), cpu_seconds()
        out[name] = fn(*args)
        stages[name] = (time.perf_counter() - w, cpu_seconds() - c)
        return out[name]

    valid = stage("validate", run.prepare, pages, False)
    if run.needs_upstream:
        valid = stage("single_modal_scores", with_upstream_scores, valid, run.single_modal, run.modal_features)
    X = stage("features", run.featurize, valid, True)  # only the features the reranker's trees split on
    scores = stage("reranker_predict", run.reranker.predict, X)
    stage("rank", rank_within_query, valid["qid"], scores)
    used = set(run.reranker.used_features())
    skipped = [f.name for f in run.features if not used.intersection(f.output_columns)]
    return {
        "stages_wall_cpu_s": stages,
        "single_modal_skipped": not run.needs_upstream,
        "features_skipped": skipped,
        "n_features": len(run.features),
    }


def profile_top(run, pages, n: int = 15) -> dict:
    """cProfile of one one-pass ``rerank`` (cProfile sees only the calling thread, not the chunks' threads): the
    top ``n`` entries by cumulative and by own time, as text."""
    prof = cProfile.Profile()
    prof.enable()
    rerank_one_pass(run, pages)
    prof.disable()
    return profile_tables(prof, n)


def page_latency(run, pages, n_pages: int) -> dict:
    """Latency of ``rerank`` on one query's first ``PAGE_SIZE`` candidates, over ``n_pages`` queries."""
    from smar_ltr.serving.ranking import rerank

    groups = [g.head(PAGE_SIZE) for _, g in pages.groupby("qid", sort=False, observed=True)][:n_pages]
    rerank(run, groups[0])  # warm-up (first call of each compiled kernel in the process)
    times = np.array([_timed(rerank, run, g) for g in groups]) * 1000
    out = {"pages": len(groups), "candidates_per_page": PAGE_SIZE}
    for i, kind in enumerate(("wall", "cpu")):
        out[f"{kind}_p50_ms"] = float(np.percentile(times[:, i], 50))
        out[f"{kind}_p99_ms"] = float(np.percentile(times[:, i], 99))
        out[f"{kind}_mean_ms"] = float(times[:, i].mean())
    return out


def rerank_one_pass(run, pages):
    """``rerank`` with chunked scoring switched off (every stage on all rows, two threads per stage)."""
    import smar_ltr.serving.chunked_scoring as ps
    from smar_ltr.serving.ranking import rerank

    before = ps.MIN_CHUNK_ROWS
    ps.MIN_CHUNK_ROWS = len(pages) + 1
    try:
        return rerank(run, pages)
    finally:
        ps.MIN_CHUNK_ROWS = before


def bench_rerank(run, pages, repeats: int, n_pages: int = 200) -> dict:
    """Throughput ratio (alternating, one run), latency, stage seconds and profile of a loaded run."""
    from smar_ltr.core.numba_kernels import set_threads
    from smar_ltr.serving.chunked_scoring import concurrent_kernels_safe
    from smar_ltr.serving.ranking import rerank

    set_threads(THREADS)
    load_start = [round(x, 2) for x in os.getloadavg()]
    X = run.featurize(run.prepare(pages)).to_numpy(np.float32)
    booster = run.reranker.booster_
    rerank(run, pages)  # warm-up: loads the compiled kernels
    times: dict[str, list[tuple[float, float]]] = {"rerank": [], "one_pass": [], "raw": []}
    for _ in range(repeats):
        times["rerank"].append(_timed(rerank, run, pages))
        times["one_pass"].append(_timed(rerank_one_pass, run, pages))
        times["raw"].append(_timed(lambda: booster.predict(X, num_threads=THREADS)))
    med = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    rows = len(pages)
    return {
        "rows": rows,
        "chunked": concurrent_kernels_safe(),
        "rerank_rows_per_s": rows / med["rerank"],
        "raw_predict_rows_per_s": rows / med["raw"],
        "ratio": med["raw"] / med["rerank"],
        "ratio_cpu": cpu["raw"] / cpu["rerank"],
        "ratio_one_pass": med["raw"] / med["one_pass"],
        "ratio_one_pass_cpu": cpu["raw"] / cpu["one_pass"],
        "rerank_median_s": med["rerank"],
        "one_pass_median_s": med["one_pass"],
        "raw_median_s": med["raw"],
        "rerank_cpu_s": cpu["rerank"],
        "one_pass_cpu_s": cpu["one_pass"],
        "raw_cpu_s": cpu["raw"],
        "times_wall_cpu_s": times,
        "load_avg_at_start": load_start,
        "load_avg_after_throughput": [round(x, 2) for x in os.getloadavg()],
        "profile_s": stage_seconds(run, pages),
        "latency": page_latency(run, pages, n_pages),
        "cprofile": profile_top(run, pages),
    }


def markdown(rr: dict, repeats: int) -> str:
    """The results as a markdown section."""
    lat, prof = rr["latency"], rr["profile_s"]
    stages = ", ".join(f"{k} {w:.2f} / {c:.2f}" for k, (w, c) in prof["stages_wall_cpu_s"].items())
    skipped = (
        " (no single-modal scores: the reranker does not read `upstream_score`, so `rerank` skips those rankers)"
        if prof["single_modal_skipped"]
        else ""
    )
    return "\n".join(
        [
            "## Reranking throughput of a saved run (target: >= 0.5x raw reranker predict)",
            "",
            f"Default feature set, {THREADS} threads, {TREES} trees per ranker; median of {repeats} alternating runs "
            f"in one process (so the ratios are side by side). Load average {rr['load_avg_at_start']} at the start, "
            f"{rr['load_avg_after_throughput']} after the throughput runs (on a shared machine wall times are "
            "inflated and noisy; the CPU-time ratio is the steadier figure).",
            "",
            "| route | rows | rows/s | ratio to raw predict (wall) | ratio (CPU) | wall / CPU s | met |",
            "|---|---|---|---|---|---|---|",
            f"| `rerank` ({'query-aligned chunks on ' + str(THREADS) + ' threads' if rr['chunked'] else 'one pass'})"
            f" | {rr['rows']:,} | {rr['rerank_rows_per_s']:,.0f} | {rr['ratio']:.3f} | {rr['ratio_cpu']:.3f} | "
            f"{rr['rerank_median_s']:.2f} / {rr['rerank_cpu_s']:.2f} | {'yes' if rr['ratio'] >= 0.5 else 'NO'} |",
            f"| `rerank` in one pass (chunking off) | {rr['rows']:,} | {rr['rows'] / rr['one_pass_median_s']:,.0f} | "
            f"{rr['ratio_one_pass']:.3f} | {rr['ratio_one_pass_cpu']:.3f} | {rr['one_pass_median_s']:.2f} / "
            f"{rr['one_pass_cpu_s']:.2f} | {'yes' if rr['ratio_one_pass'] >= 0.5 else 'NO'} |",
            f"| raw `booster.predict` of the built matrix | {rr['rows']:,} | {rr['raw_predict_rows_per_s']:,.0f} | "
            f"1 | 1 | {rr['raw_median_s']:.2f} / {rr['raw_cpu_s']:.2f} | |",
            "",
            f"Single-page latency ({lat['candidates_per_page']} candidates, {lat['pages']} pages, warm process): "
            f"wall p50 {lat['wall_p50_ms']:.1f} ms, p99 {lat['wall_p99_ms']:.1f} ms (mean {lat['wall_mean_ms']:.1f}); "
            f"CPU p50 {lat['cpu_p50_ms']:.1f} ms, p99 {lat['cpu_p99_ms']:.1f} ms.",
            "",
            f"Where the time goes (wall / CPU seconds of each stage of the one-pass route){skipped}: {stages}. "
            "The chunked route runs the same stages per chunk, chunks overlapping. The reranker's "
            f"trees (and the list stage, when the run has one) read the outputs of "
            f"{prof['n_features'] - len(prof['features_skipped'])} of the "
            f"{prof['n_features']} extracted features; `rerank` computes only those (skipped: "
            f"{', '.join(prof['features_skipped']) or 'none'}).",
            "",
            "cProfile of one one-pass `rerank` (it sees only the calling thread), top entries by cumulative time:",
            "",
            "```",
            rr["cprofile"]["cumulative"],
            "```",
            "",
            "and by own time:",
            "",
            "```",
            rr["cprofile"]["tottime"],
            "```",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pages", type=int, default=200, help="queries for the single-page latency")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-candidates", type=int, default=1_000_000, help="simulator size (test split: ~15%%)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run, pages = fit_run(args.seed, args.n_candidates, Path(tmp))
        fit_s = time.perf_counter() - t0
        results = bench_rerank(run, pages, args.repeats, args.pages)
    md = markdown(results, args.repeats)
    md += f"\n\nFit, save and load of the run (single-modal rankers, features, reranker): {fit_s:.0f} s wall.\n"
    print(md)
    if not args.no_write:
        payload = {"trees": TREES, "threads": THREADS, "fit_seconds": fit_s}
        js, mdp = write_results("speed_rerank", {**payload, "rerank": results}, md)
        print(f"wrote {js} and {mdp}")


if __name__ == "__main__":
    main()
