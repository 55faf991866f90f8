"""The package's modules import each other without a cycle (module-level imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import langchain_cogenesis
import langchain_cogenesis.graphs
import langchain_cogenesis.retrievers

ROOTS = {
    "langchain_cogenesis": Path(langchain_cogenesis.__file__).parent,
    "langchain_cogenesis.graphs": Path(langchain_cogenesis.graphs.__path__[0]),
    "langchain_cogenesis.retrievers": Path(langchain_cogenesis.retrievers.__path__[0]),
}


def modules() -> dict[str, Path]:
    found = {}
    for package, root in ROOTS.items():
        for source in root.rglob("*.py"):
            parts = [p for p in source.relative_to(root).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = source
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports at module level (not under ``if``)."""
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, source in known.items():
        for node in ast.parse(source.read_text(encoding="utf-8")).body:
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named = [f"{node.module}.{alias.name}" for alias in node.names]
                # "from pkg import submodule" needs the submodule; any other name, pkg
                targets = [t for t in named if t in known]
                if len(targets) < len(named):
                    targets.append(node.module)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            edges[name] |= {t for t in targets if t in known and t != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_the_finder_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_inside_the_package() -> None:
    edges = import_graph()
    assert len(edges) > 80 and edges["langchain_cogenesis.privacy.egress.guard"]
    assert cycles(edges) == []
