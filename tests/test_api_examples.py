"""The public API: its docstring Examples run as written, and ``import smar_ltr`` exposes it lazily."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

import smar_ltr
from smar_ltr import api
from smar_ltr.core import coercion
from smar_ltr.estimator import ranker as estimator

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("module", [api, estimator, coercion], ids=lambda m: m.__name__)
def test_docstring_examples_run(module) -> None:
    result = doctest.testmod(module, optionflags=FLAGS, raise_on_error=False, verbose=False)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0


def test_package_exports_the_api() -> None:
    assert {"SMARRanker", "fit", "load", "rerank", "__version__"} <= set(smar_ltr.__all__)
    assert smar_ltr.SMARRanker is estimator.SMARRanker
    assert (smar_ltr.fit, smar_ltr.load, smar_ltr.rerank) == (api.fit, api.load, api.rerank)
    assert set(smar_ltr.__all__) <= set(dir(smar_ltr))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = smar_ltr.nope


def test_import_is_lazy() -> None:
    code = "import sys, smar_ltr; print(any(m in sys.modules for m in ('sklearn', 'lightgbm', 'smar_ltr.pipeline')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_readme_python_example_runs_verbatim(tmp_path, monkeypatch, capsys) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's Python API section has no python example"
    monkeypatch.chdir(tmp_path)  # the example writes runs/...: keep it out of the repository
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "runs" / "example" / "manifest.json").is_file()
    assert (tmp_path / "runs" / "example-ranker" / "manifest.json").is_file()
    assert "lam" in capsys.readouterr().out
