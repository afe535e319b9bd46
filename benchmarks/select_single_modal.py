"""Single-modal ranker capacity against SMAR's validation NDCG@10 (issue 15, round 6; test split unused).

Round 6 found Yahoo's remaining gap in SMAR's within-list order, which the single-modal rankers teach. This measures
whether their GBDT capacity is the cause: SMAR (library defaults) with the single-modal rankers' ``num_leaves``,
``min_data_in_leaf`` or learning rate changed, on validation pages of seeds 100-109. Usage::

    python benchmarks/select_single_modal.py --dataset yahoo
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results
from select_directions import ES, apply, base_config

from smar_ltr.cli.workflow import load_splits
from smar_ltr.metrics import evaluate
from smar_ltr.pipeline import fit_prepared, prepare

VARIANTS: dict[str, dict] = {
    "default (31 leaves, min 20 rows, lr 0.05, 300 rounds)": {},
    "num_leaves 7": {"num_leaves": 7},
    "num_leaves 15, min_data_in_leaf 50": {"num_leaves": 15, "min_data_in_leaf": 50},
    "min_data_in_leaf 100": {"min_data_in_leaf": 100},
    "learning_rate 0.02, 900 rounds": {"learning_rate": 0.02, "n_estimators": 900},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["synthetic", "yahoo"], default="yahoo")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(100, 110)))
    args = parser.parse_args()
    scores: dict[str, list[float]] = {}
    for seed in args.seeds:
        base = apply(base_config(args.dataset, seed, 0.1, None), ES)
        splits = load_splits(base)
        for name, changes in VARIANTS.items():
            cfg = dataclasses.replace(base, single_modal=dataclasses.replace(base.single_modal, **changes))
            prepared = prepare(cfg, splits)
            model, _ = fit_prepared(cfg, prepared)
            valid = prepared.valid
            assert valid is not None and prepared.X_valid is not None
            scored = model.score_features(valid, prepared.X_valid)
            value = evaluate(valid["page_label"].to_numpy(float), scored, valid["qid"].to_numpy(), ["ndcg@10"])
            scores.setdefault(name, []).append(float(value["ndcg@10"]))
        print(seed, {k: round(v[-1], 4) for k, v in scores.items()}, flush=True)
    default = scores[next(iter(VARIANTS))]
    md = [
        f"SMAR validation NDCG@10 on `{args.dataset}` (budget 0.1, `top`, seeds {args.seeds}; test split unused) "
        "with the single-modal rankers' GBDT settings changed.",
        "",
        "| single-modal rankers | mean | diff to default | seeds better |",
        "|---|---|---|---|",
    ]
    for name, values in scores.items():
        diffs = [v - d for v, d in zip(values, default, strict=True)]
        md.append(
            f"| {name} | {statistics.mean(values):.4f} | {statistics.mean(diffs):+.4f} | "
            f"{sum(d > 0 for d in diffs)}/{len(diffs)} |"
        )
    write_results(f"select_single_modal_{args.dataset}", {"scores": scores, "variants": VARIANTS}, "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
