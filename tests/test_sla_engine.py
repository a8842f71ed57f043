"""Edge cases of the SLA clock engine, through SLAPolicy's public methods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import ticketkit as tk
from ticketkit import Escalation, Event, Priority, SLAClock, SLAPolicy, SLATarget, Ticket, ValidationError

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
ALWAYS = tk.BusinessCalendar.always_open("UTC")
CALLBACK = SLAClock.from_dict(
    {
        "metric": "callback",
        "start": ["ticket.created", "call.requested"],
        "stop": ["call.made"],
        "restart": ["call.rescheduled"],
    }
)


def ev(ticket: Ticket, kind: str, at: datetime, **data: Any) -> Event:
    return Event(ticket_id=ticket.id, kind=kind, actor="a", at=at, data=data)


def callback_policy(**changes: Any) -> SLAPolicy:
    fields: dict[str, Any] = {
        "name": "cb",
        "calendar": ALWAYS,
        "targets": {"default": SLATarget(custom={"callback": H})},
        "warn_at": (0.5,),
        "clocks": (CALLBACK,),
    }
    fields.update(changes)
    return SLAPolicy(**fields)


class TestApply:
    def test_event_older_than_last_change(self) -> None:
        """An event dated before the clock's last change counts from that change, not from its own time."""
        p = callback_policy(pause_in={"pending"})
        t = p.start(Ticket(subject="x", created_at=T0, status="open", status_kind="open"))
        t = p.apply(t, ev(t, "call.rescheduled", T0 + 2 * H))
        pending = attrs.evolve(t, status="pending", status_kind="pending")
        late = p.apply(pending, ev(t, "status.changed", T0 + H, to="pending", to_kind="pending"))
        clock = late.sla.clock("callback") if late.sla is not None else None
        assert clock is not None
        assert ("paused", T0 + 2 * H, timedelta(0)) == (clock.state, clock.paused_since, clock.elapsed)

    def test_start_after_stop_is_ignored(self) -> None:
        """A clock whose after_stop is "ignore" stays stopped (its time kept) when a start event comes."""
        p = callback_policy()
        t = p.start(Ticket(subject="x", created_at=T0))
        t = p.apply(t, ev(t, "call.made", T0 + H / 2))
        again = p.apply(t, ev(t, "call.requested", T0 + H))
        status = p.status(again, T0 + 3 * H)["callback"]
        assert ("met", H / 2) == (status.state, status.elapsed)

    @pytest.mark.parametrize(
        "data",
        [
            {},
            {"metric": "nope", "key": "breach@PT1H", "cycle": 0},
            {"metric": "callback", "key": 3, "cycle": 0},
        ],
    )
    def test_malformed_sla_event_changes_nothing(self, data: dict[str, Any]) -> None:
        """An sla.* event without a known metric, a key and a cycle marks nothing as fired."""
        p = callback_policy()
        t = p.start(Ticket(subject="x", created_at=T0))
        after = p.apply(t, ev(t, "sla.breached", T0 + 2 * H, **data))
        assert t.sla == after.sla

    def test_priority_changed_without_apply(self) -> None:
        """status() of a ticket whose priority changed under its clocks uses the new target."""
        p = callback_policy(
            targets={
                "urgent": SLATarget(custom={"callback": H / 2}),
                "default": SLATarget(custom={"callback": H}),
            }
        )
        t = p.start(Ticket(subject="x", created_at=T0))
        urgent = attrs.evolve(t, priority=Priority.URGENT)
        status = p.status(urgent, T0 + H)["callback"]
        assert (H / 2, T0 + H / 2) == (status.target, status.breached_at)


class TestCarriedCheckpoints:
    @pytest.mark.parametrize(
        ("escalation", "due"),
        [
            (Escalation(metric="callback", at=1.5, notify="role:lead"), T0 + 1.5 * H),
            (Escalation(metric="callback", after=H / 4, notify="team:{team}"), T0 + 1.25 * H),
        ],
    )
    def test_escalation_of_an_earlier_cycle(self, escalation: Escalation, due: datetime) -> None:
        """A restart carries the escalation reached in the old cycle; its event names the old target."""
        p = callback_policy(escalations=(escalation,))
        t = p.start(Ticket(subject="x", created_at=T0, team="desk"))
        t = p.apply(t, ev(t, "call.rescheduled", T0 + 2 * H))
        events = p.due_events(t, None, T0 + 2 * H)
        esc = [e for e in events if e.kind == "sla.escalated"]
        assert 1 == len(esc)
        assert ("PT1H", due.isoformat(), 0, 1) == (
            esc[0].data["target"],
            esc[0].data["due_at"],
            esc[0].data["cycle"],
            esc[0].data["level"],
        )
        assert ["sla.warning", "sla.breached", "sla.escalated"] == [e.kind for e in events]

    def test_carried_events_are_emitted_once(self) -> None:
        """Applying the carried events back leaves nothing due from the old cycle."""
        p = callback_policy(escalations=(Escalation(metric="callback", at=1.5),))
        t = p.start(Ticket(subject="x", created_at=T0))
        t = p.apply(t, ev(t, "call.rescheduled", T0 + 2 * H))
        for e in p.due_events(t, None, T0 + 2 * H):
            t = p.apply(t, e)
        assert [] == p.due_events(t, None, T0 + 2 * H)
        assert T0 + 2.5 * H == p.next_checkpoint(t)


class TestFieldConverters:
    def test_single_values(self) -> None:
        """One status, one fraction, one escalation and one target are taken as lists of one."""
        p = SLAPolicy(
            name="p",
            calendar=ALWAYS,
            targets=SLATarget(resolution=H),
            pause_in="pending",
            warn_at=0.5,
            escalations=Escalation(metric="resolution", at=1.0),
        )
        assert (frozenset({"pending"}), (0.5,), 1, ("resolution",)) == (
            p.pause_in,
            p.warn_at,
            len(p.escalations),
            p.metrics,
        )

    def test_wrong_shapes_named(self) -> None:
        """A target key that is no priority and a pause_in that is no set are named with their paths."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy(name="p", calendar=ALWAYS, targets={3: SLATarget(resolution=H)}, pause_in=5)
        assert ["pause_in", "targets.3"] == sorted(e.path for e in info.value.errors)
