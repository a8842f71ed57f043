"""The seed scenarios, end to end through the workflow and the SLA engine."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

import ticketkit as tk
from ticketkit import (
    BusinessCalendar,
    Comment,
    Customer,
    Escalation,
    Event,
    F,
    SLAPolicy,
    SLATarget,
    Ticket,
    Workflow,
    select_policy,
)

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
M = timedelta(minutes=1)

SHOP = BusinessCalendar(
    tz="Asia/Shanghai",
    hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]},
    holidays=tk.country_holidays("CN"),
    name="shop",
)


class Desk:
    """Runs one ticket through a workflow, comments and SLA clocks, like a Helpdesk would."""

    def __init__(self, policies: list[SLAPolicy], ticket: Ticket, workflow: Workflow | None = None) -> None:
        self.workflow = workflow or tk.default_workflow()
        chosen = select_policy(policies, ticket, ticket.created_at)
        assert chosen is not None
        self.policy = chosen
        created = Event(ticket_id=ticket.id, kind="ticket.created", actor="customer", at=ticket.created_at)
        self.events: list[Event] = [created]
        self.ticket = chosen.apply(ticket, created)
        self.notified: list[tuple[str, list[str], list[dict[str, Any]]]] = []

    def fire(self, trigger: str, at: datetime) -> None:
        ticket, events = self.workflow.fire(self.ticket, trigger, at=at, actor="agent:li")
        for e in events:
            ticket = self.policy.apply(ticket, e)
        self.events.extend(events)
        self.ticket = ticket

    def comment(self, at: datetime, *, author_kind: str = "agent", public: bool = True) -> None:
        c = Comment(
            ticket_id=self.ticket.id, author="x", body="...", at=at, author_kind=author_kind, public=public
        )
        e = Event(
            ticket_id=self.ticket.id, kind="comment.added", actor="x", at=at, data={"comment": tk.to_dict(c)}
        )
        self.events.append(e)
        self.ticket = self.policy.apply(self.ticket, e)

    def tick(self, at: datetime) -> list[Event]:
        """Sleep-until-due worker: only looks when the ticket's checkpoint has come."""
        if self.ticket.next_due_at is None or self.ticket.next_due_at > at:
            return []
        due = self.policy.due_events(self.ticket, None, at)
        for e in due:
            self.ticket = self.policy.apply(self.ticket, e)
            self.events.append(e)
            if e.kind == "sla.escalated":
                self.notified.append(
                    (e.data["metric"], list(e.data["notify"]), [dict(a) for a in e.data["actions"]])
                )
        return due

    def status(self, at: datetime) -> dict[str, tk.SLAStatus]:
        return self.policy.status(self.ticket, at)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


STANDARD = SLAPolicy(
    name="standard",
    calendar=SHOP,
    targets={"default": SLATarget(first_response=8 * H, resolution=40 * H)},
    pause_in={"pending"},
)


class TestVipComplaint:
    VIP = SLAPolicy(
        name="vip complaints",
        calendar=SHOP,
        when=(F.customer.tier == "vip") & (F.category == "complaint"),
        targets={"default": SLATarget(first_response=2 * H, resolution=16 * H)},
        pause_in={"pending"},
        warn_at=(0.75,),
        escalations=[Escalation(metric="first_response", at=1.0, notify="team:{team}")],
    )

    def ticket(self, at: datetime) -> Ticket:
        return Ticket(
            subject="破损",
            created_at=at,
            category="complaint",
            team="after-sales-sh01",
            customer=Customer(id="c-1", tier="vip"),
        )

    def test_answered_within_two_business_hours(self) -> None:
        """A VIP complaint late on Friday is due Monday 10:00 and met by a reply at 09:45."""
        d = Desk([self.VIP, STANDARD], self.ticket(sh(2025, 3, 7, 17, 0)))
        assert "vip complaints" == d.policy.name
        assert sh(2025, 3, 10, 10, 0) == d.status(sh(2025, 3, 7, 17, 30))["first_response"].due_at
        d.fire("open", sh(2025, 3, 7, 17, 5))
        assert [] == d.tick(sh(2025, 3, 8, 12, 0))  # the weekend counts for nothing
        assert ["sla.warning"] == [e.kind for e in d.tick(sh(2025, 3, 10, 9, 30))]
        d.comment(sh(2025, 3, 10, 9, 45))
        st = d.status(sh(2025, 3, 10, 12, 0))["first_response"]
        assert ("met", 105 * M) == (st.state, st.elapsed)
        assert [] == d.tick(sh(2025, 3, 10, 18, 0))

    def test_make_up_workday_counts(self) -> None:
        """Friday 2025-01-24 17:00 + 2 business hours is Sunday 2025-01-26 10:00, an official workday."""
        d = Desk([self.VIP, STANDARD], self.ticket(sh(2025, 1, 24, 17, 0)))
        assert sh(2025, 1, 26, 10, 0) == d.status(sh(2025, 1, 24, 17, 0))["first_response"].due_at

    def test_overdue_notifies_the_team(self) -> None:
        """Unanswered past the due time: breached, and the ticket's own team is notified once."""
        d = Desk([self.VIP, STANDARD], self.ticket(sh(2025, 3, 10, 9, 0)))
        d.tick(sh(2025, 3, 10, 11, 30))
        d.tick(sh(2025, 3, 10, 14, 0))
        assert [("first_response", ["team:after-sales-sh01"], [])] == d.notified
        assert "breached" == d.status(sh(2025, 3, 10, 14, 0))["first_response"].state


class TestSizeComplaint:
    SIZE = SLAPolicy(
        name="size complaints",
        calendar=SHOP,
        when=(F.category == "complaint") & F.tags.contains("size"),
        targets={"default": SLATarget(first_response=2 * H, resolution=24 * H)},
        pause_in={"pending"},
        escalations=[Escalation(metric="resolution", at=1.0, notify="role:regional-manager")],
    )

    def test_response_then_overdue_resolution_escalates(self) -> None:
        """Replied in time, but not resolved within 24 business hours: the regional manager hears once."""
        t = Ticket(subject="尺码不对", created_at=sh(2025, 3, 3, 10, 0), category="complaint", tags={"size"})
        d = Desk([self.SIZE, STANDARD], t)
        assert "size complaints" == d.policy.name
        d.fire("open", sh(2025, 3, 3, 10, 5))
        d.comment(sh(2025, 3, 3, 11, 0))
        d.fire("wait", sh(2025, 3, 3, 15, 0))  # waiting for the customer's photos: 4h spent
        d.fire("resume", sh(2025, 3, 4, 9, 0))  # 20h left: Tue 8h + Wed 8h + Thu 4h, lunch skipped
        st = d.status(sh(2025, 3, 4, 9, 0))["resolution"]
        assert (4 * H, sh(2025, 3, 6, 14, 0)) == (st.elapsed, st.due_at)
        assert "met" == d.status(sh(2025, 3, 4, 9, 0))["first_response"].state
        for day in range(4, 8):
            d.tick(sh(2025, 3, day, 18, 0))
        assert [("resolution", ["role:regional-manager"], [])] == d.notified
        d.fire("resolve", sh(2025, 3, 7, 10, 0))
        st = d.status(sh(2025, 3, 7, 10, 0))["resolution"]
        assert ("breached", "stopped", sh(2025, 3, 6, 14, 0)) == (st.state, st.clock, st.breached_at)


class TestHospitalEnquiry:
    HOSPITAL = SLAPolicy(
        name="hospital enquiries",
        calendar=BusinessCalendar(tz="Asia/Shanghai", hours={"mon-sun": ["08:00-20:00"]}),
        when=F.category == "exam-results",
        targets={"default": SLATarget(first_response=30 * M)},
    )

    def test_answered_within_thirty_minutes(self) -> None:
        """An enquiry on a Sunday morning is due 30 minutes later; a reply at 25 minutes meets it."""
        t = Ticket(subject="检查结果什么时候出?", created_at=sh(2025, 3, 9, 8, 10), category="exam-results")
        d = Desk([self.HOSPITAL, STANDARD], t)
        assert sh(2025, 3, 9, 8, 40) == d.status(t.created_at)["first_response"].due_at
        d.comment(sh(2025, 3, 9, 8, 35))
        assert "met" == d.status(sh(2025, 3, 9, 9, 0))["first_response"].state

    def test_enquiry_after_hours(self) -> None:
        """An enquiry at 19:50 has 10 minutes that evening and 20 the next morning."""
        t = Ticket(subject="报告", created_at=sh(2025, 3, 9, 19, 50), category="exam-results")
        d = Desk([self.HOSPITAL, STANDARD], t)
        assert sh(2025, 3, 10, 8, 20) == d.status(t.created_at)["first_response"].due_at
        d.comment(sh(2025, 3, 10, 8, 25))
        st = d.status(sh(2025, 3, 10, 9, 0))["first_response"]
        assert ("breached", sh(2025, 3, 10, 8, 20)) == (st.state, st.breached_at)


class TestEscalationAfterBreach:
    POLICY = SLAPolicy(
        name="requests",
        calendar=SHOP,
        targets={"default": SLATarget(resolution=8 * H)},
        escalations=[
            Escalation(metric="resolution", at=1.0, notify="role:team-lead"),
            Escalation(
                metric="resolution", after=4 * H, notify="role:department-head", raise_priority="urgent"
            ),
        ],
    )

    def test_department_head_four_business_hours_after_breach(self) -> None:
        """Breach at Tue 10:00; the department head is told at 15:00 (lunch skipped), exactly once."""
        d = Desk([self.POLICY], Ticket(subject="发票", created_at=sh(2025, 3, 3, 10, 0)))
        d.fire("open", sh(2025, 3, 3, 10, 0))
        assert ["sla.breached", "sla.escalated"] == [e.kind for e in d.tick(sh(2025, 3, 4, 10, 0))]
        assert sh(2025, 3, 4, 15, 0) == d.ticket.next_due_at
        assert [] == d.tick(sh(2025, 3, 4, 14, 59))
        due = d.tick(sh(2025, 3, 4, 16, 0))
        assert [("sla.escalated", 2, "2025-03-04T15:00:00+08:00")] == [
            (e.kind, e.data["level"], e.data["due_at"]) for e in due
        ]
        assert [] == d.tick(sh(2025, 3, 5, 16, 0))
        assert ["role:team-lead"] == d.notified[0][1]
        assert ("resolution", ["role:department-head"], [{"raise_priority": "urgent"}]) == d.notified[1]

    def test_pause_after_breach_delays_the_escalation(self) -> None:
        """Time after the breach is the clock's own time: waiting on the customer delays the escalation."""
        policy = attrs.evolve(self.POLICY, pause_in=frozenset({"pending"}))
        d = Desk([policy], Ticket(subject="发票", created_at=sh(2025, 3, 3, 10, 0)))
        d.fire("open", sh(2025, 3, 3, 10, 0))
        d.tick(sh(2025, 3, 4, 10, 0))
        d.fire("wait", sh(2025, 3, 4, 11, 0))
        d.fire("resume", sh(2025, 3, 5, 9, 0))
        assert sh(2025, 3, 5, 12, 0) == d.ticket.next_due_at  # 1h before the pause, 3h after it


class TestRepairWaitingForParts:
    REPAIR = Workflow.from_dict(
        {
            "name": "repair",
            "initial": "new",
            "states": [
                {"name": "new", "kind": "new"},
                {"name": "diagnosing", "kind": "open"},
                {"name": "waiting_parts", "kind": "pending"},
                {"name": "repairing", "kind": "open"},
                {"name": "repaired", "kind": "resolved"},
                {"name": "closed", "kind": "closed", "final": True},
            ],
            "transitions": [
                {"trigger": "diagnose", "source": "new", "dest": "diagnosing"},
                {"trigger": "order_parts", "source": "diagnosing", "dest": "waiting_parts"},
                {"trigger": "parts_arrived", "source": "waiting_parts", "dest": "repairing"},
                {"trigger": "finish", "source": "repairing", "dest": "repaired"},
                {"trigger": "close", "source": "repaired", "dest": "closed"},
            ],
        }
    )
    POLICY = SLAPolicy(
        name="repairs",
        calendar=SHOP,
        when=F.type == "repair",
        targets={"default": SLATarget(resolution=16 * H)},
        pause_in={"waiting_parts"},
        warn_at=(0.5,),
    )

    def test_waiting_for_parts_pauses_resolution(self) -> None:
        """A week waiting for parts costs no SLA time; the due date moves by exactly the wait."""
        t = Ticket(subject="洗衣机不转", type="repair", created_at=sh(2025, 3, 3, 9, 0))
        d = Desk([self.POLICY, STANDARD], t, self.REPAIR)
        d.fire("diagnose", sh(2025, 3, 3, 9, 30))
        assert sh(2025, 3, 4, 18, 0) == d.status(sh(2025, 3, 3, 10, 0))["resolution"].due_at
        d.fire("order_parts", sh(2025, 3, 3, 11, 0))  # 2h spent
        paused = d.status(sh(2025, 3, 6, 12, 0))["resolution"]
        assert ("paused", 2 * H, "paused: status is waiting_parts; 2h of 16h used") == (
            paused.state,
            paused.elapsed,
            paused.reason,
        )
        assert None is d.ticket.next_due_at
        d.fire("parts_arrived", sh(2025, 3, 10, 9, 0))
        st = d.status(sh(2025, 3, 10, 9, 0))["resolution"]
        assert (sh(2025, 3, 11, 16, 0), 14 * H) == (st.due_at, st.remaining)
        d.fire("finish", sh(2025, 3, 11, 11, 0))
        assert "met" == d.status(sh(2025, 3, 12, 9, 0))["resolution"].state
        assert d.policy.status_as_of(d.ticket, d.events, sh(2025, 3, 6, 12, 0)) == {"resolution": paused}


class TestTimeZones:
    def test_deadline_across_spring_forward(self) -> None:
        """A 24/7 clock across New York's spring-forward night counts real time: due at 13:00 EDT."""
        ny = ZoneInfo("America/New_York")
        policy = SLAPolicy(
            name="24/7",
            calendar=BusinessCalendar.always_open("America/New_York"),
            targets={"default": SLATarget(resolution=24 * H)},
        )
        t = policy.start(Ticket(subject="outage", created_at=datetime(2025, 3, 8, 12, 0, tzinfo=ny)))
        st = policy.status(t, datetime(2025, 3, 9, 12, 0, tzinfo=ny))["resolution"]
        assert (datetime(2025, 3, 9, 13, 0, tzinfo=ny), 23 * H) == (st.due_at, st.elapsed)

    def test_inputs_in_any_zone(self) -> None:
        """Events and instants in other zones are the same instants: status does not depend on the zone."""
        t0 = sh(2025, 3, 3, 9, 0)
        d = Desk([STANDARD], Ticket(subject="x", created_at=t0.astimezone(ZoneInfo("Europe/Berlin"))))
        d.comment(sh(2025, 3, 3, 10, 30).astimezone(ZoneInfo("UTC")))
        st = d.status(sh(2025, 3, 3, 12, 0).astimezone(ZoneInfo("America/Los_Angeles")))["first_response"]
        assert ("met", 90 * M) == (st.state, st.elapsed)
