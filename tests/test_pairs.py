"""Pair builders (method.md 2.4 ii and iv): structure, reference sets, weights, sampling and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.page_table.query_seeds import row_streams
from smar_ltr.supervision.pairs import (
    PAIR_COLUMNS,
    PAIR_KINDS,
    _choose,
    concat_pairs,
    cross_modal_pairs,
    empty_pairs,
    intra_modal_pairs,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def page_tables(draw, max_queries: int = 4, max_rows: int = 14) -> pd.DataFrame:
    """Random page tables: several queries, 1-3 modalities, scores with many ties, labels with NaN."""
    parts = []
    for q in range(draw(st.integers(1, max_queries))):
        n = draw(st.integers(1, max_rows))
        parts.append(
            pd.DataFrame(
                {
                    "qid": f"q{q}",
                    "item_id": [f"d{i}" for i in range(n)],
                    "modality": draw(st.lists(st.sampled_from(["web", "image", "video"]), min_size=n, max_size=n)),
                    "upstream_score": draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)),
                    "y": draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, np.nan]), min_size=n, max_size=n)),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["upstream_score"] = out["upstream_score"].astype(float) / 2.0
    return out


def _sorted_lists(frame: pd.DataFrame) -> dict[tuple[str, str], list[int]]:
    """Reference: row positions of each (qid, modality) list sorted by score desc, ties by row."""
    out: dict[tuple[str, str], list[int]] = {}
    for (q, m), rows in frame.groupby(["qid", "modality"], sort=False).groups.items():
        out[(q, m)] = sorted(rows, key=lambda r: (-frame["upstream_score"].iloc[r], r))
    return out


def _reference_intra(frame: pd.DataFrame, scheme: str, k: int, gap: float = 0.0) -> set[tuple[int, int]]:
    score = frame["upstream_score"].to_numpy()
    pairs = set()
    for rows in _sorted_lists(frame).values():
        for a in rows:
            below = [b for b in rows if score[a] > score[b] + gap]  # already in score order
            for b in below if scheme == "all" else below[:k]:
                pairs.add((a, b))
    return pairs


def _as_set(pairs: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(pairs["winner"].tolist(), pairs["loser"].tolist(), strict=True))


def _check_structure(frame: pd.DataFrame, pairs: pd.DataFrame, kind: str) -> None:
    assert list(pairs.columns) == list(PAIR_COLUMNS)
    assert pairs["winner"].dtype == np.int64 and pairs["loser"].dtype == np.int64
    assert pairs["weight"].dtype == np.float64
    assert list(pairs["kind"].cat.categories) == list(PAIR_KINDS)
    assert (pairs["kind"] == kind).all()
    w, lo = pairs["winner"].to_numpy(), pairs["loser"].to_numpy()
    qid = frame["qid"].astype(str).to_numpy()
    assert (qid[w] == qid[lo]).all() and (pairs["qid"].to_numpy() == qid[w]).all()  # never across queries
    assert (w != lo).all()  # no self-pairs
    as_set = _as_set(pairs)
    assert len(as_set) == len(pairs)  # no duplicates
    assert not any((b, a) in as_set for a, b in as_set)  # never both directions
    assert (pairs["weight"] > 0).all()


@SETTINGS
@given(page_tables(), st.sampled_from(["neighbors", "sample", "all"]), st.integers(1, 5))
def test_intra_pairs_properties(frame: pd.DataFrame, scheme: str, k: int) -> None:
    pairs = intra_modal_pairs(frame, scheme=scheme, max_pairs_per_item=k, seed=3)
    _check_structure(frame, pairs, "intra")
    w, lo = pairs["winner"].to_numpy(), pairs["loser"].to_numpy()
    mod = frame["modality"].astype(str).to_numpy()
    score = frame["upstream_score"].to_numpy()
    assert (mod[w] == mod[lo]).all()  # never across modalities
    assert (score[w] > score[lo]).all()  # winner strictly higher, ties skipped
    sums = pairs.assign(m=mod[w]).groupby(["qid", "m"])["weight"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)  # each list contributes beta_m = 1
    reference = _reference_intra(frame, "all", k)
    assert _as_set(pairs) <= reference
    if scheme == "all":
        assert _as_set(pairs) == reference
    else:
        assert len(pairs) <= k * len(frame)  # linear in list length
        per_winner = pairs.groupby("winner").size()
        lower = {a: sum(1 for x, _ in reference if x == a) for a in range(len(frame))}
        assert all(per_winner.get(a, 0) == min(k, lower[a]) for a in lower)
    if scheme == "neighbors":
        assert _as_set(pairs) == _reference_intra(frame, "neighbors", k)


@SETTINGS
@given(page_tables(), st.sampled_from([0.4, 1.0]))
def test_min_gap_keeps_only_clear_preferences(frame: pd.DataFrame, gap: float) -> None:
    pairs = intra_modal_pairs(frame, scheme="all", min_gap=gap)
    assert _as_set(pairs) == _reference_intra(frame, "all", 0, gap)
    neighbors = intra_modal_pairs(frame, scheme="neighbors", min_gap=gap, max_pairs_per_item=2)
    assert _as_set(neighbors) == _reference_intra(frame, "neighbors", 2, gap)


def test_beta_weights_per_modality_and_unnormalised() -> None:
    frame = pd.DataFrame(
        {
            "qid": ["a"] * 6,
            "item_id": list("123456"),
            "modality": ["web", "web", "web", "image", "image", "image"],
            "upstream_score": [3.0, 2.0, 1.0, 9.0, 8.0, 7.0],
        }
    )
    pairs = intra_modal_pairs(frame, beta={"web": 2.0, "image": 0.5}, scheme="all")
    mod = frame["modality"].to_numpy()[pairs["winner"]]
    assert pairs.groupby(mod)["weight"].sum().to_dict() == pytest.approx({"web": 2.0, "image": 0.5})
    raw = intra_modal_pairs(frame, beta={"web": 2.0, "image": 0.5}, scheme="all", normalize=False)
    mod = frame["modality"].to_numpy()[raw["winner"]]
    assert raw["weight"].to_numpy() == pytest.approx(np.where(mod == "web", 2.0, 0.5))
    default = intra_modal_pairs(frame, beta={"web": 2.0}, scheme="all")  # unnamed modalities weigh 1.0
    mod = frame["modality"].to_numpy()[default["winner"]]
    assert default.groupby(mod)["weight"].sum().to_dict() == pytest.approx({"web": 2.0, "image": 1.0})
    dropped = intra_modal_pairs(frame, beta={"web": 0.0}, scheme="all")
    assert set(frame["modality"].to_numpy()[dropped["winner"]]) == {"image"} and len(dropped) == 3


def test_intra_pairs_follow_input_row_positions_not_index() -> None:
    frame = pd.DataFrame(
        {
            "qid": ["a", "a", "b", "b"],
            "item_id": list("xyxy"),
            "modality": "web",
            "upstream_score": [1.0, 2.0, 5.0, 4.0],
        },
        index=[10, 11, 12, 13],
    )
    pairs = intra_modal_pairs(frame)
    assert _as_set(pairs) == {(1, 0), (2, 3)}
    assert pairs["qid"].tolist() == ["a", "b"]


def test_sample_is_seeded() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": [str(i) for i in range(40)],
            "modality": "web",
            "upstream_score": rng.normal(size=40),
        }
    )
    a = intra_modal_pairs(frame, scheme="sample", seed=1)
    b = intra_modal_pairs(frame, scheme="sample", seed=1)
    c = intra_modal_pairs(frame, scheme="sample", seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert _as_set(a) != _as_set(c)


def test_floyd_sampling_is_uniform_and_distinct() -> None:
    streams = row_streams(0, np.repeat(np.arange(200), 100))
    owner, index = _choose(np.full(20_000, 10), 3, "sample", streams)
    assert np.array_equal(owner, np.repeat(np.arange(20_000), 3))
    picks = index.reshape(-1, 3)
    assert (np.diff(np.sort(picks, axis=1), axis=1) > 0).all()  # distinct within an owner
    freq = np.bincount(index, minlength=10) / 20_000
    np.testing.assert_allclose(freq, 0.3, atol=0.02)  # each of 10 items is in a 3-subset with probability 0.3


def _reference_cross(frame: pd.DataFrame, y: np.ndarray) -> set[tuple[int, int]]:
    qid, mod = frame["qid"].to_numpy(), frame["modality"].astype(str).to_numpy()
    n = len(frame)
    return {
        (a, b)
        for a in range(n)
        for b in range(n)
        if qid[a] == qid[b] and mod[a] != mod[b] and not np.isnan(y[a]) and not np.isnan(y[b]) and y[a] > y[b]
    }


@SETTINGS
@given(page_tables(), st.one_of(st.none(), st.integers(1, 4)), st.integers(0, 3))
def test_cross_pairs_properties(frame: pd.DataFrame, k: int | None, seed: int) -> None:
    y = frame["y"].to_numpy()
    pairs = cross_modal_pairs(frame, y, mu=2.0, max_pairs_per_item=k, seed=seed)
    _check_structure(frame, pairs, "cross")
    w, lo = pairs["winner"].to_numpy(), pairs["loser"].to_numpy()
    mod = frame["modality"].astype(str).to_numpy()
    assert (mod[w] != mod[lo]).all()
    assert (y[w] > y[lo]).all()  # strictly higher inferred label, NaN never paired
    reference = _reference_cross(frame, y)
    assert _as_set(pairs) <= reference
    if k is None:
        assert _as_set(pairs) == reference
    else:
        assert len(pairs) <= k * len(frame)
        per_winner = pairs.groupby("winner").size()
        for a in range(len(frame)):
            assert per_winner.get(a, 0) == min(k, sum(1 for x, _ in reference if x == a))
    if len(pairs):
        np.testing.assert_allclose(pairs.groupby("qid")["weight"].sum().to_numpy(), 2.0)


def test_cross_pairs_unnormalised_and_degenerate() -> None:
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": list("1234"),
            "modality": ["web", "web", "image", "image"],
            "upstream_score": 0.0,
        }
    )
    y = np.array([2.0, 0.0, 1.0, np.nan])
    pairs = cross_modal_pairs(frame, y, mu=0.5, normalize=False)
    assert _as_set(pairs) == {(0, 2), (2, 1)}
    assert pairs["weight"].tolist() == [0.5, 0.5]
    assert len(cross_modal_pairs(frame, y, mu=0.0)) == 0
    assert len(cross_modal_pairs(frame.assign(modality="web"), y)) == 0  # one modality: nothing to cross


def test_concat_pairs_keeps_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": list("123"),
            "modality": ["web", "web", "image"],
            "upstream_score": [2.0, 1.0, 0.0],
        }
    )
    both = concat_pairs(intra_modal_pairs(frame), None, cross_modal_pairs(frame, np.array([1.0, 0.0, 0.0])))
    assert both["kind"].tolist() == ["intra", "cross"]
    assert list(both["kind"].cat.categories) == list(PAIR_KINDS)
    assert both.dtypes.to_dict() == empty_pairs().dtypes.to_dict()
    assert list(both.index) == [0, 1]
    assert concat_pairs().dtypes.to_dict() == empty_pairs().dtypes.to_dict()
    assert len(concat_pairs(empty_pairs(), None)) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"scheme": "pairs"}, ConfigError, "unknown intra-modal pair scheme"),
        ({"max_pairs_per_item": 0}, ConfigError, "max_pairs_per_item"),
        ({"min_gap": -1.0}, ConfigError, "min_gap"),
        ({"beta": {"web": -2.0}}, ConfigError, "beta\\['web'\\] must be finite and >= 0"),
        ({"beta": -1.0}, ConfigError, "beta"),
        ({"score_col": "nope"}, PageTableError, "missing column 'nope'"),
    ],
)
def test_intra_errors_are_one_line(kwargs: dict, error: type, text: str) -> None:
    frame = pd.DataFrame(
        {"qid": "a", "item_id": list("12"), "modality": ["web", "image"], "upstream_score": [1.0, 0.0]}
    )
    with pytest.raises(error, match=text) as info:
        intra_modal_pairs(frame, **kwargs)
    assert "\n" not in str(info.value)


def test_input_errors() -> None:
    frame = pd.DataFrame(
        {"qid": "a", "item_id": list("12"), "modality": ["web", "image"], "upstream_score": [1.0, np.nan]}
    )
    with pytest.raises(PageTableError, match="missing at row 1"):
        intra_modal_pairs(frame)
    with pytest.raises(ConfigError, match="3 values but the table has 2 rows"):
        cross_modal_pairs(frame, np.zeros(3))
    with pytest.raises(ConfigError, match="mu"):
        cross_modal_pairs(frame, np.zeros(2), mu=float("nan"))


def _sampling_table(n_queries: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 30, size=n_queries)
    frame = pd.DataFrame(
        {
            "qid": np.repeat([f"q{i}" for i in range(n_queries)], sizes),
            "modality": rng.choice(["web", "image", "video"], size=sizes.sum()),
            "upstream_score": rng.normal(size=sizes.sum()),
        }
    )
    return frame, rng.integers(0, 4, size=len(frame)).astype(float)


def _keyed(frame: pd.DataFrame, pairs: pd.DataFrame) -> set[tuple[str, int, int]]:
    """Pairs as (qid, position in query of winner, of loser): comparable across tables."""
    pos = frame.groupby("qid", sort=False).cumcount().to_numpy()
    return {
        (q, int(pos[w]), int(pos[lo])) for q, w, lo in zip(pairs["qid"], pairs["winner"], pairs["loser"], strict=True)
    }


def test_sampled_pairs_of_a_query_do_not_depend_on_the_other_queries() -> None:
    # the Dask engine builds pairs per partition of whole queries: every split must give the same pairs
    frame, y = _sampling_table(12, 0)
    whole_intra = intra_modal_pairs(frame, scheme="sample", max_pairs_per_item=2, seed=7)
    whole_cross = cross_modal_pairs(frame, y, max_pairs_per_item=2, seed=7)
    queries = frame["qid"].unique()
    parts = [queries[:5], queries[5:9][::-1], queries[9:]]  # the middle part also in another query order
    intra, cross = set(), set()
    for part in parts:
        rows = np.concatenate([np.flatnonzero(frame["qid"].to_numpy() == q) for q in part])
        sub = frame.iloc[rows].reset_index(drop=True)
        intra |= _keyed(sub, intra_modal_pairs(sub, scheme="sample", max_pairs_per_item=2, seed=7))
        cross |= _keyed(sub, cross_modal_pairs(sub, y[rows], max_pairs_per_item=2, seed=7))
    assert intra == _keyed(frame, whole_intra)
    assert cross == _keyed(frame, whole_cross)
    assert len(whole_intra) > 0 and len(whole_cross) > 0
