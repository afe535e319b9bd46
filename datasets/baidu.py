"""Baidu CrossRank, the whole-page data behind ``smar-ltr eval --dataset baidu``.

Released by Baidu with the SMAR code (GitHub ``zzs97str/SMAR``, folder ``CrossRank/``), CC BY-NC 4.0, research
use only. The adapter reads, from ``data_dir`` (``--data-dir``, default ``$SMAR_LTR_DATA/baidu``):

* request files ``Multimodal_Train.parquet`` (page pool and validation), ``Multimodal_Test.parquet`` (test),
  ``SingleModal_Train.parquet`` (single-modal pool): ``query``, ``search_idx``,
  ``search_result_details_with_idx`` = list of ``{candidate_idx, label, position, upstream_label,
  candidate_feat_4, candidate_feat_5}``;
* corpora ``MultiModalCorpus.parquet`` and ``SingleModalCorpus_part1..3.parquet`` (concatenated in order).
  A candidate joins its corpus row by ``candidate_idx``: the corpus's ``candidate_idx`` column when it has
  one, else the 0-based row position (how the authors' loader indexes it). Requests with ``search_idx <=
  24009`` use ``MultiModalCorpus``, larger ones the single-modal corpus (the authors' rule).

Mapping: ``qid`` = ``search_idx``; ``item_id`` = ``candidate_idx``; ``modality`` = ``"modal" + modal``
(``modal0`` / ``modal1``, the two result queues); ``page_label`` = ``label`` (graded 0-4, floats rounded to
ints); ``position`` as shipped (0 = top); ``upstream_score`` = the request's ``upstream_label`` (the
single-modal score, so stage 2.1 is skipped); text ``query``, ``title`` = ``real_title``, ``body`` =
``abs_basic`` (plus ``query_intent`` and ``title_highlight``); features ``query_feat_1..5`` and
``candidate_feat_1..5`` from the corpus (the same view for both modalities).

Splits: validation = a seeded ``valid_fraction`` of the ``Multimodal_Train`` queries; single-modal pool =
``SingleModal_Train`` with ``modal_label`` = its label, one list per (query, modality) with
``qid = "<search_idx>:<modality>"``. No qrels are released: binary metrics (MRR/MAP/Recall/Precision) count a
test candidate as relevant when ``label > 0`` (``relevance="positive"``, default) or when it has its query's
top label (``relevance="top"``); see :func:`binary_relevance`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from smar_ltr.datasets.io import (
    canonical_order,
    check_choice,
    check_fraction,
    check_options,
    check_struct_fields,
    check_types,
    example_row,
    explode_struct_list,
    read_arrow,
    require_columns,
    split_queries,
)
from smar_ltr.datasets.registry import DatasetSpec, register_dataset
from smar_ltr.errors import DatasetError
from smar_ltr.page_table.schema import MAX_LABEL, validate_page_table
from smar_ltr.page_table.splits import PageSplits

NAME = "baidu"
SOURCE = "GitHub zzs97str/SMAR, folder CrossRank/ (Baidu)"
LICENCE = "CC BY-NC 4.0, research use only (CrossRank terms of use)"
CITATION = (
    "Zhang, Yu, Xie, Nie, Wang, Zheng, Yin, Zhang. An Efficient Framework for Whole-Page Reranking via "
    "Single-Modal Supervision. arXiv:2510.16803, 2025"
)
TRAIN, TEST, SINGLE = "Multimodal_Train.parquet", "Multimodal_Test.parquet", "SingleModal_Train.parquet"
CORPUS = "MultiModalCorpus.parquet"
SINGLE_CORPUS = tuple(f"SingleModalCorpus_part{i}.parquet" for i in (1, 2, 3))
EXPECTED_FILES = (TRAIN, TEST, SINGLE, CORPUS, *SINGLE_CORPUS)
#: Requests up to this ``search_idx`` are whole-page annotated and join ``MultiModalCorpus``.
MULTIMODAL_MAX_SEARCH_IDX = 24009
DETAILS = "search_result_details_with_idx"
DETAIL_FIELDS = ("candidate_idx", "label", "position", "upstream_label")
FEATURES = tuple(f"query_feat_{i}" for i in range(1, 6)) + tuple(f"candidate_feat_{i}" for i in range(1, 6))
CORPUS_REQUIRED = ("modal", "real_title", "abs_basic", *FEATURES)
CORPUS_TEXT = {"real_title": "title", "abs_basic": "body", "query_intent": "query_intent"}
CORPUS_TEXT_OPTIONAL = {"title_highlight_basic": "title_highlight"}
#: The authors' metric set on CrossRank plus graded NDCG (what ``eval --dataset baidu`` reports).
BAIDU_REPORT_METRICS: tuple[str, ...] = (
    "mrr@1",
    "mrr@2",
    "map@1",
    "map@2",
    "recall@1",
    "recall@2",
    "precision@1",
    "precision@2",
    "bndcg",
    "ndcg@1",
    "ndcg@5",
    "ndcg@10",
)
RELEVANCE_RULES = {
    "positive": "a test candidate is relevant for binary metrics when its label > 0",
    "top": "a test candidate is relevant for binary metrics when it has its query's top label (and > 0)",
}
OPTIONS: dict[str, Any] = {"valid_fraction": 0.1, "relevance": "positive"}


def binary_relevance(frame: pd.DataFrame, rule: str = "positive", label: str = "page_label") -> np.ndarray:
    """Binary relevance for MRR / MAP / Recall / Precision / binary NDCG (no qrels are released).

    Parameters
    ----------
    frame : DataFrame
        Page table with ``qid`` and the label column.
    rule : {"positive", "top"}
        ``positive``: label > 0. ``top``: label equals the query's maximum label and is > 0.
    label : str
        Label column.

    Returns
    -------
    ndarray of bool, shape (n_rows,)
    """
    check_choice(NAME, "relevance", rule, tuple(RELEVANCE_RULES))
    values = pd.to_numeric(frame[label], errors="coerce").astype("float64").fillna(0.0)
    positive = (values > 0).to_numpy()
    if rule == "positive":
        return positive
    top = values.groupby(frame["qid"].to_numpy(), sort=False).transform("max").to_numpy()
    return positive & (values.to_numpy() == top)


def _missing_files_error(data_dir: Path, missing: list[str]) -> DatasetError:
    what = (
        "no CrossRank files" if len(missing) == len(EXPECTED_FILES) else f"CrossRank files {', '.join(missing)} missing"
    )
    return DatasetError(
        f"{what} in {str(data_dir)!r} (expected {', '.join(EXPECTED_FILES)}); they come from GitHub "
        "zzs97str/SMAR, folder CrossRank/ (CC BY-NC 4.0, research use only): download them and pass "
        "--data-dir DIR or put them in $SMAR_LTR_DATA/baidu"
    )


def _read_corpus(paths: list[Path]) -> tuple[pd.DataFrame, str]:
    """The corpus (parts concatenated in order), keyed by ``candidate_idx`` or row position."""
    kinds = {"modal": "key", "candidate_idx": "int-like"}
    kinds.update({c: "string" for c in (*CORPUS_TEXT, *CORPUS_TEXT_OPTIONAL)})
    kinds.update({c: "numeric" for c in (*FEATURES, "upstream_label")})
    wanted = list(
        dict.fromkeys([*CORPUS_REQUIRED, *CORPUS_TEXT, *CORPUS_TEXT_OPTIONAL, "upstream_label", "candidate_idx"])
    )
    tables = []
    for path in paths:  # check each part, so the message names the part at fault
        table = read_arrow(path, wanted)
        require_columns(table, CORPUS_REQUIRED, path)
        check_types(table, kinds, path)
        tables.append(table)
    label = paths[0].name if len(paths) == 1 else f"{paths[0].name}..{paths[-1].name}"
    try:
        frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except pa.ArrowException as exc:
        raise DatasetError(f"{label} do not share one schema ({str(exc).splitlines()[0]}); re-download them") from exc
    if frame["modal"].isna().any():
        i = int(np.flatnonzero(frame["modal"].isna().to_numpy())[0])
        raise DatasetError(f"{label} column 'modal' is empty at {example_row(frame, i, ['modal', 'real_title'])}")
    if "candidate_idx" in frame.columns:
        keys = frame.pop("candidate_idx")
        if keys.isna().any() or keys.duplicated().any():
            i = int(np.flatnonzero((keys.isna() | keys.duplicated()).to_numpy())[0])
            raise DatasetError(
                f"{label} column 'candidate_idx' must be unique and present, found {keys.iloc[i]!r} again at row {i}"
            )
        frame.index = pd.Index(keys.astype(np.int64))
    return frame, label


def _read_requests(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = read_arrow(path, ["query", "search_idx", DETAILS])
    require_columns(table, ["query", "search_idx", DETAILS], path)
    check_types(table, {"query": "string", "search_idx": "int-like", DETAILS: "struct-list"}, path)
    kinds = {
        "candidate_idx": "int-like",
        "label": "numeric",
        "position": "int-like",
        "upstream_label": "numeric",
    }
    check_struct_fields(table, DETAILS, kinds, path, DETAIL_FIELDS)
    results = explode_struct_list(table, DETAILS, path)
    requests = table.drop_columns([DETAILS]).to_pandas()
    return requests, results


def _join(
    path: Path, requests: pd.DataFrame, results: pd.DataFrame, corpora: dict[str, tuple[pd.DataFrame, str]]
) -> pd.DataFrame:
    """Candidates of one request file joined to their corpus rows (broken joins raise, naming an example)."""
    search_idx = requests["search_idx"].to_numpy()[results["_row"].to_numpy()]
    if np.isnan(np.asarray(search_idx, dtype=np.float64)).any() or results["candidate_idx"].isna().any():
        i = int(np.flatnonzero(results["candidate_idx"].isna().to_numpy() | pd.isna(search_idx))[0])
        raise DatasetError(
            f"{path.name} has a candidate without search_idx or candidate_idx at {example_row(results, i)}"
        )
    search_idx = np.asarray(search_idx, dtype=np.int64)
    cand = results["candidate_idx"].to_numpy(dtype=np.int64)
    use_multi = search_idx <= MULTIMODAL_MAX_SEARCH_IDX
    parts = []
    for key, mask in (("multi", use_multi), ("single", ~use_multi)):
        if not mask.any():
            continue
        corpus, corpus_name = corpora[key]
        rows = (
            corpus.index.get_indexer(pd.Index(cand[mask]))
            if not isinstance(corpus.index, pd.RangeIndex)
            else cand[mask]
        )
        bad = (rows < 0) | (rows >= len(corpus))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DatasetError(
                f"{path.name} column {DETAILS!r} field 'candidate_idx' = {int(cand[mask][j])} "
                f"(search_idx={int(search_idx[mask][j])}) is not in {corpus_name} ({len(corpus)} rows); the "
                f"files are incomplete or from different releases ({int(bad.sum())} candidates do not join)"
            )
        joined = corpus.iloc[rows].reset_index(drop=True)
        joined.index = np.flatnonzero(mask)
        parts.append(joined)
    corpus_rows = pd.concat(parts).sort_index()
    upstream = pd.to_numeric(results["upstream_label"], errors="coerce").to_numpy(dtype=np.float64)
    if "upstream_label" in corpus_rows.columns:
        fallback = pd.to_numeric(corpus_rows["upstream_label"], errors="coerce").to_numpy(dtype=np.float64)
        upstream = np.where(np.isnan(upstream), fallback, upstream)
    label = pd.to_numeric(results["label"], errors="coerce").to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "qid": search_idx.astype(str),
            "item_id": cand.astype(str),
            "modality": "modal" + corpus_rows["modal"].astype(str).str.strip().to_numpy(dtype=object),
            "_label": label,
            "upstream_score": upstream,
            "position": pd.to_numeric(results["position"], errors="coerce").round().astype("Int64").to_numpy(),
            "query": requests["query"].to_numpy()[results["_row"].to_numpy()],
        }
    )
    for src, dst in {**CORPUS_TEXT, **CORPUS_TEXT_OPTIONAL}.items():
        if src in corpus_rows.columns:
            frame[dst] = corpus_rows[src].to_numpy()
    for col in FEATURES:
        frame[col] = pd.to_numeric(corpus_rows[col], errors="coerce").to_numpy(dtype=np.float64)
    return frame


def _labelled(frame: pd.DataFrame, column: str, what: str, info: dict[str, Any]) -> pd.DataFrame:
    """Round graded labels to ints, drop duplicate candidates, sort and validate."""
    label = frame.pop("_label").to_numpy()
    bad = ~np.isfinite(label) | (label < 0) | (label > MAX_LABEL)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{what} column {DETAILS!r} field 'label' has {float(label[i])} at "
            f"search_idx={frame['qid'].iloc[i]} candidate_idx={frame['item_id'].iloc[i]}; labels must be "
            f"grades 0..{MAX_LABEL}"
        )
    info["labels_rounded"] = info.get("labels_rounded", 0) + int(np.sum(np.isfinite(label) & (label != np.rint(label))))
    frame[column] = pd.array(np.rint(label), dtype="Float64").astype("Int64")
    dup = frame.duplicated(["qid", "item_id"]).to_numpy()
    info["duplicate_candidates_dropped"] = info.get("duplicate_candidates_dropped", 0) + int(dup.sum())
    frame = frame[~dup].sort_values(["qid", "position"], kind="stable", na_position="last").reset_index(drop=True)
    return validate_page_table(
        canonical_order(frame), require=(column,), non_null=(column,), require_sorted=True, what=what
    )


def load_baidu(data_dir: Path | None, seed: int = 0, **options: Any) -> PageSplits:
    """Load CrossRank as :class:`PageSplits` (mapping and splits in the module docstring).

    Parameters
    ----------
    data_dir : Path
        Directory with the seven parquet files.
    seed : int
        Seed of the validation split.
    **options
        ``valid_fraction`` (default 0.1), ``relevance`` ("positive" | "top").

    Raises
    ------
    DatasetError
        Missing files (one line naming them, where they come from and where to put them), a missing column or
        field, a wrong type or a candidate that does not join its corpus (file, column and an example row).
    """
    opts = check_options(NAME, options, OPTIONS)
    vf = check_fraction(NAME, "valid_fraction", opts["valid_fraction"])
    check_choice(NAME, "relevance", opts["relevance"], tuple(RELEVANCE_RULES))
    data_dir = Path(data_dir) if data_dir is not None else BAIDU.default_dir()
    missing = [f for f in EXPECTED_FILES if not (data_dir / f).is_file()]
    if missing:
        raise _missing_files_error(data_dir, missing)
    corpora = {
        "multi": _read_corpus([data_dir / CORPUS]),
        "single": _read_corpus([data_dir / f for f in SINGLE_CORPUS]),
    }
    info: dict[str, Any] = {
        "source": SOURCE,
        "licence": LICENCE,
        "citation": CITATION,
        "simulated": False,
        "relevance_rule": opts["relevance"],
        "relevance_rule_text": RELEVANCE_RULES[opts["relevance"]],
        "report_metrics": list(BAIDU_REPORT_METRICS),
        "upstream_score": "shipped upstream_label (single-modal stage skipped)",
    }
    tables = {}
    for name in (TRAIN, TEST, SINGLE):
        requests, results = _read_requests(data_dir / name)
        tables[name] = _join(data_dir / name, requests, results, corpora)
    pages = tables[TRAIN]
    valid_q, _ = split_queries(pages["qid"].to_numpy(), [vf], seed)
    is_valid = pages["qid"].isin(valid_q).to_numpy()
    train = _labelled(pages[~is_valid].copy(), "page_label", TRAIN, info)
    valid = (
        _labelled(pages[is_valid].copy(), "page_label", f"{TRAIN} (validation part)", info) if is_valid.any() else None
    )
    test = _labelled(tables[TEST], "page_label", TEST, info)
    single = tables[SINGLE]
    single["qid"] = single["qid"] + ":" + single["modality"]
    single = _labelled(single, "modal_label", SINGLE, info)
    modal_features = {
        m: list(FEATURES) for m in sorted(set(train["modality"].astype(str)) | set(test["modality"].astype(str)))
    }
    return PageSplits(NAME, single, train, valid, test, modal_features, list(FEATURES), info)


BAIDU = register_dataset(
    DatasetSpec(
        name=NAME,
        description="Baidu CrossRank: two result queues per page, graded labels, shipped upstream scores",
        loader=load_baidu,
        licence=LICENCE,
        citation=CITATION,
        source=SOURCE,
        expected_files=EXPECTED_FILES,
        options=dict(OPTIONS),
    )
)
