"""Chunked parallel scoring (``smar_ltr.serving.chunked_scoring``) gives the one-pass scores bit for bit."""

from __future__ import annotations

import threading
from itertools import pairwise

import numba
import numpy as np
import pandas as pd
import pytest
from conftest import fast_config

import smar_ltr.serving.chunked_scoring as ps
from smar_ltr.pipeline import fit
from smar_ltr.serving.ranking import rerank


def _qid(sizes: list[int]) -> pd.Series:
    return pd.Series(np.repeat([f"q{i}" for i in range(len(sizes))], sizes), dtype="str")


@pytest.mark.parametrize(
    ("sizes", "n_chunks"), [([5] * 20, 2), ([5] * 20, 3), ([1, 90, 1, 1, 7], 2), ([3, 3], 4), ([100], 2)]
)
def test_chunks_cover_the_rows_in_order_and_never_split_a_query(sizes: list[int], n_chunks: int) -> None:
    qid = _qid(sizes)
    chunks = ps.query_chunks(qid, n_chunks)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(qid)
    assert all(a < b for a, b in chunks) and all(b == c for (_, b), (c, _) in pairwise(chunks))
    assert len(chunks) <= min(n_chunks, len(sizes))
    for a, _ in chunks[1:]:
        assert qid.iloc[a] != qid.iloc[a - 1]  # a chunk starts where a query starts
    if sizes == [5] * 20:
        assert len(chunks) == n_chunks and max(b - a for a, b in chunks) - min(b - a for a, b in chunks) <= 5


def test_small_tables_and_one_worker_are_scored_in_one_pass() -> None:
    frame = pd.DataFrame({"qid": _qid([50] * 10)})
    calls: list[int] = []

    def score(chunk: pd.DataFrame) -> np.ndarray:
        calls.append(len(chunk))
        return np.zeros(len(chunk))

    assert ps.score_in_chunks(frame, score, workers=2) is None  # below 2 * MIN_CHUNK_ROWS
    assert ps.score_in_chunks(frame, score, workers=1) is None
    assert calls == []


def test_chunks_run_on_their_own_threads_with_one_kernel_thread(monkeypatch) -> None:
    monkeypatch.setattr(ps, "MIN_CHUNK_ROWS", 100)
    frame = pd.DataFrame({"qid": _qid([50] * 10), "x": np.arange(500.0)})
    seen: list[tuple[str, int]] = []

    def score(chunk: pd.DataFrame) -> np.ndarray:
        seen.append((threading.current_thread().name, numba.get_num_threads()))
        return chunk["x"].to_numpy() * 2

    before = numba.get_num_threads()
    out = ps.score_in_chunks(frame, score, workers=2)
    assert out is not None
    np.testing.assert_array_equal(out, np.arange(500.0) * 2)  # chunk results in row order
    assert len(seen) == 2 and all(name.startswith("smar-score") and n == 1 for name, n in seen)
    assert numba.get_num_threads() == before


def test_an_error_in_a_chunk_reaches_the_caller(monkeypatch) -> None:
    monkeypatch.setattr(ps, "MIN_CHUNK_ROWS", 100)
    frame = pd.DataFrame({"qid": _qid([50] * 10)})

    def score(chunk: pd.DataFrame) -> np.ndarray:
        raise ValueError(f"bad chunk of {len(chunk)} rows")

    with pytest.raises(ValueError, match="bad chunk of 250 rows"):
        ps.score_in_chunks(frame, score, workers=2)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_rerank_in_chunks_gives_the_one_pass_scores(backend: str, small_splits, monkeypatch) -> None:
    config = fast_config(reranker={"backend": backend})
    model, _ = fit(config, small_splits)
    pages = small_splits.test
    one_pass = rerank(model, pages)  # 365 rows: below any chunking threshold
    monkeypatch.setattr(ps, "MIN_CHUNK_ROWS", 60)
    monkeypatch.setattr(ps, "concurrent_kernels_safe", lambda: True)
    scored: list[int] = []
    real = ps.kernel_threads

    def counting(n: int):
        scored.append(n)
        return real(n)

    monkeypatch.setattr(ps, "kernel_threads", counting)
    before = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        chunked = rerank(model, pages)
    finally:
        numba.set_num_threads(before)
    if numba.config.NUMBA_NUM_THREADS >= 2:
        assert scored == [1, 1]  # the chunked route really ran: two chunks, one kernel thread each
    np.testing.assert_array_equal(chunked["score"].to_numpy(), one_pass["score"].to_numpy())
    np.testing.assert_array_equal(chunked["rank"].to_numpy(), one_pass["rank"].to_numpy())


def test_only_thread_safe_layers_allow_concurrent_kernels(monkeypatch) -> None:
    for layer, safe in (("omp", True), ("tbb", True), ("workqueue", False)):
        monkeypatch.setattr(numba, "threading_layer", lambda layer=layer: layer)
        assert ps.concurrent_kernels_safe() is safe
