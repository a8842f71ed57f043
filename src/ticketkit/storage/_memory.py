"""``InMemoryStore``: a thread-safe store in a dict, for tests, demos and simulations."""

from __future__ import annotations

import heapq
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta

from ticketkit.errors import ConflictError, NotFoundError, ValidationError
from ticketkit.model._models import Event, Ticket
from ticketkit.storage._base import (
    OPEN_STATUS_KINDS,
    Change,
    Page,
    Query,
    TicketStore,
    _check_claim_args,
    check_counts_args,
    check_due_args,
    due_key,
    instant_key,
    leased,
    validate_changes,
    validate_create,
    validate_save,
)
from ticketkit.storage._message_keys import validate_key_bindings
from ticketkit.storage._outbox import (
    FeedPage,
    OutboxMessage,
    check_feed_limit,
    check_messages,
    encode_cursor,
    int_cursor,
)
from ticketkit.storage._records import QUEUE_KINDS, validate_queue_args
from ticketkit.storage._rewrite import check_purge, check_same_events, validate_rewrite
from ticketkit.storage._side_defaults import default_keys

__all__ = ["InMemoryStore"]


class InMemoryStore(TicketStore):
    """Tickets and events in memory; safe to share between threads.

    Tickets are immutable values, so the store keeps the very objects it is
    given and hands them back without copying. ``due`` and ``claim_due`` use a
    heap on ``next_due_at`` and cost O(k log n) for k due tickets; queries naming
    a customer read only that customer's tickets (of the status kinds asked for,
    when given: indexes kept with every write); ``assigned_counts`` reads counters
    kept with every write; other queries scan.

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> store = tk.InMemoryStore()
        >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> t = store.create(tk.Ticket(subject="Broken kettle", id="T1", created_at=at))
        >>> store.get("T1") is t, len(store)
        (True, 1)
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tickets: dict[str, Ticket] = {}
        self._events: dict[str, list[Event]] = {}
        # (due key, id) for every ticket with a next checkpoint; stale entries are
        # dropped lazily when met, and the heap is rebuilt when they pile up.
        self._due: list[tuple[int, str]] = []
        # every event in commit order: the change feed (a purged event leaves a None, so cursors hold)
        self._log: list[Event | None] = []
        # Indexes kept under the lock with every write: each customer's ticket ids (all,
        # and by status kind, so "the customer's open tickets" skips their history),
        # and tickets per (tenant, assignee, status kind) for assigned_counts.
        self._by_customer: dict[str, dict[str, None]] = {}
        self._by_customer_kind: dict[tuple[str, str], dict[str, None]] = {}
        self._assigned: Counter[tuple[str, str, str]] = Counter()
        # the tickets waiting in each (tenant, team) queue (open, unassigned): `queued`
        self._waiting: dict[tuple[str, str], dict[str, None]] = {}
        # where each ticket's events sit in the log, so a rewrite or purge touches only them
        self._log_at: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._tickets)

    # ------------------------------------------------------------------ writes

    def _put(self, ticket: Ticket, events: Sequence[Event], old: Ticket | None) -> None:
        self._tickets[ticket.id] = ticket
        if events:
            start = len(self._log)
            self._log.extend(events)
            self._log_at.setdefault(ticket.id, []).extend(range(start, len(self._log)))
        self._index(ticket, old)
        if old is None:
            self._events[ticket.id] = list(events)
        elif events:
            self._events[ticket.id].extend(events)
        key = due_key(ticket)
        if ticket.next_due_at is not None and (old is None or due_key(old) != key):
            heapq.heappush(self._due, (key, ticket.id))
            if len(self._due) > 2 * len(self._tickets) + 1024:
                self._rebuild_due()

    def _index(self, ticket: Ticket, old: Ticket | None) -> None:
        customer = ticket.customer.id if ticket.customer is not None else None
        before = old.customer.id if old is not None and old.customer is not None else None
        if customer != before or old is None:
            if before is not None:
                self._by_customer[before].pop(ticket.id, None)
            if customer is not None:
                self._by_customer.setdefault(customer, {})[ticket.id] = None
        kind_before = (before, old.status_kind) if old is not None else None
        if kind_before != (customer, ticket.status_kind):
            if old is not None and before is not None:
                self._by_customer_kind[before, old.status_kind].pop(ticket.id, None)
            if customer is not None:
                self._by_customer_kind.setdefault((customer, ticket.status_kind), {})[ticket.id] = None
        if old is not None and old.assignee is not None:
            key = (old.tenant, old.assignee, old.status_kind)
            self._assigned[key] -= 1
            if not self._assigned[key]:
                del self._assigned[key]
        if ticket.assignee is not None:
            self._assigned[(ticket.tenant, ticket.assignee, ticket.status_kind)] += 1
        if old is not None and (queue := _queue_of(old)) is not None:
            self._waiting[queue].pop(old.id, None)
        if (queue := _queue_of(ticket)) is not None:
            self._waiting.setdefault(queue, {})[ticket.id] = None

    def _unindex(self, old: Ticket) -> None:
        """Forget a deleted ticket in the customer and load indexes (its due entry goes lazily)."""
        if old.customer is not None:
            self._by_customer.get(old.customer.id, {}).pop(old.id, None)
            self._by_customer_kind.get((old.customer.id, old.status_kind), {}).pop(old.id, None)
        if old.assignee is not None:
            key = (old.tenant, old.assignee, old.status_kind)
            self._assigned[key] -= 1
            if not self._assigned[key]:
                del self._assigned[key]
        if (queue := _queue_of(old)) is not None:
            self._waiting[queue].pop(old.id, None)

    def _rebuild_due(self) -> None:
        self._due = [(due_key(t), t.id) for t in self._tickets.values() if t.next_due_at is not None]
        heapq.heapify(self._due)

    def _check_stored(self, ticket: Ticket, expected: int | None) -> Ticket | None:
        old = self._tickets.get(ticket.id)
        if expected is None:
            if old is not None:
                raise ConflictError(
                    ticket.id, None, old.version, detail="a ticket with this id exists already"
                )
            return None
        if old is None:
            raise ConflictError(ticket.id, expected, None)
        if old.version != expected:
            raise ConflictError(ticket.id, expected, old.version)
        if old.tenant != ticket.tenant:
            raise ValidationError.one(
                "ticket.tenant",
                f"ticket {ticket.id!r} belongs to tenant {old.tenant!r}; it cannot move to {ticket.tenant!r}",
            )
        return old

    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        """Store a new ticket and its first events (see [`TicketStore.create`][ticketkit.TicketStore.create]).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> t = tk.Ticket(subject="s", id="T1", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> store.create(t).id
            'T1'
        """
        validate_create(ticket, events)
        with self._lock:
            self._check_stored(ticket, None)
            self._put(ticket, events, None)
        return ticket

    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        """Save a new version over ``expected_version`` (see `TicketStore.save`).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import attrs, ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> t = store.create(
            ...     tk.Ticket(subject="s", id="T1", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            ... )
            >>> store.save(attrs.evolve(t, status="open", version=2), [], 1).version
            2
        """
        validate_save(ticket, events, expected_version)
        with self._lock:
            old = self._check_stored(ticket, expected_version)
            self._put(ticket, events, old)
        return ticket

    def save_many(self, changes: Iterable[Change]) -> list[Ticket]:
        """Apply a batch of writes atomically (see `TicketStore.save_many`).

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().save_many([])
            []
        """
        checked = validate_changes(changes)
        with self._lock:
            olds = [self._check_stored(ticket, expected) for ticket, _, expected in checked]
            for (ticket, events, _), old in zip(checked, olds, strict=True):
                self._put(ticket, events, old)
        return [c[0] for c in checked]

    # ------------------------------------------------------------------ reads

    def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
        """The stored ticket (see [`TicketStore.get`][ticketkit.TicketStore.get]).

        Examples:
            >>> import ticketkit as tk
            >>> try:
            ...     tk.InMemoryStore().get("nope")
            ... except tk.NotFoundError as err:
            ...     print(err)
            no ticket with id 'nope'
        """
        ticket = self._tickets.get(ticket_id)
        if ticket is None or (tenant is not None and ticket.tenant != tenant):
            raise NotFoundError("ticket", ticket_id)
        return ticket

    def events(self, ticket_id: str, *, tenant: str | None = None) -> list[Event]:
        """The ticket's events in stored order (see [`TicketStore.events`][ticketkit.TicketStore.events]).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 1, 1, tzinfo=timezone.utc)
            >>> store = tk.InMemoryStore()
            >>> e = tk.Event(ticket_id="T1", kind="ticket.created", actor="system", at=at)
            >>> _ = store.create(tk.Ticket(subject="s", id="T1", created_at=at), [e])
            >>> [x.kind for x in store.events("T1")]
            ['ticket.created']
        """
        with self._lock:
            self.get(ticket_id, tenant=tenant)
            return list(self._events[ticket_id])

    def scan(self, *, tenant: str | None = None) -> Iterator[Ticket]:
        """Every ticket (of ``tenant``), from a snapshot taken at the call.

        Examples:
            >>> import ticketkit as tk
            >>> list(tk.InMemoryStore().scan())
            []
        """
        with self._lock:
            snapshot = list(self._tickets.values())
        if tenant is None:
            return iter(snapshot)
        return (t for t in snapshot if t.tenant == tenant)

    def _candidates(self, query: Query) -> Iterable[Ticket]:
        """The tickets a query can match: a customer's from the index, else a snapshot of all."""
        if query.customer is None:
            return self.scan(tenant=query.tenant)
        with self._lock:
            if query.status_kind is not None:
                buckets = [
                    self._by_customer_kind.get((c, k), {}) for c in query.customer for k in query.status_kind
                ]
            else:
                buckets = [self._by_customer.get(c, {}) for c in query.customer]
            return [self._tickets[tid] for bucket in buckets for tid in bucket]

    def run_query(self, query: Query) -> Page:
        """Answer a checked query from a consistent snapshot (a customer's tickets from the index).

        Examples:
            >>> import ticketkit as tk
            >>> len(tk.InMemoryStore().query(customer="c-1"))
            0
        """
        return query.page(self._candidates(query))

    def run_count(self, query: Query) -> int:
        """Count for a checked query from a consistent snapshot (a customer's tickets from the index)."""
        return sum(1 for t in self._candidates(query) if query.matches(t))

    def assigned_counts(
        self,
        agents: Iterable[str],
        *,
        tenant: str | None = None,
        status_kind: Iterable[str] = OPEN_STATUS_KINDS,
    ) -> dict[str, int]:
        """Tickets per agent in the given status kinds, from counters kept with every write.

        See [`TicketStore.assigned_counts`][ticketkit.TicketStore.assigned_counts]; costs O(agents x tenants x
        kinds).

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().assigned_counts(["li"])
            {'li': 0}
        """
        names, kinds = check_counts_args(agents, tenant, status_kind)
        with self._lock:
            if tenant is not None:
                return {a: sum(self._assigned.get((tenant, a, k), 0) for k in kinds) for a in names}
            wanted = set(names)
            out = dict.fromkeys(names, 0)
            for (_, agent, kind), n in self._assigned.items():
                if agent in wanted and kind in kinds:
                    out[agent] += n
            return out

    def due(self, at: datetime, *, limit: int = 100, tenant: str | None = None) -> list[Ticket]:
        """Tickets with ``next_due_at <= at``, oldest first, from the due heap.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> store = tk.InMemoryStore()
            >>> _ = store.create(
            ...     tk.Ticket(subject="s", id="T1", created_at=at, sla=tk.SLAState(next_due_at=at))
            ... )
            >>> [t.id for t in store.due(at)]
            ['T1']
        """
        check_due_args(at, limit)
        with self._lock:
            return self._due_locked(instant_key(at), limit, tenant)

    def _due_locked(self, at_key: int, limit: int, tenant: str | None) -> list[Ticket]:
        heap = self._due
        out: list[Ticket] = []
        taken: list[tuple[int, str]] = []
        seen: set[str] = set()
        while heap and heap[0][0] <= at_key and len(out) < limit:
            key, tid = heapq.heappop(heap)
            ticket = self._tickets.get(tid)
            if ticket is None or tid in seen or due_key(ticket) != key:
                continue  # stale or duplicate entry: drop it for good
            seen.add(tid)
            taken.append((key, tid))
            if tenant is None or ticket.tenant == tenant:
                out.append(ticket)
        for entry in taken:
            heapq.heappush(heap, entry)
        return out

    def claim_due(
        self,
        at: datetime,
        *,
        worker: str,
        lease: timedelta,
        limit: int = 100,
        tenant: str | None = None,
    ) -> list[Ticket]:
        """Claim due tickets under the store's lock (see `TicketStore.claim_due`).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().claim_due(
            ...     datetime(2025, 1, 1, tzinfo=timezone.utc), worker="w", lease=timedelta(minutes=1)
            ... )
            []
        """
        _check_claim_args(at, worker, lease, limit)
        until = at + lease
        with self._lock:
            claimed = []
            for ticket in self._due_locked(instant_key(at), limit, tenant):
                new = leased(ticket, until)
                self._put(new, (), ticket)
                claimed.append(new)
            return claimed

    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        """Apply a batch of writes, keep ``outbox`` and bind ``message_keys`` under one lock.

        See `TicketStore.commit`.

        Examples:
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> store.commit([], message_keys={"msg:email:a@b": ""})
            []
            >>> store.message_key("msg:email:a@b", tenant="default")
            ''
        """
        messages = check_messages(outbox)
        wanted = validate_key_bindings(message_keys, tenant) if message_keys else {}
        saved: list[Ticket] = []

        def write() -> None:
            saved.extend(self.save_many(changes))
            self._memory_outbox().add(messages)

        with self._lock:
            if wanted:
                default_keys(self).commit(wanted, tenant, write)
            else:
                write()
        return saved

    def changes(self, after: str | None = None, *, limit: int = 1000) -> FeedPage:
        """Committed events after ``after`` in commit order (see `TicketStore.changes`).

        Examples:
            >>> import ticketkit as tk
            >>> len(tk.InMemoryStore().changes())
            0
        """
        check_feed_limit(limit)
        start = int_cursor(after, "memory")
        with self._lock:
            found: list[Event] = []
            end = start
            while end < len(self._log) and len(found) < limit:
                event = self._log[end]
                end += 1
                if event is not None:
                    found.append(event)
        return FeedPage(events=tuple(found), cursor=encode_cursor("memory", end))

    def rewrite(
        self,
        ticket: Ticket,
        events: Sequence[Event],
        *,
        append: Sequence[Event] = (),
        expected_version: int,
    ) -> Ticket:
        """Replace the ticket and its events in place (see `TicketStore.rewrite`).

        Examples:
            >>> import ticketkit as tk
            >>> hasattr(tk.InMemoryStore(), "rewrite")
            True
        """
        validate_rewrite(ticket, events, append, expected_version)
        with self._lock:
            old = self._check_stored(ticket, expected_version)
            check_same_events(ticket.id, [e.id for e in self._events[ticket.id]], events)
            self._events[ticket.id] = list(events)
            self._relog(ticket.id, {e.id: e for e in events})
            self._put(ticket, append, old)
        return ticket

    def purge(
        self, ticket_id: str, *, tenant: str | None = None, expected_version: int | None = None
    ) -> None:
        """Delete the ticket, its events and its outbox messages (see `TicketStore.purge`).

        Examples:
            >>> import ticketkit as tk
            >>> hasattr(tk.InMemoryStore(), "purge")
            True
        """
        with self._lock:
            old = self._tickets.get(ticket_id)
            check_purge(
                ticket_id, None if old is None else (old.tenant, old.version), tenant, expected_version
            )
            del self._tickets[ticket_id]
            del self._events[ticket_id]
            self._relog(ticket_id, {})
            self._memory_outbox().drop_ticket(ticket_id)
            if old is not None:
                self._unindex(old)

    def _relog(self, ticket_id: str, events: dict[str, Event]) -> None:
        # The change feed shows a rewritten event as rewritten and a purged one not at all.
        for i in self._log_at.get(ticket_id, ()):
            old = self._log[i]
            if old is not None:
                self._log[i] = events.get(old.id)
        if not events:
            self._log_at.pop(ticket_id, None)

    def queued(
        self, team: str, *, tenant: str, limit: int = 100, after: Ticket | None = None
    ) -> list[Ticket]:
        """A team's queue from the index of waiting tickets (see `TicketStore.queued`).

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().queued("returns", tenant="default")
            []
        """
        validate_queue_args(team, tenant, limit)
        with self._lock:
            waiting = [self._tickets[i] for i in self._waiting.get((tenant, team), ())]
        waiting.sort(key=_queue_order)
        if after is not None:
            position = _queue_order(after)
            waiting = [t for t in waiting if _queue_order(t) > position]
        return waiting[:limit]


def _queue_of(ticket: Ticket) -> tuple[str, str] | None:
    """The (tenant, team) queue the ticket waits in (open, unassigned, with a team), or None."""
    if ticket.team is None or ticket.assignee is not None or ticket.status_kind not in QUEUE_KINDS:
        return None
    return (ticket.tenant, ticket.team)


def _queue_order(ticket: Ticket) -> tuple[int, int, str]:
    """Hand-out order: highest priority, then oldest, then id."""
    return (-ticket.priority.rank, instant_key(ticket.created_at), ticket.id)
