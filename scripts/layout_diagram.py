"""Draw ticketkit's layout from the code: the parts (packages) and who imports whom.

Reads every module under ``src/ticketkit`` with ``ast`` (nothing is imported), builds the
module import graph, and renders the part-level graph as a Mermaid flowchart. The
architecture page carries the rendering between two markers:

    python scripts/layout_diagram.py           # print the diagram
    python scripts/layout_diagram.py --write   # update docs/explanation/architecture.md
    python scripts/layout_diagram.py --check   # exit 1 if the page is out of date

``tests/test_layout.py`` uses the same graph to enforce the import rules.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "ticketkit"
PAGE = ROOT / "docs" / "explanation" / "architecture.md"
BEGIN = "<!-- layout-diagram:begin (made by scripts/layout_diagram.py; do not edit) -->"
END = "<!-- layout-diagram:end -->"

# Bottom to top, so the picture reads like the one-way rule: the face at the top.
LEVELS = [
    ("face", ["__init__", "__main__", "cli", "testing", "_version"]),
    ("desk", ["desk"]),
    ("analytics", ["analytics"]),
    ("engines", ["routing", "sla", "workflow", "automation", "calendar", "conditions"]),
    ("edges", ["storage", "notify", "directory", "channels", "privacy"]),
    ("core", ["model", "errors"]),
]


def module_name(path: Path, package: Path) -> str:
    """The dotted module name of a file: src/ticketkit/sla/_config.py -> ticketkit.sla._config."""
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    found: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "ticketkit":
                found.add(alias.name)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        if base.split(".")[0] != "ticketkit":
            return found
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            found.add(sub if sub in known else base)
    return found


def module_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (any import statement)."""
    files = sorted(package.rglob("*.py"))
    names = {module_name(f, package): f for f in files}
    known = set(names)
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps: set[str] = set()
        for node in ast.walk(tree):
            deps |= _targets(node, name, path.name == "__init__.py", known)
        graph[name] = {d for d in deps if d != name and d in known}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles (strongly connected components of more than one module), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        # Iterative Tarjan: the graph is small, but recursion depth is not ours to spend.
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def render(package: Path = PACKAGE) -> str:
    """The part-level graph as a Mermaid block: each part with its number of modules."""
    graph = module_graph(package)
    sizes: dict[str, list[int]] = {}
    for path in package.rglob("*.py"):
        part = _part(module_name(path, package))
        entry = sizes.setdefault(part, [0, 0])
        entry[0] += 1
        entry[1] += len(path.read_text(encoding="utf-8").splitlines())
    edges = _reduce(
        {
            (_part(src), _part(dst))
            for src, deps in graph.items()
            for dst in deps
            if _part(src) != _part(dst) and _part(src) != "__init__" and _part(dst) != "_version"
        }
    )
    lines = ["```mermaid", "flowchart TD"]
    placed = set()
    for level, parts in LEVELS:
        members = [p for p in parts if p in sizes]
        if not members:
            continue
        lines.append(f"    subgraph {level}")
        for part in members:
            label = "ticketkit" if part == "__init__" else f"{part}/" if sizes[part][0] > 1 else part
            lines.append(f'        {_node(part)}["{label}<br/>{_size(*sizes[part])}"]')
            placed.add(part)
        lines.append("    end")
    lines.extend(f'    {_node(p)}["{p}<br/>{_size(*sizes[p])}"]' for p in sorted(set(sizes) - placed))
    lines.extend(f"    {_node(src)} --> {_node(dst)}" for src, dst in edges)
    lines.append("```")
    return "\n".join(lines)


def _reduce(edges: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The transitive reduction: drop a -> c where a reaches c through another part.

    Every part imports ``errors`` and most import ``model``; drawing each such edge would
    hide the shape. What stays is exactly what is needed to see who may reach whom.
    """
    succ: dict[str, set[str]] = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, skip: tuple[str, str]) -> bool:
        seen, todo = {start}, [start]
        while todo:
            node = todo.pop()
            for nxt in succ.get(node, ()):
                if (node, nxt) == skip or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    return sorted(e for e in edges if not reaches(e[0], e[1], e))


def _size(modules: int, lines: int) -> str:
    # Lines are counted but not drawn: the picture changes when the shape changes, not
    # with every edit.
    del lines
    return f"{modules} module{'s' if modules != 1 else ''}"


def _node(part: str) -> str:
    return "root" if part == "__init__" else f"p_{part}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update the architecture page")
    mode.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args(argv)
    diagram = render()
    if not (args.write or args.check):
        print(diagram)
        return 0
    page = PAGE.read_text(encoding="utf-8")
    head, sep, rest = page.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not (sep and sep2):
        print(f"{PAGE}: markers {BEGIN!r} ... {END!r} not found", file=sys.stderr)
        return 1
    updated = f"{head}{BEGIN}\n{diagram}\n{END}{tail}"
    if args.check:
        if updated != page:
            print(f"{PAGE} is out of date: run python scripts/layout_diagram.py --write", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
