"""smar_ltr.metrics.ranking: hand-computed cases, the tie rule, parsing, validation and hypothesis properties.

A slow, obviously-correct per-query implementation (``naive``) is the oracle for the property tests.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smar_ltr.metrics.modal_agreement as modal_agreement_module
from smar_ltr.errors import ConfigError, PageTableError
from smar_ltr.metrics.per_query import descending_within
from smar_ltr.metrics.ranking import MetricSpec, evaluate, evaluate_per_query, parse_metric

LOG3 = math.log2(3)
LOG5 = math.log2(5)

# ---- golden data -------------------------------------------------------------------------------------------
# q1 rows in input order (label, score): (1, .3) (0, .9) (3, .7) (0, .1) (2, .2)
#   ranked by score: .9 .7 .3 .2 .1 -> labels in rank order [0, 3, 1, 2, 0]
# q2: two rows, all labels 0 (an "empty" query).  q3: one row, label 4.
# Rows of the queries are interleaved on purpose (qid need not be contiguous).
GOLD_QID = ["q1", "q2", "q1", "q3", "q1", "q2", "q1", "q1"]
GOLD_LABEL = [1, 0, 0, 4, 3, 0, 0, 2]
GOLD_SCORE = [0.3, 0.4, 0.9, 0.5, 0.7, 0.6, 0.1, 0.2]

# Expected (q1, q2, q3); NaN = skipped.
GOLDEN = {
    # DCG@3 = 0/1 + (2^3-1)/log2(3) + (2^1-1)/log2(4); IDCG@3 = 7/1 + 3/log2(3) + 1/2; empty q2 -> 1
    "ndcg@3": ((7 / LOG3 + 0.5) / (7 + 3 / LOG3 + 0.5), 1.0, 1.0),
    # full list adds rank 4 (label 2): + 3/log2(5); the ideal list adds 0 at ranks 4 and 5
    "ndcg": ((7 / LOG3 + 0.5 + 3 / LOG5) / (7 + 3 / LOG3 + 0.5), 1.0, 1.0),
    # linear gain: DCG@3 = 3/log2(3) + 1/2; IDCG@3 = 3 + 2/log2(3) + 1/2; empty=zero -> q2 = 0
    "ndcg@3(gain=linear,empty=zero)": ((3 / LOG3 + 0.5) / (3 + 2 / LOG3 + 0.5), 0.0, 1.0),
    "ndcg@3(empty=skip)": ((7 / LOG3 + 0.5) / (7 + 3 / LOG3 + 0.5), math.nan, 1.0),
    # R = 3 (labels 3, 1, 2); top 3 relevant flags [0, 1, 1]: (1/log2(3) + 1/2) / (1 + 1/log2(3) + 1/2)
    "bndcg": ((1 / LOG3 + 0.5) / (1 + 1 / LOG3 + 0.5), 0.0, 1.0),
    # rel=2: R = 2 (labels 3, 2); top 2 flags [0, 1]: (1/log2(3)) / (1 + 1/log2(3))
    "bndcg(rel=2,empty=skip)": ((1 / LOG3) / (1 + 1 / LOG3), math.nan, 1.0),
    # first relevant item at rank 2
    "mrr@10": (1 / 2, 0.0, 1.0),
    "mrr@1": (0.0, 0.0, 1.0),
    "mrr(rel=3,empty=one)": (1 / 2, 1.0, 1.0),
    # relevant at ranks 2, 3, 4: (P@2 + P@3 + P@4) / min(R=3, 10) = (1/2 + 2/3 + 3/4) / 3 = 23/36
    "map@10": ((1 / 2 + 2 / 3 + 3 / 4) / 3, 0.0, 1.0),
    # only rank 2 inside k=2: P@2 / min(3, 2) = (1/2) / 2
    "map@2": ((1 / 2) / 2, 0.0, 1.0),
    # without k: / R
    "ap": ((1 / 2 + 2 / 3 + 3 / 4) / 3, 0.0, 1.0),
    "precision@2": (1 / 2, 0.0, 1 / 2),  # q3 has one item: 1 hit / k=2
    "precision@10": (3 / 10, 0.0, 1 / 10),
    "precision": (3 / 5, 0.0, 1.0),  # whole list: 3 hits / 5 items
    "P@2(empty=skip)": (1 / 2, math.nan, 1 / 2),
    "recall@2": (1 / 3, 0.0, 1.0),
    "recall@3": (2 / 3, 0.0, 1.0),
    "recall@2(rel=2)": (1 / 2, 0.0, 1.0),
    # R_i = (2^l - 1)/16 along the ranking: [0, 7/16, 1/16]
    # ERR@3 = 1*0 + (1/2)(7/16)(1 - 0) + (1/3)(1/16)(1 - 0)(1 - 7/16); q3: 15/16
    "err@3": (7 / 32 + (1 / 3) * (1 / 16) * (9 / 16), 0.0, 15 / 16),
    # gmax = 5: R_i = [0, 7/32, 1/32]; q3: 15/32
    "err@3(gmax=5)": ((1 / 2) * (7 / 32) + (1 / 3) * (1 / 32) * (25 / 32), 0.0, 15 / 32),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_per_query(name: str) -> None:
    frame = evaluate_per_query(GOLD_LABEL, GOLD_SCORE, GOLD_QID, [name])
    assert list(frame.index) == ["q1", "q2", "q3"]
    np.testing.assert_allclose(frame[name].to_numpy(), GOLDEN[name], rtol=0, atol=1e-12)


def test_golden_means_skip_nan_and_keep_keys_as_given() -> None:
    names = list(GOLDEN)
    result = evaluate(GOLD_LABEL, GOLD_SCORE, GOLD_QID, names)
    assert list(result) == names
    for name in names:
        assert result[name] == pytest.approx(np.nanmean(GOLDEN[name]), abs=1e-12)
    # ndcg@3(empty=skip): mean over q1 and q3 only
    assert result["ndcg@3(empty=skip)"] == pytest.approx((GOLDEN["ndcg@3"][0] + 1.0) / 2, abs=1e-12)


def test_all_queries_skipped_gives_nan() -> None:
    assert math.isnan(evaluate([0, 0], [1.0, 2.0], ["a", "a"], ["ndcg(empty=skip)"])["ndcg(empty=skip)"])


def test_metric_spec_objects_are_accepted_and_keyed_by_canonical_name() -> None:
    spec = parse_metric("ndcg@3")
    assert list(evaluate(GOLD_LABEL, GOLD_SCORE, GOLD_QID, [spec])) == ["ndcg@3(empty=one,gain=exp)"]
    assert list(evaluate(GOLD_LABEL, GOLD_SCORE, GOLD_QID, "mrr@1")) == ["mrr@1"]


# ---- modal agreement ---------------------------------------------------------------------------------------
# Query m1, modality web: refs (3, 2, 1), scores (.9, .1, .5):
#   (x1,x2) 3>2 & .9>.1 concordant; (x1,x3) 3>1 & .9>.5 concordant; (x2,x3) 2>1 but .1<.5 discordant -> 2/3
#   the web row with NaN reference and the row with missing modality take no part
# Query m1, modality img: refs (5, 5, 1), scores (.2, .3, .3):
#   (y1,y2) reference tie -> skipped; (y1,y3) 5>1 & .2<.3 discordant; (y2,y3) 5>1 & .3==.3 tie -> 0.5
#   accuracy = (0 + 0.5) / 2 = 1/4
# m1 = (2/3 + 1/4) / 2 = 11/24; tau = 2 * 11/24 - 1 = -1/12 = mean((2-1)/3, (0-1)/2)
# m2: one item per modality -> NaN. m3: all references tied -> NaN.
MODAL = pd.DataFrame(
    {
        "qid": ["m1"] * 8 + ["m2", "m2"] + ["m3", "m3"],
        "modality": ["web", "web", "web", "img", "img", "img", "web", None, "web", "img", "web", "web"],
        "reference": [3, 2, 1, 5, 5, 1, np.nan, 0.0, 1, 2, 7, 7],
        "score": [0.9, 0.1, 0.5, 0.2, 0.3, 0.3, 5.0, -5.0, 1, 2, 1, 2],
    }
)


def test_modal_agreement_golden() -> None:
    names = ["modal_agreement", "modal_tau"]
    frame = evaluate_per_query(
        np.zeros(len(MODAL)),
        MODAL.score,
        MODAL.qid,
        names,
        modality=MODAL.modality,
        reference=MODAL.reference,
    )
    np.testing.assert_allclose(frame["modal_agreement"], [11 / 24, np.nan, np.nan], atol=1e-12)
    np.testing.assert_allclose(frame["modal_tau"], [-1 / 12, np.nan, np.nan], atol=1e-12)
    mean = evaluate(
        np.zeros(len(MODAL)),
        MODAL.score,
        MODAL.qid,
        names,
        modality=MODAL.modality,
        reference=MODAL.reference,
    )
    assert mean == pytest.approx({"modal_agreement": 11 / 24, "modal_tau": -1 / 12}, abs=1e-12)


def test_modal_metrics_need_modality_and_reference() -> None:
    with pytest.raises(ConfigError, match="modality"):
        evaluate([1, 0], [1.0, 0.0], ["a", "a"], ["modal_tau"])
    with pytest.raises(ConfigError, match="reference"):
        evaluate([1, 0], [1.0, 0.0], ["a", "a"], ["modal_agreement"], modality=["x", "x"])


def test_modal_blocks_give_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n = 400
    qid = rng.integers(0, 12, n)
    modality = rng.choice(["a", "b", "c"], n)
    reference = rng.integers(0, 6, n).astype(float)
    score = rng.integers(0, 8, n).astype(float)
    names = ["modal_agreement", "modal_tau"]
    whole = evaluate_per_query(np.zeros(n), score, qid, names, modality=modality, reference=reference)
    monkeypatch.setattr(modal_agreement_module, "PAIR_BLOCK", 7)  # forces row blocks and group chunks
    blocked = evaluate_per_query(np.zeros(n), score, qid, names, modality=modality, reference=reference)
    pd.testing.assert_frame_equal(whole, blocked, check_exact=False, rtol=0, atol=1e-12)
    expected = naive_per_query(np.zeros(n), score, qid, "modal_agreement", modality, reference)
    np.testing.assert_allclose(whole["modal_agreement"], expected, atol=1e-12)


# ---- tie rule ----------------------------------------------------------------------------------------------
def test_equal_scores_keep_input_order() -> None:
    # all scores equal: the ranking is the input order
    assert evaluate([1, 0, 0], [0.5] * 3, ["a"] * 3, ["mrr"])["mrr"] == 1.0
    assert evaluate([0, 0, 1], [0.5] * 3, ["a"] * 3, ["mrr"])["mrr"] == pytest.approx(1 / 3)
    # ties only among some rows, with rows of another query in between
    qid = ["a", "b", "a", "a", "b"]
    labels = [0, 1, 2, 0, 0]
    scores = [1.0, 0.0, 1.0, 3.0, 0.0]
    # query a ranks: row 3 (3.0), then rows 0 and 2 tied at 1.0 in input order -> labels [0, 0, 2]
    # query b: rows 1 and 4 tied -> labels [1, 0]
    frame = evaluate_per_query(labels, scores, qid, ["mrr", "ndcg(gain=linear)"])
    assert frame.loc["a", "mrr"] == pytest.approx(1 / 3)
    assert frame.loc["a", "ndcg(gain=linear)"] == pytest.approx((2 / 2) / 2)  # 2/log2(4) over 2/log2(2)
    assert frame.loc["b", "mrr"] == 1.0


def test_long_tied_lists_keep_input_order() -> None:
    # 3 interleaved queries of 300 rows with 4 distinct scores: far beyond the sizes where an unstable
    # sort happens to keep order. Within each score level, the single relevant row of a query is its
    # j-th row of that level in input order, so the first relevant rank is known exactly.
    n = 900
    qid = np.arange(n) % 3
    scores = (np.arange(n) // 3) % 4 * 1.0  # per query: levels 0, 1, 2, 3, 0, 1, ... (75 rows per level)
    labels = np.zeros(n)
    # query 0: relevant = the 11th row (in input order) of the top level 3.0 -> rank 11
    # query 1: relevant = the 40th row of level 2.0 -> rank 75 + 40 = 115
    # query 2: relevant = the 1st row of level 0.0 -> rank 3 * 75 + 1 = 226
    for q, level, j in [(0, 3.0, 10), (1, 2.0, 39), (2, 0.0, 0)]:
        labels[np.flatnonzero((qid == q) & (scores == level))[j]] = 1
    frame = evaluate_per_query(labels, scores, qid, ["mrr", "ndcg(gain=linear)"])
    np.testing.assert_allclose(frame["mrr"], [1 / 11, 1 / 115, 1 / 226], rtol=1e-15)
    np.testing.assert_allclose(frame["ndcg(gain=linear)"], 1 / np.log2([12, 116, 227]), rtol=1e-15)


# ---- parsing -----------------------------------------------------------------------------------------------
def test_parse_metric_fills_defaults() -> None:
    assert parse_metric("ndcg@10") == MetricSpec("ndcg", 10, (("empty", "one"), ("gain", "exp")))
    assert parse_metric("ndcg@10(gain=linear,empty=zero)").params == (("empty", "zero"), ("gain", "linear"))
    assert parse_metric("mrr@10(rel=2)") == MetricSpec("mrr", 10, (("empty", "zero"), ("rel", 2.0)))
    assert parse_metric("bndcg") == MetricSpec("bndcg", None, (("empty", "zero"), ("rel", 1.0)))
    assert parse_metric("modal_agreement") == MetricSpec("modal_agreement", None, ())
    assert parse_metric("modal_tau").name == "modal_tau"
    assert parse_metric("err@5").param("gmax") == 4.0
    assert parse_metric(" nDCG @ 5 ( Gain = LINEAR ) ").params == (("empty", "one"), ("gain", "linear"))
    assert parse_metric("P@5").name == "precision"
    assert parse_metric("RR@5").name == "mrr"
    assert parse_metric("AP").name == "map"
    assert parse_metric("r@3").name == "recall"


@pytest.mark.parametrize("name", ["ndcg@10", "mrr(rel=2.5)", "bndcg", "err@3(gmax=5)", "modal_tau", "p@1"])
def test_canonical_string_round_trips(name: str) -> None:
    spec = parse_metric(name)
    assert parse_metric(str(spec)) == spec
    assert hash(spec) == hash(parse_metric(str(spec)))


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("ndgc@10", "did you mean 'ndcg'"),
        ("foo", "unknown metric"),
        ("ndcg@10(gain=log)", "bad value 'log'"),
        ("ndcg@10(rel=1)", "unknown parameter 'rel'"),
        ("mrr(rel=-1)", "positive number"),
        ("mrr(rel=abc)", "positive number"),
        ("err(gmax=0)", "positive number"),
        ("ndcg(gain=exp,gain=linear)", "given twice"),
        ("ndcg(gain)", "key=value"),
        ("ndcg()", "key=value"),
        ("ndcg@0", "positive integer"),
        ("ndcg@-1", "positive integer"),
        ("ndcg@1.5", "positive integer"),
        ("ndcg@x", "positive integer"),
        ("ndcg@", "positive integer"),
        ("bndcg@5", "takes no @k"),
        ("modal_tau@3", "takes no @k"),
        ("ndcg@10)", "cannot parse"),
    ],
)
def test_parse_errors_are_one_line_config_errors(name: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")) as info:
        parse_metric(name)
    assert "\n" not in str(info.value)


def test_unknown_metric_message_lists_valid_metrics() -> None:
    with pytest.raises(ConfigError) as info:
        evaluate([1], [1.0], ["a"], ["ndcg@10", "auc"])
    message = str(info.value)
    for fragment in ["ndcg[@k](gain=exp|linear,empty=one|zero|skip)", "bndcg(", "mrr[@k](rel=", "modal_tau"]:
        assert fragment in message


# ---- input validation --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("labels", "scores", "qid", "error", "fragment"),
    [
        ([], [], [], PageTableError, "no rows"),
        ([1, 0], [1.0], ["a", "a"], PageTableError, "scores has 1 rows"),
        ([1, 0], [1.0, 0.0], ["a"], PageTableError, "qid has 1 rows"),
        ([1, np.nan], [1.0, 0.0], ["a", "a"], PageTableError, "labels must be finite; row 1"),
        ([1, 0], [np.nan, 0.0], ["a", "a"], PageTableError, "scores must be finite; row 0"),
        ([1, 0], [np.inf, 0.0], ["a", "a"], PageTableError, "scores must be finite"),
        ([1, -1], [1.0, 0.0], ["a", "a"], PageTableError, "labels must be >= 0; row 1"),
        ([1, 0], ["x", "y"], ["a", "a"], PageTableError, "scores must be a 1-D numeric"),
        ([1, 0], [1.0, 0.0], ["a", None], PageTableError, "qid has a missing value at row 1"),
        (pd.array([1, None], dtype="Int64"), [1.0, 0.0], ["a", "a"], PageTableError, "labels must be finite"),
    ],
)
def test_bad_input_raises_one_line(labels, scores, qid, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        evaluate(labels, scores, qid, ["ndcg"])


def test_err_rejects_labels_above_gmax_and_empty_metric_list() -> None:
    with pytest.raises(ConfigError, match="gmax"):
        evaluate([5, 0], [1.0, 0.0], ["a", "a"], ["err@3"])
    assert evaluate([5, 0], [1.0, 0.0], ["a", "a"], ["err@3(gmax=5)"])["err@3(gmax=5)"] == pytest.approx(31 / 32)
    with pytest.raises(ConfigError, match="no metrics"):
        evaluate([1], [1.0], ["a"], [])


def test_accepts_pandas_nullable_and_tuple_qids() -> None:
    labels = pd.Series([2, 0, 1], dtype="Int64")
    qid = [("u", 1), ("u", 1), ("v", 2)]
    frame = evaluate_per_query(labels, pd.Series([0.1, 0.2, 0.3]), qid, ["mrr"])
    assert list(frame.index) == [("u", 1), ("v", 2)]
    assert frame["mrr"].tolist() == [0.5, 1.0]
    assert frame.index.name == "qid"


# ---- reference oracle and hypothesis properties ------------------------------------------------------------
def naive_per_query(labels, scores, qid, name, modality=None, reference=None) -> list[float]:
    """Per-query values computed one query at a time with plain Python (first-appearance order)."""
    spec = parse_metric(name)
    p = dict(spec.params)
    out = []
    for q in dict.fromkeys(qid):
        rows = [i for i in range(len(qid)) if qid[i] == q]
        ranked = sorted(rows, key=lambda i: -scores[i])  # Python's sort is stable: ties keep input order
        lab = [float(labels[i]) for i in ranked]
        k = len(lab) if spec.k is None else spec.k
        if spec.name in ("modal_agreement", "modal_tau"):
            out.append(_naive_modal(rows, scores, modality, reference, spec.name))
            continue
        if spec.name in ("ndcg", "err"):
            empty = max(lab) <= 0
        else:
            rel = [1.0 if v >= p["rel"] else 0.0 for v in lab]
            n_rel = int(sum(rel))
            empty = n_rel == 0
        if empty:
            out.append({"one": 1.0, "zero": 0.0, "skip": math.nan}[p["empty"]])
            continue
        if spec.name == "ndcg":
            gain = (lambda v: 2.0**v - 1) if p["gain"] == "exp" else (lambda v: v)
            dcg = sum(gain(v) / math.log2(r + 2) for r, v in enumerate(lab[:k]))
            idcg = sum(gain(v) / math.log2(r + 2) for r, v in enumerate(sorted(lab, reverse=True)[:k]))
            value = dcg / idcg
        elif spec.name == "bndcg":
            dcg = sum(v / math.log2(r + 2) for r, v in enumerate(rel[:n_rel]))
            value = dcg / sum(1 / math.log2(r + 2) for r in range(n_rel))
        elif spec.name == "mrr":
            value = next((1 / (r + 1) for r, v in enumerate(rel[:k]) if v), 0.0)
        elif spec.name == "map":
            hits, total = 0, 0.0
            for r, v in enumerate(rel[:k]):
                if v:
                    hits += 1
                    total += hits / (r + 1)
            value = total / min(n_rel, k)
        elif spec.name == "precision":
            value = sum(rel[:k]) / k
        elif spec.name == "recall":
            value = sum(rel[:k]) / n_rel
        else:  # err
            survive, value = 1.0, 0.0
            for r, v in enumerate(lab[:k]):
                stop = (2.0**v - 1) / 2.0 ** p["gmax"]
                value += survive * stop / (r + 1)
                survive *= 1 - stop
        out.append(value)
    return out


def _naive_modal(rows, scores, modality, reference, name) -> float:
    per_modality = []
    for m in {modality[i] for i in rows if modality[i] is not None}:
        items = [i for i in rows if modality[i] == m and not math.isnan(reference[i])]
        agree = pairs = 0.0
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                i, j = items[a], items[b]
                if reference[i] == reference[j]:
                    continue
                pairs += 1
                if scores[i] == scores[j]:
                    agree += 0.5
                elif (scores[i] > scores[j]) == (reference[i] > reference[j]):
                    agree += 1
        if pairs:
            per_modality.append(agree / pairs)
    if not per_modality:
        return math.nan
    accuracy = sum(per_modality) / len(per_modality)
    return accuracy if name == "modal_agreement" else 2 * accuracy - 1


ALL_METRICS = [
    "ndcg@1",
    "ndcg@3",
    "ndcg",
    "ndcg@5(gain=linear,empty=zero)",
    "ndcg(empty=skip)",
    "bndcg",
    "bndcg(rel=2,empty=one)",
    "mrr@1",
    "mrr@3",
    "mrr(rel=2)",
    "map@2",
    "map",
    "map@4(rel=3,empty=skip)",
    "precision@1",
    "precision@3",
    "precision",
    "recall@2",
    "recall(rel=2)",
    "err@3",
    "err",
    "modal_agreement",
    "modal_tau",
]
IDEAL_ONE = [
    "ndcg@1",
    "ndcg@3",
    "ndcg",
    "ndcg@5(gain=linear,empty=zero)",
    "bndcg",
    "mrr@1",
    "mrr@3",
    "map",
    "map@2",
]


@st.composite
def ranking_data(draw, distinct_scores: bool = False):
    """Several queries of 1-8 rows, rows of different queries interleaved, labels 0-4."""
    n_queries = draw(st.integers(1, 6))
    sizes = draw(st.lists(st.integers(1, 8), min_size=n_queries, max_size=n_queries))
    qid = [f"q{q}" for q, size in enumerate(sizes) for _ in range(size)]
    n = len(qid)
    perm = draw(st.permutations(range(n)))
    qid = [qid[i] for i in perm]
    labels = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    if distinct_scores:
        scores = [float(s) for s in draw(st.permutations(range(-n, n, 2)))]
    else:
        scores = [float(s) for s in draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))]
    modality = draw(st.lists(st.sampled_from(["web", "img", "video"]), min_size=n, max_size=n))
    reference = [float(r) for r in draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))]
    return labels, scores, qid, modality, reference


def _per_query(data, names=ALL_METRICS) -> pd.DataFrame:
    labels, scores, qid, modality, reference = data
    return evaluate_per_query(labels, scores, qid, names, modality=modality, reference=reference)


@settings(max_examples=60, deadline=None)
@given(ranking_data())
def test_matches_naive_oracle_and_bounds(data) -> None:
    labels, scores, qid, modality, reference = data
    frame = _per_query(data)
    for name in ALL_METRICS:
        expected = naive_per_query(labels, scores, qid, name, modality, reference)
        np.testing.assert_allclose(frame[name].to_numpy(), expected, rtol=0, atol=1e-12, err_msg=name)
        values = frame[name].dropna().to_numpy()
        low = -1.0 if name == "modal_tau" else 0.0
        assert ((values >= low) & (values <= 1.0)).all(), name


@settings(max_examples=40, deadline=None)
@given(ranking_data())
def test_ideal_ranking_scores_one(data) -> None:
    labels, _, qid, _, _ = data
    ideal = [v + 0.5 * i / len(labels) for i, v in enumerate(labels)]  # labels order, distinct tie-breaks
    frame = evaluate_per_query(labels, ideal, qid, IDEAL_ONE)
    has_relevant = pd.Series(labels, index=qid).groupby(level=0).max().reindex(frame.index) >= 1
    assert (frame.loc[has_relevant] == 1.0).all().all()


@settings(max_examples=40, deadline=None)
@given(ranking_data())
def test_invariant_to_strictly_monotone_score_transforms(data) -> None:
    labels, scores, qid, modality, reference = data
    base = _per_query(data)
    for transform in (lambda s: 2.0 * s + 7.0, lambda s: s**3, lambda s: np.exp(s / 10.0), np.arctan):
        moved = _per_query((labels, transform(np.asarray(scores)), qid, modality, reference))
        pd.testing.assert_frame_equal(base, moved, check_exact=True)


@settings(max_examples=40, deadline=None)
@given(ranking_data(distinct_scores=True), st.randoms(use_true_random=False))
def test_invariant_to_row_shuffles_without_ties(data, rnd) -> None:
    base = _per_query(data)
    perm = list(range(len(data[0])))
    rnd.shuffle(perm)
    shuffled = tuple([column[i] for i in perm] for column in data)
    moved = _per_query(shuffled).loc[base.index]
    pd.testing.assert_frame_equal(base, moved, check_exact=True)


@settings(max_examples=40, deadline=None)
@given(ranking_data(), st.randoms(use_true_random=False))
def test_permuting_whole_queries_keeps_the_mean(data, rnd) -> None:
    labels, scores, qid, modality, reference = data
    order = list(dict.fromkeys(qid))
    rnd.shuffle(order)
    rows = [i for q in order for i in range(len(qid)) if qid[i] == q]  # whole queries, input order inside
    moved = tuple([column[i] for i in rows] for column in data)
    before = evaluate(labels, scores, qid, ALL_METRICS, modality=modality, reference=reference)
    after = evaluate(*moved[:3], ALL_METRICS, modality=moved[3], reference=moved[4])
    assert after == pytest.approx(before, abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_order_equals_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5000
    codes = rng.integers(0, 40, n)
    values = rng.integers(-3, 4, n) * 1.0
    values[rng.random(n) < 0.1] = -0.0  # -0.0 ties with 0.0
    expected = np.lexsort((-values, codes))
    np.testing.assert_array_equal(descending_within(codes, values), expected)
    continuous = rng.normal(size=n)
    np.testing.assert_array_equal(descending_within(codes, continuous), np.lexsort((-continuous, codes)))
