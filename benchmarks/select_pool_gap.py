"""Pool pairs by label gap: does trusting only the wider single-modal label gaps help? Validation pages only.

Yahoo's single-modal labels move one grade up or down for 30% of the rows (``modal_label_noise``), so a pool pair
one grade apart is often a tie or reversed in truth, one two or more grades apart rarely. On top of round 7's
choice (pool pairs w=1 + list stage ``auto``, early stopping on the consistency loss), each row changes only how
the pool's pairs are drawn or weighted, the total pool weight kept: every pair (``all``); every pair at least two
grades apart; every pair, or the default ``neighbors`` pairs, weighted by their grade gap. These are not library
options: the pairs :class:`smar_ltr.pool_pairs.PoolRows` builds are filtered or reweighted here. Seeds 100-109,
budget 0.1, ``top``; the test split is never read. Usage::

    python benchmarks/select_pool_gap.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results
from _directions_round5 import valid_ndcg
from select_directions import CHOSEN, _merge, apply, base_config

import smar_ltr.pool_pairs as pool_pairs
from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import ConsistencyConfig
from smar_ltr.pipeline import fit_prepared, prepare
from smar_ltr.schema import MODAL_LABEL

_BUILD = pool_pairs.PoolRows.build.__func__  # type: ignore[attr-defined]
#: How the next fit reweights its pool pairs: None (as built), "gap>=2" or "weight*gap".
_MODE: dict[str, str | None] = {"mode": None}


def _reweighted(pairs: pd.DataFrame, labels: np.ndarray, mode: str) -> pd.DataFrame:
    gap = labels[pairs["winner"].to_numpy()] - labels[pairs["loser"].to_numpy()]
    total = pairs["weight"].sum()
    if mode == "gap>=2":
        kept = pairs[gap >= 2]
        if kept.empty:
            raise SystemExit("no pool pair is two or more grades apart")
        return kept.assign(weight=kept["weight"] * total / kept["weight"].sum())
    weight = pairs["weight"] * gap
    return pairs.assign(weight=weight * total / weight.sum())


def _build(
    cls: type[pool_pairs.PoolRows], frame: pd.DataFrame, X: pd.DataFrame, cfg: ConsistencyConfig, seed: int
) -> pool_pairs.PoolRows:
    rows = _BUILD(cls, frame, X, cfg, seed)
    mode = _MODE["mode"]
    if mode is None:
        return rows
    return pool_pairs.PoolRows(rows.frame, rows.X, _reweighted(rows.pairs, frame[MODAL_LABEL].to_numpy(float), mode))


pool_pairs.PoolRows.build = classmethod(_build)  # type: ignore[method-assign, assignment]

ALL = _merge(CHOSEN, {"consistency": {"pair_scheme": "all"}})
ROWS: list[tuple[str, dict, str | None]] = [
    ("chosen (neighbors pairs)", CHOSEN, None),
    ("all pairs", ALL, None),
    ("all pairs at least 2 grades apart", ALL, "gap>=2"),
    ("all pairs, weight x grade gap", ALL, "weight*gap"),
    ("neighbors pairs, weight x grade gap", CHOSEN, "weight*gap"),
]


def main() -> None:
    seeds = list(range(100, 110))
    scores: dict[str, list[float]] = {name: [] for name, _, _ in ROWS}
    for seed in seeds:
        base = base_config("yahoo", seed, 0.1, None)
        prepared = prepare(base, load_splits(base))
        for name, changes, mode in ROWS:
            _MODE["mode"] = mode
            model, _ = fit_prepared(apply(base, changes), prepared)
            scores[name].append(valid_ndcg(prepared.valid, model.score_features(prepared.valid, prepared.X_valid)))
        print(seed, {k: round(v[-1], 4) for k, v in scores.items()}, flush=True)
    ref = np.array(scores[ROWS[0][0]])
    rows = []
    for name, values in scores.items():
        diff = np.array(values) - ref
        rows.append(
            f"| {name} | {statistics.mean(values):.4f} | {diff.mean():+.4f} | {(diff > 0).sum()} / {(diff < 0).sum()} |"
        )
    md = "\n".join(
        [
            f"Validation NDCG@10 on `yahoo` (modal_label_noise 0.3), budget 0.1 (`top`), seeds {seeds}; test split "
            "unused; every row reads the same 10% of the training page labels and no validation label.",
            "",
            "| pool pairs | mean | vs chosen | seeds better / worse |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    write_results("select_pool_gap_yahoo_p0.1", {"scores": scores, "seeds": seeds}, md)
    print(md)


if __name__ == "__main__":
    main()
