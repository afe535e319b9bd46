"""The core takes data, not names: no dataset loading or CLI flags in the library; computed once, passed down."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import fast_config

import smar_ltr
from smar_ltr.core.settings_io import parse_key_values, parse_overrides
from smar_ltr.errors import ConfigError
from smar_ltr.serving.run_dir import load_run, save_run

CORE = Path(smar_ltr.__file__).resolve().parent
FLAG = re.compile(r"(^|[\s(])--[a-z]")


def _core_modules() -> list[Path]:
    return sorted(p for p in CORE.glob("*.py")) + sorted(CORE.glob("rankers/*.py"))


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_core_error_messages_name_no_cli_flag() -> None:
    offenders = []
    for path in _core_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                offenders += [f"{path.name}: {s!r}" for s in _strings(node.exc) if FLAG.search(s)]
    assert offenders == []


def test_core_loads_no_dataset_by_name() -> None:
    for path in _core_modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("smar_ltr.datasets"), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Name):
                assert node.id != "load_dataset", f"{path.name} calls load_dataset"


def test_library_functions_need_the_data(tmp_path) -> None:
    from smar_ltr.evaluation.paper_protocol import evaluate_run
    from smar_ltr.experiments.tuning import tune

    with pytest.raises(ConfigError, match="needs the pages"):
        evaluate_run(fast_config())
    with pytest.raises(ConfigError, match="needs the pages"):
        tune(fast_config(), tmp_path / "study", n_trials=1)
    assert not (tmp_path / "study").exists()  # refused before writing anything


def test_a_loaded_run_is_not_re_annotated(monkeypatch, tmp_path, fitted_small, small_splits) -> None:
    import smar_ltr.annotation.budget
    import smar_ltr.annotation.label_cost
    from smar_ltr.evaluation.paper_protocol import evaluate_run

    model, state = fitted_small
    direct = evaluate_run(model.config, model, state, small_splits, methods=("budget_only",))
    loaded = load_run(save_run(model, tmp_path / "run"))

    def refuse(*args, **kwargs):
        raise AssertionError("annotate was called for a loaded run")

    monkeypatch.setattr(smar_ltr.annotation.budget, "annotate", refuse)
    monkeypatch.setattr(smar_ltr.annotation.label_cost, "annotate", refuse)
    again = evaluate_run(model.config, loaded, None, small_splits, methods=("budget_only",))
    assert again.result("budget_only").metrics == pytest.approx(direct.result("budget_only").metrics)
    assert again.result("budget_only").labels_used == direct.result("budget_only").labels_used


def test_tuning_prepares_features_once_per_study(monkeypatch, tmp_path, small_splits) -> None:
    import smar_ltr.pipeline as pipeline
    from smar_ltr.experiments.tuning import SearchSpace, tune

    calls = {"design": 0, "prepare": 0}
    real_design, real_prepare = pipeline.design_matrix, pipeline.SmarModel.prepare

    def design(*args, **kwargs):
        calls["design"] += 1
        return real_design(*args, **kwargs)

    def prepare(self, frame):
        calls["prepare"] += 1
        return real_prepare(self, frame)

    monkeypatch.setattr(pipeline, "design_matrix", design)
    monkeypatch.setattr(pipeline.SmarModel, "prepare", prepare)
    space = SearchSpace(n_estimators=(10, 12), num_leaves=(7, 8), strategies=("top",))
    result = tune(fast_config(), tmp_path, n_trials=3, space=space, splits=small_splits, study_name="once")
    assert result.n_trials >= 1
    assert calls == {"design": 2, "prepare": 0}  # training + validation matrices, once for the whole study


def test_one_key_value_parser() -> None:
    assert parse_key_values(["a=1", "b = x=y"], decode=True) == {"a": 1, "b": "x=y"}
    assert parse_key_values(["a=1"]) == {"a": "1"}
    assert parse_overrides(["reranker.learning_rate=0.1"]) == {"reranker": {"learning_rate": "0.1"}}
    with pytest.raises(ConfigError, match=r"--option 'x' is not KEY=VALUE \(e.g. size=small\)"):
        parse_key_values(["x"], "--option", "size=small")


def test_one_table_renderer() -> None:
    from smar_ltr.cli.formatting import table

    text = table(["name", "n"], [["a", "10"], ["bb", "2"]], numbers_right=True)
    assert text.splitlines() == ["name   n", "----  --", "a     10", "bb     2"]
    assert table(["x"], [["1"]], markdown=True).splitlines() == ["| x |", "|---|", "| 1 |"]
