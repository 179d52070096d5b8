"""The package's rooms import down the story of a token (ARCHITECTURE.md), never up, and never in a cycle.

Read from the source with `ast`, every import counted (lazy ones inside functions too)."""
from __future__ import annotations

import ast

from conftest import REPO

PACKAGE = REPO / "ccledger"
# A room may import from rooms of the same or a lower rank only.
RANK = {"base": 0, "config": 1, "ledger": 2, "budgets": 3, "hooks": 4, "statusline": 4, "report": 5, "render": 6,
        "install": 6, "cli": 7, "launch": 8, "hot": 9}  # hot: 0.1 compatibility shims


def _name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the ccledger modules it imports (a package's module when a name is one)."""
    files = {_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                found |= {f"{target}.{a.name}" if f"{target}.{a.name}" in files else target for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[module] = {m for m in found if m in files and m != module}
    return graph


def room(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_every_room_is_ranked():
    rooms = {room(m) for m in import_graph()} - {"", "samples"}
    assert rooms <= set(RANK), f"a new room needs a place in the story (RANK, ARCHITECTURE.md): {rooms - set(RANK)}"


def test_no_module_imports_up():
    up = [f"{m} -> {t}" for m, targets in import_graph().items() for t in targets
          if room(m) in RANK and room(t) in RANK and RANK[room(t)] > RANK[room(m)]]
    assert not up


def test_nothing_outside_the_cli_imports_it():
    assert not [m for m, targets in import_graph().items()
                if room(m) != "cli" and any(room(t) == "cli" for t in targets)]


def test_there_are_no_import_cycles():
    graph, state, cycles = import_graph(), {}, []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles
