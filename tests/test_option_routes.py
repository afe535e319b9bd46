"""Every setting the product keeps, on every route (issue 25): ``smar-ltr fit``, ``smar_ltr.fit``, ``SMARRanker``,
the Dask engine and a search-engine export that scores like ``rerank`` -- or the one-line refusal with the reason.

Each option is a non-default value of a setting that stayed after the real-data protocol
(``benchmarks/protocol.py``). The CLI run and ``smar_ltr.fit`` must give the same model; the estimator, given the
same pages as arrays, must fit with the same settings; the Dask engine must fit them too (XGBoost there builds the
single-machine trees, so its scores are compared); the ES-LTR export of the CLI run must score the test pages
exactly as ``rerank`` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from census import assert_one_line_error, invoke
from conftest import FAST_GBDT, fast_config
from engine_walkers import assert_same_scores, score_es_ltr

from smar_ltr.errors import ConfigError

#: name -> (settings as in a config file, the same as SMARRanker parameters).
OPTIONS: dict[str, tuple[dict, dict]] = {
    "listwise ListMLE": ({"consistency": {"mode": "listwise"}}, {"mode": "listwise"}),
    "no consistency term": ({"consistency": {"mode": "none"}}, {"mode": "none"}),
    "no page term": ({"consistency": {"page_weight": 0.0}}, {"page_weight": 0.0}),
    "early stopping on labels": ({"consistency": {"early_stopping": "labels"}}, {"early_stopping": "labels"}),
    "pair settings": (
        {"consistency": {"pair_scheme": "all", "normalize_pairs": False, "lambdarank_norm": False}},
        {"pair_scheme": "all", "normalize_pairs": False, "lambdarank_norm": False},
    ),
    "margin and weights": (
        {"consistency": {"gamma": 1.0, "kappa": 2.0, "lam": 0.5, "beta": {"web": 2.0}}},
        {"gamma": 1.0, "kappa": 2.0, "lam": 0.5, "beta": {"web": 2.0}},
    ),
    "iso-anchor": (
        {"budget": {"strategy": "iso-anchor"}, "consistency": {"mu": 0.5}},
        {"strategy": "iso-anchor", "mu": 0.5},
    ),
    "band, full validation": (
        {"budget": {"strategy": "band", "band": 1, "validation": "full"}, "consistency": {"early_stopping": "labels"}},
        {"strategy": "band", "band": 1, "validation": "full", "early_stopping": "labels"},
    ),
    "no pool pairs": ({"consistency": {"pool_weight": 0.0}}, {"pool_weight": 0.0}),
    "pool pairs weighted 2": ({"consistency": {"pool_weight": 2.0}}, None),  # SMARRanker: refused (no pool)
    "upstream as a feature": ({"upstream_as_feature": True}, {"upstream_as_feature": True}),
}
FAST = {**FAST_GBDT, "n_estimators": 12}


def _settings(name: str) -> dict:
    return {"reranker": dict(FAST), "single_modal": dict(FAST), "budget": {"budget": 0.2}, **_merge(OPTIONS[name][0])}


def _merge(settings: dict) -> dict:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in settings.items()}
    out["budget"] = {"budget": 0.2, **out.get("budget", {})}
    return out


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory) -> dict[str, Path]:
    """One CLI run per option on the small simulator."""
    root = tmp_path_factory.mktemp("routes")
    runs = {}
    for k, name in enumerate(OPTIONS):
        config = root / f"c{k}.json"
        config.write_text(json.dumps(_settings(name)))
        run = root / f"run{k}"
        result = invoke(["fit", "-q", "-c", str(config), "--set", "dataset_options.size=small", "-o", str(run)])
        assert result.exit_code == 0, (name, result.output)
        runs[name] = run
    return runs


@pytest.mark.parametrize("name", list(OPTIONS))
def test_the_cli_and_the_python_api_fit_the_same_model(name, cli_runs, small_splits) -> None:
    import smar_ltr

    loaded = smar_ltr.load(cli_runs[name])
    config = fast_config(**_settings(name))
    model = smar_ltr.fit(small_splits, config=config)
    assert loaded.config == model.config
    np.testing.assert_array_equal(loaded.score(small_splits.test), model.score(small_splits.test))


@pytest.mark.parametrize("name", list(OPTIONS))
def test_an_export_of_each_option_scores_like_rerank(name, cli_runs, small_splits, tmp_path) -> None:
    import smar_ltr
    from smar_ltr.export import reranker_input_matrix

    out = tmp_path / "smar.json"
    result = invoke(["export", "-m", str(cli_runs[name]), "-f", "es-ltr", "--out", str(out)])
    assert result.exit_code == 0, result.output
    model = smar_ltr.load(cli_runs[name])
    pages = small_splits.test.drop(columns=["page_label"])
    X = reranker_input_matrix(model, pages)[model.feature_names].astype("float32").to_numpy()
    featureset = json.loads((tmp_path / "smar.featureset.json").read_text())
    ranked = smar_ltr.rerank(model, pages)
    assert_same_scores(score_es_ltr(json.loads(out.read_text()), featureset, X), ranked["score"].to_numpy())


@pytest.fixture(scope="module")
def arrays(small_splits):
    """The small simulator's training pages as SMARRanker arrays (features of the fitted feature set)."""
    from smar_ltr.pipeline import prepare

    prepared = prepare(fast_config(), small_splits)
    train = prepared.train
    return {
        "X": prepared.X_train,
        "y": train["page_label"].to_numpy(dtype=float),
        "qid": train["qid"].to_numpy(),
        "modality": train["modality"].astype(str).to_numpy(),
        "upstream_score": train["upstream_score"].to_numpy(dtype=float),
        "eval_set": (
            prepared.X_valid,
            prepared.valid["page_label"].to_numpy(dtype=float),
            prepared.valid["qid"].to_numpy(),
            prepared.valid["modality"].astype(str).to_numpy(),
            prepared.valid["upstream_score"].to_numpy(dtype=float),
        ),
    }


@pytest.mark.parametrize("name", list(OPTIONS))
def test_smar_ranker_fits_each_option_or_says_why_not(name, arrays) -> None:
    from smar_ltr import SMARRanker

    params = OPTIONS[name][1]
    gbdt = {k: v for k, v in FAST.items() if k != "early_stopping_rounds"}
    data = {k: v for k, v in arrays.items() if k not in ("X", "y")}
    if params is None:
        with pytest.raises(ConfigError, match="SMARRanker is fitted on page arrays only, with no pool"):
            SMARRanker(**gbdt, budget=0.2, pool_weight=2.0).fit(arrays["X"], arrays["y"], **data)
        return
    model = SMARRanker(**gbdt, budget=0.2, max_label=4, **params).fit(arrays["X"], arrays["y"], **data)
    for key, value in params.items():
        assert getattr(model, key) == value
    scores = model.predict(arrays["X"], upstream_score=arrays["upstream_score"])
    assert scores.shape == (len(arrays["y"]),) and np.isfinite(scores).all()


@pytest.mark.parametrize("route", ["export", "dask"])
def test_catboost_refuses_the_routes_it_cannot_run_in_one_line(route, small_splits, tmp_path) -> None:
    """CatBoost trains through the CLI, ``smar_ltr.fit`` and SMARRanker (its own tests); it has no Dask ranker and
    its oblivious trees have no search-engine export."""
    config = tmp_path / "c.json"
    margin = {"gamma": 0.0, "kappa": 1.0}  # CatBoost's PairLogit margin, set so no note is printed
    config.write_text(
        json.dumps({"reranker": {**FAST, "backend": "catboost"}, "single_modal": FAST, "consistency": margin})
    )
    if route == "dask":
        result = invoke(["fit", "-c", str(config), "--engine", "dask", "--workers", "2", "-q"])
        assert_one_line_error(result, "CatBoost has no Dask ranker")
        return
    run = tmp_path / "run"
    fit = invoke(["fit", "-q", "-c", str(config), "--set", "dataset_options.size=small", "-o", str(run)])
    assert fit.exit_code == 0, fit.output
    out = tmp_path / "m.json"
    assert_one_line_error(invoke(["export", "-m", str(run), "-f", "es-ltr", "--out", str(out)]), "catboost")
    assert not out.exists()


@pytest.mark.xdist_group("dask")
@pytest.mark.parametrize("name", list(OPTIONS))
def test_the_dask_engine_fits_each_option_like_one_machine(name, client) -> None:
    """On pages with discretised inputs XGBoost on the cluster builds the single-machine trees: same labels read,
    same rounds kept, same scores."""
    from discrete_pages import FEATURES, pages, pool

    import smar_ltr

    def discrete(frame: pd.DataFrame) -> pd.DataFrame:  # a single-modal score that bins alike everywhere
        return frame.assign(upstream_score=np.round(frame["upstream_score"] * 2) / 2)

    train, valid, test = discrete(pages(40, seed=0)), discrete(pages(20, seed=1)), discrete(pages(20, seed=4))
    valid["qid"], test["qid"] = "v" + valid["qid"], "t" + test["qid"]
    settings = _merge(OPTIONS[name][0])
    settings["budget"] = {**settings["budget"], "max_label": 3}
    settings["reranker"] = {"backend": "xgboost", "n_estimators": 12, "learning_rate": 0.3, "early_stopping_rounds": 3}
    data = {"valid": valid, "single_modal_pool": pool(), "page_features": FEATURES, "seed": 3, **settings}
    remote = smar_ltr.fit(train, client=client, **data)
    local = smar_ltr.fit(train, **data)
    assert remote.summary["labels"]["labels_used"] == local.summary["labels"]["labels_used"]
    assert remote.summary["pool"]["weight"] == local.summary["pool"]["weight"]
    assert remote.reranker.best_iteration_ == local.reranker.best_iteration_
    np.testing.assert_allclose(remote.score(test), local.score(test), atol=1e-5)
