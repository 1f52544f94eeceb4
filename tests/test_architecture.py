"""The package's folders are its architecture: imports follow the data, one way, and no module grows into a hub.

Stages, in the order data flows (issue #8): shared types → layer knowledge → spec → engine → proof and torch →
render → cli. A module may import its own stage or an earlier one, never a later one; nothing imports the
package's ``__init__`` (the public API sits on top of everything); there are no cycles, lazy imports included.
Imports under ``if TYPE_CHECKING:`` are annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cnncalc"

#: Module-name prefixes and their stage; the longest matching prefix wins.
STAGES: dict[str, int] = {
    "cnncalc.errors": 0, "cnncalc.model": 0, "cnncalc.version": 0,
    "cnncalc.engine.dims": 1, "cnncalc.engine.trace": 1, "cnncalc.engine.layers": 1,
    "cnncalc.spec": 2,
    "cnncalc.engine": 3,
    "cnncalc.proof": 4, "cnncalc.torch": 4,
    "cnncalc.render": 5,
    "cnncalc.cli": 6,
    "cnncalc.__main__": 7,
}
#: The ~400-line budget of a module (issue #8); a module over it must be split, not waived.
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> int:
    best = max((p for p in STAGES if module == p or module.startswith(p + ".")), key=len, default=None)
    assert best is not None, f"{module} belongs to no stage; add it to STAGES"
    return STAGES[best]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, module: str) -> set[str]:
    """Every cnncalc module ``path`` imports at run time (module level or inside functions)."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "cnncalc")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join([*pkg, base] if base else pkg)
            if base.split(".")[0] == "cnncalc":
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    out.add(full if _exists(full) else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    out.discard(module)
    return out


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").exists() or (PACKAGE.parent / rel / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p, _module(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def test_imports_run_one_way() -> None:
    upward = [f"{m} (stage {_stage(m)}) imports {d} (stage {_stage(d)})"
              for m, deps in _graph().items() if m != "cnncalc" for d in sorted(deps) if _stage(d) > _stage(m)]
    assert not upward, "\n".join(upward)


def test_nothing_imports_the_public_api() -> None:
    back = [m for m, deps in _graph().items() if "cnncalc" in deps and m != "cnncalc"]
    assert not back, f"these modules import cnncalc/__init__: {back}"


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
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
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_what_it_must() -> None:
    # The rules above must be able to fail: a later stage importing an earlier one is fine, the reverse is not.
    assert _stage("cnncalc.cli.show") > _stage("cnncalc.render.table") > _stage("cnncalc.proof.expect")
    assert _stage("cnncalc.engine.graph") > _stage("cnncalc.spec.format") > _stage("cnncalc.engine.layers.conv")
    graph = _graph()
    assert "cnncalc.engine.graph" in graph["cnncalc.cli.show"] or "cnncalc.engine.graph" in str(graph)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_outgrows_its_room(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it by job (issue #8's ~{MAX_LINES})"
