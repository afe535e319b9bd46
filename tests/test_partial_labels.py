"""Partial page labels are a normal input: a missing ``page_label`` means "not annotated"."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

from smar_ltr.errors import ConfigError, PageTableError, SettingNote
from smar_ltr.evaluation.paper_protocol import evaluate_run
from smar_ltr.metrics.ranking import evaluate as compute_metrics
from smar_ltr.pipeline import fit


def _hide(frame: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """A copy with ``page_label`` removed from a random ``fraction`` of the rows."""
    out = frame.copy()
    hide = np.random.default_rng(seed).random(len(out)) < fraction
    out["page_label"] = out["page_label"].astype("Int64").mask(hide)
    return out


@pytest.fixture(scope="module")
def partial_splits(small_splits):
    return dataclasses.replace(
        small_splits,
        train=_hide(small_splits.train, 0.7, 1),
        valid=_hide(small_splits.valid, 0.5, 2),
        test=_hide(small_splits.test, 0.2, 3),
    )


@pytest.fixture(scope="module")
def partial_fit(partial_splits):
    return fit(fast_config(consistency={"early_stopping": "labels"}), partial_splits)  # stops on labels


def test_partial_training_pages_train_on_exactly_the_annotated_rows(partial_fit, partial_splits) -> None:
    model, state = partial_fit
    annotated = partial_splits.train["page_label"].notna().to_numpy()
    assert state.annotation.strategy == "given"
    np.testing.assert_array_equal(state.annotation.mask, annotated)
    expected = partial_splits.train.loc[annotated, ["qid", "item_id"]].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(model.revealed.astype(str), expected)
    np.testing.assert_array_equal(np.sort(state.supervision.page_rows), np.flatnonzero(annotated))
    assert not np.isnan(state.supervision.page_labels).any()
    choice = model.summary["strategy_choice"]
    assert choice["requested"] == "auto" and choice["used"] == "given"
    assert f"{annotated.sum()} of {annotated.size} training rows are annotated" in choice["reason"]
    # single-modal consistency pairs use every row, annotated or not
    pair_rows = np.union1d(state.supervision.intra["winner"], state.supervision.intra["loser"])
    assert (~annotated[pair_rows]).any()


def test_only_annotated_validation_rows_drive_early_stopping(partial_fit, partial_splits) -> None:
    _, state = partial_fit
    X, y, qid = state.eval_set
    valid = partial_splits.valid
    assert len(y) == len(X) == len(qid) == int(valid["page_label"].notna().sum()) < len(valid)
    assert not np.isnan(y).any()


@pytest.mark.parametrize("strategy", ["top", "band", "random", "all", "iso-anchor"])
def test_simulated_strategies_refuse_partial_training_pages(partial_splits, strategy: str) -> None:
    cfg = fast_config(budget={"strategy": strategy, "budget": 0.3})
    with pytest.raises(PageTableError, match=r"not annotated.*use strategy 'given'"):
        fit(cfg, partial_splits)


def test_unannotated_training_pages_are_one_clear_error(small_splits) -> None:
    bare = dataclasses.replace(small_splits, train=_hide(small_splits.train, 1.1, 0))
    with pytest.raises(ConfigError, match="training pages carry no page label"):
        fit(fast_config(), bare)


def test_eval_leaves_unlabelled_test_rows_out_and_counts_them(partial_fit, partial_splits) -> None:
    from smar_ltr.cli.formatting import render_report

    model, state = partial_fit
    report = evaluate_run(model.config, model, state, partial_splits, methods=("smar",))
    test = partial_splits.test
    labelled = test["page_label"].notna().to_numpy()
    assert report.notes["unlabelled_rows_left_out"] == int((~labelled).sum()) > 0
    # scores come from whole pages; metrics from the labelled rows only
    scores = model.score(test)[labelled]
    kept = test[labelled]
    expected = compute_metrics(kept["page_label"].to_numpy(float), scores, kept["qid"].to_numpy(), ["ndcg@10"])
    assert report.result("smar").metrics["ndcg@10"] == pytest.approx(expected["ndcg@10"])
    assert report.strategy == "given"
    text = render_report(report, "table")
    assert f"{int((~labelled).sum())} test rows without a page label" in text


def test_iso_anchor_levels_come_from_the_declared_scale(small_splits) -> None:
    info = {k: v for k, v in small_splits.info.items() if k != "max_label"}
    undeclared = dataclasses.replace(small_splits, info=info)
    cfg = fast_config(budget={"strategy": "iso-anchor", "budget": 0.3})
    with pytest.raises(ConfigError, match="label scale"):
        fit(cfg, undeclared)
    assert int(small_splits.train["page_label"].max()) == 4
    with pytest.warns(SettingNote, match="labels reach grade 4 but the declared label scale tops at max_label=2"):
        _, state = fit(fast_config(budget={"strategy": "iso-anchor", "budget": 0.3, "max_label": 2}), undeclared)
    assert set(state.annotation.anchors["label"]) <= {1, 2}  # levels 2..1 only, though labels reach 4
    _, declared = fit(cfg, small_splits)  # the synthetic dataset declares its 0..4 scale
    assert 4 in set(declared.annotation.anchors["label"])
