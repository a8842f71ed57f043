"""Every ```python block in docs/ and README.md runs, top to bottom, one namespace per page."""

from __future__ import annotations

import ast
import code
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = [
    page
    for page in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
    if FENCE.search(page.read_text(encoding="utf-8"))
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's Python blocks run without error, in order, in a scratch folder."""
    blocks = FENCE.findall(page.read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(blocks):
        code = compile(block, f"{page.relative_to(ROOT)}[block {i}]", "exec")
        exec(code, namespace)
    if page.name == "monthly-report.md":
        # the sample of the report printed on the page is what the page's code writes
        script = _load_script(ROOT / "docs" / "scripts" / "make_report_charts.py")
        shown = script.sample_on_page(page.read_text(encoding="utf-8"))
        assert script.sample_of(namespace["report"]) == shown, "run python docs/scripts/make_report_charts.py"


def _load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ the tutorial, pasted


TUTORIAL = ROOT / "docs" / "tutorial" / "index.md"


class Repl(code.InteractiveConsole):
    """A console that records what it would print, errors apart."""

    def __init__(self) -> None:
        super().__init__({"__name__": "__console__"})
        self.errors: list[str] = []

    def write(self, data: str) -> None:
        self.errors.append(data)


def paste(blocks: list[str]) -> tuple[str, list[str]]:
    """Feed each block to a REPL line by line, as a paste does; a blank line after each block."""
    repl = Repl()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            for line in [*block.splitlines(), ""]:
                repl.push(line)
    return out.getvalue(), repl.errors


class TestTutorialPastes:
    def test_every_block_pastes_into_a_repl(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each block works pasted into a plain REPL (a compound statement needs a blank line after it)."""
        monkeypatch.chdir(tmp_path)
        _, errors = paste(FENCE.findall(TUTORIAL.read_text(encoding="utf-8")))
        assert "" == "".join(errors)

    def test_the_repl_feed_catches_a_missing_blank_line(self) -> None:
        """A while block followed directly by a for loop fails in a REPL, and the feed sees it."""
        _, errors = paste(["n = 0\nwhile n < 2:\n    n += 1\nfor i in range(n):\n    print(i)\n"])
        assert "SyntaxError" in "".join(errors)

    def test_running_twice_prints_the_same(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Pasting the whole tutorial twice in the same folder prints the same (ids aside)."""
        monkeypatch.chdir(tmp_path)
        blocks = FENCE.findall(TUTORIAL.read_text(encoding="utf-8"))
        ulid = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
        first, _ = paste(blocks)
        second, _ = paste(blocks)
        assert ulid.sub("<id>", first) == ulid.sub("<id>", second)

    def test_the_prose_matches_the_output(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The times and the table the prose talks about are what the code prints."""
        monkeypatch.chdir(tmp_path)
        text = TUTORIAL.read_text(encoding="utf-8")
        out, _ = paste(FENCE.findall(text))
        assert "runs out on Thursday at 09:30" in text
        assert "Thu 09:30 sla.breached   Jeans one size too small" in out
        assert "print(router.explain(ticket, at=ticket.created_at, load=" in text
        assert "li (3/8) eligible" in out
        overview = [line for line in out.splitlines() if re.match(r"(all|sh-01|sh-02) +\d+ +\d+ ", line)]
        assert 3 == len(overview)  # the whole table, not a cut


# ------------------------------------------------------------------ docstrings and the built site


ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const|ref|term):`[^`]+`")


def load_script(name: str) -> ModuleType:
    """A helper script from scripts/ as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class TestDocstrings:
    def test_no_sphinx_roles_in_src(self) -> None:
        """Docstrings are Markdown: no Sphinx role (:class:`X`) is left anywhere in src."""
        found = [
            f"{path.relative_to(ROOT)}:{number}: {m.group(0)}"
            for path in sorted((ROOT / "src").rglob("*.py"))
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            for m in ROLE.finditer(line)
        ]
        assert [] == found

    def test_conversion_script(self) -> None:
        """The script links documented targets, writes code for others, and is idempotent."""
        convert = load_script("convert_sphinx_roles")
        known = {"ticketkit.Team", "ticketkit.Team.from_dict", "ticketkit.analytics.Report"}
        source = (
            "class Team:\n"
            '    """A :class:`~ticketkit.Team` from :meth:`from_dict`.\n\n'
            "    Some :class:`Report`\\\\ s; :attr:`x`.\n"
            '    """\n'
        )
        once = convert.convert_text(source, known)
        assert [
            '    """A [`Team`][ticketkit.Team] from [`from_dict`][ticketkit.Team.from_dict].\n',
            "    Some [`Report`][ticketkit.analytics.Report]s; `x`.\n",
        ] == [once.splitlines(keepends=True)[i] for i in (1, 3)]
        long_summary = 'def f():\n    """' + "x" * 80 + ' :class:`~ticketkit.Team`."""\n'
        assert "`Team`." in convert.convert_text(long_summary, known)  # a summary stays one line: code
        assert once == convert.convert_text(once, known)
        assert [] == convert.leftovers([])

    def test_conversion_keeps_lines_short_and_code_valid(self) -> None:
        """A line that grows is carried into its paragraph; the module still parses."""
        convert = load_script("convert_sphinx_roles")
        known = {"ticketkit.BusinessCalendar"}
        source = (
            'def f():\n    """Summary.\n\n'
            "    " + "word " * 18 + ":class:`~ticketkit.BusinessCalendar` and more words here.\n"
            "    The paragraph goes on.\n"
            '    """\n    return 1\n'
        )
        out = convert.convert_text(source, known)
        ast.parse(out)
        assert all(len(line) <= convert.LINE_LENGTH for line in out.splitlines())
        assert "[`BusinessCalendar`][ticketkit.BusinessCalendar]" in out
        assert "more words here. The paragraph goes on." in out


class TestMermaidVendored:
    def test_pinned_script_is_the_committed_one(self) -> None:
        """docs/javascripts/mermaid.min.js is byte for byte the pinned npm release."""
        vendor = load_script("vendor_mermaid")
        data = (ROOT / "docs" / "javascripts" / "mermaid.min.js").read_bytes()
        assert vendor.SHA256 == hashlib.sha256(data).hexdigest()
        assert vendor.VERSION.startswith("11.")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site, built once (strict) for the checks below."""
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("TICKETKIT_REQUIRE_DOCS"):
            pytest.fail("mkdocs is not installed (install the docs extra)")
        pytest.skip("mkdocs is not installed (the docs extra)")
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return out


EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)


class TestBuiltSite:
    def test_no_external_scripts_or_styles(self, site: Path) -> None:
        """No page loads a script, stylesheet or font from another host; Mermaid is shipped."""
        offenders = sorted(
            f"{page.relative_to(site)}: {m.group(0)}"
            for page in site.rglob("*.html")
            for m in EXTERNAL.finditer(page.read_text(encoding="utf-8"))
            if "stylesheet" in m.group(0) or "<script" in m.group(0).lower() or "<link" not in m.group(0)
        )
        assert [] == offenders
        assert (site / "javascripts" / "mermaid.min.js").is_file()
        assert "javascripts/mermaid.min.js" in (site / "tutorial" / "index.html").read_text(encoding="utf-8")

    def test_helper_scripts_are_not_published(self, site: Path) -> None:
        """docs/scripts/ stays out of the built site."""
        assert not (site / "scripts").exists()

    def test_search_finds_chinese_words(self, site: Path) -> None:
        """调休 is a word of its own in the search index (cut by jieba, split by the separator)."""
        index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
        separator = re.compile(index["config"]["separator"])
        words = {w for doc in index["docs"] for w in separator.split(doc["text"]) if w}
        assert "调休" in words

    def test_no_sphinx_roles_rendered(self, site: Path) -> None:
        """The reference shows no Sphinx role as text, and cross-references are links."""
        pages = "".join(p.read_text(encoding="utf-8") for p in (site / "reference").rglob("*.html"))
        assert ":class:" not in pages
        assert ":meth:" not in pages
        assert 'href="../models/#ticketkit.Team"' in pages or "#ticketkit.Team" in pages
