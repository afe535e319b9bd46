"""Shared pieces of the campaign tests: labelled pages, the same pages unlabelled, and an annotator answering
worklists from a hidden key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from smar_ltr.datasets import load_dataset
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.page_table.splits import PageSplits

LABEL_SCALE = (0, 4)


def labelled_pages(directory: Path) -> PageSplits:
    """The ``pages`` fixture (train/valid/test, shipped upstream scores), every page label known."""
    make_fixture("pages", directory, seed=3)
    return load_dataset("pages", directory)


def strip_labels(splits: PageSplits) -> PageSplits:
    """The same pages with no page label on train and valid: what a team has before annotating."""
    valid = splits.valid.assign(page_label=pd.NA) if splits.valid is not None else None
    return dataclasses.replace(splits, train=splits.train.assign(page_label=pd.NA), valid=valid)


def hidden_key(splits: PageSplits) -> dict[tuple[str, str], int]:
    """True page label of every (qid, item_id) of train and valid."""
    frames = [f for f in (splits.train, splits.valid) if f is not None]
    both = pd.concat(frames)
    return {(str(q), str(i)): int(v) for q, i, v in zip(both["qid"], both["item_id"], both["page_label"], strict=True)}


def answer_worklist(worklist: Path, key: dict[tuple[str, str], int], out: Path) -> Path:
    """An annotator's filled copy of a round's worklist CSV (labels from the key)."""
    frame = pd.read_csv(worklist, dtype=str, keep_default_na=False)
    frame["label"] = [str(key[(q, i)]) for q, i in zip(frame["qid"], frame["item_id"], strict=True)]
    frame.to_csv(out, index=False)
    return out
