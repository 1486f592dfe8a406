"""The server package's modules import one another without a cycle.

A cycle (the WebSocket hub and endpoint in one module, imported by the state the auth helpers
need, which the endpoint imports) makes the import order matter and the parts impossible to
read or test on their own. Every import counts here, also those inside functions and under
`TYPE_CHECKING`: a cycle hidden from the interpreter is still one for the reader.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import spec_kitty_server

PACKAGE = "spec_kitty_server"
SOURCE = Path(spec_kitty_server.__file__).parent
MODULES = sorted(path.stem for path in SOURCE.glob("*.py"))


def _module_name(stem: str) -> str:
    return PACKAGE if stem == "__init__" else f"{PACKAGE}.{stem}"


def _imports(stem: str) -> set[str]:
    """The package's modules that a module imports, anywhere in its source."""
    known = {_module_name(s) for s in MODULES}
    found: set[str] = set()
    tree = ast.parse((SOURCE / f"{stem}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in known:
                found.add(node.module)
            for alias in node.names:  # `from spec_kitty_server import api` names a module
                if f"{node.module}.{alias.name}" in known:
                    found.add(f"{node.module}.{alias.name}")
    found.discard(_module_name(stem))
    return found


def graph() -> dict[str, set[str]]:
    """Module name -> the package modules it imports.

    Returns:
        The import graph of the package.
    """
    return {_module_name(stem): _imports(stem) for stem in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of a graph, as the list of modules around it, or None.

    Args:
        edges: Module -> modules it imports.

    Returns:
        The cycle (first module repeated at the end), or None when the graph is acyclic.
    """
    done: set[str] = set()
    for root in sorted(edges):
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root}
        stack = [iter(sorted(edges.get(root, ())))]
        while stack:  # iterative depth-first search, bounded by the graph's size
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
                continue
            if nxt in on_path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def test_every_module_imports():
    for stem in MODULES:
        importlib.import_module(_module_name(stem))


def test_the_package_has_no_import_cycle():
    edges = graph()
    assert f"{PACKAGE}.app" in edges and edges[f"{PACKAGE}.app"], "the graph was not read"
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
