"""Scoring a large page table in query-aligned chunks, one chunk per thread, every stage single-threaded.

Scoring is features (pandas and arrow work that holds the GIL part of the time, then compiled kernels that
release it) followed by the reranker's predict (native code, GIL released). Run as one pass with two threads
per stage, a core idles while the GIL-bound parts run and every parallel kernel and predict call waits at its
barriers. Split at query boundaries instead, each thread featurises and scores its own chunk with one kernel
thread and one booster thread, and the stages of different chunks overlap.

The scores are the same bit for bit: every feature is computed per row or per page (chunks never split a page)
with the training statistics, and a booster scores each row on its own. The tests compare both routes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numba
import numpy as np
import pandas as pd

from smar_ltr.core.numba_kernels import kernel_threads
from smar_ltr.page_table.query_groups import block_starts

#: Tables with fewer rows than twice this are scored in one pass (a chunk's fixed costs outweigh the overlap).
MIN_CHUNK_ROWS = 20_000


@numba.njit(parallel=True, cache=False)
def _touch(x: np.ndarray) -> float:  # pragma: no cover - compiled
    total = 0.0
    for i in numba.prange(x.shape[0]):
        total += x[i]
    return total


def concurrent_kernels_safe() -> bool:
    """True when numba's threading layer allows parallel kernels to be launched from several threads at once.

    The OpenMP and TBB layers do; the fallback ``workqueue`` layer aborts the process on concurrent launches.
    """
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel function has run yet in this process: run one, then ask
        _touch(np.zeros(1))
        layer = numba.threading_layer()
    return layer in ("omp", "tbb")


def query_chunks(qid: pd.Series, n_chunks: int) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of about equal size that never split a query (rows of a query contiguous)."""
    n = len(qid)
    codes = pd.factorize(qid)[0]
    starts = block_starts(codes)
    targets = (np.arange(1, n_chunks) * n) // n_chunks
    cuts = np.unique(starts[np.minimum(np.searchsorted(starts, targets), len(starts) - 1)])
    edges = [0, *[int(c) for c in cuts if 0 < c < n], n]
    return list(pairwise(edges))


def score_in_chunks(
    frame: pd.DataFrame, score_chunk: Callable[[pd.DataFrame], np.ndarray], workers: int | None = None
) -> np.ndarray | None:
    """Scores of ``frame`` computed chunk by chunk on ``workers`` threads, or None when one pass is better.

    Parameters
    ----------
    frame : DataFrame
        A validated page table (rows of a query contiguous).
    score_chunk : callable
        Scores of a chunk (a slice of ``frame``), computed with one kernel thread and one booster thread.
    workers : int, optional
        Threads to use; default: the kernels' thread count of the calling thread.

    Returns
    -------
    ndarray or None
        Scores in row order; None when the table is too small, one worker is asked for, or the threading layer
        cannot run kernels from several threads (the caller then scores in one pass).
    """
    workers = numba.get_num_threads() if workers is None else workers
    if workers < 2 or len(frame) < 2 * MIN_CHUNK_ROWS or not concurrent_kernels_safe():
        return None
    chunks = query_chunks(frame["qid"], min(workers, len(frame) // MIN_CHUNK_ROWS))
    if len(chunks) < 2:  # one query fills the table
        return None

    def run(bounds: tuple[int, int]) -> np.ndarray:
        with kernel_threads(1):
            return score_chunk(frame.iloc[bounds[0] : bounds[1]])

    with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="smar-score") as pool:
        return np.concatenate(list(pool.map(run, chunks)))
