"""The transactional outbox and the change feed: what a store keeps between the commit and the world.

An [`OutboxMessage`][ticketkit.storage.OutboxMessage] is written in the same
transaction as the change that causes it ([`TicketStore.commit`][ticketkit.TicketStore.commit]);
a delivery step claims pending messages with a lease, sends them and marks them
sent, or marks them failed with the time of the next try (or dead). The store
keeps opaque JSON payloads: it never knows what a notification is.

The change feed ([`TicketStore.changes`][ticketkit.TicketStore.changes]) returns
committed events after a cursor, each exactly once, in a stable order.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._models import Event
from ticketkit.model._time import aware_problem

PENDING: Final = "pending"
SENT: Final = "sent"
DEAD: Final = "dead"
OUTBOX_STATUSES: Final = (PENDING, SENT, DEAD)
"""The states of an outbox message: waiting (or leased), delivered, given up."""


def _nonempty(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.one(attribute.name, f"expected a non-empty string, got {value!r}")


def _optional_nonempty(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _nonempty(_, attribute, value)


def _text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError.one(attribute.name, f"expected JSON text (a str), got {value!r}")


def _aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    problem = aware_problem(value)
    if problem:
        raise ValidationError.one(attribute.name, problem)


def _status(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in OUTBOX_STATUSES:
        raise ValidationError.one(
            attribute.name, f"expected one of {', '.join(OUTBOX_STATUSES)}, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """One message waiting in (or done with) a store's outbox.

    ``id`` is the idempotency key: writing a message whose id is already in the
    outbox writes nothing. ``payload`` is JSON text the store keeps as is.
    ``available_at`` is when it may next be claimed (a claim moves it to the end
    of the lease); ``attempts`` counts failed sends; ``error`` is the last failure.
    ``ticket_id`` names the ticket whose data the payload copies (None: no ticket):
    [`TicketStore.drop_outbox`][ticketkit.TicketStore.drop_outbox] and
    [`TicketStore.purge`][ticketkit.TicketStore.purge] remove a ticket's messages by it.

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> m = OutboxMessage(id="n-1", payload="{}", created_at=at, available_at=at)
        >>> m.status, m.attempts
        ('pending', 0)
    """

    id: str = attrs.field(validator=_nonempty)
    payload: str = attrs.field(validator=_text)
    created_at: datetime = attrs.field(validator=_aware)
    available_at: datetime = attrs.field(validator=_aware)
    attempts: int = 0
    status: str = attrs.field(default=PENDING, validator=_status)
    error: str | None = None
    tenant: str = "default"
    ticket_id: str | None = attrs.field(default=None, validator=_optional_nonempty)


@attrs.frozen(kw_only=True)
class FeedPage:
    """Committed events after a cursor, and the cursor to pass next time.

    ``cursor`` is never None: with no new events it is the cursor given (or the
    start), so a follower can always pass it back unchanged.

    Examples:
        >>> page = FeedPage(events=(), cursor="x")
        >>> len(page), page.cursor
        (0, 'x')
    """

    events: tuple[Event, ...]
    cursor: str

    def __len__(self) -> int:
        return len(self.events)


# --------------------------------------------------------------------------- argument checks


def check_messages(messages: object) -> list[OutboxMessage]:
    """``messages`` as a list, or a `ValidationError` naming each one that is not an OutboxMessage."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Iterable):
        raise ValidationError.one("outbox", f"expected a list of OutboxMessage, got {messages!r}")
    out = list(messages)
    problems = [
        ErrorDetail(f"outbox[{i}]", f"expected an OutboxMessage, got {m!r}")
        for i, m in enumerate(out)
        if not isinstance(m, OutboxMessage)
    ]
    if problems:
        raise ValidationError(problems)
    return out


def check_claim(at: datetime, worker: str, lease: timedelta, limit: int) -> None:
    """Check the arguments of a claim: aware ``at``, a worker name, a positive lease, a sane limit."""
    problems: list[ErrorDetail] = []
    problem = aware_problem(at)
    if problem:
        problems.append(ErrorDetail("at", problem))
    if not isinstance(worker, str) or not worker.strip():
        problems.append(ErrorDetail("worker", f"expected a non-empty worker name, got {worker!r}"))
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        problems.append(ErrorDetail("lease", f"expected a positive timedelta, got {lease!r}"))
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        problems.append(ErrorDetail("limit", f"expected an integer from 1 to 10000, got {limit!r}"))
    if problems:
        raise ValidationError(problems)


def check_at(at: object, path: str = "at") -> None:
    """A `ValidationError` unless ``at`` is an aware datetime."""
    problem = aware_problem(at)
    if problem:
        raise ValidationError.one(path, problem)


def check_status(status: object) -> None:
    """A `ValidationError` unless ``status`` is one of `OUTBOX_STATUSES` or None."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise ValidationError.one("status", f"expected one of {', '.join(OUTBOX_STATUSES)}, got {status!r}")


def check_ticket_id(ticket_id: object) -> None:
    """A `ValidationError` unless ``ticket_id`` is a non-empty string."""
    if not isinstance(ticket_id, str) or not ticket_id.strip():
        raise ValidationError.one("ticket_id", f"expected a ticket id, got {ticket_id!r}")


# --------------------------------------------------------------------------- cursors


def encode_cursor(kind: str, value: Any) -> str:
    """An opaque feed cursor of the given kind."""
    raw = json.dumps(["feed", kind, value], separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: object, kind: str) -> Any:
    """The value of a feed cursor made by `encode_cursor` with ``kind``, or a `ValidationError`."""
    bad = f"{cursor!r} is not a cursor returned by changes(); pass FeedPage.cursor unchanged"
    if not isinstance(cursor, str):
        raise ValidationError.one("after", bad)
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise ValidationError.one("after", bad) from None
    if not isinstance(data, list) or len(data) != 3 or data[0] != "feed":
        raise ValidationError.one("after", bad)
    if data[1] != kind:
        raise ValidationError.one(
            "after", f"the cursor was made by a store of kind {data[1]!r}, not {kind!r}; start again"
        )
    return data[2]


def check_feed_limit(limit: object) -> None:
    """A `ValidationError` unless ``limit`` is an integer from 1 to 10000."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise ValidationError.one("limit", f"expected an integer from 1 to 10000, got {limit!r}")


def count_cursor(cursor: str | None) -> dict[str, int]:
    """The per-ticket event counts a default-store cursor holds."""
    if cursor is None:
        return {}
    value = decode_cursor(cursor, "counts")
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in value.items()
    ):
        raise ValidationError.one("after", f"{cursor!r} is not a cursor returned by changes()")
    return value


def int_cursor(cursor: str | None, kind: str) -> int:
    """The position an integer feed cursor holds (0: the start)."""
    if cursor is None:
        return 0
    value = decode_cursor(cursor, kind)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError.one("after", f"{cursor!r} is not a cursor returned by changes()")
    return value


def pair_cursor(cursor: str | None, kind: str) -> tuple[int, int]:
    """The position a two-integer feed cursor holds ((-1, 0): the start)."""
    if cursor is None:
        return (-1, 0)
    value = decode_cursor(cursor, kind)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or value[0] < -1
        or value[1] < 0
    ):
        raise ValidationError.one("after", f"{cursor!r} is not a cursor returned by changes()")
    return (value[0], value[1])


# --------------------------------------------------------------------------- in-process outbox


class MemoryOutbox:
    """An outbox kept in this process (thread-safe): the default stores' and `InMemoryStore`'s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, OutboxMessage] = {}

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Keep each message whose id is new; a known id writes nothing."""
        with self._lock:
            for m in messages:
                self._rows.setdefault(m.id, m)

    def claim(self, at: datetime, worker: str, lease: timedelta, limit: int) -> list[OutboxMessage]:
        """Lease up to ``limit`` pending messages available at ``at``, oldest first."""
        del worker  # one process: nobody else to tell apart
        with self._lock:
            due = sorted(
                (m for m in self._rows.values() if m.status == PENDING and m.available_at <= at),
                key=lambda m: (m.available_at, m.id),
            )[:limit]
            out = [attrs.evolve(m, available_at=at + lease) for m in due]
            for m in out:
                self._rows[m.id] = m
            return out

    def mark_sent(self, ids: Iterable[str]) -> None:
        """Mark the messages delivered (unknown ids are ignored)."""
        with self._lock:
            for i in ids:
                m = self._rows.get(i)
                if m is not None:
                    self._rows[i] = attrs.evolve(m, status=SENT)

    def mark_failed(self, message_id: str, error: str, retry_at: datetime | None) -> None:
        """Count a failed send: pending again at ``retry_at``, or dead when it is None."""
        with self._lock:
            m = self._rows.get(message_id)
            if m is None or m.status != PENDING:
                return
            self._rows[message_id] = attrs.evolve(
                m,
                attempts=m.attempts + 1,
                error=error,
                status=DEAD if retry_at is None else PENDING,
                available_at=m.available_at if retry_at is None else retry_at,
            )

    def listing(self, status: str | None, limit: int) -> list[OutboxMessage]:
        """The messages in ``status`` (all when None), oldest first."""
        with self._lock:
            found = [m for m in self._rows.values() if status is None or m.status == status]
        found.sort(key=lambda m: (m.created_at, m.id))
        return found[:limit]

    def requeue(self, ids: Iterable[str], at: datetime) -> int:
        """Make dead or failed messages pending at ``at`` with their tries reset; how many."""
        n = 0
        with self._lock:
            for i in ids:
                m = self._rows.get(i)
                if m is not None and m.status != SENT:
                    self._rows[i] = attrs.evolve(m, status=PENDING, attempts=0, available_at=at)
                    n += 1
        return n

    def drop_ticket(self, ticket_id: str) -> int:
        """Delete every message of ``ticket_id``, whatever its status; how many."""
        with self._lock:
            gone = [i for i, m in self._rows.items() if m.ticket_id == ticket_id]
            for i in gone:
                del self._rows[i]
        return len(gone)

    def next_at(self) -> datetime | None:
        """When the earliest pending message becomes available (None: none pending)."""
        with self._lock:
            times = [m.available_at for m in self._rows.values() if m.status == PENDING]
        return min(times) if times else None


# --------------------------------------------------------------------------- the store's defaults


class OutboxDefaults:
    """The outbox primitives of `TicketStore`, with defaults that keep the outbox in this process.

    Correct for one process and lost with it; the reference stores override every one
    with durable, transactional versions. `TicketStore` derives from this class (which
    keeps it under the size limit); nothing else should.
    """

    def _memory_outbox(self) -> MemoryOutbox:
        box = self.__dict__.get("_ticketkit_outbox")
        if box is None:
            box = self.__dict__.setdefault("_ticketkit_outbox", MemoryOutbox())
        assert isinstance(box, MemoryOutbox)
        return box

    def claim_outbox(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100
    ) -> list[OutboxMessage]:
        """Lease pending outbox messages available at ``at`` to one worker, oldest first.

        Each claimed message becomes available again at ``at + lease``: if the
        worker dies, another claims it then. Concurrent claimers never get the
        same message while its lease runs.

        Raises:
            ValidationError: a naive ``at``, an empty ``worker``, a bad lease or limit.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> tk.InMemoryStore().claim_outbox(at, worker="w1", lease=timedelta(minutes=1))
            []
        """
        check_claim(at, worker, lease, limit)
        return self._memory_outbox().claim(at, worker, lease, limit)

    def mark_sent(self, ids: Iterable[str]) -> None:
        """Mark outbox messages delivered; they are never claimed again.

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().mark_sent(["n-1"])
        """
        self._memory_outbox().mark_sent(list(ids))

    def mark_failed(self, message_id: str, *, error: str, retry_at: datetime | None) -> None:
        """Count a failed send of a pending message: available again at ``retry_at``, or dead when None.

        A message already sent or dead is left alone.

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().mark_failed("n-1", error="timeout", retry_at=None)
        """
        if retry_at is not None:
            check_at(retry_at, "retry_at")
        self._memory_outbox().mark_failed(message_id, error, retry_at)

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """The outbox messages in ``status`` (``pending``, ``sent``, ``dead``; all when None), oldest first.

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().outbox(status="dead")
            []
        """
        check_status(status)
        check_feed_limit(limit)
        return self._memory_outbox().listing(status, limit)

    def requeue(self, ids: Iterable[str], *, at: datetime) -> int:
        """Make dead (or failing) messages pending again at ``at``, their tries reset; how many moved.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().requeue(["n-1"], at=datetime(2025, 3, 3, tzinfo=timezone.utc))
            0
        """
        check_at(at)
        return self._memory_outbox().requeue(list(ids), at)

    def next_outbox_at(self) -> datetime | None:
        """When the earliest pending outbox message becomes available (None: nothing pending).

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().next_outbox_at() is None
            True
        """
        return self._memory_outbox().next_at()

    def drop_outbox(self, ticket_id: str) -> int:
        """Delete every outbox message of ``ticket_id`` (pending, sent or dead); how many.

        Erasure calls it: a message keeps a copy of the ticket's data, so after an
        erasure none of it may stay in the outbox or go out. `purge` removes a
        purged ticket's messages the same way, in its own transaction.

        Raises:
            ValidationError: ``ticket_id`` is not a ticket id.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> from ticketkit.storage import OutboxMessage
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> store = tk.InMemoryStore()
            >>> m = OutboxMessage(id="n-1", payload="{}", created_at=at, available_at=at, ticket_id="T1")
            >>> _ = store.commit([], [m])
            >>> store.drop_outbox("T1"), store.outbox()
            (1, [])
        """
        check_ticket_id(ticket_id)
        return self._memory_outbox().drop_ticket(ticket_id)
