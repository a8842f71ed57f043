"""The command line."""

from __future__ import annotations

import io
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ticketkit as tk
from ticketkit.cli._demo import is_demo_database
from ticketkit.cli._demo import run as run_demo
from ticketkit.cli._main import main


class TestCommandLine:
    def test_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help lists the demo command."""
        with pytest.raises(SystemExit) as exit_:
            main(["--help"])
        assert 0 == exit_.value.code
        assert "demo" in capsys.readouterr().out

    @pytest.mark.parametrize(
        ("argv0", "prog"),
        [("/venv/bin/ticketkit", "ticketkit"), ("/x/ticketkit/__main__.py", "python -m ticketkit")],
    )
    def test_usage_names_the_program(
        self, argv0: str, prog: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The usage line names the program as it was started: the script or python -m."""
        monkeypatch.setattr(sys, "argv", [argv0])
        assert 0 == main([])
        assert capsys.readouterr().out.startswith(f"usage: {prog} [-h]")

    def test_script_help_says_ticketkit(self) -> None:
        """The installed console script's --help says `usage: ticketkit`."""
        script = Path(sys.executable).with_name("ticketkit")
        if not script.exists():  # the script of an editable install (CI and a developer's venv)
            pytest.skip("no ticketkit console script beside this interpreter")
        out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
        assert out.stdout.startswith("usage: ticketkit ")

    def test_unknown_option_shows_the_subcommand_usage(self, capsys: pytest.CaptureFixture[str]) -> None:
        """demo --bogus shows the demo's usage, not the top-level one."""
        with pytest.raises(SystemExit) as exit_:
            main(["demo", "--bogus"])
        err = capsys.readouterr().err
        assert 2 == exit_.value.code
        assert "demo [-h] [--db DB]" in err
        assert "demo: error: unrecognized arguments: --bogus" in err

    def test_reader_that_stops_early(self, tmp_path: Path) -> None:
        """demo | head: a closed pipe ends the run quietly (status 141), no traceback."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "ticketkit", "demo", "--db", str(tmp_path / "d.db")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # what head does after its lines
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert (141, "") == (proc.wait(timeout=60), err)
        assert first.startswith(b"ticketkit demo:")

    def test_help_into_a_closed_pipe(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The usage printed into a closed pipe also ends with 141 and nothing raised."""

        class Closed(io.StringIO):
            def flush(self) -> None:
                raise BrokenPipeError

        monkeypatch.setattr(sys, "stdout", Closed())
        assert 141 == main([])

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
        assert "tickets over 3 business days" in err

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

    def test_own_database_is_recreated_and_holds_the_tickets(self, tmp_path: Path) -> None:
        """A second run replaces the demo's own database; afterwards it holds every ticket counted."""
        db = tmp_path / "demo.db"
        run_demo(db=db, days=1, seed=3, out=io.StringIO())
        db.with_name("demo.db-journal").write_bytes(b"")  # a leftover of the demo's own database
        result = run_demo(db=db, days=2, seed=5, out=io.StringIO())
        store = tk.SQLiteStore(db)
        try:
            assert result.tickets == store.count()
            assert result.tickets > 20
        finally:
            store.close()
        assert not db.with_name("demo.db-journal").exists()

    def test_report_numbers_add_up(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Resolved plus still open is the number of tickets, also over many days with reopens."""
        result = run_demo(db=tmp_path / "d.db", days=12, seed=7, out=io.StringIO())
        assert result.tickets == result.resolved + result.still_open
        assert result.reopened > 0
        assert result.resolutions >= result.resolved
        _, out, _ = self.run(capsys, "--db", str(tmp_path / "e.db"), "--days", "5")
        line = next(x for x in out.splitlines() if x.startswith("Resolved by the end: "))
        resolved, total = (int(x) for x in re.findall(r"(\d+) of (\d+)", line)[0])
        open_now = int(re.findall(r"still open: (\d+)", line)[0])
        assert total == resolved + open_now

    def test_durations_in_hours_and_plurals(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Business durations never use days; counts of one are singular."""
        _, out, _ = self.run(capsys, "--db", str(tmp_path / "d.db"), "--days", "5")
        times = [
            x for x in out.splitlines() if x.strip().startswith(("first response  median", "resolution"))
        ]
        assert times
        assert not any(re.search(r"\d+d\b", x) for x in times)
        assert re.search(r"\b1 (warnings|escalations|breaches|tickets|ratings)\b", out) is None
        assert re.search(r"\b1 escalation\b", out) is not None

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


class TestDemoFileSafety:
    """The demo replaces only a database it made itself; anything else is refused untouched."""

    def refused(self, capsys: pytest.CaptureFixture[str], db: Path) -> str:
        status = main(["demo", "--db", str(db), "--days", "1"])
        out = capsys.readouterr()
        assert (2, "") == (status, out.out)
        return out.err

    def test_text_file_refused_byte_identical(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An existing notes file (and its -wal neighbour) is refused, named, and left byte-identical."""
        notes = tmp_path / "notes.txt"
        content = "meeting notes\n\x00\xff".encode("latin-1") * 50
        notes.write_bytes(content)
        wal = tmp_path / "notes.txt-wal"
        wal.write_bytes(b"keep me")
        err = self.refused(capsys, notes)
        assert f"error: --db: {str(notes)!r} is a file, not a database this demo made" in err
        assert "left untouched" in err
        assert (content, b"keep me") == (notes.read_bytes(), wal.read_bytes())

    def test_other_sqlite_database_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Another program's SQLite database, and a ticket store not made by the demo, are refused."""
        other = tmp_path / "other.db"
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)")
        conn.execute("INSERT INTO accounts VALUES (1, 100)")
        conn.commit()
        conn.close()
        before = other.read_bytes()
        assert str(other) in self.refused(capsys, other)
        assert before == other.read_bytes()
        store_db = tmp_path / "store.db"
        tk.SQLiteStore(store_db).close()
        before = store_db.read_bytes()
        assert str(store_db) in self.refused(capsys, store_db)
        assert before == store_db.read_bytes()

    def test_special_files_and_links_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A FIFO (special like /dev/null), a symlink (even to the demo's file), a dangling link: refused."""
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        assert "special file" in self.refused(capsys, fifo)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        own = tmp_path / "own.db"
        run_demo(db=own, days=1, seed=1, out=io.StringIO())
        before = own.read_bytes()
        link = tmp_path / "link.db"
        link.symlink_to(own)
        assert "symbolic link" in self.refused(capsys, link)
        assert (True, before) == (link.is_symlink(), own.read_bytes())
        dangling = tmp_path / "dangling.db"
        dangling.symlink_to(tmp_path / "nowhere.db")
        assert "symbolic link" in self.refused(capsys, dangling)
        assert not (tmp_path / "nowhere.db").exists()

    def test_stray_sidecar_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A -wal file with no database beside it is not the demo's: refused and kept."""
        (tmp_path / "d.db-wal").write_bytes(b"someone's wal")
        assert "d.db-wal" in self.refused(capsys, tmp_path / "d.db")
        assert (b"someone's wal", False) == (
            (tmp_path / "d.db-wal").read_bytes(),
            (tmp_path / "d.db").exists(),
        )

    def test_recognises_only_its_own_stamp(self, tmp_path: Path) -> None:
        """is_demo_database: the demo's file yes; a short file, a folder, a missing file no."""
        own = tmp_path / "own.db"
        run_demo(db=own, days=1, seed=1, out=io.StringIO())
        short = tmp_path / "short.db"
        short.write_bytes(b"SQLite format 3\x00")
        assert (True, False, False, False) == (
            is_demo_database(own),
            is_demo_database(short),
            is_demo_database(tmp_path),
            is_demo_database(tmp_path / "missing.db"),
        )

    def test_unreadable_file_is_not_the_demos(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A file that cannot be opened is not taken for the demo's."""
        own = tmp_path / "own.db"
        own.write_bytes(b"x")

        def fail(*args: object, **kwargs: object) -> int:
            raise PermissionError("no")

        monkeypatch.setattr(os, "open", fail)
        assert not is_demo_database(own)
