"""The message keys, team queue and desk records of ``PostgresStore``, in a class of their own.

`PostgresStore` derives from `PostgresSideTables` (itself on `PostgresOutbox`), which
keeps the class under the size limit.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ticketkit.model._models import Ticket
from ticketkit.storage import _message_keys as mk
from ticketkit.storage import _records as rec
from ticketkit.storage._base import instant_key
from ticketkit.storage._postgres_outbox import PostgresOutbox

if TYPE_CHECKING:
    import psycopg

__all__: list[str] = []  # internal: PostgresStore derives from it, users never do


def nul_free(value: str | None) -> str | None:
    """A string PostgreSQL can hold in a text column: NUL becomes U+FFFD.

    Only the indexed copies are changed; the ticket's JSON keeps every character.
    """
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "\ufffd")


_text = nul_free


class PostgresSideTables(PostgresOutbox):
    """Message keys, the team queue and desk records in PostgreSQL tables."""

    @abc.abstractmethod
    def _ticket(self, body: str) -> Ticket:
        """A stored ticket body read back."""

    # ------------------------------------------------------------------ message keys (receive)

    def _message_keys_table(self, conn: psycopg.Connection[Any]) -> str:
        s = f'"{self._schema}"'
        if not self.__dict__.get("_message_keys_ready"):
            found = conn.execute("SELECT to_regclass(%s)", (f"{s}.message_keys",)).fetchone()
            if found is not None and found[0] is not None:  # made by schema_sql(): no DDL (nor its rights)
                self.__dict__["_message_keys_ready"] = True
                return s
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ticketkit:{self._schema}",))
                conn.execute(mk.postgres_table(s))
                conn.execute(mk.postgres_ticket_index(s))
            self.__dict__["_message_keys_ready"] = True
        return s

    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        """Bind keys in the ``message_keys`` table (see `TicketStore.bind_message_keys`)."""
        checked = mk.validate_message_keys(keys, ticket_id, tenant)
        with self._conn() as conn:
            s = self._message_keys_table(conn)
            with conn.transaction():
                out: dict[str, str] = {}
                for key in checked:
                    conn.execute(mk.postgres_bind(s), (_text(tenant), _text(key), _text(ticket_id)))
                    row = conn.execute(mk.postgres_get(s), (_text(tenant), _text(key))).fetchone()
                    assert row is not None  # inserted just now, or by the writer it waited for
                    out[key] = str(row[0])
        return out

    def message_key(self, key: str, *, tenant: str) -> str | None:
        """The ticket of ``key``, by the table's primary key (see `TicketStore.message_key`)."""
        mk.validate_message_key(key, tenant)
        with self._conn() as conn:
            s = self._message_keys_table(conn)
            row = conn.execute(mk.postgres_get(s), (_text(tenant), _text(key))).fetchone()
        return None if row is None else str(row[0])

    def drop_message_keys(self, ticket_id: str, *, tenant: str) -> int:
        """Delete a ticket's keys by the (tenant, ticket) index (see `TicketStore.drop_message_keys`)."""
        mk.validate_drop_message_keys(ticket_id, tenant)
        with self._conn() as conn:
            s = self._message_keys_table(conn)
            with conn.transaction():
                return int(conn.execute(mk.postgres_drop(s), (_text(tenant), _text(ticket_id))).rowcount)

    # ------------------------------------------------------------------ team queues

    def queued(
        self, team: str, *, tenant: str, limit: int = 100, after: Ticket | None = None
    ) -> list[Ticket]:
        """A team's queue from the partial ``tickets_queue`` index (see `TicketStore.queued`)."""
        rec.validate_queue_args(team, tenant, limit)
        s = f'"{self._schema}"'
        with self._conn() as conn:
            if after is None:
                position: tuple[int, int, int, str] = (99, 99, -1, "")
            else:
                rank = after.priority.rank
                position = (rank, rank, instant_key(after.created_at), after.id)
            rows = conn.execute(
                rec.postgres_queue(s), (_text(tenant), _text(team), *position, limit)
            ).fetchall()
        return [self._ticket(r[0]) for r in rows]

    # ------------------------------------------------------------------ desk records (presence, leases)

    def records(
        self, kind: str, *, tenant: str, keys: Iterable[str] | None = None
    ) -> dict[str, tuple[str, int]]:
        """The records of ``kind`` from the ``desk_records`` table (see `TicketStore.records`)."""
        wanted = rec.validate_record_read(kind, tenant, keys)
        with self._conn() as conn:
            s = f'"{self._schema}"'
            rows = conn.execute(rec.postgres_read(s), (_text(tenant), _text(kind))).fetchall()
        return {str(k): (str(v), int(n)) for k, v, n in rows if wanted is None or k in wanted}

    def put_record(
        self, kind: str, key: str, value: str, *, tenant: str, expected_version: int | None
    ) -> int:
        """Compare and set one record (see `TicketStore.put_record`); the row decides between writers."""
        rec.validate_record_write(kind, key, value, tenant, expected_version)
        args = (_text(tenant), _text(kind), _text(key))
        with self._conn() as conn:
            s = f'"{self._schema}"'
            with conn.transaction():
                if expected_version is None:
                    done = conn.execute(rec.postgres_insert(s), (*args, _text(value))).rowcount
                else:
                    done = conn.execute(
                        rec.postgres_update(s), (_text(value), *args, expected_version)
                    ).rowcount
                if done == 1:
                    return 1 if expected_version is None else expected_version + 1
                row = conn.execute(rec.postgres_version(s), args).fetchone()
        raise rec.record_conflict(kind, key, expected_version, None if row is None else int(row[0]))
