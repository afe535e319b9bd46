"""The page-table validator: one clear error per kind of bad table; canonical dtypes; no input mutation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from smar_ltr.errors import PageTableError
from smar_ltr.page_table.schema import feature_columns, sort_pages, validate_page_table


def _table(n_q: int = 3, size: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = n_q * size
    return pd.DataFrame(
        {
            "qid": np.repeat([f"q{i}" for i in range(n_q)], size),
            "item_id": np.tile([f"d{j}" for j in range(size)], n_q),
            "modality": np.tile(["web", "image"], n // 2),
            "page_label": rng.integers(0, 5, n),
            "modal_label": rng.integers(0, 5, n),
            "upstream_score": rng.normal(size=n),
            "position": np.tile(np.arange(1, size + 1), n_q),
            "query": "cheap flights",
            "f0": rng.normal(size=n),
        }
    )


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_valid_table_gets_canonical_dtypes_and_input_is_untouched() -> None:
    frame = _table()
    frame["qid"] = np.repeat([10, 11, 12], 4)  # numeric ids become strings
    before = frame.copy()
    out = validate_page_table(frame, require=("page_label",))
    pd.testing.assert_frame_equal(frame, before)
    assert out["qid"].tolist()[:2] == ["10", "10"]
    assert isinstance(out["modality"].dtype, pd.CategoricalDtype)
    assert str(out["page_label"].dtype) == "Int64" and str(out["position"].dtype) == "Int64"
    assert out["upstream_score"].dtype == np.float64
    assert feature_columns(out) == ["f0"]


@pytest.mark.parametrize("missing", ["qid", "item_id", "modality", "page_label"])
def test_missing_column(missing: str) -> None:
    with pytest.raises(PageTableError) as exc:
        validate_page_table(_table().drop(columns=[missing]), require=("page_label",))
    assert f"missing column {missing!r}" in _one_line(exc)


def test_misnamed_column_suggests_the_right_name() -> None:
    with pytest.raises(PageTableError) as exc:
        validate_page_table(_table().rename(columns={"page_label": "page_lable"}), require=("page_label",))
    assert "did you mean 'page_lable'" in _one_line(exc)


def test_duplicate_key() -> None:
    frame = _table()
    frame.loc[2, "item_id"] = "d1"
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    msg = _one_line(exc)
    assert "duplicate (qid, item_id)" in msg and "row 2" in msg and "'q0'" in msg


def test_non_contiguous_qid() -> None:
    frame = _table()
    frame = pd.concat([frame.iloc[:2], frame.iloc[4:8], frame.iloc[2:4], frame.iloc[8:]], ignore_index=True)
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    msg = _one_line(exc)
    assert "not contiguous" in msg and "'q0'" in msg and "sort_pages" in msg
    assert validate_page_table(sort_pages(frame))["qid"].is_monotonic_increasing


def test_unsorted_qid_only_when_required() -> None:
    frame = pd.concat([_table().iloc[4:8], _table().iloc[:4]], ignore_index=True)
    validate_page_table(frame)  # contiguous is enough by default
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame, require_sorted=True)
    assert "not sorted" in _one_line(exc)


@pytest.mark.parametrize(
    ("value", "what"), [(7.5, "outside the allowed integer range"), (-1, "outside"), (31, "outside")]
)
def test_bad_label_range(value: float, what: str) -> None:
    frame = _table()
    frame["page_label"] = frame["page_label"].astype(float)
    frame.loc[5, "page_label"] = value
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    msg = _one_line(exc)
    assert what in msg and "'page_label'" in msg and "row 5" in msg


def test_label_wrong_type() -> None:
    frame = _table()
    frame["page_label"] = frame["page_label"].map({0: "bad", 1: "ok", 2: "good", 3: "great", 4: "perfect"})
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    assert "must be integer labels" in _one_line(exc)


def test_missing_label_allowed_unless_non_null() -> None:
    frame = _table()
    frame["page_label"] = frame["page_label"].astype("Int64")
    frame.loc[1, "page_label"] = pd.NA
    assert validate_page_table(frame)["page_label"].isna().sum() == 1
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame, non_null=("page_label",))
    assert "missing label" in _one_line(exc)


def test_nan_and_inf() -> None:
    frame = _table()
    frame.loc[3, "upstream_score"] = np.nan
    validate_page_table(frame)  # NaN upstream allowed by default
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame, non_null=("upstream_score",))
    assert "NaN" in _one_line(exc)
    frame = _table()
    frame.loc[6, "f0"] = np.inf
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    msg = _one_line(exc)
    assert "'f0'" in msg and "infinite" in msg and "row 6" in msg


def test_feature_of_wrong_type_is_not_a_feature_but_score_must_be_numeric() -> None:
    frame = _table()
    frame["upstream_score"] = "high"
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    assert "'upstream_score' must be numeric" in _one_line(exc)


def test_oversized_query() -> None:
    frame = pd.DataFrame({"qid": "big", "item_id": np.arange(10_001).astype(str), "modality": "web"})
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    assert "10001 rows, over the limit of 10000" in _one_line(exc)
    assert len(validate_page_table(frame, max_rows_per_query=None)) == 10_001


def test_empty_table_and_not_a_frame() -> None:
    with pytest.raises(PageTableError, match="no rows"):
        validate_page_table(_table().iloc[:0])
    with pytest.raises(PageTableError, match="must be a pandas DataFrame"):
        validate_page_table({"qid": [1]})  # type: ignore[arg-type]


def test_missing_ids() -> None:
    frame = _table()
    frame["item_id"] = frame["item_id"].astype(object)
    frame.loc[0, "item_id"] = None
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    assert "'item_id' has a missing value" in _one_line(exc)


def test_wide_table_is_not_fragmented_and_values_are_kept() -> None:
    """Converting features one column at a time left one block per column; pandas then warned on every insert."""
    rng = np.random.default_rng(0)
    n, width = 40, 150
    cols = {f"f{i}": rng.random(n).astype("float32") for i in range(width)}
    frame = pd.DataFrame(
        {"qid": np.repeat(["a", "b"], n // 2), "item_id": np.arange(n), "modality": "web", **cols, "flag": True}
    )
    frame.loc[3, "f7"] = np.nan
    out = validate_page_table(frame)
    assert out._mgr.nblocks < 10
    assert (out[list(cols)].dtypes == np.float64).all() and out["flag"].dtype == np.float64
    np.testing.assert_array_equal(out["f9"].to_numpy(), frame["f9"].to_numpy(dtype=np.float64))
    assert np.isnan(out.loc[3, "f7"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        shallow = out.copy(deep=False)
        shallow["upstream_score"] = 1.0


@pytest.mark.parametrize(
    "modality",
    [
        pd.Categorical(["web", "image", "web", "video"]),
        pd.Categorical(["web", "image", "web", "web"], categories=["zeta", "web", "image", "alpha"]),  # unused
        pd.Categorical([3, 1, 3, 2]),  # non-string categories
        pd.Categorical([1, "1", 2, 2], categories=[1, "1", 2]),  # two categories with one string: merged
        np.array(["web", "image", "web", "video"], dtype=object),
    ],
)
def test_modality_is_the_sorted_string_category_of_the_values_present(modality) -> None:
    frame = _table(n_q=1, size=4).assign(modality=modality)
    out = validate_page_table(frame)["modality"]
    expected = pd.Series(modality).astype(str).astype("category")  # the row-wise definition
    pd.testing.assert_series_equal(out, expected, check_names=False)
    assert list(out.cat.categories) == sorted(set(pd.Series(modality).astype(str)))


def test_same_item_in_two_queries_is_no_duplicate_but_repeated_within_one_is() -> None:
    frame = _table(n_q=2, size=3).assign(item_id=["a", "b", "c", "c", "b", "a"])
    validate_page_table(frame)  # every item once per query
    frame.loc[5, "item_id"] = "b"
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    assert "duplicate (qid, item_id) at row 5" in _one_line(exc)


def test_nullable_integer_labels_are_checked_as_they_are() -> None:
    frame = _table().astype({"page_label": "Int64"})
    frame.loc[1, "page_label"] = pd.NA
    out = validate_page_table(frame)
    assert str(out["page_label"].dtype) == "Int64" and out["page_label"].isna().sum() == 1
    frame.loc[3, "page_label"] = 31
    with pytest.raises(PageTableError) as exc:
        validate_page_table(frame)
    assert "value 31 at row 3" in _one_line(exc) and "0..30" in _one_line(exc)
    with pytest.raises(PageTableError, match="missing label at row 1"):
        validate_page_table(frame.drop(index=3).reset_index(drop=True), non_null=("page_label",))
