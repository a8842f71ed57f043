"""Broken stores of the rewrite primitive (redaction and erasure): one bug each."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tests.broken_stores.registry import broken
from ticketkit import Event, InMemoryStore, SQLiteStore, Ticket
from ticketkit.storage._rewrite import validate_rewrite


@broken(
    "rewrite() appends the rewritten events instead of replacing the stored ones",
    "test_rewrite_replaces_the_ticket_and_its_events",
)
class RewriteAppends(InMemoryStore):
    def rewrite(
        self, ticket: Ticket, events: Sequence[Event], *, append: Sequence[Event] = (), expected_version: int
    ) -> Ticket:
        return self.save(ticket, [*events, *append], expected_version)


@broken(
    "rewrite() does not compare the stored version: a stale rewrite wins",
    "test_stale_rewrite_conflicts_and_writes_nothing",
)
class RewriteIgnoresVersion(InMemoryStore):
    def rewrite(
        self, ticket: Ticket, events: Sequence[Event], *, append: Sequence[Event] = (), expected_version: int
    ) -> Ticket:
        stored = self.get(ticket.id)
        return super().rewrite(ticket, events, append=append, expected_version=stored.version)


@broken(
    "rewrite() takes whatever events it is given, dropping or reordering stored ones",
    "test_rewrite_of_other_events_is_refused",
)
class RewriteTrustsEvents(InMemoryStore):
    def rewrite(
        self, ticket: Ticket, events: Sequence[Event], *, append: Sequence[Event] = (), expected_version: int
    ) -> Ticket:
        validate_rewrite(ticket, events, append, expected_version)
        with self._lock:
            old = self._check_stored(ticket, expected_version)
            self._events[ticket.id] = list(events)
            self._put(ticket, append, old)
        return ticket


def _in_memory_sqlite(cls: type[SQLiteStore]):  # type: ignore[no-untyped-def]
    return lambda _tmp: lambda: cls(":memory:")


@broken(
    "rewrite() updates the events of every ticket by position, not only this ticket's",
    "test_rewrite_leaves_other_tickets_alone",
    make=_in_memory_sqlite,  # type: ignore[arg-type]
)
class RewriteTouchesOthers(SQLiteStore):
    def rewrite(
        self, ticket: Ticket, events: Sequence[Event], *, append: Sequence[Event] = (), expected_version: int
    ) -> Ticket:
        super().rewrite(ticket, events, append=append, expected_version=expected_version)
        with self._write() as conn:
            bodies = [json.dumps({"x": 1})]
            rows = conn.execute("SELECT seq, body FROM events WHERE ticket_id != ?", (ticket.id,)).fetchall()
            for seq, body in rows:
                data = json.loads(body)
                data["data"] = json.loads(bodies[0])
                conn.execute("UPDATE events SET body = ? WHERE seq = ?", (json.dumps(data), seq))
        return ticket


@broken(
    "purge() deletes the ticket row but leaves its events behind",
    "test_purge_deletes_the_ticket_and_its_events",
    make=_in_memory_sqlite,  # type: ignore[arg-type]
)
class PurgeLeavesEvents(SQLiteStore):
    def purge(
        self, ticket_id: str, *, tenant: str | None = None, expected_version: int | None = None
    ) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM ticket_tags WHERE ticket_id = ?", (ticket_id,))
            conn.execute("DELETE FROM tickets WHERE id = ?", (ticket_id,))


@broken(
    "purge() ignores expected_version and tenant",
    "test_purge_checks_version_and_tenant",
)
class PurgeUnchecked(InMemoryStore):
    def purge(
        self, ticket_id: str, *, tenant: str | None = None, expected_version: int | None = None
    ) -> None:
        super().purge(ticket_id)
