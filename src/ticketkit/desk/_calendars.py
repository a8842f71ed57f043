"""Calendars from the ticket: clocks measured again when the calendar a ticket runs on changes.

A policy may take its calendar from the ticket's team or a customer field
([`SLAPolicy.calendar_for`][ticketkit.SLAPolicy.calendar_for]). When a change moves the
ticket to another calendar under the same policy (another team, another region), the
clocks are recomputed from the ticket's history on the new calendar, as a change of
policy would be, and an ``sla.policy_applied`` event says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ticketkit.desk._context import DeskContext
from ticketkit.model._models import Event, Ticket
from ticketkit.sla._policy import SLAPolicy


def recalendar(
    desk: DeskContext,
    *,
    base: Ticket | None,
    ticket: Ticket,
    events: Sequence[Event],
    policy: SLAPolicy,
    reason: str,
) -> tuple[Ticket, dict[str, Any]] | None:
    """The ticket with clocks recomputed and the event data, when its calendar under ``policy`` changed.

    ``base`` is the ticket as stored (None: created in this change, whose history is
    ``events``); None comes back when nothing moved.
    """
    if policy.calendar_from is None:
        return None
    calendar = policy.calendar_for(ticket)
    if base is not None and policy.calendar_for(base) is calendar:
        return None  # the calendar the stored clocks were measured on
    stored = desk.store.events(ticket.id, tenant=ticket.tenant) if base is not None else []
    updated = policy.recompute(ticket, [*stored, *events])
    if updated.sla == ticket.sla:
        return None
    data: dict[str, Any] = {
        "policy": policy.name,
        "previous": policy.name,
        "calendar": str(getattr(calendar, "name", "") or ""),
        "reason": f"{reason}: the ticket runs on another calendar",
    }
    return updated, data
