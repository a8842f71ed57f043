"""The command line."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ticketkit as tk
from ticketkit.cli._demo import run as run_demo
from ticketkit.cli._main import main


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


class TestDemo:
    """``python -m ticketkit demo``: the after-sales desk on a simulated clock."""

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        status = main(["demo", *args])
        out = capsys.readouterr()
        return status, out.out, out.err

    def test_prints_the_story_and_the_report(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Intake with assignments, SLA warnings and breaches, day banners, a progress bar and the report."""
        status, out, err = self.run(capsys, "--db", str(tmp_path / "d.db"), "--days", "3", "--seed", "7")
        assert 0 == status
        for expected in (
            "=== business day 1/3: Thu 2025-01-23 ===",
            "--- Sat 2025-01-25: weekend",
            "=== business day 3/3: Sun 2025-01-26  official make-up workday",
            " NEW ",
            " WARN ",
            " BREACH ",
            "customer sees: 已分配给",
            "[########################] 100%",
            "=== Report: Thu 2025-01-23 to Sun 2025-01-26 (3 business days) ===",
            "SLA compliance:",
            "CSAT: average",
            "Top categories:",
        ):
            assert expected in out
        assert "\r" not in out  # not a terminal: plain lines only
        assert "tickets over 3 business day(s)" in err

    def test_crosses_the_spring_festival(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The fifth business day comes after the holiday, which the desk skips with its clocks."""
        status, out, _ = self.run(capsys, "--db", str(tmp_path / "d.db"), "--days", "5")
        assert 0 == status
        assert "--- Wed 2025-01-29: Chinese New Year (Spring Festival); desk closed" in out
        assert "=== business day 5/5: Wed 2025-02-05 ===" in out
        assert " ESCALATE " in out

    def test_same_seed_same_output(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A seed gives the same story on any file; another seed another one."""
        _, first, _ = self.run(capsys, "--db", str(tmp_path / "a.db"), "--days", "2", "--seed", "11")
        _, again, _ = self.run(capsys, "--db", str(tmp_path / "b.db"), "--days", "2", "--seed", "11")
        _, other, _ = self.run(capsys, "--db", str(tmp_path / "c.db"), "--days", "2", "--seed", "12")
        assert first == again
        assert first != other

    def test_database_is_recreated_and_holds_the_tickets(self, tmp_path: Path) -> None:
        """An old file at --db is replaced; afterwards it holds every ticket the report counted."""
        db = tmp_path / "demo.db"
        db.write_text("not a database")
        result = run_demo(db=db, days=2, seed=5, out=io.StringIO())
        store = tk.SQLiteStore(db)
        try:
            assert result.tickets == store.count()
            assert result.tickets > 20
        finally:
            store.close()

    def test_default_file_in_the_current_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without --db the demo writes ticketkit-demo.db in the current folder."""
        monkeypatch.chdir(tmp_path)
        status, _, _ = self.run(capsys, "--days", "1")
        assert (0, True) == (status, (tmp_path / "ticketkit-demo.db").exists())

    def test_progress_bar_redraws_on_a_terminal(self, tmp_path: Path) -> None:
        """On a terminal the bar is redrawn in place under the event lines."""
        buf = io.StringIO()
        run_demo(db=tmp_path / "t.db", days=1, seed=2, out=buf, tty=True)
        text = buf.getvalue()
        assert "\r[" in text
        assert "] 100%  done\n" in text

    def test_bad_days(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--days below 1 is refused with exit status 2 and a message."""
        status, _, err = self.run(capsys, "--days", "0")
        assert (2, "error: --days: expected 1 or more, got 0\n") == (status, err)

    def test_bad_db_paths(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A folder, or a file in a folder that does not exist, is refused before anything runs."""
        status, out, err = self.run(capsys, "--db", str(tmp_path), "--days", "1")
        assert (2, "") == (status, out)
        assert f"error: --db: {str(tmp_path)!r} is a folder" in err
        status, _, err = self.run(capsys, "--db", str(tmp_path / "no" / "d.db"), "--days", "1")
        assert (2, f"error: --db: folder {str(tmp_path / 'no')!r} does not exist; create it first\n") == (
            status,
            err,
        )

    def test_default_run_is_fast(self, tmp_path: Path) -> None:
        """The default run (5 business days through a subprocess) finishes well under 30 s."""
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "ticketkit", "demo", "--db", str(tmp_path / "d.db")],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        elapsed = time.perf_counter() - started
        assert "=== Report:" in out.stdout
        assert elapsed < 30
