"""CatBoost's SMAR path honours every consistency setting it can express and refuses the others in one line."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from smar_ltr import SMARRanker
from smar_ltr.annotation.budget import annotate
from smar_ltr.config import ConsistencyConfig, GBDTConfig, RunConfig
from smar_ltr.errors import ConfigError, SettingNote
from smar_ltr.training.reranker import build_supervision, catboost_pairs

PAIRLOGIT = {"gamma": 0.0, "kappa": 1.0}


@pytest.fixture(scope="module")
def pages() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    qid = np.repeat([f"q{i}" for i in range(6)], 8)
    return pd.DataFrame(
        {
            "qid": qid,
            "item_id": [str(i) for i in range(len(qid))],
            "modality": np.tile(["web", "image"], len(qid) // 2),
            "page_label": rng.integers(0, 4, len(qid)),
            "upstream_score": rng.normal(size=len(qid)),
        }
    )


def _pairs(pages: pd.DataFrame, strategy: str = "top", **settings) -> pd.DataFrame:
    cfg = ConsistencyConfig(**{**PAIRLOGIT, **settings})
    annotation = annotate(pages, strategy, 0.5, seed=0)
    sup = build_supervision(pages, annotation, cfg, seed=0)
    return catboost_pairs(sup, pages["qid"].to_numpy(), cfg)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"gamma": 0.5}, r"gamma=0.5, kappa=1.0 given\): set consistency.gamma=0"),
        ({"kappa": 4.0}, r"gamma=0.0, kappa=4.0 given"),
        ({"mode": "listwise"}, "pairwise consistency only"),
    ],
)
def test_settings_pairlogit_cannot_express_are_refused(pages, settings, match) -> None:
    with pytest.raises(ConfigError, match=match):
        _pairs(pages, **settings)


def test_margin_is_irrelevant_without_constraint_pairs(pages) -> None:
    pairs = _pairs(pages, mode="none", gamma=0.5, kappa=3.0)  # only page-label pairs: nothing to ignore
    assert set(pairs["kind"]) == {"page"}


def test_lam_and_page_weight_scale_their_pairs(pages) -> None:
    base = _pairs(pages)
    scaled = _pairs(pages, lam=3.0, page_weight=0.5)
    for kind, factor in (("page", 0.5), ("intra", 3.0)):
        a, b = base[base["kind"] == kind], scaled[scaled["kind"] == kind]
        assert len(a) > 0
        np.testing.assert_allclose(b["weight"].to_numpy(), factor * a["weight"].to_numpy())
    assert "intra" not in set(_pairs(pages, lam=0.0)["kind"])


def test_lambdarank_norm_averages_page_pairs_per_query(pages) -> None:
    averaged = _pairs(pages, lambdarank_norm=True)
    plain = _pairs(pages, lambdarank_norm=False)
    page_avg, page_plain = averaged[averaged["kind"] == "page"], plain[plain["kind"] == "page"]
    np.testing.assert_allclose(page_plain["weight"], 1.0)
    np.testing.assert_allclose(page_avg.groupby("qid")["weight"].sum(), 1.0)


def test_beta_weights_each_modality(pages) -> None:
    both = _pairs(pages)
    pairs = _pairs(pages, beta={"web": 2.0, "image": 0.0})
    intra, base = pairs[pairs["kind"] == "intra"], both[both["kind"] == "intra"]
    modality = pages["modality"].to_numpy()[intra["winner"].to_numpy()]
    assert set(modality) == {"web"}  # beta 0 drops the image pairs
    base_web = base[pages["modality"].to_numpy()[base["winner"].to_numpy()] == "web"]
    np.testing.assert_allclose(intra["weight"].to_numpy(), 2.0 * base_web["weight"].to_numpy())


# ---- the margin a CatBoost run uses when the user sets none ------------------------------------------------
def test_an_unset_margin_resolves_per_backend_once_with_a_note_for_catboost() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingNote)  # LightGBM keeps the method's default silently
        lgb = RunConfig()
    assert (lgb.consistency.gamma, lgb.consistency.kappa) == (0.5, 1.0)
    with pytest.warns(SettingNote, match=r"consistency.gamma=0, consistency.kappa=1 "):
        cat = RunConfig(reranker=GBDTConfig(backend="catboost"))
    assert (cat.consistency.gamma, cat.consistency.kappa) == (0.0, 1.0)
    assert cat.to_dict()["consistency"]["gamma"] == 0.0  # what config.json records
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingNote)  # resolved once: copies say nothing again
        assert dataclasses.replace(cat, seed=3).consistency.gamma == 0.0
        explicit = RunConfig(reranker=GBDTConfig(backend="catboost"), consistency=ConsistencyConfig(gamma=0.5))
    assert (explicit.consistency.gamma, explicit.consistency.kappa) == (0.5, 1.0)  # kept, refused when training


def _arrays(n_queries: int = 30, per_query: int = 8) -> dict:
    rng = np.random.default_rng(1)
    n = n_queries * per_query
    latent = rng.normal(size=n)
    return {
        "X": np.column_stack([latent + rng.normal(0, 0.5, n), rng.normal(size=n)]),
        "y": np.clip(np.round(latent + 1.5), 0, 3),
        "qid": np.repeat(np.arange(n_queries), per_query),
        "modality": np.tile(["web", "image"], n // 2),
        "upstream_score": latent + rng.normal(0, 0.4, n),
    }


FAST_CATBOOST = {"backend": "catboost", "n_estimators": 5, "early_stopping_rounds": 0, "seed": 0}


def test_smarranker_on_catboost_fits_with_the_pairlogit_margin_and_records_it(tmp_path) -> None:
    d = _arrays()
    with pytest.warns(SettingNote, match="PairLogit"):
        model = SMARRanker(**FAST_CATBOOST).fit(d.pop("X"), d.pop("y"), **d)
    assert model.get_params()["gamma"] is None  # the user's setting stays "unset" (clone keeps it so)
    assert model.fit_summary_["consistency"] == {"gamma": 0.0, "kappa": 1.0}
    saved = json.loads((model.save(tmp_path / "m") / "estimator.json").read_text())
    assert saved["fit_summary"]["consistency"] == {"gamma": 0.0, "kappa": 1.0}


def test_smarranker_on_catboost_refuses_an_explicit_margin() -> None:
    d = _arrays()
    model = SMARRanker(**FAST_CATBOOST, gamma=0.5)
    with pytest.raises(ConfigError, match=r"PairLogit, which has no margin.*\(gamma=0.5, kappa=1.0 given\)"):
        model.fit(d.pop("X"), d.pop("y"), **d)
    assert not hasattr(model, "reranker_")
