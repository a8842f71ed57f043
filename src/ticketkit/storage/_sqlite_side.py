"""The message keys, team queue and desk records of ``SQLiteStore``, in a class of their own.

`SQLiteStore` derives from `SQLiteSideTables` (itself on `SQLiteOutbox`), which keeps
the class under the size limit. Each table is made on first use.
"""

from __future__ import annotations

import abc
import sqlite3
from collections.abc import Iterable, Sequence

from ticketkit.model._models import Ticket
from ticketkit.storage import _message_keys as mk
from ticketkit.storage import _records as rec
from ticketkit.storage._base import instant_key
from ticketkit.storage._sqlite_outbox import SQLiteOutbox

__all__: list[str] = []  # internal: SQLiteStore derives from it, users never do


class SQLiteSideTables(SQLiteOutbox):
    """Message keys, the team queue and desk records in the SQLite file."""

    @abc.abstractmethod
    def _ticket(self, body: str) -> Ticket:
        """A stored ticket body read back."""

    # ------------------------------------------------------------------ message keys (receive)

    def _message_keys_table(self, conn: sqlite3.Connection) -> None:
        if not self.__dict__.get("_message_keys_ready"):
            conn.execute(mk.SQLITE_TABLE)
            conn.execute(mk.SQLITE_TICKET_INDEX)
            self.__dict__["_message_keys_ready"] = True

    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        """Bind keys in the ``message_keys`` table (see `TicketStore.bind_message_keys`)."""
        checked = mk.validate_message_keys(keys, ticket_id, tenant)
        with self._write() as conn:
            self._message_keys_table(conn)
            conn.executemany(mk.SQLITE_BIND, [(tenant, key, ticket_id) for key in checked])
            return {key: conn.execute(mk.SQLITE_GET, (tenant, key)).fetchone()[0] for key in checked}

    def message_key(self, key: str, *, tenant: str) -> str | None:
        """The ticket of ``key``, by the table's primary key (see `TicketStore.message_key`)."""
        mk.validate_message_key(key, tenant)
        if not self.__dict__.get("_message_keys_ready"):
            with self._write() as conn:
                self._message_keys_table(conn)
        with self._read() as conn:
            row = conn.execute(mk.SQLITE_GET, (tenant, key)).fetchone()
        return None if row is None else str(row[0])

    def drop_message_keys(self, ticket_id: str, *, tenant: str) -> int:
        """Delete a ticket's keys by the (tenant, ticket) index (see `TicketStore.drop_message_keys`)."""
        mk.validate_drop_message_keys(ticket_id, tenant)
        with self._write() as conn:
            self._message_keys_table(conn)
            return int(conn.execute(mk.SQLITE_DROP, (tenant, ticket_id)).rowcount)

    # ------------------------------------------------------------------ team queues

    def queued(
        self, team: str, *, tenant: str, limit: int = 100, after: Ticket | None = None
    ) -> list[Ticket]:
        """A team's queue from the partial ``tickets_queue`` index (see `TicketStore.queued`)."""
        rec.validate_queue_args(team, tenant, limit)
        if after is None:
            position: tuple[int, int, int, str] = (99, 99, -1, "")
        else:
            rank = after.priority.rank
            position = (rank, rank, instant_key(after.created_at), after.id)
        with self._read() as conn:
            rows = conn.execute(rec.SQLITE_QUEUE, (tenant, team, *position, limit)).fetchall()
        return [self._ticket(r[0]) for r in rows]

    # ------------------------------------------------------------------ desk records (presence, leases)

    def records(
        self, kind: str, *, tenant: str, keys: Iterable[str] | None = None
    ) -> dict[str, tuple[str, int]]:
        """The records of ``kind`` from the ``desk_records`` table (see `TicketStore.records`)."""
        wanted = rec.validate_record_read(kind, tenant, keys)
        with self._read() as conn:
            rows = conn.execute(rec.SQLITE_READ, (tenant, kind)).fetchall()
        return {str(k): (str(v), int(n)) for k, v, n in rows if wanted is None or k in wanted}

    def put_record(
        self, kind: str, key: str, value: str, *, tenant: str, expected_version: int | None
    ) -> int:
        """Compare and set one record in one write transaction (see `TicketStore.put_record`)."""
        rec.validate_record_write(kind, key, value, tenant, expected_version)
        with self._write() as conn:
            row = conn.execute(rec.SQLITE_VERSION, (tenant, kind, key)).fetchone()
            actual = None if row is None else int(row[0])
            if actual != expected_version:
                raise rec.record_conflict(kind, key, expected_version, actual)
            if actual is None:
                conn.execute(rec.SQLITE_INSERT, (tenant, kind, key, value))
                return 1
            conn.execute(rec.SQLITE_UPDATE, (value, tenant, kind, key, actual))
            return actual + 1
