"""A queue that drains: order, capacity, shifts, leases, and two workers on one SQLite file."""

from __future__ import annotations

import importlib.util
import json
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit.desk import _queues
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
ADMIN = tk.Actor(id="boss", roles={"admin"})
PRIOS = ["low", "normal", "high", "urgent"]
RANK = {p: i for i, p in enumerate(PRIOS)}


def queue_router(capacities: dict[str, int], **kw: object) -> tk.Router:
    """Every ticket waits in team q's queue; agents with the given capacities."""
    return tk.Router(
        rules=[tk.Rule(name="all", assign=tk.Assign(team="q", strategy="queue"))],
        agents=[tk.Agent(id=a, teams={"q"}, capacity=c) for a, c in capacities.items()],
        teams=[tk.Team(id="q")],
        **kw,  # type: ignore[arg-type]
    )


def drained(desk: tk.Helpdesk, ticket_id: str) -> list[tk.Event]:
    """The queue hand-outs of one ticket."""
    return [
        e
        for e in desk.history(ticket_id, actor=ADMIN)
        if e.kind == "ticket.assigned" and str(e.data["reason"]).startswith("queue drained")
    ]


class TestWakeup:
    """next_wakeup wakes a worker for what the queues wait for, not only for SLA checkpoints."""

    def test_presence_reverting_and_shift_opening(self) -> None:
        """An away-until and a shift opening are wake-ups; the earliest one wins."""
        cal = tk.BusinessCalendar(tz="UTC", hours={"mon-fri": ["10:00-18:00"]})
        router = tk.Router(
            rules=[tk.Rule(name="all", assign=tk.Assign(team="q", strategy="queue"))],
            agents=[tk.Agent(id="a", teams={"q"}), tk.Agent(id="b", teams={"q"}, shift="day")],
            teams=[tk.Team(id="q")],
            calendars={"day": cal},
        )
        clock = ManualClock(T0)  # 09:00, the day shift opens at 10:00
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router, clock=clock)
        assert T0.replace(hour=10) == desk.next_wakeup()
        desk.set_presence("a", "away", actor=tk.Actor(id="a"), until=T0 + timedelta(minutes=20))
        assert T0 + timedelta(minutes=20) == desk.next_wakeup()
        clock.advance(timedelta(minutes=30))  # a is back; b's shift still to open
        desk.tick()
        assert T0.replace(hour=10) == desk.next_wakeup()
        clock.advance(timedelta(hours=1))  # 10:30: everyone on shift, nothing pending
        assert desk.next_wakeup() is None


class TestDrain:
    """Hand-out order, capacity, shifts and skills."""

    def test_priority_then_age(self) -> None:
        """Urgent first, then oldest first; only as many as there is room for."""
        clock = ManualClock(T0)
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router({"a": 2, "b": 1}), clock=clock)
        made = []
        for i, prio in enumerate(["low", "high", "normal", "high", "urgent", "low"]):
            made.append((desk.open(subject=f"s{i}", priority=prio).id, prio))
            clock.advance(timedelta(minutes=1))
        events = desk.drain_queues()
        expected = [made[4][0], made[1][0], made[3][0]]
        assert expected == [e.ticket_id for e in events]
        loads = {a: sum(desk.get(i, actor=ADMIN).assignee == a for i, _ in made) for a in ("a", "b")}
        assert {"a": 2, "b": 1} == loads
        assert [] == desk.drain_queues()

    def test_freed_capacity_is_filled_by_the_sweep(self) -> None:
        """Closing a ticket frees its agent's slot; the next tick hands the next queued ticket over."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router({"a": 1}))
        first, second = desk.open(subject="1"), desk.open(subject="2")
        desk.tick()
        assert ("a", None) == (
            desk.get(first.id, actor=ADMIN).assignee,
            desk.get(second.id, actor=ADMIN).assignee,
        )
        desk.fire(first.id, "cancel", actor=ADMIN)
        assert [second.id] == [e.ticket_id for e in desk.tick() if e.kind == "ticket.assigned"]

    def test_shift_start(self) -> None:
        """An agent off shift gets nothing; when the shift opens, the sweep hands the queue out."""
        cal = tk.BusinessCalendar(tz="UTC", hours={"mon-fri": ["10:00-18:00"]})
        r = tk.Router(
            rules=[tk.Rule(name="all", assign=tk.Assign(team="q", strategy="queue"))],
            agents=[tk.Agent(id="a", teams={"q"}, shift="day")],
            calendars={"day": cal},
        )
        clock = ManualClock(T0)
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=r, clock=clock)
        t = desk.open(subject="s")
        assert [] == desk.tick()
        clock.advance(timedelta(hours=1))
        assert [t.id] == [e.ticket_id for e in desk.tick()]

    def test_skills_skip_to_the_next_ticket(self) -> None:
        """A ticket nobody free has the skill for waits; the ones after it still go out."""
        r = tk.Router(
            rules=[
                tk.Rule(
                    name="fr",
                    when=tk.F.category == "fr",
                    assign=tk.Assign(team="q", strategy="queue", skills={"fr"}),
                ),
                tk.Rule(name="all", assign=tk.Assign(team="q", strategy="queue")),
            ],
            agents=[tk.Agent(id="a", teams={"q"}, capacity=5)],
        )
        clock = ManualClock(T0)
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=r, clock=clock)
        french = desk.open(subject="fr", category="fr")
        clock.advance(timedelta(minutes=1))
        other = desk.open(subject="en", category="en")
        assert [other.id] == [e.ticket_id for e in desk.drain_queues()]
        assert None is desk.get(french.id, actor=ADMIN).assignee

    def test_weighted_hand_out(self) -> None:
        """A queued call takes 3 of the capacity: with 4, one call and one e-mail go out, not two calls."""
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            router=queue_router({"a": 4}, capacity_weights={"channel": {"phone": 3}}),
            clock=ManualClock(T0),
        )
        ids = [desk.open(subject=c, channel=c).id for c in ("phone", "phone", "email")]
        assert [ids[0], ids[2]] == [e.ticket_id for e in desk.drain_queues()]

    def test_drain_queues_rights_and_tenant(self) -> None:
        """An agent may not drain; an admin drains their own tenant only."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router({"a": 1}))
        desk.open(subject="s")
        with pytest.raises(tk.PermissionDeniedError):
            desk.drain_queues(actor=tk.Actor(id="a"))
        assert [] == desk.drain_queues(actor=tk.Actor(id="x", roles={"admin"}, tenant="other"))
        assert 1 == len(desk.drain_queues(actor=ADMIN))

    def test_without_router_nothing_happens(self) -> None:
        """A desk without a router has no queues to drain."""
        assert [] == tk.Helpdesk(store=tk.InMemoryStore()).drain_queues()


class TestLease:
    """Exactly one worker drains a tenant at a time."""

    def test_a_held_lease_skips_and_an_expired_one_is_taken(self, tmp_path: Path) -> None:
        """Another worker's live lease stops the drain; once it ran out, the drain goes ahead."""
        clock = ManualClock(T0)
        store = tk.SQLiteStore(tmp_path / "d.db")
        desk = tk.Helpdesk(store=store, router=queue_router({"a": 1}), clock=clock, worker="w1")
        desk.open(subject="s")
        held = json.dumps({"holder": "w2", "until": (T0 + timedelta(minutes=5)).isoformat()})
        store.put_record(_queues.LEASE_KIND, _queues.LEASE_KEY, held, tenant="default", expected_version=None)
        assert [] == desk.drain_queues()
        clock.advance(timedelta(minutes=5))
        assert 1 == len(desk.drain_queues())
        text, _ = store.records(_queues.LEASE_KIND, tenant="default")[_queues.LEASE_KEY]
        assert "" == json.loads(text)["holder"]

    def test_an_idle_tick_writes_no_lease(self) -> None:
        """With nothing waiting, or nobody with room, a tick takes no lease (no write at all)."""
        store = tk.InMemoryStore()
        desk = tk.Helpdesk(store=store, router=queue_router({"a": 1}))
        desk.tick()
        desk.set_presence("a", "away", actor=ADMIN)
        desk.open(subject="s")
        desk.tick()
        assert {} == store.records(_queues.LEASE_KIND, tenant="default")
        desk.set_presence("a", "online", actor=ADMIN)
        assert [_queues.LEASE_KEY] == list(store.records(_queues.LEASE_KIND, tenant="default"))

    def test_a_lost_lease_stops_handing_out(self) -> None:
        """When another worker took the lease meanwhile, nothing more is written."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router({"a": 1}), worker="w1")
        desk.open(subject="s")
        ctx = desk._desk
        lease = _queues._take_lease(ctx, "default", T0)
        assert lease is not None
        ctx.store.put_record(
            _queues.LEASE_KIND, _queues.LEASE_KEY, "{}", tenant="default", expected_version=lease
        )
        assert [] == _queues._hand_out(ctx, "default", T0, 10, lease)
        assert ("", None) == _queues._read_lease("not json")

    def test_a_ticket_taken_meanwhile_is_not_handed_out(self) -> None:
        """A planned ticket someone took before the write: the batch falls back and skips it."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router({"a": 2}))
        first, second = desk.open(subject="1"), desk.open(subject="2")
        ctx = desk._desk
        stale = [(first, "q", "a"), (second, "q", "a")]
        desk.assign(first.id, team="q", agent="a", actor=ADMIN)
        events = _queues._commit(ctx, stale, T0)
        assert [second.id] == [e.ticket_id for e in events]
        assert [] == drained(desk, first.id)


class Reference:
    """The slow, obviously right model: who gets what when the queue drains."""

    def __init__(self, capacities: dict[str, int]) -> None:
        self.capacities = capacities
        self.online = dict.fromkeys(capacities, True)
        self.load = dict.fromkeys(capacities, 0)
        self.queued: dict[str, tuple[int, datetime]] = {}

    def drain(self) -> set[str]:
        """The tickets that go out: the first ones by priority then age, as many as there is room for."""
        room = sum(self.capacities[a] - self.load[a] for a in self.capacities if self.online[a])
        order = sorted(self.queued, key=lambda i: (-self.queued[i][0], self.queued[i][1], i))
        return set(order[: max(room, 0)])


class TestTwoWorkers:
    """Queue draining over simulated time with two workers on one SQLite file, against the reference."""

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_against_reference(self, tmp_path: Path, seed: int) -> None:
        """Each ticket handed out once, to an agent with room, in the reference's order; none missed."""
        rng = random.Random(seed)
        caps = {"a": 2, "b": 3, "c": 1, "d": 4}
        clock = ManualClock(T0)
        desks = [
            tk.Helpdesk(
                store=tk.SQLiteStore(tmp_path / "d.db"),
                router=queue_router(caps),
                clock=clock,
                worker=f"w{n}",
            )
            for n in (1, 2)
        ]
        ref = Reference(caps)
        open_by: dict[str, str] = {}
        ever: set[str] = set()
        for _step in range(25):
            clock.advance(timedelta(minutes=10))
            for _ in range(rng.randint(0, 5)):
                prio = rng.choice(PRIOS)
                t = rng.choice(desks).open(subject="s", priority=prio)
                ref.queued[t.id] = (RANK[prio], t.created_at)
            agent = rng.choice(list(caps))
            status = rng.choice(["online", "online", "away"])
            desks[0].set_presence(agent, status, actor=ADMIN)
            ref.online[agent] = status == "online"
            for ticket_id in rng.sample(sorted(open_by), k=min(len(open_by), rng.randint(0, 2))):
                desks[1].fire(ticket_id, "cancel", actor=ADMIN)
                ref.load[open_by.pop(ticket_id)] -= 1
            # set_presence("online") drains at once: the reference counts that step's hand-outs too
            expected = ref.drain()
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def work(desk: tk.Helpdesk, barrier: threading.Barrier, errors: list[BaseException]) -> None:
                try:
                    barrier.wait(timeout=30)
                    desk.tick()
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(d, barrier, errors)) for d in desks]
            for th in threads:
                th.start()
            for th in threads:
                th.join(60)
            assert [] == errors
            got = set()
            for ticket_id in list(ref.queued):
                owner = desks[0].get(ticket_id, actor=ADMIN).assignee
                if owner is not None:
                    got.add(ticket_id)
                    del ref.queued[ticket_id]
                    ref.load[owner] += 1
                    open_by[ticket_id] = owner
                    ever.add(ticket_id)
            assert expected == got
            for a, cap in caps.items():
                assert ref.load[a] <= cap
                assert ref.load[a] == sum(1 for o in open_by.values() if o == a)
        assert ever
        for ticket_id in ever:
            assert 1 == len(drained(desks[0], ticket_id))


class TestBench:
    """The queue benchmark stays correct on a tiny size."""

    def test_bench_runs_and_agrees(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Both ways hand out the same number of tickets within capacity, and a ratio is printed."""
        path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_queues.py"
        spec = importlib.util.spec_from_file_location("bench_queues", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        figures = module.main(["--tickets", "120", "--agents", "6", "--capacity", "15", "--teams", "2"])
        assert 0 < figures["handed"] <= 6 * 15
        assert "ratio naive / ticketkit" in capsys.readouterr().out


class FlakyRecords(tk.InMemoryStore):
    """A store whose record writes of one kind conflict the first ``fails`` times (a racing worker)."""

    def __init__(self, kind: str, fails: int) -> None:
        super().__init__()
        self.kind, self.fails = kind, fails

    def put_record(
        self, kind: str, key: str, value: str, *, tenant: str, expected_version: int | None
    ) -> int:
        """Conflict while ``fails`` lasts, then write."""
        if kind == self.kind and self.fails > 0:
            self.fails -= 1
            raise tk.ConflictError(f"{kind}:{key}", expected_version, None, detail="raced")
        return super().put_record(kind, key, value, tenant=tenant, expected_version=expected_version)


class TestRaces:
    """What the drain and presence do when another worker wins a race."""

    def test_presence_retries_then_gives_up(self) -> None:
        """A presence write that keeps conflicting is retried, then a ConflictError."""
        desk = tk.Helpdesk(store=FlakyRecords("presence", 2), router=queue_router({"a": 1}))
        assert "away" == desk.set_presence("a", "away", actor=ADMIN).status
        desk = tk.Helpdesk(store=FlakyRecords("presence", 99), router=queue_router({"a": 1}), max_attempts=2)
        with pytest.raises(tk.ConflictError):
            desk.set_presence("a", "away", actor=ADMIN)

    def test_a_lease_lost_in_the_race_skips(self) -> None:
        """When another worker takes the lease first, this drain hands nothing out."""
        desk = tk.Helpdesk(store=FlakyRecords("lease", 1), router=queue_router({"a": 1}))
        desk.open(subject="s")
        assert [] == desk.drain_queues()
        assert 1 == len(desk.drain_queues())

    def test_expiry_lost_in_the_race_keeps_the_newer_presence(self) -> None:
        """A presence set again while its until ran out is left as set."""
        clock = ManualClock(T0)
        store = FlakyRecords("none", 0)
        desk = tk.Helpdesk(store=store, router=queue_router({"a": 1}), clock=clock, presence_policy="requeue")
        desk.set_presence("a", "away", actor=ADMIN, until=T0 + timedelta(hours=1))
        clock.advance(timedelta(hours=2))
        store.kind, store.fails = "presence", 1
        desk.tick()
        text, version = store.records("presence", tenant="default")["a"]
        assert (1, "away") == (version, json.loads(text)["status"])

    def test_the_limit_bounds_one_drain(self) -> None:
        """A drain hands out at most drain_limit tickets; the next one goes on."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router({"a": 5}))
        for i in range(3):
            desk.open(subject=f"s{i}")
        desk._desk.drain_limit = 2
        assert (2, 1) == (len(desk.drain_queues()), len(desk.drain_queues()))

    def test_one_by_one_skips_deleted_and_conflicting_tickets(self) -> None:
        """A ticket gone or changed under the single write is not handed out."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router({"a": 2}))
        t = desk.open(subject="s")
        ghost = tk.Ticket(subject="gone", id="GHOST", created_at=T0, team="q")
        assert [] == _queues._one(desk._desk, ghost, "q", "a", T0)

        class Racing(tk.InMemoryStore):
            def commit(self, changes: object, outbox: object = ()) -> list[tk.Ticket]:  # type: ignore[override]
                raise tk.ConflictError("x", 1, 2)

        racing = tk.Helpdesk(store=Racing(), router=queue_router({"a": 2}))
        racing._desk.store.create(t)
        assert [] == _queues._one(racing._desk, t, "q", "a", T0)

    def test_unreadable_presence_records_are_ignored(self) -> None:
        """A record this version cannot read counts as no presence (the configured status)."""
        store = tk.InMemoryStore()
        desk = tk.Helpdesk(store=store, router=queue_router({"a": 1, "b": 1}))
        store.put_record("presence", "a", "not json", tenant="default", expected_version=None)
        store.put_record(
            "presence", "b", json.dumps({"status": "busy"}), tenant="default", expected_version=None
        )
        assert {"a": "online", "b": "online"} == desk.presence(actor=ADMIN)


class TestInterleaved:
    """A second worker draining while the first is between planning and writing."""

    def test_the_lease_keeps_capacity_when_workers_interleave(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Worker 2 drains (after an urgent ticket came in) while worker 1 holds its plan: capacity holds."""
        clock = ManualClock(T0)
        one, two = (
            tk.Helpdesk(
                store=tk.SQLiteStore(tmp_path / "d.db"), router=queue_router({"a": 2}), clock=clock, worker=w
            )
            for w in ("w1", "w2")
        )
        first, second = one.open(subject="A"), one.open(subject="B")
        real_commit = _queues._commit
        late: list[str] = []

        def interleaved(
            desk: object, plan: list[tuple[tk.Ticket, str, str]], now: datetime
        ) -> list[tk.Event]:
            if not late:
                late.append(two.open(subject="C", priority="urgent").id)
                two.drain_queues()  # held off by worker 1's lease
            return real_commit(desk, plan, now)  # type: ignore[arg-type]

        monkeypatch.setattr(_queues, "_commit", interleaved)
        one.drain_queues()
        owners = {t: one.get(t, actor=ADMIN).assignee for t in (first.id, second.id, late[0])}
        assert {first.id: "a", second.id: "a", late[0]: None} == owners
        assert 2 == sum(1 for o in owners.values() if o == "a")


class TestProperty:
    """Random queues and rosters: the drain hands out exactly what the reference says."""

    @given(
        tickets=st.lists(st.tuples(st.sampled_from(PRIOS), st.integers(0, 5)), max_size=25),
        agents=st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=4),
    )
    @settings(deadline=None, max_examples=40)
    def test_drain_matches_reference(
        self, tickets: list[tuple[str, int]], agents: list[tuple[int, bool]]
    ) -> None:
        """The first tickets by (priority, age, id), as many as online agents have room for; none over."""
        caps = {f"a{i}": cap for i, (cap, _) in enumerate(agents)}
        clock = ManualClock(T0)
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=queue_router(caps), clock=clock)
        for i, (_, online) in enumerate(agents):
            if not online:
                desk.set_presence(f"a{i}", "away", actor=ADMIN)
        ref = Reference(caps)
        ref.online = {f"a{i}": online for i, (_, online) in enumerate(agents)}
        for prio, minutes in sorted(tickets, key=lambda x: x[1]):
            clock.advance(T0 + timedelta(minutes=minutes) - clock.now())
            t = desk.open(subject="s", priority=prio)
            ref.queued[t.id] = (RANK[prio], t.created_at)
        expected = ref.drain()
        events = desk.drain_queues()
        assert expected == {e.ticket_id for e in events}
        per_agent = {a: sum(1 for e in events if e.data["agent"] == a) for a in caps}
        assert all(per_agent[a] <= caps[a] for a in caps)
        assert all(per_agent[a] == 0 for a in caps if not ref.online[a])
