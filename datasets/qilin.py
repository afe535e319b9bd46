"""Qilin (Xiaohongshu search, SIGIR 2025) as whole pages of image-text notes, video notes and LLM cards.

Layouts read from ``data_dir`` (``$SMAR_LTR_DATA/qilin`` by default), per table ``search_train``,
``search_test``, ``notes`` (required) and ``dqa`` (optional), the first that exists of:
``<table>.parquet``, ``<table>/*.parquet`` (Hugging Face ``THUIR/Qilin``:
``notes/train-00000-of-00005.parquet`` ...; parts concatenated in name order), ``<table>-*.parquet``,
``<table>.csv`` (the toy CSV dumps, whose nested columns are Python/NumPy reprs parsed by
:mod:`smar_ltr.datasets.qilin_parsing`). Official qrels are read from ``qrels/search.test.qrels.csv`` or
``search.test.qrels.csv``.

Mapping (one page = one search request, ``qid`` = ``search_idx``; ``item_id`` = ``note_idx``):

* modality from the joined note's ``note_type``: 1 -> ``image_text``, 2 -> ``video`` (other codes ->
  ``note_type<k>``); the DQA answer card (``dqa_output != '-1'``) is a candidate of modality ``llm`` with
  ``item_id = "llm:<search_idx>"``, text in ``answer``, ``position`` 0 (above the first note, whose position
  is 1).
* page labels (:func:`click_dwell_tiers`, the SMAR authors' simulation made explicit): 3 = clicked with dwell
  (``page_time > 0``) at or above the median dwell of the page's clicked-with-dwell notes, 2 = clicked with a
  shorter dwell, 1 = clicked without dwell, 0 = not clicked. The LLM card: 2 if ``is_like_clk == 1``, 1 if any
  other ``is_*_clk == 1``, else 0.
* text: ``query``, ``title`` = ``note_title``, ``body`` = ``note_content``, ``answer`` = ``dqa_output``.
* engagement: ``impressions`` = ``imp_num``, ``clicks`` = ``click_num``, ``likes`` = ``like_num``,
  ``dwell_time`` = ``view_time``; every other numeric note column is a feature under its own name, plus
  ``query_from_type``, and ``answer_length`` / ``ref_note_count`` for the card. Per-impression behaviour
  (click, like, page_time, ...) only produces labels and is never a feature.
* notes missing from the notes table (the toy notes do not join): option ``unjoined="drop"`` (default; count
  in ``info["unjoined_notes"]``) or ``"keep"`` (modality ``note_unknown``, NaN note features).

Splits (seeded): ``search_train`` queries -> single-modal pool (``single_modal_fraction``), validation
(``valid_fraction``) and page pool (the rest); ``search_test`` -> test. The single-modal pool holds its pages
split per modality, one list per (query, modality) with ``qid = "<qid>:<modality>"`` and ``modal_label`` = the
click tiers computed within that list; a page shows at most one LLM card, so the pool's cards are shuffled
into pseudo-lists of ``llm_list_size`` cards (``qid = "llm-list-<k>"``, ``modal_label`` = the card label) to
train a card ranker. DQA requests whose ``search_idx`` is a search page add their card to that page; the
others become pages of their own, split by ``single_modal_fraction`` / ``dqa_test_fraction`` /
``valid_fraction`` into single-modal pool / test / validation / page pool. Pages left with only a card (all
notes unjoined) are dropped. ``relevance="qrels"`` replaces the test labels by the official qrels (1 when
``(row of search_test, note_idx)`` is listed, else 0, cards 0; DQA-only pages then stay out of the test
split).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from smar_ltr.datasets.io import (
    canonical_order,
    check_choice,
    check_fraction,
    check_options,
    require_columns,
    split_queries,
)
from smar_ltr.datasets.qilin_parsing import (
    TABLES_REQUIRED,
    Requests,
    find_tables,
    parse_int_list,
    read_notes,
    read_qrels,
    read_requests,
)
from smar_ltr.datasets.registry import DatasetSpec, register_dataset
from smar_ltr.datasets.schema import validate_page_table
from smar_ltr.datasets.splits import PageSplits
from smar_ltr.errors import DatasetError

NAME = "qilin"
SOURCE = "Hugging Face THUIR/Qilin (https://huggingface.co/datasets/THUIR/Qilin); qrels: GitHub RED-Search/Qilin"
LICENCE = "Apache-2.0 (Hugging Face dataset card)"
CITATION = (
    "Chen, Dong, Li, He, Gao, Cao, Wu, Yang, Xu, Hu, Ai, Liu. Qilin: A Multimodal Information Retrieval "
    "Dataset with APP-level User Sessions. SIGIR 2025. arXiv:2503.00501"
)
CARD_CLICKS = ("is_like_clk", "is_onebox_trace_clk", "is_content_clk", "is_experience_clk")
MODALITY_BY_NOTE_TYPE = {1: "image_text", 2: "video"}
UNJOINED_MODALITY = "note_unknown"
LLM = "llm"
LABEL_RULE = (
    "page_label: 3 = clicked with dwell >= the page's median dwell of clicked-with-dwell notes, 2 = "
    "clicked with shorter dwell, 1 = clicked without dwell, 0 = not clicked; LLM card: 2 if is_like_clk == "
    "1, 1 if another is_*_clk == 1, else 0; modal_label: the same tiers within each (query, modality) list"
)
OPTIONS: dict[str, Any] = {
    "unjoined": "drop",
    "dqa": "pages",
    "relevance": "labels",
    "single_modal_fraction": 0.5,
    "valid_fraction": 0.1,
    "dqa_test_fraction": 0.2,
    "llm_list_size": 10,
}


def click_dwell_tiers(groups: Any, click: ArrayLike, dwell: ArrayLike) -> np.ndarray:
    """Graded labels from clicks and dwell time, ranked within each group.

    Parameters
    ----------
    groups : array-like of shape (n,) or list of such arrays
        Group key(s) per row (e.g. qid, or qid and modality).
    click : ndarray of shape (n,)
        1 when clicked (anything > 0 counts), 0 otherwise.
    dwell : ndarray of shape (n,)
        Dwell seconds; NaN or <= 0 means no dwell was recorded.

    Returns
    -------
    ndarray of int64, shape (n,)
        3 = clicked with dwell >= the group's median dwell over clicked-with-dwell rows, 2 = clicked with a
        shorter dwell, 1 = clicked without dwell, 0 = not clicked.
    """
    clicked = np.nan_to_num(np.asarray(click, dtype=np.float64)) > 0
    seconds = np.asarray(dwell, dtype=np.float64)
    with_dwell = clicked & np.isfinite(seconds) & (seconds > 0)
    keys = groups if isinstance(groups, list) else [groups]
    masked = pd.Series(np.where(with_dwell, seconds, np.nan))
    median = masked.groupby([pd.Series(np.asarray(k)) for k in keys], sort=False).transform("median").to_numpy()
    tiers = np.zeros(len(clicked), dtype=np.int64)
    tiers[clicked] = 1
    tiers[with_dwell] = 2
    tiers[with_dwell & (seconds >= median)] = 3
    return tiers


def _missing_files_error(data_dir: Path, missing: list[str]) -> DatasetError:
    return DatasetError(
        f"Qilin tables {', '.join(missing)} not found in {str(data_dir)!r} (expected <table>.parquet, "
        "<table>/*.parquet as on the Hugging Face hub, or <table>.csv); download THUIR/Qilin "
        "(https://huggingface.co/datasets/THUIR/Qilin, Apache-2.0) with `smar-ltr datasets fetch qilin`, "
        "then pass --data-dir or put the files in $SMAR_LTR_DATA/qilin"
    )


def _request_qids(frame: pd.DataFrame) -> pd.Series:
    """``qid`` per request (indexed by ``_row``): ``search_idx``, suffixed ``-<row>`` where it repeats."""
    ids = frame["search_idx"].round().astype(np.int64).astype(str)
    dup = frame["search_idx"].duplicated(keep=False).to_numpy()
    qids = ids.where(~dup, ids + "-" + frame["_row"].astype(str))
    return pd.Series(qids.to_numpy(), index=frame["_row"].to_numpy())


def _note_rows(req: Requests, notes: pd.DataFrame, unjoined: str, info: dict[str, Any]) -> pd.DataFrame:
    """One row per displayed note: keys, labels, text and note features (see the module docstring)."""
    res = req.results
    head = req.frame.set_index("_row")
    parent = res["_row"].to_numpy()
    rows = pd.DataFrame(
        {
            "_row": parent,
            "qid": _request_qids(req.frame).reindex(parent).to_numpy(),
            "note_idx": res["note_idx"].round().astype(np.int64).to_numpy(),
            "position": res["position"].to_numpy(),
            "_click": res["click"].to_numpy(),
            "_dwell": res["page_time"].to_numpy(),
            "query": head["query"].reindex(parent).to_numpy(),
        }
    )
    rows["item_id"] = rows["note_idx"].astype(str)
    if "query_from_type" in head.columns:
        rows["query_from_type"] = pd.to_numeric(head["query_from_type"], errors="coerce").reindex(parent).to_numpy()
    dup = rows.duplicated(["qid", "item_id"]).to_numpy()
    info["duplicate_results_dropped"] = info.get("duplicate_results_dropped", 0) + int(dup.sum())
    rows = rows[~dup]
    joined = rows["note_idx"].isin(notes["note_idx"]).to_numpy()
    info["unjoined_notes"] = info.get("unjoined_notes", 0) + int((~joined).sum())
    if unjoined == "drop":
        rows = rows[joined]
    rows = rows.merge(notes, on="note_idx", how="left")
    code = rows["note_type"].round()
    named = code.map(MODALITY_BY_NOTE_TYPE)
    other = "note_type" + code.astype("Int64").astype(str)
    rows["modality"] = named.where(named.notna(), other).where(code.notna(), UNJOINED_MODALITY).astype(str)
    rows["page_label"] = click_dwell_tiers(rows["qid"].to_numpy(), rows["_click"], rows["_dwell"])
    return rows.drop(columns=["note_type"])


def _cards(dqa: Requests) -> pd.DataFrame:
    """The LLM answer card of each DQA request that showed one (``dqa_output != '-1'``)."""
    frame = dqa.frame
    output = frame["dqa_output"].astype("string").fillna("-1").str.strip()
    frame = frame[(output != "-1").to_numpy()]
    answer = frame["dqa_output"].astype(str)
    clicks = {c: pd.to_numeric(frame[c], errors="coerce").fillna(0).to_numpy() for c in CARD_CLICKS if c in frame}
    liked = clicks.get("is_like_clk", np.zeros(len(frame))) == 1
    other = np.zeros(len(frame), dtype=bool)
    for name, values in clicks.items():
        other |= (values == 1) & (name != "is_like_clk")
    refs = frame["ref_note_idx_list"] if "ref_note_idx_list" in frame else pd.Series([None] * len(frame))
    return pd.DataFrame(
        {
            "_row": frame["_row"].to_numpy(),
            "qid": _request_qids(dqa.frame).reindex(frame["_row"]).to_numpy(),
            "search_idx": frame["search_idx"].to_numpy(),
            "item_id": "llm:" + frame["search_idx"].round().astype(np.int64).astype(str).to_numpy(),
            "modality": LLM,
            "position": 0,
            "page_label": np.where(liked, 2, np.where(other, 1, 0)),
            "query": frame["query"].to_numpy(),
            "query_from_type": pd.to_numeric(frame["query_from_type"], errors="coerce").to_numpy(dtype=np.float64)
            if "query_from_type" in frame
            else np.nan,
            "answer": answer.to_numpy(),
            "answer_length": answer.str.len().to_numpy(dtype=np.float64),
            # one small list per card (thousands of cards at most)
            "ref_note_count": [float(len(parse_int_list(v, what="dqa column 'ref_note_idx_list'"))) for v in refs],
        }
    )


def _finish(frame: pd.DataFrame, what: str, label: str = "page_label") -> pd.DataFrame:
    """Drop helper columns, stable-sort by (qid, position) and validate."""
    frame = frame.drop(columns=[c for c in ("_row", "_click", "_dwell", "note_idx", "search_idx") if c in frame])
    frame = frame.sort_values(["qid", "position"], kind="stable", na_position="last").reset_index(drop=True)
    return validate_page_table(
        canonical_order(frame), require=(label,), non_null=(label,), require_sorted=True, what=what
    )


def _single_modal(rows: pd.DataFrame) -> pd.DataFrame:
    """Note rows as one list per (query, modality), ``qid = "<qid>:<modality>"``, tiers as modal_label."""
    rows = rows[rows["modality"] != LLM].drop(columns=["page_label"])
    rows["modal_label"] = click_dwell_tiers(
        [rows["qid"].to_numpy(), rows["modality"].to_numpy()], rows["_click"], rows["_dwell"]
    )
    rows["qid"] = rows["qid"] + ":" + rows["modality"]
    return _finish(rows, "qilin single-modal pool", "modal_label")


def _dqa_parts(
    dqa_req: Requests,
    notes: pd.DataFrame,
    page_qids: dict[float, str],
    opts: dict[str, Any],
    fractions: tuple[float, float, float],
    seed: int,
    info: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Cards attached to search pages, and the DQA-only pages split into single / test / valid / train."""
    cards = _cards(dqa_req)
    info["dqa_cards"] = len(cards)
    attach = cards["search_idx"].isin(list(page_qids)).to_numpy()
    attached = cards[attach].assign(qid=cards.loc[attach, "search_idx"].map(page_qids).to_numpy())
    own_rows = dqa_req.frame.loc[~dqa_req.frame["search_idx"].isin(list(page_qids)), "_row"]
    dqa_rows = _note_rows(dqa_req, notes, opts["unjoined"], info)
    pages = pd.concat([dqa_rows[dqa_rows["_row"].isin(own_rows)], cards[~attach]], ignore_index=True)
    info["dqa_pages"] = int(pages["qid"].nunique())
    single_q, test_q, valid_q, train_q = split_queries(pages["qid"].to_numpy(), list(fractions), seed + 1)
    split = {"single": single_q, "test": test_q, "valid": valid_q, "train": train_q}
    return attached, {name: pages[pages["qid"].isin(q)] for name, q in split.items()}


def load_qilin(data_dir: Path | None, seed: int = 0, **options: Any) -> PageSplits:
    """Load Qilin as :class:`PageSplits` (mapping, labels and splits in the module docstring).

    Parameters
    ----------
    data_dir : Path
        Directory with the tables (Hugging Face parquet layout or toy CSV layout).
    seed : int
        Seed of the query splits.
    **options
        ``unjoined`` ("drop" | "keep"), ``dqa`` ("pages" | "off"), ``relevance`` ("labels" | "qrels"),
        ``single_modal_fraction``, ``valid_fraction``, ``dqa_test_fraction``, ``llm_list_size``.

    Raises
    ------
    DatasetError
        Missing tables (one line naming them and where they come from), a missing column or field, a wrong
        type, or a split left without note rows.
    """
    opts = check_options(NAME, options, OPTIONS)
    check_choice(NAME, "unjoined", opts["unjoined"], ("drop", "keep"))
    check_choice(NAME, "dqa", opts["dqa"], ("pages", "off"))
    check_choice(NAME, "relevance", opts["relevance"], ("labels", "qrels"))
    smf = check_fraction(NAME, "single_modal_fraction", opts["single_modal_fraction"])
    vf = check_fraction(NAME, "valid_fraction", opts["valid_fraction"], 1.0 - smf)
    dtf = check_fraction(NAME, "dqa_test_fraction", opts["dqa_test_fraction"], 1.0 - smf - vf)
    list_size = opts["llm_list_size"]
    if not isinstance(list_size, int) or list_size < 2:
        raise DatasetError(f"dataset 'qilin' option llm_list_size={list_size!r} must be an integer >= 2")
    data_dir = Path(data_dir) if data_dir is not None else QILIN.default_dir()
    tables = find_tables(data_dir)
    missing = [t for t in TABLES_REQUIRED if t not in tables]
    if missing:
        raise _missing_files_error(data_dir, missing)
    info: dict[str, Any] = {
        "source": SOURCE,
        "licence": LICENCE,
        "citation": CITATION,
        "simulated": False,
        "label_source": "derived from real clicks and dwell time (not human judgements)",
        "label_rule": LABEL_RULE,
        "layout": "csv" if tables["search_train"][0].suffix == ".csv" else "parquet",
        "unjoined_policy": opts["unjoined"],
        "relevance": opts["relevance"],
        "dqa_cards": 0,
        "dqa_pages": 0,
    }
    train_req = read_requests(tables["search_train"])
    test_req = read_requests(tables["search_test"])
    dqa_req = None
    if opts["dqa"] == "pages" and "dqa" in tables:
        dqa_req = read_requests(tables["dqa"], ("dqa_output", "ref_note_idx_list", *CARD_CLICKS))
        require_columns(dqa_req.frame, ["dqa_output"], tables["dqa"][0])
    needed = np.concatenate([r.results["note_idx"].to_numpy() for r in (train_req, test_req, dqa_req) if r])
    notes, note_features = read_notes(tables["notes"], needed.round().astype(np.int64))

    train_rows = _note_rows(train_req, notes, opts["unjoined"], info)
    test_rows = _note_rows(test_req, notes, opts["unjoined"], info)
    if opts["relevance"] == "qrels":
        test_rows = _apply_qrels(test_rows, data_dir, info)
        dtf = 0.0
    single_q, valid_q, train_q = split_queries(_request_qids(train_req.frame).to_numpy(), [smf, vf], seed)
    parts: dict[str, list[pd.DataFrame]] = {
        "single": [train_rows[train_rows["qid"].isin(single_q)]],
        "train": [train_rows[train_rows["qid"].isin(train_q)]],
        "valid": [train_rows[train_rows["qid"].isin(valid_q)]],
        "test": [test_rows],
    }
    if dqa_req is not None:
        page_qids = {
            **dict(zip(train_req.frame["search_idx"], _request_qids(train_req.frame), strict=True)),
            **dict(zip(test_req.frame["search_idx"], _request_qids(test_req.frame), strict=True)),
        }
        attached, own = _dqa_parts(dqa_req, notes, page_qids, opts, (smf, dtf, vf), seed, info)
        for name, frames in parts.items():
            frames.append(attached[attached["qid"].isin(frames[0]["qid"])])
            frames.append(own[name])
    splits = {name: _page_split(name, parts[name], opts, data_dir, info) for name in ("train", "valid", "test")}
    train, test = splits["train"], splits["test"]
    assert train is not None and test is not None
    single = _single_pool(pd.concat(parts["single"], ignore_index=True), train, list_size, seed, info)
    card_features = [c for c in ("answer_length", "ref_note_count") if c in train.columns]
    page_features = [c for c in ("query_from_type", *note_features) if c in train.columns] + card_features
    modal_features: dict[str, list[str]] = {}
    for frame in (single, train, splits["valid"], test):
        for m in [] if frame is None else frame["modality"].astype(str).unique():
            if m == LLM:
                modal_features[m] = card_features
            elif m == "image_text":
                modal_features[m] = [c for c in note_features if not c.startswith("video_")]
            else:
                modal_features[m] = list(note_features)
    return PageSplits(
        NAME, single, train, splits["valid"], test, dict(sorted(modal_features.items())), page_features, info
    )


def _page_split(
    name: str, frames: list[pd.DataFrame], opts: dict[str, Any], data_dir: Path, info: dict[str, Any]
) -> pd.DataFrame | None:
    """One page split: pieces concatenated, card-only pages dropped, validated (None for an empty valid)."""
    kept = [f for f in frames if len(f)]
    frame = pd.concat(kept, ignore_index=True) if kept else None
    if frame is not None:  # a page whose notes all failed to join would hold only its LLM card
        has_notes = (frame["modality"] != LLM).groupby(frame["qid"]).transform("any").to_numpy()
        dropped = int(frame.loc[~has_notes, "qid"].nunique())
        info["card_only_pages_dropped"] = info.get("card_only_pages_dropped", 0) + dropped
        frame = frame[has_notes] if has_notes.any() else None
    if frame is None and name == "valid":
        return None
    if frame is None:
        raise DatasetError(
            f"Qilin {name} split has no note rows ({info['unjoined_notes']} results did not join the notes "
            f"table in {str(data_dir)!r}); check that the notes table is complete, or set the option "
            "unjoined=keep (fit/eval: --set dataset_options.unjoined=keep; datasets info: -o unjoined=keep) "
            f"to keep them as modality {UNJOINED_MODALITY!r}"
        )
    if name == "test" and opts["relevance"] == "qrels":
        frame["page_label"] = frame["page_label"].where(frame["modality"] != LLM, 0)
    return _finish(frame, f"qilin {name} pages")


def _single_pool(
    rows: pd.DataFrame, train: pd.DataFrame, list_size: int, seed: int, info: dict[str, Any]
) -> pd.DataFrame:
    """Single-modal pool: note lists per (page, modality), plus LLM cards grouped into pseudo-lists.

    A page shows at most one LLM card, so a card ranker cannot learn from one page; the cards of the pool's
    pages are shuffled (seeded) into lists of ``list_size`` cards with ``modal_label`` = the card's label.
    With fewer than two such cards, the page pool's cards are added (noted in ``info["llm_pool"]``).
    """
    notes = _single_modal(rows[rows["modality"] != LLM]) if (rows["modality"] != LLM).any() else None
    cards = rows[rows["modality"] == LLM]
    info["llm_pool"] = "cards of the single-modal pool pages"
    if len(cards) < 2:
        cards = pd.concat([cards, train[train["modality"].astype(str) == LLM]], ignore_index=True)
        info["llm_pool"] = "cards of the single-modal pool and page pool (fewer than two in the single-modal pool)"
    lists = None
    if len(cards) >= 2:
        order = np.random.default_rng([seed, 7]).permutation(len(cards))
        lists = cards.iloc[order].assign(
            qid=[f"llm-list-{k // list_size:05d}" for k in range(len(cards))],
            modal_label=cards["page_label"].to_numpy()[order],
        )
        lists = _finish(lists.drop(columns=["page_label"]), "qilin single-modal LLM lists", "modal_label")
    else:
        info["llm_pool"] = "none (no LLM cards to train a card ranker)"
    pieces = [f for f in (notes, lists) if f is not None and len(f)]
    if not pieces:
        return train.iloc[:0].drop(columns="page_label")
    pool = pd.concat(pieces, ignore_index=True).sort_values("qid", kind="stable").reset_index(drop=True)
    return validate_page_table(pool, require=("modal_label",), require_sorted=True, what="qilin single-modal pool")


def _apply_qrels(test_rows: pd.DataFrame, data_dir: Path, info: dict[str, Any]) -> pd.DataFrame:
    """Official qrels as binary test labels: 1 when (row of search_test, note_idx) is listed, else 0."""
    qrels, qfile = read_qrels(data_dir)
    if qrels is None or qfile is None:
        raise DatasetError(
            "relevance='qrels' needs the official qrels: put search.test.qrels.csv (GitHub "
            f"RED-Search/Qilin, folder datasets/) into {str(data_dir / 'qrels')!r}, or use relevance='labels'"
        )
    hits = qrels.drop_duplicates().assign(_hit=1)
    listed = test_rows[["_row", "note_idx"]].merge(hits, on=["_row", "note_idx"], how="left")
    out = test_rows.assign(page_label=listed["_hit"].fillna(0).astype(np.int64).to_numpy())
    info["qrels_file"] = qfile.name
    info["qrels_matched"] = int(listed["_hit"].notna().sum())
    info["qrels_unmatched"] = len(hits) - info["qrels_matched"]
    return out


class _QilinSpec(DatasetSpec):
    def is_present(self, data_dir: str | Path | None = None) -> bool:
        d = Path(data_dir) if data_dir is not None else self.default_dir()
        return d.is_dir() and all(t in find_tables(d) for t in TABLES_REQUIRED)


QILIN = register_dataset(
    _QilinSpec(
        name=NAME,
        description="Qilin (Xiaohongshu): image-text and video notes, LLM answer cards; click/dwell labels",
        loader=load_qilin,
        licence=LICENCE,
        citation=CITATION,
        source=SOURCE,
        expected_files=("search_train/", "search_test/", "notes/", "dqa/ (optional)"),
        options=dict(OPTIONS),
    )
)
