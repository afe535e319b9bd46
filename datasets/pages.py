"""Bring your own data: page tables in a directory (``smar-ltr ... --dataset pages --data-dir DIR``).

Files (each ``.parquet`` or ``.csv``, in the canonical page-table schema of ``datasets.md`` section 1):

=================== ========== ==============================================================================
file                required   content
=================== ========== ==============================================================================
``train``           yes        page pool: ``qid``, ``item_id``, ``modality``, ``page_label`` (+ features)
``test``            yes        test pages, same columns, with ``page_label``
``valid``           no         validation pages, same columns
``single_modal``    no*        single-modal lists with ``modal_label``; *optional when every page row has
                               ``upstream_score`` (the single-modal stage is then skipped)
``meta.json``       no         ``{"modal_features": {modality: [columns]}, "page_features": [columns],
                               "max_label", "description", "licence", "citation", "source"}``
=================== ========== ==============================================================================

A missing ``page_label`` (empty, NaN, null) means "not annotated": training uses the annotated rows (strategy
``given``), validation and test metrics only the annotated rows. ``max_label`` declares the label scale's
highest grade (needed by the ``iso-anchor`` strategy).

Rows of a query must be contiguous (they are then stable-sorted by ``qid``); a query may not appear in two of
train / valid / test. Without ``meta.json``, a modality's features are the numeric columns with at least one
value on that modality's rows, and the page features are all numeric non-reserved columns of ``train``.
Other columns of ``train`` that hold text are not features: a column whose values are mostly numbers written
as text is refused (write it as numbers), any other is left out with a
:class:`~smar_ltr.errors.SmarWarning` that names it (listing ``page_features`` in ``meta.json`` states the
choice and silences the warning); the built-in text columns (``query``, ``title``, ...) feed the text
features. Every problem is reported as one line naming the file, the column and an example row.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from smar_ltr.datasets.io import check_options, read_frame
from smar_ltr.datasets.registry import DatasetSpec, register_dataset
from smar_ltr.errors import DatasetError, SmarWarning
from smar_ltr.page_table.schema import (
    RESERVED_COLUMNS,
    TEXT_COLUMNS,
    feature_columns,
    sort_pages,
    validate_page_table,
)
from smar_ltr.page_table.splits import PageSplits

NAME = "pages"
ROLES = ("single_modal", "train", "valid", "test")
META = "meta.json"
META_KEYS = ("modal_features", "page_features", "max_label", "description", "licence", "citation", "source")
LABEL_OF = {"single_modal": "modal_label", "train": "page_label", "valid": "page_label", "test": "page_label"}


def find_role(data_dir: Path, role: str) -> Path | None:
    """``<role>.parquet`` or ``<role>.csv`` in ``data_dir`` (parquet first), or None."""
    for suffix in (".parquet", ".csv"):
        path = data_dir / f"{role}{suffix}"
        if path.is_file():
            return path
    return None


def read_meta(data_dir: Path) -> dict[str, Any]:
    """``meta.json`` of a pages folder as a dict (``{}`` when absent); refuses bad JSON or unknown keys."""
    path = data_dir / META
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{META} is not valid JSON ({exc}); fix it or remove it") from exc
    if not isinstance(meta, dict):
        raise DatasetError(f"{META} must hold a JSON object with keys {', '.join(META_KEYS)}")
    unknown = sorted(set(meta) - set(META_KEYS))
    if unknown:
        raise DatasetError(f"{META} has unknown key {unknown[0]!r}; allowed keys: {', '.join(META_KEYS)}")
    return meta


def check_feature_list(columns: Any, frame: pd.DataFrame, where: str) -> list[str]:
    """``meta.json``'s list ``where`` checked against ``frame``'s numeric columns (by dtype: an empty frame works)."""
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise DatasetError(f"{META} {where} must be a list of column names")
    numeric = set(feature_columns(frame))
    for col in columns:
        if col not in numeric:
            state = "is not numeric" if col in frame.columns else "is not a column of train"
            raise DatasetError(f"{META} {where} lists {col!r}, which {state}; list numeric feature columns only")
    return list(columns)


def _check_text_columns(frame: pd.DataFrame, file: str) -> list[str]:
    """Non-numeric columns that are neither reserved nor built-in text: refused when mostly numbers written as
    text, otherwise left out of the features with a :class:`SmarWarning`. Returns the columns left out."""
    numeric = set(feature_columns(frame))
    others = [c for c in frame.columns if c not in numeric and c not in RESERVED_COLUMNS and c not in TEXT_COLUMNS]
    left_out = []
    for col in others:
        values = frame[col].dropna()
        if pd.api.types.is_bool_dtype(values) or not len(values):
            continue
        parsed = pd.to_numeric(values, errors="coerce")
        if parsed.notna().mean() >= 0.5:
            bad = values[parsed.isna()]
            example = f"; e.g. {bad.iloc[0]!r}" if len(bad) else ""
            raise DatasetError(
                f"{file} column {col!r} holds numbers stored as text{example}; write it as a numeric column "
                "(empty or NaN for missing values)"
            )
        left_out.append(str(col))
    if left_out:
        warnings.warn(
            f"{file}: {len(left_out)} text column(s) not used as features: {', '.join(map(repr, left_out))} "
            "(features must be numeric; list page_features in meta.json to state the choice)",
            SmarWarning,
            stacklevel=2,
        )
    return left_out


def _default_modal_features(frame: pd.DataFrame) -> dict[str, list[str]]:
    features = feature_columns(frame)
    present = frame[features].notna().groupby(frame["modality"].astype(str), observed=True).any()
    return {str(m): [c for c in features if bool(present.loc[m, c])] for m in present.index}


def load_pages(data_dir: Path | None, seed: int = 0, **options: Any) -> PageSplits:
    """Load user page tables from ``data_dir`` (layout in the module docstring).

    Parameters
    ----------
    data_dir : Path
        Directory with ``train`` and ``test`` (and optionally ``valid``, ``single_modal``, ``meta.json``).
    seed : int
        Unused (the splits are given); accepted for a uniform loader signature.

    Raises
    ------
    DatasetError, PageTableError
        Missing files, overlapping queries, bad ``meta.json``, or any schema problem (named by file).
    """
    check_options(NAME, options, {})
    if data_dir is None:
        data_dir = PAGES.default_dir()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DatasetError(
            f"data folder {str(data_dir)!r} does not exist or is not a folder; pass the folder that holds "
            "train.parquet and test.parquet"
        )
    paths = {role: find_role(data_dir, role) for role in ROLES} if data_dir.is_dir() else dict.fromkeys(ROLES)
    missing = [f"{r}.parquet" for r in ("train", "test") if paths[r] is None]
    if missing:
        raise DatasetError(
            f"page tables missing in {str(data_dir)!r}: {', '.join(missing)} (expected train.parquet and "
            "test.parquet, optional valid.parquet and single_modal.parquet; .csv works too) in the "
            "page-table schema: qid, item_id, modality, page_label (modal_label in single_modal), "
            "features; pass --data-dir DIR"
        )
    tables: dict[str, pd.DataFrame | None] = {}
    skip_stage = paths["single_modal"] is None
    for role, path in paths.items():
        if path is None:
            tables[role] = None
            continue
        raw = read_frame(path, dtype={"qid": str, "item_id": str, "modality": str})
        shipped = ["upstream_score"] if skip_stage and role != "single_modal" else []
        # a missing page_label means "not annotated" (partial labels are normal); modal labels train rankers
        non_null = [LABEL_OF[role]] * (role == "single_modal") + shipped
        if skip_stage and role != "single_modal" and "upstream_score" not in raw.columns:
            raise DatasetError(
                f"{path.name} has no column 'upstream_score' and single_modal.parquet is absent; add "
                "single_modal.parquet (lists with modal_label) or an upstream_score on every page row"
            )
        table = validate_page_table(raw, require=[LABEL_OF[role], *shipped], non_null=non_null, what=path.name)
        tables[role] = sort_pages(table)
    pages = {r: t for r, t in tables.items() if t is not None and r != "single_modal"}
    names = {r: p.name for r, p in paths.items() if p is not None}
    roles = list(pages)
    for i, a in enumerate(roles):
        for b in roles[i + 1 :]:
            shared = pd.Index(pages[a]["qid"].unique()).intersection(pages[b]["qid"].unique())
            if len(shared):
                raise DatasetError(
                    f"query {shared[0]!r} appears in both {names[a]} and {names[b]} ({len(shared)} shared "
                    "queries); splits must not share queries"
                )
    train, test = tables["train"], tables["test"]
    assert train is not None and test is not None
    meta = read_meta(data_dir)
    if "page_features" in meta:
        page_features = check_feature_list(meta["page_features"], train, "page_features")
    else:
        page_features = feature_columns(train)
        _check_text_columns(train, names["train"])
    for role in ("valid", "test"):
        frame = tables[role]
        lacking = [c for c in page_features if frame is not None and c not in frame.columns]
        if lacking:
            raise DatasetError(
                f"{names[role]} lacks feature column {lacking[0]!r} that train has; add it (NaN is fine)"
            )
    single = tables["single_modal"]
    if "modal_features" in meta:
        if not isinstance(meta["modal_features"], dict):
            raise DatasetError(f"{META} modal_features must map each modality to a list of columns")
        modal_features = {
            str(m): check_feature_list(cols, single if single is not None else train, f"modal_features[{m!r}]")
            for m, cols in meta["modal_features"].items()
        }
    else:
        modal_features = _default_modal_features(single if single is not None else train)
    if single is None:
        single = train.iloc[:0].drop(columns=["page_label"])
    info = {
        "source": meta.get("source", f"user files in {data_dir}"),
        "licence": meta.get("licence", "user data"),
        "citation": meta.get("citation", ""),
        "description": meta.get("description", ""),
        "simulated": False,
        **({"max_label": meta["max_label"]} if "max_label" in meta else {}),
        "files": {role: path.name for role, path in paths.items() if path is not None},
    }
    return PageSplits(NAME, single, train, tables["valid"], test, modal_features, page_features, info)


def summarize_splits(splits: PageSplits) -> dict[str, Any]:
    """Counts for ``smar-ltr datasets info``: per split the queries, candidates, modality mix and labels.

    Returns
    -------
    dict
        ``{"name", "splits": {role: {"queries", "candidates", "modalities", "label", "labels"}},
        "modal_features", "page_features", "has_upstream_scores", "info"}`` with plain Python values.
    """
    out: dict[str, Any] = {"name": splits.name, "splits": {}}
    for role in ROLES:
        frame = getattr(splits, role)
        if frame is None or not len(frame):
            out["splits"][role] = {
                "queries": 0,
                "candidates": 0,
                "modalities": {},
                "label": None,
                "labels": {},
            }
            continue
        label = "modal_label" if role == "single_modal" else "page_label"
        labels = frame[label].value_counts(dropna=False).sort_index() if label in frame.columns else pd.Series()
        out["splits"][role] = {
            "queries": int(frame["qid"].nunique()),
            "candidates": len(frame),
            "modalities": {
                str(k): int(v) for k, v in frame["modality"].astype(str).value_counts().sort_index().items()
            },
            "label": label if label in frame.columns else None,
            "labels": {("NA" if k is pd.NA or k != k else str(k)): int(v) for k, v in labels.items()},
        }
    out["modal_features"] = {m: len(c) for m, c in splits.modal_features.items()}
    out["page_features"] = len(splits.page_features)
    out["has_upstream_scores"] = splits.has_upstream_scores
    out["info"] = {k: v for k, v in splits.info.items() if isinstance(v, (str, int, float, bool, list)) or v is None}
    return out


class _PagesSpec(DatasetSpec):
    def is_present(self, data_dir: str | Path | None = None) -> bool:
        d = Path(data_dir) if data_dir is not None else self.default_dir()
        return d.is_dir() and all(find_role(d, r) is not None for r in ("train", "test"))


PAGES = register_dataset(
    _PagesSpec(
        name=NAME,
        description="Your own page tables: train/test (+ valid, single_modal) parquet or CSV files",
        loader=load_pages,
        licence="user data",
        citation="",
        source="local directory (--data-dir)",
        expected_files=("train.parquet", "test.parquet"),
        options={},
    )
)
