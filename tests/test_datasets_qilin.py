"""Qilin: the tolerant repr parser, the real toy rows through the adapter, labels, DQA cards and qrels."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from smar_ltr.datasets import load_dataset, validate_page_table
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.datasets.qilin import click_dwell_tiers, load_qilin
from smar_ltr.datasets.qilin_parsing import parse_dict_list, parse_int_list, parse_score_pairs
from smar_ltr.errors import DatasetError

TOY = TEST_DATA / "qilin_toy"


# --- parser ------------------------------------------------------------------------------------------------
def test_parse_dict_list_handles_numpy_repr_without_commas_and_bare_nan() -> None:
    text = (
        "[{'click': 1.0, 'note_id': 'ab{c}', 'note_idx': 785089, 'page_time': 5.974, 'position': 1.0}\n"
        " {'click': 0.0, 'note_id': 'nan', 'note_idx': 12, 'page_time': nan, 'position': np.float64(2.0)}]"
    )
    out = parse_dict_list(text)
    assert out == [
        {"click": 1.0, "note_id": "ab{c}", "note_idx": 785089, "page_time": 5.974, "position": 1.0},
        {"click": 0.0, "note_id": "nan", "note_idx": 12, "page_time": None, "position": 2.0},
    ]


def test_parse_dict_list_passes_lists_through_and_maps_missing_to_empty() -> None:
    assert parse_dict_list([{"a": 1}]) == [{"a": 1}]
    assert parse_dict_list(np.array([{"a": 1}], dtype=object)) == [{"a": 1}]
    assert parse_dict_list(float("nan")) == []
    assert parse_dict_list("[]") == []


def test_parse_dict_list_never_evaluates_code() -> None:
    with pytest.raises(DatasetError, match=r"cannot parse record"):
        parse_dict_list("[{'a': __import__('os').getcwd()}]", what="x.csv row 3")
    with pytest.raises(DatasetError, match=r"expected a list of records"):
        parse_dict_list("hello")


def test_parse_int_list_and_pairs() -> None:
    assert parse_int_list("[1151720  927325 1158042\n 1151720]") == [1151720, 927325, 1158042, 1151720]
    assert parse_int_list("[]") == []
    with pytest.raises(DatasetError, match=r"integers"):
        parse_int_list("[1.5 2.0]")
    pairs = parse_score_pairs("[array([1.96492600e+06, 3.20901398e+02])\n array([77464.        ,   320.2])]")
    assert pairs == [(1964926, 320.901398), (77464, 320.2)]


_values = st.one_of(
    st.none(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\\'\""), max_size=8),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["click", "note_id", "page_time", "x"]), _values, max_size=4),
        max_size=5,
    )
)
def test_parse_dict_list_round_trips_numpy_style_reprs(records) -> None:
    def cell(v):
        return "nan" if v is None else repr(v)

    text = "[" + "\n ".join("{" + ", ".join(f"{k!r}: {cell(v)}" for k, v in r.items()) + "}" for r in records) + "]"
    assert parse_dict_list(text) == records


def test_real_toy_cells_parse_to_the_documented_counts() -> None:
    for table, total in (("search_train", 206), ("search_test", 303), ("dqa", 226)):
        frame = pd.read_csv(TOY / f"{table}.csv")
        assert sum(len(parse_dict_list(c)) for c in frame["search_result_details_with_idx"]) == total
    test = pd.read_csv(TOY / "search_test.csv")
    details = sorted(parse_dict_list(test["search_result_details_with_idx"][1]), key=lambda r: r["position"])
    assert parse_int_list(test["search_results"][1]) == [r["note_idx"] for r in details]


# --- labels ------------------------------------------------------------------------------------------------
def test_click_dwell_tiers_follow_the_documented_rule() -> None:
    qid = np.array(["a"] * 6 + ["b"] * 2)
    click = np.array([1, 1, 1, 1, 0, 0, 1, 0])
    dwell = np.array([30.0, 10.0, 20.0, np.nan, 50.0, np.nan, -1.0, np.nan])
    # page a: dwells 30, 10, 20 -> median 20: 30 and 20 get 3, 10 gets 2; click without dwell 1; no click 0
    assert click_dwell_tiers(qid, click, dwell).tolist() == [3, 2, 3, 1, 0, 0, 1, 0]


# --- the real toy rows ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy_keep():
    return load_dataset("qilin", TOY, unjoined="keep")


def test_toy_rows_load_with_unjoined_notes_kept(toy_keep) -> None:
    s = toy_keep
    frames = [s.single_modal, s.train, s.valid, s.test]
    notes = sum(int((f["modality"] != "llm").sum()) for f in frames)
    assert notes == 206 + 303 + 226  # every displayed result of the three request tables, once
    assert s.info["unjoined_notes"] == notes  # the toy notes do not join the toy result lists
    assert {str(m) for f in frames for m in f["modality"].unique()} == {"note_unknown", "llm"}
    assert s.info["layout"] == "csv"
    for f in frames:
        validate_page_table(f, require_sorted=True)
    assert s.test["qid"].nunique() >= 10  # all ten search_test requests are test pages
    lists = s.single_modal["qid"]
    assert (lists.str.endswith(":note_unknown") | lists.str.startswith("llm-list-")).all()


def test_toy_dqa_answers_become_llm_cards_at_the_top(toy_keep) -> None:
    pages = pd.concat([toy_keep.train, toy_keep.valid, toy_keep.test])
    cards = pages[pages["modality"] == "llm"]
    pool_cards = toy_keep.single_modal[toy_keep.single_modal["modality"] == "llm"]
    dqa = pd.read_csv(TOY / "dqa.csv")
    shown = dqa[dqa["dqa_output"] != "-1"]
    assert toy_keep.info["dqa_cards"] == len(shown) == 3
    every_card = set(cards["item_id"]) | set(pool_cards["item_id"])
    assert every_card == {f"llm:{i}" for i in shown["search_idx"]}
    assert (cards["position"] == 0).all() and cards["answer"].str.contains("第").all()
    # each of these answers had is_content_clk == 1 and no like: label 1
    assert cards["page_label"].tolist() == [1] * len(cards)
    assert pool_cards["modal_label"].tolist() == [1] * len(pool_cards)
    assert pool_cards["qid"].str.startswith("llm-list-").all()  # cards grouped into pseudo-lists
    for qid in cards["qid"]:
        assert pages[pages["qid"] == qid].iloc[0]["modality"] == "llm"  # the card leads its page
    assert toy_keep.modal_features["llm"] == ["answer_length", "ref_note_count"]


def test_toy_default_drop_explains_how_to_keep_unjoined_notes() -> None:
    with pytest.raises(DatasetError, match=r"did not join the notes table.*unjoined=keep"):
        load_qilin(TOY)


def test_toy_notes_stubbed_to_join_give_modalities_and_features(tmp_path) -> None:
    for name in ("search_train.csv", "search_test.csv", "dqa.csv"):
        shutil.copy(TOY / name, tmp_path / name)
    shown = []
    for table in ("search_train", "search_test"):
        cells = pd.read_csv(TOY / f"{table}.csv")["search_result_details_with_idx"]
        shown += [r["note_idx"] for r in parse_dict_list(cells[0])][:5]
    notes = pd.read_csv(TOY / "notes.csv")
    notes["note_idx"] = shown  # the ten toy notes now describe five train and five test results
    notes.to_csv(tmp_path / "notes.csv", index=False)
    s = load_qilin(tmp_path, single_modal_fraction=0.0, valid_fraction=0.0)
    frames = pd.concat([s.train, s.test])
    joined = frames[frames["modality"] != "llm"]
    assert len(joined) == len(notes) and s.valid is None
    expected = notes.set_index("note_idx")
    for _, row in joined.iterrows():
        note = expected.loc[int(row["item_id"])]
        assert row["modality"] == {1.0: "image_text", 2.0: "video"}[note["note_type"]]
        assert row["title"] == note["note_title"]
        assert row["impressions"] == note["imp_num"] and row["dwell_time"] == note["view_time"]
    assert s.info["unjoined_notes"] == 206 + 303 + 226 - len(notes)
    assert s.info["card_only_pages_dropped"] == 3  # the DQA pages lost all their notes
    assert not (frames["modality"] == "llm").any()
    assert set(s.modal_features) >= {"image_text", "video"}
    assert "video_duration" not in s.modal_features["image_text"]
    assert "video_duration" in s.modal_features["video"]


def test_toy_qrels_relevance_uses_row_positions(tmp_path) -> None:
    for name in ("search_train.csv", "search_test.csv", "dqa.csv", "notes.csv"):
        shutil.copy(TOY / name, tmp_path / name)
    test = pd.read_csv(TOY / "search_test.csv")
    clicked = [r["note_idx"] for r in parse_dict_list(test["search_result_details_with_idx"][2]) if r["click"] == 1]
    (tmp_path / "qrels").mkdir()
    pd.DataFrame({"qid": [2] * len(clicked) + [0], "pid": [*clicked, 1]}).to_csv(
        tmp_path / "qrels" / "search.test.qrels.csv", index=False
    )
    s = load_qilin(tmp_path, unjoined="keep", relevance="qrels")
    assert s.info["qrels_matched"] == len(clicked) and s.info["qrels_unmatched"] == 1
    page = s.test[s.test["qid"] == str(test["search_idx"][2])]
    assert set(page.loc[page["page_label"] == 1, "item_id"]) == {str(c) for c in clicked}
    assert int(s.test["page_label"].sum()) == len(clicked)


# --- the parquet layout (fixture) ------------------------------------------------------------
@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("qilin") / "data"
    make_fixture("qilin", out, seed=3)
    return out


def test_fixture_round_trip_counts(fixture_dir) -> None:
    s = load_dataset("qilin", fixture_dir, seed=0)
    train = pd.read_parquet(fixture_dir / "search_train" / "train-00000-of-00001.parquet")
    n_train_results = sum(len(d) for d in train["search_result_details_with_idx"])
    from_train = s.single_modal["qid"].str.split(":").str[0].isin(map(str, train["search_idx"]))
    pool_rows = int(from_train.sum()) + int((s.train["qid"].isin(map(str, train["search_idx"]))).sum())
    pool_rows += int((s.valid["qid"].isin(map(str, train["search_idx"]))).sum())
    llm_in_train_pages = int(
        (s.train["qid"].isin(map(str, train["search_idx"])) & (s.train["modality"] == "llm")).sum()
        + (s.valid["qid"].isin(map(str, train["search_idx"])) & (s.valid["modality"] == "llm")).sum()
    )
    assert pool_rows - llm_in_train_pages == n_train_results
    assert s.info["unjoined_notes"] == 0 and s.info["layout"] == "parquet"
    assert set(s.train["modality"].astype(str)) == {"image_text", "video", "llm"}
    assert s.single_modal.groupby("qid")["modality"].nunique().max() == 1  # one modality per list
    pool_cards = s.single_modal[s.single_modal["modality"] == "llm"]
    assert len(pool_cards) >= 2 and pool_cards["qid"].str.startswith("llm-list-").all()
    assert pool_cards.groupby("qid").size().max() <= 10  # llm_list_size
    for f in (s.single_modal, s.train, s.valid, s.test):
        validate_page_table(f, require_sorted=True)
    assert not {"click", "like", "page_time"} & set(s.train.columns)  # behaviour never leaks as a feature


def test_fixture_dqa_card_joins_its_search_page(fixture_dir) -> None:
    s = load_qilin(fixture_dir)
    test = pd.read_parquet(fixture_dir / "search_test" / "train-00000-of-00001.parquet")
    first = str(test["search_idx"][0])  # the fixture repeats this request in dqa, with an answer
    page = s.test[s.test["qid"] == first]
    assert page.iloc[0]["modality"] == "llm" and page.iloc[0]["item_id"] == f"llm:{first}"
    assert (page["modality"] != "llm").sum() == len(test["search_result_details_with_idx"][0])


def test_fixture_qrels_are_the_clicked_notes(fixture_dir) -> None:
    s = load_qilin(fixture_dir, relevance="qrels")
    test = pd.read_parquet(fixture_dir / "search_test" / "train-00000-of-00001.parquet")
    clicks = sum(int(d["click"] == 1) for details in test["search_result_details_with_idx"] for d in details)
    assert int(s.test["page_label"].sum()) == clicks == s.info["qrels_matched"]
    assert set(s.test["page_label"].unique()) <= {0, 1}


def test_same_seed_same_splits_and_other_seed_differs(fixture_dir) -> None:
    a, b, c = (load_qilin(fixture_dir, seed=k) for k in (0, 0, 1))
    assert a.train.equals(b.train)
    assert set(a.train["qid"]) != set(c.train["qid"])


def test_missing_tables_name_files_and_source(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"search_train, search_test, notes.*THUIR/Qilin.*SMAR_LTR_DATA/qilin"):
        load_qilin(tmp_path)


def test_missing_field_and_unknown_option(fixture_dir, tmp_path) -> None:
    shutil.copytree(fixture_dir, tmp_path / "d")
    path = tmp_path / "d" / "search_test" / "train-00000-of-00001.parquet"
    frame = pd.read_parquet(path)
    frame["search_result_details_with_idx"] = [
        [{k: v for k, v in d.items() if k != "page_time"} for d in details]
        for details in frame["search_result_details_with_idx"]
    ]
    frame.to_parquet(path)
    with pytest.raises(
        DatasetError,
        match=r"train-00000-of-00001.parquet column 'search_result_details_with_idx' has no field 'page_tim",
    ):
        load_qilin(tmp_path / "d")
    with pytest.raises(DatasetError, match=r"unknown option 'unjoin'.*unjoined"):
        load_qilin(fixture_dir, unjoin="keep")


def test_notes_without_note_idx_join_by_row_position(fixture_dir, tmp_path) -> None:
    shutil.copytree(fixture_dir, tmp_path / "d")
    for part in sorted((tmp_path / "d" / "notes").glob("*.parquet")):
        pd.read_parquet(part).drop(columns=["note_idx"]).to_parquet(part, index=False)
    keyed, positional = load_qilin(fixture_dir), load_qilin(tmp_path / "d")
    assert positional.test.equals(keyed.test) and positional.train.equals(keyed.train)
