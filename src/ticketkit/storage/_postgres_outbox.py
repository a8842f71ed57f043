"""The outbox and change-feed primitives of ``PostgresStore``, in a class of their own.

`PostgresStore` derives from `PostgresOutbox`, which keeps the class under the size
limit; `commit` (tickets and messages in one transaction) stays with the store's
writes. The feed's statements are here too: the store's single-statement writes
number themselves in the feed with `feed_lock`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

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
    pair_cursor,
)

if TYPE_CHECKING:
    import psycopg

__all__: list[str] = []  # internal: PostgresStore derives from it, users never do


def feed_lock(s: str) -> str:
    """The text whose ``hashtext`` is the advisory lock numbering schema ``s``'s feed."""
    return f"ticketkit-feed:{s}"


def feed_tail_sql(s: str) -> str:
    """Number the running transaction in the feed: lock, then draw a position (param: `feed_lock`)."""
    return (
        f"INSERT INTO {s}.feed_commits (xid) SELECT pg_current_xact_id() "
        "FROM (SELECT pg_advisory_xact_lock(hashtext(%s))) AS l ON CONFLICT (xid) DO NOTHING"
    )


def feed_sql(s: str) -> str:
    """The feed after (``pos``, ``seq``): the rest of that commit, then the commits after it.

    Two index ranges: an OR of the two would make the planner scan the events table.
    """
    join = f"SELECT c.pos, e.seq, e.body FROM {s}.feed_commits c JOIN {s}.events e ON e.xid = c.xid"
    return (
        f"({join} WHERE c.pos = %(pos)s AND e.seq > %(seq)s ORDER BY e.seq LIMIT %(n)s) UNION ALL "
        f"({join} WHERE c.pos > %(pos)s ORDER BY c.pos, e.seq LIMIT %(n)s) ORDER BY 1, 2 LIMIT %(n)s"
    )


class PostgresOutbox(TicketStore):
    """Outbox rows and the commit-ordered change feed in PostgreSQL: `PostgresStore`'s base."""

    _schema: str

    @abc.abstractmethod
    def _conn(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A pooled connection (autocommit), errors turned into ticketkit errors."""

    def _feed_tail(self, conn: psycopg.Connection[Any]) -> None:
        """Number this transaction in the change feed: the last statement before its commit.

        The lock is held to the end of the transaction and released only once its
        commit is visible, so feed positions are handed out in commit order (see
        `changes`). Taken last, after every row lock, it cannot close a deadlock.
        """
        s = f'"{self._schema}"'
        conn.execute(feed_tail_sql(s), (feed_lock(s),))

    def _q(self, sql: str) -> str:
        return sq.ph(sql, f'"{self._schema}"')

    def claim_outbox(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100
    ) -> list[OutboxMessage]:
        """Lease pending messages with ``FOR UPDATE SKIP LOCKED`` (see `TicketStore.claim_outbox`).

        Workers claiming together never wait for each other and never get the same message.
        """
        check_claim(at, worker, lease, limit)
        cols = ", ".join(f"o.{c.strip()}" for c in sq.COLUMNS.split(","))
        sql = self._q(
            "WITH picked AS (SELECT id, available_us AS was FROM outbox "
            "WHERE status = 'pending' AND available_us <= ? ORDER BY available_us, id LIMIT ? "
            f"FOR UPDATE SKIP LOCKED) UPDATE outbox o SET available_us = ? FROM picked "
            f"WHERE o.id = picked.id RETURNING {cols}, picked.was"
        )
        with self._conn() as conn, conn.transaction():
            rows = conn.execute(sql, (sq.key_of(at), limit, sq.key_of(at + lease))).fetchall()
        rows.sort(key=lambda r: (r[-1], r[0]))
        return [sq.message_of(r[:-1]) for r in rows]

    def mark_sent(self, ids: Iterable[str]) -> None:
        """Mark messages delivered in one statement, one round trip (see `TicketStore.mark_sent`).

        Inline delivery calls it after every desk operation that notifies someone, so
        it is one autocommitted ``UPDATE ... WHERE id = ANY(...)``, not a transaction.
        """
        batch = list(ids)
        if batch:
            with self._conn() as conn:
                conn.execute(self._q(sq.SENT_MANY), (batch,))

    def mark_failed(self, message_id: str, *, error: str, retry_at: datetime | None) -> None:
        """Count a failed send (see `TicketStore.mark_failed`)."""
        if retry_at is not None:
            check_at(retry_at, "retry_at")
        status = "dead" if retry_at is None else "pending"
        key = None if retry_at is None else sq.key_of(retry_at)
        with self._conn() as conn:
            conn.execute(self._q(sq.FAILED), (error, status, key, message_id))

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """The outbox messages in ``status`` (see `TicketStore.outbox`)."""
        check_status(status)
        check_feed_limit(limit)
        sql, params = sq.listing(status, limit)
        with self._conn() as conn:
            rows = conn.execute(self._q(sql), params).fetchall()
        return [sq.message_of(r) for r in rows]

    def requeue(self, ids: Iterable[str], *, at: datetime) -> int:
        """Make dead or failing messages pending again (see `TicketStore.requeue`)."""
        check_at(at)
        key = sq.key_of(at)
        n = 0
        with self._conn() as conn, conn.transaction():
            for i in ids:
                n += conn.execute(self._q(sq.REQUEUE), (key, i)).rowcount
        return n

    def next_outbox_at(self) -> datetime | None:
        """When the earliest pending message becomes available (see `TicketStore.next_outbox_at`)."""
        with self._conn() as conn:
            row = conn.execute(self._q(sq.NEXT)).fetchone()
        return None if row is None or row[0] is None else sq.at_of(row[0])

    def drop_outbox(self, ticket_id: str) -> int:
        """Delete the ticket's outbox messages by the ``ticket_id`` index (see `TicketStore.drop_outbox`)."""
        check_ticket_id(ticket_id)
        with self._conn() as conn:
            return int(conn.execute(self._q(sq.DROP_TICKET), (ticket_id.replace("\x00", "\ufffd"),)).rowcount)

    def changes(self, after: str | None = None, *, limit: int = 1000) -> FeedPage:
        """Committed events after ``after`` in commit order, from an index range (see `TicketStore.changes`).

        Sequence numbers are not commit order on PostgreSQL: a transaction can take a
        low ``seq`` and commit after one with a higher ``seq`` was read. So every
        transaction that writes events ends by taking a per-schema lock and adding one
        row to ``feed_commits`` (its position and its transaction id, which every event
        row carries); the lock is released only after the commit is visible, so
        positions follow commit order and a reader never passes an event that commits
        later. The cursor is (position, seq); a call reads one index range, whatever
        the stored history.
        """
        check_feed_limit(limit)
        pos, seq = pair_cursor(after, "postgres")
        with self._conn() as conn:
            rows = conn.execute(
                feed_sql(f'"{self._schema}"'), {"pos": pos, "seq": seq, "n": limit}
            ).fetchall()
        if rows:
            pos, seq = rows[-1][0], rows[-1][1]
        return FeedPage(
            events=tuple(parse_event_json(r[2]) for r in rows), cursor=encode_cursor("postgres", [pos, seq])
        )
