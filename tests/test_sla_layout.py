"""The shape of the SLA package: configuration apart from the clock engine, one-way imports, small pieces."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ticketkit.sla

SLA_DIR = Path(ticketkit.sla.__file__).parent
# The clock engine: functions over a compiled policy and the clocks on a ticket.
ENGINE = ("_plan", "_clock", "_apply", "_status", "_due", "_recompute", "_replay")
# What sla/ may import besides itself (its package docstring says the same).
ALLOWED = ("ticketkit.model", "ticketkit.calendar", "ticketkit.conditions", "ticketkit.errors")
MAX_CLASS = 600
MAX_FUNCTION = 80


def modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(SLA_DIR.glob("*.py"))}


def imports(tree: ast.Module) -> set[str]:
    """Every module an import statement names, at any depth (function-level and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "ticketkit uses absolute imports"
            base = node.module or ""
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def sla_graph() -> dict[str, set[str]]:
    """Module name -> the sibling modules of sla/ it imports."""
    trees = modules()
    prefix = "ticketkit.sla."
    return {
        name: {m[len(prefix) :] for m in imports(tree) if m.startswith(prefix) and m[len(prefix) :] in trees}
        for name, tree in trees.items()
    }


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (None: it has none), by depth-first search."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


class TestImports:
    def test_only_allowed_parts(self) -> None:
        """sla/ imports the model, calendar, conditions and errors only (never storage, desk, analytics)."""
        bad = {
            (name, m)
            for name, tree in modules().items()
            for m in imports(tree)
            if m.startswith("ticketkit")
            and m not in ("ticketkit", "ticketkit.sla")
            and not m.startswith("ticketkit.sla.")
            and not m.startswith(ALLOWED)
        }
        assert set() == bad

    def test_no_cycles(self) -> None:
        """No two modules of sla/ import each other, directly or round a longer loop."""
        assert cycle(sla_graph()) is None

    def test_engine_never_imports_the_policy(self) -> None:
        """The engine modules read a compiled plan; only the policy (configuration) calls into them."""
        graph = sla_graph()
        outside = {name: graph[name] - {*ENGINE, "_config"} for name in ENGINE}
        assert {} == {name: found for name, found in outside.items() if found}

    def test_cycle_finder_finds_a_cycle(self) -> None:
        """The cycle check can fail: a loop through three modules is found."""
        assert ["a", "b", "c", "a"] == cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()})


class TestSizes:
    @pytest.mark.parametrize(("kind", "limit"), [(ast.ClassDef, MAX_CLASS), (ast.FunctionDef, MAX_FUNCTION)])
    def test_small_pieces(self, kind: type[ast.AST], limit: int) -> None:
        """No class over 600 lines, no function over 80, unless a comment says why it is one piece."""
        too_big = []
        for p in sorted(SLA_DIR.glob("*.py")):
            text = p.read_text(encoding="utf-8")
            lines = text.splitlines()
            for node in ast.walk(ast.parse(text)):
                if not isinstance(node, kind):
                    continue
                assert isinstance(node, ast.ClassDef | ast.FunctionDef)
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                near = " ".join(lines[max(0, start - 4) : node.lineno + 1])
                if node.end_lineno - start + 1 > limit and "one piece" not in near:
                    too_big.append(f"{p.stem}.{node.name}")
        assert [] == too_big
