"""The desk's cost does not grow with history: indexes, agent load, the fast writer, batched ticks."""

from __future__ import annotations

import enum
import io
import json
import random
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

import ticketkit as tk
from ticketkit.desk._placement import AgentLoad
from ticketkit.desk._work import trusted_event
from ticketkit.model._encode import plain
from ticketkit.model._json import freeze
from ticketkit.model._models import Event, Ticket
from ticketkit.model._serialization import converter, to_dict
from ticketkit.storage._base import OPEN_STATUS_KINDS, Query
from ticketkit.storage._contract_load import full_count
from ticketkit.testing import ManualClock

from .strategies import aware_datetimes, events, ids, json_objects, tickets

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
LEAD = tk.Actor(id="li", roles={"lead", "agent"}, teams={"a", "b"})


def policy() -> tk.SLAPolicy:
    return tk.SLAPolicy(
        name="std",
        calendar=tk.BusinessCalendar.always_open(),
        targets={"default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=8))},
        warn_at=(0.75,),
        escalations=[tk.Escalation(metric="resolution", at=1.0, notify="role:lead", raise_priority="high")],
    )


def router() -> tk.Router:
    agents = [
        tk.Agent(id="li", teams={"a"}, capacity=50),
        tk.Agent(id="wang", teams={"a"}, capacity=50),
        tk.Agent(id="zhao", teams={"b"}, capacity=50),
        tk.Agent(id="chen", teams={"b"}, capacity=50),
    ]
    return tk.Router(
        rules=[
            tk.Rule(
                name="refunds",
                when=tk.F.category == "refund",
                assign=tk.Assign(team="a", strategy="least_loaded"),
            ),
            tk.Rule(
                name="rest", when=tk.F.category.exists(), assign=tk.Assign(team="b", strategy="least_loaded")
            ),
        ],
        agents=agents,
        teams=[tk.Team(id="a"), tk.Team(id="b")],
    )


def make_desk(store: tk.TicketStore, clock: ManualClock | None = None) -> tk.Helpdesk:
    return tk.Helpdesk(
        store=store,
        router=router(),
        policies=[policy()],
        clock=clock or ManualClock(T0),
        dedupe_window=timedelta(hours=12),
    )


# --------------------------------------------------------------------------- the fast writer


def desk_tickets() -> list[Ticket]:
    """Tickets the desk made: SLA clocks, links, comments' events, every field the desk sets."""
    store = tk.InMemoryStore()
    clock = ManualClock(T0)
    desk = make_desk(store, clock)
    a = desk.open(
        subject="Refund", customer=tk.Customer(id="c-1", data={"x": [1, 2.5, None]}), category="refund"
    )
    clock.advance(timedelta(hours=3))
    desk.tick()
    desk.fire(a.id, "open", actor=LEAD)
    desk.comment(a.id, "on it", actor=LEAD)
    desk.fire(a.id, "resolve", actor=LEAD)
    return list(store.scan())


class TestPlain:
    """``plain`` writes what the converter writes."""

    @settings(max_examples=150, suppress_health_check=list(HealthCheck))
    @given(tickets(), events)
    def test_equal_to_the_converter(self, ticket: Ticket, event: Event) -> None:
        """Any ticket and event: plain equals to_dict."""
        assert to_dict(ticket) == plain(ticket)
        assert to_dict(event) == plain(event)

    def test_equal_for_desk_made_tickets_and_events(self) -> None:
        """Tickets with SLA clocks and their events, as the desk makes them, equal to_dict."""
        store = tk.InMemoryStore()
        desk = make_desk(store)
        t = desk.open(subject="Refund", customer="c-1", category="refund")
        for ticket in [*desk_tickets(), store.get(t.id)]:
            assert to_dict(ticket) == plain(ticket)
            assert ticket.sla is None or ticket.sla.clocks
        for e in store.events(t.id):
            assert to_dict(e) == plain(e)

    def test_other_values_go_through_the_converter(self) -> None:
        """Values that are not attrs models (or have their own to_dict) are the converter's."""
        assert to_dict(tk.Priority.HIGH) == plain(tk.Priority.HIGH)
        cal = tk.BusinessCalendar.always_open()
        assert tk.to_dict(cal) == json.loads(json.dumps(tk.to_dict(cal)))
        assert [1, "a"] == plain([1, "a"])

    def test_a_stored_ticket_reads_back_equal(self, tmp_path: Path) -> None:
        """What SQLite stores with the fast writer reads back as the same ticket."""
        store = tk.SQLiteStore(tmp_path / "t.db", cache_size=0)
        for ticket in desk_tickets():
            store.create(attrs.evolve(ticket, version=1))
            assert attrs.evolve(ticket, version=1) == store.get(ticket.id)
        store.close()


class Colour(enum.Enum):
    RED = "red"


@attrs.frozen(kw_only=True)
class Inner:
    n: int = 1


@attrs.frozen(kw_only=True)
class EveryKind:
    """One field of every kind of type the writer knows, and some it leaves to the converter."""

    text: str = "a"
    maybe_text: str | None = None
    when: datetime = T0
    maybe_when: datetime | None = T0
    day: date = attrs.field(factory=lambda: date(2025, 3, 3))
    span: timedelta = timedelta(minutes=90)
    maybe_span: timedelta | None = timedelta(seconds=1)
    colour: Colour = Colour.RED
    inner: Inner = Inner()
    maybe_inner: Inner | None = None
    inners: tuple[Inner, ...] = (Inner(), Inner(n=2))
    maybe_inners: tuple[Inner | None, ...] = (None, Inner())
    pair: tuple[int, str] = (1, "x")
    numbers: tuple[int, ...] = (3, 1)
    names: frozenset[str] = frozenset({"b", "a"})
    codes: frozenset[int] = frozenset({3, 1})
    mapping: Mapping[str, Any] = attrs.field(factory=lambda: freeze({"a": [1, {"b": None}]}))
    anything: Any = None
    thing: Any = Inner()
    either: int | str | None = "s"
    listed: list[int] = attrs.field(factory=lambda: [1, 2])


class TestPlainKinds:
    """Every kind of field type encodes as the converter does."""

    def test_every_kind(self) -> None:
        """Optional, nested, tuples, sets, mappings, Any, unions, dates, durations, enums, lists."""
        conv = converter()
        for value in (
            EveryKind(),
            EveryKind(maybe_text="t", maybe_when=None, maybe_inner=Inner(n=3), either=4),
        ):
            assert conv.unstructure(value) == plain(value)


class TestPlainCache:
    """The writer's cache of datetime texts never mixes offsets."""

    def test_same_instant_other_offsets(self) -> None:
        """Equal instants in other zones (and folds) keep their own offsets."""
        from zoneinfo import ZoneInfo

        from ticketkit.model._encode import _iso

        utc = datetime(2025, 3, 3, 1, tzinfo=UTC)
        sh = utc.astimezone(ZoneInfo("Asia/Shanghai"))
        fixed = utc.astimezone(timezone(timedelta(hours=8)))
        assert utc == sh == fixed
        assert [utc.isoformat(), sh.isoformat(), fixed.isoformat()] == [_iso(utc), _iso(sh), _iso(fixed)]
        ny = ZoneInfo("America/New_York")
        first = datetime(2025, 11, 2, 1, 30, tzinfo=ny)
        second = first.replace(fold=1)
        assert [first.isoformat(), second.isoformat()] == [_iso(first), _iso(second)]
        assert "2025-03-03" == _iso(utc.date())


class TestLeasedBody:
    """The claimed JSON is patched only when the row ends as the writer wrote it."""

    def test_other_rows_are_written_anew(self) -> None:
        """A row in another key order is written from the leased ticket."""
        from ticketkit.storage._base import dump_json, leased
        from ticketkit.storage._sqlite import _leased_body

        old = Ticket(subject="s", id="T1", created_at=T0, sla=tk.SLAState(next_due_at=T0))
        new = leased(old, T0 + timedelta(minutes=5))
        assert dump_json(new) == _leased_body(dump_json(old), old, new)
        assert dump_json(new) == _leased_body(json.dumps(tk.to_dict(old), sort_keys=True), old, new)


class TestSQLiteClaimInPlace:
    """A claim on SQLite sets the lease in the stored JSON; what it stores reads back as the leased ticket."""

    @settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None)
    @given(tickets(), aware_datetimes)
    def test_claimed_ticket_reads_back_equal(self, ticket: Ticket, due: datetime) -> None:
        """Any ticket: after claim_due, get and export give the leased ticket, as written fresh."""
        sla = tk.SLAState(policy="p", next_due_at=due)
        store = tk.SQLiteStore(":memory:", cache_size=0)
        store.create(attrs.evolve(ticket, sla=sla))
        at = due + timedelta(seconds=1)
        [claimed] = store.claim_due(at, worker="w", lease=timedelta(minutes=5))
        assert ticket.version + 1 == claimed.version
        assert claimed == store.get(ticket.id)
        assert [] == store.due(at)
        buf = io.StringIO()
        store.export(buf)
        line = json.loads(buf.getvalue().split("\n")[1])  # not splitlines: a value may hold U+0085
        assert to_dict(claimed) == line["ticket"]
        assert list(to_dict(claimed)) == list(line["ticket"])  # the same key order as a fresh write
        store.close()


class TestTrustedEvent:
    """Events the desk builds are equal to checked ones."""

    @settings(max_examples=100, suppress_health_check=list(HealthCheck))
    @given(ids, ids, ids, aware_datetimes, json_objects)
    def test_equal_to_a_checked_event(
        self, kind: str, actor: str, tenant: str, at: datetime, data: dict[str, Any]
    ) -> None:
        """Every field equals Event(...) built from the same values; ids are fresh."""
        ticket = Ticket(subject="s", id="T1", created_at=T0, tenant=tenant)
        fast = trusted_event(ticket, kind, actor, at, data)
        checked = Event(ticket_id="T1", kind=kind, actor=actor, at=at, data=data, tenant=tenant, id=fast.id)
        assert checked == fast
        assert fast.id != trusted_event(ticket, kind, actor, at, data).id


# --------------------------------------------------------------------------- agent load


class CountingStore(tk.InMemoryStore):
    """An InMemoryStore that records what the desk asks it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[str]] = []
        self.saves: list[str] = []

    def assigned_counts(self, agents: Any, **kwargs: Any) -> dict[str, int]:
        names = list(agents)
        self.asked.append(names)
        return super().assigned_counts(names, **kwargs)

    def save(self, ticket: Ticket, events: Any, expected_version: int) -> Ticket:
        self.saves.append("save")
        return super().save(ticket, events, expected_version)

    def save_many(self, changes: Any) -> list[Ticket]:
        self.saves.append("save_many")
        return super().save_many(changes)


class TestAgentLoad:
    """The router's load comes from the candidate team only, and is right."""

    def test_intake_reads_the_load_of_the_chosen_team_only(self) -> None:
        """A refund goes to team a: only li and wang are counted, in one call."""
        store = CountingStore()
        desk = make_desk(store)
        desk.open(subject="Refund", customer="c-1", category="refund")
        assert [["li", "wang"]] == store.asked

    def test_least_loaded_sees_the_stored_load(self) -> None:
        """With li holding two open tickets, the next refund goes to wang."""
        store = tk.InMemoryStore()
        desk = make_desk(store)
        for i in range(2):
            desk.open(subject="x", customer=f"c-{i}", category="other", team="a", assignee="li")
        assert "wang" == desk.open(subject="Refund", customer="c-9", category="refund").assignee

    def test_mapping_reads(self) -> None:
        """Unknown agents are missing; iteration and snapshot cover every agent the router knows."""
        store = tk.InMemoryStore()
        store.create(Ticket(subject="s", created_at=T0, assignee="zhao", status_kind="open"))
        load = AgentLoad(store, "default", router().agents)
        assert 0 == load.get("nobody", 0)
        assert 1 == load["zhao"]
        assert ["li", "wang", "zhao", "chen"] == list(load)
        assert 4 == len(load)
        assert {"li": 0, "wang": 0, "zhao": 1, "chen": 0} == load.snapshot()


def _random_work(store: tk.TicketStore, seed: int, n: int = 30) -> None:
    rng = random.Random(seed)
    kinds = ("new", "open", "pending", "resolved", "closed")
    agents = ("li", "wang", None)
    made = [
        store.create(
            Ticket(
                subject="s",
                id=f"W{seed}-{i}",
                created_at=T0,
                tenant=f"t{seed % 2}",
                assignee=rng.choice(agents),
                status_kind=rng.choice(kinds),
            )
        )
        for i in range(n)
    ]
    for _ in range(4 * n):
        k = rng.randrange(n)
        new = attrs.evolve(
            made[k], version=made[k].version + 1, assignee=rng.choice(agents), status_kind=rng.choice(kinds)
        )
        try:
            made[k] = store.save(new, (), made[k].version)
        except tk.ConflictError:
            made[k] = store.get(made[k].id)


def _exact_after_concurrent_work(handles: list[tk.TicketStore]) -> None:
    threads = [threading.Thread(target=_random_work, args=(handles[k % len(handles)], k)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tenant in ("t0", "t1", None):
        for store in handles:
            expected = full_count(store, ["li", "wang"], tenant=tenant, status_kind=OPEN_STATUS_KINDS)
            assert expected == store.assigned_counts(["li", "wang"], tenant=tenant)
    assert sum(1 for _ in handles[0].scan()) == 6 * 30


class TestLoadUnderConcurrentWriters:
    """After random concurrent work, assigned_counts equals a full count."""

    def test_in_memory(self) -> None:
        """Six threads on one InMemoryStore."""
        _exact_after_concurrent_work([tk.InMemoryStore()])

    def test_sqlite_threads_and_handles(self, tmp_path: Path) -> None:
        """Six threads on three SQLiteStore handles of one file."""
        path = tmp_path / "load.db"
        handles: list[tk.TicketStore] = [tk.SQLiteStore(path) for _ in range(3)]
        _exact_after_concurrent_work(handles)
        for h in handles:
            h.close()

    def test_postgres_handles(self, make_postgres_store: Callable[..., Any]) -> None:
        """Six threads on three PostgresStore handles of one schema."""
        first = make_postgres_store()
        handles = [first, make_postgres_store(first.schema), make_postgres_store(first.schema)]
        _exact_after_concurrent_work(handles)

    def test_default_implementation(self) -> None:
        """The TicketStore default (counting with count) equals a full count too."""
        store = tk.InMemoryStore()
        _random_work(store, 1)
        expected = full_count(store, ["li", "wang", "li"], tenant="t1", status_kind=("open", "closed"))
        assert expected == tk.TicketStore.assigned_counts(
            store, ["li", "wang", "li"], tenant="t1", status_kind=("open", "closed")
        )


# --------------------------------------------------------------------------- indexes


class TestInMemoryCustomerIndex:
    """Customer queries read the index and answer like a scan."""

    def test_index_follows_every_change(self) -> None:
        """After random changes of customer and status kind, indexed queries equal the scan's answer."""
        rng = random.Random(3)
        store = tk.InMemoryStore()
        made = []
        kinds = ("new", "open", "resolved")
        for i in range(60):
            who = rng.choice((None, "c-1", "c-2", "c-3"))
            t = Ticket(
                subject="s",
                id=f"T{i}",
                created_at=T0 + timedelta(minutes=i),
                customer=tk.Customer(id=who) if who else None,
                status_kind=rng.choice(kinds),
            )
            made.append(store.create(t))
        for _ in range(200):
            k = rng.randrange(len(made))
            who = rng.choice((None, "c-1", "c-2", "c-3"))
            made[k] = store.save(
                attrs.evolve(
                    made[k],
                    version=made[k].version + 1,
                    customer=tk.Customer(id=who) if who else None,
                    status_kind=rng.choice(kinds),
                ),
                (),
                made[k].version,
            )
        everything = list(store.scan())
        for customer in (["c-1"], ["c-2", "c-3"]):
            for status_kind in (None, ["open"], ["new", "resolved"]):
                q = Query.build(customer=customer, status_kind=status_kind, order_by="-created_at", limit=100)
                assert [t.id for t in q.page(everything)] == [t.id for t in store.run_query(q)]
                assert sum(1 for t in everything if q.matches(t)) == store.run_count(q)


def _traced(store: tk.SQLiteStore) -> Iterator[list[str]]:
    statements: list[str] = []
    conn = store._conn()
    conn.set_trace_callback(statements.append)
    yield statements
    conn.set_trace_callback(None)


def _every_desk_operation(desk: tk.Helpdesk, clock: ManualClock) -> None:
    t = desk.open(subject="Refund", customer="c-1", category="refund")
    desk.open(subject="Refund again", customer="c-1", category="refund")  # deduplicated
    desk.fire(t.id, "open", actor=LEAD)
    desk.comment(t.id, "on it", actor=LEAD)
    desk.assign(t.id, agent="wang", team="a", actor=LEAD)
    desk.progress(t.id, actor=LEAD)
    desk.history(t.id, actor=LEAD)
    desk.comments(t.id, actor=LEAD)
    desk.next_wakeup()
    clock.advance(timedelta(hours=3))
    desk.tick()
    desk.fire(t.id, "resolve", actor=LEAD)


class TestSQLitePlans:
    """Every SELECT the desk makes on SQLite searches an index that fits it."""

    def test_every_lookup_uses_an_index(self, tmp_path: Path) -> None:
        """No full scan, no walk of a whole tenant; the named indexes for dedupe and load."""
        store = tk.SQLiteStore(tmp_path / "plans.db")
        clock = ManualClock(T0)
        desk = make_desk(store, clock)
        desk.open(subject="warm", customer="c-2", category="other")
        gen = _traced(store)
        statements = next(gen)
        _every_desk_operation(desk, clock)
        next(gen, None)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) >= 8
        conn = sqlite3.connect(tmp_path / "plans.db")
        used: set[str] = set()
        for sql in selects:
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "SCAN tickets" not in plan, (sql, plan)
            assert "SCAN events" not in plan, (sql, plan)
            assert "(tenant=?)" not in plan, (sql, plan)  # walks a whole tenant
            used.update(w for w in plan.replace("(", " ").split() if w.startswith(("tickets_", "events_")))
        assert {"tickets_customer_open", "tickets_load", "events_ticket"} <= used
        assert used & {"tickets_due", "tickets_tenant_due"}
        conn.close()
        store.close()

    def test_customer_queries_without_tenant_use_the_customer_index(self) -> None:
        """Across tenants a customer's tickets come from the customer index."""
        store = tk.SQLiteStore(":memory:")
        gen = _traced(store)
        statements = next(gen)
        store.query(customer="c-1", order_by="-updated_at")
        store.query(customer="c-1", tenant="x", order_by="-updated_at")
        store.count(customer="c-1")
        next(gen, None)
        conn = store._conn()
        plans = [" ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {s}")) for s in statements]
        assert "tickets_customer " in plans[0] + " "
        assert "tickets_customer_updated" in plans[1]
        assert "tickets_customer " in plans[2] + " "


class TestPostgresPlans:
    """The desk's lookups on PostgreSQL read an index that fits, with realistic statistics."""

    def test_plans(self, make_postgres_store: Callable[..., Any]) -> None:
        """Among 10,000 mostly closed tickets: dedupe, last agent, load, due, events each read an index."""
        store = make_postgres_store()
        history = [
            Ticket(
                subject="old",
                id=f"H{i:05d}",
                created_at=T0 - timedelta(minutes=i),
                customer=tk.Customer(id=f"c-{i % 1000}"),
                assignee=("li", "wang", "zhao", "chen")[i % 4],
                status_kind="closed" if i % 100 else "open",
            )
            for i in range(10_000)
        ]
        for k in range(0, len(history), 2000):
            store.save_many(
                [
                    (h, [Event(ticket_id=h.id, kind="ticket.created", actor="system", at=h.created_at)], None)
                    for h in history[k : k + 2000]
                ]
            )
        desk = make_desk(store)
        t = desk.open(subject="Refund", customer="c-1", category="refund")
        dedupe = Query.build(
            tenant="default", customer="c-1", status_kind=OPEN_STATUS_KINDS, order_by="-created_at", limit=100
        )
        sticky = Query.build(tenant="default", customer="c-1", order_by="-updated_at", limit=5)
        checks = [
            (*store._query_sql(dedupe), ("tickets_customer_open", "tickets_customer")),
            (*store._query_sql(sticky), ("tickets_customer_updated",)),
            (*store._counts_sql(["li", "wang"], "default", frozenset(OPEN_STATUS_KINDS)), ("tickets_load",)),
            (store._sql.due_tenant, ["default", 1, 100], ("tickets_tenant_due", "tickets_due")),
            (store._sql.events, [t.id], ("events_ticket",)),
            (store._sql.get, [t.id], ("tickets_pkey",)),
        ]
        import psycopg

        with psycopg.connect(store._pool.conninfo, autocommit=True) as conn:
            conn.execute(f'ANALYZE "{store.schema}".tickets')
            conn.execute(f'ANALYZE "{store.schema}".events')
            for sql, params, wanted in checks:
                plan = " ".join(r[0] for r in conn.execute(f"EXPLAIN {sql}", params).fetchall())
                assert any(w in plan for w in wanted), (sql, plan)
                assert "Seq Scan on tickets" not in plan, (sql, plan)


# --------------------------------------------------------------------------- tick


class TestBatchedTick:
    """A sweep saves all its claimed tickets in one transaction."""

    def test_one_save_many_per_claimed_batch(self) -> None:
        """Five due tickets: one claim, one save_many, no single saves; every one swept."""
        store = CountingStore()
        clock = ManualClock(T0)
        desk = make_desk(store, clock)
        made = [desk.open(subject=f"s{i}", customer=f"c-{i}", category="refund") for i in range(5)]
        clock.advance(timedelta(hours=3))
        store.saves.clear()
        events = desk.tick()
        assert ["save_many"] == store.saves
        assert {t.id for t in made} == {e.ticket_id for e in events}
        assert desk.tick() == []

    def test_a_failed_batch_falls_back_to_one_by_one(self) -> None:
        """When the batch conflicts, each ticket is swept on its own and none is lost or doubled."""

        class Conflicting(CountingStore):
            failed = False

            def save_many(self, changes: Any) -> list[Ticket]:
                changes = list(changes)
                if not self.failed and len(changes) > 1:
                    self.failed = True
                    raise tk.ConflictError(changes[0][0].id, 1, 2)
                return super().save_many(changes)

        store = Conflicting()
        clock = ManualClock(T0)
        desk = make_desk(store, clock)
        made = [desk.open(subject=f"s{i}", customer=f"c-{i}", category="refund") for i in range(3)]
        clock.advance(timedelta(hours=3))
        events = desk.tick()
        assert store.failed
        assert {t.id for t in made} == {e.ticket_id for e in events}
        kinds = [(e.ticket_id, e.kind, e.data.get("metric")) for e in events]
        assert len(kinds) == len(set(kinds))

    def test_always_conflicting_writes_give_up(self, caplog: pytest.LogCaptureFixture) -> None:
        """When every write conflicts, the sweep gives each ticket up (its lease brings it back)."""

        class Busy(tk.InMemoryStore):
            def save_many(self, changes: Any) -> list[Ticket]:
                changes = list(changes)
                if any(expected is not None for _, _, expected in changes):  # desk writes go through commit
                    raise tk.ConflictError(changes[0][0].id, 1, 2)
                return super().save_many(changes)

            def save(self, ticket: Ticket, events: Any, expected_version: int) -> Ticket:
                if events:
                    raise tk.ConflictError(ticket.id, expected_version, expected_version + 1)
                return super().save(ticket, events, expected_version)

        store = Busy()
        clock = ManualClock(T0)
        desk = make_desk(store, clock)
        desk.open(subject="s", customer="c-1", category="refund")
        clock.advance(timedelta(hours=3))
        assert [] == desk.tick()
        assert "gave up sweeping" in caplog.text

    def test_a_ticket_gone_before_the_retry_is_skipped(self) -> None:
        """A conflict, then the ticket is not found on reload: nothing is emitted for it."""

        class Vanishing(tk.InMemoryStore):
            def save_many(self, changes: Any) -> list[Ticket]:
                changes = list(changes)
                if any(expected is not None for _, _, expected in changes):  # desk writes go through commit
                    raise tk.ConflictError(changes[0][0].id, 1, 2)
                return super().save_many(changes)

            def save(self, ticket: Ticket, events: Any, expected_version: int) -> Ticket:
                if events:
                    raise tk.ConflictError(ticket.id, expected_version, expected_version + 1)
                return super().save(ticket, events, expected_version)

            def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
                raise tk.NotFoundError("ticket", ticket_id)

        store = Vanishing()
        clock = ManualClock(T0)
        desk = make_desk(store, clock)
        desk.open(subject="s", customer="c-1", category="refund")
        clock.advance(timedelta(hours=3))
        assert [] == desk.tick()

    def test_next_wakeup_is_the_earliest_checkpoint(self) -> None:
        """next_wakeup equals the smallest next_due_at of any stored ticket."""
        store = tk.InMemoryStore()
        clock = ManualClock(T0)
        desk = make_desk(store, clock)
        assert desk.next_wakeup() is None
        for i in range(4):
            clock.advance(timedelta(minutes=7))
            desk.open(subject=f"s{i}", customer=f"c-{i}", category="refund")
        expected = min(t.next_due_at for t in store.scan() if t.next_due_at is not None)
        assert expected == desk.next_wakeup()
