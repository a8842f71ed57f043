"""The contract's outbox and change-feed families: commit with messages, claims, failures, the feed.

Part of ``ticketkit.testing.StoreContract`` (imports pytest; loaded only with it).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from ticketkit.errors import ConflictError, ValidationError
from ticketkit.storage._base import TicketStore
from ticketkit.storage._contract_support import T0, ContractBase, bump, ev, tk
from ticketkit.storage._outbox import OutboxMessage

_LEASE = timedelta(minutes=5)


def msg(i: int, *, at: datetime = T0, payload: str = "{}", ticket_id: str | None = None) -> OutboxMessage:
    """A pending outbox message numbered ``i``, available at ``at``, of ``ticket_id``."""
    return OutboxMessage(
        id=f"n-{i:04d}", payload=payload, created_at=at, available_at=at, ticket_id=ticket_id
    )


def mids(messages: list[OutboxMessage]) -> list[str]:
    """The ids of ``messages``, in order."""
    return [m.id for m in messages]


class OutboxContract(ContractBase):
    """The outbox: written with the change, claimed under a lease, sent once marked, dead after failing."""

    def test_outbox_commit_writes_change_and_messages_once(self, store: TicketStore) -> None:
        """commit saves the tickets and the messages; a message id already there is not written again."""
        t = tk(1)
        assert [t] == store.commit([(t, [ev(t)], None)], [msg(1, payload='{"a":1}'), msg(2)])
        assert t == store.get(t.id)
        assert 1 == len(store.events(t.id))
        store.mark_sent(["n-0001"])
        t2 = bump(t, status="open")
        store.commit([(t2, [ev(t2)], 1)], [msg(1, payload='{"a":2}'), msg(3)])
        out = {m.id: m for m in store.outbox()}
        assert ["n-0001", "n-0002", "n-0003"] == sorted(out)
        assert ("sent", '{"a":1}') == (out["n-0001"].status, out["n-0001"].payload)
        assert ["n-0002", "n-0003"] == mids(store.claim_outbox(T0, worker="w", lease=_LEASE))

    def test_outbox_conflict_writes_no_message(self, store: TicketStore) -> None:
        """A commit that conflicts writes neither its tickets nor its messages."""
        t = store.create(tk(1))
        with pytest.raises(ConflictError):
            store.commit([(tk(2), [], None), (bump(bump(t)), [], 2)], [msg(1)])
        with pytest.raises(ConflictError):
            store.commit([(tk(1), [], None)], [msg(2)])
        assert [] == store.outbox()
        assert 1 == store.count()
        assert store.next_outbox_at() is None

    def test_outbox_claim_leases(self, store: TicketStore) -> None:
        """A claimed message is nobody else's until its lease ends, then it can be claimed again."""
        store.commit([], [msg(1), msg(2, at=T0 + timedelta(minutes=1))])
        first = store.claim_outbox(T0, worker="w1", lease=_LEASE)
        assert ["n-0001"] == mids(first)
        assert T0 + _LEASE == first[0].available_at
        assert [] == store.claim_outbox(T0 + timedelta(seconds=30), worker="w2", lease=_LEASE)
        assert ["n-0002"] == mids(store.claim_outbox(T0 + timedelta(minutes=1), worker="w2", lease=_LEASE))
        assert ["n-0001"] == mids(store.claim_outbox(T0 + _LEASE, worker="w3", lease=_LEASE))

    def test_outbox_claim_order_and_limit(self, store: TicketStore) -> None:
        """Claims take the earliest available messages first (ties by id), at most ``limit``."""
        store.commit([], [msg(i, at=T0 + timedelta(seconds=10 - i)) for i in range(1, 8)])
        got = store.claim_outbox(T0 + timedelta(minutes=1), worker="w", lease=_LEASE, limit=3)
        assert ["n-0007", "n-0006", "n-0005"] == mids(got)
        rest = store.claim_outbox(T0 + timedelta(minutes=1), worker="w", lease=_LEASE, limit=10)
        assert ["n-0004", "n-0003", "n-0002", "n-0001"] == mids(rest)
        with pytest.raises(ValidationError):
            store.claim_outbox(T0, worker="", lease=timedelta(0), limit=0)

    def test_outbox_sent_never_claimed(self, store: TicketStore) -> None:
        """A message marked sent is never claimed again, even after its lease."""
        store.commit([], [msg(1), msg(2)])
        store.claim_outbox(T0, worker="w", lease=_LEASE)
        store.mark_sent(["n-0001", "n-0002", "unknown"])
        assert [] == store.claim_outbox(T0 + timedelta(days=1), worker="w", lease=_LEASE)
        assert ["n-0001", "n-0002"] == mids(store.outbox(status="sent"))
        assert store.next_outbox_at() is None

    def test_outbox_failures_retry_then_die(self, store: TicketStore) -> None:
        """A failure counts a try and waits for retry_at; None makes a dead letter only requeue revives."""
        store.commit([], [msg(1)])
        store.claim_outbox(T0, worker="w", lease=_LEASE)
        store.mark_failed("n-0001", error="timeout", retry_at=T0 + timedelta(minutes=1))
        (m,) = store.outbox(status="pending")
        assert (1, "timeout", T0 + timedelta(minutes=1)) == (m.attempts, m.error, m.available_at)
        assert T0 + timedelta(minutes=1) == store.next_outbox_at()
        assert [] == store.claim_outbox(T0 + timedelta(seconds=59), worker="w", lease=_LEASE)
        assert ["n-0001"] == mids(store.claim_outbox(T0 + timedelta(minutes=1), worker="w", lease=_LEASE))
        store.mark_failed("n-0001", error="refused", retry_at=None)
        (dead,) = store.outbox(status="dead")
        assert (2, "refused") == (dead.attempts, dead.error)
        assert [] == store.claim_outbox(T0 + timedelta(days=9), worker="w", lease=_LEASE)
        assert store.next_outbox_at() is None
        assert 1 == store.requeue(["n-0001", "unknown"], at=T0 + timedelta(hours=1))
        (back,) = store.outbox(status="pending")
        assert (0, T0 + timedelta(hours=1)) == (back.attempts, back.available_at)

    def test_outbox_failure_after_send_stays_sent(self, store: TicketStore) -> None:
        """A late failure report (an expired lease elsewhere) never revives a sent message."""
        store.commit([], [msg(1)])
        store.mark_sent(["n-0001"])
        store.mark_failed("n-0001", error="late", retry_at=T0)
        store.mark_failed("n-0001", error="late", retry_at=None)
        assert 0 == store.requeue(["n-0001"], at=T0)
        assert ["sent"] == [m.status for m in store.outbox()]

    def test_outbox_concurrent_claims_never_share(self, store: TicketStore) -> None:
        """Threads claiming together (on two handles when the suite has them) never get one message twice."""
        self.need_threads()
        store.commit([], [msg(i) for i in range(60)])
        handles = [store, store]
        if getattr(self, "_again", None) is not None:
            handles[1] = self.other_handle(store)
        got: list[list[str]] = [[], [], [], []]
        errors: list[BaseException] = []
        stop = threading.Event()

        def claim(k: int) -> None:
            # Bounded: 60 messages need at most 60 non-empty claims in all, so a store that
            # hands the same rows out again (no lease) ends the loop instead of spinning
            # for the rest of the test session.
            try:
                for _ in range(61):
                    batch = handles[k % 2].claim_outbox(T0, worker=f"w{k}", lease=_LEASE, limit=4)
                    if not batch or stop.is_set():
                        return
                    got[k].extend(mids(batch))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=claim, args=(k,), daemon=True) for k in range(4)]
        for th in threads:
            th.start()
        try:
            for th in threads:
                th.join(self.thread_timeout)
        finally:
            stop.set()
        assert not any(th.is_alive() for th in threads), (
            f"a claiming thread was still running after {self.thread_timeout:g}s"
        )
        assert [] == errors
        every = [i for part in got for i in part]
        assert sorted(mids([msg(i) for i in range(60)])) == sorted(every)


class OutboxTicketContract(ContractBase):
    """A message names its ticket; the ticket's messages go with an erasure (``drop_outbox``) or a purge."""

    def _three_tickets(self, store: TicketStore) -> list[str]:
        """Tickets 1 and 2 with pending, sent and dead messages each, and a message of no ticket."""
        a, b = tk(1), tk(2)
        store.commit(
            [(a, [ev(a)], None), (b, [ev(b)], None)],
            [
                msg(1, ticket_id=a.id, payload='{"phone":"138"}'),
                msg(2, ticket_id=a.id),
                msg(3, ticket_id=a.id),
                msg(4, ticket_id=b.id),
                msg(5),
            ],
        )
        store.mark_sent(["n-0002"])
        store.claim_outbox(T0, worker="w", lease=_LEASE)
        store.mark_failed("n-0003", error="refused", retry_at=None)
        return [a.id, b.id]

    def test_outbox_messages_keep_their_ticket(self, store: TicketStore) -> None:
        """Every listing and claim returns the ticket id a message was written with (or None)."""
        a, b = self._three_tickets(store)
        assert {"n-0001": a, "n-0002": a, "n-0003": a, "n-0004": b, "n-0005": None} == {
            m.id: m.ticket_id for m in store.outbox()
        }
        store.requeue(["n-0003"], at=T0)
        got = store.claim_outbox(T0 + _LEASE, worker="w2", lease=_LEASE)
        assert [("n-0001", a), ("n-0003", a), ("n-0004", b), ("n-0005", None)] == sorted(
            (m.id, m.ticket_id) for m in got
        )

    def test_drop_outbox_removes_only_that_tickets_messages(self, store: TicketStore) -> None:
        """drop_outbox deletes the ticket's pending, sent and dead messages, and nothing else."""
        a, _ = self._three_tickets(store)
        assert 3 == store.drop_outbox(a)
        assert ["n-0004", "n-0005"] == mids(store.outbox())
        assert [] == store.outbox(status="dead")
        assert 0 == store.drop_outbox(a)
        assert 0 == store.drop_outbox("no-such-ticket")
        with pytest.raises(ValidationError):
            store.drop_outbox("")
        assert ["n-0004", "n-0005"] == mids(store.claim_outbox(T0 + _LEASE, worker="w", lease=_LEASE))

    def test_purge_removes_the_tickets_messages(self, store: TicketStore) -> None:
        """A purged ticket leaves no outbox message behind; other tickets' messages stay."""
        if type(store).purge is TicketStore.purge:
            pytest.skip("the store keeps the default purge (NotImplementedError)")
        a, _ = self._three_tickets(store)
        store.purge(a)
        assert ["n-0004", "n-0005"] == mids(store.outbox())


class FeedContract(ContractBase):
    """The change feed: every committed event once, in a stable order, from a resumable cursor."""

    def test_feed_every_event_once(self, store: TicketStore) -> None:
        """Following the feed page by page while writing returns each committed event exactly once."""
        seen: list[str] = []
        page = store.changes(limit=2)
        seen.extend(e.id for e in page.events)
        written: list[str] = []
        tickets = [tk(i) for i in range(1, 6)]
        for round_ in range(3):
            for i, t in enumerate(tickets):
                new = t if round_ == 0 else bump(t, status=f"s{round_}")
                events = [ev(new, f"k{round_}.{j}") for j in range(i % 3)]
                store.commit([(new, events, None if round_ == 0 else t.version)])
                tickets[i] = new
                written.extend(e.id for e in events)
            while len(page := store.changes(page.cursor, limit=2)):
                assert len(page) <= 2
                seen.extend(e.id for e in page.events)
        assert sorted(written) == sorted(seen)
        assert len(set(seen)) == len(seen)
        again = store.changes(limit=1000)
        assert sorted(written) == sorted(e.id for e in again.events)
        assert [] == list(store.changes(again.cursor).events)

    def test_feed_order_is_stable(self, store: TicketStore) -> None:
        """The feed read twice from the start is the same, each ticket's events in their stored order."""
        t = tk(1)
        store.create(t, [ev(t, "a"), ev(t, "b")])
        t2 = bump(t)
        store.save(t2, [ev(t2, "c", at=T0 - timedelta(days=1))], 1)
        first = [e.id for e in store.changes().events]
        assert first == [e.id for e in store.changes().events]
        assert ["a", "b", "c"] == [e.kind for e in store.changes().events]

    def test_feed_refuses_foreign_cursors(self, store: TicketStore) -> None:
        """A cursor the store did not make, or a bad limit, is a ValidationError."""
        for bad in ("nope", "eyJ4IjoxfQ==", 5):
            with pytest.raises(ValidationError):
                store.changes(bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.changes(limit=0)
