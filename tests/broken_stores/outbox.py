"""Broken stores of the outbox and the change feed: one realistic bug each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import attrs

from tests.broken_stores.registry import broken
from ticketkit import InMemoryStore, SQLiteStore, Ticket
from ticketkit.storage import FeedPage, OutboxMessage
from ticketkit.storage._base import Change
from ticketkit.storage._outbox import PENDING, SENT, MemoryOutbox, encode_cursor, int_cursor


def _sqlite_memory(cls: type[SQLiteStore]) -> object:
    return lambda _tmp: lambda: cls(":memory:")


@broken("commit writes the messages before checking the versions", "test_outbox_conflict_writes_no_message")
class MessagesBeforeChange(InMemoryStore):
    def commit(self, changes: Iterable[Change], outbox: Iterable[OutboxMessage] = ()) -> list[Ticket]:
        self._memory_outbox().add(list(outbox))
        return self.save_many(changes)


class _Overwrites(MemoryOutbox):
    def add(self, messages: Sequence[OutboxMessage]) -> None:
        with self._lock:
            for m in messages:
                self._rows[m.id] = m


@broken(
    "a message id written again replaces the stored one", "test_outbox_commit_writes_change_and_messages_once"
)
class IdNotIdempotent(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._box = _Overwrites()

    def _memory_outbox(self) -> MemoryOutbox:
        return self._box


class _NoLease(MemoryOutbox):
    def claim(self, at: datetime, worker: str, lease: timedelta, limit: int) -> list[OutboxMessage]:
        return super().claim(at, worker, timedelta(0), limit)


@broken(
    "claim_outbox does not move a claimed message past its lease", "test_outbox_claim_leases", "never_share"
)
class ClaimWithoutLease(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._box = _NoLease()

    def _memory_outbox(self) -> MemoryOutbox:
        return self._box


class _NewestFirst(MemoryOutbox):
    def claim(self, at: datetime, worker: str, lease: timedelta, limit: int) -> list[OutboxMessage]:
        with self._lock:
            due = sorted(
                (m for m in self._rows.values() if m.status == PENDING and m.available_at <= at),
                key=lambda m: (m.available_at, m.id),
                reverse=True,
            )[:limit]
            out = [attrs.evolve(m, available_at=at + lease) for m in due]
            for m in out:
                self._rows[m.id] = m
            return out


@broken("claim_outbox takes the newest messages first", "test_outbox_claim_order_and_limit")
class ClaimNewestFirst(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._box = _NewestFirst()

    def _memory_outbox(self) -> MemoryOutbox:
        return self._box


class _SentStillPending(MemoryOutbox):
    def mark_sent(self, ids: Iterable[str]) -> None:
        return None


@broken("mark_sent forgets to change the status", "test_outbox_sent_never_claimed")
class SentNotRecorded(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._box = _SentStillPending()

    def _memory_outbox(self) -> MemoryOutbox:
        return self._box


class _NeverDies(MemoryOutbox):
    def mark_failed(self, message_id: str, error: str, retry_at: datetime | None) -> None:
        with self._lock:
            m = self._rows.get(message_id)
            if m is not None and m.status == PENDING:
                at = retry_at if retry_at is not None else m.available_at
                self._rows[message_id] = attrs.evolve(
                    m, attempts=m.attempts + 1, error=error, available_at=at
                )


@broken("a final failure leaves the message pending: it never becomes a dead letter", "test_outbox_failures")
class NoDeadLetters(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._box = _NeverDies()

    def _memory_outbox(self) -> MemoryOutbox:
        return self._box


class _FailRevivesSent(MemoryOutbox):
    def mark_failed(self, message_id: str, error: str, retry_at: datetime | None) -> None:
        with self._lock:
            m = self._rows.get(message_id)
            if m is not None and m.status == SENT:
                self._rows[message_id] = attrs.evolve(m, status=PENDING)
        super().mark_failed(message_id, error, retry_at)


@broken(
    "a late failure report makes a sent message pending again", "test_outbox_failure_after_send_stays_sent"
)
class FailureRevivesSent(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._box = _FailRevivesSent()

    def _memory_outbox(self) -> MemoryOutbox:
        return self._box


@broken(
    "changes() moves the cursor one event too far: an event per page is skipped", "test_feed_every_event_once"
)
class FeedSkips(InMemoryStore):
    def changes(self, after: str | None = None, *, limit: int = 1000) -> FeedPage:
        page = super().changes(after, limit=limit)
        if not page.events:
            return page
        return FeedPage(
            events=page.events, cursor=encode_cursor("memory", int_cursor(page.cursor, "memory") + 1)
        )


@broken(
    "changes() on SQLite returns the last event of a page again on the next page",
    "test_feed_every_event_once",
    make=_sqlite_memory,  # type: ignore[arg-type]
)
class FeedRepeats(SQLiteStore):
    def changes(self, after: str | None = None, *, limit: int = 1000) -> FeedPage:
        page = super().changes(after, limit=limit)
        if len(page.events) < 2:
            return page
        return FeedPage(
            events=page.events, cursor=encode_cursor("sqlite", int_cursor(page.cursor, "sqlite") - 1)
        )


@broken(
    "changes() orders each page by event time, not by commit: the order differs from the log",
    "test_feed_order_is_stable",
    "test_feed_every_event_once",
)
class FeedByTime(InMemoryStore):
    def changes(self, after: str | None = None, *, limit: int = 1000) -> FeedPage:
        page = super().changes(after, limit=limit)
        return FeedPage(events=tuple(sorted(page.events, key=lambda e: e.at)), cursor=page.cursor)


@broken(
    "purge() deletes the ticket and its events but leaves its outbox messages (copies of its data)",
    "test_purge_removes_the_tickets_messages",
)
class PurgeKeepsOutbox(InMemoryStore):
    def purge(
        self, ticket_id: str, *, tenant: str | None = None, expected_version: int | None = None
    ) -> None:
        box = self._memory_outbox()
        with box._lock:
            kept = dict(box._rows)
        super().purge(ticket_id, tenant=tenant, expected_version=expected_version)
        with box._lock:
            box._rows.update(kept)


class _DropsSentOnly(MemoryOutbox):
    def drop_ticket(self, ticket_id: str) -> int:
        with self._lock:
            gone = [i for i, m in self._rows.items() if m.ticket_id == ticket_id and m.status == SENT]
            for i in gone:
                del self._rows[i]
        return len(gone)


@broken(
    "drop_outbox() deletes only the ticket's sent messages: pending and dead copies stay",
    "test_drop_outbox_removes_only_that_tickets_messages",
)
class DropKeepsPending(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._box = _DropsSentOnly()

    def _memory_outbox(self) -> MemoryOutbox:
        return self._box


@broken(
    "drop_outbox() on SQLite matches the ticket by id prefix and deletes other tickets' messages",
    "test_drop_outbox_removes_only_that_tickets_messages",
    make=_sqlite_memory,  # type: ignore[arg-type]
)
class DropByPrefix(SQLiteStore):
    def drop_outbox(self, ticket_id: str) -> int:
        with self._write() as conn:
            return int(
                conn.execute("DELETE FROM outbox WHERE ticket_id LIKE ?", (ticket_id[:2] + "%",)).rowcount
            )


@broken(
    "the SQLite outbox does not keep the ticket id: messages come back with ticket_id None",
    "test_outbox_messages_keep_their_ticket",
    "test_drop_outbox_removes_only_that_tickets_messages",
    make=_sqlite_memory,  # type: ignore[arg-type]
)
class ForgetsTicket(SQLiteStore):
    def commit(self, changes: Iterable[Change], outbox: Iterable[OutboxMessage] = ()) -> list[Ticket]:
        return super().commit(changes, [attrs.evolve(m, ticket_id=None) for m in outbox])
