"""The storage contract as a pytest suite (public as ``ticketkit.testing.StoreContract``).

This module imports pytest; ``ticketkit.testing`` loads it only when ``StoreContract``
is asked for, so ``ManualClock`` works without pytest installed.
"""

from __future__ import annotations

import io
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import attrs
import pytest

from ticketkit.errors import ConflictError, NotFoundError, ValidationError
from ticketkit.model._models import ClockState, Customer, Event, Link, Priority, SLAState, Ticket
from ticketkit.model._serialization import to_dict
from ticketkit.storage._base import ORDER_KEYS, Query, TicketStore
from ticketkit.storage._contract_load import LoadContract

__all__ = ["StoreContract"]

# --------------------------------------------------------------------------- the contract suite

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
_SH = timezone(timedelta(hours=8))


def _tk(i: int, **changes: Any) -> Ticket:
    """A small ticket numbered ``i`` (id ``T0001``), created one minute after the previous one."""
    at = T0 + timedelta(minutes=i)
    base: dict[str, Any] = {"subject": f"ticket {i}", "id": f"T{i:04d}", "created_at": at}
    base.update(changes)
    return Ticket(**base)


def _ev(ticket: Ticket, kind: str = "ticket.created", **data: Any) -> Event:
    return Event(
        ticket_id=ticket.id,
        kind=kind,
        actor="system",
        at=ticket.updated_at,
        data=data,
        version=ticket.version,
        tenant=ticket.tenant,
    )


def _bump(ticket: Ticket, **changes: Any) -> Ticket:
    return attrs.evolve(ticket, version=ticket.version + 1, **changes)


def _due(at: datetime) -> SLAState:
    return SLAState(policy="standard", next_due_at=at)


def _ids(tickets: Any) -> list[str]:
    return [t.id for t in tickets]


def _full_ticket() -> Ticket:
    """A ticket with every field set to awkward values."""
    nepal = timezone(timedelta(hours=5, minutes=45))
    newfoundland = timezone(timedelta(hours=-3, minutes=-30))
    kiribati = timezone(timedelta(hours=14))
    created = datetime(2025, 2, 28, 23, 59, 59, 999_999, tzinfo=nepal)
    return Ticket(
        subject="Ersatzteil \u201eDichtung\u201c fehlt \u2014 "
        "\u51b0\u7bb1\u4e0d\u5236\u51b7 \U0001f9ca e\u0301",
        created_at=created,
        id="FULL-\u00e9\u4e2d",
        tenant="acme-\u6d4b\u8bd5",
        type="repair",
        description='line 1\nline 2\ttab "quotes" \\ backslash\r\n' + "\u6570\u636e" * 200_000,
        channel="wechat",
        customer=Customer(
            id="c-1",
            name="\u738b\u82b3",
            tier="vip",
            email="wang@example.com",
            phone="+86 13800000000",
            tenant="acme-\u6d4b\u8bd5",
            data={"store": "shanghai-01", "nested": {"list": [1, 2.5, None, True, "x"]}, "big": 2**53},
        ),
        category="appliance",
        priority=Priority.URGENT,
        status="waiting_parts",
        status_kind="pending",
        team="repairs-\u4e0a\u6d77",
        assignee="li",
        tags={"fridge", "warranty", "\u51b0\u7bb1"},
        fields={
            "order": "A-1009",
            "amounts": [1.25, -0.0, 1e300],
            "empty": {},
            "unicode": "\u00fc\U0001f600",
        },
        updated_at=datetime(2025, 3, 1, 4, 0, 0, 1, tzinfo=newfoundland),
        first_response_at=datetime(2025, 3, 1, 9, 0, 0, 500_000, tzinfo=kiribati),
        resolved_at=datetime(2025, 3, 2, 0, 0, tzinfo=UTC),
        closed_at=datetime(2025, 3, 2, 0, 0, 0, 7, tzinfo=_SH),
        parent_id="PARENT-1",
        links=(Link(kind="related", ticket_id="T9"), Link(kind="duplicate", ticket_id="T8")),
        external_ref="ERP-77",
        satisfaction=4,
        satisfaction_remark="\u5f88\u597d \U0001f44d",
        sla=SLAState(
            policy="vip",
            clocks=(
                ClockState(
                    metric="resolution",
                    elapsed=timedelta(hours=3, microseconds=17),
                    running_since=datetime(2025, 3, 1, 9, 30, 0, 250, tzinfo=_SH),
                    started_at=created,
                    cycle=2,
                    fired=frozenset({"warn:0.75"}),
                ),
            ),
            next_due_at=datetime(2025, 3, 1, 12, 0, 0, 1, tzinfo=nepal),
        ),
        version=7,
    )


def _same(expected: Ticket | Event, actual: Ticket | Event) -> None:
    """Equal values, and equal serialized forms (so offsets are kept, not just instants)."""
    assert expected == actual
    assert to_dict(expected) == to_dict(actual)


# The data set the filter and order tests run on: (ticket number, changes).
_DATASET: tuple[tuple[int, dict[str, Any]], ...] = (
    (1, {"status": "new", "status_kind": "new", "priority": "low", "tags": {"a"}, "category": "billing"}),
    (
        2,
        {
            "status": "open",
            "status_kind": "open",
            "team": "t1",
            "assignee": "li",
            "tags": {"a", "b"},
            "customer": Customer(id="c1"),
            "subject": "Refund for ORDER 17",
        },
    ),
    (
        3,
        {
            "status": "open",
            "status_kind": "open",
            "team": "t2",
            "assignee": "wang",
            "priority": "high",
            "customer": Customer(id="c2"),
            "category": "billing",
            "subject": "Ölwechsel nötig",
        },
    ),
    (
        4,
        {
            "status": "waiting",
            "status_kind": "pending",
            "team": "t1",
            "priority": "urgent",
            "tags": {"b"},
            "parent_id": "T0002",
            "sla": _due(T0 + timedelta(hours=5)),
        },
    ),
    (
        5,
        {
            "status": "resolved",
            "status_kind": "resolved",
            "team": "t1",
            "assignee": "li",
            "customer": Customer(id="c1"),
            "sla": _due(T0 + timedelta(hours=1)),
        },
    ),
    (
        6,
        {
            "status": "closed",
            "status_kind": "closed",
            "priority": "high",
            "tags": {"a", "b", "c"},
            "subject": "refund again",
            "parent_id": "T0002",
        },
    ),
    (
        7,
        {
            "status": "open",
            "status_kind": "open",
            "team": "t2",
            "category": "shipping",
            "sla": _due(datetime(2025, 3, 3, 18, tzinfo=_SH)),
            "updated_at": T0 + timedelta(days=2),
        },
    ),
    (
        8,
        {
            "status": "new",
            "status_kind": "new",
            "tenant": "other",
            "team": "t1",
            "tags": {"a"},
            "sla": _due(T0),
        },
    ),
)

# (filters, ids expected among the default tenant's and the other tenant's tickets)
_FILTER_CASES: tuple[tuple[dict[str, Any], list[int]], ...] = (
    ({}, [1, 2, 3, 4, 5, 6, 7, 8]),
    ({"tenant": "default"}, [1, 2, 3, 4, 5, 6, 7]),
    ({"tenant": "other"}, [8]),
    ({"tenant": "nobody"}, []),
    ({"status": "open"}, [2, 3, 7]),
    ({"status": ["new", "closed"]}, [1, 6, 8]),
    ({"status": []}, []),
    ({"status_kind": ["open", "pending"]}, [2, 3, 4, 7]),
    ({"team": "t1"}, [2, 4, 5, 8]),
    ({"team": "t1", "tenant": "default"}, [2, 4, 5]),
    ({"assignee": "li"}, [2, 5]),
    ({"assignee": ["li", "wang"]}, [2, 3, 5]),
    ({"customer": "c1"}, [2, 5]),
    ({"category": "billing"}, [1, 3]),
    ({"priority": "high"}, [3, 6]),
    ({"priority": ["urgent", Priority.LOW]}, [1, 4]),
    ({"tags": "a"}, [1, 2, 6, 8]),
    ({"tags": ["a", "b"]}, [2, 6]),
    ({"tags": ["a", "b", "c"]}, [6]),
    ({"tags": ["zzz"]}, []),
    ({"created_since": T0 + timedelta(minutes=3)}, [3, 4, 5, 6, 7, 8]),
    ({"created_before": T0 + timedelta(minutes=3)}, [1, 2]),
    (
        {
            "created_since": datetime(2025, 3, 3, 17, 2, tzinfo=_SH),
            "created_before": T0 + timedelta(minutes=4),
        },
        [2, 3],
    ),
    ({"updated_since": T0 + timedelta(days=1)}, [7]),
    ({"updated_before": T0 + timedelta(minutes=2)}, [1]),
    ({"text": "refund"}, [2, 6]),
    ({"text": "ORDER"}, [2]),
    ({"text": "ÖLWECHSEL"}, [3]),
    ({"next_due_before": T0 + timedelta(hours=1)}, [5, 7, 8]),
    ({"next_due_before": T0 + timedelta(hours=9)}, [4, 5, 7, 8]),
    ({"parent_id": "T0002"}, [4, 6]),
    ({"status_kind": "open", "team": "t2", "category": "shipping"}, [7]),
)


class StoreContract(LoadContract):
    """The storage contract as a pytest suite: subclass it to test your store.

    Give the subclass a ``make_store`` fixture returning a function that makes a
    new, empty, independent store each time it is called (the suite closes them).
    Set ``thread_safe = False`` on a store that must not be shared between
    threads to skip the concurrency checks.

    It checks: create/get/save/events, version conflicts writing nothing,
    atomicity of batches, every query filter, ordering both ways, cursor
    pagination that stays stable under concurrent inserts, tenant isolation of
    every read, round-trip fidelity of every field (unicode, a megabyte of text,
    microseconds and offsets), ``due`` and ``claim_due``, concurrent writers and
    export/import.

    Examples:
        >>> import pytest, ticketkit as tk
        >>> class TestInMemory(StoreContract):
        ...     @pytest.fixture
        ...     def make_store(self):
        ...         return tk.InMemoryStore
        >>> "test_stale_save_conflicts_and_writes_nothing" in dir(TestInMemory)
        True
    """

    thread_safe: ClassVar[bool] = True

    @pytest.fixture
    def make_store(self) -> Callable[[], TicketStore]:
        """Override: return a function making a new, empty store."""
        pytest.fail("define a `make_store` fixture returning a function that makes a new, empty store")

    @pytest.fixture
    def store(self, make_store: Callable[[], TicketStore]) -> Iterator[TicketStore]:
        """A new, empty store from ``make_store``, closed after the test."""
        made: list[TicketStore] = []

        def tracked() -> TicketStore:
            s = make_store()
            made.append(s)
            return s

        self._make = tracked
        yield tracked()
        for s in made:
            s.close()

    def fresh_store(self) -> TicketStore:
        """Another new, empty store (within a test that uses ``store``)."""
        make = getattr(self, "_make", None)
        if make is None:
            pytest.fail("StoreContract needs a `make_store` fixture (do not override `store` itself)")
        store: TicketStore = make()
        return store

    @pytest.fixture
    def dataset(self, store: TicketStore) -> dict[int, Ticket]:
        """The store filled with the suite's varied tickets (two tenants)."""
        out = {}
        for i, changes in _DATASET:
            ticket = _tk(i, **changes)
            out[i] = store.create(ticket, [_ev(ticket)])
        return out

    # ------------------------------------------------------------------ create / get / save

    def test_create_then_get_returns_the_same_value(self, store: TicketStore) -> None:
        """A created ticket reads back equal, with its events."""
        ticket = _tk(1)
        event = _ev(ticket)
        assert ticket == store.create(ticket, [event])
        _same(ticket, store.get(ticket.id))
        assert [event] == store.events(ticket.id)

    def test_get_missing_ticket_is_not_found(self, store: TicketStore) -> None:
        """get() and events() of an unknown id raise NotFoundError."""
        with pytest.raises(NotFoundError):
            store.get("missing")
        with pytest.raises(NotFoundError):
            store.events("missing")

    def test_create_existing_id_conflicts_and_writes_nothing(self, store: TicketStore) -> None:
        """Creating an id twice is a ConflictError; the first ticket and its events stay."""
        first = store.create(_tk(1), [_ev(_tk(1))])
        other = _tk(1, subject="impostor")
        with pytest.raises(ConflictError):
            store.create(other, [_ev(other, "x.y")])
        _same(first, store.get(first.id))
        assert ["ticket.created"] == [e.kind for e in store.events(first.id)]

    def test_create_without_events(self, store: TicketStore) -> None:
        """A ticket may be created with no events."""
        store.create(_tk(1))
        assert [] == store.events("T0001")

    def test_save_replaces_ticket_and_appends_events_in_order(self, store: TicketStore) -> None:
        """save() stores the new version and appends its events after the earlier ones."""
        t1 = store.create(_tk(1), [_ev(_tk(1))])
        t2 = _bump(t1, status="open", status_kind="open", updated_at=T0 + timedelta(hours=1))
        events = [_ev(t2, "status.changed", to="open"), _ev(t2, "ticket.assigned", team="t1")]
        assert t2 == store.save(t2, events, 1)
        _same(t2, store.get(t1.id))
        assert ["ticket.created", "status.changed", "ticket.assigned"] == [
            e.kind for e in store.events(t1.id)
        ]

    def test_stale_save_conflicts_and_writes_nothing(self, store: TicketStore) -> None:
        """A save over an old version raises ConflictError with both versions; nothing changes."""
        t1 = store.create(_tk(1), [_ev(_tk(1))])
        t2 = store.save(_bump(t1, status="open"), [_ev(_bump(t1), "a.b")], 1)
        stale = _bump(t1, status="closed")
        with pytest.raises(ConflictError) as info:
            store.save(stale, [_ev(stale, "c.d")], 1)
        assert (1, 2) == (info.value.expected, info.value.actual)
        _same(t2, store.get(t1.id))
        assert ["ticket.created", "a.b"] == [e.kind for e in store.events(t1.id)]

    def test_save_of_missing_ticket_conflicts(self, store: TicketStore) -> None:
        """Saving a ticket that was never created is a ConflictError and creates nothing."""
        with pytest.raises(ConflictError):
            store.save(_tk(1, version=2), [], 1)
        with pytest.raises(NotFoundError):
            store.get("T0001")

    def test_save_needs_the_next_version(self, store: TicketStore) -> None:
        """A ticket whose version is not expected_version + 1 is a ValidationError; nothing written."""
        t1 = store.create(_tk(1))
        with pytest.raises(ValidationError) as info:
            store.save(attrs.evolve(t1, version=5, status="open"), [], 1)
        assert ["ticket.version"] == [e.path for e in info.value.errors]
        _same(t1, store.get(t1.id))

    def test_events_of_another_ticket_are_refused(self, store: TicketStore) -> None:
        """An event for another ticket or tenant is a ValidationError; nothing is written."""
        t1 = store.create(_tk(1))
        t2 = _bump(t1, status="open")
        wrong = [_ev(t2), _ev(_tk(2)), attrs.evolve(_ev(t2), tenant="other")]
        with pytest.raises(ValidationError) as info:
            store.save(t2, wrong, 1)
        assert ["events[1].ticket_id", "events[2].tenant"] == [e.path for e in info.value.errors]
        _same(t1, store.get(t1.id))
        assert [] == store.events(t1.id)

    def test_a_ticket_cannot_change_tenant(self, store: TicketStore) -> None:
        """Saving a ticket under another tenant is a ValidationError; nothing is written."""
        t1 = store.create(_tk(1))
        with pytest.raises(ValidationError):
            store.save(_bump(t1, tenant="other"), [], 1)
        _same(t1, store.get(t1.id))

    def test_each_version_is_saved_once(self, store: TicketStore) -> None:
        """A run of saves succeeds version by version; replaying any older one conflicts."""
        t = store.create(_tk(1))
        history = [t]
        for n in range(2, 7):
            t = store.save(_bump(t, status=f"s{n}"), [_ev(_bump(t), "x.y")], t.version)
            history.append(t)
        for old in history[:-1]:
            with pytest.raises(ConflictError):
                store.save(_bump(old), [], old.version)
        assert 6 == store.get(t.id).version
        assert [2, 3, 4, 5, 6] == [e.version for e in store.events(t.id)]

    def test_save_many_creates_and_saves(self, store: TicketStore) -> None:
        """A batch may mix creates and saves."""
        t1 = store.create(_tk(1))
        saved = store.save_many([(_bump(t1, status="open"), [], 1), (_tk(2), [_ev(_tk(2))], None)])
        assert ["T0001", "T0002"] == _ids(saved)
        assert ("open", 2) == (store.get("T0001").status, store.get("T0001").version)
        assert 1 == len(store.events("T0002"))

    def test_save_many_is_all_or_nothing(self, store: TicketStore) -> None:
        """One stale write in a batch makes the whole batch fail; nothing is written."""
        t1 = store.create(_tk(1))
        t2 = store.create(_tk(2))
        batch = [
            (_tk(3), [_ev(_tk(3))], None),
            (_bump(t1, status="open"), [_ev(_bump(t1), "a.b")], 1),
            (attrs.evolve(t2, status="open", version=8), [], 7),
        ]
        with pytest.raises(ConflictError):
            store.save_many(batch)
        with pytest.raises(NotFoundError):
            store.get("T0003")
        _same(t1, store.get("T0001"))
        assert [] == store.events("T0001")

    def test_save_many_refuses_a_ticket_twice(self, store: TicketStore) -> None:
        """The same ticket twice in one batch is a ValidationError."""
        with pytest.raises(ValidationError):
            store.save_many([(_tk(1), [], None), (_tk(1), [], None)])
        assert 0 == store.count()

    # ------------------------------------------------------------------ fidelity

    def test_every_field_round_trips(self, store: TicketStore) -> None:
        """Unicode, a large text, microseconds, offsets and nested data come back exactly."""
        ticket = _full_ticket()
        event = Event(
            ticket_id=ticket.id,
            kind="comment.added",
            actor="customer:c-1",
            at=datetime(2025, 3, 1, 4, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
            data={"comment": {"body": "\u4f60\u597d\n\U0001f600", "public": True}, "n": [1, 2.5]},
            version=7,
            tenant=ticket.tenant,
            id="EV-\u00e9",
        )
        store.create(ticket, [event])
        got = store.get(ticket.id, tenant=ticket.tenant)
        _same(ticket, got)
        assert got.created_at.utcoffset() == ticket.created_at.utcoffset()
        _same(event, store.events(ticket.id)[0])
        _same(ticket, store.query(tenant=ticket.tenant).items[0])
        assert ticket.next_due_at is not None
        _same(ticket, store.due(ticket.next_due_at)[0])

    def test_saved_version_round_trips(self, store: TicketStore) -> None:
        """A saved (not just created) version comes back exactly."""
        ticket = attrs.evolve(_full_ticket(), version=1)
        store.create(ticket)
        new = _bump(ticket, description="\u00e9" * 10, tags=frozenset(), updated_at=T0.astimezone(_SH))
        store.save(new, [], 1)
        _same(new, store.get(ticket.id))

    # ------------------------------------------------------------------ queries

    @pytest.mark.parametrize(("filters", "expected"), _FILTER_CASES, ids=lambda v: repr(v)[:60])
    def test_query_filters(
        self, store: TicketStore, dataset: dict[int, Ticket], filters: dict[str, Any], expected: list[int]
    ) -> None:
        """Each filter (and combinations) selects exactly the matching tickets; count agrees."""
        want = [f"T{i:04d}" for i in expected]
        assert want == _ids(store.query(**filters, limit=100))
        assert len(want) == store.count(**filters)

    @pytest.mark.parametrize("order_by", [*ORDER_KEYS, *(f"-{k}" for k in ORDER_KEYS)])
    def test_query_orders(self, store: TicketStore, dataset: dict[int, Ticket], order_by: str) -> None:
        """Results come in the asked order, ties broken by id (both reversed when descending)."""
        q = Query.build(order_by=order_by)
        want = _ids(sorted(dataset.values(), key=q.sort_key, reverse=q.descending))
        assert want == _ids(store.query(order_by=order_by, limit=100))

    def test_next_due_order_puts_tickets_without_checkpoint_last(
        self, store: TicketStore, dataset: dict[int, Ticket]
    ) -> None:
        """Ordering by next_due_at compares instants across offsets; tickets without one come last."""
        assert ["T0008", "T0005", "T0007", "T0004", "T0001", "T0002", "T0003", "T0006"] == _ids(
            store.query(order_by="next_due_at")
        )

    @pytest.mark.parametrize("order_by", ["created_at", "-updated_at", "priority", "-next_due_at", "id"])
    def test_pagination_visits_every_ticket_once(
        self, store: TicketStore, dataset: dict[int, Ticket], order_by: str
    ) -> None:
        """Walking the pages yields exactly the full ordered result, the last page has no cursor."""
        full = _ids(store.query(order_by=order_by, limit=100))
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            page = store.query(order_by=order_by, limit=3, cursor=cursor)
            assert len(page) <= 3
            seen += _ids(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert full == seen

    def test_pagination_is_stable_under_concurrent_inserts(self, store: TicketStore) -> None:
        """Tickets inserted between pages never make a page repeat or skip an earlier ticket."""
        originals = [store.create(_tk(i * 10)) for i in range(1, 21)]
        seen: list[str] = []
        cursor = None
        extra = itertools.count(1)
        for _ in range(50):
            page = store.query(order_by="created_at", limit=4, cursor=cursor)
            seen += _ids(page)
            for _ in range(3):  # before, inside and after the pages already read
                n = next(extra)
                store.create(_tk(n * 7 + 1, id=f"X{n:04d}"))
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len(set(seen))
        assert set(_ids(originals)) <= set(seen)

    def test_pagination_is_stable_while_another_thread_inserts(self, store: TicketStore) -> None:
        """Paging while a thread keeps inserting tickets: every ticket that was there is seen once."""
        if not self.thread_safe:
            pytest.skip("store is not thread-safe")
        originals = {t.id for t in store.save_many([(_tk(i * 3), [], None) for i in range(60)])}
        stop = threading.Event()

        def insert() -> None:
            for n in itertools.count():
                if stop.is_set() or n >= 400:
                    return
                store.create(_tk(n % 180, id=f"Y{n:05d}"))

        writer = threading.Thread(target=insert)
        writer.start()
        try:
            seen: list[str] = []
            cursor = None
            while True:
                page = store.query(order_by="-created_at", limit=7, cursor=cursor)
                seen += _ids(page)
                cursor = page.next_cursor
                if cursor is None:
                    break
        finally:
            stop.set()
            writer.join()
        assert len(seen) == len(set(seen))
        assert originals <= set(seen)

    def test_bad_query_arguments_are_all_reported(self, store: TicketStore) -> None:
        """Unknown order, naive datetime, bad limit and a foreign cursor are listed together."""
        with pytest.raises(ValidationError) as info:
            store.query(order_by="age", created_since=datetime(2025, 1, 1), limit=0, cursor="nonsense")
        assert {"order_by", "created_since", "limit", "cursor"} == {e.path for e in info.value.errors}
        with pytest.raises(ValidationError):
            store.count(updated_before=datetime(2025, 1, 1))

    def test_a_cursor_only_fits_its_order(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """A cursor made for one order is refused for another."""
        page = store.query(order_by="created_at", limit=2)
        assert page.next_cursor is not None
        with pytest.raises(ValidationError) as info:
            store.query(order_by="-created_at", cursor=page.next_cursor)
        assert ["cursor"] == [e.path for e in info.value.errors]

    # ------------------------------------------------------------------ tenants

    def test_reads_never_cross_tenants(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """With tenant= given, no read returns another tenant's ticket or events."""
        with pytest.raises(NotFoundError):
            store.get("T0008", tenant="default")
        with pytest.raises(NotFoundError):
            store.events("T0008", tenant="default")
        with pytest.raises(NotFoundError):
            store.get("T0001", tenant="other")
        assert "other" == store.get("T0008", tenant="other").tenant
        assert 1 == len(store.events("T0008", tenant="other"))
        assert {"default"} == {t.tenant for t in store.query(tenant="default", limit=100)}
        assert 7 == store.count(tenant="default")
        at = T0 + timedelta(days=30)
        assert ["T0005", "T0007", "T0004"] == _ids(store.due(at, tenant="default"))
        assert ["T0008"] == _ids(store.due(at, tenant="other"))
        buf = io.StringIO()
        assert 1 == store.export(buf, tenant="other")
        assert {"other"} == {json.loads(line)["ticket"]["tenant"] for line in buf.getvalue().splitlines()[1:]}
        claimed = store.claim_due(at, worker="w", lease=timedelta(minutes=1), tenant="other")
        assert ["T0008"] == _ids(claimed)

    # ------------------------------------------------------------------ due and claims

    def test_due_returns_oldest_first_within_limit(self, store: TicketStore) -> None:
        """due() returns next_due_at <= at (inclusive), oldest first, ties by id, at most limit."""
        same_instant_sh = datetime(2025, 3, 3, 18, tzinfo=_SH)  # == T0 + 1h
        specs = {
            1: T0 + timedelta(hours=2),
            2: T0 + timedelta(hours=1),
            3: same_instant_sh,
            4: T0 + timedelta(hours=3),
            5: None,
            6: T0 - timedelta(days=1),
        }
        for i, due in specs.items():
            store.create(_tk(i, sla=_due(due) if due else None))
        assert ["T0006", "T0002", "T0003", "T0001"] == _ids(store.due(T0 + timedelta(hours=2)))
        assert ["T0006", "T0002"] == _ids(store.due(T0 + timedelta(hours=2), limit=2))
        assert [] == store.due(T0 - timedelta(days=2))
        with pytest.raises(ValidationError):
            store.due(datetime(2025, 1, 1))

    def test_due_follows_saves(self, store: TicketStore) -> None:
        """A save that moves or clears next_due_at moves the ticket in or out of due()."""
        t = store.create(_tk(1, sla=_due(T0)))
        t = store.save(_bump(t, sla=_due(T0 + timedelta(hours=1))), [], 1)
        assert [] == store.due(T0)
        assert ["T0001"] == _ids(store.due(T0 + timedelta(hours=1)))
        store.save(_bump(t, sla=None), [], 2)
        assert [] == store.due(T0 + timedelta(days=1))

    def test_claim_due_is_exclusive_until_the_lease_ends(self, store: TicketStore) -> None:
        """A claimed ticket is not due for others until its lease ends; the worker saves over the claim."""
        store.create(_tk(1, sla=_due(T0)))
        store.create(_tk(2, sla=_due(T0 + timedelta(minutes=1))))
        lease = timedelta(minutes=5)
        first = store.claim_due(T0 + timedelta(minutes=1), worker="w1", lease=lease, limit=1)
        assert ["T0001"] == _ids(first)
        assert 2 == first[0].version
        assert T0 + timedelta(minutes=6) == first[0].next_due_at
        second = store.claim_due(T0 + timedelta(minutes=1), worker="w2", lease=lease)
        assert ["T0002"] == _ids(second)
        assert [] == store.claim_due(T0 + timedelta(minutes=2), worker="w3", lease=lease)
        # w2 dies; its lease runs out and the ticket is due again:
        assert ["T0001", "T0002"] == _ids(store.due(T0 + timedelta(minutes=6)))
        done = store.save(_bump(first[0], sla=_due(T0 + timedelta(days=1))), [], 2)
        assert ["T0002"] == _ids(store.claim_due(T0 + timedelta(minutes=6), worker="w4", lease=lease))
        assert done == store.get("T0001")
        with pytest.raises(ValidationError):
            store.claim_due(T0, worker="", lease=timedelta(0))

    def test_claim_due_concurrent_workers_never_share(self, store: TicketStore) -> None:
        """Workers claiming at once (threads) split the due tickets with no ticket claimed twice."""
        if not self.thread_safe:
            pytest.skip("store is not thread-safe")
        for i in range(40):
            store.create(_tk(i, sla=_due(T0)))
        results: dict[str, list[str]] = {}
        start = threading.Barrier(4)

        def work(name: str) -> None:
            start.wait()
            got: list[str] = []
            while batch := store.claim_due(T0, worker=name, lease=timedelta(hours=1), limit=3):
                got += _ids(batch)
            results[name] = got

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        claimed = [tid for got in results.values() for tid in got]
        assert sorted(claimed) == sorted(f"T{i:04d}" for i in range(40))

    # ------------------------------------------------------------------ concurrency

    def test_concurrent_saves_have_one_winner_per_version(self, store: TicketStore) -> None:
        """Threads racing to save the same version: exactly one wins, the others conflict."""
        if not self.thread_safe:
            pytest.skip("store is not thread-safe")
        t = store.create(_tk(1))
        start = threading.Barrier(6)
        outcome: list[str] = []
        lock = threading.Lock()

        def race(n: int) -> None:
            mine = _bump(t, status=f"by-{n}")
            start.wait()
            try:
                store.save(mine, [_ev(mine, "x.y", writer=n)], 1)
                result = f"won-{n}"
            except ConflictError:
                result = "conflict"
            with lock:
                outcome.append(result)

        threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        winners = [o for o in outcome if o.startswith("won")]
        assert (1, 5) == (len(winners), outcome.count("conflict"))
        stored = store.get(t.id)
        assert f"by-{winners[0][4:]}" == stored.status
        assert [int(winners[0][4:])] == [e.data["writer"] for e in store.events(t.id)]

    def test_concurrent_creates_all_land(self, store: TicketStore) -> None:
        """Threads creating different tickets at once lose none of them."""
        if not self.thread_safe:
            pytest.skip("store is not thread-safe")

        def create(base: int) -> None:
            for i in range(base, base + 25):
                store.create(_tk(i), [_ev(_tk(i))])

        threads = [threading.Thread(target=create, args=(n * 100,)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert 100 == store.count()

    # ------------------------------------------------------------------ export / import

    def test_export_import_round_trip(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """Everything exported reads back into an empty store equal, events included."""
        full = _full_ticket()
        store.create(full, [_ev(full)])
        buf = io.StringIO()
        assert 9 == store.export(buf)
        buf.seek(0)
        other = self.fresh_store()
        assert 9 == other.import_(buf)
        for ticket in store.scan():
            _same(ticket, other.get(ticket.id))
            assert store.events(ticket.id) == other.events(ticket.id)
        assert store.count() == other.count()

    def test_import_over_existing_tickets_writes_nothing(self, store: TicketStore) -> None:
        """Importing a ticket that exists already is a ConflictError; nothing is imported."""
        store.create(_tk(1))
        source = self.fresh_store()
        source.create(_tk(2))
        source.create(_tk(1, subject="other"))
        buf = io.StringIO()
        source.export(buf)
        buf.seek(0)
        with pytest.raises(ConflictError):
            store.import_(buf)
        assert ["T0001"] == _ids(store.query())
        assert "ticket 1" == store.get("T0001").subject

    def test_import_reports_every_bad_line(self, store: TicketStore) -> None:
        """A malformed export is refused with every bad line named; nothing is imported."""
        good = json.dumps({"ticket": to_dict(_tk(1)), "events": []})
        bad_ticket = to_dict(_tk(2))
        bad_ticket["created_at"] = "2025-03-03T09:00:00"
        text = "\n".join(
            [
                '{"format": "ticketkit-export", "version": 1}',
                good,
                "{not json",
                json.dumps({"ticket": bad_ticket, "events": []}),
                json.dumps({"something": "else"}),
            ]
        )
        with pytest.raises(ValidationError) as info:
            store.import_(io.StringIO(text))
        paths = [e.path for e in info.value.errors]
        assert ["line 3", "line 4.ticket.created_at", "line 5"] == paths
        assert 0 == store.count()
        with pytest.raises(ValidationError):
            store.import_(io.StringIO('{"format": "something-else"}\n'))
