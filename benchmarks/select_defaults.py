"""How the default consistency weights were chosen: a small grid on *validation* pages only.

Seeds 100-102 are used here and never by the quality benchmark (seeds 0-4), and the test split is not read, so
the defaults are not fitted to the reported numbers. Issue 15's directions (pseudo-label targets, the scheduled
consistency weight, early stopping on the consistency loss) are measured the same way by
``select_directions.py``. Usage::

    python benchmarks/select_defaults.py [--dataset synthetic] [--budget 0.3]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results

from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import load_config
from smar_ltr.evaluation import evaluate_run
from smar_ltr.pipeline import fit_prepared, prepare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--budget", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument(
        "--no-upstream",
        action="store_true",
        help="withhold the single-modal score and its alignment features from the reranker",
    )
    args = parser.parse_args()
    grid = {"lam": [0.03, 0.1, 0.3, 1.0], "gamma": [0.5], "mode": ["pairwise", "listwise"]}
    extra: dict = {"upstream_as_feature": True}
    if args.no_upstream:
        extra = {
            "upstream_as_feature": False,
            "features": [
                "smar.text.*",
                "smar.engagement.*",
                "smar.modality.*",
                "smar.page.*",
                "smar.position.*",
                "smar.query.*",
            ],
        }
    scores: dict[tuple, list[float]] = {}
    for seed in args.seeds:
        base = load_config(
            None,
            None,
            dataset=args.dataset,
            data_dir=args.data_dir,
            seed=seed,
            budget={"budget": args.budget, "strategy": "top"},
            **extra,
        )
        splits = load_splits(base)
        prepared = prepare(base, splits)
        for lam, gamma, mode in itertools.product(grid["lam"], grid["gamma"], grid["mode"]):
            cfg = dataclasses.replace(
                base, consistency=dataclasses.replace(base.consistency, lam=lam, gamma=gamma, mode=mode)
            )
            model, state = fit_prepared(cfg, prepared)
            rep = evaluate_run(cfg, model, state, splits, split="valid", methods=("smar",))
            scores.setdefault((mode, lam, gamma), []).append(rep.result("smar").metrics["ndcg@10"])
            print(seed, mode, lam, gamma, round(scores[(mode, lam, gamma)][-1], 4), flush=True)
        cfg = dataclasses.replace(base, budget=dataclasses.replace(base.budget, strategy="top"))
        model, state = fit_prepared(cfg, prepared)
        rep = evaluate_run(cfg, model, state, splits, split="valid", methods=("budget_only",))
        scores.setdefault(("budget_only", 0, 0), []).append(rep.result("budget_only").metrics["ndcg@10"])
    rows = sorted(((k, statistics.mean(v), statistics.pstdev(v)) for k, v in scores.items()), key=lambda r: -r[1])
    md = [
        f"Validation NDCG@10 on `{args.dataset}` ({'without' if args.no_upstream else 'with'} the single-modal score "
        f"as reranker input), budget {args.budget} (top), seeds {args.seeds}; test split unused.",
        "",
        "| mode | lambda | gamma | mean | std |",
        "|---|---|---|---|---|",
    ]
    md += [f"| {k[0]} | {k[1]} | {k[2]} | {m:.4f} | {s:.4f} |" for k, m, s in rows]
    suffix = "_noup" if args.no_upstream else ""
    write_results(
        f"select_defaults_{args.dataset}{suffix}_p{args.budget:g}",
        {"scores": {str(k): v for k, v in scores.items()}},
        "\n".join(md),
    )
    print("\n".join(md))


if __name__ == "__main__":
    main()
