"""What a plain ``pip install ticketkit`` (no extras) must run: the demo and the README taste."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Refuse every package that only the extras bring, as on a machine with the runtime
# dependencies alone.
BLOCKER = """
import importlib.abc, sys
EXTRAS = {"pytest", "_pytest", "hypothesis", "pandas", "matplotlib", "psycopg", "psycopg_pool",
          "businesstime", "transitions", "statemachine", "rule_engine", "business_rules", "mkdocs"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in EXTRAS:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not a runtime dependency)")
        return None
sys.meta_path.insert(0, Block())
"""


def run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


class TestRuntimeOnly:
    def test_demo_runs_without_extras(self, tmp_path: Path) -> None:
        """python -m ticketkit demo needs nothing beyond the runtime dependencies."""
        code = (
            "from ticketkit.cli._main import main\nraise SystemExit(main(['demo', '--days=1', '--db=x.db']))"
        )
        out = run(code, tmp_path)
        assert 0 == out.returncode, out.stderr
        assert "Report" in out.stdout

    def test_readme_taste_runs_without_extras(self, tmp_path: Path) -> None:
        """The README's Python example (ManualClock included) needs no test extra."""
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        [block] = re.findall(r"^```python\n(.*?)^```", readme, re.DOTALL | re.MULTILINE)
        out = run(block, tmp_path)
        assert 0 == out.returncode, out.stderr
        assert "sh-01 li 2025-01-26 10:00:00+08:00" in out.stdout

    def test_store_contract_needs_pytest(self, tmp_path: Path) -> None:
        """Only StoreContract needs pytest, and asking for it without pytest says so."""
        out = run("import ticketkit.testing as t\nt.StoreContract", tmp_path)
        assert "pytest" in out.stderr
