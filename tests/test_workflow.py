"""Workflow: definition checks, firing, guards, hooks, data form, diagrams, per-type workflows."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit import (
    Condition,
    Event,
    F,
    InvalidTransitionError,
    State,
    Ticket,
    Transition,
    ValidationError,
    Workflow,
    Workflows,
    default_workflow,
)
from ticketkit.model import _json

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "workflows"


def ticket(**kw: Any) -> Ticket:
    kw.setdefault("subject", "Parcel arrived damaged")
    kw.setdefault("created_at", T0)
    return Ticket(**kw)


def paths(err: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.path for e in err.value.errors]


def small(**kw: Any) -> Workflow:
    """new -> open -> done (final)."""
    kw.setdefault("name", "small")
    kw.setdefault("states", [State("new", "new"), State("open", "open"), State("done", "closed", final=True)])
    kw.setdefault("transitions", [Transition("open", "new", "open"), Transition("finish", "open", "done")])
    kw.setdefault("initial", "new")
    return Workflow(**kw)


class TestState:
    def test_fields(self) -> None:
        """A state has a name, a kind and a final flag that defaults to False."""
        assert ("pending", "pending", False) == attrs.astuple(State("pending", "pending"))

    def test_every_problem(self) -> None:
        """A bad name, kind and final flag are all reported."""
        with pytest.raises(ValidationError) as err:
            State("", "waiting", final="yes")  # type: ignore[arg-type]
        assert ["name", "kind", "final"] == paths(err)
        assert "expected one of: new, open, pending, resolved, closed" in str(err.value)

    def test_star_is_not_a_name(self) -> None:
        """'*' is reserved for 'any state'."""
        with pytest.raises(ValidationError) as err:
            State("*", "open")
        assert ["name"] == paths(err)


class TestTransition:
    def test_source_forms(self) -> None:
        """A source is a name, a list of names or '*'."""
        assert ("open",) == Transition("x", "open", "done").source
        assert ("a", "b") == Transition("x", ["a", "b"], "done").source
        assert "*" == Transition("x", "*", "done").source
        assert ("a", "b", "c") == Transition("x", {"c", "a", "b"}, "done").source

    def test_hook_forms(self) -> None:
        """One hook name becomes a one-item tuple."""
        assert ("notify",) == Transition("x", "a", "b", hooks="notify").hooks

    def test_every_problem(self) -> None:
        """Empty trigger, '*' inside a list, bad dest, guard and hooks are all reported."""
        with pytest.raises(ValidationError) as err:
            Transition("", ["a", "*"], 3, guard=42, hooks=[1])  # type: ignore[arg-type]
        assert ["trigger", "source[1]", "dest", "guard", "hooks[0]"] == paths(err)

    def test_empty_source(self) -> None:
        """An empty source list is reported."""
        with pytest.raises(ValidationError) as err:
            Transition("x", [], "b")
        assert ["source"] == paths(err)

    def test_guard_name(self) -> None:
        """guard_name is short text for each kind of guard."""

        def has_parts(t: Ticket, ctx: Mapping[str, Any]) -> bool:
            return True

        assert "has_parts" == Transition("x", "a", "b", guard=has_parts).guard_name
        assert "ok" == Transition("x", "a", "b", guard="ok").guard_name
        assert "category eq 'x'" == Transition("x", "a", "b", guard=F.category == "x").guard_name
        assert Transition("x", "a", "b").guard_name is None


class TestValidation:
    def test_every_problem_at_once(self) -> None:
        """One broken definition reports each of its problems with a path."""
        with pytest.raises(ValidationError) as err:
            Workflow(
                "broken",
                states=[
                    State("new", "new"),
                    State("open", "open"),
                    State("open", "pending"),
                    State("done", "closed", final=True),
                ],
                transitions=[
                    Transition("open", "new", "open"),
                    Transition("open", "new", "done"),
                    Transition("go", "nowhere", "open"),
                    Transition("back", "done", "open"),
                    Transition("x", "open", "missing"),
                    Transition("y", "open", "done", guard="nope", hooks=["gone"]),
                ],
                initial="start",
            )
        assert [
            "states[2].name",
            "initial",
            "transitions[1]",
            "transitions[2].source[0]",
            "transitions[3].source[0]",
            "transitions[4].dest",
            "transitions[5].guard",
            "transitions[5].hooks[0]",
        ] == paths(err)
        text = str(err.value)
        assert "duplicate state 'open' (also states[1])" in text
        assert "trigger 'open' from state 'new' is already defined by transitions[0]" in text
        assert "'done' is a final state and cannot have exits" in text
        assert "unknown guard 'nope' (registered: none)" in text
        assert "unknown hook 'gone'" in text

    def test_graph_problems(self) -> None:
        """Unreachable states and states with no way to a final state are reported."""
        with pytest.raises(ValidationError) as err:
            Workflow(
                "graph",
                states=[
                    State("new", "new"),
                    State("stuck", "pending"),
                    State("island", "open"),
                    State("done", "closed", final=True),
                ],
                transitions=[
                    Transition("finish", "new", "done"),
                    Transition("wait", "new", "stuck"),
                    Transition("leave", "island", "done"),
                ],
                initial="new",
            )
        assert ["states[1]", "states[2]"] == paths(err)
        assert "no way from state 'stuck' to a final state" in str(err.value)
        assert "state 'island' cannot be reached from the initial state 'new'" in str(err.value)

    def test_graph_checked_beside_other_problems(self) -> None:
        """A misspelt destination is reported, and so is the state it leaves unreachable."""
        with pytest.raises(ValidationError) as err:
            small(transitions=[Transition("open", "new", "open"), Transition("finish", "open", "dne")])
        assert ["transitions[1].dest", "states[0]", "states[1]", "states[2]"] == paths(err)
        assert "state 'done' cannot be reached" in str(err.value)

    def test_no_final_state(self) -> None:
        """A workflow without a final state is refused."""
        with pytest.raises(ValidationError) as err:
            Workflow("loop", [State("a", "open"), State("b", "open")], [Transition("x", "a", "b")], "a")
        assert ["states"] == paths(err)[:1]
        assert "no final state" in str(err.value)

    def test_wildcard_duplicate(self) -> None:
        """An explicit trigger that '*' also defines from the same state is a duplicate."""
        with pytest.raises(ValidationError) as err:
            small(transitions=[Transition("open", "new", "open"), Transition("open", "*", "done")])
        assert ["transitions[1]"] == paths(err)

    def test_registries_checked(self) -> None:
        """Registered guards and hooks must be callables."""
        with pytest.raises(ValidationError) as err:
            small(guards={"g": 1}, hooks={"h": "x"})  # type: ignore[dict-item]
        assert ["guards.g", "hooks.h"] == paths(err)

    def test_not_states_or_transitions(self) -> None:
        """Items that are not State/Transition are reported with their index."""
        with pytest.raises(ValidationError) as err:
            Workflow("w", [State("a", "new"), "b"], [], "a")  # type: ignore[list-item]
        assert "states[1]" == paths(err)[0]
        with pytest.raises(ValidationError) as err:
            Workflow("w", [], [], "a")
        assert ["states"] == paths(err)
        with pytest.raises(ValidationError) as err:
            small(transitions=[Transition("open", "new", "open"), "finish"])
        assert "transitions[1]" == paths(err)[0]

    def test_bad_name(self) -> None:
        """The workflow needs a name."""
        with pytest.raises(ValidationError) as err:
            small(name="")
        assert ["name"] == paths(err)


class TestFire:
    def test_moves_status_version_updated_at(self) -> None:
        """A fired trigger sets status, kind, version and updated_at."""
        wf = default_workflow()
        at = T0 + timedelta(minutes=5)
        t, events = wf.fire(ticket(), "open", at=at, actor="agent:li")
        assert ("open", "open", 2, at) == (t.status, t.status_kind, t.version, t.updated_at)
        assert 1 == len(events)
        e = events[0]
        assert ("status.changed", "agent:li", at, 2) == (e.kind, e.actor, e.at, e.version)
        assert {
            "from": "new",
            "to": "open",
            "trigger": "open",
            "from_kind": "new",
            "to_kind": "open",
        } == dict(e.data)

    def test_matches_validated_construction(self) -> None:
        """The trusted fast path builds exactly what validated construction builds."""
        wf = default_workflow()
        before = ticket(status="open", status_kind="open", tenant="shop-1", tags={"size"}, fields={"o": 1})
        at = T0 + timedelta(hours=1)
        t, (e,) = wf.fire(before, "resolve", at=at, actor="agent:li")
        expected = attrs.evolve(
            before, status="resolved", status_kind="resolved", version=2, updated_at=at, resolved_at=at
        )
        assert expected == t
        assert attrs.evolve(t) == t
        rebuilt = Event(
            ticket_id=before.id,
            kind="status.changed",
            actor="agent:li",
            at=at,
            data=dict(e.data),
            version=2,
            tenant="shop-1",
            id=e.id,
        )
        assert rebuilt == e
        assert tk.from_json(Event, tk.to_json(e)) == e
        assert tk.from_json(Ticket, tk.to_json(t)) == t

    def test_original_unchanged(self) -> None:
        """The ticket fired on is not changed."""
        before = ticket()
        default_workflow().fire(before, "open", at=T0, actor="li")
        assert ("new", 1) == (before.status, before.version)

    def test_resolved_and_closed_stamps(self) -> None:
        """Resolving stamps resolved_at, closing stamps closed_at, reopening clears them."""
        wf = default_workflow()
        t = ticket()
        times = [T0 + timedelta(hours=i) for i in range(5)]
        t, _ = wf.fire(t, "open", at=times[0], actor="li")
        t, _ = wf.fire(t, "resolve", at=times[1], actor="li")
        assert (times[1], None) == (t.resolved_at, t.closed_at)
        t, _ = wf.fire(t, "reopen", at=times[2], actor="li")
        assert (None, None) == (t.resolved_at, t.closed_at)
        t, _ = wf.fire(t, "resolve", at=times[3], actor="li")
        t, _ = wf.fire(t, "close", at=times[4], actor="li")
        assert (times[3], times[4], "closed") == (t.resolved_at, t.closed_at, t.status_kind)

    def test_cancel_from_any_non_final_state(self) -> None:
        """cancel works from new, open, pending and resolved, and lands in a closed kind."""
        wf = default_workflow()
        for status, kind in [
            ("new", "new"),
            ("open", "open"),
            ("pending", "pending"),
            ("resolved", "resolved"),
        ]:
            t, _ = wf.fire(ticket(status=status, status_kind=kind), "cancel", at=T0, actor="li")
            assert ("cancelled", "closed", T0) == (t.status, t.status_kind, t.closed_at)

    def test_unknown_trigger(self) -> None:
        """An undefined trigger names the state, the trigger and what is allowed."""
        with pytest.raises(InvalidTransitionError) as err:
            default_workflow().fire(ticket(), "resolve", at=T0, actor="li")
        assert ("new", "resolve", ["open", "cancel"]) == (
            err.value.state,
            err.value.trigger,
            err.value.allowed,
        )
        assert "no transition 'resolve' from state 'new'" == err.value.reason
        assert isinstance(err.value, ValueError)

    def test_final_state(self) -> None:
        """Nothing fires from a final state, and the error says so."""
        with pytest.raises(InvalidTransitionError) as err:
            default_workflow().fire(
                ticket(status="closed", status_kind="closed"), "reopen", at=T0, actor="li"
            )
        assert [] == err.value.allowed
        assert "'closed' is a final state" == err.value.reason
        assert "none (final state)" in str(err.value)

    def test_status_not_in_workflow(self) -> None:
        """A ticket whose status the workflow does not know gets a clear error."""
        with pytest.raises(InvalidTransitionError) as err:
            default_workflow().fire(ticket(status="triage"), "open", at=T0, actor="li")
        assert "state 'triage' is not in workflow 'support'" in err.value.reason

    def test_bad_arguments(self) -> None:
        """Naive or backwards times, empty actors, non-tickets and odd triggers are ValidationErrors."""
        wf = default_workflow()
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), "open", at=datetime(2025, 3, 3, 9), actor="li")
        assert ["at"] == paths(err)
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), "open", at=T0 - timedelta(seconds=1), actor="li")
        assert "before the ticket's updated_at" in str(err.value)
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), "open", at=T0, actor="")
        assert ["actor"] == paths(err)
        with pytest.raises(ValidationError) as err:
            wf.fire("T1", "open", at=T0, actor="li")  # type: ignore[arg-type]
        assert ["ticket"] == paths(err)
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), ["open"], at=T0, actor="li")  # type: ignore[arg-type]
        assert ["trigger"] == paths(err)
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), 3, at=T0, actor="li")  # type: ignore[arg-type]
        assert ["trigger"] == paths(err)

    def test_other_time_zones(self) -> None:
        """Any aware datetime works; comparisons are by instant."""
        cst = timezone(timedelta(hours=8))
        t, _ = default_workflow().fire(ticket(), "open", at=T0.astimezone(cst), actor="li")
        assert T0 == t.updated_at

    def test_event_ids_unique_and_sorted(self) -> None:
        """Each event gets its own id, sorting by time."""
        wf = default_workflow()
        t, ids = ticket(), []
        for i, trigger in enumerate(["open", "wait", "resume", "wait", "resume"]):
            t, (e,) = wf.fire(t, trigger, at=T0 + timedelta(seconds=i), actor="li")
            ids.append(e.id)
        assert sorted(ids) == ids
        assert len(set(ids)) == len(ids)


def released(t: Ticket, ctx: Mapping[str, Any]) -> bool:
    return bool(t.fields.get("released"))


class TestGuards:
    def guarded(self, guard: Any, **kw: Any) -> Workflow:
        return small(
            transitions=[
                Transition("open", "new", "open"),
                Transition("finish", "open", "done", guard=guard),
            ],
            **kw,
        )

    def test_condition_guard_explains(self) -> None:
        """A failing condition guard says which leaf failed and the value it saw."""
        wf = self.guarded((F.category == "complaint") & (F.customer.tier == "vip"))
        t = ticket(
            status="open", status_kind="open", category="complaint", customer=tk.Customer(id="c", tier="std")
        )
        with pytest.raises(InvalidTransitionError) as err:
            wf.fire(t, "finish", at=T0, actor="li")
        assert "guard failed: customer.tier eq 'vip': got 'std'" == err.value.reason
        assert [] == err.value.allowed
        ok = attrs.evolve(t, customer=tk.Customer(id="c", tier="vip"))
        assert "done" == wf.fire(ok, "finish", at=T0, actor="li")[0].status

    def test_condition_reads_context(self) -> None:
        """Conditions see the fire context, the actor and the trigger as context.<key>."""
        wf = self.guarded(
            Condition.from_dict(
                {
                    "all": [
                        {"field": "context.approved", "op": "eq", "value": True},
                        {"field": "context.actor", "op": "startswith", "value": "agent:"},
                    ]
                }
            )
        )
        t = ticket(status="open", status_kind="open")
        assert wf.can(t, "finish", actor="agent:li", approved=True)
        assert not wf.can(t, "finish", actor="bot:1", approved=True)
        assert "done" == wf.fire(t, "finish", at=T0, actor="agent:li", approved=True)[0].status
        with pytest.raises(InvalidTransitionError) as err:
            wf.fire(t, "finish", at=T0, actor="agent:li", approved=False)
        assert "context.approved eq True: got False" in err.value.reason

    def test_registered_callable(self) -> None:
        """A guard named by a string runs the registered callable."""
        wf = self.guarded("released", guards={"released": released})
        t = ticket(status="open", status_kind="open")
        with pytest.raises(InvalidTransitionError) as err:
            wf.fire(t, "finish", at=T0, actor="li")
        assert "guard 'released' returned False" == err.value.reason
        t2 = attrs.evolve(t, fields={"released": True})
        assert "done" == wf.fire(t2, "finish", at=T0, actor="li")[0].status

    def test_direct_callable_and_context(self) -> None:
        """A callable guard receives the ticket and the read-only context."""
        seen: list[Mapping[str, Any]] = []

        def spy(t: Ticket, ctx: Mapping[str, Any]) -> bool:
            seen.append(ctx)
            return True

        wf = self.guarded(spy)
        wf.fire(ticket(status="open", status_kind="open"), "finish", at=T0, actor="li", reason="dup")
        assert {"reason": "dup", "actor": "li", "at": T0, "trigger": "finish", "workflow": "small"} == dict(
            seen[0]
        )
        with pytest.raises(TypeError):
            seen[0]["x"] = 1  # type: ignore[index]

    def test_guard_must_return_bool(self) -> None:
        """A guard returning something else than True/False is a ValidationError."""
        wf = self.guarded(lambda t, ctx: "yes")
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(status="open", status_kind="open"), "finish", at=T0, actor="li")
        assert ["guards.<lambda>"] == paths(err)

    def test_allowed_can_why_not(self) -> None:
        """allowed() leaves out guarded triggers that do not hold; why_not() says why."""
        wf = self.guarded("released", guards={"released": released})
        t = ticket(status="open", status_kind="open")
        assert [] == wf.allowed(t)
        assert ["finish"] == wf.allowed_from("open")
        assert not wf.can(t, "finish")
        assert "guard 'released' returned False" == wf.why_not(t, "finish")
        t2 = attrs.evolve(t, fields={"released": True})
        assert (["finish"], True, None) == (wf.allowed(t2), wf.can(t2, "finish"), wf.why_not(t2, "finish"))
        assert "no transition 'open' from state 'open'" == wf.why_not(t2, "open")

    def test_allowed_checks_ticket(self) -> None:
        """allowed() refuses what is not a ticket."""
        with pytest.raises(ValidationError):
            default_workflow().allowed("T1")  # type: ignore[arg-type]

    def test_reserved_context(self) -> None:
        """Context keys the workflow sets itself are refused."""
        wf = self.guarded(released)
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(status="open", status_kind="open"), "finish", at=T0, actor="li", workflow="x")
        assert ["context.workflow"] == paths(err)

    def test_time_guard_needs_at(self) -> None:
        """A guard on ages needs at: asking without one is a clear error, not a crash."""
        wf = self.guarded(F.created_at.age_over(timedelta(hours=4)))
        t = ticket(status="open", status_kind="open")
        with pytest.raises(ValidationError) as err:
            wf.allowed(t)
        assert ["at"] == paths(err)
        assert not wf.can(t, "finish", at=T0 + timedelta(hours=1))
        assert wf.can(t, "finish", at=T0 + timedelta(hours=5))
        assert "done" == wf.fire(t, "finish", at=T0 + timedelta(hours=5), actor="li")[0].status

    def test_naive_at_in_allowed(self) -> None:
        """Guards are not evaluated with a naive at."""
        wf = self.guarded(released)
        with pytest.raises(ValidationError):
            wf.allowed(ticket(status="open", status_kind="open"), at=datetime(2025, 1, 1))


def assign_desk(t: Ticket, tr: Transition, ctx: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"team": "records", "assignee": ctx["actor"].removeprefix("agent:")}


def tag_it(t: Ticket, tr: Transition, ctx: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"tags": t.tags | {tr.dest}, "fields": {**t.fields, "moved_by": ctx["actor"]}, "priority": "high"}


class TestHooks:
    def hooked(self, *hooks: Any, **registry: Any) -> Workflow:
        return small(
            transitions=[
                Transition("open", "new", "open", hooks=hooks),
                Transition("finish", "open", "done"),
            ],
            hooks=registry,
        )

    def test_changes_and_events(self) -> None:
        """Hook changes land in the same version, each recorded as its own event."""
        wf = self.hooked("assign_desk", "tag_it", assign_desk=assign_desk, tag_it=tag_it)
        t, events = wf.fire(ticket(category="x"), "open", at=T0, actor="agent:li")
        assert ("records", "li", frozenset({"open"}), "agent:li", tk.Priority.HIGH, 2) == (
            t.team,
            t.assignee,
            t.tags,
            t.fields["moved_by"],
            t.priority,
            t.version,
        )
        kinds = [e.kind for e in events]
        assert [
            "status.changed",
            "ticket.assigned",
            "priority.changed",
            "tags.changed",
            "fields.changed",
        ] == kinds
        assert {2} == {e.version for e in events}
        assigned = dict(events[1].data)
        assert ("records", "li", None, "assign_desk") == (
            assigned["team"],
            assigned["agent"],
            assigned["from_team"],
            assigned["hook"],
        )
        assert {"from": "normal", "to": "high", "hook": "tag_it"} == dict(events[2].data)
        assert (["open"], []) == (list(events[3].data["added"]), list(events[3].data["removed"]))
        assert {"moved_by": {"from": None, "to": "agent:li"}} == _json.thaw(events[4].data["changes"])
        for e in events:  # every event passes full validation
            assert attrs.evolve(e) == e

    def test_hook_sees_transition(self) -> None:
        """A hook receives the ticket before the change and the transition firing."""
        seen: list[tuple[str, str]] = []

        def spy(t: Ticket, tr: Transition, ctx: Mapping[str, Any]) -> None:
            seen.append((t.status, tr.dest))

        wf = self.hooked(spy)
        wf.fire(ticket(), "open", at=T0, actor="li")
        assert [("new", "open")] == seen

    def test_forbidden_fields(self) -> None:
        """A hook may not change status, version or other engine-owned fields."""
        wf = self.hooked("bad", bad=lambda t, tr, ctx: {"status": "done", "version": 9})
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), "open", at=T0, actor="li")
        assert ["hooks.bad.status", "hooks.bad.version"] == paths(err)

    def test_invalid_values(self) -> None:
        """Hook values are validated like user input."""
        wf = self.hooked("bad", bad=lambda t, tr, ctx: {"priority": "asap", "tags": "one"})
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), "open", at=T0, actor="li")
        assert ["hooks.bad.priority", "hooks.bad.tags"] == paths(err)

    def test_not_a_mapping(self) -> None:
        """A hook must return a mapping or None."""
        wf = self.hooked("bad", bad=lambda t, tr, ctx: ["team"])
        with pytest.raises(ValidationError) as err:
            wf.fire(ticket(), "open", at=T0, actor="li")
        assert ["hooks.bad"] == paths(err)

    def test_raising_hook_changes_nothing(self) -> None:
        """A hook that raises stops the transition."""

        def boom(t: Ticket, tr: Transition, ctx: Mapping[str, Any]) -> None:
            raise RuntimeError("printer on fire")

        with pytest.raises(RuntimeError):
            self.hooked(boom).fire(ticket(), "open", at=T0, actor="li")

    def test_stamps_on_the_hook_path(self) -> None:
        """Transitions with hooks set and clear resolved_at and closed_at like the others."""
        wf = Workflow(
            "stamps",
            [State("open", "open"), State("done", "resolved"), State("shut", "closed", final=True)],
            [
                Transition("solve", "open", "done", hooks="tag"),
                Transition("reopen", "done", "open", hooks="tag"),
                Transition("close", "done", "shut", hooks="tag"),
            ],
            "open",
            hooks={"tag": tag_it},
        )
        t = ticket(status="open", status_kind="open")
        t, _ = wf.fire(t, "solve", at=T0 + timedelta(hours=1), actor="li")
        assert (T0 + timedelta(hours=1), None) == (t.resolved_at, t.closed_at)
        t, _ = wf.fire(t, "reopen", at=T0 + timedelta(hours=2), actor="li")
        assert (None, None, 3) == (t.resolved_at, t.closed_at, t.version)
        t, _ = wf.fire(t, "solve", at=T0 + timedelta(hours=3), actor="li")
        t, _ = wf.fire(t, "close", at=T0 + timedelta(hours=4), actor="li")
        assert (T0 + timedelta(hours=3), T0 + timedelta(hours=4)) == (t.resolved_at, t.closed_at)

    def test_no_op_changes_make_no_events(self) -> None:
        """Returning the current values records nothing extra."""
        wf = self.hooked("same", same=lambda t, tr, ctx: {"team": t.team, "tags": t.tags})
        _, events = wf.fire(ticket(), "open", at=T0, actor="li")
        assert ["status.changed"] == [e.kind for e in events]

    def test_category_and_removed_fields(self) -> None:
        """Category changes and removed custom fields are recorded."""
        wf = self.hooked("h", h=lambda t, tr, ctx: {"category": "billing", "fields": {}, "tags": set()})
        _, events = wf.fire(ticket(fields={"old": [1]}, tags={"a"}), "open", at=T0, actor="li")
        data = {e.kind: _json.thaw(e.data) for e in events}
        assert {"from": None, "to": "billing", "hook": "h"} == data["category.changed"]
        assert {"old": {"from": [1], "to": None}} == data["fields.changed"]["changes"]
        assert {"added": [], "removed": ["a"], "hook": "h"} == data["tags.changed"]


class TestDataForm:
    def test_default_round_trip(self) -> None:
        """to_dict then from_dict gives the same workflow, also through JSON."""
        wf = default_workflow()
        assert wf == Workflow.from_dict(wf.to_dict())
        assert wf == Workflow.from_dict(json.loads(tk.to_json(wf)))
        assert wf == tk.from_dict(Workflow, wf.to_dict())

    def test_guards_and_hooks_round_trip(self) -> None:
        """Conditions, guard names and hook names survive the data form."""
        wf = small(
            transitions=[
                Transition("open", "new", "open", guard=F.priority >= "high", hooks=["assign_desk"]),
                Transition("finish", ["open"], "done", guard="released"),
            ],
            guards={"released": released},
            hooks={"assign_desk": assign_desk},
        )
        data = wf.to_dict()
        assert {"field": "priority", "op": "ge", "value": "high"} == data["transitions"][0]["guard"]
        assert ["assign_desk"] == data["transitions"][0]["hooks"]
        back = Workflow.from_dict(data, guards={"released": released}, hooks={"assign_desk": assign_desk})
        assert wf == back

    def test_registered_callable_written_by_name(self) -> None:
        """A callable given directly is written under the name it is registered with."""
        wf = small(
            transitions=[
                Transition("open", "new", "open", hooks=[assign_desk]),
                Transition("finish", "open", "done", guard=released),
            ],
            guards={"released": released},
            hooks={"assign_desk": assign_desk},
        )
        data = wf.to_dict()
        assert ("released", ["assign_desk"]) == (
            data["transitions"][1]["guard"],
            data["transitions"][0]["hooks"],
        )

    def test_unregistered_callable_cannot_be_written(self) -> None:
        """A callable with no registered name cannot be written as data."""
        wf = small(
            transitions=[
                Transition("open", "new", "open", hooks=[assign_desk]),
                Transition("finish", "open", "done", guard=released),
            ]
        )
        with pytest.raises(ValidationError) as err:
            wf.to_dict()
        assert ["transitions[0].hooks[0]", "transitions[1].guard"] == paths(err)

    def test_every_problem_with_paths(self) -> None:
        """from_dict lists shape problems, condition problems and unknown names with paths."""
        data = {
            "name": "x",
            "initial": "new",
            "colour": "red",
            "states": [
                {"name": "new", "kind": "fresh"},
                {"name": "done", "kind": "closed", "final": True, "x": 1},
                7,
            ],
            "transitions": [
                {
                    "trigger": "go",
                    "source": "new",
                    "dest": "done",
                    "guard": {"field": "category", "op": "equals", "value": 1},
                },
                {"trigger": "go2", "source": "new", "dest": "done", "guard": 5},
                {"trigger": "go3", "source": "new", "dest": "done", "hooks": [1]},
                {"source": "new"},
                "nope",
            ],
        }
        with pytest.raises(ValidationError) as err:
            Workflow.from_dict(data, path="workflows.repair")
        assert [
            "workflows.repair.colour",
            "workflows.repair.states[0].kind",
            "workflows.repair.states[1].x",
            "workflows.repair.states[2]",
            "workflows.repair.transitions[0].guard.op",
            "workflows.repair.transitions[1].guard",
            "workflows.repair.transitions[2].hooks",
            "workflows.repair.transitions[3].trigger",
            "workflows.repair.transitions[3].dest",
            "workflows.repair.transitions[4]",
        ] == paths(err)

    def test_unknown_names_at_load(self) -> None:
        """Unknown guard and hook names fail at load with their paths."""
        data = small().to_dict()
        data["transitions"][1]["guard"] = "released"
        data["transitions"][1]["hooks"] = ["notify"]
        with pytest.raises(ValidationError) as err:
            Workflow.from_dict(data, path="repair")
        assert ["repair.transitions[1].guard", "repair.transitions[1].hooks[0]"] == paths(err)

    def test_not_a_mapping_and_bad_lists(self) -> None:
        """A non-object and non-list states/transitions are reported."""
        with pytest.raises(ValidationError):
            Workflow.from_dict([])
        with pytest.raises(ValidationError) as err:
            Workflow.from_dict({"name": "x", "initial": "a", "states": "a", "transitions": {}})
        assert ["states", "transitions"] == paths(err)
        with pytest.raises(ValidationError) as err:
            Workflow.from_dict(
                {
                    "name": "x",
                    "initial": "a",
                    "states": [{"name": "a", "kind": "new", "final": "no"}],
                    "transitions": [],
                }
            )
        assert ["states[0].final"] == paths(err)
        with pytest.raises(ValidationError) as err:
            Workflow.from_dict(
                {
                    "name": "x",
                    "initial": "a",
                    "states": [{"name": "a", "kind": "new"}],
                    "transitions": [{"trigger": "t", "source": 3, "dest": "a"}],
                }
            )
        assert ["transitions[0].source"] == paths(err)

    def test_single_hook_name(self) -> None:
        """A single hook name is accepted in place of a list."""
        data = small().to_dict()
        data["transitions"][0]["hooks"] = "assign_desk"
        wf = Workflow.from_dict(data, hooks={"assign_desk": assign_desk})
        assert ("assign_desk",) == wf.transitions[0].hooks


class TestReading:
    def test_state_kind_of(self) -> None:
        """state() and kind_of() read the definition; unknown names list the known ones."""
        wf = default_workflow()
        assert State("cancelled", "closed", final=True) == wf.state("cancelled")
        assert "pending" == wf.kind_of("pending")
        with pytest.raises(ValidationError) as err:
            wf.kind_of("waiting")
        assert "known: 'cancelled', 'closed', 'new', 'open', 'pending', 'resolved'" in str(err.value)

    def test_transition_for(self) -> None:
        """transition_for finds the transition for a state and trigger."""
        wf = default_workflow()
        assert "resolved" == wf.transition_for("pending", "resolve").dest  # type: ignore[union-attr]
        assert wf.transition_for("closed", "reopen") is None

    def test_start(self) -> None:
        """start() puts a new ticket in the initial state."""
        wf = Workflow(
            "lab",
            [State("received", "new"), State("done", "closed", final=True)],
            [Transition("finish", "received", "done")],
            "received",
        )
        assert ("received", "new") == (wf.start(ticket()).status, wf.start(ticket()).status_kind)

    def test_default_matches_contract(self) -> None:
        """The shipped support workflow has the agreed states and triggers."""
        wf = default_workflow()
        edges = sorted(
            (src, trig, wf.transition_for(src, trig).dest)
            for src in ["new", "open", "pending", "resolved"]
            for trig in wf.allowed_from(src)
        )  # type: ignore[union-attr]
        assert [
            ("new", "cancel", "cancelled"),
            ("new", "open", "open"),
            ("open", "cancel", "cancelled"),
            ("open", "resolve", "resolved"),
            ("open", "wait", "pending"),
            ("pending", "cancel", "cancelled"),
            ("pending", "resolve", "resolved"),
            ("pending", "resume", "open"),
            ("resolved", "cancel", "cancelled"),
            ("resolved", "close", "closed"),
            ("resolved", "reopen", "open"),
        ] == edges
        assert {"closed", "cancelled"} == {s.name for s in wf.states if s.final}
        assert default_workflow() is wf


class TestDiagrams:
    def test_mermaid(self) -> None:
        """Mermaid output has the start, every edge, the ends and the kind classes."""
        text = default_workflow().to_mermaid()
        lines = text.splitlines()
        assert "stateDiagram-v2" == lines[0]
        assert "    [*] --> new" in lines
        assert "    resolved --> open: reopen" in lines
        assert "    pending --> cancelled: cancel" in lines
        assert "    closed --> [*]" in lines
        assert "    class pending kind_pending" in lines

    def test_mermaid_odd_names_and_guards(self) -> None:
        """Names Mermaid cannot take are aliased; guards show in brackets, cleaned."""
        wf = Workflow(
            "odd",
            [State("waiting for parts", "new"), State("end", "closed", final=True)],
            [Transition("fix", "waiting for parts", "end", guard=F.subject == "a:b")],
            "waiting for parts",
        )
        text = wf.to_mermaid()
        assert '    state "waiting for parts" as s0' in text
        assert "    s0 --> s1: fix [subject eq 'a b']" in text

    def test_dot(self) -> None:
        """DOT output quotes names, marks final states and labels edges."""
        wf = Workflow(
            'q"uote',
            [State('a"b', "new"), State("done", "closed", final=True)],
            [Transition("go", 'a"b', "done")],
            'a"b',
        )
        text = wf.to_dot()
        assert text.startswith('digraph "q\\"uote" {')
        assert '"a\\"b" -> "done" [label="go"];' in text
        assert "peripheries=2" in text
        assert '"__start__" -> "a\\"b";' in text


class TestWorkflows:
    def test_for_ticket(self) -> None:
        """The workflow is chosen by ticket.type."""
        repair = small(name="repair")
        wfs = Workflows({"support": default_workflow(), "repair": repair})
        assert repair is wfs.for_ticket(ticket(type="repair"))
        assert ["support", "repair"] == list(wfs)
        assert 2 == len(wfs)
        assert "Workflows({'support': 'support', 'repair': 'repair'})" == repr(wfs)

    def test_unknown_type(self) -> None:
        """An unknown type names itself and the known ones."""
        with pytest.raises(ValidationError) as err:
            Workflows({"support": default_workflow()}).for_ticket(ticket(type="lab"))
        assert "no workflow for ticket type 'lab' (known types: 'support')" in str(err.value)

    def test_fire_through(self) -> None:
        """Workflows.fire uses the ticket's own workflow."""
        wfs = Workflows({"support": default_workflow(), "repair": small(name="repair")})
        t, _ = wfs.fire(ticket(type="repair"), "open", at=T0, actor="li")
        with pytest.raises(InvalidTransitionError):
            wfs.fire(t, "resolve", at=T0, actor="li")

    def test_data_form(self) -> None:
        """Workflows load from and dump to {type: workflow data}; problems carry the type."""
        wfs = Workflows({"support": default_workflow(), "repair": small(name="repair")})
        assert wfs == Workflows.from_dict(wfs.to_dict())
        assert hash(wfs) == hash(Workflows.from_dict(wfs.to_dict()))
        bad = wfs.to_dict()
        bad["repair"]["initial"] = "nowhere"
        with pytest.raises(ValidationError) as err:
            Workflows.from_dict(bad)
        assert ["repair.initial"] == paths(err)
        with pytest.raises(ValidationError):
            Workflows.from_dict([])

    def test_checks_items(self) -> None:
        """Keys must be type names and values Workflows."""
        with pytest.raises(ValidationError) as err:
            Workflows({"": default_workflow(), "x": "support"})  # type: ignore[dict-item]
        assert ["", "x"] == paths(err)
        assert Workflows() == Workflows({"support": default_workflow()})
        assert Workflows() != {"support": default_workflow()}


# --------------------------------------------------------------------------- the shipped examples


def record_parts_order(t: Ticket, tr: Transition, ctx: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"tags": t.tags | {"waiting-parts"}, "fields": {**t.fields, "parts_order": ctx.get("order", "")}}


def parts_received(t: Ticket, ctx: Mapping[str, Any]) -> bool:
    return bool(ctx.get("delivery_note"))


def remember_offer(t: Ticket, tr: Transition, ctx: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"fields": {**t.fields, "offered_slot": ctx["slot"]}}


EXAMPLE_GUARDS = {"parts_received": parts_received}
EXAMPLE_HOOKS = {
    "record_parts_order": record_parts_order,
    "remember_offer": remember_offer,
    "assign_records_desk": assign_desk,
}


def load_example(name: str) -> Workflow:
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return Workflow.from_dict(data, guards=EXAMPLE_GUARDS, hooks=EXAMPLE_HOOKS)


def walk(wf: Workflow, t: Ticket, steps: list[tuple[str, dict[str, Any]]], actor: str = "agent:li") -> Ticket:
    for trigger, ctx in steps:
        t, _ = wf.fire(t, trigger, at=t.updated_at + timedelta(minutes=1), actor=actor, **ctx)
    return t


class TestExamples:
    def test_support_is_default(self) -> None:
        """examples/workflows/support.json is the shipped default workflow."""
        assert default_workflow() == load_example("support.json")

    def test_every_example_round_trips(self) -> None:
        """Each example loads, dumps to the same data and draws."""
        for path in sorted(EXAMPLES.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            wf = load_example(path.name)
            assert data == wf.to_dict(), path.name
            assert wf.to_mermaid().startswith("stateDiagram-v2")

    def test_exam_result_enquiry(self) -> None:
        """A hospital enquiry waits on the lab, and is answered only once results are released."""
        wf = load_example("exam-result-enquiry.json")
        t = wf.start(ticket(type="exam-result-enquiry", subject="Is my MRI result ready?"))
        t = walk(wf, t, [("start_check", {}), ("ask_lab", {}), ("lab_replied", {})])
        assert ("checking_records", "records", "li") == (t.status, t.team, t.assignee)
        with pytest.raises(InvalidTransitionError) as err:
            wf.fire(t, "answer", at=T0 + timedelta(hours=1), actor="agent:li")
        assert "fields.result_released eq True: got None" in err.value.reason
        assert ["ask_lab", "refer_to_doctor", "withdraw"] == err.value.allowed
        t = attrs.evolve(t, fields={"result_released": True})
        t, _ = wf.fire(t, "answer", at=T0 + timedelta(hours=1), actor="agent:li")
        assert ("answered", "resolved") == (t.status, t.status_kind)

    def test_reschedule(self) -> None:
        """A reschedule offers a slot, may be declined, and is accepted once a slot is on file."""
        wf = load_example("reschedule.json")
        t = wf.start(ticket(type="reschedule"))
        t = walk(wf, t, [("review", {}), ("offer_slot", {"slot": "2025-03-05T10:00"}), ("decline", {})])
        assert "finding_slot" == t.status
        t = walk(wf, t, [("offer_slot", {"slot": "2025-03-06T14:00"}), ("accept", {}), ("close", {})])
        assert ("closed", "2025-03-06T14:00") == (t.status, t.fields["offered_slot"])

    def test_repair_waits_for_parts(self) -> None:
        """A repair waits for parts (pending), resumes on delivery, and passes only a real test."""
        wf = load_example("repair.json")
        t = wf.start(ticket(type="repair", subject="Spindle motor noise"))
        t = walk(wf, t, [("diagnose", {}), ("order_parts", {"order": "PO-778"})])
        assert ("waiting_for_parts", "pending", "PO-778") == (
            t.status,
            t.status_kind,
            t.fields["parts_order"],
        )
        assert not wf.can(t, "parts_arrived")
        t = walk(wf, t, [("parts_arrived", {"delivery_note": "DN-1"}), ("test", {})])
        with pytest.raises(InvalidTransitionError):
            wf.fire(t, "pass", at=T0 + timedelta(hours=1), actor="agent:li")
        t = attrs.evolve(t, fields={**t.fields, "test_passed": True})
        with pytest.raises(InvalidTransitionError) as err:
            wf.fire(t, "pass", at=T0 + timedelta(hours=1), actor="bot:line-3")
        assert "context.actor startswith 'agent:'" in err.value.reason
        t, _ = wf.fire(t, "pass", at=T0 + timedelta(hours=1), actor="agent:wu")
        assert ("repaired", T0 + timedelta(hours=1)) == (t.status, t.resolved_at)


# --------------------------------------------------------------------------- a slow reference


KINDS = ["new", "open", "pending", "resolved", "closed"]


def reference_problems(
    states: list[tuple[str, str, bool]], trans: list[tuple[str, Any, str]], initial: str
) -> bool:
    """True when the definition has any problem (obviously correct, slow)."""
    names = [s[0] for s in states]
    if len(set(names)) != len(names) or initial not in names or not any(s[2] for s in states):
        return True
    final = {s[0] for s in states if s[2]}
    edges = []
    for trig, src, dest in trans:
        if dest not in names:
            return True
        sources = [n for n in names if n not in final and n != dest] if src == "*" else list(src)
        for s in sources:
            if s not in names or s in final:
                return True
            if any(e[0] == s and e[1] == trig for e in edges):
                return True
            edges.append((s, trig, dest))
    for n in names:
        reach = {initial}
        changed = True
        while changed:
            changed = False
            for s, _, d in edges:
                if s in reach and d not in reach:
                    reach.add(d)
                    changed = True
        if n not in reach:
            return True
        out = {n}
        changed = True
        while changed:
            changed = False
            for s, _, d in edges:
                if s in out and d not in out:
                    out.add(d)
                    changed = True
        if not out & final:
            return True
    return False


def reference_fire(
    states: list[tuple[str, str, bool]], trans: list[tuple[str, Any, str]], status: str, trigger: str
) -> str | None:
    final = {s[0] for s in states if s[2]}
    for trig, src, dest in trans:
        if trig != trigger:
            continue
        if src == "*":
            if status not in final and status != dest:
                return dest
        elif status in src:
            return dest
    return None


state_names = st.sampled_from(["a", "b", "c", "d", "e"])
definitions = st.tuples(
    st.lists(st.tuples(state_names, st.sampled_from(KINDS), st.booleans()), min_size=1, max_size=5),
    st.lists(
        st.tuples(
            st.sampled_from(["go", "back", "stop"]),
            st.just("*") | st.lists(state_names, min_size=1, max_size=2, unique=True).map(tuple),
            state_names,
        ),
        max_size=8,
    ),
    state_names,
)


@st.composite
def valid_definitions(draw: st.DrawFn) -> Any:
    """Definitions valid by construction: a spine reaching every state and a way to the end."""
    n = draw(st.integers(2, 6))
    names = [f"s{i}" for i in range(n)]
    states = [(name, draw(st.sampled_from(KINDS)), False) for name in names[:-1]] + [
        (names[-1], "closed", True)
    ]
    trans: list[tuple[str, Any, str]] = []
    used: set[tuple[str, str]] = set()

    def add(trigger: str, src: str, dest: str) -> None:
        if (src, trigger) not in used:
            used.add((src, trigger))
            trans.append((trigger, (src,), dest))

    for i in range(1, n):
        add(f"go{i}", names[draw(st.integers(0, i - 1))], names[i])
    for i in range(n - 1):
        add("stop", names[i], names[draw(st.integers(i + 1, n - 1))])
    for _ in range(draw(st.integers(0, 6))):
        src = draw(st.integers(0, n - 2))
        add(draw(st.sampled_from(["go", "back", "stop"])), names[src], names[draw(st.integers(0, n - 1))])
    if draw(st.booleans()):
        states.append(("x", "closed", True))
        trans.append(("cancel", "*", "x"))
    return states, trans, "s0"


class TestAgainstReference:
    @given(definitions | valid_definitions())
    def test_validation_agrees(self, definition: Any) -> None:
        """A definition is refused exactly when the slow reference finds a problem."""
        states, trans, initial = definition
        try:
            Workflow("w", [State(*s) for s in states], [Transition(*t) for t in trans], initial)
            built = True
        except ValidationError:
            built = False
        assert (not reference_problems(states, trans, initial)) == built

    @given(
        valid_definitions(),
        st.lists(st.sampled_from(["go1", "go2", "go3", "back", "stop", "cancel"]), max_size=12),
    )
    def test_fire_agrees(self, definition: Any, triggers: list[str]) -> None:
        """Firing follows the reference table, and errors exactly when the reference has no move."""
        states, trans, initial = definition
        assert not reference_problems(states, trans, initial)
        wf = Workflow("w", [State(*s) for s in states], [Transition(*t) for t in trans], initial)
        t = wf.start(ticket())
        for i, trigger in enumerate(triggers):
            expected = reference_fire(states, trans, t.status, trigger)
            at = T0 + timedelta(seconds=i)
            if expected is None:
                with pytest.raises(InvalidTransitionError):
                    wf.fire(t, trigger, at=at, actor="li")
                continue
            version = t.version
            t, (e,) = wf.fire(t, trigger, at=at, actor="li")
            assert (expected, version + 1, at) == (t.status, t.version, t.updated_at)
            assert wf.kind_of(expected) == t.status_kind == e.data["to_kind"]


class TestDocs:
    def test_pictures_are_current(self) -> None:
        """The Mermaid pictures in the docs are what to_mermaid() draws today."""
        root = Path(__file__).resolve().parent.parent / "docs"
        fence = re.compile(r"^```mermaid\n(.*?)^```", re.DOTALL | re.MULTILINE)
        (howto,) = fence.findall((root / "how-to" / "custom-workflow.md").read_text(encoding="utf-8"))
        assert load_example("repair.json").to_mermaid() == howto
        (ref,) = fence.findall((root / "reference" / "workflow.md").read_text(encoding="utf-8"))
        assert default_workflow().to_mermaid() == ref
