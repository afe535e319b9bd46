"""Optuna tuning of the annotation-budget trade-offs: quality against page labels spent.

A multi-objective study maximises a validation metric (default NDCG@10) and minimises the fraction of page
labels a trial's configuration reads (:mod:`smar_ltr.annotation.label_cost`: over training + validation candidates).

**Every trial is scored on the same evaluation labels**: every annotated row of the validation pages (whole
queries, never rows of one query on both sides), read once by the study and counted once
(:attr:`TuneResult.study_labels`). Scoring a trial only on the validation rows its own budget revealed would score
a small budget on fewer, easier rows and reward the budget's own bias (issue 25: the study's NDCG fell from 0.988
at 5% of the labels to 0.838 at 68%). The trials themselves read what their configuration reads (training labels,
plus validation labels only if it stops early on labels), so a trial's label fraction is what fitting its
configuration costs, and the recommended configuration refitted scores what the study printed.

The single-modal rankers and the feature statistics do not depend on the tuned parameters, so they are fitted once
(:func:`smar_ltr.pipeline.prepare`) and reused by every trial.
The sampler is seeded with ``seed + trials already in the study``, so the same command on the same storage gives
the same trials, and a resumed study continues instead of replaying its first trials.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from smar_ltr.annotation.budget import SIMULATED, annotated_rows
from smar_ltr.config import RunConfig, from_dict
from smar_ltr.core.artifact_kinds import TUNE_STUDY, check_output
from smar_ltr.core.atomic import write_atomic
from smar_ltr.core.progress import Progress, quiet
from smar_ltr.errors import ConfigError, SmarError
from smar_ltr.evaluation.paper_protocol import metric_values, relevance_labels
from smar_ltr.page_table.identity import splits_fingerprint
from smar_ltr.page_table.schema import MODALITY, PAGE_LABEL, QID, UPSTREAM_SCORE
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.pipeline import FitState, fit_prepared, prepare
from smar_ltr.serving.model import SmarModel


@dataclass(frozen=True)
class SearchSpace:
    """Bounds of every tuned parameter (inclusive). ``budget`` is sampled on a log scale."""

    budget: tuple[float, float] = (0.05, 1.0)
    strategies: tuple[str, ...] = ("top", "band", "random", "iso-anchor")
    modality_share: tuple[float, float] = (0.25, 1.0)
    beta: tuple[float, float] = (0.1, 3.0)
    gamma: tuple[float, float] = (0.1, 2.0)
    lam: tuple[float, float] = (0.01, 10.0)
    mu: tuple[float, float] = (0.01, 10.0)
    modes: tuple[str, ...] = ("pairwise", "listwise")
    num_leaves: tuple[int, int] = (7, 63)
    learning_rate: tuple[float, float] = (0.02, 0.3)
    n_estimators: tuple[int, int] = (50, 400)
    min_data_in_leaf: tuple[int, int] = (5, 100)

    def __post_init__(self) -> None:
        unknown = [s for s in self.strategies if s not in SIMULATED or s == "all"]
        if unknown:
            raise ConfigError(f"search space strategy {unknown[0]!r} is not tunable; use top, band, random, iso-anchor")


def suggest_config(
    trial: optuna.Trial,
    base: RunConfig,
    space: SearchSpace,
    modalities: list[str],
    fixed_budget: float | None,
    partial: bool = False,
) -> RunConfig:
    """Sample one configuration from ``space`` on top of ``base``.

    On partially annotated training pages (``partial``) the strategy is ``given``: the annotated rows.
    """
    p = fixed_budget if fixed_budget is not None else trial.suggest_float("budget", *space.budget, log=True)
    strategy = trial.suggest_categorical("strategy", ["given"] if partial else list(space.strategies))
    band = trial.suggest_int("band", 0, 2) if strategy == "band" else 0
    shares = {m: trial.suggest_float(f"share_{m}", *space.modality_share) for m in modalities}
    total = sum(shares.values())
    # single-modal pool pairs (consistency.pool_weight) are pairs: a base config that trains on them stays pairwise
    modes = ["pairwise"] if (base.consistency.pool_weight or 0) > 0 else list(space.modes)
    mode = trial.suggest_categorical("mode", modes)
    beta = {m: trial.suggest_float(f"beta_{m}", *space.beta) for m in modalities}
    tune_margin = mode == "pairwise" and base.reranker.backend != "catboost"  # PairLogit: gamma is 0
    consistency = dataclasses.replace(
        base.consistency,
        mode=mode,
        beta=beta,
        gamma=trial.suggest_float("gamma", *space.gamma) if tune_margin else base.consistency.gamma,
        lam=trial.suggest_float("lam", *space.lam, log=True),
        mu=trial.suggest_float("mu", *space.mu, log=True) if strategy == "iso-anchor" else base.consistency.mu,
    )
    reranker = dataclasses.replace(
        base.reranker,
        num_leaves=trial.suggest_int("num_leaves", *space.num_leaves),
        learning_rate=trial.suggest_float("learning_rate", *space.learning_rate, log=True),
        n_estimators=trial.suggest_int("n_estimators", *space.n_estimators),
        min_data_in_leaf=trial.suggest_int("min_data_in_leaf", *space.min_data_in_leaf),
    )
    budget = dataclasses.replace(
        base.budget,
        strategy=strategy,
        budget=float(p),
        band=band,
        modality_shares={m: v / total for m, v in shares.items()},
    )
    return dataclasses.replace(base, budget=budget, consistency=consistency, reranker=reranker).validate()


@dataclass
class TuneResult:
    """What ``smar-ltr tune`` reports.

    ``study_labels`` is the number of validation page labels the study read once to score every trial (its own
    cost, on top of what the recommended configuration reads when it is fitted), ``study_label_fraction`` the same
    over the training + validation candidates.
    """

    pareto: list[dict[str, Any]]
    recommended: dict[str, Any]
    n_trials: int
    storage: str
    study_name: str
    plots: list[str] = field(default_factory=list)
    study_labels: int = 0
    study_label_fraction: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``--format json``."""
        return dataclasses.asdict(self)


def evaluation_rows(valid: pd.DataFrame | None) -> np.ndarray:
    """The study's evaluation labels: every annotated row of the validation pages (boolean mask).

    Raises
    ------
    ConfigError
        No validation pages, or none of their rows carries a page label.
    """
    if valid is None or len(valid) == 0 or not annotated_rows(valid).any():
        raise ConfigError(
            "tuning scores every trial on the labelled validation pages, and these pages have none; give the "
            "dataset annotated validation pages"
        )
    return annotated_rows(valid)


def validation_score(model: SmarModel, state: FitState, metric: str, relevance_rule: str = "positive") -> float:
    """``metric`` of a fitted configuration on the study's evaluation labels (:func:`evaluation_rows`): the same
    rows for every trial, whatever its budget. Uses the features :func:`~smar_ltr.pipeline.prepare` computed once.
    """
    rows = evaluation_rows(state.valid)
    assert state.valid is not None and state.X_valid is not None  # evaluation_rows checked the pages
    labels = state.valid[PAGE_LABEL].to_numpy(dtype=float, na_value=np.nan)[rows]
    qid = state.valid[QID].to_numpy()[rows]
    # whole validation pages are scored (features read whole pages), then the labelled rows
    scores = model.score_features(state.valid, state.X_valid)[rows]
    binary = relevance_labels(labels, qid, relevance_rule)
    modality = state.valid[MODALITY].astype(str).to_numpy()[rows]
    reference = state.valid[UPSTREAM_SCORE].to_numpy(dtype=float, na_value=np.nan)[rows]
    return float(metric_values(labels, binary, scores, qid, [metric], modality, reference)[metric])


def open_study(storage: str, study_name: str, multi: bool) -> optuna.Study:
    """Create or resume a study; a bad storage URL becomes one :class:`ConfigError` line."""
    directions: list[Any] = ["maximize", "minimize"] if multi else ["maximize"]
    try:
        study = optuna.create_study(storage=storage, study_name=study_name, directions=directions, load_if_exists=True)
    except ValueError as exc:
        raise ConfigError(f"study {study_name!r} in {storage} cannot be resumed with this command: {exc}") from None
    except Exception as exc:  # sqlalchemy raises many types for bad URLs / unreachable databases
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot open Optuna storage {storage!r} ({first}); use an RDB URL such as sqlite:///tune.db"
        ) from None
    if len(study.directions) != len(directions):
        raise ConfigError(
            f"study {study_name!r} was created {'multi' if len(study.directions) > 1 else 'single'}-objective; "
            "use another study name for this mode"
        )
    return study


def study_identity(splits: PageSplits, metric: str, fixed_budget: float | None) -> dict[str, Any]:
    """What a study's trials must share to be compared: the pages tuned on (:func:`~smar_ltr.page_table.identity.
    splits_fingerprint` of the single-modal pool, the training and the validation pages: every column a trial
    reads, keys, labels, features and single-modal scores), the metric and the mode (a fixed budget or the budget
    tuned)."""
    digest = splits_fingerprint(splits, ("single_modal", "train", "valid"))
    # "scoring" names how trials are scored: studies scored on each trial's own budgeted rows are not resumed
    return {"pages": digest[:16], "metric": metric, "fixed_budget": fixed_budget, "scoring": SCORING}


#: How trials are scored (part of a study's identity): every labelled validation row, the same for every trial.
SCORING = "labelled-validation-rows"


def check_study_identity(study: optuna.Study, identity: dict[str, Any], study_name: str) -> None:
    """Record ``identity`` on a study without trials; refuse resuming one whose trials tuned other pages, metric
    or mode (studies from before the record are resumed as they are)."""
    recorded = study.user_attrs.get("smar_identity")
    if not study.trials:  # nothing to compare yet (e.g. a first run stopped before its first trial)
        study.set_user_attr("smar_identity", identity)
        return
    if recorded is not None and recorded != identity:
        what = [k for k in identity if recorded.get(k) != identity[k]]
        before = ", ".join(f"{k}={recorded.get(k)!r}" for k in what)
        raise ConfigError(
            f"study {study_name!r} was run with other {' and '.join(what)} ({before}); its trials cannot be "
            "compared with these: use another study name or output folder"
        )


def recommend(pareto: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """The cheapest Pareto point whose metric is within ``tolerance`` (absolute) of the best metric.

    Ties on label fraction go to the higher metric.
    """
    if not pareto:
        raise ConfigError("no completed trial to recommend from; run more trials")
    best = max(p["metric"] for p in pareto)
    ok = [p for p in pareto if p["metric"] >= best - tolerance]
    return min(ok, key=lambda p: (p["label_fraction"], -p["metric"]))


def tune(
    base: RunConfig,
    out_dir: str | Path,
    *,
    n_trials: int = 20,
    timeout: float | None = None,
    storage: str | None = None,
    study_name: str = "smar-ltr",
    metric: str = "ndcg@10",
    tolerance: float = 0.005,
    fixed_budget: float | None = None,
    n_jobs: int = 1,
    space: SearchSpace | None = None,
    splits: PageSplits | None = None,
    progress: Progress | None = None,
) -> TuneResult:
    """Run (or resume) the study and write the Pareto front, the recommended config and plots.

    Parameters
    ----------
    base : RunConfig
        Dataset, seed and every setting that is not tuned.
    out_dir : path
        Where ``pareto.csv``, ``recommended.json``, the plots and (by default) ``tune.db`` go.
    n_trials, timeout : int, float
        New trials to run in this call (the study keeps earlier ones).
    storage : str, optional
        Optuna RDB URL; default ``sqlite:///<out_dir>/tune.db``.
    metric : str
        Validation metric to maximise (any :mod:`smar_ltr.metrics.ranking` name).
    tolerance : float
        Absolute metric tolerance of the recommendation rule.
    fixed_budget : float, optional
        Single-objective mode: keep ``p`` fixed and tune the rest.
    n_jobs : int
        Parallel trials (threads); results are then not reproducible trial by trial.
    """
    say = progress or quiet
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ConfigError(f"tolerance must be a finite number >= 0, got {tolerance}")
    if n_trials < 1 or n_jobs < 1:
        raise ConfigError("n_trials and n_jobs must be >= 1")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ConfigError(f"timeout must be a number of seconds > 0, got {timeout}")
    if fixed_budget is not None and not (math.isfinite(fixed_budget) and 0 < fixed_budget <= 1):
        raise ConfigError(f"the fixed budget must be in (0, 1] (a fraction of the candidates), got {fixed_budget}")
    if splits is None:
        raise ConfigError("tune needs the pages to tune on (splits)")
    space = space or SearchSpace()
    out = check_output(out_dir, TUNE_STUDY, "tune output", error=ConfigError)  # an earlier study, or new
    if storage is None:  # the default study lives in the output folder; a given storage is checked first
        out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(out / 'tune.db').resolve()}"
    base = dataclasses.replace(base, metrics=list(dict.fromkeys([metric, *base.metrics])))
    multi = fixed_budget is None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own progress lines replace Optuna's log
    study = open_study(storage, study_name, multi)
    check_study_identity(study, study_identity(splits, metric, fixed_budget), study_name)
    out.mkdir(parents=True, exist_ok=True)
    done_before = len(study.trials)
    study.sampler = optuna.samplers.TPESampler(seed=(base.seed + done_before) % 2**32)  # numpy's seed range
    say("fitting single-modal rankers and features once for all trials")
    prepared = prepare(base, splits)
    study_rows = evaluation_rows(prepared.valid)  # read once, for every trial
    n_candidates = len(prepared.train) + (0 if prepared.valid is None else len(prepared.valid))
    say(
        f"every trial is scored on the same {int(study_rows.sum())} validation page labels "
        f"({study_rows.sum() / n_candidates:.1%} of the {n_candidates} candidates), read once by the study"
    )
    modalities = splits.modalities()
    partial = not annotated_rows(prepared.train).all()

    def objective(trial: optuna.Trial) -> Any:
        cfg = suggest_config(trial, base, space, modalities, fixed_budget, partial)
        try:
            model, state = fit_prepared(cfg, prepared)
            value = validation_score(model, state, metric, splits.info.get("relevance_rule", "positive"))
        except SmarError as exc:  # e.g. a band past the end of every list, or leaves too large for the pages
            trial.set_user_attr("pruned_because", str(exc))
            say(f"trial {trial.number} skipped: {exc}")
            raise optuna.TrialPruned(str(exc)) from None
        trial.set_user_attr("label_fraction", state.cost.label_fraction)
        trial.set_user_attr("labels_used", state.cost.labels_used)
        trial.set_user_attr("config", cfg.to_dict())
        return (value, state.cost.label_fraction) if multi else value

    def report_progress(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.values is None:
            return
        front = _front(study, multi)
        rec = recommend(front, tolerance)
        say(
            f"trial {trial.number}: {metric}={trial.values[0]:.4f} labels={trial.user_attrs['label_fraction']:.3f} | "
            f"recommended so far: {metric}={rec['metric']:.4f} at {rec['label_fraction']:.3f} of labels"
        )

    study.optimize(objective, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs, callbacks=[report_progress])
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        reasons = [t.user_attrs["pruned_because"] for t in study.trials if "pruned_because" in t.user_attrs]
        if reasons:  # the same problem in every trial: say it, not "run more trials"
            raise ConfigError(f"every trial was skipped; the first because: {reasons[0]}")
    front = _front(study, multi)
    rec = dict(recommend(front, tolerance))
    config_path = out / "recommended.json"
    trial = study.trials[rec["trial"]]
    write_atomic(config_path, lambda tmp: tmp.write_text(json.dumps(trial.user_attrs["config"], indent=2)))
    from_dict(RunConfig, trial.user_attrs["config"]).validate()  # the written config must load back
    rec["config_path"] = str(config_path)
    _write_front(front, out / "pareto.csv")
    plots = _plots(study, front, out, metric)
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return TuneResult(
        pareto=[{k: p[k] for k in ("label_fraction", "metric", "params")} for p in front],
        recommended={k: rec[k] for k in ("label_fraction", "metric", "params", "config_path")},
        n_trials=len(completed),
        storage=storage,
        study_name=study_name,
        plots=[str(p) for p in plots],
        study_labels=int(study_rows.sum()),
        study_label_fraction=round(float(study_rows.sum() / n_candidates), 6),
    )


def _point(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    return {
        "trial": t.number,
        "label_fraction": float(t.user_attrs["label_fraction"]),
        "metric": float(t.values[0]),
        "params": dict(t.params),
    }


def _front(study: optuna.Study, multi: bool) -> list[dict[str, Any]]:
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.values]
    if not completed:
        return []
    if multi:
        return sorted((_point(t) for t in study.best_trials), key=lambda p: p["label_fraction"])
    return [_point(max(completed, key=lambda t: t.values[0]))]


def _write_front(front: list[dict[str, Any]], path: Path) -> None:

    rows = [
        {
            "label_fraction": p["label_fraction"],
            "metric": p["metric"],
            "trial": p["trial"],
            "params": json.dumps(p["params"], sort_keys=True),
        }
        for p in front
    ]
    write_atomic(path, lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False))


def _plots(study: optuna.Study, front: list[dict[str, Any]], out: Path, metric: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [_point(t) for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.values]
    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([p["label_fraction"] for p in points], [p["metric"] for p in points], c="0.7", s=18, label="trials")
    ax.plot([p["label_fraction"] for p in front], [p["metric"] for p in front], "o-", c="C3", label="Pareto front")
    ax.set_xlabel("page labels read / (training + validation) candidates")
    ax.set_ylabel(f"validation {metric}")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(out / "pareto.png")
    fig.tight_layout()
    write_atomic(paths[-1], lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    strategies = sorted({p["params"].get("strategy", "?") for p in points})
    for k, s in enumerate(strategies):
        sel = sorted((p for p in points if p["params"].get("strategy") == s), key=lambda p: p["label_fraction"])
        ax.plot([p["label_fraction"] for p in sel], [p["metric"] for p in sel], "o", c=f"C{k}", label=s, alpha=0.8)
    ax.set_xscale("log" if all(p["label_fraction"] > 0 for p in points) and len(points) > 1 else "linear")
    ax.set_xlabel("page labels read / (training + validation) candidates")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("metric against labels, per strategy")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(out / "metric_by_strategy.png")
    fig.tight_layout()
    write_atomic(paths[-1], lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return paths


__all__ = ["SearchSpace", "TuneResult", "open_study", "recommend", "suggest_config", "tune"]
