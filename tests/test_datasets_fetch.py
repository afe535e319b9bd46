"""Downloads without the network: offline errors, checksum verification over file:// URLs, licence gates."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smar_ltr.datasets import fetch as fetch_module
from smar_ltr.datasets.fetch import FETCH_PLANS, FetchPlan, RemoteFile, download, fetch, hf_files
from smar_ltr.errors import DatasetError


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    pq.write_table(pa.table({"x": [1, 2, 3]}), src / "table.parquet")
    (src / "qrels.csv").write_text("qid,pid\n0,1\n")
    return src


@pytest.fixture
def offline(monkeypatch):
    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)


def test_download_verifies_checksum_over_file_urls(source, tmp_path) -> None:
    good = _sha(source / "table.parquet")
    dest = tmp_path / "out" / "table.parquet"
    assert download((source / "table.parquet").as_uri(), dest, good, progress=False) == good
    assert _sha(dest) == good
    bad_dest = tmp_path / "out2" / "table.parquet"
    with pytest.raises(DatasetError, match=r"checksum mismatch for table.parquet: expected sha256 0{64}"):
        download((source / "table.parquet").as_uri(), bad_dest, "0" * 64, progress=False)
    assert list((tmp_path / "out2").iterdir()) == []  # nothing left behind


def test_download_rejects_lfs_pointers_and_truncated_parquet(source, tmp_path) -> None:
    (source / "pointer.parquet").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    with pytest.raises(DatasetError, match=r"p.parquet arrived as a Git LFS pointer"):
        download((source / "pointer.parquet").as_uri(), tmp_path / "p.parquet", progress=False)
    data = (source / "table.parquet").read_bytes()
    (source / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"cut.parquet is not a complete parquet file"):
        download((source / "cut.parquet").as_uri(), tmp_path / "cut.parquet", progress=False)
    assert not (tmp_path / "cut.parquet").exists()


def test_download_offline_is_one_line(offline, tmp_path) -> None:
    with pytest.raises(DatasetError) as err:
        download(
            "https://example.org/x.parquet",
            tmp_path / "x.parquet",
            page="https://example.org",
            progress=False,
        )
    msg = str(err.value)
    assert msg.startswith("could not reach https://example.org/x.parquet") and "download manually from" in msg
    assert "\n" not in msg and not (tmp_path / "x.parquet").exists()


def test_fetch_qilin_offline_says_where_to_download(offline, tmp_path) -> None:
    with pytest.raises(DatasetError) as err:
        fetch("qilin", tmp_path / "qilin", progress=False)
    msg = str(err.value)
    assert "could not reach https://huggingface.co/api/datasets/THUIR/Qilin" in msg
    assert "THUIR/Qilin" in msg and str(tmp_path / "qilin") in msg
    assert not (tmp_path / "qilin").exists()


def test_fetch_with_a_plan_of_local_files_records_checksums(source, tmp_path, monkeypatch, capsys) -> None:
    files = [
        RemoteFile((source / "table.parquet").as_uri(), "t/table.parquet", _sha(source / "table.parquet")),
        RemoteFile((source / "qrels.csv").as_uri(), "qrels.csv"),
    ]
    monkeypatch.setitem(FETCH_PLANS, "qilin", FetchPlan(page="local", files=lambda: files, licence="test"))
    dest = tmp_path / "dest"
    out = fetch("qilin", dest, progress=True)
    assert [p.relative_to(dest).as_posix() for p in out] == ["t/table.parquet", "qrels.csv"]
    sums = dict(line.split("  ")[::-1] for line in (dest / "SHA256SUMS").read_text().splitlines())
    assert sums == {
        "qrels.csv": _sha(source / "qrels.csv"),
        "t/table.parquet": _sha(source / "table.parquet"),
    }
    assert "table.parquet" in capsys.readouterr().err  # progress on stderr
    before = (dest / "t" / "table.parquet").stat().st_mtime_ns
    fetch("qilin", dest, progress=False)  # verified files are not downloaded again
    assert (dest / "t" / "table.parquet").stat().st_mtime_ns == before


def test_crossrank_needs_licence_acceptance(tmp_path) -> None:
    with pytest.raises(DatasetError) as err:
        fetch("baidu", tmp_path / "b", progress=False)
    msg = str(err.value)
    assert "CC BY-NC 4.0" in msg and "--accept-licence" in msg and "zzs97str/SMAR" in msg
    assert not (tmp_path / "b").exists()


def test_crossrank_urls_cover_the_expected_files() -> None:
    from smar_ltr.datasets.baidu import EXPECTED_FILES

    files = FETCH_PLANS["baidu"].files()
    assert [f.path for f in files] == list(EXPECTED_FILES)
    assert all(f.url.startswith("https://github.com/zzs97str/SMAR/raw/main/CrossRank/") for f in files)


def test_datasets_without_a_source_have_nothing_to_fetch(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"dataset 'pages' has no download source"):
        fetch("pages", tmp_path)


def test_manual_plans_explain_the_step(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(FETCH_PLANS, "baidu-ultr", FetchPlan(page="p", manual="request access on the project page"))
    with pytest.raises(DatasetError, match=r"baidu-ultr needs a manual download: request access"):
        fetch("baidu-ultr", tmp_path)


def test_hf_listing_reads_lfs_checksums(monkeypatch) -> None:
    answer = [
        {"type": "file", "path": "notes/train-00000-of-00001.parquet", "size": 5, "lfs": {"oid": "ab" * 32}},
        {"type": "directory", "path": "notes/sub"},
        {"type": "file", "path": "notes/README.md", "size": 1},
    ]
    seen = []

    def fake(req, timeout):
        seen.append(req.full_url)
        return io.BytesIO(json.dumps(answer).encode())

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    files = hf_files("THUIR/Qilin", ("notes",), keep=lambda p: p.endswith(".parquet"))
    assert seen == ["https://huggingface.co/api/datasets/THUIR/Qilin/tree/main/notes"]
    assert files == [
        RemoteFile(
            "https://huggingface.co/datasets/THUIR/Qilin/resolve/main/notes/train-00000-of-00001.parquet",
            "notes/train-00000-of-00001.parquet",
            "ab" * 32,
            5,
        )
    ]
    assert fetch_module.QILIN_QRELS.sha256 == "2f59c0373c516bf3cf4dda9791f054f679bdd17e6914e6be05c1125c97a593f5"
