"""SMARRanker: partial labels, clone, save/load, GridSearchCV with a query-grouped splitter, input errors."""

from __future__ import annotations

from dataclasses import MISSING, fields

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

import smar_ltr
from smar_ltr import SMARRanker
from smar_ltr.config import BudgetConfig, ConsistencyConfig, GBDTConfig
from smar_ltr.errors import ArtifactError, ConfigError, PageTableError
from smar_ltr.estimator import ranker as estimator_module
from smar_ltr.rankers import make_ranker
from smar_ltr.serving.run_dir import load_run, save_run

FAST = {"n_estimators": 15, "learning_rate": 0.2, "num_leaves": 7, "min_data_in_leaf": 5, "early_stopping_rounds": 0}
#: Early stopping on the eval_set labels (the default stops on its lists' consistency loss and reads none).
LABELS_STOP = {**FAST, "early_stopping": "labels"}


def _pages(n_queries: int = 48, per_query: int = 12, seed: int = 0, unlabelled: float = 0.6) -> dict:
    """Arrays of a small ranking task: latent relevance drives labels, features and per-modality scores."""
    rng = np.random.default_rng(seed)
    n = n_queries * per_query
    qid = np.repeat(np.arange(100, 100 + n_queries), per_query)
    modality = np.where(rng.random(n) < 0.5, "web", "image")
    latent = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "f_signal": latent + rng.normal(0, 0.5, n),
            "f_noise": rng.normal(size=n),
            "f_image": np.where(modality == "image", latent, 0) + rng.normal(0, 0.3, n),
        }
    )
    y_full = np.clip(np.round(latent + 1.5), 0, 3)
    y = y_full.copy()
    y[rng.random(n) < unlabelled] = np.nan
    upstream = latent + rng.normal(0, 0.4, n)
    return {"X": X, "y": y, "y_full": y_full, "qid": qid, "modality": modality, "upstream": upstream}


@pytest.fixture(scope="module")
def data() -> dict:
    return _pages()


def _fit(data: dict, **params) -> SMARRanker:
    model = SMARRanker(**{**FAST, **params})
    return model.fit(data["X"], data["y"], qid=data["qid"], modality=data["modality"], upstream_score=data["upstream"])


def test_partial_labels_train_on_exactly_the_labelled_rows(data, monkeypatch) -> None:
    seen = {}

    def fake_train(X, frame, sup, cfg, consistency, seed, eval_set=None, eval_metric=None):
        seen["rows"] = set(frame["item_id"].to_numpy()[sup.page_rows].astype(int))
        seen["labels"] = sup.page_labels
        return make_ranker("lightgbm", **FAST).fit(X, np.nan_to_num(frame["page_label"].to_numpy(float)), frame["qid"])

    monkeypatch.setattr(estimator_module, "train_reranker", fake_train)
    model = _fit(data)
    labelled = np.flatnonzero(~np.isnan(data["y"]))
    assert seen["rows"] == set(labelled.tolist())
    assert not np.isnan(seen["labels"]).any()
    assert model.fit_summary_["annotation"]["strategy"] == "given"
    assert model.fit_summary_["annotation"]["labels_used"] == labelled.size


def test_partial_label_fit_learns_and_predicts_in_input_order(data) -> None:
    model = _fit(data)
    scores = model.predict(data["X"])
    assert scores.shape == (len(data["X"]),)
    assert model.score(data["X"], data["y_full"], qid=data["qid"]) > 0.8
    perm = np.random.default_rng(1).permutation(len(data["X"]))
    np.testing.assert_allclose(model.predict(data["X"].iloc[perm]), scores[perm])


def test_complete_labels_use_the_simulated_budget(data) -> None:
    model = SMARRanker(**FAST, budget=0.25).fit(
        data["X"], data["y_full"], qid=data["qid"], modality=data["modality"], upstream_score=data["upstream"]
    )
    summary = model.fit_summary_["annotation"]
    assert summary["strategy"] == "top" and summary["labels_used"] <= 0.25 * len(data["X"])
    assert model.fit_summary_["strategy_choice"] == {
        "requested": "auto",
        "used": "top",
        "reason": f"{len(data['X'])} of {len(data['X'])} training rows are annotated: simulating the budget",
    }
    with pytest.raises(PageTableError, match="use strategy 'given'"):
        SMARRanker(**FAST, strategy="top").fit(
            data["X"], data["y"], qid=data["qid"], modality=data["modality"], upstream_score=data["upstream"]
        )


def test_clone_and_params_round_trip() -> None:
    model = SMARRanker(lam=0.3, backend="xgboost", params={"max_bin": 63}, beta={"web": 2.0})
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert copy.params is not model.params  # clone deep-copies mutable parameters
    assert SMARRanker().set_params(**model.get_params()).get_params() == model.get_params()
    ranker = make_ranker("catboost", n_estimators=7, params={"l2_leaf_reg": 2})
    twin = clone(ranker)
    assert type(twin) is type(ranker) and twin.get_params(deep=True) == ranker.get_params(deep=True)
    assert twin.set_params(n_estimators=9).n_estimators == 9 and ranker.n_estimators == 7


def test_every_config_field_is_a_parameter_with_the_same_default() -> None:
    params = SMARRanker().get_params()
    by_design = {"params": None}  # None: no extra backend parameters
    for cls in (BudgetConfig, ConsistencyConfig, GBDTConfig):
        for f in fields(cls):
            assert f.name in params, f"{cls.__name__}.{f.name} has no SMARRanker parameter"
            default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            assert params[f.name] == by_design.get(f.name, default), f.name
    assert SMARRanker().run_config().budget == BudgetConfig()


def test_save_and_load_give_identical_predictions(data, tmp_path) -> None:
    model = _fit(data, seed=3)
    path = model.save(tmp_path / "model")
    again = SMARRanker.load(path)
    assert again.get_params() == model.get_params()
    np.testing.assert_array_equal(again.predict(data["X"]), model.predict(data["X"]))
    assert not any(p.suffix == ".pkl" for p in path.rglob("*"))


def test_single_modal_rankers_are_used_saved_and_reloaded(data, tmp_path) -> None:
    rankers = {}
    for m, cols in (("web", ["f_signal"]), ("image", ["f_image", "f_signal"])):
        rows = data["modality"] == m
        rankers[m] = make_ranker("lightgbm", **FAST).fit(
            data["X"].loc[rows, cols], data["y_full"][rows], data["qid"][rows]
        )
    model = SMARRanker(**FAST, upstream_as_feature=True).fit(
        data["X"], data["y"], qid=data["qid"], modality=data["modality"], single_modal_rankers=rankers
    )
    assert model.reranker_.feature_names_in_[-1] == "upstream_score"
    scores = model.predict(data["X"], modality=data["modality"])
    again = SMARRanker.load(model.save(tmp_path / "m"))
    assert sorted(again.single_modal_rankers_) == ["image", "web"]
    np.testing.assert_array_equal(again.predict(data["X"], modality=data["modality"]), scores)
    with pytest.raises(PageTableError, match="modality is required"):
        again.predict(data["X"])  # the single-modal rankers need each row's modality


def test_grid_search_with_query_grouped_folds(data) -> None:
    X = data["X"].assign(qid=data["qid"])  # XGBoost's convention: qid as a column, so score() sees it too
    search = GridSearchCV(SMARRanker(**FAST), {"lam": [0.0, 1.0], "num_leaves": [3, 7]}, cv=GroupKFold(n_splits=3))
    search.fit(X, data["y"], groups=data["qid"], modality=data["modality"], upstream_score=data["upstream"])
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all() and (scores > 0.5).all()
    assert isinstance(search.best_estimator_, SMARRanker) and search.best_params_ in search.cv_results_["params"]


def test_grid_search_with_metadata_routing(data) -> None:
    with sklearn.config_context(enable_metadata_routing=True):
        ranker = SMARRanker(**FAST).set_fit_request(qid=True, modality=True, upstream_score=True)
        ranker = ranker.set_score_request(qid=True, modality=True, upstream_score=True)
        search = GridSearchCV(ranker, {"lam": [0.0, 1.0]}, cv=GroupKFold(n_splits=2))
        search.fit(
            data["X"].to_numpy(),
            data["y"],
            groups=data["qid"],
            qid=data["qid"],
            modality=data["modality"],
            upstream_score=data["upstream"],
        )
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"qid": None}, PageTableError, "qid is required"),
        ({"modality": None}, PageTableError, "modality is required"),
        ({"upstream_score": None}, ConfigError, "pass upstream_score or single_modal_rankers"),
        ({"modality": ["web"]}, PageTableError, "one value per row"),
        ({"y": np.full(576, 1.5)}, PageTableError, "integer grades"),
        ({"y": np.full(576, np.nan)}, ConfigError, "carry no page label"),
    ],
)
def test_bad_input_gives_one_clear_error(data, kwargs, error, match) -> None:
    args = {"y": data["y"], "qid": data["qid"], "modality": data["modality"], "upstream_score": data["upstream"]}
    args.update(kwargs)
    y = args.pop("y")
    with pytest.raises(error, match=match):
        SMARRanker(**FAST).fit(data["X"], y, **args)


def test_unfitted_and_wrong_shape_predict_are_refused(data) -> None:
    with pytest.raises(ConfigError, match="not fitted"):
        SMARRanker().predict(data["X"])
    model = SMARRanker(**FAST).fit(
        data["X"].to_numpy(), data["y"], qid=data["qid"], modality=data["modality"], upstream_score=data["upstream"]
    )
    with pytest.raises(PageTableError, match="fitted on 3"):
        model.predict(data["X"].to_numpy()[:, :2])


def test_estimator_and_run_directories_are_not_confused(data, fitted_small, tmp_path) -> None:
    run = save_run(fitted_small[0], tmp_path / "run")
    with pytest.raises(ArtifactError, match=r"smar_ltr\.load"):
        SMARRanker.load(run)
    saved = _fit(data).save(tmp_path / "estimator")
    with pytest.raises(ArtifactError, match=r"SMARRanker\.load"):
        load_run(saved)
    assert smar_ltr.load(run).feature_names == fitted_small[0].feature_names


def test_eval_set_drives_early_stopping(data) -> None:
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 4, len(data["y"])).astype(float)  # validation labels unrelated to the features
    model = SMARRanker(**{**FAST, "n_estimators": 200, "early_stopping_rounds": 3, "early_stopping": "labels"}).fit(
        data["X"],
        data["y"],
        qid=data["qid"],
        modality=data["modality"],
        upstream_score=data["upstream"],
        eval_set=(data["X"].assign(qid=data["qid"]), noise),
    )
    assert model.reranker_.best_iteration_ < 50


def test_by_default_eval_set_stops_on_its_lists_consistency_and_reads_no_label(data) -> None:
    """As ``smar-ltr fit``: the eval set's single-modal lists decide when to stop; its labels are not read."""
    from smar_ltr.training.early_stopping import consistency_metric, first_best_round

    fit_args = {"qid": data["qid"], "modality": data["modality"], "upstream_score": data["upstream"]}
    rng = np.random.default_rng(7)
    v_upstream = data["upstream"] + rng.normal(0, 1.0, len(data["upstream"]))  # other lists, other scores
    unlabelled = (data["X"], None, data["qid"], data["modality"], v_upstream)
    settings = {**FAST, "n_estimators": 120, "learning_rate": 0.3, "early_stopping_rounds": 3}
    model = SMARRanker(**settings).fit(data["X"], data["y_full"], **fit_args, eval_set=unlabelled)
    cost = model.fit_summary_["label_cost"]
    assert cost["validation_labels"] == 0 and cost["labels_used"] == cost["train_labels"]
    assert cost["candidates"] == 2 * len(data["X"])
    kept = model.reranker_.best_iteration_
    full = SMARRanker(**{**settings, "early_stopping_rounds": 0}).fit(data["X"], data["y_full"], **fit_args)
    frame = pd.DataFrame(
        {"qid": data["qid"], "modality": data["modality"], "upstream_score": v_upstream, "page_label": np.nan}
    )
    order = frame.sort_values("qid", kind="stable").index.to_numpy()  # the estimator's page order
    metric = consistency_metric(frame.iloc[order].reset_index(drop=True), model.run_config().consistency, 0)
    design = data["X"].iloc[order].reset_index(drop=True).astype("float32")
    losses = [metric(s) for s in full.reranker_.round_scores(design)]
    assert kept == first_best_round(np.array(losses), 3) < 120
    with pytest.raises(ConfigError, match="early_stopping='consistency' stops on the eval_set's single-modal lists"):
        SMARRanker(**FAST).fit(data["X"], data["y_full"], **fit_args, eval_set=(data["X"], data["y_full"], data["qid"]))
    with pytest.raises(ConfigError, match="pool_weight > 0 trains on the single-modal pool's own lists"):
        SMARRanker(**FAST, pool_weight=1.0).fit(data["X"], data["y_full"], **fit_args)


def test_failed_refit_keeps_the_previous_model_and_tampering_is_refused(data, tmp_path) -> None:
    model = _fit(data)
    before = model.predict(data["X"])
    with pytest.raises(ConfigError, match="carry no page label"):
        model.fit(data["X"], np.full(len(data["y"]), np.nan), qid=data["qid"], modality=data["modality"],
                  upstream_score=data["upstream"])  # fmt: skip
    np.testing.assert_array_equal(model.predict(data["X"]), before)
    path = model.save(tmp_path / "m")
    (path / "estimator.json").write_text((path / "estimator.json").read_text().replace('"lam": 1.0', '"lam": 9.0'))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        SMARRanker.load(path)


def test_validation_labels_are_budgeted_and_counted(data) -> None:
    fit_args = {"qid": data["qid"], "modality": data["modality"], "upstream_score": data["upstream"]}
    five = (data["X"], data["y_full"], data["qid"], data["modality"], data["upstream"])
    model = SMARRanker(**LABELS_STOP, budget=0.2).fit(data["X"], data["y_full"], **fit_args, eval_set=five)
    cost, n = model.fit_summary_["label_cost"], len(data["X"])
    train_read = model.fit_summary_["annotation"]["labels_used"]
    assert 0 < cost["validation_labels"] <= 0.2 * n and cost["train_labels"] == train_read
    assert cost["candidates"] == 2 * n and cost["labels_used"] == train_read + cost["validation_labels"]
    full = SMARRanker(**LABELS_STOP, budget=0.2, validation="full").fit(
        data["X"], data["y_full"], **fit_args, eval_set=five
    )
    assert full.fit_summary_["label_cost"]["validation_labels"] == n
    with pytest.raises(ConfigError, match="needs \\(X, y, qid, modality, upstream_score\\)"):
        SMARRanker(**LABELS_STOP).fit(data["X"], data["y_full"], **fit_args, eval_set=five[:3])
    with pytest.raises(ConfigError, match="validation='none' reads no validation labels"):
        SMARRanker(**LABELS_STOP, validation="none").fit(data["X"], data["y"], **fit_args, eval_set=five)
