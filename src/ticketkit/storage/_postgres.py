"""``PostgresStore``: tickets in PostgreSQL, for several processes on several machines.

Needs the optional extra ``ticketkit[postgres]`` (psycopg 3 and its connection
pool); psycopg is imported only when a store is opened, so ``import ticketkit``
stays fast and works without it.

Layout (all tables in one PostgreSQL schema, ``ticketkit`` unless told otherwise):

- ``tickets``: one row per ticket: its full JSON (the ``to_dict`` form, kept as
  text so it reads back exactly) plus the columns queries filter and order on,
  each indexed; ``tags`` as a ``text[]`` and ``fields`` (custom fields) as
  ``jsonb``, both with GIN indexes, for your own SQL as much as for ours.
- ``events``: the ticket's events in the order they were saved (``seq``), each with
  the id of the transaction that wrote it (``xid``).
- ``feed_commits``: the change feed's order: one row per transaction that wrote
  events, numbered (``pos``) in commit order (see `PostgresStore.changes`).
- ``outbox``: notifications waiting to be delivered (and delivered ones), with the
  ticket each one copies.
- ``message_keys``: the keys ``Helpdesk.receive`` threads and dedupes by.
- ``ticketkit_schema``: the migrations applied.

Every write is one transaction, and the common ones are one statement (one round
trip): the version check, the ticket row and its events land together or not at
all. ``claim_due`` locks the due rows with ``SELECT ... FOR UPDATE SKIP LOCKED``,
so workers on any number of machines split the due tickets without waiting for
each other, and moves each claimed ticket's checkpoint to the end of a lease, so
a worker that dies mid-claim loses nothing: the ticket falls due again.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Final

from ticketkit.errors import ConflictError, NotFoundError, TicketkitError, ValidationError
from ticketkit.model._encode import plain
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
    dump_json,
    export_header,
    instant_key,
    leased,
    parse_event_json,
    parse_ticket_json,
    validate_changes,
    validate_create,
    validate_save,
)
from ticketkit.storage._outbox import (
    OutboxMessage,
    check_messages,
)
from ticketkit.storage._postgres_outbox import feed_lock, feed_sql
from ticketkit.storage._postgres_side import PostgresSideTables, nul_free
from ticketkit.storage._rewrite import check_purge, check_same_events, validate_rewrite

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["POSTGRES_SCHEMA_VERSION", "PostgresStore"]

# Forward migrations: _MIGRATIONS[v] takes a schema from version v - 1 to v. Never edit
# a released step; add a new one. "{s}" is the quoted schema name. Text columns use the
# "C" collation: byte order, which for UTF-8 is code point order, the order Python sorts
# ids in (and the order keyset pagination needs), whatever the database's locale.
_MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        """CREATE TABLE {s}.tickets (
            id text COLLATE "C" PRIMARY KEY,
            tenant text COLLATE "C" NOT NULL,
            version bigint NOT NULL,
            status text COLLATE "C" NOT NULL,
            status_kind text COLLATE "C" NOT NULL,
            team text COLLATE "C",
            assignee text COLLATE "C",
            customer text COLLATE "C",
            category text COLLATE "C",
            priority smallint NOT NULL,
            created_us bigint NOT NULL,
            updated_us bigint NOT NULL,
            due_us bigint NOT NULL,
            parent_id text COLLATE "C",
            subject_fold text COLLATE "C" NOT NULL,
            tags text[] COLLATE "C" NOT NULL,
            fields jsonb NOT NULL,
            claimed_by text,
            body text NOT NULL
        )""",
        """CREATE TABLE {s}.events (
            seq bigserial PRIMARY KEY,
            ticket_id text COLLATE "C" NOT NULL REFERENCES {s}.tickets (id) ON DELETE CASCADE,
            body text NOT NULL
        )""",
        "CREATE INDEX events_ticket ON {s}.events (ticket_id, seq)",
        "CREATE INDEX tickets_created ON {s}.tickets (created_us, id)",
        "CREATE INDEX tickets_tenant_created ON {s}.tickets (tenant, created_us, id)",
        "CREATE INDEX tickets_updated ON {s}.tickets (updated_us, id)",
        "CREATE INDEX tickets_tenant_updated ON {s}.tickets (tenant, updated_us, id)",
        "CREATE INDEX tickets_due ON {s}.tickets (due_us, id)",
        "CREATE INDEX tickets_tenant_due ON {s}.tickets (tenant, due_us, id)",
        "CREATE INDEX tickets_priority ON {s}.tickets (priority, id)",
        "CREATE INDEX tickets_tenant_id ON {s}.tickets (tenant, id)",
        "CREATE INDEX tickets_status_kind ON {s}.tickets (status_kind, status)",
        "CREATE INDEX tickets_status ON {s}.tickets (status)",
        "CREATE INDEX tickets_team ON {s}.tickets (team, status_kind)",
        "CREATE INDEX tickets_assignee ON {s}.tickets (assignee, status_kind)",
        "CREATE INDEX tickets_customer ON {s}.tickets (customer, status_kind)",
        "CREATE INDEX tickets_category ON {s}.tickets (category)",
        "CREATE INDEX tickets_parent ON {s}.tickets (parent_id)",
        "CREATE INDEX tickets_tags ON {s}.tickets USING gin (tags)",
        "CREATE INDEX tickets_fields ON {s}.tickets USING gin (fields jsonb_path_ops)",
    ),
    # Step 2 is the optional trigram index (_TRIGRAM_STEP). Step 3: what the desk asks on
    # every intake, each from its own index (the customer's and agent's open tickets only).
    3: (
        "CREATE INDEX IF NOT EXISTS tickets_load ON {s}.tickets (tenant, assignee, status_kind)",
        (
            "CREATE INDEX IF NOT EXISTS tickets_customer_open "
            "ON {s}.tickets (tenant, customer, status_kind, created_us, id)"
        ),
        (
            "CREATE INDEX IF NOT EXISTS tickets_customer_updated "
            "ON {s}.tickets (tenant, customer, updated_us, id)"
        ),
    ),
    # Step 4: the outbox (created outside the numbered steps before, hence IF NOT EXISTS)
    # with each message's ticket, and the commit-ordered change feed (see `PostgresStore.changes`).
    4: (
        *sq.postgres_outbox_ddl("{s}"),
        # Events stored before this step carry xid 0: one "commit" at the head of the feed.
        "ALTER TABLE {s}.events ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL DEFAULT '0'",
        "ALTER TABLE {s}.events ALTER COLUMN xid SET DEFAULT pg_current_xact_id()",
        "CREATE INDEX IF NOT EXISTS events_xid ON {s}.events (xid, seq)",
        """CREATE TABLE IF NOT EXISTS {s}.feed_commits (
            pos bigserial PRIMARY KEY,
            xid xid8 NOT NULL UNIQUE
        )""",
        "INSERT INTO {s}.feed_commits (pos, xid) VALUES (0, '0') ON CONFLICT DO NOTHING",
    ),
    # Step 5: the inbound message keys, desk records (agent presence, the queue-drain
    # lease) and a partial index of the tickets waiting in a team's queue, in hand-out
    # order. IF NOT EXISTS: earlier versions made them on first use, which a role
    # without CREATE rights cannot do.
    5: (
        mk.postgres_table("{s}"),
        rec.postgres_table("{s}"),
        rec.postgres_queue_index("{s}"),
    ),
    # Step 6: the message keys by ticket, so erasure and retention drop a ticket's keys
    # without reading the table.
    6: (mk.postgres_ticket_index("{s}"),),
}
# Optional: a trigram index for the subject text filter, made where the pg_trgm
# extension can be created (it ships with PostgreSQL; the step is skipped, not failed,
# where it is missing or not allowed).
_TRIGRAM_STEP: Final = 2

POSTGRES_SCHEMA_VERSION: Final = 6
"""The schema version this ticketkit writes; older schemas are migrated forward on open."""

_SCHEMA_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

_COLUMNS: Final = (
    "id",
    "tenant",
    "version",
    "status",
    "status_kind",
    "team",
    "assignee",
    "customer",
    "category",
    "priority",
    "created_us",
    "updated_us",
    "due_us",
    "parent_id",
    "subject_fold",
    "tags",
    "fields",
    "body",
)

_KEY_COLUMN: Final = {
    "created_at": "created_us",
    "updated_at": "updated_us",
    "next_due_at": "due_us",
    "priority": "priority",
    "id": "",
}


_text = nul_free


def _no_nul(value: Any) -> Any:
    """``value`` (plain JSON data) with NUL replaced in every string, for ``jsonb``."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    if isinstance(value, dict):
        return {_text(k): _no_nul(v) for k, v in value.items()}
    return value


def _row(ticket: Ticket) -> tuple[Any, ...]:
    """The column values of a ticket row, in the order of ``_COLUMNS``."""
    data = plain(ticket)
    fields_json = json.dumps(data["fields"], ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in fields_json:
        fields_json = json.dumps(_no_nul(data["fields"]), ensure_ascii=False, separators=(",", ":"))
    due = ticket.next_due_at
    return (
        _text(ticket.id),
        _text(ticket.tenant),
        ticket.version,
        _text(ticket.status),
        _text(ticket.status_kind),
        _text(ticket.team),
        _text(ticket.assignee),
        _text(ticket.customer.id) if ticket.customer is not None else None,
        _text(ticket.category),
        ticket.priority.rank,
        instant_key(ticket.created_at),
        instant_key(ticket.updated_at),
        2**62 if due is None else instant_key(due),
        _text(ticket.parent_id),
        _text(ticket.subject.casefold()),
        sorted(_text(t) or "" for t in ticket.tags),
        fields_json,
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
    )


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere (``\\``, ``%`` and ``_`` escaped)."""
    folded = _text(text.casefold()) or ""
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _import_psycopg() -> tuple[Any, Any]:
    """psycopg and psycopg_pool, or an ImportError saying how to install them."""
    try:
        import psycopg  # noqa: PLC0415 - optional extra, loaded on first use
        import psycopg_pool  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the test environment has the extra
        raise ImportError(
            "PostgresStore needs psycopg 3 and its connection pool: "
            "pip install 'ticketkit[postgres]' (or: pip install 'psycopg[binary,pool]')"
        ) from exc
    return psycopg, psycopg_pool


def _safe_dsn(conninfo: str) -> str:
    """The connection string without its password, for error messages."""
    return re.sub(
        r"(password\s*=\s*)\S+|(://[^:/@]*:)[^@]*@",
        lambda m: (m.group(1) or m.group(2)) + "***" + ("@" if m.group(2) else ""),
        conninfo,
    )


# The outbox and change feed live in the base class (`_postgres_outbox`), the SQL of
# message keys and rewrites in their own modules.
class PostgresStore(PostgresSideTables):
    """Tickets in PostgreSQL, shared by many processes and machines.

    ``conninfo`` is a libpq connection string or URL
    (``"postgresql://app@db.internal/helpdesk"``), or a
    ``psycopg_pool.ConnectionPool`` you made (the store then uses it and leaves
    closing it to you). With a string, the store makes its own pool of
    ``min_size`` to ``max_size`` connections and closes it in
    [`close`][ticketkit.storage.PostgresStore.close].

    The tables live in the PostgreSQL schema ``schema`` (created when missing);
    a schema written by an older ticketkit is migrated forward on open, under an
    advisory lock so that workers starting together do not race. A schema from a
    newer ticketkit, or one holding other tables, is refused and left untouched.
    ``migrate=False`` refuses to change the schema at all (for deployments
    that migrate in a separate step; see [`schema_sql`][ticketkit.storage.PostgresStore.schema_sql]). Up to
    ``cache_size`` decoded tickets are kept, keyed by their stored JSON, so
    reading an unchanged ticket again skips decoding (0 turns this off).

    Safe for threads (one pool); each process opens its own store (connections
    must not cross ``fork``). ``claim_due`` uses ``FOR UPDATE SKIP LOCKED``.

    Raises:
        ImportError: psycopg is not installed (``pip install 'ticketkit[postgres]'``).
        ValidationError: a bad schema name, or a schema ticketkit cannot use.
        TicketkitError: the server cannot be reached.

    Examples:
        >>> print(PostgresStore.schema_sql().splitlines()[1])
        CREATE SCHEMA IF NOT EXISTS "ticketkit";

        With a server (``pip install 'ticketkit[postgres]'``)::

            store = PostgresStore("postgresql://app@db.internal/helpdesk")
            desk = tk.Helpdesk(store=store, ...)
    """

    def __init__(
        self,
        conninfo: str | ConnectionPool[Any],
        *,
        schema: str = "ticketkit",
        min_size: int = 1,
        max_size: int = 8,
        timeout: float = 30.0,
        migrate: bool = True,
        cache_size: int = 2048,
    ) -> None:
        problems = []
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            problems.append(
                (
                    "schema",
                    f"expected a PostgreSQL schema name (letters, digits, '_'; at most 63), got {schema!r}",
                )
            )
        if not isinstance(min_size, int) or not isinstance(max_size, int) or not 0 <= min_size <= max_size:
            problems.append(
                ("max_size", f"expected 0 <= min_size <= max_size, got {min_size!r} and {max_size!r}")
            )
        if problems:
            from ticketkit.errors import ErrorDetail  # noqa: PLC0415

            raise ValidationError([ErrorDetail(p, m) for p, m in problems])
        psycopg, psycopg_pool = _import_psycopg()
        self._psycopg = psycopg
        # Tickets decoded from row JSON, keyed by that JSON: equal text is an equal
        # (immutable) ticket, so a hit is right whichever process wrote the row.
        self._cache_size = cache_size
        self._cache: dict[str, Ticket] = {}
        self._cache_lock = threading.Lock()
        self._schema = schema
        self._closed = False
        self._lock = threading.Lock()
        s = f'"{schema}"'
        self._sql = _Statements(s)
        if isinstance(conninfo, psycopg_pool.ConnectionPool):
            self._pool = conninfo
            self._owns_pool = False
            self._place = "the given pool"
            with self._pool.connection() as conn:
                self._open_schema(conn, migrate=migrate)
        elif isinstance(conninfo, str):
            self._place = _safe_dsn(conninfo) or "the default server"
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=max(1, int(timeout))) as conn:
                    self._open_schema(conn, migrate=migrate)
            except psycopg.OperationalError as exc:
                raise TicketkitError(f"cannot connect to PostgreSQL at {self._place!r}: {exc}") from None
            self._pool = psycopg_pool.ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max_size,
                kwargs={"autocommit": True},
                timeout=timeout,
                open=True,
                name=f"ticketkit-{schema}",
            )
            self._owns_pool = True
            # A store dropped without close() (or still open at exit) closes its pool.
            weakref.finalize(self, self._pool.close)
        else:
            raise ValidationError.one(
                "conninfo", f"expected a connection string or a psycopg_pool.ConnectionPool, got {conninfo!r}"
            )

    # ------------------------------------------------------------------ schema

    @staticmethod
    def schema_sql(schema: str = "ticketkit") -> str:
        """The SQL that makes an empty schema at `POSTGRES_SCHEMA_VERSION`, for review or by-hand use.

        The optional trigram index (needs the ``pg_trgm`` extension) is included
        as its own statements at the end.

        Examples:
            >>> sql = PostgresStore.schema_sql("helpdesk")
            >>> "CREATE TABLE \\"helpdesk\\".tickets" in sql, "USING gin (fields jsonb_path_ops)" in sql
            (True, True)
        """
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValidationError.one("schema", f"expected a PostgreSQL schema name, got {schema!r}")
        s = f'"{schema}"'
        lines = ["BEGIN;", f"CREATE SCHEMA IF NOT EXISTS {s};", _schema_table_sql(s) + ";"]
        for version in sorted(_MIGRATIONS):
            lines.extend(stmt.format(s=s) + ";" for stmt in _MIGRATIONS[version])
            lines.append(_record_sql(s, version) + ";")
        lines.append("CREATE EXTENSION IF NOT EXISTS pg_trgm;")
        lines.append(_trigram_sql(s, "public") + ";")
        lines.append(_record_sql(s, _TRIGRAM_STEP) + ";")
        lines.append("COMMIT;")
        return "\n".join(lines) + "\n"

    def _open_schema(self, conn: psycopg.Connection[Any], *, migrate: bool) -> None:
        psycopg = self._psycopg
        try:
            encoding = conn.execute("SHOW server_encoding").fetchone()
            if encoding is None or encoding[0] != "UTF8":
                raise ValidationError.one(
                    "conninfo",
                    f"the database at {self._place!r} uses encoding {encoding and encoding[0]!r}; "
                    "ticketkit needs a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8')",
                )
            current = _schema_version(conn, self._schema)
            if current == POSTGRES_SCHEMA_VERSION:
                return
            if not migrate:
                raise ValidationError.one(
                    "schema",
                    f"schema {self._schema!r} is at version {current}, this ticketkit needs "
                    f"{POSTGRES_SCHEMA_VERSION}; open with migrate=True or apply PostgresStore.schema_sql()",
                )
            with conn.transaction():
                # One opener migrates; the others wait here, then find the work done.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ticketkit:{self._schema}",))
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
                current = _schema_version(conn, self._schema)
                s = f'"{self._schema}"'
                conn.execute(_schema_table_sql(s))
                for version in range(current + 1, POSTGRES_SCHEMA_VERSION + 1):
                    if version == _TRIGRAM_STEP:
                        _try_trigram(self._psycopg, conn, s)
                    else:
                        for statement in _MIGRATIONS[version]:
                            conn.execute(statement.format(s=s))
                    conn.execute(_record_sql(s, version))
        except psycopg.Error as exc:
            raise ValidationError.one(
                "schema", f"cannot use schema {self._schema!r} at {self._place!r} as a ticket store: {exc}"
            ) from None

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding this store's tables."""
        return self._schema

    @property
    def schema_version(self) -> int:
        """The version of the open schema (`POSTGRES_SCHEMA_VERSION` once migrated)."""
        with self._conn() as conn:
            return _schema_version(conn, self._schema)

    @property
    def has_trigram_index(self) -> bool:
        """True when the subject text filter has a trigram index (pg_trgm was available)."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = 'tickets_subject_trgm'",
                (self._schema,),
            ).fetchone()
        return row is not None

    def _ticket(self, body: str) -> Ticket:
        ticket = self._cache.get(body)
        if ticket is None:
            ticket = parse_ticket_json(body)
            if self._cache_size > 0:
                with self._cache_lock:
                    if len(self._cache) >= self._cache_size:
                        del self._cache[next(iter(self._cache))]
                    self._cache[body] = ticket
        return ticket

    # ------------------------------------------------------------------ connections

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise StoreClosedError(f"the PostgresStore on {self._place!r} is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.OperationalError as exc:  # the server or the network, pool timeouts too
            raise TicketkitError(
                f"PostgreSQL at {self._place!r} failed: {exc}; nothing of this call was written "
                "unless the server committed it before the failure"
            ) from exc

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"PostgresStore({self._place!r}, schema={self._schema!r}) [{state}]"

    def close(self) -> None:
        """Close the connection pool (when the store made it); later use raises an error."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._owns_pool:
            self._pool.close()

    # ------------------------------------------------------------------ writes

    @staticmethod
    def _create_params(ticket: Ticket, events: Sequence[Event]) -> tuple[Any, ...]:
        return (*_row(ticket), [dump_json(e) for e in events])

    @staticmethod
    def _update_params(
        ticket: Ticket, events: Sequence[Event], expected: int, worker: str | None = None
    ) -> tuple[Any, ...]:
        row = _row(ticket)
        return (*row[1:], worker, row[0], expected, row[1], [dump_json(e) for e in events])

    def _create_failed(self, conn: psycopg.Connection[Any], ticket: Ticket) -> ConflictError:
        old = conn.execute(self._sql.version_of, (_text(ticket.id),)).fetchone()
        return ConflictError(
            ticket.id, None, old[0] if old else None, detail="a ticket with this id exists already"
        )

    def _update_failed(self, conn: psycopg.Connection[Any], ticket: Ticket, expected: int) -> TicketkitError:
        old = conn.execute(self._sql.version_of, (_text(ticket.id),)).fetchone()
        if old is None:
            return ConflictError(ticket.id, expected, None)
        if old[0] != expected:
            return ConflictError(ticket.id, expected, old[0])
        return ValidationError.one(
            "ticket.tenant",
            f"ticket {ticket.id!r} belongs to tenant {old[1]!r}; it cannot move to {ticket.tenant!r}",
        )

    def _insert(self, conn: psycopg.Connection[Any], ticket: Ticket, events: Sequence[Event]) -> None:
        got = conn.execute(self._sql.create, self._create_params(ticket, events)).fetchone()
        if got is None or got[0] != 1:
            raise self._create_failed(conn, ticket)

    def _update(
        self, conn: psycopg.Connection[Any], ticket: Ticket, events: Sequence[Event], expected: int
    ) -> None:
        got = conn.execute(self._sql.update, self._update_params(ticket, events, expected)).fetchone()
        if got is None or got[0] != 1:
            raise self._update_failed(conn, ticket, expected)

    @staticmethod
    def _failures(conn: psycopg.Connection[Any], sql: str, params: list[tuple[Any, ...]]) -> list[int]:
        """Run ``sql`` for every parameter set in one pipeline; the positions that wrote no row."""
        cur = conn.cursor()
        cur.executemany(sql, params, returning=True)
        failed = []
        i = 0
        while True:
            row = cur.fetchone()
            if row is None or row[0] != 1:
                failed.append(i)
            i += 1
            if not cur.nextset():
                break
        return failed

    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        """Store a new ticket and its first events in one statement (see `TicketStore.create`)."""
        validate_create(ticket, events)
        with self._conn() as conn:
            got = conn.execute(
                self._sql.create_fed, (*self._create_params(ticket, events), self._sql.feed_lock)
            )
            if got.fetchone() != (1,):
                raise self._create_failed(conn, ticket)
        return ticket

    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        """Save a new version and its events in one statement, if the stored version is ``expected_version``.

        See [`TicketStore.save`][ticketkit.TicketStore.save].
        """
        validate_save(ticket, events, expected_version)
        with self._conn() as conn:
            params = (*self._update_params(ticket, events, expected_version), self._sql.feed_lock)
            if conn.execute(self._sql.update_fed, params).fetchone() != (1,):
                raise self._update_failed(conn, ticket, expected_version)
        return ticket

    def save_many(self, changes: Iterable[Change]) -> list[Ticket]:
        """Apply a batch of writes in one transaction: all or nothing (see `TicketStore.save_many`)."""
        checked = validate_changes(changes)
        if not checked:
            return []
        creates = [(t, e) for t, e, x in checked if x is None]
        updates = [(t, e, x) for t, e, x in checked if x is not None]
        with self._conn() as conn, conn.transaction():
            if creates:
                params = [self._create_params(t, e) for t, e in creates]
                failed = self._failures(conn, self._sql.create, params)
                if failed:
                    raise self._create_failed(conn, creates[failed[0]][0])
            if updates:
                params = [self._update_params(t, e, x) for t, e, x in updates]
                failed = self._failures(conn, self._sql.update, params)
                if failed:
                    ticket, _, expected = updates[failed[0]]
                    raise self._update_failed(conn, ticket, expected)
            if any(e for _, e, _ in checked):
                self._feed_tail(conn)
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
        """Claim due tickets with ``FOR UPDATE SKIP LOCKED`` (see `TicketStore.claim_due`).

        Workers claiming at the same moment never wait for each other and never
        get the same ticket: each locks a different set of due rows. The claimed
        rows record ``claimed_by = worker`` until the next save.
        """
        _check_claim_args(at, worker, lease, limit)
        until = at + lease
        with self._conn() as conn, conn.transaction():
            if tenant is None:
                rows = conn.execute(self._sql.claim, (instant_key(at), limit)).fetchall()
            else:
                rows = conn.execute(
                    self._sql.claim_tenant, (_text(tenant), instant_key(at), limit)
                ).fetchall()
            olds = [self._ticket(body) for (body,) in rows]
            claimed = [leased(t, until) for t in olds]
            if claimed:
                params = [self._update_params(t, (), t.version - 1, worker) for t in claimed]
                failed = self._failures(conn, self._sql.update, params)
                if failed:  # pragma: no cover - the rows are locked by this transaction
                    raise self._update_failed(conn, claimed[failed[0]], claimed[failed[0]].version - 1)
        return claimed

    # ------------------------------------------------------------------ reads

    def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
        """The stored ticket (see [`TicketStore.get`][ticketkit.TicketStore.get])."""
        if not isinstance(ticket_id, str):
            raise NotFoundError("ticket", ticket_id)
        with self._conn() as conn:
            row = conn.execute(self._sql.get, (_text(ticket_id),)).fetchone()
        if row is None or (tenant is not None and row[1] != _text(tenant)):
            raise NotFoundError("ticket", ticket_id)
        return self._ticket(row[0])

    def events(self, ticket_id: str, *, tenant: str | None = None) -> list[Event]:
        """The ticket's events in stored order, read in one statement (see `TicketStore.events`)."""
        if not isinstance(ticket_id, str):
            raise NotFoundError("ticket", ticket_id)
        with self._conn() as conn:
            rows = conn.execute(self._sql.events, (_text(ticket_id),)).fetchall()
        if not rows or (tenant is not None and rows[0][0] != _text(tenant)):
            raise NotFoundError("ticket", ticket_id)
        return [parse_event_json(r[1]) for r in rows if r[1] is not None]

    def scan(self, *, tenant: str | None = None) -> Iterator[Ticket]:
        """Every ticket (of ``tenant``), read in one statement."""
        with self._conn() as conn:
            if tenant is None:
                rows = conn.execute(self._sql.scan).fetchall()
            else:
                rows = conn.execute(self._sql.scan_tenant, (_text(tenant),)).fetchall()
        return (self._ticket(r[0]) for r in rows)

    @staticmethod
    def _where(query: Query) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []

        def any_of(column: str, values: Iterable[str] | None) -> None:
            if values is not None:
                clauses.append(f"{column} = ANY(%s::text[])")
                params.append(sorted(_text(v) or "" for v in values))

        if query.tenant is not None:
            clauses.append("tenant = %s")
            params.append(_text(query.tenant))
        any_of("status", query.status)
        any_of("status_kind", query.status_kind)
        any_of("team", query.team)
        any_of("assignee", query.assignee)
        any_of("customer", query.customer)
        any_of("category", query.category)
        if query.priority is not None:
            clauses.append("priority = ANY(%s::smallint[])")
            params.append(sorted(p.rank for p in query.priority))
        if query.tags:
            clauses.append("tags @> %s::text[]")
            params.append(sorted(_text(t) or "" for t in query.tags))
        for column, op, key in query.instant_bounds():
            clauses.append(f"{column} {op} %s")
            params.append(key)
        if query.text is not None:
            clauses.append("subject_fold LIKE %s")
            params.append(_like_pattern(query.text))
        if query.parent_id is not None:
            clauses.append("parent_id = %s")
            params.append(_text(query.parent_id))
        return clauses, params

    def run_query(self, query: Query) -> Page:
        """Answer a checked query with one indexed SELECT (keyset pagination on (key, id))."""
        sql, params = self._query_sql(query)
        with self._conn() as conn:
            rows = conn.execute(sql, params).fetchall()
        return query.make_page([self._ticket(r[0]) for r in rows])

    def _query_sql(self, query: Query) -> tuple[str, list[Any]]:
        clauses, params = self._where(query)
        key = _KEY_COLUMN[query.order_by]
        direction = "DESC" if query.descending else "ASC"
        cmp = "<" if query.descending else ">"
        if query.after is not None:
            if key:
                clauses.append(f"({key}, id) {cmp} (%s, %s)")
                params.extend(query.after)
            else:
                clauses.append(f"id {cmp} %s")
                params.append(query.after[1])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = f"ORDER BY {key} {direction}, id {direction}" if key else f"ORDER BY id {direction}"
        params.append(query.limit + 1)
        return f"SELECT body FROM {self._sql.s}.tickets {where} {order} LIMIT %s", params

    def run_count(self, query: Query) -> int:
        """Count for a checked query with one SELECT count(*)."""
        sql, params = self._count_sql(query)
        with self._conn() as conn:
            row = conn.execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    def _count_sql(self, query: Query) -> tuple[str, list[Any]]:
        clauses, params = self._where(query)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return f"SELECT count(*) FROM {self._sql.s}.tickets {where}", params

    def assigned_counts(
        self,
        agents: Iterable[str],
        *,
        tenant: str | None = None,
        status_kind: Iterable[str] = OPEN_STATUS_KINDS,
    ) -> dict[str, int]:
        """Tickets per agent in the given status kinds, in one statement on the load index.

        See [`TicketStore.assigned_counts`][ticketkit.TicketStore.assigned_counts].
        """
        names, kinds = check_counts_args(agents, tenant, status_kind)
        out = dict.fromkeys(names, 0)
        if not names or not kinds:
            return out
        sql, params = self._counts_sql(names, tenant, kinds)
        back = {_text(a): a for a in names}  # NUL is stored as U+FFFD
        with self._conn() as conn:
            for agent, n in conn.execute(sql, params).fetchall():
                out[back.get(agent, agent)] = int(n)
        return out

    def _counts_sql(
        self, names: list[str], tenant: str | None, kinds: frozenset[str]
    ) -> tuple[str, list[Any]]:
        clauses = ["assignee = ANY(%s::text[])", "status_kind = ANY(%s::text[])"]
        params: list[Any] = [[_text(a) or "" for a in names], sorted(_text(k) or "" for k in kinds)]
        if tenant is not None:
            clauses.insert(0, "tenant = %s")
            params.insert(0, _text(tenant))
        where = " AND ".join(clauses)
        return f"SELECT assignee, count(*) FROM {self._sql.s}.tickets WHERE {where} GROUP BY assignee", params

    def due(self, at: datetime, *, limit: int = 100, tenant: str | None = None) -> list[Ticket]:
        """Tickets with ``next_due_at <= at``, oldest first, from the ``due_us`` index."""
        check_due_args(at, limit)
        with self._conn() as conn:
            if tenant is None:
                rows = conn.execute(self._sql.due, (instant_key(at), limit)).fetchall()
            else:
                rows = conn.execute(self._sql.due_tenant, (_text(tenant), instant_key(at), limit)).fetchall()
        return [self._ticket(r[0]) for r in rows]

    def export(self, fp: IO[str], *, tenant: str | None = None) -> int:
        """Write everything (of ``tenant``) as JSON Lines from one snapshot, streamed."""
        out = ExportWriter(fp)
        out.write(export_header())
        n = 0
        with self._conn() as conn, conn.transaction():
            cur = conn.cursor(name="ticketkit_export")
            cur.itersize = 200
            if tenant is None:
                cur.execute(self._sql.export)
            else:
                cur.execute(self._sql.export_tenant, (_text(tenant),))
            for body, events in cur:
                out.write('{"ticket":' + body + ',"events":[' + events + "]}\n")
                n += 1
            cur.close()
        return out.finish(n)

    # ------------------------------------------------------------------ outbox

    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        """Apply a batch of writes, write ``outbox`` and bind ``message_keys`` in one transaction.

        See `TicketStore.commit`. The keys go first: a racing commit of the same
        key waits on the table's primary key, then finds the winner's ticket.
        """
        messages = check_messages(outbox)
        wanted = mk.validate_key_bindings(message_keys, tenant) if message_keys else {}
        checked = validate_changes(changes)
        creates = [(t, e) for t, e, x in checked if x is None]
        updates = [(t, e, x) for t, e, x in checked if x is not None]
        if wanted and not self.__dict__.get("_message_keys_ready"):
            with self._conn() as conn:  # on its own: a rolled-back commit must not undo the table
                self._message_keys_table(conn)
        with self._conn() as conn, conn.transaction():
            if wanted:
                self._bind_in_commit(conn, wanted, tenant)
            if creates:
                params = [self._create_params(t, e) for t, e in creates]
                failed = self._failures(conn, self._sql.create, params)
                if failed:
                    raise self._create_failed(conn, creates[failed[0]][0])
            if updates:
                params = [self._update_params(t, e, x) for t, e, x in updates]
                failed = self._failures(conn, self._sql.update, params)
                if failed:
                    ticket, _, expected = updates[failed[0]]
                    raise self._update_failed(conn, ticket, expected)
            if messages:
                conn.cursor().executemany(self._q(sq.INSERT), [sq.row_of(m) for m in messages])
            if any(e for _, e, _ in checked):
                self._feed_tail(conn)  # keep it the transaction's last statement
        return [c[0] for c in checked]

    def _bind_in_commit(self, conn: psycopg.Connection[Any], wanted: Mapping[str, str], tenant: str) -> None:
        insert, read = mk.postgres_commit(f'"{self._schema}"')
        keys = [_text(k) for k in wanted]
        rows = conn.execute(insert, (_text(tenant), keys, [_text(t) for t in wanted.values()])).fetchall()
        if len(rows) == len(keys):
            return
        inserted = {str(r[0]) for r in rows}
        found = {str(k): str(t) for k, t in conn.execute(read, (_text(tenant), keys)).fetchall()}
        mk.check_bindings({k: t for k, t in wanted.items() if k not in inserted}, tenant, found.get)

    def rewrite(
        self,
        ticket: Ticket,
        events: Sequence[Event],
        *,
        append: Sequence[Event] = (),
        expected_version: int,
    ) -> Ticket:
        """Replace the ticket and its events in place in one transaction (see `TicketStore.rewrite`).

        The old row versions stay in the table files until ``VACUUM`` (see the personal-data how-to).
        """
        validate_rewrite(ticket, events, append, expected_version)
        s = self._sql.s
        with self._conn() as conn, conn.transaction():
            stored = conn.execute(
                f"SELECT seq, body FROM {s}.events WHERE ticket_id = %s ORDER BY seq FOR UPDATE",
                (_text(ticket.id),),
            ).fetchall()
            self._update(conn, ticket, append, expected_version)
            check_same_events(ticket.id, [json.loads(body)["id"] for _, body in stored], events)
            if stored:
                conn.cursor().executemany(
                    f"UPDATE {s}.events SET body = %s WHERE seq = %s",
                    [(dump_json(e), seq) for e, (seq, _) in zip(events, stored, strict=True)],
                )
            if append:
                self._feed_tail(conn)
        return ticket

    def purge(
        self, ticket_id: str, *, tenant: str | None = None, expected_version: int | None = None
    ) -> None:
        """Delete the ticket and (by cascade) its events in one transaction (see `TicketStore.purge`).

        The deleted rows stay in the table files until ``VACUUM`` (see the personal-data how-to).
        """
        if not isinstance(ticket_id, str):
            raise NotFoundError("ticket", ticket_id)
        s = self._sql.s
        with self._conn() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT tenant, version FROM {s}.tickets WHERE id = %s FOR UPDATE", (_text(ticket_id),)
            ).fetchone()
            check_purge(ticket_id, None if row is None else (row[0], row[1]), _text(tenant), expected_version)
            conn.execute(f"DELETE FROM {s}.tickets WHERE id = %s", (_text(ticket_id),))
            conn.execute(self._q(sq.DROP_TICKET), (_text(ticket_id),))


def _schema_version(conn: psycopg.Connection[Any], schema: str) -> int:
    """The schema's version; 0 for a missing or empty schema; refuses foreign or newer ones."""
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
    }
    if not tables:
        return 0
    if "ticketkit_schema" not in tables:
        raise ValidationError.one(
            "schema",
            f"schema {schema!r} holds tables of something else ({', '.join(sorted(tables))}); "
            "ticketkit leaves it untouched (choose another schema=)",
        )
    row = conn.execute(f'SELECT COALESCE(MAX(version), 0) FROM "{schema}".ticketkit_schema').fetchone()
    current = int(row[0]) if row else 0
    if current > POSTGRES_SCHEMA_VERSION:
        raise ValidationError.one(
            "schema",
            f"schema {schema!r} has version {current}, newer than this ticketkit understands "
            f"({POSTGRES_SCHEMA_VERSION}); upgrade ticketkit. It was left untouched",
        )
    return current


def _try_trigram(pg: Any, conn: psycopg.Connection[Any], s: str) -> None:
    """Add the trigram index on the subject if pg_trgm can be had; skip it otherwise."""
    try:
        with conn.transaction():  # a savepoint: a refusal must not abort the migration
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            row = conn.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_trgm'"
            ).fetchone()
            assert row is not None
            conn.execute(_trigram_sql(s, row[0]))
    except pg.Error:
        pass


def _schema_table_sql(s: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {s}.ticketkit_schema "
        "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), "
        "applied_by text NOT NULL)"
    )


def _record_sql(s: str, version: int) -> str:
    return f"INSERT INTO {s}.ticketkit_schema (version, applied_by) VALUES ({version}, 'ticketkit')"


def _trigram_sql(s: str, ext_schema: str) -> str:
    return (
        f"CREATE INDEX tickets_subject_trgm ON {s}.tickets "
        f'USING gin (subject_fold "{ext_schema}".gin_trgm_ops)'
    )


class _Statements:
    """The SQL of one store, with its schema name filled in (built once)."""

    def __init__(self, s: str) -> None:
        self.s = s
        cols = ", ".join(_COLUMNS)
        values = ", ".join("%s::jsonb" if c == "fields" else "%s" for c in _COLUMNS)
        events_of = (
            f"INSERT INTO {s}.events (ticket_id, body) "
            "SELECT w.id, u.b FROM w CROSS JOIN unnest(%s::text[]) WITH ORDINALITY AS u(b, n) ORDER BY u.n"
        )
        self.create = (
            f"WITH w AS (INSERT INTO {s}.tickets ({cols}) VALUES ({values}) "
            "ON CONFLICT (id) DO NOTHING RETURNING id), "
            f"e AS ({events_of}) SELECT count(*) FROM w"
        )
        sets = ", ".join(f"{c} = %s::jsonb" if c == "fields" else f"{c} = %s" for c in _COLUMNS[1:])
        self.update = (
            f"WITH w AS (UPDATE {s}.tickets SET {sets}, claimed_by = %s "
            "WHERE id = %s AND version = %s AND tenant = %s RETURNING id), "
            f"e AS ({events_of}) SELECT count(*) FROM w"
        )
        # A lone create or save numbers itself in the change feed in the same statement
        # (one round trip): the lock is taken once its events are written (the LATERAL
        # depends on their count, so the ticket row is locked already), before the
        # position is drawn, and held to the statement's commit. Nothing written: no lock.
        fed = (
            f"e AS ({events_of} RETURNING 1), f AS (INSERT INTO {s}.feed_commits (xid) "
            "SELECT pg_current_xact_id() FROM (SELECT count(*) AS n FROM e) AS d "
            "CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(hashtext(%s)) WHERE d.n > 0) AS l "
            "ON CONFLICT (xid) DO NOTHING) SELECT count(*) FROM w"
        )
        self.create_fed = self.create.split("e AS (")[0] + fed
        self.update_fed = self.update.split("e AS (")[0] + fed
        self.version_of = f"SELECT version, tenant FROM {s}.tickets WHERE id = %s"
        self.get = f"SELECT body, tenant FROM {s}.tickets WHERE id = %s"
        self.events = (
            f"SELECT t.tenant, e.body FROM {s}.tickets t LEFT JOIN {s}.events e ON e.ticket_id = t.id "
            "WHERE t.id = %s ORDER BY e.seq"
        )
        self.scan = f"SELECT body FROM {s}.tickets"
        self.scan_tenant = f"SELECT body FROM {s}.tickets WHERE tenant = %s"
        self.due = f"SELECT body FROM {s}.tickets WHERE due_us <= %s ORDER BY due_us, id LIMIT %s"
        self.due_tenant = (
            f"SELECT body FROM {s}.tickets WHERE tenant = %s AND due_us <= %s ORDER BY due_us, id LIMIT %s"
        )
        self.claim = self.due + " FOR UPDATE SKIP LOCKED"
        self.claim_tenant = self.due_tenant + " FOR UPDATE SKIP LOCKED"
        agg = (
            f"COALESCE((SELECT string_agg(e.body, ',' ORDER BY e.seq) FROM {s}.events e "
            "WHERE e.ticket_id = t.id), '')"
        )
        self.export = f"SELECT t.body, {agg} FROM {s}.tickets t ORDER BY t.id"
        self.export_tenant = f"SELECT t.body, {agg} FROM {s}.tickets t WHERE t.tenant = %s ORDER BY t.id"
        self.feed_lock = feed_lock(s)
        self.feed = feed_sql(s)
