"""Census, writers: artifacts that know their kind (issue 27, item 2).

Every folder smar-ltr writes records its kind. Each writer pointed at an artifact of another kind (or at a path
inside one) is refused with one line naming what is there, and the artifact's bytes are untouched; pointed at an
earlier artifact of its own kind and id it replaces (or resumes) it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from census import invoke, tree

from smar_ltr import SMARRanker
from smar_ltr.core.artifact_kinds import artifact_at
from smar_ltr.errors import ArtifactError

TINY = {"n_estimators": 5, "learning_rate": 0.3, "num_leaves": 7, "min_data_in_leaf": 5, "early_stopping_rounds": 0}
TINY_SET = [f"--set=reranker.{k}={v}" for k, v in TINY.items()] + [
    f"--set=single_modal.{k}={v}" for k, v in TINY.items()
]
#: What a refusal names (one of): another kind, a folder inside an artifact, a non-artifact.
REFUSED = ("holds a", "lies inside a", "already holds a", "is a non-empty folder that is not")


def _estimator(out: Path) -> None:
    rng = np.random.default_rng(0)
    n = 240
    X = pd.DataFrame({"f0": rng.normal(size=n), "f1": rng.normal(size=n)})
    y = np.clip(np.round(X["f0"].to_numpy() + 1.5), 0, 3)
    qid = np.repeat(np.arange(20), 12)
    modality = np.where(rng.random(n) < 0.5, "web", "image")
    upstream = X["f0"].to_numpy() + rng.normal(0, 0.3, n)
    SMARRanker(**TINY).fit(X, y, qid=qid, modality=modality, upstream_score=upstream).save(out)


def _plan(data: Path, out: Path, seed: int = 0):
    return invoke(
        [
            "annotate",
            "plan",
            "--dataset",
            "pages",
            "--data-dir",
            str(data),
            "--budget",
            "0.3",
            "--strategy",
            "top",
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--format",
            "json",
        ]
    )


@pytest.fixture(scope="module")
def kinds(tmp_path_factory, census_run) -> dict[str, Path]:
    """One artifact of every kind, written once (the tests copy them)."""
    root = tmp_path_factory.mktemp("kinds")
    data, run = census_run["data"], census_run["run"]
    out = {"run": run}
    _estimator(root / "estimator")
    out["estimator"] = root / "estimator"
    assert _plan(data, root / "campaign").exit_code == 0
    out["campaign"] = root / "campaign"
    exported = invoke(["annotate", "export", str(root / "campaign"), "--out", str(root / "campaign-export")])
    assert exported.exit_code == 0, exported.output
    out["campaign-export"] = root / "campaign-export"
    swept = invoke(
        [
            "sweep",
            "-d",
            "pages",
            "--data-dir",
            str(data),
            "--budgets",
            "0.3",
            "--strategies",
            "top",
            "--seeds",
            "1",
            "--out",
            str(root / "sweep"),
            "-q",
            *TINY_SET,
        ]
    )
    assert swept.exit_code == 0, swept.output
    out["sweep"] = root / "sweep"
    tuned = invoke(
        [
            "tune",
            "-d",
            "pages",
            "--data-dir",
            str(data),
            "--trials",
            "1",
            "-c",
            str(census_run["config"]),
            "--out",
            str(root / "tune"),
            "-q",
        ]
    )
    assert tuned.exit_code == 0, tuned.output
    out["tune-study"] = root / "tune"
    (root / "bundle").mkdir()
    bundled = invoke(["export", "-m", str(run), "-f", "es-ltr", "--out", str(root / "bundle" / "smar.json")])
    assert bundled.exit_code == 0, bundled.output
    out["export-bundle"] = root / "bundle"
    for kind, path in out.items():
        found = artifact_at(path)
        assert (found.kind if found else "export-bundle") == kind, (kind, found)
    return out


def _writers(census_run) -> dict:
    data, run, cfg = str(census_run["data"]), str(census_run["run"]), str(census_run["config"])
    return {
        "run": lambda t: invoke(["fit", "-d", "pages", "--data-dir", data, "-c", cfg, "-o", str(t), "-q"]),
        "estimator": lambda t: _estimator(t),
        "campaign": lambda t: _plan(Path(data), t),
        "campaign-export": lambda t: invoke(["annotate", "export", str(t.parent / "campaign"), "--out", str(t)]),
        "sweep": lambda t: invoke(
            [
                "sweep",
                "-d",
                "pages",
                "--data-dir",
                data,
                "--budgets",
                "0.3",
                "--strategies",
                "top",
                "--seeds",
                "1",
                "--out",
                str(t),
                "-q",
                *TINY_SET,
            ]
        ),
        "tune-study": lambda t: invoke(
            ["tune", "-d", "pages", "--data-dir", data, "--trials", "1", "-c", cfg, "--out", str(t), "-q"]
        ),
        "export-bundle": lambda t: invoke(["export", "-m", run, "-f", "vespa", "--out", str(t / "model.json")]),
    }


WRITERS = ("run", "estimator", "campaign", "campaign-export", "sweep", "tune-study", "export-bundle")
TARGETS = ("run", "estimator", "campaign", "campaign-export", "sweep", "tune-study", "export-bundle")


def _refused(writer, target: Path) -> str:
    """The writer's one error line (the estimator raises it)."""
    try:
        result = writer(target)
    except ArtifactError as exc:
        return f"error: {exc}"
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("writer", "target"),
    [(w, t) for w in WRITERS for t in TARGETS if w != t and not (w == "export-bundle" and t == "export-bundle")],
)
def test_a_writer_pointed_at_another_kind_refuses_and_leaves_its_bytes(tmp_path, kinds, census_run, writer, target):
    shutil.copytree(kinds["campaign"], tmp_path / "campaign")  # the campaign the export writer exports
    victim = tmp_path / "victim"
    shutil.copytree(kinds[target], victim)
    before = tree(victim)
    line = _refused(_writers(census_run)[writer], victim)
    assert any(r in line for r in REFUSED), line
    assert tree(victim) == before


@pytest.mark.parametrize("target", ["run", "estimator", "campaign", "campaign-export", "sweep", "tune-study"])
@pytest.mark.parametrize("writer", ["run", "sweep", "campaign-export"])
def test_no_output_lies_inside_another_artifact(tmp_path, kinds, census_run, writer, target) -> None:
    shutil.copytree(kinds["campaign"], tmp_path / "campaign")
    victim = tmp_path / "victim"
    shutil.copytree(kinds[target], victim)
    before = tree(victim)
    writers = _writers(census_run)
    if writer == "campaign-export":
        line = _refused(
            lambda t: invoke(["annotate", "export", str(tmp_path / "campaign"), "--out", str(t)]), victim / "x"
        )
    else:
        line = _refused(writers[writer], victim / "inner")
    assert "lies inside a" in line, line
    assert tree(victim) == before


@pytest.mark.parametrize("name", ["manifest.json", "config.json", "reranker.meta.json"])
def test_export_refuses_a_run_s_own_files(tmp_path, census_run, name) -> None:
    run = tmp_path / "run"
    shutil.copytree(census_run["run"], run)
    before = tree(run)
    line = _refused(lambda t: invoke(["export", "-m", str(run), "-f", "es-ltr", "--out", str(t / name)]), run)
    assert "lies inside a run" in line, line
    assert tree(run) == before
    assert invoke(["eval", "-m", str(run), "-q", "-f", "json"]).exit_code == 0  # the run still loads


def test_the_readme_s_four_export_commands_do_not_replace_each_other(tmp_path, census_run) -> None:
    run, out = str(census_run["run"]), tmp_path / "smar.json"
    first = invoke(["export", "-m", run, "-f", "es-ltr", "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = tree(tmp_path)
    for fmt in ("vespa", "solr"):
        line = _refused(
            lambda t, f=fmt: invoke(["export", "-m", run, "-f", f, "--out", str(t / "smar.json")]), tmp_path
        )
        assert "is the model file of an earlier es-ltr export" in line and "choose another --out" in line, line
        assert tree(tmp_path) == before
    again = invoke(["export", "-m", run, "-f", "opensearch-ltr", "--out", str(out)])  # the same files' format
    assert again.exit_code == 0, again.output
    (tmp_path / "mine.json").write_text("{}")
    line = _refused(lambda t: invoke(["export", "-m", run, "-f", "vespa", "--out", str(t / "mine.json")]), tmp_path)
    assert "is not part of an earlier vespa export" in line
    assert (tmp_path / "mine.json").read_text() == "{}"


def test_an_export_of_another_campaign_is_not_replaced(tmp_path, census_run) -> None:
    data = census_run["data"]
    assert _plan(data, tmp_path / "a", seed=0).exit_code == 0
    assert _plan(data, tmp_path / "b", seed=1).exit_code == 0
    first = invoke(["annotate", "export", str(tmp_path / "a"), "--out", str(tmp_path / "out")])
    assert first.exit_code == 0, first.output
    before = tree(tmp_path / "out")
    line = _refused(lambda t: invoke(["annotate", "export", str(tmp_path / "b"), "--out", str(t)]), tmp_path / "out")
    assert "holds a campaign export (`smar-ltr annotate export`) of" in line, line
    assert str((tmp_path / "a").resolve()) in line, line
    assert tree(tmp_path / "out") == before
    again = invoke(["annotate", "export", str(tmp_path / "a"), "--out", str(tmp_path / "out")])
    assert again.exit_code == 0, again.output  # its own campaign's earlier export is replaced
    assert json.loads((tmp_path / "out" / "campaign.json").read_text())["kind"] == "campaign-export"


def test_exporting_into_the_campaign_folder_names_the_campaign(tmp_path, census_run) -> None:
    camp = tmp_path / "camp"
    assert _plan(census_run["data"], camp).exit_code == 0
    before = tree(camp)
    line = _refused(lambda t: invoke(["annotate", "export", str(t), "--out", str(t)]), camp)
    assert "holds an annotation campaign" in line, line
    assert "earlier export" not in line and ".lock" not in line
    assert tree(camp) == before


def test_a_saved_smar_ranker_and_a_run_do_not_replace_each_other(tmp_path, census_run) -> None:
    run = tmp_path / "run"
    shutil.copytree(census_run["run"], run)
    before = tree(run)
    with pytest.raises(ArtifactError, match=r"holds a run .*not a saved SMARRanker"):
        _estimator(run)
    assert tree(run) == before and (run / "revealed.parquet").is_file()
    _estimator(tmp_path / "est")
    before = tree(tmp_path / "est")
    line = _refused(_writers(census_run)["run"], tmp_path / "est")
    assert "holds a saved SMARRanker" in line, line
    assert tree(tmp_path / "est") == before
    _estimator(tmp_path / "est")  # an earlier save is replaced by a save


@pytest.mark.parametrize(
    "command",
    [
        lambda run, data, t: ["rerank", "-m", str(run), "-i", str(data / "test.parquet"), "-o", str(t / "ranked.csv")],
        lambda run, data, t: [
            "features",
            "extract",
            "-m",
            str(run),
            "-i",
            str(data / "test.parquet"),
            "--out",
            str(t / "x.parquet"),
        ],
        lambda run, data, t: ["datasets", "make-fixture", "pages", "--out", str(t / "fixture")],
        lambda run, data, t: ["datasets", "partition", str(data / "test.parquet"), str(t / "parts")],
    ],
    ids=["rerank", "features-extract", "make-fixture", "partition"],
)
def test_file_writers_refuse_a_path_inside_an_artifact(tmp_path, census_run, command) -> None:
    run = tmp_path / "run"
    shutil.copytree(census_run["run"], run)
    before = tree(run)
    result = invoke(command(census_run["run"], census_run["data"], run))
    assert result.exit_code == 1, result.output
    assert "lies inside a run" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert tree(run) == before
