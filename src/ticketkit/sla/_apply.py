"""Applying one event to a ticket's clocks, in O(1): start, stop, restart, pause, resume, mark fired.

The functions behind [`start`][ticketkit.SLAPolicy.start] and
[`apply`][ticketkit.SLAPolicy.apply]. Each takes the policy's
`PolicyPlan` and returns the ticket with its clocks
moved; nothing here reads history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from ticketkit.model._events import SLA_BREACHED, SLA_ESCALATED, SLA_WARNING, STATUS_CHANGED, TICKET_CREATED
from ticketkit.model._json import EMPTY
from ticketkit.model._models import ClockState, Event, Ticket, replace_trusted
from ticketkit.sla._clock import begin, finish, halt, new_cycle, new_state, state_of
from ticketkit.sla._config import SLAClock
from ticketkit.sla._plan import ACTOR, PolicyPlan

__all__: list[str] = []

SLA_EVENT_KINDS: Final = frozenset({SLA_WARNING, SLA_BREACHED, SLA_ESCALATED})


def trusted_event(**fields: Any) -> Event:
    """An Event from engine-made, JSON-safe values, without re-validating them."""
    if not hasattr(Event, "__slots__"):
        obj = object.__new__(Event)
        object.__setattr__(obj, "__dict__", fields)
        return obj
    return Event(**fields)  # pragma: no cover - a slotted Event is built the checked way


def should_pause(plan: PolicyPlan, spec: SLAClock, ticket: Ticket, event: Event | None) -> bool:
    """Whether clock ``spec`` is paused for ``ticket`` as it is after ``event``."""
    names = plan.pause_in if spec.pause_in is None else spec.pause_in
    status, kind = ticket.status, ticket.status_kind
    if event is not None and event.kind == STATUS_CHANGED:
        status = event.data.get("to", status)
        kind = event.data.get("to_kind", kind)
    if names and (status in names or kind in names):
        return True
    if spec.pause_when is not None:
        return bool(spec.pause_when.evaluate(ticket, at=event.at if event is not None else None))
    return False


def step(plan: PolicyPlan, spec: SLAClock, cs: ClockState, ticket: Ticket, event: Event) -> ClockState:
    """Clock ``cs`` (defined by ``spec``) moved by ``event``; ``ticket`` is as it is after the event."""
    t = event.at
    last = cs.running_since or cs.paused_since or cs.stopped_at
    if last is not None and t < last:
        t = last  # an event older than the clock's last change counts from that change
    state = cs.state
    if state in ("running", "paused") and any(m.matches(event, ticket) for m in spec.stop):
        cs = halt(plan.calendar, cs, t, stop=True)
        state = "stopped"
    if (
        state in ("running", "paused")
        and spec.restart
        and any(m.matches(event, ticket) for m in spec.restart)
    ):
        return new_cycle(
            plan, cs, t, paused=should_pause(plan, spec, ticket, event), priority=ticket.priority
        )
    if state in ("idle", "stopped") and spec.start and any(m.matches(event, ticket) for m in spec.start):
        paused = should_pause(plan, spec, ticket, event)
        if state == "idle":
            return begin(cs, t, paused=paused, cycle=cs.cycle, fired=frozenset(), segments=())
        if spec.after_stop == "resume":
            return begin(
                cs,
                t,
                paused=paused,
                cycle=cs.cycle,
                elapsed=cs.elapsed,
                segments=cs.segments,
                started_at=cs.started_at,
            )
        if spec.after_stop == "restart":
            return new_cycle(plan, cs, t, paused=paused, priority=ticket.priority)
        return cs
    if state == "running":
        if should_pause(plan, spec, ticket, event):
            return halt(plan.calendar, cs, t, stop=False)
    elif state == "paused" and not should_pause(plan, spec, ticket, event):
        return begin(
            cs,
            t,
            paused=False,
            cycle=cs.cycle,
            elapsed=cs.elapsed,
            segments=cs.segments,
            started_at=cs.started_at,
        )
    return cs


def mark(plan: PolicyPlan, clocks: Sequence[ClockState], event: Event) -> list[ClockState]:
    """``clocks`` with the checkpoint an ``sla.*`` event emitted marked as fired."""
    out = list(clocks)
    metric = event.data.get("metric")
    key = event.data.get("key")
    cycle = event.data.get("cycle")
    i = plan.index.get(metric) if isinstance(metric, str) else None
    if i is None or not isinstance(key, str) or not isinstance(cycle, int):
        return out
    cs = out[i]
    if cycle == cs.cycle:
        out[i] = new_state(cs, fired=cs.fired | {key})
    else:
        tag = f"{cycle}/{key}"
        out[i] = new_state(cs, carried=tuple(c for c in cs.carried if c[0] != tag))
    return out


def apply_event(plan: PolicyPlan, ticket: Ticket, event: Event) -> Ticket:
    """``ticket`` with its clocks moved by ``event`` (see [`apply`][ticketkit.SLAPolicy.apply])."""
    sla = ticket.sla
    if sla is None:
        template = plan.template
        clocks: Sequence[ClockState] = tuple(
            new_state(template, metric=c.metric, fired=frozenset()) for c in plan.specs
        )
        before: Sequence[ClockState] = ()
    else:
        clocks = before = state_of(plan, ticket).clocks
    if event.kind in SLA_EVENT_KINDS:
        clocks = mark(plan, clocks, event)
    else:
        clocks = [step(plan, spec, cs, ticket, event) for spec, cs in zip(plan.specs, clocks, strict=True)]
    return finish(plan, ticket, clocks, before)


def start_clocks(plan: PolicyPlan, ticket: Ticket, at: datetime) -> Ticket:
    """``ticket`` with fresh clocks as after a ``ticket.created`` event at ``at``."""
    event = trusted_event(
        ticket_id=ticket.id,
        kind=TICKET_CREATED,
        actor=ACTOR,
        at=at,
        data=EMPTY,
        version=ticket.version,
        tenant=ticket.tenant,
        id=ticket.id + "-sla-start",
    )
    return apply_event(plan, replace_trusted(ticket, sla=None), event)
