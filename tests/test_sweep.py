"""``smar-ltr sweep``: the annotation-cost curve on every dataset adapter, resumable from cached cells."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import smar_ltr.experiments.sweep as sweep_module
from smar_ltr.cli.app import app
from smar_ltr.cli.workflow import load_splits
from smar_ltr.config import load_config
from smar_ltr.datasets.fixtures import make_fixture
from smar_ltr.errors import ConfigError
from smar_ltr.experiments.sweep import SweepSpec, cheapest_within, summarise, sweep

#: Tiny GBDTs: the sweep's wiring is under test, not the models.
TINY = {
    "n_estimators": 5,
    "learning_rate": 0.3,
    "num_leaves": 7,
    "min_data_in_leaf": 5,
    "early_stopping_rounds": 0,
    "n_threads": 1,
}
runner = CliRunner()
REAL_FIT, REAL_PREPARE = sweep_module.fit_prepared, sweep_module.prepare


def _write_letor(out: Path, seed: int = 0) -> None:
    """A small LETOR fold (train.txt / test.txt) whose labels follow its features."""
    from sklearn.datasets import dump_svmlight_file

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True)
    for name, n_queries in (("train.txt", 60), ("test.txt", 20)):
        qid = np.repeat(np.arange(n_queries), 12)
        X = rng.random((len(qid), 6))
        y = np.clip(np.round(4 * X[:, 0] + rng.normal(0, 0.4, len(qid))), 0, 4).astype(int)
        dump_svmlight_file(X, y, str(out / name), query_id=qid)


def _data(name: str, tmp_path: Path) -> tuple[str | None, dict]:
    if name == "synthetic":
        return None, {"size": "small"}
    if name == "letor":
        _write_letor(tmp_path / "data")
        return str(tmp_path / "data"), {}
    options = {"layout": "processed"} if name == "baidu-ultr-processed" else {}
    make_fixture(name.replace("-processed", ""), tmp_path / "data", **options)
    return str(tmp_path / "data"), {}


def _spec(dataset: str, data_dir: str | None, options: dict, **grid) -> SweepSpec:
    base = load_config(
        None,
        None,
        dataset=dataset,
        data_dir=data_dir,
        dataset_options=options,
        single_modal=TINY,
        reranker=TINY,
        metrics=["ndcg@10"],
    )
    grid = {"budgets": (0.3,), "strategies": ("top",), "seeds": (0,), **grid}
    return SweepSpec(base=base, **grid)


@pytest.mark.parametrize(
    "name", ["synthetic", "letor", "pages", "baidu", "qilin", "baidu-ultr", "baidu-ultr-processed"]
)
def test_sweep_runs_on_every_adapter(tmp_path, name: str) -> None:
    data_dir, options = _data(name, tmp_path)
    dataset = name.replace("-processed", "")
    result = sweep(_spec(dataset, data_dir, options), load_splits, tmp_path / "out")
    assert (tmp_path / "out" / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "| smar[top] | 0.3 |" in (tmp_path / "out" / "results.md").read_text()
    rows = {r["method"]: r for r in table["rows"]}
    expected = {"smar[top]", "budget_only[top]", "budget_only_up[top]", "single_modal[top]", "smar[all]"}
    expected |= {"full_supervision", "full_supervision_up", "single_modal[all]", "fusion_minmax", "interleave"}
    assert expected <= set(rows)
    # honest fractions: the budgeted methods read fewer labels than full supervision; fusion reads none
    assert rows["smar[top]"]["label_fraction"] < rows["full_supervision"]["label_fraction"]
    # the same revealed training labels; budget-only also reads its budgeted validation labels (early stopping)
    assert 0 < rows["single_modal[top]"]["labels_used"] <= rows["budget_only[top]"]["labels_used"]
    assert rows["fusion_minmax"]["labels_used"] == 0
    assert all(r["mean"] is None or 0 <= r["mean"] <= 1 for r in table["rows"])
    assert {c["method"] for c in result.cheapest} == {
        "smar[top]",
        "budget_only[top]",
        "budget_only_up[top]",
        "single_modal[top]",
    }


def _counting(monkeypatch, stop_after: int | None = None) -> dict:
    counts = {"fit": 0, "prepare": 0}

    def fit(*args, **kwargs):
        if stop_after is not None and counts["fit"] == stop_after:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the next cell
        counts["fit"] += 1
        return REAL_FIT(*args, **kwargs)

    def prepare(*args, **kwargs):
        counts["prepare"] += 1
        return REAL_PREPARE(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "fit_prepared", fit)
    monkeypatch.setattr(sweep_module, "prepare", prepare)
    return counts


def test_an_interrupted_sweep_resumes_from_its_finished_cells(tmp_path, monkeypatch, small_splits) -> None:
    spec = _spec("synthetic", None, {"size": "small"}, budgets=(0.1, 0.3), seeds=(0, 1))
    n_cells = len(spec.cells())  # 2 seeds x (reference + 2 budgets)
    assert n_cells == 6
    counts = _counting(monkeypatch, stop_after=4)
    with pytest.raises(KeyboardInterrupt):
        sweep(spec, load_splits, tmp_path / "out")
    cells = sorted((tmp_path / "out" / "cells").glob("*.json"))
    assert len(cells) == 4 and not list((tmp_path / "out" / "cells").glob(".*"))  # no half-written file
    before = {p.name: p.read_text() for p in cells}
    counts = _counting(monkeypatch)
    result = sweep(spec, load_splits, tmp_path / "out")
    assert counts["fit"] == n_cells - 4  # only the unfinished cells are fitted
    assert counts["prepare"] == 1  # only the second seed is prepared again
    assert all((tmp_path / "out" / "cells" / name).read_text() == text for name, text in before.items())
    assert len(result.records) == n_cells
    smar_vs_full = next(c for c in result.comparisons if (c["a"], c["b"]) == ("smar[top]", "full_supervision"))
    assert smar_vs_full["n"] == 2  # paired over both seeds
    assert "## Paired tests over seeds" in (tmp_path / "out" / "results.md").read_text()
    counts = _counting(monkeypatch)
    sweep(spec, load_splits, tmp_path / "out")
    assert counts == {"fit": 0, "prepare": 0}  # a finished sweep only re-reports


def test_cells_from_other_settings_are_not_reused(tmp_path, monkeypatch) -> None:
    spec = _spec("synthetic", None, {"size": "small"})
    sweep(spec, load_splits, tmp_path / "out")
    other = _spec("synthetic", None, {"size": "small"})
    other = SweepSpec(
        base=load_config(None, None, **{**other.base.to_dict(), "reranker": {**TINY, "num_leaves": 5}}),
        budgets=other.budgets,
        strategies=other.strategies,
        seeds=other.seeds,
    )
    counts = _counting(monkeypatch)
    sweep(other, load_splits, tmp_path / "out")
    assert counts["fit"] == len(other.cells())


def test_one_preparation_per_seed(tmp_path, monkeypatch) -> None:
    spec = _spec("synthetic", None, {"size": "small"}, budgets=(0.1, 0.2, 0.3), strategies=("top", "iso-anchor"))
    counts = _counting(monkeypatch)
    sweep(spec, load_splits, tmp_path / "out")
    assert counts == {"fit": 7, "prepare": 1}


def _row(method, budget, mean, strategy="top", fraction=None):
    return {
        "method": method,
        "strategy": strategy,
        "budget": budget,
        "mean": mean,
        "std": 0.0,
        "label_fraction": budget if fraction is None else fraction,
    }


def test_cheapest_budget_within_tolerance() -> None:
    rows = [
        _row("full_supervision", 1.0, 0.80, strategy="all"),
        _row("smar[top]", 0.05, 0.70),
        _row("smar[top]", 0.1, 0.796),
        _row("smar[top]", 0.3, 0.81),
        _row("budget_only[top]", 0.1, 0.70),
        _row("budget_only[top]", 1.0, 0.79),
    ]
    by = {c["method"]: c for c in cheapest_within(rows, tolerance=0.005)}
    assert by["smar[top]"]["budget"] == 0.1  # 0.796 >= 0.80 - 0.005
    assert by["budget_only[top]"]["budget"] is None
    assert {c["method"]: c["budget"] for c in cheapest_within(rows, tolerance=0.0)}["smar[top]"] == 0.3
    with pytest.raises(ConfigError, match="tolerance"):
        cheapest_within(rows, tolerance=-1)


def test_summary_averages_over_seeds_in_seed_order() -> None:
    def record(seed, value, used):
        return {
            "cell": {"dataset": "d", "strategy": "top", "budget": 0.1, "seed": seed},
            "report": {
                "results": [
                    {"method": "smar", "labels_used": used, "label_fraction": used / 100, "metrics": {"m": value}}
                ]
            },
        }

    (row,) = summarise([record(1, 0.6, 12), record(0, float("nan"), 10), record(2, 0.8, 8)], "m")
    assert row["method"] == "smar[top]" and row["seeds"] == [0, 1, 2]
    assert row["values"] == [None, 0.6, 0.8]
    assert row["mean"] == pytest.approx(0.7) and row["std"] == pytest.approx(0.1)
    assert row["labels_used"] == pytest.approx(10) and row["label_fraction"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"budgets": (0.0,)}, "budgets must be in (0, 1]"),
        ({"strategies": ("all",)}, "reference"),
        ({"strategies": ("nope",)}, "strategy 'nope' is not one"),
        ({"strategies": ("given",)}, "a sweep simulates budgets"),
        ({"seeds": (1, 1)}, "distinct"),
        ({"budgets": (0.3, 0.3)}, "lists budget 0.3 twice"),
        ({"budgets": (0.3, 0.3000001)}, "as 0.3 and 0.3000001, the same cell (0.3)"),
        ({"strategies": ("top", "top")}, "lists strategy 'top' twice"),
    ],
)
def test_bad_grids_are_one_clear_error(grid, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _spec("synthetic", None, {"size": "small"}, **grid).validate()


def test_sweep_command_writes_the_curve_and_reports_the_cheapest_budget(tmp_path) -> None:
    tiny = [f"--set=reranker.{k}={v}" for k, v in TINY.items()] + [
        f"--set=single_modal.{k}={v}" for k, v in TINY.items()
    ]
    args = ["sweep", "-d", "synthetic", "--set=dataset_options.size=small", "--budgets", "0.2,1", "--strategies", "top"]
    result = runner.invoke(app, [*args, "--seeds", "1", "--out", str(tmp_path / "s"), "--tolerance", "0.01", *tiny])
    assert result.exit_code == 0, result.output
    assert "smar[top]: cheapest within 0.01 of full_supervision:" in result.stdout
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    assert {p.name for p in (tmp_path / "s").iterdir()} == {"cells", "curve.png", "results.json", "results.md"}
    bad = runner.invoke(app, ["sweep", "--budgets", "0.1,x", "--out", str(tmp_path / "t")])
    assert bad.exit_code == 1 and bad.stderr.strip() == "error: --budgets: 'x' is not a valid float"


def test_a_folder_of_other_files_is_not_a_sweep_output(tmp_path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("not a sweep")

    def never_load(_config):
        raise AssertionError("nothing may be computed before the folder is checked")

    with pytest.raises(ConfigError, match="is a non-empty folder that is not a smar-ltr artifact"):
        sweep(_spec("synthetic", None, {"size": "small"}), never_load, tmp_path / "mine")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


def test_repeated_grid_values_are_one_line_and_never_count_a_seed_twice(tmp_path) -> None:
    for flag, value in (("--budgets", "0.3,0.3000001"), ("--strategies", "top,top")):
        bad = runner.invoke(app, ["sweep", flag, value, "--seeds", "2", "--out", str(tmp_path / "s")])
        assert bad.exit_code == 1, bad.output
        assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: the sweep grid lists"), bad.stderr
        assert not (tmp_path / "s").exists()


def test_a_cell_file_holding_another_cell_is_recomputed(tmp_path, monkeypatch) -> None:
    spec = _spec("synthetic", None, {"size": "small"}, budgets=(0.1, 0.3))
    sweep(spec, load_splits, tmp_path / "out")
    cells = tmp_path / "out" / "cells"
    top_01, top_03 = (next(cells.glob(f"*__top__p{p}__seed0.json")) for p in ("0.1", "0.3"))
    top_03.write_bytes(top_01.read_bytes())  # a copied or renamed cell file: another cell's result
    counts = _counting(monkeypatch)
    result = sweep(spec, load_splits, tmp_path / "out")
    assert counts["fit"] == 1  # only the cell whose file held another cell
    assert json.loads(top_03.read_text())["cell"]["budget"] == 0.3
    smar = [r for r in result.rows if r["method"] == "smar[top]"]
    assert [(r["budget"], r["seeds"]) for r in smar] == [(0.1, [0]), (0.3, [0])]
