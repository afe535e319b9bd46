"""The SMAR pipeline as library functions: ``fit``, ``evaluate`` and ``rerank``.

page table (validated) -> single-modal rankers -> ``upstream_score`` -> feature extraction (registry) ->
budget strategy -> constraint pairs -> whole-page reranker -> scores -> metrics. Each stage is a public function
of its own module; this module wires them and returns plain data. The CLI only formats what these return.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import Annotation
from smar_ltr.annotation.label_cost import (
    LabelCost,
    LabelPlan,
    plan_labels,
    stops_on_consistency,
    strategy_choice,
    validation_read_mode,
)
from smar_ltr.config import ConsistencyConfig, RunConfig
from smar_ltr.core.progress import Progress, quiet
from smar_ltr.errors import ConfigError, DatasetError, SettingNote
from smar_ltr.features import FeatureSet
from smar_ltr.page_table.schema import (
    ITEM_ID,
    MODALITY,
    PAGE_LABEL,
    QID,
    UPSTREAM_SCORE,
    validate_page_table,
)
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.rankers import GBDTRanker
from smar_ltr.rankers.single_modal import fit_single_modal, with_upstream_scores
from smar_ltr.serving.model import SmarModel, design_matrix, select_features
from smar_ltr.serving.ranking import rank_within_query, rerank  # noqa: F401  (smar_ltr.pipeline.rerank, as before)
from smar_ltr.supervision.pairs import note_unknown_beta_modalities
from smar_ltr.supervision.pool_pairs import PoolRows, pool_frame, pool_summary, pool_unavailable, requested_pool_weight
from smar_ltr.training.early_stopping import consistency_eval_set
from smar_ltr.training.reranker import Supervision, build_supervision, train_reranker


def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of the training pages' keys and labels (identifies the data a run was fitted on)."""
    cols = [c for c in (QID, ITEM_ID, MODALITY, PAGE_LABEL) if c in frame.columns]
    hashed = pd.util.hash_pandas_object(frame[cols].astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def note_features_without_inputs(config: RunConfig, features: FeatureSet, train: pd.DataFrame) -> None:
    """A :class:`SettingNote` naming the explicitly selected features (``features=[...]``, globs included) whose
    input columns the training pages lack: they output NaN on every row, so the selection does less than it says.
    The default selection (every built-in, for whatever columns a dataset has) is not noted."""
    if config.features is None:
        return
    idle = [(f.name, f.missing_inputs(train)) for f in features if f.missing_inputs(train)]
    if not idle:
        return
    name, missing = idle[0]
    more = f" and {len(idle) - 1} more" if len(idle) > 1 else ""
    warnings.warn(
        f"{len(idle)} selected feature(s) read columns the training pages lack and give NaN on every row: "
        f"{name!r} (needs {', '.join(map(repr, missing))}){more}; add the columns or leave the features out",
        SettingNote,
        stacklevel=2,
    )


def validation_set(valid: pd.DataFrame | None, X_valid: pd.DataFrame | None, rows: np.ndarray | None) -> tuple | None:
    """``(X, y, qid)`` of the validation rows whose label is read (features computed on whole pages), or None.

    ``rows`` is a boolean mask or row positions of ``valid``; None or empty means no early stopping.
    """
    if valid is None or X_valid is None or rows is None:
        return None
    rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return None
    labels = valid[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan)[rows]
    return X_valid.iloc[rows], labels, valid[QID].to_numpy()[rows]


@dataclass
class FitState:
    """Intermediate products of :func:`fit` that evaluation and baselines reuse (same split, same features).

    Attributes
    ----------
    train, valid : DataFrame
        Prepared training and validation pages (``upstream_score`` filled; ``valid`` may be None).
    X_train, X_valid : DataFrame
        Reranker features of every training / validation row (computed once on whole pages).
    annotation : Annotation
        Training rows whose page label was revealed.
    validation : Annotation or None
        Validation rows whose page label was read for early stopping (None: no early stopping).
    supervision : Supervision or None
        What the reranker learned from (None for a loaded run: it is not rebuilt).
    cost : LabelCost
        Page labels read (training + validation) and the candidates they came from.
    """

    train: pd.DataFrame
    valid: pd.DataFrame | None
    X_train: pd.DataFrame
    X_valid: pd.DataFrame | None
    annotation: Annotation
    validation: Annotation | None
    supervision: Supervision | None
    cost: LabelCost

    @property
    def eval_set(self) -> tuple | None:
        """``(X, y, qid)`` of the validation rows read for early stopping, or None."""
        return validation_set(self.valid, self.X_valid, None if self.validation is None else self.validation.mask)


@dataclass
class Prepared:
    """Stages 1-2 of :func:`fit` (single-modal rankers, upstream scores, fitted features).

    They do not depend on the budget, the consistency loss or the reranker's parameters, so sweeps and tuning
    compute them once and call :func:`fit_prepared` per configuration.
    """

    splits: PageSplits
    single_modal: dict[str, GBDTRanker]
    features: FeatureSet
    raw_features: list[str]
    train: pd.DataFrame
    valid: pd.DataFrame | None
    X_train: pd.DataFrame
    X_valid: pd.DataFrame | None

    def pool_rows(self, config: RunConfig) -> PoolRows | None:
        """The single-modal pool's rows and pairs under ``config.consistency.pool_weight`` (None: none used)."""
        return self.pool_decision(config.consistency, config.seed)[0]

    def pool_decision(self, c: ConsistencyConfig, seed: int) -> tuple[PoolRows | None, dict[str, Any]]:
        """The pool rows ``config.consistency.pool_weight`` asks for, and what the run summary records.

        An explicit weight > 0 that the pool cannot serve is one :class:`ConfigError`; the automatic default
        (None) uses weight 1 where it can and otherwise records why it did not.
        """
        weight, unused = requested_pool_weight(c)
        if unused is not None:
            return None, unused
        try:
            frame, X = self._pool_inputs
            pool = PoolRows.build(frame, X, c, seed, weight)
        except ConfigError as exc:
            return None, pool_unavailable(c, exc)
        return pool, pool_summary(c, weight, len(pool.frame), len(pool.pairs))

    @cached_property
    def _pool_inputs(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The pool's rows and reranker inputs, computed once, with the training design matrix's columns
        (``upstream_score`` among them when :func:`prepare` put it there; on pool rows it comes from the
        single-modal rankers, which were fitted on those rows, so it is in-sample)."""
        frame = pool_frame(self.splits.single_modal, self.splits.name)
        upstream = UPSTREAM_SCORE in self.X_train.columns
        try:
            frame = with_upstream_scores(frame, self.single_modal, self.splits.modal_features)
            X = design_matrix(frame, self.features, self.raw_features, upstream)
        except (DatasetError, KeyError) as exc:
            raise ConfigError(
                f"consistency.pool_weight: the single-modal pool lacks the reranker's inputs ({exc}); "
                "set consistency.pool_weight=0"
            ) from None
        return frame, X[list(self.X_train.columns)]


def fit_upstream_models(
    config: RunConfig, splits: PageSplits, progress: Progress | None = None
) -> dict[str, GBDTRanker]:
    """Stage 1: the single-modal rankers, or ``{}`` when the pages' shipped ``upstream_score`` is used instead.

    ``config.single_modal_source`` decides: ``trained`` always trains, ``shipped`` requires shipped scores,
    ``auto`` trains only when the pages do not ship ``upstream_score`` on every row.
    """
    source = config.single_modal_source
    if source == "shipped" and not splits.has_upstream_scores:
        raise DatasetError(
            f"single_modal_source is 'shipped' but dataset '{splits.name}' ships no upstream_score on every page row; "
            "use 'auto' or 'trained'"
        )
    if source == "shipped" or (source == "auto" and splits.has_upstream_scores):
        return {}
    if splits.single_modal is None or len(splits.single_modal) == 0:
        missing = int(splits.train[UPSTREAM_SCORE].isna().sum()) if UPSTREAM_SCORE in splits.train.columns else -1
        if missing == 0:  # complete shipped scores, but the config asks to train
            why = f"single_modal_source is {source!r} though the pages ship {UPSTREAM_SCORE}: use 'auto' or 'shipped'"
        elif missing > 0:
            why = f"{missing} training rows lack {UPSTREAM_SCORE} (NaN): give every page row its single-modal score"
        else:
            why = f"the pages have no {UPSTREAM_SCORE} column: add one, or a single-modal pool to train on"
        raise DatasetError(
            f"dataset '{splits.name}' has no single-modal pool to train the single-modal rankers on and {why}"
        )
    say = progress or quiet
    say("stage 1/4: single-modal rankers")
    return fit_single_modal(splits.single_modal, splits.modal_features, config.single_modal, config.seed, progress=say)


def check_scorable_modalities(splits: PageSplits, train: pd.DataFrame, valid: pd.DataFrame | None) -> None:
    """Refuse, before anything is fitted, validation or test pages with a modality that neither the training
    pages nor the single-modal pool have: the run could never score them (``eval`` would refuse it later)."""
    known = set(train[MODALITY].astype(str))
    if splits.single_modal is not None and len(splits.single_modal) and MODALITY in splits.single_modal.columns:
        known |= set(splits.single_modal[MODALITY].dropna().astype(str))
    for role, frame in (("validation", valid), ("test", splits.test)):
        if frame is None or not len(frame) or MODALITY not in frame.columns:
            continue
        modality = frame[MODALITY].astype(str)
        unseen = ~modality.isin(known) & frame[MODALITY].notna()
        if unseen.any():
            first = modality[unseen].iloc[0]
            raise DatasetError(
                f"{role} pages: {int(unseen.sum())} page rows have modality {first!r}, which neither the training "
                f"pages nor the single-modal pool have ({', '.join(sorted(known))}), so no run of these pages can "
                "score them; drop those rows or add that modality to the training pages"
            )


def prepare(config: RunConfig, splits: PageSplits, progress: Progress | None = None) -> Prepared:
    """Validate the pages, fit the single-modal rankers, fill ``upstream_score`` and fit the features."""
    say = progress or quiet
    train = validate_page_table(splits.train, require=(PAGE_LABEL,), what="training pages")
    valid = None
    if splits.valid is not None and len(splits.valid):
        valid = validate_page_table(splits.valid, what="validation pages")
    check_scorable_modalities(splits, train, valid)
    models = fit_upstream_models(config, splits, say)
    if models:
        train = with_upstream_scores(train, models, splits.modal_features)
        valid = with_upstream_scores(valid, models, splits.modal_features) if valid is not None else None
    say("stage 2/4: features")
    features = select_features(config)
    note_features_without_inputs(config, features, train)
    extracted = features.fit_transform(train)  # shares the text work of fitting and transforming
    raw = [c for c in splits.page_features if c in train.columns]
    X_train = design_matrix(train, features, raw, config.upstream_as_feature, extracted)
    X_valid = design_matrix(valid, features, raw, config.upstream_as_feature) if valid is not None else None
    return Prepared(splits, models, features, raw, train, valid, X_train, X_valid)


def fit_prepared(config: RunConfig, prepared: Prepared, progress: Progress | None = None) -> tuple[SmarModel, FitState]:
    """Stages 3-4 of :func:`fit`: annotation budget, constraint pairs and the whole-page reranker.

    A flat list of stage calls, each given its own config section: plan the labels (``budget``), build the
    supervision and the pool pairs (``consistency``), train with early stopping (``reranker``), assemble the model.
    """
    config.validate()
    say = progress or quiet
    train, c = prepared.train, config.consistency
    labels = plan_labels(
        config.budget, config.seed, validation_read_mode(config), train, prepared.valid, prepared.splits.info
    )
    say(
        f"stage 3/4: annotation budget ({labels.annotation.strategy}, p={config.budget.budget}): "
        f"{_cost_line(labels.cost)}"
    )
    note_unknown_beta_modalities(c.beta, train[MODALITY].astype(str).unique())
    supervision = build_supervision(train, labels.annotation, c, config.seed)
    pool, pool_summary = prepared.pool_decision(c, config.seed)
    say(f"stage 4/4: reranker ({config.reranker.backend}; {_supervision_line(labels, supervision, pool)})")
    state = FitState(
        train, prepared.valid, prepared.X_train, prepared.X_valid, labels.annotation, labels.validation,
        supervision, labels.cost,
    )  # fmt: skip
    eval_set, eval_metric = state.eval_set, None
    if stops_on_consistency(config):
        eval_set, eval_metric = consistency_eval_set(prepared.valid, prepared.X_valid, c, config.seed)
    reranker = train_reranker(
        prepared.X_train, train, supervision, config.reranker, c, config.seed, eval_set, eval_metric, pool=pool
    )
    return assemble_model(config, prepared, labels, supervision, pool, pool_summary, reranker), state


def _cost_line(cost: LabelCost) -> str:
    return (
        f"{cost.labels_used} page labels read ({cost.train} training, {cost.validation} validation; "
        f"{cost.label_fraction:.1%} of {cost.candidates})"
    )


def _supervision_line(labels: LabelPlan, supervision: Supervision, pool: PoolRows | None) -> str:
    pool_part = "" if pool is None else f", {len(pool.pairs)} single-modal pool pairs on {len(pool.frame)} pool rows"
    return (
        f"{labels.annotation.labels_used} page labels, {len(supervision.intra)} intra pairs, "
        f"{len(supervision.cross)} cross pairs{pool_part}"
    )


def assemble_model(
    config: RunConfig,
    prepared: Prepared,
    labels: LabelPlan,
    supervision: Supervision,
    pool: PoolRows | None,
    pool_summary: dict[str, Any],
    reranker: GBDTRanker,
) -> SmarModel:
    """The fitted :class:`SmarModel` and the run summary it carries (what was read, learned and kept)."""
    train, splits, annotation = prepared.train, prepared.splits, labels.annotation
    summary = {
        "annotation": annotation.summary(),
        "labels": {**labels.cost.to_dict(), "validation_mode": labels.reads},
        "strategy_choice": strategy_choice(config.budget, train, annotation),
        "supervision": {
            **supervision.counts(),
            **({} if pool is None else {"pool_rows": len(pool.frame), "pool_pairs": len(pool.pairs)}),
        },
        "pool": pool_summary,
        "data_fingerprint": data_fingerprint(splits.train),
        "dataset": splits.name,
        "dataset_info": {k: v for k, v in splits.info.items() if isinstance(v, str | int | float | bool)},
        "n_train_queries": int(train[QID].nunique()),
        "modalities": sorted(set(train[MODALITY].astype(str)) | set(prepared.single_modal)),
        "n_train_candidates": len(train),
        "best_iteration": int(getattr(reranker, "best_iteration_", 0)),
        # page columns the features read that training had: rerank refuses pages without them (NaN features)
        "feature_inputs": sorted(
            {c for f in prepared.features for c in f.inputs if c in train.columns and c != UPSTREAM_SCORE}
        ),
    }
    return SmarModel(
        config=config,
        single_modal=prepared.single_modal,
        modal_features={m: list(splits.modal_features[m]) for m in prepared.single_modal},
        features=prepared.features,
        raw_features=prepared.raw_features,
        reranker=reranker,
        revealed=annotation.revealed.reset_index(drop=True),
        summary=summary,
        revealed_valid=None if labels.validation is None else labels.validation.revealed.reset_index(drop=True),
    )


def fit(config: RunConfig, splits: PageSplits, progress: Progress | None = None) -> tuple[SmarModel, FitState]:
    """Fit SMAR end to end: :func:`prepare` then :func:`fit_prepared`.

    Parameters
    ----------
    config : RunConfig
        What to fit (validated here).
    splits : PageSplits
        The data (``smar_ltr.datasets.load_dataset`` loads a registered dataset by name).
    progress : callable, optional
        Receives one line per stage.

    Returns
    -------
    (SmarModel, FitState)
        The fitted model and the intermediate products of the training split.
    """
    config.validate()
    say = progress or quiet
    return fit_prepared(config, prepare(config, splits, say), say)


def check_compatible(model: SmarModel, splits: PageSplits | str) -> None:
    """Refuse evaluating a run on a different dataset (``splits`` or its name) than it was trained on."""
    name = splits if isinstance(splits, str) else splits.name
    trained_on = model.summary.get("dataset")
    if trained_on and trained_on != name:
        raise ConfigError(
            f"the run was trained on dataset '{trained_on}' but these pages are from '{name}'; "
            f"evaluate it on dataset '{trained_on}' or fit a new run"
        )
