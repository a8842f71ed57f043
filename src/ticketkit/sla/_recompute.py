"""Replaying a ticket's history: the status as of any instant, and clocks rebuilt under a policy.

The functions behind [`status_as_of`][ticketkit.SLAPolicy.status_as_of] and
[`recompute`][ticketkit.SLAPolicy.recompute]. The ticket is rolled back to how it
stood before its events (`ticketkit.sla._replay`) and every event is applied
again, in order, with `apply_event`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ticketkit.model._events import TICKET_CREATED
from ticketkit.model._models import Event, Ticket, replace_trusted
from ticketkit.model._time import require_aware
from ticketkit.sla._apply import apply_event, start_clocks
from ticketkit.sla._clock import finish, new_state
from ticketkit.sla._plan import ACTOR, PolicyPlan
from ticketkit.sla._replay import initial_ticket, replay_states
from ticketkit.sla._status import SLAStatus, read_status

__all__: list[str] = []


def replay(plan: PolicyPlan, ticket: Ticket, events: Sequence[Event], until: datetime | None) -> Ticket:
    """``ticket`` after its ``events`` up to ``until`` (None: all), its clocks rebuilt under ``plan``."""
    evs = [e for e in events if until is None or e.at <= until]
    created = any(e.kind == TICKET_CREATED for e in evs)
    base = initial_ticket(ticket, events)
    current = base
    if not created and (until is None or ticket.created_at <= until):
        current = start_clocks(plan, base, ticket.created_at)
    sla = current.sla
    for state, e in replay_states(base, evs):
        current = apply_event(plan, replace_trusted(state, sla=sla), e)
        sla = current.sla
    return current


def status_from_events(
    plan: PolicyPlan, ticket: Ticket, events: Sequence[Event], at: datetime
) -> dict[str, SLAStatus]:
    """The status at ``at`` from the history (see [`status_as_of`][ticketkit.SLAPolicy.status_as_of])."""
    require_aware(at, "at")
    replayed = replay(plan, ticket, events, at)
    if replayed.sla is None:
        replayed = apply_event(
            plan,
            replace_trusted(replayed, sla=None),
            Event(ticket_id=ticket.id, kind="sla.none", actor=ACTOR, at=at, id="none"),
        )
    return read_status(plan, replayed, at)


def recompute_clocks(plan: PolicyPlan, ticket: Ticket, events: Sequence[Event]) -> Ticket:
    """``ticket`` with clocks rebuilt from ``events`` (see [`recompute`][ticketkit.SLAPolicy.recompute])."""
    replayed = replay(plan, ticket, events, None)
    clocks = list(replayed.sla.clocks) if replayed.sla is not None else []
    old = ticket.sla
    if old is not None:
        for i, cs in enumerate(clocks):
            prev = old.clock(cs.metric)
            if prev is not None and prev.cycle == cs.cycle and prev.fired - cs.fired:
                clocks[i] = new_state(cs, fired=cs.fired | prev.fired)
    if not clocks:
        return start_clocks(plan, ticket, ticket.created_at)
    return finish(plan, ticket, clocks)
