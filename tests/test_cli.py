"""The command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ticketkit._cli import main


class TestCommandLine:
    def test_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help lists the demo command."""
        with pytest.raises(SystemExit) as exit_:
            main(["--help"])
        assert 0 == exit_.value.code
        assert "demo" in capsys.readouterr().out

    def test_no_command_prints_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With no command, the usage is printed and the exit status is 0."""
        assert 0 == main([])
        assert "usage:" in capsys.readouterr().out

    def test_module_entry_point(self) -> None:
        """python -m ticketkit --version runs."""
        out = subprocess.run(
            [sys.executable, "-m", "ticketkit", "--version"], capture_output=True, text=True, check=True
        )
        assert out.stdout.startswith("ticketkit ")
