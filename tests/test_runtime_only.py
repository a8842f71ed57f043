"""What a plain ``pip install ticketkit`` (no extras) must run: the demo and the README taste."""

from __future__ import annotations

import builtins
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

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
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: not a dependency)", name=name)
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

    def test_store_contract_says_what_to_install(self, tmp_path: Path) -> None:
        """from ticketkit.testing import StoreContract without pytest names the extra to install."""
        out = run("from ticketkit.testing import StoreContract", tmp_path)
        assert 1 == out.returncode
        assert 'python -m pip install "ticketkit[test]"' in out.stderr
        assert "StoreContract is a pytest suite" in out.stderr

    def test_other_missing_modules_are_not_masked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing module other than pytest's is raised as it is, not as advice to install pytest."""
        from ticketkit import testing

        real_import = builtins.__import__

        def broken(name: str, *args: Any, **kwargs: Any) -> Any:
            if name == "ticketkit.storage._contract":
                raise ModuleNotFoundError("No module named 'somethingelse'", name="somethingelse")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", broken)
        with pytest.raises(ModuleNotFoundError) as caught:
            testing.__getattr__("StoreContract")
        monkeypatch.undo()
        assert ("somethingelse", "No module named 'somethingelse'") == (caught.value.name, str(caught.value))


class TestPackaging:
    @pytest.mark.slow
    def test_wheel_and_sdist_ship_the_licence(self, tmp_path: Path) -> None:
        """The MIT licence text is in the repository, the wheel and the sdist; the catalogs in the wheel."""
        hatchling = pytest.importorskip("hatchling.build")
        assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
        wheel = hatchling_build(hatchling, "build_wheel", tmp_path)
        sdist = hatchling_build(hatchling, "build_sdist", tmp_path)
        with zipfile.ZipFile(wheel) as zf:
            assert any(n.endswith(".dist-info/licenses/LICENSE") for n in zf.namelist())
            assert "ticketkit/desk/locales/zh/LC_MESSAGES/ticketkit.mo" in zf.namelist()  # the catalogs ship
        with tarfile.open(sdist) as tf:
            assert any(n.endswith("/LICENSE") for n in tf.getnames())


def hatchling_build(hatchling: object, hook: str, out: Path) -> Path:
    """Build with hatchling's PEP 517 hook in a subprocess (the project root as cwd)."""
    code = f"import hatchling.build as h, sys; print(h.{hook}(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out / done.stdout.strip().splitlines()[-1]
