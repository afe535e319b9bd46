"""``pages``: bring-your-own page tables (parquet / CSV), validation by file, meta.json, summaries."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from smar_ltr.datasets import load_dataset
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.datasets.pages import PAGES, load_pages, summarize_splits
from smar_ltr.errors import DatasetError, PageTableError


@pytest.fixture
def pages_dir(tmp_path):
    out = tmp_path / "pages"
    make_fixture("pages", out, seed=4)
    return out


def test_round_trip_counts_and_default_features(pages_dir) -> None:
    s = load_dataset("pages", pages_dir)
    for role in ("single_modal", "train", "valid", "test"):
        raw = pd.read_parquet(pages_dir / f"{role}.parquet")
        got = getattr(s, role)
        assert len(got) == len(raw) and got["qid"].nunique() == raw["qid"].nunique()
    assert s.modal_features == {
        "image": ["f_shared", "f_image_0"],
        "video": ["f_shared", "f_video_0"],
        "web": ["f_shared", "f_web_0"],
    }
    assert set(s.page_features) == {"f_shared", "f_web_0", "f_image_0", "f_video_0"}
    assert PAGES.is_present(pages_dir) and not PAGES.is_present(pages_dir / "nope")


def test_csv_files_keep_string_ids_and_sort_queries(tmp_path, pages_dir) -> None:
    out = tmp_path / "csv"
    out.mkdir()
    for role in ("train", "test"):
        frame = pd.read_parquet(pages_dir / f"{role}.parquet")
        frame["qid"] = "0" + frame["qid"].str[1:]  # ids such as '00007' must stay strings
        blocks = [g for _, g in frame.groupby("qid", sort=False)]
        pd.concat(blocks[::-1]).to_csv(out / f"{role}.csv", index=False)  # contiguous but not sorted
    s = load_pages(out)
    assert s.train["qid"].iloc[0].startswith("0") and s.train["qid"].is_monotonic_increasing
    assert len(s.single_modal) == 0 and s.has_upstream_scores  # no single_modal file: upstream scores needed


def test_missing_files_name_the_expected_layout(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"train.parquet, test.parquet.*qid, item_id, modality, page_label"):
        load_pages(tmp_path)


def test_schema_errors_name_the_file(pages_dir) -> None:
    frame = pd.read_parquet(pages_dir / "test.parquet").drop(columns=["page_label"])
    frame.to_parquet(pages_dir / "test.parquet")
    with pytest.raises(PageTableError, match=r"test.parquet is missing column 'page_label'"):
        load_pages(pages_dir)


def test_non_contiguous_queries_are_an_error(pages_dir) -> None:
    frame = pd.read_parquet(pages_dir / "valid.parquet")
    frame = pd.concat([frame.iloc[:2], frame.iloc[10:], frame.iloc[2:10]])
    frame.to_parquet(pages_dir / "valid.parquet")
    with pytest.raises(PageTableError, match=r"valid.parquet column 'qid' is not contiguous"):
        load_pages(pages_dir)


def test_queries_shared_between_splits_are_rejected(pages_dir) -> None:
    train = pd.read_parquet(pages_dir / "train.parquet")
    test = pd.read_parquet(pages_dir / "test.parquet")
    pd.concat([test, train[train["qid"] == train["qid"].iloc[0]]]).to_parquet(pages_dir / "test.parquet")
    with pytest.raises(DatasetError, match=rf"query '{train['qid'].iloc[0]}' appears in both train.parquet"):
        load_pages(pages_dir)


def test_without_single_modal_every_page_needs_an_upstream_score(pages_dir) -> None:
    (pages_dir / "single_modal.parquet").unlink()
    train = pd.read_parquet(pages_dir / "train.parquet")
    train.loc[3, "upstream_score"] = None
    train.to_parquet(pages_dir / "train.parquet")
    with pytest.raises(PageTableError, match=r"train.parquet column 'upstream_score' has NaN"):
        load_pages(pages_dir)
    train.drop(columns=["upstream_score"]).to_parquet(pages_dir / "train.parquet")
    with pytest.raises(DatasetError, match=r"train.parquet has no column 'upstream_score'.*single_modal"):
        load_pages(pages_dir)


def test_meta_json_sets_features_and_provenance(pages_dir) -> None:
    meta = {"modal_features": {"web": ["f_web_0"]}, "page_features": ["f_shared"], "licence": "CC0"}
    (pages_dir / "meta.json").write_text(json.dumps(meta))
    s = load_pages(pages_dir)
    assert s.modal_features == {"web": ["f_web_0"]} and s.page_features == ["f_shared"]
    assert s.info["licence"] == "CC0"
    (pages_dir / "meta.json").write_text(json.dumps({"page_features": ["title"]}))
    with pytest.raises(DatasetError, match=r"meta.json page_features lists 'title', which is not numeric"):
        load_pages(pages_dir)
    (pages_dir / "meta.json").write_text(json.dumps({"features": []}))
    with pytest.raises(DatasetError, match=r"meta.json has unknown key 'features'"):
        load_pages(pages_dir)


def test_summary_counts(pages_dir) -> None:
    s = load_pages(pages_dir)
    summary = summarize_splits(s)
    json.dumps(summary)  # plain JSON-able values
    train = summary["splits"]["train"]
    assert train["queries"] == s.train["qid"].nunique() and train["candidates"] == len(s.train)
    assert sum(train["modalities"].values()) == len(s.train)
    assert sum(train["labels"].values()) == len(s.train) and train["label"] == "page_label"
    assert summary["splits"]["single_modal"]["label"] == "modal_label"
