"""SQLiteStore beyond the contract: opening files, migrations, processes, crashes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from ticketkit import ConflictError, Event, SQLiteStore, Ticket, ValidationError
from ticketkit.storage import SCHEMA_VERSION, StoreClosedError
from ticketkit.storage._sqlite import _migrate

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
SRC = str(Path(__file__).resolve().parent.parent / "src")


def ticket(i: int = 1, **changes: Any) -> Ticket:
    return Ticket(subject=f"ticket {i}", id=f"T{i:04d}", created_at=T0, **changes)


class TestOpening:
    def test_missing_folder_is_a_clear_error(self, tmp_path: Path) -> None:
        """A path in a folder that does not exist is refused, naming the folder; nothing is created."""
        path = tmp_path / "nope" / "desk.db"
        with pytest.raises(ValidationError) as info:
            SQLiteStore(path)
        assert "path" == info.value.errors[0].path
        assert "does not exist" in info.value.errors[0].message
        assert not path.parent.exists()

    def test_a_folder_is_not_a_database(self, tmp_path: Path) -> None:
        """A folder given as the path is refused."""
        with pytest.raises(ValidationError):
            SQLiteStore(tmp_path)

    def test_non_database_file_is_refused_and_untouched(self, tmp_path: Path) -> None:
        """A file that is not SQLite is refused and left byte for byte as it was."""
        path = tmp_path / "notes.db"
        content = b"these are my notes, not a database\n" * 100
        path.write_bytes(content)
        with pytest.raises(ValidationError) as info:
            SQLiteStore(path)
        assert "not an SQLite database" in info.value.errors[0].message
        assert content == path.read_bytes()
        assert ["notes.db"] == sorted(p.name for p in tmp_path.iterdir())

    def test_other_applications_database_is_refused_and_untouched(self, tmp_path: Path) -> None:
        """An SQLite database of something else is refused and left unchanged."""
        path = tmp_path / "app.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE users (id INTEGER)")
        conn.close()
        before = path.read_bytes()
        with pytest.raises(ValidationError) as info:
            SQLiteStore(path)
        assert "something else" in info.value.errors[0].message
        assert before == path.read_bytes()

    def test_newer_schema_is_refused_and_untouched(self, tmp_path: Path) -> None:
        """A database from a newer ticketkit is refused with both versions named; nothing written."""
        path = tmp_path / "desk.db"
        store = SQLiteStore(path)
        store.create(ticket())
        store.close()
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO ticketkit_schema VALUES (?, 'future')", (SCHEMA_VERSION + 1,))
        conn.close()
        before = path.read_bytes()
        with pytest.raises(ValidationError) as info:
            SQLiteStore(path)
        message = info.value.errors[0].message
        assert f"schema version {SCHEMA_VERSION + 1}" in message
        assert f"({SCHEMA_VERSION})" in message
        assert before == path.read_bytes()

    def test_older_schema_is_migrated_forward_keeping_data(self, tmp_path: Path) -> None:
        """A version-1 database is migrated to the current schema and its tickets stay."""
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path, isolation_level=None)
        _migrate(conn, upto=1)
        conn.close()
        conn = sqlite3.connect(path)
        assert 1 == conn.execute("SELECT MAX(version) FROM ticketkit_schema").fetchone()[0]
        conn.close()
        store = SQLiteStore(path)
        assert SCHEMA_VERSION == store.schema_version
        store.create(ticket(team="t1"))
        assert 1 == store.count(team="t1")
        conn = sqlite3.connect(path)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        conn.close()
        assert {"tickets_due", "tickets_updated", "tickets_team"} <= indexes

    def test_data_persists_across_reopen_in_wal_mode(self, tmp_path: Path) -> None:
        """What one store wrote, a store opened later reads; the file is in WAL mode."""
        path = tmp_path / "desk.db"
        with SQLiteStore(path) as store:
            store.create(ticket(), [Event(ticket_id="T0001", kind="ticket.created", actor="system", at=T0)])
        with SQLiteStore(path) as store:
            assert "ticket 1" == store.get("T0001").subject
            assert 1 == len(store.events("T0001"))
        conn = sqlite3.connect(path)
        assert "wal" == conn.execute("PRAGMA journal_mode").fetchone()[0]
        conn.close()

    def test_closed_store_refuses_use(self, tmp_path: Path) -> None:
        """After close(), every call raises StoreClosedError."""
        store = SQLiteStore(tmp_path / "desk.db")
        store.close()
        with pytest.raises(StoreClosedError):
            store.get("T0001")


class TestAtomicity:
    def test_a_failure_midway_rolls_back_the_whole_save(self, tmp_path: Path) -> None:
        """When the database fails on the second event, the ticket and the first event are not written."""
        path = tmp_path / "desk.db"
        store = SQLiteStore(path)
        t1 = store.create(ticket())
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.body LIKE '%\"boom\"%' "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        conn.commit()
        conn.close()
        t2 = attrs.evolve(t1, status="open", version=2)
        ok = Event(ticket_id=t1.id, kind="fine", actor="system", at=T0, version=2)
        boom = Event(ticket_id=t1.id, kind="boom", actor="system", at=T0, version=2)
        with pytest.raises(sqlite3.IntegrityError):
            store.save(t2, [ok, boom], 1)
        assert t1 == store.get(t1.id)
        assert [] == store.events(t1.id)
        assert t2 == store.save(t2, [ok], 1)  # the store is usable afterwards
        store.close()


# --------------------------------------------------------------------------- two processes


def _racer(path: str, name: str, rounds: int, barrier: Any, results: Any) -> None:
    store = SQLiteStore(path)
    for _ in range(rounds):
        current = store.get("T0001")
        mine = attrs.evolve(current, version=current.version + 1, status=name)
        event = Event(
            ticket_id="T0001", kind="x.raced", actor=name, at=T0, data={"writer": name}, version=mine.version
        )
        barrier.wait()
        try:
            store.save(mine, [event], current.version)
            results.put((mine.version, name, "won"))
        except ConflictError:
            results.put((mine.version, name, "conflict"))
        barrier.wait()
    store.close()


class TestTwoProcesses:
    def test_opening_waits_for_another_opener(self, tmp_path: Path) -> None:
        """A new file being migrated by another process (its write open): opening waits, then works.

        SQLite refuses the switch to WAL at once while another connection writes, whatever
        busy_timeout says; two workers starting together on a new file met it in CI.
        """
        path = tmp_path / "new.db"
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        timer = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        timer.start()
        try:
            started = time.monotonic()
            with SQLiteStore(path) as store:
                assert SCHEMA_VERSION == store.schema_version
            assert time.monotonic() - started >= 0.25
        finally:
            timer.join()
            other.close()

    def test_opening_gives_up_after_its_timeout(self, tmp_path: Path) -> None:
        """An opener held off for longer than ``timeout`` gets a ValidationError, not a raw sqlite3 error."""
        path = tmp_path / "held.db"
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ValidationError, match="locked"):
                SQLiteStore(path, timeout=0.2)
        finally:
            other.execute("ROLLBACK")
            other.close()

    def test_one_winner_per_version_and_no_event_lost(self, tmp_path: Path) -> None:
        """Two processes save the same version at once, round after round: one wins, one conflicts."""
        path = str(tmp_path / "desk.db")
        with SQLiteStore(path) as store:
            store.create(ticket())
        rounds = 15
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(2)
        results = ctx.Queue()
        procs = [ctx.Process(target=_racer, args=(path, n, rounds, barrier, results)) for n in ("a", "b")]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in range(2 * rounds)]
        for p in procs:
            p.join(timeout=60)
            assert 0 == p.exitcode
        by_version: dict[int, list[tuple[str, str]]] = {}
        for version, name, result in outcomes:
            by_version.setdefault(version, []).append((name, result))
        assert list(range(2, rounds + 2)) == sorted(by_version)
        winners = {}
        for version, entries in by_version.items():
            assert ["conflict", "won"] == sorted(r for _, r in entries), version
            winners[version] = next(n for n, r in entries if r == "won")
        with SQLiteStore(path) as store:
            events = store.events("T0001")
            assert rounds + 1 == store.get("T0001").version
        assert [(v, winners[v]) for v in range(2, rounds + 2)] == [
            (e.version, e.data["writer"]) for e in events
        ]


# --------------------------------------------------------------------------- crash safety

_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    import attrs
    sys.path.insert(0, {src!r})
    from ticketkit import Event, SQLiteStore, Ticket

    T0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
    store = SQLiteStore({path!r})

    def ev(t, kind):
        return Event(ticket_id=t.id, kind=kind, actor="system", at=T0, version=t.version)

    tickets = {{}}
    n = 0
    while True:
        batch = []
        for _ in range(5):
            n += 1
            t = Ticket(subject="s" * 500, id=f"T{{n:06d}}", created_at=T0)
            batch.append((t, [ev(t, "ticket.created")], None))
        store.save_many(batch)
        for t, _, _ in batch:
            tickets[t.id] = t
        for tid in list(tickets)[-20:]:
            old = tickets[tid]
            new = attrs.evolve(old, version=old.version + 1, description="d" * (old.version * 100))
            store.save(new, [ev(new, "a.first"), ev(new, "a.second")], old.version)
            tickets[tid] = new
        if n == 50:
            print("ready", flush=True)
    """
)


class TestCrashSafety:
    @pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
    def test_killed_writer_leaves_a_consistent_file(self, tmp_path: Path, delay: float) -> None:
        """SIGKILL in the middle of a run of saves: every ticket is at a committed version with its events."""
        path = tmp_path / "desk.db"
        SQLiteStore(path).close()
        with subprocess.Popen(
            [sys.executable, "-c", _WRITER.format(src=SRC, path=str(path))],
            stdout=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            assert "ready" == proc.stdout.readline().strip()
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        assert -signal.SIGKILL == proc.returncode
        conn = sqlite3.connect(path)
        assert "ok" == conn.execute("PRAGMA integrity_check").fetchone()[0]
        conn.close()
        with SQLiteStore(path) as store:
            tickets = list(store.scan())
            assert len(tickets) >= 50
            assert 0 == len(tickets) % 5  # batches land whole
            for t in tickets:
                expected = [(1, "ticket.created")] + [
                    (v, k) for v in range(2, t.version + 1) for k in ("a.first", "a.second")
                ]
                assert expected == [(e.version, e.kind) for e in store.events(t.id)]
                assert "d" * ((t.version - 1) * 100) == t.description


class TestThreads:
    def test_each_thread_gets_its_own_connection(self, tmp_path: Path) -> None:
        """Reads from several threads work on one store (a connection per thread)."""
        import threading

        store = SQLiteStore(tmp_path / "desk.db")
        store.create(ticket())
        seen: list[str] = []

        def read() -> None:
            seen.append(store.get("T0001").id)

        threads = [threading.Thread(target=read) for _ in range(5)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert ["T0001"] * 5 == seen
        store.close()


class TestFork:
    def test_a_forked_child_opens_its_own_connection(self, tmp_path: Path) -> None:
        """A store inherited through fork() works in the child, which writes through its own connection."""
        if not hasattr(os, "fork"):
            pytest.skip("no fork on this platform")
        store = SQLiteStore(tmp_path / "desk.db")
        store.create(ticket())
        ctx = multiprocessing.get_context("fork")
        proc = ctx.Process(target=_child_save, args=(store,))
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a process with threads; this child only saves.
            warnings.simplefilter("ignore", DeprecationWarning)
            proc.start()
        proc.join(timeout=60)
        assert 0 == proc.exitcode
        assert ("open", 2) == (store.get("T0001").status, store.get("T0001").version)
        store.close()


def _child_save(store: SQLiteStore) -> None:
    current = store.get("T0001")
    store.save(attrs.evolve(current, status="open", version=2), [], 1)
