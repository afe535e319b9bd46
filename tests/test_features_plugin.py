"""The example plugin package, pip-installed into a temporary target, is discovered through its entry point.

Also: a plugin whose entry point fails to import is reported as a warning (or an error with --strict-plugins),
never silently dropped. Everything runs in subprocesses with ``PYTHONPATH=<target>``, as a user's environment
would, and offline.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "smar_ltr_example_plugin"
EXAMPLE_FEATURES = ["example.caption_terms.v1", "example.title_has_digit.v1", "example.title_length_z.v1"]


def _can_build_without_isolation() -> bool:
    """setuptools builds wheels offline when it ships bdist_wheel (>= 70.1) or ``wheel`` is installed."""
    import setuptools

    major, minor = (int(x) for x in re.findall(r"\d+", setuptools.__version__)[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel_from_pyproject(project: Path, out: Path) -> Path:
    """A pure-Python wheel built from the project's pyproject.toml alone (no build backend needed)."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    name, version = meta["project"]["name"], meta["project"]["version"]
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {}
    for pkg in meta["tool"]["setuptools"]["packages"]:
        for f in sorted((project / pkg.replace(".", "/")).rglob("*.py")):
            files[f.relative_to(project).as_posix()] = f.read_bytes()
    eps = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) + "\n"
        for group, items in meta["project"]["entry-points"].items()
    )
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: smar-ltr-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = eps.encode()
    record = [_record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = out / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return wheel


def pip_install(project: Path, target: Path, workdir: Path) -> str:
    """Install ``project`` into ``target`` with pip, offline; returns how the wheel was built."""
    if _can_build_without_isolation():
        # built from a private copy: setuptools writes build/ and *.egg-info into the source tree, and two test
        # processes building the shared example at once collided there ("Directory not empty")
        copy = shutil.copytree(project, workdir / project.name, ignore=shutil.ignore_patterns("build", "*.egg-info"))
        source, how = str(copy), "setuptools (pip --no-build-isolation)"
    else:  # the venv's setuptools cannot build wheels offline: build the wheel from pyproject.toml directly
        source, how = str(build_wheel_from_pyproject(project, workdir)), "wheel assembled from pyproject.toml"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
    ]
    done = subprocess.run([*cmd, "--target", str(target), source], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return how


def run(args: list[str], pythonpath: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip_install(EXAMPLE, target, tmp_path_factory.mktemp("wheel"))
    assert (target / "smar_ltr_example_plugin" / "features.py").exists()
    return target


def test_installed_plugin_is_listed_by_the_cli(installed):
    done = run(["-m", "smar_ltr", "features", "list", "--format", "json"], installed)
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert set(EXAMPLE_FEATURES) <= set(rows)
    assert rows["example.caption_terms.v1"]["modalities"] == ["image", "video"]
    assert rows["example.title_has_digit.v1"]["module"] == "smar_ltr_example_plugin.features"
    assert len(rows) >= 20 + len(EXAMPLE_FEATURES)  # built-ins still there, loaded through the same path


def test_installed_plugin_is_usable_in_a_feature_set(installed):
    script = (
        "import json\n"
        "from smar_ltr.features import FeatureSet\n"
        "from smar_ltr.features.testing import sample_page_table\n"
        "frame = sample_page_table()\n"
        "fs = FeatureSet.from_selection(['example.*'])\n"
        "out = fs.fit_transform(frame)\n"
        "restored = FeatureSet.from_dict(json.loads(json.dumps(fs.to_dict())))\n"
        "assert restored.transform(frame).equals(out)\n"
        "web = (frame['modality'] == 'web').to_numpy()\n"
        "web_nan = bool(out.loc[web, 'caption_terms'].isna().all())\n"
        "print(json.dumps({'columns': list(out.columns), 'web_caption_nan': web_nan,"
        " 'digit': float(out['title_has_digit'].sum())}))\n"
    )
    done = run(["-c", script], installed)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["columns"] == ["caption_terms", "title_has_digit", "title_length_z"]
    assert result["web_caption_nan"] and result["digit"] > 0


def test_plugin_passes_the_contract_kit(installed):
    done = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")], installed)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b30 passed\b", done.stdout), done.stdout


def test_broken_plugin_is_reported_not_dropped(tmp_path):
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[smar_ltr.features]\nbroken = broken_plugin_that_is_not_there\n")
    lenient = run(["-m", "smar_ltr", "features", "list", "--format", "json"], tmp_path)
    assert lenient.returncode == 0, lenient.stderr
    assert "PluginWarning" in lenient.stderr and "broken_plugin_that_is_not_there" in lenient.stderr
    assert len(json.loads(lenient.stdout)) >= 20  # the others still load
    strict = run(["-m", "smar_ltr", "features", "list", "--strict-plugins"], tmp_path)
    assert strict.returncode == 1
    assert strict.stderr.startswith("error: feature plugin entry point 'broken'")
    assert "Traceback" not in strict.stderr
