"""CrossRank (``baidu``): fixture round trip, the mapping, relevance rules and every error case."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smar_ltr.datasets import load_dataset, validate_page_table
from smar_ltr.datasets.baidu import BAIDU_REPORT_METRICS, EXPECTED_FILES, binary_relevance, load_baidu
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.errors import DatasetError


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("baidu") / "crossrank"
    make_fixture("baidu", out, seed=1)
    return out


@pytest.fixture
def copy(data_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(data_dir, target)
    return target


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_fixture_has_exactly_the_documented_files_and_schema(data_dir) -> None:
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(EXPECTED_FILES)
    request = pq.read_schema(data_dir / "Multimodal_Train.parquet")
    assert request.names == ["query", "search_idx", "search_results", "search_result_details_with_idx"]
    detail = request.field("search_result_details_with_idx").type.value_type
    assert [f.name for f in detail] == [
        "upstream_label",
        "candidate_idx",
        "candidate_feat_5",
        "candidate_feat_4",
        "label",
        "position",
    ]
    assert detail.field("label").type == pa.float64() and detail.field("position").type == pa.int64()
    corpus = pq.read_schema(data_dir / "MultiModalCorpus.parquet")
    assert corpus.field("modal").type == pa.string()
    assert {f"query_feat_{i}" for i in range(1, 6)} <= set(corpus.names)


def test_round_trip_counts_and_mapping(data_dir) -> None:
    s = load_dataset("baidu", data_dir, seed=0)
    train = pd.read_parquet(data_dir / "Multimodal_Train.parquet")
    test = pd.read_parquet(data_dir / "Multimodal_Test.parquet")
    single = pd.read_parquet(data_dir / "SingleModal_Train.parquet")
    n = lambda f: sum(len(d) for d in f["search_result_details_with_idx"])  # noqa: E731
    assert len(s.train) + len(s.valid) == n(train)
    assert s.train["qid"].nunique() + s.valid["qid"].nunique() == len(train)
    assert len(s.test) == n(test) and s.test["qid"].nunique() == len(test)
    assert len(s.single_modal) == n(single)
    assert set(s.train["qid"]).isdisjoint(s.valid["qid"])
    for f in (s.single_modal, s.train, s.valid, s.test):
        validate_page_table(f, require_sorted=True)
    # one candidate checked field by field against the raw files
    corpus = pd.read_parquet(data_dir / "MultiModalCorpus.parquet")
    first = test.iloc[0]
    detail = first["search_result_details_with_idx"][0]
    row = s.test[(s.test["qid"] == str(first["search_idx"])) & (s.test["item_id"] == str(detail["candidate_idx"]))]
    assert len(row) == 1
    row = row.iloc[0]
    doc = corpus.iloc[detail["candidate_idx"]]
    assert row["modality"] == f"modal{doc['modal']}"
    assert row["page_label"] == int(detail["label"]) and row["position"] == detail["position"]
    assert row["upstream_score"] == pytest.approx(detail["upstream_label"])
    assert row["title"] == doc["real_title"] and row["body"] == doc["abs_basic"] and row["query"] == first["query"]
    assert row["candidate_feat_1"] == pytest.approx(doc["candidate_feat_1"])
    assert s.has_upstream_scores
    assert set(s.modalities()) == {"modal0", "modal1"}
    assert s.page_features == [
        *(f"query_feat_{i}" for i in range(1, 6)),
        *(f"candidate_feat_{i}" for i in range(1, 6)),
    ]
    assert s.modal_features["modal0"] == s.page_features


def test_single_modal_pool_uses_the_split_corpus_and_one_modality_per_list(data_dir) -> None:
    s = load_baidu(data_dir)
    single = pd.read_parquet(data_dir / "SingleModal_Train.parquet")
    parts = pd.concat([pd.read_parquet(data_dir / f"SingleModalCorpus_part{i}.parquet") for i in (1, 2, 3)])
    detail = single.iloc[-1]["search_result_details_with_idx"][-1]  # lives in the last corpus part
    qid = f"{single.iloc[-1]['search_idx']}:modal{parts.iloc[detail['candidate_idx']]['modal']}"
    row = s.single_modal[(s.single_modal["qid"] == qid) & (s.single_modal["item_id"] == str(detail["candidate_idx"]))]
    assert row.iloc[0]["title"] == parts.iloc[detail["candidate_idx"]]["real_title"]
    assert row.iloc[0]["modal_label"] == int(detail["label"])
    assert s.single_modal.groupby("qid")["modality"].nunique().max() == 1
    assert "page_label" not in s.single_modal.columns


def test_valid_fraction_and_seed(data_dir) -> None:
    assert load_baidu(data_dir, valid_fraction=0.0).valid is None
    a, b = load_baidu(data_dir, seed=0), load_baidu(data_dir, seed=5)
    assert set(a.valid["qid"]) != set(b.valid["qid"])
    assert load_baidu(data_dir, seed=0).valid.equals(a.valid)


def test_relevance_rules_and_metric_set(data_dir) -> None:
    frame = pd.DataFrame({"qid": ["a", "a", "a", "b", "b"], "page_label": [0, 2, 3, 0, 0]})
    assert binary_relevance(frame, "positive").tolist() == [False, True, True, False, False]
    assert binary_relevance(frame, "top").tolist() == [False, False, True, False, False]
    s = load_baidu(data_dir, relevance="top")
    assert s.info["relevance_rule"] == "top" and "top label" in s.info["relevance_rule_text"]
    assert load_baidu(data_dir).info["relevance_rule_text"].endswith("label > 0")
    assert BAIDU_REPORT_METRICS == (
        "mrr@1",
        "mrr@2",
        "map@1",
        "map@2",
        "recall@1",
        "recall@2",
        "precision@1",
        "precision@2",
        "bndcg",
        "ndcg@1",
        "ndcg@5",
        "ndcg@10",
    )
    with pytest.raises(DatasetError, match=r"relevance='best'"):
        load_baidu(data_dir, relevance="best")


def test_corpus_with_candidate_idx_column_joins_by_key(copy) -> None:
    path = copy / "MultiModalCorpus.parquet"
    corpus = pd.read_parquet(path)
    corpus["candidate_idx"] = np.arange(len(corpus))
    corpus.iloc[::-1].to_parquet(path, index=False)  # shuffled rows: the key, not the position, must join
    expected = load_baidu(copy.parent / "copy")
    assert expected.test["title"].tolist() == load_baidu(copy).test["title"].tolist()
    original = pd.read_parquet(path).set_index("candidate_idx")
    row = expected.test.iloc[0]
    assert row["title"] == original.loc[int(row["item_id"]), "real_title"]


# --- errors --------------------------------------------------------------------------------
def test_missing_files_one_line_names_files_source_and_destination(tmp_path) -> None:
    with pytest.raises(DatasetError) as err:
        load_baidu(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg
    for name in EXPECTED_FILES:
        assert name in msg
    for needle in ("zzs97str/SMAR", "CrossRank/", "CC BY-NC 4.0", "--data-dir", "$SMAR_LTR_DATA/baidu"):
        assert needle in msg
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_one_missing_file_is_named(copy) -> None:
    (copy / "SingleModalCorpus_part2.parquet").unlink()
    with pytest.raises(DatasetError, match=r"CrossRank files SingleModalCorpus_part2.parquet missing"):
        load_baidu(copy)


def test_missing_column_names_file_column_and_example_row(copy) -> None:
    path = copy / "MultiModalCorpus.parquet"
    pd.read_parquet(path).drop(columns=["real_title"]).to_parquet(path, index=False)
    before = _snapshot(copy)
    with pytest.raises(DatasetError) as err:
        load_baidu(copy)
    msg = str(err.value)
    assert "MultiModalCorpus.parquet is missing column 'real_title'" in msg and "row 0 (" in msg
    assert _snapshot(copy) == before


def test_missing_column_in_one_corpus_part_names_that_part(copy) -> None:
    path = copy / "SingleModalCorpus_part3.parquet"
    pd.read_parquet(path).drop(columns=["candidate_feat_2"]).to_parquet(path, index=False)
    with pytest.raises(DatasetError, match=r"SingleModalCorpus_part3.parquet is missing column 'candidate_feat_2'"):
        load_baidu(copy)


def test_wrong_type_names_file_column_type_and_example_row(copy) -> None:
    path = copy / "MultiModalCorpus.parquet"
    corpus = pd.read_parquet(path)
    corpus["query_feat_1"] = corpus["query_feat_1"].astype(str)
    corpus.to_parquet(path, index=False)
    with pytest.raises(DatasetError) as err:
        load_baidu(copy)
    msg = str(err.value)
    assert "MultiModalCorpus.parquet column 'query_feat_1' must hold numbers, found type" in msg
    assert "row 0 (query_feat_1=" in msg


def test_wrong_struct_field_type_is_named(copy) -> None:
    path = copy / "Multimodal_Test.parquet"
    table = pq.read_table(path)
    frame = table.to_pandas()
    frame["search_result_details_with_idx"] = [
        [{**d, "label": str(d["label"])} for d in details] for details in frame["search_result_details_with_idx"]
    ]
    frame.to_parquet(path, index=False)
    with pytest.raises(
        DatasetError,
        match=r"Multimodal_Test.parquet column 'search_result_details_with_idx' field 'label' must hold numb",
    ):
        load_baidu(copy)


def test_missing_struct_field_is_named(copy) -> None:
    path = copy / "Multimodal_Train.parquet"
    frame = pd.read_parquet(path)
    frame["search_result_details_with_idx"] = [
        [{k: v for k, v in d.items() if k != "upstream_label"} for d in details]
        for details in frame["search_result_details_with_idx"]
    ]
    frame.to_parquet(path, index=False)
    with pytest.raises(
        DatasetError,
        match=r"Multimodal_Train.parquet column 'search_result_details_with_idx' has no field 'upstream_lab",
    ):
        load_baidu(copy)


def test_broken_join_names_file_candidate_and_query(copy) -> None:
    path = copy / "Multimodal_Test.parquet"
    frame = pd.read_parquet(path)
    details = list(frame["search_result_details_with_idx"][3])
    details[1] = {**details[1], "candidate_idx": 987654}
    frame.at[3, "search_result_details_with_idx"] = details
    frame.to_parquet(path, index=False)
    with pytest.raises(DatasetError) as err:
        load_baidu(copy)
    msg = str(err.value)
    assert "Multimodal_Test.parquet column 'search_result_details_with_idx' field 'candidate_idx' = 987654" in msg
    assert f"search_idx={frame['search_idx'][3]}" in msg and "MultiModalCorpus.parquet" in msg


def test_label_outside_range_is_reported_by_file(copy) -> None:
    path = copy / "Multimodal_Train.parquet"
    frame = pd.read_parquet(path)
    frame.at[0, "search_result_details_with_idx"] = [
        {**d, "label": 40.0} for d in frame["search_result_details_with_idx"][0]
    ]
    frame.to_parquet(path, index=False)
    with pytest.raises(
        DatasetError, match=r"Multimodal_Train.parquet column .* field 'label' has 40.0 at search_idx=1 "
    ):
        load_baidu(copy, valid_fraction=0.0)


def test_unknown_option_lists_known_ones(data_dir) -> None:
    with pytest.raises(DatasetError, match=r"unknown option 'valid_frac'.*valid_fraction"):
        load_baidu(data_dir, valid_frac=0.2)
