"""Shared readers and atomic writers of the dataset adapters; fixture writers."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smar_ltr.datasets.fixtures import FIXTURE_WRITERS, make_fixture
from smar_ltr.datasets.io import (
    check_options,
    check_types,
    explode_struct_list,
    read_arrow,
    require_columns,
    split_queries,
    write_atomic,
    write_dir_atomic,
)
from smar_ltr.errors import DatasetError


def test_write_atomic_leaves_nothing_on_failure(tmp_path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    write_atomic(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1


def test_write_dir_atomic_new_and_existing_directories(tmp_path) -> None:
    def writer(tmp):
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a.txt").write_text("a")
        (tmp / "b.txt").write_text("b")

    files = write_dir_atomic(tmp_path / "new", writer)
    assert [p.relative_to(tmp_path / "new").as_posix() for p in files] == ["b.txt", "sub/a.txt"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keep.txt").write_text("k")
    write_dir_atomic(tmp_path / "old", writer)
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["b.txt", "keep.txt", "sub"]

    def broken(tmp):
        (tmp / "x.txt").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_dir_atomic(tmp_path / "failed", broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "old"]  # no temp dir, no target


def test_make_fixture_failure_writes_nothing(tmp_path, monkeypatch) -> None:
    def broken(out, seed=0):
        (out / "Multimodal_Train.parquet").write_text("partial")
        raise RuntimeError("interrupted")

    monkeypatch.setitem(FIXTURE_WRITERS, "baidu", broken)
    with pytest.raises(RuntimeError):
        make_fixture("baidu", tmp_path / "fx")
    assert list(tmp_path.iterdir()) == []


def test_make_fixture_rejects_unknown_names_and_options(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"no fixture writer for 'msmarco'; available: baidu, baidu-ultr"):
        make_fixture("msmarco", tmp_path / "x")
    with pytest.raises(DatasetError, match=r"fixture 'qilin' has no option 'layout'"):
        make_fixture("qilin", tmp_path / "x", layout="raw")
    assert list(tmp_path.iterdir()) == []


def test_fixtures_are_deterministic(tmp_path) -> None:
    make_fixture("baidu", tmp_path / "a", seed=7)
    make_fixture("baidu", tmp_path / "b", seed=7)
    for path in (tmp_path / "a").iterdir():
        assert pq.read_table(path).equals(pq.read_table(tmp_path / "b" / path.name)), path.name


def test_readers_name_file_column_and_example_row(tmp_path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"query": ["a", "b"], "search_idx": ["1", "2"]}), path)
    table = read_arrow(path)
    with pytest.raises(
        DatasetError, match=r"t.parquet is missing column 'search_id'.*did you mean 'search_idx'.*row 0"
    ):
        require_columns(table, ["search_id"], path)
    with pytest.raises(
        DatasetError,
        match=r"t.parquet column 'search_idx' must hold integer numbers.*row 0 \(search_idx='1'\)",
    ):
        check_types(table, {"search_idx": "int-like"}, path)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(DatasetError, match=r"bad.parquet could not be read as parquet"):
        read_arrow(tmp_path / "bad.parquet")
    with pytest.raises(DatasetError, match=r"does not exist"):
        read_arrow(tmp_path / "missing.parquet")


def test_explode_struct_list_keeps_parent_rows() -> None:
    table = pa.table({"d": [[{"a": 1, "b": 2.0}], [], [{"a": 3, "b": None}, {"a": 4, "b": 1.0}]]})
    frame = explode_struct_list(table, "d", "x.parquet")
    assert frame["_row"].tolist() == [0, 2, 2] and frame["a"].tolist() == [1, 3, 4]
    assert pd.isna(frame["b"].iloc[1])


def test_split_queries_is_seeded_disjoint_and_complete() -> None:
    qids = [f"q{i}" for i in range(50) for _ in range(3)]
    a = split_queries(qids, [0.2, 0.1], seed=3)
    b = split_queries(qids, [0.2, 0.1], seed=3)
    assert [list(x) for x in a] == [list(x) for x in b]
    assert [len(x) for x in a] == [10, 5, 35]
    assert set().union(*map(set, a)) == set(qids) and sum(map(len, a)) == 50


def test_check_options_suggests_close_names() -> None:
    assert check_options("d", {"a": 2}, {"a": 1, "b": 0}) == {"a": 2, "b": 0}
    with pytest.raises(DatasetError, match=r"unknown option 'aa' for dataset 'd'; did you mean 'a'"):
        check_options("d", {"aa": 1}, {"a": 1})
