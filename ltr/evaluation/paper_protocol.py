"""SMAR next to every baseline of method.md section 4, on the same split, features and seed.

Methods: ``smar`` (the fitted reranker), ``full_supervision`` (native LambdaMART on 100% of the page labels),
``budget_only`` (native LambdaMART on the revealed subset only), ``full_supervision_up`` / ``budget_only_up`` (the
same with the single-modal score ``upstream_score`` as an extra input), ``single_modal`` (each modality's ranker
alone, merged by a per-modality isotonic calibration fitted on the revealed training labels; no early stopping, so
no validation label), ``fusion_minmax`` / ``fusion_zscore`` (normalised single-modal scores merged),
``interleave`` (round-robin of the single-modal lists).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from smar_ltr.annotation.budget import Annotation, annotated_rows, annotation_from_rows
from smar_ltr.annotation.label_cost import label_cost
from smar_ltr.config import RunConfig
from smar_ltr.core.progress import Progress, quiet
from smar_ltr.errors import ArtifactError, ConfigError, PageTableError
from smar_ltr.evaluation.baselines import (
    calibrated_scores,
    fit_modal_calibration,
    fusion_scores,
    interleave_scores,
    with_upstream_column,
)
from smar_ltr.metrics.ranking import constant_label_queries, evaluate_per_query, parse_metric
from smar_ltr.metrics.ranking import evaluate as compute_metrics
from smar_ltr.page_table.schema import MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE, validate_page_table
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.pipeline import FitState, check_compatible, data_fingerprint, fit, validation_set
from smar_ltr.rankers import make_ranker
from smar_ltr.serving.model import SmarModel

METHODS = (
    "smar",
    "full_supervision",
    "budget_only",
    "full_supervision_up",
    "budget_only_up",
    "single_modal",
    "fusion_minmax",
    "fusion_zscore",
    "interleave",
)
#: LambdaMART baselines: (trained on every annotated training row?, ``upstream_score`` as an input?).
NATIVE_BASELINES = {
    "full_supervision": (True, False),
    "budget_only": (False, False),
    "full_supervision_up": (True, True),
    "budget_only_up": (False, True),
}


@dataclass
class MethodResult:
    """One method's test metrics and the page labels it read (:class:`~smar_ltr.annotation.label_cost.LabelCost`).

    ``labels_used`` counts training and validation labels (``train_labels`` + ``validation_labels``);
    ``label_fraction`` divides it by the candidates of the pages they came from. ``per_query`` (only when
    :func:`evaluate_run` is asked for it) holds each requested metric per query, in ``EvalReport.query_ids``
    order, for paired tests over queries.
    """

    method: str
    labels_used: int
    label_fraction: float
    train_labels: int
    validation_labels: int
    metrics: dict[str, float]
    per_query: dict[str, list[float]] | None = None


@dataclass
class EvalReport:
    """What ``smar-ltr eval`` prints (``--format json`` is :meth:`to_dict`)."""

    dataset: str
    split: str
    n_queries: int
    budget: float
    strategy: str
    seed: int
    results: list[MethodResult]
    notes: dict[str, Any] = field(default_factory=dict)
    query_ids: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict with the documented keys (per-query values only when they were asked for)."""
        out = asdict(self)
        if not self.notes:
            out.pop("notes")
        if self.query_ids is None:
            out.pop("query_ids")
            for r in out["results"]:
                r.pop("per_query")
        return out

    def result(self, method: str) -> MethodResult:
        """The result of one method."""
        for r in self.results:
            if r.method == method:
                return r
        raise KeyError(method)


#: Metrics computed on binary relevance (the others use graded labels).
BINARY_METRICS = frozenset({"mrr", "map", "precision", "recall", "bndcg"})


def relevance_labels(labels: np.ndarray, qid: np.ndarray, rule: str) -> np.ndarray | None:
    """Binary relevance for the binary metrics under a dataset's stated rule.

    ``positive`` (label > 0) is the metrics' own ``rel=1`` threshold, so it returns None (use graded labels);
    ``top`` marks the items that carry their query's top label (and that label is > 0): the rule CrossRank's
    authors use when no qrels exist.
    """
    if rule in ("positive", "labels", "qrels"):
        return None
    if rule != "top":
        raise ConfigError(f"unknown relevance rule {rule!r}; datasets may state 'positive' or 'top'")
    top = pd.Series(labels).groupby(pd.factorize(pd.Series(qid))[0]).transform("max").to_numpy()
    return ((labels == top) & (labels > 0)).astype(float)


def metric_values(
    labels: np.ndarray,
    binary: np.ndarray | None,
    scores: np.ndarray,
    qid: np.ndarray,
    metrics: list[str],
    modality: np.ndarray | None,
    reference: np.ndarray | None,
) -> dict[str, float]:
    """Metrics of ``scores`` (all arrays shape ``(n_rows,)``): binary metrics on ``binary`` relevance when a
    dataset's rule gives one (:func:`relevance_labels`), the others on graded ``labels``."""
    if binary is None:
        return compute_metrics(labels, scores, qid, metrics, modality=modality, reference=reference)
    names = [m for m in metrics if parse_metric(m).name in BINARY_METRICS]
    graded = [m for m in metrics if m not in names]
    out = compute_metrics(labels, scores, qid, graded, modality=modality, reference=reference) if graded else {}
    out.update(compute_metrics(binary, scores, qid, names) if names else {})
    return {m: out[m] for m in metrics}


def _rebuild_state(model: SmarModel, splits: PageSplits) -> FitState:
    """The training-split products of a loaded run, from what it saved (nothing is re-annotated).

    The pages are prepared with the run's own single-modal rankers and features; the revealed training and
    validation rows come from ``revealed.parquet`` / ``revealed_valid.parquet``.
    """
    cfg = model.config
    saved_fp = model.summary.get("data_fingerprint")
    if saved_fp and saved_fp != data_fingerprint(splits.train):
        raise ArtifactError(
            "the training pages differ from the ones this run was fitted on (data fingerprint mismatch); "
            "evaluate on the run's own data or fit a new run"
        )
    train = model.prepare(validate_page_table(splits.train, require=(PAGE_LABEL,)))
    valid = model.prepare(splits.valid) if splits.valid is not None and len(splits.valid) else None
    saved = model.summary.get("annotation", {})
    strategy, budget = saved.get("strategy", cfg.budget.strategy), saved.get("budget", cfg.budget.budget)
    try:
        annotation = annotation_from_rows(train, model.revealed, strategy, budget)
        validation = None
        if valid is not None and model.revealed_valid is not None:
            validation = annotation_from_rows(valid, model.revealed_valid, strategy, budget)
    except PageTableError:
        raise ArtifactError(
            "the run's revealed candidates are not all in these pages; evaluate on the data the run was fitted on"
        ) from None
    cost = label_cost(
        annotation.labels_used,
        len(train),
        0 if validation is None else validation.labels_used,
        0 if valid is None else len(valid),
    )
    X_valid = model.featurize(valid) if valid is not None else None
    return FitState(train, valid, model.featurize(train), X_valid, annotation, validation, None, cost)


def _native(model: SmarModel, state: FitState, rows: np.ndarray, eval_set: tuple | None, upstream: bool) -> Any:
    cfg = model.config
    ranker = make_ranker(cfg.reranker.backend, **cfg.reranker.ranker_kwargs(cfg.seed))
    train = state.train.iloc[rows]
    X = with_upstream_column(state.X_train, state.train) if upstream else state.X_train
    return ranker.fit(
        X.iloc[rows],
        train[PAGE_LABEL].to_numpy(float),
        train[QID].to_numpy(),
        eval_set=eval_set,
    )


def _native_eval_set(
    state: FitState, mode: str, every_row: bool, upstream: bool, budgeted: Annotation | None
) -> tuple | None:
    """Early-stopping rows of a LambdaMART baseline: every annotated validation row for the fully supervised ones
    (unless ``mode`` is none), SMAR's own validation rows ``budgeted`` for the budget-only ones (none, so no early
    stopping, when SMAR stops on its consistency loss: the budget-only baselines read what SMAR reads)."""
    if state.valid is None or state.X_valid is None:
        return None
    if every_row:
        rows = None if mode == "none" else annotated_rows(state.valid)
    else:
        rows = None if budgeted is None else budgeted.mask
    X_valid = with_upstream_column(state.X_valid, state.valid) if upstream else state.X_valid
    return validation_set(state.valid, X_valid, rows)


def _baseline(
    cache: dict[str, Any] | None,
    method: str,
    model: SmarModel,
    state: FitState,
    rows: np.ndarray,
    eval_set: Any,
    upstream: bool,
) -> Any:
    """The native baseline ``method`` from ``cache``, or fitted on ``rows`` (and added to ``cache``)."""
    if cache is not None and method in cache:
        return cache[method]
    ranker = _native(model, state, rows, eval_set, upstream)
    if cache is not None:
        cache[method] = ranker
    return ranker


def evaluate_run(
    config: RunConfig,
    model: SmarModel | None = None,
    state: FitState | None = None,
    splits: PageSplits | None = None,
    split: str = "test",
    methods: tuple[str, ...] = METHODS,
    progress: Progress | None = None,
    exclude_constant_queries: bool = False,
    baselines: dict[str, Any] | None = None,
    per_query: tuple[str, ...] = (),
) -> EvalReport:
    """Evaluate SMAR and the baselines on one split.

    Parameters
    ----------
    config : RunConfig
        Dataset and settings (a loaded ``model`` brings its own config; ``config`` then only names the data).
    model : SmarModel, optional
        A fitted run; fitted here when omitted.
    state : FitState, optional
        Training products of ``model`` (recomputed for a loaded run).
    splits : PageSplits
        The data (required; ``smar_ltr.datasets.load_dataset`` loads a registered dataset).
    split : {"test", "valid"}
        Which split to report.
    methods : tuple of str
        Subset of :data:`METHODS`.
    exclude_constant_queries : bool
        Leave queries whose labels are all equal out of every metric (they score the same under any ranking;
        see :mod:`smar_ltr.metrics.ranking`). Their count is in ``notes["constant_label_queries"]`` either way.
    baselines : dict, optional
        Fitted native baselines of ``model`` by method (those of :data:`NATIVE_BASELINES`): reused when
        present, and the ones fitted here are added (so a caller can store them with the run, see
        :func:`smar_ltr.serving.run_dir.save_baselines`).
    per_query : tuple of str
        Graded metrics to report per query too (``MethodResult.per_query``, ``EvalReport.query_ids``).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    say = progress or quiet
    if splits is None:
        raise ConfigError("evaluate_run needs the pages to evaluate on (splits)")
    if model is not None:
        check_compatible(model, splits)
        # a loaded run evaluates with its own settings
        config = dataclasses.replace(model.config, data_dir=config.data_dir, dataset_options=config.dataset_options)
    if model is None:
        model, state = fit(config, splits, progress=say)
    if state is None:
        state = _rebuild_state(model, splits)
    X_test: pd.DataFrame | None = None
    if split == "valid" and state.valid is not None:
        frame, X_test = state.valid, state.X_valid  # prepared and featurized once, by prepare()
    else:
        raw = splits.test if split == "test" else splits.valid
        if raw is None or len(raw) == 0:
            raise ConfigError(f"dataset '{splits.name}' has no {split} split")
        frame = model.prepare(validate_page_table(raw, require=(PAGE_LABEL,), what=f"{split} pages"))
    labelled = annotated_rows(frame)
    if not labelled.any():
        raise ConfigError(f"the {split} pages carry no page label; annotate them to evaluate")
    n_unlabelled = int((~labelled).sum())
    rows = np.flatnonzero(labelled)
    constant = np.zeros(len(frame), dtype=bool)
    constant[rows] = constant_label_queries(
        frame[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan)[rows], frame[QID].to_numpy()[rows]
    )
    n_constant = int(pd.unique(frame[QID].to_numpy()[constant]).size)
    if exclude_constant_queries:
        if not (labelled & ~constant).any():
            raise ConfigError(f"every {split} query has all-equal labels; nothing is left to evaluate without them")
        labelled = labelled & ~constant
    metrics = list(dict.fromkeys([*config.metrics, *splits.info.get("report_metrics", [])]))
    scored = frame[labelled]  # features and scores use whole pages; metrics only the labelled rows
    labels = scored[PAGE_LABEL].to_numpy(dtype=float)
    qid = scored[QID].to_numpy()
    reference = scored[UPSTREAM_SCORE].to_numpy(dtype=float, na_value=np.nan)
    modality = scored[MODALITY].astype(str).to_numpy()
    binary = relevance_labels(labels, qid, splits.info.get("relevance_rule", "positive"))
    n_train = len(state.train)
    n_valid = 0 if state.valid is None else len(state.valid)
    mode = config.budget.validation
    used, valid_used = state.cost.train, state.cost.validation
    # the "without page term" ablation reads no training label (iso-anchor still judges items for its anchors)
    smar_used = 0 if config.consistency.page_weight == 0 and state.annotation.strategy != "iso-anchor" else used
    results = []
    for method in methods:
        stored = baselines is not None and method in baselines
        say(f"evaluating {method}" + (" (stored model)" if stored else ""))
        if (method == "smar" or method in NATIVE_BASELINES) and X_test is None:
            X_test = model.featurize(frame)
        if method == "smar":
            assert X_test is not None  # featurized above
            scores, cost = (
                model.score_features(frame, X_test),
                label_cost(smar_used, n_train, valid_used, n_valid),
            )
        elif method in NATIVE_BASELINES:
            every_row, upstream = NATIVE_BASELINES[method]
            # every annotated training row (a partially labelled table has unannotated ones), or the budgeted ones
            rows = np.flatnonzero(annotated_rows(state.train) if every_row else state.annotation.mask)
            eval_set = _native_eval_set(state, mode, every_row, upstream, state.validation)
            assert X_test is not None  # featurized above
            X_in = with_upstream_column(X_test, frame) if upstream else X_test
            scores = _baseline(baselines, method, model, state, rows, eval_set, upstream).predict(X_in)
            cost = label_cost(rows.size, n_train, 0 if eval_set is None else len(eval_set[1]), n_valid)
        elif method == "single_modal":
            calibration = fit_modal_calibration(state.train, state.annotation.mask)
            scores = calibrated_scores(frame, calibration)
            cost = label_cost(calibration.labels_used, n_train, 0, n_valid)
        elif method in ("fusion_minmax", "fusion_zscore"):
            scores, cost = fusion_scores(frame, method.split("_")[1]), label_cost(0, n_train, 0, n_valid)
        else:
            scores, cost = interleave_scores(frame), label_cost(0, n_train, 0, n_valid)
        scores = np.nan_to_num(np.asarray(scores, dtype=float)[labelled], neginf=-1e30)
        values = metric_values(labels, binary, scores, qid, metrics, modality, reference)
        by_query = None
        if per_query:
            table = evaluate_per_query(labels, scores, qid, list(per_query))
            by_query = {m: [float(v) for v in table[m]] for m in per_query}
        results.append(
            MethodResult(
                method=method,
                labels_used=cost.labels_used,
                label_fraction=round(cost.label_fraction, 6),
                train_labels=cost.train,
                validation_labels=cost.validation,
                metrics={k: float(v) for k, v in values.items()},
                per_query=by_query,
            )
        )
    notes = {
        "simulated": bool(splits.info.get("simulated", False)),
        "train_candidates": n_train,
        "validation_candidates": n_valid,
        "validation": mode,
        "unlabelled_rows_left_out": n_unlabelled,
        "constant_label_queries": n_constant,
        "constant_label_queries_excluded": bool(exclude_constant_queries),
    }
    if splits.info.get("relevance_rule"):
        notes["relevance_rule"] = splits.info["relevance_rule"]
    return EvalReport(
        dataset=splits.name,
        split=split,
        n_queries=int(pd.unique(qid).size),
        budget=state.annotation.budget,
        strategy=state.annotation.strategy,
        seed=config.seed,
        results=results,
        notes=notes,
        query_ids=[str(q) for q in pd.unique(qid)] if per_query else None,
    )
