"""The import contract: accel's packages are layers in the order the data flows, and an import
only goes down. Every `from accel... import` counts, at module level or inside a function or a
TYPE_CHECKING block: a lazy import that hides a circle is still a circle.

The order (DESIGN.md §9): version → errors → user_input → config → model → mapping → perf → memory → oracles →
results → functional (the datapath) → io (file formats) → check (references) → simulation → sweep
→ report → cli → api → the package's public API. Within one layer files may import each other, but no
two files may import each other, directly or through others. The oracles (cycle-level models
the tests hold the analytic ones against) are imported by no production module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "accel"
LAYERS = ("version", "errors", "user_input", "config", "model", "mapping", "perf", "memory",
          "oracles", "results", "functional", "io", "check", "simulation", "sweep", "report", "cli",
          "api", "__init__")  # fmt: skip


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """`accel.io.onnx_import` → `io`; the package itself → `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path, modules: set[str]) -> set[str]:
    """The accel modules `path` imports (a `from accel.x import y` of a submodule y counts y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.update(name for name in names if name in modules)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    paths = {module_name(path, root): path for path in root.rglob("*.py")}
    modules = set(paths)
    return {module: imports(path, modules) - {module} for module, path in paths.items()}


def upward_imports(graph: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where the imported module's layer is above the importer's."""
    return sorted(
        (source, target) for source, targets in graph.items() for target in targets
        if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(source))
    )  # fmt: skip


def circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_module_belongs_to_a_layer() -> None:
    unknown = sorted({layer_of(module) for module in import_graph()} - set(LAYERS))
    assert unknown == [], f"add these to LAYERS in their place in the data flow: {unknown}"


def test_imports_only_go_down_the_layers() -> None:
    assert upward_imports(import_graph()) == []


def test_no_two_modules_import_each_other() -> None:
    assert circles(import_graph()) == []


def test_no_production_module_imports_the_test_oracles() -> None:
    users = sorted(
        source for source, targets in import_graph().items()
        if layer_of(source) != "oracles" and any(layer_of(t) == "oracles" for t in targets)
    )  # fmt: skip
    assert users == []


def test_the_contract_catches_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    """The checks above would fail: a model module importing the CLI, two io modules importing
    each other through a third, and a lazy import inside a function, all found."""
    package = tmp_path / "accel"
    (package / "model").mkdir(parents=True)
    (package / "io").mkdir()
    (package / "cli.py").write_text("")
    (package / "model" / "ops.py").write_text("def f():\n    from accel.cli import main\n")
    (package / "io" / "a.py").write_text("from accel.io import b\n")
    (package / "io" / "b.py").write_text("from accel.io.c import x\n")
    (package / "io" / "c.py").write_text("import accel.io.a\n")
    graph = import_graph(package)
    assert upward_imports(graph) == [("accel.model.ops", "accel.cli")]
    assert circles(graph) == [["accel.io.a", "accel.io.b", "accel.io.c"]]
