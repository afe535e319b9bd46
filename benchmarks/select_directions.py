"""Issue 15's directions measured on *validation* pages (seeds 100-102, rounds 7-9: 100-109; the test split is
never read).

Each direction is a ``consistency`` option, measured alone and in combination against the current default and
against the strongest baselines (``full_supervision``, ``full_supervision_up``) on the same validation pages, at
budget 0.1 (strategy ``top``; ``anchor`` needs ``iso-anchor``). The defaults of
:class:`smar_ltr.config.ConsistencyConfig` are chosen from the table this writes, never from the test split.

Caveats written next to the table: the baselines early-stop on every validation label of the pages they are
scored on (they are favoured), and the ``labels`` early-stopping variants read a budgeted 10% of them. Usage::

    python benchmarks/select_directions.py --dataset synthetic
    python benchmarks/select_directions.py --dataset yahoo [--modal-label-noise 0.3]
    python benchmarks/select_directions.py --dataset synthetic|yahoo --round 7   # pool pairs, gated list stage
    python benchmarks/select_directions.py --dataset synthetic|yahoo --round 9   # round 7's choice, revisited
    python benchmarks/select_directions.py --dataset letor --letor-dir ~/data/MSLR-WEB10K/Fold1 --round 9

``letor`` is the ``yahoo`` construction on any LETOR fold directory (``bench_goal.py`` explains why).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results
from _directions_round5 import round5

from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import RunConfig, load_config
from smar_ltr.evaluation import evaluate_run
from smar_ltr.pipeline import fit_prepared, prepare

YAHOO = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightgbm_yahoo_sample"
BASELINES = ("full_supervision", "full_supervision_up", "single_modal")
ES = {"consistency": {"early_stopping": "consistency"}, "budget": {"validation": "none"}}


def _merge(*parts: dict) -> dict:
    out: dict = {}
    for p in parts:
        for section, values in p.items():
            if isinstance(values, dict):
                out.setdefault(section, {}).update(values)
            else:
                out[section] = values
    return out


def iso(weight: float) -> dict:
    return {"consistency": {"pseudo_labels": "isotonic", "pseudo_weight": weight}}


def decay(end: float) -> dict:
    return {"consistency": {"lam_schedule": "linear", "lam_end": end}}


#: (label, config changes) of every SMAR variant; ``default`` is the default when this ran (early stopping on
#: budgeted validation labels, pinned in :func:`base_config`).
VARIANTS: list[tuple[str, dict]] = [
    ("default", {}),
    ("1 isotonic w=0.3", iso(0.3)),
    ("1 isotonic w=1", iso(1.0)),
    ("2 anchor w=0.5 [iso-anchor]", {"consistency": {"pseudo_labels": "anchor"}, "budget": {"strategy": "iso-anchor"}}),
    ("2 reference: default [iso-anchor]", {"budget": {"strategy": "iso-anchor"}}),
    ("3 lam linear -> 0", decay(0.0)),
    ("3 lam linear -> 3x", decay(3.0)),
    ("4 early stop on consistency", ES),
    ("1+4 isotonic w=0.3 + ES", _merge(iso(0.3), ES)),
    ("1+4 isotonic w=1 + ES", _merge(iso(1.0), ES)),
    ("1+3+4 isotonic w=1 + lam -> 0 + ES", _merge(iso(1.0), decay(0.0), ES)),
]

RANDOM = {"budget": {"strategy": "random"}}
ANCHOR = {"budget": {"strategy": "iso-anchor"}}
#: Round 2, written after reading round 1: ``top`` reveals only the head of each list, so the isotonic map is
#: fitted on the high-score range only; the same directions with strategies that reveal the whole range.
ROUND2: list[tuple[str, dict]] = [
    ("default", {}),
    ("4 ES", ES),
    ("4 ES [random]", _merge(ES, RANDOM)),
    ("4 ES [iso-anchor]", _merge(ES, ANCHOR)),
    ("1+4 isotonic w=1 + ES [random]", _merge(iso(1.0), ES, RANDOM)),
    ("1+4 isotonic w=3 + ES [random]", _merge(iso(3.0), ES, RANDOM)),
    ("1+4 isotonic w=1 + ES [iso-anchor]", _merge(iso(1.0), ES, ANCHOR)),
    (
        "2+4 anchor w=1 + ES [iso-anchor]",
        _merge({"consistency": {"pseudo_labels": "anchor", "pseudo_weight": 1.0}}, ES, ANCHOR),
    ),
    ("1+4 isotonic w=1 + ES, lam=0.3 [random]", _merge(iso(1.0), ES, RANDOM, {"consistency": {"lam": 0.3}})),
    ("3+4 ES + lam -> 0", _merge(ES, decay(0.0))),
    ("1+3+4 isotonic w=1 + lam -> 0 + ES [random]", _merge(iso(1.0), decay(0.0), ES, RANDOM)),
]
UP = {"upstream_as_feature": True}
#: Round 3, after round 2: around the best variant (early stopping on consistency), the consistency weight and
#: margin, the length of boosting, and the single-modal score as a reranker input.
ROUND3: list[tuple[str, dict]] = [
    ("default", {}),
    ("4 ES", ES),
    ("4 ES, lam=0.3", _merge(ES, {"consistency": {"lam": 0.3}})),
    ("4 ES, lam=3", _merge(ES, {"consistency": {"lam": 3.0}})),
    ("4 ES, gamma=1", _merge(ES, {"consistency": {"gamma": 1.0}})),
    ("4 ES, 600 rounds", _merge(ES, {"reranker": {"n_estimators": 600}})),
    ("4 ES + upstream feature", _merge(ES, UP)),
    ("1+4 isotonic w=1 + ES + upstream feature [random]", _merge(iso(1.0), ES, RANDOM, UP)),
    ("1+4 isotonic w=1 + ES + upstream feature", _merge(iso(1.0), ES, UP)),
]
#: Round 4: the yahoo task's single-modal label noise (the dataset default is 0.3), for the chosen setting.
ROUND4: list[tuple[str, dict]] = [("default", {}), ("4 ES", ES)]
#: Round 5: label-free directions that are not config options (bagging, score fusion, per-list soft pseudo labels,
#: capacity chosen by the consistency loss, single-modal pool pairs); the rows come from
#: :func:`_directions_round5.round5` on top of the current default (early stopping on the consistency loss).
ROUND5: list[tuple[str, dict]] = [("default", {})]


def pool(weight: float) -> dict:
    return {"consistency": {"pool_weight": weight}}


def stage(mode: str) -> dict:
    return {"list_stage": {"mode": mode}}


#: Round 7 (seeds 100-109: three seeds of 20-30 validation queries could not tell +-0.01 apart on yahoo): round 5's
#: single-modal pool pairs as the library option ``consistency.pool_weight``, the list stage of round 6, and the
#: list stage gated on engagement evidence (``list_stage.mode=auto``), alone and together.
ROUND7: list[tuple[str, dict]] = [
    ("default", {}),
    ("4 ES (current default)", ES),
    ("4 ES + list stage (offsets)", _merge(ES, stage("offsets"))),
    ("4 ES + list stage (auto)", _merge(ES, stage("auto"))),
    ("4 ES + pool pairs w=0.3", _merge(ES, pool(0.3))),
    ("4 ES + pool pairs w=1", _merge(ES, pool(1.0))),
    ("4 ES + pool pairs w=3", _merge(ES, pool(3.0))),
    ("4 ES + pool pairs w=1 + list stage (auto)", _merge(ES, pool(1.0), stage("auto"))),
]
POOL_ES = _merge(ES, pool(1.0))
#: Round 8, after round 7 (yahoo): the pair settings around pool pairs w=1, each applied to page and pool pairs alike.
ROUND8: list[tuple[str, dict]] = [
    ("default", {}),
    ("4 ES + pool pairs w=1", POOL_ES),
    ("  ... all pairs", _merge(POOL_ES, {"consistency": {"pair_scheme": "all"}})),
    ("  ... 8 pairs per item", _merge(POOL_ES, {"consistency": {"max_pairs_per_item": 8}})),
    ("  ... lam=2", _merge(POOL_ES, {"consistency": {"lam": 2.0}})),
    ("  ... no pair normalisation", _merge(POOL_ES, {"consistency": {"normalize_pairs": False}})),
    ("  ... 600 rounds", _merge(POOL_ES, {"reranker": {"n_estimators": 600}})),
]
CHOSEN = _merge(POOL_ES, stage("auto"))
#: Round 9, after round 8: the choice of round 7 against the settings it did not revisit: which candidates the budget
#: reveals (the pool now orders each list, so page labels may serve cross-modal placement better spread over the
#: whole range), modal-wise isotonic targets, a decaying consistency weight, and the reranker's capacity now that it
#: trains on the pool's rows as well.
ROUND9: list[tuple[str, dict]] = [
    ("default", {}),
    ("chosen: 4 ES + pool pairs w=1 + list stage (auto)", CHOSEN),
    ("  ... strategy random", _merge(CHOSEN, RANDOM)),
    ("  ... strategy iso-anchor", _merge(CHOSEN, ANCHOR)),
    ("  ... isotonic pseudo labels w=0.3", _merge(CHOSEN, iso(0.3))),
    ("  ... lam linear -> 0", _merge(CHOSEN, decay(0.0))),
    ("  ... reranker 15 leaves", _merge(CHOSEN, {"reranker": {"num_leaves": 15}})),
    (
        "  ... reranker 63 leaves, 50 rows per leaf",
        _merge(CHOSEN, {"reranker": {"num_leaves": 63, "min_data_in_leaf": 50}}),
    ),
]
ROUNDS = {1: VARIANTS, 2: ROUND2, 3: ROUND3, 4: ROUND4, 5: ROUND5, 7: ROUND7, 8: ROUND8, 9: ROUND9}


def apply(base: RunConfig, changes: dict) -> RunConfig:
    cfg = base
    for section, values in changes.items():
        if not isinstance(values, dict):
            cfg = dataclasses.replace(cfg, **{section: values})
            continue
        cfg = dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **values)})
    return cfg.validate()


def base_config(
    dataset: str, seed: int, budget: float, noise: float | None, letor_dir: Path | None = None, n_threads: int = 1
) -> RunConfig:
    fields: dict = {
        "seed": seed,
        "budget": {"budget": budget, "strategy": "top"},
        "reranker": {"n_threads": n_threads},
        "single_modal": {"n_threads": n_threads},
        # the variants were written when SMAR stopped on budgeted validation labels: pin it so "default" (and
        # every variant without ES) still means that; ES variants switch to the consistency loss explicitly
        "consistency": {"early_stopping": "labels"},
    }
    if dataset == "synthetic":
        fields["dataset"] = "synthetic"
    else:
        fields.update(dataset="letor", data_dir=str(letor_dir if dataset == "letor" else YAHOO))
        if noise is not None:
            fields["dataset_options"] = {"modal_label_noise": noise}
    return load_config(None, None, **fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["synthetic", "yahoo", "letor"], default="synthetic")
    parser.add_argument("--letor-dir", type=Path, default=None, help="LETOR fold directory for --dataset letor")
    parser.add_argument("--n-threads", type=int, default=1, help="GBDT threads (1 for the committed tables)")
    parser.add_argument("--budget", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 100-102 (rounds 7-9: 100-109)")
    parser.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1, help="which variant list")
    parser.add_argument("--modal-label-noise", type=float, default=None, help="yahoo/letor; default: the dataset's")
    args = parser.parse_args()
    if (args.dataset == "letor") != (args.letor_dir is not None):
        parser.error("--dataset letor and --letor-dir go together")
    letor = None if args.letor_dir is None else args.letor_dir.expanduser().resolve()
    if args.seeds is None:
        args.seeds = list(range(100, 110)) if args.round >= 7 else [100, 101, 102]
    scores: dict[str, list[float]] = {}
    fractions: dict[str, list[float]] = {}
    for seed in args.seeds:
        t0 = time.perf_counter()
        base = base_config(args.dataset, seed, args.budget, args.modal_label_noise, letor, args.n_threads)
        splits = load_splits(base)
        prepared = {False: prepare(base, splits)}
        for k, (label, changes) in enumerate(ROUNDS[args.round]):
            cfg = apply(base, changes)
            up = cfg.upstream_as_feature  # a different feature matrix: prepared separately
            if up not in prepared:
                prepared[up] = prepare(cfg, splits)
            model, state = fit_prepared(cfg, prepared[up])
            methods = ("smar", *BASELINES) if k == 0 else ("smar",)
            report = evaluate_run(cfg, model, state, splits, split="valid", methods=methods)
            for r in report.results:
                name = label if r.method == "smar" else r.method
                scores.setdefault(name, []).append(r.metrics["ndcg@10"])
                fractions.setdefault(name, []).append(r.label_fraction)
            print(seed, label, round(report.result("smar").metrics["ndcg@10"], 4), flush=True)
        if args.round == 5:
            es = apply(base, ES)
            fraction, values = round5(es, prepared[False])  # every row reads the default run's labels only
            for label, value in values.items():
                scores.setdefault(label, []).append(value)
                fractions.setdefault(label, []).append(fraction)
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    strongest = max(statistics.mean(scores[b]) for b in ("full_supervision", "full_supervision_up"))
    rows = sorted(scores, key=lambda k: -statistics.mean(scores[k]))
    noise_value = "dataset default" if args.modal_label_noise is None else f"{args.modal_label_noise:g}"
    noise = "" if args.dataset == "synthetic" else f", modal_label_noise {noise_value}"
    threads = "Single-threaded" if args.n_threads == 1 else f"{args.n_threads} GBDT threads"
    md = [
        f"Validation NDCG@10 on `{args.dataset if letor is None else 'letor ' + '/'.join(letor.parts[-2:])}`{noise}, budget {args.budget} (top unless marked), seeds "
        f"{args.seeds}; test split unused. `label fraction` is the honest count (training + validation labels "
        "read). Baselines early-stop on every validation label of the pages they are scored on (favoured); "
        f"`labels` early stopping reads a budgeted share of them. {threads}; machine shared.",
        "",
        "| variant | label fraction | mean | std | vs max(full, full_up) |",
        "|---|---|---|---|---|",
    ]
    md += [
        f"| {k} | {statistics.mean(fractions[k]):.3f} | {statistics.mean(scores[k]):.4f} | "
        f"{statistics.pstdev(scores[k]):.4f} | {statistics.mean(scores[k]) - strongest:+.4f} |"
        for k in rows
    ]
    if args.round == 5:
        md[1:1] = [
            "",
            "Round 5: every row but `default` and the baselines is built by `benchmarks/_directions_round5.py` on top "
            "of `4 ES (current default)` (early stopping on the consistency loss); see its docstring for each "
            "direction. `4 capacity chosen by the consistency loss` picks, per seed, the capacity row (or the "
            "default) with the lowest validation consistency loss, which reads no label.",
        ]
    tag = args.dataset if letor is None else "_".join(letor.parts[-2:])
    tag += "" if args.modal_label_noise is None else f"_noise{args.modal_label_noise:g}"
    tag += "" if args.round == 1 else f"_round{args.round}"
    write_results(
        f"select_directions_{tag}_p{args.budget:g}",
        {"scores": scores, "label_fraction": fractions, "variants": dict(ROUNDS[args.round])},
        "\n".join(md),
    )
    print("\n".join(md))


if __name__ == "__main__":
    main()
