"""Bad-input census, part 1: page tables, LETOR / SVMlight files and the Qilin, CrossRank and Baidu-ULTR file
sets. Every case must end in exit status 1, one ``error:`` line naming the problem, no traceback and nothing
written (see tests/census.py); the inputs accepted under a stated policy are checked at the end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from census import Case, check_case, fast_config

from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.datasets.letor import load_letor_dir, read_svmlight
from smar_ltr.errors import SmarWarning

FIXTURES: dict[str, Path] = {}


def fixture_copy(name: str, tmp: Path) -> Path:
    """A fresh copy of a generated fixture file set (generated once per test session)."""
    if name not in FIXTURES:
        import tempfile

        FIXTURES[name] = Path(tempfile.mkdtemp(prefix="census-")) / name
        make_fixture(name, FIXTURES[name])
    target = tmp / "in" / name
    shutil.copytree(FIXTURES[name], target)
    return target


# ---- page tables (--dataset pages) -------------------------------------------------------------------------
def fit_pages(tmp: Path, data: Path | str) -> list[str]:
    cfg = fast_config(tmp / "fast.json")
    return ["fit", "-d", "pages", "--data-dir", str(data), "-c", str(cfg), "-o", str(tmp / "run"), "-q"]


def pages_with(mutate):
    """Setup: copy the pages fixture, ``mutate(folder, train_frame)``, fit on it."""

    def setup(tmp: Path) -> list[str]:
        d = fixture_copy("pages", tmp)
        mutate(d, pd.read_parquet(d / "train.parquet"))
        return fit_pages(tmp, d)

    return setup


def _csv(sep: str):
    def mutate(d: Path, train: pd.DataFrame) -> None:
        (d / "train.parquet").unlink()
        train.to_csv(d / "train.csv", sep=sep, index=False)

    return mutate


def _set(column: str, value, row: int = 0):
    def mutate(d: Path, train: pd.DataFrame) -> None:
        train[column] = train[column].astype(object)
        train.loc[row, column] = value
        train.to_parquet(d / "train.parquet")

    return mutate


def _numbers_as_text(d: Path, train: pd.DataFrame) -> None:
    col = next(c for c in train.columns if c.startswith("f_"))
    train[col] = train[col].map(lambda v: f"{v:.3f}" if pd.notna(v) else None)
    train.to_parquet(d / "train.parquet")


def _shared_query(d: Path, train: pd.DataFrame) -> None:
    test = pd.read_parquet(d / "test.parquet")
    test.loc[test["qid"] == test["qid"].iloc[0], "qid"] = train["qid"].iloc[0]
    test.to_parquet(d / "test.parquet")


PAGE_CASES = [
    Case("data-dir missing", lambda t: fit_pages(t, t / "nowhere"), "data folder"),
    Case("data-dir is a file", lambda t: fit_pages(t, (t / "f.txt", (t / "f.txt").write_text("x"))[0]), "is a file"),
    Case("empty data folder", lambda t: fit_pages(t, (t / "e", (t / "e").mkdir())[0]), "page tables missing"),
    Case("semicolon CSV", pages_with(_csv(";")), "semicolons"),
    Case("tab-separated CSV", pages_with(_csv("\t")), "tabs"),
    Case("no qid column", pages_with(lambda d, f: f.drop(columns="qid").to_parquet(d / "train.parquet")), "'qid'"),
    Case("negative label", pages_with(_set("page_label", -1)), "page_label"),
    Case("label 1.5", pages_with(_set("page_label", 1.5)), "page_label"),
    Case("missing qid value", pages_with(_set("qid", None)), "qid"),
    Case("missing modality", pages_with(_set("modality", None)), "modality"),
    Case("inf feature", pages_with(_set("f_image_0", float("inf"))), "f_image_0"),
    Case("numbers stored as text", pages_with(_numbers_as_text), "numbers stored as text"),
    Case("query in train and test", pages_with(_shared_query), "appears in both"),
    Case("meta.json not JSON", pages_with(lambda d, f: (d / "meta.json").write_text("{oops")), "meta.json"),
    Case(
        "meta.json lists a text column",
        pages_with(lambda d, f: (d / "meta.json").write_text(json.dumps({"page_features": ["modality"]}))),
        "page_features",
    ),
    Case("corrupt parquet", pages_with(lambda d, f: (d / "test.parquet").write_bytes(b"PAR1 garbage")), "test.parquet"),
]


# ---- LETOR / SVMlight (--dataset letor) --------------------------------------------------------------------
GOOD = "2 qid:1 1:0.5 2:0.1\n0 qid:1 1:0.1 2:0.9\n1 qid:2 1:0.3 2:0.3\n0 qid:2 1:0.2 2:0.4\n"


def letor(train: str | bytes, extra: dict[str, str] | None = None):
    def setup(tmp: Path) -> list[str]:
        d = tmp / "letor"
        d.mkdir()
        data = train.encode() if isinstance(train, str) else train
        (d / "train.txt").write_bytes(data)
        for name, text in (extra or {}).items():
            (d / name).write_text(text)
        return ["fit", "-d", "letor", "--data-dir", str(d), "-o", str(tmp / "run"), "-q"]

    return setup


LETOR_CASES = [
    Case("label not a number", letor("x qid:1 1:0.5\n"), "line 1 is malformed"),
    Case("negative label", letor("-1 qid:1 1:0.5\n"), "non-negative integers"),
    Case("fractional label", letor("0.5 qid:1 1:0.5\n"), "non-negative integers"),
    Case("qid not an integer", letor("1 qid:a 1:0.5\n"), "qid:<integer>"),
    Case("token without a colon", letor("1 qid:1 1:0.5 7\n"), "<feature id>:<number>"),
    Case("feature ids decrease", letor("1 qid:1 2:0.5 1:0.3\n"), "must increase"),
    Case("huge feature id", letor("1 qid:1 1:0.5 900000000:1\n"), "larger than 100,000"),
    Case("qid reappears later", letor(GOOD + "1 qid:1 1:0.7 2:0.1\n"), "qid 1 reappears on line 5"),
    Case("some lines without qid", letor("1 qid:1 1:0.5\n" * 3 + "0 1:0.5\n"), "qid"),
    Case("no qid and no .query file", letor("1 1:0.5\n0 1:0.2\n"), "no 'qid:' fields"),
    Case("group sizes do not add up", letor("1 1:0.5\n0 1:0.2\n", {"train.txt.query": "3\n"}), "sum to 3"),
    Case("group size not a number", letor("1 1:0.5\n0 1:0.2\n", {"train.txt.query": "two\n"}), "group size"),
    Case("empty file", letor("# only a comment\n"), "no data rows"),
    Case("binary garbage", letor(b"\x00\x01\x02PK\x03\x04"), "train.txt"),
    Case("archive root instead of a fold", lambda t: _letor_without_train(t), "pass a fold directory"),
]


def _letor_without_train(tmp: Path) -> list[str]:
    d = tmp / "letor"
    (d / "Fold1").mkdir(parents=True)
    (d / "Fold1" / "train.txt").write_text(GOOD)
    return ["fit", "-d", "letor", "--data-dir", str(d), "-o", str(tmp / "run"), "-q"]


# ---- Qilin, CrossRank (baidu) and Baidu-ULTR file sets -----------------------------------------------------
def dataset_files(name: str, damage, *options: str):
    def setup(tmp: Path) -> list[str]:
        d = fixture_copy(name, tmp)
        damage(d)
        return ["datasets", "info", name, "--data-dir", str(d), *(x for o in options for x in ("-o", o))]

    return setup


def _drop_column(rel: str, column: str):
    def damage(d: Path) -> None:
        pd.read_parquet(d / rel).drop(columns=column).to_parquet(d / rel)

    return damage


def _truncate(rel: str):
    def damage(d: Path) -> None:
        data = (d / rel).read_bytes()
        (d / rel).write_bytes(data[: len(data) // 2])

    return damage


FILE_CASES = [
    Case(
        "baidu: train file missing",
        dataset_files("baidu", lambda d: (d / "Multimodal_Train.parquet").unlink()),
        "Multimodal_Train.parquet missing",
    ),
    Case(
        "baidu: truncated corpus",
        dataset_files("baidu", _truncate("MultiModalCorpus.parquet")),
        "MultiModalCorpus.parquet could not be read",
    ),
    Case(
        "baidu: train lacks a column",
        dataset_files("baidu", _drop_column("Multimodal_Train.parquet", "query")),
        "missing column 'query'",
    ),
    Case("qilin: notes missing", dataset_files("qilin", lambda d: shutil.rmtree(d / "notes")), "notes not found"),
    Case(
        "qilin: truncated search_train",
        dataset_files("qilin", _truncate("search_train/train-00000-of-00001.parquet")),
        "could not be read as parquet",
    ),
    Case(
        "qilin: qrels not CSV",
        dataset_files(
            "qilin", lambda d: (d / "qrels/search.test.qrels.csv").write_bytes(b"\x00\xff;;"), "relevance=qrels"
        ),
        "search.test.qrels.csv could not be read",
    ),
    Case(
        "ultr: truncated gzip",
        dataset_files("baidu-ultr", _truncate("part-00000.gz")),
        "part-00000.gz could not be read",
    ),
    Case(
        "ultr: annotations missing",
        dataset_files("baidu-ultr", lambda d: (d / "annotation_data_0522.txt").unlink()),
        "Baidu-ULTR files not found",
    ),
    Case(
        "ultr: annotations garbage",
        dataset_files("baidu-ultr", lambda d: (d / "annotation_data_0522.txt").write_text("a\tb\n")),
        "fewer than 6 tab-separated fields",
    ),
]


@pytest.mark.parametrize("case", PAGE_CASES + LETOR_CASES + FILE_CASES, ids=lambda c: c.id)
def test_bad_input_is_one_line_and_writes_nothing(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)


# ---- accepted under a stated policy ------------------------------------------------------------------------
def test_a_text_column_is_left_out_with_a_counted_warning(tmp_path: Path) -> None:
    from smar_ltr.datasets import load_dataset

    d = fixture_copy("pages", tmp_path)
    train = pd.read_parquet(d / "train.parquet")
    train["url"] = "https://example.org/" + train["item_id"].astype(str)
    train.to_parquet(d / "train.parquet")
    with pytest.warns(SmarWarning, match=r"1 text column\(s\) not used as features: 'url'"):
        splits = load_dataset("pages", d)
    assert "url" not in splits.page_features
    (d / "meta.json").write_text(json.dumps({"page_features": list(splits.page_features)}))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", SmarWarning)  # stating the choice in meta.json silences it
        load_dataset("pages", d)


def test_letor_bom_and_feature_zero_are_read(tmp_path: Path) -> None:
    d = tmp_path / "letor"
    d.mkdir()
    (d / "train.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    (d / "test.txt").write_text("1 qid:7 0:0.3 1:0.5\n0 qid:7 2:0.2\n")
    frames = load_letor_dir(d)
    assert frames["train"]["label"].tolist() == [2, 0, 1, 0]  # the BOM is not part of the first label
    assert (
        list(frames["train"].columns)
        == list(frames["test"].columns)
        == [
            "qid",
            "item_id",
            "label",
            "f0",
            "f1",
            "f2",
        ]
    )
    assert frames["train"]["f0"].eq(0).all() and frames["test"]["f0"].tolist() == pytest.approx([0.3, 0.0])
    assert read_svmlight(d / "train.txt")["qid"].tolist() == ["1", "1", "2", "2"]
