"""The trained and calibrated baselines of ``eval``: which rows, labels and features each one learns from.

A fake learner stands in for the backend (PyTerrier's ``test_ltr_mocked``): it records what ``fit`` received, so
the wiring is checked without training anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smar_ltr.evaluation.paper_protocol as evaluation
from smar_ltr.evaluation.baselines import calibrated_scores, fit_modal_calibration, with_upstream_column
from smar_ltr.evaluation.paper_protocol import evaluate_run


class RecordingRanker:
    """Stands in for a GBDT ranker: records its training inputs and predicts from one column."""

    calls: list[dict] = []  # noqa: RUF012 - shared on purpose, reset per test

    def fit(self, X, y, qid, eval_set=None):
        RecordingRanker.calls.append({"X": X, "y": np.asarray(y), "qid": np.asarray(qid), "eval_set": eval_set})
        self.columns_ = list(X.columns)
        return self

    def predict(self, X):
        assert list(X.columns) == self.columns_, "predict must see the columns fit saw"
        return np.zeros(len(X))


@pytest.fixture
def recorded(monkeypatch, fitted_small, small_splits):
    RecordingRanker.calls = []
    monkeypatch.setattr(evaluation, "make_ranker", lambda backend, **kw: RecordingRanker())
    model, state = fitted_small

    def run(method: str):
        RecordingRanker.calls = []
        report = evaluate_run(model.config, model, state, small_splits, methods=(method,))
        return report.result(method), RecordingRanker.calls

    return run, state


@pytest.mark.parametrize(
    ("method", "every_row", "upstream"),
    [
        ("full_supervision", True, False),
        ("budget_only", False, False),
        ("full_supervision_up", True, True),
        ("budget_only_up", False, True),
    ],
)
def test_lambdamart_baselines_train_on_their_rows_labels_and_features(recorded, method, every_row, upstream) -> None:
    run, state = recorded
    result, calls = run(method)
    assert len(calls) == 1
    call = calls[0]
    rows = np.arange(len(state.train)) if every_row else np.flatnonzero(state.annotation.mask)
    train = state.train.iloc[rows]
    np.testing.assert_array_equal(call["y"], train["page_label"].to_numpy(float))
    np.testing.assert_array_equal(call["qid"], train["qid"].to_numpy())
    assert list(call["X"].index) == list(train.index)
    assert ("upstream_score" in call["X"].columns) == upstream
    if upstream:
        np.testing.assert_allclose(
            call["X"]["upstream_score"].to_numpy(), train["upstream_score"].to_numpy(dtype="float32"), rtol=0
        )
        assert list(call["X"].columns[:-1]) == list(state.X_train.columns)
    # early stopping: every validation label for full supervision, the run's budgeted ones for budget-only
    if not every_row:  # SMAR stops on its consistency loss and reads no validation label; so does budget-only
        assert state.validation is None and call["eval_set"] is None
        assert result.validation_labels == 0 and result.train_labels == len(rows)
        return
    X_valid, y_valid, _ = call["eval_set"]
    valid_rows = np.arange(len(state.valid))
    assert 0 < len(valid_rows) and (len(valid_rows) == len(state.valid)) == every_row
    np.testing.assert_array_equal(y_valid, state.valid["page_label"].to_numpy(float)[valid_rows])
    assert list(X_valid.columns) == list(call["X"].columns)  # early stopping sees the same inputs
    if upstream:
        np.testing.assert_allclose(
            X_valid["upstream_score"].to_numpy(),
            state.valid["upstream_score"].to_numpy(dtype="float32")[valid_rows],
            rtol=0,
        )
    assert (result.train_labels, result.validation_labels) == (len(rows), len(valid_rows))
    assert result.labels_used == len(rows) + len(valid_rows)
    n_candidates = len(state.train) + len(state.valid)
    assert result.label_fraction == pytest.approx(result.labels_used / n_candidates, abs=1e-6)
    if every_row:
        assert result.label_fraction == 1.0


def test_single_modal_baseline_trains_no_ranker_and_costs_the_budget(recorded) -> None:
    run, state = recorded
    result, calls = run("single_modal")
    assert calls == []
    assert result.train_labels == state.annotation.labels_used
    assert result.validation_labels == 0  # no early stopping, no validation label
    # no validation label read: the validation pages still count (one denominator)
    n_candidates = len(state.train) + len(state.valid)
    assert result.label_fraction == pytest.approx(state.annotation.labels_used / n_candidates, abs=1e-6)


def _pages(n_queries: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_queries):
        for m, scale in (("text", 1.0), ("video", 100.0)):
            for i in range(6):
                up = rng.normal() * scale
                rows.append((f"q{q}", f"{m}{i}", m, up, float(np.clip(round(up / scale + 2), 0, 4))))
    return pd.DataFrame(rows, columns=["qid", "item_id", "modality", "upstream_score", "page_label"])


def test_calibration_reads_only_revealed_labels() -> None:
    pages = _pages(8, 0)
    mask = np.zeros(len(pages), dtype=bool)
    mask[::3] = True
    base = fit_modal_calibration(pages, mask)
    scrambled = pages.copy()
    scrambled.loc[~mask, "page_label"] = 4.0 - scrambled.loc[~mask, "page_label"]  # hidden labels changed
    again = fit_modal_calibration(scrambled, mask)
    for m in base.knots:
        for a, b in zip(base.knots[m], again.knots[m], strict=True):
            np.testing.assert_array_equal(a, b)
    assert base.labels_used == int(mask.sum())
    revealed = pages.loc[mask, "page_label"]
    moved = pages.copy()
    moved.loc[mask, "page_label"] = 4.0 - revealed  # a revealed label changed: the maps change
    assert not np.array_equal(fit_modal_calibration(moved, mask).knots["text"][1], base.knots["text"][1])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), every=st.integers(1, 4))
def test_calibration_is_monotone_per_modality_and_keeps_each_modality_order(seed: int, every: int) -> None:
    pages = _pages(5, seed)
    mask = np.zeros(len(pages), dtype=bool)
    mask[::every] = True
    cal = fit_modal_calibration(pages, mask)
    calibrated = cal.transform(pages)
    merged = calibrated_scores(pages, cal)
    for m in ("text", "video"):
        rows = (pages["modality"] == m).to_numpy()
        order = np.argsort(pages.loc[rows, "upstream_score"].to_numpy(), kind="stable")
        assert np.all(np.diff(calibrated[rows][order]) >= 0)  # monotone map
        for _, g in pages[rows].groupby("qid"):  # the merged page keeps the modality's own order
            by_up = g.sort_values("upstream_score").index
            assert np.all(np.diff(merged[by_up]) > 0)


def test_calibration_puts_scales_on_the_label_scale() -> None:
    """Video scores are 100x text scores; calibrated, equal relevance lands on equal values."""
    pages = _pages(30, 1)
    cal = fit_modal_calibration(pages, np.ones(len(pages), dtype=bool))
    probe = pd.DataFrame({"modality": ["text", "video"], "upstream_score": [1.0, 100.0]})
    text, video = cal.transform(probe)
    assert abs(text - video) < 0.5


def test_calibration_of_a_modality_without_revealed_labels_falls_back() -> None:
    pages = _pages(4, 2)
    mask = (pages["modality"] == "text").to_numpy()
    cal = fit_modal_calibration(pages, mask)
    assert set(cal.knots) == {"text"}
    video = cal.transform(pages)[~mask]
    assert np.all(video == pytest.approx(pages.loc[mask, "page_label"].mean()))


def test_missing_scores_rank_last_and_upstream_column_is_added_once() -> None:
    pages = _pages(1, 3)
    pages.loc[0, "upstream_score"] = np.nan
    cal = fit_modal_calibration(pages, np.ones(len(pages), dtype=bool))
    merged = calibrated_scores(pages, cal)
    assert merged[0] == -np.inf and np.isfinite(merged[1:]).all()
    X = pd.DataFrame({"f": np.arange(len(pages), dtype="float32")}, index=pages.index)
    once = with_upstream_column(X, pages)
    assert list(once.columns) == ["f", "upstream_score"] and "upstream_score" not in X.columns
    assert with_upstream_column(once, pages) is once
