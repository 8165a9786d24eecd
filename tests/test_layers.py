"""The package's layers, held against its imports (docs/architecture.md).

Every import of a ``sim`` module, at module level or inside a function, is read from the source
(:mod:`ast`, nothing is run) and checked against the layers: a subpackage imports only from itself
and the layers it is allowed to build on; the module graph has no cycle; no underscore name
crosses from one module to another; and importing the core loads no Mesa, pandas, xarray or
matplotlib.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sim"

#: What each layer may import, besides itself (docs/architecture.md draws it).
ALLOWED = {
    "core": set(),
    "io": {"core"},
    "game": {"core"},
    "model": {"core", "game", "io"},
    "estimate": {"core", "io", "game", "model"},
    "run": {"core", "io", "game", "model", "estimate"},
    "cli": {"core", "io", "game", "model", "estimate", "run"},
    "__init__": set(),  # lazy: names are loaded on first use, never imported at start-up
}
#: Third-party packages the core may import.
CORE_THIRD_PARTY = {"numpy", "scipy", "__future__", "typing", "collections", "dataclasses",
                    "functools", "itertools", "math", "concurrent", "os", "warnings",
                    "collections.abc", "threadpoolctl", "enum", "hashlib"}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _imports(path: Path) -> list[tuple[str, list[str], int, bool]]:
    """(module imported, names taken from it, line, at module level) for each sim import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    type_checking = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [a.name for a in node.names]
            if node.module == "sim":
                out += [(f"sim.{n}", [], node.lineno, id(node) in top) for n in names]
            elif node.module.startswith("sim."):
                out.append((node.module, names, node.lineno, id(node) in top))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno, id(node) in top) for a in node.names
                    if a.name.startswith("sim.")]  # fmt: skip
    return out


def _third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if not m.startswith("sim")}


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path: Path) -> None:
    here = _layer(_module_name(path))
    wrong = [f"line {line}: {module}" for module, _, line, _ in _imports(path)
             if _layer(module) != here and _layer(module) not in ALLOWED[here]]  # fmt: skip
    assert not wrong, f"{here} may import only {sorted(ALLOWED[here])}: {wrong}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_crosses_a_module(path: Path) -> None:
    """A name another module needs is public: no ``_name`` is imported from another module."""
    wrong = [f"line {line}: {name} from {module}" for module, names, line, _ in _imports(path)
             for name in names if name.startswith("_") and not name.startswith("__")]  # fmt: skip
    assert not wrong, wrong


def test_the_core_imports_numpy_and_scipy_only() -> None:
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        others = {m for m in _third_party(path) if m.split(".")[0] not in {
            x.split(".")[0] for x in CORE_THIRD_PARTY}}  # fmt: skip
        assert not others, f"{path.name} imports {sorted(others)}"


def test_modules_form_no_cycle() -> None:
    """Module-level and function-level imports alike: a cycle hidden in a function is a cycle."""
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p) for p in SOURCES}
    for path in SOURCES:
        source = _module_name(path)
        targets = set()
        for module, names, _, _ in _imports(path):
            for candidate in [f"{module}.{n}" for n in names] + [module]:
                if candidate in modules and candidate != source:
                    targets.add(candidate)
                    break
        graph[source] = targets - {"sim"}
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node)


def test_importing_the_core_loads_no_heavy_package() -> None:
    code = ("import sys, sim, sim.core.tally, sim.core.choice, sim.core.persistence; "
            "print(' '.join(m for m in ('mesa', 'pandas', 'xarray', 'matplotlib') "
            "if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_public_names_load_on_first_use() -> None:
    import sim

    for name in sim.__all__:
        assert getattr(sim, name) is not None
    with pytest.raises(AttributeError):
        _ = sim.no_such_name
