"""Census, caches: every cache and resume is keyed by the data it read (issue 27, item 1).

For each cache (sweep cells, tune studies, the baselines stored with a run): compute it, change one column it
read (a key, a label, a feature value, a single-modal score, a text column), run again and expect the result to
be recomputed (with a note saying so) or the resume refused, never the old result reused.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import smar_ltr.experiments.sweep as sweep_module
from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import load_config
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.errors import SettingNote
from smar_ltr.experiments.sweep import SweepSpec, sweep
from smar_ltr.page_table.identity import splits_fingerprint, table_fingerprint

TINY = {
    "n_estimators": 5,
    "learning_rate": 0.3,
    "num_leaves": 7,
    "min_data_in_leaf": 5,
    "early_stopping_rounds": 0,
    "n_threads": 1,
}
REAL_FIT = sweep_module.fit_prepared

#: (role file, column, how to change it): one change per kind of column a result reads.
CHANGES = {
    "label": ("train.parquet", "page_label", lambda s: s.max() - s),
    "feature": ("train.parquet", "f_shared", lambda s: s * 0 + np.random.default_rng(1).random(len(s))),
    "upstream-score": ("test.parquet", "upstream_score", lambda s: -s),
    "key": ("valid.parquet", "item_id", lambda s: s + "x"),
    "text": ("train.parquet", "title", lambda s: s.str.upper()),
    "single-modal-pool": ("single_modal.parquet", "f_shared", lambda s: s[::-1].to_numpy()),
}


def _pages(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    make_fixture("pages", data)
    return data


def _change(data: Path, what: str) -> None:
    name, column, how = CHANGES[what]
    frame = pd.read_parquet(data / name)
    assert column in frame.columns, (name, list(frame.columns))
    frame[column] = how(frame[column])
    frame.to_parquet(data / name, index=False)


def _spec(data: Path) -> SweepSpec:
    base = load_config(
        None,
        None,
        dataset="pages",
        data_dir=str(data),
        single_modal=TINY,
        reranker=TINY,
        metrics=["ndcg@10"],
    )
    return SweepSpec(base=base, budgets=(0.3,), strategies=("top",), seeds=(0,))


def _count_fits(monkeypatch) -> dict:
    counts = {"fit": 0}

    def fit(*args, **kwargs):
        counts["fit"] += 1
        return REAL_FIT(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "fit_prepared", fit)
    return counts


def test_a_fingerprint_covers_every_column_and_type() -> None:
    frame = pd.DataFrame({"qid": ["1", "1", "2"], "x": [0.1, 0.2, 0.3], "b": [True, False, True]})
    base = table_fingerprint(frame)
    assert table_fingerprint(frame.copy()) == base  # values, not object identity
    assert table_fingerprint(frame.set_axis([7, 8, 9])) == base  # the index is not read
    changed = [
        frame.assign(x=[0.1, 0.2, 0.3000000001]),
        frame.assign(b=[True, True, True]),
        frame.assign(qid=[1, "1", "2"]),  # one query id as two types
        frame[["x", "qid", "b"]],  # the order columns are read in
        frame.iloc[::-1],
        frame.rename(columns={"x": "y"}),
        frame.assign(x=frame["x"].astype("float32")),
    ]
    assert all(table_fingerprint(f) != base for f in changed)
    assert len({table_fingerprint(f) for f in changed}) == len(changed)


def test_a_fingerprint_of_a_million_rows_hashes_arrays_not_objects() -> None:
    import time

    n = 1_000_000
    frame = pd.DataFrame({"qid": np.repeat(np.arange(n // 10), 10).astype(str), "item_id": np.arange(n).astype(str)})
    for i in range(20):
        frame[f"f{i}"] = np.random.default_rng(i).random(n)
    start = time.perf_counter()
    table_fingerprint(frame)
    assert time.perf_counter() - start < 5.0  # about 0.5 s on one core; a per-object loop takes minutes


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_a_sweep_recomputes_cells_whose_data_changed(tmp_path, monkeypatch, what) -> None:
    data = _pages(tmp_path)
    spec = _spec(data)
    sweep(spec, load_splits, tmp_path / "out")
    before = splits_fingerprint(load_splits(spec.base))
    _change(data, what)
    assert splits_fingerprint(load_splits(spec.base)) != before
    counts = _count_fits(monkeypatch)
    with pytest.warns(SettingNote, match="computed on other data"):
        sweep(spec, load_splits, tmp_path / "out")
    assert counts["fit"] == len(spec.cells())  # no cell computed on the old pages is reused
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingNote)
        counts = _count_fits(monkeypatch)
        sweep(spec, load_splits, tmp_path / "out")  # the recomputed cells are reused, silently
    assert counts["fit"] == 0


def test_a_resumed_sweep_on_changed_pages_reports_what_a_fresh_sweep_does(tmp_path) -> None:
    data = _pages(tmp_path)
    spec = _spec(data)
    sweep(spec, load_splits, tmp_path / "out")
    _change(data, "label")
    with pytest.warns(SettingNote):
        resumed = sweep(spec, load_splits, tmp_path / "out")
    fresh = sweep(spec, load_splits, tmp_path / "fresh")
    assert resumed.rows == fresh.rows
    assert json.loads((tmp_path / "out" / "results.json").read_text())["rows"] == fresh.rows


def _noise(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return frame.assign(**{c: rng.random(len(frame)) for c in columns})


#: One change per kind of column a tune trial reads (the pages of the split named first).
TUNE_CHANGES = {
    "every-feature-noise": lambda s: dataclasses.replace(
        s, train=_noise(s.train, s.page_features), valid=_noise(s.valid, s.page_features)
    ),
    "valid-label": lambda s: dataclasses.replace(s, valid=s.valid.assign(page_label=4 - s.valid["page_label"])),
    "train-key": lambda s: dataclasses.replace(s, train=s.train.assign(item_id=s.train["item_id"] + "x")),
    "pool-modal-label": lambda s: dataclasses.replace(
        s, single_modal=s.single_modal.assign(modal_label=s.single_modal["modal_label"][::-1].to_numpy())
    ),
    "text": lambda s: dataclasses.replace(s, valid=s.valid.assign(title=s.valid["title"].str.upper())),
}


@pytest.mark.parametrize("what", sorted(TUNE_CHANGES))
def test_a_study_is_not_resumed_on_changed_pages(tmp_path, small_splits, what) -> None:
    import optuna
    from conftest import fast_config

    from smar_ltr.errors import ConfigError
    from smar_ltr.experiments.tuning import SearchSpace, tune

    space = SearchSpace(n_estimators=(10, 12), num_leaves=(7, 8))
    tune(fast_config(), tmp_path, n_trials=1, space=space, splits=small_splits, study_name="s")
    before = (tmp_path / "pareto.csv").read_bytes()
    with pytest.raises(ConfigError, match="run with other pages"):
        tune(fast_config(), tmp_path, n_trials=1, space=space, splits=TUNE_CHANGES[what](small_splits), study_name="s")
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'tune.db'}").trials) == 1
    assert (tmp_path / "pareto.csv").read_bytes() == before


def _results(stdout: str) -> dict:
    return {r["method"]: r["metrics"] for r in json.loads(stdout)["results"]}


@pytest.mark.parametrize("what", ["feature", "text"])
def test_stored_baselines_are_refitted_on_pages_whose_columns_changed(tmp_path, census_run, what) -> None:
    import shutil

    from census import invoke

    from smar_ltr.serving.run_dir import read_manifest

    run, fresh = tmp_path / "run", tmp_path / "fresh"
    shutil.copytree(census_run["run"], run)
    shutil.copytree(census_run["run"], fresh)
    first = invoke(["eval", "-m", str(run), "-f", "json", "-q"])  # stores the baselines of the run's pages
    assert first.exit_code == 0, first.output
    stored = read_manifest(run)["baselines_data"]
    d2 = tmp_path / "d2"  # same keys and labels, other feature values in the training and validation pages
    shutil.copytree(census_run["data"], d2)
    _name, column, how = CHANGES[what]
    for role in ("train.parquet", "valid.parquet"):
        frame = pd.read_parquet(d2 / role)
        frame[column] = how(frame[column])
        frame.to_parquet(d2 / role, index=False)
    args = ["eval", "-f", "json", "-q", "--data-dir", str(d2), "-m"]
    on_d2 = invoke([*args, str(run)])
    assert on_d2.exit_code == 0, on_d2.output
    assert on_d2.stderr.startswith("note: the baselines stored in") and "fitting them again" in on_d2.stderr
    expected = invoke([*args, str(fresh)])  # a run that never stored a baseline
    assert expected.exit_code == 0, expected.output
    assert _results(on_d2.stdout) == _results(expected.stdout)
    if what == "feature":  # the stale models would have reported the old pages' numbers
        assert _results(on_d2.stdout)["full_supervision"] != _results(first.stdout)["full_supervision"]
    assert read_manifest(run)["baselines_data"] not in (None, stored)  # now keyed by D2
    again = invoke([*args, str(run)])
    assert again.exit_code == 0 and "note:" not in again.stderr
    assert _results(again.stdout) == _results(expected.stdout)


def test_a_campaign_is_keyed_by_the_array_fingerprint_and_resumes_one_planned_before(tmp_path) -> None:
    from campaign_helpers import LABEL_SCALE, labelled_pages, strip_labels

    from smar_ltr.campaign import campaign_status, plan_campaign, store
    from smar_ltr.campaign.campaign import check_pages, load_settings
    from smar_ltr.errors import CampaignError

    pages = strip_labels(labelled_pages(tmp_path / "pages"))
    camp = tmp_path / "camp"
    plan_campaign(camp, pages, strategy="top", budget=0.3, label_scale=LABEL_SCALE)
    settings = load_settings(camp)
    assert settings["fingerprint"].startswith("v2:")
    check_pages(settings, pages)
    nudged = pages.train.assign(f_shared=pages.train["f_shared"] + 1e-12)
    with pytest.raises(CampaignError, match="the pages changed"):
        check_pages(settings, dataclasses.replace(pages, train=nudged))
    old = {**settings, "fingerprint": store.pages_fingerprint_v1(pages, tuple(settings["splits"]))}
    check_pages(old, pages)  # a campaign planned before the new fingerprint still resumes on its pages
    with pytest.raises(CampaignError, match="the pages changed"):
        check_pages(old, dataclasses.replace(pages, train=nudged))
    assert campaign_status(camp)["rounds"] >= 1
