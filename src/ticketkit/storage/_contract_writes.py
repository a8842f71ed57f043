"""The contract's write and fidelity families: create, get, save, events, save_many, round trips."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from ticketkit.errors import ConflictError, NotFoundError, ValidationError
from ticketkit.model._models import Event, Ticket
from ticketkit.storage._base import TicketStore
from ticketkit.storage._contract_support import (
    SH,
    T0,
    TYPED_VALUES,
    ContractBase,
    assert_same,
    bump,
    due,
    ev,
    full_ticket,
    ids,
    tk,
)


def _nothing_stored(store: TicketStore, *ticket_ids: str) -> None:
    for tid in ticket_ids:
        with pytest.raises(NotFoundError):
            store.get(tid)


class WriteContract(ContractBase):
    """Writes: create, get, save and events are atomic and optimistic; bad writes store nothing."""

    def test_create_then_get_returns_the_same_value(self, store: TicketStore) -> None:
        """A created ticket reads back the same (types included), with its events."""
        ticket = tk(1)
        event = ev(ticket)
        assert_same(ticket, store.create(ticket, [event]), "create()'s return value")
        assert_same(ticket, store.get(ticket.id), "get() of a created ticket")
        assert_same([event], store.events(ticket.id), "events() of a created ticket")

    def test_get_missing_ticket_is_not_found(self, store: TicketStore) -> None:
        """get() and events() of an unknown id raise NotFoundError."""
        store.create(tk(1))
        for missing in ("missing", "T000", "T00011", "t0001", ""):
            with pytest.raises(NotFoundError):
                store.get(missing)
            with pytest.raises(NotFoundError):
                store.events(missing)

    def test_create_existing_id_conflicts_and_writes_nothing(self, store: TicketStore) -> None:
        """Creating an id twice is a ConflictError; the first ticket and its events stay."""
        first = store.create(tk(1), [ev(tk(1))])
        other = tk(1, subject="impostor", tenant="other")
        with pytest.raises(ConflictError) as info:
            store.create(other, [ev(other, "x.y")])
        assert (None, 1) == (info.value.expected, info.value.actual)
        assert_same(first, store.get(first.id), "the ticket after a refused create")
        assert ["ticket.created"] == [e.kind for e in store.events(first.id)]
        assert 0 == store.count(tenant="other")

    def test_create_without_events(self, store: TicketStore) -> None:
        """A ticket may be created with no events."""
        store.create(tk(1))
        assert [] == store.events("T0001")

    def test_create_checks_its_arguments(self, store: TicketStore) -> None:
        """Events of another ticket or tenant, or a non-ticket, are a ValidationError; nothing is stored."""
        t = tk(1)
        wrong = [ev(t), ev(tk(2)), attrs.evolve(ev(t), tenant="other")]
        with pytest.raises(ValidationError) as info:
            store.create(t, wrong)
        assert ["events[1].ticket_id", "events[2].tenant"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError):
            store.create({"subject": "not a ticket"}, [])  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.create(t, ["not an event"])  # type: ignore[list-item]
        _nothing_stored(store, "T0001", "T0002")
        assert 0 == store.count()

    def test_save_replaces_ticket_and_appends_events_in_save_order(self, store: TicketStore) -> None:
        """save() stores the new version and appends its events after the earlier ones, in save order."""
        t1 = store.create(tk(1), [ev(tk(1), at=T0 + timedelta(days=3))])
        t2 = bump(t1, status="open", status_kind="open", updated_at=T0 + timedelta(hours=1))
        events = [
            ev(t2, "status.changed", at=T0 + timedelta(days=2), to="open"),
            ev(t2, "ticket.assigned", at=T0 - timedelta(days=1), team="t1"),
        ]
        assert_same(t2, store.save(t2, events, 1), "save()'s return value")
        assert_same(t2, store.get(t1.id), "get() after save")
        t3 = store.save(bump(t2, status="s3"), [ev(bump(t2), "later.saved", at=T0 - timedelta(days=9))], 2)
        kinds = [e.kind for e in store.events(t1.id)]
        assert ["ticket.created", "status.changed", "ticket.assigned", "later.saved"] == kinds, (
            "events must come back in the order they were saved, not sorted by time or id"
        )
        assert_same(t3, store.get(t1.id), "get() after two saves")

    def test_stale_save_conflicts_and_writes_nothing(self, store: TicketStore) -> None:
        """A save over an old version raises ConflictError with both versions; nothing changes."""
        t1 = store.create(tk(1), [ev(tk(1))])
        t2 = store.save(bump(t1, status="open"), [ev(bump(t1), "a.b")], 1)
        stale = bump(t1, status="closed")
        with pytest.raises(ConflictError) as info:
            store.save(stale, [ev(stale, "c.d")], 1)
        assert (1, 2) == (info.value.expected, info.value.actual)
        assert_same(t2, store.get(t1.id), "the ticket after a stale save")
        assert ["ticket.created", "a.b"] == [e.kind for e in store.events(t1.id)]
        with pytest.raises(ConflictError):
            store.save(attrs.evolve(t2, version=4), [], 3)  # a version from the future
        assert 2 == store.get(t1.id).version

    def test_save_of_missing_ticket_conflicts(self, store: TicketStore) -> None:
        """Saving a ticket that was never created is a ConflictError and creates nothing."""
        with pytest.raises(ConflictError) as info:
            store.save(tk(1, version=2), [ev(tk(1, version=2))], 1)
        assert (1, None) == (info.value.expected, info.value.actual)
        _nothing_stored(store, "T0001")

    def test_save_needs_the_next_version(self, store: TicketStore) -> None:
        """A ticket whose version is not expected_version + 1 is a ValidationError; nothing written."""
        t1 = store.create(tk(1))
        for version in (5, 1, 0):
            with pytest.raises(ValidationError) as info:
                store.save(attrs.evolve(t1, version=version, status="open"), [], 1)
            assert ["ticket.version"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError):
            store.save(bump(t1), [], True)  # noqa: FBT003
        assert_same(t1, store.get(t1.id), "the ticket after refused saves")

    def test_events_of_another_ticket_are_refused(self, store: TicketStore) -> None:
        """An event for another ticket or tenant is a ValidationError; nothing is written."""
        t1 = store.create(tk(1))
        t2 = bump(t1, status="open")
        wrong = [ev(t2), ev(tk(2)), attrs.evolve(ev(t2), tenant="other")]
        with pytest.raises(ValidationError) as info:
            store.save(t2, wrong, 1)
        assert ["events[1].ticket_id", "events[2].tenant"] == [e.path for e in info.value.errors]
        assert_same(t1, store.get(t1.id), "the ticket after refused events")
        assert [] == store.events(t1.id)

    def test_a_ticket_cannot_change_tenant(self, store: TicketStore) -> None:
        """Saving a ticket under another tenant is a ValidationError; nothing is written."""
        t1 = store.create(tk(1))
        moved = bump(t1, tenant="other")
        with pytest.raises(ValidationError) as info:
            store.save(moved, [ev(moved)], 1)
        assert ["ticket.tenant"] == [e.path for e in info.value.errors]
        assert_same(t1, store.get(t1.id), "the ticket after a refused tenant change")
        assert [] == store.events(t1.id)

    def test_each_version_is_saved_once(self, store: TicketStore) -> None:
        """A run of saves succeeds version by version; replaying any older one conflicts."""
        t = store.create(tk(1))
        history = [t]
        for n in range(2, 7):
            t = store.save(bump(t, status=f"s{n}"), [ev(bump(t), "x.y")], t.version)
            history.append(t)
        for old in history[:-1]:
            with pytest.raises(ConflictError):
                store.save(bump(old), [], old.version)
        assert 6 == store.get(t.id).version
        assert [2, 3, 4, 5, 6] == [e.version for e in store.events(t.id)]

    def test_store_is_a_context_manager(self, store: TicketStore) -> None:
        """`with store:` gives the store itself."""
        with store as entered:
            assert entered is store


class BatchContract(ContractBase):
    """Batches: save_many mixes creates and saves and is all or nothing wherever the fault is."""

    def test_save_many_creates_and_saves(self, store: TicketStore) -> None:
        """A batch may mix creates and saves; it returns the tickets in batch order."""
        t1 = store.create(tk(1))
        saved = store.save_many([(bump(t1, status="open"), [], 1), (tk(2), [ev(tk(2))], None)])
        assert ["T0001", "T0002"] == ids(saved)
        assert ("open", 2) == (store.get("T0001").status, store.get("T0001").version)
        assert 1 == len(store.events("T0002"))
        assert [] == store.save_many([])

    @pytest.mark.parametrize("where", [0, 1, 2, 3])
    def test_save_many_is_all_or_nothing(self, store: TicketStore, where: int) -> None:
        """A stale write or an existing id anywhere in a batch fails it whole; nothing is written."""
        t1 = store.create(tk(1))
        t2 = store.create(tk(2))
        good: list[tuple[Ticket, list[Event], int | None]] = [
            (tk(3), [ev(tk(3))], None),
            (bump(t1, status="open"), [ev(bump(t1), "a.b")], 1),
            (tk(4), [], None),
        ]
        bad: tuple[Ticket, list[Event], int | None] = (
            (attrs.evolve(t2, status="open", version=8), [], 7)
            if where % 2
            else (tk(2, subject="x"), [], None)
        )
        batch = [*good[:where], bad, *good[where:]]
        with pytest.raises(ConflictError):
            store.save_many(batch)
        _nothing_stored(store, "T0003", "T0004")
        assert_same(t1, store.get("T0001"), "a ticket of a refused batch")
        assert [] == store.events("T0001")
        assert 2 == store.count()

    def test_save_many_refuses_a_ticket_twice(self, store: TicketStore) -> None:
        """The same ticket twice in one batch is a ValidationError."""
        t1 = store.create(tk(1))
        with pytest.raises(ValidationError):
            store.save_many([(tk(2), [], None), (tk(2), [], None)])
        with pytest.raises(ValidationError):
            store.save_many([(bump(t1), [], 1), (bump(bump(t1)), [], 2)])
        assert 1 == store.count()
        assert 1 == store.get("T0001").version

    def test_save_many_cannot_change_tenant(self, store: TicketStore) -> None:
        """A batch moving a ticket to another tenant is a ValidationError; nothing of it is written."""
        t1 = store.create(tk(1))
        with pytest.raises(ValidationError):
            store.save_many([(tk(2), [], None), (bump(t1, tenant="other"), [], 1)])
        assert_same(t1, store.get("T0001"), "the ticket after a refused batch")
        assert ["T0001"] == ids(store.query())
        assert 0 == store.count(tenant="other")

    def test_save_many_checks_its_arguments(self, store: TicketStore) -> None:
        """Bad changes are a ValidationError naming each; nothing of the batch is written."""
        t1 = store.create(tk(1))
        with pytest.raises(ValidationError) as info:
            store.save_many(
                [
                    (tk(2), [ev(tk(3))], None),
                    (bump(t1, status="x"), [attrs.evolve(ev(bump(t1)), tenant="other")], 1),
                    ("junk",),  # type: ignore[list-item]
                ]
            )
        paths = [e.path for e in info.value.errors]
        assert ["changes[0].events[0].ticket_id", "changes[1].events[0].tenant", "changes[2]"] == paths
        _nothing_stored(store, "T0002")
        assert_same(t1, store.get("T0001"), "the ticket after a refused batch")


class FidelityContract(ContractBase):
    """Fidelity: every value comes back as stored, types, offsets and microseconds included."""

    def test_every_field_round_trips(self, store: TicketStore) -> None:
        """Unicode, a large text, microseconds, offsets and nested data come back exactly, on every read."""
        ticket = full_ticket()
        event = Event(
            ticket_id=ticket.id,
            kind="comment.added",
            actor="customer:c-1",
            at=datetime(2025, 3, 1, 4, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
            data={"comment": {"body": "\u4f60\u597d\n\U0001f600", "public": True}, **TYPED_VALUES},
            version=7,
            tenant=ticket.tenant,
            id="EV-\u00e9",
        )
        store.create(ticket, [event])
        assert_same(ticket, store.get(ticket.id, tenant=ticket.tenant), "get()")
        assert_same([event], store.events(ticket.id), "events()")
        assert_same(ticket, store.query(tenant=ticket.tenant).items[0], "query()")
        assert_same([ticket], list(store.scan(tenant=ticket.tenant)), "scan()")
        assert ticket.next_due_at is not None
        assert_same([ticket], store.due(ticket.next_due_at), "due()")

    def test_saved_version_round_trips(self, store: TicketStore) -> None:
        """A saved (not just created) version comes back exactly."""
        ticket = attrs.evolve(full_ticket(), version=1)
        store.create(ticket)
        new = bump(ticket, description="\u00e9" * 10, tags=frozenset(), updated_at=T0.astimezone(SH))
        store.save(new, [], 1)
        assert_same(new, store.get(ticket.id), "get() of a saved version")

    @pytest.mark.parametrize("read", ["get", "events", "query", "scan", "due", "claim_due", "save_many"])
    def test_json_values_keep_their_types(self, store: TicketStore, read: str) -> None:
        """Custom fields and event data keep their JSON types: True is not 1, 1.0 is not 1."""
        t = tk(1, fields=TYPED_VALUES, sla=due(T0))
        event = ev(t, **TYPED_VALUES)
        if read == "save_many":
            store.save_many([(t, [event], None)])
        else:
            store.create(t, [event])
        reads: dict[str, Callable[[], Any]] = {
            "get": lambda: store.get(t.id),
            "events": lambda: store.events(t.id)[0].data,
            "query": lambda: store.query(tenant="default").items[0],
            "scan": lambda: next(iter(store.scan())),
            "due": lambda: store.due(T0)[0],
            "claim_due": lambda: store.claim_due(T0, worker="w", lease=timedelta(hours=1))[0].fields,
            "save_many": lambda: store.get(t.id),
        }
        got = reads[read]()
        if read == "events":
            assert_same(event.data, got, "event data read by events()")
        elif read == "claim_due":
            assert_same(t.fields, got, "custom fields of a claimed ticket")
        else:
            assert_same(t, got, f"a ticket read by {read}()")

    @pytest.mark.parametrize(
        "moment",
        [
            datetime(2025, 3, 3, 9, 0, 0, 1, tzinfo=UTC),
            datetime(2025, 3, 3, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=5, minutes=45))),
            datetime(2025, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-12))),
            datetime(1970, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC),
            datetime(2099, 12, 31, 23, 59, 59, 123_456, tzinfo=timezone(timedelta(hours=14))),
        ],
        ids=lambda m: m.isoformat(),
    )
    def test_instants_keep_offset_and_microseconds(self, store: TicketStore, moment: datetime) -> None:
        """Every datetime comes back aware, with its own offset and every microsecond."""
        t = tk(1, created_at=moment, updated_at=moment, first_response_at=moment, sla=due(moment))
        store.create(t, [ev(t, at=moment)])
        assert_same(t, store.get(t.id), "get()")
        assert_same(moment, store.events(t.id)[0].at, "an event's time")
        assert_same([t], store.due(moment), "due() at the checkpoint itself")
        one_us = store.query(created_since=moment, created_before=moment + timedelta(microseconds=1))
        assert_same([t], one_us.items, "query() of a one-microsecond range")
