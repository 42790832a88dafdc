"""No import cycles inside healthprep_desktop, counting function-level (lazy) imports too.

A lazy import hides a cycle from the interpreter but not from the design: the two modules still
need each other, so neither can be read, tested or moved alone. The graph is built statically
with ``ast`` (no module is imported), so a cycle is reported even on a code path no test runs.
``if TYPE_CHECKING:`` imports count too: an import kept only for a type hint still means the
module needs the other one to be read and checked, so two parts that name each other's classes
are one part. A part that needs its host states what it needs as a ``typing.Protocol`` instead
(see ``healthprep_desktop/ui/batch_controller.py``), and the host satisfies it structurally.
Edges into a package's ``__init__`` are left out too: re-exports there would otherwise tie every
module of a package to every other.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "healthprep_desktop"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _all_modules(root: Path, package: str) -> tuple[dict[str, Path], set[str]]:
    """Every module by dotted name, and the names that are packages (their ``__init__``)."""
    modules: dict[str, Path] = {}
    packages: set[str] = set()
    for path in sorted((root / package).rglob("*.py")):
        name = _module_name(path, root)
        modules[name] = path
        if path.name == "__init__.py":
            packages.add(name)
    return modules, packages


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Imports anywhere in the tree: functions, methods, try blocks and TYPE_CHECKING blocks."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module a ``from X import ...`` names, with relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    # In a package's __init__, "." is the package itself; elsewhere it is the parent.
    drop = node.level - 1 if is_package else node.level
    anchor = base[: len(base) - drop]
    return ".".join([*anchor, node.module] if node.module else anchor)


def _targets(
    node: ast.Import | ast.ImportFrom, importer: str, modules: dict[str, Path], packages: set[str]
) -> set[str]:
    names: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            # `import a.b.c` runs a.b.c when it is a module, else its package a.b.
            names.add(alias.name if alias.name in modules else alias.name.rpartition(".")[0])
    else:
        source = _absolute(node, importer, importer in packages)
        for alias in node.names:
            # `from a.b import c`: a.b.c when c is a module, else a name defined in a.b.
            candidate = f"{source}.{alias.name}"
            names.add(candidate if candidate in modules else source)
    return {n for n in names if n in modules and n not in packages and n != importer}


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    modules, packages = _all_modules(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _import_nodes(tree):
            edges |= _targets(node, name, modules, packages)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per back edge met in a depth-first walk (iterative: no recursion limit)."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path: dict[str, int] = {start: 0}
        stack = [iter(sorted(graph[start]))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                finished = path.pop()
                del on_path[finished]
                done.add(finished)
            elif target in on_path:
                cycles.append([*path[on_path[target] :], target])
            elif target not in done:
                on_path[target] = len(path)
                path.append(target)
                stack.append(iter(sorted(graph.get(target, ()))))
    return cycles


def test_the_cycle_finder_sees_a_lazy_cycle() -> None:
    # The finder itself must be able to fail: a two-module loop and a three-module loop.
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(sorted(cycle) for cycle in find_cycles(graph)) == [
        ["a", "a", "b"],
        ["c", "c", "d", "e"],
    ]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_counts_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from healthprep_desktop.ui import login\n"
        "def f():\n"
        "    from healthprep_desktop.workers.cli import run\n"
    )
    modules = {"healthprep_desktop.ui.login": tmp_path, "healthprep_desktop.workers.cli": tmp_path}
    found: set[str] = set()
    for node in _import_nodes(ast.parse(source)):
        found |= _targets(node, "healthprep_desktop.x", modules, set())
    assert found == {"healthprep_desktop.ui.login", "healthprep_desktop.workers.cli"}


def test_a_cycle_through_a_type_checking_import_is_caught(tmp_path: Path) -> None:
    # The shape this rule exists for: a window imports its part, and the part imports the
    # window back only for a type hint. The interpreter never sees it; the test must.
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "window.py").write_text("from app.part import Part\n")
    (package / "part.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.window import Window\n"
        "class Part:\n"
        "    def __init__(self, window: Window) -> None: ...\n"
    )
    graph = import_graph(tmp_path, "app")
    assert graph == {"app": set(), "app.part": {"app.window"}, "app.window": {"app.part"}}
    assert find_cycles(graph) == [["app.part", "app.window", "app.part"]]
    # With the hint written as a Protocol in the part, the cycle is gone.
    (package / "part.py").write_text(
        "from typing import Protocol\n"
        "class Host(Protocol):\n"
        "    def refresh(self) -> None: ...\n"
        "class Part:\n"
        "    def __init__(self, host: Host) -> None: ...\n"
    )
    assert find_cycles(import_graph(tmp_path, "app")) == []


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    listing = "\n".join(" -> ".join(cycle) for cycle in cycles)
    assert cycles == [], f"import cycles (lazy and TYPE_CHECKING imports count):\n{listing}"
