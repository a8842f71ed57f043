"""Property tests of the SLA engine against a slow, minute-by-minute reference.

The reference walks every minute of a ticket's life on a calendar it computes by
hand (09:00-12:00 and 13:00-17:00 UTC on weekdays), applies the events of each
minute with the preset clocks' rules written out plainly, and counts open
minutes while each clock runs. Events fall on whole minutes and targets are whole
minutes, so the two must agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_sla import KINDS, OFFICE, Sim
from ticketkit import Escalation, Priority, SLAPolicy, SLATarget, Ticket

M = timedelta(minutes=1)
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # Monday, before opening

TARGETS = {
    Priority.URGENT: {"first_response": 30, "next_response": 30, "periodic_update": 60, "resolution": 240},
    "default": {"first_response": 120, "next_response": 60, "periodic_update": 180, "resolution": 480},
}
POLICY = SLAPolicy(
    name="p",
    calendar=OFFICE,
    targets={k: SLATarget(**{m: v * M for m, v in t.items()}) for k, t in TARGETS.items()},
    pause_in={"pending"},
    warn_at=(0.5,),
    escalations=[
        Escalation(metric="resolution", at=0.9, notify="role:lead"),
        Escalation(metric="resolution", after=60 * M, notify="role:head"),
        Escalation(metric="first_response", after=30 * M, notify="role:lead"),
    ],
)
METRICS = ("first_response", "next_response", "periodic_update", "resolution")


def is_open(x: datetime) -> bool:
    return x.weekday() < 5 and (9 <= x.hour < 12 or 13 <= x.hour < 17)


def thresholds(metric: str, target: int) -> list[tuple[str, int]]:
    """(name, minutes) of every checkpoint of a clock, as the policy defines them."""
    out = [("warning", target // 2), ("breach", target)]
    if metric == "resolution":
        out += [("esc1", target * 9 // 10), ("esc2", target + 60)]
    if metric == "first_response":
        out += [("esc1", target + 30)]
    return out


@dataclass
class RefClock:
    mode: str = "idle"  # idle, running, paused, stopped
    cycle: int = 0
    count: int = 0
    started: datetime | None = None
    running_at: list[tuple[datetime, int]] = field(default_factory=list)  # instants it ran, with its count

    def reached(self, minutes: int, until: datetime) -> datetime | None:
        for x, c in self.running_at:
            if x > until:
                return None
            if c >= minutes:
                return x
        return None


class Reference:
    """The preset clocks, written out plainly, advanced one minute at a time."""

    def __init__(self, created: datetime) -> None:
        self.status, self.kind, self.priority = "new", "new", Priority.NORMAL
        self.clocks = {m: RefClock() for m in METRICS}
        self.now = created
        for m in ("first_response", "periodic_update", "resolution"):
            self._start(m, created)

    def target(self, metric: str) -> int:
        row = TARGETS.get(self.priority, TARGETS["default"])
        return row[metric]

    def _start(self, metric: str, x: datetime, *, keep: bool = False) -> None:
        c = self.clocks[metric]
        if not keep:
            if c.mode != "idle":
                c.cycle += 1
            c.count = 0
            c.running_at = []
            c.started = x
        c.mode = "paused" if self.kind == "pending" else "running"

    def _active(self, metric: str) -> bool:
        return self.clocks[metric].mode in ("running", "paused")

    def advance(self, to: datetime) -> None:
        """Count the open minutes up to ``to``; the instant ``to`` itself is sampled after its events."""
        if self.now < to:
            self.finish_instant()  # every event of the current instant has been applied
        while self.now < to:
            for c in self.clocks.values():
                if c.mode == "running" and is_open(self.now):
                    c.count += 1
            self.now += M
            if self.now < to:
                self.finish_instant()

    def event(self, action: str, arg: Any = None) -> None:
        """Apply one event at ``self.now`` (after advancing to it)."""
        x = self.now
        c = self.clocks
        if action == "reply":
            for m in ("first_response", "next_response"):
                if self._active(m):
                    c[m].mode = "stopped"
            if self._active("periodic_update"):
                self._start("periodic_update", x)
        elif action == "customer":
            nr = c["next_response"]
            if self.kind in ("new", "open", "pending") and nr.mode in ("idle", "stopped"):
                self._start("next_response", x)
        elif action == "move":
            from_kind, self.status, self.kind = self.kind, arg, KINDS[arg]
            if self.kind in ("resolved", "closed"):
                for m in METRICS:
                    if self._active(m):
                        c[m].mode = "stopped"
            elif from_kind in ("resolved", "closed"):
                if c["resolution"].mode == "stopped":
                    self._start("resolution", x, keep=True)
                for m in ("periodic_update", "next_response"):
                    if c[m].mode in ("idle", "stopped"):
                        self._start(m, x)
            for m in METRICS:
                if c[m].mode == "running" and self.kind == "pending":
                    c[m].mode = "paused"
                elif c[m].mode == "paused" and self.kind != "pending":
                    c[m].mode = "running"
        elif action == "priority":
            self.priority = arg

    def finish_instant(self) -> None:
        """Record which clocks run at ``now``, once all its events are applied."""
        for c in self.clocks.values():
            if c.mode == "running" and (not c.running_at or c.running_at[-1][0] != self.now):
                c.running_at.append((self.now, c.count))

    def expect(self, metric: str, at: datetime) -> dict[str, Any]:
        """What the status of ``metric`` must say at ``at`` (== now)."""
        c = self.clocks[metric]
        target = self.target(metric)
        if c.mode == "idle":
            return {"state": "idle", "elapsed": timedelta(0), "cycle": c.cycle}
        crossed = [n for n, mins in thresholds(metric, target) if c.reached(mins, at) is not None]
        breached_at = c.reached(target, at)
        due: datetime | None = breached_at
        if c.mode == "running" and breached_at is None:
            x, count = at, c.count
            while count < target:
                if is_open(x):
                    count += 1
                x += M
            due = x
        if breached_at is not None:
            state = "breached"
        else:
            state = {"running": "running", "paused": "paused", "stopped": "met"}[c.mode]
        return {
            "state": state,
            "clock": c.mode,
            "elapsed": c.count * M,
            "cycle": c.cycle,
            "breached_at": breached_at,
            "due_at": due if state in ("running", "breached") else None,
            "crossed": sorted(crossed),
        }


ACTIONS = st.one_of(
    st.just(("reply", None)),
    st.just(("note", None)),
    st.just(("auto", None)),
    st.just(("customer", None)),
    st.tuples(st.just("move"), st.sampled_from(["open", "pending", "waiting_parts", "resolved"])),
    st.tuples(st.just("priority"), st.sampled_from([Priority.NORMAL, Priority.URGENT])),
    st.just(("tick", None)),
)
STEPS = st.lists(st.tuples(st.integers(0, 240), ACTIONS), max_size=18)


def run(steps: list[tuple[int, tuple[str, Any]]]) -> tuple[Sim, Reference, list[tuple[datetime, Ticket]]]:
    sim = Sim(POLICY, START)
    ref = Reference(START)
    now = START
    snapshots: list[tuple[datetime, Ticket]] = []
    for gap, (action, arg) in steps:
        if gap:
            snapshots.append((now + gap * M / 2, sim.ticket))
        now += gap * M
        ref.advance(now)
        if action == "reply":
            sim.reply(now)
        elif action == "note":
            sim.comment(now, public=False)
        elif action == "auto":
            sim.comment(now, automatic=True)
        elif action == "customer":
            sim.customer(now)
        elif action == "move":
            if arg == sim.ticket.status:
                continue
            sim.move(now, arg)
        elif action == "priority":
            sim.prioritize(now, arg)
        elif action == "tick":
            sim.tick(now)
        ref.event(action, arg)
    ref.finish_instant()
    return sim, ref, snapshots


def crossed_of(s: Any) -> list[str]:
    names = ["warning"] * len(s.warnings) + [f"esc{n}" for n in s.escalations]
    if s.state == "breached":
        names.append("breach")
    return sorted(names)


class TestAgainstReference:
    @settings(deadline=None)
    @given(STEPS, st.integers(0, 600))
    def test_status_agrees_with_minute_walk(
        self, steps: list[tuple[int, tuple[str, Any]]], tail: int
    ) -> None:
        """Every clock's state, elapsed, due, breach and crossed checkpoints match the slow reference."""
        sim, ref, _ = run(steps)
        at = ref.now + tail * M
        ref.advance(at)
        ref.finish_instant()
        got = sim.status(at)
        assert set(METRICS) == set(got)
        for m in METRICS:
            want = ref.expect(m, at)
            s = got[m]
            actual = {"state": s.state, "elapsed": s.elapsed, "cycle": s.cycle}
            if want["state"] != "idle":
                actual.update(
                    clock=s.clock,
                    breached_at=s.breached_at,
                    due_at=s.due_at,
                    crossed=crossed_of(s),
                )
            assert want == actual, m


class TestLaws:
    @settings(deadline=None)
    @given(STEPS, st.integers(0, 600))
    def test_status_equals_replay(self, steps: list[tuple[int, tuple[str, Any]]], tail: int) -> None:
        """status from the O(1) state equals status_as_of from replaying the events, now and in the past."""
        sim, _, snapshots = run(steps)
        end = sim.events[-1].at + tail * M
        assert sim.policy.status_as_of(sim.ticket, sim.events, end) == sim.status(end)
        for at, ticket in snapshots[-4:]:
            assert sim.policy.status_as_of(sim.ticket, sim.events, at) == sim.policy.status(ticket, at)

    @settings(deadline=None)
    @given(STEPS, st.integers(0, 600))
    def test_elapsed_never_exceeds_wall_time(
        self, steps: list[tuple[int, tuple[str, Any]]], tail: int
    ) -> None:
        """Business time counted by any clock is never more than the wall time since its cycle began."""
        sim, _, snapshots = run(steps)
        end = sim.events[-1].at + tail * M
        for at, ticket in [*snapshots, (end, sim.ticket)]:
            assert ticket.sla is not None
            for metric, s in sim.policy.status(ticket, at).items():
                clock = ticket.sla.clock(metric)
                assert clock is not None
                if clock.started_at is not None:
                    assert timedelta(0) <= s.elapsed <= at - clock.started_at

    @settings(deadline=None)
    @given(STEPS, st.lists(st.integers(1, 900), min_size=1, max_size=12))
    def test_due_events_fire_exactly_once(
        self, steps: list[tuple[int, tuple[str, Any]]], ticks: list[int]
    ) -> None:
        """Whatever the worker's rhythm, every checkpoint is emitted once, and all of them eventually."""
        sim, _, _ = run(steps)
        at = sim.events[-1].at
        for gap in ticks:
            at += gap * M
            sim.tick(at)
        ids = [e.id for e in sim.emitted]
        assert len(ids) == len(set(ids))
        keys = [(e.data["metric"], e.data["cycle"], e.data["key"]) for e in sim.emitted]
        assert len(keys) == len(set(keys))
        assert [] == sim.policy.due_events(sim.ticket, None, at)
        for s in sim.status(at).values():
            assert s.state != "breached" or any(
                e.kind == "sla.breached" and e.data["metric"] == s.metric and e.data["cycle"] == s.cycle
                for e in sim.emitted
            )

    @settings(deadline=None)
    @given(STEPS, st.lists(st.integers(0, 900), min_size=2, max_size=12))
    def test_windows_partition_the_checkpoints(
        self, steps: list[tuple[int, tuple[str, Any]]], cuts: list[int]
    ) -> None:
        """A pure observer calling over contiguous windows sees each pending checkpoint exactly once."""
        sim, _, _ = run(steps)
        base = sim.events[-1].at
        instants = [base + c * M for c in sorted(cuts)]
        seen = [e.id for a, b in pairwise(instants) for e in sim.policy.due_events(sim.ticket, a, b)]
        everything = [e.id for e in sim.policy.due_events(sim.ticket, None, instants[-1])]
        before = {e.id for e in sim.policy.due_events(sim.ticket, None, instants[0])}
        assert len(seen) == len(set(seen))
        assert sorted(seen) == sorted(i for i in everything if i not in before)

    @settings(deadline=None)
    @given(
        st.lists(st.tuples(st.integers(1, 300), st.sampled_from(["reply", "customer", "note"])), max_size=8),
        st.integers(0, 2000),
        st.integers(1, 2000),
        st.integers(0, 3000),
    )
    def test_pausing_never_makes_due_earlier(
        self, steps: list[tuple[int, str]], pause_start: int, pause_len: int, tail: int
    ) -> None:
        """Adding a pause anywhere never makes any due time earlier nor a met clock breached."""

        def history(with_pause: bool) -> tuple[Sim, datetime]:
            sim = Sim(POLICY, START)
            sim.move(START, "open")
            now = START
            timeline: list[tuple[datetime, str]] = []
            for gap, action in steps:
                now += gap * M
                timeline.append((now, action))
            if with_pause:
                timeline += [
                    (START + pause_start * M, "pause"),
                    (START + (pause_start + pause_len) * M, "resume"),
                ]
            timeline.sort(key=lambda x: x[0])
            for at, action in timeline:
                if action == "pause":
                    sim.move(at, "pending")
                elif action == "resume":
                    sim.move(at, "open")
                elif action == "reply":
                    sim.reply(at)
                elif action == "customer":
                    sim.customer(at)
                else:
                    sim.comment(at, public=False)
            return sim, max(t for t, _ in timeline) if timeline else START

        base, end_a = history(False)
        paused, end_b = history(True)
        at = max(end_a, end_b) + tail * M
        a, b = base.status(at), paused.status(at)
        for m in METRICS:
            assert b[m].elapsed <= a[m].elapsed or a[m].cycle != b[m].cycle
            if a[m].due_at is not None and b[m].due_at is not None and a[m].cycle == b[m].cycle:
                assert b[m].due_at >= a[m].due_at
            if a[m].state == "met" and a[m].cycle == b[m].cycle:
                assert b[m].state in ("met", "paused", "running")
