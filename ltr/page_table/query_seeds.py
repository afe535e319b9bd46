"""Per-query random streams: sampling that depends only on the run seed, the query and the row's place in it.

The pair builders (:mod:`smar_ltr.supervision.pairs`) and the ``random`` budget strategy draw their random numbers from
streams keyed by ``(seed, qid, position of the row within its query)`` instead of one generator walked over
the whole table. A query's draws therefore do not depend on which other queries share the table, nor on their
order, so a table split into partitions of whole queries (the Dask engine) yields exactly the pairs and
annotations of the whole table on one machine.

Keys are mixed with SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
OOPSLA 2014); the query id is hashed with pandas' stable ``hash_pandas_object`` of its string form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser of every value (uint64 in, uint64 out, wrapping arithmetic)."""
    z = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def query_hashes(qid: pd.Series | np.ndarray) -> np.ndarray:
    """Stable uint64 hash of each row's query id (its string form; same on every machine and run)."""
    values = pd.Series(np.asarray(qid, dtype=object)).astype(str)
    return pd.util.hash_pandas_object(values, index=False).to_numpy(dtype=np.uint64)


def position_in_query(qid: pd.Series | np.ndarray) -> np.ndarray:
    """0-based position of each row among the rows of its query, in table order."""
    codes, _ = pd.factorize(pd.Series(np.asarray(qid, dtype=object)), sort=False)
    return pd.Series(codes).groupby(codes).cumcount().to_numpy(dtype=np.int64)


def row_streams(seed: int, qid: pd.Series | np.ndarray) -> np.ndarray:
    """One uint64 stream key per row from ``(seed, qid, position in query)``."""
    base = splitmix64(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
    keyed = splitmix64(query_hashes(qid) ^ base)
    return splitmix64(keyed ^ position_in_query(qid).astype(np.uint64))


def stream_uniform(streams: np.ndarray, counter: int) -> np.ndarray:
    """The ``counter``-th uniform draw in ``[0, 1)`` of each stream (53-bit resolution)."""
    with np.errstate(over="ignore"):
        bits = splitmix64(np.asarray(streams, dtype=np.uint64) ^ splitmix64(np.array([counter], dtype=np.uint64)))
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def stream_integers(streams: np.ndarray, counter: int, high: np.ndarray) -> np.ndarray:
    """The ``counter``-th draw of each stream as an integer in ``[0, high)`` (``high >= 1`` per stream)."""
    high = np.asarray(high, dtype=np.int64)
    return np.minimum((stream_uniform(streams, counter) * high).astype(np.int64), high - 1)
