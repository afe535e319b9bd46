"""Export a campaign as page tables that ``smar-ltr fit --dataset pages --data-dir DIR`` trains on directly.

``train`` (and ``valid``) are the campaign's pages with ``page_label`` set to the recorded answers and missing
everywhere else (not annotated; a campaign that did not annotate ``valid`` exports those pages with no label at
all); iso-anchor adds its inferred labels in a column of their own, :data:`INFERRED_LABEL`, which no feature
reads. ``test`` and ``single_modal`` are copied as they are, and ``meta.json`` lists the feature columns and
declares the label scale (``max_label``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.campaign.campaign import open_campaign
from smar_ltr.campaign.pool import split_part
from smar_ltr.campaign.rounds import ISO, answered_labels, split_progress
from smar_ltr.campaign.store import campaign_lock, check_campaign_dir
from smar_ltr.core.artifact_kinds import CAMPAIGN_EXPORT, check_output
from smar_ltr.core.atomic import replacing_dir, write_dir_atomic
from smar_ltr.errors import CampaignError
from smar_ltr.page_table.schema import INFERRED_LABEL, PAGE_LABEL
from smar_ltr.page_table.splits import PageSplits

EXPORT_NOTE = "campaign.json"


def _grades(values: np.ndarray) -> pd.Series:
    """Float grades with NaN to nullable Int64 (NA where missing)."""
    return pd.Series(values, dtype="float64").astype("Int64")


def _labelled(frame: pd.DataFrame, labels: np.ndarray, inferred: np.ndarray | None) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    out[PAGE_LABEL] = _grades(labels)
    if inferred is not None:
        out[INFERRED_LABEL] = _grades(inferred)
    return out


def campaign_tables(directory: str | Path, splits: PageSplits) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The exported page tables by role and a summary (labels per split, done), without writing anything."""
    directory = check_campaign_dir(Path(directory))
    with campaign_lock(directory):
        settings, pool, state = open_campaign(directory, splits)
    tables: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    for role in settings["splits"]:
        part = split_part(pool, role)
        labels = answered_labels(part, state.answers)
        inferred = None
        if settings["strategy"] == ISO:
            skipped = frozenset(state.unjudgeable())
            inferred = split_progress(part, settings, state.answers, skipped).inferred_label
        tables[role] = _labelled(getattr(splits, role), labels, inferred)
        counts[role] = int((~np.isnan(labels)).sum())
    if splits.valid is not None and "valid" not in tables:  # pages for early stopping, their labels never read
        tables["valid"] = splits.valid.reset_index(drop=True).assign(
            **{PAGE_LABEL: pd.array([pd.NA] * len(splits.valid), dtype="Int64")}
        )
    tables["test"] = splits.test.reset_index(drop=True)
    if splits.single_modal is not None and len(splits.single_modal):
        tables["single_modal"] = splits.single_modal.reset_index(drop=True)
    summary = {
        "labels": counts,
        "done": state.done,
        "strategy": settings["strategy"],
        "rounds": state.round,
        "label_scale": settings["label_scale"],
    }
    return tables, summary


def export_campaign(directory: str | Path, splits: PageSplits, out: str | Path) -> dict[str, Any]:
    """Write the campaign's labelled pages to ``out`` (new or empty directory, or an earlier export of it).

    Returns
    -------
    dict
        ``{"out", "files", "labels": {split: n}, "done", "strategy", "rounds"}``.
    """
    out = Path(out)
    campaign = str(Path(directory).resolve())
    # an earlier export of this campaign is replaced; another campaign's export, the campaign itself, a run or
    # any other folder is refused, and so is a folder inside an artifact
    check_output(out, CAMPAIGN_EXPORT, "export folder", id=campaign, error=CampaignError)
    tables, summary = campaign_tables(directory, splits)
    meta = {
        "modal_features": splits.modal_features,
        "page_features": [c for c in splits.page_features if c != INFERRED_LABEL],
        "max_label": int(summary["label_scale"][1]),
        "description": f"pages labelled by the annotation campaign {Path(directory).name}",
        "source": str(splits.info.get("source", splits.name)),
    }

    def write(tmp: Path) -> None:
        for role, frame in tables.items():
            frame.to_parquet(tmp / f"{role}.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        note = {"kind": CAMPAIGN_EXPORT, "campaign": campaign, **summary}
        (tmp / EXPORT_NOTE).write_text(json.dumps(note, indent=1))

    if (out / EXPORT_NOTE).is_file():  # an earlier export of it: replaced whole, by one rename at the end
        ours = {f"{role}.parquet" for role in ("train", "valid", "test", "single_modal")} | {"meta.json", EXPORT_NOTE}
        present = (p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        foreign = sorted(rel for rel in present if rel not in ours)
        if foreign:
            raise CampaignError(
                f"{str(out)!r} is an earlier export but also holds {foreign[0]!r}, which the export did not write; "
                "move it out or export into a new directory"
            )
        with replacing_dir(out) as tmp:
            write(tmp)
        files = sorted(p for p in out.rglob("*") if p.is_file())
    else:
        files = write_dir_atomic(out, write)
    return {"out": str(out), "files": [str(f) for f in files], **summary}
