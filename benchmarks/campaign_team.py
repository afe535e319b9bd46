"""A campaign answered by a simulated team: 3 annotators per task, one of them flipping a share of grades by one.

Plans an iso-anchor campaign with ``--annotators 3 --aggregate majority`` on the example pages (the ``pages``
fixture, seed 3), answers every round from the pages' own labels (annotators 1 and 2 give the true grade,
annotator 3 moves ``--flip`` of his grades one step up or down, seeded), imports each round, exports, and reports
whether the exported page labels are the true ones (the majority), whether the revealed rows are those the
simulated budget reveals, and the team's agreement (Krippendorff's ordinal alpha, as ``annotate status`` shows it).

Run: ``python benchmarks/campaign_team.py [--flip 0.2] [--seed 0] [--budget 0.3] [--out results/campaign_team.json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import annotate
from smar_ltr.campaign import campaign_status, export_campaign, import_answers, plan_campaign
from smar_ltr.campaign.rounds import levels_of
from smar_ltr.datasets import load_dataset
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.page_table.splits import PageSplits

LABEL_SCALE = (0, 4)
PLAN_SEED = 7


def _unlabelled(splits: PageSplits) -> PageSplits:
    import dataclasses

    valid = splits.valid.assign(page_label=pd.NA) if splits.valid is not None else None
    return dataclasses.replace(splits, train=splits.train.assign(page_label=pd.NA), valid=valid)


def simulate_team(
    labelled: PageSplits,
    unlabelled: PageSplits,
    out: Path,
    *,
    flip: float = 0.2,
    seed: int = 0,
    budget: float = 0.3,
) -> dict[str, Any]:
    """Run the 3-annotator campaign into ``out`` (module docstring); returns the figures."""
    truth = pd.concat([labelled.train, labelled.valid])
    key = {
        (str(q), str(i)): int(v) for q, i, v in zip(truth["qid"], truth["item_id"], truth["page_label"], strict=True)
    }
    rng = np.random.default_rng(seed)
    lo, hi = LABEL_SCALE
    report = plan_campaign(
        out / "campaign",
        unlabelled,
        strategy="iso-anchor",
        budget=budget,
        seed=PLAN_SEED,
        label_scale=LABEL_SCALE,
        annotators=3,
        aggregate="majority",
    )
    flipped = given = rounds = 0
    while not report.done:
        work = pd.read_csv(report.batch_csv, dtype=str, keep_default_na=False)
        labels = []
        for q, i, c in zip(work["qid"], work["item_id"], work["copy"], strict=True):
            grade = key[(q, i)]
            if c == "3" and rng.random() < flip:
                step = rng.choice([-1, 1]) if lo < grade < hi else (1 if grade == lo else -1)
                grade, flipped = grade + int(step), flipped + 1
            labels.append(str(grade))
        given += len(labels)
        work["label"] = labels
        work["annotator"] = ["annotator " + c for c in work["copy"]]
        filled = out / f"answers-{report.round:03d}.csv"
        work.to_csv(filled, index=False)
        report = import_answers(out / "campaign", unlabelled, filled)
        rounds += 1
    export_campaign(out / "campaign", unlabelled, out / "labelled")
    equal, revealed = True, True
    for role in ("train", "valid"):
        exported = pd.read_parquet(out / "labelled" / f"{role}.parquet")
        real = getattr(labelled, role).reset_index(drop=True)
        got = exported["page_label"].notna().to_numpy()
        equal &= bool((exported["page_label"][got].to_numpy(int) == real["page_label"][got].to_numpy(int)).all())
        sim = annotate(real, "iso-anchor", budget, seed=PLAN_SEED, levels=levels_of(LABEL_SCALE))
        revealed &= bool((got == sim.mask).all())
    status = campaign_status(out / "campaign")
    return {
        "done": status["done"],
        "rounds": rounds,
        "items_labelled": status["labels_used"],
        "answers_given": given,
        "flipped": flipped,
        "flip_share": flip,
        "labels_equal_truth": equal,
        "revealed_rows_equal_simulation": revealed,
        "ties": len(status["ties"]),
        "alpha": status["agreement"]["alpha"],
        "alpha_items": status["agreement"]["items"],
        "annotator_counts": status["annotator_counts"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flip", type=float, default=0.2, help="share of annotator 3's grades moved by one")
    parser.add_argument("--seed", type=int, default=0, help="seed of the flips")
    parser.add_argument("--budget", type=float, default=0.3)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        make_fixture("pages", Path(tmp) / "pages", seed=3)
        labelled = load_dataset("pages", Path(tmp) / "pages")
        result = simulate_team(
            labelled, _unlabelled(labelled), Path(tmp), flip=args.flip, seed=args.seed, budget=args.budget
        )
    text = json.dumps(result, indent=1)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0 if result["labels_equal_truth"] else 1


if __name__ == "__main__":
    sys.exit(main())
