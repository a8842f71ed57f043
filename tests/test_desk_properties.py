"""Helpdesk invariants under random sequences of work, checked with a hypothesis state machine."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

import ticketkit as tk
from ticketkit.errors import InvalidTransitionError, ValidationError
from ticketkit.testing import ManualClock

SH = ZoneInfo("Asia/Shanghai")
CAL = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]})
ADMIN = tk.Actor(id="boss", roles={"admin"})
TRIGGERS = ["open", "wait", "resume", "resolve", "reopen", "close", "cancel"]


class DeskMachine(RuleBasedStateMachine):
    """Open, work, spawn, merge and sweep tickets while the clock runs; the books must balance."""

    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2025, 3, 3, 9, 0, tzinfo=SH))
        self.rec = tk.RecordingNotifier()
        policy = tk.SLAPolicy(
            name="std",
            calendar=CAL,
            targets={
                "default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=16)),
                "urgent": tk.SLATarget(first_response=timedelta(minutes=30), resolution=timedelta(hours=4)),
            },
            pause_in={"pending"},
            warn_at=(0.5, 0.75),
            escalations=[
                tk.Escalation(metric="resolution", at=1.0, notify="role:lead", raise_priority="high"),
                tk.Escalation(metric="resolution", after=timedelta(hours=2), notify="role:head"),
            ],
        )
        self.desk = tk.Helpdesk(
            store=tk.InMemoryStore(), policies=[policy], clock=self.clock, notifier=self.rec
        )
        self.swept_at: datetime | None = None

    @rule(
        target=tickets, customer=st.sampled_from(["c1", "c2", "c3"]), prio=st.sampled_from(list(tk.Priority))
    )
    def open(self, customer: str, prio: tk.Priority) -> str:
        return self.desk.open(subject="help", customer=customer, priority=prio, dedupe=False).id

    @rule(ticket=tickets, trigger=st.sampled_from(TRIGGERS))
    def fire(self, ticket: str, trigger: str) -> None:
        with contextlib.suppress(InvalidTransitionError):
            self.desk.fire(ticket, trigger, actor=ADMIN)
        self.swept_at = None

    @rule(ticket=tickets, public=st.booleans(), by_customer=st.booleans())
    def comment(self, ticket: str, public: bool, by_customer: bool) -> None:
        t = self.desk.get(ticket, actor=ADMIN)
        own = by_customer and t.customer and t.channel != "internal"  # sub-tickets are staff-only
        actor = tk.Actor.customer(t.customer.id) if own and t.customer else ADMIN
        self.desk.comment(ticket, "note", actor=actor, public=public or by_customer)
        self.swept_at = None

    @rule(ticket=tickets, prio=st.sampled_from(list(tk.Priority)))
    def set_priority(self, ticket: str, prio: tk.Priority) -> None:
        self.desk.set_priority(ticket, prio, actor=ADMIN)
        self.swept_at = None

    @rule(target=tickets, parent=tickets)
    def spawn(self, parent: str) -> str:
        return self.desk.spawn(parent, subject="part", actor=ADMIN).id

    @rule(a=tickets, b=tickets)
    def merge(self, a: str, b: str) -> None:
        with contextlib.suppress(InvalidTransitionError, ValidationError):
            self.desk.merge(a, b, actor=ADMIN)
        self.swept_at = None

    @rule(minutes=st.integers(1, 24 * 60))
    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.swept_at = None

    @rule()
    def tick(self) -> None:
        self.desk.tick(limit=1000)
        self.swept_at = self.clock.now()

    @invariant()
    def after_a_sweep_nothing_is_due(self) -> None:
        """Right after tick, the store's due index holds nothing at or before now."""
        if self.swept_at is not None:
            assert [] == self.desk.store.due(self.swept_at, limit=10)

    @invariant()
    def books_balance(self) -> None:
        """Versions move forward, each checkpoint is emitted and notified once, clocks match a replay."""
        now = self.clock.now()
        notified = Counter(
            (n.ticket.id, n.data.get("metric"), n.data.get("cycle"), n.data.get("key"))
            for n in self.rec.sent
            if n.kind.startswith("sla.") and n.kind != "sla.policy_applied"
        )
        assert [] == [k for k, v in notified.items() if v > 1]
        for ticket in self.desk.tickets(actor=ADMIN):
            events = self.desk.history(ticket.id, actor=ADMIN)
            versions = [e.version for e in events]
            assert versions == sorted(versions)
            assert versions[-1] <= ticket.version
            keys = [
                (e.data["metric"], e.data["cycle"], e.data["key"])
                for e in events
                if e.kind in ("sla.warning", "sla.breached", "sla.escalated")
            ]
            assert len(keys) == len(set(keys))
            policy = self.desk.policy_of(ticket)
            if policy is None:
                continue
            live = policy.status(ticket, now)
            replayed = policy.status_as_of(ticket, events, now)
            assert {m: (s.state, s.due_at) for m, s in replayed.items()} == {
                m: (s.state, s.due_at) for m, s in live.items()
            }


DeskMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestDeskMachine = DeskMachine.TestCase
