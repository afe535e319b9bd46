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

from smar_ltr.datasets.io import (
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
    read_notes,
    read_qrels,
    read_requests,
)
from smar_ltr.datasets.qilin_rows import (
    CARD_CLICKS,
    LLM,
    MODALITY_BY_NOTE_TYPE,
    UNJOINED_MODALITY,
    answer_cards,
    click_dwell_tiers,
    finish_page_table,
    note_rows,
    request_qids,
    single_modal_lists,
)
from smar_ltr.datasets.registry import DatasetSpec, register_dataset
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import validate_page_table
from smar_ltr.page_table.splits import PageSplits

__all__ = [
    "CARD_CLICKS",
    "CITATION",
    "LABEL_RULE",
    "LICENCE",
    "LLM",
    "MODALITY_BY_NOTE_TYPE",
    "NAME",
    "OPTIONS",
    "QILIN",
    "SOURCE",
    "UNJOINED_MODALITY",
    "click_dwell_tiers",
    "load_qilin",
]

NAME = "qilin"
SOURCE = "Hugging Face THUIR/Qilin (https://huggingface.co/datasets/THUIR/Qilin); qrels: GitHub RED-Search/Qilin"
LICENCE = "Apache-2.0 (Hugging Face dataset card)"
CITATION = (
    "Chen, Dong, Li, He, Gao, Cao, Wu, Yang, Xu, Hu, Ai, Liu. Qilin: A Multimodal Information Retrieval "
    "Dataset with APP-level User Sessions. SIGIR 2025. arXiv:2503.00501"
)
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


def _missing_files_error(data_dir: Path, missing: list[str]) -> DatasetError:
    return DatasetError(
        f"Qilin tables {', '.join(missing)} not found in {str(data_dir)!r} (expected <table>.parquet, "
        "<table>/*.parquet as on the Hugging Face hub, or <table>.csv); download THUIR/Qilin "
        "(https://huggingface.co/datasets/THUIR/Qilin, Apache-2.0) with `smar-ltr datasets fetch qilin`, "
        "then pass --data-dir or put the files in $SMAR_LTR_DATA/qilin"
    )


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
    cards = answer_cards(dqa_req)
    info["dqa_cards"] = len(cards)
    attach = cards["search_idx"].isin(list(page_qids)).to_numpy()
    attached = cards[attach].assign(qid=cards.loc[attach, "search_idx"].map(page_qids).to_numpy())
    own_rows = dqa_req.frame.loc[~dqa_req.frame["search_idx"].isin(list(page_qids)), "_row"]
    dqa_rows = note_rows(dqa_req, notes, opts["unjoined"], info)
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

    train_rows = note_rows(train_req, notes, opts["unjoined"], info)
    test_rows = note_rows(test_req, notes, opts["unjoined"], info)
    if opts["relevance"] == "qrels":
        test_rows = _apply_qrels(test_rows, data_dir, info)
        dtf = 0.0
    single_q, valid_q, train_q = split_queries(request_qids(train_req.frame).to_numpy(), [smf, vf], seed)
    parts: dict[str, list[pd.DataFrame]] = {
        "single": [train_rows[train_rows["qid"].isin(single_q)]],
        "train": [train_rows[train_rows["qid"].isin(train_q)]],
        "valid": [train_rows[train_rows["qid"].isin(valid_q)]],
        "test": [test_rows],
    }
    if dqa_req is not None:
        page_qids = {
            **dict(zip(train_req.frame["search_idx"], request_qids(train_req.frame), strict=True)),
            **dict(zip(test_req.frame["search_idx"], request_qids(test_req.frame), strict=True)),
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
    return finish_page_table(frame, f"qilin {name} pages")


def _single_pool(
    rows: pd.DataFrame, train: pd.DataFrame, list_size: int, seed: int, info: dict[str, Any]
) -> pd.DataFrame:
    """Single-modal pool: note lists per (page, modality), plus LLM cards grouped into pseudo-lists.

    A page shows at most one LLM card, so a card ranker cannot learn from one page; the cards of the pool's
    pages are shuffled (seeded) into lists of ``list_size`` cards with ``modal_label`` = the card's label.
    With fewer than two such cards, the page pool's cards are added (noted in ``info["llm_pool"]``).
    """
    notes = single_modal_lists(rows[rows["modality"] != LLM]) if (rows["modality"] != LLM).any() else None
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
        lists = finish_page_table(lists.drop(columns=["page_label"]), "qilin single-modal LLM lists", "modal_label")
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
