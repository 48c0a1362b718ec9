"""The shape docs/architecture.md describes: each module imports only modules on its own
floor or below, and no chain of imports comes back to where it started.

Read from the source with ``ast`` (imports inside functions count too), so the test sees
what a reader sees, whatever is imported at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jaxcalc"

# docs/architecture.md's floors, by top-level module or package of jaxcalc
FLOORS = {
    "errors": 1,
    "expressions": 1,
    "functions": 1,
    "formatting": 1,
    "files": 1,
    "slopes": 1,
    "trees": 1,
    "constraints": 1,
    "nist_strd": 1,
    "lapack": 1,
    "calculus": 2,
    "critical": 2,
    "numerical": 2,
    "linear_least_squares": 2,
    "objectives": 2,
    "optimizers": 2,
    "plotting": 3,
    "engine": 4,
    "pipeline": 5,
    "exports": 5,
    "cli": 6,
    "__main__": 6,
    "__init__": 7,  # the package's public face re-exports every floor
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The jaxcalc module a dotted name refers to (a module, or its package)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str) -> set[str]:
    tree = ast.parse(MODULES[name].read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for target in targets:
            if target.startswith("jaxcalc"):
                resolved = resolve(target)
                if resolved and resolved != name:
                    found.add(resolved)
    # "from jaxcalc.x.y import z" names both jaxcalc.x.y and z; keep the most specific
    return {m for m in found if not any(o.startswith(m + ".") for o in found)}


GRAPH = {name: imports_of(name) for name in MODULES}


def floor(name: str) -> int:
    parts = name.split(".")
    return FLOORS[parts[1]] if len(parts) > 1 else FLOORS["__init__"]


def test_every_module_has_a_floor():
    assert all(name == "jaxcalc" or name.split(".")[1] in FLOORS for name in MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_or_sideways(name):
    upward = sorted(m for m in GRAPH[name] if floor(m) > floor(name))
    assert not upward, f"{name} (floor {floor(name)}) imports {upward}"


def test_no_import_circles():
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        seen[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if seen.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in seen and (circle := visit(nxt)):
                return circle
        seen[node] = 2
        path.pop()
        return None

    for start in sorted(GRAPH):
        if start not in seen and (circle := visit(start)):
            pytest.fail("import circle: " + " -> ".join(circle))


def test_the_check_sees_a_circle_and_an_upward_import():
    """The two checks can fail: on a graph with a circle, and on an upward import."""
    GRAPH_BACKUP = dict(GRAPH)
    try:
        GRAPH["jaxcalc.errors"] = {"jaxcalc.engine.run"}
        with pytest.raises(pytest.fail.Exception, match="import circle"):
            test_no_import_circles()
        with pytest.raises(AssertionError, match="imports"):
            test_imports_go_down_or_sideways("jaxcalc.errors")
    finally:
        GRAPH.clear()
        GRAPH.update(GRAPH_BACKUP)
