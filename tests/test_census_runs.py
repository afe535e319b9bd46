"""Bad-input census, part 2: run directories, configuration, command-line paths and the inputs of ``rerank``,
on one run fitted once for the module. Contract of every case: see tests/census.py. The policies for inputs
that are accepted (constant-label queries) are checked at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from census import Case, check_case, invoke


@pytest.fixture(scope="module")
def shared(census_run) -> dict[str, Path]:
    return census_run


SHARED: dict[str, Path] = {}


@pytest.fixture(autouse=True)
def _expose(shared) -> None:
    SHARED.update(shared)


def run_copy(tmp: Path) -> Path:
    target = tmp / "run"
    shutil.copytree(SHARED["run"], target)
    return target


def pages_input(tmp: Path, edit=None, name: str = "pages.parquet") -> Path:
    frame = pd.read_parquet(SHARED["data"] / "test.parquet").drop(columns="page_label")
    if edit is not None:
        frame = edit(frame)
    path = tmp / name
    frame.to_csv(path, index=False) if path.suffix == ".csv" else frame.to_parquet(path)
    return path


def rerank(edit=None, output: str = "TMP/out.parquet", name: str = "pages.parquet"):
    def setup(tmp: Path) -> list[str]:
        src = pages_input(tmp, edit, name)
        return ["rerank", "-m", str(SHARED["run"]), "-i", str(src), "-o", output.replace("TMP", str(tmp))]

    return setup


def _first_feature(frame: pd.DataFrame) -> str:
    return next(c for c in frame.columns if c.startswith("f_"))


RERANK_CASES = [
    Case("unseen modality", rerank(lambda f: f.assign(modality="audio")), "which no single-modal ranker"),
    Case("feature column missing", rerank(lambda f: f.drop(columns=_first_feature(f))), "lack"),
    Case("text in a feature", rerank(lambda f: f.assign(**{_first_feature(f): "x"})), "must be numeric"),
    Case(
        "input missing",
        lambda t: ["rerank", "-m", str(SHARED["run"]), "-i", str(t / "no.parquet"), "-o", str(t / "o.parquet")],
        "does not exist",
    ),
    Case("input .txt", rerank(name="pages.txt"), "must end in .parquet"),
    Case("semicolon CSV input", lambda t: _semicolon_input(t), "semicolons"),
    Case("output is a folder", lambda t: rerank(output="TMP")(t), "is a folder"),
    Case("output .json", rerank(output="TMP/out.json"), "must end in .parquet or .csv"),
    Case("output below a file", lambda t: rerank(output="TMP/pages.parquet/out.parquet")(t), "is a file, not a folder"),
    Case("output under /proc", rerank(output="/proc/smar-ltr-census/out.parquet"), "not writable"),
    Case("no qid", rerank(lambda f: f.drop(columns="qid")), "'qid'"),
]


def _semicolon_input(tmp: Path) -> list[str]:
    path = pages_input(tmp, name="pages.csv")
    frame = pd.read_csv(path)
    frame.to_csv(path, sep=";", index=False)
    return ["rerank", "-m", str(SHARED["run"]), "-i", str(path), "-o", str(tmp / "o.parquet")]


def eval_run(edit):
    def setup(tmp: Path) -> list[str]:
        run = run_copy(tmp)
        edit(run)
        return ["eval", "-m", str(run), "-q"]

    return setup


def _edit_json(name: str, key: str, value):
    def edit(run: Path) -> None:
        data = json.loads((run / name).read_text())
        data[key] = value
        (run / name).write_text(json.dumps(data))

    return edit


def _relative_data_dir_run(tmp: Path) -> list[str]:
    """A run saved with a relative data_dir (as runs fitted before data_dir was made absolute), evaluated
    from a folder where that relative path does not exist."""
    import dataclasses

    from smar_ltr.serving.run_dir import load_run, save_run

    model = load_run(SHARED["run"])
    model.config = dataclasses.replace(model.config, data_dir="pages")
    save_run(model, tmp / "old-run")
    return ["eval", "-m", str(tmp / "old-run"), "-q"]


RUN_CASES = [
    Case("relative data_dir of an old run", _relative_data_dir_run, "relative to the folder the run was fitted in"),
    Case("run folder missing", lambda t: ["eval", "-m", str(t / "nope")], "does not exist"),
    Case("empty folder as run", lambda t: ["eval", "-m", str((t / "e", (t / "e").mkdir())[0])], "no manifest.json"),
    Case("manifest edited", eval_run(_edit_json("manifest.json", "seed", 7)), "digest mismatch"),
    Case("manifest not JSON", eval_run(lambda r: (r / "manifest.json").write_text("{")), "not valid JSON"),
    Case("config edited", eval_run(_edit_json("config.json", "seed", 7)), "sha256"),
    Case("model file deleted", eval_run(lambda r: (r / "reranker.txt").unlink()), "is missing"),
    Case(
        "eval --model with --seed", lambda t: ["eval", "-m", str(SHARED["run"]), "--seed", "3"], "brings its own config"
    ),
    Case(
        "eval on another dataset", lambda t: ["eval", "-m", str(SHARED["run"]), "-d", "synthetic"], "trained on dataset"
    ),
    Case(
        "eval --data-dir missing",
        lambda t: ["eval", "-m", str(SHARED["run"]), "--data-dir", str(t / "x")],
        "does not exist",
    ),
]


def fit(*extra: str):
    def setup(tmp: Path) -> list[str]:
        args = ["fit", "-d", "pages", "--data-dir", str(SHARED["data"]), "-c", str(SHARED["config"]), "-q"]
        args += [a.replace("TMP", str(tmp)) for a in extra]
        return args if "-o" in extra else [*args, "-o", str(tmp / "run")]

    return setup


def _config_file(text: str, suffix: str = ".json"):
    def setup(tmp: Path) -> list[str]:
        (tmp / f"c{suffix}").write_text(text)
        return ["fit", "-c", str(tmp / f"c{suffix}"), "-o", str(tmp / "run")]

    return setup


CONFIG_CASES = [
    Case("seed -1", fit("--seed", "-1"), "seed must be"),
    Case("seed 2**32", fit("--seed", str(2**32)), "seed must be"),
    Case("budget 0", fit("--budget", "0"), "budget.budget"),
    Case("budget 2", fit("--budget", "2"), "budget.budget"),
    Case("unknown strategy", fit("--strategy", "best"), "budget.strategy"),
    Case("unknown backend", fit("--backend", "sklearn"), "backend"),
    Case("unknown --set key", fit("--set", "reranker.leaves=3"), "leaves"),
    Case("--set not a number", fit("--set", "reranker.learning_rate=fast"), "learning_rate"),
    Case("--set without =", fit("--set", "reranker.learning_rate"), "KEY=VALUE"),
    Case("config missing", lambda t: ["fit", "-c", str(t / "none.json"), "-o", str(t / "run")], "none.json"),
    Case("config not JSON", _config_file("{"), "c.json"),
    Case("config unknown key", _config_file('{"sed": 1}'), "sed"),
    Case("config wrong type", _config_file('{"budget": "lots"}'), "budget"),
    Case("TOML config broken", _config_file("seed = ", ".toml"), "c.toml"),
    Case("eval --format xml", lambda t: ["eval", "-m", str(SHARED["run"]), "-f", "xml"], "--format"),
    Case("eval --split train", lambda t: ["eval", "-m", str(SHARED["run"]), "--split", "train"], "--split"),
    Case("tune --trials 0", lambda t: ["tune", "--trials", "0", "-o", str(t / "tune")], "--trials"),
    Case("tune --n-jobs 0", lambda t: ["tune", "--n-jobs", "0", "-o", str(t / "tune")], "--n-jobs"),
    Case("tune unknown metric", lambda t: ["tune", "--metric", "auc", "-o", str(t / "tune")], "auc"),
    Case("datasets info --seed -1", lambda t: ["datasets", "info", "synthetic", "--seed", "-1"], "--seed"),
    Case("unknown dataset", lambda t: ["datasets", "info", "msmarco"], "msmarco"),
    Case("bad dataset option", lambda t: ["datasets", "info", "synthetic", "-o", "nokey"], "KEY=VALUE"),
    Case("unknown dataset option", lambda t: ["datasets", "info", "synthetic", "-o", "sise=1"], "sise"),
    Case("unknown fixture", lambda t: ["datasets", "make-fixture", "msmarco", "--out", str(t / "f")], "msmarco"),
    Case(
        "--layout for qilin",
        lambda t: ["datasets", "make-fixture", "qilin", "--layout", "raw", "--out", str(t / "f")],
        "--layout",
    ),
    Case("plugin file missing", fit("--plugins", "TMP/none.py"), "none.py"),
]


def _user_files(tmp: Path) -> Path:
    mine = tmp / "mine"
    mine.mkdir()
    (mine / "train.parquet").write_text("my own file")
    return mine


PATH_CASES = [
    Case("--out below a file", lambda t: _below_file(t), "is a file, not a folder"),
    Case("--out is a file", lambda t: (_below_file(t), fit("-o", "TMP/f.txt")(t))[1], "is a file"),
    Case("--out holds other files", lambda t: (_user_files(t), fit("-o", "TMP/mine")(t))[1], "not a smar-ltr artifact"),
    Case("--out under /proc", fit("-o", "/proc/smar-ltr-census/run"), "not writable"),
    Case("tune --out is a file", lambda t: (_below_file(t), ["tune", "-o", str(t / "f.txt")])[1], "is a file"),
    Case(
        "make-fixture over my files",
        lambda t: ["datasets", "make-fixture", "pages", "--out", str(_user_files(t))],
        "already holds 'train.parquet'",
    ),
    Case(
        "make-fixture --out a file",
        lambda t: (_below_file(t), ["datasets", "make-fixture", "pages", "--out", str(t / "f.txt")])[1],
        "is a file",
    ),
]


def _below_file(tmp: Path) -> list[str]:
    (tmp / "f.txt").write_text("x")
    return fit("-o", "TMP/f.txt/run")(tmp)


@pytest.mark.parametrize("case", RERANK_CASES + RUN_CASES + CONFIG_CASES + PATH_CASES, ids=lambda c: c.id)
def test_bad_input_is_one_line_and_writes_nothing(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)
    assert not any(p.name.startswith(".") for p in SHARED["root"].rglob("*")), "temporaries left in the shared run"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; covered by the /proc cases")
def test_read_only_folder_is_refused_before_work(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        check_case(Case("read-only --out", fit("-o", "TMP/ro/run"), "not writable"), tmp_path)
    finally:
        ro.chmod(0o755)


# ---- accepted under a stated policy ------------------------------------------------------------------------
def test_constant_label_queries_are_counted_and_can_be_excluded(tmp_path: Path) -> None:
    data = tmp_path / "pages"
    shutil.copytree(SHARED["data"], data)
    test = pd.read_parquet(data / "test.parquet")
    constant = test["qid"].unique()[:3]
    test.loc[test["qid"].isin(constant[:2]), "page_label"] = 1  # every item equally relevant
    test.loc[test["qid"] == constant[2], "page_label"] = 0  # nothing relevant
    test.to_parquet(data / "test.parquet")
    n_queries = test["qid"].nunique()
    run = run_copy(tmp_path)  # eval stores its baselines in the run: keep the shared one pristine
    n_constant = int((test.groupby("qid")["page_label"].nunique() == 1).sum())
    assert n_constant >= 3
    kept = invoke(["eval", "-m", str(run), "--data-dir", str(data), "-q"])
    assert kept.exit_code == 0, kept.output
    assert f"note: {n_constant} of {n_queries} queries have all-equal labels" in kept.stdout
    dropped = invoke(
        ["eval", "-m", str(run), "--data-dir", str(data), "-q", "--exclude-constant-queries", "-f", "json"]
    )
    report = json.loads(dropped.stdout)
    assert report["notes"]["constant_label_queries"] == n_constant
    assert report["notes"]["constant_label_queries_excluded"] is True
    assert report["n_queries"] == n_queries - n_constant


def test_a_relative_data_dir_is_stored_absolute(tmp_path: Path, monkeypatch) -> None:
    from smar_ltr.cli.run_settings import build_config

    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    cfg = build_config("pages", Path("data"), None, None, None, None, None, None)
    assert cfg.data_dir == str(tmp_path.resolve() / "data")  # the run can be evaluated from any folder
