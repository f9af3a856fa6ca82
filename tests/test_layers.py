"""The house's shape, checked from the source: which layer may import which, and no import cycles.

Layers, lowest first: ``contract`` (what agent and cloud agree on) and ``drivers`` (the modem) import nothing above
them; the ``agent`` imports drivers and the contract; the ``collector`` imports only the contract, so a cloud install
never needs the agent's serial, DNS or scheduling code; the ``simulators`` may use anything. Every import counts,
also one inside a function: a lazy import is still a dependency, and a loop through one is still a loop.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "iotcard"

# What each subpackage may import from iotcard besides itself.
ALLOWED = {
    "contract": set(),
    "drivers": {"contract"},
    "agent": {"contract", "drivers"},
    "collector": {"contract"},
    "simulators": {"contract", "drivers", "agent", "collector"},
}
# Third-party packages the collector must not need (the agent's own dependencies).
AGENT_ONLY = ("serial", "dns", "apscheduler")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> Iterator[str]:
    """The iotcard modules (and third-party top-level names) that module ``name`` imports, anywhere in its body."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # "from pkg import sub" imports the submodule when there is one.
            subs = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES]
            yield from subs or [target]


def resolve(target: str) -> str | None:
    """The iotcard module an import names (a name inside a module resolves to that module)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def discovered(name: str) -> set[str]:
    """Modules found at run time: a module that walks a package with pkgutil imports all of its submodules."""
    source = MODULES[name].read_text(encoding="utf-8")
    if "pkgutil.iter_modules" not in source:
        return set()
    packages = {
        t
        for t in map(resolve, (t for t in imports_of(name) if t.startswith("iotcard")))
        if t and MODULES[t].name == "__init__.py" and t not in ancestors(name)
    }
    return {module for package in packages for module in MODULES if module.startswith(package + ".")}


def ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def graph() -> dict[str, set[str]]:
    """Module -> the iotcard modules importing it runs: each target, and the package __init__ files above the
    target that the importer is not already inside (importing a.b.c runs a/b/__init__.py first)."""
    edges: dict[str, set[str]] = {}
    for name in MODULES:
        targets = {resolve(target) for target in imports_of(name) if target.startswith("iotcard")} | discovered(name)
        inside = set(ancestors(name)) | {name}
        runs = {t for target in targets if target for t in (*ancestors(target), target) if t not in inside}
        edges[name] = {t for t in runs if t in MODULES}
    return edges


def layer(name: str) -> str:
    return name.split(".")[1] if name.count(".") >= 1 else ""


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_layer_imports_only_what_is_below_it(package: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if layer(name) == package
        for target in targets
        if layer(target) and layer(target) != package and layer(target) not in ALLOWED[package]
    )
    assert not wrong, "\n".join(wrong)


def test_the_collector_needs_none_of_the_agents_dependencies() -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name in MODULES
        if layer(name) in ("collector", "contract")
        for target in imports_of(name)
        if target.split(".")[0] in AGENT_ONLY
    )
    assert not wrong, "\n".join(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a list of its modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges)))

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    found = cycles(graph())
    assert not found, "\n".join(" <-> ".join(component) for component in found)
