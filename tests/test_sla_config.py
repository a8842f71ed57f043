"""SLA configuration edge cases, replay reconstruction of the ticket, and the policy check's reasoning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import ticketkit as tk
from tests.test_sla import ALWAYS, Sim, paths, policy
from ticketkit import (
    Condition,
    Escalation,
    Event,
    EventMatch,
    F,
    Priority,
    SLAClock,
    SLAPolicy,
    SLATarget,
    Ticket,
    ValidationError,
    check_policies,
)
from ticketkit.sla._check import _dnf, _empty, _implies
from ticketkit.sla._replay import advance, initial_ticket

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def ev(kind: str, at: datetime = T0, **data: Any) -> Event:
    return Event(ticket_id="T", kind=kind, actor="a", at=at, data=data)


class TestConfigErrors:
    def test_target_constructor(self) -> None:
        """Wrong values in an SLATarget are named, custom targets too."""
        with pytest.raises(ValidationError) as info:
            SLATarget(first_response=-H, custom={"resolution": H, "callback": "soon"})  # type: ignore[dict-item]
        assert ["first_response", "custom.resolution", "custom.callback"] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            SLATarget(custom=3)  # type: ignore[arg-type]
        assert ["custom"] == paths(info.value)

    def test_target_data(self) -> None:
        """Non-objects, bad keys and explicit nulls in a target's data."""
        with pytest.raises(ValidationError):
            SLATarget.from_dict([1], path="t")
        with pytest.raises(ValidationError) as info:
            SLATarget.from_dict({"": "1h"}, path="t")
        assert ["t"] == paths(info.value)
        assert SLATarget() == SLATarget.from_dict({"resolution": None})

    def test_escalation_data(self) -> None:
        """Unknown keys, a missing metric and a bad duration in an escalation's data."""
        with pytest.raises(ValidationError) as info:
            Escalation.from_dict({"after": "later", "colour": 1}, path="e")
        assert ["e.colour", "e.metric", "e.after"] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            Escalation.from_dict({"metric": "resolution", "at": -1, "name": 3}, path="e")
        assert ["e.at", "e.name"] == paths(info.value)

    def test_escalation_constructor(self) -> None:
        """Bad metric, negative after, bad notify container and recipients are named."""
        with pytest.raises(ValidationError) as info:
            Escalation(metric="", after=-H, notify=3)  # type: ignore[arg-type]
        assert ["metric", "after", "notify"] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            Escalation(metric="resolution", notify=["role:", 7], reassign="agent")  # type: ignore[list-item]
        assert ["notify[0]", "notify[1]", "reassign"] == paths(info.value)

    def test_event_match_errors(self) -> None:
        """Bad kinds, data, status kinds and conditions in an event match."""
        with pytest.raises(ValidationError) as info:
            EventMatch(kind="", data=3, status_kinds=["opened"], when=5)  # type: ignore[arg-type]
        assert ["kind", "data", "status_kinds", "when"] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            EventMatch(kind="x", data={"": 1, "a": object()}, status_kinds=7)  # type: ignore[arg-type]
        assert {"data", "data.a", "status_kinds"} == set(paths(info.value))
        with pytest.raises(ValidationError) as info:
            EventMatch.from_dict({"event": "x", "when": {"field": "nope", "op": "eq", "value": 1}}, path="m")
        assert all(p.startswith("m.when") for p in paths(info.value))
        with pytest.raises(ValidationError) as info:
            EventMatch.from_dict(
                {"event": "x", "status_kinds": "pending", "data": {"a": 1}, "x": 1}, path="m"
            )
        assert ["m.x"] == paths(info.value)

    def test_event_match_status_kinds(self) -> None:
        """status_kinds reads the ticket's kind, and the kind before a status change."""
        m = EventMatch(kind="status.changed", status_kinds={"resolved"})
        t = Ticket(subject="x", created_at=T0, status="open", status_kind="open")
        assert m.matches(ev("status.changed", from_kind="resolved", to_kind="open"), t)
        assert not m.matches(ev("status.changed", from_kind="open", to_kind="resolved"), t)
        assert not m.matches(ev("comment.added"), t)
        nested = EventMatch(kind="x", data={"a.b": 1})
        assert not nested.matches(ev("x", a="flat"), t)
        round_trip = EventMatch(kind="x", data={"a": {1, 2}}, status_kinds="open")
        assert round_trip == EventMatch.from_dict(round_trip.to_dict())

    def test_clock_errors(self) -> None:
        """A bad clock constructor and bad clock data name every problem."""
        with pytest.raises(ValidationError) as info:
            SLAClock(metric="", start=[3], pause_in=[1], pause_when=4)  # type: ignore[list-item,arg-type]
        assert ["metric", "start", "pause_in", "pause_when"] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            SLAClock.from_dict({"start": ["ticket.created"], "pause_in": 3}, path="c")
        assert ["c.metric", "c.pause_in"] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            SLAClock.from_dict({"metric": "x", "after_stop": "never"}, path="c")
        assert ["c.after_stop"] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            SLAClock.preset("nope")
        assert "first_response" in str(info.value)
        with pytest.raises(ValidationError):
            SLAClock.from_dict("resolution", path="c")

    def test_clock_data_with_condition(self) -> None:
        """A clock's pause condition and null pause_in load from data."""
        c = SLAClock.from_dict(
            {
                "metric": "callback",
                "start": ["ticket.created"],
                "pause_in": None,
                "pause_when": {"field": "tags", "op": "contains", "value": "hold"},
            }
        )
        assert (None, Condition.from_dict({"field": "tags", "op": "contains", "value": "hold"})) == (
            c.pause_in,
            c.pause_when,
        )
        assert c == SLAClock.from_dict(c.to_dict())

    def test_policy_constructor_errors(self) -> None:
        """Every kind of bad constructor value is reported together."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy(
                name="p",
                calendar=ALWAYS,
                when=3,  # type: ignore[arg-type]
                targets={"asap": SLATarget(resolution=H), "high": 3},  # type: ignore[dict-item]
                pause_in=[1],  # type: ignore[list-item]
                warn_at="x",  # type: ignore[arg-type]
                escalations=[3],  # type: ignore[list-item]
                clocks=[3],  # type: ignore[list-item]
            )
        assert [
            "when",
            "targets.asap",
            "targets.high",
            "pause_in",
            "warn_at",
            "clocks[0]",
            "escalations[0]",
        ] == paths(info.value)
        with pytest.raises(ValidationError) as info:
            SLAPolicy(name="p", calendar=ALWAYS, targets=3, escalations=3, clocks=3)  # type: ignore[arg-type]
        assert ["targets", "clocks", "escalations"] == paths(info.value)
        twice = SLAClock(metric="callback")
        with pytest.raises(ValidationError) as info:
            SLAPolicy(
                name="p", calendar=ALWAYS, targets={"default": SLATarget(resolution=H)}, clocks=[twice, twice]
            )
        assert ["clocks[1].metric"] == paths(info.value)

    def test_policy_data_errors(self) -> None:
        """Bad shapes of a policy's data are named with their paths."""
        with pytest.raises(ValidationError):
            SLAPolicy.from_dict([1])
        with pytest.raises(ValidationError) as info:
            SLAPolicy.from_dict(
                {
                    "name": "x",
                    "calendar": 5,
                    "targets": [],
                    "pause_in": "pending",
                    "warn_at": 0.5,
                    "escalations": {},
                    "clocks": [{"preset": "nope"}],
                },
                path="p",
            )
        assert [
            "p.calendar",
            "p.targets",
            "p.pause_in",
            "p.warn_at",
            "p.escalations",
            "p.clocks[0].preset",
        ] == (paths(info.value))
        with pytest.raises(ValidationError) as info:
            SLAPolicy.from_dict(
                {
                    "name": "x",
                    "calendar": None,
                    "targets": {"default": {"resolution": "1h"}},
                    "pause_in": [1],
                },
                path="p",
            )
        assert ["p.pause_in[0]"] == paths(info.value)

    def test_policy_constructor_error_under_path(self) -> None:
        """Problems found by the constructor after loading still carry the path."""
        with pytest.raises(ValidationError) as info:
            SLAPolicy.from_dict(
                {
                    "name": "",
                    "calendar": ALWAYS.to_dict(),
                    "targets": {"default": {"resolution": "1h"}},
                    "escalations": [{"metric": "first_response"}],
                },
                path="policies[2]",
            )
        assert ["policies[2].name", "policies[2].escalations[0].metric"] == paths(info.value)

    def test_calendar_given_as_object_and_bad_embedded(self) -> None:
        """A calendar object passes through from_dict; a bad embedded one reports under calendar."""
        p = SLAPolicy.from_dict(
            {"name": "x", "calendar": ALWAYS, "targets": {"default": {"resolution": "1h"}}}
        )
        assert ALWAYS is p.calendar
        with pytest.raises(ValidationError) as info:
            SLAPolicy.from_dict({"name": "x", "calendar": {"tz": "Mars/Base"}, "targets": {}})
        assert all(e.startswith("calendar") for e in paths(info.value))

    def test_calendar_name_needs_a_name(self) -> None:
        """Writing the calendar by name needs a named calendar."""
        p = policy(calendar=tk.BusinessCalendar(tz="UTC", hours={"mon-fri": ["09:00-17:00"]}), resolution=H)
        with pytest.raises(ValidationError) as info:
            p.to_dict(calendar_name=True)
        assert ["calendar"] == paths(info.value)

    def test_accessors(self) -> None:
        """metrics, clock() and matches() read the configuration."""
        p = policy(first_response=H, resolution=H)
        assert ("first_response", "resolution") == p.metrics
        assert SLAClock.preset("resolution") == p.clock("resolution")
        with pytest.raises(ValidationError):
            p.clock("callback")
        assert p.matches(Ticket(subject="x", created_at=T0))
        single = SLAPolicy(name="s", calendar=ALWAYS, targets=SLATarget(resolution=H), warn_at=0.5)
        assert ((0.5,), H) == (single.warn_at, single.target_for("low", "resolution"))


class TestReplayReconstruction:
    def test_initial_ticket_rolls_fields_back(self) -> None:
        """The first change of each field tells its value before the history began."""
        now = Ticket(
            subject="x",
            created_at=T0,
            status="resolved",
            status_kind="resolved",
            priority="urgent",
            category="complaint",
            team="b",
            assignee="li",
            tags={"size", "vip"},
            fields={"order": "A-2", "shop": "sh01"},
        )
        history = [
            ev("status.changed", **{"from": "new", "to": "open", "from_kind": "new", "to_kind": "open"}),
            ev("priority.changed", **{"from": "normal", "to": "urgent"}),
            ev("category.changed", **{"from": None, "to": "complaint"}),
            ev("ticket.assigned", team="b", agent="li", from_team="a", from_agent=None),
            ev("tags.changed", added=["vip"], removed=["new-customer"]),
            ev(
                "fields.changed",
                changes={"order": {"from": "A-1", "to": "A-2"}, "shop": {"from": None, "to": "sh01"}},
            ),
            ev(
                "status.changed",
                **{"from": "open", "to": "resolved", "from_kind": "open", "to_kind": "resolved"},
            ),
        ]
        first = initial_ticket(now, history)
        assert (
            "new",
            "new",
            Priority.NORMAL,
            None,
            "a",
            None,
            frozenset({"size", "new-customer"}),
            {"order": "A-1"},
        ) == (
            first.status,
            first.status_kind,
            first.priority,
            first.category,
            first.team,
            first.assignee,
            first.tags,
            dict(first.fields),
        )
        last = first
        for e in history:
            last = advance(last, e)
        assert (
            now.status,
            now.priority,
            now.category,
            now.team,
            now.assignee,
            now.tags,
            dict(now.fields),
        ) == (
            last.status,
            last.priority,
            last.category,
            last.team,
            last.assignee,
            last.tags,
            dict(last.fields),
        )

    def test_malformed_history_is_tolerated(self) -> None:
        """Unknown values in old events leave the fields as they are rather than failing."""
        t = Ticket(subject="x", created_at=T0, priority="high")
        history = [
            ev("priority.changed", **{"from": "asap", "to": 3}),
            ev("category.changed", **{"from": 5, "to": 6}),
            ev("fields.changed", changes={"a": "not a change"}),
            ev("status.changed", to=""),
            ev("ticket.assigned"),
        ]
        first = initial_ticket(t, history)
        last = first
        for e in history:
            last = advance(last, e)
        assert (Priority.HIGH, None) == (first.priority, first.category)
        assert (Priority.HIGH, "new") == (last.priority, last.status)

    def test_status_as_of_follows_tags(self) -> None:
        """A pause on a tag is replayed from tags.changed events."""
        clock = attrs.evolve(SLAClock.preset("resolution"), pause_when=F.tags.contains("hold"))
        p = SLAPolicy(
            name="p", calendar=ALWAYS, targets={"default": SLATarget(resolution=8 * H)}, clocks=[clock]
        )
        t = p.start(Ticket(subject="x", created_at=T0, status="open", status_kind="open"))
        events = [ev("ticket.created", T0)]
        for at, tags, data in (
            (T0 + H, {"hold"}, {"added": ["hold"]}),
            (T0 + 3 * H, set(), {"removed": ["hold"]}),
        ):
            e = Event(ticket_id=t.id, kind="tags.changed", actor="a", at=at, data=data)
            events.append(e)
            t = p.apply(attrs.evolve(t, tags=tags), e)
        past = p.status_as_of(t, events, T0 + 2 * H)["resolution"]
        assert ("paused", H) == (past.state, past.elapsed)
        assert p.status_as_of(t, events, T0 + 5 * H) == p.status(t, T0 + 5 * H)

    def test_status_as_of_before_creation(self) -> None:
        """Before the ticket existed every clock is idle."""
        s = Sim(policy(resolution=H), created=T0 + H)
        assert "idle" == s.policy.status_as_of(s.ticket, s.events, T0)["resolution"].state
        assert "idle" == s.policy.status_as_of(s.ticket, [], T0)["resolution"].state

    def test_recompute_keeps_fired_checkpoints(self) -> None:
        """A recompute under the same targets does not emit again what was emitted."""
        s = Sim(policy(resolution=H, warn_at=(0.5,)), status="open")
        s.tick(T0 + 2 * H)
        again = s.policy.recompute(s.ticket, s.events[:1])
        assert [] == s.policy.due_events(again, None, T0 + 3 * H)


def _terms(cond: Any) -> Any:
    return _dnf(cond.to_dict() if hasattr(cond, "to_dict") else cond)


class TestCheckReasoning:
    def test_unknown_shapes_are_skipped(self) -> None:
        """A condition the check cannot read is neither reported nor trusted to shadow."""

        class Odd:
            def evaluate(self, ticket: Ticket, **kw: Any) -> bool:
                return True

            def to_dict(self) -> Any:
                return {"weird": 1}

        ps = [
            SLAPolicy(name="odd", calendar=ALWAYS, when=Odd(), targets={"default": SLATarget(resolution=H)}),  # type: ignore[arg-type]
            SLAPolicy(name="std", calendar=ALWAYS, targets={"default": SLATarget(resolution=H)}),
        ]
        assert [] == check_policies(ps)

    def test_too_many_terms_is_skipped(self) -> None:
        """A condition that would expand past the term limit is skipped, not expanded."""
        big = Condition.always()
        for i in range(10):
            big = big & ((F.category == f"a{i}") | (F.category == f"b{i}"))
        ps = [
            SLAPolicy(name="big", calendar=ALWAYS, when=big, targets={"default": SLATarget(resolution=H)}),
            SLAPolicy(name="std", calendar=ALWAYS, targets={"default": SLATarget(resolution=H)}),
        ]
        assert [] == check_policies(ps)

    def test_negations_push_inward(self) -> None:
        """not(all(...)) is any(not ...): each part implies the whole."""
        cond = ~((F.category == "a") & (F.channel == "web"))
        terms = _terms(cond)
        assert 2 == len(terms)
        assert _implies(_terms(F.category == "b")[0], terms[0])
        assert not _empty(terms[0])

    def test_values_of_every_json_type(self) -> None:
        """Lists, objects and booleans are compared as values; in with a scalar is opaque."""
        a = _terms({"field": "fields.flags", "op": "eq", "value": [1, 2]})[0]
        b = _terms({"field": "fields.flags", "op": "in", "value": [[1, 2], {"x": 1}, True]})[0]
        assert _implies(a, b)
        odd = _terms({"field": "category", "op": "in", "value": "abc"})[0]
        assert {} == odd[0]
        ref = _terms({"field": "team", "op": "eq", "ref": "customer.store"})[0]
        assert _implies(ref, ref)
        assert not _implies(({}, frozenset()), ref)

    def test_forbidden_values(self) -> None:
        """ne on the earlier side needs the later side to exclude that value."""
        not_a = _terms(F.category != "a")[0]
        is_b = _terms(F.category == "b")[0]
        is_a = _terms(F.category == "a")[0]
        not_a_or_b = _terms(F.category.not_in(["a", "b"]))[0]
        assert _implies(is_b, not_a)
        assert not _implies(is_a, not_a)
        assert _implies(not_a_or_b, not_a)
        assert not _implies(not_a, not_a_or_b)
        assert not _implies(({}, frozenset()), not_a)

    def test_bad_data_forms(self) -> None:
        """Malformed data forms are unknown, not errors."""
        from ticketkit.sla._check import _UnknownError

        for bad in (3, {"all": 3}, {"not": 3}, {"any": [3]}):
            with pytest.raises(_UnknownError):
                _dnf(bad)


class TestStatusToDict:
    def test_every_state_in_words(self) -> None:
        """Each state's reason reads as a sentence, and to_dict carries it."""
        s = Sim(policy(first_response=H, resolution=8 * H), status="open")
        s.move(T0 + 2 * H, "pending")
        st = s.status(T0 + 3 * H)
        assert st["first_response"].reason.startswith(
            "breached at 2025-03-03T10:00:00+00:00; paused: status is pending"
        )
        s.move(T0 + 4 * H, "resolved")
        d = s.status(T0 + 5 * H)["first_response"].to_dict()
        assert d["reason"].startswith("breached at 2025-03-03T10:00:00+00:00; stopped at 2025-03-03T13:00:00")
        assert "met at 2025-03-03T13:00:00+00:00: 2h of 8h used" == s.status(T0 + 5 * H)["resolution"].reason
        assert isinstance(tk.to_json(s.ticket), str)
