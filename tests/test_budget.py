"""Annotation-budget strategies and iso-anchor search (method.md 2.2-2.3)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smar_ltr.annotation.budget import (
    SIMULATED,
    STRATEGIES,
    ModalLists,
    allocate,
    annotate,
    global_allowance,
    largest_remainder,
    monotonicity_violation_rate,
    resolve_strategy,
)
from smar_ltr.errors import ConfigError, PageTableError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODALITIES = ["web", "image", "video"]


class CountingOracle:
    """Oracle that records every row it is asked about."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = np.asarray(labels, dtype=float)
        self.asked: list[int] = []
        self.calls = 0

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.asked.extend(np.asarray(rows).tolist())
        return self.labels[rows]


def _list_order(frame: pd.DataFrame) -> pd.Series:
    """Reference rank of each row in its (qid, modality) list: score desc, ties by row position."""
    tmp = frame.assign(_row=np.arange(len(frame)), _neg=-frame["upstream_score"])
    tmp = tmp.sort_values(["qid", "modality", "_neg", "_row"], kind="stable")
    rank = tmp.groupby(["qid", "modality"], sort=False, observed=True).cumcount()
    return rank.reindex(tmp["_row"].sort_values().index).set_axis(frame.index)


@st.composite
def page_tables(draw, monotone: bool = False, max_queries: int = 4, max_rows: int = 16) -> pd.DataFrame:
    """Random page tables with tied scores; ``monotone`` makes labels non-increasing along each list."""
    parts = []
    for q in range(draw(st.integers(1, max_queries))):
        n = draw(st.integers(1, max_rows))
        parts.append(
            pd.DataFrame(
                {
                    "qid": f"q{q}",
                    "item_id": [f"d{i}" for i in range(n)],
                    "modality": draw(st.lists(st.sampled_from(MODALITIES), min_size=n, max_size=n)),
                    "upstream_score": draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)),
                    "page_label": draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["upstream_score"] = frame["upstream_score"].astype(float)
    if monotone:  # sort each list's labels descending along the list order
        rank = _list_order(frame)
        tmp = frame.assign(_rank=rank).sort_values(["qid", "modality", "_rank"])
        labels = tmp.groupby(["qid", "modality"], sort=False)["page_label"].transform(
            lambda s: np.sort(s.to_numpy())[::-1]
        )
        frame["page_label"] = labels.reindex(frame.index)
    return frame


def _per_list(frame: pd.DataFrame, mask: np.ndarray) -> pd.Series:
    return pd.Series(mask).groupby([frame["qid"], frame["modality"]]).sum()


# --- allocation ---------------------------------------------------------------------------------------------


@SETTINGS
@given(st.lists(st.integers(0, 30), min_size=1, max_size=8), st.integers(0, 100))
def test_largest_remainder_is_a_fair_rounding(weights: list[int], total: int) -> None:
    w = np.array([weights])
    split = largest_remainder(np.array([total]), w)[0]
    if w.sum() == 0:
        assert (split == 0).all()
        return
    exact = total * w[0] / w.sum()
    assert split.sum() == total
    assert (split >= np.floor(exact)).all() and (split <= np.ceil(exact)).all()
    assert (split[w[0] == 0] == 0).all()
    as_float = largest_remainder(np.array([total]), w.astype(float))[0]
    assert as_float.sum() == total and (np.abs(as_float - exact) < 1).all()


def test_largest_remainder_breaks_ties_by_first_column() -> None:
    assert largest_remainder(np.array([1, 2]), np.array([[1, 1, 1], [1, 1, 1]])).tolist() == [
        [1, 0, 0],
        [1, 1, 0],
    ]


def test_allocation_over_queries_and_modalities() -> None:
    # query a: 4 web + 6 image, query b: 10 web; B = 5 -> a 2.5, b 2.5 -> tie goes to the first query (a)
    frame = pd.DataFrame(
        {
            "qid": ["a"] * 10 + ["b"] * 10,
            "modality": ["web"] * 4 + ["image"] * 6 + ["web"] * 10,
            "item_id": "x",
        }
    )
    lists = ModalLists.from_frame(frame)
    assert lists.modality_names == ("image", "web")
    alloc = allocate(lists, 5).reshape(2, 2)
    assert alloc.tolist() == [[2, 1], [0, 2]]  # a: image 1.8 -> 2, web 1.2 -> 1
    # shares that a short list cannot take are handed to the other modality of the query
    shares = allocate(lists, 10, np.array([0.1, 0.9])).reshape(2, 2)
    assert shares.tolist() == [[1, 4], [0, 5]]  # a: web capped at its 4 rows, the rest to image
    only_web = allocate(lists, 10, np.array([0.0, 1.0])).reshape(2, 2)
    assert only_web.tolist() == [[0, 4], [0, 5]]  # image share 0: a's 5th judgement stays unspent


def test_global_allowance_floors_with_float_tolerance() -> None:
    assert global_allowance(0.29, 100) == 29  # 0.29 * 100 = 28.999999999999996 in floating point
    assert global_allowance(0.01, 10) == 1
    assert global_allowance(0.5, 7) == 3


# --- strategies ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    page_tables(),
    st.sampled_from(SIMULATED),
    st.floats(0.001, 1.0),
    st.integers(-3, 3),
    st.one_of(st.none(), st.dictionaries(st.sampled_from(MODALITIES), st.floats(0.1, 5.0), min_size=3)),
)
def test_every_strategy_stays_within_budget(frame, strategy, p, band, shares) -> None:
    oracle = CountingOracle(frame["page_label"].to_numpy())
    ann = annotate(frame, strategy, p, band=band, modality_shares=shares, oracle=oracle, seed=7, max_label=4)
    n = len(frame)
    assert ann.allowance == (n if strategy == "all" else max(1, math.floor(p * n + 1e-9)))
    assert ann.labels_used == int(ann.mask.sum()) <= ann.allowance
    assert ann.oracle_calls == ann.labels_used
    assert ann.mask.dtype == bool and ann.mask.shape == (n,)
    expected = frame.loc[ann.mask, ["qid", "item_id"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(ann.revealed, expected, check_dtype=False)
    if strategy == "iso-anchor":
        assert sorted(oracle.asked) == sorted(set(oracle.asked)) == np.flatnonzero(ann.mask).tolist()
    else:
        assert oracle.asked == []  # only iso-anchor consults the oracle
    if strategy in ("top", "random") and shares is None:
        assert ann.labels_used == ann.allowance  # proportional shares never overflow a list


def test_all_reveals_everything_and_reports_full_budget() -> None:
    frame = pd.DataFrame({"qid": ["a", "a", "b"], "item_id": list("xyx"), "modality": "web"})
    ann = annotate(frame, "all", 0.1)
    assert ann.mask.all() and ann.labels_used == 3 and ann.budget == 1.0 and ann.allowance == 3
    summary = ann.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary == {
        "strategy": "all",
        "budget": 1.0,
        "labels_used": 3,
        "label_fraction": 1.0,
        "oracle_calls": 3,
        "allowance": 3,
    }


@SETTINGS
@given(page_tables(), st.floats(0.01, 1.0), st.integers(-3, 3))
def test_top_and_band_pick_the_right_slices(frame: pd.DataFrame, p: float, band: int) -> None:
    top = annotate(frame, "top", p)
    k = _per_list(frame, top.mask)
    rank = _list_order(frame).to_numpy()
    k_row = k.reindex(pd.MultiIndex.from_frame(frame[["qid", "modality"]])).to_numpy()
    n_row = frame.groupby(["qid", "modality"])["qid"].transform("size").to_numpy()
    assert np.array_equal(top.mask, rank < k_row)  # the first k by score desc, ties by input order
    for (_, _), group in frame.assign(m=top.mask).groupby(["qid", "modality"]):
        if group["m"].any() and not group["m"].all():
            assert group.loc[group["m"], "upstream_score"].min() >= group.loc[~group["m"], "upstream_score"].max()
    ann = annotate(frame, "band", p, band=band)
    start = band * k_row if band >= 0 else n_row + band * k_row
    lo, hi = np.clip(start, 0, n_row), np.clip(start + k_row, 0, n_row)
    assert np.array_equal(ann.mask, (rank >= lo) & (rank < hi))
    if band == 0:
        assert np.array_equal(ann.mask, top.mask)


def test_band_minus_one_is_the_bottom() -> None:
    frame = pd.DataFrame(
        {"qid": "a", "item_id": list("abcdefghij"), "modality": "web", "upstream_score": np.arange(10.0)}
    )
    bottom = annotate(frame, "band", 0.3, band=-1)
    assert bottom.revealed["item_id"].tolist() == ["a", "b", "c"]
    second = annotate(frame, "band", 0.3, band=1)
    assert second.revealed["item_id"].tolist() == ["e", "f", "g"]
    assert annotate(frame, "band", 0.3, band=5).labels_used == 0  # past the end of the list


def test_random_is_seeded_and_keeps_per_list_counts() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "qid": np.repeat(["a", "b", "c"], 40),
            "item_id": np.tile([str(i) for i in range(40)], 3),
            "modality": rng.choice(MODALITIES, 120),
            "upstream_score": np.nan,  # random needs no score
        }
    )
    a, b, c = (annotate(frame, "random", 0.3, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.mask, b.mask) and not np.array_equal(a.mask, c.mask)
    expected = _per_list(frame, annotate(frame.assign(upstream_score=0.0), "top", 0.3).mask)
    pd.testing.assert_series_equal(_per_list(frame, a.mask), expected)
    pd.testing.assert_series_equal(_per_list(frame, c.mask), expected)


def test_modality_shares_steer_the_split() -> None:
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": [str(i) for i in range(12)],
            "modality": ["web"] * 2 + ["image"] * 10,
            "upstream_score": np.arange(12.0),
        }
    )
    ann = annotate(frame, "top", 0.5, modality_shares={"web": 0.9, "image": 0.1})
    assert _per_list(frame, ann.mask).to_dict() == {("a", "image"): 4, ("a", "web"): 2}
    only = annotate(frame, "top", 0.5, modality_shares={"image": 1.0, "llm": 3.0})
    assert _per_list(frame, only.mask).to_dict() == {("a", "image"): 6, ("a", "web"): 0}


def test_mask_is_in_input_order_and_input_is_untouched() -> None:
    frame = pd.DataFrame(
        {
            "qid": ["a", "a", "a"],
            "item_id": ["x", "y", "z"],
            "modality": "web",
            "upstream_score": [1.0, 3.0, 2.0],
        },
        index=[7, 3, 5],
    )
    before = frame.copy()
    ann = annotate(frame, "top", 0.34)
    assert ann.mask.tolist() == [False, True, False]
    assert ann.revealed.to_dict("list") == {"qid": ["a"], "item_id": ["y"]}
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    ("strategy", "budget", "kwargs", "text"),
    [
        ("topp", 0.1, {}, "unknown annotation strategy 'topp' \\(did you mean 'top'\\?\\)"),
        ("top", 0.0, {}, "budget must be in \\(0, 1\\]"),
        ("top", 1.5, {}, "budget must be in \\(0, 1\\]"),
        ("top", float("nan"), {}, "budget must be in \\(0, 1\\]"),
        ("top", "0.3", {}, "budget must be a number"),
        ("top", True, {}, "budget must be a number"),
        ("band", 0.3, {"band": 0.5}, "band must be an integer"),
        ("top", 0.3, {"modality_shares": {"llm": 1.0}}, "no positive share"),
        ("top", 0.3, {"modality_shares": {"web": -1.0}}, "must be finite and >= 0"),
        ("top", 0.3, {"modality_shares": {"web": "half"}}, "must be finite and >= 0"),
        ("iso-anchor", 0.3, {"levels": [0, 1]}, "levels must be positive integers"),
        ("iso-anchor", 0.3, {"levels": [2, 2]}, "levels must be distinct"),
    ],
)
def test_config_errors_are_one_line(strategy: str, budget, kwargs: dict, text: str) -> None:
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": list("xy"),
            "modality": "web",
            "upstream_score": [1.0, 0.0],
            "page_label": [1, 0],
        }
    )
    with pytest.raises(ConfigError, match=text) as info:
        annotate(frame, strategy, budget, **kwargs)
    assert "\n" not in str(info.value)


def test_table_errors() -> None:
    frame = pd.DataFrame({"qid": "a", "item_id": list("xy"), "modality": "web", "upstream_score": [1.0, np.nan]})
    with pytest.raises(PageTableError, match="upstream_score"):
        annotate(frame, "top", 0.5)
    with pytest.raises(PageTableError, match="page_label"):
        annotate(frame.fillna(0.0), "iso-anchor", 0.5)
    with pytest.raises(PageTableError, match="1 of 2 rows have no page_label"):
        annotate(frame.fillna(0.0).assign(page_label=pd.array([None, 1], dtype="Int64")), "iso-anchor", 1.0)


# --- iso-anchor ------------------------------------------------------------------------------------------


def _true_boundaries(frame: pd.DataFrame) -> set[tuple[str, str, int, int]]:
    """(qid, modality, level, row) of the last row of each list with label >= level, levels 1..max."""
    rank = _list_order(frame)
    top = int(frame["page_label"].max())
    out = set()
    for (q, m), group in frame.assign(_rank=rank, _row=np.arange(len(frame))).groupby(["qid", "modality"]):
        group = group.sort_values("_rank")
        for level in range(1, top + 1):
            hit = group[group["page_label"] >= level]
            if len(hit):
                out.add((q, m, level, int(hit["_row"].iloc[-1])))
    return out


def _log_bound(frame: pd.DataFrame, n_levels: int) -> pd.Series:
    sizes = frame.groupby(["qid", "modality"]).size()
    return sizes.map(lambda n: n_levels * math.ceil(math.log2(n + 1)))


@SETTINGS
@given(page_tables(monotone=True), st.floats(0.01, 1.0))
def test_iso_anchor_inference_is_sound_on_monotone_labels(frame: pd.DataFrame, p: float) -> None:
    oracle = CountingOracle(frame["page_label"].to_numpy())
    ann = annotate(frame, "iso-anchor", p, oracle=oracle, max_label=4)
    truth = frame["page_label"].to_numpy(dtype=float)
    known = ~np.isnan(ann.inferred_label)
    assert np.array_equal(ann.inferred_label[known], truth[known])  # never wrong, only undetermined
    rate = monotonicity_violation_rate(frame, ann)
    assert rate == 0.0 if known.any() else np.isnan(rate)
    assert len(oracle.asked) == len(set(oracle.asked)) == ann.oracle_calls  # each item judged at most once
    n_levels = 4  # the declared scale 0..4
    calls = _per_list(frame, ann.mask)
    assert (calls <= _log_bound(frame, n_levels).reindex(calls.index)).all()  # O(L log n) per list
    anchors = {(a.qid, a.modality, int(a.label), int(a.row)) for a in ann.anchors.itertuples(index=False)}
    assert anchors <= _true_boundaries(frame)
    assert (ann.anchors["item_id"].to_numpy() == frame["item_id"].to_numpy()[ann.anchors["row"]]).all()


@SETTINGS
@given(page_tables(monotone=True))
def test_iso_anchor_finds_exact_boundaries_with_enough_budget(frame: pd.DataFrame) -> None:
    ann = annotate(frame, "iso-anchor", 1.0, max_label=4)
    assert np.array_equal(ann.inferred_label, frame["page_label"].to_numpy(dtype=float))
    anchors = {(a.qid, a.modality, int(a.label), int(a.row)) for a in ann.anchors.itertuples(index=False)}
    assert anchors == _true_boundaries(frame)


def test_iso_anchor_needs_only_log_many_judgements() -> None:
    rng = np.random.default_rng(1)
    n, levels = 256, 4
    score = rng.permutation(n).astype(float)
    labels = np.zeros(n, dtype=int)
    order = np.argsort(-score)
    labels[order] = np.sort(rng.integers(0, levels + 1, n))[::-1]
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": [str(i) for i in range(n)],
            "modality": "web",
            "upstream_score": score,
            "page_label": labels,
        }
    )
    bound = levels * math.ceil(math.log2(n + 1))  # 36 judgements for 256 items
    oracle = CountingOracle(labels)
    ann = annotate(frame, "iso-anchor", bound / n, oracle=oracle, max_label=levels)
    assert ann.oracle_calls <= bound < n
    assert oracle.calls == ann.oracle_calls  # one item per list per round
    assert np.array_equal(ann.inferred_label, labels.astype(float))
    assert ann.summary()["oracle_calls"] == ann.oracle_calls == ann.labels_used


def test_iso_anchor_partial_search_and_custom_levels() -> None:
    score = np.arange(16.0)[::-1]
    labels = np.array([3] * 3 + [2] * 4 + [1] * 4 + [0] * 5)
    frame = pd.DataFrame(
        {"qid": "a", "item_id": [str(i) for i in range(16)], "modality": "web", "upstream_score": score}
    )
    oracle = CountingOracle(labels)
    few = annotate(frame, "iso-anchor", 4 / 16, oracle=oracle, levels=[3, 2, 1])  # no label column needed
    assert few.oracle_calls == 4
    # asks rank 7 (label 1), 3 (2), 1 (3), 2 (3): level 3 settles at rank 2; k(2) in [3, 7), k(1) >= 7
    assert sorted(oracle.asked) == [1, 2, 3, 7]
    nan = np.nan
    expected = [3, 3, 3, 2, nan, nan, nan, 1] + [nan] * 8  # rank 3: >= 2 and < 3; rank 7: >= 1 and < 2
    np.testing.assert_array_equal(few.inferred_label, expected)
    assert few.anchors[["item_id", "label"]].values.tolist() == [["2", 3]]
    ascending = annotate(frame, "iso-anchor", 4 / 16, oracle=CountingOracle(labels), levels=[1, 2, 3])
    # searching level 1 first (ranks 7, 11, 9, 10) settles the bottom of the list instead
    np.testing.assert_array_equal(ascending.inferred_label, [nan] * 7 + [1] * 4 + [0] * 5)
    assert ascending.anchors[["item_id", "label"]].values.tolist() == [["10", 1]]


def test_violated_monotonicity_is_measured() -> None:
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": list("abcdefg"),
            "modality": "web",
            "upstream_score": [6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0],
            "page_label": [0, 0, 0, 3, 0, 0, 0],
        }
    )
    ann = annotate(frame, "iso-anchor", 1.0, max_label=3)
    # the search asks ranks 3 (label 3), 5 and 4 (label 0): every level settles at rank 3
    assert ann.oracle_calls == 3
    assert ann.inferred_label.tolist() == [3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0]
    assert monotonicity_violation_rate(frame, ann) == pytest.approx(3 / 7)
    with pytest.raises(ConfigError, match="no inferred labels"):
        monotonicity_violation_rate(frame, annotate(frame, "top", 0.5))
    with pytest.raises(ConfigError, match="pass the table the annotation was made on"):
        monotonicity_violation_rate(frame.iloc[:3], ann)


def test_violation_rate_on_noisy_scores_is_positive() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    relevance = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "qid": np.repeat([f"q{i}" for i in range(40)], 50),
            "item_id": np.tile([str(i) for i in range(50)], 40),
            "modality": rng.choice(MODALITIES, n),
            "upstream_score": relevance + rng.normal(scale=0.7, size=n),  # imperfect single-modal ranker
            "page_label": np.clip(np.floor(relevance + 2), 0, 4).astype(int),
        }
    )
    ann = annotate(frame, "iso-anchor", 1.0, max_label=4)
    rate = monotonicity_violation_rate(frame, ann)
    truth = frame["page_label"].to_numpy(dtype=float)
    assert 0 < rate == pytest.approx(np.mean(ann.inferred_label != truth))  # all rows inferred at p = 1
    assert ann.oracle_calls < n


def _monotone_pages(n_q: int = 30, seed: int = 0) -> pd.DataFrame:
    """Pages with labels non-increasing along each modality's score order; image items are all irrelevant, so
    their lists settle after a few judgements and leave allowance the web lists can use."""
    rng = np.random.default_rng(seed)
    parts = []
    for q in range(n_q):
        for m, n in (("web", 40), ("image", 40)):
            score = np.sort(rng.normal(size=n))[::-1]
            label = np.clip(np.digitize(score, [-1.0, 0.0, 0.7, 1.4]), 0, 4) * (m == "web")
            parts.append(
                pd.DataFrame(
                    {
                        "qid": f"q{q:02d}",
                        "item_id": [f"{m}{i}" for i in range(n)],
                        "modality": m,
                        "upstream_score": score,
                        "page_label": label,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def test_iso_anchor_pools_leftover_within_a_query() -> None:
    from smar_ltr.annotation.iso_anchor import search_boundaries

    frame = _monotone_pages()
    lists = ModalLists.from_frame(frame)
    alloc = allocate(lists, global_allowance(0.3, len(frame)))
    labels = frame["page_label"].to_numpy(float)
    pooled = search_boundaries(lists, alloc, [4, 3, 2, 1], CountingOracle(labels), pool=True)
    plain = search_boundaries(lists, alloc, [4, 3, 2, 1], CountingOracle(labels), pool=False)
    per_query = lambda a: a.reshape(lists.n_queries, lists.n_modalities).sum(axis=1)  # noqa: E731
    assert (per_query(pooled.spent) <= per_query(alloc)).all()  # a query never spends more than its share
    assert pooled.spent.sum() > plain.spent.sum()  # settled image lists hand their rest to the web lists
    settled = lambda s: int((((s.hi - s.lo) <= 1).all(axis=1)).sum())  # noqa: E731
    assert settled(pooled) >= settled(plain)
    inferred = pooled.inferred_label()
    known = ~np.isnan(inferred)
    assert known.sum() > (~np.isnan(plain.inferred_label())).sum()
    np.testing.assert_array_equal(inferred[known], labels[known])  # monotone data: never wrong
    assert pooled.judged.sum() == pooled.spent.sum()  # each item judged once


# --- partial labels: given, auto, refusal, label scale ---------------------------------------------------


def _partial_pages() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "qid": ["a"] * 4 + ["b"] * 3,
            "item_id": list("wxyzwxy"),
            "modality": ["web", "image", "web", "image", "web", "web", "image"],
            "upstream_score": [4.0, 3.0, 2.0, 1.0, 3.0, 2.0, 1.0],
            "page_label": pd.array([2, None, 0, None, None, 1, 1], dtype="Int64"),
        }
    )


def test_given_reveals_exactly_the_annotated_rows() -> None:
    frame = _partial_pages()
    ann = annotate(frame, "given", 0.1)  # the budget is not used
    assert ann.mask.tolist() == [True, False, True, False, False, True, True]
    assert ann.revealed.values.tolist() == [["a", "w"], ["a", "y"], ["b", "x"], ["b", "y"]]
    assert ann.labels_used == ann.allowance == ann.oracle_calls == 4
    assert ann.budget == pytest.approx(4 / 7) and ann.summary()["label_fraction"] == pytest.approx(4 / 7)
    assert set(STRATEGIES) == {"given", *SIMULATED}


def test_auto_resolves_to_given_on_partial_and_top_on_full_tables() -> None:
    frame = _partial_pages()
    assert resolve_strategy("auto", frame) == "given"
    assert resolve_strategy("auto", frame.fillna({"page_label": 0})) == "top"
    assert resolve_strategy("band", frame) == "band"
    assert annotate(frame, "auto", 0.5).strategy == "given"
    full = frame.assign(page_label=pd.array([2, 1, 0, 0, 1, 1, 1], dtype="Int64"))
    assert annotate(full, "auto", 0.5).mask.tolist() == annotate(full, "top", 0.5).mask.tolist()


@pytest.mark.parametrize("strategy", SIMULATED)
def test_simulated_strategies_refuse_partial_tables(strategy: str) -> None:
    with pytest.raises(PageTableError, match=r"3 of 7 rows have no page_label.*use strategy 'given'") as info:
        annotate(_partial_pages(), strategy, 0.5, max_label=2)
    assert "\n" not in str(info.value)
    unlabelled = _partial_pages().drop(columns="page_label")
    assert annotate(unlabelled, "top", 0.5).labels_used == 3  # choosing rows for annotators still works


def test_iso_anchor_levels_come_from_the_declared_scale_not_the_labels() -> None:
    frame = pd.DataFrame(
        {
            "qid": "a",
            "item_id": list("abcdefgh"),
            "modality": "web",
            "upstream_score": np.arange(8.0)[::-1],
            "page_label": [1, 1, 1, 0, 0, 0, 0, 0],
        }
    )
    with pytest.raises(ConfigError, match="iso-anchor needs the label scale"):
        annotate(frame, "iso-anchor", 1.0)
    oracle = CountingOracle(frame["page_label"].to_numpy())
    ann = annotate(frame, "iso-anchor", 1.0, oracle=oracle, max_label=3)
    # levels 3, 2, 1 are all searched (the labels seen top out at 1, the scale at 3)
    assert ann.inferred_label.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    narrow = annotate(frame, "iso-anchor", 1.0, oracle=CountingOracle(frame["page_label"].to_numpy()), max_label=1)
    assert narrow.oracle_calls < ann.oracle_calls  # fewer levels, fewer judgements
    with pytest.raises(ConfigError, match="max_label must be an integer >= 1"):
        annotate(frame, "iso-anchor", 1.0, max_label=0)
