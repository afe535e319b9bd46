"""The annotation-cost curve: SMAR and the baselines over budgets, strategies and seeds (``smar-ltr sweep``).

A sweep is a grid of *cells* ``(dataset, strategy, budget, seed)``. Per seed there is one *reference* cell
(strategy ``all``, budget 1) with the budget-free methods (full supervision with and without the single-modal
score as an input, fusion, interleaving, and SMAR and the calibrated single-modal merge on every label), and one
cell per (strategy, budget) with the budgeted methods (SMAR, budget-only LambdaMART with and without the
single-modal score, the calibrated single-modal merge). Every cell is evaluated on the test split by
:func:`smar_ltr.evaluation.paper_protocol.evaluate_run`, so each method reports its own honest label count and fraction.

Each finished cell is written as its own JSON file (atomically) into the cache directory; a re-run reads the
finished cells back instead of fitting them again, so an interrupted sweep continues where it stopped. A cell is
reused only when it was computed under the same settings (a hash of the run config without seed, strategy and
budget), on the same data (:func:`smar_ltr.page_table.identity.splits_fingerprint` of the seed's pages: every column of
every table it read) and is the cell it should be; a cell whose data changed is recomputed, with a note saying
so. The single-modal rankers and the features do not depend on the budget: they are fitted once per seed
(:func:`smar_ltr.pipeline.prepare`) and shared by that seed's cells.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smar_ltr.annotation.budget import STRATEGIES
from smar_ltr.config import RunConfig
from smar_ltr.core.artifact_kinds import SWEEP, check_output
from smar_ltr.core.atomic import write_atomic
from smar_ltr.errors import ConfigError, SettingNote
from smar_ltr.evaluation.paper_protocol import evaluate_run
from smar_ltr.experiments.significance import compare_rows
from smar_ltr.metrics.ranking import parse_metric
from smar_ltr.page_table.identity import splits_fingerprint
from smar_ltr.page_table.splits import PageSplits
from smar_ltr.pipeline import Prepared, fit_prepared, prepare

#: Strategy of the per-seed reference cell.
REFERENCE = "all"
#: Methods of a budgeted cell and of the reference cell.
BUDGETED_METHODS = ("smar", "budget_only", "budget_only_up", "single_modal")
REFERENCE_METHODS = (
    "smar",
    "full_supervision",
    "full_supervision_up",
    "single_modal",
    "fusion_minmax",
    "fusion_zscore",
    "interleave",
)
#: Methods whose curve depends on the budget (labelled ``method[strategy]`` in the tables and the plot).
PER_STRATEGY = frozenset({"smar", "budget_only", "budget_only_up", "single_modal"})

#: Called after each cell: (cell, index, total, reused from the cache?).
CellProgress = Callable[["Cell", int, int, bool], None]
#: Gives the data of one seed: ``load(config) -> PageSplits`` (the caller decides where data come from).
SplitsLoader = Callable[[RunConfig], PageSplits]


@dataclass(frozen=True)
class Cell:
    """One point of the sweep grid."""

    dataset: str
    strategy: str
    budget: float
    seed: int

    @property
    def filename(self) -> str:
        """Cache file name, e.g. ``synthetic__top__p0.1__seed0.json``."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.dataset)
        return f"{safe}__{self.strategy}__p{self.budget:g}__seed{self.seed}.json"


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep.

    Attributes
    ----------
    base : RunConfig
        Dataset and every setting except the grid's (its seed, strategy and budget are replaced per cell).
    budgets : tuple of float
        Budgets ``p`` in (0, 1].
    strategies : tuple of str
        Simulated annotation strategies (:data:`smar_ltr.annotation.budget.STRATEGIES` but ``given`` and ``all``, which
        is
        the reference).
    seeds : tuple of int
        Seeds of the data split, the annotation sampling and every model.
    """

    base: RunConfig
    budgets: tuple[float, ...]
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]

    def validate(self) -> SweepSpec:
        """Range checks; returns self."""
        if not self.budgets or not self.strategies or not self.seeds:
            raise ConfigError("a sweep needs at least one budget, one strategy and one seed")
        for p in self.budgets:
            if not (isinstance(p, int | float) and math.isfinite(p) and 0 < p <= 1):
                raise ConfigError(f"sweep budgets must be in (0, 1], got {p!r}")
        _refuse_repeats(self.budgets, "budget", lambda p: f"{float(p):g}")
        _refuse_repeats(self.strategies, "strategy", str)
        budgeted = [x for x in STRATEGIES if x not in (REFERENCE, "given")]
        for s in self.strategies:
            if s == REFERENCE:
                raise ConfigError("strategy 'all' is the reference every sweep includes; list only budgeted ones")
            if s not in budgeted:
                raise ConfigError(
                    f"a sweep simulates budgets: strategy {s!r} is not one; choose from {', '.join(budgeted)}"
                )
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("sweep seeds must be distinct")
        self.base.validate()
        return self

    def cells(self) -> list[Cell]:
        """The grid, seed by seed (reference cell first), so each seed's preparation is shared."""
        name = self.base.dataset
        out = []
        for seed in self.seeds:
            out.append(Cell(name, REFERENCE, 1.0, seed))
            out += [Cell(name, s, float(p), seed) for s in self.strategies for p in sorted(set(self.budgets))]
        return out

    def settings_hash(self) -> str:
        """sha256 of the base config without the grid's fields (cells under other settings are not reused)."""
        return hashlib.sha256(json.dumps(_grid_free(self.base), sort_keys=True, default=str).encode()).hexdigest()


def _refuse_repeats(values: Sequence[Any], what: str, name: Callable[[Any], str]) -> None:
    """Refuse a grid axis that names one cell twice: the same value, or values whose cell is the same (budgets
    equal to 6 significant digits, ``0.3`` and ``0.3000001``, share one cell file); a repeat would count each
    seed twice in the means and the paired tests."""
    seen: dict[str, Any] = {}
    for value in values:
        key = name(value)
        if key in seen:
            same = "twice" if seen[key] == value else f"as {seen[key]!r} and {value!r}, the same cell ({key})"
            raise ConfigError(f"the sweep grid lists {what} {seen[key]!r} {same}; list each {what} once")
        seen[key] = value


def _grid_free(config: RunConfig) -> dict[str, Any]:
    """The config as a dict without the fields a sweep sets per cell (seed, strategy, budget)."""
    data = config.to_dict()
    data.pop("seed")
    data["budget"] = {k: v for k, v in data["budget"].items() if k not in ("strategy", "budget")}
    return data


def cell_config(base: RunConfig, cell: Cell) -> RunConfig:
    """The run config of one cell."""
    budget = dataclasses.replace(base.budget, strategy=cell.strategy, budget=cell.budget)
    return dataclasses.replace(base, seed=cell.seed, budget=budget).validate()


def read_cell(
    path: Path, settings_hash: str, data: str | None = None, cell: Cell | None = None
) -> dict[str, Any] | None:
    """A finished cell's record, or None when absent, unreadable, computed under other settings, on other data
    (``data``: :func:`~smar_ltr.page_table.identity.splits_fingerprint` of the cell's pages), or not the record of
    ``cell``.
    """
    return cell_status(path, settings_hash, data, cell)[0]


def cell_status(
    path: Path, settings_hash: str, data: str | None = None, cell: Cell | None = None
) -> tuple[dict[str, Any] | None, str]:
    """``(record, why)``: the reusable record of a finished cell and ``"reused"``, or None and why not
    (``"absent"``, ``"unreadable"``, ``"settings"``, ``"data"`` or ``"other-cell"``)."""
    if not path.exists():
        return None, "absent"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, "unreadable"
    if not isinstance(record, dict) or "report" not in record:
        return None, "unreadable"
    if record.get("settings_hash") != settings_hash:
        return None, "settings"
    if cell is not None and record.get("cell") != dataclasses.asdict(cell):
        return None, "other-cell"
    if data is not None and record.get("data") != data:
        return None, "data"
    return record, "reused"


def run_cell(cfg: RunConfig, prepared: Prepared, methods: Sequence[str]) -> dict[str, Any]:
    """Fit SMAR for one cell and evaluate it with ``methods`` on the test split (``EvalReport.to_dict()``)."""
    model, state = fit_prepared(cfg, prepared)
    report = evaluate_run(cfg, model, state, prepared.splits, methods=tuple(methods))
    return report.to_dict()


def _write_json(path: Path, record: dict[str, Any]) -> None:
    text = json.dumps(record, indent=1)

    def write(tmp: Path) -> None:
        tmp.write_text(text)

    write_atomic(path, write)


def _check_sweep_folder(out: Path) -> None:
    """Refuse a folder that holds anything but an earlier sweep (the user's files, another artifact), or that lies
    inside another artifact (:func:`smar_ltr.core.artifact_kinds.check_output`)."""
    check_output(out, SWEEP, "sweep output", error=ConfigError)


def run_sweep(
    spec: SweepSpec, load: SplitsLoader, cache_dir: str | Path, on_cell: CellProgress | None = None
) -> list[dict[str, Any]]:
    """Compute (or read back) every cell of the sweep.

    Parameters
    ----------
    spec : SweepSpec
        The grid and the settings.
    load : callable
        ``load(config) -> PageSplits``: a seed's data (called once per seed; its fingerprint keys the seed's cells).
    cache_dir : path
        Directory of the per-cell JSON files (created); finished cells found there are reused.
    on_cell : callable, optional
        Progress callback ``on_cell(cell, index, total, reused)`` after each cell.

    Returns
    -------
    list of dict
        One record per cell, in grid order: ``cell`` (its fields), ``settings_hash``, ``wall_s`` and ``report``.
    """
    spec.validate()
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    digest = spec.settings_hash()
    cells = spec.cells()
    records: list[dict[str, Any]] = []
    prepared: Prepared | None = None
    splits: PageSplits | None = None
    data: str | None = None
    loaded_seed: int | None = None
    stale: list[int] = []  # seeds whose cached cells were computed on other data
    for index, cell in enumerate(cells):
        cfg = cell_config(spec.base, cell)
        if loaded_seed != cell.seed:  # the seed's pages, fingerprinted once: every cell of the seed is keyed by them
            splits, loaded_seed, prepared = load(cfg), cell.seed, None
            data = splits_fingerprint(splits)
        assert splits is not None and data is not None
        path = cache / cell.filename
        record, why = cell_status(path, digest, data, cell)
        reused = record is not None
        if why == "data" and cell.seed not in stale:
            stale.append(cell.seed)
            warnings.warn(
                f"the cached sweep cells of seed {cell.seed} in {str(cache)!r} were computed on other data (the "
                "pages changed since); recomputing them",
                SettingNote,
                stacklevel=2,
            )
        if record is None:
            t0 = time.perf_counter()
            if prepared is None:
                prepared = prepare(cfg, splits)
            methods = REFERENCE_METHODS if cell.strategy == REFERENCE else BUDGETED_METHODS
            report = run_cell(cfg, prepared, methods)
            record = {
                "cell": dataclasses.asdict(cell),
                "settings_hash": digest,
                "data": data,
                "wall_s": round(time.perf_counter() - t0, 3),
                "report": report,
            }
            _write_json(path, record)
        records.append(record)
        if on_cell is not None:
            on_cell(cell, index, len(cells), reused)
    return records


def method_label(method: str, strategy: str) -> str:
    """Curve name of a method in a cell: ``smar[top]``, ``single_modal[all]``, ``full_supervision``."""
    return f"{method}[{strategy}]" if method in PER_STRATEGY else method


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None, None
    return float(np.mean(finite)), float(np.std(finite)) if len(finite) > 1 else 0.0


def summarise(records: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """One row per (curve, budget): mean and std over seeds of ``metric`` and of the honest label fraction.

    Returns
    -------
    list of dict
        Keys ``method``, ``strategy``, ``budget``, ``n_seeds``, ``seeds``, ``labels_used``, ``label_fraction``,
        ``mean``, ``std`` and ``values`` (per seed, in ``seeds`` order; None where undefined).
    """
    groups: dict[tuple[str, str, float], list[tuple[int, dict[str, Any]]]] = {}
    for record in records:
        cell = record["cell"]
        for result in record["report"]["results"]:
            if metric not in result["metrics"]:
                raise ConfigError(f"metric {metric!r} was not computed; add it to the run config's metrics")
            key = (method_label(result["method"], cell["strategy"]), cell["strategy"], float(cell["budget"]))
            groups.setdefault(key, []).append((int(cell["seed"]), result))
    rows = []
    for (label, strategy, budget), items in groups.items():
        items.sort(key=lambda item: item[0])
        values = [r["metrics"][metric] for _, r in items]
        mean, std = _mean_std(values)
        rows.append(
            {
                "method": label,
                "strategy": strategy,
                "budget": budget,
                "n_seeds": len(items),
                "seeds": [s for s, _ in items],
                "labels_used": float(np.mean([r["labels_used"] for _, r in items])),
                "label_fraction": float(np.mean([r["label_fraction"] for _, r in items])),
                "mean": mean,
                "std": std,
                "values": [v if v is not None and math.isfinite(v) else None for v in values],
            }
        )
    rows.sort(key=lambda r: (r["method"], r["budget"]))
    return rows


def cheapest_within(rows: list[dict[str, Any]], tolerance: float, reference: str = "full_supervision") -> list[dict]:
    """Per budgeted curve, the smallest budget whose mean is within ``tolerance`` of ``reference``'s mean.

    A curve qualifies at budget ``p`` when ``mean(p) >= mean(reference) - tolerance`` (means over seeds).

    Returns
    -------
    list of dict
        Keys ``method``, ``budget`` and ``label_fraction`` (None when no budget qualifies), ``mean``,
        ``reference``, ``reference_mean``, ``tolerance``.
    """
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ConfigError(f"tolerance must be a finite number >= 0, got {tolerance}")
    ref = [r for r in rows if r["method"] == reference and r["mean"] is not None]
    if not ref:
        raise ConfigError(f"the sweep has no result for the reference method {reference!r}")
    target = ref[0]["mean"]
    out = []
    curves = sorted({r["method"] for r in rows if r["strategy"] != REFERENCE})
    for label in curves:
        points = sorted((r for r in rows if r["method"] == label), key=lambda r: r["budget"])
        hit = next((r for r in points if r["mean"] is not None and r["mean"] >= target - tolerance), None)
        out.append(
            {
                "method": label,
                "budget": hit["budget"] if hit else None,
                "label_fraction": hit["label_fraction"] if hit else None,
                "mean": hit["mean"] if hit else None,
                "reference": reference,
                "reference_mean": target,
                "tolerance": tolerance,
            }
        )
    return out


@dataclass
class SweepResult:
    """What :func:`sweep` computed and wrote."""

    records: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    cheapest: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]
    paths: dict[str, Path]


def sweep(
    spec: SweepSpec,
    load: SplitsLoader,
    out_dir: str | Path,
    metric: str = "ndcg@10",
    tolerance: float = 0.005,
    reference: str = "full_supervision",
    on_cell: CellProgress | None = None,
    cache_dir: str | Path | None = None,
) -> SweepResult:
    """Run the sweep (cells cached under ``out_dir/cells``) and write ``curve.png``, ``results.md`` and
    ``results.json`` into ``out_dir``.

    Parameters
    ----------
    spec : SweepSpec
        Grid and settings; ``metric`` is added to the config's metrics when missing.
    load : callable
        ``load(config) -> PageSplits`` (see :func:`run_sweep`).
    out_dir : path
        Output directory; an interrupted sweep resumes from the cells already there.
    metric : str
        The curve's metric (default ``ndcg@10``).
    tolerance : float
        The cheapest budget reported per curve is the smallest whose mean ``metric`` is at least the
        ``reference`` mean minus ``tolerance``; it is also the equivalence margin of the paired tests.
    reference : {"full_supervision", "full_supervision_up"}
        The fully supervised method the budgets are compared with.
    on_cell : callable, optional
        Progress callback (see :func:`run_sweep`).
    cache_dir : path, optional
        Where the per-cell files live (default ``out_dir/cells``).
    """
    parse_metric(metric)
    if reference not in ("full_supervision", "full_supervision_up"):
        raise ConfigError(f"reference must be full_supervision or full_supervision_up, got {reference!r}")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ConfigError(f"tolerance must be a finite number >= 0, got {tolerance}")
    if metric not in spec.base.metrics:
        spec = dataclasses.replace(spec, base=dataclasses.replace(spec.base, metrics=[*spec.base.metrics, metric]))
    from smar_ltr.experiments.sweep_plot import write_outputs

    out = Path(out_dir)
    _check_sweep_folder(out)
    records = run_sweep(spec, load, out / "cells" if cache_dir is None else cache_dir, on_cell)
    rows = summarise(records, metric)
    cheapest = cheapest_within(rows, tolerance, reference)
    comparisons = compare_rows(rows, reference, tolerance)
    first = records[0]["report"]
    header = {
        "kind": "sweep",
        "dataset": spec.base.dataset,
        "budgets": sorted(set(spec.budgets)),
        "strategies": list(spec.strategies),
        "seeds": list(spec.seeds),
        "simulated": bool(first.get("notes", {}).get("simulated", False)),
        "config": _grid_free(spec.base),
    }
    paths = write_outputs(out, rows, cheapest, comparisons, metric, header)
    return SweepResult(records, rows, cheapest, comparisons, paths)
