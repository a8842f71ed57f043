"""PostgresStore's change feed in commit order, and its schema made by hand from schema_sql()."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import ticketkit as tk
from ticketkit import Event, Ticket, TicketStore
from ticketkit.storage import POSTGRES_SCHEMA_VERSION, FeedPage, OutboxMessage, PostgresStore

try:
    import psycopg
    from psycopg.conninfo import make_conninfo
except ImportError:  # pragma: no cover - the test extra installs psycopg
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        raise
    pytest.skip("psycopg is not installed: pip install 'ticketkit[postgres]'", allow_module_level=True)

pytest_plugins = ("tests.postgres_fixture",)

pytestmark = pytest.mark.postgres

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _ticket(i: int, **changes: Any) -> Ticket:
    base: dict[str, Any] = {
        "subject": f"ticket {i}",
        "id": f"T{i:04d}",
        "created_at": T0 + timedelta(minutes=i),
    }
    base.update(changes)
    return Ticket(**base)


def _events(ticket: Ticket, n: int, tag: str = "e") -> list[Event]:
    return [
        Event(
            ticket_id=ticket.id,
            kind=f"{tag}.{k}",
            actor="agent:li",
            at=ticket.updated_at,
            version=ticket.version,
        )
        for k in range(n)
    ]


class Follower:
    """Reads the feed page by page, like an integrator's consumer, keeping every event id seen."""

    def __init__(self, store: TicketStore, limit: int = 3) -> None:
        self.store = store
        self.limit = limit
        self.cursor: str | None = None
        self.seen: list[str] = []

    def catch_up(self) -> None:
        """Read until a page comes back empty."""
        while True:
            page = self.store.changes(self.cursor, limit=self.limit)
            self.cursor = page.cursor
            self.seen.extend(e.id for e in page.events)
            if not page.events:
                return


def _wait_for_lock_wait(dsn: str, schema: str, timeout: float = 30.0) -> None:
    """Return once a session is waiting for a lock in a statement on ``schema``."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                (f'%"{schema}".tickets%',),
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.02)
    raise AssertionError(f"no session waited for a lock on {schema} within {timeout}s")


class SeqFeed(PostgresStore):
    """Broken on purpose: the feed follows the events' sequence numbers, which is not commit order."""

    def changes(self, after: str | None = None, *, limit: int = 1000) -> FeedPage:
        last = int(after or 0)
        with self._conn() as conn:
            rows = conn.execute(
                f'SELECT seq, body FROM "{self.schema}".events WHERE seq > %s ORDER BY seq LIMIT %s',
                (last, limit),
            ).fetchall()
        if rows:
            last = rows[-1][0]
        return FeedPage(events=tuple(tk.from_json(Event, r[1]) for r in rows), cursor=str(last))


def _late_commit(store: PostgresStore, dsn: str) -> tuple[list[str], list[str]]:
    """One transaction writes events, waits on a row lock while two others commit, then commits.

    A follower reads the feed while it waits and after; returns (every event id, ids seen).
    """
    held = store.create(_ticket(9))
    follower = Follower(store)
    late = _ticket(1)
    late_events = _events(late, 2, "late")
    held2 = attrs.evolve(held, version=2, subject="changed")
    held_events = _events(held2, 1, "held")
    errors: list[BaseException] = []

    def commit_late() -> None:
        try:  # creates first (seq taken now), then blocks on the held row, commits last
            store.commit([(late, late_events, None), (held2, held_events, 1)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    early: list[Event] = []
    with psycopg.connect(dsn) as blocker:
        blocker.execute(f'SELECT 1 FROM "{store.schema}".tickets WHERE id = %s FOR UPDATE', (held.id,))
        writer = threading.Thread(target=commit_late, daemon=True)
        writer.start()
        _wait_for_lock_wait(dsn, store.schema)
        for i in (2, 3):
            t = _ticket(i)
            early.extend(_events(t, 2, f"early{i}"))
            store.create(t, early[-2:])
        follower.catch_up()
        blocker.rollback()
    writer.join(30)
    assert not writer.is_alive()
    assert [] == errors
    follower.catch_up()
    return [e.id for e in early + late_events + held_events], follower.seen


class TestCommitOrderedFeed:
    @pytest.mark.parametrize("broken", [False, True], ids=["PostgresStore", "SeqFeed (broken)"])
    def test_a_transaction_committing_late_is_neither_skipped_nor_repeated(
        self, make_postgres_store: Callable[..., PostgresStore], postgres_dsn: str, broken: bool
    ) -> None:
        """Events written early by a transaction committing after later ones reach the follower once.

        The same run against a store whose feed follows ``seq`` loses them: the test can fail.
        """
        store = make_postgres_store()
        if broken:
            store.close()
            store = SeqFeed(postgres_dsn, schema=store.schema)
        try:
            every, seen = _late_commit(store, postgres_dsn)
        finally:
            if broken:
                store.close()
        if broken:
            assert sorted(every) != sorted(seen)
        else:
            assert sorted(every) == sorted(seen)
            assert len(every) == len(seen)

    def test_concurrent_writers_and_a_follower_see_every_event_once(
        self, make_postgres_store: Callable[..., PostgresStore]
    ) -> None:
        """Four writer threads on their own handles; a follower reading throughout sees each event once."""
        store = make_postgres_store()
        handles = [make_postgres_store(schema=store.schema) for _ in range(4)]
        written: list[list[str]] = [[] for _ in handles]
        errors: list[BaseException] = []
        done = threading.Event()

        def write(k: int) -> None:
            try:
                for i in range(15):
                    t = _ticket(1000 * (k + 1) + i)
                    first = _events(t, 1 + i % 3, "c")
                    handles[k].create(t, first)
                    t2 = attrs.evolve(t, version=2, status="open")
                    more = _events(t2, 2, "s")
                    handles[k].commit([(t2, more, 1)])
                    written[k].extend(e.id for e in first + more)
            except BaseException as exc:  # reported below
                errors.append(exc)

        follower = Follower(store, limit=7)
        writers = [threading.Thread(target=write, args=(k,), daemon=True) for k in range(4)]
        for th in writers:
            th.start()

        def wait_all() -> None:
            for th in writers:
                th.join(60)
            done.set()

        threading.Thread(target=wait_all, daemon=True).start()
        while not done.is_set():
            follower.catch_up()
        follower.catch_up()
        assert [] == errors
        every = [i for part in written for i in part]
        assert sorted(every) == sorted(follower.seen)
        assert len(set(follower.seen)) == len(follower.seen)
        # And read again from the start, the order is the same.
        again = Follower(store, limit=1000)
        again.catch_up()
        assert follower.seen == again.seen

    def test_purged_and_rewritten_events_follow_the_store(
        self, make_postgres_store: Callable[..., PostgresStore]
    ) -> None:
        """The feed shows a rewritten event as rewritten and a purged ticket's events not at all."""
        store = make_postgres_store()
        a, b = _ticket(1), _ticket(2)
        store.create(a, _events(a, 2))
        store.create(b, _events(b, 1))
        store.purge(b.id)
        old = store.events(a.id)
        a2 = attrs.evolve(a, version=2)
        new = [attrs.evolve(e, data={"x": 1}) for e in old]
        store.rewrite(a2, new, append=_events(a2, 1, "r"), expected_version=1)
        got = store.changes().events
        assert [e.id for e in new] + [got[-1].id] == [e.id for e in got]
        assert [{"x": 1}, {"x": 1}, {}] == [dict(e.data) for e in got]

    def test_a_feed_call_reads_an_index_range(
        self, make_postgres_store: Callable[..., PostgresStore]
    ) -> None:
        """Index ranges answer the feed query: no scan of the events table is needed.

        On a table this small the planner rightly prefers a scan; with scans priced out
        it must still find a plan, which shows the indexes cover the query (what the
        planner picks on a big table; the benchmark measures 1k against 100k events).
        """
        store = make_postgres_store()
        for i in range(600):  # one commit each, as a desk writes
            t = _ticket(i)
            store.create(t, _events(t, 1 + i % 3))
        cursor = store.changes(limit=900).cursor
        with store._pool.connection() as conn:
            conn.execute("ANALYZE " + f'"{store.schema}".events')
            conn.execute("ANALYZE " + f'"{store.schema}".feed_commits')
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET enable_bitmapscan = off")
            plan = "\n".join(
                r[0]
                for r in conn.execute(
                    "EXPLAIN " + store._sql.feed, {"pos": 450, "seq": 0, "n": 100}
                ).fetchall()
            )
        assert "Seq Scan" not in plan, plan
        assert "Index Scan using events_xid" in plan, plan
        with store._pool.connection() as conn:
            conn.execute("RESET ALL")
        assert 1200 - 900 == len(store.changes(cursor, limit=1000))


class TestSchemaByHand:
    @staticmethod
    def _catalog(conn: Any, schema: str) -> list[tuple[Any, ...]]:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, "
            "replace(coalesce(column_default, ''), %s, 'S') FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY 1, 2",
            (schema, schema),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
            (schema, schema),
        ).fetchall()
        return [*columns, *indexes]

    def test_schema_sql_equals_the_migrated_schema(
        self, make_postgres_store: Callable[..., PostgresStore], postgres_dsn: str
    ) -> None:
        """schema_sql() makes the very tables, columns and indexes the migrations make."""
        migrated = make_postgres_store()
        name = f"tk_byhand_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(PostgresStore.schema_sql(name))
            try:
                assert self._catalog(conn, migrated.schema) == self._catalog(conn, name)
            finally:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')

    def test_a_role_without_create_rights_uses_a_schema_made_by_hand(
        self, make_postgres_store: Callable[..., PostgresStore], postgres_dsn: str
    ) -> None:
        """After schema_sql(), a role with only data rights opens the store and uses all of it."""
        name = f"tk_byhand_{uuid.uuid4().hex[:8]}"
        role = f"tk_app_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(PostgresStore.schema_sql(name))
            conn.execute(f"CREATE ROLE {role}")
            conn.execute(f'GRANT USAGE ON SCHEMA "{name}" TO {role}')
            conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{name}" TO {role}')
            conn.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{name}" TO {role}')
        try:
            app = PostgresStore(
                make_conninfo(postgres_dsn, options=f"-c role={role}"), schema=name, migrate=False
            )
            try:
                assert POSTGRES_SCHEMA_VERSION == app.schema_version
                t = _ticket(1)
                note = OutboxMessage(id="n-1", payload="{}", created_at=T0, available_at=T0, ticket_id=t.id)
                app.commit([(t, _events(t, 2), None)], [note])
                assert 2 == len(app.changes())
                assert ["n-1"] == [m.id for m in app.claim_outbox(T0, worker="w", lease=timedelta(minutes=1))]
                assert {"k": t.id} == app.bind_message_keys(["k"], t.id, tenant="default")
                assert 1 == app.put_record("presence", "li", "away", tenant="default", expected_version=None)
                assert {"li": ("away", 1)} == app.records("presence", tenant="default")
                assert [] == app.queued("nobody", tenant="default")
                app.purge(t.id)
                assert [] == app.outbox()
            finally:
                app.close()
        finally:
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')
                conn.execute(f"DROP ROLE {role}")

    def test_a_version_3_schema_with_events_migrates_into_the_feed(
        self, make_postgres_store: Callable[..., PostgresStore], postgres_dsn: str
    ) -> None:
        """Events stored before the feed existed come first in it, in their stored order."""
        store = make_postgres_store()
        t = _ticket(1)
        store.create(t, _events(t, 3))
        s = f'"{store.schema}"'
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:  # back to what version 3 had
            conn.execute(f"DROP TABLE {s}.feed_commits")
            conn.execute(f"ALTER TABLE {s}.events DROP COLUMN xid")
            conn.execute(f"ALTER TABLE {s}.outbox DROP COLUMN ticket_id")
            conn.execute(f"DELETE FROM {s}.ticketkit_schema WHERE version >= 4")
        again = make_postgres_store(schema=store.schema)
        assert POSTGRES_SCHEMA_VERSION == again.schema_version
        t2 = attrs.evolve(t, version=2)
        again.save(t2, _events(t2, 1, "new"), 1)
        assert ["e.0", "e.1", "e.2", "new.0"] == [e.kind for e in again.changes().events]
