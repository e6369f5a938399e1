"""Architecture checks on the source: the import graph of the package has no cycle.

The graph is read from the source with :mod:`ast` (nothing is imported): every ``import`` and
``from ... import`` counts, at module level or inside a function (a lazy import is still a
dependency), except those under ``if TYPE_CHECKING:`` (annotations only). The command-line
package (``territorial_gis.cli``, source in ``cli/``) is part of the graph.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = ("territorial_gis", "territorial_gis.cli")


def package_modules(package: str) -> dict[str, Path]:
    """Module name -> source file of every ``.py`` module of an installed package (recursively;
    subpackages that are installed separately, like ``territorial_gis.cli``, are listed by
    their own call)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    root = Path(next(iter(spec.submodule_search_locations)))
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join([package, *parts])] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Absolute names a module imports (candidates: ``a.b`` and, for ``from a import b``, ``a.b.b``)."""
    base = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST) -> Iterator[str]:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                yield from visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            for alias in node.names:
                yield f"{target}.{alias.name}"
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(tree)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``modules`` it imports (itself excluded)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps = set(_imported_names(tree, name, path.name == "__init__.py")) & set(modules)
        deps.discard(name)
        graph[name] = deps
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative), each
    given as one cycle through its modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    components.append(_cycle_through(graph, set(comp)))
    return components


def _cycle_through(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """One cycle inside a strongly connected set, as a list of modules from its first member back to it."""
    start = min(members)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:  # breadth-first search back to the start
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if child not in parent:
                    parent[child] = node
                    nxt.append(child)
        frontier = nxt
    raise AssertionError(f"no cycle through {sorted(members)}")  # pragma: no cover


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        modules.update(package_modules(package))
    return import_graph(modules)


def test_the_graph_is_read(graph: dict[str, set[str]]) -> None:
    """The walk sees the modules and the imports it should (a broken walk finds no cycle)."""
    assert {"territorial_gis.network", "territorial_gis._roadnet", "territorial_gis._layers",
            "territorial_gis.cli.network"} <= set(graph)
    # a module-level import, a lazy import inside a function, an import under TYPE_CHECKING
    assert "territorial_gis._roadnet" in graph["territorial_gis._layers"]
    assert "territorial_gis._nxgraph" in graph["territorial_gis._roadnet"]  # inside from_networkx
    assert "territorial_gis.network" not in graph["territorial_gis._engine"]  # TYPE_CHECKING only


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_cycle_finder_on_a_synthetic_package(tmp_path: Path) -> None:
    """SYNTHETIC modules: a lazy two-module cycle and a three-module one are found, an import
    under TYPE_CHECKING is not a dependency."""
    files = {
        "pkg": "",
        "pkg.a": "from . import b\n",
        "pkg.b": "def f():\n    from .a import x\n",
        "pkg.c": "from .d import y\n",
        "pkg.d": "import pkg.e\n",
        "pkg.e": "from typing import TYPE_CHECKING\nfrom pkg import c\n",
        "pkg.f": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .g import z\n",
        "pkg.g": "from .f import w\n",
    }
    modules = {}
    for name, text in files.items():
        path = tmp_path / (name.replace(".", "/") + ("/__init__.py" if name == "pkg" else ".py"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        modules[name] = path
    cycles = find_cycles(import_graph(modules))
    assert sorted(cycles) == [["pkg.a", "pkg.b", "pkg.a"], ["pkg.c", "pkg.d", "pkg.e", "pkg.c"]]
