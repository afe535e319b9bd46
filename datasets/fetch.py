"""Download dataset files (``smar-ltr datasets fetch NAME``): progress on stderr, sha256 verification.

Sources with a public URL are downloaded for real: Qilin's parquet tables from the Hugging Face hub
(``THUIR/Qilin``; each file's sha256 comes from the hub's LFS metadata) plus the official qrels from GitHub,
Baidu-ULTR's processed files from ``philipphager/baidu-ultr_uva-mlm-ctr``, and the CrossRank parquet files
from GitHub ``zzs97str/SMAR`` once the user accepts their terms (``accept_licence=True`` /
``--accept-licence``). Every file goes to a temporary name first and is moved into place only after its
checksum (or, where none is published, its file-format magic bytes) checks out; the sha256 of each file is
recorded in ``SHA256SUMS``. Offline, or when a licence needs a manual step, the error is one line saying what
to do instead.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib import error, parse, request

from smar_ltr.datasets.io import write_atomic
from smar_ltr.datasets.registry import get_dataset
from smar_ltr.errors import DatasetError

HF = "https://huggingface.co"
CHUNK = 1 << 20
SUMS = "SHA256SUMS"
_MAGIC = {".parquet": b"PAR1", ".feather": b"ARROW1"}


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its URL, path under the destination, and sha256 when published."""

    url: str
    path: str
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class FetchPlan:
    """How to fetch one dataset.

    Attributes
    ----------
    page : str
        Human-readable place to download from by hand (named in every error).
    files : callable
        Returns the :class:`RemoteFile` list (may query an index over the network).
    licence : str
        Shown before downloading.
    needs_acceptance : str
        Non-empty when the licence must be accepted explicitly (``accept_licence=True``); says why.
    manual : str
        Non-empty when files cannot be fetched automatically; says how to get them.
    """

    page: str
    files: Callable[[], list[RemoteFile]] = field(default=lambda: [])
    licence: str = ""
    needs_acceptance: str = ""
    manual: str = ""


class Unreachable(Exception):
    """A source index could not be reached (turned into a one-line :class:`DatasetError` by :func:`fetch`)."""

    def __init__(self, url: str, reason: object) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason = url, reason


def _offline(url: str, reason: object, page: str, dest: Path) -> DatasetError:
    return DatasetError(f"could not reach {url} ({reason}); download manually from {page} into {str(dest)!r}")


def _open(url: str, timeout: float) -> IO[bytes]:
    req = request.Request(url, headers={"User-Agent": "smar-ltr (dataset fetch)"})
    return request.urlopen(req, timeout=timeout)


def hf_files(
    repo: str, folders: tuple[str, ...], revision: str = "main", keep: Callable[[str], bool] | None = None
) -> list[RemoteFile]:
    """Files of Hugging Face dataset ``repo`` under ``folders``, with the LFS sha256 of each.

    Uses the hub's tree API (``/api/datasets/<repo>/tree/<revision>/<folder>``).
    """
    rev = parse.quote(revision, safe="")
    out: list[RemoteFile] = []
    for folder in folders:
        url = f"{HF}/api/datasets/{repo}/tree/{rev}/{folder}"
        try:
            with _open(url, 30) as handle:
                entries = json.load(handle)
        except (error.URLError, TimeoutError, ConnectionError) as exc:
            raise Unreachable(url, getattr(exc, "reason", exc)) from exc
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"unexpected answer from {url} (not JSON); download manually from {HF}/datasets/{repo}"
            ) from exc
        for entry in entries:
            path = str(entry.get("path", ""))
            if entry.get("type") != "file" or (keep is not None and not keep(path)):
                continue
            lfs = entry.get("lfs") or {}
            out.append(
                RemoteFile(
                    url=f"{HF}/datasets/{repo}/resolve/{rev}/{parse.quote(path)}",
                    path=path,
                    sha256=lfs.get("oid") or lfs.get("sha256"),
                    size=entry.get("size"),
                )
            )
    return out


def _progress(name: str, done: int, total: int | None, stream: IO[str]) -> None:
    mib = done / 2**20
    if total:
        stream.write(f"\r  {name}: {mib:8.1f} / {total / 2**20:.1f} MiB ({100 * done / total:5.1f}%)")
    else:
        stream.write(f"\r  {name}: {mib:8.1f} MiB")
    stream.flush()


def download(
    url: str,
    dest: str | Path,
    sha256: str | None = None,
    *,
    page: str = "",
    progress: bool = True,
    timeout: float = 60.0,
) -> str:
    """Download ``url`` to ``dest`` atomically, verifying ``sha256`` when given.

    Parameters
    ----------
    url : str
        ``https://`` or ``file://`` URL.
    dest : path
        Final file; untouched unless the whole file arrived and verified.
    sha256 : str, optional
        Expected hex digest.
    page : str
        Where to download by hand, for the error message (defaults to ``url``).
    progress : bool
        Show a progress line on stderr.

    Returns
    -------
    str
        The sha256 of the downloaded file.

    Raises
    ------
    DatasetError
        Unreachable URL (offline), checksum mismatch, or a file that is not what its suffix says.
    """
    dest = Path(dest)
    digest = hashlib.sha256()

    def writer(tmp: Path) -> None:
        try:
            with _open(url, timeout) as handle, tmp.open("wb") as out:
                total = handle.headers.get("Content-Length") if hasattr(handle, "headers") else None
                total_n = int(total) if total and str(total).isdigit() else None
                done, last = 0, 0.0
                while chunk := handle.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress and time.monotonic() - last > 0.5:
                        _progress(dest.name, done, total_n, sys.stderr)
                        last = time.monotonic()
                if progress:
                    _progress(dest.name, done, total_n, sys.stderr)
                    sys.stderr.write("\n")
        except (error.URLError, TimeoutError, ConnectionError) as exc:
            raise _offline(url, getattr(exc, "reason", exc), page or url, dest.parent) from exc
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise DatasetError(
                f"checksum mismatch for {dest.name}: expected sha256 {sha256}, got {got}; the download is "
                f"corrupt or the file changed upstream: re-run, or download manually from {page or url}"
            )
        _check_magic(tmp, dest.name, page or url)

    write_atomic(dest, writer)
    return digest.hexdigest()


def _check_magic(path: Path, name: str, page: str) -> None:
    """Reject Git LFS pointers and files whose magic bytes do not match their suffix."""
    magic = _MAGIC.get(Path(name).suffix.lower())
    with path.open("rb") as handle:
        head = handle.read(64)
        if head.startswith(b"version https://git-lfs"):
            raise DatasetError(f"{name} arrived as a Git LFS pointer, not the data; download it manually from {page}")
        if magic is None:
            return
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - len(magic)))
        tail = handle.read()
    if not head.startswith(magic) or (magic == b"PAR1" and tail != magic):
        raise DatasetError(
            f"{name} is not a complete {Path(name).suffix[1:]} file (bad magic bytes); download it manually from {page}"
        )


def _record(dest: Path, sums: dict[str, str]) -> None:
    path = dest / SUMS
    known: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            digest, _, name = line.partition("  ")
            if name:
                known[name] = digest
    known.update(sums)
    text = "".join(f"{d}  {n}\n" for n, d in sorted(known.items()))
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# the plans
# ---------------------------------------------------------------------------------------------------------
QILIN_QRELS = RemoteFile(
    url="https://raw.githubusercontent.com/RED-Search/Qilin/main/datasets/search.test.qrels.csv",
    path="qrels/search.test.qrels.csv",
    sha256="2f59c0373c516bf3cf4dda9791f054f679bdd17e6914e6be05c1125c97a593f5",
)
CROSSRANK_URL = "https://github.com/zzs97str/SMAR/raw/main/CrossRank/{name}"
ULTR_REPO = "philipphager/baidu-ultr_uva-mlm-ctr"
#: Processed Baidu-ULTR files fetched by default: the annotations and one of the 40 click splits.
ULTR_DEFAULT_PARTS = ("parts/validation.feather", "parts/part-0_split-0.feather")


def _qilin_files() -> list[RemoteFile]:
    tables = ("search_train", "search_test", "dqa", "notes")
    return [*hf_files("THUIR/Qilin", tables, keep=lambda p: p.endswith(".parquet")), QILIN_QRELS]


def _crossrank_files() -> list[RemoteFile]:
    from smar_ltr.datasets.baidu import EXPECTED_FILES

    return [RemoteFile(url=CROSSRANK_URL.format(name=n), path=n) for n in EXPECTED_FILES]


def _ultr_files() -> list[RemoteFile]:
    return hf_files(ULTR_REPO, ("parts",), keep=lambda p: p in ULTR_DEFAULT_PARTS)


FETCH_PLANS: dict[str, FetchPlan] = {
    "qilin": FetchPlan(
        page=f"{HF}/datasets/THUIR/Qilin (qrels: https://github.com/RED-Search/Qilin/tree/main/datasets)",
        files=_qilin_files,
        licence="Apache-2.0",
    ),
    "baidu": FetchPlan(
        page="https://github.com/zzs97str/SMAR/tree/main/CrossRank",
        files=_crossrank_files,
        licence="CC BY-NC 4.0, research use only, and Baidu's terms of use (CrossRank/ReadME_en.md)",
        needs_acceptance=(
            "CrossRank is released under CC BY-NC 4.0 for non-commercial research only, and downloading it "
            "means accepting Baidu's terms of use "
            "(https://github.com/zzs97str/SMAR/blob/main/CrossRank/ReadME_en.md)"
        ),
    ),
    "baidu-ultr": FetchPlan(
        page=f"{HF}/datasets/{ULTR_REPO} (raw logs: https://github.com/ChuXiaokai/baidu_ultr_dataset)",
        files=_ultr_files,
        licence="CC BY-NC 4.0 (processed copy); the raw logs need Baidu-ULTR's terms and a manual download",
    ),
}


def fetch(
    name: str, dest: str | Path | None = None, *, accept_licence: bool = False, progress: bool = True
) -> list[Path]:
    """Download dataset ``name`` into ``dest`` (default ``$SMAR_LTR_DATA/<name>``).

    Parameters
    ----------
    name : str
        Registered dataset with a fetch plan (``qilin``, ``baidu``, ``baidu-ultr``).
    dest : path, optional
        Target directory.
    accept_licence : bool
        Required for datasets whose terms must be accepted (CrossRank).
    progress : bool
        Progress lines on stderr.

    Returns
    -------
    list of Path
        Files now present (downloaded or already there with a matching checksum).

    Raises
    ------
    DatasetError
        Unknown source, a manual step needed (licence), offline, or a checksum mismatch.
    """
    spec = get_dataset(name)
    plan = FETCH_PLANS.get(name)
    target = Path(dest) if dest is not None else spec.default_dir()
    if plan is None:
        raise DatasetError(
            f"dataset {name!r} has no download source ({spec.source or 'generated or local data'}); nothing to fetch"
        )
    if plan.manual:
        raise DatasetError(f"{name} needs a manual download: {plan.manual}; put the files into {str(target)!r}")
    if plan.needs_acceptance and not accept_licence:
        raise DatasetError(
            f"{plan.needs_acceptance}; read the terms and re-run with --accept-licence, or download the "
            f"files manually from {plan.page} into {str(target)!r}"
        )
    try:
        files = plan.files()
    except Unreachable as exc:
        raise _offline(exc.url, exc.reason, plan.page, target) from None
    if plan.licence and progress:
        sys.stderr.write(f"{name}: licence {plan.licence}\n")
    out: list[Path] = []
    sums: dict[str, str] = {}
    for item in files:
        path = target / item.path
        if path.is_file() and item.sha256 and _file_sha256(path) == item.sha256:
            out.append(path)
            continue
        sums[item.path] = download(item.url, path, item.sha256, page=plan.page, progress=progress)
        out.append(path)
    if sums:
        _record(target, sums)
    return out


def fetch_sources() -> dict[str, dict[str, Any]]:
    """What ``fetch`` can do per dataset (for listings): page, licence and whether acceptance is needed."""
    return {
        name: {
            "page": p.page,
            "licence": p.licence,
            "needs_acceptance": bool(p.needs_acceptance),
            "manual": bool(p.manual),
        }
        for name, p in FETCH_PLANS.items()
    }
