"""Read LETOR / SVMlight ranking files and register the ``letor`` dataset (``datasets.md`` section 5).

Two line formats are accepted::

    label qid:Q 1:v 2:v ... # optional comment
    label 1:v 2:v ...                      (query boundaries in a side file ``<file>.query``)

A side file holds one integer per line: the number of consecutive rows of the next query (LightGBM's
convention). :func:`read_svmlight` returns one row per line with

* ``qid`` (str): the ``qid:`` value as written, or the 0-based query number when groups come from a side file;
* ``item_id`` (str): the row's index within its query, ``"0"``, ``"1"``, ...;
* ``label`` (int64): the graded relevance;
* ``f<k>`` (float32): feature id ``k`` exactly as written in the file, so 1-based files (the LETOR convention)
  give ``f1 .. fn``; a file that uses id 0 also gets ``f0``. Absent (sparse) entries are 0.

Parsing uses scikit-learn's compiled SVMlight reader; when it rejects a file, the file is scanned again line
by line so the :class:`~smar_ltr.errors.DatasetError` names the file, the line number and its content.
:func:`load_letor_dir` reads a fold directory (MSLR ``train.txt`` / ``vali.txt`` / ``test.txt``, LightGBM
``rank.train`` / ``rank.test`` with ``.query`` files, or Yahoo ``set1.*.txt``). The ``letor`` dataset turns
such a directory into a semi-synthetic whole-page task (:mod:`smar_ltr.datasets.semisynthetic`).
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

from smar_ltr.core.coercion import replace_with_options
from smar_ltr.datasets.registry import DATA_ENV, DatasetSpec, register_dataset
from smar_ltr.datasets.semisynthetic import SemiSyntheticConfig, build_semisynthetic
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.splits import PageSplits

#: Bytes per call of scikit-learn's reader (see :func:`_load_chunked`).
CHUNK_BYTES = 1 << 20
#: Column bound given to scikit-learn when the caller does not know ``n_features`` (trimmed afterwards).
_UNBOUNDED = 1 << 30
#: Largest feature id accepted without an explicit ``n_features`` (LETOR sets use at most a few thousand; a
#: larger id is almost always a typo, and the dense frame would need rows x id x 4 bytes).
MAX_FEATURE_ID = 100_000
#: UTF-8 byte-order mark some editors put at the start of a file; skipped.
BOM = b"\xef\xbb\xbf"
#: File names tried for each split, in order (the first that exists is used).
ROLE_FILES: dict[str, tuple[str, ...]] = {
    "train": ("train.txt", "rank.train", "set1.train.txt"),
    "valid": ("vali.txt", "valid.txt", "rank.vali", "rank.valid", "set1.valid.txt"),
    "test": ("test.txt", "rank.test", "set1.test.txt"),
}


def _short(line: bytes) -> str:
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    return text if len(text) <= 120 else text[:117] + "..."


def _data_lines(path: Path):
    """Yield ``(line_number, raw_line, tokens)`` of the non-empty, non-comment lines."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM) :]
            tokens = raw.split(b"#", 1)[0].split()
            if tokens:
                yield number, raw, tokens


def _line_problem(tokens: list[bytes], n_features: int | None) -> str | None:
    """Why one SVMlight line is malformed, or None."""
    try:
        float(tokens[0])
    except ValueError:
        return f"label {tokens[0].decode(errors='replace')!r} is not a number"
    rest = tokens[1:]
    if rest and rest[0].startswith(b"qid:"):
        try:
            int(rest[0][4:])
        except ValueError:
            return f"{rest[0].decode(errors='replace')!r} is not qid:<integer>"
        rest = rest[1:]
    last = -1
    for tok in rest:
        key, sep, value = tok.partition(b":")
        shown = tok.decode(errors="replace")
        try:
            index = int(key)
            float(value)
        except ValueError:
            return f"token {shown!r} is not <feature id>:<number>"
        if not sep or index < 0:
            return f"token {shown!r} is not <feature id>:<number>"
        if index <= last:
            return f"feature ids must increase along a line, {shown!r} follows id {last}"
        if n_features is not None and index > n_features:
            return f"feature id {index} is larger than n_features={n_features}"
        if n_features is None and index > MAX_FEATURE_ID:
            return (
                f"feature id {index} is larger than {MAX_FEATURE_ID:,}; fix the id, or pass n_features when the "
                "set really is that wide"
            )
        last = index
    return None


def _diagnose(path: Path, n_features: int | None, exc: Exception) -> DatasetError:
    for number, raw, tokens in _data_lines(path):
        problem = _line_problem(tokens, n_features)
        if problem is not None:
            return DatasetError(f"{path}: line {number} is malformed ({problem}): {_short(raw)!r}")
    return DatasetError(f"{path}: not a readable SVMlight/LETOR file ({exc}); expected 'label qid:Q 1:v 2:v ...'")


def _read_groups(query_file: Path, n_rows: int, data_file: Path) -> np.ndarray:
    sizes: list[int] = []
    with query_file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                size = int(text)
            except ValueError:
                size = -1
            if size < 1:
                raise DatasetError(f"{query_file}: line {number} must be a positive group size, found {_short(raw)!r}")
            sizes.append(size)
    total = int(np.sum(sizes))
    if total != n_rows:
        raise DatasetError(
            f"{query_file}: group sizes sum to {total} but {data_file} has {n_rows} rows; "
            "the .query file must list the row count of every query, in file order"
        )
    return np.repeat(np.arange(len(sizes)), sizes)


def _load_chunked(path: Path, width: int | None) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """scikit-learn's reader over byte ranges of :data:`CHUNK_BYTES`.

    Its ``query_id`` parsing grows the qid array with ``np.append`` per line (quadratic in the rows of one
    call); byte-range chunks (``offset`` / ``length``, split at line boundaries) keep it linear.
    """
    size = path.stat().st_size
    bound = width if width is not None else _UNBOUNDED
    with path.open("rb") as handle:
        first_line = handle.readline()
    parts = []
    for offset in range(0, max(size, 1), CHUNK_BYTES):
        length = CHUNK_BYTES
        if offset == 0 and first_line.startswith(BOM):
            # scikit-learn cannot skip a byte-order mark: parse line 1 without it, then start at byte 1 (a
            # non-zero offset discards the rest of its line), ending where the first chunk would have ended
            parts.append(_parse(io.BytesIO(first_line[len(BOM) :]), bound))
            offset, length = 1, CHUNK_BYTES - 1
        parts.append(_parse(str(path), bound, offset, length))
    n_cols = width if width is not None else max(int(p[0].indices.max(initial=-1)) + 1 for p in parts)
    X = sp.vstack([p[0][:, :n_cols] for p in parts], format="csr")
    y = np.concatenate([p[1] for p in parts])
    qid = np.concatenate([p[2] for p in parts])
    if qid.size not in (0, X.shape[0]):
        raise DatasetError(f"{path}: some lines have a 'qid:' field and others do not; give every line one")
    return X, y, qid


def _parse(source: Any, bound: int, offset: int = 0, length: int = -1) -> tuple[Any, np.ndarray, np.ndarray]:
    return load_svmlight_file(
        source, n_features=bound, zero_based=True, query_id=True, dtype=np.float32, offset=offset, length=length
    )


def _check_width(path: Path, X: sp.csr_matrix, n_features: int | None) -> None:
    """Refuse a feature id past :data:`MAX_FEATURE_ID` (before a dense frame of that width is allocated)."""
    if n_features is not None or X.shape[1] <= MAX_FEATURE_ID + 1:
        return
    for number, raw, tokens in _data_lines(path):
        problem = _line_problem(tokens, None)
        if problem is not None:
            raise DatasetError(f"{path}: line {number} is malformed ({problem}): {_short(raw)!r}")


def _check_contiguous(path: Path, qid: np.ndarray) -> None:
    """Refuse a qid whose lines are split into separate blocks (LETOR and LightGBM read a query as one block)."""
    if qid.size < 2:
        return
    starts = np.flatnonzero(np.concatenate([[True], qid[1:] != qid[:-1]]))
    run_qids = qid[starts]
    if np.unique(run_qids).size == run_qids.size:
        return
    seen: set[int] = set()
    for k, q in enumerate(run_qids.tolist()):
        if q in seen:
            row = int(starts[k])
            number, raw, _ = next(item for i, item in enumerate(_data_lines(path)) if i == row)
            raise DatasetError(
                f"{path}: qid {q} reappears on line {number} after other queries ({_short(raw)!r}); a query's lines "
                "must be contiguous: sort the file by qid (stable, e.g. sort -s -t' ' -k2,2) or give that block "
                "its own qid"
            )
        seen.add(q)


def _has_qid(path: Path) -> bool:
    for _, _, tokens in _data_lines(path):
        return len(tokens) > 1 and tokens[1].startswith(b"qid:")
    return False


def read_svmlight(
    path: str | Path, query_file: str | Path | None = None, n_features: int | None = None
) -> pd.DataFrame:
    """Read one SVMlight / LETOR file into a dense frame.

    Parameters
    ----------
    path : path
        The data file.
    query_file : path, optional
        Group sizes (one per line). When omitted: the ``qid:`` fields, else ``<path>.query`` if it exists.
    n_features : int, optional
        Largest feature id (e.g. 300 for the Yahoo sample, 136 for MSLR); default: the largest id in the file.

    Returns
    -------
    DataFrame of shape (n_rows, 3 + n_features)
        ``qid``, ``item_id``, ``label`` and ``f<k>`` float32 columns (see the module docstring).

    Raises
    ------
    DatasetError
        Missing file, malformed line (file, line number and content), labels that are not non-negative
        integers, no query information, or group sizes that do not add up to the row count.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"SVMlight file {path} does not exist; pass the path of a LETOR data file")
    try:
        X, y, qid = _load_chunked(path, None if n_features is None else int(n_features) + 1)
    except DatasetError:
        raise
    except Exception as exc:  # sklearn raises ValueError / IndexError without the line: find it
        raise _diagnose(path, n_features, exc) from exc
    if X.shape[0] == 0:
        raise DatasetError(f"{path} has no data rows; expected lines like 'label qid:Q 1:v 2:v ...'")
    _check_width(path, X, n_features)
    bad = np.flatnonzero((y < 0) | (y != np.round(y)))
    if bad.size:
        number, raw, _ = next(item for k, item in enumerate(_data_lines(path)) if k == bad[0])
        raise DatasetError(
            f"{path}: line {number} has label {y[bad[0]]:g}; ranking labels must be non-negative integers: "
            f"{_short(raw)!r}"
        )
    if query_file is None and not _has_qid(path) and Path(f"{path}.query").is_file():
        query_file = Path(f"{path}.query")
    if query_file is not None:
        codes = _read_groups(Path(query_file), X.shape[0], path)
        qid_str = pd.Series(codes).astype("str")
    elif _has_qid(path):
        _check_contiguous(path, qid)
        codes = qid
        qid_str = pd.Series(qid).astype("str")
    else:
        raise DatasetError(
            f"{path} has no 'qid:' fields and there is no group file {path}.query; add qid:<n> to every line "
            "or write the query sizes to that file"
        )
    keep_zero = X.shape[1] > 0 and bool((X.indices == 0).any())
    dense = X.toarray() if keep_zero else X[:, 1:].toarray()
    if keep_zero and n_features is not None:
        dense = dense[:, : int(n_features)]
    first = 0 if keep_zero else 1
    features = pd.DataFrame(dense, columns=[f"f{k}" for k in range(first, first + dense.shape[1])], copy=False)
    keys = pd.DataFrame(
        {
            "qid": qid_str,
            "item_id": pd.Series(codes).groupby(codes).cumcount().astype("str"),
            "label": y.astype(np.int64),
        }
    )
    return pd.concat([keys, features], axis=1)


def _feature_ids(frame: pd.DataFrame) -> list[int]:
    return [int(c[1:]) for c in frame.columns if c.startswith("f") and c[1:].isdigit()]


def load_letor_dir(data_dir: str | Path, n_features: int | None = None) -> dict[str, pd.DataFrame]:
    """Read the splits of a LETOR directory.

    Parameters
    ----------
    data_dir : path
        A fold directory: MSLR ``train.txt`` [``vali.txt``] [``test.txt``], LightGBM ``rank.train`` /
        ``rank.test`` (with ``.query`` group files) or Yahoo ``set1.train.txt`` ...; see :data:`ROLE_FILES`.
    n_features : int, optional
        Largest feature id; default: the largest id over all files (every split gets the same columns).

    Returns
    -------
    dict of str to DataFrame
        ``"train"`` always, ``"valid"`` / ``"test"`` when their files exist; frames as :func:`read_svmlight`.
    """
    root = Path(data_dir)
    expected = "; ".join(f"{role}: {' or '.join(names)}" for role, names in ROLE_FILES.items())
    if not root.is_dir():
        raise DatasetError(f"LETOR directory {root} does not exist; it must hold ({expected})")
    found = {role: next((root / n for n in names if (root / n).is_file()), None) for role, names in ROLE_FILES.items()}
    if found["train"] is None:
        fold = sorted(root.glob("Fold*"))
        hint = f"; this looks like an archive root, pass a fold directory such as {fold[0]}" if fold else ""
        raise DatasetError(f"LETOR directory {root} has no training file; expected ({expected}){hint}")
    frames = {role: read_svmlight(p, n_features=n_features) for role, p in found.items() if p is not None}
    # every split gets the same columns: ids from the lowest used anywhere (0 or 1) to the widest, absent = 0
    ids = [k for f in frames.values() for k in _feature_ids(f)]
    wanted = [f"f{k}" for k in range(min(ids, default=1), max(ids, default=0) + 1)]
    for role, frame in frames.items():
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            extra = pd.DataFrame(np.zeros((len(frame), len(missing)), dtype=np.float32), columns=missing)
            frames[role] = pd.concat([frame, extra], axis=1)[[*frame.columns[:3], *wanted]]
    return frames


@dataclasses.dataclass(frozen=True)
class _LetorSpec(DatasetSpec):
    """The ``letor`` spec: present when a directory matches any of the :data:`ROLE_FILES` conventions."""

    def is_present(self, data_dir: str | Path | None = None) -> bool:
        d = Path(data_dir) if data_dir is not None else self.default_dir()
        return any((d / name).is_file() for name in ROLE_FILES["train"])


def load_letor(data_dir: str | Path | None, seed: int = 0, **options: Any) -> PageSplits:
    """Registry loader: read a LETOR directory and build the semi-synthetic whole-page task.

    ``options``: ``n_features`` plus any :class:`~smar_ltr.datasets.semisynthetic.SemiSyntheticConfig` field.
    """
    if data_dir is None:
        raise DatasetError(
            "dataset 'letor' needs a data directory holding train.txt [vali.txt] test.txt (MSLR) or "
            f"rank.train[.query] rank.test[.query] (LightGBM); pass --data-dir or set ${DATA_ENV}"
        )
    n_features = options.pop("n_features", None)
    config = replace_with_options(SemiSyntheticConfig(seed=int(seed)), options, "letor")
    frames = load_letor_dir(data_dir, n_features=None if n_features is None else int(n_features))
    return build_semisynthetic(frames, config, source=str(data_dir))


register_dataset(
    _LetorSpec(
        name="letor",
        description="Semi-synthetic whole pages from a LETOR / SVMlight directory (MSLR, Yahoo, Istella)",
        loader=load_letor,
        licence="that of the LETOR data you point it at (MSLR: research use; Yahoo Webscope: research use)",
        citation="Qin & Liu, Introducing LETOR 4.0 Datasets, arXiv 1306.2597 (2013); Chapelle & Chang, "
        "Yahoo! Learning to Rank Challenge Overview, JMLR W&CP 14 (2011)",
        source="a local LETOR fold directory",
        expected_files=ROLE_FILES["train"][:1],
        options={"n_features": None, **dataclasses.asdict(SemiSyntheticConfig())},
    )
)
