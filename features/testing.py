"""Testing kit for feature authors: a sample page table and a reusable contract test class.

Three lines check a plugin feature against the whole contract (pytest collects the subclass)::

    from smar_ltr.features.testing import FeatureContract

    class TestTitleHasDigit(FeatureContract):
        feature_name = "example.title_has_digit.v1"

Override ``make_frame`` / ``make_train_frame`` when the feature needs columns the sample table lacks, and
``params`` to test non-default parameters. Outside pytest, :func:`check_feature_contract` runs the same
checks.
The checks: metadata, declared columns and dtype, index alignment (default and custom, reordered index),
no input mutation, determinism, the NaN policy (missing inputs, other modalities), a JSON round trip of the
fitted state, fit-before-transform for stateful features, and that one page alone gets the same values as
inside the whole table.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from smar_ltr.features.base import DTYPES, SCOPES, Feature, FeatureNotFittedError
from smar_ltr.features.featureset import FeatureSet
from smar_ltr.features.registry import FEATURES

MODALITIES: tuple[str, ...] = ("web", "image", "video", "llm")
_QUERIES = (
    "how to cook rice", "mountain hiking trails", "python pandas tutorial video", "why is the sky blue",
    "北京 天气 预报", "猫咪 图片 可爱", "red panda photos", "机器学习 入门 教程",
)  # fmt: skip
_FILLER = (
    "guide", "best", "new", "daily", "review", "top", "simple", "world", "today", "free", "2024", "news",
    "攻略", "推荐", "视频", "分享",
)  # fmt: skip


def _join_words(words: np.ndarray) -> pd.Series:
    """Rows of a (n, k) word matrix joined with spaces."""
    cols = [pd.Series(words[:, j], dtype="str") for j in range(words.shape[1])]
    return functools.reduce(lambda a, b: a + " " + b, cols)


def sample_page_table(n_queries: int = 8, seed: int = 0, max_rows: int = 12) -> pd.DataFrame:
    """A small, seeded page table with every standard column; see :func:`_sample_page_table`."""
    return _sample_page_table(n_queries, seed, max_rows).copy(deep=True)


@functools.lru_cache(maxsize=16)
def _sample_page_table(n_queries: int, seed: int, max_rows: int) -> pd.DataFrame:
    """A small, seeded page table with every standard column (English and Chinese text, gaps per modality).

    Parameters
    ----------
    n_queries : int
        Number of pages.
    seed : int
        Seed of all random choices.
    max_rows : int
        Largest page size (pages have 2..max_rows candidates).

    Returns
    -------
    DataFrame
        Sorted by ``qid``; text columns exist only where the modality has them (``caption``/``ocr`` on images,
        ``asr`` on videos, ``answer`` on LLM cards, ``body`` on web and LLM rows), one ``upstream_score`` is
        missing, and one page has a single modality.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, max_rows + 1, size=n_queries)
    n = int(sizes.sum())
    page = np.repeat(np.arange(n_queries), sizes)
    modality = np.asarray(MODALITIES)[rng.integers(0, len(MODALITIES), size=n)]
    modality[page == n_queries - 1] = "web"  # one single-modality page
    query = np.asarray(_QUERIES)[(page + seed) % len(_QUERIES)]
    qwords = pd.Series(query, dtype="str").str.split(" ")
    first_word = qwords.str[0].to_numpy(dtype=object)
    last_word = qwords.str[-1].to_numpy(dtype=object)
    filler = np.asarray(_FILLER, dtype=object)

    def text(k: int, mention: float) -> pd.Series:
        words = filler[rng.integers(0, len(filler), size=(n, k))]
        hit = rng.random(n) < mention
        words[hit, 0] = first_word[hit]
        hit = rng.random(n) < mention
        words[hit, k - 1] = last_word[hit]
        return _join_words(words)

    def only(values: pd.Series, mods: tuple[str, ...]) -> pd.Series:
        return values.where(np.isin(modality, mods), None)

    impressions = rng.integers(0, 500, size=n)
    clicks = rng.binomial(impressions, 0.1)
    position = pd.Series(rng.random(n)).groupby(page).rank(method="first").astype("int64").to_numpy()
    upstream = rng.normal(size=n) * np.select([modality == "web", modality == "image"], [1.0, 5.0], 0.3)
    upstream[min(3, n - 1)] = np.nan
    frame = pd.DataFrame(
        {
            "qid": pd.Series([f"q{seed:02d}_{p:03d}" for p in range(n_queries)], dtype="str").to_numpy()[page],
            "item_id": pd.Series(np.arange(n)).map("i{:05d}".format).astype("str"),
            "modality": pd.Categorical(modality),
            "query": pd.Series(query, dtype="str"),
            "title": text(4, 0.6),
            "body": only(text(12, 0.5), ("web", "llm")),
            "caption": only(text(5, 0.5), ("image", "video")),
            "ocr": only(text(3, 0.3), ("image",)),
            "asr": only(text(8, 0.4), ("video",)),
            "answer": only(text(15, 0.7), ("llm",)),
            "impressions": impressions.astype(np.float64),
            "clicks": clicks.astype(np.float64),
            "likes": rng.binomial(clicks, 0.3).astype(np.float64),
            "dwell_time": np.where(clicks > 0, rng.exponential(30.0, size=n), 0.0),
            "upstream_score": upstream,
            "position": pd.array(position, dtype="Int64"),
            "page_label": pd.array(rng.integers(0, 5, size=n), dtype="Int64"),
            "modal_label": pd.array(rng.integers(0, 5, size=n), dtype="Int64"),
        }
    )
    return frame


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame, what: str) -> None:
    assert list(actual.columns) == list(expected.columns), (
        f"{what}: columns {list(actual.columns)} != {list(expected.columns)}"
    )
    np.testing.assert_allclose(
        actual.to_numpy(dtype=np.float64), expected.to_numpy(dtype=np.float64), rtol=1e-5, atol=1e-6,
        equal_nan=True, err_msg=what,
    )  # fmt: skip


class FeatureContract:
    """Contract tests for one registered feature; subclass as ``Test...`` and set ``feature_name``."""

    feature_name: ClassVar[str] = ""
    params: ClassVar[dict[str, Any]] = {}

    # hooks -----------------------------------------------------------------------------------------------
    def make_frame(self) -> pd.DataFrame:
        """Frame the feature is applied to (default: :func:`sample_page_table`)."""
        return sample_page_table(seed=0)

    def make_train_frame(self) -> pd.DataFrame:
        """Frame the feature is fitted on (default: another seed of the sample table)."""
        return sample_page_table(seed=1)

    def make_feature(self) -> Feature:
        """A fresh, unfitted instance."""
        assert self.feature_name, "set feature_name on the contract test class"
        return FEATURES.get(self.feature_name)(**self.params)

    def fitted(self) -> Feature:
        """A fresh instance fitted on :meth:`make_train_frame`."""
        return self.make_feature().checked_fit(self.make_train_frame())

    # checks ----------------------------------------------------------------------------------------------
    def test_metadata(self) -> None:
        f = self.make_feature()
        cls = type(f)
        assert f.name == self.feature_name and f.version >= 1, "name/version are set by register_feature"
        assert f.scope in SCOPES, f"scope {f.scope!r} not in {SCOPES}"
        assert f.dtype in DTYPES, f"dtype {f.dtype!r} not in {DTYPES}"
        assert f.description() and "\n" not in f.description(), "the docstring's first line describes the feature"
        assert isinstance(f.inputs, tuple) and all(isinstance(c, str) for c in f.inputs), "inputs: tuple of str"
        assert f.modalities is None or (isinstance(f.modalities, tuple) and f.modalities), "modalities: None or tuple"
        assert f.outputs, "outputs must not be empty"
        params = f.get_params()
        json.dumps(params)
        assert type(cls(**params).get_params()) is dict, "get_params must round-trip through __init__"
        json.dumps(f.describe())

    def test_outputs_declared_columns_and_dtype(self) -> None:
        f, frame = self.fitted(), self.make_frame()
        raw = f.transform(frame.copy(deep=False))
        assert isinstance(raw, pd.DataFrame), "transform must return a DataFrame"
        assert list(raw.columns) == f.output_columns, f"columns {list(raw.columns)} != declared {f.output_columns}"
        out = f.checked_transform(frame)
        assert all(str(t) == f.dtype for t in out.dtypes), f"dtypes {set(map(str, out.dtypes))} != {f.dtype}"
        assert len(out) == len(frame)

    def test_index_alignment(self) -> None:
        f, frame = self.fitted(), self.make_frame()
        base = f.transform(frame)
        assert base.index.equals(frame.index), "transform must return index=frame.index"
        rng = np.random.default_rng(0)
        pages = frame["qid"].unique() if "qid" in frame else np.array([0])
        order = {q: i for i, q in enumerate(rng.permutation(pages))}
        key = frame["qid"].map(order).to_numpy() if "qid" in frame else np.zeros(len(frame))
        perm = np.lexsort((rng.random(len(frame)), key))  # pages reordered, rows shuffled within pages
        shuffled = frame.iloc[perm].copy()
        shuffled.index = pd.Index([f"row{i}" for i in perm], dtype="str")
        out = f.transform(shuffled)
        assert out.index.equals(shuffled.index), "transform must keep a custom, non-default index"
        expected = base.iloc[perm].set_axis(shuffled.index)
        _assert_same(out, expected, "values must follow their rows when pages and rows are reordered")

    def test_does_not_mutate_input(self) -> None:
        train, frame = self.make_train_frame(), self.make_frame()
        train_before, frame_before = train.copy(deep=True), frame.copy(deep=True)
        f = self.make_feature().checked_fit(train)
        f.transform(frame)
        f.checked_transform(frame)
        pd.testing.assert_frame_equal(train, train_before, obj="fit input")
        pd.testing.assert_frame_equal(frame, frame_before, obj="transform input")

    def test_deterministic(self) -> None:
        frame = self.make_frame()
        a, b = self.fitted(), self.fitted()
        _assert_same(a.checked_transform(frame), b.checked_transform(frame), "two fits give different values")
        _assert_same(a.checked_transform(frame), a.checked_transform(frame), "two transforms differ")
        assert json.dumps(a.get_state(), sort_keys=True) == json.dumps(b.get_state(), sort_keys=True)

    def test_missing_inputs_give_nan(self) -> None:
        f, frame = self.fitted(), self.make_frame()
        for col in f.inputs:
            out = f.checked_transform(frame.drop(columns=[col]))
            assert list(out.columns) == f.output_columns and len(out) == len(frame)
            assert out.isna().all().all(), f"without input {col!r} every output must be NaN"
            g = self.make_feature().checked_fit(self.make_train_frame().drop(columns=[col]))
            out = g.checked_transform(frame)  # fitted without the column: no crash
            assert list(out.columns) == g.output_columns and out.index.equals(frame.index)

    def test_other_modalities_get_nan(self) -> None:
        f, frame = self.fitted(), self.make_frame()
        if f.modalities is None:
            return
        out = f.checked_transform(frame)
        other = ~frame["modality"].astype(str).isin(f.modalities).to_numpy()
        assert out[other].isna().all().all(), f"rows outside modalities {f.modalities} must be NaN"

    def test_state_round_trip_json(self) -> None:
        f, frame = self.fitted(), self.make_frame()
        state = json.loads(json.dumps(f.get_state(), allow_nan=False))
        g = type(f)(**copy.deepcopy(f.get_params())).load_state(state)
        _assert_same(g.checked_transform(frame), f.checked_transform(frame), "state did not survive JSON")
        saved = json.loads(json.dumps(FeatureSet([f]).to_dict(), allow_nan=False))
        _assert_same(FeatureSet.from_dict(saved).transform(frame), f.checked_transform(frame), "FeatureSet round trip")

    def test_stateful_feature_requires_fit(self) -> None:
        f, frame = self.make_feature(), self.make_frame()
        if not f.stateful():
            f.checked_transform(frame)
            return
        try:
            f.checked_transform(frame)
        except FeatureNotFittedError:
            return
        raise AssertionError("a stateful feature must refuse to transform before fit")

    def test_page_alone_matches_page_in_table(self) -> None:
        f, frame = self.fitted(), self.make_frame()
        if "qid" not in frame:
            return
        full = f.checked_transform(frame)
        for q in frame["qid"].unique()[:3]:
            rows = (frame["qid"] == q).to_numpy()
            _assert_same(f.checked_transform(frame[rows]), full[rows], f"page {q!r} alone differs from in-table")


def check_feature_contract(name: str, params: dict[str, Any] | None = None, frame: pd.DataFrame | None = None) -> None:
    """Run every :class:`FeatureContract` check for feature ``name`` (AssertionError on the first failure)."""
    attrs: dict[str, Any] = {"feature_name": name, "params": dict(params or {})}
    if frame is not None:
        attrs["make_frame"] = lambda self: frame.copy()
        attrs["make_train_frame"] = lambda self: frame.copy()
    contract = type("AdHocContract", (FeatureContract,), attrs)()
    for attr in sorted(dir(contract)):
        if attr.startswith("test_"):
            getattr(contract, attr)()
