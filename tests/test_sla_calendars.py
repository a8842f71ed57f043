"""SLA calendars taken from the ticket: from its team (Team.calendar) or a customer field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ticketkit as tk
from tests.test_sla import Sim
from ticketkit import BusinessCalendar, Customer, SLAPolicy, SLATarget, ValidationError
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
M = timedelta(minutes=1)

DEFAULT = BusinessCalendar.always_open("UTC")
EU = BusinessCalendar(tz="Europe/Berlin", hours={"mon-fri": ["09:00-17:00"]}, name="eu")
CN = BusinessCalendar(
    tz="Asia/Shanghai", hours={"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["10:00-14:00"]}, name="cn"
)
BY_NAME = {"eu": EU, "cn": CN}
TARGETS = {"default": SLATarget(first_response=2 * H, resolution=10 * H)}


def chooser(calendar_from: str = "customer.region", **kw: object) -> SLAPolicy:
    return SLAPolicy(
        name="p",
        calendar=DEFAULT,
        calendar_from=calendar_from,
        calendars=BY_NAME,
        targets=TARGETS,
        pause_in={"pending"},
        warn_at=(0.5,),
        **kw,  # type: ignore[arg-type]
    )


def plain(calendar: BusinessCalendar) -> SLAPolicy:
    return SLAPolicy(name="p", calendar=calendar, targets=TARGETS, pause_in={"pending"}, warn_at=(0.5,))


ACTIONS = st.lists(
    st.tuples(st.integers(1, 600), st.sampled_from(["reply", "customer", "pending", "open", "tick"])),
    max_size=10,
)


class TestExactness:
    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(["eu", "cn", "mars", None]), ACTIONS, st.integers(0, 5000))
    def test_same_as_policy_on_that_calendar(
        self, region: str | None, actions: list[tuple[int, str]], tail: int
    ) -> None:
        """A ticket whose region names a calendar is measured exactly as a policy built on it measures."""
        data = {"region": region} if region is not None else {}
        reference = plain(BY_NAME.get(region or "", DEFAULT))
        sims = [
            Sim(p, T0, status="open", customer=Customer(id="c", data=data)) for p in (chooser(), reference)
        ]
        at = T0
        for gap, action in actions:
            at += gap * M
            for s in sims:
                if action in ("pending", "open"):
                    s.move(at, action)
                elif action == "tick":
                    s.tick(at)
                else:
                    getattr(s, action)(at)
        end = at + tail * M
        got, want = sims
        assert want.ticket.sla == got.ticket.sla
        assert want.status(end) == got.status(end)
        assert [(e.kind, e.at, dict(e.data)) for e in want.policy.due_events(want.ticket, None, end)] == [
            (e.kind, e.at, dict(e.data)) for e in got.policy.due_events(got.ticket, None, end)
        ]
        assert [(e.kind, e.at, dict(e.data)) for e in want.emitted] == [
            (e.kind, e.at, dict(e.data)) for e in got.emitted
        ]
        assert want.policy.next_checkpoint(want.ticket) == got.policy.next_checkpoint(got.ticket)

    def test_unknown_value_uses_policy_calendar(self) -> None:
        """A region naming no calendar, or none at all, keeps the policy's own calendar."""
        p = chooser()
        t = tk.Ticket(subject="s", created_at=T0, customer=Customer(id="c", data={"region": "mars"}))
        assert DEFAULT is p.calendar_for(t)
        assert DEFAULT is p.calendar_for(tk.Ticket(subject="s", created_at=T0))

    def test_team_calendar(self) -> None:
        """calendar_from='team' reads the team's Team.calendar through team_calendars."""
        p = chooser("team").with_team_calendars([tk.Team(id="sh", calendar="cn"), tk.Team(id="x")])
        assert {"sh": "cn"} == dict(p.team_calendars)
        assert CN is p.calendar_for(tk.Ticket(subject="s", created_at=T0, team="sh"))
        assert DEFAULT is p.calendar_for(tk.Ticket(subject="s", created_at=T0, team="x"))
        assert EU is p.calendar_for(tk.Ticket(subject="s", created_at=T0, team="eu"))  # by the team id itself

    def test_with_team_calendars_keeps_others(self) -> None:
        """A policy not reading the team, or with nothing to add, comes back as it was."""
        p = chooser()
        assert p is p.with_team_calendars([tk.Team(id="sh", calendar="cn")])
        q = chooser("team", team_calendars={"sh": "eu"})
        assert q is q.with_team_calendars([tk.Team(id="sh", calendar="cn")])


class TestDataForm:
    def test_round_trip(self) -> None:
        """calendar_from, calendars and team_calendars round-trip, embedded or by name."""
        p = chooser("team", team_calendars={"sh": "cn"})
        assert p == SLAPolicy.from_dict(json.loads(json.dumps(p.to_dict())))
        named = p.to_dict(calendar_name=True)
        assert {"eu": "eu", "cn": "cn"} == named["calendars"]
        assert p == SLAPolicy.from_dict(named, calendars={"eu": EU, "cn": CN, "24/7": DEFAULT})

    def test_plain_policy_data_unchanged(self) -> None:
        """A policy without a calendar choice writes no new keys."""
        assert "calendar_from" not in plain(EU).to_dict()

    def test_problems_listed(self) -> None:
        """A bad field, an unknown team calendar and calendars nobody reads are all reported."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy(
                name="p",
                calendar=DEFAULT,
                calendar_from="context.x",
                calendars={"eu": EU, "bad": 3},  # type: ignore[dict-item]
                team_calendars={"sh": "nowhere"},
                targets=TARGETS,
            )
        assert ["calendar_from", "calendars.bad", "team_calendars.sh"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError) as info:
            SLAPolicy(name="p", calendar=DEFAULT, calendars={"eu": EU}, targets=TARGETS)
        assert ["calendar_from"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError) as info:
            SLAPolicy(name="", calendar=DEFAULT, calendar_from=3, targets=TARGETS)  # type: ignore[arg-type]
        assert ["name", "calendar_from"] == [e.path for e in info.value.errors]

    def test_load_problems(self) -> None:
        """Loading reports calendars that are not an object, or name unknown calendars, with paths."""
        base = {"name": "p", "calendar": "UTC", "targets": {"default": {"resolution": "PT8H"}}}
        with pytest.raises(ValidationError) as info:
            SLAPolicy.from_dict(
                {**base, "calendar_from": "team", "calendars": ["eu"]}, calendars={"UTC": DEFAULT}
            )
        assert ["calendars"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError) as info:
            SLAPolicy.from_dict(
                {**base, "calendar_from": "team", "calendars": {"eu": "nope"}}, calendars={"UTC": DEFAULT}
            )
        assert ["calendars.eu"] == [e.path for e in info.value.errors]


class TestDesk:
    def desk(self) -> tuple[tk.Helpdesk, ManualClock]:
        clock = ManualClock(T0)
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            policies=[chooser("team")],
            teams=[tk.Team(id="berlin", calendar="eu"), tk.Team(id="shanghai", calendar="cn")],
            clock=clock,
        )
        return desk, clock

    def test_team_calendar_read_by_desk(self) -> None:
        """A desk's teams give their calendars to a policy that reads the team."""
        desk, _ = self.desk()
        t = desk.open(subject="Hallo", team="berlin")
        st_ = desk.policies[0].status(t, at=T0)["first_response"]
        assert datetime(2025, 3, 3, 10, 0, tzinfo=UTC) == st_.due_at  # 09:00 Berlin + 2h

    def test_team_change_recomputes_on_new_calendar(self) -> None:
        """Moving the ticket to a team on another calendar measures the time spent on that calendar."""
        desk, clock = self.desk()
        t = desk.open(subject="Hallo", team="berlin")
        clock.advance(3 * H)
        admin = tk.Actor(id="root", roles={"admin"})
        moved = desk.assign(t.id, team="shanghai", actor=admin)
        history = desk.history(t.id, actor=admin)
        reference = plain(CN).recompute(moved, [e for e in history if e.kind != "sla.policy_applied"])
        assert reference.sla == moved.sla
        applied = [e for e in history if e.kind == "sla.policy_applied"]
        assert "cn" == applied[-1].data["calendar"]
        again = desk.assign(t.id, team="shanghai", actor=admin)
        assert len(applied) == len(
            [e for e in desk.history(t.id, actor=admin) if e.kind == "sla.policy_applied"]
        )
        assert moved.sla == again.sla


class TestEdges:
    def test_no_team_uses_policy_calendar(self) -> None:
        """A ticket without a team runs on the policy's own calendar."""
        assert DEFAULT is chooser("team").calendar_for(tk.Ticket(subject="s", created_at=T0))

    def test_shapes_refused(self) -> None:
        """calendars and team_calendars that are not mappings, and names that are not text, are refused."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy(
                name="p",
                calendar=DEFAULT,
                calendar_from="team",
                calendars=[EU],  # type: ignore[arg-type]
                team_calendars="x",  # type: ignore[arg-type]
                targets=TARGETS,
            )
        assert ["calendars", "team_calendars"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError) as info:
            SLAPolicy(
                name="p",
                calendar=DEFAULT,
                calendar_from="team",
                calendars={3: EU},  # type: ignore[dict-item]
                targets=TARGETS,
            )
        assert ["calendars"] == [e.path for e in info.value.errors]

    def test_desk_without_choice_or_move(self) -> None:
        """A desk change that keeps the calendar, or a policy without a choice, recomputes nothing."""
        clock = ManualClock(T0)
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            policies=[plain(EU)],
            teams=[tk.Team(id="a"), tk.Team(id="b")],
            clock=clock,
        )
        admin = tk.Actor(id="root", roles={"admin"})
        t = desk.open(subject="s", team="a")
        moved = desk.assign(t.id, team="b", actor=admin)
        assert t.sla == moved.sla
        desk2, _ = TestDesk().desk()
        t2 = desk2.open(subject="s", team="berlin")
        same = desk2.assign(t2.id, team="berlin", agent="li", actor=admin)
        assert t2.sla == same.sla
        assert 1 == len([e for e in desk2.history(t2.id, actor=admin) if e.kind == "sla.policy_applied"])

    def test_new_ticket_moved_in_its_first_change(self) -> None:
        """A ticket moved to a team with the same calendar in its own creation needs no recompute."""
        desk, _ = TestDesk().desk()
        t = desk.open(subject="s", team="berlin")
        admin = tk.Actor(id="root", roles={"admin"})
        assert 1 == len([e for e in desk.history(t.id, actor=admin) if e.kind == "sla.policy_applied"])

    def test_unrelated_changes_keep_clocks(self) -> None:
        """A tag on a stored ticket, or an automation tagging a new one, leaves the calendar and clocks."""
        clock = ManualClock(T0)
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            policies=[chooser("team")],
            teams=[tk.Team(id="berlin", calendar="eu")],
            automations=[tk.Automation(name="mark", on="ticket.created", actions=[tk.Action.tag("new")])],
            clock=clock,
        )
        admin = tk.Actor(id="root", roles={"admin"})
        t = desk.open(subject="s", team="berlin")
        assert "new" in t.tags
        tagged = desk.tag(t.id, "x", actor=admin)
        assert t.sla == tagged.sla
        assert 1 == len([e for e in desk.history(t.id, actor=admin) if e.kind == "sla.policy_applied"])
