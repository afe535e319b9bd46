"""Finite-difference checks of every SMAR objective term, and the total objective's plumbing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from smar_ltr.training.objectives import LambdaRankTerm, ListwiseTerm, PairTerm, SmarObjective


def _fd_check(term, scores: np.ndarray, eps: float = 1e-6, rtol: float = 1e-4) -> None:
    """The (compiled) gradient matches finite differences of the loss; the Hessian those of the gradient."""
    n = scores.shape[0]
    grad, hess = np.zeros(n), np.zeros(n)
    term.add_to(scores, grad, hess)
    num_grad = np.empty(n)
    num_hess = np.empty(n)
    for i in range(n):
        up, dn = scores.copy(), scores.copy()
        up[i] += eps
        dn[i] -= eps
        gu, gd = np.zeros(n), np.zeros(n)
        term.add_to(up, gu, np.zeros(n))
        term.add_to(dn, gd, np.zeros(n))
        num_grad[i] = (term.loss(up) - term.loss(dn)) / (2 * eps)
        num_hess[i] = (gu[i] - gd[i]) / (2 * eps)
    np.testing.assert_allclose(grad, num_grad, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(hess, num_hess, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lambdarank_gradient_matches_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = [5, 5, 3, 8, 1]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n = offsets[-1]
    labels = rng.integers(0, 4, n).astype(float)
    scores = rng.normal(size=n)  # continuous: ranks do not change within eps
    term = LambdaRankTerm(offsets=offsets, rows=np.arange(n), labels=labels, sigma=1.3, normalize=False)
    _fd_check(term, scores)


def _lightgbm_lambdas(scores: np.ndarray, labels: np.ndarray, truncation: int = 30) -> np.ndarray:
    """Brute-force transcription of LightGBM's lambdarank gradients for one query (norm on, sigma 1)."""
    n = len(scores)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(n)
    gains = 2.0**labels - 1
    k = min(n, truncation)
    max_dcg = (np.sort(gains)[::-1][:k] / np.log2(np.arange(2, k + 2))).sum()
    disc = 1 / np.log2(rank + 2.0)
    spread = scores.max() != scores.min()
    grad = np.zeros(n)
    total = 0.0
    for i in range(min(n - 1, truncation)):
        for j in range(i + 1, n):
            a, b = order[i], order[j]
            if labels[a] == labels[b]:
                continue
            high, low = (a, b) if labels[a] > labels[b] else (b, a)
            delta_score = scores[high] - scores[low]
            delta = abs(gains[high] - gains[low]) * abs(disc[high] - disc[low]) / max_dcg
            if spread:
                delta /= 0.01 + abs(delta_score)
            lam = delta / (1 + np.exp(delta_score))
            grad[high] -= lam
            grad[low] += lam
            total += 2 * lam
    return grad * (np.log2(1 + total) / total if total > 0 else 1.0)


def test_lambdarank_normalisation_matches_lightgbm_definition() -> None:
    rng = np.random.default_rng(3)
    offsets = np.array([0, 6, 12, 40])
    labels = rng.integers(0, 4, 40).astype(float)
    scores = rng.normal(size=40)
    term = LambdaRankTerm(offsets=offsets, rows=np.arange(40), labels=labels, normalize=True, truncation=20)
    grad = np.zeros(40)
    term.add_to(scores, grad, np.zeros(40))
    for lo, hi in itertools.pairwise(offsets):
        expected = _lightgbm_lambdas(scores[lo:hi], labels[lo:hi], truncation=20)
        np.testing.assert_allclose(grad[lo:hi], expected, rtol=1e-10, atol=1e-12)


def test_page_term_on_all_rows_trains_like_native_lambdarank() -> None:
    """Same data, params and rounds: our objective through LightGBM's callable hook = its own lambdarank."""
    import lightgbm as lgb

    rng = np.random.default_rng(4)
    sizes = rng.integers(5, 30, 40)
    n = int(sizes.sum())
    X = rng.normal(size=(n, 4))
    labels = np.clip(np.round(X[:, 0] + rng.normal(scale=0.7, size=n) + 1.5), 0, 4)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    params = {
        "learning_rate": 0.1,
        "num_leaves": 7,
        "min_data_in_leaf": 5,
        "verbosity": -1,
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
        "seed": 0,
    }
    native = lgb.train({**params, "objective": "lambdarank"}, lgb.Dataset(X, labels, group=sizes), 5)
    obj = SmarObjective(n_rows=n, page=LambdaRankTerm(offsets, np.arange(n), labels), hess_floor=0.0)
    ours = lgb.train({**params, "objective": obj}, lgb.Dataset(X, np.zeros(n), group=sizes), 5)
    np.testing.assert_allclose(ours.predict(X, raw_score=True), native.predict(X, raw_score=True), atol=1e-4)


def test_lambdarank_on_a_subset_of_rows_leaves_others_untouched() -> None:
    rows = np.array([1, 3, 4, 7])
    term = LambdaRankTerm(offsets=np.array([0, 2, 4]), rows=rows, labels=np.array([2.0, 0.0, 1.0, 3.0]))
    grad, hess = np.zeros(9), np.zeros(9)
    term.add_to(np.linspace(0, 1, 9), grad, hess)
    untouched = np.setdiff1d(np.arange(9), rows)
    assert np.all(grad[untouched] == 0) and np.all(hess[untouched] == 0)
    assert grad[1] < 0 < grad[3]  # the better item is pushed up (negative gradient)


@pytest.mark.parametrize("kappa", [1.0, 4.0])
def test_pair_term_gradient_matches_finite_differences(kappa: float) -> None:
    rng = np.random.default_rng(4)
    n = 10
    winner = np.array([0, 0, 2, 5, 7, 9])
    loser = np.array([1, 3, 4, 6, 8, 2])
    term = PairTerm(winner=winner, loser=loser, weight=rng.uniform(0.1, 2, 6), gamma=0.7, kappa=kappa)
    _fd_check(term, rng.normal(size=n))


def test_pair_term_approaches_hinge_for_large_kappa() -> None:
    term = PairTerm(winner=np.array([0]), loser=np.array([1]), weight=np.array([1.0]), gamma=1.0, kappa=200.0)
    for delta, hinge in [(-0.5, 1.5), (0.5, 0.5), (2.0, 0.0)]:
        assert term.loss(np.array([delta, 0.0])) == pytest.approx(hinge, abs=0.01)


def test_listwise_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    n = 12
    codes = np.array([0, 0, 0, 1, 1, -1, 2, 2, 2, 2, 1, 0])
    term = ListwiseTerm(
        list_codes=codes,
        reference=rng.normal(size=n),
        list_weight=np.array([1.0, 0.5, 2.0]),
    )
    _fd_check(term, rng.normal(size=n))


def test_listmle_is_minimised_by_the_reference_order() -> None:
    ref = np.array([3.0, 2.0, 1.0, 0.0])
    term = ListwiseTerm(list_codes=np.zeros(4, dtype=int), reference=ref, list_weight=np.array([1.0]))
    assert term.loss(ref * 5) < term.loss(-ref * 5)


def test_total_objective_sums_terms_and_floors_hessian() -> None:
    rng = np.random.default_rng(6)
    n = 8
    page = LambdaRankTerm(offsets=np.array([0, 4]), rows=np.arange(4), labels=np.array([3.0, 0, 1, 2]))
    pairs = PairTerm(winner=np.array([4, 5]), loser=np.array([5, 6]), weight=np.array([1.0, 1.0]))
    obj = SmarObjective(n_rows=n, page=page, consistency=pairs, lam=0.5, hess_floor=1e-3)
    scores = rng.normal(size=n)
    grad, hess = obj(scores, None)
    g_page, h_page = np.zeros(n), np.zeros(n)
    page.add_to(scores, g_page, h_page)
    g_pair, h_pair = np.zeros(n), np.zeros(n)
    pairs.add_to(scores, g_pair, h_pair, 0.5)
    np.testing.assert_allclose(grad, g_page + g_pair)
    assert hess[7] == pytest.approx(1e-3)  # row 7 has no supervision: floored
    assert obj.loss(scores) == pytest.approx(page.loss(scores) + 0.5 * pairs.loss(scores))
    with pytest.raises(ValueError, match="8 rows"):
        obj(np.zeros(3))


@pytest.mark.parametrize("normalize", [True, False])
def test_compiled_lambdarank_matches_numpy_reference(normalize: bool) -> None:
    rng = np.random.default_rng(8)
    sizes = rng.integers(1, 40, 30)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n = int(offsets[-1])
    rows = rng.permutation(n + 10)[:n]  # labelled rows scattered over a larger training set
    labels = rng.integers(0, 5, n).astype(float)
    term = LambdaRankTerm(offsets=offsets, rows=rows, labels=labels, normalize=normalize, truncation=12)
    scores = rng.normal(size=n + 10)
    g1, h1, g2, h2 = (np.zeros(n + 10) for _ in range(4))
    term.add_to(scores, g1, h1, 0.7)
    term.reference_gradients(scores, g2, h2, 0.7)
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h1, h2, rtol=1e-9, atol=1e-12)


def test_compiled_pairs_match_numpy_reference_with_query_chunks() -> None:
    rng = np.random.default_rng(9)
    n = 500
    row_query = np.repeat(np.arange(50), 10)
    winner = rng.integers(0, n, 3000)
    loser = (winner // 10) * 10 + rng.integers(0, 10, 3000)  # same query as the winner
    keep = winner != loser
    term = PairTerm(
        winner[keep], loser[keep], rng.uniform(0.1, 1, keep.sum()), gamma=0.3, kappa=2.0, row_query=row_query
    )
    scores = rng.normal(size=n)
    g1, h1, g2, h2 = (np.zeros(n) for _ in range(4))
    term.add_to(scores, g1, h1, 1.5)
    term.reference_gradients(scores, g2, h2, 1.5)
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h1, h2, rtol=1e-9, atol=1e-12)


def test_listmle_stays_finite_for_far_apart_scores() -> None:
    term = ListwiseTerm(
        list_codes=np.zeros(3, dtype=int), reference=np.array([3.0, 2.0, 1.0]), list_weight=np.array([1.0])
    )
    grad, hess = np.zeros(3), np.zeros(3)
    term.add_to(np.array([0.0, -10.0, -900.0]), grad, hess)
    assert np.isfinite(grad).all() and np.isfinite(hess).all() and np.isfinite(term.loss(np.array([0.0, -10, -900])))
