"""The layers stay visible: no import cycles, and every import inside a function says why it is there."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "bot"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_itself_through_others():
    # Imports under TYPE_CHECKING only name types for annotations; they never run.
    graph = grimp.build_graph("bot", exclude_type_checking_imports=True)
    # A package's __init__ that re-exports its modules is not a cycle a reader has to untangle.
    assert [g for g in _cycles(graph) if not all(m == g[0] or m.startswith(g[0] + ".") for m in g)] == []


def _function_imports(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)) and not _explained(lines, sub.lineno):
                    found.append((sub.lineno, lines[sub.lineno - 1].strip()))
    return found


def _explained(lines: list[str], number: int) -> bool:
    """A comment on the import's line, or one heading the run of imports (blank lines allowed) it belongs to."""
    if "#" in lines[number - 1]:
        return True
    for line in reversed(lines[: number - 1]):
        text = line.strip()
        if text.startswith("#"):
            return True
        if text and not text.startswith(("import ", "from ")):
            return False
    return False


def test_every_import_inside_a_function_gives_its_reason():
    unexplained = {
        str(path.relative_to(PACKAGE.parent)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := _function_imports(path))
    }
    assert unexplained == {}
