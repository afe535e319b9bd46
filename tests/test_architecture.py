"""The package's import graph: no circle, and no import that runs against the stage order.

The order is written once, in the README's "Layout" section (the ``layers`` block, lowest first); a module may
import from its own layer or any layer below it, and a package's modules never import the package's own
``__init__`` (which only re-exports them). Every import counts, also one inside a function or under
``TYPE_CHECKING``: a lazy import is still a dependency. The graph is read with the standard library's ``ast``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Source folder -> installed package (pyproject's package-dir).
FOLDERS = {"ltr": "smar_ltr", "features": "smar_ltr.features", "datasets": "smar_ltr.datasets", "cli": "smar_ltr.cli"}


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("smar_ltr"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                found.add(target if target in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("smar_ltr"))
    found.discard(name)
    return {m for m in found if m in known}


def layers() -> list[list[str]]:
    """The ``layers`` block of the README's Layout section: one layer per line, lowest first."""
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```text\n# layers.*?\n(.*?)```", layout, flags=re.S)
    assert block, "the README's Layout section has no ```text block starting '# layers'"
    return [line.split("#")[0].split() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def layer_of(module: str, order: list[list[str]]) -> int:
    """Index of the layer a module belongs to (the longest listed prefix wins)."""
    best, where = "", -1
    for k, names in enumerate(order):
        for prefix in names:
            full = "smar_ltr" if prefix == "smar_ltr" else f"smar_ltr.{prefix}"
            if (module == full or module.startswith(full + ".")) and len(full) > len(best):
                best, where = full, k
    assert where >= 0, f"{module} is in no layer of the README's Layout section"
    return where


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_the_import_graph_has_no_circle(graph) -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert circles == []


def test_no_import_runs_against_the_stage_order(graph) -> None:
    order = layers()
    upward = [
        f"{a} ({' '.join(order[layer_of(a, order)])}) imports {b} ({' '.join(order[layer_of(b, order)])})"
        for a, targets in graph.items()
        for b in targets
        if layer_of(b, order) > layer_of(a, order)
    ]
    assert upward == []


def test_no_module_imports_its_own_package_init(graph) -> None:
    inward = [f"{a} imports {b}" for a, targets in graph.items() for b in targets if a.startswith(b + ".")]
    assert inward == []


def test_every_ltr_module_sits_in_a_stage_package_or_is_one_of_the_few_at_the_root() -> None:
    root = sorted(p.stem for p in (ROOT / "ltr").glob("*.py"))
    assert root == ["__init__", "__main__", "api", "config", "errors", "pipeline"]


def test_loading_a_run_to_rerank_or_export_imports_no_training(tmp_path, fitted_small) -> None:
    """``import smar_ltr; smar_ltr.load(RUN)``, a rerank and an export import no training, supervision,
    annotation or pipeline module (serving stands apart from training)."""
    from smar_ltr.serving.run_dir import save_run

    model, _ = fitted_small
    run = save_run(model, tmp_path / "run")
    code = (
        "import sys, pandas as pd, smar_ltr\n"
        f"model = smar_ltr.load({str(run)!r})\n"
        f"smar_ltr.rerank(model, pd.read_parquet({str(tmp_path / 'pages.parquet')!r}))\n"
        "from smar_ltr.export import export_model\n"
        f"export_model(model, 'es-ltr', {str(tmp_path / 'smar.json')!r})\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('smar_ltr'))))\n"
    )
    from smar_ltr.datasets import load_dataset

    load_dataset("synthetic", seed=0, size="small").test.drop(columns=["page_label"]).to_parquet(
        tmp_path / "pages.parquet"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.split()
    assert "smar_ltr.serving.run_dir" in loaded and "smar_ltr.export.es_ltr" in loaded
    heavy = ("smar_ltr.training", "smar_ltr.supervision", "smar_ltr.annotation", "smar_ltr.pipeline")
    assert [m for m in loaded if m.startswith(heavy)] == []


def test_cli_commands_import_neither_each_other_nor_the_module_that_registers_them(graph) -> None:
    commands = [m for m in graph if m.startswith("smar_ltr.cli.commands_")]
    assert commands
    crossing = [
        f"{a} imports {b}"
        for a in commands
        for b in graph[a]
        if b.startswith("smar_ltr.cli.commands_") or b == "smar_ltr.cli.app"
    ]
    assert crossing == []
