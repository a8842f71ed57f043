"""The outbox and change-feed primitives of ``SQLiteStore``, in a class of their own.

`SQLiteStore` derives from `SQLiteOutbox`, which keeps the class under the size limit;
`commit` (tickets and messages in one transaction) stays with the store's writes.
"""

from __future__ import annotations

import abc
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from ticketkit.storage import _sql_outbox as sq
from ticketkit.storage._base import TicketStore, parse_event_json
from ticketkit.storage._outbox import (
    FeedPage,
    OutboxMessage,
    check_at,
    check_claim,
    check_feed_limit,
    check_status,
    check_ticket_id,
    encode_cursor,
    int_cursor,
)

__all__: list[str] = []  # internal: SQLiteStore derives from it, users never do


class SQLiteOutbox(TicketStore):
    """Outbox rows and the change feed in the SQLite file: `SQLiteStore`'s base."""

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on leaving."""

    @abc.abstractmethod
    def _read(self, *, snapshot: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        """A connection to read on (in one snapshot when asked)."""

    def claim_outbox(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100
    ) -> list[OutboxMessage]:
        """Lease pending messages in one write transaction (see `TicketStore.claim_outbox`).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> tk.SQLiteStore(":memory:").claim_outbox(at, worker="w", lease=timedelta(minutes=1))
            []
        """
        check_claim(at, worker, lease, limit)
        with self._write() as conn:
            return sq.sqlite_claim(conn, sq.key_of(at), sq.key_of(at + lease), limit)

    def mark_sent(self, ids: Iterable[str]) -> None:
        """Mark messages delivered (see `TicketStore.mark_sent`).

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").mark_sent(["n-1"])
        """
        rows = [(i,) for i in ids]
        if rows:
            with self._write() as conn:
                conn.executemany(sq.SENT, rows)

    def mark_failed(self, message_id: str, *, error: str, retry_at: datetime | None) -> None:
        """Count a failed send (see `TicketStore.mark_failed`).

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").mark_failed("n-1", error="timeout", retry_at=None)
        """
        if retry_at is not None:
            check_at(retry_at, "retry_at")
        status = "dead" if retry_at is None else "pending"
        key = None if retry_at is None else sq.key_of(retry_at)
        with self._write() as conn:
            conn.execute(sq.FAILED, (error, status, key, message_id))

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """The outbox messages in ``status`` (see `TicketStore.outbox`).

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").outbox()
            []
        """
        check_status(status)
        check_feed_limit(limit)
        with self._read() as conn:
            rows = conn.execute(*sq.listing(status, limit)).fetchall()
        return [sq.message_of(r) for r in rows]

    def requeue(self, ids: Iterable[str], *, at: datetime) -> int:
        """Make dead or failing messages pending again (see `TicketStore.requeue`).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").requeue(["n-1"], at=datetime(2025, 3, 3, tzinfo=timezone.utc))
            0
        """
        check_at(at)
        key = sq.key_of(at)
        n = 0
        with self._write() as conn:
            for i in ids:
                n += conn.execute(sq.REQUEUE, (key, i)).rowcount
        return n

    def next_outbox_at(self) -> datetime | None:
        """When the earliest pending message becomes available (see `TicketStore.next_outbox_at`).

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").next_outbox_at() is None
            True
        """
        with self._read() as conn:
            row = conn.execute(sq.NEXT).fetchone()
        return None if row[0] is None else sq.at_of(row[0])

    def drop_outbox(self, ticket_id: str) -> int:
        """Delete the ticket's outbox messages by the ``ticket_id`` index (see `TicketStore.drop_outbox`).

        Examples:
            >>> import ticketkit as tk
            >>> tk.SQLiteStore(":memory:").drop_outbox("T1")
            0
        """
        check_ticket_id(ticket_id)
        with self._write() as conn:
            return int(conn.execute(sq.DROP_TICKET, (ticket_id,)).rowcount)

    def changes(self, after: str | None = None, *, limit: int = 1000) -> FeedPage:
        """Committed events after ``after`` in commit order (see `TicketStore.changes`).

        SQLite has one writer at a time and numbers event rows inside the write
        transaction, so row order is commit order: the cursor is the last row seen.

        Examples:
            >>> import ticketkit as tk
            >>> len(tk.SQLiteStore(":memory:").changes())
            0
        """
        check_feed_limit(limit)
        last = int_cursor(after, "sqlite")
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (last, limit)
            ).fetchall()
        if rows:
            last = rows[-1][0]
        return FeedPage(
            events=tuple(parse_event_json(r[1]) for r in rows), cursor=encode_cursor("sqlite", last)
        )
