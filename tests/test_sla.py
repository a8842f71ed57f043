"""SLA engine: configuration, clock semantics, status, checkpoints, due events, replay, policy checks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import attrs
import pytest

import ticketkit as tk
from ticketkit import (
    BusinessCalendar,
    Comment,
    Customer,
    Escalation,
    Event,
    EventMatch,
    F,
    Priority,
    SLAClock,
    SLAPolicy,
    SLAStatus,
    SLATarget,
    Ticket,
    ValidationError,
    check_policies,
    reselect_policy,
    select_policy,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
M = timedelta(minutes=1)

OFFICE = BusinessCalendar(tz="UTC", hours={"mon-fri": ["09:00-12:00", "13:00-17:00"]}, name="office")
ALWAYS = BusinessCalendar.always_open("UTC")

KINDS = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "waiting_parts": "pending",
    "resolved": "resolved",
    "closed": "closed",
}


def paths(err: ValidationError) -> list[str]:
    return [e.path for e in err.errors]


class Sim:
    """Drives one ticket through events the way a Helpdesk would, keeping the history."""

    def __init__(
        self,
        policy: SLAPolicy,
        created: datetime = T0,
        *,
        priority: Priority | str = "normal",
        status: str = "new",
        **ticket: Any,
    ) -> None:
        self.policy = policy
        t = Ticket(
            subject="s",
            created_at=created,
            priority=priority,
            status=status,
            status_kind=KINDS[status],
            **ticket,
        )
        created_event = Event(ticket_id=t.id, kind="ticket.created", actor="customer:c", at=created)
        self.events: list[Event] = [created_event]
        self.ticket = policy.apply(t, created_event)
        self.emitted: list[Event] = []

    def _push(self, ticket: Ticket, kind: str, at: datetime, data: dict[str, Any]) -> Ticket:
        e = Event(ticket_id=ticket.id, kind=kind, actor="x", at=at, data=data, version=ticket.version + 1)
        self.events.append(e)
        self.ticket = self.policy.apply(attrs.evolve(ticket, version=ticket.version + 1), e)
        return self.ticket

    def comment(
        self, at: datetime, *, author_kind: str = "agent", public: bool = True, automatic: bool = False
    ) -> Ticket:
        c = Comment(
            ticket_id=self.ticket.id,
            author="someone",
            body="...",
            at=at,
            public=public,
            author_kind=author_kind,
            automatic=automatic,
        )
        return self._push(self.ticket, "comment.added", at, {"comment": tk.to_dict(c)})

    def reply(self, at: datetime) -> Ticket:
        return self.comment(at)

    def customer(self, at: datetime) -> Ticket:
        return self.comment(at, author_kind="customer")

    def move(self, at: datetime, to: str) -> Ticket:
        t = self.ticket
        data = {"from": t.status, "to": to, "trigger": "x", "from_kind": t.status_kind, "to_kind": KINDS[to]}
        return self._push(attrs.evolve(t, status=to, status_kind=KINDS[to]), "status.changed", at, data)

    def prioritize(self, at: datetime, to: Priority | str) -> Ticket:
        t = self.ticket
        new = Priority.parse(to)
        return self._push(
            attrs.evolve(t, priority=new), "priority.changed", at, {"from": t.priority.value, "to": new.value}
        )

    def tick(self, at: datetime, since: datetime | None = None) -> list[Event]:
        """What a worker does: emit what is due and record it on the ticket."""
        due = self.policy.due_events(self.ticket, since, at)
        for e in due:
            self.events.append(e)
            self.ticket = self.policy.apply(self.ticket, e)
        self.emitted.extend(due)
        return due

    def status(self, at: datetime) -> dict[str, SLAStatus]:
        return self.policy.status(self.ticket, at)


def policy(
    *,
    calendar: Any = OFFICE,
    pause_in: Sequence[str] = ("pending",),
    warn_at: Sequence[float] = (),
    escalations: Sequence[Escalation] = (),
    **targets: timedelta,
) -> SLAPolicy:
    return SLAPolicy(
        name="p",
        calendar=calendar,
        targets={"default": SLATarget(**targets)},
        pause_in=set(pause_in),
        warn_at=tuple(warn_at),
        escalations=tuple(escalations),
    )


class TestTargets:
    def test_lookup_by_priority_then_default(self) -> None:
        """A ticket's priority picks its target; the default covers the rest."""
        p = SLAPolicy(
            name="p",
            calendar=ALWAYS,
            targets={
                Priority.URGENT: SLATarget(first_response=30 * M),
                "default": SLATarget(first_response=2 * H),
            },
        )
        assert 30 * M == p.target_for("urgent", "first_response")
        assert 2 * H == p.target_for(Priority.LOW, "first_response")

    def test_no_default_leaves_metric_unmeasured(self) -> None:
        """Without a default, priorities with no target have no status for that clock."""
        p = SLAPolicy(name="p", calendar=ALWAYS, targets={"urgent": SLATarget(resolution=4 * H)})
        t = p.start(Ticket(subject="x", created_at=T0, priority="low"))
        assert {} == p.status(t, T0)
        assert None is p.target_for("low", "resolution")

    def test_target_round_trip(self) -> None:
        """Targets load from durations and dump to ISO 8601."""
        t = SLATarget.from_dict({"first_response": "2h", "resolution": "P1D", "callback": 900})
        assert {"first_response": "PT2H", "resolution": "PT24H", "callback": "PT15M"} == t.to_dict()
        assert t == SLATarget.from_dict(t.to_dict())

    def test_bad_targets(self) -> None:
        """Non-positive and unreadable durations are reported with their paths."""
        with pytest.raises(ValidationError) as info:
            SLATarget.from_dict({"first_response": "0s", "resolution": "soon"}, path="t")
        assert ["t.first_response", "t.resolution"] == paths(info.value)


class TestEscalation:
    def test_thresholds(self) -> None:
        """Fractions of the target, or durations after the breach; neither means at the breach."""
        assert 3 * H == Escalation(metric="resolution", at=0.75).threshold(4 * H)
        assert 8 * H == Escalation(metric="resolution", after=4 * H).threshold(4 * H)
        assert 4 * H == Escalation(metric="resolution").threshold(4 * H)

    def test_bad_escalation_lists_every_problem(self) -> None:
        """Both at and after, a bad recipient, a bad reassignment and priority all reported."""
        with pytest.raises(ValidationError) as info:
            Escalation(
                metric="resolution",
                at=0.5,
                after=H,
                notify=["boss", "pager:1"],
                reassign="role:lead",
                raise_priority="asap",
            )
        assert ["at", "notify[0]", "notify[1]", "reassign", "raise_priority"] == paths(info.value)

    def test_round_trip(self) -> None:
        """An escalation dumps and loads back equal."""
        e = Escalation(
            metric="resolution",
            after=4 * H,
            notify=("role:head", "team:{team}"),
            reassign="team:seniors",
            raise_priority="urgent",
            name="head",
        )
        assert e == Escalation.from_dict(e.to_dict())


class TestClockDefinitions:
    def test_presets_round_trip(self) -> None:
        """Each preset dumps as its name and loads back equal."""
        for name in ("first_response", "next_response", "periodic_update", "resolution"):
            c = SLAClock.preset(name)
            assert {"preset": name} == c.to_dict()
            assert c == SLAClock.from_dict(c.to_dict())

    def test_changed_preset_round_trip(self) -> None:
        """A preset with changes dumps in full and loads back equal."""
        c = attrs.evolve(SLAClock.preset("first_response"), pause_in=frozenset())
        assert "metric" in c.to_dict()
        assert c == SLAClock.from_dict(c.to_dict())
        assert c == SLAClock.from_dict({"preset": "first_response", "pause_in": []})

    def test_unknown_preset(self) -> None:
        """An unknown preset names the known ones."""
        with pytest.raises(ValidationError) as info:
            SLAClock.from_dict({"preset": "first_reply"}, path="clocks[0]")
        assert ["clocks[0].preset"] == paths(info.value)
        assert "first_response" in str(info.value)

    def test_event_match_data_paths(self) -> None:
        """Event matches test dotted paths into the event data, booleans strictly."""
        m = EventMatch(
            kind="comment.added", data={"comment.public": True, "comment.author_kind": ["agent", "bot"]}
        )
        ticket = Ticket(subject="x", created_at=T0)

        def ev(**comment: Any) -> Event:
            return Event(ticket_id="T", kind="comment.added", actor="a", at=T0, data={"comment": comment})

        assert m.matches(ev(public=True, author_kind="bot"), ticket)
        assert not m.matches(ev(public=1, author_kind="bot"), ticket)
        assert not m.matches(ev(public=True, author_kind="customer"), ticket)
        assert not m.matches(ev(author_kind="agent"), ticket)

    def test_event_match_condition(self) -> None:
        """An event match may also require a condition on the ticket."""
        m = EventMatch(kind="ticket.created", when=F.category == "complaint")
        e = Event(ticket_id="T", kind="ticket.created", actor="a", at=T0)
        assert m.matches(e, Ticket(subject="x", created_at=T0, category="complaint"))
        assert not m.matches(e, Ticket(subject="x", created_at=T0, category="other"))
        assert m == EventMatch.from_dict(m.to_dict())

    def test_bad_clock(self) -> None:
        """A bad clock definition reports every problem with its path."""
        with pytest.raises(ValidationError) as info:
            SLAClock.from_dict(
                {
                    "metric": "callback",
                    "start": [{"data": {}}],
                    "stop": "ticket.created",
                    "after_stop": "again",
                    "colour": 1,
                },
                path="c",
            )
        assert ["c.colour", "c.start[0].event", "c.stop"] == sorted(paths(info.value))


class TestPolicyConfig:
    def test_round_trip_embedded_calendar(self) -> None:
        """A policy with everything set dumps and loads back equal, its calendar embedded."""
        p = SLAPolicy(
            name="vip",
            calendar=OFFICE,
            when=(F.customer.tier == "vip") & (F.category == "complaint"),
            targets={
                "urgent": SLATarget(first_response=30 * M, resolution=4 * H),
                "default": SLATarget(first_response=2 * H, resolution=24 * H, next_response=4 * H),
            },
            pause_in={"pending", "waiting_parts"},
            warn_at=(0.5, 0.75),
            escalations=[
                Escalation(metric="resolution", at=1.0, notify="role:lead"),
                Escalation(metric="resolution", after=4 * H, notify="role:head", raise_priority="urgent"),
            ],
            clocks=[
                SLAClock(
                    metric="callback", start=EventMatch(kind="ticket.created"), stop=EventMatch(kind="call")
                )
            ],
        )
        d = p.to_dict()
        assert isinstance(d["calendar"], dict)
        assert p == SLAPolicy.from_dict(d)
        assert p == SLAPolicy.from_dict(json.loads(json.dumps(d)))

    def test_round_trip_calendar_by_name(self) -> None:
        """With calendar_name=True the calendar is written by name and read back from calendars=."""
        p = policy(resolution=8 * H)
        d = p.to_dict(calendar_name=True)
        assert "office" == d["calendar"]
        assert p == SLAPolicy.from_dict(d, calendars={"office": OFFICE})

    def test_every_problem_listed(self) -> None:
        """Bad keys, priorities, durations, fractions, escalations and conditions are listed with paths."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy.from_dict(
                {
                    "name": "x",
                    "calendar": {"tz": "Mars/Base", "hours": {}},
                    "when": {"field": "colour", "op": "eq", "value": 1},
                    "targets": {"asap": {}, "high": {"resolution": "later"}},
                    "warn_at": [0.5, 1.5],
                    "escalations": [{"metric": "resolution", "notify": "boss"}],
                    "pause": ["pending"],
                },
                path="policies[0]",
            )
        got = paths(info.value)
        for expected in (
            "policies[0].pause",
            "policies[0].targets.asap",
            "policies[0].targets.high.resolution",
            "policies[0].warn_at[1]",
            "policies[0].escalations[0].notify[0]",
        ):
            assert expected in got
        assert any(p.startswith("policies[0].calendar") for p in got)
        assert any(p.startswith("policies[0].when") for p in got)

    def test_escalation_on_unknown_clock(self) -> None:
        """An escalation must name a clock the policy keeps."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy(
                name="p",
                calendar=ALWAYS,
                targets={"default": SLATarget(resolution=H)},
                escalations=[Escalation(metric="first_response")],
            )
        assert ["escalations[0].metric"] == paths(info.value)

    def test_custom_target_needs_a_clock(self) -> None:
        """A target for a metric with no preset and no clock is an error."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy(name="p", calendar=ALWAYS, targets={"default": SLATarget(custom={"callback": H})})
        assert "no clock for metric 'callback'" in str(info.value)

    def test_bad_constructor_values(self) -> None:
        """Wrong types in the constructor are reported together."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy(name="", calendar=object(), targets={}, warn_at=(0,))  # type: ignore[arg-type]
        assert ["name", "calendar", "targets", "warn_at[0]"] == paths(info.value)

    def test_wrong_policy_on_ticket(self) -> None:
        """Status under another policy than the ticket's is an error that says how to move it."""
        a = policy(resolution=H)
        b = attrs.evolve(a, name="other")
        t = a.start(Ticket(subject="x", created_at=T0))
        with pytest.raises(ValidationError, match="recompute"):
            b.status(t, T0)
        with pytest.raises(ValidationError, match="start"):
            a.status(Ticket(subject="x", created_at=T0), T0)

    def test_edited_policy_keeps_what_it_can(self) -> None:
        """A policy edited to add a clock still reads tickets set up before; the new clock waits idle."""
        before = policy(resolution=8 * H)
        after = policy(resolution=8 * H, first_response=H)
        t = before.start(Ticket(subject="x", created_at=T0, status="open", status_kind="open"))
        st = after.status(t, T0 + H)
        assert ("idle", "running") == (st["first_response"].state, st["resolution"].state)
        recomputed = after.recompute(t, [])
        assert recomputed.sla is not None
        assert ("first_response", "resolution") == tuple(c.metric for c in recomputed.sla.clocks)
        assert "running" == after.status(recomputed, T0 + 30 * M)["first_response"].state

    def test_naive_at(self) -> None:
        """A naive instant is refused, naming the parameter."""
        p = policy(resolution=H)
        t = p.start(Ticket(subject="x", created_at=T0))
        with pytest.raises(ValidationError) as info:
            p.status(t, datetime(2025, 3, 3, 10))
        assert ["at"] == paths(info.value)


class TestFirstResponse:
    def test_public_agent_reply_stops_it(self) -> None:
        """A public reply by an agent meets the first response."""
        s = Sim(policy(first_response=2 * H))
        s.reply(T0 + H)
        st = s.status(T0 + 5 * H)["first_response"]
        assert ("met", H, None) == (st.state, st.elapsed, st.breached_at)
        assert st.reason.startswith("met at 2025-03-03T10:00:00")

    def test_notes_bots_and_auto_replies_do_not_count(self) -> None:
        """An internal note, a bot's reply, an automatic reply and a customer message leave it running."""
        s = Sim(policy(first_response=2 * H))
        s.comment(T0 + 10 * M, public=False)
        s.comment(T0 + 20 * M, author_kind="bot")
        s.comment(T0 + 30 * M, automatic=True)
        s.customer(T0 + 40 * M)
        assert "running" == s.status(T0 + H)["first_response"].state

    def test_breach_then_reply(self) -> None:
        """A reply after the due time leaves the clock breached, with the breach instant."""
        s = Sim(policy(first_response=2 * H))
        s.reply(T0 + 3 * H + 30 * M)  # 12:30 is lunch: due was 11:00
        st = s.status(T0 + 6 * H)["first_response"]
        assert ("breached", "stopped") == (st.state, st.clock)
        assert T0 + 2 * H == st.breached_at

    def test_reply_at_due_instant_is_in_time(self) -> None:
        """A reply exactly at the due instant meets the target."""
        s = Sim(policy(first_response=2 * H))
        s.reply(T0 + 2 * H)
        assert "met" == s.status(T0 + 2 * H)["first_response"].state

    def test_reply_after_close_on_deadline_day_is_late(self) -> None:
        """Due at closing time: a reply in the evening is late although no business time passed."""
        s = Sim(policy(first_response=H), created=T0 + 7 * H)  # Monday 16:00
        s.reply(T0 + 10 * H)  # 19:00
        st = s.status(T0 + 10 * H)["first_response"]
        assert ("breached", H, T0 + 8 * H) == (st.state, st.elapsed, st.breached_at)

    def test_resolution_without_reply_stops_it(self) -> None:
        """Resolving without a reply stops the first-response clock too."""
        s = Sim(policy(first_response=2 * H), status="open")
        s.move(T0 + H, "resolved")
        assert "met" == s.status(T0 + 4 * H)["first_response"].state

    def test_configurable_response_rule(self) -> None:
        """A custom first-response clock can count a bot's public reply as a response."""
        bot_or_agent = EventMatch(
            kind="comment.added", data={"comment.author_kind": ["agent", "bot"], "comment.public": True}
        )
        p = SLAPolicy(
            name="p",
            calendar=ALWAYS,
            targets={"default": SLATarget(first_response=H)},
            clocks=[attrs.evolve(SLAClock.preset("first_response"), stop=(bot_or_agent,))],
        )
        s = Sim(p)
        s.comment(T0 + 10 * M, author_kind="bot")
        assert "met" == s.status(T0 + H)["first_response"].state


class TestNextResponse:
    def test_cycles(self) -> None:
        """Each customer message after a reply starts a new cycle; messages before a reply do not."""
        s = Sim(policy(next_response=H), status="open")
        assert "idle" == s.status(T0)["next_response"].state
        s.customer(T0 + 10 * M)
        s.customer(T0 + 40 * M)  # still unanswered: the clock keeps counting from 09:10
        st = s.status(T0 + 70 * M)["next_response"]
        assert ("breached", 0, T0 + 70 * M) == (st.state, st.cycle, st.breached_at)
        s.reply(T0 + 80 * M)
        s.customer(T0 + 2 * H)
        st = s.status(T0 + 2 * H + 30 * M)["next_response"]
        assert ("running", 1, 30 * M) == (st.state, st.cycle, st.elapsed)

    def test_unreported_breach_of_an_earlier_cycle_still_fires(self) -> None:
        """A breach nobody ticked for is carried into the next cycle and emitted once."""
        s = Sim(policy(next_response=H), status="open")
        s.customer(T0)
        s.reply(T0 + 2 * H)
        s.customer(T0 + 3 * H)
        due = s.tick(T0 + 3 * H + 10 * M)
        assert [("sla.breached", 0, T0 + H)] == [
            (e.kind, e.data["cycle"], datetime.fromisoformat(e.data["due_at"])) for e in due
        ]
        assert [] == s.tick(T0 + 3 * H + 20 * M)

    def test_message_on_resolved_ticket_does_not_start_it(self) -> None:
        """A customer's thanks on a resolved ticket starts nothing; a reopen does."""
        s = Sim(policy(next_response=H), status="open")
        s.move(T0 + H, "resolved")
        s.customer(T0 + 2 * H)
        assert "idle" == s.status(T0 + 3 * H)["next_response"].state
        s.move(T0 + 3 * H, "open")
        assert "running" == s.status(T0 + 3 * H + 10 * M)["next_response"].state


class TestPeriodicUpdate:
    def test_each_update_restarts(self) -> None:
        """An agent update starts a new cycle from zero."""
        s = Sim(policy(periodic_update=2 * H), status="open")
        s.reply(T0 + H)
        st = s.status(T0 + 2 * H)["periodic_update"]
        assert ("running", 1, H) == (st.state, st.cycle, st.elapsed)

    def test_stops_when_resolved_and_restarts_on_reopen(self) -> None:
        """Resolution stops it; a reopen starts a new cycle."""
        s = Sim(policy(periodic_update=2 * H), status="open")
        s.move(T0 + H, "resolved")
        assert "met" == s.status(T0 + 5 * H)["periodic_update"].state
        s.move(T0 + 6 * H, "open")
        st = s.status(T0 + 6 * H + 30 * M)["periodic_update"]
        assert ("running", 1, 30 * M) == (st.state, st.cycle, st.elapsed)


class TestResolution:
    def test_reopen_resumes_with_time_spent(self) -> None:
        """A reopen resumes resolution with the time already spent."""
        s = Sim(policy(resolution=8 * H), status="open")
        s.move(T0 + 2 * H, "resolved")
        s.move(T0 + 5 * H, "open")  # 14:00
        st = s.status(T0 + 6 * H)["resolution"]
        assert ("running", 0, 3 * H) == (st.state, st.cycle, st.elapsed)

    def test_pause_in_status_kind(self) -> None:
        """A status whose kind is in pause_in pauses the clock, and the reason says so."""
        s = Sim(policy(resolution=8 * H), status="open")
        s.move(T0 + H, "waiting_parts")
        st = s.status(T0 + 30 * H)["resolution"]
        assert ("paused", H, None) == (st.state, st.elapsed, st.due_at)
        assert "paused: status waiting_parts is pending; 1h of 8h used" == st.reason
        s.move(T0 + 24 * H, "open")  # Tuesday 09:00
        assert T0 + 24 * H + 8 * H == s.status(T0 + 24 * H)["resolution"].due_at

    def test_pause_by_name(self) -> None:
        """pause_in also takes status names."""
        s = Sim(policy(resolution=8 * H, pause_in=("waiting_parts",)), status="open")
        s.move(T0 + H, "waiting_parts")
        assert "paused: status is waiting_parts; 1h of 8h used" == s.status(T0 + 2 * H)["resolution"].reason

    def test_pause_when_condition(self) -> None:
        """A clock may pause while a condition on the ticket holds."""
        clock = attrs.evolve(SLAClock.preset("resolution"), pause_when=F.tags.contains("waiting-customer"))
        p = SLAPolicy(
            name="p", calendar=ALWAYS, targets={"default": SLATarget(resolution=4 * H)}, clocks=[clock]
        )
        t = p.start(Ticket(subject="x", created_at=T0, status="open", status_kind="open"))
        t = attrs.evolve(t, tags={"waiting-customer"})
        t = p.apply(
            t, Event(ticket_id=t.id, kind="tags.changed", actor="a", at=T0 + H, data={"added": ["w"]})
        )
        st = p.status(t, T0 + 3 * H)["resolution"]
        assert ("paused", H, "paused: the pause condition holds; 1h of 4h used") == (
            st.state,
            st.elapsed,
            st.reason,
        )


class TestStatus:
    def test_running_fields(self) -> None:
        """A running clock reports target, elapsed, remaining, due and its reason."""
        s = Sim(policy(resolution=8 * H, warn_at=(0.25, 0.5)), status="open")
        st = s.status(T0 + 3 * H)["resolution"]  # 12:00: three business hours
        assert (8 * H, 3 * H, 5 * H, T0 + 25 * H, (0.25,)) == (
            st.target,
            st.elapsed,
            st.remaining,
            st.due_at,
            st.warnings,
        )
        assert "running: 3h of 8h used, due 2025-03-04T10:00:00+00:00" == st.reason
        assert not st.breached

    def test_breached_running_overdue(self) -> None:
        """A running clock past its due time is breached with a negative remaining time."""
        s = Sim(policy(first_response=H, escalations=[Escalation(metric="first_response", after=H)]))
        st = s.status(T0 + 3 * H)["first_response"]
        assert ("breached", "running", -2 * H, T0 + H, (1,)) == (
            st.state,
            st.clock,
            st.remaining,
            st.breached_at,
            st.escalations,
        )
        assert st.breached

    def test_to_dict(self) -> None:
        """A status dumps to JSON-ready data."""
        s = Sim(policy(first_response=H))
        d = s.status(T0 + 30 * M)["first_response"].to_dict()
        assert ("running", "PT30M", "2025-03-03T10:00:00+00:00") == (d["state"], d["remaining"], d["due_at"])


class TestCheckpointsAndDueEvents:
    def test_next_checkpoint_follows_the_ladder(self) -> None:
        """The next checkpoint is the earliest warning, breach or escalation not yet emitted."""
        p = policy(
            first_response=2 * H,
            resolution=8 * H,
            warn_at=(0.5,),
            escalations=[Escalation(metric="resolution", after=4 * H, notify="role:head")],
        )
        s = Sim(p, status="open")
        assert T0 + H == s.ticket.next_due_at == p.next_checkpoint(s.ticket)
        s.reply(T0 + 30 * M)
        assert T0 + 5 * H == s.ticket.next_due_at  # resolution's 50% (lunch at 12-13)
        s.tick(T0 + 5 * H)
        assert T0 + 25 * H == s.ticket.next_due_at  # the breach, Tuesday 10:00
        s.tick(T0 + 25 * H)
        assert T0 + 30 * H == s.ticket.next_due_at  # 4 business hours after: Tuesday 15:00

    def test_paused_clock_has_no_checkpoint(self) -> None:
        """While every clock is paused or stopped, nothing can fall due."""
        s = Sim(policy(resolution=8 * H), status="open")
        s.move(T0 + H, "pending")
        assert None is s.ticket.next_due_at

    def test_due_events_carry_what_to_do(self) -> None:
        """Escalation events say whom to notify and what to do, with the ticket's values filled in."""
        p = policy(
            resolution=2 * H,
            escalations=[
                Escalation(
                    metric="resolution", at=1.0, notify=["role:lead", "team:{team}"], reassign="team:seniors"
                ),
                Escalation(
                    metric="resolution", after=H, notify="role:head", raise_priority="urgent", name="head"
                ),
            ],
        )
        s = Sim(p, status="open", team="after-sales")
        due = s.tick(T0 + 4 * H)
        assert ["sla.breached", "sla.escalated", "sla.escalated"] == [e.kind for e in due]
        assert ["role:lead", "team:after-sales"] == list(due[1].data["notify"])
        assert [{"reassign": "team:seniors"}] == [dict(a) for a in due[1].data["actions"]]
        assert (2, "head", [{"raise_priority": "urgent"}]) == (
            due[2].data["level"],
            due[2].data["name"],
            [dict(a) for a in due[2].data["actions"]],
        )
        assert all(e.at == T0 + 4 * H for e in due)

    def test_windows_partition(self) -> None:
        """Contiguous windows return each checkpoint once; the ids are fixed by the checkpoint."""
        p = policy(resolution=4 * H, warn_at=(0.25, 0.5, 0.75))
        s = Sim(p, status="open")
        cuts = [T0 + k * 30 * M for k in range(20)]
        seen = [e for a, b in pairwise(cuts) for e in p.due_events(s.ticket, a, b)]
        assert [e.id for e in seen] == [e.id for e in p.due_events(s.ticket, None, cuts[-1])]
        assert 4 == len(seen)

    def test_moved_next_due_at_does_not_hide_due_events(self) -> None:
        """A store that moves ticket.next_due_at (a claim lease) cannot make due events disappear."""
        s = Sim(policy(resolution=H), status="open")
        assert s.ticket.sla is not None
        leased = attrs.evolve(s.ticket, sla=attrs.evolve(s.ticket.sla, next_due_at=T0 + 10 * H))
        assert 1 == len(s.policy.due_events(leased, None, T0 + 2 * H))
        assert T0 + H == s.policy.next_checkpoint(leased)

    def test_emitted_events_are_not_returned_again(self) -> None:
        """Applying an emitted event marks it fired; a later call skips it."""
        s = Sim(policy(resolution=H), status="open")
        assert 1 == len(s.tick(T0 + 2 * H))
        assert [] == s.tick(T0 + 3 * H)
        assert [] == s.policy.due_events(s.ticket, None, T0 + 9 * H)


class TestRecompute:
    def test_priority_change_applies_new_target_to_time_spent(self) -> None:
        """Raising the priority applies the new target to the time already spent; no replay needed."""
        p = SLAPolicy(
            name="p",
            calendar=OFFICE,
            targets={"urgent": SLATarget(resolution=2 * H), "default": SLATarget(resolution=8 * H)},
        )
        s = Sim(p, status="open")
        s.prioritize(T0 + 3 * H, "urgent")  # 3h already spent: breached at 11:00 under the new target
        st = s.status(T0 + 3 * H)["resolution"]
        assert ("breached", T0 + 2 * H) == (st.state, st.breached_at)
        assert p.recompute(s.ticket, s.events).sla == s.ticket.sla
        assert [T0 + 2 * H] == [datetime.fromisoformat(e.data["due_at"]) for e in s.tick(T0 + 3 * H)]

    def test_lowering_priority_unbreaches(self) -> None:
        """Lowering the priority gives the clock the longer target, time spent included."""
        p = SLAPolicy(
            name="p",
            calendar=OFFICE,
            targets={"urgent": SLATarget(resolution=2 * H), "default": SLATarget(resolution=8 * H)},
        )
        s = Sim(p, status="open", priority="urgent")
        s.prioritize(T0 + 3 * H, "normal")
        assert ("running", 3 * H) == (
            s.status(T0 + 3 * H)["resolution"].state,
            s.status(T0 + 3 * H)["resolution"].elapsed,
        )

    def test_policy_change_replays_under_new_policy(self) -> None:
        """Moving to another policy replays the history on its calendar and pause rules."""
        std = SLAPolicy(name="standard", calendar=OFFICE, targets={"default": SLATarget(resolution=24 * H)})
        fast = SLAPolicy(
            name="complaints",
            calendar=ALWAYS,
            when=F.category == "complaint",
            targets={"default": SLATarget(resolution=4 * H)},
            pause_in={"pending"},
        )
        s = Sim(std, status="open")
        s.move(T0 + H, "pending")
        s.move(T0 + 2 * H, "open")
        t = attrs.evolve(s.ticket, category="complaint")
        t, events = reselect_policy([fast, std], t, s.events, at=T0 + 3 * H)
        assert "complaints" == t.sla.policy  # type: ignore[union-attr]
        assert ("complaints", "standard") == (events[0].data["policy"], events[0].data["previous"])
        st = fast.status(t, T0 + 3 * H)["resolution"]
        assert (2 * H, T0 + 5 * H) == (st.elapsed, st.due_at)
        assert (t, []) == reselect_policy([fast, std], t, s.events, at=T0 + 3 * H)

    def test_no_policy_left(self) -> None:
        """When no policy matches any more the clocks are removed."""
        fast = SLAPolicy(
            name="c",
            calendar=ALWAYS,
            when=F.category == "complaint",
            targets={"default": SLATarget(resolution=H)},
        )
        t = fast.start(Ticket(subject="x", created_at=T0, category="complaint"))
        t, events = reselect_policy([fast], attrs.evolve(t, category="other"), [], at=T0 + H)
        assert (None, None) == (t.sla, events[0].data["policy"])

    def test_status_as_of_past_instants(self) -> None:
        """status_as_of answers for past instants from the events."""
        s = Sim(policy(first_response=2 * H, resolution=8 * H), status="open")
        s.move(T0 + H, "pending")
        s.move(T0 + 2 * H, "open")
        s.reply(T0 + 3 * H)
        past = s.policy.status_as_of(s.ticket, s.events, T0 + 90 * M)
        assert ("paused", H) == (past["resolution"].state, past["resolution"].elapsed)
        assert "paused: status is pending; 1h of 2h used" == past["first_response"].reason
        assert s.policy.status_as_of(s.ticket, s.events, T0 + 9 * H) == s.status(T0 + 9 * H)


class TestSelection:
    def test_first_match_wins(self) -> None:
        """Policies are tried in order; the first that matches applies, however specific later ones are."""
        t = {"default": SLATarget(first_response=H)}
        a = SLAPolicy(name="complaints", calendar=ALWAYS, when=F.category == "complaint", targets=t)
        b = SLAPolicy(
            name="vip complaints",
            calendar=ALWAYS,
            when=(F.category == "complaint") & (F.customer.tier == "vip"),
            targets=t,
        )
        c = SLAPolicy(name="standard", calendar=ALWAYS, targets=t)
        ticket = Ticket(
            subject="x", created_at=T0, category="complaint", customer=Customer(id="c", tier="vip")
        )
        assert "complaints" == select_policy([a, b, c], ticket).name  # type: ignore[union-attr]
        assert "vip complaints" == select_policy([b, a, c], ticket).name  # type: ignore[union-attr]
        assert None is select_policy([a, b], Ticket(subject="x", created_at=T0))


def _p(name: str, when: Any = None) -> SLAPolicy:
    return SLAPolicy(name=name, calendar=ALWAYS, when=when, targets={"default": SLATarget(resolution=H)})


class TestCheckPolicies:
    def test_clean_list(self) -> None:
        """Narrow policies first and a catch-all last: no issues."""
        ps = [_p("vip", F.customer.tier == "vip"), _p("complaints", F.category == "complaint"), _p("std")]
        assert [] == check_policies(ps)

    def test_catch_all_shadows_everything_after_it(self) -> None:
        """A policy after a catch-all can never apply."""
        issues = check_policies([_p("std"), _p("vip", F.customer.tier == "vip")])
        assert [("shadowed", 1, ("std",))] == [
            (i.kind, i.index, i.by) for i in issues if i.kind == "shadowed"
        ]

    def test_implied_condition_shadows(self) -> None:
        """A later condition that implies an earlier one is shadowed (eq, in, all)."""
        ps = [
            _p("vip tiers", F.customer.tier.in_(["vip", "svip"])),
            _p("svip complaints", (F.customer.tier == "svip") & (F.category == "complaint")),
            _p("std"),
        ]
        assert [("shadowed", "svip complaints", ("vip tiers",))] == [
            (i.kind, i.policy, i.by) for i in check_policies(ps)
        ]

    def test_union_of_earlier_policies_shadows(self) -> None:
        """A later 'any' whose parts are each taken by some earlier policy is shadowed."""
        ps = [
            _p("vip", F.customer.tier == "vip"),
            _p("complaints", F.category == "complaint"),
            _p("either", (F.customer.tier == "vip") | (F.category == "complaint")),
            _p("std"),
        ]
        issue = next(i for i in check_policies(ps) if i.kind == "shadowed")
        assert ("either", ("vip", "complaints")) == (issue.policy, issue.by)

    def test_never_matches(self) -> None:
        """Contradictory tests on one field: the policy can never match."""
        ps = [
            _p("both", (F.customer.tier == "vip") & (F.customer.tier == "svip")),
            _p("in-not-in", F.category.in_(["a", "b"]) & F.category.not_in(["a", "b"])),
            _p("not-itself", (F.category == "a") & ~(F.category == "a")),
            _p("std"),
        ]
        assert ["never_matches"] * 3 == [i.kind for i in check_policies(ps)]

    def test_not_eq_is_understood(self) -> None:
        """ne / not_in narrow a field too: tier != vip after tier in (vip, svip) leaves svip-free tickets."""
        ps = [
            _p("not vip", F.customer.tier != "vip"),
            _p("svip", F.customer.tier == "svip"),  # svip != vip, so shadowed
            _p("vip", F.customer.tier == "vip"),  # not shadowed
            _p("std"),
        ]
        assert [("shadowed", "svip")] == [(i.kind, i.policy) for i in check_policies(ps)]

    def test_opaque_tests_compare_by_identity(self) -> None:
        """Other operators are only matched when identical; nothing uncertain is reported."""
        ps = [
            _p("big orders", F.fields.order_total > 100),
            _p("big vip orders", (F.fields.order_total > 100) & (F.customer.tier == "vip")),
            _p("bigger orders", F.fields.order_total > 500),  # implied in truth, but not detected
            _p("std"),
        ]
        assert ["big vip orders"] == [i.policy for i in check_policies(ps) if i.kind == "shadowed"]

    def test_priority_order_tests_are_understood(self) -> None:
        """priority >= high covers urgent; priority < normal contradicts priority == urgent."""
        ps = [
            _p("high and up", F.priority >= "high"),
            _p("urgent vip", (F.priority == "urgent") & (F.customer.tier == "vip")),
            _p("odd", (F.priority < "normal") & (F.priority == "urgent")),
            _p("std"),
        ]
        assert [("shadowed", "urgent vip"), ("never_matches", "odd")] == [
            (i.kind, i.policy) for i in check_policies(ps)
        ]

    def test_duplicate_names_and_no_fallback(self) -> None:
        """Two policies with one name, and a list without a catch-all at the end, are reported."""
        issues = check_policies([_p("a", F.category == "x"), _p("a", F.category == "y")])
        assert ["duplicate_name", "no_fallback"] == [i.kind for i in issues]
        assert "policies[1] 'a': duplicate_name" in str(issues[0])


class TestSerialization:
    def test_ticket_with_clocks_round_trips(self) -> None:
        """A ticket with live clocks, segments, fired and carried keys round-trips through JSON."""
        s = Sim(policy(next_response=H, resolution=8 * H, warn_at=(0.5,)), status="open")
        s.customer(T0)
        s.move(T0 + 10 * M, "pending")
        s.move(T0 + 20 * M, "open")
        s.reply(T0 + 2 * H)
        s.customer(T0 + 3 * H)
        s.tick(T0 + 5 * H, since=T0 + 3 * H + 5 * M)  # leaves the carried breach unemitted
        assert s.ticket.sla is not None
        assert any(c.carried for c in s.ticket.sla.clocks)
        assert any(c.fired for c in s.ticket.sla.clocks)
        assert s.ticket == tk.from_json(Ticket, tk.to_json(s.ticket))
        assert s.ticket == tk.from_dict(Ticket, tk.to_dict(s.ticket))

    def test_bad_clock_state(self) -> None:
        """A malformed clock state names its bad fields."""
        with pytest.raises(ValidationError) as info:
            tk.ClockState(metric="m", carried=[("k", "yesterday")], target="2h")  # type: ignore[list-item,arg-type]
        assert ["carried[0]", "target"] == paths(info.value)


class TestBenchmarkAgreement:
    def test_peers_agree_on_a_small_sample(self) -> None:
        """The benchmark's cross-check against businesstime and pandas holds on a small sample."""
        import importlib.util
        from pathlib import Path

        path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_sla.py"
        spec = importlib.util.spec_from_file_location("bench_sla", path)
        assert spec is not None
        assert spec.loader is not None
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
        counts = bench.check_agreement(n_status=20, n_due=200)
        assert 60 == counts["status_clocks"]
        assert 200 == counts["due_tickets"]
