"""The README's two commands, verbatim, in a fresh checkout and virtual environment, in two locales.

Slow (two virtual environments with the test extras, the demo and the locale-sensitive
tests, per locale) and needs PyPI, which CI has. The commands are read from README.md, so what is
tested is what a newcomer pastes. Holiday names, dates and texts must not follow the
process locale: the run with ``LANG=de_DE.UTF-8`` and the run with ``LANG`` unset must
both pass and print the demo in English.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
NESTED = "TICKETKIT_README_TEST_NESTED"  # set inside the runs, so the suite there skips this test
CJK = re.compile(r"[\u3400-\u9fff]")


def readme_commands() -> list[str]:
    """The README's console commands, as written."""
    return [block.strip() for block in CONSOLE.findall((ROOT / "README.md").read_text(encoding="utf-8"))]


def checkout(dest: Path) -> Path:
    """A copy of the working tree's files (tracked and new, not ignored ones) at ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file() and not src.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def environment(lang: str | None) -> dict[str, str]:
    """This process's environment without its virtualenv, locale or source path; LANG as given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LC_")
        and k
        not in {
            "LANG",
            "LANGUAGE",
            "PYTHONPATH",
            "VIRTUAL_ENV",
            "HYPOTHESIS_PROFILE",
            "PYTEST_ADDOPTS",
            "TICKETKIT_REQUIRE_DOCS",  # the README's test extra has no docs tools: those tests skip there
        }
    }
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env[NESTED] = "1"
    if lang is not None:
        env["LANG"] = lang
    return env


# What the nested test command runs, set through the environment so the command itself stays
# verbatim: the tests that print or parse locale-sensitive text, in German and with LANG
# unset. CI runs the whole suite itself in German (.ci/run); running it twice more here
# would triple CI's time and check nothing new.
_LOCALE_SENSITIVE = (
    "-p no:cacheprovider tests/test_calendar_holidays.py tests/test_cli.py tests/test_examples.py"
    " tests/test_calendar.py tests/test_desk.py tests/test_analytics_report.py"
)
NESTED_PYTEST = {"de_DE.UTF-8": _LOCALE_SENSITIVE, None: _LOCALE_SENSITIVE}


class TestReadmeCommands:
    def test_there_are_two_commands(self) -> None:
        """The README shows two commands: install and run the demo; install and run the tests."""
        commands = readme_commands()
        assert 2 == len(commands)
        assert commands[0].endswith("python -m ticketkit demo")
        assert commands[1].endswith("python -m pytest")

    @pytest.mark.slow
    @pytest.mark.skipif(bool(os.environ.get(NESTED)), reason="already inside the README's test command")
    @pytest.mark.parametrize("lang", ["de_DE.UTF-8", None], ids=["LANG=de_DE.UTF-8", "LANG-unset"])
    def test_commands_work_verbatim(self, lang: str | None, tmp_path: Path) -> None:
        """Both commands, pasted into a shell in a fresh checkout, succeed and the demo speaks English."""
        if shutil.which("git") is None or not (ROOT / ".git").exists():
            pytest.fail("needs git and a git checkout to copy the project from")
        where = checkout(tmp_path / "ticketkit")
        demo_cmd, test_cmd = readme_commands()
        env = environment(lang)
        demo = subprocess.run(
            ["bash", "-c", demo_cmd],
            cwd=where,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert 0 == demo.returncode, demo.stdout[-3000:] + demo.stderr[-3000:]
        assert "=== Report:" in demo.stdout
        banners = [line for line in demo.stdout.splitlines() if line.startswith("--- ")]
        assert "--- Wed 2025-01-29: Chinese New Year (Spring Festival); desk closed" in demo.stdout
        assert [] == [line for line in banners if CJK.search(line)]
        tests = subprocess.run(
            ["bash", "-c", test_cmd],
            cwd=where,
            env={**env, "PYTEST_ADDOPTS": NESTED_PYTEST[lang]},
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        assert 0 == tests.returncode, tests.stdout[-5000:] + tests.stderr[-3000:]
        assert re.search(r"\d+ passed", tests.stdout.splitlines()[-1])
        assert " failed" not in tests.stdout.splitlines()[-1]
