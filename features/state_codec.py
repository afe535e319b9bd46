"""Compact, JSON-safe encodings of the arrays features learn (no pickle).

A fitted text feature keeps one document-frequency count per hash bucket (2**18 buckets by default). Most
buckets are empty on typical training data, so counts are stored sparsely (bucket index deltas + counts) when
that is smaller, then zlib-compressed and base64-encoded. On real data a field's state is a few hundred KB
at most; on the synthetic corpus it is a few KB.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

from smar_ltr.errors import ArtifactError


def encode_array(values: np.ndarray) -> dict[str, Any]:
    """A 1-d numeric array as ``{"dtype", "size", "zlib_b64"}``."""
    arr = np.ascontiguousarray(values)
    return {
        "dtype": arr.dtype.str,
        "size": int(arr.size),
        "zlib_b64": base64.b64encode(zlib.compress(arr.tobytes(), 6)).decode("ascii"),
    }


def decode_array(payload: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_array`."""
    try:
        raw = zlib.decompress(base64.b64decode(payload["zlib_b64"]))
        arr = np.frombuffer(raw, dtype=np.dtype(payload["dtype"])).copy()
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise ArtifactError(f"saved feature state holds a corrupt array ({type(exc).__name__}: {exc})") from None
    if arr.size != int(payload["size"]):
        raise ArtifactError(f"saved feature state array has {arr.size} values, expected {payload['size']}")
    return arr


def encode_counts(counts: np.ndarray) -> dict[str, Any]:
    """Non-negative integer counts per bucket, sparse when fewer than half the buckets are used."""
    counts = np.asarray(counts)
    nz = np.flatnonzero(counts)
    if 2 * len(nz) < len(counts):
        deltas = np.diff(np.concatenate([[0], nz])).astype(np.uint32)
        return {
            "layout": "sparse",
            "length": len(counts),
            "index_deltas": encode_array(deltas),
            "counts": encode_array(counts[nz].astype(np.uint32)),
        }
    return {"layout": "dense", "length": len(counts), "counts": encode_array(counts.astype(np.uint32))}


def decode_counts(payload: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_counts`, as float64."""
    length = int(payload["length"])
    if payload.get("layout") == "sparse":
        idx = np.cumsum(decode_array(payload["index_deltas"]).astype(np.int64))
        out = np.zeros(length, dtype=np.float64)
        if len(idx) and (idx[-1] >= length or idx[0] < 0):
            raise ArtifactError(f"saved feature state has a bucket index beyond its length {length}")
        out[idx] = decode_array(payload["counts"])
        return out
    out = decode_array(payload["counts"]).astype(np.float64)
    if len(out) != length:
        raise ArtifactError(f"saved feature state has {len(out)} counts, expected {length}")
    return out
