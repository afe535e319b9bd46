"""Baidu-ULTR: raw gzip sessions + annotations, the processed parquet layout, the media-type join, errors."""

from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smar_ltr.datasets import load_dataset, validate_page_table
from smar_ltr.datasets.baidu_ultr import load_baidu_ultr
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.errors import DatasetError


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("ultr") / "raw"
    make_fixture("baidu-ultr", out, seed=2)
    return out


@pytest.fixture(scope="module")
def processed_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("ultr") / "processed"
    make_fixture("baidu-ultr", out, seed=2, layout="processed")
    return out


def _raw_lines(raw_dir):
    with gzip.open(raw_dir / "part-00000.gz", "rt", encoding="utf-8") as handle:
        return handle.read().splitlines()


def test_raw_fixture_has_the_documented_line_format(raw_dir) -> None:
    lines = _raw_lines(raw_dir)
    fields = [line.split("\t") for line in lines]
    assert len(fields[0]) == 3  # qid, query tokens, reformulation
    assert {len(f) for f in fields if len(f) != 3} == {32}
    annotations = (raw_dir / "annotation_data_0522.txt").read_text(encoding="utf-8").splitlines()
    assert {len(a.split("\t")) for a in annotations} == {6}
    assert "\x01" in fields[1][2]  # token ids joined by \x01


def test_raw_round_trip_counts_and_labels(raw_dir) -> None:
    s = load_dataset("baidu-ultr", raw_dir, seed=0)
    fields = [line.split("\t") for line in _raw_lines(raw_dir)]
    docs = [f for f in fields if len(f) == 32]
    assert len(s.single_modal) == len(docs)
    assert s.single_modal["modal_label"].gt(0).sum() == sum(f[5] == "1" for f in docs)  # clicked -> label > 0
    annotations = pd.read_csv(raw_dir / "annotation_data_0522.txt", sep="\t", header=None)
    assert len(s.train) + len(s.valid) + len(s.test) == len(annotations)
    assert s.train["qid"].nunique() + s.valid["qid"].nunique() + s.test["qid"].nunique() == annotations[0].nunique()
    labels = pd.concat([s.train, s.valid, s.test])["page_label"]
    assert sorted(labels.value_counts().to_dict().items()) == sorted(annotations[4].value_counts().to_dict().items())
    for f in (s.single_modal, s.train, s.valid, s.test):
        validate_page_table(f, require_sorted=True)
    assert s.single_modal.groupby("qid")["modality"].nunique().max() == 1
    assert s.info["layout"] == "raw" and not s.has_upstream_scores
    assert "\x01" not in s.train["title"].iloc[0] and s.train["title"].iloc[0].split()[0].isdigit()


def test_raw_media_type_join_uses_the_document_text(raw_dir) -> None:
    s = load_baidu_ultr(raw_dir, unjoined="unknown")
    sessions = s.single_modal
    pages = pd.concat([s.train, s.valid, s.test])
    joined = pages[pages["modality"] != "mm_unknown"]
    by_doc = sessions.groupby(["title", "body"])["modality"].agg(lambda m: m.value_counts().index[0])
    for _, row in joined.head(20).iterrows():
        assert row["modality"] == by_doc.loc[(row["title"], row["body"])]
    assert s.info["unjoined_documents"] == int((pages["modality"] == "mm_unknown").sum()) > 0
    # the same document text gets the same item_id in sessions and pages
    shared = joined.iloc[0]
    match = sessions[(sessions["title"] == shared["title"]) & (sessions["body"] == shared["body"])]
    assert set(match["item_id"]) == {shared["item_id"]}


def test_unjoined_policies(raw_dir) -> None:
    s = load_baidu_ultr(raw_dir, unjoined="drop")
    pages = pd.concat([s.train, s.valid, s.test])
    assert "mm_unknown" not in set(pages["modality"].astype(str))
    unknown = load_baidu_ultr(raw_dir, unjoined="unknown")
    majority = load_baidu_ultr(raw_dir)  # default: the sessions' most frequent media type
    assert majority.info["unjoined_assigned"] == "mm0"
    before = pd.concat([unknown.train, unknown.valid, unknown.test]).set_index(["qid", "item_id"])["modality"]
    after = pd.concat([majority.train, majority.valid, majority.test]).set_index(["qid", "item_id"])["modality"]
    after = after.reindex(before.index).astype(str)
    assert (after[before == "mm_unknown"] == "mm0").all()
    assert (after[before != "mm_unknown"] == before[before != "mm_unknown"].astype(str)).all()
    kept = majority
    assert len(pages) == sum(len(f) for f in (kept.train, kept.valid, kept.test)) - kept.info["unjoined_documents"]


def test_processed_round_trip_with_lexical_features(processed_dir) -> None:
    s = load_baidu_ultr(processed_dir, unjoined="unknown")
    clicks = pq.read_table(processed_dir / "clicks" / "train" / "0000.parquet").to_pandas()
    ann = pq.read_table(processed_dir / "annotations" / "test" / "0000.parquet").to_pandas()
    assert len(s.single_modal) == sum(len(c) for c in clicks["click"])
    assert sum(len(f) for f in (s.train, s.valid, s.test)) == sum(len(v) for v in ann["label"])
    assert s.info["layout"] == "processed"
    assert "bm25" in s.page_features and s.modal_features["mm0"] == s.page_features
    assert "click" not in s.single_modal.columns and "displayed_time" not in s.single_modal.columns
    pages = pd.concat([s.train, s.valid, s.test])
    assert s.info["unjoined_documents"] == int((pages["modality"] == "mm_unknown").sum())
    assert s.info["unjoined_documents"] >= 2 * len(ann)  # two fresh documents per annotated query
    first = ann.iloc[0]
    row = pages[pages["item_id"] == first["text_md5"][0]].iloc[0]
    assert row["bm25"] == pytest.approx(first["bm25"][0], rel=1e-5)
    assert row["query"] == " ".join(map(str, first["query"]))


def test_flat_feather_layout_reads_like_the_nested_one(processed_dir, tmp_path) -> None:
    """The ``parts/*.feather`` layout: one row per document, keyed by ``query_no``."""
    nested = load_baidu_ultr(processed_dir)
    (tmp_path / "parts").mkdir()
    for src, name in (("clicks/train", "part-0_split-0.feather"), ("annotations/test", "validation.feather")):
        table = pq.read_table(processed_dir / src / "0000.parquet").drop_columns(["query_document_embedding"])
        per_doc = [f.name for f in table.schema if pa.types.is_list(f.type) and f.name != "query"]
        frame = table.to_pandas().assign(query_no=range(len(table)))
        flat = frame.explode(per_doc, ignore_index=True)
        for col in per_doc:
            if col not in ("title", "abstract", "text_md5", "url_md5"):
                flat[col] = pd.to_numeric(flat[col])
        flat.to_feather(tmp_path / "parts" / name)
    flat_s = load_baidu_ultr(tmp_path)
    assert len(flat_s.single_modal) == len(nested.single_modal)
    ids = lambda s: sorted(pd.concat([s.train, s.valid, s.test])["item_id"])  # noqa: E731
    assert ids(flat_s) == ids(nested)
    assert flat_s.info["unjoined_documents"] == nested.info["unjoined_documents"]


def test_missing_files_and_layout_errors(raw_dir, tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"Baidu-ULTR files not found.*part-\*\.gz.*annotation.*SMAR_LTR_DATA"):
        load_baidu_ultr(tmp_path)
    with pytest.raises(DatasetError, match=r"layout 'processed'"):
        load_baidu_ultr(raw_dir, layout="processed")


def test_malformed_raw_files_are_named(raw_dir, tmp_path) -> None:
    shutil.copytree(raw_dir, tmp_path / "d")
    lines = _raw_lines(raw_dir)
    with gzip.open(tmp_path / "d" / "part-00000.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines[1:]) + "\n")  # drop the first query line
    with pytest.raises(DatasetError, match=r"part-00000.gz must start with a query line"):
        load_baidu_ultr(tmp_path / "d")
    with gzip.open(tmp_path / "d" / "part-00000.gz", "wt", encoding="utf-8") as handle:
        fields = lines[1].split("\t")
        fields[5] = "x"  # the click field
        handle.write("\n".join([lines[0], "\t".join(fields), lines[2]]) + "\n")
    with pytest.raises(DatasetError, match=r"part-00000.gz column 'click' must be numeric, found 'x'"):
        load_baidu_ultr(tmp_path / "d")
    (tmp_path / "d" / "part-00000.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match=r"part-00000.gz could not be read"):
        load_baidu_ultr(tmp_path / "d")


def test_short_annotation_line_is_named(raw_dir, tmp_path) -> None:
    shutil.copytree(raw_dir, tmp_path / "d")
    path = tmp_path / "d" / "annotation_data_0522.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = "\t".join(lines[4].split("\t")[:4])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"annotation_data_0522.txt line 5 has fewer than 6"):
        load_baidu_ultr(tmp_path / "d")
