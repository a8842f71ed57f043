"""Storage internals: queries and cursors, the due heap, and both stores against a slow reference."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketkit import (
    ClockState,
    InMemoryStore,
    SLAState,
    SQLiteStore,
    Ticket,
    TicketStore,
    ValidationError,
    from_dict,
    to_dict,
)
from ticketkit.storage import MAX_LIMIT, ORDER_KEYS, Page, Query, instant_key
from ticketkit.storage._decode import trusted_ticket

from . import strategies

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def ticket(i: int, **changes: object) -> Ticket:
    return Ticket(subject=f"t{i}", id=f"T{i:04d}", created_at=T0 + timedelta(minutes=i), **changes)  # type: ignore[arg-type]


class TestQueryBuild:
    def test_single_values_become_sets(self) -> None:
        """A single string filter means that one value."""
        q = Query.build(status="open", team=["a", "b"], tags="x", priority="HIGH")
        assert (frozenset({"open"}), frozenset({"a", "b"}), frozenset({"x"})) == (q.status, q.team, q.tags)
        assert 1 == len(q.priority or ())

    def test_every_problem_listed(self) -> None:
        """Each bad argument is reported with its name."""
        with pytest.raises(ValidationError) as info:
            Query.build(
                status=[1],  # type: ignore[list-item]
                priority=["asap"],
                created_before=datetime(2025, 1, 1),
                text=5,  # type: ignore[arg-type]
                order_by="-size",
                limit=MAX_LIMIT + 1,
            )
        assert ["priority", "order_by", "limit", "status", "created_before", "text"] == [
            e.path for e in info.value.errors
        ]

    def test_cursor_round_trip_and_garbage(self) -> None:
        """A cursor from make_page decodes to the last item's key; garbage is refused."""
        ts = [ticket(i) for i in range(3)]
        page = Query.build(limit=2).page(ts)
        assert ["T0000", "T0001"] == [t.id for t in page]
        assert (instant_key(ts[1].created_at), "T0001") == Query.build(cursor=page.next_cursor).after
        for bad in ["", "!!!", "WzFd", 5]:
            with pytest.raises(ValidationError):
                Query.build(cursor=bad)  # type: ignore[arg-type]

    def test_page_is_a_sequence_of_tickets(self) -> None:
        """A page iterates and has a length."""
        p = Page(items=(ticket(1),))
        assert (1, ["T0001"], None) == (len(p), [t.id for t in p], p.next_cursor)


class TestInMemoryDueHeap:
    def test_heap_is_rebuilt_when_stale_entries_pile_up(self) -> None:
        """Many due-date changes do not grow the heap without bound, and due() stays right."""
        store = InMemoryStore()
        t = store.create(ticket(1, sla=SLAState(next_due_at=T0)))
        for n in range(1, 3000):
            t = store.save(
                attrs.evolve(t, version=t.version + 1, sla=SLAState(next_due_at=T0 + timedelta(seconds=n))),
                [],
                t.version,
            )
        assert len(store._due) < 2000
        assert [] == store.due(T0 + timedelta(seconds=2998))
        assert ["T0001"] == [x.id for x in store.due(T0 + timedelta(seconds=2999))]

    def test_returns_the_very_objects_stored(self) -> None:
        """Tickets are values: the store hands back what it was given, without copying."""
        store = InMemoryStore()
        t = store.create(ticket(1))
        assert t is store.get("T0001")


class TestExportFormat:
    def test_header_then_one_line_per_ticket(self) -> None:
        """An export is a header line, then {"ticket", "events"} per ticket, sorted by id."""
        store = InMemoryStore()
        store.create(ticket(2))
        store.create(ticket(1))
        buf = io.StringIO()
        assert 2 == store.export(buf)
        lines = [json.loads(x) for x in buf.getvalue().splitlines()]
        assert {"format": "ticketkit-export", "version": 2} == lines[0]
        assert [to_dict(ticket(1)), to_dict(ticket(2))] == [x["ticket"] for x in lines[1:-1]]

    def test_sqlite_and_memory_exports_are_interchangeable(self, tmp_path: object) -> None:
        """An export from SQLiteStore imports into InMemoryStore and back unchanged."""
        sq = SQLiteStore(":memory:")
        sq.create(ticket(1, tags={"x"}))
        buf = io.StringIO()
        sq.export(buf)
        mem = InMemoryStore()
        mem.import_(io.StringIO(buf.getvalue()))
        again = io.StringIO()
        mem.export(again)
        assert buf.getvalue().splitlines()[1:] != []
        assert [json.loads(x) for x in buf.getvalue().splitlines()] == [
            json.loads(x) for x in again.getvalue().splitlines()
        ]


# --------------------------------------------------------------------------- against a slow reference

_minutes = st.none() | st.integers(0, 120)
_ops = st.lists(
    st.tuples(
        st.integers(0, 9),  # which ticket
        _minutes,  # its next_due_at, minutes after T0
        st.sampled_from(["new", "open", "pending"]),
        st.sampled_from(["a", "b"]),  # tenant (fixed at creation)
        st.integers(0, 50),  # updated_at, minutes after created
        st.sampled_from(["low", "normal", "high", "urgent"]),
    ),
    max_size=40,
)


def _apply(store: TicketStore, ops: list[tuple[int, int | None, str, str, int, str]]) -> dict[str, Ticket]:
    model: dict[str, Ticket] = {}
    for i, due, status, tenant, upd, prio in ops:
        tid = f"T{i:04d}"
        sla = SLAState(next_due_at=T0 + timedelta(minutes=due)) if due is not None else None
        old = model.get(tid)
        if old is None:
            new = ticket(i, tenant=tenant, status=status, sla=sla, priority=prio)
            store.create(new)
        else:
            new = attrs.evolve(
                old,
                status=status,
                sla=sla,
                priority=prio,
                updated_at=old.created_at + timedelta(minutes=upd),
                version=old.version + 1,
            )
            store.save(new, [], old.version)
        model[tid] = new
    return model


class TestAgainstReference:
    @settings(max_examples=60)
    @given(
        ops=_ops,
        at=st.integers(-5, 130),
        limit=st.integers(1, 12),
        tenant=st.none() | st.sampled_from(["a", "b"]),
    )
    def test_due_agrees(self, ops: list, at: int, limit: int, tenant: str | None) -> None:  # type: ignore[type-arg]
        """due() of both stores equals a sort of all tickets by (next_due_at, id)."""
        moment = T0 + timedelta(minutes=at)
        for store in (InMemoryStore(), SQLiteStore(":memory:")):
            model = _apply(store, ops)
            want = sorted(
                (
                    t
                    for t in model.values()
                    if t.next_due_at is not None and t.next_due_at <= moment and tenant in (None, t.tenant)
                ),
                key=lambda t: (t.next_due_at, t.id),
            )[:limit]
            assert [t.id for t in want] == [t.id for t in store.due(moment, limit=limit, tenant=tenant)]
            store.close()

    @settings(max_examples=40)
    @given(
        ops=_ops, order=st.sampled_from([*ORDER_KEYS, *(f"-{k}" for k in ORDER_KEYS)]), size=st.integers(1, 4)
    )
    def test_paged_queries_agree(self, ops: list, order: str, size: int) -> None:  # type: ignore[type-arg]
        """Walking all pages of any order gives the reference order, in both stores."""
        for store in (InMemoryStore(), SQLiteStore(":memory:")):
            model = _apply(store, ops)
            q = Query.build(order_by=order)
            want = [t.id for t in sorted(model.values(), key=q.sort_key, reverse=q.descending)]
            got: list[str] = []
            cursor = None
            while True:
                page = store.query(order_by=order, limit=size, cursor=cursor)
                got += [t.id for t in page]
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert want == got
            assert {t.id: t for t in model.values()} == {t.id: t for t in store.scan()}
            store.close()


# --------------------------------------------------------------------------- trusted decoding

_clocks = st.builds(
    ClockState,
    metric=st.sampled_from(["first_response", "resolution", "next_response"]),
    elapsed=st.timedeltas(timedelta(0), timedelta(days=30)),
    running_since=st.none() | strategies.aware_datetimes,
    paused_since=st.none() | strategies.aware_datetimes,
    stopped_at=st.none() | strategies.aware_datetimes,
    started_at=st.none() | strategies.aware_datetimes,
    cycle=st.integers(0, 5),
    breached_at=st.none() | strategies.aware_datetimes,
    fired=strategies.str_sets,
)
_slas = st.none() | st.builds(
    SLAState,
    policy=st.none() | strategies.names,
    clocks=st.lists(_clocks, max_size=3).map(tuple),
    next_due_at=st.none() | strategies.aware_datetimes,
)


class TestTrustedDecoding:
    @given(t=strategies.tickets(), sla=_slas)
    def test_equals_from_dict(self, t: Ticket, sla: SLAState | None) -> None:
        """The fast reader of a store's own JSON builds exactly what from_dict builds."""
        t = attrs.evolve(t, sla=sla)
        data = json.loads(json.dumps(to_dict(t)))
        fast = trusted_ticket(data)
        assert from_dict(Ticket, data) == fast
        assert to_dict(t) == to_dict(fast)
        assert t == fast

    def test_unexpected_data_goes_through_from_dict(self) -> None:
        """Missing or unknown keys and naive datetimes fall back to the checking path."""
        data = to_dict(ticket(1))
        assert ticket(1) == trusted_ticket(dict(data))
        with pytest.raises(ValidationError):
            trusted_ticket({**data, "surprise": 1})
        with pytest.raises(ValidationError):
            trusted_ticket({k: v for k, v in data.items() if k != "subject"})
        with pytest.raises(ValidationError):
            trusted_ticket({**data, "created_at": "2025-03-03T09:00:00"})
