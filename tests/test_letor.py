"""LETOR / SVMlight reader: the Yahoo sample, LightGBM's reference NDCG, both line formats, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA

from smar_ltr.datasets import get_dataset, load_dataset
from smar_ltr.datasets.letor import load_letor, load_letor_dir, read_svmlight
from smar_ltr.errors import ConfigError, DatasetError

YAHOO = TEST_DATA / "lightgbm_yahoo_sample"


@pytest.fixture(scope="module")
def yahoo() -> dict[str, pd.DataFrame]:
    return load_letor_dir(YAHOO, n_features=300)


def test_yahoo_sample_loads_with_the_readme_counts(yahoo):
    assert sorted(yahoo) == ["test", "train"]
    expected = {
        "train": (3005, 201, [645, 1211, 858, 222, 69]),
        "test": (768, 50, [206, 256, 252, 44, 10]),
    }
    for role, (rows, queries, label_counts) in expected.items():
        frame = yahoo[role]
        assert len(frame) == rows
        assert frame["qid"].nunique() == queries
        assert frame["label"].value_counts().sort_index().tolist() == label_counts
        assert list(frame.columns) == ["qid", "item_id", "label", *[f"f{k}" for k in range(1, 301)]]
        assert (frame.dtypes.iloc[3:] == np.float32).all()
        assert pd.api.types.is_string_dtype(frame["qid"]) and pd.api.types.is_string_dtype(frame["item_id"])
        # item_id counts 0.. within each query; group sizes equal the .query file
        sizes = np.loadtxt(YAHOO / f"rank.{role}.query", dtype=int)
        assert frame.groupby("qid", sort=False).size().tolist() == sizes.tolist()
        assert frame["item_id"].astype(int).tolist() == np.concatenate([np.arange(s) for s in sizes]).tolist()
    # the first line of rank.train: label 0, feature 10 = 0.89, feature 1 absent -> 0
    first = yahoo["train"].iloc[0]
    assert first["label"] == 0 and first["f10"] == pytest.approx(0.89) and first["f1"] == 0.0


def test_lightgbm_lambdarank_reproduces_the_reference_ndcg(yahoo):
    from smar_ltr.metrics.ranking import evaluate

    train, test = yahoo["train"], yahoo["test"]
    features = [c for c in train.columns if c.startswith("f")]
    params = {
        "objective": "lambdarank",
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_data_in_leaf": 50,
        "min_sum_hessian_in_leaf": 5,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "max_bin": 255,
        "seed": 0,
        "deterministic": True,
        "num_threads": 2,
        "verbose": -1,
    }
    group = train.groupby("qid", sort=False).size().to_numpy()
    booster = lgb.train(params, lgb.Dataset(train[features].to_numpy(), train["label"].to_numpy(), group=group), 100)
    scores = booster.predict(test[features].to_numpy())
    result = evaluate(test["label"], scores, test["qid"], ["ndcg@10"])
    assert result["ndcg@10"] == pytest.approx(0.7423, abs=0.02)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_qid_lines_with_comments_read_like_a_query_file(tmp_path):
    with_qid = _write(
        tmp_path / "a.txt",
        "# header comment\n2 qid:7 1:0.5 3:1 # doc a\n0 qid:7 2:0.25\n\n1 qid:9 1:1 # doc c\n",
    )
    plain = _write(tmp_path / "b.txt", "2 1:0.5 3:1\n0 2:0.25\n1 1:1\n")
    _write(tmp_path / "b.txt.query", "2\n1\n")
    a, b = read_svmlight(with_qid), read_svmlight(plain)
    assert a["qid"].tolist() == ["7", "7", "9"] and b["qid"].tolist() == ["0", "0", "1"]
    assert a["item_id"].tolist() == ["0", "1", "0"]
    assert a["label"].tolist() == [2, 0, 1]
    pd.testing.assert_frame_equal(a.drop(columns="qid"), b.drop(columns="qid"))
    assert list(a.columns[3:]) == ["f1", "f2", "f3"]
    assert a[["f1", "f2", "f3"]].to_numpy().tolist() == [[0.5, 0.0, 1.0], [0.0, 0.25, 0.0], [1.0, 0.0, 0.0]]
    # an explicit query file overrides the qid fields; n_features widens the frame
    _write(tmp_path / "one.query", "3\n")
    c = read_svmlight(with_qid, query_file=tmp_path / "one.query", n_features=5)
    assert c["qid"].unique().tolist() == ["0"] and list(c.columns[3:]) == [f"f{k}" for k in range(1, 6)]


def test_reading_in_small_byte_chunks_gives_the_same_frame(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    lines = [
        f"{rng.integers(0, 5)} qid:{q} "
        + " ".join(f"{k}:{rng.random():.3f}" for k in sorted(rng.choice(9, 4, replace=False) + 1))
        for q in range(30)
        for _ in range(rng.integers(1, 6))
    ]
    path = _write(tmp_path / "many.txt", "\n".join(lines) + "\n")
    whole = read_svmlight(path)
    monkeypatch.setattr("smar_ltr.datasets.letor.CHUNK_BYTES", 64)
    pd.testing.assert_frame_equal(read_svmlight(path), whole)
    assert len(whole) == len(lines) and whole["qid"].nunique() == 30


def test_qid_on_some_lines_only_is_an_error(tmp_path):
    path = _write(tmp_path / "mixed.txt", "1 qid:1 1:0.5\n0 2:0.5\n")
    with pytest.raises(DatasetError, match="some lines have a 'qid:' field and others do not"):
        read_svmlight(path)


def test_a_file_that_uses_feature_id_zero_keeps_f0(tmp_path):
    frame = read_svmlight(_write(tmp_path / "z.txt", "1 qid:1 0:0.5 2:1\n0 qid:1 1:2\n"))
    assert list(frame.columns[3:]) == ["f0", "f1", "f2"]
    assert frame["f0"].tolist() == [0.5, 0.0]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("1 qid:1 1:0.5 3:abc", "not <feature id>:<number>"),
        ("1 qid:1 1:0.5 3", "not <feature id>:<number>"),
        ("x qid:1 1:0.5", "label 'x' is not a number"),
        ("1 qid:1 3:0.5 2:1", "feature ids must increase"),
    ],
)
def test_a_malformed_line_names_file_line_number_and_content(tmp_path, bad_line, reason):
    path = _write(tmp_path / "bad.txt", f"0 qid:1 1:0.1\n# comment\n{bad_line}\n2 qid:2 1:1\n")
    with pytest.raises(DatasetError) as info:
        read_svmlight(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message and "line 3" in message and reason in message and bad_line in message


def test_label_and_feature_range_errors_name_the_line(tmp_path):
    path = _write(tmp_path / "frac.txt", "0 qid:1 1:0.1\n1.5 qid:1 1:0.2\n")
    with pytest.raises(DatasetError, match=r"line 2 has label 1\.5; ranking labels must be non-negative integers"):
        read_svmlight(path)
    path = _write(tmp_path / "wide.txt", "0 qid:1 1:0.1\n1 qid:1 9:0.2\n")
    with pytest.raises(DatasetError, match=r"line 2 .*feature id 9 is larger than n_features=4"):
        read_svmlight(path, n_features=4)


def test_group_sizes_must_add_up_and_some_query_information_must_exist(tmp_path):
    data = _write(tmp_path / "rank.train", "1 1:0.5\n0 1:0.1\n2 2:1\n")
    _write(tmp_path / "rank.train.query", "2\n2\n")
    with pytest.raises(DatasetError, match=r"group sizes sum to 4 but .*rank\.train has 3 rows"):
        read_svmlight(data)
    _write(tmp_path / "rank.train.query", "2\nabc\n")
    with pytest.raises(DatasetError, match=r"rank\.train\.query: line 2 must be a positive group size"):
        read_svmlight(data)
    (tmp_path / "rank.train.query").unlink()
    with pytest.raises(DatasetError, match=r"has no 'qid:' fields and there is no group file"):
        read_svmlight(data)
    with pytest.raises(DatasetError, match="does not exist"):
        read_svmlight(tmp_path / "nope.txt")
    with pytest.raises(DatasetError, match="no data rows"):
        read_svmlight(_write(tmp_path / "empty.txt", "# only a comment\n"))


def test_mslr_fold_convention_and_shared_feature_columns(tmp_path):
    _write(tmp_path / "train.txt", "2 qid:1 1:1 4:2\n0 qid:1 2:1\n1 qid:2 1:3\n")
    _write(tmp_path / "vali.txt", "1 qid:3 1:1\n0 qid:3 2:1\n")
    _write(tmp_path / "test.txt", "0 qid:4 2:1\n")
    frames = load_letor_dir(tmp_path)
    assert sorted(frames) == ["test", "train", "valid"]
    for frame in frames.values():  # every split gets f1..f4 even when its own file stops earlier
        assert list(frame.columns[3:]) == ["f1", "f2", "f3", "f4"]
    assert frames["valid"]["f4"].tolist() == [0.0, 0.0]


def test_directory_errors_list_the_expected_files(tmp_path):
    with pytest.raises(DatasetError, match=r"does not exist; it must hold \(train: train\.txt or rank\.train"):
        load_letor_dir(tmp_path / "missing")
    (tmp_path / "Fold1").mkdir()
    with pytest.raises(DatasetError, match=r"has no training file.*pass a fold directory such as .*Fold1"):
        load_letor_dir(tmp_path)
    with pytest.raises(DatasetError, match=r"dataset 'letor' needs a data directory holding train\.txt"):
        load_letor(None, 0)


def test_letor_dataset_is_registered_and_reads_a_directory(tmp_path):
    spec = get_dataset("letor")
    assert spec.is_present(YAHOO) and not spec.is_present(tmp_path)
    splits = load_dataset("letor", YAHOO, seed=0)
    assert splits.name == "letor" and len(splits.test) == 768
    with pytest.raises(ConfigError, match="unknown letor option 'colour'"):
        load_dataset("letor", YAHOO, colour="red")
    with pytest.raises(DatasetError, match=re.escape(str(tmp_path))):
        load_dataset("letor", tmp_path)
