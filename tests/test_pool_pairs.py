"""Single-modal pool pairs (``consistency.pool_weight``)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

from smar_ltr.config import ConsistencyConfig
from smar_ltr.errors import ConfigError
from smar_ltr.page_table.schema import MODAL_LABEL, MODALITY, PAGE_LABEL, QID
from smar_ltr.pipeline import fit_prepared, prepare
from smar_ltr.serving.run_dir import load_run, save_run
from smar_ltr.supervision.pool_pairs import POOL_QID_PREFIX, PoolRows, pool_frame

POOL = {"pool_weight": 1.0}


def pool_order_accuracy(model, pool) -> float:
    """Share of the pool's pairs (ordered by modal label) that ``model``'s reranker orders the same way."""
    scores = model.reranker.predict(pool.X)
    w, lo = pool.pairs["winner"].to_numpy(), pool.pairs["loser"].to_numpy()
    return float((scores[w] > scores[lo]).mean())


@pytest.fixture(scope="module")
def prepared(small_splits):
    return prepare(fast_config(), small_splits)


@pytest.fixture(scope="module")
def pooled(prepared):
    config = fast_config(consistency=POOL)
    model, state = fit_prepared(config, prepared)
    return config, model, state


def test_pool_pairs_follow_the_pool_labels_inside_one_list(prepared):
    pool = prepared.pool_rows(fast_config(consistency={"pool_weight": 2.5}))
    frame, pairs = pool.frame, pool.pairs
    assert len(pairs) > 0 and len(frame) == prepared.splits.single_modal[MODAL_LABEL].notna().sum()
    assert frame[QID].str.startswith(POOL_QID_PREFIX).all()
    assert not set(frame[QID]) & set(prepared.train[QID])
    label = frame[MODAL_LABEL].to_numpy(float)
    w, lo = pairs["winner"].to_numpy(), pairs["loser"].to_numpy()
    assert (label[w] > label[lo]).all()
    assert (frame[QID].to_numpy()[w] == frame[QID].to_numpy()[lo]).all()
    assert (frame[MODALITY].astype(str).to_numpy()[w] == frame[MODALITY].astype(str).to_numpy()[lo]).all()
    once = prepared.pool_rows(fast_config(consistency=POOL)).pairs
    np.testing.assert_allclose(pairs["weight"], 2.5 * once["weight"])
    assert list(pool.X.columns) == list(prepared.X_train.columns)


def test_appended_rows_and_pairs_keep_their_places(prepared, fitted_small):
    """Page pairs keep their rows, pool pairs move past the pages, pool inputs follow X's column order."""
    pool = prepared.pool_rows(fast_config(consistency=POOL))
    _, state = fitted_small
    page_pairs = state.supervision.intra
    assert len(page_pairs) > 0
    shuffled = prepared.X_train[prepared.X_train.columns[::-1]].set_axis(np.arange(len(prepared.X_train)) + 1000)
    X, frame, intra = pool.appended_to(shuffled, prepared.train, page_pairs)
    n, k = len(prepared.train), len(page_pairs)
    assert len(X) == len(frame) == n + len(pool.frame)
    assert list(X.columns) == list(shuffled.columns)
    np.testing.assert_array_equal(X.iloc[:n].to_numpy(), shuffled.to_numpy())
    np.testing.assert_array_equal(X.iloc[n:].to_numpy(), pool.X[list(shuffled.columns)].to_numpy())
    np.testing.assert_array_equal(intra["winner"].iloc[:k], page_pairs["winner"])
    np.testing.assert_array_equal(intra["loser"].iloc[:k], page_pairs["loser"])
    np.testing.assert_array_equal(intra["winner"].iloc[k:], pool.pairs["winner"] + n)
    np.testing.assert_array_equal(intra["loser"].iloc[k:], pool.pairs["loser"] + n)
    assert (frame[QID].to_numpy()[intra["winner"].iloc[k:]] == pool.frame[QID].to_numpy()[pool.pairs["winner"]]).all()
    assert PAGE_LABEL not in pool.frame.columns  # no page label travels with the pool


def test_pool_pairs_change_the_reranker_and_read_no_page_label(pooled, prepared, fitted_small):
    config, model, state = pooled
    plain, plain_state = fit_prepared(fast_config(consistency={"pool_weight": 0.0}), prepared)
    X = prepared.X_valid
    pool = prepared.pool_rows(config)
    assert pool_order_accuracy(model, pool) > pool_order_accuracy(plain, pool) + 0.02  # it learnt the pool's order
    assert state.cost.labels_used == plain_state.cost.labels_used
    counts = model.summary["supervision"]
    assert counts["pool_pairs"] == len(prepared.pool_rows(config).pairs) and counts["pool_rows"] > 0
    # every page label the run did not reveal, and every pool row's page label, can change: same model
    train = prepared.train.copy()
    hidden = ~state.annotation.mask
    train.loc[hidden, PAGE_LABEL] = np.random.default_rng(0).integers(0, 5, int(hidden.sum()))
    pool = prepared.splits.single_modal.assign(**{PAGE_LABEL: pd.array([3] * len(prepared.splits.single_modal))})
    other_splits = dataclasses.replace(prepared.splits, single_modal=pool)
    other, _ = fit_prepared(config, dataclasses.replace(prepared, train=train, splits=other_splits))
    np.testing.assert_array_equal(model.reranker.predict(X), other.reranker.predict(X))


def test_same_seed_same_model_and_the_setting_survives_save_and_load(pooled, prepared, tmp_path):
    config, model, _ = pooled
    again, _ = fit_prepared(config, prepared)
    np.testing.assert_array_equal(model.reranker.predict(prepared.X_valid), again.reranker.predict(prepared.X_valid))
    save_run(model, tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    assert loaded.config.consistency.pool_weight == 1.0
    np.testing.assert_array_equal(loaded.reranker.predict(prepared.X_valid), model.reranker.predict(prepared.X_valid))


def test_bad_pool_settings_are_one_config_error(prepared):
    for bad in ({"pool_weight": -1.0}, {"pool_weight": float("nan")}):
        with pytest.raises(ConfigError, match="pool_weight"):
            fast_config(consistency=bad)
    for bad in ({"mode": "listwise"}, {"lam": 0.0}):
        with pytest.raises(
            ConfigError, match=r"pool_weight adds pairs .* needs consistency\.mode=pairwise and lam > 0"
        ):
            fast_config(consistency={**POOL, **bad})
    with pytest.raises(ConfigError, match="needs a single-modal pool with modal_label rows; dataset 'x' has none"):
        pool_frame(None, "x")
    unlabelled = prepared.splits.single_modal.assign(
        **{MODAL_LABEL: pd.array([pd.NA] * len(prepared.splits.single_modal), dtype="Int64")}
    )
    no_labels = dataclasses.replace(prepared, splits=dataclasses.replace(prepared.splits, single_modal=unlabelled))
    with pytest.raises(ConfigError, match="needs a single-modal pool"):
        fit_prepared(fast_config(consistency=POOL), no_labels)
    missing = prepared.splits.single_modal.drop(columns=[prepared.raw_features[0]])
    lacking = dataclasses.replace(prepared, splits=dataclasses.replace(prepared.splits, single_modal=missing))
    with pytest.raises(ConfigError, match="the single-modal pool lacks the reranker's inputs"):
        lacking.pool_rows(fast_config(consistency=POOL))


def test_the_automatic_default_uses_the_pool_where_it_can_and_says_why_not(prepared):
    """pool_weight unset (the default, chosen on the real-data protocol): weight 1 where the pool serves, else 0
    with the reason in the summary; an explicit weight the pool cannot serve stays an error."""
    assert ConsistencyConfig().pool_weight is None
    auto, _ = fit_prepared(fast_config(), prepared)
    explicit, _ = fit_prepared(fast_config(consistency=POOL), prepared)
    assert auto.summary["pool"] == {
        "weight": 1.0,
        "reason": "automatic",
        **{k: auto.summary["pool"][k] for k in ("rows", "pairs")},
    }
    assert auto.summary["pool"]["pairs"] == explicit.summary["supervision"]["pool_pairs"] > 0
    np.testing.assert_array_equal(auto.reranker.predict(prepared.X_valid), explicit.reranker.predict(prepared.X_valid))
    unlabelled = prepared.splits.single_modal.assign(
        **{MODAL_LABEL: pd.array([pd.NA] * len(prepared.splits.single_modal), dtype="Int64")}
    )
    no_pool = dataclasses.replace(prepared, splits=dataclasses.replace(prepared.splits, single_modal=unlabelled))
    off, _ = fit_prepared(fast_config(), no_pool)
    plain, _ = fit_prepared(fast_config(consistency={"pool_weight": 0.0}), prepared)
    assert off.summary["pool"]["weight"] == 0.0 and "needs a single-modal pool" in off.summary["pool"]["reason"]
    assert "pool_pairs" not in off.summary["supervision"]
    np.testing.assert_array_equal(off.reranker.predict(prepared.X_valid), plain.reranker.predict(prepared.X_valid))
    listwise, _ = fit_prepared(fast_config(consistency={"mode": "listwise"}), prepared)
    assert listwise.summary["pool"] == {"weight": 0.0, "reason": "automatic: the consistency term is not pairwise"}


def test_a_pool_without_label_differences_gives_no_pairs_and_says_so(prepared):
    flat = pool_frame(
        prepared.splits.single_modal.assign(
            **{MODAL_LABEL: pd.array([2] * len(prepared.splits.single_modal), dtype="Int64")}
        ),
        "x",
    )
    pool = prepared.pool_rows(fast_config(consistency=POOL))
    with pytest.raises(ConfigError, match="no list with two different modal labels"):
        PoolRows.build(flat, pool.X, fast_config(consistency=POOL).consistency, 0)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost", "catboost"])
def test_every_backend_learns_the_pool_order(small_splits, backend):
    """LightGBM and XGBoost take the pairs through SMAR's objective, CatBoost as PairLogit pairs."""
    accuracy = []
    for consistency in ({"pool_weight": 0.0}, POOL):
        config = fast_config(consistency=consistency, reranker={"backend": backend, "n_estimators": 20})
        prepared = prepare(config, small_splits)
        model, _ = fit_prepared(config, prepared)
        accuracy.append(pool_order_accuracy(model, prepared.pool_rows(fast_config(consistency=POOL))))
    assert accuracy[1] > accuracy[0] + 0.02


def test_tuning_keeps_pool_pairs_pairwise():
    import optuna

    from smar_ltr.experiments.tuning import SearchSpace, suggest_config

    base = fast_config(consistency=POOL)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(10):
        trial = study.ask()
        cfg = suggest_config(trial, base, SearchSpace(modes=("pairwise", "listwise")), ["web"], None)
        assert cfg.consistency.mode == "pairwise" and cfg.consistency.pool_weight == 1.0
        study.tell(trial, [0.5, 0.5])


def test_cli_fits_saves_and_exports_a_pool_run(tmp_path):
    """The user's path: fit with pool pairs, eval the saved run, export it."""
    from census import assert_one_line_error, invoke
    from census import fast_config as config_file

    from smar_ltr.datasets.fixtures import make_fixture

    make_fixture("baidu", tmp_path / "data")
    cfg = config_file(tmp_path / "fast.json")
    run = tmp_path / "run"
    options = ["--set", "consistency.pool_weight=1"]
    fit = ["fit", "-d", "baidu", "--data-dir", str(tmp_path / "data"), "-c", str(cfg), "-q"]
    result = invoke([*fit, *options, "-o", str(run)])
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["supervision"]["pool_pairs"] > 0
    assert invoke(["eval", "-m", str(run), "-q"]).exit_code == 0
    exported = invoke(["export", "-m", str(run), "-f", "es-ltr", "--out", str(tmp_path / "m.json")])
    assert exported.exit_code == 0, exported.output
    listwise = invoke([*fit, *options, "--set", "consistency.mode=listwise", "-o", str(tmp_path / "bad")])
    assert_one_line_error(listwise, "needs consistency.mode=pairwise and lam > 0")
    assert not (tmp_path / "bad").exists()
