"""Paired tests over seeds behind the sweep's "beats" / "matches" verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from smar_ltr.experiments.significance import compare_rows, paired_test


def test_a_clear_gain_beats_and_a_clear_loss_is_worse() -> None:
    rng = np.random.default_rng(0)
    b = rng.random(6)
    a = b + 0.05 + rng.normal(0, 0.005, 6)
    result = paired_test(a, b, tolerance=0.005)
    assert result["verdict"] == "beats" and result["t_p"] < 0.05
    assert result["t_p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert result["mean_diff"] == pytest.approx(float(np.mean(a - b)))
    assert paired_test(b, a, tolerance=0.005)["verdict"] == "worse"


def test_matches_needs_equivalence_not_just_no_difference() -> None:
    rng = np.random.default_rng(1)
    b = rng.random(8)
    close = b + rng.normal(0, 0.0005, 8)
    assert paired_test(close, b, tolerance=0.005)["verdict"] == "matches"
    noisy = b + rng.normal(0, 0.05, 3)[np.arange(8) % 3]  # large spread, few distinct differences
    result = paired_test(noisy[:3], b[:3], tolerance=0.005)
    assert result["verdict"] == "inconclusive" and result["tost_p"] > 0.05


def test_degenerate_samples() -> None:
    assert paired_test(np.array([0.5]), np.array([0.4]), 0.01)["verdict"] == "inconclusive"
    same = paired_test(np.array([0.5, 0.6]), np.array([0.5, 0.6]), 0.01)
    assert same["verdict"] == "matches" and same["t_p"] is None
    assert paired_test(np.array([0.6, 0.7]), np.array([0.5, 0.6]), 0.01)["verdict"] == "beats"


def _row(method, budget, seeds, values, strategy="top"):
    return {"method": method, "strategy": strategy, "budget": budget, "seeds": seeds, "values": values}


def test_rows_are_paired_by_seed_and_smar_meets_each_baseline_at_its_budget() -> None:
    rows = [
        _row("full_supervision", 1.0, [0, 1, 2], [0.80, 0.82, 0.81], strategy="all"),
        _row("smar[top]", 0.1, [0, 1, 2], [0.79, None, 0.80]),
        _row("budget_only[top]", 0.1, [2, 0], [0.70, 0.71]),
        _row("single_modal[top]", 0.3, [0, 1, 2], [0.6, 0.6, 0.6]),
    ]
    out = {(c["a"], c["b"]): c for c in compare_rows(rows, "full_supervision", 0.005)}
    assert set(out) == {
        ("smar[top]", "full_supervision"),
        ("budget_only[top]", "full_supervision"),
        ("single_modal[top]", "full_supervision"),
        ("smar[top]", "budget_only[top]"),
    }
    vs_full = out[("smar[top]", "full_supervision")]
    assert vs_full["n"] == 2 and vs_full["mean_diff"] == pytest.approx(-0.01)  # seed 1 has no SMAR value
    vs_budget = out[("smar[top]", "budget_only[top]")]
    assert vs_budget["mean_diff"] == pytest.approx(((0.79 - 0.71) + (0.80 - 0.70)) / 2)  # seed 0 with 0, 2 with 2
