"""Speed and memory benchmarks of smar-ltr (issue "Benchmarks", speed section).

1. SMAR reranker training (LightGBM, custom objective: LambdaMART page term on the budget + intra-modal pairs)
   against plain LightGBM lambdarank on the same rows, features and number of trees, 2 threads; several
   repeats in alternating order, medians and the ratio measured side by side in one run; each training runs
   in a fresh subprocess so its peak RSS is its own. Target: ratio <= 1.25.
2. Reranking throughput of a saved run (``rerank``: validation, single-modal scores when the reranker reads them,
   feature extraction, reranker) against raw booster ``predict`` on the same rows (disk excluded). Target: >= 0.5x.
   This part is :mod:`bench_rerank` (also runnable alone: ``python benchmarks/bench_rerank.py``).
3. The three backends side by side: single-modal ranker and SMAR reranker training time.

Data: the synthetic simulator (``SyntheticConfig.large``). Usage::

    python benchmarks/bench_speed.py            # 200k and 1M candidates (several minutes)
    python benchmarks/bench_speed.py --quick    # 200k only, fewer repeats
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results
from bench_rerank import bench_rerank, fit_run
from bench_rerank import markdown as rerank_markdown

TREES = 100
THREADS = 2


def _rss_mib() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss would carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: The large preset puts ~45% of its candidates in the page-training pool; generate enough for the target.
TRAIN_SHARE = 0.45


def prepare(n_train: int, seed: int, workdir: Path) -> dict:
    """Build >= ``n_train`` training rows once: features, labels, budget mask and constraint pairs, as .npz."""
    from smar_ltr.annotation.budget import annotate
    from smar_ltr.config import ConsistencyConfig, GBDTConfig
    from smar_ltr.datasets.synthetic import SyntheticConfig, make_synthetic
    from smar_ltr.rankers.single_modal import fit_single_modal, with_upstream_scores
    from smar_ltr.training.reranker import build_supervision

    t0 = time.perf_counter()
    splits = make_synthetic(SyntheticConfig.large(n_candidates=int(n_train / TRAIN_SHARE * 1.02), seed=seed))
    gen = time.perf_counter() - t0
    sm_cfg = GBDTConfig(n_estimators=50, learning_rate=0.1, early_stopping_rounds=0, n_threads=THREADS)
    models = fit_single_modal(splits.single_modal, splits.modal_features, sm_cfg, seed)
    train = with_upstream_scores(splits.train, models, splits.modal_features)
    cols = [*splits.page_features, "upstream_score"]
    X = train[cols].to_numpy(np.float32, na_value=np.nan)
    annotation = annotate(train, "top", 0.3, seed=seed)
    sup = build_supervision(train, annotation, ConsistencyConfig(), seed)
    path = workdir / f"train_{n_train}.npz"
    qcodes = train["qid"].astype("category").cat.codes.to_numpy()
    np.savez(
        path,
        X=X,
        y=train["page_label"].to_numpy(float),
        qid=qcodes,
        page_rows=sup.page_rows,
        page_offsets=sup.page_offsets,
        page_labels=sup.page_labels,
        winner=sup.intra["winner"].to_numpy(),
        loser=sup.intra["loser"].to_numpy(),
        weight=sup.intra["weight"].to_numpy(),
    )
    return {
        "path": str(path),
        "rows": int(X.shape[0]),
        "features": int(X.shape[1]),
        "queries": int(train["qid"].nunique()),
        "page_labels": int(annotation.labels_used),
        "intra_pairs": len(sup.intra),
        "generate_s": round(gen, 2),
    }


def _train_worker(kind: str, path: str, backend: str, out: mp.Queue) -> None:
    from smar_ltr.rankers import make_ranker
    from smar_ltr.training.objectives import LambdaRankTerm, PairTerm, SmarObjective

    d = np.load(path)
    X, y, qid = d["X"], d["y"], d["qid"]
    base_rss = _rss_mib()
    ranker = make_ranker(
        backend,
        n_estimators=TREES,
        learning_rate=0.1,
        num_leaves=31,
        min_data_in_leaf=20,
        early_stopping_rounds=0,
        n_threads=THREADS,
        seed=0,
    )
    t0 = time.perf_counter()
    if kind == "native":
        ranker.fit(X, y, qid)
    elif backend == "catboost":
        import pandas as pd

        page_w, page_l = [], []
        rows, offs, labs = d["page_rows"], d["page_offsets"], d["page_labels"]
        for q in range(len(offs) - 1):
            r, lab = rows[offs[q] : offs[q + 1]], labs[offs[q] : offs[q + 1]]
            a, b = np.nonzero(lab[:, None] > lab[None, :])
            page_w.append(r[a])
            page_l.append(r[b])
        pairs = pd.DataFrame(
            {
                "winner": np.concatenate([*page_w, d["winner"]]),
                "loser": np.concatenate([*page_l, d["loser"]]),
                "weight": np.concatenate([np.ones(sum(map(len, page_w))), d["weight"]]),
            }
        )
        ranker.fit(X, np.zeros(len(y)), qid, pairs=pairs)
    else:
        from smar_ltr.core.numba_kernels import set_threads

        set_threads(THREADS)
        obj = SmarObjective(
            n_rows=len(y),
            page=LambdaRankTerm(d["page_offsets"], d["page_rows"], d["page_labels"]),
            consistency=PairTerm(d["winner"], d["loser"], d["weight"], row_query=qid),
        )
        ranker.fit(X, np.zeros(len(y)), qid, objective=obj)
    elapsed = time.perf_counter() - t0
    out.put({"seconds": elapsed, "peak_rss_mib": _rss_mib(), "data_rss_mib": base_rss})


def run_training(kind: str, path: str, backend: str = "lightgbm") -> dict:
    """One training in a fresh process: wall time and peak RSS."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    p = ctx.Process(target=_train_worker, args=(kind, path, backend, q))
    p.start()
    result = q.get()
    p.join()
    return result


def bench_training(prep: dict, repeats: int) -> dict:
    times: dict[str, list[float]] = {"native": [], "smar": []}
    mem: dict[str, float] = {}
    for r in range(repeats):
        order = ("native", "smar") if r % 2 == 0 else ("smar", "native")
        for kind in order:
            res = run_training(kind, prep["path"])
            times[kind].append(res["seconds"])
            mem[kind] = max(mem.get(kind, 0.0), res["peak_rss_mib"])
            mem[f"{kind}_data"] = res["data_rss_mib"]
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "times_s": times,
        "median_s": med,
        "ratio_smar_over_native": med["smar"] / med["native"],
        "peak_rss_mib": mem,
        **{k: prep[k] for k in ("rows", "features", "queries", "page_labels", "intra_pairs")},
    }


def bench_metrics(repeats: int) -> dict:
    """smar_ltr.metrics.ranking.evaluate on 1M rows / 20k queries (six metrics, and the modal agreement pair)."""
    from smar_ltr.metrics.ranking import evaluate

    rng = np.random.default_rng(0)
    n = 1_000_000
    qid = rng.integers(0, 20_000, n)  # not contiguous: evaluate groups by qid itself
    labels = rng.integers(0, 5, n)
    scores = rng.normal(size=n)
    modality = rng.choice(np.array(["web", "image", "video"]), n)
    reference = rng.normal(size=n)
    six = ["ndcg@10", "mrr@10", "map@10", "precision@10", "recall@10", "bndcg"]
    out = {}
    for name, metrics, extra in (
        ("six_metrics", six, {}),
        ("modal_agreement_and_tau", ["modal_agreement", "modal_tau"], {"modality": modality, "reference": reference}),
    ):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            evaluate(labels, scores, qid, metrics, **extra)
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return {"rows": n, "queries": 20_000, "median_s": out}


def bench_backends(prep: dict) -> dict:
    out = {}
    for backend in ("lightgbm", "xgboost", "catboost"):
        native = run_training("native", prep["path"], backend)
        smar = run_training("smar", prep["path"], backend)
        out[backend] = {
            "native_s": native["seconds"],
            "smar_s": smar["seconds"],
            "native_peak_rss_mib": native["peak_rss_mib"],
            "smar_peak_rss_mib": smar["peak_rss_mib"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k candidates only, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    sizes = [200_000] if args.quick else [200_000, 1_000_000]
    results: dict = {"trees": TREES, "threads": THREADS, "repeats": repeats, "training": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        preps = {}
        for n in sizes:
            print(f"preparing {n:,} training candidates", flush=True)
            preps[n] = prepare(n, args.seed, work)
            print(f"training benchmark at {n:,} candidates", flush=True)
            results["training"][str(n)] = bench_training(preps[n], repeats)
            print(results["training"][str(n)]["median_s"], results["training"][str(n)]["ratio_smar_over_native"])
        print("backends side by side at 200k", flush=True)
        results["backends"] = bench_backends(preps[200_000])
        print("metrics", flush=True)
        results["metrics"] = bench_metrics(repeats)
        print("rerank throughput", flush=True)
        run, pages = fit_run(args.seed, 1_000_000, work)
        results["rerank"] = bench_rerank(run, pages, repeats)
    md = [
        "## SMAR reranker training vs plain LightGBM lambdarank (target: ratio <= 1.25)",
        "",
        f"{TREES} trees, {THREADS} threads, median of {repeats} runs (alternating order), each in a fresh process.",
        "",
        "| candidates | features | page labels (p=0.3, top) | intra pairs | lambdarank s | SMAR s | ratio | met | peak RSS lambdarank / SMAR (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r in results["training"].items():
        met = "yes" if r["ratio_smar_over_native"] <= 1.25 else "NO"
        md.append(
            f"| {int(n):,} | {r['features']} | {r['page_labels']:,} | {r['intra_pairs']:,} | "
            f"{r['median_s']['native']:.2f} | {r['median_s']['smar']:.2f} | {r['ratio_smar_over_native']:.3f} | {met} | "
            f"{r['peak_rss_mib']['native']:.0f} / {r['peak_rss_mib']['smar']:.0f} |"
        )
    md += ["", rerank_markdown(results["rerank"], repeats)]
    mt = results["metrics"]
    md += [
        "",
        "## Metrics (target: 1M rows in well under a second)",
        "",
        f"`smar_ltr.metrics.ranking.evaluate` on {mt['rows']:,} rows, {mt['queries']:,} queries (qids not contiguous), median of "
        f"{repeats}: six metrics (ndcg@10, mrr@10, map@10, precision@10, recall@10, bndcg) "
        f"{mt['median_s']['six_metrics']:.3f} s; modal_agreement + modal_tau (3 modalities) "
        f"{mt['median_s']['modal_agreement_and_tau']:.3f} s.",
    ]
    md += [
        "",
        "## Backends side by side (200k candidates, one run each)",
        "",
        "| backend | native ranking objective s | SMAR s | peak RSS native / SMAR (MiB) |",
        "|---|---|---|---|",
    ]
    for b, r in results["backends"].items():
        md.append(
            f"| {b} | {r['native_s']:.2f} | {r['smar_s']:.2f} | {r['native_peak_rss_mib']:.0f} / {r['smar_peak_rss_mib']:.0f} |"
        )
    js, mdp = write_results("speed", results, "\n".join(md))
    print("\n".join(md))
    print(f"wrote {js} and {mdp}")


if __name__ == "__main__":
    main()
