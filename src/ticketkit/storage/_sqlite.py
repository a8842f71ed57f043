"""``SQLiteStore``: tickets in one SQLite file (stdlib ``sqlite3``, WAL).

Each ticket is one row: its full JSON (the ``to_dict`` form) plus the columns
queries filter and order on, indexed. Events are rows in a second table, in the
order they were saved. Writes run in ``BEGIN IMMEDIATE`` transactions, so several
threads (one connection each) and several processes can share one file: a stale
version loses with ``ConflictError``, nothing is half-written, and a process
killed mid-write leaves the last committed state.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final, TypeAlias

from ticketkit.errors import ConflictError, NotFoundError, TicketkitError, ValidationError, bounded_repr
from ticketkit.model._models import Event, Ticket
from ticketkit.storage import _message_keys as mk
from ticketkit.storage import _records as rec
from ticketkit.storage import _sql_outbox as sq
from ticketkit.storage._base import (
    OPEN_STATUS_KINDS,
    Change,
    ExportWriter,
    Page,
    Query,
    StoreClosedError,
    _check_claim_args,
    check_counts_args,
    check_due_args,
    due_key,
    dump_json,
    export_header,
    instant_key,
    leased,
    parse_event_json,
    validate_changes,
    validate_create,
    validate_save,
)
from ticketkit.storage._decode import trusted_ticket
from ticketkit.storage._outbox import (
    OutboxMessage,
    check_messages,
)
from ticketkit.storage._rewrite import check_purge, check_same_events, validate_rewrite
from ticketkit.storage._sqlite_side import SQLiteSideTables

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

_HEADER: Final = b"SQLite format 3\x00"

# Forward migrations: _MIGRATIONS[v] takes a database from version v - 1 to v.
# Never edit a released step; add a new one.
_MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        """CREATE TABLE tickets (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            status_kind TEXT NOT NULL,
            team TEXT,
            assignee TEXT,
            customer TEXT,
            category TEXT,
            priority INTEGER NOT NULL,
            created_us INTEGER NOT NULL,
            updated_us INTEGER NOT NULL,
            due_us INTEGER NOT NULL,
            parent_id TEXT,
            subject_fold TEXT NOT NULL,
            tags TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE ticket_tags (
            ticket_id TEXT NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (ticket_id, tag)
        ) WITHOUT ROWID""",
        "CREATE INDEX ticket_tags_tag ON ticket_tags (tag)",
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            ticket_id TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX events_ticket ON events (ticket_id, seq)",
        "CREATE INDEX tickets_created ON tickets (created_us, id)",
        "CREATE INDEX tickets_tenant_created ON tickets (tenant, created_us, id)",
        "CREATE INDEX tickets_due ON tickets (due_us, id)",
        "CREATE INDEX tickets_tenant_due ON tickets (tenant, due_us, id)",
        "CREATE INDEX tickets_status_kind ON tickets (tenant, status_kind)",
    ),
    2: (
        "CREATE INDEX tickets_updated ON tickets (updated_us, id)",
        "CREATE INDEX tickets_team ON tickets (team)",
        "CREATE INDEX tickets_assignee ON tickets (assignee)",
        "CREATE INDEX tickets_customer ON tickets (customer)",
        "CREATE INDEX tickets_parent ON tickets (parent_id)",
    ),
    3: (
        # What the desk asks on every intake, each read from its own index so the cost
        # follows the customer's or agent's open tickets, never the stored history.
        "CREATE INDEX tickets_load ON tickets (tenant, assignee, status_kind)",
        "CREATE INDEX tickets_customer_open ON tickets (tenant, customer, status_kind, created_us, id)",
        "CREATE INDEX tickets_customer_updated ON tickets (tenant, customer, updated_us, id)",
    ),
    4: (
        # Desk records (agent presence, the queue-drain lease) and a partial index of the
        # tickets waiting in a team's queue, in hand-out order (`queued`). IF NOT EXISTS:
        # earlier versions made both on first use.
        rec.SQLITE_TABLE,
        rec.SQLITE_QUEUE_INDEX,
    ),
    5: (
        # The message keys (made on first use before, hence IF NOT EXISTS) and their
        # index by ticket, so erasure and retention drop a ticket's keys without a scan.
        mk.SQLITE_TABLE,
        mk.SQLITE_TICKET_INDEX,
    ),
}
SCHEMA_VERSION: Final = max(_MIGRATIONS)
"""The schema version this ticketkit writes; older files are migrated forward on open."""

_KEY_COLUMN: Final = {
    "created_at": "created_us",
    "updated_at": "updated_us",
    "next_due_at": "due_us",
    "priority": "priority",
    "id": "0",
}

_UPSERT_COLUMNS: Final = (
    "tenant, version, status, status_kind, team, assignee, customer, category, priority, "
    "created_us, updated_us, due_us, parent_id, subject_fold, tags, body"
)


def _row(ticket: Ticket) -> tuple[Any, ...]:
    """The column values of a ticket row, id last."""
    return (
        ticket.tenant,
        ticket.version,
        ticket.status,
        ticket.status_kind,
        ticket.team,
        ticket.assignee,
        ticket.customer.id if ticket.customer is not None else None,
        ticket.category,
        ticket.priority.rank,
        instant_key(ticket.created_at),
        instant_key(ticket.updated_at),
        due_key(ticket),
        ticket.parent_id,
        ticket.subject.casefold(),
        _tags_column(ticket.tags),
        dump_json(ticket),
        ticket.id,
    )


def _tags_column(tags: frozenset[str]) -> str:
    """The tags as a JSON list, sorted: one unambiguous text per set (any character allowed)."""
    return json.dumps(sorted(tags), ensure_ascii=False)


def _stored_tags(column: str) -> frozenset[str] | None:
    """The set a tags column holds; None for the old ``\x1f``-joined form, which is ambiguous."""
    if column.startswith("["):
        loaded = json.loads(column)
        if isinstance(loaded, list) and all(isinstance(t, str) for t in loaded):
            return frozenset(loaded)
    return None


def _tag_changes(
    updates: list[Any], old: dict[str, Any]
) -> tuple[list[tuple[str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """Ticket ids whose tag rows are rewritten whole, and the (id, tag) rows to delete and to insert.

    Only the tags that changed, compared as sets: adding one tag to a ticket with many
    inserts one row. A row written before the JSON form is rewritten whole, once.
    """
    wipe: list[tuple[str]] = []
    removed: list[tuple[str, str]] = []
    added: list[tuple[str, str]] = []
    for p in updates:
        ticket = p[0]
        if old[ticket.id][_TAGS] == p[1][_TAGS]:
            continue
        before = _stored_tags(old[ticket.id][_TAGS])
        if before is None:
            wipe.append((ticket.id,))
            before = frozenset()
        removed.extend((ticket.id, g) for g in sorted(before - ticket.tags))
        added.extend((ticket.id, g) for g in sorted(ticket.tags - before))
    return wipe, removed, added


_COLUMNS: Final = tuple(c.strip() for c in _UPSERT_COLUMNS.split(","))
_TENANT, _VERSION, _TAGS, _BODY = 0, 1, 14, 15  # positions in _COLUMNS and _row()
_COLUMNS_BUT_BODY: Final = ", ".join(_COLUMNS[:_BODY])
_Prepared: TypeAlias = "tuple[Ticket, tuple[Any, ...], list[tuple[str, str]], int | None]"

_INSERT: Final = f"INSERT INTO tickets ({_UPSERT_COLUMNS}, id) VALUES ({', '.join('?' * 17)})"


def _wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Put the file in WAL mode, waiting up to ``timeout`` for another opener.

    Switching to WAL needs the file to itself, and SQLite does not wait for it: while
    another process migrates a new file (its write transaction open), the switch fails
    at once with "database is locked", whatever ``busy_timeout`` says. Two workers
    starting together on a new file met exactly that, so the switch is tried again.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> None:
    """Bring a database to schema ``upto`` in one write transaction (two openers never race)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS ticketkit_schema "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM ticketkit_schema").fetchone()[0]
        for version in range(current + 1, upto + 1):
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO ticketkit_schema (version, applied_at) VALUES (?, ?)",
                (version, datetime.now(UTC).isoformat()),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# The outbox and change feed live in the base class (`_sqlite_outbox`), the SQL of
# message keys and rewrites in their own modules.
class SQLiteStore(SQLiteSideTables):
    """Tickets in one SQLite file, safe for several threads and processes.

    ``path`` is a file in an existing folder (created when missing) or
    ``":memory:"``. The file is put in WAL mode; ``timeout`` is how long a
    writer waits for another one (``busy_timeout``). Up to ``cache_size``
    decoded tickets are kept, keyed by their stored JSON, so reading an
    unchanged ticket again skips decoding (0 turns this off). A file written by an older
    ticketkit is migrated forward; a file from a newer one, a file that is not an
    SQLite database, or a database of something else is refused with a
    ``ValidationError`` and left untouched.

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> with tk.SQLiteStore(":memory:") as store:
        ...     t = store.create(
        ...         tk.Ticket(
        ...             subject="Noisy fridge",
        ...             id="T1",
        ...             created_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc),
        ...         )
        ...     )
        ...     store.get("T1") == t
        True
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, cache_size: int = 2048
    ) -> None:
        self._memory = str(path) == ":memory:"
        self._path = str(path) if self._memory else os.fspath(Path(path).expanduser())
        self._timeout = timeout
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        # Close the connections when the store is dropped without close() (no leaked
        # connections, no ResourceWarning on newer Pythons).
        weakref.finalize(self, _close_all, self._conns)
        self._guard = threading.RLock()  # serialises the single ":memory:" connection
        self._closed = False
        self._pid = os.getpid()
        # Tickets decoded from row JSON, keyed by that JSON: equal text is an equal
        # (immutable) ticket, so a hit is always right, whoever wrote the row.
        self._cache_size = cache_size
        self._cache: dict[str, Ticket] = {}
        self._cache_lock = threading.Lock()
        if not self._memory:
            _check_path(Path(self._path))
        try:
            conn = self._conn()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ValidationError.one("path", f"cannot use {self._path!r} as a ticket store: {exc}") from None
        try:
            self._open_schema(conn)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ opening

    def _open_schema(self, conn: sqlite3.Connection) -> None:
        try:
            objects = {
                f"{kind} {name}"
                for kind, name in conn.execute(
                    "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                )
            }
            tables = {o.split(" ", 1)[1] for o in objects if o.startswith("table ")}
            current = 0
            if "ticketkit_schema" in tables:
                current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM ticketkit_schema").fetchone()[0]
            elif objects:
                # Tables, views, triggers or indexes of another application: not ours to take over.
                raise ValidationError.one(
                    "path",
                    f"{self._path!r} is an SQLite database of something else (holds: "
                    f"{bounded_repr(', '.join(sorted(objects)), limit=200)}); ticketkit leaves it untouched",
                )
            if current > SCHEMA_VERSION:
                raise ValidationError.one(
                    "path",
                    f"{self._path!r} has schema version {current}, newer than this ticketkit understands "
                    f"({SCHEMA_VERSION}); upgrade ticketkit. The file was left untouched",
                )
            if not self._memory:
                _wal(conn, self._timeout)
            if current < SCHEMA_VERSION:
                _migrate(conn)
            for statement in sq.SQLITE_OUTBOX_DDL:
                conn.execute(statement)
            if "ticket_id" not in {r[1] for r in conn.execute("PRAGMA table_info(outbox)")}:
                conn.execute(sq.SQLITE_TICKET_COLUMN)
            conn.execute(sq.SQLITE_TICKET_INDEX)
        except sqlite3.DatabaseError as exc:
            raise ValidationError.one("path", f"cannot use {self._path!r} as a ticket store: {exc}") from None

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreClosedError(f"the SQLiteStore on {self._path!r} is closed")
        if self._memory and self._conns:
            return self._conns[0]
        if self._pid != os.getpid() and not self._memory:
            # A forked child must not use its parent's connections: start afresh.
            self._pid = os.getpid()
            self._local = threading.local()
            self._conns.clear()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA secure_delete = ON")  # erased data leaves no copy in free space
            self._local.conn = conn
            with self._guard:
                self._conns.append(conn)
        return conn

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``)."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version of the open database.

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").schema_version == tk.storage.SCHEMA_VERSION
            True
        """
        with self._read() as conn:
            return int(conn.execute("SELECT MAX(version) FROM ticketkit_schema").fetchone()[0])

    def close(self) -> None:
        """Close every connection this store opened; later use raises an error.

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").close()
        """
        with self._guard:
            self._closed = True
            _close_all(self._conns)

    def _ticket(self, body: str) -> Ticket:
        ticket = self._cache.get(body)
        if ticket is None:
            ticket = trusted_ticket(json.loads(body))
            self._remember([(body, ticket)])
        return ticket

    def _remember(self, items: Sequence[tuple[str, Ticket]]) -> None:
        """Keep decoded tickets (and tickets just written) by their JSON, oldest out first."""
        if self._cache_size <= 0:
            return
        with self._cache_lock:
            for body, ticket in items[-self._cache_size :]:
                if len(self._cache) >= self._cache_size:
                    del self._cache[next(iter(self._cache))]
                self._cache[body] = ticket

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._guard if self._memory else _NULL:
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise TicketkitError(f"cannot write to {self._path!r}: {exc}") from None
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                conn.execute("ROLLBACK")
                raise TicketkitError(f"cannot commit to {self._path!r}: {exc}") from None

    @contextmanager
    def _read(self, *, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        with self._guard if self._memory else _NULL:
            conn = self._conn()
            if not snapshot:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    # ------------------------------------------------------------------ writes

    @staticmethod
    def _prepare(changes: Iterable[Change]) -> list[_Prepared]:
        """Serialize before taking the write lock, so the lock is held only for SQL."""
        return [
            (ticket, _row(ticket), [(ticket.id, dump_json(e)) for e in events], expected)
            for ticket, events, expected in changes
        ]

    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        """Store a new ticket and its first events in one transaction (see `TicketStore.create`).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.SQLiteStore(":memory:")
            >>> store.create(
            ...     tk.Ticket(subject="s", id="T1", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            ... ).id
            'T1'
        """
        validate_create(ticket, events)
        prepared = self._prepare([(ticket, events, None)])
        with self._write() as conn:
            _apply(conn, prepared)
        self._remember([(p[1][_BODY], p[0]) for p in prepared])
        return ticket

    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        """Save a new version in one transaction (see [`TicketStore.save`][ticketkit.TicketStore.save]).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import attrs, ticketkit as tk
            >>> store = tk.SQLiteStore(":memory:")
            >>> t = store.create(
            ...     tk.Ticket(subject="s", id="T1", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            ... )
            >>> try:
            ...     store.save(attrs.evolve(t, version=3), [], 2)
            ... except tk.ConflictError as err:
            ...     print(err.expected, err.actual)
            2 1
        """
        validate_save(ticket, events, expected_version)
        prepared = self._prepare([(ticket, events, expected_version)])
        with self._write() as conn:
            _apply(conn, prepared)
        self._remember([(p[1][_BODY], p[0]) for p in prepared])
        return ticket

    def save_many(self, changes: Iterable[Change]) -> list[Ticket]:
        """Apply a batch of writes in one transaction: all or nothing.

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").save_many([])
            []
        """
        checked = validate_changes(changes)
        prepared = self._prepare(checked)
        with self._write() as conn:
            _apply(conn, prepared)
        self._remember([(p[1][_BODY], p[0]) for p in prepared])
        return [c[0] for c in checked]

    def claim_due(
        self,
        at: datetime,
        *,
        worker: str,
        lease: timedelta,
        limit: int = 100,
        tenant: str | None = None,
    ) -> list[Ticket]:
        """Claim due tickets in one write transaction (see `TicketStore.claim_due`).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").claim_due(
            ...     datetime(2025, 1, 1, tzinfo=timezone.utc), worker="w", lease=timedelta(minutes=1)
            ... )
            []
        """
        _check_claim_args(at, worker, lease, limit)
        until = at + lease
        until_key = instant_key(until)
        with self._write() as conn:
            rows = self._due_rows(conn, instant_key(at), limit, tenant)
            olds = [self._ticket(row[0]) for row in rows]
            claimed = [leased(t, until) for t in olds]
            bodies = [
                _leased_body(row[0], old, new) for row, old, new in zip(rows, olds, claimed, strict=True)
            ]
            conn.executemany(
                "UPDATE tickets SET version = ?, due_us = ?, body = ? WHERE id = ? AND version = ?",
                [
                    (t.version, until_key, b, t.id, t.version - 1)
                    for t, b in zip(claimed, bodies, strict=True)
                ],
            )
        self._remember(list(zip(bodies, claimed, strict=True)))
        return claimed

    # ------------------------------------------------------------------ reads

    def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
        """The stored ticket (see [`TicketStore.get`][ticketkit.TicketStore.get]).

        Examples:
            >>> import ticketkit as tk
            >>> try:
            ...     tk.SQLiteStore(":memory:").get("nope")
            ... except tk.NotFoundError as err:
            ...     print(err)
            no ticket with id 'nope'
        """
        with self._read() as conn:
            row = conn.execute("SELECT body, tenant FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None or (tenant is not None and row[1] != tenant):
            raise NotFoundError("ticket", ticket_id)
        return self._ticket(row[0])

    def events(self, ticket_id: str, *, tenant: str | None = None) -> list[Event]:
        """The ticket's events in stored order (see [`TicketStore.events`][ticketkit.TicketStore.events]).

        Examples:
            >>> import ticketkit as tk
            >>> try:
            ...     tk.SQLiteStore(":memory:").events("nope")
            ... except tk.NotFoundError as err:
            ...     print(err)
            no ticket with id 'nope'
        """
        with self._read(snapshot=True) as conn:
            row = conn.execute("SELECT tenant FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
            if row is None or (tenant is not None and row[0] != tenant):
                raise NotFoundError("ticket", ticket_id)
            rows = conn.execute(
                "SELECT body FROM events WHERE ticket_id = ? ORDER BY seq", (ticket_id,)
            ).fetchall()
        return [parse_event_json(r[0]) for r in rows]

    def scan(self, *, tenant: str | None = None) -> Iterator[Ticket]:
        """Every ticket (of ``tenant``), read from one snapshot.

        Examples:
            >>> import ticketkit as tk
            >>> list(tk.SQLiteStore(":memory:").scan())
            []
        """
        with self._read() as conn:
            if tenant is None:
                rows = conn.execute("SELECT body FROM tickets").fetchall()
            else:
                rows = conn.execute("SELECT body FROM tickets WHERE tenant = ?", (tenant,)).fetchall()
        return (self._ticket(r[0]) for r in rows)

    @staticmethod
    def _where(query: Query) -> tuple[list[str], list[Any]]:
        # The WHERE clauses of a query; a static hook so a subclass can change them.
        return _where_clauses(query)

    def run_query(self, query: Query) -> Page:
        """Answer a checked query with one indexed SELECT (keyset pagination)."""
        clauses, params = self._where(query)
        key = _KEY_COLUMN[query.order_by]
        direction = "DESC" if query.descending else "ASC"
        if query.after is not None:
            clauses.append(f"({key}, id) {'<' if query.descending else '>'} (?, ?)")
            params.extend(query.after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = f"ORDER BY id {direction}" if key == "0" else f"ORDER BY {key} {direction}, id {direction}"
        sql = f"SELECT body FROM tickets {_index_hint(query)} {where} {order} LIMIT ?"
        with self._read() as conn:
            rows = conn.execute(sql, (*params, query.limit + 1)).fetchall()
        return query.make_page([self._ticket(r[0]) for r in rows])

    def run_count(self, query: Query) -> int:
        """Count for a checked query with one SELECT COUNT(*)."""
        clauses, params = self._where(query)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._read() as conn:
            sql = f"SELECT COUNT(*) FROM tickets {_index_hint(query)} {where}"
            return int(conn.execute(sql, params).fetchone()[0])

    def assigned_counts(
        self,
        agents: Iterable[str],
        *,
        tenant: str | None = None,
        status_kind: Iterable[str] = OPEN_STATUS_KINDS,
    ) -> dict[str, int]:
        """Tickets per agent in the given status kinds, in one statement on the load index.

        See [`TicketStore.assigned_counts`][ticketkit.TicketStore.assigned_counts]. With a ``tenant`` the
        count reads only the (tenant, assignee, status kind) index entries it counts.

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").assigned_counts(["li"], tenant="default")
            {'li': 0}
        """
        names, kinds = check_counts_args(agents, tenant, status_kind)
        out = dict.fromkeys(names, 0)
        if not names or not kinds:
            return out
        sql, params = _counts_sql(names, tenant, kinds)
        with self._read() as conn:
            for agent, n in conn.execute(sql, params):
                out[agent] = n
        return out

    @staticmethod
    def _due_rows(conn: sqlite3.Connection, at_key: int, limit: int, tenant: str | None) -> list[Any]:
        if tenant is None:
            sql = "SELECT body FROM tickets WHERE due_us <= ? ORDER BY due_us, id LIMIT ?"
            return conn.execute(sql, (at_key, limit)).fetchall()
        sql = "SELECT body FROM tickets WHERE tenant = ? AND due_us <= ? ORDER BY due_us, id LIMIT ?"
        return conn.execute(sql, (tenant, at_key, limit)).fetchall()

    def due(self, at: datetime, *, limit: int = 100, tenant: str | None = None) -> list[Ticket]:
        """Tickets with ``next_due_at <= at``, oldest first, from the ``next_due_at`` index.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").due(datetime(2025, 1, 1, tzinfo=timezone.utc))
            []
        """
        check_due_args(at, limit)
        with self._read() as conn:
            rows = self._due_rows(conn, instant_key(at), limit, tenant)
        return [self._ticket(r[0]) for r in rows]

    def export(self, fp: IO[str], *, tenant: str | None = None) -> int:
        """Write everything (of ``tenant``) as JSON Lines from one consistent snapshot.

        Examples:
            >>> import io, ticketkit as tk
            >>> tk.SQLiteStore(":memory:").export(io.StringIO())
            0
        """
        out = ExportWriter(fp)
        out.write(export_header())
        n = 0
        with self._read(snapshot=True) as conn:
            sql = (
                "SELECT id, body FROM tickets"
                + (" WHERE tenant = ?" if tenant is not None else "")
                + " ORDER BY id"
            )
            cursor = conn.execute(sql, () if tenant is None else (tenant,))
            events = conn.cursor()
            for tid, body in cursor:
                bodies = [
                    r[0]
                    for r in events.execute(
                        "SELECT body FROM events WHERE ticket_id = ? ORDER BY seq", (tid,)
                    )
                ]
                out.write('{"ticket":' + body + ',"events":[' + ",".join(bodies) + "]}\n")
                n += 1
        return out.finish(n)

    # ------------------------------------------------------------------ outbox and change feed

    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        """Apply a batch of writes, write ``outbox`` and bind ``message_keys`` in one transaction.

        See `TicketStore.commit`; the keys are checked and bound under the
        transaction's write lock, so racing processes cannot both bind one key.

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").commit([], [])
            []
        """
        messages = check_messages(outbox)
        wanted = mk.validate_key_bindings(message_keys, tenant) if message_keys else {}
        checked = validate_changes(changes)
        prepared = self._prepare(checked)
        rows = [sq.row_of(m) for m in messages]
        if wanted and not self.__dict__.get("_message_keys_ready"):
            with self._write() as conn:  # on its own: a rolled-back commit must not undo the table
                self._message_keys_table(conn)
        with self._write() as conn:
            if wanted:
                mk.sqlite_commit(conn, wanted, tenant)
            _apply(conn, prepared)
            if rows:
                conn.executemany(sq.INSERT, rows)
        self._remember([(p[1][_BODY], p[0]) for p in prepared])
        return [c[0] for c in checked]

    def rewrite(
        self,
        ticket: Ticket,
        events: Sequence[Event],
        *,
        append: Sequence[Event] = (),
        expected_version: int,
    ) -> Ticket:
        """Replace the ticket and its events in place in one transaction (see `TicketStore.rewrite`).

        Overwritten rows are zeroed (``secure_delete``); `compact` then clears the WAL.

        Examples:
            >>> import ticketkit as tk
            >>> hasattr(tk.SQLiteStore(":memory:"), "rewrite")
            True
        """
        validate_rewrite(ticket, events, append, expected_version)
        prepared = self._prepare([(ticket, append, expected_version)])
        bodies = [dump_json(e) for e in events]
        with self._write() as conn:
            rows = conn.execute("SELECT seq, body FROM events WHERE ticket_id = ? ORDER BY seq", (ticket.id,))
            stored = rows.fetchall()
            _apply(conn, prepared)
            check_same_events(ticket.id, [json.loads(body)["id"] for _, body in stored], events)
            conn.executemany(
                "UPDATE events SET body = ? WHERE seq = ?",
                [(body, seq) for body, (seq, _) in zip(bodies, stored, strict=True)],
            )
        self._remember([(p[1][_BODY], p[0]) for p in prepared])
        return ticket

    def purge(
        self, ticket_id: str, *, tenant: str | None = None, expected_version: int | None = None
    ) -> None:
        """Delete the ticket, its tags, events and outbox messages, atomically (see `TicketStore.purge`).

        Examples:
            >>> import ticketkit as tk
            >>> hasattr(tk.SQLiteStore(":memory:"), "purge")
            True
        """
        with self._write() as conn:
            row = conn.execute("SELECT tenant, version FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
            check_purge(ticket_id, None if row is None else (row[0], row[1]), tenant, expected_version)
            conn.execute("DELETE FROM events WHERE ticket_id = ?", (ticket_id,))
            conn.execute("DELETE FROM ticket_tags WHERE ticket_id = ?", (ticket_id,))
            conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,))
            conn.execute(sq.DROP_TICKET, (ticket_id,))

    def compact(self, *, tenant: str | None = None) -> None:
        """Checkpoint and truncate the WAL, ``VACUUM``, truncate the WAL again (see `TicketStore.compact`).

        Afterwards no deleted or overwritten value is left in the database file's free
        pages or in its WAL (deletes run with ``secure_delete`` from the start).

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").compact()
        """
        with self._guard if self._memory else _NULL:
            conn = self._conn()
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.OperationalError as exc:
                raise TicketkitError(f"cannot compact {self._path!r}: {exc}") from None


def _check_path(path: Path) -> None:
    if not path.parent.is_dir():
        raise ValidationError.one(
            "path", f"folder {str(path.parent)!r} does not exist; create it first or choose another path"
        )
    if path.is_dir():
        raise ValidationError.one("path", f"{str(path)!r} is a folder; give the path of a database file")
    if path.is_symlink() and not path.exists():
        raise ValidationError.one(
            "path",
            f"{str(path)!r} is a symbolic link to {os.readlink(path)!r}, which does not exist; "
            "ticketkit does not create a database through a dangling link",
        )
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            head = fh.read(len(_HEADER))
        if head != _HEADER:
            raise ValidationError.one(
                "path",
                f"{str(path)!r} is not an SQLite database; it was left untouched (choose another path)",
            )


def _apply(conn: sqlite3.Connection, prepared: list[_Prepared]) -> None:
    """Write prepared changes inside the caller's transaction; raise before any conflict lands."""
    creates = [p for p in prepared if p[3] is None]
    updates = [p for p in prepared if p[3] is not None]
    old: dict[str, tuple[Any, ...]] = {}
    update_ids = [p[0].id for p in updates]
    for k in range(0, len(update_ids), 500):
        chunk = update_ids[k : k + 500]
        sql = f"SELECT id, {_COLUMNS_BUT_BODY} FROM tickets WHERE id IN ({', '.join('?' * len(chunk))})"
        for row in conn.execute(sql, chunk):
            old[row[0]] = row[1:]
    for ticket, _, _, expected in updates:
        stored = old.get(ticket.id)
        if stored is None:
            raise ConflictError(ticket.id, expected, None)
        if stored[_VERSION] != expected:
            raise ConflictError(ticket.id, expected, stored[_VERSION])
        if stored[_TENANT] != ticket.tenant:
            raise ValidationError.one(
                "ticket.tenant",
                f"ticket {ticket.id!r} belongs to tenant {stored[_TENANT]!r}; "
                f"it cannot move to {ticket.tenant!r}",
            )
    if creates:
        try:
            conn.executemany(_INSERT, [p[1] for p in creates])
        except sqlite3.IntegrityError:
            for ticket, _, _, _ in creates:
                found = conn.execute("SELECT version FROM tickets WHERE id = ?", (ticket.id,)).fetchone()
                if found is not None:
                    raise ConflictError(
                        ticket.id, None, found[0], detail="a ticket with this id exists already"
                    ) from None
            raise
    # Set only the columns that changed, grouped by which ones: SQLite then touches
    # only the indexes on those columns (a status change leaves most of them alone).
    groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    for ticket, row, _, expected in updates:
        before = old[ticket.id]
        changed = (*(i for i in range(_BODY) if row[i] != before[i]), _BODY)
        groups.setdefault(changed, []).append((*(row[i] for i in changed), ticket.id, expected))
    for changed, params in groups.items():
        sets = ", ".join(f"{_COLUMNS[i]} = ?" for i in changed)
        conn.executemany(f"UPDATE tickets SET {sets} WHERE id = ? AND version = ?", params)
    wipe, removed, added = _tag_changes(updates, old)
    if wipe:
        conn.executemany("DELETE FROM ticket_tags WHERE ticket_id = ?", wipe)
    if removed:
        conn.executemany("DELETE FROM ticket_tags WHERE ticket_id = ? AND tag = ?", removed)
    tag_rows = [(t.id, g) for t in (p[0] for p in creates) for g in t.tags] + added
    if tag_rows:
        conn.executemany("INSERT INTO ticket_tags (ticket_id, tag) VALUES (?, ?)", tag_rows)
    event_rows = [row for p in prepared for row in p[2]]
    if event_rows:
        conn.executemany("INSERT INTO events (ticket_id, body) VALUES (?, ?)", event_rows)


def _where_clauses(query: Query) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def any_of(column: str, values: Iterable[Any] | None) -> None:
        if values is None:
            return
        items = sorted(values)
        if not items:
            clauses.append("0")
            return
        clauses.append(f"{column} IN ({', '.join('?' * len(items))})")
        params.extend(items)

    if query.tenant is not None:
        clauses.append("tenant = ?")
        params.append(query.tenant)
    any_of("status", query.status)
    any_of("status_kind", query.status_kind)
    any_of("team", query.team)
    any_of("assignee", query.assignee)
    any_of("customer", query.customer)
    any_of("category", query.category)
    any_of("priority", None if query.priority is None else [p.rank for p in query.priority])
    for tag in sorted(query.tags):
        clauses.append("EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = tickets.id AND g.tag = ?)")
        params.append(tag)
    for column, op, key in query.instant_bounds():
        clauses.append(f"{column} {op} ?")
        params.append(key)
    if query.text is not None:
        clauses.append("instr(subject_fold, ?) > 0")
        params.append(query.text.casefold())
    if query.parent_id is not None:
        clauses.append("parent_id = ?")
        params.append(query.parent_id)
    return clauses, params


def _leased_body(body: str, old: Ticket, new: Ticket) -> str:
    """The stored JSON of a claimed ticket, from the JSON of the due one.

    A lease changes the ticket's two last values, ``sla.next_due_at`` and ``version``
    (the writer puts them last, in field order): when the row ends as the writer
    wrote it, only that tail is replaced, so claiming serializes nothing and a swept
    ticket is serialized once, when its result is saved. Any other row is written
    anew from the leased ticket.
    """
    assert old.sla is not None
    assert new.sla is not None
    old_due = "null" if old.sla.next_due_at is None else '"' + old.sla.next_due_at.isoformat() + '"'
    before = '"next_due_at":' + old_due + '},"version":' + str(old.version) + "}"
    if not body.endswith(before):
        return dump_json(new)
    assert new.sla.next_due_at is not None
    after = '"next_due_at":"' + new.sla.next_due_at.isoformat() + '"},"version":' + str(new.version) + "}"
    return body[: -len(before)] + after


def _index_hint(query: Query) -> str:
    """Pin a customer's queries to the customer indexes.

    Without statistics SQLite prefers an index that gives the order asked for (the
    tenant's tickets by creation) and walks the whole tenant to find one customer's
    few tickets; the customer indexes read only that customer's (open) tickets. The
    hinted index always fits: its leading columns are filtered by equality.
    """
    if query.customer is None:
        return ""
    if query.tenant is None:
        return "INDEXED BY tickets_customer"
    if query.order_by == "updated_at":
        return "INDEXED BY tickets_customer_updated"
    return "INDEXED BY tickets_customer_open"


def _counts_sql(names: list[str], tenant: str | None, kinds: frozenset[str]) -> tuple[str, list[Any]]:
    """The statement of ``assigned_counts`` (tests read its plan)."""
    clauses = [
        f"assignee IN ({', '.join('?' * len(names))})",
        f"status_kind IN ({', '.join('?' * len(kinds))})",
    ]
    params: list[Any] = [*names, *sorted(kinds)]
    if tenant is not None:
        clauses.insert(0, "tenant = ?")
        params.insert(0, tenant)
    return f"SELECT assignee, COUNT(*) FROM tickets WHERE {' AND '.join(clauses)} GROUP BY assignee", params


def _close_all(conns: list[sqlite3.Connection]) -> None:
    while conns:
        conns.pop().close()


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL: Final = _NullContext()
