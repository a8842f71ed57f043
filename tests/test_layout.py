"""The layout: one package per part, imports flowing one way, no cycles, no giant classes.

The rules are read from the code itself (``ast``), so a change that breaks them fails here
before it reaches review. ``docs/explanation/architecture.md`` draws the same graph, made
by ``scripts/layout_diagram.py``; a test below keeps the picture in step with the code.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "ticketkit"
sys.path.insert(0, str(ROOT / "scripts"))

import layout_diagram  # noqa: E402

# What each part may import besides itself and ``ticketkit.errors``: the picture in
# docs/explanation/architecture.md, as data. The face (the package root, ``testing``,
# ``__main__``) and the command line may import anything.
ENGINES = {"calendar", "conditions", "workflow", "routing", "sla", "automation"}
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "calendar": {"model"},
    "conditions": {"model", "calendar"},
    "workflow": {"model", "conditions"},
    "routing": {"model", "conditions", "calendar"},
    "sla": {"model", "conditions", "calendar"},
    "automation": {"model", "conditions"},
    "privacy": {"model", "conditions"},
    "channels": {"model"},
    "notify": {"model", "privacy"},
    "directory": {"model"},
    "storage": {"model"},
    "desk": {
        "model",
        *ENGINES,
        "privacy",
        "channels",
        "notify",
        "directory",
        "storage",
    },
    "analytics": {"model", "calendar"},
}
FACE = {"__init__", "__main__", "testing", "_version", "cli"}
# The errors module is the core's floor: it imports nothing of ticketkit.
FLOOR = {"errors"}


def part_of(module: str) -> str:
    """The part a module belongs to: 'ticketkit.sla._config' -> 'sla', 'ticketkit' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


class TestPublicPaths:
    def test_every_public_name_keeps_its_path(self) -> None:
        """Every name public before the layout change still imports from exactly the same path."""
        listed = [
            line
            for line in (ROOT / "tests" / "public_names.txt").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")
        ]
        missing = []
        for path in listed:
            module, _, name = path.rpartition(".")
            if not hasattr(importlib.import_module(module), name):
                missing.append(path)
        assert [] == missing
        assert len(listed) > 100

    def test_parts_export_nothing(self) -> None:
        """A part's package (ticketkit.sla, ...) re-exports nothing: each public object has one path."""
        public_namespaces = {"analytics", "channels", "storage"}
        leaks = {}
        for pkg in sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
            if pkg in public_namespaces:
                continue
            module = importlib.import_module(f"ticketkit.{pkg}")
            names = [n for n in vars(module) if not n.startswith("_") and n != "annotations"]
            if names:
                leaks[pkg] = names
        assert {} == leaks

    def test_every_part_says_what_it_may_import(self) -> None:
        """Each part's __init__ docstring says what the part is and what it may and must not import."""
        missing = []
        for init in sorted(PACKAGE.glob("*/__init__.py")):
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
            if "May import" not in doc or ("Must not import" not in doc and "Nothing imports" not in doc):
                missing.append(init.parent.name)
        assert [] == missing


class TestImports:
    def test_graph_is_read(self) -> None:
        """The import graph finds the modules and their edges (a broken reader would pass the rules)."""
        graph = layout_diagram.module_graph(PACKAGE)
        assert "ticketkit.desk._helpdesk" in graph or any(m.startswith("ticketkit.desk.") for m in graph)
        assert any("ticketkit.model._models" in deps for deps in graph.values())

    def test_parts_import_only_downwards(self) -> None:
        """Engines import only the model and lower engines; storage never an engine or the desk."""
        bad = []
        for module, deps in layout_diagram.module_graph(PACKAGE).items():
            src = part_of(module)
            if src in FACE:
                continue
            for dep in deps:
                dst = part_of(dep)
                if dst == src or dst in FLOOR:
                    continue
                if src in FLOOR or dst not in ALLOWED.get(src, set()):
                    bad.append(f"{module} -> {dep}")
        assert [] == sorted(bad)

    def test_every_part_has_a_rule(self) -> None:
        """A new part must be placed in the picture (ALLOWED) before it can land."""
        parts = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
        assert set() == parts - set(ALLOWED) - FACE

    def test_no_cycles(self) -> None:
        """No two modules import each other, directly or through others (every import counts)."""
        graph = layout_diagram.module_graph(PACKAGE)
        assert [] == layout_diagram.cycles(graph)

    def test_cycle_finder_finds_a_cycle(self) -> None:
        """The cycle finder reports a planted cycle (so an empty answer means something)."""
        graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        assert [["a", "b", "c"]] == layout_diagram.cycles(graph)


def _definitions(path: Path) -> Iterator[tuple[str, int, bool, ast.AST]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            context = "\n".join(lines[max(0, first - 4) : node.lineno])
            yield node.name, length, "one piece" in context.lower(), node


class TestSizes:
    @pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
    def test_no_giant_class_or_function(self, path: Path) -> None:
        """No class over 650 lines, no function over 80, unless a comment says why it is one piece."""
        too_big = []
        for name, length, explained, node in _definitions(path):
            limit = 650 if isinstance(node, ast.ClassDef) else 80
            if length > limit and not explained:
                too_big.append(f"{name}: {length} lines")
        assert [] == too_big


class TestDiagram:
    def test_architecture_page_shows_the_code(self) -> None:
        """The layout picture in the architecture page is the one the script makes from the code."""
        page = (ROOT / "docs" / "explanation" / "architecture.md").read_text(encoding="utf-8")
        assert layout_diagram.render(PACKAGE) in page

    def test_every_folder_and_desk_module_is_in_the_tables(self) -> None:
        """The page's tables name every part folder and every module of the desk: the map stays true."""
        import re

        page = (ROOT / "docs" / "explanation" / "architecture.md").read_text(encoding="utf-8")
        rows = [line for line in page.splitlines() if line.startswith("| `")]
        firsts = " ".join(line.split("|")[1] for line in rows)
        folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
        assert [] == [f for f in folders if f"`{f}/`" not in firsts]
        named = set(re.findall(r"`(?:desk/)?(_[a-z_]+)`", firsts))
        modules = sorted(p.stem for p in (PACKAGE / "desk").glob("_*.py") if p.stem != "__init__")
        assert [] == [m for m in modules if m not in named]

    def test_script_checks(self) -> None:
        """`scripts/layout_diagram.py --check` agrees with the page (it is what a developer runs)."""
        out = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "layout_diagram.py"), "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert 0 == out.returncode, out.stdout + out.stderr
