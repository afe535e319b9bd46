"""The list stage: per-(query, modality) list offsets on top of the reranker, learnt on out-of-fold scores.

Why (``benchmarks/README.md``, issue 15 round 6): at a 10% budget SMAR orders the candidates *inside* each
(query, modality) list better than full supervision, and loses to it on where it *places* each list against the
page's other lists. Its few page labels per list are spent by one item-level model on everything at once; the
list stage learns the placement alone, with few parameters:

* a small LambdaMART (:class:`~smar_ltr.config.ListStageConfig`: 100 rounds of 3 leaves by default) whose inputs
  are constant within each list, so it can shift whole lists and never reorders one; it is boosted from the
  reranker's scores (``init_score``) on the revealed training rows, so it learns only a correction;
* inputs: the reranker's page-standardised score (the list's mean, max and mean relative to the page), the page
  context columns of the design matrix (modality indicators, page shares, candidate counts), and **residual
  engagement**: each engagement column minus a per-modality least-squares fit on the standardised score and the
  display position, averaged per list and relative to the page. The fit reads no label (all training rows), so
  what is left is the engagement the within-list relevance does not explain: the evidence that the query wants
  this modality.

The reranker's scores on its own revealed rows are in-sample (it was fitted to them), and a stage boosted from them
learns offsets that do not hold on new pages. So the stage is fitted on *out-of-fold* scores: the training pages are
cut into ``folds`` (seeded, by page), each fold is scored by a reranker trained on the other folds' revealed rows
with the run's own supervision settings and early-stopping set (no further label is read, so the honest label
count is the run's), and the final reranker's scores are used at prediction time.

Saved as LightGBM's text model plus JSON (``list_stage/``); engines that score one document at a time (the search
engine exports) cannot compute list inputs and refuse a run that has a list stage.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from smar_ltr.annotation_result import Annotation
from smar_ltr.config import ListStageConfig, RunConfig
from smar_ltr.errors import ArtifactError, ConfigError
from smar_ltr.groups import block_starts
from smar_ltr.pool_pairs import PoolRows
from smar_ltr.reranker import build_supervision, train_reranker
from smar_ltr.schema import ITEM_ID, MODALITY, QID

__all__ = [
    "CONTEXT_PREFIXES",
    "ENGAGEMENT_INPUTS",
    "POSITION_INPUT",
    "ListInputs",
    "ListStage",
    "fit_list_stage",
    "fold_of_rows",
    "has_list_evidence",
    "list_codes",
    "out_of_fold_scores",
    "page_standardised",
]

#: Design-matrix columns carried as page context (constant within a list).
CONTEXT_PREFIXES = ("modality_is_", "modality_page_share", "page_share_", "page_n_")
#: Engagement columns whose residuals are aggregated per list (those in the design matrix and not constant).
ENGAGEMENT_INPUTS = ("log_clicks", "ctr_smoothed", "like_rate_smoothed", "log_dwell_time", "log_impressions")
#: The display-position column the residual fit uses besides the score (0 when the matrix lacks it).
POSITION_INPUT = "pos_page_frac"
FORMAT = "smar_ltr.list_stage/1"


def _modality_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Modality code per row and the names of the codes (a categorical column's own codes: no string per row)."""
    s = frame[MODALITY]
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), [str(c) for c in s.cat.categories]
    codes, names = pd.factorize(s.astype(str))
    return codes.astype(np.int64), [str(n) for n in names]


def list_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(page code, list code)`` per row: one integer per query and one per (query, modality) list."""
    page = pd.factorize(frame[QID].to_numpy())[0]
    modality, names = _modality_codes(frame)
    lists = pd.factorize(page.astype(np.int64) * (len(names) + 1) + modality)[0]
    return page, lists


def _by_group(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Mean of the finite ``values`` per group code (NaN for a group with none)."""
    ok = np.isfinite(values)
    sums = np.bincount(codes, weights=np.where(ok, values, 0.0))
    counts = np.bincount(codes, weights=ok.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def _group_mean(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-row mean of the finite ``values`` of the row's group (NaN where the group has none)."""
    return _by_group(values, codes)[codes]


def page_standardised(scores: np.ndarray, page: np.ndarray) -> np.ndarray:
    """Scores minus the page mean, over the page's standard deviation (ddof 1; 1 for one-candidate pages)."""
    mean = _group_mean(scores, page)
    n = np.bincount(page)[page]
    sq = _group_mean((scores - mean) ** 2, page) * n
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.where(n > 1, np.sqrt(sq / np.maximum(n - 1, 1)), 1.0)
    return (scores - mean) / (sd + 1e-9)


def _basis(z: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(z), z, z**2, z**3, pos, pos**2, z * pos])


def _position(X: pd.DataFrame, present: bool, n: int) -> np.ndarray:
    """The display-position column (NaN as 0), or zeros when the design matrix has none."""
    return np.nan_to_num(X[POSITION_INPUT].to_numpy(np.float64)) if present else np.zeros(n)


def varying_engagement(X: pd.DataFrame) -> list[str]:
    """The engagement columns of :data:`ENGAGEMENT_INPUTS` that ``X`` has and that are not constant."""
    return [e for e in ENGAGEMENT_INPUTS if e in X.columns and X[e].nunique(dropna=True) > 1]


def has_list_evidence(X: pd.DataFrame) -> bool:
    """Whether training pages with design matrix ``X`` give the stage list-level evidence beyond the reranker's
    own scores: some engagement that varies (``list_stage.mode=auto`` fits the stage only then)."""
    return bool(varying_engagement(X))


def fold_of_rows(frame: pd.DataFrame, folds: int, seed: int) -> np.ndarray:
    """Fold index per row: pages dealt to ``folds`` folds in a seeded random order (a page stays whole)."""
    page = pd.factorize(frame[QID].to_numpy())[0]
    n_pages = int(page.max(initial=-1)) + 1
    return (np.random.default_rng([seed, 99]).permutation(n_pages) % folds)[page]


@dataclass(frozen=True)
class ListInputs:
    """How the stage's inputs are built (module docstring): context columns, engagement residual fits."""

    context: list[str]
    engagement: list[str]
    position: bool
    coefficients: dict[str, dict[str, list[float]]]  # engagement column -> modality -> least-squares coefficients

    @property
    def columns(self) -> list[str]:
        """Design-matrix columns read (the scorer must compute them)."""
        return [*self.context, *self.engagement, *([POSITION_INPUT] if self.position else [])]

    def build(self, frame: pd.DataFrame, X: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
        """The input matrix for pages ``frame`` with design matrix ``X`` and reranker ``scores`` (row per row)."""
        table, lists = self.per_list(frame, X, scores)
        return table.iloc[lists].set_axis(X.index)

    def per_list(self, frame: pd.DataFrame, X: pd.DataFrame, scores: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """The inputs once per (query, modality) list, and each row's list (what scoring needs: the booster then
        predicts one row per list)."""
        page, lists = list_codes(frame)
        order = np.argsort(lists, kind="stable")
        starts = block_starts(lists[order])
        first = order[starts]  # one row of each list, lists in code order
        list_page = page[first]
        z = page_standardised(np.asarray(scores, dtype=np.float64), page)
        cols: dict[str, np.ndarray] = {}
        mean = _by_group(z, lists)
        cols["score_list_mean"] = mean
        cols["score_list_max"] = np.maximum.reduceat(z[order], starts) if len(z) else mean
        cols["score_list_rel"] = mean - _by_group(z, page)[list_page]
        for c in self.context:
            cols[c] = X[c].to_numpy(np.float64)[first]
        basis = _basis(z, _position(X, self.position, len(z)))
        modality, names = _modality_codes(frame)
        for e in self.engagement:
            predicted = np.full(len(z), np.nan)
            for m, coef in self.coefficients[e].items():
                if m in names:
                    rows = modality == names.index(m)
                    predicted[rows] = basis[rows] @ np.asarray(coef)
            residual = X[e].to_numpy(np.float64) - predicted
            list_mean = _by_group(residual, lists)
            cols[f"res_{e}_list_mean"] = list_mean
            cols[f"res_{e}_list_rel"] = list_mean - _by_group(residual, page)[list_page]
        return pd.DataFrame(cols), lists

    @classmethod
    def fit(cls, frame: pd.DataFrame, X: pd.DataFrame, scores: np.ndarray) -> ListInputs:
        """Choose the columns present in ``X`` and fit the residual maps on every row (no label is read)."""
        context = [c for c in X.columns if c.startswith(CONTEXT_PREFIXES)]
        engagement = varying_engagement(X)
        position = POSITION_INPUT in X.columns
        page, _ = list_codes(frame)
        z = page_standardised(np.asarray(scores, dtype=np.float64), page)
        basis = _basis(z, _position(X, position, len(z)))
        modality, names = _modality_codes(frame)
        coefficients: dict[str, dict[str, list[float]]] = {}
        for e in engagement:
            values = X[e].to_numpy(np.float64)
            coefficients[e] = {}
            for code, m in enumerate(names):
                rows = (modality == code) & np.isfinite(values)
                if rows.sum() >= basis.shape[1]:
                    coefficients[e][m] = np.linalg.lstsq(basis[rows], values[rows], rcond=None)[0].tolist()
        return cls(context, engagement, position, coefficients)


@dataclass(frozen=True)
class ListStage:
    """A fitted list stage: its input builder and the booster over those inputs."""

    inputs: ListInputs
    booster: lgb.Booster

    def shift(self, frame: pd.DataFrame, X: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
        """The offset to add to each row's reranker score (the same for every row of a list)."""
        table, lists = self.inputs.per_list(frame, X, scores)
        out = self.booster.predict(table, raw_score=True, num_threads=1)
        return np.asarray(out, dtype=np.float64)[lists]

    def to_dict(self) -> dict[str, Any]:
        """JSON state (the booster is saved separately, as LightGBM's text model)."""
        i = self.inputs
        return {
            "format": FORMAT,
            "context": i.context,
            "engagement": i.engagement,
            "position": i.position,
            "coefficients": i.coefficients,
        }

    @classmethod
    def from_files(cls, state_text: str, model_text: str) -> ListStage:
        """Rebuild from :meth:`to_dict`'s JSON and the booster's text model; one :class:`ArtifactError` if bad."""
        try:
            state = json.loads(state_text)
            if state.get("format") != FORMAT:
                raise ValueError(f"format {state.get('format')!r}")
            coefficients = {
                str(e): {str(m): [float(v) for v in c] for m, c in by_modality.items()}
                for e, by_modality in state["coefficients"].items()
            }
            spec = ListInputs(list(state["context"]), list(state["engagement"]), bool(state["position"]), coefficients)
            booster = lgb.Booster(model_str=model_text)
        except (ValueError, KeyError, TypeError, AttributeError, lgb.basic.LightGBMError) as exc:
            raise ArtifactError(f"the run's list stage is unreadable ({exc}); the run directory is corrupted") from None
        width = len(_basis(np.zeros(1), np.zeros(1))[0])
        bad = set(coefficients) != set(spec.engagement) or any(
            len(c) != width for d in coefficients.values() for c in d.values()
        )
        if bad or booster.num_feature() != 3 + len(spec.context) + 2 * len(spec.engagement):
            raise ArtifactError("the run's list stage state is inconsistent; the run directory is corrupted")
        return cls(spec, booster)


def fit_list_stage(
    frame: pd.DataFrame,
    X: pd.DataFrame,
    scores: np.ndarray,
    revealed: np.ndarray,
    labels: np.ndarray,
    cfg: ListStageConfig,
    seed: int,
) -> ListStage:
    """Fit the stage on the training pages.

    Parameters
    ----------
    frame, X : DataFrame
        Training pages (contiguous queries) and their design matrix, rows aligned.
    scores : ndarray of shape (n_rows,)
        Out-of-fold reranker scores of every training row.
    revealed : ndarray of bool
        Rows whose page label was revealed (the only labels read).
    labels : ndarray of shape (n_rows,)
        Page labels (read on ``revealed`` rows only).
    cfg : ListStageConfig
        Booster size.
    seed : int
        Booster seed.
    """
    rows = np.flatnonzero(revealed)
    if rows.size == 0:
        raise ConfigError("the list stage needs revealed training rows; set list_stage.mode=none")
    spec = ListInputs.fit(frame, X, scores)
    page, _ = list_codes(frame)
    group = np.bincount(page[rows])
    model = lgb.LGBMRanker(
        n_estimators=cfg.n_estimators,
        num_leaves=cfg.num_leaves,
        learning_rate=cfg.learning_rate,
        min_child_samples=cfg.min_data_in_leaf,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        verbose=-1,
    )
    model.fit(
        spec.build(frame, X, scores).iloc[rows],
        np.asarray(labels)[rows].astype(np.int64),
        group=group[group > 0],
        init_score=np.asarray(scores, dtype=np.float64)[rows],
    )
    return ListStage(spec, model.booster_)


def out_of_fold_scores(
    config: RunConfig,
    frame: pd.DataFrame,
    X: pd.DataFrame,
    annotation: Annotation,
    eval_set: tuple | None,
    eval_metric: Callable[[np.ndarray], float] | None,
    pool: PoolRows | None = None,
) -> np.ndarray:
    """Each training row's score from a reranker fitted on the other folds (module docstring).

    The fold rerankers use the run's supervision settings on the other folds' revealed rows (iso-anchor's
    inferred labels included), the run's single-modal pool rows (``pool``, when it trains on them) and its own
    early-stopping set and metric, so they read no label the run did not read.

    Raises
    ------
    ConfigError
        A fold whose complement has no revealed row (too few training pages for ``list_stage.folds``).
    """
    folds = config.list_stage.folds
    fold = fold_of_rows(frame, folds, config.seed)
    scores = np.zeros(len(frame))
    for k in range(folds):
        keep = np.flatnonzero(fold != k)
        mask = annotation.mask[keep]
        if not mask.any():
            raise ConfigError(
                f"list_stage.folds={folds}: a fold's other pages have no revealed label "
                f"({frame[QID].nunique()} training pages); use fewer folds or list_stage.mode=none"
            )
        sub = frame.iloc[keep].reset_index(drop=True)
        inferred = annotation.inferred_label
        part = dataclasses.replace(
            annotation,
            mask=mask,
            revealed=sub.loc[mask, [QID, ITEM_ID]].reset_index(drop=True),
            labels_used=int(mask.sum()),
            oracle_calls=int(mask.sum()),
            inferred_label=None if inferred is None else inferred[keep],
            anchors=None,
        )
        supervision = build_supervision(sub, part, config.consistency, config.seed)
        model = train_reranker(
            X.iloc[keep].reset_index(drop=True),
            sub,
            supervision,
            config.reranker,
            config.consistency,
            config.seed,
            eval_set,
            eval_metric,
            pool=pool,
        )
        rows = np.flatnonzero(fold == k)
        scores[rows] = model.predict(X.iloc[rows])
    return scores
