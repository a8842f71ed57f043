"""The outbox and change feed in SQL: tables, rows and statements shared by SQLite and PostgreSQL.

Each statement is written once with ``?`` placeholders; `ph` turns them into
``%s`` for PostgreSQL. Both stores run them inside their own transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ticketkit.storage._outbox import OutboxMessage

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# Added in the outbox round, outside the numbered migrations: created IF NOT EXISTS
# on every open, so older files and schemas gain them without a version bump.
SQLITE_OUTBOX_DDL: Final = (
    """CREATE TABLE IF NOT EXISTS outbox (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        error TEXT,
        created_us INTEGER NOT NULL,
        available_us INTEGER NOT NULL,
        ticket_id TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, available_us, id)",
)

# The ticket of each message (erasure and purges find its copies by it); tables made
# before it existed gain the column on open.
SQLITE_TICKET_COLUMN: Final = "ALTER TABLE outbox ADD COLUMN ticket_id TEXT"
SQLITE_TICKET_INDEX: Final = "CREATE INDEX IF NOT EXISTS outbox_ticket ON outbox (ticket_id)"


def postgres_outbox_ddl(s: str) -> tuple[str, ...]:
    """The PostgreSQL outbox table in schema ``s`` (quoted already)."""
    return (
        f"""CREATE TABLE IF NOT EXISTS {s}.outbox (
            id text PRIMARY KEY,
            tenant text NOT NULL,
            payload text NOT NULL,
            status text NOT NULL,
            attempts integer NOT NULL,
            error text,
            created_us bigint NOT NULL,
            available_us bigint NOT NULL,
            ticket_id text COLLATE "C"
        )""",
        f'ALTER TABLE {s}.outbox ADD COLUMN IF NOT EXISTS ticket_id text COLLATE "C"',
        f"CREATE INDEX IF NOT EXISTS outbox_pending ON {s}.outbox (status, available_us, id)",
        f"CREATE INDEX IF NOT EXISTS outbox_ticket ON {s}.outbox (ticket_id)",
    )


def key_of(at: datetime) -> int:
    """Microseconds since the epoch."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def at_of(key: int) -> datetime:
    """The UTC instant of a microsecond key."""
    return _EPOCH + timedelta(microseconds=key)


COLUMNS: Final = "id, tenant, payload, status, attempts, error, created_us, available_us, ticket_id"
INSERT: Final = (
    f"INSERT INTO outbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
PENDING_IDS: Final = (
    "SELECT id FROM outbox WHERE status = 'pending' AND available_us <= ? ORDER BY available_us, id LIMIT ?"
)
LEASE: Final = "UPDATE outbox SET available_us = ? WHERE id = ? AND status = 'pending'"
SENT: Final = "UPDATE outbox SET status = 'sent' WHERE id = ?"
SENT_MANY: Final = "UPDATE outbox SET status = 'sent' WHERE id = ANY(?) AND status <> 'sent'"
FAILED: Final = (
    "UPDATE outbox SET attempts = attempts + 1, error = ?, status = ?, "
    "available_us = COALESCE(?, available_us) WHERE id = ? AND status = 'pending'"
)
LIST_ALL: Final = f"SELECT {COLUMNS} FROM outbox ORDER BY created_us, id LIMIT ?"
LIST: Final = f"SELECT {COLUMNS} FROM outbox WHERE status = ? ORDER BY created_us, id LIMIT ?"
REQUEUE: Final = (
    "UPDATE outbox SET status = 'pending', attempts = 0, available_us = ? WHERE id = ? AND status <> 'sent'"
)
NEXT: Final = "SELECT MIN(available_us) FROM outbox WHERE status = 'pending'"
DROP_TICKET: Final = "DELETE FROM outbox WHERE ticket_id = ?"


def listing(status: str | None, limit: int) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters listing the messages in ``status`` (all when None)."""
    return (LIST_ALL, (limit,)) if status is None else (LIST, (status, limit))


def sqlite_claim(conn: Any, at_key: int, until_key: int, limit: int) -> list[OutboxMessage]:
    """Lease pending messages inside the caller's SQLite write transaction."""
    ids = [r[0] for r in conn.execute(PENDING_IDS, (at_key, limit))]
    conn.executemany(LEASE, [(until_key, i) for i in ids])
    rows = [conn.execute(f"SELECT {COLUMNS} FROM outbox WHERE id = ?", (i,)).fetchone() for i in ids]
    return [message_of(r) for r in rows]


def ph(sql: str, schema: str | None = None) -> str:
    """``sql`` for PostgreSQL: ``%s`` placeholders, tables in ``schema``."""
    out = sql.replace("?", "%s")
    if schema is not None:
        out = out.replace("outbox", f"{schema}.outbox").replace(f"{schema}.outbox_pending", "outbox_pending")
    return out


def row_of(m: OutboxMessage) -> tuple[Any, ...]:
    """The column values of an outbox message, in `COLUMNS` order."""
    return (
        m.id,
        m.tenant,
        m.payload,
        m.status,
        m.attempts,
        m.error,
        key_of(m.created_at),
        key_of(m.available_at),
        m.ticket_id,
    )


def message_of(row: Sequence[Any]) -> OutboxMessage:
    """An outbox message from a row in `COLUMNS` order."""
    return OutboxMessage(
        id=row[0],
        tenant=row[1],
        payload=row[2],
        status=row[3],
        attempts=row[4],
        error=row[5],
        created_at=at_of(row[6]),
        available_at=at_of(row[7]),
        ticket_id=row[8],
    )
