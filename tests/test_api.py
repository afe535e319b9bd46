"""smar_ltr.fit / load / rerank on in-memory page tables: partial labels, settings, saved runs, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_GBDT, fast_config

import smar_ltr
from smar_ltr.errors import ConfigError
from smar_ltr.rankers.single_modal import with_upstream_scores


@pytest.fixture(scope="module")
def scored(fitted_small, small_splits) -> dict[str, pd.DataFrame]:
    """Train and test pages with upstream_score filled by the session run's single-modal rankers."""
    model = fitted_small[0]
    return {
        role: with_upstream_scores(getattr(small_splits, role), model.single_modal, model.modal_features)
        for role in ("train", "test")
    }


def _partial(pages: pd.DataFrame, fraction: float, seed: int = 0) -> pd.DataFrame:
    out = pages.copy()
    out["page_label"] = out["page_label"].astype("Float64")
    out.loc[np.random.default_rng(seed).random(len(out)) < fraction, "page_label"] = pd.NA
    return out


def test_fit_on_a_partially_labelled_page_table(scored, tmp_path) -> None:
    pages = _partial(scored["train"], 0.8)
    model = smar_ltr.fit(pages, reranker=FAST_GBDT, seed=3, out=tmp_path / "run")
    annotation = model.summary["annotation"]
    assert annotation["strategy"] == "given" and annotation["labels_used"] == int(pages["page_label"].notna().sum())
    assert model.summary["dataset"] == smar_ltr.api.IN_MEMORY and model.config.seed == 3
    assert model.config.reranker.n_estimators == FAST_GBDT["n_estimators"]
    assert model.single_modal == {}  # upstream scores came with the pages
    test = scored["test"]
    ranked = smar_ltr.rerank(tmp_path / "run", test)
    assert list(ranked.columns[-2:]) == ["score", "rank"] and len(ranked) == len(test)
    np.testing.assert_array_equal(ranked["score"], smar_ltr.rerank(model, test)["score"])


def test_fit_trains_single_modal_rankers_from_a_pool_and_merges_settings(small_splits) -> None:
    pages = _partial(small_splits.train, 0.5)
    model = smar_ltr.fit(
        pages,
        config=fast_config(),
        single_modal_pool=small_splits.single_modal,
        modal_features=small_splits.modal_features,
        budget={"strategy": "given"},
        consistency={"lam": 0.5},
    )
    assert model.config.budget.strategy == "given" and model.config.consistency.lam == 0.5  # settings merged
    assert model.config.reranker.n_estimators == FAST_GBDT["n_estimators"]  # the rest kept from config
    assert sorted(model.single_modal) == sorted(small_splits.modal_features)
    assert model.summary["annotation"]["strategy"] == "given"
    assert np.isfinite(model.score(small_splits.test)).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: smar_ltr.fit(s, valid=s.valid), "valid, single_modal_pool and the feature lists come from it"),
        (lambda s: smar_ltr.fit(s.train.to_dict()), "must be a page table"),
        (lambda s: smar_ltr.fit(s, config=42), "config must be a RunConfig"),
        (lambda s: smar_ltr.fit(s, budget={"colour": 1}), "colour"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(small_splits, call, match) -> None:
    with pytest.raises(ConfigError, match=match):
        call(small_splits)
