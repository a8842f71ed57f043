"""Stateful property test: random trigger sequences through real workflows.

Random triggers (allowed or not) are fired at a ticket; the machine checks that the
ticket never leaves the definition, that version and updated_at advance on every fired
transition, that refused triggers change nothing and name what is allowed, and that the
resolved/closed stamps follow the kinds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ticketkit import InvalidTransitionError, Ticket, Transition, Workflow, default_workflow

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "workflows"


def _hook(t: Ticket, tr: Transition, ctx: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"tags": t.tags | {tr.dest}}


def _guard(t: Ticket, ctx: Mapping[str, Any]) -> bool:
    return bool(ctx.get("delivery_note"))


HOOKS = {"record_parts_order": _hook, "remember_offer": _hook, "assign_records_desk": _hook}
GUARDS = {"parts_received": _guard}


def _load(name: str) -> Workflow:
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return Workflow.from_dict(data, guards=GUARDS, hooks=HOOKS)


WORKFLOWS = [default_workflow()] + [
    _load(p.name) for p in sorted(EXAMPLES.glob("*.json")) if p.name != "support.json"
]


# Every workflow's triggers, so each machine also meets triggers it does not define.
TRIGGERS = sorted({tr.trigger for wf in WORKFLOWS for tr in wf.transitions} | {"no-such-trigger"})


class WorkflowMachine(RuleBasedStateMachine):
    """One ticket walked through one workflow by random triggers."""

    def __init__(self) -> None:
        super().__init__()
        self.wf = default_workflow()
        self.ticket = Ticket(subject="s", created_at=T0)
        self.fired = 0
        self.ever_resolved = False

    @initialize(index=st.integers(0, len(WORKFLOWS) - 1))
    def choose(self, index: int) -> None:
        self.wf = WORKFLOWS[index]
        self.ticket = self.wf.start(Ticket(subject="s", created_at=T0, fields={"result_released": True}))

    @rule(
        trigger=st.sampled_from(TRIGGERS),
        step=st.timedeltas(timedelta(0), timedelta(days=3)),
        note=st.booleans(),
    )
    def fire(self, trigger: str, step: timedelta, note: bool) -> None:
        before = self.ticket
        at = before.updated_at + step
        context: dict[str, Any] = {
            "delivery_note": "DN-1" if note else "",
            "slot": "tomorrow",
            "order": "PO-1",
        }
        defined = trigger in self.wf.allowed_from(before.status)
        allowed = self.wf.allowed(before, at=at, actor="agent:li", **context)
        try:
            after, events = self.wf.fire(before, trigger, at=at, actor="agent:li", **context)
        except InvalidTransitionError as err:
            refused = (err.state, err.trigger, err.allowed)
        else:
            refused = None
        if refused is not None:
            assert trigger not in allowed
            assert (before.status, trigger, allowed) == refused
            assert self.ticket is before
            return
        assert defined
        assert trigger in allowed
        assert (before.version + 1, at) == (after.version, after.updated_at)
        assert after.updated_at >= before.updated_at
        expected_dest = self.wf.transition_for(before.status, trigger)
        assert expected_dest is not None
        assert expected_dest.dest == after.status
        first = events[0]
        assert {
            "from": before.status,
            "to": after.status,
            "trigger": trigger,
            "from_kind": self.wf.kind_of(before.status),
            "to_kind": after.status_kind,
        } == dict(first.data)
        assert all(e.version == after.version and e.at == at and e.ticket_id == before.id for e in events)
        self.ticket = after
        self.fired += 1

    @precondition(lambda self: not self.wf.state(self.ticket.status).final)
    @rule()
    def something_can_happen(self) -> None:
        """Outside a final state, some trigger is defined."""
        assert self.wf.allowed_from(self.ticket.status)

    @invariant()
    def inside_the_definition(self) -> None:
        state = self.wf.state(self.ticket.status)
        assert state.kind == self.ticket.status_kind
        assert 1 + self.fired == self.ticket.version

    @invariant()
    def stamps_follow_kinds(self) -> None:
        t = self.ticket
        if t.status_kind == "resolved":
            assert t.resolved_at is not None
            assert t.closed_at is None
        elif t.status_kind == "closed":
            assert t.closed_at is not None
        else:
            assert (None, None) == (t.resolved_at, t.closed_at)


TestWorkflowMachine = WorkflowMachine.TestCase
TestWorkflowMachine.settings = settings(TestWorkflowMachine.settings, stateful_step_count=30)
