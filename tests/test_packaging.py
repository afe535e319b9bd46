"""A normal (non-editable) install puts one import package, `smar_ltr`, into site-packages, and the CLI runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_normal_install_has_only_smar_ltr_at_top_level(tmp_path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    top = {p.name for p in target.iterdir() if p.name not in ("bin", "__pycache__")}
    assert {"datasets", "features", "cli", "ltr"}.isdisjoint(top)
    assert "smar_ltr" in top and all(n == "smar_ltr" or n.startswith("smar_ltr-") for n in top)
    for sub in ("features", "datasets", "cli", "rankers"):
        assert (target / "smar_ltr" / sub / "__init__.py").exists()
    entry_points = next(target.glob("smar_ltr-*.dist-info")) / "entry_points.txt"
    text = entry_points.read_text()
    assert "smar-ltr = smar_ltr.cli.entry:main" in text and "[smar_ltr.features]" in text
    env_path = f"{target}"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import smar_ltr, smar_ltr.features, smar_ltr.datasets, smar_ltr.cli; print(smar_ltr.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert out.stdout.strip().startswith(str(target))


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "smar_ltr", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "fit" in out.stdout and "eval" in out.stdout and "rerank" in out.stdout
