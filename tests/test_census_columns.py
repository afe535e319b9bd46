"""Census, column types: ``SMARRanker`` and ``smar_ltr.fit`` treat the same column types the same way (issue 27,
item 4): datetime and timedelta refused by name, bool read as 0/1 by both, one query id as two types refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import smar_ltr
from smar_ltr import SMARRanker
from smar_ltr.errors import PageTableError

FAST = {"n_estimators": 8, "learning_rate": 0.3, "num_leaves": 7, "min_data_in_leaf": 5, "early_stopping_rounds": 0}
N, PER_QUERY = 240, 12


def _arrays(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=N)
    return {
        "X": pd.DataFrame({"f0": latent + rng.normal(0, 0.5, N), "flag": latent > 0}),
        "y": np.clip(np.round(latent + 1.5), 0, 3),
        "qid": np.repeat(np.arange(N // PER_QUERY), PER_QUERY),
        "modality": np.where(rng.random(N) < 0.5, "web", "image"),
        "upstream": latent + rng.normal(0, 0.4, N),
    }


def _ranker(X: pd.DataFrame, a: dict, qid=None) -> SMARRanker:
    qid = a["qid"] if qid is None else qid
    return SMARRanker(**FAST).fit(X, a["y"], qid=qid, modality=a["modality"], upstream_score=a["upstream"])


def _pages(X: pd.DataFrame, a: dict, qid=None) -> pd.DataFrame:
    qid = a["qid"] if qid is None else qid
    keys = {"qid": qid, "item_id": np.arange(N).astype(str), "modality": a["modality"], "page_label": a["y"]}
    return pd.DataFrame(keys).assign(upstream_score=a["upstream"], **{c: X[c] for c in X.columns})


def _fit(pages: pd.DataFrame) -> smar_ltr.SmarModel:
    return smar_ltr.fit(pages, reranker=FAST, budget={"strategy": "top", "budget": 0.5}, seed=0)


TIMES = pd.Series(pd.date_range("2024-01-01", periods=N, freq="h"))
DATES = {
    "datetime": TIMES,
    "tz-aware datetime": TIMES.dt.tz_localize("Europe/Paris"),
    "timedelta": TIMES - TIMES.iloc[0],
}


@pytest.mark.parametrize("kind", sorted(DATES))
def test_dates_are_refused_by_name_on_both_routes(kind) -> None:
    a = _arrays()
    X = a["X"].assign(when=DATES[kind].to_numpy())
    word = "timedelta" if kind == "timedelta" else "datetime"
    with pytest.raises(PageTableError, match=f"column 'when' holds {word} values"):
        _ranker(X, a)
    with pytest.raises(PageTableError, match=f"column 'when' holds {word} values"):
        _fit(_pages(X, a))


def test_bool_columns_are_read_as_0_1_on_both_routes() -> None:
    a = _arrays()
    as_bool, as_float = a["X"], a["X"].assign(flag=a["X"]["flag"].astype(float))
    ranker = _ranker(as_bool, a)
    assert "flag" in ranker.feature_names_in_
    np.testing.assert_array_equal(
        ranker.predict(as_bool, qid=a["qid"]), _ranker(as_float, a).predict(as_float, qid=a["qid"])
    )
    model = _fit(_pages(as_bool, a))
    assert "flag" in model.feature_names  # smar_ltr.fit dropped bool columns that SMARRanker used
    pages = _pages(as_bool, a)
    np.testing.assert_array_equal(model.score(pages), _fit(_pages(as_float, a)).score(_pages(as_float, a)))


def test_one_query_id_as_two_types_is_refused_on_both_routes() -> None:
    a = _arrays()
    qid = a["qid"].astype(object)
    qid[qid == 3] = "3"  # query 3 as str ...
    qid[np.flatnonzero(a["qid"] == 3)[0]] = 3  # ... and one of its rows as int
    with pytest.raises(PageTableError, match=r"holds the id '3' as two types \(int and str\)"):
        _ranker(a["X"], a, qid)
    with pytest.raises(PageTableError, match=r"holds the id '3' as two types \(int and str\)"):
        _fit(_pages(a["X"], a, qid))


def test_ids_of_several_types_that_never_collide_are_compared_as_given() -> None:
    a = _arrays()
    qid = a["qid"].astype(object)
    qid[qid == 3] = "q3"  # one query named by a str, the others by ints: no id is two
    assert np.isfinite(_ranker(a["X"], a, qid).predict(a["X"], qid=qid)).all()
